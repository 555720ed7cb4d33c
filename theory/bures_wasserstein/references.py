r"""Independent references for the Bures-Wasserstein checks (NumPy, SciPy, cvxpy).

None of these shares code with the implementation under test:

- :func:`bures_squared_scipy`: the trace formula with ``scipy.linalg.sqrtm`` (Schur
  method), one instance at a time;
- :func:`bures_procrustes_scipy`: the Procrustes form with ``scipy.linalg.polar``;
- :func:`w2_coupling_problem`: :math:`W_2^2` between :math:`\mathcal N(0,\Sigma)` and
  :math:`\mathcal N(0,\Sigma_0)` as a semidefinite program over couplings. For any
  coupling of the two laws, :math:`\mathbb E\|X-Y\|^2 = \mathrm{tr}\,\Sigma +
  \mathrm{tr}\,\Sigma_0 - 2\,\mathrm{tr}\,C` with :math:`C = \mathbb E XY^\top`, and the joint
  second-moment matrix :math:`\begin{pmatrix}\Sigma & C\\ C^\top & \Sigma_0\end{pmatrix}` is
  PSD; every such C is the cross-covariance of a Gaussian coupling. So
  :math:`W_2^2 = \mathrm{tr}\,\Sigma + \mathrm{tr}\,\Sigma_0
  - 2\max\{\mathrm{tr}\,C : \text{block}\succeq0\}`
  exactly, with no use of the closed form;
- random instances: SPD matrices with controlled spectra, commuting pairs,
  orthogonal matrices, targets with separated eigenvalues;
- finite differences (central, and one-sided for kinks).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.linalg

SDP_OPTIONS = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}
"""CLARABEL tolerances of the coupling SDP: gap and feasibility 1e-10 (the default
1e-8 would leave 1e-8 relative error in W_2^2). The solver then reports
``optimal`` and agrees with the closed form to about 1e-10 of the traces."""


def random_orthogonal(rng: np.random.Generator, count: int, n: int) -> np.ndarray:
    """Haar-distributed orthogonal matrices (QR of a Gaussian with the sign fix), (count, n, n)."""
    q, r = np.linalg.qr(rng.standard_normal((count, n, n)))
    signs = np.sign(np.diagonal(r, axis1=-2, axis2=-1))
    signs[signs == 0] = 1.0
    return q * signs[:, None, :]


def random_spd(
    rng: np.random.Generator, count: int, n: int, log10_range: tuple[float, float] = (-1.0, 1.0)
) -> np.ndarray:
    """SPD matrices Q diag(d) Q^T with eigenvalues 10**U(log10_range), (count, n, n)."""
    q = random_orthogonal(rng, count, n)
    d = 10 ** rng.uniform(*log10_range, size=(count, n))
    return symmetric((q * d[:, None, :]) @ np.swapaxes(q, -1, -2))


def random_commuting_pair(
    rng: np.random.Generator, count: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs sharing an eigenbasis (commuting), eigenvalues in [0.1, 10], (count, n, n) each."""
    q = random_orthogonal(rng, count, n)
    a = 10 ** rng.uniform(-1, 1, size=(count, n))
    b = 10 ** rng.uniform(-1, 1, size=(count, n))
    qt = np.swapaxes(q, -1, -2)
    return symmetric((q * a[:, None, :]) @ qt), symmetric((q * b[:, None, :]) @ qt)


def separated_spectrum(
    rng: np.random.Generator, count: int, n: int, low: float = 0.5, ratio: float = 1.25
) -> np.ndarray:
    r"""Decreasing eigenvalues with :math:`\lambda_i/\lambda_{i+1} \ge` ratio, shape (count, n).

    Gaps are random: :math:`\lambda_n = \mathrm{low}\cdot U(1, 2)`, each step up multiplies by
    ratio times U(1, 1.5).
    """
    steps = ratio * rng.uniform(1.0, 1.5, size=(count, n - 1))
    base = low * rng.uniform(1.0, 2.0, size=(count, 1))
    ascending = base * np.concatenate([np.ones((count, 1)), np.cumprod(steps, axis=1)], axis=1)
    return ascending[:, ::-1].copy()


def symmetric(x: np.ndarray) -> np.ndarray:
    """(X + X^T)/2 of each matrix."""
    return (x + np.swapaxes(x, -1, -2)) / 2


def sqrtm_scipy(x: np.ndarray) -> np.ndarray:
    """Principal square root by ``scipy.linalg.sqrtm`` (real part), one matrix."""
    return np.real(scipy.linalg.sqrtm(x))


