r"""Maxout units: convexity, and differences of maxout units as universal approximators.

Goodfellow, Warde-Farley, Mirza, Courville & Bengio, *Maxout Networks*, ICML 2013:
claims ``maxout.dc-decomposition`` and ``maxout.single-unit-convex`` of
``shared/claims/catalog.md`` §47.

A maxout unit is :math:`h(x)=\max_k(w_k^\top x+b_k)`, a convex piecewise-linear function.
Any continuous piecewise-linear g is a difference :math:`h_1-h_2` of two such units
(Prop. 4.1 / Thm 4.3, citing Wang 2004). In one dimension, for g with breakpoints
:math:`b_1<\dots<b_r` and slopes :math:`s_0,\dots,s_r`, take
:math:`h_2=c\sum_k|x-b_k|` and :math:`h_1=g+h_2`: the slope of :math:`h_1` on the i-th
piece is :math:`s_i+c(2i-r)`, non-decreasing exactly when
:math:`c\ge\max_i(s_i-s_{i+1})/2`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim
from theorycheck.validate import finite, real_floating

PAPER = "maxout"
EPS = float(np.finfo(np.float64).eps)


def maxout(x: Any, weights: Any, biases: Any) -> Any:
    r"""A maxout unit :math:`h(x)=\max_k(w_k^\top x+b_k)`.

    Parameters
    ----------
    x : array, shape (..., d)
    weights : array, shape (k, d)
    biases : array, shape (k,)

    Returns
    -------
    array, shape (...)

    Raises
    ------
    ValueError
        For mismatched shapes, no piece, or non-finite entries.
    """
    x, xp = real_floating(x, "x", func="maxout")
    weights, _ = real_floating(weights, "weights", func="maxout")
    biases, _ = real_floating(biases, "biases", func="maxout")
    if (
        weights.ndim != 2
        or weights.shape[0] == 0
        or biases.shape != (weights.shape[0],)
        or x.shape[-1] != weights.shape[1]
    ):
        raise ValueError(
            f"maxout: need x (..., d), weights (k, d) with k >= 1 and biases (k,), got "
            f"{tuple(x.shape)}, {tuple(weights.shape)} and {tuple(biases.shape)}"
        )
    for name, value in (("x", x), ("weights", weights), ("biases", biases)):
        finite(value, name, func="maxout", xp=xp)
    return xp.max(x @ xp.matrix_transpose(weights) + biases, axis=-1)


def affine_pieces(
    breakpoints: np.ndarray, slopes: np.ndarray, value_at_first: float
) -> tuple[np.ndarray, np.ndarray]:
    """The affine functions (slope, intercept) of each piece of a continuous 1-D piecewise-linear
    function with the given breakpoints, r + 1 slopes and value at the first breakpoint."""
    intercepts = [value_at_first - slopes[0] * breakpoints[0]]
    for i, b in enumerate(breakpoints):
        value = slopes[i] * b + intercepts[-1]
        intercepts.append(value - slopes[i + 1] * b)
    return slopes.copy(), np.array(intercepts)


def evaluate_piecewise(
    x: np.ndarray, breakpoints: np.ndarray, slopes: np.ndarray, value_at_first: float
) -> np.ndarray:
    """A continuous 1-D piecewise-linear function at points x (NumPy reference)."""
    w, b = affine_pieces(breakpoints, slopes, value_at_first)
    piece = np.searchsorted(breakpoints, x)
    return w[piece] * x + b[piece]


def minimal_hinge_weight(slopes: np.ndarray) -> float:
    r""":math:`c=\max(0,\max_i(s_i-s_{i+1}))/2`, the smallest weight making :math:`h_1` convex."""
    return max(0.0, float(np.max(slopes[:-1] - slopes[1:]))) / 2


def no_hinge_weight(slopes: np.ndarray) -> float:
    r"""Control: c = 0, i.e. :math:`h_1=g` as a maxout unit of g's own pieces."""
    return 0.0


