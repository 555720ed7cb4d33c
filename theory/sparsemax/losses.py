r"""The sparsemax loss, its gradient, and the losses it is compared with.

Martins & Astudillo 2016, §3. For scores :math:`z\in\mathbb R^K` and a target
distribution :math:`q\in\Delta^{K-1}` (one-hot :math:`\delta_k` for one label),

.. math::

    L_{\mathrm{sparsemax}}(z;q) = -q^\top z + \tfrac12\sum_{j\in S(z)}(z_j^2-\tau^2(z))
                                  + \tfrac12\|q\|^2
                                = p^\top z - \tfrac12\|p\|^2 - q^\top z + \tfrac12\|q\|^2,
    \qquad p = \mathrm{sparsemax}(z),

with gradient :math:`\nabla_z L = \mathrm{sparsemax}(z) - q`. The second form is
evaluated after shifting z by its maximum (the loss is shift invariant), which
avoids the cancellation of :math:`\sum_S(z_j^2-\tau^2)` at large :math:`|z|`.

Binary losses of the margin :math:`t = z_1 - z_2` are here for the Huber
reduction (:math:`L_{\mathrm{sparsemax}}(t) = \tfrac14\,\tilde L_{\mathrm{Zhang}}(t)`).
"""

from __future__ import annotations

from typing import Any

from theory.sparsemax.projection import log_sum_exp, sparsemax
from theorycheck import validate


def _validated_pair(z: Any, q: Any, func: str) -> Any:
    """Check z and q: floating, finite, same shape, non-empty class axis, q on the simplex."""
    _, xp = validate.real_floating(z, "z", func=func)
    validate.axis(z, -1, "z", func=func)
    validate.finite(z, "z", func=func, xp=xp)
    validate.real_floating(q, "q", func=func)
    validate.same_shape(z, q, ("z", "q"), func=func)
    validate.finite(q, "q", func=func, xp=xp)
    validate.on_simplex(q, "q", func=func)
    return xp


def one_hot(labels: Any, num_classes: int, xp: Any, dtype: Any = None) -> Any:
    r"""One-hot targets :math:`\delta_k`, shape ``labels.shape + (num_classes,)``."""
    labels = xp.asarray(labels)
    if num_classes < 1:
        raise ValueError(f"one_hot: num_classes must be >= 1, got {num_classes}")
    if labels.ndim and (int(xp.min(labels)) < 0 or int(xp.max(labels)) >= num_classes):
        raise ValueError(f"one_hot: labels must lie in [0, {num_classes}), got {labels}")
    classes = xp.arange(num_classes)
    hot = labels[..., None] == classes
    return xp.astype(hot, dtype or xp.float64)


def sparsemax_loss(z: Any, q: Any) -> Any:
    r"""The sparsemax loss :math:`L_{\mathrm{sparsemax}}(z;q)` (classes on the last axis).

    Parameters
    ----------
    z : array, shape (..., K)
        Real scores.
    q : array, shape (..., K)
        Target distributions on the simplex (one-hot for a single label).

    Returns
    -------
    array, shape (...)
        The loss; non-negative up to rounding, zero iff sparsemax(z) = q.
    """
    xp = _validated_pair(z, q, "sparsemax_loss")
    shifted = z - xp.max(z, axis=-1, keepdims=True)
    p = sparsemax(shifted)
    return (
        xp.sum((p - q) * shifted, axis=-1)
        - 0.5 * xp.sum(p * p, axis=-1)
        + 0.5 * xp.sum(q * q, axis=-1)
    )


def sparsemax_loss_grad(z: Any, q: Any) -> Any:
    r"""The gradient :math:`\nabla_z L_{\mathrm{sparsemax}}(z;q) = \mathrm{sparsemax}(z) - q`."""
    _validated_pair(z, q, "sparsemax_loss_grad")
    return sparsemax(z) - q


def softmax_loss(z: Any, q: Any) -> Any:
    r"""The logistic (softmax) loss :math:`\mathrm{KL}(q\,\|\,\mathrm{softmax}(z))`.

    Equals the cross-entropy :math:`-z_k + \log\sum_j e^{z_j}` for one-hot q.
    Shapes as in :func:`sparsemax_loss`.
    """
    xp = _validated_pair(z, q, "softmax_loss")
    safe = xp.where(q > 0, q, 1.0)
    neg_entropy = xp.sum(xp.where(q > 0, q * xp.log(safe), 0.0), axis=-1)
    return neg_entropy - xp.sum(q * z, axis=-1) + log_sum_exp(z)


def _margin(t: Any, func: str) -> tuple[Any, Any]:
    t, xp = validate.real_floating(t, "t", func=func)
    validate.finite(t, "t", func=func, xp=xp)
    return t, xp


def sparsemax_binary_loss(t: Any) -> Any:
    r"""Closed form of the two-class sparsemax loss in the margin :math:`t=z_1-z_2`.

    :math:`-t` for :math:`t\le-1`, :math:`(t-1)^2/4` for :math:`|t|<1`, 0 for :math:`t\ge1`.
    """
    t, xp = _margin(t, "sparsemax_binary_loss")
    middle = 0.25 * (t - 1.0) ** 2
    return xp.where(t <= -1.0, -t, xp.where(t >= 1.0, xp.zeros_like(t), middle))


def modified_huber_loss(t: Any) -> Any:
    r"""Zhang's (2004) modified Huber loss.

    :math:`\max(0,1-t)^2` for :math:`t\ge-1`, else :math:`-4t`.
    """
    t, xp = _margin(t, "modified_huber_loss")
    return xp.where(t >= -1.0, xp.clip(1.0 - t, min=0.0) ** 2, -4.0 * t)


def sparse_plus(x: Any) -> Any:
    r"""jaxopt's sparse_plus.

    0 for :math:`x\le-1`, :math:`(x+1)^2/4` for :math:`|x|<1`, x for :math:`x\ge1`.
    """
    x, xp = _margin(x, "sparse_plus")
    return xp.where(x <= -1.0, xp.zeros_like(x), xp.where(x >= 1.0, x, 0.25 * (x + 1.0) ** 2))


def hinge_loss(t: Any) -> Any:
    r"""The hinge loss :math:`\max(0, 1-t)`."""
    t, xp = _margin(t, "hinge_loss")
    return xp.clip(1.0 - t, min=0.0)


def logistic_loss(t: Any) -> Any:
    r"""The binary logistic loss :math:`\log(1+e^{-t})`, computed without overflow."""
    t, xp = _margin(t, "logistic_loss")
    return xp.clip(-t, min=0.0) + xp.log1p(xp.exp(-xp.abs(t)))


def zero_one_loss(t: Any) -> Any:
    r"""The 0-1 loss :math:`\mathbf 1[t\le 0]` of the margin."""
    t, xp = _margin(t, "zero_one_loss")
    return xp.astype(t <= 0.0, t.dtype)


def hard_sigmoid(t: Any) -> Any:
    r"""The two-class sparsemax probability :math:`\mathrm{clip}((t+1)/2, 0, 1)`."""
    t, xp = _margin(t, "hard_sigmoid")
    return xp.clip((t + 1.0) / 2.0, min=0.0, max=1.0)


__all__ = [
    "hard_sigmoid",
    "hinge_loss",
    "logistic_loss",
    "modified_huber_loss",
    "one_hot",
    "softmax_loss",
    "sparse_plus",
    "sparsemax_binary_loss",
    "sparsemax_loss",
    "sparsemax_loss_grad",
    "zero_one_loss",
]
