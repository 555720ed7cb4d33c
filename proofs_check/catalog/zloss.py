r"""The Z-loss (de Brébisson & Vincent, arXiv 1604.08859): invariances, spherical-family
form and the range of the z-score.

With :math:`d_k=o_k-\mu` and :math:`\sum_kd_k^2=D\sigma^2`:

- invariance: :math:`o\mapsto\alpha o+\beta\mathbf 1` maps :math:`d\mapsto\alpha d` and
  :math:`\sigma\mapsto|\alpha|\sigma`, so :math:`z_c` (hence :math:`L_Z`) is unchanged for
  :math:`\alpha>0` and flips sign for :math:`\alpha<0`;
- spherical family: :math:`\mu=S/D`, :math:`\sigma^2=Q/D-S^2/D^2` with :math:`S=\sum o_k`,
  :math:`Q=\sum o_k^2`, and
  :math:`\partial z_c/\partial o_k=(\mathbb 1[k=c]-1/D)/\sigma-(o_c-\mu)(o_k-\mu)/(D\sigma^3)`;
- range [derived]: :math:`(D-1)\sum_kd_k^2-Dd_c^2=\sum_{i<j;\,i,j\ne c}(o_i-o_j)^2\ge0`
  (a Lagrange identity), i.e. :math:`z_c^2=Dd_c^2/\sum_kd_k^2\le D-1`, with equality
  iff all :math:`o_k`, :math:`k\ne c`, are equal, e.g. :math:`o=e_c`.

sympy proves each identity for small D; float64 parts run
:mod:`theory.catalog.zloss` on the backend.

Rounding model of the float parts (u = 1.1e-16): the mean of D entries bounded by
M errs by DuM, so each deviation by (D+1)uM, :math:`\sigma` relatively by
:math:`(D+1)uM/\sigma+Du`, and :math:`z_c` by at most
:math:`Z(o)=4(D+2)u(1+|z_c|)M/\sigma` (a factor 2 to spare). :math:`L_Z` is
1-Lipschitz in :math:`z_c` (its slope is :math:`-s(a(b-z_c))`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
import sympy

from proofs_check.derivation import Derivation, Equal, equal_chain
from theory.catalog.zloss import PAPER, max_margin_loss, softmax_cross_entropy, z_loss, z_score
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

UNIT_ROUNDOFF = 2.0**-53
A, B = 0.5, 2.0
"""Parameters a, b of the Z-loss in the float parts (any a > 0 and b work)."""
Z_LOSS = partial(z_loss, a=A, b=B)
"""The Z-loss at (a, b) = (:data:`A`, :data:`B`), on the backend."""

Statistic = Callable[[Sequence[Any], int], Any]
"""A sympy builder ``statistic(o, c)`` of the quantity the loss depends on."""
BackendLoss = Callable[[Any, Any], Any]


def _symbols(size: int) -> tuple[sympy.Symbol, ...]:
    return sympy.symbols(f"o1:{size + 1}", real=True)


def _normal(expr: sympy.Expr) -> sympy.Expr:
    """A cheap normal form: expand, then factor (pulls alpha^2 out of the variance)."""
    return sympy.factor(sympy.expand(expr))


def z_score_expression(o: Sequence[Any], c: int) -> sympy.Expr:
    r""":math:`z_c=(o_c-\mu)/\sigma`, :math:`\sigma^2=\tfrac1D\sum_k(o_k-\mu)^2` (sympy)."""
    size = len(o)
    mu = sum(o) / size
    variance = _normal(sum((ok - mu) ** 2 for ok in o) / size)
    return (o[c] - mu) / sympy.sqrt(variance)


def log_softmax_expression(o: Sequence[Any], c: int) -> sympy.Expr:
    r"""Control: :math:`\log\mathrm{softmax}(o)_c=o_c-\log\sum_ke^{o_k}` (sympy)."""
    return o[c] - sympy.log(sum(sympy.exp(ok) for ok in o))


def _float(ctx: Context, fn: Callable[..., Any], *arrays: np.ndarray) -> np.ndarray:
    return np.asarray(to_numpy(fn(*(ctx.asarray(a) for a in arrays))), dtype=float)


def _z_rounding(o: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Z(o) of the module docstring, per row."""
    size = o.shape[1]
    deviation = o - o.mean(axis=1, keepdims=True)
    sigma = np.sqrt(np.mean(deviation**2, axis=1))
    return 4 * (size + 2) * UNIT_ROUNDOFF * (1 + np.abs(z)) * np.max(np.abs(o), axis=1) / sigma


