r"""Error transformations of the comp-sum H-consistency bounds, their inverses and the gaps.

[MMZ23] (Mao, Mohri & Zhong, ICML 2023), main comp-sum theorem (indicative: Thm 3.1);
[MMZ23b] restates it through explicit error transformations. For a symmetric
complete hypothesis set and every :math:`\tau\ge0`,
:math:`\mathcal T_\tau(\Delta\mathcal C_{0-1})\le\Delta\mathcal C_{\ell_\tau}` pointwise, with
:math:`M_a(t)=\tfrac12[(1+t)^a+(1-t)^a]`, :math:`a=1/(2-\tau)` and

.. math::

    \mathcal T_\tau(t)=\begin{cases}
    \frac{2^{1-\tau}}{1-\tau}\big[1-M_a(t)^{2-\tau}\big],&\tau\in[0,1)\\
    \frac{1+t}2\log(1+t)+\frac{1-t}2\log(1-t),&\tau=1\\
    \frac{1}{(\tau-1)n^{\tau-1}}\big[M_a(t)^{2-\tau}-1\big],&\tau\in(1,2)\\
    \frac{t}{(\tau-1)n^{\tau-1}},&\tau\ge2
    \end{cases}\qquad t\in[0,1].

:math:`\Gamma_\tau=\mathcal T_\tau^{-1}`, extended by 1 beyond :math:`\mathcal T_\tau(1)` (P8).
The :math:`\tau>2` line is [derived] (a valid, loose bound).

Numerics: near :math:`t=1` the transformation has unbounded slope for
:math:`\tau\le1`, so it takes :math:`u=1-t` computed from the small components
(P13, :func:`~theory.hconsistency.losses.zero_one_regret_complement`) where one is
available. For :math:`\tau\in[0,3/2)\setminus\{1\}` the power mean is formed as
:math:`M_a-1=\tfrac12[(1+t)\,\mathrm{expm1}((a-1)\log(1+t))+u\,\mathrm{expm1}((a-1)\log u)]`,
whose terms are of size :math:`|a-1|t`, so the division by :math:`1-\tau` costs no
accuracy as :math:`\tau\to1` (relative error about :math:`\mathrm u/t`, P4; the
rounding of :math:`u=1-t` itself is added back as :math:`((u-1)+t)/2`); for
:math:`\tau\in[3/2,2)` it is :math:`M_a^{2-\tau}=(1+t)[\tfrac12(1+r^a)]^{1/a}`,
:math:`r=u/(1+t)` (no overflow of :math:`2^a` as :math:`\tau\to2`, P4).
"""

from __future__ import annotations

import math
from typing import Any

from theory.hconsistency.losses import (
    _infimum,
    _pair,
    _regret_complement,
    _risk,
    _safe_log,
    _xlogx,
    _zero_one_regret,
    validate_num_classes,
    validate_tau,
)
from theorycheck import validate

BISECTION_STEPS = 64
"""Halvings of [0, 1] in :func:`inverse_error_transformation`: 2^-64 < float64 spacing."""


def _unit_interval(t: Any, name: str, func: str) -> tuple[Any, Any]:
    t, xp = validate.real_floating(t, name, func=func)
    validate.finite(t, name, func=func, xp=xp)
    if bool(xp.any(t < 0)) or bool(xp.any(t > 1)):
        raise ValueError(
            f"{func}: {name} must lie in [0, 1], has entries in "
            f"[{float(xp.min(t))}, {float(xp.max(t))}]"
        )
    return t, xp


