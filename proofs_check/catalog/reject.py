r"""Learning to reject with a fixed predictor (Mohri et al., ICLR 2024): the Bayes rejector
and the pointwise calibration of the exponential-type surrogate.

Claims (``shared/claims/catalog.md`` §64), notation of :mod:`theory.catalog.reject`:

- ``reject.bayes-rule`` [unconfirmed numbering]: for the target loss
  :math:`\ell=\mathbb 1[h(x)\ne y]\mathbb 1[r(x)>0]+c\,\mathbb 1[r(x)\le0]`, the Bayes
  rejector accepts iff :math:`\eta(x)<c`. The statement is standard; its number in the
  paper is not confirmed.
- ``reject.pointwise-calibration`` [derived]: the surrogate's form is *reconstructed, not
  confirmed*. For :math:`L(r;\eta)=\eta e^{\alpha r}+we^{-\beta r}` the minimiser is
  :math:`r^*=\log(\beta w/(\alpha\eta))/(\alpha+\beta)`, so :math:`\mathrm{sign}(r^*)=
  \mathrm{sign}(\beta w-\alpha\eta)`, which agrees with the Bayes rule iff
  :math:`\beta w=\alpha c`; the reject weight w (the paper's :math:`\Psi(c)`) and this
  relation are parameters of the check, since the paper's (α, β, c) relation is not
  confirmed. The excess-risk bound of the check is derived here, not taken from the paper.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import sympy
from scipy.optimize import brentq

from proofs_check.derivation import probed_equal
from theory.catalog.reject import (
    PAPER,
    bayes_rejector,
    conditional_rejection_risk,
    rejection_loss,
    surrogate_conditional_risk,
    surrogate_minimiser,
    surrogate_minimum,
)
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

UNIT_ROUNDOFF = 2.0**-53
"""float64 unit roundoff u."""

# ------------------------------------------------------------------------------ bayes-rule

Rule = Callable[[Any, float, Any], Any]
"""``rule(eta, c, confidence) -> accept``: backend arrays of :math:`\\eta(x)` and
:math:`\\max_yP(y\\mid x)`, the cost c; returns a boolean array (True = accept)."""

COSTS = (
    Fraction(1, 20),
    Fraction(1, 10),
    Fraction(1, 5),
    Fraction(1, 3),
    Fraction(1, 2),
    Fraction(2, 3),
    Fraction(3, 4),
)
"""Rejection costs of the exhaustive check (exact rationals)."""


def paper_rule(eta: Any, c: float, confidence: Any) -> Any:
    r"""The claimed Bayes rejector, accept iff :math:`\eta(x)<c`
    (:func:`~theory.catalog.reject.bayes_rejector` on the backend)."""
    return bayes_rejector(eta, c)


def swapped_cost_rule(eta: Any, c: float, confidence: Any) -> Any:
    r"""Control: accept iff :math:`\eta(x)<1-c` (the cost on the wrong side)."""
    return eta < 1.0 - c


def chow_rule(eta: Any, c: float, confidence: Any) -> Any:
    r"""Control: Chow's rule, accept iff :math:`\max_yP(y\mid x)>1-c`: it thresholds the
    Bayes classifier's confidence and ignores that the fixed h may not predict the argmax."""
    return confidence > 1.0 - c


def _bayes_instances(
    rng: np.random.Generator, count: int, points: int, labels: int
) -> list[tuple[np.ndarray, np.ndarray, Fraction]]:
    """Integer weights W[x, y] of the joint law (row sums > 0), predictor h, cost c.

    Half of the instances put one point exactly at the tie :math:`\\eta(x)=c`.
    """
    instances = []
    for index in range(count):
        c = COSTS[int(rng.integers(len(COSTS)))]
        h = rng.integers(0, labels, size=points)
        weights = rng.integers(0, 10, size=(points, labels))
        weights[weights.sum(axis=1) == 0, 0] = 1
        if index % 2 == 1:  # a tie: mistake mass a t, total b t
            x, t = int(rng.integers(points)), int(rng.integers(1, 4))
            a, b = c.numerator, c.denominator
            row = np.zeros(labels, dtype=np.int64)
            row[h[x]] = (b - a) * t
            others = [y for y in range(labels) if y != h[x]]
            split = rng.multinomial(a * t, np.full(len(others), 1 / len(others)))
            row[others] = split
            weights[x] = row
        instances.append((weights, h, c))
    return instances


