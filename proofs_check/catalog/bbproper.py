r"""Black-box properness (Kimpara, Frongillo & Waggoner, ICML 2023): symbolic claims.

Claims ``bbproper.brier-two-draws`` ([derived]), ``bbproper.one-draw-impossible`` and
``bbproper.cross-entropy-random-draws`` ([derived]) of ``shared/claims/catalog.md``
§103. Expectations are derived with sympy by summing the loss over every outcome
:math:`(x_1,\dots,x_k,y)` with symbolic probabilities; the float loss functions of
:mod:`theory.catalog.bbproper` are run on the backend against them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.optimize
import sympy

from theory.catalog.bbproper import (
    PAPER,
    draws_until_hit_loss,
    expected_loss,
    poisson_log_ratio_loss,
    random_interior_distribution,
    two_draw_brier_loss,
)
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

EPS = float(np.finfo(np.float64).eps)
DrawLoss = Callable[..., Any]
"""A loss of k model draws and one data draw, ``loss(x_1, ..., x_k, y)``, on ints or arrays."""


def _simplex_symbols(size: int, name: str) -> tuple[list[sympy.Symbol], list[sympy.Expr]]:
    """Free symbols for the first K-1 coordinates and the K-vector with the last one 1 - sum."""
    free = list(sympy.symbols(f"{name}_1:{size}", real=True))
    return free, [*free, 1 - sum(free)]


def _symbolic_expectation(
    loss: DrawLoss, draws: int, p: list[sympy.Expr], q: list[sympy.Expr]
) -> sympy.Expr:
    """:math:`\\sum_{x,y}\\prod_ip_{x_i}\\,q_y\\,\\ell(x,y)` over every outcome."""
    size = len(p)
    total = sympy.Integer(0)
    for outcome in itertools.product(range(size), repeat=draws + 1):
        weight = sympy.Mul(*(p[i] for i in outcome[:-1])) * q[outcome[-1]]
        total += weight * sympy.nsimplify(loss(*outcome))
    return sympy.expand(total)


def _table(loss: DrawLoss, draws: int, size: int) -> np.ndarray:
    grids = np.meshgrid(*([np.arange(size)] * (draws + 1)), indexing="ij")
    return np.asarray(loss(*grids), dtype=float)


def _polynomial_identity(label: str, lhs: sympy.Expr, rhs: sympy.Expr) -> Evidence:
    """An identity of polynomials, decided exactly: the expanded difference is 0, or a
    rational point where it is non-zero is the counterexample."""
    difference = sympy.expand(lhs - rhs)
    if difference == 0:
        return checks.exact(True, details={"step": label, "residual": "0"})
    symbols = sorted(difference.free_symbols, key=lambda s: s.name)
    for shift in range(1, 50):
        point = {
            s: sympy.Rational(1 + (3 * i + shift) % 7, 7 + shift) for i, s in enumerate(symbols)
        }
        value = difference.subs(point)
        if value != 0:
            return checks.exact(
                False,
                residual=float(value),
                counterexample={
                    "step": label,
                    "at": {str(k): str(v) for k, v in point.items()},
                    "residual": str(value),
                },
            )
    return Evidence(holds=False, margin=0.0, cases=49, inconclusive=True, details={"step": label})


# --------------------------------------------------------------------------- brier-two-draws


def brier_loss(x1: Any, x2: Any, y: Any) -> Any:
    r""":math:`\mathbb 1[x_1=x_2]-2\cdot\mathbb 1[x_1=y]`."""
    return (x1 == x2) * 1 - 2 * ((x1 == y) * 1)


def half_weight_loss(x1: Any, x2: Any, y: Any) -> Any:
    r"""Control: :math:`\mathbb 1[x_1=x_2]-\mathbb 1[x_1=y]` (coefficient 1 instead of 2)."""
    return (x1 == x2) * 1 - (x1 == y) * 1


@claim(
    "bbproper.brier-two-draws",
    paper=PAPER,
    source="Sec. 4 (polynomial characterisation; a two-draw example)",
    statement=(
        r"x_1,x_2\sim p,\ y\sim q:\ \mathbb E[\mathbb 1[x_1=x_2]-2\cdot\mathbb 1[x_1=y]]="
        r"\|p\|^2-2\langle p,q\rangle=\|p-q\|^2-\|q\|^2,\ \text{uniquely minimised at}\ p=q"
    ),
    method="symbolic",
    provenance="derived",
    controls=[
        Control(
            "coefficient-one",
            r"\ell=\mathbb 1[x_1=x_2]-\mathbb 1[x_1=y]",
            {"loss": half_weight_loss},
        )
    ],
)
def brier_two_draws(ctx: Context, loss: DrawLoss = brier_loss) -> Evidence:
    r"""Derive the expectation, the regret and the minimiser, for |X| in {3, 4}.

    Sympy: the expectation summed over the :math:`|X|^3` outcomes equals
    :math:`\|p\|^2-2\langle p,q\rangle` and :math:`\|p-q\|^2-\|q\|^2` (p, q on the simplex:
    last coordinate 1 minus the others); so the regret
    :math:`\mathbb E_p\ell-\mathbb E_q\ell=\|p-q\|^2`, a sum of squares, vanishes only at
    p = q. Float64: :func:`~theory.catalog.bbproper.two_draw_brier_loss` (backend)
    tabulated equals the candidate's table, and minimising
    :func:`~theory.catalog.bbproper.expected_loss` of the candidate over the simplex
    (SLSQP from the uniform law, tolerance 1e-12) returns q for random q, to 1e-5
    (the objective is quadratic with Hessian 2I on the simplex, so an objective
    accuracy 1e-12 pins the minimiser to about 1e-6).
    """
    parts: dict[str, Evidence] = {}
    rng = ctx.rng(0)
    for size in (3, 4):
        p_free, p = _simplex_symbols(size, "p")
        _, q = _simplex_symbols(size, "q")
        expectation = _symbolic_expectation(loss, 2, p, q)
        at_q = expectation.subs(dict(zip(p_free, q[:-1], strict=True)))

        def norm(v: list[sympy.Expr]) -> sympy.Expr:
            return sympy.expand(sum(c**2 for c in v))

        inner = sympy.expand(sum(a * b for a, b in zip(p, q, strict=True)))
        gap = [a - b for a, b in zip(p, q, strict=True)]
        steps = {
            "E l = |p|^2 - 2<p,q>": (expectation, norm(p) - 2 * inner),
            "E l = |p-q|^2 - |q|^2": (expectation, norm(gap) - norm(q)),
            "regret = |p-q|^2": (expectation - at_q, norm(gap)),
        }
        for label, (lhs, rhs) in steps.items():
            parts[f"|X|={size}: sympy: {label}"] = _polynomial_identity(label, lhs, rhs)

        grid = np.meshgrid(*([np.arange(size)] * 3), indexing="ij")
        backend_table = np.asarray(to_numpy(two_draw_brier_loss(*(ctx.asarray(g) for g in grid))))
        table = _table(loss, 2, size)
        parts[f"|X|={size}: backend Brier table = candidate"] = checks.compare(backend_table, table)
        minimisers, targets, backend_values, numpy_values = [], [], [], []
        for _ in range(ctx.pick(5, 50)):
            target = random_interior_distribution(rng, size)
            contracted = table @ target  # (K, K): E over y

            def objective(v: np.ndarray, contracted: np.ndarray = contracted) -> float:
                v = np.clip(v, 0.0, None)
                v = v / v.sum()
                return float(v @ contracted @ v)

            result = scipy.optimize.minimize(
                objective,
                np.full(size, 1.0 / size),
                method="SLSQP",
                bounds=[(0.0, 1.0)] * size,
                constraints=[{"type": "eq", "fun": lambda v: v.sum() - 1.0}],
                options={"ftol": 1e-12, "maxiter": 200},
            )
            found = np.clip(result.x, 0, None) / np.clip(result.x, 0, None).sum()
            minimisers.append(found)
            targets.append(target)
            backend_values.append(
                float(
                    to_numpy(
                        expected_loss(ctx.asarray(table), ctx.asarray(found), ctx.asarray(target))
                    )
                )
            )
            numpy_values.append(objective(found))
        parts[f"|X|={size}: expected_loss (backend) = NumPy contraction"] = checks.compare(
            np.array(backend_values), np.array(numpy_values), atol=64 * EPS * np.abs(table).max()
        )
        parts[f"|X|={size}: argmin_p E l = q (SLSQP)"] = checks.compare(
            np.array(minimisers), np.array(targets), atol=1e-5, inputs={"q": np.array(targets)}
        )
    return checks.combine(parts)


# --------------------------------------------------------------------------- one-draw-impossible


def indicator_loss(x1: Any, y: Any) -> Any:
    r""":math:`\ell=-\mathbb 1[x_1=y]` (one draw)."""
    return -((x1 == y) * 1)


@claim(
    "bbproper.one-draw-impossible",
    paper=PAPER,
    source="Sec. 4 (the number of draws must exceed the degree)",
    statement=(
        r"\ell(x_1,y),\ x_1\sim p:\ \mathbb E\ell=\sum_xp_x\sum_yq_y\ell(x,y)"
        r"\ \text{is affine in}\ p\Rightarrow\ \text{minimised at a vertex;}"
        r"\ \text{no one-draw loss is strictly proper for}\ |\mathcal X|\ge2"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "two-draws",
            r"\text{no loss with two draws is strictly proper either}",
            {"draws": 2},
        )
    ],
)
def one_draw_impossible(ctx: Context, draws: int = 1) -> Evidence:
    r"""For losses with ``draws`` model draws: the expectation is affine in p, so a vertex
    is as good as q.

    Parts: (sympy) for a generic loss table of symbols :math:`L_{x_1..x_k,y}` on
    |X| = 3, the expectation has degree at most 1 in p (it is affine, hence minimised
    at a vertex of the simplex); (float64) for 20 random tables and interior q, the
    best vertex's expected loss (:func:`~theory.catalog.bbproper.expected_loss` on the
    backend) is at most that of p = q, so q is not a strict minimiser; and the
    example :math:`\ell=-\mathbb 1[x_1=y]` is minimised at the point mass on
    :math:`\arg\max q`, with value :math:`-\max_yq_y<-\|q\|^2=\mathbb E_q\ell`. Rounding
    allowance: sums of :math:`3^{k+1}` products bounded by the table's maximum M,
    64 EPS M.
    """
    size = 3
    parts: dict[str, Evidence] = {}
    table_symbols = sympy.symarray("L", (size,) * (draws + 1))
    p_free, p = _simplex_symbols(size, "p")
    _, q = _simplex_symbols(size, "q")
    expectation = _symbolic_expectation(lambda *o: table_symbols[o], draws, p, q)
    degree = sympy.Poly(expectation, *p_free).total_degree()
    parts["sympy: E l affine in p"] = checks.exact(
        degree <= 1,
        residual=float(degree - 1),
        counterexample={"draws": draws, "degree_in_p": degree},
    )
    rng = ctx.rng(0)
    slack, bound = [], []
    vertices = ctx.asarray(np.eye(size))
    for _ in range(ctx.pick(20, 200)):
        table = rng.standard_normal((size,) * (draws + 1))
        target = random_interior_distribution(rng, size)
        on_table, on_q = ctx.asarray(table), ctx.asarray(target)
        at_vertices = np.asarray(to_numpy(expected_loss(on_table, vertices, on_q)))
        at_q = float(to_numpy(expected_loss(on_table, on_q, on_q)))
        slack.append(at_q - at_vertices.min())
        bound.append(64 * EPS * np.abs(table).max())
    parts["a vertex is as good as q"] = checks.nonnegative(np.array(slack) + np.array(bound))
    example = _table(lambda x1, y: indicator_loss(x1, y), 1, size)
    targets = np.array([random_interior_distribution(rng, size) for _ in range(20)])
    values = np.asarray(
        to_numpy(expected_loss(ctx.asarray(example), vertices, ctx.asarray(targets[0])))
    )
    parts["-1[x1=y]: minimised at the argmax vertex"] = checks.compare(
        int(np.argmin(values)), int(np.argmax(targets[0]))
    )
    parts["-1[x1=y]: vertex value -max q < E_q = -|q|^2"] = checks.nonnegative(
        -(targets**2).sum(axis=1) + targets.max(axis=1), inputs={"q": targets}
    )
    return checks.combine(parts)


# ----------------------------------------------------------------- cross-entropy-random-draws

U = sympy.Symbol("u", positive=True)
"""u = 1 - p_y, in (0, 1)."""
K = sympy.Symbol("k", integer=True, positive=True)
T = sympy.Symbol("t", integer=True, positive=True)


def _branch_for_unit_interval(result: sympy.Expr) -> sympy.Expr:
    """The branch of a (folded) Piecewise whose condition holds at u = 1/100, 1/2 and 99/100,
    i.e. for the probabilities 0 < p_y < 1 of interest; the expression itself otherwise."""
    result = sympy.piecewise_fold(result)
    if isinstance(result, sympy.Piecewise):
        for expr, condition in result.args:
            probes = (sympy.Rational(1, 100), sympy.Rational(1, 2), sympy.Rational(99, 100))
            if all(condition.subs(U, u) == sympy.true for u in probes):
                return expr
    return result


@lru_cache(maxsize=1)
def _log_series() -> sympy.Expr:
    r""":math:`\sum_{k\ge1}u^k/k` by sympy, the branch valid for 0 < u < 1."""
    return _branch_for_unit_interval(sympy.summation(U**K / K, (K, 1, sympy.oo)))


def _identity_on_unit_interval(label: str, lhs: sympy.Expr, rhs: sympy.Expr) -> Evidence:
    r"""``lhs == rhs`` for 0 < u < 1 (k a positive integer): proved when the difference
    simplifies to 0 after ``expand``; else refuted by a non-zero exact value at a rational
    point u in (0, 1) (k = 1..4), else inconclusive (never a pass)."""
    difference = sympy.expand(lhs - rhs)
    if difference == 0 or sympy.simplify(difference) == 0:
        return checks.exact(True, details={"step": label, "residual": "0"})
    for u in (sympy.Rational(1, 3), sympy.Rational(4, 5), sympy.Rational(1, 20)):
        for k in (1, 2, 3, 4):
            value = sympy.N(difference.subs({U: u, K: k}), 30)
            if value.is_number and abs(value) > sympy.Float("1e-20"):
                return checks.exact(
                    False,
                    residual=float(abs(value)),
                    counterexample={"step": label, "u": str(u), "k": k, "residual": str(value)},
                )
    return Evidence(holds=False, margin=0.0, cases=12, inconclusive=True, details={"step": label})


@lru_cache(maxsize=1)
def _geometric_tail() -> tuple[sympy.Symbol, sympy.Expr]:
    r""":math:`P(T>k)=\sum_{t>k}p\,u^{t-1}` by sympy (u = 1 - p), the branch for 0 < u < 1."""
    p = sympy.Symbol("p", positive=True)
    return p, _branch_for_unit_interval(sympy.summation(p * U ** (T - 1), (T, K + 1, sympy.oo)))


def _series_expectation(truncation: int | None) -> sympy.Expr:
    r""":math:`\mathbb E[H_{\min(T-1,k)}]=\sum_{j\le k}u^j/j` (all j without truncation)."""
    if truncation is None:
        return _log_series()
    return sympy.summation(U**K / K, (K, 1, truncation))


@claim(
    "bbproper.cross-entropy-random-draws",
    paper=PAPER,
    source="Sec. 5 (cross-entropy with a random number of draws)",
    statement=(
        r"T=\min\{t:x_t=y\},\ x_t\overset{iid}\sim p:\ \mathbb E[H_{T-1}\mid y]="
        r"\sum_{k\ge1}\frac{(1-p_y)^k}k=-\log p_y;\ \mathbb E[\log(\tau_y/\tau)\mid y]=-\log p_y"
    ),
    method="symbolic",
    provenance="derived",
    notes=(
        "The paper's own construction (Poisson sampling) is not confirmed; both "
        "constructions are derived."
    ),
    controls=[
        Control(
            "fixed-truncation",
            r"\mathbb E[H_{\min(T-1,3)}\mid y]=-\log p_y",
            {"truncation": 3},
        )
    ],
)
def cross_entropy_random_draws(ctx: Context, truncation: int | None = None) -> Evidence:
    r"""Derivation with sympy, then Monte Carlo on the backend.

    With u = 1 - p_y: (1) :math:`P(T>k)=\sum_{t>k}p_yu^{t-1}=u^k` (sympy
    summation); (2) :math:`\mathbb E[H_{T-1}]=\sum_{k\ge1}\frac1kP(T>k)` (exchanging
    two sums of non-negative terms); (3) :math:`\sum_{k\ge1}u^k/k=-\log(1-u)=-\log p_y`
    (sympy). With ``truncation`` k the expectation is :math:`\sum_{j\le k}u^j/j`
    instead. Monte Carlo (backend loss functions, 2e5 draws per p_y in
    {0.05, 0.2, 0.5, 0.9}): the mean of
    :func:`~theory.catalog.bbproper.draws_until_hit_loss` and of
    :func:`~theory.catalog.bbproper.poisson_log_ratio_loss` equals
    :math:`-\log p_y` within 5 standard errors.
    """
    p, tail = _geometric_tail()
    parts = {
        "sympy: P(T > k) = u^k": _identity_on_unit_interval(
            "P(T > k) = u^k", tail.subs(p, 1 - U), U**K
        ),
        "sympy: E[H_(T-1)] = -log p_y": _identity_on_unit_interval(
            "E[H_(T-1)] = -log p_y", _series_expectation(truncation), -sympy.log(1 - U)
        ),
    }
    rng = ctx.rng(0)
    count = ctx.pick(200_000, 2_000_000)
    probabilities = np.array([0.05, 0.2, 0.5, 0.9])
    means, errors, poisson_means, poisson_errors = [], [], [], []
    for p_y in probabilities:
        draws = rng.geometric(p_y, count)
        values = np.asarray(to_numpy(draws_until_hit_loss(ctx.asarray(draws), truncation)))
        means.append(values.mean())
        errors.append(values.std(ddof=1) / np.sqrt(count))
        first = rng.exponential(1.0, count)
        target_time = first + rng.gamma(np.maximum(draws - 1, 1e-300), 1.0) * (draws > 1)
        ratios = np.asarray(
            to_numpy(poisson_log_ratio_loss(ctx.asarray(target_time), ctx.asarray(first)))
        )
        poisson_means.append(ratios.mean())
        poisson_errors.append(ratios.std(ddof=1) / np.sqrt(count))
    inputs = {"p_y": probabilities}
    parts["Monte Carlo: E[H_(T-1)] = -log p_y"] = checks.compare(
        np.array(means), -np.log(probabilities), atol=5 * np.array(errors), inputs=inputs
    )
    parts["Monte Carlo: E[log(tau_y / tau)] = -log p_y"] = checks.compare(
        np.array(poisson_means),
        -np.log(probabilities),
        atol=5 * np.array(poisson_errors),
        inputs=inputs,
    )
    return checks.combine(parts)
