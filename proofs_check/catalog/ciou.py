r"""CIoU's aspect-ratio term (Zheng et al., *Distance-IoU Loss*, AAAI 2020, arXiv 1911.08287).

Claims ``ciou.v-gradient`` (symbolic, [contested]) and ``ciou.v-alpha-range``
(certified, [derived]) of ``shared/claims/catalog.md`` §37, on

.. math::
    v=\frac4{\pi^2}\Big(\arctan\frac{w^{gt}}{h^{gt}}-\arctan\frac wh\Big)^2,\qquad
    \alpha=\frac v{(1-IoU)+v}.

The printed gradient. The paper prints
:math:`\partial v/\partial w=+\frac8{\pi^2}(\arctan\frac{w^{gt}}{h^{gt}}-\arctan\frac wh)
\frac h{w^2+h^2}`
and :math:`\partial v/\partial h=-\frac8{\pi^2}(\ldots)\frac w{w^2+h^2}`. Differentiation
gives the opposite signs; in the DIoU repository (issue Zzh-tju/DIoU #19, also
tensorflow/addons #2701) the first author reads the printed expressions as a
descent direction. :func:`v_gradient` checks the printed expressions as
derivatives (the paper's statement, hence ``refuted``) and reports the derived
gradient and the sign relation between the two in its details.

The math objects (:func:`~theory.catalog.diou.aspect_penalty`,
:func:`~theory.catalog.diou.ciou_alpha`, :func:`~theory.catalog.diou.iou`) are in
:mod:`theory.catalog.diou`.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np
import sympy

from proofs_check.derivation import AtLeast, Equal
from theory.catalog.diou import (
    PAPER,
    aspect_penalty,
    boxes_from_centres,
    ciou_alpha,
    iou,
    random_box_pairs,
)
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.certify import Budget
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

EPS = float(np.finfo(np.float64).eps)
W, H, W_GT, H_GT = sympy.symbols("w h w_gt h_gt", positive=True)
ASPECT_GAP = sympy.atan(W_GT / H_GT) - sympy.atan(W / H)
V = 4 / sympy.pi**2 * ASPECT_GAP**2
"""CIoU's :math:`v` in the symbols w, h, w_gt, h_gt (all positive)."""

Gradient = Callable[[], tuple[sympy.Expr, sympy.Expr]]
"""A candidate gradient: returns :math:`(\\partial v/\\partial w, \\partial v/\\partial h)`."""


def _on_backend(ctx: Context, fn: Callable[..., Any], *arrays: np.ndarray) -> np.ndarray:
    return np.asarray(to_numpy(fn(*(ctx.asarray(a) for a in arrays))), dtype=float)


# --------------------------------------------------------------------------- ciou.v-gradient


def printed_gradient() -> tuple[sympy.Expr, sympy.Expr]:
    r"""As printed (Zheng et al. 2020, Eq. (12)): :math:`+\frac8{\pi^2}(\ldots)\frac h{w^2+h^2}`,
    :math:`-\frac8{\pi^2}(\ldots)\frac w{w^2+h^2}`."""
    factor = 8 / sympy.pi**2 * ASPECT_GAP / (W**2 + H**2)
    return factor * H, -factor * W


def derived_gradient() -> tuple[sympy.Expr, sympy.Expr]:
    r"""The spec's derivatives: :math:`-\frac8{\pi^2}(\ldots)\frac h{w^2+h^2}`,
    :math:`+\frac8{\pi^2}(\ldots)\frac w{w^2+h^2}`."""
    dw, dh = printed_gradient()
    return -dw, -dh


def quarter_chain_gradient() -> tuple[sympy.Expr, sympy.Expr]:
    r"""Control: the derived signs with :math:`4/\pi^2` (the chain-rule factor 2 dropped)."""
    dw, dh = derived_gradient()
    return dw / 2, dh / 2


def implementation_gradient() -> tuple[sympy.Expr, sympy.Expr]:
    r"""Control: the derived signs with :math:`1/(w^2+h^2)` replaced by 1, as in the
    authors' implementation (to avoid a blow-up for small boxes)."""
    dw, dh = derived_gradient()
    return dw * (W**2 + H**2), dh * (W**2 + H**2)