@claim(
    "reject.bayes-rule",
    paper=PAPER,
    source="Sec. 3 (Bayes solution of the rejection loss; numbering not confirmed)",
    statement=(
        r"\ell(r,x,y)=\mathbb 1[h(x)\ne y]\mathbb 1[r(x)>0]+c\,\mathbb 1[r(x)\le0],\ "
        r"\eta(x)=P(h(x)\ne y\mid x):\ r^*(x)>0\iff\eta(x)<c\ \text{minimises }\mathbb E\ell"
        r"\ \text{(unique off ties }\eta(x)=c)"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    controls=[
        Control("swapped-cost", r"\text{accept iff }\eta(x)<1-c", {"rule": swapped_cost_rule}),
        Control(
            "chow-confidence",
            r"\text{accept iff }\max_yP(y\mid x)>1-c\text{ (Chow's rule, ignoring the fixed }h)",
            {"rule": chow_rule},
        ),
    ],
)
def bayes_rule(ctx: Context, rule: Rule = paper_rule) -> Evidence:
    r"""Exhaustive search over all :math:`2^m` rejectors of a finite domain, in exact integers.

    Each instance: m = 8 points, 3 labels, a random joint law with integer weights
    :math:`W_{xy}\in\{0,\dots,9\}` (:math:`P=W/\sum W`), a random fixed predictor h (so
    h is often not the Bayes classifier) and a cost :math:`c=a/b` from :data:`COSTS`;
    every other instance has a point exactly at :math:`\eta(x)=c`. ``ctx.pick(40, 300)``
    instances. The expected loss of every sign pattern of r is computed from the loss
    itself, summed over (x, y) and scaled by :math:`b\sum W` to an integer.

    Parts: (1) the candidate's pattern attains the minimum risk (slack = minimum minus
    candidate risk, exact); (2) the minimisers are exactly the patterns that agree with
    the candidate wherever :math:`\eta(x)\ne c` (uniqueness off ties; both decisions at a
    tie); (3) the backend's :func:`~theory.catalog.reject.rejection_loss` equals the
    exact loss on every (pattern, x, y) (its values are copies of 0, 1 and c: atol 0).
    """
    rng = ctx.rng(0)
    points, labels, count = 8, 3, ctx.pick(40, 300)
    patterns = ((np.arange(2**points)[:, None] >> np.arange(points)) & 1).astype(np.int64)
    slack, agree_said, agree_truth, loss_backend, loss_exact = [], [], [], [], []
    eta_rows, cost_rows = [], []
    for weights, h, c in _bayes_instances(rng, count, points, labels):
        a, b = c.numerator, c.denominator
        mistake = (np.arange(labels)[None, :] != h[:, None]).astype(np.int64)  # (m, K)
        accept = patterns[:, :, None]  # (P, m, 1)
        loss = b * mistake[None] * accept + a * (1 - accept)  # b * loss, (P, m, K)
        risks = (loss * weights[None]).sum(axis=(1, 2))  # b * sum(W) * risk, exact
        totals, mistakes = weights.sum(axis=1), (weights * mistake).sum(axis=1)
        eta, confidence = mistakes / totals, weights.max(axis=1) / totals
        said = to_numpy(rule(ctx.asarray(eta), float(c), ctx.asarray(confidence)))
        said = np.asarray(said, dtype=bool).astype(np.int64)
        code = int((said << np.arange(points)).sum())
        scale = float(b * weights.sum())
        slack.append((int(risks.min()) - int(risks[code])) / scale)
        tie = b * mistakes == a * totals  # eta(x) = c exactly
        optimal = risks == risks.min()
        agrees = np.all((patterns == said[None, :]) | tie[None, :], axis=1)
        agree_said.append(optimal)
        agree_truth.append(agrees)
        eta_rows.append(eta)
        cost_rows.append(float(c))
        if len(loss_backend) < 4:  # the float part on a few instances (all patterns)
            signs = np.where(patterns[:, :, None] == 1, 1.0, -1.0) * np.ones((1, 1, labels))
            backend = rejection_loss(
                ctx.asarray(signs),
                ctx.asarray(np.broadcast_to(mistake[None] * 1.0, signs.shape).copy()),
                float(c),
            )
            loss_backend.append(to_numpy(backend))
            loss_exact.append(loss / b)
    inputs = {"eta": np.array(eta_rows), "c": np.array(cost_rows)}
    return checks.combine(
        {
            "candidate attains the Bayes risk (exact)": checks.nonnegative(
                np.array(slack), inputs=inputs
            ),
            "minimisers = candidate off ties (exact)": checks.agree(
                np.array(agree_said),
                np.array(agree_truth),
                inputs=inputs,
                names=("optimal", "agrees off ties"),
            ),
            "float: backend rejection_loss = exact": checks.compare(
                np.concatenate(loss_backend), np.concatenate(loss_exact), atol=0.0
            ),
        }
    )


# -------------------------------------------------------------------- pointwise-calibration

ETA, ALPHA, BETA, WEIGHT = sympy.symbols("eta alpha beta w", positive=True)
R = sympy.Symbol("r", real=True)

SETTINGS = ((1, 1), (2, 2), (1, 2), (2, 1), (2, 19), (Fraction(1, 2), 3))
r"""(α, β) of the sign and numeric parts; α = β and α ≠ β (incl. α = 2, β = 19, as in the
paper's Figure 2 with c = 0.05)."""
CALIBRATION_COSTS = (
    Fraction(1, 20),
    Fraction(1, 10),
    Fraction(1, 4),
    Fraction(1, 3),
    Fraction(1, 2),
    Fraction(3, 4),
)
"""Rejection costs of the sign part."""


def calibrated_relation(alpha: Any, beta: Any, c: Any) -> Any:
    r"""The derived calibrating weight :math:`w=\alpha c/\beta` (plain arithmetic)."""
    return alpha * c / beta


def cost_as_weight(alpha: Any, beta: Any, c: Any) -> Any:
    r"""Control: the reject weight :math:`w=c` whatever β (calibrated only when α = β)."""
    return c


def paper_minimiser(eta: Any, alpha: Any, beta: Any, weight: Any) -> Any:
    r""":math:`r^*=\log(\beta w/(\alpha\eta))/(\alpha+\beta)` (sympy)."""
    return sympy.log(beta * weight / (alpha * eta)) / (alpha + beta)


def swapped_minimiser(eta: Any, alpha: Any, beta: Any, weight: Any) -> Any:
    r"""Control: :math:`r^*=\log(\alpha w/(\beta\eta))/(\alpha+\beta)` (α and β swapped)."""
    return sympy.log(alpha * weight / (beta * eta)) / (alpha + beta)


def _surrogate_slope(r: np.ndarray, eta: np.ndarray, alpha: float, beta: float, w: float):
    """:math:`L'(r)=\\alpha\\eta e^{\\alpha r}-\\beta we^{-\\beta r}` (NumPy)."""
    return alpha * eta * np.exp(alpha * r) - beta * w * np.exp(-beta * r)


def _numeric_root(eta: float, alpha: float, beta: float, w: float) -> float:
    """Root of L' by brentq (xtol 1e-14, rtol 8u: scipy's smallest), bracket found by doubling."""
    width = 1.0
    while _surrogate_slope(np.float64(-width), eta, alpha, beta, w) >= 0 or (
        _surrogate_slope(np.float64(width), eta, alpha, beta, w) <= 0
    ):
        width *= 2.0
    return float(
        brentq(
            _surrogate_slope,
            -width,
            width,
            args=(eta, alpha, beta, w),
            xtol=1e-14,
            rtol=8 * UNIT_ROUNDOFF,
        )
    )


@claim(
    "reject.pointwise-calibration",
    paper=PAPER,
    source="Sec. 4 (surrogate loss; form reconstructed, not confirmed), Fig. 2",
    statement=(
        r"L(r;\eta)=\eta e^{\alpha r}+we^{-\beta r}:\ r^*=\tfrac1{\alpha+\beta}"
        r"\log\tfrac{\beta w}{\alpha\eta},\ \mathrm{sign}(r^*)=\mathrm{sign}(\beta w-\alpha\eta)"
        r"=\mathrm{sign}(c-\eta)\text{ when }\beta w=\alpha c;\ \alpha=\beta,w=c:\ "
        r"\Delta R_\ell\le(1+\sqrt c)\sqrt{\Delta R_L}"
        r"\ \text{(surrogate form and relation derived, not confirmed)}"
    ),
    method="symbolic",
    provenance="derived",
    controls=[
        Control(
            "beta-2alpha-weight-c",
            r"\beta=2\alpha\text{ with reject weight }w=c\text{ is calibrated}",
            {"weight": cost_as_weight, "settings": ((1, 2), (2, 4))},
        ),
        Control(
            "swapped-minimiser",
            r"r^*=\tfrac1{\alpha+\beta}\log\tfrac{\alpha w}{\beta\eta}",
            {"minimiser": swapped_minimiser},
        ),
    ],
)
def pointwise_calibration(
    ctx: Context,
    weight: Callable[[Any, Any, Any], Any] = calibrated_relation,
    minimiser: Callable[[Any, Any, Any, Any], Any] = paper_minimiser,
    settings: Sequence[tuple[Any, Any]] = SETTINGS,
) -> Evidence:
    r"""sympy first-order condition, exact signs on a rational grid, SciPy roots, and the
    derived excess-risk bound.

    Parts: (1) sympy, symbolic :math:`\eta,\alpha,\beta,w>0`: :math:`L'(r^*)=0` for the
    candidate :math:`r^*`, and :math:`L''>0` (so r* is the unique minimiser);
    (2) exact: on :math:`\eta\in\{k/40\}\cup\{c\pm10^{-3}\}`, every c of
    :data:`CALIBRATION_COSTS` and every (α, β) of ``settings`` with :math:`w=` ``weight``
    :math:`(\alpha,\beta,c)`, the sign of the candidate :math:`r^*` (sympy, exact rationals)
    equals :math:`\mathrm{sign}(c-\eta)` (0 at a tie, where both decisions are optimal);
    (3) float: the root of :math:`L'` found by brentq (an independent reference) has
    the sign of :math:`c-\eta` off ties, and the backend's
    :func:`~theory.catalog.reject.surrogate_minimiser` and
    :func:`~theory.catalog.reject.surrogate_minimum` match it: root error
    :math:`\le2(10^{-14}+8u|r^*|)+8u/(\alpha+\beta)` (brentq's tolerances, and the
    rounding of :math:`L'` near its root, where :math:`L''=(\alpha+\beta)T` for the
    common size T of the two terms) plus :math:`8u(|\log\beta w/\alpha|+|\log\eta|)/
    (\alpha+\beta)` for the closed form; minimum values within :math:`8u(2+(\alpha+\beta)|r^*|
    +|\log\beta w/\alpha|+|\log\eta|)` relative (exp and pow errors grow with their
    arguments; L is flat at its minimiser, so the root's error enters at second order);
    (4) for the settings with α = β: on a finite X of 8 points with random marginal,
    :math:`\eta(x)\sim U[0,1]` and ``ctx.pick(300, 3000)`` random rejectors (some near
    :math:`r^*`, some on the wrong side), :math:`R_\ell(r)-\mathbb E_x\min(\eta,c)\le
    (1+\sqrt c)\sqrt{R_L(r)-\mathbb E_xL^*(\eta)}` (derived: on the wrong side
    :math:`\Delta L\ge(\sqrt\eta-\sqrt c)^2` and :math:`|\eta-c|\le(\sqrt\eta+\sqrt c)
    |\sqrt\eta-\sqrt c|`, then Jensen). With the minimisability gaps of any hypothesis
    set added on both sides this is the H-consistency form, so a finite set of rejectors
    suffices. Tolerance: :math:`(1+\sqrt c)\sqrt{\delta}+4u` with
    :math:`\delta=16u\sum_xp(x)L(r(x))` the rounding of the surrogate excess.
    """
    parts: dict[str, Evidence] = {}

    # (1) first-order condition and strict convexity
    risk = ETA * sympy.exp(ALPHA * R) + WEIGHT * sympy.exp(-BETA * R)
    candidate = minimiser(ETA, ALPHA, BETA, WEIGHT)
    parts["sympy: L'(r*) = 0"] = probed_equal(
        "L'(r*) = 0", sympy.diff(risk, R).subs(R, candidate), 0
    )
    convex = sympy.diff(risk, R, 2).is_positive
    parts["sympy: L'' > 0"] = checks.exact(bool(convex), details={"L''": "positive"})

    # (2) exact signs on a rational grid
    said, truth, where = [], [], []
    for c in CALIBRATION_COSTS:
        grid = sorted(
            {Fraction(k, 40) for k in range(1, 41)} | {c - Fraction(1, 1000), c + Fraction(1, 1000)}
        )
        for alpha, beta in settings:
            alpha, beta = Fraction(alpha), Fraction(beta)
            w = Fraction(weight(alpha, beta, c))
            for eta in grid:
                value = minimiser(
                    *(sympy.Rational(q.numerator, q.denominator) for q in (eta, alpha, beta, w))
                )
                said.append(int(sympy.sign(value)))
                truth.append((eta < c) - (eta > c))
                where.append((float(eta), float(c), float(alpha), float(beta)))
    where_arr = np.array(where)
    parts["exact: sign(r*) = sign(c - eta)"] = checks.compare(
        np.array(said, dtype=float),
        np.array(truth, dtype=float),
        atol=0.0,
        inputs={"eta, c, alpha, beta": where_arr},
    )

    # (3) SciPy roots: sign agreement off ties, backend closed forms
    etas = np.array(sorted({k / 40 for k in range(1, 41)} | {0.003, 0.5 + 1e-3, 0.999}))
    rows, roots, sign_ok, closed, minimum, minimum_ref, tol, tol_min = ([] for _ in range(8))
    for c in CALIBRATION_COSTS:
        for alpha, beta in settings:
            a, b, w = float(alpha), float(beta), float(weight(alpha, beta, c))
            root = np.array([_numeric_root(e, a, b, w) for e in etas])
            off_tie = np.abs(etas - float(c)) > 1e-12
            sign_ok.append(np.where(off_tie, (root > 0) == (etas < float(c)), True))
            closed.append(
                to_numpy(surrogate_minimiser(ctx.asarray(etas), alpha=a, beta=b, weight=w))
            )
            minimum.append(
                to_numpy(surrogate_minimum(ctx.asarray(etas), alpha=a, beta=b, weight=w))
            )
            reference = etas * np.exp(a * root) + w * np.exp(-b * root)
            minimum_ref.append(reference)
            # exp / pow relative errors grow with |argument| (u + |y log x| u); L is flat at
            # its minimiser, so the root's error enters only at second order
            growth = 2 + (a + b) * np.abs(root) + abs(math.log(b * w / a)) + np.abs(np.log(etas))
            tol_min.append(8 * UNIT_ROUNDOFF * growth * reference)
            roots.append(root)
            tol.append(
                2 * (1e-14 + 8 * UNIT_ROUNDOFF * np.abs(root))
                + 8 * UNIT_ROUNDOFF / (a + b)
                + 8 * UNIT_ROUNDOFF * (abs(math.log(b * w / a)) + np.abs(np.log(etas))) / (a + b)
            )
            rows.append(
                np.column_stack(
                    [
                        etas,
                        np.full_like(etas, float(c)),
                        np.full_like(etas, a),
                        np.full_like(etas, b),
                    ]
                )
            )
    rows_arr = np.concatenate(rows)
    inputs = {"eta, c, alpha, beta": rows_arr}
    parts["scipy: sign(root of L') = sign(c - eta)"] = checks.agree(
        np.concatenate(sign_ok),
        np.ones(rows_arr.shape[0], dtype=bool),
        inputs=inputs,
        names=("sign agrees", "required"),
    )
    parts["float: backend r* = root of L'"] = checks.compare(
        np.concatenate(closed), np.concatenate(roots), atol=np.concatenate(tol), inputs=inputs
    )
    parts["float: backend min L = L(root)"] = checks.compare(
        np.concatenate(minimum),
        np.concatenate(minimum_ref),
        atol=np.concatenate(tol_min),
        inputs=inputs,
    )

    # (4) derived excess-risk (H-consistency) bound for alpha = beta
    equal = [(alpha, beta) for alpha, beta in settings if Fraction(alpha) == Fraction(beta)]
    if equal:
        parts["bound: excess target <= (1 + sqrt c) sqrt(excess surrogate)"] = _excess_bound(
            ctx, equal, weight
        )
    return checks.combine(parts)


def _excess_bound(
    ctx: Context, settings: Sequence[tuple[Any, Any]], weight: Callable[[Any, Any, Any], Any]
) -> Evidence:
    rng = ctx.rng(1)
    points, count = 8, ctx.pick(300, 3000)
    slack, tolerance, rows = [], [], []
    for index in range(count):
        cost = CALIBRATION_COSTS[index % len(CALIBRATION_COSTS)]
        alpha, beta = settings[index % len(settings)]
        c, a, b = float(cost), float(alpha), float(beta)
        w = float(weight(Fraction(alpha), Fraction(beta), cost))
        marginal = rng.dirichlet(np.ones(points))
        eta = rng.uniform(0.0, 1.0, points)
        eta[: points // 4] = np.clip(c + rng.normal(0.0, 0.02, points // 4), 0.0, 1.0)
        kind = index % 3
        r = rng.normal(0.0, 3.0 / a, points)  # generic rejectors
        if kind == 1:  # near the surrogate minimiser
            safe = np.maximum(eta, 1e-300)
            r = (np.log(b * w / a) - np.log(safe)) / (a + b) + rng.normal(0.0, 0.05, points)
        elif kind == 2:  # on the wrong side of the Bayes rule everywhere
            r = np.where(eta < c, -1.0, 1.0) * rng.uniform(0.0, 1.0, points)
        r_b, eta_b = ctx.asarray(r), ctx.asarray(eta)
        target = to_numpy(conditional_rejection_risk(r_b, eta_b, c))
        surrogate = to_numpy(surrogate_conditional_risk(r_b, eta_b, alpha=a, beta=b, weight=w))
        best = to_numpy(surrogate_minimum(eta_b, alpha=a, beta=b, weight=w))
        excess_target = float(marginal @ (target - np.minimum(eta, c)))
        excess_surrogate = max(float(marginal @ (surrogate - best)), 0.0)
        slack.append((1 + math.sqrt(c)) * math.sqrt(excess_surrogate) - excess_target)
        delta = 16 * UNIT_ROUNDOFF * float(marginal @ surrogate)
        tolerance.append((1 + math.sqrt(c)) * math.sqrt(delta) + 4 * UNIT_ROUNDOFF)
        rows.append([c, a, excess_target, excess_surrogate])
    slack_arr = np.array(slack) + np.array(tolerance)
    return checks.nonnegative(
        slack_arr, inputs={"c, alpha, dR_target, dR_surrogate": np.array(rows)}
    )