# --------------------------------------------------------------------------- invariance


@claim(
    "zloss.invariance",
    paper=PAPER,
    source="Sec. 3 (definition and invariance)",
    statement=(
        r"L_Z(\alpha o+\beta\mathbf 1,c)=L_Z(o,c)\ \forall\alpha>0,\beta\in\mathbb R;\ "
        r"-\log\mathrm{softmax}\text{ is shift but not scale invariant}"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "negative-scale",
            r"L_Z(\alpha o+\beta\mathbf 1,c)=L_Z(o,c) for \alpha<0",
            {"scale_sign": -1},
        ),
        Control(
            "log-softmax-scale-invariant",
            r"-\log\mathrm{softmax}(\alpha o+\beta\mathbf 1)_c"
            r"=-\log\mathrm{softmax}(o)_c,\ \alpha>0",
            {"statistic": log_softmax_expression, "loss": softmax_cross_entropy},
        ),
    ],
)
def invariance(
    ctx: Context,
    statistic: Statistic = z_score_expression,
    loss: BackendLoss = Z_LOSS,
    scale_sign: int = 1,
) -> Evidence:
    r"""sympy for D = 3, 4; the contrast with log-softmax; random instances on the backend.

    Parts: (1) the statistic the loss depends on (:math:`z_c`) is unchanged by
    :math:`o\mapsto\alpha o+\beta\mathbf 1` with symbolic :math:`\alpha` of the given
    sign and symbolic :math:`\beta`, D = 3, 4 (target first; the others follow by
    relabelling); (2) log-softmax is unchanged by a shift (symbolic) and changed by
    the scale 2 at o = (1, 0, 0); (3) float: the backend loss at :math:`\alpha o+\beta\mathbf 1`
    and at o agree, D in {3, 10, 100}, :math:`|\alpha|,|\beta|\in[10^{-2},10^2]`.
    Tolerance: :math:`Z(o)+Z(\alpha o+\beta\mathbf 1)` (module docstring) plus 8u|L|.
    """
    alpha = sympy.Symbol("alpha", positive=scale_sign > 0, negative=scale_sign < 0)
    beta = sympy.Symbol("beta", real=True)
    steps = []
    for size in (3, 4):
        # the target is the first coordinate; the others are symmetric by relabelling
        o = _symbols(size)
        moved = [alpha * ok + beta for ok in o]
        # the z-score factors its variance, so sqrt(alpha^2 X) = alpha sqrt(X) at once
        steps.append(
            (
                f"D={size}: statistic(alpha o + beta) = statistic(o)",
                statistic(moved, 0),
                statistic(o, 0),
            )
        )
    parts: dict[str, Evidence] = {"sympy: invariance": equal_chain(steps)}

    o = _symbols(3)
    shift = Equal(
        "D=3: log-softmax(o + beta) = log-softmax(o)",
        sympy.expand(log_softmax_expression([ok + beta for ok in o], 0)),
        sympy.expand(log_softmax_expression(o, 0)),
    ).check()
    # one counterexample refutes scale invariance: alpha = 2 at o = (1, 0, 0)
    point = (sympy.Integer(1), sympy.Integer(0), sympy.Integer(0))
    scale = Equal(
        "D=3: log-softmax(2 o) = log-softmax(o) at o = (1, 0, 0)",
        log_softmax_expression([2 * ok for ok in point], 0),
        log_softmax_expression(point, 0),
    ).check()
    parts["sympy: log-softmax shift invariant"] = shift
    parts["sympy: log-softmax not scale invariant (probe refutes)"] = checks.exact(
        not scale.holds and not scale.inconclusive,
        counterexample={"scale_invariance_evidence": scale.summary()},
    )

    rng = ctx.rng(0)
    count = ctx.pick(300, 5000)
    for size in (3, 10, 100):
        o = rng.standard_normal((count, size)) * 10.0 ** rng.uniform(-1, 1, (count, 1))
        c = rng.integers(0, size, count)
        factor = scale_sign * 10.0 ** rng.uniform(-2, 2, (count, 1))
        offset = rng.choice([-1.0, 1.0], (count, 1)) * 10.0 ** rng.uniform(-2, 2, (count, 1))
        moved = factor * o + offset
        before = _float(ctx, loss, o, c)
        after = _float(ctx, loss, moved, c)
        z = _float(ctx, z_score, o, c)
        atol = _z_rounding(o, z) + _z_rounding(moved, z) + 8 * UNIT_ROUNDOFF * np.abs(before)
        parts[f"float D={size}: loss(alpha o + beta) = loss(o)"] = checks.compare(
            after,
            before,
            atol=atol,
            inputs={"o": o, "c": c, "alpha": factor[:, 0], "beta": offset[:, 0]},
        )
    return checks.combine(parts)


