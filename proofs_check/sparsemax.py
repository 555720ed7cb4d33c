r"""Symbolic claims of Martins & Astudillo (ICML 2016): the binary reductions and the margin.

Ids and statements follow ``shared/claims/sparsemax.md``. Each check takes the
candidate closed form as a keyword argument (a function of a sympy symbol,
defaulting to the paper's statement); each negative control passes a plausible
false candidate to the same check.

The derivations are machine-checked with sympy. For K = 2 and the margin
:math:`t = z_1 - z_2`, Proposition 1 is applied with the support pattern that
each region of t fixes (:math:`t>1`: S = {1}; :math:`|t|\le1`: S = {1, 2},
:math:`\tau=(z_1+z_2-1)/2`; :math:`t<-1`: S = {2}), after checking that the
region's conditions imply the Karush-Kuhn-Tucker conditions of that pattern:
:math:`z_j\ge\tau` on S and :math:`z_j\le\tau` off S, with
:math:`\sum_{j\in S}(z_j-\tau)=1`. These say that :math:`\tau` is the root of
:math:`\sum_j[z_j-\tau]_+=1`, hence the threshold of Proposition 1, also at the
kinks :math:`t=\pm1` where a coordinate of the pattern is zero. The derived
expression is then compared with the candidate ``Piecewise`` region by region,
on every sub-interval of the candidate's own pieces: on an interval the
difference must simplify to 0, at an isolated point it must vanish there. A
failure names a rational point of the sub-interval and the residual there.

Float64 checks run the implementation of :mod:`theory.sparsemax` on the backend
under test against the candidate (lambdified, in NumPy) on a dyadic grid of t in
[-3, 3] with step :math:`2^{-6}` (quick) or :math:`2^{-10}` (full), which holds
-1, 0 and 1 exactly, each point once unshifted and once shifted by a random
dyadic offset :math:`z_2\in 2^{-3}\mathbb Z\cap[-2,2]`. Every score and every
difference of scores is then exact in float64, so the tolerances only cover the
roundings of the evaluation itself; u = 2.2e-16 below (float64 machine epsilon,
twice the unit roundoff, so every bound is conservative by a factor 2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import sympy

from proofs_check.derivation import components, pieces_on, piecewise_mismatches
from theory.sparsemax.claims import PAPER
from theory.sparsemax.losses import (
    hard_sigmoid,
    modified_huber_loss,
    sparse_plus,
    sparsemax_binary_loss,
    sparsemax_loss,
)
from theory.sparsemax.projection import softmax, sparsemax
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

UNIT_ROUNDOFF = 2.2e-16
"""float64 machine epsilon, used as the rounding unit u of the tolerances."""

MARGIN = sympy.Symbol("t", real=True)
"""The binary margin :math:`t = z_1 - z_2`."""

ALPHA = sympy.Symbol("alpha", positive=True)
"""The Tsallis index :math:`\\alpha`."""

Candidate = Callable[[sympy.Symbol], sympy.Expr]
"""A candidate closed form: a function of the margin symbol t returning a sympy expression."""

MarginFormula = Callable[[sympy.Expr], sympy.Expr]
"""A candidate margin: a function of the Tsallis index alpha returning a sympy expression."""

_HALF = sympy.Rational(1, 2)
_QUARTER = sympy.Rational(1, 4)
_Z2 = sympy.Symbol("z_2", real=True)

_BINARY_REGIONS: tuple[tuple[sympy.Set, tuple[int, ...]], ...] = (
    (sympy.Interval.open(1, sympy.oo), (0,)),
    (sympy.Interval(-1, 1), (0, 1)),
    (sympy.Interval.open(-sympy.oo, -1), (1,)),
)
"""Regions of t and the support pattern (0-based classes) each one fixes."""


# --------------------------------------------------------------------------- sympy helpers


def _residual_value(failures: list[dict[str, str]]) -> float | None:
    if not failures:
        return None
    try:
        return float(sympy.sympify(failures[0]["residual"]))
    except (TypeError, ValueError):
        return None


def _exact_part(cases: int, failures: list[dict[str, Any]]) -> Evidence:
    return checks.exact(
        not failures,
        cases=cases,
        residual=_residual_value(failures),
        counterexample=failures[0] if failures else None,
    )


@lru_cache(maxsize=1)
def _binary_kkt() -> tuple[tuple[sympy.Expr, ...], list[dict[str, str]], int]:
    r"""Proposition 1 at K = 2, per region of t: ``(tau per region, failures, cases)``.

    Scores :math:`z=(z_2+t, z_2)`. For each region the threshold of its support
    pattern is :math:`\tau=(\sum_S z_j-1)/|S|`; the region must imply
    :math:`z_j-\tau\ge0` on S and :math:`z_j-\tau\le0` off S (each condition
    is linear in t once :math:`z_2` cancels, and is solved with ``solveset``).
    """
    z = (_Z2 + MARGIN, _Z2)
    taus, failures, cases = [], [], 0
    for region, support in _BINARY_REGIONS:
        tau = (sum(z[j] for j in support) - 1) / len(support)
        taus.append(tau)
        for j in range(2):
            gap = sympy.expand(z[j] - tau)
            condition = gap >= 0 if j in support else gap <= 0
            cases += 1
            if gap.free_symbols - {MARGIN}:
                failures.append({"region": str(region), "class": str(j + 1), "gap": str(gap)})
                continue
            holds_on = sympy.solveset(condition, MARGIN, sympy.S.Reals)
            if not region.is_subset(holds_on):
                failures.append(
                    {
                        "region": str(region),
                        "support": str([s + 1 for s in support]),
                        "class": str(j + 1),
                        "condition": str(condition),
                        "holds_on": str(holds_on),
                    }
                )
    return tuple(taus), failures, cases


def _support_pattern_part() -> Evidence:
    _, failures, cases = _binary_kkt()
    return _exact_part(cases, failures)


def _shift_free(expr: sympy.Expr) -> sympy.Expr:
    """Simplify an expression of :math:`(z_2+t, z_2)`; it must not depend on :math:`z_2`."""
    simplified = sympy.simplify(sympy.expand(expr))
    if _Z2 in simplified.free_symbols:
        raise ValueError(f"derived expression {simplified} depends on z_2: not shift invariant")
    return simplified


# --------------------------------------------------------------------------- float helpers


def _dyadic_binary_scores(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """Scores (N, 2) on the dyadic grid of t in [-3, 3] and their exact margins t (N,)."""
    steps = ctx.pick(64, 1024)
    t = np.arange(-3 * steps, 3 * steps + 1) / steps
    offsets = ctx.rng(0).integers(-16, 17, t.shape[0]) / 8.0
    z2 = np.concatenate([np.zeros_like(t), offsets])
    t = np.concatenate([t, t])
    z = np.stack([z2 + t, z2], axis=1)
    if not np.array_equal(z[:, 0] - z[:, 1], t):  # pragma: no cover - a construction error
        raise RuntimeError("dyadic scores must subtract exactly")
    return z, t


def _lambdified(candidate: Candidate, t: np.ndarray) -> np.ndarray:
    """The candidate evaluated in NumPy (float64) at the margins t."""
    function = sympy.lambdify(MARGIN, candidate(MARGIN), modules="numpy")
    return np.broadcast_to(np.asarray(function(t), dtype=float), t.shape).copy()


def _on_backend(ctx: Context, fn: Callable[..., Any], *arrays: np.ndarray) -> np.ndarray:
    return np.asarray(to_numpy(fn(*(ctx.asarray(a) for a in arrays))), dtype=float)


# --------------------------------------------------------------------------- binary_hard_sigmoid


def paper_hard_sigmoid(t: sympy.Symbol) -> sympy.Expr:
    r"""Section 2, K = 2: 1 for t > 1, (t+1)/2 on [-1, 1], 0 for t < -1 (slope 1/2)."""
    return sympy.Piecewise((1, t > 1), ((t + 1) / 2, t >= -1), (0, True))


def quarter_slope_hard_sigmoid(t: sympy.Symbol) -> sympy.Expr:
    r"""Control: :math:`\mathrm{clip}(t/4+1/2,0,1)`, the slope of :math:`\sigma` at 0."""
    return sympy.Piecewise((1, t > 2), (t / 4 + _HALF, t >= -2), (0, True))


def keras_hard_sigmoid(t: sympy.Symbol) -> sympy.Expr:
    r"""Control: Keras' hard sigmoid :math:`\mathrm{clip}(0.2t+0.5,0,1)`."""
    fifth = sympy.Rational(1, 5)
    return sympy.Piecewise((1, t > 5 * _HALF), (fifth * t + _HALF, t >= -5 * _HALF), (0, True))


