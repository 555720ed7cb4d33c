"""The ``theorycheck`` command line.

::

    theorycheck list [SELECT] [--method M] [--family F] [--paper P]
    theorycheck verify [SELECT] [--method M] [--backend B] [--scale S] [--seed N] [--out DIR]
    theorycheck report [--scale S] [--backend B] [--seed N] [--out DIR]
    theorycheck study NAME [--backend B] [--executor E] [--replicates R] [--horizons T ...]
    theorycheck plot NAME [--out DIR]

Exit status: 0 when every selected claim is verified (or a contested claim fails
as its discrepancy predicts), 1 when a claim is refuted, vacuous, inconclusive or
crashed, 2 for bad input (an unknown id, backend, option or figure), which is
reported in one line on stderr, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from theorycheck.backend import BACKENDS, BackendUnavailable
from theorycheck.claim import METHODS, SCALES, format_number
from theorycheck.context import Context
from theorycheck.registry import all_claims, all_plots, select
from theorycheck.runner import ClaimResult, run_claim


class UsageError(Exception):
    """Bad input on the command line: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        raise UsageError(message)


def _selection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("select", nargs="?", help="claim id, id glob ('sparsemax.*') or family")
    parser.add_argument("--method", choices=METHODS, help="only claims checked by this method")
    parser.add_argument("--family", help="only claims of this family")
    parser.add_argument("--paper", help="only claims of this paper key")


