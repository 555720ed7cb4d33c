r"""Seconds and boxes to certify the cross-entropy error-transformation inequality.

The inequality of ``hcons.gamma.simplified`` at :math:`\tau=1` (Mao, Mohri & Zhong,
ICML 2023): :math:`D(t)=\mathcal T_1(t)-t^2/2\ge0` on [0, 1], with
:math:`\mathcal T_1(t)=\tfrac{1+t}2\log(1+t)+\tfrac{1-t}2\log(1-t)`; equivalently
:math:`\Gamma_{\log}(v)\le\sqrt{2v}`. D touches zero to order 4 at t = 0 and contains
:math:`(1-t)\log(1-t)`, which no interval enclosure evaluates at t = 1. The script
times, with :func:`theorycheck.certify.certify_nonnegative` (each engine available):

- ``bisect [0, 1-2^-k]``: direct branch and bound of D on boxes approaching t = 1
  (k = 1, 2, 4, 6, 8, 12, 16, 24), and on the whole [0, 1] (which ends
  ``inconclusive``: the box at t = 1 never certifies);
- ``whole domain``: the route of :mod:`proofs_check.hconsistency`: D(0) = D'(0) = 0
  (sympy, exact), :math:`(1-t^2)D''=t^2\ge0` certified on [0, 1] and
  :math:`D(1)=\log2-1/2\ge0` certified (a point), hence D >= 0 on all of [0, 1] by
  Taylor's theorem with integral remainder. Its seconds include the sympy steps.

It prints a table (status, boxes examined, deepest bisection, seconds: the median
of the repeats) and, with ``--json PATH``, writes the figures atomically.

    .venv/bin/python benchmarks/bench_certify.py [--repeat 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import sympy
from harness import benchmark_parser, write_json

from theory.hconsistency.symbolic import certifiable, transformation_expr
from theorycheck.certify import Budget, available_engines, certify_nonnegative

T = sympy.Symbol("t", positive=True)
DIFFERENCE = transformation_expr(T, 1, 2) - T**2 / 2
"""D(t) = T_1(t) - t^2/2."""
BUDGET = Budget(max_boxes=20_000, max_depth=64, seconds=60.0)
EXPONENTS = (1, 2, 4, 6, 8, 12, 16, 24)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = benchmark_parser(__doc__.split("\n\n")[0], repeat=5, seed=False)
    return parser.parse_args(argv)


def certify_box(expr: sympy.Expr, box: list, engine: str) -> dict:
    """One certification: status, boxes, depth, seconds."""
    certificate = certify_nonnegative(certifiable(expr, [T]), box, budget=BUDGET, engine=engine)
    return {
        "status": certificate.status,
        "boxes": certificate.boxes_examined,
        "depth": certificate.max_depth,
        "seconds": certificate.seconds,
    }


def whole_domain(engine: str) -> dict:
    """The derivation: exact D(0), D'(0); certified (1 - t^2) D'' >= 0 and D(1) >= 0."""
    start = time.perf_counter()
    exact = (
        sympy.simplify(DIFFERENCE.subs(T, 0)) == 0
        and sympy.simplify(sympy.diff(DIFFERENCE, T).subs(T, 0)) == 0
    )
    second = sympy.simplify(sympy.diff(DIFFERENCE, T, 2) * (1 - T**2))
    curvature = certify_box(second, [(0, 1)], engine)
    endpoint = certify_box(sympy.log(2) - sympy.Rational(1, 2) + 0 * T, [(1, 1)], engine)
    proved = exact and curvature["status"] == endpoint["status"] == "proved"
    return {
        "status": "proved" if proved else "inconclusive",
        "boxes": curvature["boxes"] + endpoint["boxes"],
        "depth": max(curvature["depth"], endpoint["depth"]),
        "seconds": time.perf_counter() - start,
        "certified_seconds": curvature["seconds"] + endpoint["seconds"],
    }


def run_case(name: str, engine: str, repeat: int) -> dict:
    """Median over repeats of one case (status and boxes do not vary between runs)."""
    runs = []
    for _ in range(repeat):
        if name == "whole domain":
            runs.append(whole_domain(engine))
        elif name == "bisect [0, 1]":
            runs.append(certify_box(DIFFERENCE, [(0, 1)], engine))
        else:
            k = int(name.split("2^-")[1].rstrip("]"))
            runs.append(certify_box(DIFFERENCE, [(0, f"{2**k - 1}/{2**k}")], engine))
    summary = dict(runs[0])
    summary["seconds"] = statistics.median(r["seconds"] for r in runs)
    summary["seconds_all"] = [r["seconds"] for r in runs]
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [f"bisect [0, 1-2^-{k}]" for k in EXPONENTS] + ["bisect [0, 1]", "whole domain"]
    results = {}
    print("certify D(t) = T_1(t) - t^2/2 >= 0 (cross-entropy, hcons.gamma.simplified)")
    print(f"median of {args.repeat} runs; budget {BUDGET.max_boxes} boxes / {BUDGET.seconds:g} s")
    print(f"{'case':<24} {'engine':<7} {'status':<13} {'boxes':>7} {'depth':>6} {'seconds':>9}")
    for engine in available_engines():
        for name in names:
            # the [0, 1] box runs until its budget: time it once
            result = run_case(name, engine, 1 if name == "bisect [0, 1]" else args.repeat)
            results[f"{name} | {engine}"] = {"case": name, "engine": engine, **result}
            print(
                f"{name:<24} {engine:<7} {result['status']:<13} {result['boxes']:>7} "
                f"{result['depth']:>6} {result['seconds']:>9.4f}"
            )
    if args.json is not None:
        payload = {
            "benchmark": "certify cross-entropy error transformation",
            "inequality": "T_1(t) - t^2/2 >= 0 on [0, 1]",
            "repeat": args.repeat,
            "budget": {
                "max_boxes": BUDGET.max_boxes,
                "max_depth": BUDGET.max_depth,
                "seconds": BUDGET.seconds,
            },
            "results": results,
            "engines": list(available_engines()),
            "sympy": sympy.__version__,
        }
        write_json(args.json, payload)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
