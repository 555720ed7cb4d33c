r"""Running means of losses and Hessians (*Unraveling the Hessian: A Key to Smooth
Convergence in Loss Function Landscapes*, 2024), a **fragment**.

Claim ``unravel.mean-update`` of ``shared/claims/catalog.md`` §65 [unconfirmed numbering];
the check is in :mod:`proofs_check.catalog.unravel`. Notation: per-sample losses
:math:`\ell_1,\ell_2,\dots` of one parameter :math:`\theta`, their running mean
:math:`L_k=\frac1k\sum_{i\le k}\ell_i` and the running mean of the per-sample Hessians,
:math:`H_k=\frac1k\sum_{i\le k}\nabla^2\ell_i`. The fragment checked is the paper's
elementary ingredient:

.. math::

    L_{k+1}-L_k=\frac{\ell_{k+1}-L_k}{k+1},\qquad 0\le\ell\le M\Rightarrow
    |L_{k+1}-L_k|\le\frac M{k+1},\qquad
    \|H_{k+1}-H_k\|_2\le\frac{2\max_{i\le k+1}\|\nabla^2\ell_i\|_2}{k+1}.

The paper's theorems on how the loss landscape converges as the sample size grows are not
checked; its exact numbering and notation are not confirmed.

The module also gives a bounded per-sample loss with indefinite Hessians (Welsch's
loss of a linear model) for the numeric part of the check.
"""

from __future__ import annotations

from typing import Any

from theorycheck import validate
from theorycheck.backend import array_namespace

PAPER = "unravel"
"""Key of the paper in the seed catalog."""


def _counts(count: int, like: Any) -> Any:
    """1, 2, ..., count in the dtype of ``like``."""
    xp = array_namespace(like)
    return xp.arange(1, count + 1, dtype=like.dtype)


def running_mean_losses(losses: Any) -> Any:
    r"""Running means :math:`L_k=\frac1k\sum_{i\le k}\ell_i`, k = 1, ..., K.

    Parameters
    ----------
    losses : array, shape (..., K)
        Per-sample losses :math:`\ell_1,\dots,\ell_K` along the last axis.

    Returns
    -------
    array, shape (..., K)
        :math:`L_1,\dots,L_K`.
    """
    losses = validate.finite_real_array(losses, "losses", func="running_mean_losses", min_ndim=1)
    xp = array_namespace(losses)
    if losses.shape[-1] == 0:
        raise ValueError("running_mean_losses: losses has an empty sample axis")
    return xp.cumulative_sum(losses, axis=-1) / _counts(losses.shape[-1], losses)


def running_mean_hessians(hessians: Any) -> Any:
    r"""Running means :math:`H_k=\frac1k\sum_{i\le k}\nabla^2\ell_i`, k = 1, ..., K.

    Parameters
    ----------
    hessians : array, shape (..., K, p, p)
        Per-sample Hessians :math:`\nabla^2\ell_1,\dots,\nabla^2\ell_K` along axis -3.

    Returns
    -------
    array, shape (..., K, p, p)
        :math:`H_1,\dots,H_K`.
    """
    func = "running_mean_hessians"
    hessians = validate.finite_real_array(hessians, "hessians", func=func, min_ndim=3)
    if hessians.shape[-1] != hessians.shape[-2]:
        raise ValueError(
            f"{func}: hessians must have square trailing axes (..., K, p, p), "
            f"got {tuple(hessians.shape)}"
        )
    if hessians.shape[-3] == 0:
        raise ValueError(f"{func}: hessians has an empty sample axis")
    xp = array_namespace(hessians)
    counts = _counts(hessians.shape[-3], hessians)
    return xp.cumulative_sum(hessians, axis=-3) / counts[:, None, None]


