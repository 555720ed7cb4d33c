r"""PolyLoss (Leng et al., ICLR 2022), Sec. 3: the Taylor expansion of the cross-entropy.

With :math:`u=1-P_t`, the paper's expansions are

.. math::

    -\log P_t = \sum_{j\ge1}\frac{u^j}{j},\qquad
    -(1-P_t)^\gamma\log P_t = \sum_{j\ge1}\frac{u^{j+\gamma}}{j},\qquad
    -\frac{d}{dP_t}\big(-\log P_t+\epsilon_1u\big) = \frac1{P_t}+\epsilon_1
        = \sum_{j\ge1}u^{j-1}+\epsilon_1 .

sympy checks the coefficients of the formal series to order 30; the interval
certifier proves the remainder bound
:math:`|{-\log P_t}-\sum_{j\le N}u^j/j|\le u^{N+1}/((N+1)P_t)` on
:math:`P_t\in[1/64,1]` for N = 1 and 3 (so the series converges to :math:`-\log P_t`
there, not only formally); float64 parts run the math objects of
:mod:`theory.catalog.polyloss` and :mod:`theory.catalog.focal` on the backend against
partial sums of the candidate series. Candidates are written with arithmetic
operators only, so the same function builds a sympy expression and evaluates on
NumPy arrays.

Tolerances (u = 1.1e-16, float64 unit roundoff, written ``UNIT_ROUNDOFF``): a partial
sum of N positive terms errs by at most N u times its value; the tail after N terms
is bounded by the remainder bound above; each check states the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np
import sympy

from proofs_check.derivation import AtLeast, Derivation, Equal
from theory.catalog.focal import focal_loss_pt
from theory.catalog.polyloss import PAPER, poly1_cross_entropy, poly_loss
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.certify import Budget
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

UNIT_ROUNDOFF = 2.0**-53
COMPLEMENT = sympy.Symbol("u", positive=True)
r""":math:`u=1-P_t`."""
PROBABILITY = sympy.Symbol("P_t", positive=True)
EPSILON = sympy.Symbol("epsilon_1", real=True)
GAMMA = sympy.Symbol("gamma", positive=True)
SERIES_ORDER = 30
"""Number of series coefficients compared."""
PARTIAL_SUM_TERMS = 400
r"""Terms of the float partial sums; with :math:`P_t\ge0.1` the tail is below
:math:`0.9^{401}/40<10^{-19}`."""
SMALLEST_PROBABILITY = 0.1
CERTIFIED_ORDERS = (1, 3)
"""Truncation orders N of the certified remainder bound (N = 3 is the first order at which
the controls' coefficients 1/j! and 1/j^2 both differ from 1/j)."""

Coefficient = Callable[[int], Any]


@lru_cache(maxsize=1)
def _log_series() -> sympy.Expr:
    r"""The Maclaurin polynomial of :math:`-\log(1-u)` of degree :data:`SERIES_ORDER` (sympy)."""
    series = sympy.series(-sympy.log(1 - COMPLEMENT), COMPLEMENT, 0, SERIES_ORDER + 1)
    return sympy.expand(series.removeO())


def polynomial_part(label: str, derived: sympy.Expr, candidate: sympy.Expr) -> Evidence:
    r"""Exact comparison of two polynomials in :math:`u`, coefficient by coefficient.

    A mismatch names the lowest power whose coefficients differ, both coefficients
    and their difference (the residual). An expression that is not a polynomial in u
    (after expansion) is handed to :class:`~proofs_check.derivation.Equal`.
    """
    difference = sympy.expand(derived - candidate)
    try:
        polynomial = sympy.Poly(difference, COMPLEMENT)
    except sympy.PolynomialError:
        return Equal(label, difference, 0).check()
    if any(COMPLEMENT in c.free_symbols for c in polynomial.coeffs()):
        return Equal(label, difference, 0).check()
    if polynomial.is_zero:
        return checks.exact(True, cases=1, details={"step": label})
    (power,), coefficient = min(polynomial.terms(), key=lambda term: term[0][0])
    monomial = COMPLEMENT**power
    residual = float(coefficient) if coefficient.is_number else None
    return checks.exact(
        False,
        residual=residual,
        counterexample={
            "step": label,
            "power of u": power,
            "derived coefficient": str(sympy.expand(derived).coeff(COMPLEMENT, power)),
            "candidate coefficient": str(sympy.expand(candidate).coeff(COMPLEMENT, power)),
            "difference": str(coefficient),
            "monomial": str(monomial),
        },
    )


@lru_cache(maxsize=1)
def _poly1_series() -> sympy.Expr:
    r"""The Maclaurin polynomial of :math:`-\log(1-u)+\epsilon_1u` of degree 30 (sympy)."""
    series = sympy.series(
        -sympy.log(1 - COMPLEMENT) + EPSILON * COMPLEMENT, COMPLEMENT, 0, SERIES_ORDER + 1
    )
    return series.removeO()


def _float(ctx: Context, fn: Callable[..., Any], *arrays: np.ndarray, **kwargs: Any) -> np.ndarray:
    return np.asarray(to_numpy(fn(*(ctx.asarray(a) for a in arrays), **kwargs)), dtype=float)


# --------------------------------------------------------------------------- ce-taylor


def harmonic_coefficient(j: int) -> sympy.Rational:
    r"""Sec. 3: the coefficient :math:`1/j` of :math:`(1-P_t)^j`."""
    return sympy.Rational(1, j)


def factorial_coefficient(j: int) -> sympy.Rational:
    r"""Control: :math:`1/j!` (the exponential series)."""
    return sympy.Rational(1, sympy.factorial(j))


def inverse_square_coefficient(j: int) -> sympy.Rational:
    r"""Control: :math:`1/j^2`."""
    return sympy.Rational(1, j * j)


def _remainder_bound(order: int, coefficient: Coefficient, sign: int) -> Callable[..., Any]:
    r"""``f(x, m)`` = bound + sign * remainder, for :math:`|\text{remainder}|\le\text{bound}`."""
    coefficients = [Fraction(int(c.p), int(c.q)) for c in map(coefficient, range(1, order + 1))]

    def f(x: Sequence[Any], m: Any) -> Any:
        p = x[0]
        u = 1 - p
        partial = sum(m.const(c) * m.pow(u, j) for j, c in enumerate(coefficients, start=1))
        remainder = -m.log(p) - partial
        return m.pow(u, order + 1) / ((order + 1) * p) + sign * remainder

    return f


@lru_cache(maxsize=8)
def _certified_remainders(coefficient: Coefficient) -> Evidence:
    steps = []
    for order in CERTIFIED_ORDERS:
        for sign, side in ((1, "above"), (-1, "below")):
            steps.append(
                AtLeast(
                    f"N={order}: remainder bounded {side} by u^(N+1)/((N+1) P_t)",
                    _remainder_bound(order, coefficient, sign),
                    [("1/64", 1)],
                    budget=Budget(max_boxes=4000, seconds=10.0),
                )
            )
    return Derivation(tuple(steps)).check()


@claim(
    "polyloss.ce-taylor",
    paper=PAPER,
    source="Sec. 3",
    statement=(
        r"-\log P_t=\sum_{j\ge1}(1-P_t)^j/j,\ L_{\text{Poly-}N}=\sum_{j=1}^N\epsilon_j"
        r"(1-P_t)^j+\sum_{j\ge1}(1-P_t)^j/j,\ L_{\text{Poly-1}}=-\log P_t+\epsilon_1(1-P_t)"
    ),
    method="certified",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "factorial-coefficients",
            r"-\log P_t=\sum_j(1-P_t)^j/j!",
            {"coefficient": factorial_coefficient},
        ),
        Control(
            "inverse-square-coefficients",
            r"-\log P_t=\sum_j(1-P_t)^j/j^2",
            {"coefficient": inverse_square_coefficient},
        ),
    ],
)
def ce_taylor(ctx: Context, coefficient: Coefficient = harmonic_coefficient) -> Evidence:
    r"""Series coefficients (sympy), certified remainder bound, float partial sums.

    Parts: (1) the Maclaurin polynomial of :math:`-\log(1-u)` of degree 30 equals
    :math:`\sum_{j\le30}c_ju^j`, and that of the Poly-1 closed form
    :math:`-\log P_t+\epsilon_1u` equals :math:`\sum_j(c_j+\epsilon_1[j=1])u^j`;
    (2) the certifier proves :math:`|{-\log P_t}-\sum_{j\le N}c_ju^j|\le
    u^{N+1}/((N+1)P_t)` on :math:`[1/64,1]` for N = 1, 3 (for :math:`c_j=1/j` the gap
    is :math:`\sum_{j>N}u^j(1/(N+1)-1/j)\ge0`, with a touching zero at
    :math:`P_t=1`); (3) float: ``poly_loss`` and ``poly1_cross_entropy`` on the backend
    against the partial sum of 400 terms plus :math:`\epsilon_1u`, for
    :math:`P_t\in[0.1,1]`. Tolerance: the tail :math:`u^{401}/(401P_t)`, plus
    :math:`(N+8)u` times the value (N roundings of the partial sum, a few of the
    backend's log-sum-exp and log), plus :math:`4u/P_t` for the rounding of
    :math:`u=1-P_t` entering a series of slope :math:`1/P_t`.
    """
    candidate = sum(coefficient(j) * COMPLEMENT**j for j in range(1, SERIES_ORDER + 1))
    poly1_series = _poly1_series()
    steps = {
        "Maclaurin polynomial of -log(1 - u), degree 30 = sum c_j u^j": polynomial_part(
            "Maclaurin polynomial of -log(1 - u), degree 30 = sum c_j u^j",
            _log_series(),
            candidate,
        ),
        "Poly-1 series = sum (c_j + epsilon_1 [j = 1]) u^j": polynomial_part(
            "Poly-1: series of -log P_t + epsilon_1 u = sum (c_j + epsilon_1 [j = 1]) u^j",
            poly1_series,
            candidate + EPSILON * COMPLEMENT,
        ),
    }
    parts: dict[str, Evidence] = {
        "sympy: series": checks.combine(steps),
        "certified: remainder bound on [1/64, 1]": _certified_remainders(coefficient),
    }

    rng = ctx.rng(0)
    count = ctx.pick(500, 20_000)
    p_t = rng.uniform(SMALLEST_PROBABILITY, 1.0, count)
    p_t[:10] = 1.0
    u = 1.0 - p_t
    values = [float(coefficient(j)) for j in range(1, PARTIAL_SUM_TERMS + 1)]
    partial = np.zeros(count)
    power = np.ones(count)
    for value in values:
        power = power * u
        partial = partial + value * power
    tail = u ** (PARTIAL_SUM_TERMS + 1) / ((PARTIAL_SUM_TERMS + 1) * p_t)
    epsilon = 1.0
    expected = partial + epsilon * u
    atol = (
        tail + (PARTIAL_SUM_TERMS + 8) * UNIT_ROUNDOFF * np.abs(expected) + 4 * UNIT_ROUNDOFF / p_t
    )
    parts["float: poly_loss(P_t, (1,)) = partial sum + u"] = checks.compare(
        _float(ctx, poly_loss, p_t, epsilons=(epsilon,)), expected, atol=atol, inputs={"P_t": p_t}
    )

    size = 5
    z = rng.normal(0.0, 1.5, (count, size))
    y = rng.integers(0, size, count)
    shifted = z - z.max(axis=1, keepdims=True)
    softmax = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    target = softmax[np.arange(count), y]
    keep = target >= SMALLEST_PROBABILITY
    z, y, target = z[keep], y[keep], target[keep]
    u = 1.0 - target
    partial = np.zeros(u.shape)
    power = np.ones(u.shape)
    for value in values:
        power = power * u
        partial = partial + value * power
    expected = partial + epsilon * u
    tail = u ** (PARTIAL_SUM_TERMS + 1) / ((PARTIAL_SUM_TERMS + 1) * target)
    atol = (
        tail
        + (PARTIAL_SUM_TERMS + 8) * UNIT_ROUNDOFF * np.abs(expected)
        + 8 * UNIT_ROUNDOFF * (1 + np.log(size)) / target
    )
    parts["float: poly1_cross_entropy(z, y, 1) = partial sum + u"] = checks.compare(
        _float(ctx, poly1_cross_entropy, z, y, epsilon=epsilon),
        expected,
        atol=atol,
        inputs={"z": z, "y": y},
    )
    return checks.combine(parts)


