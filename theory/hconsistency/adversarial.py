r"""Smooth adversarial comp-sum losses ([MMZ23] §5; spec ``hcons.adv.*``).

For scores h, a label y and the margin vector
:math:`\Delta_h(x,y)=(h(x,y)-h(x,y'))_{y'\in\mathcal Y}` (zero at y):

- the :math:`\rho`-margin function :math:`\Phi_\rho(v)=\min\{1,\max\{0,1-v/\rho\}\}`;
- the adversarial comp-sum :math:`\rho`-margin loss at a perturbed input x'
  :math:`\Phi^\tau\big(\sum_{y'\ne y}\Phi_\rho(h(x',y)-h(x',y'))\big)` (the supremum over
  the :math:`\gamma`-ball is the caller's);
- the smooth adversarial comp-sum loss
  :math:`\Phi^\tau\big(\sum_{y'\ne y}e^{(h(x,y')-h(x,y))/\rho}\big)
  +\nu\|\Delta_h(x',y)-\Delta_h(x,y)\|_2`.

The formulas, the constants :math:`(\nu,\rho)` and the range of :math:`\tau` are
[unconfirmed numbering] in the spec. Margin vectors passed to the two bound functions
exclude the true label (shape (..., n - 1)). Exponential sums are formed in the log
domain (no overflow for any margins).
"""

from __future__ import annotations

import math
from typing import Any

from theory.hconsistency.losses import (
    _expm1_saturating,
    _scores,
    validate_tau,
)
from theorycheck import validate


