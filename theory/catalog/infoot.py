r"""InfoOT: information maximizing optimal transport (Chuang, Jegelka & Alvarez-Melis,
ICML 2023).

Definitions of the public reference code: kernels :math:`K_x,K_y` (Gaussian here),
:math:`f_\Gamma(x_i,y_j)=(K_x\Gamma K_y^\top)_{ij}`, :math:`f(x_i)=\frac1n\sum_kK_x(x_i,x_k)`,
:math:`f(y_j)=\frac1m\sum_lK_y(y_j,y_l)`,

.. math::
    \hat I_\Gamma=\sum_{ij}\Gamma_{ij}\log\frac{f_\Gamma(x_i,y_j)}{f(x_i)f(y_j)},\qquad
    \min_{\Gamma\in\Pi(a,b)}\langle C,\Gamma\rangle-\lambda\hat I_\Gamma ,

solved by mirror descent: :math:`\Gamma\leftarrow\mathrm{Sinkhorn}_\varepsilon(a,b,
C-\lambda\nabla\hat I_\Gamma)`. The conditional projection
:math:`T_h(x)=\sum_{k,j}K_h(x,x_k)\Gamma_{kj}y_j/\sum_{k,j}K_h(x,x_k)\Gamma_{kj}` extends the
barycentric projection :math:`\sum_j\Gamma_{ij}y_j/a_i` to new x. Claims
``infoot.independent-coupling-zero-mi``, ``infoot.lambda0-is-ot`` and
``infoot.conditional-projection`` (numeric) are here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import linprog

from theorycheck import checks, validate
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "infoot"
"""Key of the paper in the seed catalog."""

UNIT_ROUNDOFF = 2.0**-53


def _points(x: Any, name: str, func: str) -> Any:
    x, xp = validate.real_floating(x, name, func=func)
    if x.ndim < 2:
        raise ValueError(f"{func}: {name} must have shape (..., n, p), got {tuple(x.shape)}")
    validate.finite(x, name, func=func, xp=xp)
    return xp


def _positive(value: float, name: str, func: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < np.inf:
        raise ValueError(f"{func}: {name} must be a finite number > 0, got {value!r}")
    return float(value)


def gaussian_kernel(x: Any, z: Any, bandwidth: float) -> Any:
    r"""Gram matrix :math:`K(x_i,z_k)=\exp(-\|x_i-z_k\|^2/(2h^2))`.

    Parameters
    ----------
    x : array, shape (..., n, p)
    z : array, shape (..., m, p)
    bandwidth : float
        h > 0.

    Returns
    -------
    array, shape (..., n, m)
    """
    xp = _points(x, "x", "gaussian_kernel")
    _points(z, "z", "gaussian_kernel")
    h = _positive(bandwidth, "bandwidth", "gaussian_kernel")
    gap = x[..., :, None, :] - z[..., None, :, :]
    return xp.exp(-xp.sum(gap * gap, axis=-1) / (2 * h * h))


def _coupling(gamma: Any, func: str) -> Any:
    gamma, xp = validate.real_floating(gamma, "gamma", func=func)
    if gamma.ndim < 2:
        raise ValueError(f"{func}: gamma must have shape (..., n, m), got {tuple(gamma.shape)}")
    validate.finite(gamma, "gamma", func=func, xp=xp)
    if float(xp.min(gamma)) < 0:
        raise ValueError(f"{func}: gamma must be non-negative, has entry {float(xp.min(gamma))}")
    return xp


def kernel_mutual_information(gamma: Any, kernel_x: Any, kernel_y: Any) -> Any:
    r"""The kernel estimate of the mutual information of a coupling.

    :math:`\hat I_\Gamma=\sum_{ij}\Gamma_{ij}\log\frac{(K_x\Gamma K_y^\top)_{ij}}{f(x_i)f(y_j)}`
    (terms with :math:`\Gamma_{ij}=0` count 0).

    Parameters
    ----------
    gamma : array, shape (..., n, m)
        A coupling (non-negative).
    kernel_x : array, shape (..., n, n)
    kernel_y : array, shape (..., m, m)
        Positive kernel Gram matrices.

    Returns
    -------
    array, shape (...)
    """
    xp = _coupling(gamma, "kernel_mutual_information")
    n, m = gamma.shape[-2], gamma.shape[-1]
    if kernel_x.shape[-2:] != (n, n) or kernel_y.shape[-2:] != (m, m):
        raise ValueError(
            f"kernel_mutual_information: kernels must be ({n}, {n}) and ({m}, {m}), got "
            f"{tuple(kernel_x.shape[-2:])} and {tuple(kernel_y.shape[-2:])}"
        )
    joint = kernel_x @ gamma @ xp.matrix_transpose(kernel_y)
    fx = xp.mean(kernel_x, axis=-1)
    fy = xp.mean(kernel_y, axis=-1)
    ratio = joint / (fx[..., :, None] * fy[..., None, :])
    safe = xp.where(gamma > 0, ratio, 1.0)
    return xp.sum(gamma * xp.log(safe), axis=(-2, -1))


def _mutual_information_gradient(gamma: Any, kernel_x: Any, kernel_y: Any, xp: Any) -> Any:
    r""":math:`\partial\hat I/\partial\Gamma=\log(f_\Gamma/(f_xf_y))
    +K_x^\top(\Gamma/f_\Gamma)K_y`."""
    joint = kernel_x @ gamma @ xp.matrix_transpose(kernel_y)
    fx = xp.mean(kernel_x, axis=-1)
    fy = xp.mean(kernel_y, axis=-1)
    ratio = joint / (fx[..., :, None] * fy[..., None, :])
    return xp.log(ratio) + xp.matrix_transpose(kernel_x) @ (gamma / joint) @ kernel_y


def _logsumexp(v: Any, axis: int, xp: Any) -> Any:
    top = xp.max(v, axis=axis, keepdims=True)
    return xp.squeeze(top, axis=axis) + xp.log(xp.sum(xp.exp(v - top), axis=axis))


def sinkhorn(a: Any, b: Any, cost: Any, epsilon: float, iterations: int = 2000) -> Any:
    r"""Entropic OT, :math:`\arg\min_{\Gamma\in\Pi(a,b)}\langle C,\Gamma\rangle-\varepsilon
    H(\Gamma)`, by log-domain Sinkhorn iterations (the column marginals are exact after the
    last one).

    Parameters
    ----------
    a : array, shape (..., n)
    b : array, shape (..., m)
        Probability vectors with positive entries.
    cost : array, shape (..., n, m)
    epsilon : float
        Entropic regularisation > 0.
    iterations : int
        Number of (row, column) updates.

    Returns
    -------
    array, shape (..., n, m)
    """
    cost, xp = validate.real_floating(cost, "cost", func="sinkhorn")
    validate.finite(cost, "cost", func="sinkhorn", xp=xp)
    eps = _positive(epsilon, "epsilon", "sinkhorn")
    for vector, name in ((a, "a"), (b, "b")):
        validate.on_simplex(vector, name, func="sinkhorn")
        if float(xp.min(vector)) <= 0:
            raise ValueError(
                f"sinkhorn: {name} must be positive, has entry {float(xp.min(vector))}"
            )
    log_a, log_b = xp.log(a), xp.log(b)
    f = xp.zeros_like(a)
    g = xp.zeros_like(b)
    for _ in range(iterations):
        f = eps * log_a - eps * _logsumexp((g[..., None, :] - cost) / eps, -1, xp)
        g = eps * log_b - eps * _logsumexp((f[..., :, None] - cost) / eps, -2, xp)
    return xp.exp((f[..., :, None] + g[..., None, :] - cost) / eps)


def infoot_coupling(
    a: Any,
    b: Any,
    cost: Any,
    kernel_x: Any,
    kernel_y: Any,
    lam: float,
    epsilon: float,
    outer: int = 20,
    iterations: int = 2000,
) -> Any:
    r"""InfoOT by mirror descent: :math:`\Gamma\leftarrow\mathrm{Sinkhorn}_\varepsilon(a,b,C-\lambda
    \nabla\hat I_\Gamma)`, from :math:`\Gamma=ab^\top`, ``outer`` times.

    Parameters
    ----------
    a, b, cost, epsilon, iterations
        As :func:`sinkhorn`.
    kernel_x, kernel_y : array, shape (..., n, n) and (..., m, m)
    lam : float
        Weight :math:`\lambda\ge0` of the mutual information (0 gives entropic OT).
    outer : int
        Mirror-descent steps (one suffices at :math:`\lambda=0`).
    """
    if not isinstance(lam, int | float) or isinstance(lam, bool) or not 0 <= lam < np.inf:
        raise ValueError(f"infoot_coupling: lam must be a finite number >= 0, got {lam!r}")
    xp = array_namespace(cost)
    gamma = a[..., :, None] * b[..., None, :]
    for _ in range(outer if lam > 0 else 1):
        effective = cost - lam * _mutual_information_gradient(gamma, kernel_x, kernel_y, xp)
        effective = effective - xp.min(effective, axis=(-2, -1), keepdims=True)
        gamma = sinkhorn(a, b, effective, epsilon, iterations)
    return gamma


def conditional_projection(
    x_new: Any, x_train: Any, y_train: Any, gamma: Any, bandwidth: float
) -> Any:
    r"""The kernel-smoothed map :math:`T_h(x)=\frac{\sum_{k,j}K_h(x,x_k)\Gamma_{kj}y_j}
    {\sum_{k,j}K_h(x,x_k)\Gamma_{kj}}`, defined for any x.

    Parameters
    ----------
    x_new : array, shape (..., q, p)
        Points to map.
    x_train : array, shape (..., n, p)
    y_train : array, shape (..., m, p')
    gamma : array, shape (..., n, m)
        The coupling.
    bandwidth : float
        h > 0.

    Returns
    -------
    array, shape (..., q, p')
    """
    xp = _coupling(gamma, "conditional_projection")
    _points(y_train, "y_train", "conditional_projection")
    h = _positive(bandwidth, "bandwidth", "conditional_projection")
    gap = x_new[..., :, None, :] - x_train[..., None, :, :]
    distance2 = xp.sum(gap * gap, axis=-1)
    # subtract the nearest distance per query point: the ratio is unchanged, no underflow
    weights = xp.exp(-(distance2 - xp.min(distance2, axis=-1, keepdims=True)) / (2 * h * h))
    mass = weights @ gamma
    return (mass @ y_train) / xp.sum(mass, axis=-1, keepdims=True)


def barycentric_projection(gamma: Any, y_train: Any) -> Any:
    r"""The barycentric projection :math:`\sum_j\Gamma_{ij}y_j/a_i` at the training points.

    Parameters
    ----------
    gamma : array, shape (..., n, m)
    y_train : array, shape (..., m, p')

    Returns
    -------
    array, shape (..., n, p')
    """
    xp = _coupling(gamma, "barycentric_projection")
    return (gamma @ y_train) / xp.sum(gamma, axis=-1)[..., None]


def _numpy(x: Any) -> np.ndarray:
    return np.asarray(to_numpy(x), dtype=float)


def _cloud(rng: np.random.Generator, count: int, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=(count, n, 2)), rng.normal(size=(count, m, 2)) + 1.0


# ---------------------------------------------------------- independent-coupling-zero-mi


@claim(
    "infoot.independent-coupling-zero-mi",
    paper=PAPER,
    source="kernel MI estimate (Sec. 3); derived",
    statement=(
        r"a=\mathbf 1/n,\ b=\mathbf 1/m,\ \Gamma=ab^\top:\ f_\Gamma(x_i,y_j)=f(x_i)f(y_j),"
        r"\ \hat I_\Gamma=0"
    ),
    method="numeric",
    provenance="derived",
    controls=[
        Control(
            "any-marginals",
            r"\hat I_{ab^\top}=0 for any marginals a, b (not only uniform)",
            {"marginals": "random"},
        )
    ],
)
def independent_coupling_zero_mi(ctx: Context, marginals: str = "uniform") -> Evidence:
    r"""The backend's :math:`\hat I` at the product coupling against 0.

    Point clouds in :math:`\mathbb R^2` (n = 7, m = 5 and n = m = 12), Gaussian kernels
    of bandwidth 0.5, 1 and 2. Each log-ratio carries a relative rounding error of at
    most :math:`(n+m+8)u` (two matrix products and the row means), so
    :math:`|\hat I|\le(n+m+8)u\sum\Gamma_{ij}`; that is the tolerance. The marginals are
    uniform (the claim) or Dirichlet(1) (the control).
    """
    rng = ctx.rng(0)
    count = ctx.pick(50, 500)
    parts = {}
    for n, m in ((7, 5), (12, 12)):
        x, y = _cloud(rng, count, n, m)
        if marginals == "uniform":
            a, b = np.full((count, n), 1 / n), np.full((count, m), 1 / m)
        else:
            a, b = rng.dirichlet(np.ones(n), count), rng.dirichlet(np.ones(m), count)
        gamma = a[:, :, None] * b[:, None, :]
        for h in (0.5, 1.0, 2.0):
            kx = gaussian_kernel(ctx.asarray(x), ctx.asarray(x), h)
            ky = gaussian_kernel(ctx.asarray(y), ctx.asarray(y), h)
            value = _numpy(kernel_mutual_information(ctx.asarray(gamma), kx, ky))
            parts[f"n={n}, m={m}, h={h}"] = checks.compare(
                value, np.zeros(count), atol=(n + m + 8) * UNIT_ROUNDOFF, inputs={"a": a, "b": b}
            )
    return checks.combine(parts)


# ------------------------------------------------------------------------ lambda0-is-ot


def _exact_ot(a: np.ndarray, b: np.ndarray, cost: np.ndarray) -> float:
    n, m = cost.shape
    rows = np.kron(np.eye(n), np.ones(m))
    cols = np.kron(np.ones(n), np.eye(m))
    result = linprog(
        cost.ravel(),
        A_eq=np.vstack([rows, cols]),
        b_eq=np.concatenate([a, b]),
        bounds=(0, None),
        method="highs",
    )
    if result.status != 0:
        raise RuntimeError(f"linprog: {result.message}")
    return float(result.fun)


KERNEL_BANDWIDTH = 0.3
r"""Kernel bandwidth of the InfoOT runs: narrow enough (point clouds of unit spread) that
:math:`\hat I` distinguishes couplings, so that a positive lambda moves the plan."""


@claim(
    "infoot.lambda0-is-ot",
    paper=PAPER,
    source="InfoOT objective (Sec. 3); derived",
    statement=(
        r"\lambda=0:\ \min_{\Gamma\in\Pi(a,b)}\langle C,\Gamma\rangle-\lambda\hat I_\Gamma"
        r"=\mathrm{OT}(a,b);\ \text{entropic solver: }0\le\langle C,\Gamma_\varepsilon\rangle-"
        r"\mathrm{OT}\le\varepsilon\log m"
    ),
    method="numeric",
    provenance="derived",
    controls=[
        Control(
            "lambda-one",
            r"\min_{\Pi(a,b)}\langle C,\Gamma\rangle-\lambda\hat I_\Gamma=\mathrm{OT}(a,b)"
            r" also at \lambda=1",
            {"lam": 1.0},
        )
    ],
)
def lambda0_is_ot(ctx: Context, lam: float = 0.0) -> Evidence:
    r"""The InfoOT objective at the backend's plan against the exact OT cost of HiGHS.

    :math:`J_\lambda(\Gamma)=\langle C,\Gamma\rangle-\lambda\hat I_\Gamma` at the plan returned by
    :func:`infoot_coupling` must match :math:`\mathrm{OT}(a,b)` (``linprog``) as below.
    Uniform marginals, n = 6, m = 4, squared Euclidean cost normalised to max 1, Gaussian
    kernels (h = 0.3), :math:`\varepsilon\in\{0.02,0.005\}`. The entropic solution
    :math:`\Gamma_\varepsilon` minimises :math:`\langle C,\Gamma\rangle-\varepsilon H(\Gamma)`, so
    :math:`\langle C,\Gamma_\varepsilon\rangle-\mathrm{OT}\le
    \varepsilon(H(\Gamma_\varepsilon)-H(\Gamma^*))\le
    \varepsilon(H(a)+H(b)-H(a))=\varepsilon\log m`; and :math:`\ge0` for a coupling. The
    returned plan's row marginals are off by :math:`\delta=\|\Gamma\mathbf 1-a\|_1` (its
    columns are exact); OT is :math:`\max C`-Lipschitz in the marginals in
    :math:`\ell_1`, so both sides allow :math:`\max C\cdot\delta` plus HiGHS's 1e-9.
    """
    rng = ctx.rng(0)
    count, n, m = ctx.pick(6, 40), 6, 4
    x, y = _cloud(rng, count, n, m)
    cost = np.sum((x[:, :, None, :] - y[:, None, :, :]) ** 2, axis=-1)
    cost = cost / cost.max(axis=(1, 2), keepdims=True)
    a, b = np.full((count, n), 1 / n), np.full((count, m), 1 / m)
    exact = np.array([_exact_ot(a[i], b[i], cost[i]) for i in range(count)])
    kx = gaussian_kernel(ctx.asarray(x), ctx.asarray(x), KERNEL_BANDWIDTH)
    ky = gaussian_kernel(ctx.asarray(y), ctx.asarray(y), KERNEL_BANDWIDTH)
    parts = {}
    for eps in (0.02, 0.005):
        plan = infoot_coupling(
            ctx.asarray(a),
            ctx.asarray(b),
            ctx.asarray(cost),
            kx,
            ky,
            lam,
            eps,
            outer=ctx.pick(2, 30),
            iterations=ctx.pick(200, 2000),
        )
        gamma = _numpy(plan)
        objective = np.sum(cost * gamma, axis=(1, 2))
        if lam:
            objective = objective - lam * _numpy(kernel_mutual_information(plan, kx, ky))
        delta = np.sum(np.abs(gamma.sum(axis=2) - a), axis=1) + np.sum(
            np.abs(gamma.sum(axis=1) - b), axis=1
        )
        allowance = delta + 1e-9
        gap = objective - exact
        inputs = {"cost": cost, "OT": exact}
        parts[f"eps={eps}: J - OT <= eps log m"] = checks.nonnegative(
            eps * np.log(m) - gap + allowance, inputs=inputs
        )
        parts[f"eps={eps}: J - OT >= 0"] = checks.nonnegative(gap + allowance, inputs=inputs)
    return checks.combine(parts)


# ----------------------------------------------------------------- conditional-projection


def barycentric_off_sample(
    x_new: Any, x_train: Any, y_train: Any, gamma: Any, bandwidth: float
) -> Any:
    r"""Control: the barycentric projection used as a map; at a point that is no training
    point it has no row of :math:`\Gamma` (NaN)."""
    xp = array_namespace(x_new)
    gap = x_new[..., :, None, :] - x_train[..., None, :, :]
    match = xp.all(gap == 0.0, axis=-1)
    rows = xp.astype(match, gamma.dtype) @ gamma
    found = xp.any(match, axis=-1)
    value = (rows @ y_train) / xp.where(found, xp.sum(rows, axis=-1), 1.0)[..., None]
    return xp.where(found[..., None], value, xp.nan)


@claim(
    "infoot.conditional-projection",
    paper=PAPER,
    source="conditional projection (Sec. 4)",
    statement=(
        r"T_h(x)=\frac{\sum_{k,j}K_h(x,x_k)\Gamma_{kj}y_j}{\sum_{k,j}K_h(x,x_k)\Gamma_{kj}}"
        r"\xrightarrow{h\to0}\frac{\sum_j\Gamma_{ij}y_j}{a_i}\text{ at }x=x_i;"
        r"\ T_h\text{ is defined for new }x"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "barycentric-off-sample",
            r"the barycentric projection \sum_j\Gamma_{ij}y_j/a_i serves as the map at new x",
            {"transport_map": barycentric_off_sample},
        ),
        Control(
            "any-bandwidth",
            r"T_h equals the barycentric projection at the training points for any h"
            r" (here h = 10 d_min)",
            {"small_bandwidth": 10.0},
        ),
    ],
)
def conditional_projection_claim(
    ctx: Context,
    transport_map: Callable[..., Any] = conditional_projection,
    small_bandwidth: float = 0.1,
) -> Evidence:
    r"""The map at training points for shrinking h, and at new points.

    Random clouds (n = 8, m = 6 in :math:`\mathbb R^2`) and random couplings
    (:math:`\Gamma` with positive entries, Dirichlet rows scaled to a). With
    :math:`\eta=\max_{k\ne i}e^{-\|x_i-x_k\|^2/(2h^2)}`,
    :math:`|T_h(x_i)-\bar y_i|\le\eta\sum_{k\ne i}\|b_k-a_k\bar y_i\|/a_i` (:math:`b_k=
    \sum_j\Gamma_{kj}y_j`): checked at :math:`h=\delta_{\min}\cdot(0.5,0.3,0.2)`
    (:math:`\delta_{\min}` the smallest distance between training points) with a rounding
    allowance :math:`(n+m+8)u\max\|y\|`. At ``small_bandwidth`` times
    :math:`\delta_{\min}` (0.1: :math:`\eta\le e^{-50}`) the map must equal
    :math:`\bar y_i` to that allowance (the limit). At 20 new points per instance the map
    must be finite and lie in the bounding box of the :math:`y_j` (a convex combination).
    """
    rng = ctx.rng(0)
    count, n, m = ctx.pick(30, 300), 8, 6
    x, y = _cloud(rng, count, n, m)
    a = rng.dirichlet(np.ones(n) * 3, count)
    gamma = a[:, :, None] * rng.dirichlet(np.ones(m), (count, n))
    bary = np.einsum("nij,njp->nip", gamma, y) / a[:, :, None]
    b_rows = np.einsum("nij,njp->nip", gamma, y)
    distance2 = np.sum((x[:, :, None, :] - x[:, None, :, :]) ** 2, axis=-1)
    off = ~np.eye(n, dtype=bool)
    min_distance = np.sqrt(np.min(np.where(off, distance2, np.inf), axis=(1, 2)))
    allowance = (n + m + 8) * UNIT_ROUNDOFF * np.max(np.abs(y), axis=(1, 2))
    spread = np.linalg.norm(
        b_rows[:, None, :, :] - a[:, None, :, None] * bary[:, :, None, :], axis=-1
    )
    inputs = {"x": x, "y": y, "gamma": gamma}
    parts = {}

    # coordinates in units of d_min (T_h is invariant under scaling x and h together), so
    # that one bandwidth serves every instance of the batch
    unit = x / min_distance[:, None, None]

    def mapped(points: np.ndarray, h: float) -> np.ndarray:
        return _numpy(
            transport_map(
                ctx.asarray(points / min_distance[:, None, None]),
                ctx.asarray(unit),
                ctx.asarray(y),
                ctx.asarray(gamma),
                float(h),
            )
        )

    for factor in (0.5, 0.3, 0.2):
        h = factor * min_distance
        eta = np.exp(-np.where(off, distance2, np.inf) / (2 * h[:, None, None] ** 2)).max(axis=2)
        bound = eta * np.sum(np.where(off, spread, 0.0), axis=2) / a
        error = np.linalg.norm(mapped(x, factor) - bary, axis=-1)
        parts[f"h={factor} d_min: |T_h(x_i) - bary_i| <= eta-bound"] = checks.nonnegative(
            bound + allowance[:, None] - error, inputs=inputs
        )
    parts[f"h={small_bandwidth} d_min: T_h(x_i) = bary_i"] = checks.compare(
        mapped(x, small_bandwidth), bary, atol=allowance, inputs=inputs
    )
    new = rng.normal(size=(count, 20, 2)) * 2
    values = mapped(new, 0.5)
    low, high = y.min(axis=1)[:, None, :], y.max(axis=1)[:, None, :]
    inside = np.minimum(values - low, high - values) + allowance[:, None, None]
    parts["new x: T_h(x) finite, inside the hull of y"] = checks.nonnegative(
        np.where(np.isfinite(inside), inside, -np.inf), inputs=inputs
    )
    return checks.combine(parts)


__all__ = [
    "PAPER",
    "barycentric_projection",
    "conditional_projection",
    "gaussian_kernel",
    "infoot_coupling",
    "kernel_mutual_information",
    "sinkhorn",
]
