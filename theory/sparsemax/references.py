r"""Independent references for the sparsemax checks (NumPy, float64 or exact).

These never share code with :mod:`theory.sparsemax.projection`: a check compares
the implementation with a reference computed another way.

- :func:`threshold_by_bisection`: the root of the decreasing piecewise-linear
  :math:`g(\tau)=\sum_j[z_j-\tau]_+-1` on :math:`[z_{(1)}-1, z_{(1)})`, vectorised.
- :func:`sparsemax_exact`: Proposition 1 in exact rational arithmetic.
- :func:`projection_problem`: the defining QP as a cvxpy problem.
- :func:`random_scores`: test scores over several scales, with ties.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np


def threshold_by_bisection(z: np.ndarray, iterations: int = 200) -> np.ndarray:
    r"""Solve :math:`\sum_j[z_j-\tau]_+ = 1` by bisection along the last axis.

    200 halvings of an interval of length 1 reach the float64 spacing of
    :math:`\tau`, so the result is accurate to a few ulps of :math:`\max|z|`.

    Parameters
    ----------
    z : ndarray, shape (..., K)

    Returns
    -------
    ndarray, shape (...)
    """
    z = np.asarray(z, dtype=float)
    upper = z.max(axis=-1)
    lower = upper - 1.0
    for _ in range(iterations):
        middle = 0.5 * (lower + upper)
        mass = np.clip(z - middle[..., None], 0.0, None).sum(axis=-1)
        too_low = mass > 1.0
        lower = np.where(too_low, middle, lower)
        upper = np.where(too_low, upper, middle)
    return 0.5 * (lower + upper)


def sparsemax_exact(z: list[Fraction]) -> tuple[list[Fraction], Fraction, int]:
    """Proposition 1 in exact arithmetic: ``(p, tau, k)`` for rational scores."""
    ordered = sorted(z, reverse=True)
    running = Fraction(0)
    k = 0
    total = Fraction(0)
    for rank, value in enumerate(ordered, start=1):
        running += value
        if 1 + rank * value > running:
            k, total = rank, running
    tau = (total - 1) / k
    return [max(value - tau, Fraction(0)) for value in z], tau, k


SOLVER_OPTIONS = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}
"""CLARABEL tolerances for the QP references. An objective gap eps only pins a
strongly convex problem's minimiser to sqrt(eps), so the default 1e-8 gives 1e-4;
1e-12 gives 1e-6 in the worst case and about 1e-9 in practice."""


def projection_problem(shape: tuple[int, ...]):
    """The defining QP :math:`\\min_{p\\in\\Delta}\\|p-z\\|^2` for ``solve_each``."""
    import cvxpy as cp

    z = cp.Parameter(shape)
    p = cp.Variable(shape)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(p - z)), [p >= 0, cp.sum(p) == 1])
    return problem, (z,), lambda: p.value


def random_scores(
    rng: np.random.Generator, count: int, sizes: tuple[int, int] = (2, 50), ties: bool = True
) -> list[np.ndarray]:
    """Random score vectors: K uniform in ``sizes``, scales from 0.01 to 10, with ties.

    About a quarter of the vectors copy one coordinate onto another (pitfall P-A2).
    """
    out = []
    for _ in range(count):
        size = int(rng.integers(sizes[0], sizes[1] + 1))
        scale = 10 ** rng.uniform(-2, 1)
        z = scale * rng.standard_normal(size)
        if ties and size >= 2 and rng.random() < 0.25:
            i, j = rng.choice(size, 2, replace=False)
            z[i] = z[j]
        out.append(z)
    return out


def random_batch(
    rng: np.random.Generator, count: int, size: int, scale_range: tuple[float, float] = (-2, 1)
) -> np.ndarray:
    """A (count, size) batch of scores, each row with its own scale 10**U(scale_range)."""
    scales = 10 ** rng.uniform(*scale_range, size=(count, 1))
    return scales * rng.standard_normal((count, size))


def sparsemax_loss_exact(z: list[Fraction], q: list[Fraction]) -> Fraction:
    r"""The sparsemax loss in exact arithmetic, from :func:`sparsemax_exact`.

    Uses the form :math:`p^\top z-\tfrac12\|p\|^2-q^\top z+\tfrac12\|q\|^2` with
    p the exact sparsemax, so that a check of the threshold form
    :math:`-q^\top z+\tfrac12\sum_S(z_j^2-\tau^2)+\tfrac12\|q\|^2` compares two
    different expressions.

    Parameters
    ----------
    z, q : list of Fraction
        Rational scores and a rational target (``q`` need not be validated here).
    """
    p, _, _ = sparsemax_exact(z)
    linear = sum((pj - qj) * zj for pj, qj, zj in zip(p, q, z, strict=True))
    return linear - sum(pj * pj for pj in p) / 2 + sum(qj * qj for qj in q) / 2