# --------------------------------------------------------------------------- focal-shift


def paper_focal_expansion(u: Any, gamma: Any, terms: int) -> Any:
    r"""Sec. 3: :math:`-(1-P_t)^\gamma\log P_t=\sum_{j\ge1}u^{j+\gamma}/j` (first ``terms``)."""
    return sum(u ** (j + gamma) / j for j in range(1, terms + 1))


def poly1_minus_one_expansion(u: Any, gamma: Any, terms: int) -> Any:
    r"""Control: Poly-1 with :math:`\epsilon_1=-1`, :math:`\sum_{j\ge2}u^j/j` (first ``terms``)."""
    return sum(u**j / j for j in range(2, terms + 1))


FocalExpansion = Callable[[Any, Any, int], Any]


@claim(
    "polyloss.focal-shift",
    paper=PAPER,
    source="Sec. 3",
    statement=r"-(1-P_t)^\gamma\log P_t=\sum_{j\ge1}(1-P_t)^{j+\gamma}/j",
    method="symbolic",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "poly1-eps-minus-one-is-focal-gamma-1",
            r"\gamma=1:\ -(1-P_t)\log P_t=-\log P_t-(1-P_t)=\sum_{j\ge2}(1-P_t)^j/j",
            {"expansion": poly1_minus_one_expansion, "gammas": (1,)},
        )
    ],
)
def focal_shift(
    ctx: Context,
    expansion: FocalExpansion = paper_focal_expansion,
    gammas: Sequence[Any] = (GAMMA,),
) -> Evidence:
    r"""Coefficients of :math:`u^{-\gamma}` times the expansion; float partial sums.

    Parts: (1) for each gamma (symbolic by default), :math:`u^{-\gamma}` times the
    first 30 terms of the candidate equals the Maclaurin polynomial of
    :math:`-\log(1-u)` of degree 30 (so the focal loss :math:`u^\gamma\cdot(-\log(1-u))`
    is the shifted series); (2) float: ``focal_loss_pt`` on the backend against 400
    terms of the candidate at random :math:`P_t\in[0.1,1]`, with gamma on a grid of
    [0, 5] (or the given gammas). Tolerance: the tail
    :math:`u^{401+\gamma}/(401P_t)`, plus :math:`(N+8)u` times the value, plus
    :math:`4(1+\gamma)u/P_t` for the rounding of :math:`u=1-P_t` and the power.
    """
    steps = {}
    for gamma in gammas:
        label = f"gamma={gamma}: u^-gamma * (first 30 terms) = series of -log(1 - u)"
        shifted = sympy.powsimp(
            sympy.expand(expansion(COMPLEMENT, gamma, SERIES_ORDER) * COMPLEMENT**-gamma)
        )
        steps[label] = polynomial_part(label, shifted, _log_series())
    parts: dict[str, Evidence] = {"sympy": checks.combine(steps)}

    rng = ctx.rng(0)
    count = ctx.pick(200, 5000)
    numeric = [float(g) for g in gammas if not isinstance(g, sympy.Symbol) or g.is_number]
    grid = numeric or [0.0, 0.5, 1.0, 2.0, 3.5, 5.0]
    for gamma in grid:
        p_t = rng.uniform(SMALLEST_PROBABILITY, 1.0, count)
        u = 1.0 - p_t
        expected = np.asarray(expansion(u, gamma, PARTIAL_SUM_TERMS), dtype=float)
        tail = u ** (PARTIAL_SUM_TERMS + 1 + gamma) / ((PARTIAL_SUM_TERMS + 1) * p_t)
        atol = (
            tail
            + (PARTIAL_SUM_TERMS + 8) * UNIT_ROUNDOFF * np.abs(expected)
            + 4 * (1 + gamma) * UNIT_ROUNDOFF / p_t
        )
        parts[f"float gamma={gamma}: focal_loss_pt = partial sum"] = checks.compare(
            _float(ctx, focal_loss_pt, p_t, gamma=gamma), expected, atol=atol, inputs={"P_t": p_t}
        )
    return checks.combine(parts)


