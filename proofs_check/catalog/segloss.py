r"""Reductions between segmentation losses (Azad et al., arXiv 2312.05391, 2023).

Claims ``segloss.tversky-reductions``, ``segloss.dice-jaccard`` (symbolic) and
``segloss.focal-ce`` (certified) of ``shared/claims/catalog.md`` §38. The
identities are proved with sympy in the symbols :math:`TP, FP, FN > 0` (so they
hold for soft masks as well as hard ones), then the float implementations of
:mod:`theory.catalog.segloss` are run on the backend against them on random soft
masks.

Float tolerances: TP, FP and FN are sums of n <= 64 products of numbers in [0, 1],
each with a relative error of at most n EPS; a ratio of a few such sums carries
at most 4 n EPS relative, hence rtol = 8 n EPS (about 1.1e-13 at n = 64).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import sympy

from proofs_check.derivation import AtLeast, Derivation, Equal
from theory.catalog.segloss import (
    EPS,
    PAPER,
    cross_entropy,
    dice_coefficient,
    focal_loss,
    focal_tversky_loss,
    jaccard_index,
    random_soft_masks,
    tversky_index,
)
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.certify import Budget
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

TP, FP, FN = sympy.symbols("TP FP FN", positive=True)
ALPHA, BETA = sympy.symbols("alpha beta", nonnegative=True)
SIZES = (1, 8, 64)


def _on_backend(ctx: Context, fn: Callable[..., Any], *arrays: np.ndarray, **kw: Any) -> np.ndarray:
    return np.asarray(to_numpy(fn(*(ctx.asarray(a) for a in arrays), **kw)), dtype=float)


def tversky(alpha: Any, beta: Any) -> sympy.Expr:
    r""":math:`TI_{\alpha,\beta}=TP/(TP+\alpha FN+\beta FP)` in the symbols TP, FP, FN."""
    return TP / (TP + alpha * FN + beta * FP)


DICE = 2 * TP / (2 * TP + FP + FN)
JACCARD = TP / (TP + FP + FN)
INDICES = {"dice": DICE, "jaccard": JACCARD}
FLOAT_INDICES = {"dice": dice_coefficient, "jaccard": jaccard_index}


# --------------------------------------------------------------------------- tversky-reductions

Reduction = tuple[tuple[Fraction, Fraction], str]
PAPER_REDUCTIONS: tuple[Reduction, ...] = (
    ((Fraction(1, 2), Fraction(1, 2)), "dice"),
    ((Fraction(1), Fraction(1)), "jaccard"),
)


@claim(
    "segloss.tversky-reductions",
    paper=PAPER,
    source="Sec. 3 (region-based losses: Tversky, Focal-Tversky)",
    statement=(
        r"TI_{\frac12,\frac12}=D,\ TI_{1,1}=J,\ "
        r"\text{Focal-Tversky with exponent }1=1-TI_{\alpha,\beta}"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "half-half-is-jaccard",
            r"TI_{\frac12,\frac12}=J",
            {"reductions": (((Fraction(1, 2), Fraction(1, 2)), "jaccard"),)},
        )
    ],
)
def tversky_reductions(
    ctx: Context, reductions: tuple[Reduction, ...] = PAPER_REDUCTIONS
) -> Evidence:
    r"""Each ``((α, β), index)`` reduction with sympy, then on the backend.

    Parts: :math:`TI_{\alpha,\beta}` equals the named index identically in
    TP, FP, FN > 0 (:class:`~proofs_check.derivation.Equal`); the Focal-Tversky
    loss with exponent 1 equals :math:`1-TI_{\alpha,\beta}` for symbolic α, β;
    float64: :func:`~theory.catalog.segloss.tversky_index` against the named index
    and :func:`~theory.catalog.segloss.focal_tversky_loss` (exponent 1, random
    α, β) against :math:`1-TI` on random soft masks (rtol 8 n EPS, module docstring).
    """
    steps = [
        Equal(f"TI({a},{b}) = {name}", tversky(sympy.Rational(a), sympy.Rational(b)), INDICES[name])
        for (a, b), name in reductions
    ]
    steps.append(
        Equal(
            "Focal-Tversky, exponent 1 = 1 - TI",
            (1 - tversky(ALPHA, BETA)) ** 1,
            1 - tversky(ALPHA, BETA),
        )
    )
    parts = {"sympy": Derivation(tuple(steps)).check()}
    rng = ctx.rng(0)
    for size in SIZES:
        p, g = random_soft_masks(rng, ctx.pick(200, 2000), size)
        inputs = {"prediction": p, "target": g}
        for (a, b), name in reductions:
            parts[f"n={size}: TI({a},{b}) = {name}"] = checks.compare(
                _on_backend(ctx, tversky_index, p, g, alpha=float(a), beta=float(b)),
                _on_backend(ctx, FLOAT_INDICES[name], p, g),
                rtol=8 * size * EPS,
                inputs=inputs,
            )
        alpha, beta = (float(v) for v in rng.uniform(0, 2, 2))
        parts[f"n={size}: FTL(exponent 1) = 1 - TI"] = checks.compare(
            _on_backend(ctx, focal_tversky_loss, p, g, alpha=alpha, beta=beta, exponent=1.0),
            1.0 - _on_backend(ctx, tversky_index, p, g, alpha=alpha, beta=beta),
            atol=8 * size * EPS,
            inputs=inputs,
        )
    return checks.combine(parts)


# --------------------------------------------------------------------------- dice-jaccard


def dice_of_jaccard(j: Any) -> Any:
    r""":math:`D=2J/(1+J)`."""
    return 2 * j / (1 + j)


def dice_equals_jaccard(j: Any) -> Any:
    r"""Control: :math:`D=J`."""
    return j


@claim(
    "segloss.dice-jaccard",
    paper=PAPER,
    source="Sec. 3 (Dice and Jaccard losses)",
    statement=r"D=\frac{2J}{1+J},\ J=\frac D{2-D},\ J\le D",
    method="symbolic",
    provenance="unconfirmed-numbering",
    controls=[Control("dice-equals-jaccard", r"D=J", {"relation": dice_equals_jaccard})],
)
def dice_jaccard(ctx: Context, relation: Callable[[Any], Any] = dice_of_jaccard) -> Evidence:
    r"""The relation D = ``relation(J)`` and its consequences, with sympy and on the backend.

    Sympy, in TP, FP, FN > 0: :math:`D=` ``relation``:math:`(J)`; the inverse
    :math:`J=D/(2-D)`; :math:`D-J=TP(FP+FN)/((2TP+FP+FN)(TP+FP+FN))`, a ratio of
    positive terms, so :math:`J\le D`; and :math:`\frac{d}{dJ}\frac{2J}{1+J}=
    \frac2{(1+J)^2}>0` (the losses are monotone transforms of each other).
    Float64 on random soft masks: Dice against ``relation`` of Jaccard (rtol
    8 n EPS) and :math:`J\le D` (the same allowance).
    """
    j = sympy.Symbol("J", positive=True)
    steps = (
        Equal("D = relation(J)", DICE, relation(JACCARD)),
        Equal("J = D/(2 - D)", JACCARD, DICE / (2 - DICE)),
        Equal(
            "D - J = TP(FP+FN)/((2TP+FP+FN)(TP+FP+FN))",
            DICE - JACCARD,
            TP * (FP + FN) / ((2 * TP + FP + FN) * (TP + FP + FN)),
        ),
        Equal("d/dJ 2J/(1+J) = 2/(1+J)^2", sympy.diff(2 * j / (1 + j), j), 2 / (1 + j) ** 2),
    )
    parts = {"sympy": Derivation(steps).check()}
    parts["sympy: the ratios are positive"] = checks.exact(
        bool((TP * (FP + FN) / ((2 * TP + FP + FN) * (TP + FP + FN))).is_positive)
        and bool((2 / (1 + j) ** 2).is_positive),
        cases=2,
    )
    rng = ctx.rng(0)
    for size in SIZES:
        p, g = random_soft_masks(rng, ctx.pick(200, 2000), size)
        inputs = {"prediction": p, "target": g}
        dice = _on_backend(ctx, dice_coefficient, p, g)
        jaccard = _on_backend(ctx, jaccard_index, p, g)
        parts[f"n={size}: D = relation(J)"] = checks.compare(
            dice, relation(jaccard), rtol=8 * size * EPS, atol=8 * size * EPS, inputs=inputs
        )
        parts[f"n={size}: J <= D"] = checks.nonnegative(
            dice - jaccard, tol=8 * size * EPS, inputs=inputs
        )
    return checks.combine(parts)


# --------------------------------------------------------------------------- focal-ce

LOG_BOX = (Fraction(1, 64), Fraction(8))
r"""Certified range of :math:`s=-\log p_t`:
:math:`p_t\in[e^{-8},e^{-1/64}]=[3.4\cdot10^{-4},0.984]`."""
GAMMA_BOX = (Fraction(0), Fraction(5))


@claim(
    "segloss.focal-ce",
    paper=PAPER,
    source="Sec. 3 (distribution-based losses: focal loss)",
    statement=(
        r"FL_0=CE;\ 0\le FL_\gamma\le CE\ (\gamma\ge0);\ "
        r"FL_\gamma\ \text{decreasing in}\ \gamma\ \text{for}\ p_t\in(0,1)"
    ),
    method="certified",
    provenance="unconfirmed-numbering",
    controls=[Control("focal-above-ce", r"FL_\gamma\ge CE", {"direction": -1})],
)
def focal_ce(ctx: Context, direction: int = 1) -> Evidence:
    r"""A derivation: sympy identities and certified inequalities, then float64.

    With :math:`s=-\log p_t>0`, so that :math:`1-p_t=-\mathrm{expm1}(-s)`:

    1. sympy: :math:`FL_0=CE`, and :math:`FL_\gamma=CE` at :math:`p_t=1` (both 0);
    2. sympy: :math:`CE-FL_\gamma=(-\log p_t)(1-(1-p_t)^\gamma)`;
    3. certified: ``direction`` :math:`\cdot\,s(1-e^{\gamma\log(1-e^{-s})})\ge0` on
       :math:`s\in[1/64,8]`, :math:`\gamma\in[0,5]`;
    4. sympy: :math:`\partial FL_\gamma/\partial\gamma=\log(1-p_t)\,FL_\gamma`;
    5. certified: :math:`-\log(1-e^{-s})\ge0` on the same s range; since
       :math:`FL_\gamma=s\,e^{\gamma\log(1-p_t)}>0` (a positive number times an
       exponential), :math:`\partial FL_\gamma/\partial\gamma\le0`;
    6. float64 on the backend: :func:`~theory.catalog.segloss.focal_loss` at
       :math:`p_t` from 1e-300 to 1 and γ in [0, 10] satisfies
       ``direction``:math:`\cdot(CE-FL)\ge0`, :math:`FL\ge0`, and decreases along a
       γ grid. Allowance: FL and CE are a log and a power of one argument,
       relative error below 4 EPS each, so 8 EPS CE.
    """
    p, g, s = (
        sympy.Symbol("p", positive=True),
        sympy.Symbol("gamma", nonnegative=True),
        sympy.Symbol("s", positive=True),
    )
    focal = -((1 - p) ** g) * sympy.log(p)
    ce = -sympy.log(p)
    sign = Fraction(direction)

    def gap(x: Any, m: Any) -> Any:
        one_minus_p = -m.expm1(-x[0])
        return m.const(str(sign)) * x[0] * (1 - m.exp(x[1] * m.log(one_minus_p)))

    budget = Budget(max_boxes=4_000, seconds=10.0)
    steps = (
        Equal("FL_0 = CE", focal.subs(g, 0), ce),
        Equal("FL = CE = 0 at p = 1", focal.subs(p, 1), ce.subs(p, 1)),
        Equal(
            "CE - FL = (-log p)(1 - (1-p)^gamma)", ce - focal, -sympy.log(p) * (1 - (1 - p) ** g)
        ),
        AtLeast("direction * (CE - FL) >= 0", gap, [LOG_BOX, GAMMA_BOX], budget=budget),
        Equal("dFL/dgamma = log(1-p) FL", sympy.diff(focal, g), sympy.log(1 - p) * focal),
        AtLeast("-log(1 - p) >= 0", lambda x, m: -m.log(-m.expm1(-x[0])), [LOG_BOX], budget=budget),
    )
    parts = {"derivation": Derivation(steps).check()}
    parts["sympy: FL = s exp(gamma log(1-p)) with s > 0"] = checks.exact(
        bool((s * sympy.exp(g * sympy.Symbol("L", real=True))).is_positive), cases=1
    )

    rng = ctx.rng(0)
    count = ctx.pick(400, 4000)
    prob = np.concatenate([10.0 ** rng.uniform(-300, 0, count), rng.random(count), [1.0]])
    gammas = np.linspace(0.0, 10.0, 21)
    ce_values = _on_backend(ctx, cross_entropy, prob)
    allowance = 8 * EPS * ce_values
    focal_values = np.stack(
        [_on_backend(ctx, focal_loss, prob, gamma=float(v)) for v in gammas], axis=1
    )
    inputs = {"p_t": prob}
    parts["float: direction (CE - FL) >= 0"] = checks.nonnegative(
        float(sign) * (ce_values[:, None] - focal_values) + allowance[:, None], inputs=inputs
    )
    parts["float: FL >= 0"] = checks.nonnegative(focal_values, inputs=inputs)
    parts["float: FL decreasing in gamma"] = checks.nonnegative(
        focal_values[:, :-1] - focal_values[:, 1:] + allowance[:, None], inputs=inputs
    )
    return checks.combine(parts)
