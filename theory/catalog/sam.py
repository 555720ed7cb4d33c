r"""SAM (Foret et al., *Sharpness-Aware Minimization for Efficiently Improving
Generalization*, ICLR 2021), Sec. 2: the inner maximisation and its first-order solution.

For a loss L with gradient :math:`g=\nabla L(w)\ne0`, :math:`p\in(1,\infty)` and
:math:`1/p+1/q=1`, the inner problem :math:`\max_{\|\varepsilon\|_p\le\rho}\varepsilon^\top g`
of the first-order SAM objective is solved by (Eq. (2))

.. math::

    \hat\varepsilon(w) = \rho\,\frac{\operatorname{sign}(g)\odot|g|^{q-1}}{(\|g\|_q^q)^{1/p}},
    \qquad \hat\varepsilon^\top g = \rho\|g\|_q ,

and for p = 2 it is :math:`\rho g/\|g\|_2`. On a quadratic
:math:`L(w)=\tfrac12w^\top Hw+b^\top w` the exact SAM objective
:math:`\max_{\|\varepsilon\|_2\le\rho}L(w+\varepsilon)` is a trust-region problem,
solved in NumPy by :func:`trust_region_max` (the reference of
``sam.first-order-gap``, checked here; ``sam.dual-norm-solution`` is derived in
:mod:`proofs_check.catalog.sam`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from theorycheck import checks, validate
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "sam"
"""Key of the paper in the seed catalog."""

UNIT_ROUNDOFF = 2.0**-53
"""float64 unit roundoff u = 1.1e-16."""


# --------------------------------------------------------------------------- math objects


def _radius(rho: float, func: str) -> float:
    if not isinstance(rho, int | float) or isinstance(rho, bool) or not 0 < rho < float("inf"):
        raise ValueError(f"{func}: rho must be a finite number > 0, got {rho!r}")
    return float(rho)


def sam_perturbation(g: Any, rho: float, p: float = 2.0) -> Any:
    r"""Eq. (2): the maximiser of :math:`\varepsilon^\top g` over the p-ball.

    Computed on :math:`g/\max_i|g_i|` (the formula is invariant to a positive scaling
    of g), so that :math:`|g|^q` neither overflows nor underflows.

    Parameters
    ----------
    g : array, shape (..., d)
        Gradients; every row must be non-zero.
    rho : float
        Radius :math:`\rho>0`.
    p : float
        The norm's exponent, in (1, inf).

    Returns
    -------
    array, shape (..., d)
        :math:`\rho\,\mathrm{sign}(g)|g|^{q-1}/(\|g\|_q^q)^{1/p}`.
    """
    g, xp = validate.real_floating(g, "g", func="sam_perturbation")
    validate.axis(g, -1, "g", func="sam_perturbation")
    validate.finite(g, "g", func="sam_perturbation", xp=xp)
    rho = _radius(rho, "sam_perturbation")
    if not isinstance(p, int | float) or isinstance(p, bool) or not 1 < p < float("inf"):
        raise ValueError(f"sam_perturbation: p must be a number in (1, inf), got {p!r}")
    top = xp.max(xp.abs(g), axis=-1, keepdims=True)
    if not bool(xp.all(top > 0)):
        raise ValueError(
            "sam_perturbation: g must be non-zero in every row (g = 0 has no maximiser)"
        )
    q = p / (p - 1.0)
    scaled = xp.abs(g) / top
    dual = xp.sum(scaled**q, axis=-1, keepdims=True)
    return rho * xp.sign(g) * scaled ** (q - 1.0) / dual ** (1.0 / p)


def _quadratic_inputs(w: Any, hessian: Any, b: Any, func: str) -> Any:
    w, xp = validate.real_floating(w, "w", func=func)
    validate.axis(w, -1, "w", func=func)
    validate.real_floating(hessian, "H", func=func)
    validate.real_floating(b, "b", func=func)
    validate.same_shape(w, b, ("w", "b"), func=func)
    d = w.shape[-1]
    if tuple(hessian.shape) != (*w.shape, d):
        raise ValueError(f"{func}: H must have shape {(*w.shape, d)}, got {tuple(hessian.shape)}")
    for array, name in ((w, "w"), (hessian, "H"), (b, "b")):
        validate.finite(array, name, func=func, xp=xp)
    if not bool(xp.all(hessian == xp.matrix_transpose(hessian))):
        raise ValueError(f"{func}: H must be symmetric")
    return xp


def quadratic_loss(w: Any, hessian: Any, b: Any) -> Any:
    r""":math:`L(w)=\tfrac12w^\top Hw+b^\top w`, batched over leading axes.

    Parameters
    ----------
    w : array, shape (..., d)
    hessian : array, shape (..., d, d)
        Symmetric H.
    b : array, shape (..., d)
    """
    xp = _quadratic_inputs(w, hessian, b, "quadratic_loss")
    hw = xp.sum(hessian * w[..., None, :], axis=-1)
    return 0.5 * xp.sum(w * hw, axis=-1) + xp.sum(b * w, axis=-1)


def quadratic_gradient(w: Any, hessian: Any, b: Any) -> Any:
    r""":math:`\nabla L(w)=Hw+b` (shapes as :func:`quadratic_loss`)."""
    xp = _quadratic_inputs(w, hessian, b, "quadratic_gradient")
    return xp.sum(hessian * w[..., None, :], axis=-1) + b


def first_order_sam_objective(w: Any, hessian: Any, b: Any, rho: float) -> Any:
    r"""The first-order SAM objective :math:`L(w)+\rho\|\nabla L(w)\|_2` of the quadratic."""
    xp = _quadratic_inputs(w, hessian, b, "first_order_sam_objective")
    rho = _radius(rho, "first_order_sam_objective")
    g = quadratic_gradient(w, hessian, b)
    return quadratic_loss(w, hessian, b) + rho * xp.sqrt(xp.sum(g * g, axis=-1))


def trust_region_max(
    g: np.ndarray, hessian: np.ndarray, rho: float, iterations: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    r"""The exact trust-region maximum (NumPy reference, batched).

    :math:`\max_{\|\varepsilon\|_2\le\rho}g^\top\varepsilon+\tfrac12\varepsilon^\top H\varepsilon`.

    KKT: :math:`\varepsilon=(\mu I-H)^{-1}g` with :math:`\mu\ge\max(\lambda_{\max},0)` and
    :math:`\mu(\|\varepsilon\|-\rho)=0`. In the eigenbasis
    :math:`\|\varepsilon(\mu)\|^2=\sum_i\tilde g_i^2/(\mu-\lambda_i)^2` decreases on
    :math:`(\lambda_{\max},\infty)`; the secular equation :math:`\|\varepsilon(\mu)\|=\rho`
    is solved by bisection on :math:`[\max(\lambda_{\max},0),\ \max(\lambda_{\max},0)+\|g\|/\rho]`
    (200 halvings reach the float spacing of :math:`\mu`). When
    :math:`\lambda_{\max}<0` and :math:`\|H^{-1}g\|\le\rho` the maximiser is interior,
    :math:`\mu=0`. The hard case (g orthogonal to the top eigenvector) has
    probability zero for random g and is not treated.

    Parameters
    ----------
    g : ndarray, shape (N, d)
    hessian : ndarray, shape (N, d, d)
    rho : float

    Returns
    -------
    value : ndarray, shape (N,)
        The maximum.
    epsilon : ndarray, shape (N, d)
        The maximiser.
    """
    eigenvalues, vectors = np.linalg.eigh(hessian)
    coefficients = np.einsum("nji,nj->ni", vectors, g)
    top = eigenvalues[:, -1]
    low = np.maximum(top, 0.0)
    high = low + np.linalg.norm(g, axis=1) / rho

    def norm_at(mu: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sqrt(np.sum((coefficients / (mu[:, None] - eigenvalues)) ** 2, axis=1))

    interior = (top < 0) & (norm_at(np.zeros_like(top)) <= rho)
    for _ in range(iterations):
        middle = 0.5 * (low + high)
        outside = norm_at(middle) > rho
        low = np.where(outside, middle, low)
        high = np.where(outside, high, middle)
    mu = np.where(interior, 0.0, 0.5 * (low + high))
    tilde = coefficients / (mu[:, None] - eigenvalues)
    value = np.sum(coefficients * tilde, axis=1) + 0.5 * np.sum(eigenvalues * tilde**2, axis=1)
    return value, np.einsum("nij,nj->ni", vectors, tilde)


# --------------------------------------------------------------------------- first-order-gap

Bounds = Callable[[float, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def paper_remainder_bounds(
    rho: float, g: np.ndarray, hessian: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    r"""The paper's bracket of the remainder.

    :math:`[\tfrac12\rho^2\hat g^\top H\hat g,\ \tfrac12\rho^2\max(\lambda_{\max}(H),0)]`.
    """
    unit = g / np.linalg.norm(g, axis=1, keepdims=True)
    curvature = np.einsum("ni,nij,nj->n", unit, hessian, unit)
    top = np.linalg.eigvalsh(hessian)[:, -1]
    return 0.5 * rho**2 * curvature, 0.5 * rho**2 * np.maximum(top, 0.0)


def exact_first_order(
    rho: float, g: np.ndarray, hessian: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    r"""Control: the SAM objective equals :math:`L+\rho\|\nabla L\|` exactly (remainder 0)."""
    zero = np.zeros(g.shape[0])
    return zero, zero


def top_curvature_attained(
    rho: float, g: np.ndarray, hessian: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    r"""Control: the top curvature is attained.

    The remainder is :math:`\ge\tfrac12\rho^2\lambda_{\max}(H)`.
    """
    _, upper = paper_remainder_bounds(rho, g, hessian)
    top = np.linalg.eigvalsh(hessian)[:, -1]
    return 0.5 * rho**2 * top, upper


def random_quadratics(
    rng: np.random.Generator, count: int, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quadratics (w, H, b): H PSD (A A^T / d) in one half, symmetric Gaussian in the other."""
    a = rng.standard_normal((count, size, size))
    psd = a @ np.swapaxes(a, 1, 2) / size
    indefinite = (a + np.swapaxes(a, 1, 2)) / 2
    hessian = np.where((np.arange(count) % 2 == 0)[:, None, None], psd, indefinite)
    return rng.standard_normal((count, size)), hessian, rng.standard_normal((count, size))


