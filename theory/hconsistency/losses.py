r"""Comp-sum losses, their conditional risks and the conditional 0-1 regret.

Mao, Mohri & Zhong, *Cross-Entropy Loss Functions: Theoretical Analysis and
Applications*, ICML 2023 ([MMZ23], §2-4; spec ``shared/claims/hconsistency.md``).
For scores :math:`h\in\mathbb R^n` and the softmax :math:`s_y=e^{h_y}/\sum_{y'}e^{h_{y'}}`,

.. math::

    \ell_\tau(h,y)=\Phi^\tau\Big(\sum_{y'\ne y}e^{h_{y'}-h_y}\Big)=\varphi_\tau(s_y),\qquad
    \Phi^\tau(u)=\begin{cases}\frac{(1+u)^{1-\tau}-1}{1-\tau},&\tau\ne1\\
                 \log(1+u),&\tau=1\end{cases},
    \qquad
    \varphi_\tau(s)=\begin{cases}\frac{s^{\tau-1}-1}{1-\tau},&\tau\ne1\\ -\log s,&\tau=1\end{cases}

with :math:`\tau=0` the sum-exponential loss, :math:`\tau=1` the logistic loss
(softmax cross-entropy), :math:`\tau=1+q`, :math:`q\in(0,1)`, the generalized
cross-entropy (GCE) :math:`(1-s_y^q)/q` and :math:`\tau=2` the mean absolute error
(MAE) :math:`1-s_y` (not :math:`\|e_y-s\|_1=2(1-s_y)`, pitfall P6). Logarithms are
natural (P7).

Conditional quantities at one input with label distribution :math:`p\in\Delta_n`:
the surrogate risk :math:`\mathcal C_\tau(p,h)=\sum_y p_y\ell_\tau(h,y)`, its infimum
over all scores :math:`\mathcal C^*_\tau(p)` (closed form of ``hcons.cstar.closed_form``,
:math:`a=1/(2-\tau)`)

.. math::

    \mathcal C^*_\tau(p)=\begin{cases}
        \frac{(\sum_y p_y^a)^{2-\tau}-1}{1-\tau},&\tau\in[0,1)\cup(1,2)\\
    H(p)=-\sum_y p_y\log p_y,&\tau=1\\ \frac{1-\max_y p_y}{\tau-1},&\tau\ge2\end{cases}

and the conditional 0-1 regret :math:`\Delta\mathcal C_{0-1}=\max_y p_y-p_{\mathsf h}`
with :math:`\mathsf h` the predicted label, the **highest index** among the maximal
scores (the spec's tie convention, P1).

Numerics (pitfalls P2-P4): nothing forms :math:`e^{h}`; :math:`\log s_y` comes from a
log-sum-exp, losses are evaluated from :math:`\log s_y` with ``expm1`` (so
:math:`|h|=10^4` is fine; the sum-exponential loss itself exceeds the float64 range
for score gaps beyond 709 and is then ``inf``, its true value rounded, never NaN),
zero probabilities contribute 0 even where the loss is infinite, and
:math:`\mathcal C^*_\tau` is computed from :math:`\sum_y p_y\,\mathrm{expm1}((a-1)\log p_y)`
(accurate as :math:`\tau\to1`) or as :math:`\max p\,(\sum_y(p_y/\max p)^a)^{1/a}`
(no overflow as :math:`\tau\to2`). Every function is written once against the array
API standard and takes any leading batch axes; classes are on the last axis.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

from theorycheck import validate

LOG_FLOAT64_MAX = math.log(1.7976931348623157e308)
"""Largest x with exp(x) finite in float64 (709.78...)."""

NAMED_TAUS = {"sum-exponential": 0.0, "cross-entropy": 1.0, "mae": 2.0}
"""The tau of the named comp-sum losses; GCE with parameter q has tau = 1 + q."""

SIMPLEX_ATOL = 1e-9
"""Allowed deviation of a probability vector from the simplex (float64 sums of up to
~1e6 terms; see :func:`theorycheck.validate.on_simplex`)."""


# --------------------------------------------------------------------------- validation


def validate_tau(tau: Any, *, func: str) -> float:
    """Return tau as a float after checking that it is a finite real number >= 0.

    Raises
    ------
    ValueError
        Naming the value, for a non-number, NaN, infinity or a negative tau.
    """
    if isinstance(tau, bool) or not isinstance(tau, Real):
        raise ValueError(f"{func}: tau must be a real number >= 0, got {tau!r}")
    value = float(tau)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{func}: tau must be a finite number >= 0, got {tau!r}")
    return value


def validate_num_classes(num_classes: Any, *, func: str) -> int:
    """Return n after checking that it is an integer >= 2 (a classification needs two labels)."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int):
        raise ValueError(f"{func}: num_classes must be an integer >= 2, got {num_classes!r}")
    if num_classes < 2:
        raise ValueError(f"{func}: num_classes must be an integer >= 2, got {num_classes}")
    return num_classes


