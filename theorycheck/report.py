"""Report tables: ``claims.{md,csv,json}``, one row per claim, written atomically.

Every row says how it was obtained: method, backend, scale and seed, plus the
worst margin, the number of cases, the control verdict and the seconds spent.
"""

from __future__ import annotations

import csv
import io
import json
import math
import platform
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from theorycheck.atomic import atomic_write_text
from theorycheck.claim import VERDICTS, format_mapping, format_number
from theorycheck.runner import ClaimResult

COLUMNS = (
    "id",
    "paper",
    "source",
    "provenance",
    "method",
    "verdict",
    "margin",
    "cases",
    "control",
    "seconds",
    "obtained",
)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if hasattr(value, "tolist"):
        return _json_safe(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def result_row(result: ClaimResult) -> dict[str, Any]:
    """One report row of a claim result (plain Python values)."""
    claim, ctx = result.claim, result.context
    evidence = result.outcome.evidence
    counterexample = ""
    if evidence is not None and evidence.counterexample:
        counterexample = format_mapping(evidence.counterexample)
    elif result.outcome.error:
        counterexample = result.outcome.error
    return {
        "id": claim.id,
        "paper": claim.paper,
        "source": claim.source,
        "provenance": claim.provenance,
        "method": claim.method,
        "verdict": result.verdict,
        "margin": evidence.margin if evidence is not None else float("nan"),
        "cases": evidence.cases if evidence is not None else 0,
        "control": result.control_verdict,
        "seconds": round(result.seconds, 3),
        "obtained": f"{claim.method} check on {ctx.backend}, scale {ctx.scale}, seed {ctx.seed}",
        "statement": claim.statement,
        "module": claim.module,
        "counterexample": counterexample,
        "controls": [
            {
                "name": control.name,
                "statement": control.description,
                "outcome": (
                    outcome.evidence.summary() if outcome.evidence is not None else outcome.error
                ),
            }
            for control, outcome in result.control_outcomes
        ],
        "details": evidence.details if evidence is not None else {},
        "notes": claim.notes,
    }


def verdict_counts(results: Iterable[ClaimResult]) -> dict[str, int]:
    """Number of claims per verdict, every verdict listed."""
    counts = Counter(r.verdict for r in results)
    return {verdict: counts.get(verdict, 0) for verdict in VERDICTS}


def _markdown_cell(value: Any) -> str:
    text = format_number(value) if isinstance(value, float) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def claims_markdown(rows: Sequence[dict[str, Any]], counts: dict[str, int]) -> str:
    """The Markdown report: totals, the table, then counterexamples and notes."""
    lines = [
        "# theorycheck: claims",
        "",
        "Totals: " + ", ".join(f"{n} {verdict}" for verdict, n in counts.items()) + ".",
        "",
        "A claim is `verified` when its check holds and every negative control (a plausible",
        "false variant checked the same way) is refuted. `margin` is the worst signed slack",
        "(>= 0 holds). Provenance `derived` marks statements derived by this project, not",
        "found in the paper; `contested` marks claims where the check reports a discrepancy.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for row in rows:
        lines.append("| " + " | ".join(_markdown_cell(row[c]) for c in COLUMNS) + " |")
    flagged = [r for r in rows if r["verdict"] != "verified" or r["provenance"] == "contested"]
    if flagged:
        lines += ["", "## Claims that are not plainly verified", ""]
        for row in flagged:
            lines.append(
                f"- `{row['id']}` ({row['verdict']}, {row['provenance']}): "
                f"{row['counterexample'] or 'no counterexample recorded'}"
            )
    lines += ["", "## Statements", ""]
    for row in rows:
        lines.append(f"- `{row['id']}` ({row['source']}; `{row['module']}`): ${row['statement']}$")
        for control in row["controls"]:
            lines.append(
                f"  - control `{control['name']}`: {control['statement']} -> {control['outcome']}"
            )
    return "\n".join(lines) + "\n"


def claims_csv(rows: Sequence[dict[str, Any]]) -> str:
    """The CSV report: the table columns plus statement and counterexample."""
    buffer = io.StringIO()
    fields = [*COLUMNS, "statement", "counterexample"]
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    return buffer.getvalue()


def write_claims_report(results: Sequence[ClaimResult], out_dir: str | Path) -> list[Path]:
    """Write ``claims.md``, ``claims.csv`` and ``claims.json`` into ``out_dir`` atomically."""
    out = Path(out_dir)
    rows = [result_row(r) for r in results]
    counts = verdict_counts(results)
    from theorycheck import __version__

    payload = {
        "theorycheck": __version__,
        "python": platform.python_version(),
        "totals": counts,
        "claims": rows,
    }
    return [
        atomic_write_text(out / "claims.md", claims_markdown(rows, counts)),
        atomic_write_text(out / "claims.csv", claims_csv(rows)),
        atomic_write_text(out / "claims.json", json.dumps(_json_safe(payload), indent=1) + "\n"),
    ]


def coverage_markdown(rows: Sequence[dict[str, Any]], totals: dict[str, int]) -> str:
    """The seed-catalog coverage table: per paper its verdict and claim counts."""
    lines = [
        "# theorycheck: seed-paper coverage",
        "",
        "Totals: " + ", ".join(f"{n} {label}" for label, n in totals.items()) + ".",
        "",
        "| # | paper | key | triage | verdict | claims | verified | reason |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [
            row["number"],
            f"{row['title']} ({row['venue']})",
            row["key"],
            row["triage"],
            row["verdict"],
            row["claims"],
            row["verified"],
            row["reason"],
        ]
        lines.append("| " + " | ".join(_markdown_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def write_coverage(
    rows: Sequence[dict[str, Any]], totals: dict[str, int], out_dir: str | Path
) -> list[Path]:
    """Write ``coverage.md`` and ``coverage.csv`` atomically."""
    out = Path(out_dir)
    buffer = io.StringIO()
    fields = [
        "number",
        "key",
        "title",
        "venue",
        "triage",
        "verdict",
        "claims",
        "verified",
        "claim_ids",
        "reason",
    ]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "claim_ids": " ".join(row["claim_ids"])})
    return [
        atomic_write_text(out / "coverage.md", coverage_markdown(rows, totals)),
        atomic_write_text(out / "coverage.csv", buffer.getvalue()),
    ]


def write_index(
    out_dir: str | Path,
    claim_rows: Sequence[dict[str, Any]],
    coverage_rows: Sequence[dict[str, Any]],
    figures: Sequence[Path],
) -> Path:
    """``index.html``: the claims table, the coverage table and the figures, on one page."""
    from html import escape

    out = Path(out_dir)

    def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
        head = "".join(f"<th>{escape(h)}</th>" for h in header)
        body = "".join(
            "<tr>"
            + "".join(
                f"<td>{escape(format_number(c) if isinstance(c, float) else str(c))}</td>"
                for c in r
            )
            + "</tr>"
            for r in rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    claims_html = table(COLUMNS, ([row[c] for c in COLUMNS] for row in claim_rows))
    coverage_html = table(
        ("#", "paper", "verdict", "claims", "verified", "reason"),
        (
            (r["number"], r["title"], r["verdict"], r["claims"], r["verified"], r["reason"])
            for r in coverage_rows
        ),
    )
    images = "".join(
        f'<figure><img src="{escape(str(p.relative_to(out)))}" alt="{escape(p.stem)}">'
        f"<figcaption>{escape(p.stem)}</figcaption></figure>"
        for p in figures
        if p.suffix == ".png"
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>theorycheck report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:left}}img{{max-width:100%}}</style>
</head><body>
<h1>theorycheck report</h1>
<p>Tables: <a href="claims.md">claims.md</a>, <a href="claims.csv">claims.csv</a>,
<a href="claims.json">claims.json</a>, <a href="coverage.md">coverage.md</a>.</p>
<h2>Claims</h2>{claims_html}
<h2>Seed-paper coverage</h2>{coverage_html}
<h2>Figures</h2>{images}
</body></html>
"""
    return atomic_write_text(out / "index.html", page)
