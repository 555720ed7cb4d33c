r"""Claims about the sparsemax loss (Martins & Astudillo, ICML 2016, §3) and its
Fenchel-Young reading (Blondel, Martins & Niculae, JMLR 2020).

Ids and statements follow ``shared/claims/sparsemax.md``. As in
:mod:`theory.sparsemax.claims`, each check takes the thing under test as a keyword
argument whose default is the paper's statement, and each negative control passes
a plausible false variant to the same check.

The loss under test is :func:`~theory.sparsemax.losses.sparsemax_loss`, the form
:math:`p^\top z-\tfrac12\|p\|^2-q^\top z+\tfrac12\|q\|^2` evaluated on the backend of
the context; the references are the threshold form of the paper evaluated in NumPy
with a bisection threshold, exact rational arithmetic (:mod:`fractions`) and cvxpy.

Tolerances (float64, machine epsilon :math:`\epsilon = 2.2\times10^{-16}`). A loss
value is a handful of sums of K products of numbers no larger than
:math:`1+\max_j|z_j|` (scores, probabilities, the threshold), so its rounding error
is about :math:`K\epsilon(1+\max|z|)^2` to first order; :func:`loss_allowance` takes
8 times that. On O(1) scores (:math:`|z|\le 4`, K <= 20) this is below 1e-12, the
spec's tolerance for identities. Finite differences use the spec's h = 1e-6 and
tolerance 1e-6: the loss has a 1-Lipschitz gradient, so a central difference is off
by at most h/2 = 5e-7 even across a kink, plus a rounding term
:math:`\approx K\epsilon(1+\max|z|)^2/h\approx 10^{-7}` (|z| <= 4, K <= 20). Solver
values are compared at the spec's 1e-7 (CLARABEL run with gap and feasibility 1e-12,
or 1e-10 for the minimisation of the loss, see :data:`MINIMISATION_SOLVER_OPTIONS`).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from theory.sparsemax.claims import PAPER
from theory.sparsemax.losses import sparsemax_loss, sparsemax_loss_grad
from theory.sparsemax.projection import log_sum_exp, softmax, sparsemax, sparsemax_threshold
from theory.sparsemax.references import (
    SOLVER_OPTIONS,
    random_batch,
    sparsemax_exact,
    sparsemax_loss_exact,
    threshold_by_bisection,
)
from theorycheck import checks
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

EPS = float(np.finfo(np.float64).eps)
"""float64 machine epsilon, 2.2e-16."""

SIZES = (2, 3, 5, 10, 20)
"""Class counts K of the random batches (one vectorised batch per K)."""

ZERO_TEST = 1e-9
"""Threshold of the float zero tests of ``sparsemax.loss_zero_iff_margin``: far above
the rounding of a loss that is exactly 0 (:func:`loss_allowance` < 1e-10 for the scores
sampled there, |z| <= 40 and K <= 20) and far below the smallest non-zero loss of the
sampled instances (>= 1.25e-7, see :func:`loss_zero_iff_margin`)."""

BOUNDARY_GAP = 1e-3
"""Distance to the margin boundary (or to the target) below which no float instance
of ``sparsemax.loss_zero_iff_margin`` is sampled, so that its zero tests are unambiguous."""

FD_STEP = 1e-6
FD_TOLERANCE = 1e-6

MINIMISATION_SOLVER_OPTIONS = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}
"""CLARABEL tolerances for the minimisation of the loss over z. At 1e-12 CLARABEL stops
with "optimal_inaccurate" on some targets (for example q = (1/2, 0, 1/2, 0, 0)); 1e-10
pins the optimal value, and the loss at the returned z (which is at most the objective
there), to about 1e-10, far inside the spec's 1e-7."""


def _on_backend(ctx: Context, fn: Callable[..., Any], *arrays: np.ndarray) -> np.ndarray:
    """Run ``fn`` on the backend under test and bring the result back to NumPy."""
    return to_numpy(fn(*(ctx.asarray(a) for a in arrays)))


def loss_allowance(z: np.ndarray) -> np.ndarray:
    r"""Rounding allowance of a float64 loss value at scores z, per row.

    :math:`8K\epsilon(1+\max_j|z_j|)^2`: a first-order bound on the error of a few
    sums of K products of numbers of size at most :math:`1+\max|z|`, with a factor 8
    for the number of such sums (threshold, inner products, norms).

    Parameters
    ----------
    z : ndarray, shape (N, K)
        The scores (or an upper bound of their magnitude) per instance.

    Returns
    -------
    ndarray, shape (N,)
    """
    z = np.asarray(z, dtype=float)
    return 8.0 * z.shape[-1] * EPS * (1.0 + np.max(np.abs(z), axis=-1)) ** 2


def random_targets(rng: np.random.Generator, count: int, size: int) -> np.ndarray:
    """Targets on the simplex, a quarter of each kind.

    One-hot vectors, uniform distributions over a random label set, Dirichlet(1)
    weights on a random label set (sparse) and on all classes (dense).

    Returns
    -------
    ndarray, shape (count, size)
    """
    kind = rng.integers(0, 4, count)[:, None]
    hot = np.eye(size)[rng.integers(0, size, count)]
    label_set = np.where(rng.random((count, size)) < 0.4, 1.0, hot)
    weights = rng.gamma(1.0, size=(count, size))
    chosen = np.select(
        [kind == 0, kind == 1, kind == 2], [hot, label_set, weights * label_set], weights
    )
    return chosen / chosen.sum(axis=-1, keepdims=True)


def _with_ties(rng: np.random.Generator, z: np.ndarray) -> np.ndarray:
    """Copy one coordinate onto another in about a quarter of the rows (pitfall P-A2)."""
    z = z.copy()
    rows = np.flatnonzero(rng.random(z.shape[0]) < 0.25)
    if z.shape[1] >= 2 and rows.size:
        z[rows, 1] = z[rows, 0]
    return z


def _random_rationals(
    rng: np.random.Generator, count: int, sizes: tuple[int, int] = (2, 10)
) -> list[list[Fraction]]:
    """Rational score vectors with entries in [-5, 5], about a third with a tie."""
    vectors = []
    for _ in range(count):
        size = int(rng.integers(sizes[0], sizes[1] + 1))
        denominator = int(rng.integers(8, 25))
        numerators = rng.integers(-5 * denominator, 5 * denominator + 1, size)
        z = [Fraction(int(n), denominator) for n in numerators]
        if rng.random() < 0.3:
            z[1] = z[0]
        vectors.append(z)
    return vectors


def _random_rational_target(rng: np.random.Generator, size: int) -> list[Fraction]:
    """A rational distribution with a random support (some entries exactly 0)."""
    weights = rng.integers(0, 5, size)
    if weights.sum() == 0:
        weights[rng.integers(size)] = 1
    total = int(weights.sum())
    return [Fraction(int(w), total) for w in weights]


def _as_object(rows: list[list[Fraction]]) -> np.ndarray:
    """Rows of Fractions as a NumPy object array (exact arithmetic, vector syntax)."""
    array = np.empty((len(rows), len(rows[0])), dtype=object)
    for i, row in enumerate(rows):
        array[i, :] = row
    return array