def validate_gce_q(q: Any, *, func: str) -> float:
    """Return the GCE parameter q after checking that it lies in the open interval (0, 1)."""
    if isinstance(q, bool) or not isinstance(q, Real) or not 0.0 < float(q) < 1.0:
        raise ValueError(f"{func}: q must lie in the open interval (0, 1), got {q!r}")
    return float(q)


def gce_tau(q: float) -> float:
    r"""The :math:`\tau` of the generalized cross-entropy with parameter q: :math:`1+q`."""
    return 1.0 + validate_gce_q(q, func="gce_tau")


def _scores(h: Any, func: str, name: str = "h") -> tuple[Any, Any]:
    """Validate a score array (..., n): real floating, finite, n >= 2 classes."""
    h, xp = validate.real_floating(h, name, func=func)
    validate.axis(h, -1, name, func=func)
    if h.shape[-1] < 2:
        raise ValueError(
            f"{func}: {name} must have at least 2 classes on its last axis, "
            f"got shape {tuple(h.shape)}"
        )
    validate.finite(h, name, func=func, xp=xp)
    return h, xp


def _probabilities(p: Any, func: str) -> tuple[Any, Any]:
    """Validate conditional probabilities (..., n): finite, n >= 2, on the simplex."""
    p, xp = validate.real_floating(p, "p", func=func)
    validate.axis(p, -1, "p", func=func)
    if p.shape[-1] < 2:
        raise ValueError(
            f"{func}: p must have at least 2 classes on its last axis, got shape {tuple(p.shape)}"
        )
    validate.finite(p, "p", func=func, xp=xp)
    validate.on_simplex(p, "p", func=func, atol=SIMPLEX_ATOL)
    return p, xp


def _pair(p: Any, h: Any, func: str) -> Any:
    p, xp = _probabilities(p, func)
    _scores(h, func)
    validate.same_shape(p, h, ("p", "h"), func=func)
    return xp


# --------------------------------------------------------------------------- elementwise helpers


def _expm1_saturating(x: Any, xp: Any) -> Any:
    """``expm1(x)``, ``inf`` beyond the float64 range, without an overflow warning."""
    return xp.where(x > LOG_FLOAT64_MAX, xp.inf, xp.expm1(xp.minimum(x, LOG_FLOAT64_MAX)))


def _safe_log(x: Any, xp: Any) -> Any:
    """``log(x)`` for x > 0 and ``-inf`` at 0, without a divide-by-zero warning."""
    positive = x > 0
    return xp.where(positive, xp.log(xp.where(positive, x, 1.0)), -xp.inf)


def loss_of_log_probability(log_s: Any, tau: float, xp: Any) -> Any:
    r""":math:`\varphi_\tau(s)` from :math:`\log s\le 0` (no validation; internal and fast).

    :math:`-\log s` for :math:`\tau=1`, else :math:`\mathrm{expm1}((\tau-1)\log s)/(1-\tau)`;
    ``log_s = -inf`` (s = 0) gives ``inf`` for :math:`\tau\le1` and
    :math:`1/(\tau-1)` for :math:`\tau>1`.
    """
    if tau == 1.0:
        return -log_s
    return _expm1_saturating((tau - 1.0) * log_s, xp) / (1.0 - tau)


