r"""Independent references for the continual-POCS checks (NumPy, cvxpy, exact rationals).

None of these shares code with :mod:`theory.continual_pocs.projection` or
:mod:`theory.continual_pocs.active_sets`: a check compares the implementation with a
result computed another way.

- :func:`projection_solver`: the defining QP :math:`\min\|w-w_{\mathrm{prev}}\|^2`
  s.t. :math:`Aw\ge\mathbf 1` in cvxpy (CLARABEL, tight tolerances), per instance;
- :func:`hildreth_projection`: Hildreth's dual coordinate ascent (cyclic
  projections of the multipliers onto :math:`\alpha_i\ge0`), vectorised over a batch;
- :func:`nnls_projection`: the least-distance problem through ``scipy.optimize.nnls``
  (Lawson and Hanson), with no polishing;
- :func:`hyperplane_projection`: the affine (regression, Kaczmarz) projection onto
  :math:`\{Aw=\mathbf 1\}`, the negative control of ``pocs.smm_is_pocs``;
- :func:`exact_halfspace_projection`: one-sample projections in exact rational
  arithmetic (sympy).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.optimize
import sympy

SOLVER_OPTIONS = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}
"""CLARABEL tolerances. An objective gap eps pins a strongly convex problem's
minimiser to about sqrt(eps), so 1e-12 gives 1e-6 in the worst case and about 1e-9
in practice (the spec compares solvers at 1e-7)."""

FALLBACK_OPTIONS = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}
"""CLARABEL sometimes stops short of a 1e-12 gap with a numerical error; it is then
re-run at 1e-10, which on these small well-conditioned QPs still pins the minimiser
to about 1e-9 (compared with 1e-12 wherever both succeed)."""


def solve_clarabel(problem: Any) -> None:
    """Solve with :data:`SOLVER_OPTIONS`, falling back to :data:`FALLBACK_OPTIONS`."""
    import cvxpy as cp

    try:
        problem.solve(solver="CLARABEL", **SOLVER_OPTIONS)
    except cp.error.SolverError:
        problem.solve(solver="CLARABEL", **FALLBACK_OPTIONS)


_BUILT: dict[tuple[int, ...], Any] = {}


def projection_solver(point: np.ndarray, rows: np.ndarray) -> np.ndarray:
    r"""Solve :math:`\min\|w-p\|^2` s.t. :math:`Aw\ge\mathbf 1` with cvxpy/CLARABEL, per instance.

    Parameters
    ----------
    point : ndarray, shape (B, D)
    rows : ndarray, shape (B, n, D)

    Returns
    -------
    ndarray, shape (B, D)

    Raises
    ------
    RuntimeError
        When CLARABEL does not report an optimal solution.
    """
    import cvxpy as cp

    point = np.asarray(point, dtype=float)
    rows = np.asarray(rows, dtype=float)
    key = rows.shape[1:]
    if key not in _BUILT:
        p = cp.Parameter(key[1])
        a = cp.Parameter(key)
        w = cp.Variable(key[1])
        problem = cp.Problem(cp.Minimize(cp.sum_squares(w - p)), [a @ w >= 1])
        _BUILT[key] = (problem, p, a, w)
    problem, p, a, w = _BUILT[key]
    out = []
    for index in range(point.shape[0]):
        p.value = point[index]
        a.value = rows[index]
        solve_clarabel(problem)
        if problem.status != "optimal":
            raise RuntimeError(f"cvxpy: status {problem.status!r} on instance {index}")
        out.append(np.asarray(w.value, dtype=float))
    return np.stack(out)


def hildreth_projection(
    point: np.ndarray, rows: np.ndarray, *, sweeps: int = 200_000, tolerance: float = 1e-15
) -> tuple[np.ndarray, int]:
    r"""Hildreth's method for :math:`\Pi_{\{Aw\ge1\}}(p)`, vectorised over a batch.

    Coordinate ascent on the dual: for each row i in turn,
    :math:`\delta=\max(-\alpha_i,(1-a_i^\top w)/\|a_i\|^2)`, :math:`\alpha_i\mathrel{+}=\delta`,
    :math:`w\mathrel{+}=\delta a_i`, starting from :math:`\alpha=0`, :math:`w=p`. It
    converges to the projection (linearly, at a data-dependent rate); sweeps stop when
    no multiplier moves by more than ``tolerance`` (relative to the largest).

    Parameters
    ----------
    point : ndarray, shape (B, D)
    rows : ndarray, shape (B, n, D)
    sweeps : int
        Upper limit on the number of sweeps.
    tolerance : float

    Returns
    -------
    projections : ndarray, shape (B, D)
    sweeps_used : int
    """
    point = np.array(point, dtype=float)
    rows = np.asarray(rows, dtype=float)
    count, samples, _ = rows.shape
    alpha = np.zeros((count, samples))
    norms = np.einsum("bnd,bnd->bn", rows, rows)
    used = 0
    while used < sweeps:
        used += 1
        largest_move = np.zeros(count)
        for i in range(samples):
            margin = np.einsum("bd,bd->b", rows[:, i], point)
            delta = np.maximum(-alpha[:, i], (1.0 - margin) / norms[:, i])
            alpha[:, i] += delta
            point += delta[:, None] * rows[:, i]
            largest_move = np.maximum(largest_move, np.abs(delta))
        if np.all(largest_move <= tolerance * np.maximum(1.0, alpha.max(axis=1))):
            break
    return point, used


def nnls_projection(point: np.ndarray, rows: np.ndarray) -> np.ndarray:
    r"""Lawson-Hanson least-distance programming through NNLS (no polishing).

    :math:`\min_{u\ge0}\|Eu-e_{D+1}\|`, :math:`E=[A^\top;h^\top]`,
    :math:`h=\mathbf 1-Ap`; then :math:`\Pi(p)=p-r_{1:D}/r_{D+1}` with
    :math:`r=Eu-e_{D+1}`.

    Parameters
    ----------
    point : ndarray, shape (B, D)
    rows : ndarray, shape (B, n, D)

    Returns
    -------
    ndarray, shape (B, D)
    """
    out = []
    for p, a in zip(np.asarray(point, float), np.asarray(rows, float), strict=True):
        dim = a.shape[1]
        matrix = np.vstack([a.T, (1.0 - a @ p)[None, :]])
        target = np.zeros(dim + 1)
        target[-1] = 1.0
        weights, _ = scipy.optimize.nnls(matrix, target)
        residual = matrix @ weights - target
        out.append(p - residual[:dim] / residual[-1])
    return np.stack(out)


def hyperplane_projection(point: np.ndarray, rows: np.ndarray) -> np.ndarray:
    r"""Control of ``pocs.smm_is_pocs``: the affine projection onto :math:`\{Aw=\mathbf 1\}`.

    :math:`w+A^{+}(\mathbf 1-Aw)`, the regression (Kaczmarz) update of the authors'
    continual linear-regression analysis, applied to classification.

    Parameters
    ----------
    point : ndarray, shape (B, D)
    rows : ndarray, shape (B, n, D)

    Returns
    -------
    ndarray, shape (B, D)
    """
    point = np.asarray(point, dtype=float)
    rows = np.asarray(rows, dtype=float)
    residual = 1.0 - np.einsum("bnd,bd->bn", rows, point)
    return point + np.einsum("bdn,bn->bd", np.linalg.pinv(rows), residual)


def exact_halfspace_projection(point: sympy.Matrix, normal: sympy.Matrix) -> sympy.Matrix:
    r"""Exact projection onto :math:`\{w : a^\top w\ge1\}`.

    :math:`w+\frac{(1-a^\top w)_+}{\|a\|^2}a`, in sympy (rationals stay exact).
    """
    gap = 1 - (normal.T * point)[0, 0]
    return point + sympy.Max(gap, 0) / (normal.T * normal)[0, 0] * normal
