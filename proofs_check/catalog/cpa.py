r"""Cosine power annealing (sharpDARTS, arXiv 2019): the closed form and its cosine limit.

Claim ``cpa.cosine-limit`` (``shared/claims/catalog.md`` §39, [confirmed] against the
official code, ``cosine_power_annealing.py``). Notation of :mod:`theory.catalog.cpa`:
:math:`c_t=\tfrac12(1+\cos(\pi t/T))`, exponent order p, and the normalised power curve
:math:`\varphi_p(c)=(p^c-1)/(p-1)`. The check takes the candidate normalised curve (a
function of (p, c) written with arithmetic operators only, so that it runs on sympy
symbols and on NumPy arrays) as a keyword argument defaulting to the statement; the
control passes :math:`p^c` without the :math:`-1` and :math:`1/(p-1)` normalisation.

Tolerances use u = 2^-53 (float64 unit roundoff); each is derived in the docstring of
the check.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy

from proofs_check.derivation import Derivation, Equal, probed_equal
from theory.catalog.cpa import PAPER, cosine_power_annealing
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

UNIT_ROUNDOFF = 2.0**-53
"""float64 unit roundoff u = 1.1e-16."""

P = sympy.Symbol("p", positive=True)
C = sympy.Symbol("c", positive=True)

EXPONENT_ORDERS = (1.0001, 2.0, 10.0)
"""The spec's exponent orders p (1.0001 probes the limit p -> 1)."""
HORIZONS = (10, 100, 300, 1000)
"""Epoch counts T of the numeric parts (300: the paper's ImageNet run)."""
MAX_LR, MIN_LR = 0.1, 7.5e-4
"""The official code's ImageNet example: eta_max = 0.1, eta_min = 7.5e-4."""


def normalised_power(p: Any, c: Any) -> Any:
    r"""The statement's normalised curve :math:`\varphi_p(c)=(p^c-1)/(p-1)`."""
    return (p**c - 1) / (p - 1)


def unnormalised_power(p: Any, c: Any) -> Any:
    r"""Control: :math:`p^{c}` without the :math:`-1` and :math:`1/(p-1)` normalisation."""
    return p**c


def _code(ctx: Context, epochs: np.ndarray, p: float, horizon: float) -> np.ndarray:
    rates = cosine_power_annealing(
        ctx.asarray(epochs), MAX_LR, MIN_LR, exponent_order=p, max_epoch=horizon
    )
    return np.asarray(to_numpy(rates), dtype=float)


def _rounding(p: float) -> float:
    r"""Absolute float64 error allowed between the code's rate and the closed form's.

    The code forms :math:`p^{c+1}` (relative error 2u, plus :math:`2u\ln p` from the
    rounded exponent c + 1) and subtracts the minimum p and divides by :math:`p^2-p`:
    relative to the proportion, :math:`4u\,p(1+\ln p)/(p-1)`; the closed form's
    :math:`p^c-1` over :math:`p-1` errs by :math:`2u\,p(1+\ln p)/(p-1)`; the two
    :math:`c_t` (computed by different namespaces) differ by at most 2u, moving
    :math:`\varphi_p` by :math:`2u\,p\ln p/(p-1)`. Doubled, times
    :math:`\eta_{\max}-\eta_{\min}`, plus 4u :math:`\eta_{\max}` for the affine map.
    """
    log_p = math.log(p)
    per_unit = 2 * UNIT_ROUNDOFF * (6 * p * (1 + log_p) / (p - 1) + 2 * p * log_p / (p - 1) + 4)
    return per_unit * (MAX_LR - MIN_LR) + 4 * UNIT_ROUNDOFF * MAX_LR