def error_transformation(t: Any, tau: float, num_classes: int, complement: Any = None) -> Any:
    r"""The error transformation :math:`\mathcal T_\tau(t)` of the comp-sum loss :math:`\ell_\tau`.

    Parameters
    ----------
    t : array
        Conditional 0-1 regrets in [0, 1].
    tau : float
        :math:`\tau\ge0`.
    num_classes : int
        n >= 2 (enters only for :math:`\tau>1`, P11).
    complement : array, optional
        :math:`1-t` computed without cancellation (same shape as t); computed as
        ``1 - t`` when omitted.

    Returns
    -------
    array, shape of t
        :math:`\mathcal T_\tau(t)`, convex and increasing, :math:`\mathcal T_\tau(0)=0`.
    """
    func = "error_transformation"
    tau = validate_tau(tau, func=func)
    n = validate_num_classes(num_classes, func=func)
    t, xp = _unit_interval(t, "t", func)
    if complement is None:
        u = 1.0 - t
    else:
        u, _ = _unit_interval(complement, "complement", func)
        validate.same_shape(t, u, ("t", "complement"), func=func)
    return _transformation(t, u, tau, n, xp)


def _transformation(t: Any, u: Any, tau: float, n: int, xp: Any) -> Any:
    """:math:`\\mathcal T_\\tau` from t and u = 1 - t (no validation).

    For t < 1/2 the complement is formed as ``1 - t`` and its logarithm as
    ``log1p(-t)`` (accurate near t = 0); for t >= 1/2 the given u (accurate near
    t = 1, P13) and ``log(u)`` are used.
    """
    small = t < 0.5
    u = xp.where(small, 1.0 - t, u)
    log_u = xp.where(small, xp.log1p(-xp.where(small, t, 0.0)), _safe_log(u, xp))
    if tau == 1.0:
        x_log_x = xp.where(small, u * xp.where(small, log_u, 0.0), _xlogx(u, xp))
        return 0.5 * ((1.0 + t) * xp.log1p(t) + x_log_x)
    if tau >= 2.0:
        return t / ((tau - 1.0) * n ** (tau - 1.0))
    a = 1.0 / (2.0 - tau)
    a_minus_one = (tau - 1.0) / (2.0 - tau)  # exact numerator: no cancellation as tau -> 1
    finite_log_u = xp.where(u > 0, log_u, 0.0)
    if tau < 1.5:
        # M - 1 = [(1+t)^a - (1+t) + u^a - u + (t + u - 1)] / 2; the last term is the
        # rounding of a given u against t (zero where u = 1 - t is formed here)
        plus = (1.0 + t) * xp.expm1(a_minus_one * xp.log1p(t))
        minus = xp.where(u > 0, u * xp.expm1(a_minus_one * finite_log_u), 0.0)
        rounding = xp.where(small, 0.0, (u - 1.0) + t)
        excess = xp.expm1((2.0 - tau) * xp.log1p(0.5 * (plus + minus + rounding)))
    else:
        # M^(2-tau) = (1+t) [ (1 + r^a) / 2 ]^(1/a), r = u / (1+t): no 2^a overflow
        ratio_power_minus_one = xp.where(u > 0, xp.expm1(a * (finite_log_u - xp.log1p(t))), -1.0)
        log_half_mean = xp.log1p(0.5 * ratio_power_minus_one)
        excess = xp.expm1(xp.log1p(t) + (2.0 - tau) * log_half_mean)
    if tau < 1.0:
        return -(2.0 ** (1.0 - tau) / (1.0 - tau)) * excess
    return excess / ((tau - 1.0) * n ** (tau - 1.0))


def error_transformation_at_one(tau: float, num_classes: int) -> float:
    r""":math:`\mathcal T_\tau(1)`, the largest surrogate regret the bound can use (P8).

    1 (sum-exp), :math:`\log2` (logistic), :math:`(2^q-1)/(qn^q)` (GCE), 1/n (MAE).
    """
    func = "error_transformation_at_one"
    tau = validate_tau(tau, func=func)
    n = validate_num_classes(num_classes, func=func)
    if tau == 1.0:
        return math.log(2.0)
    if tau >= 2.0:
        return 1.0 / ((tau - 1.0) * n ** (tau - 1.0))
    if tau < 1.0:
        return math.expm1((1.0 - tau) * math.log(2.0)) / (1.0 - tau)
    return math.expm1((tau - 1.0) * math.log(2.0)) / ((tau - 1.0) * n ** (tau - 1.0))


