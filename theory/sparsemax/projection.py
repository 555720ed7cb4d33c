r"""Sparsemax and softmax, the Euclidean projection onto the simplex and its threshold.

Martins & Astudillo, *From Softmax to Sparsemax*, ICML 2016.

.. math::

    \mathrm{sparsemax}(z) = \arg\min_{p\in\Delta^{K-1}} \|p - z\|_2^2
                          = [z - \tau(z)\mathbf 1]_+ ,

    k(z) = \max\{k : 1 + k z_{(k)} > \textstyle\sum_{j\le k} z_{(j)}\},\qquad
    \tau(z) = \frac{\sum_{j\le k(z)} z_{(j)} - 1}{k(z)}

(Proposition 1 and Algorithm 1: sort, cumulative sums, support size, threshold,
clip; only the entries within 1 of the row maximum are sorted, since no other
entry can be in the support). Every function takes any leading (batch) axes, works on any array-API
namespace and keeps the input's floating dtype.
"""

from __future__ import annotations

import math
from typing import Any

from theorycheck import validate


def _prepared(z: Any, axis: int, func: str) -> tuple[Any, Any, int]:
    """Validate z and move ``axis`` last; return ``(z_last, xp, axis)``."""
    z, xp = validate.real_floating(z, "z", func=func)
    axis = validate.axis(z, axis, "z", func=func)
    validate.finite(z, "z", func=func, xp=xp)
    if axis != z.ndim - 1:
        z = xp.moveaxis(z, axis, -1)
    return z, xp, axis


def _restore(x: Any, xp: Any, axis: int, ndim: int) -> Any:
    return x if axis == ndim - 1 else xp.moveaxis(x, -1, axis)


def _top_descending(z: Any, count: int, xp: Any) -> Any:
    """The ``count`` largest entries of each row (last axis), in descending order.

    Namespaces with a selection routine (numpy, cupy: ``partition``, O(K)) select
    before sorting the few selected entries; others sort the whole row.
    """
    size = z.shape[-1]
    if count < size and hasattr(xp, "partition"):
        z = xp.partition(z, size - count, axis=-1)[..., size - count :]
    return xp.flip(xp.sort(z, axis=-1, stable=False), axis=-1)[..., :count]


def _threshold_last_axis(z: Any, xp: Any) -> tuple[Any, Any]:
    r"""Threshold :math:`\tau` and support size :math:`k` along the last axis (keepdims).

    Since :math:`\tau \ge z_{(1)}-1`, the support lies in
    :math:`\{j: z_j > z_{(1)}-1\}`; only the c largest entries of each row, with c
    the largest such count over the batch, are sorted and summed. The test
    :math:`1 + k z_{(k)} > \sum_{j\le k} z_{(j)}` holds exactly for
    :math:`k \le k(z)` (its left minus right side decreases in k), so k(z) is the
    number of indices that pass it; ties with zero mass fail the strict test.
    """
    if math.prod(z.shape[:-1]) == 0:
        empty = xp.zeros((*z.shape[:-1], 1), dtype=z.dtype)
        return empty, xp.astype(empty, xp.int64)
    top = xp.max(z, axis=-1, keepdims=True)
    candidates = int(xp.max(xp.count_nonzero(z > top - 1, axis=-1)))
    z_sorted = _top_descending(z, candidates, xp)
    cumulative = xp.cumulative_sum(z_sorted, axis=-1)
    ranks = xp.arange(1, candidates + 1, dtype=z.dtype)
    in_support = 1 + ranks * z_sorted > cumulative
    support_size = xp.count_nonzero(in_support, axis=-1, keepdims=True)
    support_sum = xp.take_along_axis(cumulative, support_size - 1, axis=-1)
    tau = (support_sum - 1) / xp.astype(support_size, z.dtype)
    return tau, support_size


def sparsemax_threshold(z: Any, axis: int = -1) -> Any:
    r"""The threshold :math:`\tau(z)` of Proposition 1.

    Parameters
    ----------
    z : array, shape (..., K, ...)
        Real scores; finite, floating dtype.
    axis : int
        The axis holding the K classes.

    Returns
    -------
    array, shape of z without ``axis``
        :math:`\tau(z)`, the unique root of :math:`\sum_j [z_j-\tau]_+ = 1`.
    """
    z, xp, _ = _prepared(z, axis, "sparsemax_threshold")
    tau, _ = _threshold_last_axis(z, xp)
    return tau[..., 0]


def sparsemax(z: Any, axis: int = -1) -> Any:
    r"""Sparsemax: the Euclidean projection of z onto the probability simplex.

    Parameters
    ----------
    z : array, shape (..., K, ...)
        Real scores; finite, floating dtype; K >= 1.
    axis : int
        The axis holding the K classes.

    Returns
    -------
    array, same shape as z
        :math:`[z-\tau(z)]_+`, non-negative and summing to 1 along ``axis``.

    Raises
    ------
    ValueError
        For a non-floating dtype, NaN or infinite entries, an axis out of range
        or an empty axis.
    """
    ndim = getattr(z, "ndim", 0)
    z, xp, axis = _prepared(z, axis, "sparsemax")
    tau, _ = _threshold_last_axis(z, xp)
    return _restore(xp.clip(z - tau, min=0.0), xp, axis, ndim)


def sparsemax_support(z: Any, axis: int = -1) -> Any:
    r"""Indicator of the support :math:`S(z)=\{j: z_j>\tau(z)\}` (boolean, shape of z)."""
    ndim = getattr(z, "ndim", 0)
    z, xp, axis = _prepared(z, axis, "sparsemax_support")
    tau, _ = _threshold_last_axis(z, xp)
    return _restore(z > tau, xp, axis, ndim)


def softmax(z: Any, axis: int = -1) -> Any:
    r"""Softmax :math:`e^{z_i}/\sum_j e^{z_j}`, computed after subtracting the maximum.

    Parameters
    ----------
    z : array, shape (..., K, ...)
        Real scores; finite, floating dtype.
    axis : int
        The axis holding the K classes.
    """
    ndim = getattr(z, "ndim", 0)
    z, xp, axis = _prepared(z, axis, "softmax")
    e = xp.exp(z - xp.max(z, axis=-1, keepdims=True))
    return _restore(e / xp.sum(e, axis=-1, keepdims=True), xp, axis, ndim)


def log_sum_exp(z: Any, axis: int = -1) -> Any:
    r""":math:`\log\sum_j e^{z_j}` without overflow (shape of z without ``axis``)."""
    z, xp, _ = _prepared(z, axis, "log_sum_exp")
    top = xp.max(z, axis=-1, keepdims=True)
    return (top + xp.log(xp.sum(xp.exp(z - top), axis=-1, keepdims=True)))[..., 0]
