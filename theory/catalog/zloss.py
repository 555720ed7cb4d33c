r"""The Z-loss (de Brébisson & Vincent, *The Z-loss: a shift and scale invariant
classification loss belonging to the Spherical Family*, arXiv 1604.08859, 2016).

Pre-activations :math:`o\in\mathbb R^D`, target c, :math:`\mu=\tfrac1D\sum_ko_k`,
:math:`\sigma^2=\tfrac1D\sum_ko_k^2-\mu^2`, the z-score :math:`z_c=(o_c-\mu)/\sigma` and

.. math:: L_Z(o,c) = \tfrac1a\log\big(1+e^{a(b-z_c)}\big),\qquad a>0,\ b\in\mathbb R .

The functions below evaluate on any array-API namespace; :math:`\sigma` is computed as
:math:`\sqrt{\tfrac1D\sum_k(o_k-\mu)^2}` (equal to the definition, without its
cancellation). The claims are derived in :mod:`proofs_check.catalog.zloss`.
"""

from __future__ import annotations

import math
from typing import Any

from theorycheck import validate

PAPER = "zloss"
"""Key of the paper in the seed catalog."""


def _activations(o: Any, c: Any, func: str) -> tuple[Any, Any]:
    """Validate o (..., D), D >= 2, and integer targets c (...); return (xp, one_hot)."""
    o, xp = validate.real_floating(o, "o", func=func)
    validate.axis(o, -1, "o", func=func)
    validate.finite(o, "o", func=func, xp=xp)
    size = o.shape[-1]
    if size < 2:
        raise ValueError(f"{func}: o needs D >= 2 pre-activations, got D = {size}")
    if not xp.isdtype(getattr(c, "dtype", xp.float64), "integral"):
        raise ValueError(f"{func}: c must be an integer target array, got {type(c).__name__}")
    if tuple(c.shape) != tuple(o.shape[:-1]):
        raise ValueError(f"{func}: c must have shape {tuple(o.shape[:-1])}, got {tuple(c.shape)}")
    if c.ndim == 0 or 0 not in c.shape:
        low, high = int(xp.min(c)), int(xp.max(c))
        if low < 0 or high >= size:
            raise ValueError(f"{func}: c must lie in [0, {size}), got {low if low < 0 else high}")
    return xp, xp.astype(c[..., None] == xp.arange(size), o.dtype)


def z_score(o: Any, c: Any) -> Any:
    r"""The z-score of the target, :math:`z_c=(o_c-\mu)/\sigma`.

    Parameters
    ----------
    o : array, shape (..., D)
        Pre-activations, D >= 2, not all equal in a row (:math:`\sigma>0`).
    c : array of int, shape (...)
        Targets in [0, D).

    Returns
    -------
    array, shape (...)
    """
    xp, hot = _activations(o, c, "z_score")
    deviation = o - xp.mean(o, axis=-1, keepdims=True)
    sigma = xp.sqrt(xp.mean(deviation * deviation, axis=-1))
    if not bool(xp.all(sigma > 0)):
        raise ValueError("z_score: o must not be constant in a row (sigma = 0)")
    return xp.sum(hot * deviation, axis=-1) / sigma


def _parameters(a: float, b: float, func: str) -> tuple[float, float]:
    if not isinstance(a, int | float) or isinstance(a, bool) or not 0 < a < math.inf:
        raise ValueError(f"{func}: a must be a finite number > 0, got {a!r}")
    if not isinstance(b, int | float) or isinstance(b, bool) or not math.isfinite(b):
        raise ValueError(f"{func}: b must be a finite number, got {b!r}")
    return float(a), float(b)


def z_loss(o: Any, c: Any, a: float, b: float) -> Any:
    r"""The Z-loss :math:`\tfrac1a\,\mathrm{softplus}(a(b-z_c))`, evaluated without overflow.

    Parameters
    ----------
    o : array, shape (..., D)
        Pre-activations.
    c : array of int, shape (...)
        Targets.
    a : float
        Slope parameter, > 0.
    b : float
        Offset parameter.
    """
    a, b = _parameters(a, b, "z_loss")
    z = z_score(o, c)
    _, xp = validate.real_floating(o, "o", func="z_loss")
    v = a * (b - z)
    return (xp.clip(v, min=0.0) + xp.log1p(xp.exp(-xp.abs(v)))) / a


def softmax_cross_entropy(o: Any, c: Any) -> Any:
    r""":math:`-\log\mathrm{softmax}(o)_c=\log\sum_ke^{o_k}-o_c` (shift but not scale invariant)."""
    xp, hot = _activations(o, c, "softmax_cross_entropy")
    top = xp.max(o, axis=-1, keepdims=True)
    shifted = o - top
    return xp.log(xp.sum(xp.exp(shifted), axis=-1)) - xp.sum(hot * shifted, axis=-1)


def max_margin_loss(o: Any, c: Any) -> Any:
    r""":math:`\mathrm{softplus}(\max_{k\ne c}o_k-o_c)`.

    A loss of the maximum, not a function of (S, Q, o_c).
    """
    xp, hot = _activations(o, c, "max_margin_loss")
    others = xp.where(hot > 0, -xp.inf, o)
    v = xp.max(others, axis=-1) - xp.sum(hot * o, axis=-1)
    return xp.clip(v, min=0.0) + xp.log1p(xp.exp(-xp.abs(v)))


__all__ = ["PAPER", "max_margin_loss", "softmax_cross_entropy", "z_loss", "z_score"]