def inverse_error_transformation(v: Any, tau: float, num_classes: int) -> Any:
    r""":math:`\Gamma_\tau(v)=\mathcal T_\tau^{-1}(v)`, and 1 for :math:`v\ge\mathcal T_\tau(1)`.

    Closed forms for the sum-exponential loss (:math:`\sqrt{2v-v^2}`) and for
    :math:`\tau\ge2` (:math:`\min(1,(\tau-1)n^{\tau-1}v)`, MAE: :math:`\min(1,nv)`);
    otherwise vectorised bisection of the increasing :math:`\mathcal T_\tau` on [0, 1]
    (:data:`BISECTION_STEPS` halvings, so the result is within one ulp of the root).

    Parameters
    ----------
    v : array
        Surrogate regrets, >= 0.
    tau : float
    num_classes : int
    """
    func = "inverse_error_transformation"
    tau = validate_tau(tau, func=func)
    n = validate_num_classes(num_classes, func=func)
    v, xp = validate.real_floating(v, "v", func=func)
    validate.finite(v, "v", func=func, xp=xp)
    if bool(xp.any(v < 0)):
        raise ValueError(f"{func}: v must be >= 0, has entry {float(xp.min(v))}")
    if tau == 0.0:
        capped = xp.minimum(v, 1.0)
        return xp.sqrt(capped * (2.0 - capped))
    if tau >= 2.0:
        return xp.minimum(v * ((tau - 1.0) * n ** (tau - 1.0)), 1.0)
    lower = xp.zeros_like(v)
    upper = xp.ones_like(v)
    for _ in range(BISECTION_STEPS):
        middle = 0.5 * (lower + upper)
        below = _transformation(middle, 1.0 - middle, tau, n, xp) <= v
        lower = xp.where(below, middle, lower)
        upper = xp.where(below, upper, middle)
    return xp.where(v >= error_transformation_at_one(tau, n), 1.0, 0.5 * (lower + upper))


def quadratic_minorant_coefficient(tau: float, num_classes: int) -> float:
    r"""The c of the global minorant :math:`\mathcal T_\tau(t)\ge ct^2` (``gamma.simplified``).

    :math:`1/(2^\tau(2-\tau))` for :math:`\tau\in[0,1]`, :math:`1/(2n^{\tau-1})` for
    :math:`\tau\in(1,2]`; for :math:`\tau>2` ([derived]) :math:`1/((\tau-1)n^{\tau-1})`,
    since :math:`t\ge t^2` on [0, 1]. Hence :math:`\Gamma_\tau(v)\le\sqrt{v/c}`.
    """
    func = "quadratic_minorant_coefficient"
    tau = validate_tau(tau, func=func)
    n = validate_num_classes(num_classes, func=func)
    if tau <= 1.0:
        return 1.0 / (2.0**tau * (2.0 - tau))
    if tau <= 2.0:
        return 1.0 / (2.0 * n ** (tau - 1.0))
    return 1.0 / ((tau - 1.0) * n ** (tau - 1.0))


def square_root_bound(v: Any, tau: float, num_classes: int) -> Any:
    r"""The explicit bound :math:`\Gamma_\tau(v)\le\sqrt{v/c}` of ``hcons.gamma.simplified``.

    :math:`\sqrt{2^\tau(2-\tau)v}` for :math:`\tau\le1` (:math:`\sqrt{2v}` for sum-exp
    and logistic), :math:`\sqrt{2n^{\tau-1}v}` for :math:`\tau\in(1,2]` (GCE:
    :math:`\sqrt{2n^qv}`).
    """
    func = "square_root_bound"
    coefficient = quadratic_minorant_coefficient(tau, num_classes)
    v, xp = validate.real_floating(v, "v", func=func)
    validate.finite(v, "v", func=func, xp=xp)
    if bool(xp.any(v < 0)):
        raise ValueError(f"{func}: v must be >= 0, has entry {float(xp.min(v))}")
    return xp.sqrt(v / coefficient)


