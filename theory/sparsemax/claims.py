r"""Claims of Martins & Astudillo (ICML 2016) about sparsemax and its Jacobian.

Ids and statements follow ``shared/claims/sparsemax.md``. Each check takes the
thing under test as a keyword argument (defaulting to the paper's statement); each
negative control passes a plausible false variant to the same check. Symbolic
claims (binary reductions, margins) live in :mod:`proofs_check.sparsemax`; the
loss claims in :mod:`theory.sparsemax.loss_claims`.

Tolerances: float64 unit roundoff u = 2.2e-16. A threshold computed from a
cumulative sum of K <= 50 terms of size <= 40 carries an error below
K u max|z| ~ 5e-13, hence the spec's 1e-12 against bisection; the cvxpy QP is
solved to CLARABEL's default 1e-8 feasibility and gap, hence 1e-7.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from theory.sparsemax.projection import sparsemax, sparsemax_threshold
from theory.sparsemax.references import (
    SOLVER_OPTIONS,
    projection_problem,
    random_scores,
    sparsemax_exact,
    threshold_by_bisection,
)
from theorycheck import checks
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "martins2016sparsemax"


def _apply(ctx: Context, fn: Callable[[Any], Any], z: np.ndarray) -> np.ndarray:
    """Run ``fn`` on the backend under test and bring the result back to NumPy."""
    return to_numpy(fn(ctx.asarray(z)))


def _group_by_size(vectors: list[np.ndarray]) -> dict[int, np.ndarray]:
    groups: dict[int, list[np.ndarray]] = {}
    for z in vectors:
        groups.setdefault(z.shape[0], []).append(z)
    return {size: np.stack(rows) for size, rows in sorted(groups.items())}


# --------------------------------------------------------------------------- def_projection


def normalised_relu(z: Any) -> Any:
    r"""Control: :math:`[z]_+/\mathbf 1^\top[z]_+`, a map onto the simplex that is no projection."""
    xp = array_namespace(z)
    positive = xp.clip(z, min=0.0)
    return positive / xp.sum(positive, axis=-1, keepdims=True)


@claim(
    "sparsemax.def_projection",
    paper=PAPER,
    source="Eq. (2)",
    statement=r"\mathrm{sparsemax}(z)=\arg\min_{p\in\Delta^{K-1}}\|p-z\|_2^2",
    method="solver",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "normalised-relu",
            r"[z]_+/\mathbf 1^\top[z]_+ is the projection",
            {"projection": normalised_relu},
        )
    ],
)
def def_projection(ctx: Context, projection: Callable[[Any], Any] = sparsemax) -> Evidence:
    """Compare the map with a cvxpy QP (1e-7) and with the bisection threshold (1e-12)."""
    vectors = random_scores(ctx.rng(0), ctx.pick(40, 1000))
    parts: dict[str, Evidence] = {}
    for size, z in _group_by_size(vectors).items():
        p = _apply(ctx, projection, z)
        solved = checks.solve_each(projection_problem, z, **SOLVER_OPTIONS)
        bisected = np.clip(z - threshold_by_bisection(z)[:, None], 0.0, None)
        parts[f"K={size} vs cvxpy"] = checks.compare(p, solved, atol=1e-7, inputs={"z": z})
        parts[f"K={size} vs bisection"] = checks.compare(p, bisected, atol=1e-12, inputs={"z": z})
    golden = np.array([[1.0, 0.5, -1.0]])
    parts["golden (1, .5, -1)"] = checks.compare(
        _apply(ctx, projection, golden), [[0.75, 0.25, 0.0]], atol=1e-15, inputs={"z": golden}
    )
    return checks.combine(parts)


# --------------------------------------------------------------------------- closed_form


def paper_support_test(rank: int, value: Fraction, prefix_sum: Fraction) -> bool:
    r"""Proposition 1: k is in the support iff :math:`1 + k z_{(k)} > \sum_{j\le k} z_{(j)}`."""
    return 1 + rank * value > prefix_sum


def off_by_one_support_test(rank: int, value: Fraction, prefix_sum: Fraction) -> bool:
    r"""Control (a): :math:`1 + k z_{(k)} > \sum_{j<k} z_{(j)}`, a slip seen in public code."""
    return 1 + rank * value > prefix_sum - value


def paper_denominator(support_size: int, num_classes: int) -> int:
    r"""Proposition 1: :math:`\tau = (\sum_{j\le k} z_{(j)} - 1)/k(z)`."""
    return support_size


def full_denominator(support_size: int, num_classes: int) -> int:
    r"""Control (b): dividing by K instead of k(z)."""
    return num_classes


def threshold_by_rule(
    z: list[Fraction],
    support_test: Callable[[int, Fraction, Fraction], bool],
    denominator: Callable[[int, int], int],
) -> tuple[Fraction | None, int]:
    """Algorithm 1 in exact arithmetic with a given support test and denominator.

    Returns ``(None, 0)`` when no rank passes the test (an empty support).
    """
    ordered = sorted(z, reverse=True)
    prefix = Fraction(0)
    support_size, support_sum = 0, Fraction(0)
    for rank, value in enumerate(ordered, start=1):
        prefix += value
        if support_test(rank, value, prefix):
            support_size, support_sum = rank, prefix
    if support_size == 0:
        return None, 0
    return (support_sum - 1) / denominator(support_size, len(z)), support_size


_GOLDEN_CLOSED_FORM = [
    # z, p, tau, k  (shared/claims/sparsemax.md, sparsemax.closed_form)
    ((1, Fraction(1, 2), -1), (Fraction(3, 4), Fraction(1, 4), 0), Fraction(1, 4), 2),
    (
        (Fraction(3, 10), Fraction(2, 10), Fraction(1, 10), Fraction(-5, 10)),
        (Fraction(13, 30), Fraction(10, 30), Fraction(7, 30), 0),
        Fraction(-2, 15),
        3,
    ),
    ((2, 2, 0), (Fraction(1, 2), Fraction(1, 2), 0), Fraction(3, 2), 2),
    ((0, 0, 0, 0), (Fraction(1, 4),) * 4, Fraction(-1, 4), 4),
]


def _random_rationals(rng: np.random.Generator, count: int) -> list[list[Fraction]]:
    vectors = []
    for _ in range(count):
        size = int(rng.integers(2, 13))
        numerators = rng.integers(-60, 61, size)
        denominator = int(rng.integers(1, 25))
        z = [Fraction(int(n), denominator) for n in numerators]
        if rng.random() < 0.3:
            z[1] = z[0]  # a tie (pitfall P-A2)
        vectors.append(z)
    return vectors


@claim(
    "sparsemax.closed_form",
    paper=PAPER,
    source="Prop. 1, Alg. 1",
    statement=(
        r"\mathrm{sparsemax}_i(z)=[z_i-\tau(z)]_+,\ "
        r"\tau=\frac{\sum_{j\le k(z)}z_{(j)}-1}{k(z)},\ "
        r"k(z)=\max\{k:1+kz_{(k)}>\sum_{j\le k}z_{(j)}\}"
    ),
    method="numeric",
    provenance="confirmed",
    controls=[
        Control(
            "off-by-one-support",
            r"support test 1+k z_{(k)} > \sum_{j<k} z_{(j)}",
            {"support_test": off_by_one_support_test},
        ),
        Control(
            "denominator-K",
            r"\tau=(\sum_{j\le k}z_{(j)}-1)/K",
            {"denominator": full_denominator},
        ),
    ],
)
def closed_form(
    ctx: Context,
    support_test: Callable[[int, Fraction, Fraction], bool] = paper_support_test,
    denominator: Callable[[int, int], int] = paper_denominator,
) -> Evidence:
    r"""Exact: the rule's :math:`\tau` gives :math:`\sum_j[z_j-\tau]_+=1` and :math:`|S|=k`
    on random rationals and the golden values; float64: the implementation agrees
    with bisection (1e-12) and with the exact rule on rational inputs (1e-12)."""
    parts: dict[str, Evidence] = {}

    failures = []
    rationals = [list(map(Fraction, z)) for z, *_ in _GOLDEN_CLOSED_FORM]
    rationals += _random_rationals(ctx.rng(0), ctx.pick(200, 2000))
    for z in rationals:
        tau, k = threshold_by_rule(z, support_test, denominator)
        if tau is None:
            failures.append({"z": [str(v) for v in z], "tau": "none (empty support)", "mass": "0"})
            continue
        mass = sum(max(v - tau, Fraction(0)) for v in z)
        support = sum(1 for v in z if v > tau)
        if mass != 1 or support != k:
            failures.append({"z": [str(v) for v in z], "tau": str(tau), "mass": str(mass), "k": k})
    parts["exact rule"] = checks.exact(
        not failures,
        cases=len(rationals),
        residual=float(Fraction(failures[0]["mass"]) - 1) if failures else None,
        counterexample=failures[0] if failures else None,
    )

    golden_failures = []
    for z, p, tau_expected, k_expected in _GOLDEN_CLOSED_FORM:
        zf = list(map(Fraction, z))
        tau, k = threshold_by_rule(zf, support_test, denominator)
        p_rule = [max(v - tau, Fraction(0)) for v in zf]
        if (tau, k, p_rule) != (tau_expected, k_expected, list(map(Fraction, p))):
            golden_failures.append({"z": z, "tau": str(tau), "k": k})
    parts["golden values"] = checks.exact(
        not golden_failures,
        cases=len(_GOLDEN_CLOSED_FORM),
        counterexample=golden_failures[0] if golden_failures else None,
    )

    for size, z in _group_by_size(random_scores(ctx.rng(1), ctx.pick(300, 3000))).items():
        tau = _apply(ctx, sparsemax_threshold, z)
        parts[f"K={size} vs bisection"] = checks.compare(
            tau, threshold_by_bisection(z), atol=1e-12, inputs={"z": z}
        )
    exact_floats = {}
    for z in rationals:
        exact_floats.setdefault(len(z), []).append(
            (np.array([float(v) for v in z]), float(sparsemax_exact(z)[1]))
        )
    for size, rows in exact_floats.items():
        z = np.stack([r[0] for r in rows])
        parts[f"K={size} vs exact"] = checks.compare(
            _apply(ctx, sparsemax_threshold, z), [r[1] for r in rows], atol=1e-12, inputs={"z": z}
        )
    return checks.combine(parts)