def log_softmax(h: Any) -> Any:
    r""":math:`\log s_y(h)=h_y-\log\sum_{y'}e^{h_{y'}}` along the last axis, without overflow.

    Parameters
    ----------
    h : array, shape (..., n)
        Finite real scores, n >= 2.
    """
    h, xp = _scores(h, "log_softmax")
    return _log_softmax(h, xp)


def _log_softmax(h: Any, xp: Any) -> Any:
    shifted = h - xp.max(h, axis=-1, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))


def softmax(h: Any) -> Any:
    r"""The softmax :math:`s(h)` along the last axis (computed from :func:`log_softmax`)."""
    h, xp = _scores(h, "softmax")
    return xp.exp(_log_softmax(h, xp))


def predicted_label(h: Any) -> Any:
    r"""The prediction :math:`\mathsf h=\arg\max_y h_y`, ties to the **highest** index.

    Parameters
    ----------
    h : array, shape (..., n)

    Returns
    -------
    integer array, shape (...)
        The largest y with :math:`h_y=\max h` (spec §1, "highest label index").
    """
    h, xp = _scores(h, "predicted_label")
    return _predicted_label(h, xp)


def _predicted_label(h: Any, xp: Any) -> Any:
    n = h.shape[-1]
    return (n - 1) - xp.argmax(xp.flip(h, axis=-1), axis=-1)


# --------------------------------------------------------------------------- the loss family


def comp_sum_outer(u: Any, tau: float) -> Any:
    r"""The outer function :math:`\Phi^\tau(u)` of the comp-sum family, :math:`u\ge0`.

    Parameters
    ----------
    u : array
        :math:`u=\sum_{y'\ne y}e^{h_{y'}-h_y}\ge0` (``inf`` allowed).
    tau : float
        :math:`\tau\ge0`.

    Returns
    -------
    array
        :math:`\log(1+u)` for :math:`\tau=1`, else
        :math:`\mathrm{expm1}((1-\tau)\log(1+u))/(1-\tau)`.
    """
    func = "comp_sum_outer"
    tau = validate_tau(tau, func=func)
    u, xp = validate.real_floating(u, "u", func=func)
    if bool(xp.any(xp.isnan(u))):
        raise ValueError(f"{func}: u must not be NaN")
    if bool(xp.any(u < 0)):
        raise ValueError(f"{func}: u must be >= 0, has entry {float(xp.min(u))}")
    log1p_u = xp.log1p(u)
    if tau == 1.0:
        return log1p_u
    return _expm1_saturating((1.0 - tau) * log1p_u, xp) / (1.0 - tau)


def loss_of_softmax_probability(s: Any, tau: float) -> Any:
    r"""The softmax form :math:`\varphi_\tau(s)` of the comp-sum loss, :math:`s\in[0,1]`.

    Parameters
    ----------
    s : array
        True-class softmax probabilities in [0, 1].
    tau : float
        :math:`\tau\ge0`.
    """
    func = "loss_of_softmax_probability"
    tau = validate_tau(tau, func=func)
    s, xp = validate.real_floating(s, "s", func=func)
    validate.finite(s, "s", func=func, xp=xp)
    if bool(xp.any(s < 0)) or bool(xp.any(s > 1)):
        raise ValueError(
            f"{func}: s must lie in [0, 1], has entries in [{float(xp.min(s))}, {float(xp.max(s))}]"
        )
    return loss_of_log_probability(_safe_log(s, xp), tau, xp)


def comp_sum_losses(h: Any, tau: float) -> Any:
    r"""All comp-sum losses :math:`\ell_\tau(h,y)`, one per label y.

    Parameters
    ----------
    h : array, shape (..., n)
        Finite real scores, n >= 2.
    tau : float
        :math:`\tau\ge0` (0: sum-exponential, 1: cross-entropy, 1+q: GCE, 2: MAE).

    Returns
    -------
    array, shape (..., n)
        :math:`\varphi_\tau(s_y(h))` for every y, from :math:`\log s_y` (no overflow).
    """
    tau = validate_tau(tau, func="comp_sum_losses")
    h, xp = _scores(h, "comp_sum_losses")
    return loss_of_log_probability(_log_softmax(h, xp), tau, xp)


