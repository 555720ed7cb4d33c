"""Speed of the sequential max-margin step against cvxpy (Evron et al., ICML 2023).

One SMM step is the Euclidean projection of the previous iterate onto a task's
feasible set, the QP ``min ||w - w_prev||^2 s.t. y_i x_i^T w >= 1``. The script draws
realistic continual steps (default: tasks of 200 points in 50 dimensions labelled by
one random teacher; ``w_prev`` is the projection of 0 onto a previous task, so many
constraints of the new task are violated) and times, in one run and on the same
problems,

- ``ours``: :func:`theory.continual_pocs.projection.project_rows` (semismooth Newton
  active-set identification, exact solve on the active set, KKT certificate);
- ``cvxpy``: the same QP in cvxpy with CLARABEL at gap and feasibility 1e-12, built
  once with parameters (DPP) and re-solved: cvxpy's best case;
- ``cvxpy-fresh``: the problem built and solved anew each call, as a continual learner
  meeting a new task would;
- ``nnls``: scipy's Lawson-Hanson NNLS on the least-distance dual (for reference).

Each case gets one warm-up call per problem, then the cases are interleaved in every
repeat so that load changes hit all alike; the script reports medians, the ratios
cvxpy/ours (target: at least 20) and cvxpy-fresh/ours, and the largest difference
between our projection and cvxpy's. BLAS is limited to one thread (set before NumPy
is imported, unless the caller set it): the matrices are tiny, and on a shared
machine thread contention only adds noise.

    .venv/bin/python benchmarks/bench_pocs_projection.py [--samples 200] [--dim 50]
        [--problems 5] [--repeat 7] [--seed 0] [--json PATH]
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
import scipy.optimize  # noqa: E402
from harness import benchmark_parser, positive_int, time_interleaved, write_json  # noqa: E402

from theory.continual_pocs.projection import project_rows  # noqa: E402
from theory.continual_pocs.references import SOLVER_OPTIONS  # noqa: E402
from theory.continual_pocs.tasks import random_separable_tasks  # noqa: E402

TARGET_RATIO = 20.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = benchmark_parser(__doc__.split("\n\n")[0], repeat=7)
    parser.add_argument("--samples", type=positive_int, default=200, help="points per task (200)")
    parser.add_argument("--dim", type=positive_int, default=50, help="dimension D (50)")
    parser.add_argument("--problems", type=positive_int, default=5, help="random steps (5)")
    return parser.parse_args(argv)


def continual_steps(
    samples: int, dim: int, problems: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(w_prev, rows) pairs: w_prev = Pi_{W_1}(0), rows = A of a second task, same teacher."""
    rng = np.random.default_rng(seed)
    steps = []
    for _ in range(problems):
        features, labels = random_separable_tasks(rng, 2, samples, dim, teacher_margin=0.05)
        rows = labels[..., None] * features
        previous = project_rows(np.zeros(dim), rows[0]).point
        steps.append((previous, rows[1]))
    return steps


def cvxpy_cases(samples: int, dim: int) -> tuple[Callable, Callable]:
    """The parametrised (built once) and fresh cvxpy solvers of the projection QP."""
    import cvxpy as cp

    point = cp.Parameter(dim)
    matrix = cp.Parameter((samples, dim))
    variable = cp.Variable(dim)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(variable - point)), [matrix @ variable >= 1])

    def parametrised(previous: np.ndarray, rows: np.ndarray) -> np.ndarray:
        point.value, matrix.value = previous, rows
        problem.solve(solver="CLARABEL", **SOLVER_OPTIONS)
        return variable.value

    def fresh(previous: np.ndarray, rows: np.ndarray) -> np.ndarray:
        w = cp.Variable(dim)
        cp.Problem(cp.Minimize(cp.sum_squares(w - previous)), [rows @ w >= 1]).solve(
            solver="CLARABEL", **SOLVER_OPTIONS
        )
        return w.value

    return parametrised, fresh


def nnls_projection(previous: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Lawson-Hanson least-distance programming through scipy's NNLS."""
    dim = rows.shape[1]
    matrix = np.vstack([rows.T, (1.0 - rows @ previous)[None, :]])
    target = np.zeros(dim + 1)
    target[-1] = 1.0
    weights, _ = scipy.optimize.nnls(matrix, target)
    residual = matrix @ weights - target
    return previous - residual[:dim] / residual[-1]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    steps = continual_steps(args.samples, args.dim, args.problems, args.seed)
    parametrised, fresh = cvxpy_cases(args.samples, args.dim)
    cases: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
        "ours": lambda w, a: project_rows(w, a).point,
        "cvxpy": parametrised,
        "cvxpy-fresh": fresh,
        "nnls": nnls_projection,
    }
    largest_difference, largest_kkt, active = 0.0, 0.0, []
    for previous, rows in steps:
        reference = parametrised(previous, rows)
        projection = project_rows(previous, rows)
        largest_difference = max(
            largest_difference, float(np.max(np.abs(projection.point - reference)))
        )
        largest_kkt = max(largest_kkt, projection.kkt_residual)
        active.append(int(projection.active.size))
    seconds = time_interleaved(cases, args.repeat, inputs=steps)
    median = {name: statistics.median(values) for name, values in seconds.items()}
    ratios = {
        "cvxpy/ours": median["cvxpy"] / median["ours"],
        "cvxpy-fresh/ours": median["cvxpy-fresh"] / median["ours"],
        "nnls/ours": median["nnls"] / median["ours"],
    }
    meets_target = ratios["cvxpy/ours"] >= TARGET_RATIO

    print(
        f"SMM projection step: {args.samples} points in {args.dim} dimensions, "
        f"{args.problems} problems x {args.repeat} repeats (median; active constraints "
        f"{min(active)}-{max(active)})"
    )
    print(f"{'case':<12} {'median ms':>10} {'min ms':>10} {'x ours':>8}")
    for name, values in seconds.items():
        print(
            f"{name:<12} {1e3 * median[name]:>10.3f} {1e3 * min(values):>10.3f}"
            f" {median[name] / median['ours']:>8.1f}"
        )
    verdict = "meets" if meets_target else "misses"
    print(
        f"cvxpy/ours = {ratios['cvxpy/ours']:.1f} ({verdict} the target >= {TARGET_RATIO:g}); "
        f"cvxpy-fresh/ours = {ratios['cvxpy-fresh/ours']:.1f}; "
        f"max |ours - cvxpy| = {largest_difference:.1e}; max KKT residual = {largest_kkt:.1e}"
    )
    if args.json is not None:
        write_json(
            args.json,
            {
                "benchmark": "pocs_projection",
                "samples": args.samples,
                "dim": args.dim,
                "problems": args.problems,
                "repeat": args.repeat,
                "seed": args.seed,
                "seconds": seconds,
                "median_seconds": median,
                "ratios": ratios,
                "target_cvxpy_over_ours": TARGET_RATIO,
                "meets_target": meets_target,
                "max_abs_difference_to_cvxpy": largest_difference,
                "max_kkt_residual": largest_kkt,
                "active_constraints": active,
            },
        )
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