def logistic_sigmoid(t: sympy.Symbol) -> sympy.Expr:
    r"""The logistic function :math:`\sigma(t)=1/(1+e^{-t})`."""
    return 1 / (1 + sympy.exp(-t))


@claim(
    "sparsemax.binary_hard_sigmoid",
    paper=PAPER,
    source="§2, K = 2",
    statement=(
        r"K=2,\ t=z_1-z_2:\ \mathrm{softmax}_1(z)=\sigma(t),\ "
        r"\mathrm{sparsemax}_1(z)=\begin{cases}1,&t>1\\(t+1)/2,&-1\le t\le1\\0,&t<-1\end{cases}"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "slope-quarter",
            r"\mathrm{sparsemax}_1(z)=\mathrm{clip}(t/4+1/2,0,1)",
            {"candidate": quarter_slope_hard_sigmoid},
        ),
        Control(
            "keras-hard-sigmoid",
            r"\mathrm{sparsemax}_1(z)=\mathrm{clip}(0.2t+0.5,0,1)",
            {"candidate": keras_hard_sigmoid},
        ),
    ],
)
def binary_hard_sigmoid(ctx: Context, candidate: Candidate = paper_hard_sigmoid) -> Evidence:
    r"""Derive :math:`\mathrm{sparsemax}_1` at K = 2 per region and compare with the candidate.

    Parts: the regions imply their support patterns; the derived
    :math:`z_1-\tau` (or 0) equals the candidate on each sub-interval; softmax_1
    simplifies to :math:`\sigma(t)`, whose slope at 0 is 1/4; float64 grid:
    ``sparsemax`` and ``hard_sigmoid`` on the backend against the candidate.

    Tolerance of the grid, per instance with M = max|z_j|: the threshold is
    :math:`\mathrm{fl}(\mathrm{fl}(z_1+z_2)-1)/2` (two roundings of magnitude at
    most 2M+1; halving is exact) and :math:`z_1-\tau` one more rounding of a value
    in [0, 1], so :math:`|\delta p|\le 2u(1+2M)`; the candidate at an exact t
    costs at most two roundings of size 1. Hence atol = 8u(1+2M) (<= 1.9e-14, M <= 5
    here). For the unshifted softmax grid, :math:`e^{z_j-\max z}` (exact
    argument, exp within 1 ulp) and the normalisation give a relative error of a
    few u on values in [0, 1], as does the NumPy :math:`\sigma`; atol = 16u.
    """
    parts: dict[str, Evidence] = {"support pattern per region": _support_pattern_part()}

    taus, _, _ = _binary_kkt()
    z1 = _Z2 + MARGIN
    derived = []
    for (region, support), tau in zip(_BINARY_REGIONS, taus, strict=True):
        derived.append((region, _shift_free(z1 - tau) if 0 in support else sympy.Integer(0)))
    cases, failures = piecewise_mismatches(candidate(MARGIN), derived, MARGIN)
    parts["sparsemax_1 = candidate per region"] = _exact_part(cases, failures)

    softmax_1 = sympy.exp(z1) / (sympy.exp(z1) + sympy.exp(_Z2))
    sigma = logistic_sigmoid(MARGIN)
    softmax_residual = sympy.simplify(softmax_1 - sigma)
    slope_at_zero = sympy.diff(sigma, MARGIN).subs(MARGIN, 0)
    softmax_ok = softmax_residual == 0 and sympy.simplify(slope_at_zero - _QUARTER) == 0
    parts["softmax_1 = sigma(t), slope 1/4 at 0"] = checks.exact(
        softmax_ok,
        cases=2,
        counterexample={"residual": str(softmax_residual), "slope_at_0": str(slope_at_zero)},
    )

    z, t = _dyadic_binary_scores(ctx)
    expected = _lambdified(candidate, t)
    atol = 8 * UNIT_ROUNDOFF * (1 + 2 * np.max(np.abs(z), axis=1))
    inputs = {"z": z, "t": t}
    parts["float: sparsemax_1 vs candidate"] = checks.compare(
        _on_backend(ctx, sparsemax, z)[:, 0], expected, atol=atol, inputs=inputs
    )
    parts["float: hard_sigmoid vs candidate"] = checks.compare(
        _on_backend(ctx, hard_sigmoid, t), expected, atol=atol, inputs=inputs
    )
    unshifted = z[:, 1] == 0
    parts["float: softmax_1 vs sigma"] = checks.compare(
        _on_backend(ctx, softmax, z[unshifted])[:, 0],
        1 / (1 + np.exp(-t[unshifted])),
        atol=16 * UNIT_ROUNDOFF,
        inputs={"z": z[unshifted]},
    )
    return checks.combine(parts)


