r"""Adversarial model perturbation on a quadratic (Zheng et al., CVPR 2021): a fragment.

AMP trains on :math:`L_{\mathrm{AMP}}(\theta)=\max_{\|\Delta\|\le\epsilon}L(\theta+\Delta)`.
Claim ``amp.quadratic-flatness`` (``shared/claims/catalog.md`` §90, [derived]; the paper's
exact theorem is not confirmed): for :math:`L(\theta)=\tfrac12(\theta-\theta^*)^\top
H(\theta-\theta^*)` with H positive semi-definite,

.. math:: L_{\mathrm{AMP}}(\theta^*)=\tfrac{\epsilon^2}2\lambda_{\max}(H),

so AMP prefers minima of smaller top curvature; and at any :math:`\theta`, with
:math:`g=\nabla L(\theta)`,

.. math:: \epsilon\|g\|+\tfrac{\epsilon^2}2\lambda_{\min}(H)\le
          L_{\mathrm{AMP}}(\theta)-L(\theta)\le\epsilon\|g\|+\tfrac{\epsilon^2}2
          \max(\lambda_{\max}(H),0),

i.e. :math:`L_{\mathrm{AMP}}=L+\epsilon\|\nabla L\|+O(\epsilon^2)` (the lower bound takes
:math:`\Delta=\epsilon g/\|g\|`; the upper bounds the two terms separately, and
:math:`\tfrac12\Delta^\top H\Delta\le\tfrac12\|\Delta\|^2\lambda_{\max}` is at most
:math:`\tfrac{\epsilon^2}2\lambda_{\max}` only when :math:`\lambda_{\max}\ge0`: for a
negative definite H the maximiser may be interior, which a first draft of this
bound without the positive part got wrong, and the check caught).

The reference is a trust-region subproblem solved without eigenvalues: in two
dimensions the maximum of :math:`g^\top\Delta+\tfrac12\Delta^\top H\Delta` over the disk
is on the circle or at the interior stationary point :math:`-H^{-1}g` (when H is
negative definite and that point lies in the disk); on the circle it is found by a
grid of angles refined by bounded Brent (:func:`trust_region_maximum`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from theorycheck import checks, validate
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "amp"
"""Key of the paper in the seed catalog."""

GRID = 720
"""Angles of the coarse grid on the circle (spacing 0.5 degree; each local maximum of a
quadratic form on the circle is then bracketed by the grid's neighbours)."""

BRENT_XTOL = 1e-12
"""Angle tolerance of the bounded Brent refinement; the value is then off by about
(curvature) * xtol^2, far below the comparison tolerance."""


def _symmetric_batch(hessian: Any, func: str) -> np.ndarray:
    hessian = np.asarray(
        to_numpy(validate.finite_real_array(hessian, "hessian", func=func, min_ndim=2))
    )
    if hessian.shape[-1] != hessian.shape[-2]:
        raise ValueError(f"{func}: hessian must be square, got shape {hessian.shape}")
    asymmetry = float(np.max(np.abs(hessian - np.swapaxes(hessian, -1, -2)), initial=0.0))
    if asymmetry > 1e-12 * max(1.0, float(np.max(np.abs(hessian), initial=0.0))):
        raise ValueError(f"{func}: hessian must be symmetric, off by {asymmetry:.3g}")
    return hessian


def amp_increase_bounds(gradient: Any, hessian: Any, radius: Any) -> tuple[np.ndarray, np.ndarray]:
    r"""Lower and upper bounds of :math:`L_{\mathrm{AMP}}(\theta)-L(\theta)` for a quadratic.

    :math:`\epsilon\|g\|+\tfrac{\epsilon^2}2\lambda_{\min}(H)` and
    :math:`\epsilon\|g\|+\tfrac{\epsilon^2}2\max(\lambda_{\max}(H),0)` (module docstring).

    Parameters
    ----------
    gradient : array, shape (..., d)
        :math:`g=\nabla L(\theta)=H(\theta-\theta^*)`.
    hessian : array, shape (..., d, d)
        Symmetric H.
    radius : float or array, shape (...)
        :math:`\epsilon>0`.

    Returns
    -------
    (ndarray, ndarray), each of shape (...)
    """
    func = "amp_increase_bounds"
    hessian = _symmetric_batch(hessian, func)
    gradient = np.asarray(
        to_numpy(validate.finite_real_array(gradient, "gradient", func=func, min_ndim=1))
    )
    if gradient.shape != hessian.shape[:-1]:
        raise ValueError(
            f"{func}: gradient must have shape {hessian.shape[:-1]}, got {gradient.shape}"
        )
    radius = np.asarray(radius, dtype=float)
    if not (np.all(np.isfinite(radius)) and np.all(radius > 0)):
        raise ValueError(f"{func}: radius must be finite and > 0, got {radius}")
    eigenvalues = np.linalg.eigvalsh(hessian)
    first_order = radius * np.linalg.norm(gradient, axis=-1)
    return (
        first_order + 0.5 * radius**2 * eigenvalues[..., 0],
        first_order + 0.5 * radius**2 * np.maximum(eigenvalues[..., -1], 0.0),
    )


def trust_region_maximum(gradient: Any, hessian: Any, radius: float) -> float:
    r""":math:`\max_{\|\Delta\|\le\epsilon}g^\top\Delta+\tfrac12\Delta^\top H\Delta` in two
    dimensions, without eigenvalues (the independent reference).

    Parameters
    ----------
    gradient : array, shape (2,)
    hessian : array, shape (2, 2)
        Symmetric.
    radius : float
        :math:`\epsilon>0`.

    Returns
    -------
    float
    """
    func = "trust_region_maximum"
    hessian = _symmetric_batch(hessian, func)
    gradient = np.asarray(
        to_numpy(validate.finite_real_array(gradient, "gradient", func=func, min_ndim=1))
    )
    if hessian.shape != (2, 2) or gradient.shape != (2,):
        raise ValueError(
            f"{func}: needs gradient (2,) and hessian (2, 2), got {gradient.shape} and "
            f"{hessian.shape}"
        )
    radius = validate.positive_number(radius, "radius", func=func)

    def value(angle: float) -> float:
        step = radius * np.array([np.cos(angle), np.sin(angle)])
        return float(gradient @ step + 0.5 * step @ hessian @ step)

    grid = np.linspace(0.0, 2 * np.pi, GRID, endpoint=False)
    steps = radius * np.stack([np.cos(grid), np.sin(grid)], axis=-1)
    values = steps @ gradient + 0.5 * np.einsum("ai,ij,aj->a", steps, hessian, steps)
    best = int(np.argmax(values))
    spacing = grid[1] - grid[0]
    refined = minimize_scalar(
        lambda a: -value(a),
        bounds=(grid[best] - spacing, grid[best] + spacing),
        method="bounded",
        options={"xatol": BRENT_XTOL},
    )
    candidates = [float(values[best]), -float(refined.fun)]
    determinant = hessian[0, 0] * hessian[1, 1] - hessian[0, 1] ** 2
    if hessian[0, 0] < 0 and determinant > 0:  # negative definite: a concave interior maximum
        inner = -np.linalg.solve(hessian, gradient)
        if np.linalg.norm(inner) <= radius:
            candidates.append(float(gradient @ inner + 0.5 * inner @ hessian @ inner))
    return max(candidates)


def _top_curvature(hessian: np.ndarray) -> np.ndarray:
    return np.linalg.eigvalsh(hessian)[..., -1]


def _mean_curvature(hessian: np.ndarray) -> np.ndarray:
    return np.trace(hessian, axis1=-2, axis2=-1) / hessian.shape[-1]


def _twice_top_curvature(hessian: np.ndarray) -> np.ndarray:
    return 2.0 * _top_curvature(hessian)


CURVATURES = {"top": _top_curvature, "mean": _mean_curvature, "no-half": _twice_top_curvature}


@claim(
    "amp.quadratic-flatness",
    paper=PAPER,
    source="Sec. 3 (AMP objective; fragment on a quadratic, derived)",
    statement=(
        r"L=\tfrac12(\theta-\theta^*)^\top H(\theta-\theta^*),\ H\succeq0:\ "
        r"\max_{\|\Delta\|\le\epsilon}L(\theta^*+\Delta)=\tfrac{\epsilon^2}2\lambda_{\max}(H);\ "
        r"L_{\mathrm{AMP}}-L\in\epsilon\|\nabla L\|+\tfrac{\epsilon^2}2[\lambda_{\min},"
        r"\lambda_{\max}^+]"
    ),
    method="numeric",
    provenance="derived",
    controls=[
        Control(
            "mean-curvature",
            r"L_{\mathrm{AMP}}(\theta^*)=\tfrac{\epsilon^2}2\operatorname{tr}(H)/d",
            {"curvature": "mean"},
        ),
        Control(
            "no-half",
            r"L_{\mathrm{AMP}}(\theta^*)=\epsilon^2\lambda_{\max}(H)",
            {"curvature": "no-half"},
        ),
    ],
)
def quadratic_flatness(ctx: Context, curvature: str = "top") -> Evidence:
    r"""Random 2-D quadratics: 200 (quick) / 2000 (full) PSD H (Wishart, so eigenvalues
    spread over a few decades), radii :math:`\epsilon\in[10^{-2},1]`, points
    :math:`\theta-\theta^*` of norm up to 2; and as many indefinite H for the bounds part.

    Parts: (at the minimum) the reference maximum over the disk equals
    :math:`\tfrac{\epsilon^2}2c(H)` with c the candidate curvature (the claim: the top
    eigenvalue); (away from it) the reference increase lies within the two bounds of
    :func:`amp_increase_bounds`. Tolerance: the reference's angle error :math:`10^{-12}`
    costs at most :math:`\|H\|\epsilon^2\cdot10^{-24}`; float64 rounding of a 2-D quadratic
    form and of ``eigvalsh`` is below :math:`32u(\|g\|\epsilon+\|H\|\epsilon^2)`
    (u the unit roundoff), which is the tolerance used (the inequalities are compared
    relative to that scale).
    """
    if curvature not in CURVATURES:
        raise ValueError(f"quadratic_flatness: curvature must be one of {sorted(CURVATURES)}")
    rng = ctx.rng(0)
    count = ctx.pick(200, 2000)
    factors = rng.standard_normal((count, 2, 2)) * 10 ** rng.uniform(-1, 1, (count, 1, 1))
    psd = factors @ np.swapaxes(factors, -1, -2)
    indefinite = rng.standard_normal((count, 2, 2))
    indefinite = 0.5 * (indefinite + np.swapaxes(indefinite, -1, -2))
    radii = 10 ** rng.uniform(-2, 0, count)
    offsets = rng.standard_normal((count, 2)) * rng.uniform(0, 2, (count, 1))
    unit = np.finfo(np.float64).eps / 2
    parts = {}

    at_minimum = np.array(
        [trust_region_maximum(np.zeros(2), h, r) for h, r in zip(psd, radii, strict=True)]
    )
    claimed = 0.5 * radii**2 * CURVATURES[curvature](psd)
    norms = np.linalg.norm(psd, ord=2, axis=(-2, -1))
    parts["max over the ball at theta* = eps^2/2 c(H)"] = checks.compare(
        at_minimum,
        claimed,
        atol=32 * unit * norms * radii**2,
        inputs={"hessian": psd, "radius": radii},
    )

    hessians = np.concatenate([psd, indefinite])
    gradients = np.einsum("aij,aj->ai", hessians, np.concatenate([offsets, offsets]))
    all_radii = np.concatenate([radii, radii])
    increase = np.array(
        [
            trust_region_maximum(g, h, r)
            for g, h, r in zip(gradients, hessians, all_radii, strict=True)
        ]
    )
    lower, upper = amp_increase_bounds(gradients, hessians, all_radii)
    first_order = all_radii * np.linalg.norm(gradients, axis=-1)
    scale = first_order + np.linalg.norm(hessians, ord=2, axis=(-2, -1)) * all_radii**2
    inputs = {"gradient": gradients, "hessian": hessians, "radius": all_radii}
    parts["increase >= eps|g| + eps^2/2 lambda_min"] = checks.nonnegative(
        (increase - lower) / scale, tol=32 * unit, inputs=inputs
    )
    parts["increase <= eps|g| + eps^2/2 max(lambda_max, 0)"] = checks.nonnegative(
        (upper - increase) / scale, tol=32 * unit, inputs=inputs
    )
    evidence = checks.combine(parts)
    evidence.details["largest |increase - eps|g|| / eps^2"] = float(
        np.max(np.abs(increase - first_order) / all_radii**2)
    )
    return evidence
