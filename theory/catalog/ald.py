r"""The approximate-linear-dependence (ALD) dictionary of online kernel regression (fragment).

Li & Liao, *Nearly Optimal Algorithms with Sublinear Computational Complexity for Online
Kernel Regression*, ICML 2023; claim ``ald.dictionary-growth`` of
``shared/claims/catalog.md`` §95 [unconfirmed numbering] (see also ``online_regret.md``
§3). A **fragment**: the dictionary that AOGD-ALD and NONS-ALD maintain, not their regret
bounds; the paper's threshold schedule and constants are not confirmed.

The ALD test (Engel, Mannor & Meir 2004). With dictionary :math:`\mathcal D_{t-1}`, kernel
matrix :math:`K_{\mathcal D}` and :math:`k_t=[k(x_t,d)]_{d\in\mathcal D}`, the residual

.. math:: \delta_t=k(x_t,x_t)-k_t^\top K_{\mathcal D}^{-1}k_t

is the squared RKHS distance of :math:`k(x_t,\cdot)` from the span of the dictionary;
:math:`x_t` is added when :math:`\delta_t>\nu_t`. :func:`ald_dictionary` runs it online
for a batch of input streams, keeping :math:`M=L^{-1}` for the Cholesky factor
:math:`K_{\mathcal D}=LL^\top`: with :math:`q=Mk_t`, :math:`\delta_t=k(x_t,x_t)-\|q\|^2`,
and an admission appends the row :math:`(-q^\top M,\,1)/\sqrt{\delta_t}` to M
(O(|D|^2) per step).

Kernels on the real line (all with :math:`k(x,x)=1`), lengthscale :math:`\ell`, distance r:
``gaussian`` :math:`e^{-r^2/(2\ell^2)}` (eigenvalues decaying faster than exponentially),
``laplace`` :math:`e^{-r/\ell}` (Matérn-1/2, polynomial decay of degree 2),
``matern32`` :math:`(1+\sqrt3r/\ell)e^{-\sqrt3r/\ell}` (degree 4) and ``matern52``
:math:`(1+\sqrt5r/\ell+5r^2/(3\ell^2))e^{-\sqrt5r/\ell}` (degree 6).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theorycheck import validate
from theorycheck.backend import array_namespace

PAPER = "ald"
"""Key of the paper in the seed catalog."""

KERNELS = ("gaussian", "laplace", "matern32", "matern52")
"""Translation-invariant kernels on the real line, by eigenvalue decay (fast to slow:
gaussian, matern52, matern32, laplace)."""

CAPACITY_STEP = 16
"""Dictionary slots allocated at first, and added whenever a stream fills them (the cost
of a step is proportional to the square of the capacity)."""


def _kind(kind: Any, func: str) -> str:
    if kind not in KERNELS:
        raise ValueError(f"{func}: kind must be one of {KERNELS}, got {kind!r}")
    return kind


def kernel(x: Any, y: Any, *, kind: str = "gaussian", lengthscale: float = 0.2) -> Any:
    r"""Kernel values :math:`k(x,y)` of a translation-invariant kernel on the real line.

    Parameters
    ----------
    x, y : array
        Points (finite), broadcast against each other.
    kind : {"gaussian", "laplace", "matern32", "matern52"}
        The kernel (module docstring).
    lengthscale : float
        :math:`\ell>0`.

    Returns
    -------
    array, the broadcast shape of x and y, values in (0, 1]
    """
    func = "kernel"
    x = validate.finite_real_array(x, "x", func=func)
    y = validate.finite_real_array(y, "y", func=func)
    kind = _kind(kind, func)
    ell = validate.positive_number(lengthscale, "lengthscale", func=func)
    return _kernel(array_namespace(x, y), x, y, kind, ell)


def _kernel(xp: Any, x: Any, y: Any, kind: str, ell: float) -> Any:
    r = xp.abs(x - y) / ell
    if kind == "gaussian":
        return xp.exp(-0.5 * r * r)
    if kind == "laplace":
        return xp.exp(-r)
    if kind == "matern32":
        s = math.sqrt(3.0) * r
        return (1.0 + s) * xp.exp(-s)
    s = math.sqrt(5.0) * r
    return (1.0 + s + s * s / 3.0) * xp.exp(-s)


def anytime_thresholds(horizon: int, nu0: float = 0.5) -> np.ndarray:
    r"""The threshold schedule :math:`\nu_t=\nu_0/t`, :math:`t=1,\dots,T` (decaying like 1/T;
    the paper's schedule is not confirmed).

    Parameters
    ----------
    horizon : int
        T >= 1.
    nu0 : float
        :math:`\nu_0\in(0,1)` (so that the first point, with :math:`\delta_1=1`, is admitted).

    Returns
    -------
    ndarray, shape (T,)
    """
    func = "anytime_thresholds"
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ValueError(f"{func}: horizon must be an integer >= 1, got {horizon!r}")
    nu0 = validate.positive_number(nu0, "nu0", func=func)
    if nu0 >= 1.0:
        raise ValueError(f"{func}: nu0 must be < 1 = k(x, x), got {nu0!r}")
    return nu0 / np.arange(1, int(horizon) + 1, dtype=float)


def ald_dictionary(
    x: Any, thresholds: Any, *, kind: str = "gaussian", lengthscale: float = 0.2
) -> dict[str, Any]:
    r"""Run the ALD test online on a batch of input streams.

    Parameters
    ----------
    x : array, shape (R, T)
        R input streams :math:`x_1,\dots,x_T` on the real line (finite).
    thresholds : array, shape (T,)
        :math:`\nu_t>0`.
    kind, lengthscale
        The kernel (:func:`kernel`).

    Returns
    -------
    dict with
        ``sizes`` : int array (R, T), :math:`|\mathcal D_t|` after step t;
        ``admitted`` : bool array (R, T), whether :math:`x_t` was added;
        ``residuals`` : array (R, T), :math:`\delta_t` against :math:`\mathcal D_{t-1}`;
        ``dictionary`` : array (R, C), the dictionary points in admission order, padded
        with zeros beyond ``count`` (C the capacity reached);
        ``count`` : int array (R,), the final sizes.
    """
    func = "ald_dictionary"
    x = validate.finite_real_array(x, "x", func=func, min_ndim=2)
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"{func}: x must have shape (R, T) with T >= 1, got {tuple(x.shape)}")
    thresholds = validate.finite_real_array(thresholds, "thresholds", func=func, min_ndim=1)
    xp = array_namespace(x, thresholds)
    if thresholds.ndim != 1 or thresholds.shape[0] != x.shape[1]:
        raise ValueError(
            f"{func}: thresholds must have shape (T,) = ({x.shape[1]},), got "
            f"{tuple(thresholds.shape)}"
        )
    if float(xp.min(thresholds)) <= 0.0:
        raise ValueError(f"{func}: thresholds must be > 0, got {float(xp.min(thresholds))}")
    kind = _kind(kind, func)
    ell = validate.positive_number(lengthscale, "lengthscale", func=func)

    streams, horizon = x.shape
    capacity = CAPACITY_STEP
    inverse_factor = xp.zeros((streams, capacity, capacity), dtype=x.dtype)  # M = L^{-1}
    points = xp.zeros((streams, capacity), dtype=x.dtype)
    count = xp.zeros((streams,), dtype=xp.int64)
    sizes, admitted, residuals = [], [], []
    for t in range(horizon):  # the online loop over time; streams are vectorised
        if int(xp.max(count)) >= capacity:
            grown = capacity + CAPACITY_STEP
            inverse_factor = xp.concat(
                [
                    xp.concat(
                        [
                            inverse_factor,
                            xp.zeros((streams, capacity, CAPACITY_STEP), dtype=x.dtype),
                        ],
                        axis=2,
                    ),
                    xp.zeros((streams, CAPACITY_STEP, grown), dtype=x.dtype),
                ],
                axis=1,
            )
            points = xp.concat([points, xp.zeros((streams, CAPACITY_STEP), dtype=x.dtype)], axis=1)
            capacity = grown
        slots = xp.arange(capacity, dtype=xp.int64)
        active = slots[None, :] < count[:, None]
        x_t = x[:, t]
        k_t = xp.where(active, _kernel(xp, points, x_t[:, None], kind, ell), xp.zeros_like(points))
        q = xp.matmul(inverse_factor, k_t[:, :, None])[:, :, 0]
        delta = 1.0 - xp.sum(q * q, axis=1)
        add = delta > thresholds[t]
        scale = xp.sqrt(xp.where(add, delta, xp.ones_like(delta)))
        new_slot = xp.astype(slots[None, :] == count[:, None], x.dtype)  # (R, C) one-hot
        row = (new_slot - xp.matmul(q[:, None, :], inverse_factor)[:, 0, :]) / scale[:, None]
        gate = xp.astype(add, x.dtype)
        inverse_factor = inverse_factor + gate[:, None, None] * (
            new_slot[:, :, None] * row[:, None, :]
        )
        points = points + gate[:, None] * new_slot * x_t[:, None]
        count = count + xp.astype(add, xp.int64)
        sizes.append(count)
        admitted.append(add)
        residuals.append(delta)
    return {
        "sizes": xp.stack(sizes, axis=1),
        "admitted": xp.stack(admitted, axis=1),
        "residuals": xp.stack(residuals, axis=1),
        "dictionary": points,
        "count": count,
    }


def ald_residuals(
    x: Any, dictionary: Any, count: Any, *, kind: str = "gaussian", lengthscale: float = 0.2
) -> Any:
    r"""Residuals :math:`k(x,x)-k_x^\top K_{\mathcal D}^{-1}k_x` of points against a fixed
    dictionary, by a direct solve (independent of the online updates).

    Parameters
    ----------
    x : array, shape (R, T)
        Points, one row per dictionary.
    dictionary : array, shape (R, C)
        Dictionary points; only the first ``count[r]`` of row r are used.
    count : integer array, shape (R,)
        Dictionary sizes, in [1, C].
    kind, lengthscale
        The kernel.

    Returns
    -------
    array, shape (R, T)
    """
    func = "ald_residuals"
    x = validate.finite_real_array(x, "x", func=func, min_ndim=2)
    dictionary = validate.finite_real_array(dictionary, "dictionary", func=func, min_ndim=2)
    xp = array_namespace(x, dictionary)
    if x.ndim != 2 or dictionary.ndim != 2 or dictionary.shape[0] != x.shape[0]:
        raise ValueError(
            f"{func}: need x (R, T) and dictionary (R, C), got {tuple(x.shape)} and "
            f"{tuple(dictionary.shape)}"
        )
    capacity = dictionary.shape[1]
    if (
        not hasattr(count, "dtype")
        or not xp.isdtype(count.dtype, "integral")
        or tuple(count.shape) != (x.shape[0],)
    ):
        raise ValueError(f"{func}: count must be an integer array of shape ({x.shape[0]},)")
    if int(xp.min(count)) < 1 or int(xp.max(count)) > capacity:
        raise ValueError(
            f"{func}: count must lie in [1, {capacity}], got values in "
            f"[{int(xp.min(count))}, {int(xp.max(count))}]"
        )
    kind = _kind(kind, func)
    ell = validate.positive_number(lengthscale, "lengthscale", func=func)
    slots = xp.arange(capacity, dtype=xp.int64)
    active = xp.astype(slots[None, :] < count[:, None], x.dtype)  # (R, C)
    pair = active[:, :, None] * active[:, None, :]
    gram = _kernel(xp, dictionary[:, :, None], dictionary[:, None, :], kind, ell) * pair
    gram = gram + xp.eye(capacity, dtype=x.dtype)[None, ...] * (1.0 - active[:, None, :])
    cross = _kernel(xp, dictionary[:, :, None], x[:, None, :], kind, ell) * active[:, :, None]
    factor = xp.linalg.cholesky(gram)
    solved = xp.linalg.solve(factor, cross)  # L^{-1} k_x, (R, C, T)
    return 1.0 - xp.sum(solved * solved, axis=1)
