r"""Gaussian graphical models under total positivity (Ying, Cardoso & Palomar, ICML 2023).

*Adaptive Estimation of Graphical Models under Total Positivity*. A Gaussian is MTP2
exactly when its precision matrix :math:`\Theta` is an M-matrix
(:math:`\Theta\succ0`, :math:`\Theta_{ij}\le0` for :math:`i\ne j`). With a sample
covariance S and off-diagonal weights :math:`\lambda_{ij}\ge0` the estimator solves

.. math:: \hat\Theta=\arg\min_{\Theta\succ0,\ \Theta_{ij}\le0\ (i\ne j)}
          -\log\det\Theta+\operatorname{tr}(\Theta S)+\sum_{i\ne j}\lambda_{ij}|\Theta_{ij}|,

and the adaptive stages reset :math:`\lambda^{(k)}_{ij}=h(|\hat\Theta^{(k-1)}_{ij}|)`. Claims
(``shared/claims/catalog.md`` §87, numbering unconfirmed):

- ``mtp2.cvxpy-kkt``: the KKT conditions :math:`(\hat\Theta^{-1})_{ii}=S_{ii}`,
  :math:`(\hat\Theta^{-1})_{ij}\ge S_{ij}-\lambda_{ij}` with equality where
  :math:`\hat\Theta_{ij}<0`, checked on CLARABEL's solution of both stages and against the
  independent projected-gradient solver :func:`mtp2_projected_gradient`;
- ``mtp2.mle-two-samples`` (facts the paper cites: Slawski & Hein 2015; Lauritzen, Uhler &
  Zwiernik 2019; Truell et al. 2021): with :math:`\lambda=0` the M-matrix MLE exists for
  n = 2 samples while the unconstrained one does not; with n = 1 it exists for diagonally
  dominant M-matrices (:math:`\Theta\mathbf 1\ge0`) only. Existence is certified by a
  dual-feasible point (:func:`dual_certificate`), non-existence by an explicit ray
  (:func:`m_matrix_ray`, :func:`null_space_ray`) along which the objective diverges.

The paper's weight function h is not confirmed; the checks use
:func:`adaptive_weights`, :math:`h(t)=\lambda/(1+t/\varepsilon)` (the derivative of the
log penalty :math:`\lambda\varepsilon\log(1+t/\varepsilon)`). The KKT conditions above
hold for any fixed :math:`\lambda_{ij}\ge0`, so the choice of h does not affect them.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, NamedTuple

import cvxpy as cp
import numpy as np

from theorycheck import checks, validate
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "mtp2"
"""Key of the paper in the seed catalog."""

CONSTRAINTS = ("m-matrix", "diagonally-dominant", "none")
"""Feasible sets: M-matrices, diagonally dominant M-matrices, all of :math:`\\Theta\\succ0`."""

SPEC_KKT_TOL = 1e-5
"""The spec's KKT tolerance. CLARABEL's solutions miss it on some instances (its true
objective gap on cvxpy's conic form of ``log_det`` is ~1e-9, not the nominal 1e-10, and KKT
residuals scale like the square root of the gap), so the check uses the certified
per-instance tolerance of :func:`certified_radius` and reports this one in its details."""

MAX_CERTIFIED_GAP = 5e-5
"""Largest certified gap for which :func:`certified_radius` applies (radius <= 0.01)."""

CLARABEL_OPTIONS = {
    "tol_gap_abs": 1e-10,
    "tol_gap_rel": 1e-10,
    "tol_feas": 1e-10,
    "tol_ktratio": 1e-8,
}
"""Tight CLARABEL tolerances (defaults 1e-8); finer ones end in 'optimal_inaccurate'."""

PGD_TOL = 1e-10
"""Stopping tolerance of :func:`mtp2_projected_gradient` (max-norm of the projected step)."""


class KKTResiduals(NamedTuple):
    r"""Residuals of the MTP2 KKT conditions at a point :math:`\Theta` (all shape (..., p, p)).

    ``stationarity``: :math:`|W_{ii}-S_{ii}|` on the diagonal, 0 off it
    (:math:`W=\Theta^{-1}`); ``multiplier``: :math:`\nu_{ij}=W_{ij}-S_{ij}+\lambda_{ij}` off
    the diagonal (must be >= 0), 0 on it; ``complementarity``:
    :math:`|\min(-\Theta_{ij},\nu_{ij})|` off the diagonal (the natural residual of
    :math:`\Theta_{ij}\le0\le\nu_{ij}`, :math:`\Theta_{ij}\nu_{ij}=0`); ``primal``:
    :math:`\Theta_{ij}` off the diagonal (must be <= 0), :math:`-\infty` on it.
    """

    stationarity: Any
    multiplier: Any
    complementarity: Any
    primal: Any


class PGDResult(NamedTuple):
    """Output of :func:`mtp2_projected_gradient`: solution, final residual, iterations."""

    theta: Any
    residual: Any
    iterations: int


class Certificate(NamedTuple):
    r"""A dual-feasible point: the matrix C of the dual function, its smallest eigenvalue
    and the lower bound :math:`\log\det C+p` on the primal objective (:math:`-\infty`
    when C is not positive definite)."""

    matrix: Any
    min_eigenvalue: Any
    lower_bound: Any


# ------------------------------------------------------------------------------ validation


def _square_batch(x: Any, name: str, func: str) -> tuple[Any, Any, int]:
    x, xp = validate.real_floating(x, name, func=func)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2] or x.shape[-1] < 2:
        raise ValueError(f"{func}: {name} must have shape (..., p, p) with p >= 2, got {x.shape}")
    validate.finite(x, name, func=func, xp=xp)
    return x, xp, int(x.shape[-1])


def _symmetric(x: Any, name: str, func: str, xp: Any) -> None:
    asym = float(xp.max(xp.abs(x - xp.linalg.matrix_transpose(x))))
    scale = float(xp.max(xp.abs(x)))
    if asym > 1e-12 * max(scale, 1.0):
        raise ValueError(f"{func}: {name} must be symmetric, asymmetry {asym:.3g}")


def _covariance(s: Any, func: str) -> tuple[Any, Any, int]:
    s, xp, p = _square_batch(s, "s", func)
    _symmetric(s, "s", func, xp)
    diagonal = xp.linalg.diagonal(s)
    if float(xp.min(diagonal)) <= 0:
        raise ValueError(f"{func}: s must have a positive diagonal, got {float(xp.min(diagonal))}")
    return s, xp, p


def _penalty(lam: Any, s: Any, func: str, xp: Any) -> Any:
    if isinstance(lam, int | float):
        lam = xp.full(s.shape, float(lam), dtype=s.dtype)
    lam, _ = validate.real_floating(lam, "lam", func=func)
    validate.finite(lam, "lam", func=func, xp=xp)
    if lam.ndim < 2 or lam.shape[-2:] != s.shape[-2:]:
        raise ValueError(f"{func}: lam must have shape (..., p, p) like s, got {lam.shape}")
    if float(xp.min(lam)) < 0:
        raise ValueError(f"{func}: lam must be non-negative, got {float(xp.min(lam))}")
    return xp.broadcast_to(lam, xp.broadcast_shapes(lam.shape, s.shape))


def _off_diagonal(xp: Any, p: int, dtype: Any) -> Any:
    return 1.0 - xp.eye(p, dtype=dtype)


def _positive_definite_inverse(theta: Any, func: str, xp: Any) -> tuple[Any, Any]:
    """(Theta^{-1}, eigenvalues of Theta); ValueError naming the smallest eigenvalue if
    Theta is not positive definite."""
    eigenvalues = xp.linalg.eigvalsh(theta)
    smallest = float(xp.min(eigenvalues))
    if smallest <= 0:
        raise ValueError(f"{func}: theta must be positive definite, smallest eigenvalue {smallest}")
    return xp.linalg.inv(theta), eigenvalues


# ------------------------------------------------------------------------------ math


def mtp2_objective(theta: Any, s: Any, lam: Any = 0.0) -> Any:
    r"""Penalised Gaussian negative log-likelihood (constraints not included).

    :math:`f(\Theta)=-\log\det\Theta+\operatorname{tr}(\Theta S)+\sum_{i\ne j}
    \lambda_{ij}|\Theta_{ij}|`; :math:`+\infty` where :math:`\Theta` is not positive definite.

    Parameters
    ----------
    theta, s : array, shape (..., p, p)
        Symmetric precision matrices and sample covariances (S with a positive diagonal).
    lam : float or array, shape (..., p, p)
        Non-negative weights :math:`\lambda_{ij}` (the diagonal is ignored).

    Returns
    -------
    array, shape (...)
    """
    func = "mtp2_objective"
    theta, xp, p = _square_batch(theta, "theta", func)
    s, _, _ = _covariance(s, func)
    _symmetric(theta, "theta", func, xp)
    lam = _penalty(lam, s, func, xp)
    eigenvalues = xp.linalg.eigvalsh(theta)
    positive = xp.min(eigenvalues, axis=-1) > 0
    safe = xp.where(eigenvalues > 0, eigenvalues, xp.ones_like(eigenvalues))
    off = _off_diagonal(xp, p, theta.dtype)
    value = (
        -xp.sum(xp.log(safe), axis=-1)
        + xp.sum(theta * s, axis=(-2, -1))
        + xp.sum(off * lam * xp.abs(theta), axis=(-2, -1))
    )
    return xp.where(positive, value, xp.full_like(value, math.inf))


def mtp2_kkt_residuals(theta: Any, s: Any, lam: Any = 0.0) -> KKTResiduals:
    r"""Residuals of the KKT conditions of the MTP2 problem at :math:`\Theta`.

    With :math:`W=\Theta^{-1}` the conditions are :math:`W_{ii}=S_{ii}`;
    :math:`\nu_{ij}=W_{ij}-S_{ij}+\lambda_{ij}\ge0`, :math:`\Theta_{ij}\le0` and
    :math:`\nu_{ij}\Theta_{ij}=0` for :math:`i\ne j` (stationarity of the Lagrangian
    :math:`-\log\det\Theta+\operatorname{tr}\Theta(S-\Lambda+N)`, on the feasible set
    :math:`|\Theta_{ij}|=-\Theta_{ij}`). Source: the optimality conditions behind the
    paper's estimator (numbering unconfirmed).

    Parameters
    ----------
    theta : array, shape (..., p, p)
        Symmetric positive definite candidates.
    s : array, shape (..., p, p)
        Sample covariances.
    lam : float or array, shape (..., p, p)
        Weights :math:`\lambda_{ij}\ge0`.

    Returns
    -------
    KKTResiduals
        Four arrays of shape (..., p, p), see :class:`KKTResiduals`.
    """
    func = "mtp2_kkt_residuals"
    theta, xp, p = _square_batch(theta, "theta", func)
    s, _, _ = _covariance(s, func)
    _symmetric(theta, "theta", func, xp)
    lam = _penalty(lam, s, func, xp)
    w, _ = _positive_definite_inverse(theta, func, xp)
    eye = xp.eye(p, dtype=theta.dtype)
    off = 1.0 - eye
    multiplier = off * (w - s + lam)
    return KKTResiduals(
        stationarity=eye * xp.abs(w - s),
        multiplier=multiplier,
        complementarity=off * xp.abs(xp.minimum(-theta, multiplier)),
        primal=xp.where(off > 0, theta, xp.full_like(theta, -math.inf)),
    )


def adaptive_weights(theta: Any, lam: float, eps: float) -> Any:
    r"""Weights of the next adaptive stage, :math:`\lambda_{ij}=h(|\Theta_{ij}|)`.

    :math:`h(t)=\lambda/(1+t/\varepsilon)`, the derivative of the log penalty
    :math:`\lambda\varepsilon\log(1+t/\varepsilon)` (the paper's h is not confirmed).
    The diagonal is set to 0.

    Parameters
    ----------
    theta : array, shape (..., p, p)
        The previous stage's estimate.
    lam : float
        Base weight :math:`\lambda\ge0`.
    eps : float
        Scale :math:`\varepsilon>0`.

    Returns
    -------
    array, shape (..., p, p)
    """
    func = "adaptive_weights"
    theta, xp, p = _square_batch(theta, "theta", func)
    if not (isinstance(lam, int | float) and math.isfinite(lam) and lam >= 0):
        raise ValueError(f"{func}: lam must be a non-negative number, got {lam!r}")
    if not (isinstance(eps, int | float) and math.isfinite(eps) and eps > 0):
        raise ValueError(f"{func}: eps must be a positive number, got {eps!r}")
    return _off_diagonal(xp, p, theta.dtype) * (lam / (1.0 + xp.abs(theta) / eps))


def _project(theta: Any, off: Any, xp: Any) -> Any:
    """Clip the off-diagonal entries to <= 0 (the Euclidean projection onto the sign set)."""
    return theta - off * xp.maximum(theta, xp.zeros_like(theta))


def mtp2_projected_gradient(
    s: Any, lam: Any = 0.0, *, tol: float = PGD_TOL, max_iter: int = 20000
) -> PGDResult:
    r"""Solve the MTP2 problem by projected gradient with Barzilai-Borwein steps.

    An independent reference for ``mtp2.cvxpy-kkt``. On the feasible set the objective
    is :math:`f(\Theta)=-\log\det\Theta+\operatorname{tr}(\Theta S)-\sum_{i\ne j}
    \lambda_{ij}\Theta_{ij}` with gradient :math:`G=-\Theta^{-1}+S-\Lambda` (zero diagonal
    :math:`\Lambda`); a step is :math:`P(\Theta-tG)`, P clipping off-diagonal entries to
    <= 0, with backtracking until the iterate is positive definite and
    :math:`f(\Theta^+)\le f(\Theta)+\langle G,\Theta^+-\Theta\rangle+\|\Theta^+-\Theta\|_F^2
    /(2t)` up to the float64 rounding of f (:math:`10^{-12}(1+|f|)`). Starts at
    :math:`\operatorname{diag}(1/S_{ii})`; stops when
    :math:`\max|\Theta-P(\Theta-G)|\le` ``tol``, which is the largest KKT residual of
    :func:`mtp2_kkt_residuals` (stationarity and complementarity).

    Parameters
    ----------
    s : array, shape (..., p, p)
        Sample covariances (batched: all instances iterate together).
    lam : float or array, shape (..., p, p)
        Weights :math:`\lambda_{ij}\ge0`.
    tol : float
        Stopping tolerance, > 0.
    max_iter : int
        Iteration limit, >= 1.

    Returns
    -------
    PGDResult
        ``theta`` (..., p, p), ``residual`` (...) and the iterations used; the caller
        checks ``residual <= tol`` (it is above when ``max_iter`` ran out).
    """
    func = "mtp2_projected_gradient"
    s, xp, p = _covariance(s, func)
    lam = _penalty(lam, s, func, xp)
    if not (isinstance(tol, int | float) and tol > 0):
        raise ValueError(f"{func}: tol must be a positive number, got {tol!r}")
    if not (isinstance(max_iter, int) and max_iter >= 1):
        raise ValueError(f"{func}: max_iter must be a positive integer, got {max_iter!r}")
    off = _off_diagonal(xp, p, s.dtype)
    eye = xp.eye(p, dtype=s.dtype)
    lam = off * lam

    def value_and_pd(theta: Any) -> tuple[Any, Any]:
        eigenvalues = xp.linalg.eigvalsh(theta)
        pd = xp.min(eigenvalues, axis=-1) > 0
        safe = xp.where(eigenvalues > 0, eigenvalues, xp.ones_like(eigenvalues))
        f = -xp.sum(xp.log(safe), axis=-1) + xp.sum(theta * (s - lam), axis=(-2, -1))
        return xp.where(pd, f, xp.full_like(f, math.inf)), pd

    def gradient(theta: Any) -> Any:
        return -xp.linalg.inv(theta) + s - lam

    theta = eye / xp.linalg.diagonal(s)[..., None, :]
    theta = theta * xp.ones_like(s)
    f, _ = value_and_pd(theta)
    grad = gradient(theta)
    batch = tuple(s.shape[:-2])
    step = xp.ones(batch, dtype=s.dtype)
    residual = xp.max(xp.abs(theta - _project(theta - grad, off, xp)), axis=(-2, -1))
    iterations = 0
    while iterations < max_iter and float(xp.max(residual)) > tol:
        iterations += 1
        active = residual > tol
        accepted = xp.logical_not(active)
        new_theta, new_f = theta, f
        trial = step
        for _ in range(80):
            candidate = _project(theta - trial[..., None, None] * grad, off, xp)
            cand_f, pd = value_and_pd(candidate)
            move = candidate - theta
            bound = (
                f
                + xp.sum(grad * move, axis=(-2, -1))
                + xp.sum(move * move, axis=(-2, -1)) / (2 * trial)
                + 1e-12 * (1 + xp.abs(f))
            )
            ok = pd & (cand_f <= bound) & xp.logical_not(accepted)
            new_theta = xp.where(ok[..., None, None], candidate, new_theta)
            new_f = xp.where(ok, cand_f, new_f)
            accepted = accepted | ok
            if bool(xp.all(accepted)):
                break
            trial = xp.where(accepted, trial, trial / 2)
        new_grad = gradient(new_theta)
        ds = new_theta - theta
        dg = new_grad - grad
        curvature = xp.sum(ds * dg, axis=(-2, -1))
        length = xp.sum(ds * ds, axis=(-2, -1))
        bb = xp.where(curvature > 0, length / xp.where(curvature > 0, curvature, 1.0), trial)
        step = xp.where(active, xp.clip(bb, min=1e-10, max=1e10), step)
        theta, f, grad = new_theta, new_f, new_grad
        residual = xp.max(xp.abs(theta - _project(theta - grad, off, xp)), axis=(-2, -1))
    theta = (theta + xp.linalg.matrix_transpose(theta)) / 2
    return PGDResult(theta=theta, residual=residual, iterations=iterations)


def dual_certificate(
    theta: Any, s: Any, lam: Any = 0.0, *, constraint: str = "m-matrix"
) -> Certificate:
    r"""A dual-feasible point built from a primal guess :math:`\Theta`, and its bound.

    The Lagrangian of the penalised problem is :math:`-\log\det\Theta+\operatorname{tr}
    (\Theta C)`, whose minimum over :math:`\Theta\succ0` is :math:`\log\det C+p` when
    :math:`C\succ0` (and :math:`-\infty` otherwise), a lower bound on the primal value for
    every feasible multiplier. With :math:`W=\Theta^{-1}` and multipliers clipped to be
    feasible:

    - ``m-matrix`` (:math:`\Theta_{ij}\le0`, multipliers :math:`\nu_{ij}\ge0`):
      :math:`C=S-\Lambda+N`, :math:`N_{ij}=\max(W_{ij}-S_{ij}+\lambda_{ij},0)`;
    - ``diagonally-dominant`` (also :math:`\Theta\mathbf1\ge0`, multipliers
      :math:`\mu_i\ge0`): :math:`\mu_i=\max(S_{ii}-W_{ii},0)`,
      :math:`M_{ij}=(\mu_i+\mu_j)/2`, :math:`N_{ij}=\max(W_{ij}-S_{ij}+\lambda_{ij}+M_{ij},0)`,
      :math:`C=S-\Lambda+N-M`;
    - ``none`` (the graphical lasso, :math:`|U_{ij}|\le\lambda_{ij}`):
      :math:`C=S+U`, :math:`U_{ij}=\operatorname{clip}(W_{ij}-S_{ij},\pm\lambda_{ij})`.

    At the optimum C = W, so a good guess gives a tight bound. A positive smallest
    eigenvalue of C certifies that the problem is bounded below (the MLE exists when the
    objective is also coercive); when the problem is unbounded no C is positive definite.

    Parameters
    ----------
    theta : array, shape (..., p, p)
        Symmetric positive definite guesses.
    s : array, shape (..., p, p)
        Sample covariances.
    lam : float or array, shape (..., p, p)
        Weights :math:`\lambda_{ij}\ge0` (diagonal ignored).
    constraint : {"m-matrix", "diagonally-dominant", "none"}

    Returns
    -------
    Certificate
        ``matrix`` (..., p, p), ``min_eigenvalue`` (...), ``lower_bound`` (...).
    """
    func = "dual_certificate"
    theta, xp, p = _square_batch(theta, "theta", func)
    s, _, _ = _covariance(s, func)
    _symmetric(theta, "theta", func, xp)
    lam = _penalty(lam, s, func, xp)
    if constraint not in CONSTRAINTS:
        raise ValueError(f"{func}: constraint must be one of {CONSTRAINTS}, got {constraint!r}")
    w, eigenvalues = _positive_definite_inverse(theta, func, xp)
    eye = xp.eye(p, dtype=theta.dtype)
    off = 1.0 - eye
    lam = off * lam
    zero = xp.zeros_like(w)
    if constraint == "m-matrix":
        c = s - lam + off * xp.maximum(w - s + lam, zero)
    elif constraint == "diagonally-dominant":
        mu = xp.maximum(xp.linalg.diagonal(s) - xp.linalg.diagonal(w), xp.zeros_like(w[..., 0]))
        m = (mu[..., :, None] + mu[..., None, :]) / 2
        c = s - lam + off * xp.maximum(w - s + lam + m, zero) - m
    else:
        c = s + off * xp.clip(w - s, min=-lam, max=lam)
    c = (c + xp.linalg.matrix_transpose(c)) / 2
    spectrum = xp.linalg.eigvalsh(c)
    smallest = xp.min(spectrum, axis=-1)
    safe = xp.where(spectrum > 0, spectrum, xp.ones_like(spectrum))
    bound = xp.sum(xp.log(safe), axis=-1) + p
    bound = xp.where(smallest > 0, bound, xp.full_like(bound, -math.inf))
    return Certificate(matrix=c, min_eigenvalue=smallest, lower_bound=bound)


def existence_certificate(s: Any, *, constraint: str = "m-matrix") -> Certificate:
    r"""The dual-feasible C of largest smallest eigenvalue, from a small SDP (CLARABEL).

    Maximises t subject to :math:`C\succeq tI` over the multipliers of
    :func:`dual_certificate` (:math:`\lambda=0`): :math:`C=S+N` for ``m-matrix``,
    :math:`C=S+N-M` for ``diagonally-dominant``, :math:`C=S` for ``none``, with
    :math:`0\le N_{ij},\mu_i\le\max_iS_{ii}` (a box, to keep t bounded). The returned C
    is rebuilt in float64 from the solver's multipliers clipped into the box, so it is
    dual-feasible whatever the solver's accuracy. If :math:`C\succ0`, then on the
    feasible set :math:`f(\Theta)\ge-\log\det\Theta+\operatorname{tr}(\Theta C)`,
    which is coercive: the MLE exists (attained minimum). If no feasible C is positive
    definite, the problem is unbounded below (strong duality).

    Parameters
    ----------
    s : array, shape (p, p)
        A sample covariance (NumPy, the solver's input).
    constraint : {"m-matrix", "diagonally-dominant", "none"}

    Returns
    -------
    Certificate
    """
    func = "existence_certificate"
    s = np.asarray(to_numpy(s))
    s, xp, p = _covariance(s, func)
    if s.ndim != 2:
        raise ValueError(f"{func}: s must have shape (p, p), got {s.shape}")
    if constraint not in CONSTRAINTS:
        raise ValueError(f"{func}: constraint must be one of {CONSTRAINTS}, got {constraint!r}")
    s = np.asarray(s, dtype=float)
    off = 1.0 - np.eye(p)
    box = float(np.max(np.diag(s)))
    multipliers = np.zeros((p, p))
    mu = np.zeros(p)
    if constraint != "none":
        margin = cp.Variable()
        n = cp.Variable((p, p), symmetric=True)
        constraints = [cp.multiply(off, n) >= 0, cp.diag(n) == 0, n <= box]
        c = s + n
        if constraint == "diagonally-dominant":
            m = cp.Variable(p)
            constraints += [m >= 0, m <= box]
            column = cp.reshape(m, (p, 1), order="F")
            c = c - (column @ np.ones((1, p)) + np.ones((p, 1)) @ column.T) / 2
        constraints.append(c - margin * np.eye(p) >> 0)
        problem = cp.Problem(cp.Maximize(margin), constraints)
        try:
            with warnings.catch_warnings():  # 'inaccurate' statuses: C is rebuilt and checked
                warnings.simplefilter("ignore", UserWarning)
                problem.solve(solver="CLARABEL")
        except cp.error.SolverError:
            pass
        if n.value is not None:
            value = np.clip(np.asarray(n.value, dtype=float), 0.0, box) * off
            multipliers = (value + value.T) / 2
        if constraint == "diagonally-dominant" and m.value is not None:
            mu = np.clip(np.asarray(m.value, dtype=float), 0.0, box)
    c = s + multipliers - (mu[:, None] + mu[None, :]) / 2
    spectrum = np.linalg.eigvalsh(c)
    bound = float(np.sum(np.log(spectrum)) + p) if spectrum[0] > 0 else -math.inf
    return Certificate(matrix=c, min_eigenvalue=float(spectrum[0]), lower_bound=bound)


def m_matrix_ray(x: Any) -> Any:
    r"""A direction D along which the M-matrix likelihood of one sample x diverges.

    With :math:`a_i=1/|x_i|` and groups of equal sign,
    :math:`D=\bigoplus_G\operatorname{diag}(a_G)(|G|I-\mathbf1\mathbf1^\top)
    \operatorname{diag}(a_G)`: off-diagonal entries <= 0, :math:`D\succeq0`, Dx = 0 and
    rank p - (number of sign groups) >= 1 for p >= 3. Hence :math:`I+tD` is an M-matrix
    for all t >= 0 and, for :math:`S=xx^\top`,
    :math:`f(I+tD)=\|x\|^2-\log\det(I+tD)\to-\infty` (derived; the fact is cited by the
    paper).

    Parameters
    ----------
    x : array, shape (..., p)
        Samples with non-zero entries.

    Returns
    -------
    array, shape (..., p, p)
    """
    func = "m_matrix_ray"
    x, xp = validate.real_floating(x, "x", func=func)
    if x.ndim < 1 or x.shape[-1] < 2:
        raise ValueError(f"{func}: x must have shape (..., p) with p >= 2, got {x.shape}")
    validate.finite(x, "x", func=func, xp=xp)
    if not bool(xp.all(x != 0)):
        raise ValueError(f"{func}: x must have non-zero entries, got {to_numpy(x).tolist()}")
    p = int(x.shape[-1])
    a = 1.0 / xp.abs(x)
    sign = xp.sign(x)
    same = xp.astype(sign[..., :, None] == sign[..., None, :], x.dtype)
    eye = xp.eye(p, dtype=x.dtype)
    group_size = xp.sum(same, axis=-1)
    outer = a[..., :, None] * a[..., None, :]
    return eye * ((group_size - 1) * a * a)[..., None, :] - (1.0 - eye) * same * outer


def null_space_ray(s: Any) -> Any:
    r"""The orthogonal projector P onto the null space of a singular covariance S.

    :math:`f(I+tP)=\operatorname{tr}S-(p-\operatorname{rank}S)\log(1+t)\to-\infty`: the
    unconstrained Gaussian likelihood is unbounded when n < p. Eigenvalues at most
    :math:`10p\,\varepsilon_{64}\lambda_{\max}(S)` count as zero (the rounding of a
    symmetric eigensolver).

    Parameters
    ----------
    s : array, shape (p, p)
        A sample covariance.

    Returns
    -------
    array, shape (p, p)
    """
    func = "null_space_ray"
    s, xp, p = _covariance(s, func)
    if s.ndim != 2:
        raise ValueError(f"{func}: s must have shape (p, p), got {s.shape}")
    eigenvalues, vectors = xp.linalg.eigh(s)
    threshold = float(10 * p * np.finfo(np.float64).eps * float(xp.max(eigenvalues)))
    kernel = xp.astype(eigenvalues <= threshold, s.dtype)
    return xp.matmul(vectors * kernel, xp.linalg.matrix_transpose(vectors))


def certified_radius(gap: float) -> float:
    r"""Radius of a near-optimal point in the local norm of the optimum.

    :math:`\|\Theta^{-1/2}_\star(\hat\Theta-\Theta_\star)\Theta^{-1/2}_\star\|_F\le r` for
    a feasible :math:`\hat\Theta` whose objective is within ``gap`` of the optimum.

    The objective is :math:`-\log\det` plus terms linear on the feasible set, so
    :math:`f(\hat\Theta)-f(\Theta_\star)\ge\omega(r)=r-\log(1+r)\ge\tfrac{r^2}2(1-\tfrac{2r}3)`
    (optimality of :math:`\Theta_\star` kills the first-order term; self-concordance of
    :math:`-\log\det` gives :math:`\omega`). For gap <= :data:`MAX_CERTIFIED_GAP`
    (r <= 0.01) this gives :math:`r\le1.01\sqrt{2\,\mathrm{gap}}`. Consequences (with
    :math:`E` the normalised difference, :math:`\|E\|_F\le r`):
    :math:`\|\hat\Theta-\Theta_\star\|_F\le\lambda_{\max}(\Theta_\star)r` and
    :math:`\|\hat\Theta^{-1}-\Theta_\star^{-1}\|_F\le r/((1-r)\lambda_{\min}(\Theta_\star))`.

    Parameters
    ----------
    gap : float
        Certified suboptimality, in [0, MAX_CERTIFIED_GAP].

    Returns
    -------
    float
    """
    if not (isinstance(gap, int | float) and 0 <= gap <= MAX_CERTIFIED_GAP):
        raise ValueError(
            f"certified_radius: gap must be a number in [0, {MAX_CERTIFIED_GAP}], got {gap!r}"
        )
    return 1.01 * math.sqrt(2.0 * gap)


# ------------------------------------------------------------------------------ instances


def _m_matrix_samples(rng: np.random.Generator, p: int, n: int) -> np.ndarray:
    """n samples of N(0, Theta*^{-1}), Theta* a random sparse M-matrix (condition ~ 10)."""
    weights = np.triu((rng.random((p, p)) < 0.4) * rng.uniform(0.2, 1.0, (p, p)), 1)
    adjacency = weights + weights.T
    theta_star = (np.linalg.eigvalsh(adjacency)[-1] + 0.5) * np.eye(p) - adjacency
    lower = np.linalg.cholesky(theta_star)  # Theta* = L L^T, so x = L^{-T} z ~ N(0, Theta*^{-1})
    return np.linalg.solve(lower.T, rng.standard_normal((p, n))).T


def _solve_cvxpy(s: np.ndarray, lam: np.ndarray, constraint: str) -> tuple[str, Any]:
    """CLARABEL on the penalised problem; (status, Theta or None on a solver failure)."""
    p = s.shape[0]
    theta = cp.Variable((p, p), symmetric=True)
    off = 1.0 - np.eye(p)
    objective = (
        -cp.log_det(theta) + cp.trace(theta @ s) + cp.sum(cp.multiply(off * lam, cp.abs(theta)))
    )
    constraints = []
    if constraint in ("m-matrix", "diagonally-dominant"):
        constraints.append(cp.multiply(off, theta) <= 0)
    if constraint == "diagonally-dominant":
        constraints.append(theta @ np.ones(p) >= 0)
    problem = cp.Problem(cp.Minimize(objective), constraints)
    try:
        with warnings.catch_warnings():  # the status is returned and reported instead
            warnings.simplefilter("ignore", UserWarning)
            problem.solve(solver="CLARABEL", **CLARABEL_OPTIONS)
    except cp.error.SolverError:
        return "solver_error", None
    if theta.value is None:
        return str(problem.status), None
    value = np.asarray(theta.value, dtype=float)
    return str(problem.status), (value + value.T) / 2


# ------------------------------------------------------------------------------ claims


@claim(
    "mtp2.cvxpy-kkt",
    paper=PAPER,
    source="the penalised MTP2 estimator and its adaptive stages (numbering unconfirmed)",
    statement=(
        r"\hat\Theta=\arg\min_{\Theta\succ0,\Theta_{ij}\le0}-\log\det\Theta+\mathrm{tr}(\Theta S)"
        r"+\sum_{i\ne j}\lambda_{ij}|\Theta_{ij}|\iff(\hat\Theta^{-1})_{ii}=S_{ii},\ "
        r"(\hat\Theta^{-1})_{ij}\ge S_{ij}-\lambda_{ij}\ (=\text{ if }\hat\Theta_{ij}<0)"
    ),
    method="solver",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "no-sign-constraint",
            r"\text{the same KKT conditions hold for the graphical lasso }\min-\log\det\Theta"
            r"+\mathrm{tr}(\Theta S)+\sum_{i\ne j}\lambda_{ij}|\Theta_{ij}|\ (\text{no }"
            r"\Theta_{ij}\le0)",
            {"constraint": "none"},
        )
    ],
)
def cvxpy_kkt(
    ctx: Context, constraint: str = "m-matrix", lam: float = 0.1, eps: float = 0.1
) -> Evidence:
    r"""Random instances with p = 6, 8, 10 (2 each quick, 8 full): S from n = 2p samples of
    a Gaussian whose precision is a sparse M-matrix. Stage 1: :math:`\lambda_{ij}=0.1`;
    stage 2: :math:`\lambda_{ij}=h(|\hat\Theta^{(1)}_{ij}|)`, :func:`adaptive_weights`
    with :math:`\varepsilon=0.1` (h not confirmed). CLARABEL solves each stage (the control
    drops :math:`\Theta_{ij}\le0` and solves the graphical lasso instead); the independent
    reference :math:`\Theta_\star` is :func:`mtp2_projected_gradient` on the same weights,
    run to residual 1e-10 (not converging is an error, not a refutation).

    Tolerances, per instance, from a certified gap rather than tuned: with
    :math:`\hat\Theta^+` CLARABEL's solution with positive off-diagonal rounding clipped,
    the gap :math:`\epsilon=f(\hat\Theta^+)-(\log\det C+p)` uses the dual bound of
    :func:`dual_certificate` (valid whatever the guess), and :func:`certified_radius`
    turns it into :math:`r`, :math:`\tau_\Theta=\lambda_{\max}(\Theta_\star)r` and
    :math:`\tau_W=r/((1-r)\lambda_{\min}(\Theta_\star))`. Parts, per stage:
    :math:`\epsilon\le5\cdot10^{-5}` (where the radius bound applies); the KKT residuals of
    :math:`\hat\Theta^+` (diagonal stationarity and multiplier sign within
    :math:`\tau_W`, complementarity within :math:`\max(\tau_\Theta,\tau_W)`), and the sign
    of the unclipped solution (:math:`\hat\Theta_{ij}\le\tau_\Theta`): at the optimum
    all vanish, and each is 1-Lipschitz in :math:`(\Theta,\Theta^{-1})`; and
    :math:`\|\hat\Theta^+-\Theta_\star\|_F\le\lambda_{\max}(\Theta_\star)(r+r_\star)`
    (:math:`r_\star` from the reference's own certified gap). The spec's fixed 1e-5 is
    reported in the details (largest raw residual, instances above it). Without a certified
    gap (:math:`\hat\Theta^+` not near-optimal, as in the control) the residuals of the
    raw solution are held to the spec's 1e-5.
    """
    rng = ctx.rng(0)
    sizes = [p for p in (6, 8, 10) for _ in range(ctx.pick(2, 8))]
    parts: dict[str, Evidence] = {}
    active_counts, iterations, gaps, raw_residuals = [], [], [], []
    solutions: list[np.ndarray] = []
    for stage in (1, 2):
        if stage == 1:
            covariances = []
            for p in sizes:
                x = _m_matrix_samples(rng, p, 2 * p)
                covariances.append(x.T @ x / (2 * p))
            weights = [lam * (1.0 - np.eye(p)) for p in sizes]
        else:
            weights = [
                to_numpy(adaptive_weights(ctx.asarray(theta), lam, eps)) for theta in solutions
            ]
        references = _reference_solutions(ctx, covariances, weights, iterations)
        solutions, margins = [], []
        for s, w, reference in zip(covariances, weights, references, strict=True):
            status, theta = _solve_cvxpy(s, w, constraint)
            if theta is None:
                raise RuntimeError(f"CLARABEL failed ({status}) on a p = {len(s)} instance")
            solutions.append(theta)
            margins.append(_kkt_margins(ctx, theta, reference, s, w, gaps, raw_residuals))
            off = ~np.eye(len(s), dtype=bool)
            active_counts.append(int(np.sum(np.abs(reference[off]) > 1e-6)))
        table = np.array(margins)
        names = (
            "certified gap <= 5e-5",
            "diagonal stationarity",
            "multiplier >= 0",
            "complementarity",
            "Theta_ij <= 0",
            "CLARABEL = projected gradient",
        )
        for column, name in enumerate(names):
            parts[f"stage {stage}: {name}"] = checks.nonnegative(
                table[:, column], inputs={"p": np.array(sizes)}
            )
    evidence = checks.combine(parts)
    finite = [g for g in gaps if math.isfinite(g)]
    evidence.details["certified gaps (max)"] = max(finite) if finite else math.inf
    evidence.details["largest raw KKT residual (spec tolerance 1e-5)"] = max(raw_residuals)
    evidence.details["instances above 1e-5"] = int(np.sum(np.array(raw_residuals) > SPEC_KKT_TOL))
    evidence.details["non-zero off-diagonal entries (ordered pairs, reference)"] = active_counts
    evidence.details["projected-gradient iterations (per batch of one p)"] = iterations
    return evidence


def _reference_solutions(
    ctx: Context, covariances: list[np.ndarray], weights: list[np.ndarray], iterations: list[int]
) -> list[np.ndarray]:
    """:func:`mtp2_projected_gradient` on the backend, one batch per dimension p."""
    references: list[Any] = [None] * len(covariances)
    for p in sorted({len(s) for s in covariances}):
        index = [i for i, s in enumerate(covariances) if len(s) == p]
        pgd = mtp2_projected_gradient(
            ctx.asarray(np.stack([covariances[i] for i in index])),
            ctx.asarray(np.stack([weights[i] for i in index])),
        )
        residual = float(np.max(to_numpy(pgd.residual)))
        if residual > PGD_TOL:
            raise RuntimeError(
                f"projected gradient did not converge (residual {residual:.3g}) for p = {p}"
            )
        iterations.append(pgd.iterations)
        for i, theta in zip(index, to_numpy(pgd.theta), strict=True):
            references[i] = theta
    return references


def _kkt_margins(
    ctx: Context,
    theta: np.ndarray,
    reference: np.ndarray,
    s: np.ndarray,
    w: np.ndarray,
    gaps: list[float],
    raw_residuals: list[float],
) -> list[float]:
    """Signed margins of the parts of ``cvxpy_kkt`` for one instance (see its docstring)."""
    p = len(s)
    off = ~np.eye(p, dtype=bool)
    clipped = np.where(off, np.minimum(theta, 0.0), theta)
    eigen_ref = np.linalg.eigvalsh(reference)
    bound = float(
        to_numpy(
            dual_certificate(ctx.asarray(reference), ctx.asarray(s), ctx.asarray(w)).lower_bound
        )
    )
    value = float(to_numpy(mtp2_objective(ctx.asarray(clipped), ctx.asarray(s), ctx.asarray(w))))
    value_ref = float(
        to_numpy(mtp2_objective(ctx.asarray(reference), ctx.asarray(s), ctx.asarray(w)))
    )
    gap, gap_ref = value - bound, max(value_ref - bound, 0.0)
    gaps.append(gap)
    primal = float(np.max(theta[off]))
    radius_ref = certified_radius(min(gap_ref, MAX_CERTIFIED_GAP))
    if gap <= MAX_CERTIFIED_GAP:
        radius = certified_radius(max(gap, 0.0))
        tol_theta = eigen_ref[-1] * radius
        tol_w = radius / ((1 - radius) * eigen_ref[0])
        point = clipped
    else:
        # no certified radius: the spec's fixed tolerance, at CLARABEL's raw solution
        radius = certified_radius(MAX_CERTIFIED_GAP)
        tol_theta = tol_w = SPEC_KKT_TOL
        point = theta
    kkt = mtp2_kkt_residuals(ctx.asarray(point), ctx.asarray(s), ctx.asarray(w))
    stationarity = float(np.max(to_numpy(kkt.stationarity)))
    multiplier = float(np.min(to_numpy(kkt.multiplier)[off]))
    complementarity = float(np.max(to_numpy(kkt.complementarity)))
    raw_residuals.append(max(stationarity, -multiplier, complementarity, primal))
    distance = float(np.linalg.norm(clipped - reference))
    return [
        MAX_CERTIFIED_GAP - gap,
        tol_w - stationarity,
        tol_w + multiplier,
        max(tol_theta, tol_w) - complementarity,
        tol_theta - primal,
        eigen_ref[-1] * (radius + radius_ref) - distance,
    ]


@claim(
    "mtp2.mle-two-samples",
    paper=PAPER,
    source="existence of the MTP2 MLE, cited (Slawski-Hein 2015; Truell et al. 2021)",
    statement=(
        r"\lambda=0:\ \min_{\Theta\in\mathcal M}-\log\det\Theta+\mathrm{tr}(\Theta S)>-\infty"
        r"\text{ for }n=2\ (\text{not for }\Theta\succ0\text{ alone}),\ \text{and for }n=1"
        r"\text{ when also }\Theta\mathbf 1\ge0"
    ),
    method="solver",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "one-sample",
            r"\text{the M-matrix MLE exists for }n=1\ (S=xx^\top)",
            {"samples": 1},
        ),
        Control(
            "unconstrained",
            r"\text{the unconstrained Gaussian MLE exists for }n=2<p",
            {"constraint": "none"},
        ),
    ],
)
def mle_two_samples(ctx: Context, samples: int = 2, constraint: str = "m-matrix") -> Evidence:
    r"""p = 3, 4, 5, 6 (2 draws each quick, 6 full), samples from an M-matrix Gaussian,
    :math:`S=\frac1n\sum_{k\le n}x_kx_k^\top` (:math:`\lambda=0`).

    Parts: (MLE exists) for ``samples`` and ``constraint``, the dual-feasible C of
    :func:`existence_certificate` has a smallest eigenvalue above the rounding of a
    symmetric eigensolver, :math:`10p\,\varepsilon_{64}\|C\|_2` (when the problem is
    unbounded no feasible C is positive definite, whatever the solver returns); (ray) along
    the ray :math:`I+tD` of :func:`m_matrix_ray` for :math:`x_1` (``none``: :func:`null_space_ray`)
    the objective rises from :math:`t=10^6` to :math:`10^8`; (unconstrained diverges, n = 2)
    along :math:`I+tP` the objective equals :math:`\operatorname{tr}S-(p-2)\log(1+t)`, which
    tends to :math:`-\infty`, at :math:`t=1,10,\dots,10^8`, to the rounding
    :math:`10^{-12}(1+|f|)+10p\,\varepsilon_{64}t\|S\|_2` (the computed P annihilates S
    only to :math:`O(p\varepsilon_{64}\|S\|)`, an error that t multiplies);
    (diagonally dominant, n = 1) the same certificate for :math:`\Theta\mathbf1\ge0`.
    CLARABEL's MLE (the spec's "bounded optimum") is reported with its status and its gap to
    the best certified bound, not tested: the n = 2 optimum can have condition number 1e5
    and an 'optimal_inaccurate' status.
    """
    rng = ctx.rng(0)
    sizes = [p for p in (3, 4, 5, 6) for _ in range(ctx.pick(2, 6))]
    eps = np.finfo(np.float64).eps
    zero = 0.0
    cert_margin, ray_rise, dd_margin, identity, divergence = [], [], [], [], []
    gaps: dict[str, list[float]] = {"main": [], "diag-dominant n=1": []}
    statuses = []

    def certify(s: np.ndarray, kind: str) -> tuple[float, float, str]:
        """(certificate slack, gap of CLARABEL's MLE to the best bound, solver status)."""
        cert = existence_certificate(s, constraint=kind)
        slack = cert.min_eigenvalue - 10 * len(s) * eps * np.linalg.norm(cert.matrix, 2)
        status, theta = _solve_cvxpy(s, np.zeros_like(s), kind)
        if theta is None or np.linalg.eigvalsh(theta)[0] <= 0:
            return slack, math.inf, status
        value = float(to_numpy(mtp2_objective(ctx.asarray(theta), ctx.asarray(s), zero)))
        guess = dual_certificate(ctx.asarray(theta), ctx.asarray(s), zero, constraint=kind)
        bound = max(cert.lower_bound, float(to_numpy(guess.lower_bound)))
        return slack, value - bound, status

    for p in sizes:
        x = _m_matrix_samples(rng, p, 2)
        s_two = x.T @ x / 2
        s_main = x[:samples].T @ x[:samples] / samples
        slack, gap, status = certify(s_main, constraint)
        cert_margin.append(slack)
        gaps["main"].append(gap)
        statuses.append(status)
        # the ray
        if constraint == "none":
            direction = to_numpy(null_space_ray(ctx.asarray(s_main)))
        else:
            direction = to_numpy(m_matrix_ray(ctx.asarray(x[0])))
        rays = ctx.asarray(np.stack([np.eye(p) + t * direction for t in (1e6, 1e8)]))
        values = to_numpy(mtp2_objective(rays, ctx.asarray(np.stack([s_main] * 2)), zero))
        ray_rise.append(float(values[1] - values[0]))
        # unconstrained, n = 2: exact divergence along the null-space ray
        projector = to_numpy(null_space_ray(ctx.asarray(s_two)))
        ts = 10.0 ** np.arange(0, 9)
        along = to_numpy(
            mtp2_objective(
                ctx.asarray(np.eye(p) + ts[:, None, None] * projector),
                ctx.asarray(np.broadcast_to(s_two, (len(ts), p, p)).copy()),
                zero,
            )
        )
        closed = np.trace(s_two) - (p - 2) * np.log1p(ts)
        rounding = 1e-12 * (1 + np.abs(closed)) + 10 * p * eps * ts * np.linalg.norm(s_two, 2)
        identity.append(float(np.min(rounding - np.abs(along - closed))))
        divergence.append(float(closed[-1]))
        # diagonally dominant, n = 1
        slack_dd, gap_dd, _ = certify(np.outer(x[0], x[0]), "diagonally-dominant")
        dd_margin.append(slack_dd)
        gaps["diag-dominant n=1"].append(gap_dd)
    inputs = {"p": np.array(sizes)}
    label = f"{constraint}, n={samples}"
    evidence = checks.combine(
        {
            f"MLE exists ({label}): certificate C > 0": checks.nonnegative(
                np.array(cert_margin), inputs=inputs
            ),
            f"objective rises along the ray ({label})": checks.nonnegative(
                np.array(ray_rise), inputs=inputs
            ),
            "unconstrained n=2: f(I+tP) = tr S - (p-2) log(1+t)": checks.nonnegative(
                np.array(identity), inputs=inputs
            ),
            "diagonally dominant n=1: MLE exists, certificate C > 0": checks.nonnegative(
                np.array(dd_margin), inputs=inputs
            ),
        }
    )
    evidence.details["duality gaps (max)"] = {k: float(np.max(v)) for k, v in gaps.items()}
    evidence.details["solver statuses"] = sorted(set(statuses))
    evidence.details["unconstrained n=2: max f(I+tP) at t=1e8"] = max(divergence)
    return evidence