# --------------------------------------------------------------------------- binary_huber


def paper_binary_loss(t: sympy.Symbol) -> sympy.Expr:
    r"""Section 3, K = 2, gold label 1: -t for t <= -1, (t-1)^2/4 on (-1, 1), 0 for t >= 1."""
    return sympy.Piecewise((-t, t <= -1), ((t - 1) ** 2 / 4, t < 1), (0, True))


def half_curvature_binary_loss(t: sympy.Symbol) -> sympy.Expr:
    r"""Control: the constant 1/2 instead of 1/4, middle piece :math:`(t-1)^2/2`."""
    return sympy.Piecewise((-t, t <= -1), ((t - 1) ** 2 / 2, t < 1), (0, True))


def zhang_modified_huber(t: sympy.Symbol) -> sympy.Expr:
    r"""Control: Zhang's unscaled modified Huber loss, :math:`-4t` below -1, else :math:`[1-t]_+^2`.

    It is C¹ like the true loss, but four times larger.
    """
    return sympy.Piecewise((-4 * t, t < -1), ((1 - t) ** 2, t < 1), (0, True))


def hinge(t: sympy.Symbol) -> sympy.Expr:
    r"""Control: the hinge loss :math:`\max(0, 1-t)`."""
    return sympy.Piecewise((1 - t, t < 1), (0, True))