def comp_sum_loss(h: Any, y: Any, tau: float) -> Any:
    r"""The comp-sum loss :math:`\ell_\tau(h,y)` of labels y.

    Parameters
    ----------
    h : array, shape (..., n)
        Finite real scores, n >= 2.
    y : integer array, shape (...)
        Labels in ``range(n)``.
    tau : float
        :math:`\tau\ge0`.

    Returns
    -------
    array, shape (...)
    """
    func = "comp_sum_loss"
    tau = validate_tau(tau, func=func)
    h, xp = _scores(h, func)
    y = xp.asarray(y)
    if not xp.isdtype(y.dtype, "integral"):
        raise ValueError(f"{func}: y must be an integer array of labels, got dtype {y.dtype}")
    if tuple(y.shape) != tuple(h.shape[:-1]):
        raise ValueError(
            f"{func}: y must have shape {tuple(h.shape[:-1])} (h without its class axis), "
            f"got {tuple(y.shape)}"
        )
    n = h.shape[-1]
    if y.size and (int(xp.min(y)) < 0 or int(xp.max(y)) >= n):
        raise ValueError(
            f"{func}: labels y must lie in [0, {n}), got range [{int(xp.min(y))}, {int(xp.max(y))}]"
        )
    log_s = xp.take_along_axis(_log_softmax(h, xp), xp.expand_dims(y, axis=-1), axis=-1)
    return loss_of_log_probability(log_s, tau, xp)[..., 0]


# --------------------------------------------------------------------------- conditional risks


def conditional_surrogate_risk(p: Any, h: Any, tau: float) -> Any:
    r"""The conditional comp-sum risk :math:`\mathcal C_\tau(p,h)=\sum_y p_y\ell_\tau(h,y)`.

    Parameters
    ----------
    p : array, shape (..., n)
        Conditional label distributions (rows on the simplex).
    h : array, shape (..., n)
        Finite scores.
    tau : float

    Returns
    -------
    array, shape (...)
        Labels with :math:`p_y=0` contribute 0, even where their loss is infinite.
    """
    tau = validate_tau(tau, func="conditional_surrogate_risk")
    xp = _pair(p, h, "conditional_surrogate_risk")
    return _risk(p, h, tau, xp)


def _risk(p: Any, h: Any, tau: float, xp: Any) -> Any:
    losses = loss_of_log_probability(_log_softmax(h, xp), tau, xp)
    present = p > 0  # 0 * inf would be NaN: absent labels contribute 0 (P3)
    return xp.sum(xp.where(present, p * xp.where(present, losses, 0.0), 0.0), axis=-1)


def conditional_risk_infimum(p: Any, tau: float) -> Any:
    r"""The best conditional comp-sum risk :math:`\mathcal C^*_\tau(p)` over all scores.

    ``hcons.cstar.closed_form`` ([derived] in the spec; [MMZ23] §4 analyses it): for a
    symmetric complete hypothesis set the infimum over all of :math:`\mathbb R^n`.

    Parameters
    ----------
    p : array, shape (..., n)
        Conditional label distributions (rows on the simplex; zeros allowed).
    tau : float

    Returns
    -------
    array, shape (...)
        The closed form above; entropy in nats for :math:`\tau=1`.
    """
    tau = validate_tau(tau, func="conditional_risk_infimum")
    p, xp = _probabilities(p, "conditional_risk_infimum")
    return _infimum(p, tau, xp)


def _xlogx(x: Any, xp: Any) -> Any:
    """:math:`x\\log x` with :math:`0\\log0=0` (P3)."""
    positive = x > 0
    return xp.where(positive, x * xp.log(xp.where(positive, x, 1.0)), 0.0)