# --------------------------------------------------------------------------- spherical-family

Gradient = Callable[[Any, int, int, Callable[[Any], Any]], Any]


def paper_z_gradient(o: Any, c: int, k: int, sqrt: Callable[[Any], Any]) -> Any:
    r"""The paper's gradient of the z-score.

    :math:`\partial z_c/\partial o_k=(\mathbb 1[k=c]-1/D)/\sigma-(o_c-\mu)(o_k-\mu)/(D\sigma^3)`.

    ``o`` is an array (..., D) (float, or object of sympy symbols); ``sqrt`` works
    elementwise on it (``np.sqrt``, or :data:`EXPANDED_SQRT`).
    """
    size = o.shape[-1]
    deviation = o - (o.sum(axis=-1) / size)[..., None]
    sigma = sqrt((deviation * deviation).sum(axis=-1) / size)
    return (size * int(k == c) - 1) / (size * sigma) - deviation[..., c] * deviation[..., k] / (
        size * sigma**3
    )


def gradient_without_cubic_term(o: Any, c: int, k: int, sqrt: Callable[[Any], Any]) -> Any:
    r"""Control: the :math:`\sigma^{-3}` term dropped.

    :math:`\partial z_c/\partial o_k=(\mathbb 1[k=c]-1/D)/\sigma`.
    """
    size = o.shape[-1]
    deviation = o - (o.sum(axis=-1) / size)[..., None]
    sigma = sqrt((deviation * deviation).sum(axis=-1) / size)
    return (size * int(k == c) - 1) / (size * sigma)


EXPANDED_SQRT = np.frompyfunc(lambda x: sympy.sqrt(sympy.expand(x)), 1, 1)
"""``sympy.sqrt`` of the expanded argument, elementwise on object arrays."""


def _reflected(rng: np.random.Generator, o: np.ndarray, c: np.ndarray) -> np.ndarray:
    r"""Vectors with the same :math:`(S, Q, o_c)`: the non-target entries reflected in a random
    hyperplane that contains :math:`\mathbf 1` (a Householder reflection by
    :math:`w\perp\mathbf 1`)."""
    count, size = o.shape
    w = rng.standard_normal((count, size))
    w[np.arange(count), c] = 0.0
    others = np.ones((count, size))
    others[np.arange(count), c] = 0.0
    w -= others * (w.sum(axis=1, keepdims=True) / (size - 1))
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    return o - 2 * np.sum(w * o, axis=1, keepdims=True) * w


