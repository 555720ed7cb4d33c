"""Speed of sparsemax against the sort it is built on (Martins & Astudillo 2016, Alg. 1).

Algorithm 1 sorts each row, so ``np.sort(x, axis=-1)`` of the same array is the
floor of any sort-based sparsemax and the yardstick here: the script times, in one
run and on one float64 batch (default 4096 x 1000),

- ``sort``: ``np.sort(x, axis=-1)``;
- ``forward``: ``theory.sparsemax.sparsemax(x)`` (validation included);
- ``jvp``: ``theory.sparsemax.sparsemax_jvp(x, v)`` (it runs its own forward pass),

after one warm-up call each, interleaving the three in every repeat so that a
change in machine load hits all of them alike, and reports the median of the
repeats and the ratios forward/sort and jvp/sort. Target: forward within 1.5x the
sort. Everything is single-threaded NumPy (sort, cumulative sum, elementwise ops);
no BLAS call is involved, so thread-pool settings do not matter.

    .venv/bin/python benchmarks/bench_sparsemax.py [--rows 4096] [--cols 1000]
        [--repeat 7] [--seed 0] [--json PATH]
"""

from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np
from harness import benchmark_parser, positive_int, time_interleaved, write_json

from theory.sparsemax import sparsemax, sparsemax_jvp

TARGET_FORWARD_OVER_SORT = 1.5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = benchmark_parser(__doc__.split("\n\n")[0], repeat=7)
    parser.add_argument("--rows", type=positive_int, default=4096, help="batch rows (4096)")
    parser.add_argument("--cols", type=positive_int, default=1000, help="classes K (1000)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    x = rng.standard_normal((args.rows, args.cols))
    v = rng.standard_normal((args.rows, args.cols))

    seconds = time_interleaved(
        {
            "sort": lambda: np.sort(x, axis=-1),
            "forward": lambda: sparsemax(x),
            "jvp": lambda: sparsemax_jvp(x, v),
        },
        args.repeat,
    )
    median = {name: statistics.median(values) for name, values in seconds.items()}
    ratios = {
        "forward/sort": median["forward"] / median["sort"],
        "jvp/sort": median["jvp"] / median["sort"],
    }
    meets_target = ratios["forward/sort"] <= TARGET_FORWARD_OVER_SORT

    print(f"sparsemax on a ({args.rows}, {args.cols}) float64 batch, median of {args.repeat}")
    print(f"{'case':<10} {'median ms':>10} {'min ms':>10} {'x sort':>8}")
    for name, values in seconds.items():
        print(
            f"{name:<10} {1e3 * median[name]:>10.2f} {1e3 * min(values):>10.2f}"
            f" {median[name] / median['sort']:>8.2f}"
        )
    verdict = "meets" if meets_target else "misses"
    print(
        f"forward/sort = {ratios['forward/sort']:.2f} ({verdict} the target "
        f"<= {TARGET_FORWARD_OVER_SORT}); jvp/sort = {ratios['jvp/sort']:.2f}"
    )

    if args.json is not None:
        write_json(
            args.json,
            {
                "benchmark": "sparsemax",
                "shape": [args.rows, args.cols],
                "dtype": "float64",
                "repeat": args.repeat,
                "seed": args.seed,
                "seconds": seconds,
                "median_seconds": median,
                "ratios": ratios,
                "target_forward_over_sort": TARGET_FORWARD_OVER_SORT,
                "meets_target": meets_target,
            },
        )
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