def _support_sum(z: np.ndarray, tau: np.ndarray) -> np.ndarray:
    r""":math:`\sum_{j\in S(z)}(z_j^2-\tau^2)`, S = {j: z_j > tau}, on float or Fraction arrays."""
    tau = tau[:, None]
    return np.where(z > tau, z * z - tau * tau, 0).sum(axis=-1)


def _score_of_label(z: np.ndarray, label: np.ndarray) -> np.ndarray:
    return np.take_along_axis(z, label[:, None], axis=-1)[:, 0]


def _one_hot_rows(label: np.ndarray, size: int) -> np.ndarray:
    return np.eye(size)[label]


def _central_differences(
    ctx: Context, fn: Callable[..., Any], z: np.ndarray, *others: np.ndarray
) -> np.ndarray:
    """Central differences (step :data:`FD_STEP`) of ``fn(z, *others)`` along every
    coordinate of z, computed on the backend; shape (N, K)."""
    count, size = z.shape
    step = FD_STEP * np.eye(size)
    points = np.concatenate([z[:, None, :] + step, z[:, None, :] - step])
    repeated = [
        np.ascontiguousarray(np.broadcast_to(np.concatenate([o, o])[:, None, :], points.shape))
        for o in others
    ]
    values = _on_backend(ctx, fn, points, *repeated)
    return (values[:count] - values[count:]) / (2 * FD_STEP)


def _rational_label(z: list[Fraction]) -> str:
    return "(" + ", ".join(str(v) for v in z) + ")"


# --------------------------------------------------------------------------- loss_def


def paper_loss_one_hot(z: np.ndarray, label: np.ndarray, tau: np.ndarray) -> np.ndarray:
    r"""§3: :math:`L(z;k)=-z_k+\tfrac12\sum_{j\in S(z)}(z_j^2-\tau^2(z))+\tfrac12`.

    Parameters
    ----------
    z : ndarray, shape (N, K)
        Scores, float or an object array of Fractions (then the result is exact).
    label : ndarray of int, shape (N,)
        The gold class k of each row.
    tau : ndarray, shape (N,)
        The threshold :math:`\tau(z)` of each row.

    Returns
    -------
    ndarray, shape (N,)
    """
    return -_score_of_label(z, label) + (_support_sum(z, tau) + 1) / 2


def loss_without_half(z: np.ndarray, label: np.ndarray, tau: np.ndarray) -> np.ndarray:
    r"""Control: :math:`-z_k+\tfrac12\sum_{S}(z_j^2-\tau^2)` (the "+1/2" dropped)."""
    return -_score_of_label(z, label) + _support_sum(z, tau) / 2


def loss_summed_over_all(z: np.ndarray, label: np.ndarray, tau: np.ndarray) -> np.ndarray:
    r"""Control: :math:`-z_k+\tfrac12\sum_{j=1}^K(z_j^2-\tau^2)+\tfrac12` (all j, not only S)."""
    t = tau[:, None]
    return -_score_of_label(z, label) + ((z * z - t * t).sum(axis=-1) + 1) / 2