@claim(
    "zloss.spherical-family",
    paper=PAPER,
    source="Sec. 3 (spherical family)",
    statement=(
        r"z_c=\frac{o_c-S/D}{\sqrt{Q/D-S^2/D^2}},\ S=\sum o_k,\ Q=\sum o_k^2;\ "
        r"\frac{\partial L_Z}{\partial o_k}=-s(a(b-z_c))\Big[\frac{\mathbb 1[k=c]-1/D}{\sigma}"
        r"-\frac{(o_c-\mu)(o_k-\mu)}{D\sigma^3}\Big]"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "max-based-loss",
            r"\mathrm{softplus}(\max_{k\ne c}o_k-o_c) is a function of (S, Q, o_c)",
            {"loss": max_margin_loss},
        ),
        Control(
            "no-cubic-term",
            r"\partial z_c/\partial o_k=(\mathbb 1[k=c]-1/D)/\sigma",
            {"gradient": gradient_without_cubic_term},
        ),
    ],
)
def spherical_family(
    ctx: Context,
    loss: BackendLoss = Z_LOSS,
    gradient: Gradient = paper_z_gradient,
) -> Evidence:
    r"""sympy for the (S, Q, o_c) form and the gradient; reflections and differences on the backend.

    Parts: (1) sympy, D = 3, 4: :math:`z_c` equals the (S, Q, o_c) form; D = 3: the
    derivative of :math:`z_c` in :math:`o_1` and :math:`o_2` (c = 1) equals the candidate,
    and :math:`dL_Z/dz_c=-s(a(b-z_c))`; (2) float: the backend loss is the same at o
    and at a vector with the same (S, Q, o_c) (D = 4, 8, 32; tolerance
    :math:`Z(o)+Z(o')+8u|L|`, plus the reflection's rounding, :math:`8Du\max|o|/\sigma`);
    (3) central differences (h = 1e-6) of the backend's Z-loss against
    :math:`-s(a(b-z_c))` times the candidate (D = 3, 10). A central difference errs by
    at most :math:`h\max|L''|/2`; from the second derivatives of :math:`z_c`
    (each :math:`\le8(1+|z_c|)/\sigma^2`, since :math:`|o_k-\mu|\le\sqrt D\sigma`) and
    :math:`|\partial z_c/\partial o_k|\le(1+|z_c|)/\sigma`,
    :math:`|L''|\le(a+8)(1+|z_c|)^2/\sigma^2`; plus rounding :math:`(Z(o)+8u|L|)/h`.
    """
    steps = []
    for size in (3, 4):
        o = _symbols(size)
        s, q = sum(o), sum(ok**2 for ok in o)
        form = (o[0] - s / size) / sympy.sqrt(_normal(q / size - s**2 / size**2))
        steps.append(
            Equal(
                f"D={size}: z_c = (o_c - S/D) / sqrt(Q/D - S^2/D^2)", z_score_expression(o, 0), form
            )
        )
    o = _symbols(3)
    row = np.empty((1, 3), dtype=object)
    row[0, :] = o
    variance = sympy.expand(sum((ok - sum(o) / 3) ** 2 for ok in o) / 3)
    z = (o[0] - sum(o) / 3) / sympy.sqrt(variance)
    for k in (0, 1):
        # both sides use the square root of the expanded variance, so that sympy merges
        # the powers of one base; times sigma^3 > 0 the difference is then a polynomial
        residual = (
            sympy.diff(z, o[k]) - gradient(row, 0, k, EXPANDED_SQRT)[0]
        ) * variance ** sympy.Rational(3, 2)
        steps.append(
            Equal(
                f"D=3, c=1: sigma^3 (d z_c / d o_{k + 1} - candidate) = 0",
                sympy.expand(residual),
                0,
            )
        )
    zed, a, b = (
        sympy.Symbol("z", real=True),
        sympy.Symbol("a", positive=True),
        sympy.Symbol("b", real=True),
    )
    steps.append(
        Equal(
            "dL_Z/dz_c = -sigmoid(a (b - z_c))",
            sympy.diff(sympy.log(1 + sympy.exp(a * (b - zed))) / a, zed),
            -1 / (1 + sympy.exp(-a * (b - zed))),
        )
    )
    parts: dict[str, Evidence] = {"sympy": Derivation(tuple(steps)).check()}

    rng = ctx.rng(0)
    count = ctx.pick(300, 5000)
    for size in (4, 8, 32):
        o = rng.standard_normal((count, size)) * 10.0 ** rng.uniform(-1, 1, (count, 1))
        c = rng.integers(0, size, count)
        twin = _reflected(rng, o, c)
        value, other = _float(ctx, loss, o, c), _float(ctx, loss, twin, c)
        z_value = _float(ctx, z_score, o, c)
        sigma = np.std(o, axis=1)
        atol = (
            _z_rounding(o, z_value)
            + _z_rounding(twin, z_value)
            + 8 * UNIT_ROUNDOFF * np.abs(value)
            + 8 * size * UNIT_ROUNDOFF * np.max(np.abs(o), axis=1) / sigma
        )
        parts[f"float D={size}: equal (S, Q, o_c), equal loss"] = checks.compare(
            other, value, atol=atol, inputs={"o": o, "o_twin": twin, "c": c}
        )

    step = 1e-6
    for size in (3, 10):
        o = rng.standard_normal((count, size))
        c = rng.integers(0, size, count)
        z_value = _float(ctx, z_score, o, c)
        sigma = np.std(o, axis=1)
        value = _float(ctx, partial(z_loss, a=A, b=B), o, c)
        slope = -1 / (1 + np.exp(-A * (B - z_value)))
        bound = (A + 8) * (1 + np.abs(z_value)) ** 2 / sigma**2
        rounding = (_z_rounding(o, z_value) + 8 * UNIT_ROUNDOFF * np.abs(value)) / step
        for k in range(min(size, 3)):
            bump = np.zeros(size)
            bump[k] = step
            up = _float(ctx, partial(z_loss, a=A, b=B), o + bump, c)
            down = _float(ctx, partial(z_loss, a=A, b=B), o - bump, c)
            expected = np.array(
                [slope[i] * gradient(o[i : i + 1], int(c[i]), k, np.sqrt)[0] for i in range(count)]
            )
            parts[f"float D={size}: dL/do_{k + 1} = -s(a(b - z)) * candidate"] = checks.compare(
                (up - down) / (2 * step),
                expected,
                atol=bound * step + 2 * rounding,
                inputs={"o": o, "c": c},
            )
    return checks.combine(parts)