@claim(
    "sam.first-order-gap",
    paper=PAPER,
    source="Sec. 2 (first-order approximation of the inner maximum)",
    statement=(
        r"\max_{\|\varepsilon\|_2\le\rho}L(w+\varepsilon)=L(w)+\rho\|\nabla L(w)\|_2+r,\ "
        r"L=\tfrac12w^\top Hw+b^\top w:\ \tfrac12\rho^2\hat g^\top H\hat g\le r\le"
        r"\tfrac12\rho^2\max(\lambda_{\max}(H),0)"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "exact-first-order",
            r"\max_{\|\varepsilon\|\le\rho}L(w+\varepsilon)=L(w)+\rho\|\nabla L(w)\| exactly",
            {"bounds": exact_first_order},
        ),
        Control(
            "top-curvature-attained",
            r"r\ge\tfrac12\rho^2\lambda_{\max}(H)",
            {"bounds": top_curvature_attained},
        ),
    ],
)
def first_order_gap(ctx: Context, bounds: Bounds = paper_remainder_bounds) -> Evidence:
    r"""Exact trust-region maxima against the backend's first-order objective.

    Random quadratics (d = 2, 5, 20; PSD and indefinite H) and
    :math:`\rho\in\{10^{-1},10^{-2},10^{-3}\}`. The remainder
    :math:`r=\max L(w+\varepsilon)-(L(w)+\rho\|g\|)` takes the maximum from
    :func:`trust_region_max` and the first-order objective from the backend
    (:func:`first_order_sam_objective`); it must lie in the candidate bracket.
    The backend's :func:`quadratic_loss` at :math:`w+\varepsilon^*` must also equal
    the maximum (consistency of the reference and the implementation). Bounded
    :math:`r/\rho^2` as :math:`\rho\to0` follows from the upper bound.

    Tolerance: L(w), :math:`L(w+\varepsilon)`, :math:`\rho\|g\|` and the maximum are
    sums of about :math:`d^2` products, each term bounded by
    :math:`S=(\|w\|+\rho)^2\|H\|_2+\|b\|(\|w\|+\rho)+\rho\|g\|` (the value itself
    may be much smaller: cancellation), so each errs by :math:`d^2uS`; the
    bisection's :math:`\mu` is exact to a few ulps, which moves the maximum by a
    second-order amount. atol :math:`8d^2uS`.
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for size in (2, 5, 20):
        count = ctx.pick(100, 2000)
        w, hessian, b = random_quadratics(rng, count, size)
        g = np.einsum("nij,nj->ni", hessian, w) + b
        loss = 0.5 * np.einsum("ni,ni->n", w, g - b) + np.einsum("ni,ni->n", b, w)
        spectral = np.max(np.abs(np.linalg.eigvalsh(hessian)), axis=1)
        inputs = {"w": w, "H": hessian, "b": b}
        wb, hb, bb = ctx.asarray(w), ctx.asarray(hessian), ctx.asarray(b)
        for rho in (1e-1, 1e-2, 1e-3):
            maximum, epsilon = trust_region_max(g, hessian, rho)
            first_order = np.asarray(
                to_numpy(first_order_sam_objective(wb, hb, bb, rho)), dtype=float
            )
            remainder = loss + maximum - first_order
            reach = np.linalg.norm(w, axis=1) + rho
            scale = (
                reach**2 * spectral
                + np.linalg.norm(b, axis=1) * reach
                + rho * np.linalg.norm(g, axis=1)
            )
            tol = 8 * size**2 * UNIT_ROUNDOFF * scale
            lower, upper = bounds(rho, g, hessian)
            label = f"d={size}, rho={rho:g}"
            parts[f"{label}: r >= lower"] = checks.nonnegative(
                remainder - lower + tol, inputs=inputs
            )
            parts[f"{label}: r <= upper"] = checks.nonnegative(
                upper - remainder + tol, inputs=inputs
            )
            at_maximiser = np.asarray(
                to_numpy(quadratic_loss(ctx.asarray(w + epsilon), hb, bb)), dtype=float
            )
            parts[f"{label}: L(w + eps*) on the backend = L(w) + max"] = checks.compare(
                at_maximiser, loss + maximum, atol=tol, inputs=inputs
            )
    return checks.combine(parts)


__all__ = [
    "PAPER",
    "first_order_sam_objective",
    "quadratic_gradient",
    "quadratic_loss",
    "sam_perturbation",
    "trust_region_max",
]