@claim(
    "ciou.v-gradient",
    paper=PAPER,
    source="Eq. (12)",
    statement=(
        r"\frac{\partial v}{\partial w}=\frac8{\pi^2}\Big(\arctan\frac{w^{gt}}{h^{gt}}-"
        r"\arctan\frac wh\Big)\frac h{w^2+h^2},\ \frac{\partial v}{\partial h}=-\frac8{\pi^2}"
        r"\Big(\arctan\frac{w^{gt}}{h^{gt}}-\arctan\frac wh\Big)\frac w{w^2+h^2}\ "
        r"\text{(as printed)}"
    ),
    method="symbolic",
    provenance="contested",
    notes=(
        "Contested: differentiation gives the opposite signs (-, +) for both partial "
        "derivatives; the printed expressions are the negated gradient (the first author "
        "calls them a descent direction, issue Zzh-tju/DIoU #19). The check evaluates the "
        "printed expressions as derivatives, so the claim is refuted; its details report the "
        "derived gradient (residual 0) and that printed = -derived."
    ),
    controls=[
        Control(
            "factor-4-over-pi2",
            r"\partial v/\partial w=-\frac4{\pi^2}(\ldots)\frac h{w^2+h^2},\ "
            r"\partial v/\partial h=+\frac4{\pi^2}(\ldots)\frac w{w^2+h^2}",
            {"gradient": quarter_chain_gradient},
        ),
        Control(
            "unit-denominator",
            r"\partial v/\partial w=-\frac8{\pi^2}(\ldots)h,\ "
            r"\partial v/\partial h=+\frac8{\pi^2}(\ldots)w\ \text{(the implementation's form)}",
            {"gradient": implementation_gradient},
        ),
    ],
)
def v_gradient(ctx: Context, gradient: Gradient = printed_gradient) -> Evidence:
    r"""Differentiate v with sympy and compare with the candidate; float64 cross-check.

    Parts: for each of w and h, the sympy derivative of v equals the candidate
    (the difference cancels to 0, else a non-zero value at a rational point refutes
    it; see :func:`_identity`); float64: central
    differences of :func:`~theory.catalog.diou.aspect_penalty` on the backend
    against the lambdified candidate at random boxes (aspect gaps of at least
    0.05 rad, sides 0.5 to 5).

    Tolerance of the float part: step :math:`h_s=10^{-5}`; the truncation error of a
    central difference is :math:`h_s^2|v'''|/6` and the rounding error
    :math:`\epsilon|v|/h_s`. On these boxes the third derivatives of v in w or h
    are below :math:`8/\pi^2\cdot 3\cdot(2/0.5^3)\approx 40`, and :math:`|v|\le1`,
    so the error is below :math:`7\cdot10^{-9}+2.2\cdot10^{-11}`; atol 1e-8.
    Details: the derived gradient, and whether the candidate is its negation.
    """
    symbolic, details = _symbolic_gradient_parts(gradient)
    parts: dict[str, Evidence] = dict(symbolic)
    dw, dh = gradient()

    rng = ctx.rng(0)
    count = ctx.pick(200, 2000)
    sides = rng.uniform(0.5, 5.0, (count, 4))
    gap = np.arctan(sides[:, 2] / sides[:, 3]) - np.arctan(sides[:, 0] / sides[:, 1])
    sides = sides[np.abs(gap) > 0.05]
    box = boxes_from_centres(np.zeros((sides.shape[0], 2)), sides[:, :2])
    target = boxes_from_centres(np.zeros((sides.shape[0], 2)), sides[:, 2:])
    step = 1e-5
    numeric = []
    for corner in (2, 3):  # moving x2 changes w, moving y2 changes h
        plus, minus = box.copy(), box.copy()
        plus[:, corner] += step
        minus[:, corner] -= step
        numeric.append(
            (
                _on_backend(ctx, aspect_penalty, plus, target)
                - _on_backend(ctx, aspect_penalty, minus, target)
            )
            / (2 * step)
        )
    symbols = (W, H, W_GT, H_GT)
    for name, expr, values in (("w", dw, numeric[0]), ("h", dh, numeric[1])):
        candidate = sympy.lambdify(symbols, expr, modules="numpy")(*sides.T)
        parts[f"float: central difference in {name} = candidate"] = checks.compare(
            values, np.broadcast_to(candidate, values.shape), atol=1e-8, inputs={"sides": sides}
        )

    evidence = checks.combine(parts)
    evidence.details.update(details)
    return evidence


