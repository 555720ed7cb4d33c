r"""Learning to reject with a fixed predictor (Mohri et al., ICLR 2024): losses and minimisers.

*Learning to Reject with a Fixed Predictor: Application to Decontextualization*; claims
``reject.bayes-rule`` and ``reject.pointwise-calibration`` (``shared/claims/catalog.md``
§64), checked in :mod:`proofs_check.catalog.reject`.

A fixed predictor h and a rejector r: the input x is accepted when :math:`r(x)>0` and
rejected (at cost :math:`c\in[0,1]`) when :math:`r(x)\le0`. With
:math:`\eta(x)=P(h(x)\ne y\mid x)`, the target (rejection) loss and its conditional risk are

.. math::

    \ell(r,x,y)=\mathbb 1[h(x)\ne y]\,\mathbb 1[r(x)>0]+c\,\mathbb 1[r(x)\le0],\qquad
    \mathbb E[\ell\mid x]=\eta(x)\mathbb 1[r(x)>0]+c\,\mathbb 1[r(x)\le0].

The surrogate is *reconstructed, not confirmed*: the spec gives an exponential-type term
on mistakes and a weighted reject term, whose conditional risk is

.. math:: L(r;\eta)=\eta e^{\alpha r}+w e^{-\beta r},\qquad \alpha,\beta,w>0,

with w the reject weight (:math:`w=\Psi(c)` in the paper's notation; :math:`w=c` in the
spec's form). Its minimiser is :math:`r^*=\log(\beta w/(\alpha\eta))/(\alpha+\beta)`, so
that :math:`r^*>0\iff\eta<\beta w/\alpha`; the derived calibration relation is
:math:`\beta w=\alpha c` (:func:`calibrated_weight`). The paper's own relation between
:math:`\alpha`, :math:`\beta` and c is not confirmed.
"""

from __future__ import annotations

import math
from typing import Any

from theorycheck import validate

PAPER = "reject"
"""Key of the paper in the seed catalog."""


def _cost(c: float, func: str) -> float:
    if not isinstance(c, int | float) or isinstance(c, bool) or not 0.0 <= c <= 1.0:
        raise ValueError(f"{func}: the rejection cost c must be a number in [0, 1], got {c!r}")
    return float(c)


def _unit_interval(x: Any, name: str, func: str, *, open_left: bool = False) -> Any:
    x, xp = validate.real_floating(x, name, func=func)
    validate.finite(x, name, func=func, xp=xp)
    if x.ndim and 0 in x.shape:
        return xp
    low, high = float(xp.min(x)), float(xp.max(x))
    if low < 0 or (open_left and low == 0) or high > 1:
        interval = "(0, 1]" if open_left else "[0, 1]"
        bad = high if high > 1 else low
        raise ValueError(f"{func}: {name} must lie in {interval}, got {bad}")
    return xp


def _scores(r: Any, func: str) -> Any:
    r, xp = validate.real_floating(r, "r", func=func)
    validate.finite(r, "r", func=func, xp=xp)
    return xp


def rejection_loss(r: Any, mistake: Any, c: float) -> Any:
    r"""Target loss :math:`\ell=\mathbb 1[h(x)\ne y]\mathbb 1[r>0]+c\,\mathbb 1[r\le0]`.

    Parameters
    ----------
    r : array, shape (...)
        Rejector scores :math:`r(x)` (accept when > 0).
    mistake : array, shape (...)
        :math:`\mathbb 1[h(x)\ne y]` as floats, 0.0 or 1.0 only.
    c : float
        Rejection cost, in [0, 1].

    Returns
    -------
    array, shape (...)
    """
    func = "rejection_loss"
    xp = _scores(r, func)
    mistake, _ = validate.real_floating(mistake, "mistake", func=func)
    validate.same_shape(r, mistake, ("r", "mistake"), func=func)
    if not bool(xp.all((mistake == 0.0) | (mistake == 1.0))):
        raise ValueError(f"{func}: mistake must hold 0.0 or 1.0 only (indicator of h(x) != y)")
    c = _cost(c, func)
    return xp.where(r > 0, mistake, xp.full_like(r, c))


def conditional_rejection_risk(r: Any, eta: Any, c: float) -> Any:
    r"""Conditional target risk :math:`\eta\,\mathbb 1[r>0]+c\,\mathbb 1[r\le0]`.

    Parameters
    ----------
    r : array, shape (...)
        Rejector scores.
    eta : array, shape (...)
        :math:`\eta(x)=P(h(x)\ne y\mid x)`, in [0, 1].
    c : float
        Rejection cost, in [0, 1].
    """
    func = "conditional_rejection_risk"
    xp = _scores(r, func)
    _unit_interval(eta, "eta", func)
    validate.same_shape(r, eta, ("r", "eta"), func=func)
    c = _cost(c, func)
    return xp.where(r > 0, eta, xp.full_like(eta, c))


