r"""PJAX: projection onto the graph of the ReLU (2025), fragment.

*A projection-based framework for gradient-free and parallel learning*; claim
``pjax.relu-graph-projection`` of ``shared/claims/catalog.md`` §94 [unconfirmed numbering].
This is a **fragment**: PJAX trains networks by alternating projections onto the
constraint sets of their operations; the checked ingredient is the closed-form Euclidean
projection onto one such set, the graph :math:`\{(x,y):y=\max(x,0)\}` of the ReLU. The
framework's convergence and its training results are not checked; which section of the
paper states the ReLU projection, and in which form, is not confirmed.

The graph is the union of the ray :math:`\{(x,0):x\le0\}` and the ray
:math:`\{(t,t):t\ge0\}`; the projection onto a union of closed sets is the nearer of the
projections onto each (ties: the flat ray's, a choice of ours). Onto the first ray:
:math:`(\min(x_0,0),0)`; onto the second: :math:`(t,t)` with
:math:`t=\max((x_0+y_0)/2,0)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from theorycheck import checks, validate
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "pjax"
"""Key of the paper in the seed catalog."""

EPS = float(np.finfo(np.float64).eps)


def _check_points(points: Any, func: str) -> tuple[Any, Any]:
    points, xp = validate.real_floating(points, "points", func=func)
    if points.ndim < 1 or points.shape[-1] != 2:
        raise ValueError(f"{func}: points must have shape (..., 2), got {tuple(points.shape)}")
    validate.finite(points, "points", func=func, xp=xp)
    return points, xp


def relu_graph_projection(points: Any) -> Any:
    r"""Euclidean projection of :math:`(x_0,y_0)` onto :math:`\{(x,y):y=\max(x,0)\}`.

    The nearer of :math:`(\min(x_0,0),0)` (projection onto the ray
    :math:`\{(x,0):x\le0\}`) and :math:`(t,t)`, :math:`t=\max((x_0+y_0)/2,0)` (projection
    onto the ray :math:`\{x=y\ge0\}`); on a tie the first.

    Parameters
    ----------
    points : array, shape (..., 2)
        Points :math:`(x_0,y_0)`, finite.

    Returns
    -------
    array, shape (..., 2)
        The projected points, on the graph exactly (:math:`y=\max(x,0)` in floating point).
    """
    points, xp = _check_points(points, "relu_graph_projection")
    x0, y0 = points[..., 0], points[..., 1]
    zero = xp.zeros_like(x0)
    flat_x = xp.minimum(x0, zero)
    t = xp.maximum((x0 + y0) / 2, zero)
    flat_sq = (x0 - flat_x) ** 2 + y0**2
    ray_sq = (x0 - t) ** 2 + (y0 - t) ** 2
    use_flat = flat_sq <= ray_sq
    x = xp.where(use_flat, flat_x, t)
    y = xp.where(use_flat, zero, t)
    return xp.stack([x, y], axis=-1)


def _projection_without_clip(points: Any) -> Any:
    r"""Control: the ray candidate :math:`((x_0+y_0)/2,(x_0+y_0)/2)` without the clip at 0."""
    xp = array_namespace(points)
    x0, y0 = points[..., 0], points[..., 1]
    zero = xp.zeros_like(x0)
    flat_x = xp.minimum(x0, zero)
    t = (x0 + y0) / 2
    use_flat = (x0 - flat_x) ** 2 + y0**2 <= (x0 - t) ** 2 + (y0 - t) ** 2
    return xp.stack([xp.where(use_flat, flat_x, t), xp.where(use_flat, zero, t)], axis=-1)


def _vertical_projection(points: Any) -> Any:
    r"""Control: :math:`(x_0,\max(x_0,0))`, the forward pass instead of a projection."""
    xp = array_namespace(points)
    x0 = points[..., 0]
    return xp.stack([x0, xp.maximum(x0, xp.zeros_like(x0))], axis=-1)


def _grid_min_sq_distance(points: np.ndarray, half_width: float, spacing: float) -> np.ndarray:
    r"""Reference: :math:`\min_j\|z-(x_j,\max(x_j,0))\|^2` over the grid
    :math:`x_j\in[-a,a]` of the given spacing (chunked over points)."""
    grid = np.arange(-half_width, half_width + spacing / 2, spacing)
    graph_y = np.maximum(grid, 0.0)
    out = np.empty(points.shape[0])
    for start in range(0, points.shape[0], 64):
        chunk = points[start : start + 64]
        sq = (chunk[:, :1] - grid) ** 2 + (chunk[:, 1:] - graph_y) ** 2
        out[start : start + 64] = sq.min(axis=1)
    return out


@claim(
    "pjax.relu-graph-projection",
    paper=PAPER,
    source="projection onto the ReLU graph (fragment; section not confirmed)",
    statement=(
        r"\text{fragment: }\Pi_{\{y=\max(x,0)\}}(x_0,y_0)=\text{the nearer of }"
        r"(\min(x_0,0),0)\text{ and }(t,t),\ t=\max(\tfrac{x_0+y_0}2,0)"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "no-ray-clip",
            r"t=\tfrac{x_0+y_0}2\ \text{without the clip at 0}",
            {"project": _projection_without_clip},
        ),
        Control(
            "forward-pass",
            r"\Pi(x_0,y_0)=(x_0,\max(x_0,0))",
            {"project": _vertical_projection},
        ),
    ],
)
def relu_graph_projection_check(
    ctx: Context, project: Callable[[Any], Any] = relu_graph_projection
) -> Evidence:
    r"""2000 (quick) / 10000 (full) points uniform on :math:`[-3,3]^2`, against a dense grid
    search over the graph (:math:`x_j\in[-9,9]`, spacing :math:`h=10^{-3}` quick /
    :math:`5\cdot10^{-4}` full; the projection of z lies within :math:`2\|z\|\le
    6\sqrt2<9` of the origin, since the origin is on the graph).

    Parts:

    - on the graph: :math:`y=\max(x,0)` exactly (both are rounded the same way);
    - no grid point is nearer: :math:`d^2\le d_{\text{grid}}^2+\tau` with
      :math:`\tau=8\epsilon(\|z\|+9)^2` (the rounding of two squared distances of size
      :math:`\le(\|z\|+9)^2`). With the grid's own resolution
      (:math:`d_{\text{grid}}\le d^\star+h/\sqrt2`, as the graph is :math:`\sqrt2`-Lipschitz
      in x) this pins :math:`d` within :math:`h/\sqrt2` of the optimal distance;
    - the grid's resolution reached (a sanity bound on the reference):
      :math:`d_{\text{grid}}\le d+h/\sqrt2+\tau`, which the closed form's point on the graph
      guarantees.
    """
    rng = ctx.rng(0)
    count = ctx.pick(2000, 10000)
    spacing, half_width = ctx.pick(1e-3, 5e-4), 9.0
    points = rng.uniform(-3.0, 3.0, (count, 2))
    projected = np.asarray(to_numpy(project(ctx.asarray(points))), dtype=float)
    d_sq = np.sum((points - projected) ** 2, axis=-1)
    grid_sq = _grid_min_sq_distance(points, half_width, spacing)
    tau = 8 * EPS * (np.linalg.norm(points, axis=-1) + half_width) ** 2
    inputs = {"z": points, "projection": projected}
    resolution = np.sqrt(grid_sq) - np.sqrt(d_sq) - spacing / np.sqrt(2)
    return checks.combine(
        {
            "on the graph": checks.compare(
                projected[:, 1], np.maximum(projected[:, 0], 0.0), inputs=inputs
            ),
            "no grid point nearer": checks.nonnegative(grid_sq - d_sq + tau, inputs=inputs),
            "grid resolution": checks.nonnegative(-resolution + np.sqrt(tau), inputs=inputs),
        }
    )