@lru_cache(maxsize=8)
def _symbolic_gradient_parts(gradient: Gradient) -> tuple[dict[str, Evidence], dict[str, Any]]:
    """The sympy parts of :func:`v_gradient` and its details, once per candidate."""
    dw, dh = gradient()
    true_dw, true_dh = _true_gradient()
    parts = {
        "dv/dw = candidate (sympy)": _identity("dv/dw", true_dw, dw),
        "dv/dh = candidate (sympy)": _identity("dv/dh", true_dh, dh),
    }
    printed_dw, printed_dh = printed_gradient()
    details = {
        "derived dv/dw": str(sympy.factor(true_dw)),
        "derived dv/dh": str(sympy.factor(true_dh)),
        "printed = -derived": bool(
            sympy.cancel(printed_dw + true_dw) == 0 and sympy.cancel(printed_dh + true_dh) == 0
        ),
        "candidate = -derived": bool(
            sympy.cancel(dw + true_dw) == 0 and sympy.cancel(dh + true_dh) == 0
        ),
    }
    return parts, details


@lru_cache(maxsize=1)
def _true_gradient() -> tuple[sympy.Expr, sympy.Expr]:
    r""":math:`(\partial v/\partial w,\partial v/\partial h)` by sympy differentiation."""
    return sympy.diff(V, W), sympy.diff(V, H)


def _identity(label: str, derived: sympy.Expr, candidate: sympy.Expr) -> Evidence:
    """``derived == candidate``: proved when ``cancel`` reduces the difference to 0 (a
    rational function of w, h and the arctangents, treated as independent generators:
    a zero result is a proof); otherwise refuted by a non-zero value at a rational point,
    or, failing that, decided by :class:`~proofs_check.derivation.Equal` (simplify)."""
    difference = sympy.cancel(derived - candidate)
    if difference == 0:
        return checks.exact(True, details={"step": label, "residual": "0"})
    for point in ((3, 2, 5, 7), (1, 4, 9, 2), (7, 3, 2, 5)):
        at = dict(zip((W, H, W_GT, H_GT), (sympy.Integer(v) for v in point), strict=True))
        value = sympy.N(difference.subs(at), 30)
        if value.is_number and abs(value) > sympy.Float("1e-20"):
            return checks.exact(
                False,
                residual=float(value),
                counterexample={
                    "step": label,
                    "at": {str(k): str(v) for k, v in at.items()},
                    "residual": str(sympy.N(value, 17)),
                    "symbolic_residual": str(sympy.factor(difference)),
                },
            )
    return Equal(label, derived, candidate).check()


# --------------------------------------------------------------------------- ciou.v-alpha-range


@lru_cache(maxsize=1)
def _range_facts() -> dict[str, Evidence]:
    """The sympy parts of :func:`v_alpha_range` (they do not depend on ``v_upper``)."""
    a = sympy.Symbol("a", positive=True)
    at_extremes = V.subs({W: sympy.exp(-a), H: 1, W_GT: sympy.exp(a), H_GT: 1})
    supremum = sympy.limit(at_extremes, a, sympy.oo)
    parts = {
        "sympy: v >= 0 and sup v = 1": checks.exact(
            bool(V.is_nonnegative) and supremum == 1,
            cases=2,
            counterexample={"v_nonnegative": str(V.is_nonnegative), "limit": str(supremum)},
        )
    }
    d, v = sympy.Symbol("d", positive=True), sympy.Symbol("v", nonnegative=True)
    alpha = v / (d + v)
    # rational functions: cancel(lhs - rhs) == 0 decides the identity
    identities = {
        "1 - alpha = d/(d+v)": (1 - alpha, d / (d + v)),
        "alpha - 1/2 = (v-d)/(2(d+v))": (alpha - sympy.Rational(1, 2), (v - d) / (2 * (d + v))),
    }
    for label, (lhs, rhs) in identities.items():
        residual = sympy.cancel(lhs - rhs)
        parts[f"sympy: {label}"] = checks.exact(
            residual == 0, counterexample={"step": label, "residual": str(residual)}
        )
    signs = bool((d / (d + v)).is_positive and alpha.is_nonnegative and (2 * (d + v)).is_positive)
    parts["sympy: signs: 1-alpha > 0, alpha >= 0, 2(d+v) > 0"] = checks.exact(
        signs, cases=3, counterexample={"signs": "not decided by sympy"}
    )
    return parts


LOG_RATIO_BOX = 16
"""The certified box of log aspect ratios, :math:`|\\log(w/h)|,|\\log(w^{gt}/h^{gt})|\\le16`
(ratios from 1.1e-7 to 8.9e6)."""