def _infimum(p: Any, tau: float, xp: Any) -> Any:
    if tau == 1.0:
        return -xp.sum(_xlogx(p, xp), axis=-1)
    if tau >= 2.0:
        return (1.0 - xp.max(p, axis=-1)) / (tau - 1.0)
    a = 1.0 / (2.0 - tau)
    if 0.5 <= tau <= 1.5:
        # sum_y p^a - 1 = sum_y p (p^(a-1) - 1): relative accuracy as tau -> 1 (P4)
        a_minus_one = (tau - 1.0) / (2.0 - tau)  # no cancellation as tau -> 1
        log_p = _safe_log(p, xp)
        excess = xp.sum(
            xp.where(p > 0, p * xp.expm1(a_minus_one * xp.where(p > 0, log_p, 0.0)), 0.0),
            axis=-1,
        )
        return xp.expm1((2.0 - tau) * xp.log1p(excess)) / (1.0 - tau)
    # (sum p^a)^(1/a) = max p (sum (p / max p)^a)^(1/a): no overflow as tau -> 2 (P4)
    top = xp.max(p, axis=-1, keepdims=True)
    ratio_sum = xp.sum((p / top) ** a, axis=-1)
    log_norm = xp.log(top[..., 0]) + (2.0 - tau) * xp.log(ratio_sum)
    return xp.expm1(log_norm) / (1.0 - tau)


def conditional_surrogate_regret(p: Any, h: Any, tau: float) -> Any:
    r"""The conditional regret.

    :math:`\Delta\mathcal C_\tau=\mathcal C_\tau(p,h)-\mathcal C^*_\tau(p)\ge0`.
    """
    tau = validate_tau(tau, func="conditional_surrogate_regret")
    xp = _pair(p, h, "conditional_surrogate_regret")
    return _risk(p, h, tau, xp) - _infimum(p, tau, xp)


def zero_one_regret(p: Any, h: Any) -> Any:
    r"""The conditional 0-1 regret :math:`\Delta\mathcal C_{0-1}=\max_y p_y-p_{\mathsf h(h)}`.

    ``hcons.def.zero_one_regret`` (symmetric complete :math:`\mathcal H`): the predicted
    label is the highest index among the maximal scores.

    Parameters
    ----------
    p : array, shape (..., n)
    h : array, shape (..., n)

    Returns
    -------
    array, shape (...)
        In [0, 1].
    """
    xp = _pair(p, h, "zero_one_regret")
    return _zero_one_regret(p, h, xp)


def _predicted_probability(p: Any, h: Any, xp: Any) -> Any:
    label = xp.expand_dims(_predicted_label(h, xp), axis=-1)
    return xp.take_along_axis(p, label, axis=-1)[..., 0]


def _zero_one_regret(p: Any, h: Any, xp: Any) -> Any:
    return xp.max(p, axis=-1) - _predicted_probability(p, h, xp)


def zero_one_regret_complement(p: Any, h: Any) -> Any:
    r""":math:`1-\Delta\mathcal C_{0-1}` computed from the small components (pitfall P13).

    :math:`\sum_{y\ne y^\star}p_y+p_{\mathsf h}` with :math:`y^\star` the first index of
    :math:`\max p`: accurate to relative rounding even when it is far below the
    float64 spacing of 1 (e.g. :math:`p=(1, 2.5\times10^{-22})` with the tiny class
    predicted gives :math:`2.5\times10^{-22}`, where :math:`1-t` in float64 gives 0).
    """
    xp = _pair(p, h, "zero_one_regret_complement")
    return _regret_complement(p, h, xp)


def _regret_complement(p: Any, h: Any, xp: Any) -> Any:
    n = p.shape[-1]
    best = xp.expand_dims(xp.argmax(p, axis=-1), axis=-1)
    others = xp.arange(n) != best
    return xp.sum(xp.where(others, p, 0.0), axis=-1) + _predicted_probability(p, h, xp)


__all__ = [
    "LOG_FLOAT64_MAX",
    "NAMED_TAUS",
    "comp_sum_loss",
    "comp_sum_losses",
    "comp_sum_outer",
    "conditional_risk_infimum",
    "conditional_surrogate_regret",
    "conditional_surrogate_risk",
    "gce_tau",
    "log_softmax",
    "loss_of_log_probability",
    "loss_of_softmax_probability",
    "predicted_label",
    "softmax",
    "validate_gce_q",
    "validate_num_classes",
    "validate_tau",
    "zero_one_regret",
    "zero_one_regret_complement",
]