# --------------------------------------------------------------------------- zscore-range


def paper_bound(size: Any) -> Any:
    r"""[derived]: :math:`|z_c|\le\sqrt{D-1}`."""
    return sympy.sqrt(size - 1)


def smaller_bound(size: Any) -> Any:
    r"""Control: :math:`|z_c|\le\sqrt{D-2}`."""
    return sympy.sqrt(size - 2)


@claim(
    "zloss.zscore-range",
    paper=PAPER,
    source="consequence of the z-score definition (Sec. 3)",
    statement=(
        r"|z_c|\le\sqrt{D-1}\ (\text{attained at }o=e_c),\ \tfrac1a\mathrm{softplus}"
        r"(a(b-\sqrt{D-1}))\le L_Z\le\tfrac1a\mathrm{softplus}(a(b+\sqrt{D-1}))"
    ),
    method="symbolic",
    provenance="derived",
    controls=[Control("sqrt-D-minus-2", r"|z_c|\le\sqrt{D-2}", {"bound": smaller_bound})],
)
def zscore_range(ctx: Context, bound: Callable[[Any], Any] = paper_bound) -> Evidence:
    r"""Lagrange identity and the extremal vector (sympy, D = 3..6); skewed draws on the backend.

    Parts: (1) :math:`(D-1)\sum_kd_k^2-Dd_c^2=\sum_{i<j;\,i,j\ne c}(o_i-o_j)^2` (so
    :math:`z_c^2\le D-1`); (2) :math:`z_c(e_c)=\sqrt{D-1}` exactly; (3) the candidate
    bound is at least :math:`z_c(e_c)` (valid) and equals it (attained); (4) float,
    D = 6: adversarially skewed draws (one entry apart, the others nearly equal) keep
    :math:`|z_c|` below the candidate (tolerance :math:`Z(o)`), and the backend's
    Z-loss lies between the softplus bounds (tolerance :math:`Z(o)+8u|L|`). The
    largest :math:`|z_c|` found is reported (spec probe: 2.23604 against
    :math:`\sqrt5=2.23607`).
    """
    parts: dict[str, Evidence] = {}
    steps = []
    for size in (3, 4, 5, 6):
        o = _symbols(size)
        mu = sum(o) / size
        deviation = [ok - mu for ok in o]
        lagrange = (size - 1) * sum(d**2 for d in deviation) - size * deviation[0] ** 2
        squares = sum((o[i] - o[j]) ** 2 for i, j in itertools.combinations(range(1, size), 2))
        steps.append(
            Equal(
                f"D={size}: (D-1) sum d_k^2 - D d_c^2 = sum_(i<j, not c) (o_i - o_j)^2",
                sympy.expand(lagrange - squares),
                0,
            )
        )
        extremal = z_score_expression([sympy.Integer(int(k == 0)) for k in range(size)], 0)
        steps.append(Equal(f"D={size}: z_c(e_c) = sqrt(D - 1)", extremal, sympy.sqrt(size - 1)))
        candidate = sympy.sympify(bound(sympy.Integer(size)))
        parts[f"D={size}: candidate >= z_c(e_c) (valid)"] = checks.exact(
            bool(sympy.simplify(candidate - extremal) >= 0),
            residual=float(candidate - extremal),
            counterexample={"D": size, "o": "e_c", "z_c": str(extremal), "bound": str(candidate)},
        )
        steps.append(Equal(f"D={size}: candidate = z_c(e_c) (attained)", candidate, extremal))
    parts["sympy"] = Derivation(tuple(steps)).check()

    rng = ctx.rng(0)
    size, count = 6, ctx.pick(2000, 20_000)
    c = rng.integers(0, size, count)
    spread = 10.0 ** rng.uniform(-6, 0, (count, 1))
    o = rng.standard_normal((count, 1)) + spread * rng.standard_normal((count, size))
    o[np.arange(count), c] += rng.choice([-1.0, 1.0], count) * rng.uniform(0.5, 5, count)
    z = _float(ctx, z_score, o, c)
    limit = float(bound(sympy.Integer(size)))
    tol = _z_rounding(o, z)
    parts[f"float D={size}: |z_c| <= bound on skewed draws"] = checks.nonnegative(
        limit - np.abs(z) + tol, inputs={"o": o, "c": c}
    )
    parts[f"float D={size}: |z_c| <= bound on skewed draws"].details["largest |z_c|"] = float(
        np.max(np.abs(z))
    )
    value = _float(ctx, partial(z_loss, a=A, b=B), o, c)
    low = np.logaddexp(0.0, A * (B - limit)) / A
    high = np.logaddexp(0.0, A * (B + limit)) / A
    loss_tol = tol + 8 * UNIT_ROUNDOFF * np.abs(value)
    parts[f"float D={size}: loss within the softplus bounds"] = checks.nonnegative(
        np.minimum(value - low, high - value) + loss_tol, inputs={"o": o, "c": c}
    )
    return checks.combine(parts)
