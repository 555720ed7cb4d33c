"""Speed of the batched Bures-Wasserstein distance against POT's paired call.

Bréchet et al. (ICML 2023) train with the Bures-Wasserstein distance between
covariances; POT (Python Optimal Transport) is the reference implementation. The
script times, in one run, on the same float64 batch of ``--pairs`` pairs of
``--dim`` x ``--dim`` covariances (default 10^4 pairs of 16 x 16):

- ``theorycheck``: ``theory.bures_wasserstein.bures_distance(Cs, Ct)``, input
  validation included (symmetry, positive semi-definiteness);
- ``pot``: ``ot.gaussian.bures_distance(Cs, Ct, paired=True)`` (POT >= 0.9.6; it
  returns B, not B^2, as ours does here);

after one warm-up call each, interleaving the two in every repeat so that a change
in machine load hits both alike, and reports the median of the repeats and the
ratio pot / theorycheck (target: at least 2). Both are NumPy on one process; the
BLAS thread count is whatever the environment sets, the same for both. It also
reports the largest relative disagreement between the two results.

    .venv/bin/python benchmarks/bench_bures.py [--pairs 10000] [--dim 16]
        [--repeat 5] [--seed 0] [--json PATH]
"""

from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np
from harness import benchmark_parser, positive_int, time_interleaved, write_json

from theory.bures_wasserstein import bures_distance

TARGET_SPEEDUP = 2.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = benchmark_parser(__doc__.split("\n\n")[0], repeat=5)
    parser.add_argument("--pairs", type=positive_int, default=10_000, help="pairs (10000)")
    parser.add_argument("--dim", type=positive_int, default=16, help="matrix size d (16)")
    return parser.parse_args(argv)


def covariances(rng: np.random.Generator, pairs: int, dim: int) -> np.ndarray:
    """Wishart-like covariances A A^T / d + 0.1 I, symmetric to the last bit."""
    a = rng.standard_normal((pairs, dim, dim))
    c = a @ np.swapaxes(a, -1, -2) / dim + 0.1 * np.eye(dim)
    return (c + np.swapaxes(c, -1, -2)) / 2


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import ot
        import ot.gaussian
    except ImportError:
        print("bench_bures: POT is not installed (pip install pot)", file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.seed)
    source = covariances(rng, args.pairs, args.dim)
    target = covariances(rng, args.pairs, args.dim)

    seconds = time_interleaved(
        {
            "theorycheck": lambda: bures_distance(source, target),
            "pot": lambda: ot.gaussian.bures_distance(source, target, paired=True),
        },
        args.repeat,
    )
    median = {name: statistics.median(values) for name, values in seconds.items()}
    speedup = median["pot"] / median["theorycheck"]
    ours = np.asarray(bures_distance(source, target))
    theirs = np.asarray(ot.gaussian.bures_distance(source, target, paired=True))
    disagreement = float(np.max(np.abs(ours - theirs) / np.maximum(theirs, 1e-300)))

    print(
        f"Bures distance of {args.pairs} pairs of {args.dim}x{args.dim} float64 covariances, "
        f"median of {args.repeat} (POT {ot.__version__})"
    )
    print(f"{'case':<12} {'median ms':>10} {'min ms':>10}")
    for name, values in seconds.items():
        print(f"{name:<12} {1e3 * median[name]:>10.1f} {1e3 * min(values):>10.1f}")
    verdict = "meets" if speedup >= TARGET_SPEEDUP else "misses"
    print(f"pot / theorycheck = {speedup:.2f} ({verdict} the target >= {TARGET_SPEEDUP})")
    print(f"largest relative difference of B: {disagreement:.2e}")

    if args.json is not None:
        write_json(
            args.json,
            {
                "benchmark": "bures_distance",
                "pairs": args.pairs,
                "dim": args.dim,
                "dtype": "float64",
                "repeat": args.repeat,
                "seed": args.seed,
                "seconds": seconds,
                "median_seconds": median,
                "speedup_pot_over_theorycheck": speedup,
                "target_speedup": TARGET_SPEEDUP,
                "meets_target": speedup >= TARGET_SPEEDUP,
                "max_relative_difference": disagreement,
                "pot": ot.__version__,
            },
        )
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
