"""Vectorised Monte Carlo against a per-replicate Python loop: projected OGD, d = 10.

The studies of ``simulations/online_regret`` run every replicate at once: state arrays
of shape (R, d), time as the Python loop. The naive alternative loops over the
replicates and runs the same algorithm on one at a time. This script times both, in
one run, on the same algorithm and the same data:

- the algorithm: :func:`simulations.online_regret.ogd.ogd_linear_regret`, projected
  online gradient descent on linear losses over the unit ball of R^d,
  eta_t = D / (sigma sqrt t) (the SEA-0 noise floor of the OGD study), to horizon T;
- the data: a bank of K = 64 Gaussian gradient vectors per replicate, drawn once
  before the timers, gradient t being bank[:, (t - 1) mod K] (so that drawing random
  numbers, identical work for both versions, is not what is timed);
- vectorised: one call on all R replicates on the chosen backend (numpy, or cupy with
  the device synchronised before each timer stops), median of ``--repeat`` runs after
  a short warm-up;
- loop (NumPy only): the same function called on one replicate at a time
  (``replicates=1``) for the first ``--loop-replicates`` replicates; its cost is
  linear in R (the replicates are independent), so the loop time for all R is
  extrapolated from the measured per-replicate time, and both numbers are reported.

The loop's regrets must equal the vectorised ones (relative 1e-9) before any ratio is
reported. Target: vectorised at least 50 times faster than the loop at R = 1000,
T = 10^4 (the default). On a GPU: ``--backend cupy --replicates 100000``.

    .venv/bin/python benchmarks/bench_studies.py [--backend numpy|cupy]
        [--replicates 1000] [--horizon 10000] [--dimension 10] [--loop-replicates 20]
        [--repeat 3] [--seed 0] [--json PATH]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from harness import benchmark_parser, positive_int, write_json

from simulations.online_regret.ogd import ogd_linear_regret
from theorycheck.backend import BackendUnavailable, namespace, to_numpy

TARGET_RATIO = 50.0
BANK = 64
SIGMA = 1.0
RADIUS = 1.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = benchmark_parser(__doc__.split("\n\n")[0], repeat=3)
    parser.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    parser.add_argument("--replicates", type=positive_int, default=1000, help="R (1000)")
    parser.add_argument("--horizon", type=positive_int, default=10_000, help="T (10000)")
    parser.add_argument("--dimension", type=positive_int, default=10, help="d (10)")
    parser.add_argument(
        "--loop-replicates", type=positive_int, default=20, help="replicates timed in the loop (20)"
    )
    return parser.parse_args(argv)


def synchronise(backend: str) -> None:
    """Wait for the device (cupy launches kernels asynchronously)."""
    if backend == "cupy":
        import cupy

        cupy.cuda.Device().synchronize()


def gradient_bank(backend: str, replicates: int, dimension: int, seed: int) -> Any:
    """(R, K, d) Gaussian gradients with E||g||^2 = sigma^2, drawn on the backend."""
    scale = SIGMA / np.sqrt(dimension)
    if backend == "cupy":
        import cupy

        bank = cupy.random.default_rng(seed).standard_normal((replicates, BANK, dimension))
        return bank * scale
    return np.random.default_rng(seed).standard_normal((replicates, BANK, dimension)) * scale


def run_ogd(bank: Any, horizon: int, xp: Any) -> Any:
    """OGD on all replicates of ``bank``; returns the (R,) regret at ``horizon``."""

    def gradient_at(t: int) -> Any:
        return bank[:, (t - 1) % BANK, :]

    out = ogd_linear_regret(
        gradient_at,
        replicates=bank.shape[0],
        dimension=bank.shape[2],
        radius=RADIUS,
        step_scale=2.0 * RADIUS / SIGMA,
        horizons=[horizon],
        xp=xp,
    )
    return out["regret"][:, 0]


def timed(run: Callable[[], Any], backend: str) -> tuple[float, Any]:
    synchronise(backend)
    start = time.perf_counter()
    result = run()
    synchronise(backend)
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        xp = namespace(args.backend)
    except BackendUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    loop_count = min(args.loop_replicates, args.replicates)
    bank = gradient_bank(args.backend, args.replicates, args.dimension, args.seed)
    host_bank = np.asarray(to_numpy(bank[:loop_count]))
    numpy_xp = namespace("numpy")

    run_ogd(bank[: min(args.replicates, 8)], 20, xp)  # warm-up (kernels, caches)
    synchronise(args.backend)
    vectorised_seconds = []
    regret = None
    for _ in range(args.repeat):
        seconds, regret = timed(lambda: run_ogd(bank, args.horizon, xp), args.backend)
        vectorised_seconds.append(seconds)
    vectorised = statistics.median(vectorised_seconds)

    loop_regret = []
    start = time.perf_counter()
    for r in range(loop_count):
        loop_regret.append(float(run_ogd(host_bank[r : r + 1], args.horizon, numpy_xp)[0]))
    loop_measured = time.perf_counter() - start
    loop_per_replicate = loop_measured / loop_count
    loop_all = loop_per_replicate * args.replicates

    reference = np.asarray(to_numpy(regret))[:loop_count]
    agree = bool(np.allclose(loop_regret, reference, rtol=1e-9, atol=1e-12))
    ratio = loop_all / vectorised
    meets = agree and ratio >= TARGET_RATIO
    steps = args.replicates * args.horizon

    print(
        f"projected OGD, d = {args.dimension}, T = {args.horizon}, R = {args.replicates}, "
        f"backend {args.backend}"
    )
    print(
        f"vectorised: {vectorised:.3f} s (median of {args.repeat}; "
        f"{1e9 * vectorised / steps:.1f} ns per replicate-step)"
    )
    print(
        f"loop: {loop_measured:.3f} s for {loop_count} replicates "
        f"({1e3 * loop_per_replicate:.1f} ms each) -> {loop_all:.1f} s for R = {args.replicates}"
        + (" (extrapolated, linear in R)" if loop_count < args.replicates else "")
    )
    print(f"regrets of the loop equal the vectorised ones: {agree}")
    verdict = "meets" if meets else "misses"
    print(f"loop / vectorised = {ratio:.0f}x ({verdict} the target >= {TARGET_RATIO:g}x)")

    if args.json is not None:
        write_json(
            args.json,
            {
                "benchmark": "studies: vectorised OGD against a per-replicate loop",
                "backend": args.backend,
                "replicates": args.replicates,
                "horizon": args.horizon,
                "dimension": args.dimension,
                "loop_replicates": loop_count,
                "vectorised_seconds": vectorised_seconds,
                "vectorised_median_seconds": vectorised,
                "loop_measured_seconds": loop_measured,
                "loop_seconds_all_replicates": loop_all,
                "loop_extrapolated": loop_count < args.replicates,
                "ratio": ratio,
                "target_ratio": TARGET_RATIO,
                "regrets_agree": agree,
                "meets_target": meets,
            },
        )
        print(f"wrote {args.json}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
