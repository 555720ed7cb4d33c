r"""The Jacobian of sparsemax and its Jacobian-vector product (Martins & Astudillo 2016, §2).

Wherever sparsemax is differentiable (no :math:`z_j = \tau(z)`),

.. math::

    J_{\mathrm{sparsemax}}(z) = \mathrm{Diag}(s) - \frac{s s^\top}{|S(z)|},\qquad
    J_{\mathrm{sparsemax}}(z)\,v = s\odot(v - \hat v\mathbf 1),\quad
    \hat v = \frac{\sum_{j\in S(z)} v_j}{|S(z)|},

with s the 0/1 indicator of the support. J is symmetric, so the same formula is
the vector-Jacobian product of backpropagation. Softmax's Jacobian is
:math:`\mathrm{Diag}(p) - p p^\top` with p = softmax(z).
"""

from __future__ import annotations

from typing import Any

from theory.sparsemax.projection import softmax, sparsemax_support
from theorycheck import validate
from theorycheck.backend import array_namespace


def sparsemax_jacobian(z: Any) -> Any:
    r"""The Jacobian :math:`\mathrm{Diag}(s) - ss^\top/|S|` along the last axis.

    Parameters
    ----------
    z : array, shape (..., K)
        Real scores (classes on the last axis).

    Returns
    -------
    array, shape (..., K, K)
        Symmetric idempotent projector of rank :math:`|S|-1`.
    """
    _, xp = validate.real_floating(z, "z", func="sparsemax_jacobian")
    validate.finite(z, "z", func="sparsemax_jacobian", xp=xp)
    s = xp.astype(sparsemax_support(z), z.dtype)
    size = xp.sum(s, axis=-1, keepdims=True)[..., None]
    eye = xp.eye(s.shape[-1], dtype=s.dtype)
    return s[..., None] * eye - s[..., :, None] * s[..., None, :] / size


def sparsemax_jvp(z: Any, v: Any) -> Any:
    r"""The product :math:`J_{\mathrm{sparsemax}}(z)\,v = s\odot(v-\hat v\mathbf 1)`.

    O(K) after the forward pass, never forming J; also the vector-Jacobian
    product, since J is symmetric.

    Parameters
    ----------
    z : array, shape (..., K)
        Real scores.
    v : array, shape (..., K)
        Tangent vectors, same shape as z.
    """
    _, xp = validate.real_floating(z, "z", func="sparsemax_jvp")
    validate.finite(z, "z", func="sparsemax_jvp", xp=xp)
    validate.real_floating(v, "v", func="sparsemax_jvp")
    validate.same_shape(z, v, ("z", "v"), func="sparsemax_jvp")
    validate.finite(v, "v", func="sparsemax_jvp", xp=xp)
    mask = sparsemax_support(z)
    support_size = xp.count_nonzero(mask, axis=-1, keepdims=True)
    v_hat = xp.sum(xp.where(mask, v, 0.0), axis=-1, keepdims=True) / xp.astype(
        support_size, v.dtype
    )
    return xp.where(mask, v - v_hat, 0.0)


def softmax_jacobian(z: Any) -> Any:
    r"""The softmax Jacobian :math:`\mathrm{Diag}(p)-pp^\top`, shape (..., K, K)."""
    p = softmax(z)
    xp = array_namespace(p)
    eye = xp.eye(p.shape[-1], dtype=p.dtype)
    return p[..., None] * eye - p[..., :, None] * p[..., None, :]
