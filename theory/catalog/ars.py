r"""Adaptive reordering sampler (ARS; *Adaptive Reordering Sampler with Neurally Guided
MAGSAC*, ICCV 2023): the Bayesian update of inlier probabilities after a failed sample.

Claim ``ars.bayes-update`` (``shared/claims/catalog.md`` §61, [derived]: the exact update
printed in the paper is not confirmed), checked in :mod:`proofs_check.catalog.ars`.

Each of n correspondences is an inlier independently, :math:`z_i\sim\mathrm{Bernoulli}(p_i)`.
A minimal sample :math:`S` *fails* when not all of its points are inliers; the posterior
inlier probability after one failure is

.. math::

    p_i'=P(z_i=1\mid\neg\textstyle\bigwedge_{j\in S}z_j)
    =\begin{cases}p_i\,\dfrac{1-\prod_{j\in S\setminus i}p_j}{1-\prod_{j\in S}p_j},
    & i\in S,\\ p_i, & i\notin S.\end{cases}
"""

from __future__ import annotations

from typing import Any

from theorycheck import validate
from theorycheck.backend import array_namespace

PAPER = "ars"
"""Key of the paper in the seed catalog."""


def posterior_after_failure(p: Any, sample: Any) -> Any:
    r"""Posterior inlier probabilities after the minimal sample ``sample`` failed.

    Parameters
    ----------
    p : array, shape (..., n)
        Prior inlier probabilities :math:`p_i\in[0,1]` of independent points.
    sample : array of bool, shape (..., n) or broadcastable to p
        Membership of each point in the failed minimal sample S (non-empty).

    Returns
    -------
    array, shape (..., n)
        :math:`p_i(1-\prod_{j\in S\setminus i}p_j)/(1-\prod_{j\in S}p_j)` on S, :math:`p_i`
        elsewhere.

    Raises
    ------
    ValueError
        For probabilities outside [0, 1], NaN, a non-boolean or empty sample, or a sample
        whose failure has probability 0 (:math:`\prod_{j\in S}p_j=1`).
    """
    func = "posterior_after_failure"
    p, xp = validate.real_floating(p, "p", func=func)
    validate.finite(p, "p", func=func, xp=xp)
    if p.ndim == 0 or p.shape[-1] == 0:
        raise ValueError(f"{func}: p must have shape (..., n) with n >= 1, got {tuple(p.shape)}")
    low, high = float(xp.min(p)), float(xp.max(p))
    if low < 0 or high > 1:
        raise ValueError(f"{func}: p must lie in [0, 1], got {low if low < 0 else high}")
    try:
        sample_xp = array_namespace(sample)
    except TypeError:
        sample_xp = None
    if sample_xp is None or not xp.isdtype(sample.dtype, "bool"):
        kind = getattr(sample, "dtype", type(sample).__name__)
        raise ValueError(f"{func}: sample must be a boolean array, got {kind}")
    try:
        shape = xp.broadcast_shapes(tuple(p.shape), tuple(sample.shape))
    except ValueError:
        shape = None
    if shape != tuple(p.shape):
        raise ValueError(
            f"{func}: sample of shape {tuple(sample.shape)} does not broadcast to p of shape "
            f"{tuple(p.shape)}"
        )
    sample = xp.broadcast_to(sample, shape)
    if not bool(xp.all(xp.any(sample, axis=-1))):
        raise ValueError(f"{func}: the failed sample must contain at least one point")
    n = p.shape[-1]
    in_sample = xp.where(sample, p, xp.ones_like(p))
    product = xp.prod(in_sample, axis=-1)  # prod_{j in S} p_j, shape (...)
    if float(xp.max(product)) >= 1.0:
        raise ValueError(
            f"{func}: the sample cannot fail (prod of its inlier probabilities is "
            f"{float(xp.max(product))}); the posterior is undefined"
        )
    # leave-one-out products prod_{j in S, j != i} p_j without division (p_i may be 0)
    others = xp.logical_not(xp.eye(n, dtype=xp.bool))
    leave_one_out = xp.prod(
        xp.where(others, in_sample[..., None, :], xp.ones_like(in_sample[..., None, :])),
        axis=-1,
    )
    updated = p * (1.0 - leave_one_out) / (1.0 - product)[..., None]
    return xp.where(sample, updated, p)