@claim(
    "cpa.cosine-limit",
    paper=PAPER,
    source="official code, cosine_power_annealing.py (function cosine_power_annealing)",
    statement=(
        r"\eta_t=\eta_{\min}+(\eta_{\max}-\eta_{\min})\frac{p^{c_t+1}-\min p^{c+1}}"
        r"{\max p^{c+1}-\min p^{c+1}}=\eta_{\min}+(\eta_{\max}-\eta_{\min})"
        r"\frac{p^{c_t}-1}{p-1}\ (c\in[0,1]),\ \lim_{p\to1}\frac{p^{x}-1}{p-1}=x;"
        r"\ t=1..T:\ 0\le\text{offset}\le(\eta_{\max}-\eta_{\min})\frac{p\ln p}{p-1}"
        r"\frac{\pi^2}{4T^2}"
    ),
    method="symbolic",
    provenance="confirmed",
    notes=(
        "Confirmed against the official code; the O(1/T^2) offset bound is derived here "
        "(the spec states its order only)."
    ),
    controls=[
        Control(
            "unnormalised-power",
            r"\eta_t=\eta_{\min}+(\eta_{\max}-\eta_{\min})p^{c_t}"
            r"\ (\to\text{cosine annealing as }p\to1)",
            {"curve": unnormalised_power},
        )
    ],
)
def cosine_limit(ctx: Context, curve: Callable[[Any, Any], Any] = normalised_power) -> Evidence:
    r"""sympy for the rescaling and the limit; the reimplemented code against the closed form.

    Parts:

    1. sympy: the code's min-max rescaling of :math:`p^{c+1}` over :math:`c\in[0,1]`
       (minimum p at c = 0, maximum :math:`p^2` at c = 1, p > 1),
       :math:`(p^{c+1}-p)/(p^2-p)`, equals the candidate :math:`\varphi_p(c)`;
    2. sympy: :math:`\lim_{p\to1}\varphi_p(x)=x` (cosine annealing);
    3. float, on the grid t = 0..T (it spans c in [0, 1]), p in {1.0001, 2, 10},
       T in {10, 100, 300, 1000}: :func:`~theory.catalog.cpa.cosine_power_annealing`
       on the backend equals :math:`\eta_{\min}+(\eta_{\max}-\eta_{\min})\varphi_p(c_t)`
       (the candidate in NumPy), within :func:`_rounding` (<= 1.2e-11 at p = 1.0001);
       and at p = 1 (the code's special case) it equals cosine annealing, within
       :math:`4u\eta_{\max}`;
    4. float, on the code's default grid t = 1..T: the offset
       :math:`\eta^{code}_t-\eta_{\min}-(\eta_{\max}-\eta_{\min})\varphi_p(c_t)` lies in
       :math:`[0,(\eta_{\max}-\eta_{\min})\,p\ln p/(p-1)\cdot\pi^2/(4T^2)]`, up to the same
       rounding (derived: the offset is
       :math:`(\eta_{\max}-\eta_{\min})(p^{c_t}-1)(\frac1{p^{c_1}-1}-\frac1{p-1})`, largest
       at t = 1 where it is :math:`(\eta_{\max}-\eta_{\min})(p-p^{c_1})/(p-1)`, and
       :math:`p-p^{1-\delta}\le p\,\delta\ln p` with
       :math:`\delta=\sin^2(\pi/2T)\le\pi^2/4T^2`);
    5. float, p = 1.0001: :math:`|\varphi_p(c_t)-c_t|\le(\ln p)^2p/(8(p-1))` (= 1.25e-5;
       :math:`\varphi_p` and the chord c agree at 0 and 1 and
       :math:`\varphi_p''\le(\ln p)^2p/(p-1)` on [0, 1]), up to the rounding of part 3.
    """
    parts: dict[str, Evidence] = {}
    rescaled = (P ** (C + 1) - P) / (P**2 - P)
    parts["sympy: min-max rescaling of p^(c+1) = candidate"] = probed_equal(
        "min-max rescaling of p^(c+1) over c in [0, 1]", rescaled, curve(P, C)
    )
    x = sympy.Symbol("x", positive=True)
    parts["sympy: lim_{p->1} candidate = x"] = Derivation(
        (Equal("lim_{p -> 1} candidate(p, x) = x", sympy.limit(curve(P, x), P, 1), x),)
    ).check()

    spread = MAX_LR - MIN_LR
    offsets_scaled: dict[str, float] = {}
    for horizon in HORIZONS:
        spanning = np.arange(horizon + 1, dtype=float)  # t = 0..T
        official = np.arange(1, horizon + 1, dtype=float)  # t = 1..T, the code's default
        c_span = (1 + np.cos(np.pi * spanning / horizon)) / 2
        c_official = (1 + np.cos(np.pi * official / horizon)) / 2
        at_one = _code(ctx, spanning, 1.0, horizon)
        parts[f"T={horizon}, p=1: code = cosine annealing (t = 0..T)"] = checks.compare(
            at_one,
            MIN_LR + spread * c_span,
            atol=4 * UNIT_ROUNDOFF * MAX_LR,
            inputs={"t": spanning},
        )
        for p in EXPONENT_ORDERS:
            tol = _rounding(p)
            closed = MIN_LR + spread * np.asarray(curve(p, c_span), dtype=float)
            parts[f"T={horizon}, p={p}: code = closed form (t = 0..T)"] = checks.compare(
                _code(ctx, spanning, p, horizon), closed, atol=tol, inputs={"t": spanning}
            )
            closed = MIN_LR + spread * np.asarray(curve(p, c_official), dtype=float)
            offset = _code(ctx, official, p, horizon) - closed
            bound = spread * p * math.log(p) / (p - 1) * math.pi**2 / (4 * horizon**2)
            parts[f"T={horizon}, p={p}: 0 <= offset <= bound (t = 1..T)"] = checks.nonnegative(
                np.minimum(offset, bound - offset), tol=tol, inputs={"t": official}
            )
            offsets_scaled[f"T={horizon}, p={p}"] = float(np.max(np.abs(offset)) * horizon**2)
    p = EXPONENT_ORDERS[0]
    c_grid = np.linspace(0.0, 1.0, 1001)
    limit_bound = math.log(p) ** 2 * p / (8 * (p - 1))
    deviation = np.abs(np.asarray(curve(p, c_grid), dtype=float) - c_grid)
    parts[f"p={p}: |candidate - c| <= (ln p)^2 p / (8 (p - 1))"] = checks.nonnegative(
        limit_bound - deviation, tol=_rounding(p) / spread, inputs={"c": c_grid}
    )
    evidence = checks.combine(parts)
    evidence.details["max |offset| * T^2 on t = 1..T"] = offsets_scaled
    return evidence