def sign_slip_binary_loss(t: sympy.Symbol) -> sympy.Expr:
    r"""Control: the middle piece :math:`(t+1)^2/4` (a sign slip)."""
    return sympy.Piecewise((-t, t <= -1), ((t + 1) ** 2 / 4, t < 1), (0, True))


def _one_sided(
    candidate: sympy.Expr, point: sympy.Rational, symbol: sympy.Symbol = MARGIN
) -> dict[str, sympy.Expr]:
    """Value at a point and the one-sided values and slopes of the pieces next to it.

    The piece on each side is the one active at the midpoint between the point
    and the nearest breakpoint of the candidate on that side (or a unit away), so
    it is the polynomial of the whole open interval adjacent to the point.
    """
    pieces = pieces_on(candidate, sympy.S.Reals)
    breaks = set()
    for _, subset in pieces:
        for part in components(subset):
            breaks |= {b for b in part.boundary if b.is_finite}
    left_break = max([b for b in breaks if b < point], default=point - 1)
    right_break = min([b for b in breaks if b > point], default=point + 1)
    result: dict[str, sympy.Expr] = {"value": candidate.subs(symbol, point)}
    for side, probe in (("left", (left_break + point) / 2), ("right", (right_break + point) / 2)):
        expr = next(e for e, s in pieces if s.contains(probe) == sympy.true)
        result[f"{side}_value"] = sympy.simplify(expr.subs(symbol, point))
        result[f"{side}_slope"] = sympy.simplify(sympy.diff(expr, symbol).subs(symbol, point))
    return result


