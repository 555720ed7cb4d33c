r"""One-dimensional and sliced Wasserstein distances of uniform empirical measures.

Nguyen, Nguyen & Ho, *Self-Attention Amortized Distributional Projection Optimization
for Sliced Wasserstein Point-Cloud Reconstruction*, ICML 2023 (the background of
Sec. 2): claim ``sw.1d-sorted`` of ``shared/claims/catalog.md`` §4, and the math
objects that :mod:`theory.catalog.vdsw` builds on.

For uniform empirical measures :math:`\mu=\frac1n\sum_i\delta_{x_i}`,
:math:`\nu=\frac1n\sum_i\delta_{y_i}` on :math:`\mathbb R`,
:math:`W_p^p(\mu,\nu)=\frac1n\sum_i|x_{(i)}-y_{(i)}|^p` (sorted order). For point
clouds in :math:`\mathbb R^d` and a direction :math:`\theta\in S^{d-1}`, the
projected distance is :math:`W_p(\theta\sharp\mu,\theta\sharp\nu)`, and
:math:`SW_p^p=\mathbb E_{\theta\sim\mathrm{Unif}(S^{d-1})}W_p^p`,
:math:`\text{Max-}SW_p=\max_\theta W_p`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.optimize
import scipy.stats

from theorycheck import checks
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim
from theorycheck.validate import finite, real_floating

PAPER = "vdsw"
EPS = float(np.finfo(np.float64).eps)


def _check_order(p: float, func: str) -> float:
    if isinstance(p, bool) or not isinstance(p, int | float) or not p >= 1:
        raise ValueError(f"{func}: the order p must be a number >= 1, got {p!r}")
    return float(p)


def wasserstein_1d(x: Any, y: Any, p: float = 2.0) -> Any:
    r""":math:`W_p^p` of two uniform empirical measures on :math:`\mathbb R` with n atoms each.

    :math:`W_p^p=\frac1n\sum_{i=1}^n|x_{(i)}-y_{(i)}|^p`, the atoms paired in sorted order.

    Parameters
    ----------
    x, y : array, shape (..., n)
        The atoms along the last axis; leading axes index instances.
    p : float
        The order, >= 1.

    Returns
    -------
    array, shape (...)
        :math:`W_p^p` (the p-th power).

    Raises
    ------
    ValueError
        For non-finite atoms, different shapes, an empty last axis or p < 1.
    """
    p = _check_order(p, "wasserstein_1d")
    x, xp = real_floating(x, "x", func="wasserstein_1d")
    y, _ = real_floating(y, "y", func="wasserstein_1d")
    if x.ndim == 0 or tuple(x.shape) != tuple(y.shape) or x.shape[-1] == 0:
        raise ValueError(
            "wasserstein_1d: x and y must have the same non-empty shape (..., n), "
            f"got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    finite(x, "x", func="wasserstein_1d", xp=xp)
    finite(y, "y", func="wasserstein_1d", xp=xp)
    return _sorted_cost(x, y, p, xp)


def _sorted_cost(x: Any, y: Any, p: float, xp: Any) -> Any:
    gap = xp.abs(xp.sort(x, axis=-1) - xp.sort(y, axis=-1))
    return xp.mean(gap if p == 1.0 else gap**p, axis=-1)


def projected_wasserstein(x: Any, y: Any, directions: Any, p: float = 2.0) -> Any:
    r""":math:`W_p^p(\theta\sharp\mu,\theta\sharp\nu)` for every direction θ.

    Parameters
    ----------
    x, y : array, shape (n, d)
        The atoms of the two uniform empirical measures (point clouds).
    directions : array, shape (..., d)
        Unit vectors θ (not re-normalised).
    p : float
        The order, >= 1.

    Returns
    -------
    array, shape (...)
        The p-th power of the projected distances.

    Raises
    ------
    ValueError
        For clouds of different shapes, a dimension mismatch, non-finite input or p < 1.
    """
    p = _check_order(p, "projected_wasserstein")
    x, xp = real_floating(x, "x", func="projected_wasserstein")
    y, _ = real_floating(y, "y", func="projected_wasserstein")
    directions, _ = real_floating(directions, "directions", func="projected_wasserstein")
    if x.ndim != 2 or tuple(x.shape) != tuple(y.shape) or x.shape[0] == 0:
        raise ValueError(
            "projected_wasserstein: x and y must be point clouds of the same shape (n, d), "
            f"got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if directions.ndim == 0 or directions.shape[-1] != x.shape[1]:
        raise ValueError(
            f"projected_wasserstein: directions must have shape (..., {x.shape[1]}), "
            f"got {tuple(directions.shape)}"
        )
    for name, value in (("x", x), ("y", y), ("directions", directions)):
        finite(value, name, func="projected_wasserstein", xp=xp)
    return _projected(x, y, directions, p, xp)


def _projected(x: Any, y: Any, directions: Any, p: float, xp: Any) -> Any:
    return _sorted_cost(
        directions @ xp.matrix_transpose(x), directions @ xp.matrix_transpose(y), p, xp
    )


# --------------------------------------------------------------------------- references


def uniform_directions(rng: np.random.Generator, count: int, dimension: int) -> np.ndarray:
    """Independent uniform directions on the sphere (normalised Gaussians), shape (count, d)."""
    g = rng.standard_normal((count, dimension))
    return g / np.linalg.norm(g, axis=1, keepdims=True)


def fibonacci_sphere(count: int) -> np.ndarray:
    """The Fibonacci lattice of ``count`` nearly evenly spread points on :math:`S^2`."""
    i = np.arange(count) + 0.5
    z = 1 - 2 * i / count
    angle = np.pi * (1 + 5**0.5) * i
    r = np.sqrt(1 - z * z)
    return np.stack([r * np.cos(angle), r * np.sin(angle), z], axis=1)


def numpy_projected(x: np.ndarray, y: np.ndarray, directions: np.ndarray, p: float) -> np.ndarray:
    """:func:`projected_wasserstein` in plain NumPy (references)."""
    gap = np.abs(np.sort(directions @ x.T, axis=-1) - np.sort(directions @ y.T, axis=-1))
    return np.mean(gap**p, axis=-1)


def max_sliced_reference(
    x: np.ndarray, y: np.ndarray, p: float, extra: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    r"""Max-:math:`SW_p` in :math:`\mathbb R^3` and its direction (NumPy/SciPy).

    A Fibonacci grid of 20 000 directions, then Nelder-Mead in spherical coordinates
    from the best; ``extra`` directions (already evaluated elsewhere) are
    included, so the result is the largest :math:`W_p` of every direction examined:
    a lower bound of the true maximum that is attained.
    """
    candidates = fibonacci_sphere(20_000)
    if extra is not None:
        candidates = np.concatenate([candidates, extra.reshape(-1, 3)])
    values = numpy_projected(x, y, candidates, p)
    best_value, best = float(values.max()), candidates[int(values.argmax())]

    def direction(angles: np.ndarray) -> np.ndarray:
        a, b = angles
        return np.array([np.sin(a) * np.cos(b), np.sin(a) * np.sin(b), np.cos(a)])

    for start in candidates[np.argsort(values)[-1:]]:
        angles = np.array([np.arccos(np.clip(start[2], -1, 1)), np.arctan2(start[1], start[0])])
        result = scipy.optimize.minimize(
            lambda a: -numpy_projected(x, y, direction(a)[None], p)[0],
            angles,
            method="Nelder-Mead",
            options={"xatol": 1e-9, "fatol": 1e-13, "maxiter": 1000},
        )
        if -result.fun > best_value:
            best_value, best = float(-result.fun), direction(result.x)
    return best_value ** (1 / p), best


# --------------------------------------------------------------------------- sw.1d-sorted


def given_order_cost(x: Any, y: Any, p: float = 2.0) -> Any:
    r"""Control: :math:`\frac1n\sum_i|x_i-y_i|^p`, the atoms paired in their given order."""
    xp = array_namespace(x, y)
    return xp.mean(xp.abs(x - y) ** p, axis=-1)


def random_atoms(rng: np.random.Generator, count: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Atom sets: scales 0.1 to 100, offsets, and repeated atoms (ties) in a third of rows."""
    scale = 10.0 ** rng.uniform(-1, 2, (count, 1))
    x = scale * rng.standard_normal((count, size))
    y = scale * (rng.standard_normal((count, size)) + rng.uniform(-2, 2, (count, 1)))
    if size > 1:
        tied = rng.random(count) < 1 / 3
        x[tied, 1] = x[tied, 0]
        y[tied, -1] = x[tied, 0]
    return x, y