def _run_arguments(parser: argparse.ArgumentParser, out: str) -> None:
    parser.add_argument("--backend", default="numpy", choices=BACKENDS, help="array backend")
    parser.add_argument("--scale", default=None, choices=SCALES, help="quick or full sample sizes")
    parser.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    parser.add_argument("--out", default=out, help=f"report folder (default {out}/)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="theorycheck", description="Executable checks of ML-theory claims.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    listing = commands.add_parser("list", help="list the registered claims")
    _selection_arguments(listing)

    verify = commands.add_parser("verify", help="run claims and their negative controls")
    _selection_arguments(verify)
    # A selection's table goes beside the full report, never over it.
    _run_arguments(verify, "reports/verify")

    report = commands.add_parser(
        "report", help="verify every claim, draw every figure, write reports/"
    )
    _run_arguments(report, "reports")

    study = commands.add_parser("study", help="run (or resume) a Monte Carlo study")
    study.add_argument("name", nargs="?", help="study name (see 'theorycheck study --list')")
    study.add_argument("--list", action="store_true", help="list the studies")
    study.add_argument("--backend", default="numpy", choices=BACKENDS, help="array backend")
    study.add_argument(
        "--executor", default="local", help="local, processes:N, dask-local or dask://HOST:PORT"
    )
    study.add_argument("--replicates", type=int, help="replicates per configuration")
    study.add_argument("--horizons", type=float, nargs="+", help="horizons replacing the grid's")
    study.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    study.add_argument("--out", default="reports/studies", help="table and manifest folder")
    study.add_argument("--cache", default=".theorycheck-cache", help="finished-cell cache folder")

    plot = commands.add_parser("plot", help="draw one family's figures")
    plot.add_argument("name", help="figure family (see 'theorycheck plot --list')", nargs="?")
    plot.add_argument("--list", action="store_true", help="list the figure names")
    plot.add_argument("--out", default="reports/figures", help="figure folder")
    return parser


def _selected(args: argparse.Namespace):
    return select(
        all_claims(), args.select, method=args.method, family=args.family, paper=args.paper
    )


def _print_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(
            "  ".join(
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )


def _command_list(args: argparse.Namespace) -> int:
    claims = _selected(args)
    _print_table(
        [(c.id, c.method, c.provenance, c.source, c.paper) for c in claims],
        ("id", "method", "provenance", "source", "paper"),
    )
    print(f"{len(claims)} claims")
    return 0


def _is_success(result: ClaimResult) -> bool:
    if result.verdict == "verified":
        return True
    return (
        result.verdict == "refuted"
        and result.claim.provenance == "contested"
        and result.control_verdict == "refuted"
    )


def _run(claims, args: argparse.Namespace, scale: str) -> list[ClaimResult]:
    try:
        ctx = Context.create(args.backend, scale, args.seed)
    except BackendUnavailable as exc:
        raise UsageError(str(exc)) from None
    from tqdm import tqdm

    results = []
    with tqdm(
        claims,
        desc="claims",
        unit="claim",
        file=sys.stderr,
        leave=False,
        disable=not sys.stderr.isatty(),
    ) as bar:
        for claim in bar:
            bar.set_postfix_str(claim.id)
            results.append(run_claim(claim, ctx))
    return results


def _summarise(results: Sequence[ClaimResult]) -> int:
    _print_table(
        [
            (
                r.claim.id,
                r.verdict,
                r.control_verdict,
                format_number(r.outcome.evidence.margin) if r.outcome.evidence else "-",
                str(r.outcome.evidence.cases) if r.outcome.evidence else "0",
                f"{r.seconds:.2f}",
            )
            for r in results
        ],
        ("id", "verdict", "control", "margin", "cases", "seconds"),
    )
    from theorycheck.report import verdict_counts

    counts = verdict_counts(results)
    print(", ".join(f"{n} {v}" for v, n in counts.items() if n) + f" of {len(results)} claims")
    for r in results:
        if not _is_success(r):
            detail = r.outcome.error or (r.outcome.evidence.summary() if r.outcome.evidence else "")
            if r.verdict == "vacuous":
                held = [c.name for c, o in r.control_outcomes if o.holds]
                detail = f"controls that held: {', '.join(held)}"
            print(f"{r.claim.id}: {r.verdict}: {detail}", file=sys.stderr)
    return 0 if all(_is_success(r) for r in results) else 1


def _command_verify(args: argparse.Namespace) -> int:
    from theorycheck.report import write_claims_report

    results = _run(_selected(args), args, args.scale or "quick")
    status = _summarise(results)
    for path in write_claims_report(results, args.out):
        print(f"wrote {path}")
    return status


def _command_report(args: argparse.Namespace) -> int:
    from theorycheck.coverage import coverage, coverage_totals, paper_catalog
    from theorycheck.report import (
        result_row,
        write_claims_report,
        write_coverage,
        write_index,
    )

    claims = all_claims()
    results = _run(claims, args, args.scale or "quick")
    status = _summarise(results)
    out = Path(args.out)
    written = write_claims_report(results, out)
    figures: list[Path] = []
    for make in all_plots().values():
        figures += [Path(p) for p in make(out / "figures")]
    papers = paper_catalog()
    rows = coverage(papers, claims, {r.claim.id: r.verdict for r in results}) if papers else []
    if rows:
        totals = coverage_totals(rows)
        written += write_coverage(rows, totals, out)
        print("coverage: " + ", ".join(f"{n} {label}" for label, n in totals.items()))
    written += figures
    written.append(write_index(out, [result_row(r) for r in results], rows, figures))
    for path in written:
        print(f"wrote {path}")
    return status


def _command_plot(args: argparse.Namespace) -> int:
    plots = all_plots()
    if args.list or not args.name:
        print("\n".join(plots))
        return 0
    if args.name not in plots:
        raise UsageError(f"unknown figure {args.name!r}; choose one of {', '.join(plots)}")
    for path in plots[args.name](Path(args.out)):
        print(f"wrote {path}")
    return 0


def _command_study(args: argparse.Namespace) -> int:
    from theorycheck.executors import make_executor, validate_spec
    from theorycheck.registry import all_studies, get_study
    from theorycheck.study import exponent_table, run_study, write_study

    if args.list or not args.name:
        for name, entry in all_studies().items():
            print(f"{name}  {entry.description}")
        return 0
    entry = get_study(args.name)
    validate_spec(args.executor)
    if args.replicates is not None and args.replicates < 1:
        raise UsageError(f"--replicates must be a positive integer, got {args.replicates}")
    grid = None
    if args.horizons:
        if any(h <= 0 for h in args.horizons):
            raise UsageError(f"--horizons must be positive, got {args.horizons}")
        if not all("horizons" in config for config in entry.grid):
            raise UsageError(f"study {entry.name} has no 'horizons' in its configurations")
        horizons = sorted({int(h) if float(h).is_integer() else h for h in args.horizons})
        grid = [{**config, "horizons": horizons} for config in entry.grid]
    try:
        with make_executor(args.executor) as executor:
            result = run_study(
                entry,
                replicates=args.replicates,
                seed=args.seed,
                backend=args.backend,
                executor=executor,
                cache_dir=args.cache,
                grid=grid,
                progress=sys.stderr.isatty(),
            )
    except BackendUnavailable as exc:
        raise UsageError(str(exc)) from None
    print(f"{entry.name}: {result.cells_computed} cells computed, {result.cells_cached} from cache")
    rows = exponent_table(entry, result)
    if rows:
        _print_table(
            [
                (
                    r["configuration"],
                    r["metric"],
                    f"{r['exponent']:.3f}",
                    f"[{r['low']:.3f}, {r['high']:.3f}]",
                    r["claimed"],
                )
                for r in rows
            ],
            ("configuration", "metric", "exponent", "95% interval", "claimed"),
        )
    for path in write_study(result, args.out):
        print(f"wrote {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``theorycheck`` script; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if getattr(args, "seed", 0) < 0:
            raise UsageError(f"--seed must be non-negative, got {args.seed}")
        command = {
            "list": _command_list,
            "verify": _command_verify,
            "report": _command_report,
            "study": _command_study,
            "plot": _command_plot,
        }[args.command]
        return command(args)
    except UsageError as exc:
        print(f"theorycheck: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # bad selection or input, named by the raiser
        print(f"theorycheck: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("theorycheck: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line, with the kind of error
        print(f"theorycheck: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