@claim(
    "sparsemax.binary_huber",
    paper=PAPER,
    source="§3, Huber",
    statement=(
        r"K=2,\ k=1,\ t=z_1-z_2:\ L_{\mathrm{sparsemax}}(t)="
        r"\begin{cases}-t,&t\le-1\\\tfrac14(t-1)^2,&-1<t<1\\0,&t\ge1\end{cases}"
        r"=\tfrac14\tilde L_{\mathrm{Zhang}}(t)=\mathrm{sparse\_plus}(-t)"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    notes=(
        "The factor 1/4 relative to Zhang's (2004) modified Huber loss is [derived]: the "
        "paper's own wording of the factor is unconfirmed."
    ),
    controls=[
        Control(
            "half-curvature",
            r"middle piece \tfrac12(t-1)^2 (constant 1/2 instead of 1/4)",
            {"candidate": half_curvature_binary_loss},
        ),
        Control(
            "unscaled-zhang",
            r"L_{\mathrm{sparsemax}}=\tilde L_{\mathrm{Zhang}} (no factor 1/4)",
            {"candidate": zhang_modified_huber},
        ),
        Control("hinge", r"L_{\mathrm{sparsemax}}=\max(0,1-t)", {"candidate": hinge}),
        Control(
            "sign-slip",
            r"middle piece \tfrac14(t+1)^2",
            {"candidate": sign_slip_binary_loss},
        ),
    ],
)
def binary_huber(ctx: Context, candidate: Candidate = paper_binary_loss) -> Evidence:
    r"""Derive the two-class sparsemax loss per region and compare with the candidate.

    Parts: the regions imply their support patterns; the derived
    :math:`-z_1+\tfrac12\sum_S(z_j^2-\tau^2)+\tfrac12` equals the candidate on
    each sub-interval; the candidate is C¹ at t = ±1 (exact one-sided values and
    slopes); float64 grid: ``sparsemax_loss`` (K = 2, q = δ₁),
    ``sparsemax_binary_loss``, ``modified_huber_loss``/4 and ``sparse_plus(-t)`` on
    the backend against the candidate.

    Tolerance of the grid, per instance: the loss is evaluated on the shifted
    scores :math:`s=z-\max z\in\{0,-|t|\}` (exact on the dyadic grid), with
    :math:`|\delta p|\le 2u(1+2|t|)` from the projection (see
    :func:`binary_hard_sigmoid`). In :math:`(p-q)^\top s-\tfrac12\|p\|^2+\tfrac12`
    that perturbation costs at most :math:`(2|t|+1)|\delta p|` and the six roundings
    of terms bounded by :math:`1+|t|` another :math:`6u(1+|t|)`; together at most
    :math:`10u(1+|t|)^2`. The binary closed forms and the lambdified candidate
    take at most four roundings of values bounded by :math:`4(1+|t|)^2`. Hence
    atol = 32u(1+|t|)^2 (<= 1.2e-13 at |t| = 3).
    """
    parts: dict[str, Evidence] = {"support pattern per region": _support_pattern_part()}

    taus, _, _ = _binary_kkt()
    z = (_Z2 + MARGIN, _Z2)
    derived = []
    for (region, support), tau in zip(_BINARY_REGIONS, taus, strict=True):
        loss = -z[0] + _HALF * sum(z[j] ** 2 - tau**2 for j in support) + _HALF
        derived.append((region, _shift_free(loss)))
    expr = candidate(MARGIN)
    cases, failures = piecewise_mismatches(expr, derived, MARGIN)
    parts["loss = candidate per region"] = _exact_part(cases, failures)

    smooth_failures = []
    for point in (sympy.Integer(-1), sympy.Integer(1)):
        sides = _one_sided(expr, point)
        values = {sides["value"], sides["left_value"], sides["right_value"]}
        if len(values) != 1 or sides["left_slope"] != sides["right_slope"]:
            smooth_failures.append({"t": str(point), **{k: str(v) for k, v in sides.items()}})
    parts["C1 at t = -1, 1"] = checks.exact(
        not smooth_failures,
        cases=2,
        counterexample=smooth_failures[0] if smooth_failures else None,
    )

    scores, t = _dyadic_binary_scores(ctx)
    expected = _lambdified(candidate, t)
    atol = 32 * UNIT_ROUNDOFF * (1 + np.abs(t)) ** 2
    inputs = {"z": scores, "t": t}
    gold = np.tile([1.0, 0.0], (t.shape[0], 1))
    implementations = {
        "sparsemax_loss(z, delta_1)": _on_backend(ctx, sparsemax_loss, scores, gold),
        "sparsemax_binary_loss(t)": _on_backend(ctx, sparsemax_binary_loss, t),
        "modified_huber_loss(t)/4": _on_backend(ctx, modified_huber_loss, t) / 4,
        "sparse_plus(-t)": _on_backend(ctx, sparse_plus, -t),
    }
    for name, actual in implementations.items():
        parts[f"float: {name} vs candidate"] = checks.compare(
            actual, expected, atol=atol, inputs=inputs
        )
    return checks.combine(parts)


# --------------------------------------------------------------------------- fy_margin


def tsallis_margin(alpha: sympy.Expr) -> sympy.Expr:
    r"""FY paper: the Tsallis-:math:`\alpha` loss has margin :math:`1/(\alpha-1)`."""
    return 1 / (alpha - 1)


def reciprocal_alpha_margin(alpha: sympy.Expr) -> sympy.Expr:
    r"""Control: the margin :math:`1/\alpha`."""
    return 1 / alpha


def separable_margin(g: sympy.Expr, p: sympy.Symbol) -> sympy.Expr:
    r"""The margin :math:`g'(1)-g'(0^+)` of :math:`\Omega(p)=\sum_j g(p_j)`.

    Infinite when :math:`g'(0^+)=-\infty` (Shannon).
    """
    slope = sympy.diff(g, p)
    return sympy.simplify(slope.subs(p, 1) - sympy.limit(slope, p, 0, "+"))


def _rational_mismatch(
    derived: sympy.Expr, candidate: sympy.Expr, symbol: sympy.Symbol, points: list[sympy.Rational]
) -> dict[str, str] | None:
    for point in points:
        at_derived = sympy.simplify(derived.subs(symbol, point))
        at_candidate = sympy.simplify(candidate.subs(symbol, point))
        if at_derived != at_candidate:
            return {
                str(symbol): str(point),
                "derived": str(at_derived),
                "candidate": str(at_candidate),
                "residual": str(at_candidate - at_derived),
            }
    return None


@claim(
    "sparsemax.fy_margin",
    paper=PAPER,
    source="FY paper, margin",
    statement=(
        r"\Omega(p)=\sum_j g(p_j)\Rightarrow m=g'(1)-g'(0):\ \text{Gini}\ m=1,\ "
        r"\text{Tsallis-}\alpha\ m=1/(\alpha-1),\ \alpha=1.5\ m=2,\ \text{Shannon}\ m=\infty"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    notes=(
        "Stated in Blondel, Martins & Niculae, Learning with Fenchel-Young Losses (JMLR 2020); "
        "its proposition number is unconfirmed. Gini is Tsallis-2, Shannon the limit alpha -> 1."
    ),
    controls=[
        Control(
            "reciprocal-alpha",
            r"m=1/\alpha",
            {"margin": reciprocal_alpha_margin},
        )
    ],
)
def fy_margin(ctx: Context, margin: MarginFormula = tsallis_margin) -> Evidence:
    r"""Derive :math:`g'(1)-g'(0)` for Gini, Tsallis-:math:`\alpha`, entmax-1.5 and Shannon.

    Parts: Gini :math:`g=p^2/2` gives 1 = m(2); Tsallis
    :math:`g=(p^\alpha-p)/(\alpha(\alpha-1))` with symbolic :math:`\alpha=1+\beta>1`
    gives m(α) identically; entmax-1.5 gives 2 = m(3/2); Shannon :math:`g=p\log p`
    has :math:`g'(0^+)=-\infty` (no finite margin) and m(α) must diverge as
    :math:`\alpha\to1^+`. Float64, with ``sparsemax_loss`` on the backend and
    m = m(2): the loss is 0 at :math:`z_k=m+\max_{j\ne k}z_j` and positive at
    :math:`z_k=m-10^{-3}+\max_{j\ne k}z_j` (m is the smallest margin that works).

    Tolerances: scores are drawn from :math:`2^{-3}\mathbb Z\cap[-4,4]`, so with
    m = 1 the shift, the cumulative sums, the support test, :math:`\tau=-1` and
    the clip are all exact and the loss is exactly 0: atol = 0 at the margin.
    Inside the margin by :math:`d=10^{-3}` the loss is at least
    :math:`\tfrac12\|\delta_k-p\|^2\ge d^2/4=2.5\times10^{-7}` (the lower bound
    of ``sparsemax.loss_nonneg``), while its rounding error is below
    :math:`32u(1+R)^2\le 7.1\times10^{-13}` for score range :math:`R\le 9`
    (as in :func:`binary_huber`, with K <= 10 terms): the loss must exceed that.
    """
    parts: dict[str, Evidence] = {}
    p = sympy.Symbol("p", positive=True)
    beta = sympy.Symbol("beta", positive=True)

    gini = separable_margin(p**2 / 2, p)
    at_two = sympy.simplify(margin(sympy.Integer(2)))
    parts["Gini: m = 1 = m(2)"] = checks.exact(
        gini == 1 and at_two == gini,
        residual=float(at_two - gini) if (at_two - gini).is_number else None,
        counterexample={"alpha": "2", "derived": str(gini), "candidate": str(at_two)},
    )

    alpha = 1 + beta
    tsallis = separable_margin((p**alpha - p) / (alpha * (alpha - 1)), p)
    candidate = margin(alpha)
    identical = sympy.simplify(tsallis - candidate) == 0
    mismatch = None
    if not identical:
        mismatch = _rational_mismatch(
            tsallis, candidate, beta, [sympy.Rational(n, 2) for n in (1, 2, 3, 5, 7)]
        )
        if mismatch is not None:
            mismatch["alpha"] = str(1 + sympy.sympify(mismatch.pop("beta")))
    parts["Tsallis-alpha: m(alpha) for alpha > 1"] = checks.exact(
        identical,
        residual=float(sympy.sympify(mismatch["residual"])) if mismatch else None,
        counterexample=mismatch or {"derived": str(tsallis), "candidate": str(candidate)},
    )

    three_halves = sympy.Rational(3, 2)
    entmax = sympy.simplify(tsallis.subs(beta, three_halves - 1))
    at_entmax = sympy.simplify(margin(three_halves))
    parts["entmax-1.5: m = 2"] = checks.exact(
        entmax == 2 and at_entmax == 2,
        residual=float(at_entmax - 2) if (at_entmax - 2).is_number else None,
        counterexample={"alpha": "3/2", "derived": str(entmax), "candidate": str(at_entmax)},
    )

    shannon = separable_margin(p * sympy.log(p), p)
    shannon_limit = sympy.limit(margin(alpha), beta, 0, "+")
    parts["Shannon: no finite margin"] = checks.exact(
        shannon == sympy.oo and shannon_limit == sympy.oo,
        counterexample={"derived": str(shannon), "candidate_as_alpha_to_1": str(shannon_limit)},
    )

    m = float(at_two)
    rng = ctx.rng(0)
    gap = 1e-3
    for size in ctx.pick((2, 3, 5, 10), (2, 3, 4, 5, 7, 10)):
        count = ctx.pick(200, 5000)
        z = rng.integers(-32, 33, (count, size)) / 8.0
        label = rng.integers(0, size, count)
        gold = np.eye(size)[label]
        others = np.where(gold > 0, -np.inf, z).max(axis=1)
        at_margin = np.where(gold > 0, (others + m)[:, None], z)
        inside = np.where(gold > 0, (others + m - gap)[:, None], z)
        loss_at = _on_backend(ctx, sparsemax_loss, at_margin, gold)
        loss_inside = _on_backend(ctx, sparsemax_loss, inside, gold)
        spread = at_margin.max(axis=1) - at_margin.min(axis=1)
        rounding = 32 * UNIT_ROUNDOFF * (1 + spread) ** 2
        parts[f"K={size}: loss = 0 at margin m(2)"] = checks.compare(
            loss_at, 0.0, atol=0.0, inputs={"z": at_margin, "k": label}
        )
        parts[f"K={size}: loss > 0 at m(2) - 1e-3"] = checks.nonnegative(
            loss_inside - rounding, inputs={"z": inside, "k": label}
        )
    return checks.combine(parts)


# --------------------------------------------------------------------------- derivations
#
# The steps of the paper's proofs, checked one by one with
# :class:`proofs_check.derivation.Derivation`. A wrong step (the control) fails at
# that step, with its residual at a rational point.

_TOP_SUM = sympy.Symbol("S_k", real=True)  # sum of the k largest scores
_KTH = sympy.Symbol("z_k", real=True)  # the k-th largest score
_NEXT = sympy.Symbol("z_{k+1}", real=True)  # the (k+1)-th largest score
_RANK = sympy.Symbol("k", positive=True, integer=True)
_CLASSES = sympy.Symbol("K", positive=True, integer=True)


def paper_threshold(support_sum: sympy.Expr, support_size: sympy.Expr, classes: sympy.Expr):
    r"""Proposition 1: :math:`\tau = (\sum_{j\le k} z_{(j)} - 1)/k`."""
    return (support_sum - 1) / support_size


def threshold_over_classes(support_sum: sympy.Expr, support_size: sympy.Expr, classes: sympy.Expr):
    r"""Control: :math:`\tau = (\sum_{j\le k} z_{(j)} - 1)/K`."""
    return (support_sum - 1) / classes


def threshold_derivation_chain(threshold: Callable[..., sympy.Expr] = paper_threshold):
    """The proof of Proposition 1 as a chain of checked steps."""
    from proofs_check.derivation import AtLeast, Derivation, Equal

    scores = sympy.symbols("z_1:4", real=True)  # a support of size 3 inside K = 4 classes
    tau3 = threshold(sum(scores), 3, 4)
    tau_k = threshold(_TOP_SUM, _RANK, _CLASSES)
    return Derivation(
        (
            Equal(
                "the support coordinates z_j - tau sum to one (KKT, |S| = 3 of K = 4)",
                sum(z - tau3 for z in scores),
                1,
            ),
            Equal(
                "k (z_(k) - tau_k) equals the support test 1 + k z_(k) - sum_{j<=k} z_(j)",
                _RANK * (_KTH - tau_k),
                1 + _RANK * _KTH - _TOP_SUM,
            ),
            Equal(
                "the test's slack changes by k (z_(k+1) - z_(k)) from k to k+1",
                (1 + (_RANK + 1) * _NEXT - (_TOP_SUM + _NEXT)) - (1 + _RANK * _KTH - _TOP_SUM),
                _RANK * (_NEXT - _KTH),
            ),
            AtLeast(
                "k (z_(k) - z_(k+1)) >= 0 for sorted scores: the test holds on a prefix",
                lambda x, m: x[0] * x[1],
                [(1, 1000), (0, 100)],
            ),
        )
    )


@claim(
    "sparsemax.threshold_derivation",
    paper=PAPER,
    source="Prop. 1 (proof)",
    statement=(
        r"\sum_{j\in S}(z_j-\tau)=1\Rightarrow\tau=\frac{\sum_{j\le k}z_{(j)}-1}{k},\ "
        r"k(z_{(k)}-\tau_k)=1+kz_{(k)}-\sum_{j\le k}z_{(j)}\text{ non-increasing in }k"
    ),
    method="symbolic",
    provenance="confirmed",
    controls=[
        Control(
            "denominator-K",
            r"\tau=(\sum_{j\le k}z_{(j)}-1)/K",
            {"threshold": threshold_over_classes},
        )
    ],
)
def threshold_derivation(
    ctx: Context, threshold: Callable[..., sympy.Expr] = paper_threshold
) -> Evidence:
    """Each step of the threshold formula's proof, by sympy (and the certifier)."""
    return threshold_derivation_chain(threshold).check()


def gini_conjugate(scores: Sequence[sympy.Expr], tau: sympy.Expr) -> sympy.Expr:
    r"""The paper's :math:`\Omega^*(z)=\tfrac12\sum_{j\in S}(z_j^2-\tau^2)` (Gini entropy)."""
    return sum(z**2 - tau**2 for z in scores) / 2


def shannon_conjugate(scores: Sequence[sympy.Expr], tau: sympy.Expr) -> sympy.Expr:
    r"""Control: the Shannon conjugate :math:`\log\sum_j e^{z_j}` in place of the Gini one."""
    return sympy.log(sum(sympy.exp(z) for z in scores))


def fy_derivation_chain(conjugate: Callable[..., sympy.Expr] = gini_conjugate):
    """The Fenchel-Young form of the sparsemax loss as a chain of checked steps.

    Support S = {1, 2, 3} inside K = 4 classes (z_4 off the support), target q.
    """
    from proofs_check.derivation import Derivation, Equal

    z = sympy.symbols("z_1:5", real=True)
    q = sympy.symbols("q_1:5", real=True)
    support = z[:3]
    tau = (sum(support) - 1) / 3
    p = [zj - tau for zj in support] + [0]
    omega_star = conjugate(support, tau)
    inner = sum(pj * zj for pj, zj in zip(p, z, strict=True))
    paper_loss = -sum(qj * zj for qj, zj in zip(q, z, strict=True)) + gini_conjugate(support, tau)
    paper_loss += sum(qj**2 for qj in q) / 2
    fy_loss = (
        omega_star + sum(qj**2 for qj in q) / 2 - sum(qj * zj for qj, zj in zip(q, z, strict=True))
    )
    closed = (
        sum((qj - zj) ** 2 for qj, zj in zip(q, z, strict=True))
        - sum((pj - zj) ** 2 for pj, zj in zip(p, z, strict=True))
    ) / 2
    return Derivation(
        (
            Equal(
                "Omega*(z) is <p, z> - |p|^2/2 at p = sparsemax(z)",
                omega_star,
                inner - sum(pj**2 for pj in p) / 2,
            ),
            Equal(
                "the FY loss Omega*(z) + Omega(q) - <z, q> is the sparsemax loss",
                fy_loss,
                paper_loss,
            ),
            Equal(
                "closed form |q - z|^2/2 - |sparsemax(z) - z|^2/2",
                closed,
                paper_loss,
            ),
            *(
                Equal(
                    f"d Omega*/d z_{j + 1} is sparsemax_{j + 1}(z)",
                    sympy.diff(omega_star, z[j]),
                    p[j],
                )
                for j in range(4)
            ),
        )
    )


@claim(
    "sparsemax.fy_form_derivation",
    paper=PAPER,
    source="§3 (loss) and FY paper (Gini entropy)",
    statement=(
        r"\Omega^*(z)=\tfrac12\sum_S(z_j^2-\tau^2)=\langle p,z\rangle-\tfrac12\|p\|^2,\ "
        r"L=\Omega^*(z)+\tfrac12\|q\|^2-\langle z,q\rangle=\tfrac12\|q-z\|^2-\tfrac12\|p-z\|^2,\ "
        r"\nabla\Omega^*=\mathrm{sparsemax}"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "shannon-conjugate",
            r"\Omega^*(z)=\log\sum_j e^{z_j} (Shannon) in the same chain",
            {"conjugate": shannon_conjugate},
        )
    ],
    notes="The closed form 1/2|q-z|^2 - 1/2|p-z|^2 is derived (FY framework), not in the paper.",
)
def fy_form_derivation(
    ctx: Context, conjugate: Callable[..., sympy.Expr] = gini_conjugate
) -> Evidence:
    """Each step of the Fenchel-Young form of the loss, by sympy, on a fixed support."""
    return fy_derivation_chain(conjugate).check()
