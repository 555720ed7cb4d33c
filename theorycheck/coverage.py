"""Coverage of a paper catalog by the registered claims.

Content packages publish their paper catalog through the ``theorycheck.catalog``
entry point group: a callable returning rows (mappings with at least ``number``,
``key``, ``title`` and ``status``; optionally ``venue``, ``triage`` and
``closest_fragment``). A paper is ``checked`` when at least one registered claim
names its key; otherwise its verdict is its triage status (``empirical-only``,
``not-checkable``) or ``not yet checked`` for a checkable paper without claims,
with a one-line reason.
"""

from __future__ import annotations

import importlib.metadata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from theorycheck.claim import Claim

CATALOG_GROUP = "theorycheck.catalog"

UNCHECKED_REASONS = {
    "empirical-only": "empirical results on deep networks or large data only",
    "not-checkable": "theorems of a kind no small-scale numerical check can confirm",
    "checkable": "checkable; no claim implemented yet",
    "checkable-fragment": "a checkable fragment; no claim implemented yet",
    "covered": "covered by its family; no claim implemented yet",
}


def paper_catalog() -> list[dict[str, Any]]:
    """Rows of every catalog published under the ``theorycheck.catalog`` entry points."""
    rows: list[dict[str, Any]] = []
    for point in sorted(importlib.metadata.entry_points(group=CATALOG_GROUP), key=lambda p: p.name):
        rows.extend(dict(row) for row in point.load()())
    return rows


def coverage(
    papers: Sequence[Mapping[str, Any]],
    claims: Iterable[Claim],
    verdicts: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One row per paper: its verdict, claim count, verified count and reason.

    Parameters
    ----------
    papers : sequence of mapping
        Catalog rows.
    claims : iterable of Claim
        The registered claims.
    verdicts : mapping of claim id to verdict, optional
        Results of a run, to count verified claims.

    Raises
    ------
    ValueError
        When a claim names a paper key the catalog lacks.
    """
    by_paper: dict[str, list[Claim]] = {}
    keys = {row["key"] for row in papers}
    for claim in claims:
        if claim.paper not in keys:
            raise ValueError(f"claim {claim.id} names paper {claim.paper!r}, not in the catalog")
        by_paper.setdefault(claim.paper, []).append(claim)
    verdicts = verdicts or {}
    rows = []
    for paper in papers:
        checked = sorted(by_paper.get(paper["key"], []), key=lambda c: c.id)
        status = paper.get("status", "")
        if checked:
            verdict, reason = "checked", ""
        else:
            verdict = status if status in ("empirical-only", "not-checkable") else "not yet checked"
            reason = UNCHECKED_REASONS.get(status, "no claim")
            if paper.get("closest_fragment"):
                reason += f"; closest fragment: {paper['closest_fragment']}"
        rows.append(
            {
                "number": paper["number"],
                "key": paper["key"],
                "title": paper["title"],
                "venue": paper.get("venue", ""),
                "triage": paper.get("triage", status),
                "verdict": verdict,
                "claims": len(checked),
                "verified": sum(verdicts.get(c.id) == "verified" for c in checked),
                "claim_ids": [c.id for c in checked],
                "reason": reason,
            }
        )
    return rows


def coverage_totals(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Papers per verdict, and papers with at least one verified claim."""
    rows = list(rows)
    totals = dict(Counter(row["verdict"] for row in rows))
    totals["with a verified claim"] = sum(row["verified"] > 0 for row in rows)
    totals["papers"] = len(rows)
    return totals