@claim(
    "sparsemax.loss_def",
    paper=PAPER,
    source="Sec. 3",
    statement=(
        r"L_{\mathrm{sparsemax}}(z;k)=-z_k+\tfrac12\sum_{j\in S(z)}"
        r"\big(z_j^2-\tau^2(z)\big)+\tfrac12"
    ),
    method="numeric",
    provenance="confirmed",
    notes=(
        "The equivalent form -z_k + p^T z - ||p||^2/2 + 1/2 with p = sparsemax(z), which "
        "the implementation evaluates, is derived."
    ),
    controls=[
        Control(
            "no-half",
            r"L=-z_k+\tfrac12\sum_{j\in S}(z_j^2-\tau^2)",
            {"formula": loss_without_half},
        ),
        Control(
            "sum-over-all",
            r"L=-z_k+\tfrac12\sum_{j=1}^K(z_j^2-\tau^2)+\tfrac12",
            {"formula": loss_summed_over_all},
        ),
    ],
)
def loss_def(
    ctx: Context,
    formula: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] = paper_loss_one_hot,
) -> Evidence:
    r"""The threshold form against the implementation (the p-form) and in exact arithmetic.

    float64: ``formula`` with the bisection threshold against
    :func:`~theory.sparsemax.losses.sparsemax_loss` on O(1) scores (scales 0.01 to 1,
    K up to 50, with ties), tolerance 1e-12 (module docstring). Exact: on random
    rational z, ``formula`` with the exact threshold equals the exact p-form
    :math:`p^\top z-\tfrac12\|p\|^2-z_k+\tfrac12` (zero residual), and the
    implementation agrees with that exact value to 1e-12.
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for size in (*SIZES, 50):
        count = ctx.pick(60, 600)
        z = _with_ties(rng, random_batch(rng, count, size, scale_range=(-2, 0)))
        label = rng.integers(0, size, count)
        implemented = _on_backend(ctx, sparsemax_loss, z, _one_hot_rows(label, size))
        claimed = formula(z, label, threshold_by_bisection(z))
        parts[f"K={size} vs implementation"] = checks.compare(
            implemented, claimed, atol=1e-12, inputs={"z": z, "label": label}
        )

    rational_rng = ctx.rng(1)
    rationals = _random_rationals(rational_rng, ctx.pick(150, 1500))
    failures = []
    exact_by_size: dict[int, list[tuple[list[Fraction], int, Fraction]]] = {}
    for z in rationals:
        label = int(rational_rng.integers(len(z)))
        _, tau, _ = sparsemax_exact(z)
        claimed = formula(_as_object([z]), np.array([label]), np.array([tau], dtype=object))[0]
        expected = sparsemax_loss_exact(z, [Fraction(int(j == label)) for j in range(len(z))])
        if claimed != expected:
            failures.append(
                {
                    "z": _rational_label(z),
                    "label": label,
                    "formula": str(claimed),
                    "exact": str(expected),
                }
            )
        exact_by_size.setdefault(len(z), []).append((z, label, expected))
    parts["exact: threshold form = p-form"] = checks.exact(
        not failures,
        cases=len(rationals),
        residual=float(Fraction(failures[0]["formula"]) - Fraction(failures[0]["exact"]))
        if failures
        else None,
        counterexample=failures[0] if failures else None,
    )
    for size, rows in sorted(exact_by_size.items()):
        z = np.array([[float(v) for v in row[0]] for row in rows])
        label = np.array([row[1] for row in rows])
        parts[f"K={size} implementation vs exact"] = checks.compare(
            _on_backend(ctx, sparsemax_loss, z, _one_hot_rows(label, size)),
            [float(row[2]) for row in rows],
            atol=1e-12,
            inputs={"z": z, "label": label},
        )
    return checks.combine(parts)


# --------------------------------------------------------------------------- loss_multilabel


def uniform_over_labels(label_set: np.ndarray) -> np.ndarray:
    r"""The multi-label target :math:`q=\mathbf 1_Y/|Y|` of a 0/1 label-set mask (rows)."""
    return label_set / label_set.sum(axis=-1, keepdims=True)


def label_indicator(label_set: np.ndarray) -> np.ndarray:
    r"""Control: the un-normalised 0/1 vector :math:`\mathbf 1_Y` fed as q
    (then :math:`\tfrac12\|q\|^2=|Y|/2`)."""
    return np.asarray(label_set, dtype=float)


def multilabel_loss_formula(z: Any, q: Any) -> Any:
    r""":math:`-q^\top z+\tfrac12\sum_{j\in S(z)}(z_j^2-\tau^2(z))+\tfrac12\|q\|^2` on the backend.

    The paper's formula as written, with the implementation's threshold and no
    check that q lies on the simplex (so that a wrong target can be fed to it).

    Parameters
    ----------
    z, q : array, shape (..., K)
        Scores and targets of any array-API namespace.
    """
    xp = array_namespace(z)
    tau = sparsemax_threshold(z)[..., None]
    support_sum = xp.sum(xp.where(z > tau, z * z - tau * tau, 0.0), axis=-1)
    return -xp.sum(q * z, axis=-1) + 0.5 * support_sum + 0.5 * xp.sum(q * q, axis=-1)


@claim(
    "sparsemax.loss_multilabel",
    paper=PAPER,
    source="Sec. 3 (multi-label)",
    statement=(
        r"L_{\mathrm{sparsemax}}(z;q)=-q^\top z+\tfrac12\sum_{j\in S(z)}"
        r"\big(z_j^2-\tau^2(z)\big)+\tfrac12\|q\|^2,\ q\in\Delta^{K-1}"
    ),
    method="numeric",
    provenance="confirmed",
    notes="The experiments' target q = 1_Y/|Y| for a label set Y is not confirmed in the paper.",
    controls=[
        Control(
            "unnormalised-labels",
            r"q=\mathbf 1_Y\ \text{(0/1 labels, not divided by }|Y|)",
            {"target": label_indicator},
        )
    ],
)
def loss_multilabel(
    ctx: Context, target: Callable[[np.ndarray], np.ndarray] = uniform_over_labels
) -> Evidence:
    r"""The formula for general q, its one-hot reduction, and label-set targets.

    - float64: the implementation against the formula (bisection threshold, NumPy)
      for random q on the simplex, and against ``paper_loss_one_hot`` at q = δ_k
      (1e-12, O(1) scores);
    - exact: the threshold form equals the exact p-form for rational z and q;
    - label sets: for q = ``target(Y)``, the formula is >= 0 at random z (and near
      q), and 0 at z = q, its minimum (allowance :func:`loss_allowance`).
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for size in SIZES:
        count = ctx.pick(60, 600)
        z = _with_ties(rng, random_batch(rng, count, size, scale_range=(-2, 0)))
        q = random_targets(rng, count, size)
        tau = threshold_by_bisection(z)
        claimed = -(q * z).sum(axis=-1) + _support_sum(z, tau) / 2 + (q * q).sum(axis=-1) / 2
        parts[f"K={size} general q vs implementation"] = checks.compare(
            _on_backend(ctx, sparsemax_loss, z, q), claimed, atol=1e-12, inputs={"z": z, "q": q}
        )
        label = rng.integers(0, size, count)
        parts[f"K={size} one-hot q reduces to loss_def"] = checks.compare(
            _on_backend(ctx, sparsemax_loss, z, _one_hot_rows(label, size)),
            paper_loss_one_hot(z, label, tau),
            atol=1e-12,
            inputs={"z": z, "label": label},
        )

        label_set = np.where(rng.random((count, size)) < 0.5, 1.0, _one_hot_rows(label, size))
        target_q = target(label_set)
        near = target_q + 0.1 * rng.standard_normal((count, size))
        far = random_batch(rng, count, size, scale_range=(-2, 0.5))
        points = np.concatenate([near, far])
        targets = np.concatenate([target_q, target_q])
        values = _on_backend(ctx, multilabel_loss_formula, points, targets)
        parts[f"K={size} label sets: L >= 0"] = checks.nonnegative(
            values,
            tol=float(np.max(loss_allowance(points))),
            inputs={"z": points, "labels": np.concatenate([label_set, label_set])},
        )
        parts[f"K={size} label sets: L(q; q) = 0"] = checks.compare(
            _on_backend(ctx, multilabel_loss_formula, target_q, target_q),
            0.0,
            atol=loss_allowance(target_q),
            inputs={"labels": label_set, "q": target_q},
        )

    rational_rng = ctx.rng(1)
    rationals = _random_rationals(rational_rng, ctx.pick(100, 1000))
    failures = []
    for z in rationals:
        q = _random_rational_target(rational_rng, len(z))
        _, tau, _ = sparsemax_exact(z)
        support_sum = sum((v * v - tau * tau for v in z if v > tau), Fraction(0))
        claimed = (
            -sum(a * b for a, b in zip(q, z, strict=True))
            + support_sum / 2
            + sum(a * a for a in q) / 2
        )
        expected = sparsemax_loss_exact(z, q)
        if claimed != expected:
            failures.append(
                {
                    "z": _rational_label(z),
                    "q": _rational_label(q),
                    "formula": str(claimed),
                    "exact": str(expected),
                }
            )
    parts["exact: threshold form = p-form"] = checks.exact(
        not failures, cases=len(rationals), counterexample=failures[0] if failures else None
    )
    return checks.combine(parts)


# --------------------------------------------------------------------------- loss_grad


def softmax_gradient(z: Any, q: Any) -> Any:
    r"""Control: :math:`-q+\mathrm{softmax}(z)`, the gradient of the softmax loss."""
    return softmax(z) - q