def _positive_number(value: Any, name: str, func: str, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{func}: {name} must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{func}: {name} must be {bound}, got {value!r}")
    return float(value)


def _margins(v: Any, name: str, func: str) -> tuple[Any, Any]:
    v, xp = validate.real_floating(v, name, func=func)
    validate.axis(v, -1, name, func=func)
    validate.finite(v, name, func=func, xp=xp)
    return v, xp


def rho_margin(v: Any, rho: float) -> Any:
    r""":math:`\Phi_\rho(v)=\min\{1,\max\{0,1-v/\rho\}\}` elementwise."""
    func = "rho_margin"
    rho = _positive_number(rho, "rho", func)
    v, xp = validate.real_floating(v, "v", func=func)
    validate.finite(v, "v", func=func, xp=xp)
    return xp.clip(1.0 - v / rho, min=0.0, max=1.0)


def margin_vector(h: Any, y: Any) -> Any:
    r""":math:`\Delta_h(x,y)=(h_y-h_{y'})_{y'}`, shape of h (zero at y).

    Parameters
    ----------
    h : array, shape (..., n)
    y : integer array, shape (...)
    """
    func = "margin_vector"
    h, xp = _scores(h, func)
    y = xp.asarray(y)
    if not xp.isdtype(y.dtype, "integral") or tuple(y.shape) != tuple(h.shape[:-1]):
        raise ValueError(
            f"{func}: y must be integer labels of shape {tuple(h.shape[:-1])}, "
            f"got dtype {y.dtype} and shape {tuple(y.shape)}"
        )
    n = h.shape[-1]
    if y.size and (int(xp.min(y)) < 0 or int(xp.max(y)) >= n):
        raise ValueError(f"{func}: labels y must lie in [0, {n})")
    true = xp.take_along_axis(h, xp.expand_dims(y, axis=-1), axis=-1)
    return true - h


def _outer_of_log(log_u: Any, tau: float, xp: Any) -> Any:
    r""":math:`\Phi^\tau(e^L)` from L: :math:`\log(1+e^L)` is a softplus, never overflowing."""
    log1p_u = xp.maximum(log_u, 0.0) + xp.log1p(xp.exp(-xp.abs(log_u)))
    if tau == 1.0:
        return log1p_u
    return _expm1_saturating((1.0 - tau) * log1p_u, xp) / (1.0 - tau)


def _log_sum_exp(z: Any, xp: Any) -> Any:
    top = xp.max(z, axis=-1, keepdims=True)
    return (top + xp.log(xp.sum(xp.exp(z - top), axis=-1, keepdims=True)))[..., 0]


def rho_margin_comp_sum(margins: Any, rho: float, tau: float) -> Any:
    r"""The adversarial comp-sum :math:`\rho`-margin loss at given margins.

    :math:`\Phi^\tau(\sum_{y'}\Phi_\rho(v_{y'}))`.

    Parameters
    ----------
    margins : array, shape (..., n - 1)
        :math:`h(x',y)-h(x',y')` for the labels :math:`y'\ne y`.
    rho : float
        :math:`\rho>0`.
    tau : float
    """
    func = "rho_margin_comp_sum"
    tau = validate_tau(tau, func=func)
    rho = _positive_number(rho, "rho", func)
    v, xp = _margins(margins, "margins", func)
    total = xp.sum(xp.clip(1.0 - v / rho, min=0.0, max=1.0), axis=-1)
    log1p_u = xp.log1p(total)
    if tau == 1.0:
        return log1p_u
    return _expm1_saturating((1.0 - tau) * log1p_u, xp) / (1.0 - tau)


def smooth_comp_sum_bound(
    margins: Any, margins_perturbed: Any, rho: float, nu: float, tau: float
) -> Any:
    r""":math:`\Phi^\tau(\sum_{y'}e^{-v_{y'}/\rho})+\nu\|v'-v\|_2`: the smooth loss in margin form.

    Parameters
    ----------
    margins, margins_perturbed : array, shape (..., n - 1)
        Clean margins v and perturbed margins v' (true label excluded).
    rho : float
        Temperature :math:`\rho>0`.
    nu : float
        Weight :math:`\nu\ge0` of the smooth penalty.
    tau : float
    """
    func = "smooth_comp_sum_bound"
    tau = validate_tau(tau, func=func)
    rho = _positive_number(rho, "rho", func)
    nu = _positive_number(nu, "nu", func, allow_zero=True)
    v, xp = _margins(margins, "margins", func)
    w, _ = _margins(margins_perturbed, "margins_perturbed", func)
    validate.same_shape(v, w, ("margins", "margins_perturbed"), func=func)
    penalty = xp.sqrt(xp.sum((w - v) ** 2, axis=-1))
    return _outer_of_log(_log_sum_exp(-v / rho, xp), tau, xp) + nu * penalty


def smooth_adversarial_comp_sum_loss(
    h: Any, h_perturbed: Any, y: Any, rho: float, nu: float, tau: float
) -> Any:
    r"""The smooth adversarial comp-sum loss at a given perturbed input.

    :math:`\Phi^\tau\big(\sum_{y'\ne y}e^{(h_{y'}-h_y)/\rho}\big)
    +\nu\|\Delta_{h'}(y)-\Delta_h(y)\|_2`,
    h the clean scores and h' those at x' (the supremum over x' is the caller's).

    Parameters
    ----------
    h, h_perturbed : array, shape (..., n)
    y : integer array, shape (...)
    rho, nu, tau : float
    """
    func = "smooth_adversarial_comp_sum_loss"
    tau = validate_tau(tau, func=func)
    rho = _positive_number(rho, "rho", func)
    nu = _positive_number(nu, "nu", func, allow_zero=True)
    clean = margin_vector(h, y)
    perturbed = margin_vector(h_perturbed, y)
    _, xp = _scores(h, func)
    others = xp.arange(h.shape[-1]) != xp.expand_dims(xp.asarray(y), axis=-1)
    exponent = xp.where(others, -clean / rho, -xp.inf)
    penalty = xp.sqrt(xp.sum((perturbed - clean) ** 2, axis=-1))
    return _outer_of_log(_log_sum_exp(exponent, xp), tau, xp) + nu * penalty


__all__ = [
    "margin_vector",
    "rho_margin",
    "rho_margin_comp_sum",
    "smooth_adversarial_comp_sum_loss",
    "smooth_comp_sum_bound",
]
