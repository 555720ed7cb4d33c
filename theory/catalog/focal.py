r"""The focal loss (Lin et al., *Focal Loss for Dense Object Detection*, ICCV 2017).

Binary logit x, label :math:`y\in\{-1,+1\}`, :math:`x_t=yx`, :math:`p_t=\sigma(x_t)`
(Eq. (1)-(2): :math:`p_t=p` if y = 1, else 1 - p), and

.. math::

    \mathrm{CE}(p_t) = -\log p_t,\qquad
    \mathrm{FL}(p_t) = -\alpha_t(1-p_t)^\gamma\log p_t \quad\text{(Eq. (4)-(5))}.

The functions below evaluate them on any array-API namespace, from :math:`p_t`
or stably from the logit (:math:`-\log\sigma(x_t)=\mathrm{softplus}(-x_t)` and
:math:`1-p_t=\sigma(-x_t)`), and the binary conditional risk used by the
properness claim. The claims are in :mod:`proofs_check.catalog.focal`.
"""

from __future__ import annotations

from typing import Any

from theorycheck import validate

PAPER = "focal"
"""Key of the paper in the seed catalog."""


def _gamma(gamma: float, func: str) -> float:
    if not isinstance(gamma, int | float) or isinstance(gamma, bool) or not gamma >= 0:
        raise ValueError(f"{func}: gamma must be a number >= 0, got {gamma!r}")
    return float(gamma)


def _weight(alpha_t: float, func: str) -> float:
    if not isinstance(alpha_t, int | float) or isinstance(alpha_t, bool) or not alpha_t > 0:
        raise ValueError(f"{func}: alpha_t must be a number > 0, got {alpha_t!r}")
    return float(alpha_t)


def _probabilities(p: Any, name: str, func: str, *, open_right: bool = False) -> Any:
    p, xp = validate.real_floating(p, name, func=func)
    validate.finite(p, name, func=func, xp=xp)
    if p.ndim and 0 in p.shape:
        return xp
    low, high = float(xp.min(p)), float(xp.max(p))
    if low <= 0 or high > 1 or (open_right and high >= 1):
        interval = "(0, 1)" if open_right else "(0, 1]"
        bad = low if low <= 0 else high
        raise ValueError(f"{func}: {name} must lie in {interval}, got {bad}")
    return xp


def focal_loss_pt(p_t: Any, gamma: float, alpha_t: float = 1.0) -> Any:
    r"""Eq. (5): :math:`\mathrm{FL}(p_t)=-\alpha_t(1-p_t)^\gamma\log p_t`.

    Parameters
    ----------
    p_t : array
        Probability of the true class, in (0, 1].
    gamma : float
        Focusing parameter, >= 0 (:math:`\gamma=0` gives the cross-entropy).
    alpha_t : float
        Class weight, > 0.
    """
    xp = _probabilities(p_t, "p_t", "focal_loss_pt")
    gamma = _gamma(gamma, "focal_loss_pt")
    alpha_t = _weight(alpha_t, "focal_loss_pt")
    return -alpha_t * (1.0 - p_t) ** gamma * xp.log(p_t)


def _logit_and_label(x: Any, y: Any, func: str) -> Any:
    x, xp = validate.real_floating(x, "x", func=func)
    validate.finite(x, "x", func=func, xp=xp)
    y, _ = validate.real_floating(y, "y", func=func)
    validate.same_shape(x, y, ("x", "y"), func=func)
    if not bool(xp.all((y == 1.0) | (y == -1.0))):
        raise ValueError(f"{func}: y must hold labels -1 or +1 only")
    return xp


def binary_cross_entropy(x: Any, y: Any) -> Any:
    r""":math:`\mathrm{CE}=-\log\sigma(yx)=\mathrm{softplus}(-yx)`, without overflow.

    Parameters
    ----------
    x : array
        Logits.
    y : array, shape of x
        Labels in {-1, +1} (floating dtype).
    """
    xp = _logit_and_label(x, y, "binary_cross_entropy")
    return _softplus(-y * x, xp)


def _softplus(v: Any, xp: Any) -> Any:
    return xp.clip(v, min=0.0) + xp.log1p(xp.exp(-xp.abs(v)))


def _log_sigmoid(v: Any, xp: Any) -> Any:
    return -_softplus(-v, xp)


def focal_loss_binary(x: Any, y: Any, gamma: float, alpha_t: float = 1.0) -> Any:
    r"""Eq. (5) from the logit: :math:`-\alpha_t\sigma(-x_t)^\gamma\log\sigma(x_t)`, :math:`x_t=yx`.

    :math:`(1-p_t)^\gamma` is evaluated as :math:`\exp(\gamma\log\sigma(-x_t))` and
    :math:`-\log p_t` as :math:`\mathrm{softplus}(-x_t)`, both without cancellation.

    Parameters
    ----------
    x : array
        Logits.
    y : array, shape of x
        Labels in {-1, +1}.
    gamma : float
        Focusing parameter, >= 0.
    alpha_t : float
        Class weight, > 0.
    """
    xp = _logit_and_label(x, y, "focal_loss_binary")
    gamma = _gamma(gamma, "focal_loss_binary")
    alpha_t = _weight(alpha_t, "focal_loss_binary")
    x_t = y * x
    modulating = xp.exp(gamma * _log_sigmoid(-x_t, xp)) if gamma else xp.ones_like(x_t)
    return alpha_t * modulating * _softplus(-x_t, xp)


def focal_conditional_risk(q: Any, eta: Any, gamma: float) -> Any:
    r"""Binary conditional risk :math:`R(q;\eta)=\eta\,\mathrm{FL}(q)+(1-\eta)\,\mathrm{FL}(1-q)`.

    .. math:: R(q;\eta) = -\eta(1-q)^\gamma\log q - (1-\eta)q^\gamma\log(1-q)

    Parameters
    ----------
    q : array
        Predicted probability of the positive class, in (0, 1).
    eta : array, broadcastable with q
        Probability of the positive class, in [0, 1].
    gamma : float
        Focusing parameter, >= 0.
    """
    xp = _probabilities(q, "q", "focal_conditional_risk", open_right=True)
    eta, _ = validate.real_floating(eta, "eta", func="focal_conditional_risk")
    validate.finite(eta, "eta", func="focal_conditional_risk", xp=xp)
    if not (bool(xp.all(eta >= 0.0)) and bool(xp.all(eta <= 1.0))):
        raise ValueError("focal_conditional_risk: eta must lie in [0, 1]")
    gamma = _gamma(gamma, "focal_conditional_risk")
    return -eta * (1.0 - q) ** gamma * xp.log(q) - (1.0 - eta) * q**gamma * xp.log1p(-q)


__all__ = [
    "PAPER",
    "binary_cross_entropy",
    "focal_conditional_risk",
    "focal_loss_binary",
    "focal_loss_pt",
]