# --------------------------------------------------------------------------- poly1-gradient


def paper_poly1_gradient(p_t: Any, epsilon: Any) -> Any:
    r"""Sec. 3: :math:`-\frac{d}{dP_t}L_{\text{Poly-1}}=1/P_t+\epsilon_1`."""
    return 1 / p_t + epsilon


def multiplied_poly1_gradient(p_t: Any, epsilon: Any) -> Any:
    r"""Control: :math:`(1+\epsilon_1)/P_t` (epsilon multiplies the gradient)."""
    return (1 + epsilon) / p_t


FD_STEP = 1e-6


@claim(
    "polyloss.poly1-gradient",
    paper=PAPER,
    source="Sec. 3",
    statement=(
        r"-\frac{d}{dP_t}L_{\text{Poly-1}}=\frac1{P_t}+\epsilon_1"
        r"=\sum_{j\ge1}(1-P_t)^{j-1}+\epsilon_1"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "epsilon-multiplies",
            r"-\frac{d}{dP_t}L_{\text{Poly-1}}=\frac{1+\epsilon_1}{P_t}",
            {"gradient": multiplied_poly1_gradient},
        )
    ],
)
def poly1_gradient(
    ctx: Context, gradient: Callable[[Any, Any], Any] = paper_poly1_gradient
) -> Evidence:
    r"""sympy derivative and series; central differences of the backend's ``poly_loss``.

    Parts: :math:`-\frac{d}{dP_t}(-\log P_t+\epsilon_1(1-P_t))` equals the candidate;
    the candidate's Maclaurin polynomial in :math:`u=1-P_t` of degree 29 is
    :math:`\sum_{j=1}^{30}u^{j-1}+\epsilon_1`. Float: central differences of
    ``poly_loss(P_t, (eps,))`` with :math:`h=10^{-6}` at :math:`P_t\in[0.05,0.95]`,
    :math:`\epsilon_1\in\{-1,0,1,2\}`; truncation :math:`h^2|f'''|/6\le h^2/(3(P_t-h)^3)`
    (:math:`f'''=-2/P_t^3`) and rounding :math:`4u(1+|\log P_t|+|\epsilon_1|)/h`.
    """
    loss = -sympy.log(PROBABILITY) + EPSILON * (1 - PROBABILITY)
    expected_series = sum(COMPLEMENT ** (j - 1) for j in range(1, SERIES_ORDER + 1)) + EPSILON
    candidate_series = sympy.series(
        gradient(1 - COMPLEMENT, EPSILON), COMPLEMENT, 0, SERIES_ORDER
    ).removeO()
    label = "Maclaurin polynomial of the candidate in u = sum u^(j-1) + epsilon_1"
    steps = {
        "derivative": Derivation(
            (
                Equal(
                    "-d/dP_t (-log P_t + epsilon_1 (1 - P_t)) = candidate",
                    -sympy.diff(loss, PROBABILITY),
                    gradient(PROBABILITY, EPSILON),
                ),
            )
        ).check(),
        "series": polynomial_part(label, candidate_series, expected_series),
    }
    parts: dict[str, Evidence] = {"sympy": checks.combine(steps)}

    rng = ctx.rng(0)
    count = ctx.pick(500, 20_000)
    for epsilon in (-1.0, 0.0, 1.0, 2.0):
        p_t = rng.uniform(0.05, 0.95, count)
        values = _float(
            ctx, poly_loss, np.concatenate([p_t + FD_STEP, p_t - FD_STEP]), epsilons=(epsilon,)
        )
        difference = -(values[:count] - values[count:]) / (2 * FD_STEP)
        atol = (
            FD_STEP**2 / (3 * (p_t - FD_STEP) ** 3)
            + 4 * UNIT_ROUNDOFF * (1 + np.abs(np.log(p_t)) + abs(epsilon)) / FD_STEP
        )
        parts[f"float epsilon={epsilon}: -dL/dP_t = candidate"] = checks.compare(
            difference,
            np.asarray(gradient(p_t, epsilon), dtype=float),
            atol=atol,
            inputs={"P_t": p_t},
        )
    return checks.combine(parts)
