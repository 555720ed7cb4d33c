r"""SeaBird's size argument for the dice loss, as a 1-D toy (Kumar et al., CVPR 2024).

Claim ``dice.size-robustness-toy`` of ``shared/claims/catalog.md`` §117 [derived]: a
**fragment** and a **toy** stated by this project; the paper's simplified theorem is
**not confirmed**. Objects and notation: :mod:`theory.catalog.dice`.

The check proves with sympy that the dice loss of an interval shifted by
:math:`\varepsilon` is :math:`\min(|\varepsilon|,\ell)/\ell` (from the generic overlap
of two intervals), integrates it against :math:`N(0,\sigma^2)` in closed form, shows the
expectation strictly decreasing in :math:`\ell`, and that the centre's L1/L2 losses do
not depend on :math:`\ell`; the backend's dice loss on rasterised masks (the segmentation
survey's :func:`~theory.catalog.segloss.dice_coefficient`) is compared with the candidate
on random shifts and lengths.

Float tolerances: a pixel coverage :math:`p_k` is a difference of numbers of size at
most n (the grid width), so it errs by at most :math:`2n\epsilon`; TP, FP and FN sum n
of them (plus n roundings of sums <= n): an absolute error <= :math:`4n^2\epsilon`
each. :math:`D=2TP/(2TP+FP+FN)` with denominator :math:`2\ell\ge2` then errs by at most
:math:`4\cdot4n^2\epsilon/(2\ell)`; allowed :math:`16n^2\epsilon/\ell` (3.5e-11 at
n = 100). The SciPy closed form against a 30-digit sympy evaluation: erfc, expm1 and
exp are accurate to a few ulp, plus a division and an addition of positive terms:
rtol :math:`16\epsilon`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import sympy

from proofs_check.derivation import Derivation, Equal
from theory.catalog.dice import (
    EPS,
    PAPER,
    expected_interval_dice_loss,
    rasterised_dice_loss,
)
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

EPSILON = sympy.Symbol("epsilon", real=True)
ELL = sympy.Symbol("ell", positive=True)
SIGMA = sympy.Symbol("sigma", positive=True)
U = sympy.Symbol("u", positive=True)
T = sympy.Symbol("t", real=True)
MAX_LENGTH = 24
"""Largest object length (pixels) of the float part; shifts are uniform in [-2l, 2l]."""
GRID = (-2 * MAX_LENGTH, 5 * MAX_LENGTH)
"""Pixel grid (origin, pixels): [-48, 72] holds [0, l] and [e, e + l] for |e| <= 2l."""

LossCandidate = Callable[[Any, Any], Any]
ExpectationCandidate = Callable[[sympy.Expr], sympy.Expr]


def _symbolic(*values: Any) -> bool:
    return any(isinstance(v, sympy.Basic) for v in values)


def paper_loss(offset: Any, length: Any) -> Any:
    r"""The dice loss of the shifted interval, :math:`\min(|\varepsilon|,\ell)/\ell`
    (sympy or NumPy)."""
    if _symbolic(offset, length):
        return sympy.Min(sympy.Abs(offset), length) / length
    return np.minimum(np.abs(offset), length) / length


def unsaturated_loss(offset: Any, length: Any) -> Any:
    r"""Control: :math:`|\varepsilon|/\ell`, the dice loss without its saturation at 1."""
    if _symbolic(offset, length):
        return sympy.Abs(offset) / length
    return np.abs(offset) / length


def paper_expected_loss(u: sympy.Expr) -> sympy.Expr:
    r""":math:`\mathbb E[1-D]=\operatorname{erfc}(u/\sqrt2)+\sqrt{2/\pi}(1-e^{-u^2/2})/u`,
    :math:`u=\ell/\sigma`."""
    return (
        sympy.erfc(u / sympy.sqrt(2)) + sympy.sqrt(2 / sympy.pi) * (1 - sympy.exp(-(u**2) / 2)) / u
    )


def expected_dice_coefficient(u: sympy.Expr) -> sympy.Expr:
    r"""Control: :math:`1-\mathbb E[1-D]=\mathbb E[D]`, an expectation that rises with
    :math:`\ell` (the coefficient taken for the loss)."""
    return 1 - paper_expected_loss(u)


def unsaturated_expected_loss(u: sympy.Expr) -> sympy.Expr:
    r"""Control: :math:`\mathbb E|\varepsilon|/\ell=\sqrt{2/\pi}/u`."""
    return sympy.sqrt(2 / sympy.pi) / u


def _overlap(offset: sympy.Expr, length: sympy.Expr) -> sympy.Expr:
    r"""Length of :math:`[0,\ell]\cap[\varepsilon,\varepsilon+\ell]` (generic intersection)."""
    return sympy.Max(0, sympy.Min(length, offset + length) - sympy.Max(0, offset))


def _pull_scale(expr: sympy.Expr, scale: sympy.Symbol) -> sympy.Expr:
    r"""Positive homogeneity :math:`\min(\ell a,\ell b)=\ell\min(a,b)` (and max) for
    :math:`\ell>0`, applied wherever every argument is a multiple of ``scale``."""

    def scalable(e: sympy.Basic) -> bool:
        return isinstance(e, sympy.Min | sympy.Max) and all(
            scale not in sympy.cancel(a / scale).free_symbols for a in e.args
        )

    def pulled(e: sympy.Basic) -> sympy.Expr:
        return scale * e.func(*(sympy.cancel(a / scale) for a in e.args))

    return expr.replace(scalable, pulled)


P = sympy.Symbol("p", nonnegative=True)
REGIONS = (
    ("t <= -1", -1 - P),
    ("-1 < t <= 0", -P / (1 + P)),
    ("0 <= t < 1", P / (1 + P)),
    ("t >= 1", 1 + P),
)
r"""Parametrisations of the four pieces of the real line by :math:`p\ge0` (together onto
:math:`\mathbb R`); on each, min, max and abs of the toy resolve to rational functions."""


@lru_cache(maxsize=4)
def _geometry(loss: LossCandidate) -> Evidence:
    r"""Sympy: candidate loss = :math:`1-2|I\cap J|/(|I|+|J|)` for every :math:`\varepsilon`
    and :math:`\ell>0`.

    With :math:`\varepsilon=\ell t` and the positive homogeneity of min/max the
    difference is a function of t alone; it is shown zero on each of the pieces
    :data:`REGIONS` of the real line (parametrised by :math:`p\ge0`, where the
    assumptions resolve every min, max and abs).
    """
    dice = 2 * _overlap(ELL * T, ELL) / (2 * ELL)
    difference = sympy.cancel(_pull_scale(loss(ELL * T, ELL) - (1 - dice), ELL))
    if ELL in difference.free_symbols:
        return checks.exact(False, counterexample={"step": "homogeneity", "left": str(difference)})
    steps = tuple(
        Equal(
            f"{name}: loss(l t, l) - (1 - 2|[0,l] & [lt, lt+l]|/(2l)) = 0",
            sympy.cancel(difference.subs(T, t_of_p)),
            0,
        )
        for name, t_of_p in REGIONS
    )
    return Derivation(steps).check()


@lru_cache(maxsize=4)
def _integral(loss: LossCandidate) -> sympy.Expr:
    r""":math:`\int\text{loss}(\varepsilon,\ell)\,N(\varepsilon;0,\sigma^2)\,d\varepsilon`
    (sympy, symbolic :math:`\ell,\sigma`; cached per candidate loss)."""
    density = sympy.exp(-(EPSILON**2) / (2 * SIGMA**2)) / (SIGMA * sympy.sqrt(2 * sympy.pi))
    return sympy.integrate(loss(EPSILON, ELL) * density, (EPSILON, -sympy.oo, sympy.oo))


@lru_cache(maxsize=4)
def _expectation(loss: LossCandidate, expected: ExpectationCandidate) -> Evidence:
    r"""Sympy: the integral of the candidate loss equals the candidate closed form at
    :math:`u=\ell/\sigma`, which is strictly decreasing on :math:`(0,\infty)`."""
    closed = expected(U)
    parts = {
        "sympy: E[loss] = candidate(l/sigma)": Derivation(
            (
                Equal(
                    "integral of loss against N(0, sigma^2) = candidate(l/sigma)",
                    sympy.expand(_integral(loss).rewrite(sympy.erf)),
                    sympy.expand(closed.subs(U, ELL / SIGMA).rewrite(sympy.erf)),
                ),
            )
        ).check(),
        "sympy: candidate strictly decreasing in u = l/sigma": checks.exact(
            bool(sympy.is_strictly_decreasing(closed, sympy.Interval.open(0, sympy.oo), U)),
            counterexample={"candidate": str(closed)},
        ),
    }
    return checks.combine(parts)


@lru_cache(maxsize=1)
def _regression() -> Evidence:
    r"""Sympy: the centre offset is :math:`\varepsilon`; :math:`\mathbb E|\varepsilon|=
    \sigma\sqrt{2/\pi}` and :math:`\mathbb E\varepsilon^2=\sigma^2`, free of :math:`\ell`."""
    density = sympy.exp(-(EPSILON**2) / (2 * SIGMA**2)) / (SIGMA * sympy.sqrt(2 * sympy.pi))
    centre_offset = (EPSILON + ELL / 2) - ELL / 2
    l1 = sympy.integrate(sympy.Abs(centre_offset) * density, (EPSILON, -sympy.oo, sympy.oo))
    l2 = sympy.integrate(centre_offset**2 * density, (EPSILON, -sympy.oo, sympy.oo))
    return checks.combine(
        {
            "sympy": Derivation(
                (
                    Equal("centre offset = epsilon", centre_offset, EPSILON),
                    Equal("E|eps| = sigma sqrt(2/pi)", l1, SIGMA * sympy.sqrt(2 / sympy.pi)),
                    Equal("E eps^2 = sigma^2", l2, SIGMA**2),
                    Equal("d/dl E|eps| = 0", sympy.diff(l1, ELL), 0),
                    Equal("d/dl E eps^2 = 0", sympy.diff(l2, ELL), 0),
                )
            ).check()
        }
    )


@claim(
    "dice.size-robustness-toy",
    paper=PAPER,
    source="Sec. 3 (dice loss vs. regression losses under depth noise; derived toy)",
    statement=(
        r"\text{toy: }[0,\ell]\ \text{vs. }[\varepsilon,\varepsilon+\ell],\ "
        r"\varepsilon\sim N(0,\sigma^2):\ 1-D=\min(|\varepsilon|,\ell)/\ell,\ "
        r"\mathbb E[1-D]=\operatorname{erfc}\tfrac{u}{\sqrt2}+\sqrt{\tfrac2\pi}"
        r"\tfrac{1-e^{-u^2/2}}u\ (u=\ell/\sigma)\ \text{decreasing in }\ell;\ "
        r"\mathbb E|\varepsilon|=\sigma\sqrt{2/\pi},\ \mathbb E\varepsilon^2=\sigma^2\ "
        r"\text{free of }\ell\ \text{(fragment; paper's theorem not confirmed)}"
    ),
    method="symbolic",
    provenance="derived",
    notes="A toy of this project; the paper's simplified theorem is not confirmed.",
    controls=[
        Control(
            "expectation-increases",
            r"\mathbb E[\text{dice}]=1-\operatorname{erfc}\tfrac{u}{\sqrt2}-\sqrt{\tfrac2\pi}"
            r"\tfrac{1-e^{-u^2/2}}u\ \text{(increasing in }\ell)",
            {"expected": expected_dice_coefficient},
        ),
        Control(
            "unsaturated",
            r"1-D=|\varepsilon|/\ell,\ \mathbb E[1-D]=\sigma\sqrt{2/\pi}/\ell",
            {"loss": unsaturated_loss, "expected": unsaturated_expected_loss},
        ),
    ],
)
def size_robustness_toy(
    ctx: Context,
    loss: LossCandidate = paper_loss,
    expected: ExpectationCandidate = paper_expected_loss,
) -> Evidence:
    r"""Sympy parts, then the backend's rasterised dice loss and the SciPy closed form.

    Sympy: (1) with :math:`\varepsilon=\ell t` and the positive homogeneity of min/max,
    ``loss`` equals :math:`1-2|[0,\ell]\cap[\varepsilon,\varepsilon+\ell]|/(2\ell)`
    on each piece :math:`t\le-1`, :math:`-1<t\le0`, :math:`0\le t<1`, :math:`t\ge1`;
    (2) the integral of ``loss`` against :math:`N(0,\sigma^2)` equals ``expected`` at
    :math:`u=\ell/\sigma` (symbolic :math:`\ell,\sigma`), and ``expected`` is strictly
    decreasing on :math:`(0,\infty)` (``sympy.is_strictly_decreasing``);
    (3) the centre's L1/L2 losses have expectations :math:`\sigma\sqrt{2/\pi}` and
    :math:`\sigma^2`, with zero derivative in :math:`\ell`.

    Float: ``ctx.pick(400, 4000)`` random lengths (1..24 pixels) and shifts (uniform in
    :math:`[-2\ell,2\ell]`): the backend's
    :func:`~theory.catalog.dice.rasterised_dice_loss` (segloss's Dice on masks) against
    ``loss`` (atol :math:`16n^2\epsilon/\ell`, module docstring); and
    :func:`~theory.catalog.dice.expected_interval_dice_loss` (SciPy) against a 30-digit
    evaluation of ``expected`` on a log grid of :math:`u\in[10^{-2},10^2]` (rtol
    :math:`16\epsilon`).
    """
    parts: dict[str, Evidence] = {
        "sympy: dice loss of the shifted interval": _geometry(loss),
        "sympy: expectation": _expectation(loss, expected),
        "sympy: centre L1/L2 free of l": _regression(),
    }

    rng = ctx.rng(0)
    count = ctx.pick(400, 4000)
    length = rng.integers(1, MAX_LENGTH + 1, count).astype(float)
    offset = rng.uniform(-2.0, 2.0, count) * length
    origin, pixels = GRID
    rasterised = np.asarray(
        to_numpy(rasterised_dice_loss(ctx.asarray(offset), ctx.asarray(length), pixels, origin)),
        dtype=float,
    )
    parts["float: rasterised dice loss (segloss) = candidate"] = checks.compare(
        rasterised,
        np.asarray(loss(offset, length), dtype=float),
        atol=16 * pixels**2 * EPS / length,
        inputs={"offset": offset, "length": length},
    )

    grid = np.logspace(-2, 2, ctx.pick(9, 41))
    reference = np.array([float(sympy.N(expected(sympy.Float(v, 30)), 30)) for v in grid])
    parts["float: SciPy closed form = candidate (30 digits)"] = checks.compare(
        expected_interval_dice_loss(grid, 1.0), reference, rtol=16 * EPS, inputs={"u": grid}
    )
    return checks.combine(parts)
