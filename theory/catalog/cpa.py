r"""Cosine power annealing (Hundt, Jain & Hager, *sharpDARTS: Faster and More Accurate
Differentiable Architecture Search*, arXiv 2019), as in the official code.

The official repository's ``cosine_power_annealing.py`` (function
``cosine_power_annealing``) computes, for epochs t of a grid and T = ``max_epoch`` (the
largest epoch by default),

.. math::

    c_t=\tfrac12\big(1+\cos(\pi t/T)\big),\qquad
    \rho_t=\begin{cases}c_t & p=1\\ p^{\,c_t+1} & p>1\end{cases},\qquad
    \eta_t=\eta_{\min}+(\eta_{\max}-\eta_{\min})
    \frac{\rho_t-\min_s\rho_s}{\max_s\rho_s-\min_s\rho_s},

with p = ``exponent_order`` (>= 1). When the grid spans :math:`c\in[0,1]` (it contains
t = 0 and t = T) this is the closed form
:math:`\eta_{\min}+(\eta_{\max}-\eta_{\min})(p^{c_t}-1)/(p-1)`, whose limit as
:math:`p\to1` is cosine annealing :math:`\eta_{\min}+(\eta_{\max}-\eta_{\min})c_t`. The
code's default grid is t = 1..T, on which c never equals 1, so the code's normalisation
differs from the closed form by an :math:`O(1/T^2)` offset.

The reimplementation below keeps the code's arithmetic (without the warm-up and resume
options) and runs on any array-API namespace. Claim ``cpa.cosine-limit`` is in
:mod:`proofs_check.catalog.cpa`.
"""

from __future__ import annotations

import math
from typing import Any

from theorycheck import validate

PAPER = "cpa"
"""Key of the paper in the seed catalog."""


def _number(value: Any, name: str, func: str) -> float:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(float(value))
    ):
        raise ValueError(f"{func}: {name} must be a finite number, got {value!r}")
    return float(value)


def _exponent_order(value: Any, func: str) -> float:
    p = _number(value, "exponent_order", func)
    if p < 1:
        raise ValueError(f"{func}: exponent_order must be >= 1, got {value!r}")
    return p


def _rates(max_lr: Any, min_lr: Any, func: str) -> tuple[float, float]:
    high, low = _number(max_lr, "max_lr", func), _number(min_lr, "min_lr", func)
    if low > high:
        raise ValueError(f"{func}: min_lr must not exceed max_lr, got {min_lr!r} > {max_lr!r}")
    return high, low


def cosine_proportion(epochs: Any, max_epoch: float) -> Any:
    r"""The cosine curve :math:`c_t=\tfrac12(1+\cos(\pi t/T))`, from 1 at t = 0 to 0 at t = T.

    Parameters
    ----------
    epochs : array, shape (n,)
        Epoch numbers t (real floating).
    max_epoch : float
        T > 0.

    Returns
    -------
    array, shape (n,)
    """
    func = "cosine_proportion"
    epochs, xp = validate.real_floating(epochs, "epochs", func=func)
    validate.finite(epochs, "epochs", func=func, xp=xp)
    horizon = _number(max_epoch, "max_epoch", func)
    if horizon <= 0:
        raise ValueError(f"{func}: max_epoch must be > 0, got {max_epoch!r}")
    return (1.0 + xp.cos(math.pi * epochs / horizon)) / 2.0


def cosine_power_annealing(
    epochs: Any,
    max_lr: float = 0.1,
    min_lr: float = 1e-4,
    exponent_order: float = 10.0,
    max_epoch: float | None = None,
) -> Any:
    r"""The official ``cosine_power_annealing`` (no warm-up, no resume), on any backend.

    :math:`\rho_t=p^{c_t+1}` (or :math:`c_t` when p = 1, the code's special case), rescaled
    by its minimum and maximum *over the given grid* to [0, 1], then mapped to
    :math:`[\eta_{\min},\eta_{\max}]`.

    Parameters
    ----------
    epochs : array, shape (n,)
        The epoch grid (the code's default is t = 1..T); at least two of its cosine
        values must differ.
    max_lr, min_lr : float
        :math:`\eta_{\max}\ge\eta_{\min}`.
    exponent_order : float
        p >= 1 (the code raises for p < 1).
    max_epoch : float, optional
        T; the largest epoch of the grid by default (as in the code).

    Returns
    -------
    array, shape (n,)
        The learning rates :math:`\eta_t`.
    """
    func = "cosine_power_annealing"
    epochs, xp = validate.real_floating(epochs, "epochs", func=func)
    if epochs.ndim != 1 or epochs.shape[0] < 2:
        raise ValueError(f"{func}: epochs must be a 1-d grid of >= 2 epochs, got {epochs.shape}")
    validate.finite(epochs, "epochs", func=func, xp=xp)
    high, low = _rates(max_lr, min_lr, func)
    p = _exponent_order(exponent_order, func)
    horizon = float(xp.max(epochs)) if max_epoch is None else max_epoch
    c = cosine_proportion(epochs, horizon)
    rho = c if p == 1.0 else p ** (c + 1.0)
    rho = rho - xp.min(rho)
    top = float(xp.max(rho))
    if top == 0.0:
        raise ValueError(f"{func}: the grid's cosine values are all equal; nothing to rescale")
    return rho / top * (high - low) + low


def cosine_power_closed_form(
    proportion: Any, max_lr: float = 0.1, min_lr: float = 1e-4, exponent_order: float = 10.0
) -> Any:
    r"""The closed form :math:`\eta_{\min}+(\eta_{\max}-\eta_{\min})(p^{c}-1)/(p-1)`
    (cosine annealing :math:`\eta_{\min}+(\eta_{\max}-\eta_{\min})c` at p = 1, its limit).

    Parameters
    ----------
    proportion : array, shape (n,)
        Cosine values :math:`c\in[0,1]`.
    max_lr, min_lr, exponent_order : float
        As in :func:`cosine_power_annealing`.

    Returns
    -------
    array, shape (n,)
    """
    func = "cosine_power_closed_form"
    proportion, xp = validate.real_floating(proportion, "proportion", func=func)
    validate.finite(proportion, "proportion", func=func, xp=xp)
    if proportion.ndim and proportion.shape[0]:
        low_c, high_c = float(xp.min(proportion)), float(xp.max(proportion))
        if low_c < 0 or high_c > 1:
            bad = low_c if low_c < 0 else high_c
            raise ValueError(f"{func}: proportion must lie in [0, 1], got {bad}")
    high, low = _rates(max_lr, min_lr, func)
    p = _exponent_order(exponent_order, func)
    if p == 1.0:
        return low + (high - low) * proportion
    return low + (high - low) * xp.expm1(proportion * math.log(p)) / (p - 1.0)


__all__ = [
    "PAPER",
    "cosine_power_annealing",
    "cosine_power_closed_form",
    "cosine_proportion",
]