def dc_maxout_units(
    breakpoints: np.ndarray, slopes: np.ndarray, value_at_first: float, weight: float
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    r"""Maxout units :math:`(h_1,h_2)` with :math:`h_2=c\sum_k|x-b_k|` and :math:`h_1=g+h_2`,
    each as
    the maximum of the affine extensions of its pieces: ``((W1, b1), (W2, b2))`` with W of
    shape (r + 1, 1)."""
    r = breakpoints.size
    ranks = np.arange(r + 1)
    hinge_slopes = weight * (2 * ranks - r)
    hinge_value = weight * np.abs(breakpoints[0] - breakpoints).sum()
    w2, b2 = affine_pieces(breakpoints, hinge_slopes, hinge_value)
    w1, b1 = affine_pieces(breakpoints, slopes + hinge_slopes, value_at_first + hinge_value)
    return (w1[:, None], b1), (w2[:, None], b2)


@claim(
    "maxout.dc-decomposition",
    paper=PAPER,
    source="Prop. 4.1, Thm 4.3",
    statement=(
        r"g\ \text{continuous piecewise linear}\Rightarrow g=h_1-h_2,\ "
        r"h_i(x)=\max_k(w_{ik}^\top x+b_{ik});"
        r"\ d=1:\ h_2=c\sum_k|x-b_k|,\ c\ge\max_i(s_i-s_{i+1})/2"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "no-hinge-correction",
            r"c=0:\ g\ \text{is itself one maxout unit}",
            {"hinge_weight": no_hinge_weight},
        )
    ],
)
def dc_decomposition(
    ctx: Context, hinge_weight: Callable[[np.ndarray], float] = minimal_hinge_weight
) -> Evidence:
    r"""Random 1-D piecewise-linear g (2 to 8 breakpoints in [-1, 1], slopes in [-3, 3]);
    :math:`h_1,h_2` from :func:`dc_maxout_units` with c = ``hinge_weight(slopes)``,
    evaluated as maxout units (:func:`maxout`, backend) on 1001 points of [-2, 2] plus the
    breakpoints. Parts: :math:`h_1-h_2=g` and :math:`h_2=c\sum_k|x-b_k|` (the maxout units
    equal the functions they are built from, which holds only if those are convex).
    Tolerance: values up to :math:`V\approx50`, each a product and a sum, then a max:
    16 EPS V per value.
    """
    rng = ctx.rng(0)
    grid = np.linspace(-2, 2, 1001)
    differences, hinges = [], []
    for _ in range(ctx.pick(20, 200)):
        r = int(rng.integers(2, 9))
        breakpoints = np.sort(rng.uniform(-1, 1, r))
        slopes = rng.uniform(-3, 3, r + 1)
        start = float(rng.uniform(-1, 1))
        weight = hinge_weight(slopes)
        (w1, b1), (w2, b2) = dc_maxout_units(breakpoints, slopes, start, weight)
        x = np.concatenate([grid, breakpoints])[:, None]
        h1 = np.asarray(to_numpy(maxout(ctx.asarray(x), ctx.asarray(w1), ctx.asarray(b1))))
        h2 = np.asarray(to_numpy(maxout(ctx.asarray(x), ctx.asarray(w2), ctx.asarray(b2))))
        g = evaluate_piecewise(x[:, 0], breakpoints, slopes, start)
        hinge = weight * np.abs(x - breakpoints[None, :]).sum(axis=1)
        scale = 16 * EPS * (1 + np.abs(h1).max() + np.abs(h2).max())
        differences.append(scale - np.abs(h1 - h2 - g).max())
        hinges.append(scale - np.abs(h2 - hinge).max())
    return checks.combine(
        {
            "h1 - h2 = g": checks.nonnegative(np.array(differences)),
            "h2 = c sum |x - b_k| (a maxout unit)": checks.nonnegative(np.array(hinges)),
        }
    )


# --------------------------------------------------------------------------- single-unit-convex


def best_convex_sup_error(points: np.ndarray, target: np.ndarray) -> float:
    """The smallest sup-norm error of a convex function (equivalently, on a grid, of a
    maxout unit) fitted to values on a sorted uniform grid: an LP in cvxpy (CLARABEL).
    On a grid, a convex interpolant exists iff the second differences are >= 0."""
    import cvxpy as cp

    f = cp.Variable(points.size)
    t = cp.Variable()
    problem = cp.Problem(
        cp.Minimize(t), [f[2:] - 2 * f[1:-1] + f[:-2] >= 0, cp.abs(f - target) <= t]
    )
    problem.solve(solver="CLARABEL")
    if problem.status != "optimal":
        raise RuntimeError(f"solver status {problem.status!r}")
    return float(t.value)


@lru_cache(maxsize=1)
def _best_fit_to_negative_abs() -> float:
    """:func:`best_convex_sup_error` for -|x| on 201 grid points of [-1, 1] (solved once)."""
    grid = np.linspace(-1, 1, 201)
    return best_convex_sup_error(grid, -np.abs(grid))


@claim(
    "maxout.single-unit-convex",
    paper=PAPER,
    source="Sec. 4 (a single maxout unit is convex)",
    statement=(
        r"h(x)=\max_k(w_k^\top x+b_k)\ \text{is convex};\ \min_h\sup_{[-1,1]}|h(x)+|x||=\tfrac12>0"
    ),
    method="solver",
    provenance="unconfirmed-numbering",
    notes=(
        "The value 1/2 of the best error is derived: for convex h, 2h(0) <= h(-1) + h(1), so "
        "some error among x = -1, 0, 1 is at least 1/2; the constant h = -1/2 attains it."
    ),
    controls=[Control("zero-error", r"\min_h\sup_{[-1,1]}|h(x)+|x||=0", {"claimed_error": 0.0})],
)
def single_unit_convex(ctx: Context, claimed_error: float = 0.5) -> Evidence:
    r"""Midpoint convexity of random maxout units (backend), and the best convex fit to -|x|.

    Parts: for random units (d in {1, 3}, k in {1, 4, 16}) and random point pairs,
    :math:`h(\frac{x+y}2)\le\frac{h(x)+h(y)}2` within 16 EPS (1 + max|h|); the LP
    :func:`best_convex_sup_error` on 201 grid points of [-1, 1] (which include -1, 0, 1)
    equals ``claimed_error`` to 1e-7 (CLARABEL's default accuracy is 1e-8).
    """
    rng = ctx.rng(0)
    slack = []
    for d in (1, 3):
        for k in (1, 4, 16):
            weights, biases = rng.standard_normal((k, d)), rng.standard_normal(k)
            x, y = rng.uniform(-5, 5, (2, ctx.pick(500, 5000), d))
            values = [
                np.asarray(
                    to_numpy(maxout(ctx.asarray(p), ctx.asarray(weights), ctx.asarray(biases)))
                )
                for p in (x, y, (x + y) / 2)
            ]
            tol = 16 * EPS * (1 + max(np.abs(v).max() for v in values))
            slack.append(((values[0] + values[1]) / 2 - values[2]).min() + tol)
    best = _best_fit_to_negative_abs()
    return checks.combine(
        {
            "maxout units are midpoint-convex": checks.nonnegative(np.array(slack)),
            "best convex sup error on [-1, 1] = claimed": checks.compare(
                best, claimed_error, atol=1e-7
            ),
        }
    )