def points_on_kinks(rng: np.random.Generator, count: int, size: int) -> np.ndarray:
    r"""Scores with at least one coordinate exactly at the threshold, :math:`z_j=\tau(z)`.

    Built backwards from dyadic rationals, so that every value is exact in float64:
    a support of s < K classes with :math:`p_j = w_j/1024` summing to 1, a threshold
    :math:`\tau\in\tfrac18\mathbb Z\cap[-2,2]`, :math:`z_j=p_j+\tau` on the support,
    :math:`z_j=\tau` (a kink) on the next class and on about half of the others,
    :math:`z_j\in[\tau-2,\tau)` on the rest. Then sparsemax(z) = p exactly.

    Returns
    -------
    ndarray, shape (count, size)
    """
    total = 1024
    support_size = rng.integers(1, size, count)[:, None]
    rank = np.argsort(np.argsort(rng.random((count, size)), axis=1), axis=1)
    in_support = rank < support_size
    weights = np.where(in_support, rng.integers(1, total // size, (count, size)), 0)
    last = rank == support_size - 1
    weights = np.where(last, 0, weights)
    weights = np.where(last, total - weights.sum(axis=1, keepdims=True), weights)
    tau = rng.integers(-16, 17, count)[:, None] / 8
    at_kink = (rank == support_size) | (rng.random((count, size)) < 0.5)
    below = tau - rng.integers(1, 33, (count, size)) / 16
    return np.where(in_support, weights / total + tau, np.where(at_kink, tau, below))


@claim(
    "sparsemax.loss_grad",
    paper=PAPER,
    source="Prop. 3, item 1",
    statement=r"\nabla_z L_{\mathrm{sparsemax}}(z;q)=-q+\mathrm{sparsemax}(z)\ \text{for every } z",
    method="numeric",
    provenance="unconfirmed-numbering",
    notes=(
        "Derived: the gradient is 1-Lipschitz (sparsemax is a projection), so L is "
        "1-smooth; C^1 but not C^2."
    ),
    controls=[
        Control(
            "softmax-gradient",
            r"\nabla_z L_{\mathrm{sparsemax}}(z;q)=-q+\mathrm{softmax}(z)",
            {"gradient": softmax_gradient},
        )
    ],
)
def loss_grad(ctx: Context, gradient: Callable[[Any, Any], Any] = sparsemax_loss_grad) -> Evidence:
    r"""Central differences of the loss against ``gradient``, also exactly on kinks.

    h = 1e-6, tolerance 1e-6 (module docstring: truncation <= h/2 for a 1-smooth
    function, kinks included; rounding <= 1e-7 on O(1) scores). Half of the points
    are random (scales 0.01 to 1, with ties), half lie exactly on kinks
    (:func:`points_on_kinks`); targets are one-hot, label-set, sparse and dense.
    The derived 1-Lipschitz bound :math:`\|\nabla L(a)-\nabla L(b)\|\le\|a-b\|` is
    checked on random pairs.
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for size in SIZES:
        count = ctx.pick(40, 400)
        z = np.concatenate(
            [
                _with_ties(rng, random_batch(rng, count, size, scale_range=(-2, 0))),
                points_on_kinks(rng, count, size),
            ]
        )
        q = random_targets(rng, 2 * count, size)
        differences = _central_differences(ctx, sparsemax_loss, z, q)
        parts[f"K={size} vs finite differences"] = checks.compare(
            _on_backend(ctx, gradient, z, q),
            differences,
            atol=FD_TOLERANCE,
            inputs={"z": z, "q": q},
        )
        a = random_batch(rng, count, size, scale_range=(-2, 1))
        b = a + random_batch(rng, count, size, scale_range=(-3, 0))
        q = random_targets(rng, count, size)
        gradients = _on_backend(ctx, gradient, np.concatenate([a, b]), np.concatenate([q, q]))
        slack = np.linalg.norm(a - b, axis=1) - np.linalg.norm(
            gradients[:count] - gradients[count:], axis=1
        )
        parts[f"K={size} 1-Lipschitz gradient"] = checks.nonnegative(
            slack,
            tol=float(np.max(loss_allowance(np.maximum(np.abs(a), np.abs(b))))),
            inputs={"a": a, "b": b, "q": q},
        )
    return checks.combine(parts)


# --------------------------------------------------------------------------- loss_convex


def loss_minus_centred_quadratic(z: Any, q: Any) -> Any:
    r"""Control: :math:`L(z;q)-\tfrac14\|z-\bar z\mathbf 1\|^2`, not convex off the support."""
    xp = array_namespace(z)
    centred = z - xp.mean(z, axis=-1, keepdims=True)
    return sparsemax_loss(z, q) - 0.25 * xp.sum(centred * centred, axis=-1)


def loss_by_duality_problem(
    shape: tuple[int, ...],
) -> tuple[Any, tuple[Any, ...], Callable[[], Any]]:
    r"""The loss as a DCP problem, for :func:`~theorycheck.checks.solve_each`.

    .. math::

        L(z;q)=\min_{\tau\in\mathbb R}\Big(\tfrac12\|[z-\tau\mathbf 1]_+\|^2+\tau\Big)
               -q^\top z+\tfrac12\|q\|^2 ,

    the Lagrangian dual of :math:`\max_{p\in\Delta}p^\top z-\tfrac12\|p\|^2` (its
    minimiser is :math:`\tau(z)`). Parameters: z and the constant
    :math:`-q^\top z+\tfrac12\|q\|^2`; the result is the optimal value.
    """
    import cvxpy as cp

    z = cp.Parameter(shape)
    offset = cp.Parameter()
    tau = cp.Variable()
    objective = 0.5 * cp.sum_squares(cp.pos(z - tau)) + tau + offset
    problem = cp.Problem(cp.Minimize(objective))
    return problem, (z, offset), lambda: problem.value


@claim(
    "sparsemax.loss_convex",
    paper=PAPER,
    source="Prop. 3, item 2",
    statement=r"z\mapsto L_{\mathrm{sparsemax}}(z;q)\ \text{is convex}",
    method="solver",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "minus-centred-quadratic",
            r"L(z;q)-\tfrac14\|z-\bar z\mathbf 1\|^2 is convex",
            {"loss": loss_minus_centred_quadratic},
        )
    ],
)
def loss_convex(ctx: Context, loss: Callable[[Any, Any], Any] = sparsemax_loss) -> Evidence:
    r"""Midpoint convexity on random pairs, and the loss as a DCP-accepted cvxpy problem.

    - Midpoint: :math:`L(\tfrac{a+b}2)\le\tfrac12(L(a)+L(b))` up to
      :func:`loss_allowance` (scales 0.01 to 10, near and far pairs, with ties).
    - cvxpy: the dual form of :func:`loss_by_duality_problem` is accepted by the DCP
      rules (itself a proof of convexity in z, since the partial minimum of a
      jointly convex function is convex) and its CLARABEL value matches ``loss``
      to 1e-7.
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for size in SIZES:
        count = ctx.pick(100, 1000)
        a = _with_ties(rng, random_batch(rng, count, size, scale_range=(-2, 1)))
        b = a + random_batch(rng, count, size, scale_range=(-2, 1))
        q = random_targets(rng, count, size)
        midpoint = (a + b) / 2
        values = _on_backend(ctx, loss, np.concatenate([a, b, midpoint]), np.concatenate([q, q, q]))
        at_a, at_b, at_mid = values[:count], values[count : 2 * count], values[2 * count :]
        parts[f"K={size} midpoint"] = checks.nonnegative(
            (at_a + at_b) / 2 - at_mid,
            tol=float(np.max(loss_allowance(np.maximum(np.abs(a), np.abs(b))))),
            inputs={"a": a, "b": b, "q": q},
        )

    problem, _, _ = loss_by_duality_problem((3,))
    accepted = problem.is_dcp(dpp=True)
    parts["DCP form accepted"] = checks.exact(
        accepted, counterexample=None if accepted else {"problem": str(problem)}
    )
    for size in (2, 5, 20):
        count = ctx.pick(10, 100)
        z = random_batch(rng, count, size, scale_range=(-2, 1))
        q = random_targets(rng, count, size)
        offset = -(q * z).sum(axis=1) + (q * q).sum(axis=1) / 2
        solved = checks.solve_each(loss_by_duality_problem, z, offset, **SOLVER_OPTIONS)
        parts[f"K={size} vs cvxpy dual form"] = checks.compare(
            _on_backend(ctx, loss, z, q), solved, atol=1e-7, inputs={"z": z, "q": q}
        )
    return checks.combine(parts)


# --------------------------------------------------------------------------- loss_shift


def shift_scores(z: Any, c: Any) -> Any:
    r""":math:`z+c\mathbf 1` (row-wise c); any array type, Fractions included."""
    return z + c[..., None]


def scale_scores(z: Any, c: Any) -> Any:
    r"""Control: :math:`cz` (row-wise c)."""
    return c[..., None] * z


@claim(
    "sparsemax.loss_shift",
    paper=PAPER,
    source="Prop. 3, item 3",
    statement=(
        r"L_{\mathrm{sparsemax}}(z+c\mathbf 1;q)=L_{\mathrm{sparsemax}}(z;q)\ "
        r"\forall c\in\mathbb R"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control("scale", r"L(cz;q)=L(z;q)", {"transform": scale_scores}),
    ],
)
def loss_shift(ctx: Context, transform: Callable[[Any, Any], Any] = shift_scores) -> Evidence:
    r"""The loss is unchanged by ``transform(z, c)``: float64 and exact rationals.

    float64 (transform applied on the backend): c uniform in [-10, 10], scores at
    scales 0.01 to 10; tolerance :func:`loss_allowance` of :math:`|z|+|c|`, which
    also covers the rounding of z + c. Exact: rational z, q and c, zero residual.
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for size in SIZES:
        count = ctx.pick(100, 1000)
        z = _with_ties(rng, random_batch(rng, count, size, scale_range=(-2, 1)))
        q = random_targets(rng, count, size)
        c = rng.uniform(-10, 10, count)
        moved = _on_backend(ctx, lambda z_, q_, c_: sparsemax_loss(transform(z_, c_), q_), z, q, c)
        parts[f"K={size}"] = checks.compare(
            moved,
            _on_backend(ctx, sparsemax_loss, z, q),
            atol=loss_allowance(np.abs(z) + np.abs(c)[:, None]),
            inputs={"z": z, "q": q, "c": c},
        )

    rational_rng = ctx.rng(1)
    rationals = _random_rationals(rational_rng, ctx.pick(100, 1000))
    failures = []
    for z in rationals:
        q = _random_rational_target(rational_rng, len(z))
        c = Fraction(int(rational_rng.integers(-40, 41)), int(rational_rng.integers(1, 9)))
        moved = list(transform(_as_object([z]), np.array([c], dtype=object))[0])
        before, after = sparsemax_loss_exact(z, q), sparsemax_loss_exact(moved, q)
        if before != after:
            failures.append(
                {
                    "z": _rational_label(z),
                    "q": _rational_label(q),
                    "c": str(c),
                    "loss": str(before),
                    "transformed loss": str(after),
                }
            )
    parts["exact"] = checks.exact(
        not failures,
        cases=len(rationals),
        residual=float(Fraction(failures[0]["loss"]) - Fraction(failures[0]["transformed loss"]))
        if failures
        else None,
        counterexample=failures[0] if failures else None,
    )
    return checks.combine(parts)


# --------------------------------------------------------------------------- loss_nonneg


def loss_without_half_norm(z: Any, q: Any) -> Any:
    r"""Control: :math:`-q^\top z+\tfrac12\sum_S(z_j^2-\tau^2)`, without :math:`\tfrac12\|q\|^2`."""
    xp = array_namespace(q)
    return sparsemax_loss(z, q) - 0.5 * xp.sum(q * q, axis=-1)


def loss_minimisation_problem(
    shape: tuple[int, ...],
) -> tuple[Any, tuple[Any, ...], Callable[[], Any]]:
    r""":math:`\min_{z,\tau}\tfrac12\|[z-\tau\mathbf 1]_+\|^2+\tau-q^\top z+\tfrac12\|q\|^2`.

    The minimum of the loss over z, in the DCP form of
    :func:`loss_by_duality_problem` (jointly convex in z and :math:`\tau`).
    Two constraints remove the flat directions (an interior-point solver reports
    "optimal_inaccurate" on the unbounded set of minimisers) without changing the
    infimum: :math:`\mathbf 1^\top z=0`, since the objective is invariant under
    :math:`(z,\tau)\mapsto(z+c\mathbf 1,\tau+c)` when :math:`\mathbf 1^\top q=1`; and
    :math:`z\ge\tau-1`, since raising a coordinate :math:`z_j<\tau-1` to
    :math:`\tau-1` leaves :math:`[z_j-\tau]_+=0` and does not increase
    :math:`-q_jz_j`. Parameters: q and :math:`\tfrac12\|q\|^2`; the result is the
    optimal value followed by the minimiser z.
    """
    import cvxpy as cp

    q = cp.Parameter(shape)
    half_norm = cp.Parameter()
    z = cp.Variable(shape)
    tau = cp.Variable()
    objective = 0.5 * cp.sum_squares(cp.pos(z - tau)) + tau - q @ z + half_norm
    problem = cp.Problem(cp.Minimize(objective), [cp.sum(z) == 0, z >= tau - 1])
    return problem, (q, half_norm), lambda: np.concatenate([[problem.value], z.value])


@claim(
    "sparsemax.loss_nonneg",
    paper=PAPER,
    source="Prop. 3, item 4",
    statement=r"L_{\mathrm{sparsemax}}(z;q)\ge 0\ \ \forall z\in\mathbb R^K,\ q\in\Delta^{K-1}",
    method="solver",
    provenance="unconfirmed-numbering",
    notes="The sharper bound L(z;q) >= ||q - sparsemax(z)||^2 / 2 (Fenchel-Young) is derived.",
    controls=[
        Control(
            "without-half-norm",
            r"-q^\top z+\tfrac12\sum_{j\in S}(z_j^2-\tau^2)\ge0",
            {"loss": loss_without_half_norm},
        )
    ],
)
def loss_nonneg(ctx: Context, loss: Callable[[Any, Any], Any] = sparsemax_loss) -> Evidence:
    r"""Random search, the sharper bound, and the cvxpy minimum over z.

    - Random search: ``loss`` >= 0 at random scores (scales 0.01 to 10, with ties)
      and near the minimisers q + c1 (perturbations 1e-4 to 0.1);
    - [derived] :math:`L\ge\tfrac12\|q-\mathrm{sparsemax}(z)\|^2`, sparsemax from the
      bisection reference; both up to :func:`loss_allowance`;
    - cvxpy: the minimum of the DCP form over z (:func:`loss_minimisation_problem`)
      is 0 to 1e-7, and ``loss`` at the solver's minimiser is 0 to 1e-7.
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for size in SIZES:
        count = ctx.pick(100, 1000)
        q = random_targets(rng, 2 * count, size)
        shift = rng.uniform(-5, 5, (count, 1))
        wiggle = random_batch(rng, count, size, scale_range=(-4, -1))
        z = np.concatenate(
            [
                _with_ties(rng, random_batch(rng, count, size, scale_range=(-2, 1))),
                q[count:] + shift + wiggle,
            ]
        )
        values = _on_backend(ctx, loss, z, q)
        tol = float(np.max(loss_allowance(z)))
        parts[f"K={size} L >= 0"] = checks.nonnegative(values, tol=tol, inputs={"z": z, "q": q})
        p = np.clip(z - threshold_by_bisection(z)[:, None], 0.0, None)
        parts[f"K={size} L >= |q - sparsemax(z)|^2 / 2"] = checks.nonnegative(
            values - 0.5 * ((q - p) ** 2).sum(axis=1), tol=tol, inputs={"z": z, "q": q}
        )
    for size in (2, 5, 20):
        count = ctx.pick(8, 80)
        q = random_targets(rng, count, size)
        solved = checks.solve_each(
            loss_minimisation_problem, q, (q * q).sum(axis=1) / 2, **MINIMISATION_SOLVER_OPTIONS
        )
        minimum, minimiser = solved[:, 0], solved[:, 1:]
        parts[f"K={size} cvxpy minimum over z is 0"] = checks.compare(
            minimum, 0.0, atol=1e-7, inputs={"q": q}
        )
        parts[f"K={size} loss at the cvxpy minimiser is 0"] = checks.compare(
            _on_backend(ctx, loss, minimiser, q), 0.0, atol=1e-7, inputs={"q": q, "z": minimiser}
        )
    return checks.combine(parts)


# --------------------------------------------------------------------------- loss_zero_iff_margin


def gap_to_runner_up(z: np.ndarray, label: np.ndarray) -> np.ndarray:
    r""":math:`z_k-\max_{j\ne k}z_j` per row; float or Fraction (object, exact) arrays."""
    others = np.where(np.arange(z.shape[1]) == label[:, None], -np.inf, z)
    return _score_of_label(z, label) - others.max(axis=1)


_GOLDEN_ZERO = [
    # z, gold class, loss  (shared/claims/sparsemax.md, sparsemax.loss_zero_iff_margin)
    ((3, 2, Fraction(3, 2)), 0, Fraction(0)),
    ((Fraction(299, 100), 2, Fraction(3, 2)), 0, Fraction(1, 40000)),
]

_EXACT_GAPS = (
    Fraction(1),
    Fraction(999, 1000),
    Fraction(1001, 1000),
    Fraction(1, 2),
    Fraction(499, 1000),
    Fraction(501, 1000),
    Fraction(2),
    Fraction(1999, 1000),
    Fraction(0),
    Fraction(1, 1000),
    Fraction(-1, 3),
)
"""Exact gaps :math:`z_k-\\max_{j\\ne k}z_j`: on, just below and just above the margin
1 and the false margins 1/2, 2 and 0 of the controls."""


def _exact_margin_instances(
    rng: np.random.Generator, count: int
) -> list[tuple[list[Fraction], int]]:
    """Rational scores whose gold-class gap is one of :data:`_EXACT_GAPS` or random."""
    instances = [(list(map(Fraction, z)), k) for z, k, _ in _GOLDEN_ZERO]
    for i, z in enumerate(_random_rationals(rng, count)):
        label = int(rng.integers(len(z)))
        others = [v for j, v in enumerate(z) if j != label]
        if i < 2 * len(_EXACT_GAPS):
            gap = _EXACT_GAPS[i % len(_EXACT_GAPS)]
        else:
            gap = Fraction(int(rng.integers(-200, 601)), 200)
        z[label] = max(others) + gap
        instances.append((z, label))
    return instances


def _float_margin_instances(
    rng: np.random.Generator, count: int, size: int
) -> tuple[np.ndarray, np.ndarray]:
    r"""Scores whose gold-class gap g avoids :math:`|g-1|<` :data:`BOUNDARY_GAP`.

    :math:`g = 1\pm(10^{-3}+U(0,2))`; about a quarter of the rows (K >= 3) tie the
    runner-up with a third class.
    """
    z = random_batch(rng, count, size, scale_range=(-2, 1))
    label = rng.integers(0, size, count)
    is_gold = np.arange(size) == label[:, None]
    others = np.where(is_gold, -np.inf, z)
    runner_up = others.argmax(axis=1)
    if size >= 3:
        keys = rng.random((count, size))
        keys[is_gold] = -1.0
        keys[np.arange(count), runner_up] = -1.0
        third = keys.argmax(axis=1)
        tie = rng.random(count) < 0.25
        rows = np.flatnonzero(tie)
        z[rows, third[rows]] = z[rows, runner_up[rows]]
    sign = np.where(rng.random(count) < 0.5, -1.0, 1.0)
    gap = 1.0 + sign * (BOUNDARY_GAP + rng.uniform(0.0, 2.0, count))
    z[np.arange(count), label] = others.max(axis=1) + gap
    return z, label


def _target_preimages(rng: np.random.Generator, q: np.ndarray) -> np.ndarray:
    r"""Scores z with sparsemax(z) = q: :math:`z_j=q_j+\tau` where :math:`q_j>0`,
    :math:`z_j=\tau-r_j` (:math:`r_j\ge0`, 0 for about a third: a kink) elsewhere."""
    count, size = q.shape
    tau = rng.uniform(-3, 3, (count, 1))
    below = np.where(rng.random((count, size)) < 0.3, 0.0, 10 ** rng.uniform(-3, 0, (count, size)))
    return np.where(q > 0, q + tau, tau - below)


@claim(
    "sparsemax.loss_zero_iff_margin",
    paper=PAPER,
    source="Prop. 3, item 5",
    statement=(r"L(z;\delta_k)=0\iff\mathrm{sparsemax}(z)=\delta_k\iff z_k\ge 1+\max_{j\ne k}z_j"),
    method="numeric",
    provenance="unconfirmed-numbering",
    notes="The multi-label version L(z;q) = 0 iff sparsemax(z) = q is derived (Fenchel-Young).",
    controls=[
        Control(
            "margin-half", r"L(z;\delta_k)=0\iff z_k\ge\tfrac12+\max_{j\ne k}z_j", {"margin": 0.5}
        ),
        Control("margin-two", r"L(z;\delta_k)=0\iff z_k\ge 2+\max_{j\ne k}z_j", {"margin": 2.0}),
        Control("argmax", r"L(z;\delta_k)=0\iff k\in\arg\max_j z_j", {"margin": 0.0}),
    ],
)
def loss_zero_iff_margin(ctx: Context, margin: float = 1.0) -> Evidence:
    r"""The three statements agree, exactly and in float64, with separation ``margin``.

    - Golden: L((3, 2, 1.5); δ_1) = 0 exactly (float and rational) and
      L((2.99, 2, 1.5); δ_1) = 2.5e-5 = 0.01²/4 (1e-14: values <= 3, a few roundings).
    - Exact: on rationals with gaps on, just below and just above 1, 1/2, 2 and 0
      (:data:`_EXACT_GAPS`) and random ones, L = 0 ⇔ p = δ_k ⇔ gap >= ``margin``.
    - float64 with gaps g at distance >= 1e-3 from 1: if g >= 1 + 1e-3 then L = 0 and
      sparsemax(z) = δ_k exactly, so the computed values are within
      :func:`loss_allowance` (< 1e-10) of 0; if 0 < g <= 1 - 1e-3 the runner-up is in
      the support with :math:`p_k-p_j=g`, so :math:`p_k\le(1+g)/2` (and
      :math:`p_k\le\tfrac12` if g <= 0), hence
      :math:`L\ge\tfrac12(1-p_k)^2\ge(1-g)^2/8\ge1.25\cdot10^{-7}` and
      :math:`1-p_k\ge5\cdot10^{-4}`. The zero tests at :data:`ZERO_TEST` = 1e-9 are
      therefore unambiguous.
    - [derived] multi-label: L(z;q) = 0 ⇔ sparsemax(z) = q, on preimages of q
      (:func:`_target_preimages`) and perturbations of them whose sparsemax (by
      bisection) is at distance >= 1e-3 from q, so that
      :math:`L\ge\tfrac12\|q-\mathrm{sparsemax}(z)\|^2\ge5\cdot10^{-7}` (the bound
      of ``sparsemax.loss_nonneg``).
    """
    parts: dict[str, Evidence] = {}
    golden = np.array([[float(v) for v in z] for z, _, _ in _GOLDEN_ZERO])
    golden_label = np.array([k for _, k, _ in _GOLDEN_ZERO])
    golden_loss = _on_backend(ctx, sparsemax_loss, golden, _one_hot_rows(golden_label, 3))
    parts["golden (3, 2, 1.5) -> 0"] = checks.compare(
        golden_loss[:1], [0.0], atol=0.0, inputs={"z": golden[:1]}
    )
    parts["golden (2.99, 2, 1.5) -> 2.5e-5"] = checks.compare(
        golden_loss[1:], [2.5e-5], atol=1e-14, inputs={"z": golden[1:]}
    )
    parts["golden: L = 0 iff margin"] = checks.agree(
        golden_loss <= ZERO_TEST,
        gap_to_runner_up(golden, golden_label) >= margin,
        inputs={"z": golden},
        names=("L = 0", "separated"),
    )

    instances = _exact_margin_instances(ctx.rng(1), ctx.pick(150, 1500))
    zero, one_hot_output, separated, labels = [], [], [], []
    golden_failures = []
    for index, (z, label) in enumerate(instances):
        hot = [Fraction(int(j == label)) for j in range(len(z))]
        loss = sparsemax_loss_exact(z, hot)
        if index < len(_GOLDEN_ZERO) and loss != _GOLDEN_ZERO[index][2]:
            golden_failures.append({"z": _rational_label(z), "loss": str(loss)})
        zero.append(loss == 0)
        one_hot_output.append(sparsemax_exact(z)[0] == hot)
        gap = gap_to_runner_up(_as_object([z]), np.array([label]))[0]
        separated.append(bool(gap >= margin))
        labels.append(f"{_rational_label(z)}, k={label}")
    parts["golden exact losses"] = checks.exact(
        not golden_failures,
        cases=len(_GOLDEN_ZERO),
        counterexample=golden_failures[0] if golden_failures else None,
    )
    parts["exact: L = 0 iff margin"] = checks.agree(
        zero, separated, inputs={"z, k": np.array(labels)}, names=("L = 0", "separated")
    )
    parts["exact: sparsemax = delta_k iff margin"] = checks.agree(
        one_hot_output,
        separated,
        inputs={"z, k": np.array(labels)},
        names=("sparsemax = delta_k", "separated"),
    )

    rng = ctx.rng(0)
    for size in SIZES:
        count = ctx.pick(200, 2000)
        z, label = _float_margin_instances(rng, count, size)
        hot = _one_hot_rows(label, size)
        loss = _on_backend(ctx, sparsemax_loss, z, hot)
        output = _on_backend(ctx, sparsemax, z)
        is_separated = gap_to_runner_up(z, label) >= margin
        inputs = {"z": z, "label": label}
        parts[f"K={size} L = 0 iff margin"] = checks.agree(
            loss <= ZERO_TEST, is_separated, inputs=inputs, names=("L = 0", "separated")
        )
        parts[f"K={size} sparsemax = delta_k iff margin"] = checks.agree(
            np.abs(output - hot).max(axis=1) <= ZERO_TEST,
            is_separated,
            inputs=inputs,
            names=("sparsemax = delta_k", "separated"),
        )

        q = random_targets(rng, count, size)
        preimage = _target_preimages(rng, q)
        perturbed = preimage + random_batch(rng, count, size, scale_range=(-3, 0))
        p_reference = np.clip(perturbed - threshold_by_bisection(perturbed)[:, None], 0.0, None)
        away = np.linalg.norm(p_reference - q, axis=1) >= BOUNDARY_GAP
        z = np.concatenate([preimage, perturbed[away]])
        q = np.concatenate([q, q[away]])
        loss = _on_backend(ctx, sparsemax_loss, z, q)
        output = _on_backend(ctx, sparsemax, z)
        parts[f"K={size} multi-label: L = 0 iff sparsemax = q"] = checks.agree(
            loss <= ZERO_TEST,
            np.abs(output - q).max(axis=1) <= ZERO_TEST,
            inputs={"z": z, "q": q},
            names=("L = 0", "sparsemax = q"),
        )
    return checks.combine(parts)


# --------------------------------------------------------------------------- fy_identity


def gini_regulariser(p: Any) -> Any:
    r""":math:`\Omega(p)=\tfrac12\|p\|^2` on the simplex (last axis)."""
    xp = array_namespace(p)
    return 0.5 * xp.sum(p * p, axis=-1)


def gini_conjugate(z: Any) -> Any:
    r""":math:`\Omega^*(z)=\tfrac12\sum_{j\in S(z)}(z_j^2-\tau^2(z))`, the derived closed form."""
    xp = array_namespace(z)
    tau = sparsemax_threshold(z)[..., None]
    return 0.5 * xp.sum(xp.where(z > tau, z * z - tau * tau, 0.0), axis=-1)


def shannon_negentropy(p: Any) -> Any:
    r"""Control: :math:`\Omega(p)=\sum_j p_j\log p_j` (with :math:`0\log0=0`)."""
    xp = array_namespace(p)
    safe = xp.where(p > 0, p, 1.0)
    return xp.sum(xp.where(p > 0, p * xp.log(safe), 0.0), axis=-1)


@claim(
    "sparsemax.fy_identity",
    paper=PAPER,
    source="Blondel, Martins & Niculae, JMLR 2020 (Gini entropy)",
    statement=(
        r"L_{\mathrm{sparsemax}}(z;q)=\Omega^*(z)+\Omega(q)-\langle z,q\rangle,\ "
        r"\Omega=\tfrac12\|\cdot\|^2+I_\Delta,\ "
        r"\Omega^*(z)=\tfrac12\sum_{j\in S}(z_j^2-\tau^2),\ \nabla\Omega^*=\mathrm{sparsemax}"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    notes="The closed form L(z;q) = ||q - z||^2/2 - ||sparsemax(z) - z||^2/2 is derived.",
    controls=[
        Control(
            "shannon",
            r"\Omega(p)=\sum_j p_j\log p_j,\ \Omega^*(z)=\log\sum_j e^{z_j}",
            {"regulariser": shannon_negentropy, "conjugate": log_sum_exp},
        )
    ],
)
def fy_identity(
    ctx: Context,
    regulariser: Callable[[Any], Any] = gini_regulariser,
    conjugate: Callable[[Any], Any] = gini_conjugate,
) -> Evidence:
    r"""The Fenchel-Young identities of the sparsemax loss, on the backend.

    For random z (scales 0.01 to 3, with ties) and targets q:

    - ``conjugate(z)`` equals :math:`\langle p,z\rangle-\Omega(p)` at p = sparsemax(z)
      and is at least :math:`\langle p',z\rangle-\Omega(p')` for random p' in the
      simplex (so it is the maximum, attained at sparsemax);
    - the FY loss :math:`\Omega^*(z)+\Omega(q)-\langle z,q\rangle` equals
      :func:`~theory.sparsemax.losses.sparsemax_loss`;
    - central differences of ``conjugate`` equal sparsemax(z) (h = 1e-6, 1e-6, O(1) z);
    - [derived] :math:`\tfrac12\|q-z\|^2-\tfrac12\|\mathrm{sparsemax}(z)-z\|^2` equals the loss.

    Identities up to :func:`loss_allowance`.
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for size in SIZES:
        count = ctx.pick(60, 600)
        z = _with_ties(rng, random_batch(rng, count, size, scale_range=(-2, 0.5)))
        q = random_targets(rng, count, size)
        other = random_targets(rng, count, size)
        allowance = loss_allowance(z)
        inputs = {"z": z, "q": q}

        def objective(scores: Any, p: Any) -> Any:
            return _dot(p, scores) - regulariser(p)

        conjugate_value = _on_backend(ctx, conjugate, z)
        at_sparsemax = _on_backend(ctx, lambda s: objective(s, sparsemax(s)), z)
        parts[f"K={size} conjugate = value at sparsemax"] = checks.compare(
            conjugate_value, at_sparsemax, atol=allowance, inputs={"z": z}
        )
        at_other = _on_backend(ctx, objective, z, other)
        parts[f"K={size} conjugate >= <p', z> - Omega(p')"] = checks.nonnegative(
            conjugate_value - at_other, tol=float(np.max(allowance)), inputs={"z": z, "p'": other}
        )
        loss = _on_backend(ctx, sparsemax_loss, z, q)
        fenchel_young = _on_backend(
            ctx, lambda s, t: conjugate(s) + regulariser(t) - _dot(s, t), z, q
        )
        parts[f"K={size} FY loss = sparsemax loss"] = checks.compare(
            fenchel_young, loss, atol=allowance, inputs=inputs
        )
        closed_form = _on_backend(
            ctx,
            lambda s, t: 0.5 * _dot(t - s, t - s) - 0.5 * _squared_distance_to_sparsemax(s),
            z,
            q,
        )
        parts[f"K={size} closed form (derived)"] = checks.compare(
            closed_form, loss, atol=allowance, inputs=inputs
        )
        small = z / np.maximum(1.0, np.abs(z).max(axis=1, keepdims=True))
        parts[f"K={size} grad conjugate = sparsemax"] = checks.compare(
            _central_differences(ctx, conjugate, small),
            _on_backend(ctx, sparsemax, small),
            atol=FD_TOLERANCE,
            inputs={"z": small},
        )
    return checks.combine(parts)


def _dot(a: Any, b: Any) -> Any:
    """Inner product along the last axis (any array-API namespace)."""
    xp = array_namespace(a, b)
    return xp.sum(a * b, axis=-1)


def _squared_distance_to_sparsemax(z: Any) -> Any:
    """:math:`\\|\\mathrm{sparsemax}(z)-z\\|^2` along the last axis."""
    difference = sparsemax(z) - z
    return _dot(difference, difference)


# --------------------------------------------------------------------------- expected_loss


def minimiser_with_sparsemax_target(q: Any) -> Any:
    r"""A population minimiser: z* = q, for which sparsemax(z*) = q (q is on the simplex)."""
    return q


def minimiser_with_softmax_target(q: Any) -> Any:
    r"""Control: z* = log q, for which softmax(z*) = q (full-support q)."""
    xp = array_namespace(q)
    return xp.log(q)


@claim(
    "sparsemax.expected_loss",
    paper=PAPER,
    source="FY paper (Blondel, Martins & Niculae 2020), consistency",
    statement=(
        r"\mathbb E_{y\sim q}L(z;\delta_y)=L(z;q)+\tfrac12(1-\|q\|^2),\ "
        r"\arg\min_z\mathbb E_{y\sim q}L(z;\delta_y)=\{z:\mathrm{sparsemax}(z)=q\}"
    ),
    method="numeric",
    provenance="derived",
    controls=[
        Control(
            "softmax-minimiser",
            r"the population minimiser satisfies \mathrm{softmax}(z^*)=q",
            {"population_minimiser": minimiser_with_softmax_target},
        )
    ],
)
def expected_loss(
    ctx: Context, population_minimiser: Callable[[Any], Any] = minimiser_with_sparsemax_target
) -> Evidence:
    r"""The expected one-hot loss, its gradient at the claimed minimiser, and minimality.

    - :math:`\sum_y q_yL(z;\delta_y)=L(z;q)+\tfrac12(1-\|q\|^2)` to 1e-12 on O(1)
      scores (module docstring), for one-hot, label-set, sparse and dense q;
    - at z* = ``population_minimiser(q)`` for full-support q (Dirichlet(1)), the
      expected gradient :math:`\sum_y q_y\nabla L(z^*;\delta_y)` vanishes (1e-12:
      it is sparsemax(q) - q, a few roundings of numbers <= 1) and the expected
      loss is no larger at z* than at random perturbations z* + d (allowance
      :func:`loss_allowance`).
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for size in SIZES:
        count = ctx.pick(60, 600)
        z = _with_ties(rng, random_batch(rng, count, size, scale_range=(-2, 0)))
        q = random_targets(rng, count, size)
        parts[f"K={size} identity"] = checks.compare(
            (q * _expected_loss_terms(ctx, z)).sum(axis=1),
            _on_backend(ctx, sparsemax_loss, z, q) + (1 - (q * q).sum(axis=1)) / 2,
            atol=1e-12,
            inputs={"z": z, "q": q},
        )

        q = rng.dirichlet(np.ones(size), count)
        best = _on_backend(ctx, population_minimiser, q)
        repeated, hot = _targets_per_class(best)
        gradients = _on_backend(ctx, sparsemax_loss_grad, repeated, hot)
        parts[f"K={size} expected gradient vanishes at z*"] = checks.compare(
            (q[:, :, None] * gradients).sum(axis=1), 0.0, atol=1e-12, inputs={"q": q, "z*": best}
        )
        perturbed = best + random_batch(rng, count, size, scale_range=(-3, 0))
        at_best = (q * _expected_loss_terms(ctx, best)).sum(axis=1)
        at_perturbed = (q * _expected_loss_terms(ctx, perturbed)).sum(axis=1)
        parts[f"K={size} z* minimises the expected loss"] = checks.nonnegative(
            at_perturbed - at_best,
            tol=float(np.max(loss_allowance(np.maximum(np.abs(best), np.abs(perturbed))))),
            inputs={"q": q, "z*": best, "z": perturbed},
        )
    return checks.combine(parts)


def _expected_loss_terms(ctx: Context, z: np.ndarray) -> np.ndarray:
    r""":math:`L(z;\delta_y)` for every class y, on the backend: shape (N, K)."""
    repeated, hot = _targets_per_class(z)
    return _on_backend(ctx, sparsemax_loss, repeated, hot)


def _targets_per_class(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every row of z repeated K times with the K one-hot targets: shapes (N, K, K)."""
    count, size = z.shape
    repeated = np.ascontiguousarray(np.broadcast_to(z[:, None, :], (count, size, size)))
    hot = np.ascontiguousarray(np.broadcast_to(np.eye(size), (count, size, size)))
    return repeated, hot