def bures_squared_scipy(sigma: np.ndarray, sigma_target: np.ndarray) -> np.ndarray:
    r""":math:`\mathrm{tr}\,\Sigma + \mathrm{tr}\,\Sigma_0
    - 2\,\mathrm{tr}(\Sigma_0^{1/2}\Sigma\Sigma_0^{1/2})^{1/2}`
    with SciPy's Schur-method square roots, per instance; shape (count,)."""
    out = []
    for s, s0 in zip(sigma, sigma_target, strict=True):
        root = sqrtm_scipy(s0)
        inner = sqrtm_scipy(symmetric(root @ s @ root))
        out.append(np.trace(s) + np.trace(s0) - 2 * np.trace(inner))
    return np.asarray(out)


def bures_procrustes_scipy(sigma: np.ndarray, sigma_target: np.ndarray) -> np.ndarray:
    r""":math:`\|\Sigma^{1/2} - \Sigma_0^{1/2}O\|_F^2` with O the polar factor of
    :math:`\Sigma_0^{1/2}\Sigma^{1/2}` (``scipy.linalg.polar``), per instance."""
    out = []
    for s, s0 in zip(sigma, sigma_target, strict=True):
        root, root0 = sqrtm_scipy(s), sqrtm_scipy(s0)
        rotation, _ = scipy.linalg.polar(root0 @ root)
        out.append(np.sum((root - root0 @ rotation) ** 2))
    return np.asarray(out)


def w2_coupling_problem(n: int):
    r"""The coupling SDP :math:`\max\{\mathrm{tr}\,C : [[\Sigma, C],[C^\top,\Sigma_0]]\succeq 0\}`.

    Returns ``(problem, (sigma, sigma_target), value)`` with cvxpy Parameters; after
    a solve, ``value()`` is
    :math:`W_2^2 = \mathrm{tr}\,\Sigma + \mathrm{tr}\,\Sigma_0 - 2\,\mathrm{tr}\,C^*`.
    """
    import cvxpy as cp

    sigma = cp.Parameter((n, n), symmetric=True)
    sigma_target = cp.Parameter((n, n), symmetric=True)
    cross = cp.Variable((n, n))
    block = cp.bmat([[sigma, cross], [cross.T, sigma_target]])
    problem = cp.Problem(cp.Maximize(cp.trace(cross)), [(block + block.T) / 2 >> 0])

    def value() -> float:
        return float(np.trace(sigma.value) + np.trace(sigma_target.value) - 2 * problem.value)

    return problem, (sigma, sigma_target), value


def w2_by_coupling_sdp(sigma: np.ndarray, sigma_target: np.ndarray) -> np.ndarray:
    """:math:`W_2^2` of each pair by the coupling SDP (CLARABEL, :data:`SDP_OPTIONS`)."""
    n = sigma.shape[-1]
    problem, (p_sigma, p_target), value = w2_coupling_problem(n)
    out = []
    for s, s0 in zip(sigma, sigma_target, strict=True):
        p_sigma.value, p_target.value = symmetric(s), symmetric(s0)
        problem.solve(solver="CLARABEL", **SDP_OPTIONS)
        if problem.status != "optimal":
            raise RuntimeError(f"coupling SDP ended with status {problem.status!r}")
        out.append(value())
    return np.asarray(out)


def central_difference(
    function: Callable[[np.ndarray], np.ndarray],
    point: np.ndarray,
    direction: np.ndarray,
    step: float,
) -> np.ndarray:
    """:math:`(f(x+hd) - f(x-hd))/(2h)`, batched over the leading axis of point/direction."""
    return (function(point + step * direction) - function(point - step * direction)) / (2 * step)


def second_difference(
    function: Callable[[np.ndarray], np.ndarray],
    point: np.ndarray,
    direction: np.ndarray,
    step: float,
) -> np.ndarray:
    """:math:`(f(x+hd) - 2f(x) + f(x-hd))/h^2`."""
    return (
        function(point + step * direction)
        - 2 * function(point)
        + function(point - step * direction)
    ) / step**2


def one_sided_difference(
    function: Callable[[np.ndarray], np.ndarray],
    point: np.ndarray,
    direction: np.ndarray,
    step: float,
) -> np.ndarray:
    """:math:`(f(x+hd) - f(x))/h`, the one-sided directional derivative estimate."""
    return (function(point + step * direction) - function(point)) / step