@claim(
    "sw.1d-sorted",
    paper=PAPER,
    source="Sec. 2 (background: one-dimensional Wasserstein distance)",
    statement=(
        r"\mu=\tfrac1n\sum_i\delta_{x_i},\ \nu=\tfrac1n\sum_i\delta_{y_i}\ \text{on}\ "
        r"\mathbb R:\ W_p^p(\mu,\nu)=\tfrac1n\sum_{i=1}^n|x_{(i)}-y_{(i)}|^p"
    ),
    method="solver",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "given-order",
            r"W_p^p=\tfrac1n\sum_i|x_i-y_i|^p\ \text{(atoms paired in their given order)}",
            {"cost": given_order_cost},
        )
    ],
)
def one_d_sorted(ctx: Context, cost: Callable[..., Any] = wasserstein_1d) -> Evidence:
    r"""The candidate (on the backend) against the optimal assignment and SciPy.

    For n in {1, 2, 5, 20} atoms and p in {1, 2, 3}: the optimal transport cost
    between two uniform empirical measures with n atoms is attained by a
    permutation (Birkhoff), which ``scipy.optimize.linear_sum_assignment``
    finds exactly on the cost matrix :math:`|x_i-y_j|^p/n`; for p = 1 also
    ``scipy.stats.wasserstein_distance`` (CDF form).

    Tolerance: both sides add n <= 20 terms of size at most
    :math:`\max|x_i-y_j|^p`, each computed with a relative error of at most
    (p + 1) EPS; the sums carry n EPS relative: rtol 1e-12 (about 20 times that).
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for size in (1, 2, 5, 20):
        x, y = random_atoms(rng, ctx.pick(40, 400), size)
        for p in (1.0, 2.0, 3.0):
            values = np.asarray(to_numpy(cost(ctx.asarray(x), ctx.asarray(y), p)), dtype=float)
            assignment = []
            for row_x, row_y in zip(x, y, strict=True):
                matrix = np.abs(row_x[:, None] - row_y[None, :]) ** p / size
                rows, cols = scipy.optimize.linear_sum_assignment(matrix)
                assignment.append(matrix[rows, cols].sum())
            parts[f"n={size}, p={p:g} vs assignment"] = checks.compare(
                values, assignment, rtol=1e-12, inputs={"x": x, "y": y}
            )
            if p == 1.0:
                reference = [
                    scipy.stats.wasserstein_distance(a, b) for a, b in zip(x, y, strict=True)
                ]
                parts[f"n={size}, p=1 vs scipy.stats.wasserstein_distance"] = checks.compare(
                    values, reference, rtol=1e-12, inputs={"x": x, "y": y}
                )
    return checks.combine(parts)
