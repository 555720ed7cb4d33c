r"""Focal loss (Lin et al., ICCV 2017): the cross-entropy at gamma = 0, the gradient, properness.

Notation of :mod:`theory.catalog.focal`: :math:`x_t=yx`, :math:`p_t=\sigma(x_t)`,
:math:`\mathrm{FL}(p_t)=-\alpha_t(1-p_t)^\gamma\log p_t`. Each check takes the
candidate (a function of sympy symbols that also runs on NumPy arrays, since it
uses arithmetic operators only) as a keyword argument defaulting to the paper's
statement; the controls pass false variants.

Tolerances use u = 1.1e-16 (float64 unit roundoff); each is derived in the
docstring of its check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import sympy
from scipy.optimize import brentq, minimize_scalar

from proofs_check.derivation import AtLeast, Derivation, Equal
from theory.catalog.focal import (
    PAPER,
    binary_cross_entropy,
    focal_conditional_risk,
    focal_loss_binary,
)
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.certify import Budget
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

UNIT_ROUNDOFF = 2.0**-53
"""float64 unit roundoff u = 1.1e-16."""

ODDS = sympy.Symbol("s", positive=True)
P_T = 1 / (1 + ODDS)
r""":math:`p_t` as :math:`1/(1+s)`, :math:`s=e^{-x_t}>0`: every positive value of s is a
point of (0, 1), so that the rational probes of :class:`~proofs_check.derivation.Equal`
stay inside the domain (a probe :math:`p_t>1` would make :math:`(1-p_t)^\gamma` complex)."""
GAMMA = sympy.Symbol("gamma", positive=True)
ALPHA_T = sympy.Symbol("alpha_t", positive=True)
X = sympy.Symbol("x", real=True)
PROBABILITY = sympy.Symbol("p", positive=True)
"""A plain symbol for :math:`p_t`, to differentiate in; replaced by :data:`P_T` before probing."""


def focal_expression(p: Any, gamma: Any, alpha_t: Any = 1) -> Any:
    r"""Eq. (5), :math:`-\alpha_t(1-p_t)^\gamma\log p_t`, as a sympy expression."""
    return -alpha_t * (1 - p) ** gamma * sympy.log(p)


def _float(ctx: Context, fn: Callable[..., Any], *arrays: np.ndarray, **kwargs: Any) -> np.ndarray:
    return np.asarray(to_numpy(fn(*(ctx.asarray(a) for a in arrays), **kwargs)), dtype=float)


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * v))


# --------------------------------------------------------------------------- gamma0-is-ce


def paper_modulating_factor(p_t: Any, gamma: Any) -> Any:
    r"""Eq. (4)-(5): :math:`\mathrm{FL}/\mathrm{CE}=\alpha_t(1-p_t)^\gamma`."""
    return (1 - p_t) ** gamma


def off_by_one_modulating_factor(p_t: Any, gamma: Any) -> Any:
    r"""Control: the factor :math:`(1-p_t)^{\gamma-1}`."""
    return (1 - p_t) ** (gamma - 1)


@claim(
    "focal.gamma0-is-ce",
    paper=PAPER,
    source="Eq. (4)-(5)",
    statement=(
        r"\mathrm{FL}(p_t)=-\alpha_t(1-p_t)^\gamma\log p_t:\ \gamma=0,\alpha_t=1\Rightarrow"
        r"\mathrm{FL}=\mathrm{CE};\ \mathrm{FL}/\mathrm{CE}=\alpha_t(1-p_t)^\gamma"
        r"\ (=10^{-2}\text{ at }p_t=0.9,\ \approx1.0\times10^{-3}\text{ at }p_t=0.968,\ \gamma=2)"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "exponent-gamma-minus-1",
            r"\mathrm{FL}/\mathrm{CE}=\alpha_t(1-p_t)^{\gamma-1}",
            {"factor": off_by_one_modulating_factor},
        )
    ],
)
def gamma0_is_ce(
    ctx: Context, factor: Callable[[Any, Any], Any] = paper_modulating_factor
) -> Evidence:
    r"""sympy identities, exact rational values, and the backend's focal loss in float64.

    Steps: :math:`\mathrm{FL}|_{\gamma=0,\alpha_t=1}=\mathrm{CE}`; FL/CE equals
    :math:`\alpha_t` times the candidate factor, for symbolic :math:`\gamma` and at
    :math:`\gamma=0`; the factor is exactly 1/100 at :math:`p_t=9/10`, :math:`\gamma=2`,
    and rounds to :math:`1.0\times10^{-3}` (two significant figures, so within
    :math:`5\times10^{-5}`) at :math:`p_t=121/125=0.968`. Float part: random logits
    :math:`x\in[-8,8]`, labels :math:`\pm1`, :math:`\gamma\in[0,5]`;
    ``focal_loss_binary`` at :math:`\gamma=0` against NumPy's
    ``logaddexp(0, -yx)`` (rtol 8u: two stable evaluations of a softplus), and
    FL/CE against the candidate at :math:`p_t=\sigma(yx)` computed in NumPy. The
    ratio errs by about :math:`10u+4u\gamma|\log(1-p_t)|` on the backend; the
    candidate's :math:`1-p_t` carries a relative error up to :math:`3u/(1-p_t)`, raised
    to the power :math:`\gamma`; rtol :math:`16u(1+\gamma|\log(1-p_t)|+\gamma/(1-p_t))`
    (<= 2.7e-11 on this range).
    """
    steps = [
        Equal(
            "gamma = 0, alpha_t = 1: FL = CE",
            focal_expression(P_T, 0, 1),
            -sympy.log(P_T),
        ),
        Equal(
            "FL / CE = alpha_t * factor (symbolic gamma)",
            sympy.cancel(focal_expression(P_T, GAMMA, ALPHA_T) / (-sympy.log(P_T))),
            ALPHA_T * factor(P_T, GAMMA),
        ),
        Equal(
            "FL / CE = alpha_t * factor at gamma = 0",
            focal_expression(P_T, 0, ALPHA_T) / (-sympy.log(P_T)),
            ALPHA_T * factor(P_T, sympy.Integer(0)),
        ),
        Equal(
            "gamma = 2, p_t = 9/10: factor = 1/100",
            factor(sympy.Rational(9, 10), sympy.Integer(2)),
            sympy.Rational(1, 100),
        ),
    ]
    parts: dict[str, Evidence] = {"sympy": Derivation(tuple(steps)).check()}
    at_968 = sympy.nsimplify(factor(sympy.Rational(121, 125), sympy.Integer(2)))
    deviation = abs(at_968 - sympy.Rational(1, 1000))
    parts["gamma = 2, p_t = 0.968: factor = 1.0e-3 to two digits"] = checks.exact(
        bool(deviation <= sympy.Rational(5, 100000)),
        residual=float(deviation),
        counterexample={"factor": str(at_968), "expected": "1.0e-3 +- 5e-5"},
    )

    rng = ctx.rng(0)
    count = ctx.pick(2000, 50_000)
    x = rng.uniform(-8, 8, count)
    y = rng.choice([-1.0, 1.0], count)
    gamma = rng.choice(np.arange(0.0, 5.01, 0.25), count)
    inputs = {"x": x, "y": y, "gamma": gamma}
    parts["float: FL(gamma = 0) = CE"] = checks.compare(
        _float(ctx, focal_loss_binary, x, y, gamma=0.0),
        np.logaddexp(0.0, -y * x),
        rtol=8 * UNIT_ROUNDOFF,
        inputs={"x": x, "y": y},
    )
    cross_entropy = _float(ctx, binary_cross_entropy, x, y)
    focal = np.empty(count)
    for value in np.unique(gamma):
        rows = gamma == value
        focal[rows] = _float(ctx, focal_loss_binary, x[rows], y[rows], gamma=float(value))
    one_minus = 1.0 - _sigmoid(y * x)
    rtol = 16 * UNIT_ROUNDOFF * (1 + gamma * np.abs(np.log(one_minus)) + gamma / one_minus)
    parts["float: FL / CE = factor"] = checks.compare(
        focal / cross_entropy,
        np.asarray(factor(1.0 - one_minus, gamma), dtype=float),
        atol=rtol * one_minus**gamma,
        inputs=inputs,
    )
    return checks.combine(parts)


# --------------------------------------------------------------------------- gradient


def paper_gradient(p_t: Any, y: Any, gamma: Any) -> Any:
    r"""Appendix: the gradient of the focal loss in the logit.

    :math:`\partial\mathrm{FL}/\partial x=y(1-p_t)^\gamma(\gamma p_t\log p_t+p_t-1)`.
    """
    log = sympy.log if isinstance(p_t, sympy.Basic) else np.log
    return y * (1 - p_t) ** gamma * (gamma * p_t * log(p_t) + p_t - 1)


def gradient_without_log_term(p_t: Any, y: Any, gamma: Any) -> Any:
    r"""Control: the :math:`\gamma p_t\log p_t` term dropped, :math:`y(1-p_t)^\gamma(p_t-1)`."""
    return y * (1 - p_t) ** gamma * (p_t - 1)


FD_STEP = 1e-6
SECOND_DERIVATIVE_BOUND = 1.0
r"""A bound of :math:`|\partial^2\mathrm{FL}/\partial x^2|` for :math:`\gamma\in[0,5]` and
:math:`x\in[-40,40]`: the symbolic second derivative evaluated on a 0.01 x 0.01 grid
peaks at 0.70 (x = -1.2, gamma = 5)."""


@claim(
    "focal.gradient",
    paper=PAPER,
    source="Appendix (sign convention as in the spec)",
    statement=(
        r"x_t=yx,\ p_t=\sigma(x_t),\ \alpha_t=1:\ \frac{\partial\mathrm{FL}}{\partial x}"
        r"=y(1-p_t)^\gamma(\gamma p_t\log p_t+p_t-1)"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "no-log-term",
            r"\partial\mathrm{FL}/\partial x=y(1-p_t)^\gamma(p_t-1)",
            {"gradient": gradient_without_log_term},
        )
    ],
)
def gradient(ctx: Context, gradient: Callable[[Any, Any, Any], Any] = paper_gradient) -> Evidence:
    r"""Chain rule in sympy, then central differences of the backend's focal loss.

    Steps, for y = +1 and y = -1 and symbolic :math:`\gamma>0`:
    :math:`\partial_x\sigma(yx)=y\sigma(yx)(1-\sigma(yx))`, and
    :math:`\mathrm{FL}'(p_t)\cdot y\,p_t(1-p_t)` equals the candidate (the chain rule);
    at :math:`\gamma=0` the candidate is the cross-entropy's :math:`y(p_t-1)`.

    Float part: ``focal_loss_binary`` on the backend at random
    :math:`x\in[-8,8]`, :math:`y=\pm1`, :math:`\gamma\in[0,5]`; a central difference
    with step h errs by at most :math:`Lh/2` with L = 1 a Lipschitz constant of the
    gradient (:data:`SECOND_DERIVATIVE_BOUND`), plus rounding :math:`8u(1+|\mathrm{FL}|)/(2h)`
    (|FL| <= 8.1 here): atol :math:`h/2+4u(1+|\mathrm{FL}|)/h` = 5.04e-7 at h = 1e-6.
    """
    steps = []
    for label in (1, -1):
        sigma = 1 / (1 + sympy.exp(-label * X))
        steps.append(
            Equal(
                f"y={label:+d}: d sigma(yx)/dx = y sigma (1 - sigma)",
                sympy.diff(sigma, X),
                label * sigma * (1 - sigma),
            )
        )
        chain = sympy.diff(focal_expression(PROBABILITY, GAMMA), PROBABILITY)
        chain = chain * label * PROBABILITY * (1 - PROBABILITY)
        residual = (chain - gradient(PROBABILITY, label, GAMMA)) / (1 - PROBABILITY) ** GAMMA
        # the residual over (1 - p_t)^gamma is rational in p_t and log p_t: cancel decides it
        residual = sympy.cancel(sympy.powsimp(sympy.expand(residual)))
        steps.append(
            Equal(
                f"y={label:+d}: [FL'(p_t) y p_t (1 - p_t) - candidate] / (1 - p_t)^gamma = 0",
                residual.subs(PROBABILITY, P_T),
                0,
            )
        )
        steps.append(
            Equal(
                f"y={label:+d}, gamma = 0: candidate = y (p_t - 1)",
                gradient(P_T, label, sympy.Integer(0)),
                label * (P_T - 1),
            )
        )
    parts: dict[str, Evidence] = {"sympy": Derivation(tuple(steps)).check()}

    rng = ctx.rng(0)
    count = ctx.pick(400, 10_000)
    x = rng.uniform(-8, 8, count)
    y = rng.choice([-1.0, 1.0], count)
    for gamma in ctx.pick((0.0, 0.5, 2.0, 5.0), (0.0, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)):
        points = np.concatenate([x + FD_STEP, x - FD_STEP])
        values = _float(ctx, focal_loss_binary, points, np.concatenate([y, y]), gamma=gamma)
        difference = (values[:count] - values[count:]) / (2 * FD_STEP)
        p_t = _sigmoid(y * x)
        loss = np.abs(values[:count])
        atol = SECOND_DERIVATIVE_BOUND * FD_STEP / 2 + 4 * UNIT_ROUNDOFF * (1 + loss) / FD_STEP
        parts[f"float gamma={gamma}: central difference = candidate"] = checks.compare(
            difference,
            np.asarray(gradient(p_t, y, gamma), dtype=float),
            atol=atol,
            inputs={"x": x, "y": y},
        )
    return checks.combine(parts)


# --------------------------------------------------------------------------- properness

ETA = sympy.Symbol("eta", positive=True)
Q = sympy.Symbol("q", positive=True)
ETA_IN_UNIT = 1 / (1 + ODDS)
PROPERNESS_BOX = (("0.55", "0.95"), ("0.5", "3"))
"""(eta, gamma) box of the certified part, as in the spec."""
CERTIFIED_SLOPE = sympy.Rational(1, 32)
r"""Certified lower bound of :math:`R'(\eta;\eta)` on the box: any positive constant
proves :math:`R'(\eta;\eta)\ne0`; 1/32 lies below the sampled minimum 0.068 (at
:math:`\eta=0.55`, :math:`\gamma=0.5`) so that the certifier closes quickly."""


def _risk_slope_at_eta(x: Sequence[Any], m: Any) -> Any:
    r""":math:`R'(q;\eta)` at :math:`q=\eta`, minus the certified bound; x = (eta, gamma)."""
    eta, gamma = x
    return (
        gamma * eta * m.pow(1 - eta, gamma - 1) * m.log(eta)
        - m.pow(1 - eta, gamma)
        - (1 - eta) * gamma * m.pow(eta, gamma - 1) * m.log(1 - eta)
        + m.pow(eta, gamma)
        - m.const("1/32")
    )


@lru_cache(maxsize=1)
def _certified_slope() -> Evidence:
    step = AtLeast(
        r"R'(\eta;\eta) >= 1/32 on eta in [0.55, 0.95], gamma in [0.5, 3]",
        _risk_slope_at_eta,
        PROPERNESS_BOX,
        budget=Budget(max_boxes=5000, seconds=20.0),
    )
    return Derivation((step,)).check()


def _risk(q: float, eta: float, gamma: float) -> float:
    return -eta * (1 - q) ** gamma * np.log(q) - (1 - eta) * q**gamma * np.log1p(-q)


def _risk_slope(q: float, eta: float, gamma: float) -> float:
    return (
        eta * gamma * (1 - q) ** (gamma - 1) * np.log(q)
        - eta * (1 - q) ** gamma / q
        - (1 - eta) * gamma * q ** (gamma - 1) * np.log1p(-q)
        + (1 - eta) * q**gamma / (1 - q)
    )


def risk_minimiser(eta: float, gamma: float) -> float:
    r"""The minimiser :math:`q^*(\eta)` of :math:`R(\cdot;\eta)` on (0, 1), NumPy/SciPy.

    scipy's bounded minimisation (xatol 1e-12) locates it; since a minimiser of a
    value is only determined to about :math:`\sqrt{u}`, it is then polished as the
    root of :math:`R'` (brentq, xtol 1e-15) in a bracket of width 2e-6 around it.
    """
    found = minimize_scalar(
        _risk,
        bounds=(1e-12, 1 - 1e-12),
        args=(eta, gamma),
        method="bounded",
        options={"xatol": 1e-12},
    ).x
    low, high = max(found - 1e-6, 1e-12), min(found + 1e-6, 1 - 1e-12)
    if _risk_slope(low, eta, gamma) < 0 < _risk_slope(high, eta, gamma):
        return float(brentq(_risk_slope, low, high, args=(eta, gamma), xtol=1e-15))
    return float(found)


REFERENCE_MINIMISERS = ((2.0, 0.8, 0.627), (1.0, 0.8, 0.686), (2.0, 0.95, 0.750))
"""(gamma, eta, q*) reference values of the spec, to three decimals."""

EQUALITY_TOLERANCE = 1e-9
r"""|q* - eta| allowed for a proper gamma: the polished root of :math:`R'` is accurate to
about :math:`u/R''` (< 1e-13 here); 1e-9 also covers an unpolished bracket."""


@claim(
    "focal.properness",
    paper=PAPER,
    source="binary conditional risk (property of Eq. (5))",
    statement=(
        r"R(q;\eta)=-\eta(1-q)^\gamma\log q-(1-\eta)q^\gamma\log(1-q):\ q^*(\eta)=\eta"
        r"\iff\gamma=0;\ \gamma>0:\ q^*\ne\eta,\ \mathrm{sign}(q^*-\tfrac12)="
        r"\mathrm{sign}(\eta-\tfrac12)"
    ),
    method="certified",
    provenance="derived",
    notes="Not claimed by the paper; decisive for any 'focal loss is proper' statement.",
    controls=[
        Control(
            "proper-at-gamma-2",
            r"the focal loss is strictly proper for \gamma=2",
            {"proper_gammas": (0.0, 2.0), "improper_gammas": (0.5, 1.0, 3.0)},
        )
    ],
)
def properness(
    ctx: Context,
    proper_gammas: Sequence[float] = (0.0,),
    improper_gammas: Sequence[float] = (0.5, 1.0, 2.0, 3.0),
) -> Evidence:
    r"""Certified slope on the spec's box, sympy at the proper gammas, SciPy minimisers.

    Parts: (1) interval arithmetic proves :math:`R'(\eta;\eta)\ge1/32>0` on
    :math:`\eta\in[0.55,0.95]`, :math:`\gamma\in[0.5,3]`, so :math:`q^*\ne\eta` there
    (by the symmetry :math:`R(q;\eta)=R(1-q;1-\eta)`, also on [0.05, 0.45]);
    (2) sympy: :math:`R'(\eta;\eta)=0` for each gamma claimed proper; (3) SciPy: on
    a grid of eta (0.05 to 0.95 without 0.5), :math:`|q^*-\eta|\le10^{-9}` for each
    proper gamma and :math:`>10^{-9}` for each improper one, with
    :math:`\mathrm{sign}(q^*-\tfrac12)=\mathrm{sign}(\eta-\tfrac12)`; the spec's
    reference minimisers to three decimals; (4) the backend's
    ``focal_conditional_risk`` at the minimisers against NumPy (rtol 16u: two
    logarithms, two powers and a few products of O(1) values).
    """
    parts: dict[str, Evidence] = {"certified slope at q = eta": _certified_slope()}
    risk = -ETA * (1 - Q) ** GAMMA * sympy.log(Q) - (1 - ETA) * Q**GAMMA * sympy.log(1 - Q)
    slope = sympy.diff(risk, Q)
    steps = []
    for gamma in proper_gammas:
        value = sympy.nsimplify(gamma)
        steps.append(
            Equal(
                f"gamma = {gamma}: R'(eta; eta) = 0",
                slope.subs(GAMMA, value).subs(Q, ETA).subs(ETA, ETA_IN_UNIT),
                0,
            )
        )
    if steps:
        parts["sympy: proper gammas"] = Derivation(tuple(steps)).check()

    grid = np.array(
        [e for e in np.round(np.arange(0.05, 0.951, ctx.pick(0.05, 0.01)), 10) if e != 0.5]
    )
    minimisers = {}
    for gamma in (*proper_gammas, *improper_gammas):
        minimisers[gamma] = np.array([risk_minimiser(float(e), float(gamma)) for e in grid])
    for gamma in proper_gammas:
        parts[f"gamma={gamma}: q* = eta"] = checks.compare(
            minimisers[gamma], grid, atol=EQUALITY_TOLERANCE, inputs={"eta": grid}
        )
    for gamma in improper_gammas:
        q_star = minimisers[gamma]
        parts[f"gamma={gamma}: q* != eta"] = checks.nonnegative(
            np.abs(q_star - grid) - EQUALITY_TOLERANCE, inputs={"eta": grid}
        )
        parts[f"gamma={gamma}: sign(q* - 1/2) = sign(eta - 1/2)"] = checks.agree(
            q_star > 0.5, grid > 0.5, inputs={"eta": grid}, names=("q*>1/2", "eta>1/2")
        )
    for gamma, eta, expected in REFERENCE_MINIMISERS:
        found = risk_minimiser(eta, gamma)
        parts[f"reference gamma={gamma}, eta={eta}: q* = {expected}"] = checks.compare(
            np.array([found]), np.array([expected]), atol=5e-4, inputs={"eta": np.array([eta])}
        )
    etas = np.tile(grid, len(minimisers))
    qs = np.concatenate(list(minimisers.values()))
    gammas = np.repeat(np.array(list(minimisers), dtype=float), grid.size)
    backend = np.concatenate(
        [
            _float(ctx, focal_conditional_risk, minimisers[g], grid, gamma=float(g))
            for g in minimisers
        ]
    )
    parts["float: backend risk at q*"] = checks.compare(
        backend,
        _risk(qs, etas, gammas),
        rtol=16 * UNIT_ROUNDOFF,
        inputs={"q": qs, "eta": etas, "gamma": gammas},
    )
    return checks.combine(parts)
