r"""PolyLoss (Leng et al., *PolyLoss: A Polynomial Expansion Perspective of Classification
Loss Functions*, ICLR 2022), Sec. 3.

The cross-entropy of the target probability :math:`P_t\in(0,1]` is the series
:math:`-\log P_t=\sum_{j\ge1}(1-P_t)^j/j`; the Poly-N loss perturbs its first N
coefficients,

.. math::

    L_{\text{Poly-}N} = \sum_{j=1}^N\epsilon_j(1-P_t)^j + \sum_{j\ge1}\tfrac1j(1-P_t)^j
                      = -\log P_t + \sum_{j=1}^N\epsilon_j(1-P_t)^j ,

and Poly-1 is :math:`-\log P_t+\epsilon_1(1-P_t)`. The functions evaluate the closed
form on any array-API namespace. The claims (the series, the focal shift, the
Poly-1 gradient) are derived in :mod:`proofs_check.catalog.polyloss`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from theorycheck import validate

PAPER = "polyloss"
"""Key of the paper in the seed catalog."""


def _epsilons(epsilons: Sequence[float], func: str) -> tuple[float, ...]:
    try:
        values = tuple(float(e) for e in epsilons)
    except TypeError:
        raise ValueError(
            f"{func}: epsilons must be a sequence of numbers, got {epsilons!r}"
        ) from None
    if not values:
        raise ValueError(f"{func}: epsilons must hold at least one coefficient, got {epsilons!r}")
    if any(v != v or v in (float("inf"), float("-inf")) for v in values):
        raise ValueError(f"{func}: epsilons must be finite, got {epsilons!r}")
    return values


def poly_loss(p_t: Any, epsilons: Sequence[float]) -> Any:
    r"""Poly-N loss :math:`-\log P_t+\sum_{j=1}^N\epsilon_j(1-P_t)^j` (N = len(epsilons)).

    Parameters
    ----------
    p_t : array
        Probability of the target class, in (0, 1].
    epsilons : sequence of float
        The perturbations :math:`\epsilon_1,\dots,\epsilon_N` of the leading coefficients.

    Returns
    -------
    array, shape of p_t
    """
    p_t, xp = validate.real_floating(p_t, "p_t", func="poly_loss")
    validate.finite(p_t, "p_t", func="poly_loss", xp=xp)
    values = _epsilons(epsilons, "poly_loss")
    if p_t.ndim == 0 or 0 not in p_t.shape:
        low, high = float(xp.min(p_t)), float(xp.max(p_t))
        if low <= 0 or high > 1:
            raise ValueError(f"poly_loss: p_t must lie in (0, 1], got {low if low <= 0 else high}")
    complement = 1.0 - p_t
    total = -xp.log(p_t)
    power = xp.ones_like(p_t)
    for epsilon in values:
        power = power * complement
        total = total + epsilon * power
    return total


def poly1_cross_entropy(z: Any, y: Any, epsilon: float) -> Any:
    r"""Poly-1 from logits: :math:`\mathrm{CE}(z,y)+\epsilon_1(1-\mathrm{softmax}(z)_y)`.

    Parameters
    ----------
    z : array, shape (..., K)
        Logits.
    y : array of int, shape (...)
        Target classes in [0, K).
    epsilon : float
        :math:`\epsilon_1`.
    """
    z, xp = validate.real_floating(z, "z", func="poly1_cross_entropy")
    validate.axis(z, -1, "z", func="poly1_cross_entropy")
    validate.finite(z, "z", func="poly1_cross_entropy", xp=xp)
    (epsilon,) = _epsilons((epsilon,), "poly1_cross_entropy")
    if not xp.isdtype(getattr(y, "dtype", xp.float64), "integral"):
        raise ValueError(f"poly1_cross_entropy: y must be an integer label array, got {y!r}")
    if tuple(y.shape) != tuple(z.shape[:-1]):
        raise ValueError(
            f"poly1_cross_entropy: y must have shape {tuple(z.shape[:-1])}, got {tuple(y.shape)}"
        )
    size = z.shape[-1]
    if y.ndim and 0 not in y.shape and (int(xp.min(y)) < 0 or int(xp.max(y)) >= size):
        raise ValueError(f"poly1_cross_entropy: y must lie in [0, {size}), got {y}")
    hot = xp.astype(y[..., None] == xp.arange(size), z.dtype)
    shifted = z - xp.max(z, axis=-1, keepdims=True)
    log_partition = xp.log(xp.sum(xp.exp(shifted), axis=-1))
    log_p_t = xp.sum(hot * shifted, axis=-1) - log_partition
    return -log_p_t - epsilon * xp.expm1(log_p_t)


__all__ = ["PAPER", "poly1_cross_entropy", "poly_loss"]