def pointwise_slack(p: Any, h: Any, tau: float) -> Any:
    r"""The margin of ``hcons.main.pointwise``.

    :math:`\Delta\mathcal C_\tau(p,h)-\mathcal T_\tau(\Delta\mathcal C_{0-1})`.

    :math:`\mathcal T_\tau` is evaluated from :math:`1-t` computed from the small
    components (P13). The claim is that this is >= 0 (up to rounding) for every p on
    the simplex and every finite score vector h.

    Parameters
    ----------
    p, h : array, shape (..., n)
    tau : float

    Returns
    -------
    array, shape (...)
    """
    func = "pointwise_slack"
    tau = validate_tau(tau, func=func)
    xp = _pair(p, h, func)
    regret = _risk(p, h, tau, xp) - _infimum(p, tau, xp)
    t = xp.clip(_zero_one_regret(p, h, xp), min=0.0, max=1.0)
    u = xp.clip(_regret_complement(p, h, xp), min=0.0, max=1.0)
    return regret - _transformation(t, u, tau, p.shape[-1], xp)


# ------------------------------------------------------------------- bounded hypothesis sets


def bounded_conditional_infimum(num_classes: int, score_bound: float, tau: float) -> float:
    r"""Best conditional risk for scores in :math:`[-\Lambda,\Lambda]` and a deterministic label.

    ``hcons.gap.bounded_deterministic`` ([MMZ23] §4; closed form [unconfirmed
    numbering]): :math:`\Phi^\tau((n-1)e^{-2\Lambda})`, attained with true score
    :math:`\Lambda` and all others :math:`-\Lambda` (score *differences* range over
    :math:`[-2\Lambda,2\Lambda]`).

    Parameters
    ----------
    num_classes : int
        n >= 2.
    score_bound : float
        :math:`\Lambda>0`.
    tau : float
    """
    func = "bounded_conditional_infimum"
    n = validate_num_classes(num_classes, func=func)
    tau = validate_tau(tau, func=func)
    bound = _positive(score_bound, "score_bound", func)
    log1p_u = math.log1p((n - 1) * math.exp(-2.0 * bound))
    if tau == 1.0:
        return log1p_u
    return math.expm1((1.0 - tau) * log1p_u) / (1.0 - tau)


def bounded_softmax_extremes(num_classes: int, score_bound: float) -> tuple[float, float]:
    r"""Largest and smallest softmax probability for scores in :math:`[-\Lambda,\Lambda]^n`.

    :math:`1/(1+(n-1)e^{-2\Lambda})` and :math:`1/(1+(n-1)e^{2\Lambda})`; the attainable
    softmax set is :math:`\{s\in\Delta_n:\ s_y\le e^{2\Lambda}s_{y'}\}`.
    """
    func = "bounded_softmax_extremes"
    n = validate_num_classes(num_classes, func=func)
    bound = _positive(score_bound, "score_bound", func)
    return 1.0 / (1.0 + (n - 1) * math.exp(-2.0 * bound)), 1.0 / (
        1.0 + (n - 1) * math.exp(2.0 * bound)
    )


def minimizability_gap(best_in_class_risk: float, expected_best_conditional_risk: float) -> float:
    r"""The minimizability gap.

    :math:`\mathcal M_\ell(\mathcal H)=\mathcal R^*_\ell(\mathcal H)
    -\mathbb E_x[\mathcal C^*_\ell(\mathcal H,x)]`.

    Both arguments must be finite; the result is >= 0 for exact inputs (an infimum of
    expectations dominates the expectation of infima).
    """
    func = "minimizability_gap"
    for name, value in (
        ("best_in_class_risk", best_in_class_risk),
        ("expected_best_conditional_risk", expected_best_conditional_risk),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"{func}: {name} must be a finite number, got {value!r}")
    return float(best_in_class_risk) - float(expected_best_conditional_risk)


def _positive(value: Any, name: str, func: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{func}: {name} must be a positive number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{func}: {name} must be a finite number > 0, got {value!r}")
    return float(value)


__all__ = [
    "BISECTION_STEPS",
    "bounded_conditional_infimum",
    "bounded_softmax_extremes",
    "error_transformation",
    "error_transformation_at_one",
    "inverse_error_transformation",
    "minimizability_gap",
    "pointwise_slack",
    "quadratic_minorant_coefficient",
    "square_root_bound",
]