def mean_update(previous_mean: Any, new_sample: Any, count: Any) -> Any:
    r"""The increment of a running mean, :math:`L_{k+1}-L_k=(\ell_{k+1}-L_k)/(k+1)`.

    Parameters
    ----------
    previous_mean : array, shape (...)
        :math:`L_k` (a mean of losses, or of Hessians: any trailing shape).
    new_sample : array, broadcastable with ``previous_mean``
        :math:`\ell_{k+1}`.
    count : int or array of int, broadcastable
        k >= 1, the number of samples in ``previous_mean``.

    Returns
    -------
    array
        :math:`(\ell_{k+1}-L_k)/(k+1)`.
    """
    func = "mean_update"
    previous_mean = validate.finite_real_array(previous_mean, "previous_mean", func=func)
    new_sample = validate.finite_real_array(new_sample, "new_sample", func=func)
    xp = array_namespace(previous_mean, new_sample)
    if isinstance(count, bool) or not (
        isinstance(count, int) or (hasattr(count, "dtype") and xp.isdtype(count.dtype, "integral"))
    ):
        raise ValueError(f"{func}: count must be an integer or an integer array, got {count!r}")
    if isinstance(count, int):
        if count < 1:
            raise ValueError(f"{func}: count must be >= 1, got {count}")
        return (new_sample - previous_mean) / (count + 1)
    if not bool(xp.all(count >= 1)):
        raise ValueError(f"{func}: count must be >= 1, has entry {int(xp.min(count))}")
    return (new_sample - previous_mean) / xp.astype(count + 1, previous_mean.dtype)


def _linear_model(theta: Any, features: Any, targets: Any, func: str) -> tuple[Any, Any]:
    theta = validate.finite_real_array(theta, "theta", func=func, min_ndim=1)
    features = validate.finite_real_array(features, "features", func=func, min_ndim=2)
    targets = validate.finite_real_array(targets, "targets", func=func, min_ndim=1)
    if features.shape[-1] != theta.shape[-1] or targets.shape[-1] != features.shape[-2]:
        raise ValueError(
            f"{func}: need theta (..., p), features (..., K, p), targets (..., K), got "
            f"{tuple(theta.shape)}, {tuple(features.shape)}, {tuple(targets.shape)}"
        )
    xp = array_namespace(theta, features, targets)
    residual = xp.sum(features * theta[..., None, :], axis=-1) - targets
    return residual, xp


def welsch_losses(theta: Any, features: Any, targets: Any, *, bound: float) -> Any:
    r"""Welsch's bounded loss of a linear model, per sample:
    :math:`\ell_i(\theta)=M\big(1-e^{-r_i^2/2}\big)`, :math:`r_i=a_i^\top\theta-b_i`.

    Parameters
    ----------
    theta : array, shape (..., p)
    features : array, shape (..., K, p)
        :math:`a_i`.
    targets : array, shape (..., K)
        :math:`b_i`.
    bound : float
        M > 0; :math:`0\le\ell_i<M`.

    Returns
    -------
    array, shape (..., K)
    """
    func = "welsch_losses"
    bound = validate.positive_number(bound, "bound", func=func)
    residual, xp = _linear_model(theta, features, targets, func)
    return bound * -xp.expm1(-0.5 * residual**2)


def welsch_hessians(theta: Any, features: Any, targets: Any, *, bound: float) -> Any:
    r"""Per-sample Hessians of :func:`welsch_losses`,
    :math:`\nabla^2\ell_i=M(1-r_i^2)e^{-r_i^2/2}a_ia_i^\top` (indefinite across samples:
    positive for :math:`|r_i|<1`, negative beyond).

    Parameters
    ----------
    theta : array, shape (..., p)
    features : array, shape (..., K, p)
    targets : array, shape (..., K)
    bound : float
        M > 0.

    Returns
    -------
    array, shape (..., K, p, p)
    """
    func = "welsch_hessians"
    bound = validate.positive_number(bound, "bound", func=func)
    residual, xp = _linear_model(theta, features, targets, func)
    curvature = bound * (1 - residual**2) * xp.exp(-0.5 * residual**2)
    return curvature[..., None, None] * features[..., :, None] * features[..., None, :]