@claim(
    "ciou.v-alpha-range",
    paper=PAPER,
    source="Eqs. (9)-(10)",
    statement=(r"0\le v<1;\ IoU<1\Rightarrow0\le\alpha<1;\ \alpha\ge\tfrac12\iff v\ge1-IoU"),
    method="certified",
    provenance="derived",
    controls=[Control("v-at-most-quarter", r"v\le\tfrac14", {"v_upper": Fraction(1, 4)})],
)
def v_alpha_range(ctx: Context, v_upper: Fraction = Fraction(1)) -> Evidence:
    r"""Certify :math:`v<` ``v_upper`` over log aspect ratios, and the α facts with sympy.

    Parts:

    - certified (interval branch and bound): with :math:`s=\log(w/h)`,
      :math:`s^{gt}=\log(w^{gt}/h^{gt})` in :math:`[-16,16]^2`,
      ``v_upper`` :math:`-\frac4{\pi^2}(\arctan e^{s^{gt}}-\arctan e^{s})^2>0`: the
      certified lower bound must be positive (strict inequality);
    - sympy: v is a square (>= 0), and
      :math:`\lim_{a\to\infty}v(s=-a,s^{gt}=a)=1`, so 1 is the supremum, approached
      only as the ratios degenerate and never attained;
    - sympy, with :math:`d=1-IoU>0` and :math:`v\ge0`:
      :math:`1-\alpha=d/(d+v)>0`, :math:`\alpha=v/(d+v)\ge0`, and
      :math:`\alpha-\tfrac12=(v-d)/(2(d+v))`, whose denominator is positive, so
      :math:`\alpha\ge\frac12\iff v\ge d`;
    - float64, on the backend: :math:`v<` ``v_upper``, :math:`0\le\alpha<1`, and
      :math:`\alpha\ge\frac12\iff v\ge1-IoU` on random box pairs (pairs with
      :math:`|v-(1-IoU)|<10^{-9}` are left out: there rounding, about 1e-15, could
      flip either side), including extreme aspect ratios up to :math:`10^{\pm6}`.
    """
    parts: dict[str, Evidence] = {}
    upper = Fraction(v_upper)

    def slack(x: Any, m: Any) -> Any:
        gap = m.atan(m.exp(x[1])) - m.atan(m.exp(x[0]))
        return m.const(f"{upper.numerator}/{upper.denominator}") - 4 / m.pi**2 * m.pow(gap, 2)

    certified = AtLeast(
        "v_upper - v >= 0 on log ratios in [-16, 16]^2",
        slack,
        [(-LOG_RATIO_BOX, LOG_RATIO_BOX)] * 2,
        budget=Budget(max_boxes=5_000, seconds=10.0),
    ).check()
    if certified.holds and not certified.margin > 0:  # strictness: positive lower bound
        certified = checks.exact(False, residual=0.0, counterexample={"lower_bound": 0.0})
    parts["certified: v < v_upper"] = certified

    parts.update(_range_facts())

    rng = ctx.rng(0)
    box, target = random_box_pairs(rng, ctx.pick(1000, 10000))
    extreme = boxes_from_centres(rng.uniform(-1, 1, (200, 2)), 10.0 ** rng.uniform(-3, 3, (200, 2)))
    extreme_target = boxes_from_centres(
        rng.uniform(-1, 1, (200, 2)), 10.0 ** rng.uniform(-3, 3, (200, 2))
    )
    box, target = np.concatenate([box, extreme]), np.concatenate([target, extreme_target])
    distinct = ~np.all(box == target, axis=1)
    box, target = box[distinct], target[distinct]
    inputs = {"box": box, "target": target}
    values_v = _on_backend(ctx, aspect_penalty, box, target)
    values_alpha = _on_backend(ctx, ciou_alpha, box, target)
    distance = 1.0 - _on_backend(ctx, iou, box, target)
    # v is computed with a relative error of a few EPS: 8 EPS covers it
    parts["float: v < v_upper"] = checks.nonnegative(
        float(upper) - values_v - 8 * EPS, inputs=inputs
    )
    parts["float: 0 <= alpha < 1"] = checks.nonnegative(
        np.minimum(values_alpha, 1.0 - values_alpha - 8 * EPS), inputs=inputs
    )
    decided = np.abs(values_v - distance) > 1e-9
    parts["float: alpha >= 1/2 iff v >= 1 - IoU"] = checks.agree(
        values_alpha[decided] >= 0.5,
        values_v[decided] >= distance[decided],
        inputs={"box": box[decided], "target": target[decided]},
        names=("alpha>=1/2", "v>=1-IoU"),
    )
    return checks.combine(parts)