def bayes_rejector(eta: Any, c: float) -> Any:
    r"""The Bayes rejector of the target loss: accept iff :math:`\eta(x)<c`.

    Parameters
    ----------
    eta : array, shape (...)
        :math:`\eta(x)=P(h(x)\ne y\mid x)`, in [0, 1].
    c : float
        Rejection cost, in [0, 1].

    Returns
    -------
    array of bool, shape (...)
        True where x is accepted. At a tie :math:`\eta=c` it rejects (both are optimal).
    """
    func = "bayes_rejector"
    _unit_interval(eta, "eta", func)
    return eta < _cost(c, func)


def surrogate_conditional_risk(
    r: Any, eta: Any, *, alpha: float, beta: float, weight: float
) -> Any:
    r"""Conditional surrogate risk :math:`L(r;\eta)=\eta e^{\alpha r}+w e^{-\beta r}`.

    Reconstructed form (spec §64), not confirmed against the paper.

    Parameters
    ----------
    r : array, shape (...)
        Rejector scores.
    eta : array, shape (...)
        Mistake probability, in [0, 1].
    alpha, beta : float
        Positive slopes of the mistake and reject terms.
    weight : float
        Positive weight w of the reject term (:math:`\Psi(c)`).
    """
    func = "surrogate_conditional_risk"
    xp = _scores(r, func)
    _unit_interval(eta, "eta", func)
    validate.same_shape(r, eta, ("r", "eta"), func=func)
    alpha, beta = (
        validate.positive_number(alpha, "alpha", func=func),
        validate.positive_number(beta, "beta", func=func),
    )
    weight = validate.positive_number(weight, "weight", func=func)
    return eta * xp.exp(alpha * r) + weight * xp.exp(-beta * r)


def surrogate_minimiser(eta: Any, *, alpha: float, beta: float, weight: float) -> Any:
    r"""Minimiser :math:`r^*=\frac1{\alpha+\beta}\log\frac{\beta w}{\alpha\eta}` of
    :math:`L(\cdot;\eta)` (strictly convex), for :math:`\eta\in(0,1]`.

    Parameters
    ----------
    eta : array, shape (...)
        Mistake probability, in (0, 1] (at :math:`\eta=0` the infimum is not attained).
    alpha, beta, weight : float
        Positive parameters of :func:`surrogate_conditional_risk`.
    """
    func = "surrogate_minimiser"
    xp = _unit_interval(eta, "eta", func, open_left=True)
    alpha, beta = (
        validate.positive_number(alpha, "alpha", func=func),
        validate.positive_number(beta, "beta", func=func),
    )
    weight = validate.positive_number(weight, "weight", func=func)
    return (math.log(beta * weight / alpha) - xp.log(eta)) / (alpha + beta)


def surrogate_minimum(eta: Any, *, alpha: float, beta: float, weight: float) -> Any:
    r"""Minimum value :math:`\min_rL(r;\eta)=\frac{\alpha+\beta}{\beta}\,\eta
    \left(\frac{\beta w}{\alpha\eta}\right)^{\alpha/(\alpha+\beta)}`, for :math:`\eta\in[0,1]`.

    At :math:`\eta=0` the infimum is 0. With :math:`\alpha=\beta`, :math:`w=c` it is
    :math:`2\sqrt{\eta c}`.
    """
    func = "surrogate_minimum"
    _unit_interval(eta, "eta", func)
    alpha, beta = (
        validate.positive_number(alpha, "alpha", func=func),
        validate.positive_number(beta, "beta", func=func),
    )
    weight = validate.positive_number(weight, "weight", func=func)
    share = alpha / (alpha + beta)
    # eta^(1-a) (beta w / alpha)^a (alpha + beta) / beta, written with eta^(1-a) so eta = 0 is 0
    return (alpha + beta) / beta * (beta * weight / alpha) ** share * eta ** (1.0 - share)


def calibrated_weight(alpha: float, beta: float, c: float) -> float:
    r"""The reject weight that calibrates the surrogate: :math:`w=\alpha c/\beta` (derived).

    Then :math:`r^*>0\iff\eta<\beta w/\alpha=c`, the Bayes rule. Requires c > 0.
    """
    func = "calibrated_weight"
    alpha, beta = (
        validate.positive_number(alpha, "alpha", func=func),
        validate.positive_number(beta, "beta", func=func),
    )
    c = _cost(c, func)
    if c == 0:
        raise ValueError(f"{func}: the rejection cost c must be > 0 for a positive weight, got 0")
    return alpha * c / beta
