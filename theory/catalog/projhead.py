r"""Balanced two-layer linear maps and square-root feature weighting (Xue et al.,
*Investigating the Benefits of Projection Head for Representation Learning*, ICLR 2024).

A linear encoder followed by a linear projection head, :math:`W=W_2W_1` with
:math:`W_1\in\mathbb R^{h\times d}` (the pre-projection representation :math:`W_1x`) and
:math:`W_2\in\mathbb R^{k\times h}`. If the factors are balanced,
:math:`W_1W_1^\top=W_2^\top W_2`, then

.. math:: W^\top W=W_1^\top W_2^\top W_2W_1=(W_1^\top W_1)^2
          \quad\Rightarrow\quad\sigma_i(W_1)=\sqrt{\sigma_i(W)},

so the pre-projection layer weights the input features by the square roots of their
weights in the output (less unequally): the paper's "layer-wise progressive feature
weighting". Gradient flow on any loss of the product conserves
:math:`D=W_1W_1^\top-W_2^\top W_2`; gradient descent with step :math:`\eta` changes it by
exactly :math:`\eta^2(W_2^\top GG^\top W_2-W_1G^\top GW_1^\top)` per step
(:math:`G=\nabla\ell(W)`), and from a small initialisation D stays near 0. With any
imbalance D, :math:`W^\top W=(W_1^\top W_1)^2-W_1^\top DW_1`, so by Weyl's inequality
:math:`|\sigma_i(W)^2-\sigma_i(W_1)^4|\le\|W_1\|_2^2\|D\|_2`.

Claim ``projhead.balanced-sqrt-weighting`` (``shared/claims/catalog.md`` §1,
[unconfirmed numbering]: the paper's theorem number and exact assumptions, there for a
spectral contrastive loss on a specific data model, are not confirmed; this is the
algebraic core and its gradient-descent dynamics, reconstructed). The functions run on any
array-API namespace.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from theorycheck import checks, validate
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "projhead"
"""Key of the paper in the seed catalog."""

UNIT_ROUNDOFF = 2.0**-53
"""float64 unit roundoff u = 1.1e-16."""


def _matrix(m: Any, name: str, func: str) -> Any:
    m, xp = validate.real_floating(m, name, func=func)
    if m.ndim < 2 or 0 in tuple(m.shape[-2:]):
        raise ValueError(f"{func}: {name} must have shape (..., rows, cols), got {tuple(m.shape)}")
    validate.finite(m, name, func=func, xp=xp)
    return xp


def _pair(w1: Any, w2: Any, func: str) -> Any:
    xp = _matrix(w1, "w1", func)
    _matrix(w2, "w2", func)
    if w2.shape[-1] != w1.shape[-2]:
        raise ValueError(
            f"{func}: w2 (..., k, h) and w1 (..., h, d) must share h, "
            f"got {tuple(w2.shape)} and {tuple(w1.shape)}"
        )
    return xp


def singular_values(m: Any) -> Any:
    r"""Singular values :math:`\sigma_1\ge\sigma_2\ge\dots` of a batch of matrices.

    Parameters
    ----------
    m : array, shape (..., rows, cols)

    Returns
    -------
    array, shape (..., min(rows, cols))
    """
    xp = _matrix(m, "m", "singular_values")
    return xp.linalg.svdvals(m)


def imbalance(w1: Any, w2: Any) -> Any:
    r"""The conserved quantity :math:`D=W_1W_1^\top-W_2^\top W_2`.

    Parameters
    ----------
    w1 : array, shape (..., h, d)
        First layer (the encoder; :math:`W_1x` is the pre-projection representation).
    w2 : array, shape (..., k, h)
        Projection head.

    Returns
    -------
    array, shape (..., h, h)
    """
    xp = _pair(w1, w2, "imbalance")
    return xp.matmul(w1, xp.matrix_transpose(w1)) - xp.matmul(xp.matrix_transpose(w2), w2)


def balanced_factors(w: Any, hidden: int, rotation: Any | None = None) -> tuple[Any, Any]:
    r"""A balanced factorisation :math:`W=W_2W_1` from the SVD :math:`W=U\Sigma V^\top`.

    :math:`W_1=R_q\Sigma^{1/2}V^\top`, :math:`W_2=U\Sigma^{1/2}R_q^\top`, with
    :math:`R_q` the first :math:`q=\min(k,d)` columns of an orthogonal R, so that
    :math:`W_1W_1^\top=W_2^\top W_2=R_q\Sigma R_q^\top`.

    Parameters
    ----------
    w : array, shape (..., k, d)
    hidden : int
        h >= min(k, d).
    rotation : array, shape (..., h, h), optional
        Orthogonal R (the identity by default).

    Returns
    -------
    w1 : array, shape (..., h, d)
    w2 : array, shape (..., k, h)
    """
    func = "balanced_factors"
    xp = _matrix(w, "w", func)
    k, d = w.shape[-2], w.shape[-1]
    q = min(k, d)
    if not isinstance(hidden, int) or isinstance(hidden, bool) or hidden < q:
        raise ValueError(f"{func}: hidden must be an integer >= min(k, d) = {q}, got {hidden!r}")
    if rotation is None:
        rotation = xp.eye(hidden, dtype=w.dtype)
    else:
        _matrix(rotation, "rotation", func)
        if tuple(rotation.shape[-2:]) != (hidden, hidden):
            raise ValueError(
                f"{func}: rotation must have shape (..., {hidden}, {hidden}), "
                f"got {tuple(rotation.shape)}"
            )
        eye = xp.eye(hidden, dtype=rotation.dtype)
        defect = float(xp.max(xp.abs(xp.matmul(xp.matrix_transpose(rotation), rotation) - eye)))
        if defect > 1e-10:
            raise ValueError(
                f"{func}: rotation must be orthogonal, R^T R - I is off by {defect:.3g}"
            )
    u, s, vh = xp.linalg.svd(w, full_matrices=False)
    root = xp.sqrt(s)
    r_q = rotation[..., :, :q]
    w1 = xp.matmul(r_q * root[..., None, :], vh)
    w2 = xp.matmul(u * root[..., None, :], xp.matrix_transpose(r_q))
    return w1, w2


def factorisation_gradient(target: Any) -> Callable[[Any], Any]:
    r"""The gradient :math:`W-M` of :math:`\ell(W)=\tfrac12\|W-M\|_F^2`.

    Parameters
    ----------
    target : array, shape (..., k, d)
        M.

    Returns
    -------
    callable
        ``gradient(w) -> w - target``.
    """
    _matrix(target, "target", "factorisation_gradient")

    def gradient(w: Any) -> Any:
        return w - target

    return gradient


def spectral_contrastive_gradient(positive_covariance: Any) -> Callable[[Any], Any]:
    r"""The gradient of the population spectral contrastive loss of a linear map.

    With whitened inputs (:math:`\mathbb Exx^\top=I`) and the positive-pair covariance
    :math:`A=\mathbb E[x^+x^\top]` (symmetric), the spectral contrastive loss
    :math:`-2\mathbb E[f(x)^\top f(x^+)]+\mathbb E[(f(x)^\top f(x'))^2]` of
    :math:`f(x)=Wx` is :math:`\ell(W)=-2\,\mathrm{tr}(WAW^\top)+\|WW^\top\|_F^2`, with
    gradient :math:`-4WA+4WW^\top W`.

    Parameters
    ----------
    positive_covariance : array, shape (..., d, d)
        A, symmetric.

    Returns
    -------
    callable
        ``gradient(w) -> -4 w A + 4 w w^T w`` for w of shape (..., k, d).
    """
    func = "spectral_contrastive_gradient"
    xp = _matrix(positive_covariance, "positive_covariance", func)
    a = positive_covariance
    if a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{func}: positive_covariance must be square, got {tuple(a.shape)}")
    asymmetry = float(xp.max(xp.abs(a - xp.matrix_transpose(a))))
    if asymmetry > 1e-12 * max(1.0, float(xp.max(xp.abs(a)))):
        raise ValueError(f"{func}: positive_covariance must be symmetric, off by {asymmetry:.3g}")

    def gradient(w: Any) -> Any:
        return -4.0 * xp.matmul(w, a) + 4.0 * xp.matmul(xp.matmul(w, xp.matrix_transpose(w)), w)

    return gradient


def train_factorised(
    w1: Any, w2: Any, gradient: Callable[[Any], Any], lr: float, steps: int
) -> tuple[Any, Any, Any]:
    r"""Gradient descent on :math:`\ell(W_2W_1)` for a batch of factor pairs.

    Each step: :math:`G=\nabla\ell(W_2W_1)`, :math:`W_1\leftarrow W_1-\eta W_2^\top G`,
    :math:`W_2\leftarrow W_2-\eta GW_1^\top` (simultaneous), and the exact change of
    :math:`D` is accumulated: :math:`\eta^2(W_2^\top GG^\top W_2-W_1G^\top GW_1^\top)`.

    Parameters
    ----------
    w1 : array, shape (..., h, d)
    w2 : array, shape (..., k, h)
    gradient : callable
        ``gradient(w)`` of shape (..., k, d): :math:`\nabla\ell` at :math:`W=W_2W_1`.
    lr : float
        :math:`\eta>0`.
    steps : int
        Number of steps, >= 0.

    Returns
    -------
    w1, w2 : arrays
        The final factors.
    drift : array, shape (..., h, h)
        :math:`\sum_t\eta^2(W_2^\top GG^\top W_2-W_1G^\top GW_1^\top)`, so that
        :math:`D_T=D_0+\text{drift}` in exact arithmetic.
    """
    func = "train_factorised"
    xp = _pair(w1, w2, func)
    if not isinstance(lr, int | float) or isinstance(lr, bool) or not (0 < lr < math.inf):
        raise ValueError(f"{func}: lr must be a positive finite number, got {lr!r}")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        raise ValueError(f"{func}: steps must be a non-negative integer, got {steps!r}")
    drift = xp.zeros((*w1.shape[:-2], w1.shape[-2], w1.shape[-2]), dtype=w1.dtype)
    t = xp.matrix_transpose
    for _ in range(steps):
        g = gradient(xp.matmul(w2, w1))
        left = xp.matmul(t(w2), g)  # (..., h, d)
        right = xp.matmul(g, t(w1))  # (..., k, h)
        drift = drift + lr**2 * (xp.matmul(left, t(left)) - xp.matmul(t(right), right))
        w1, w2 = w1 - lr * left, w2 - lr * right
    return w1, w2, drift


def square_root_weighting(sigma_w: np.ndarray) -> np.ndarray:
    r"""The claim's prediction :math:`\sigma_i(W_1)=\sqrt{\sigma_i(W)}`."""
    return np.sqrt(sigma_w)


def same_weighting(sigma_w: np.ndarray) -> np.ndarray:
    r"""Control: :math:`\sigma_i(W_1)=\sigma_i(W)` (no square root)."""
    return np.asarray(sigma_w)


# ------------------------------------------------------------------------- the check


def _orthonormal(rng: np.random.Generator, count: int, n: int, m: int) -> np.ndarray:
    """count random n x m matrices with orthonormal columns (QR of Gaussians)."""
    q, r = np.linalg.qr(rng.standard_normal((count, n, m)))
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def _spectral(x: np.ndarray) -> np.ndarray:
    return np.linalg.norm(x, ord=2, axis=(-2, -1))


def _relation_part(
    ctx: Context,
    w1: Any,
    w2: Any,
    epsilon: np.ndarray,
    relation: Callable[[np.ndarray], np.ndarray],
    inputs: dict[str, np.ndarray],
) -> Evidence:
    r"""Compare :math:`\sigma(W_1)` with ``relation`` :math:`(\sigma(W))`.

    Allowance for :math:`|\sigma_i(W_1)^2-\sigma_i(W)|`: with :math:`\|D\|_2\le\epsilon`,
    Weyl gives :math:`|\sigma_i(W)^2-\sigma_i(W_1)^4|\le\|W_1\|^2\epsilon=:E`, hence
    :math:`|\sigma_i(W)-\sigma_i(W_1)^2|\le\min(E/(\sigma_i(W)+\sigma_i(W_1)^2),\sqrt E)`;
    plus the float64 error of forming W and of the SVDs (backward stable, error
    :math:`\le8nu` times the norm; n the largest dimension),
    :math:`32nu(\|W_1\|^2+\|W_2\|\|W_1\|)`. Divided by :math:`\sigma_i(W_1)+\sqrt{\sigma_i(W)}`
    (or bounded by its square root) to compare :math:`\sigma_i(W_1)` itself.
    """
    xp = ctx.xp
    product = xp.matmul(w2, w1)
    s1 = np.asarray(to_numpy(singular_values(w1)), dtype=float)
    sw = np.asarray(to_numpy(singular_values(product)), dtype=float)
    q = min(s1.shape[-1], sw.shape[-1])
    s1, sw = s1[..., :q], sw[..., :q]
    w1_np = np.asarray(to_numpy(w1), dtype=float)
    w2_np = np.asarray(to_numpy(w2), dtype=float)
    norm1, norm2 = _spectral(w1_np), _spectral(w2_np)
    n = max(*w1_np.shape[-2:], *w2_np.shape[-2:])
    weyl = (norm1**2 * epsilon)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        squared = np.minimum(weyl / (sw + s1**2), np.sqrt(weyl))
    squared = np.where(np.isfinite(squared), squared, np.sqrt(weyl))
    squared = squared + (32 * n * UNIT_ROUNDOFF * (norm1**2 + norm2 * norm1))[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        allowed = np.minimum(squared / (s1 + np.sqrt(sw)), np.sqrt(squared))
    allowed = np.where(np.isfinite(allowed), allowed, np.sqrt(squared))
    return checks.compare(s1, relation(sw), atol=allowed, inputs=inputs)


SCHEDULES = {
    "matrix factorisation": (1e-3, 0.1, 1500),
    "spectral contrastive": (0.05, 0.06, 3000),
}
r"""(initial entry scale s, step :math:`\eta`, steps T) per objective. The spectral
contrastive loss is quartic in the factors near 0 (its saddle at the origin is degenerate),
so its plateaus last about :math:`1/(8\alpha s^2)`: s = 0.05 lets the leading modes be
learned in 3000 steps (:math:`\eta=0.06` below the stability limit
:math:`2/(32\alpha_1^{3/2})\approx0.087`)."""


@claim(
    "projhead.balanced-sqrt-weighting",
    paper=PAPER,
    source="Sec. 4 (two-layer linear analysis; numbering and assumptions not confirmed)",
    statement=(
        r"W=W_2W_1,\ W_1W_1^\top=W_2^\top W_2\Rightarrow\sigma_i(W_1)=\sqrt{\sigma_i(W)};"
        r"\ \tfrac{d}{dt}(W_1W_1^\top-W_2^\top W_2)=0\ \text{under gradient flow, so from a "
        r"small initialisation }\sigma_i(W_1)^2\approx\sigma_i(W_2W_1)"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    notes="Reconstructed algebraic core and dynamics; the paper's theorem and data model are "
    "not confirmed.",
    controls=[
        Control(
            "no-square-root",
            r"\sigma_i(W_1)=\sigma_i(W_2W_1)",
            {"relation": same_weighting},
        ),
        Control(
            "unbalanced-init",
            r"\sigma_i(W_1)=\sqrt{\sigma_i(W_2W_1)}\text{ after training from any initialisation "
            r"(here }W_1(0)\text{ ten times larger than }W_2(0))",
            {"first_layer_gain": 10.0},
        ),
    ],
)
def balanced_sqrt_weighting(
    ctx: Context,
    relation: Callable[[np.ndarray], np.ndarray] = square_root_weighting,
    first_layer_gain: float = 1.0,
) -> Evidence:
    r"""Balanced factorisations, then gradient descent from a small initialisation.

    Parts:

    1. SVD-balanced factors (:func:`balanced_factors`, random W of shape 4 x 6 with
       singular values in [0.1, 10], h = 4 and 6, random rotation R) and *generic*
       balanced pairs (random :math:`W_1` of shape 3 x 5, :math:`W_2=QP^{1/2}` with
       :math:`P=W_1W_1^\top` and Q a random 6 x 3 matrix with orthonormal columns, so W
       is not built from its own SVD): :math:`\sigma(W_1)` against ``relation``
       :math:`(\sigma(W))`, with :math:`\epsilon=\|\hat D\|_2+8nu(\|W_1\|^2+\|W_2\|^2)`
       (the measured, rounding-level imbalance);
    2. gradient descent (:func:`train_factorised`) on :math:`\tfrac12\|W_2W_1-M\|_F^2`
       (M: 4 x 6 of rank 3, singular values 3, 1.5, 0.5; h = 5) and on the linear
       spectral contrastive loss (whitened inputs, positive-pair covariance with
       eigenvalues 0.8, 0.6, 0.45, 0.1, 0.05, 0.02; k = 3, h = 4), with the scales, steps
       and step counts of :data:`SCHEDULES`, from :math:`W_2(0)` with entries
       :math:`N(0,s^2)` and :math:`W_1(0)` with entries :math:`N(0,(gs)^2)`, g =
       ``first_layer_gain`` (1 for the claim): (a) :math:`D_T=D_0+\text{drift}` (the exact
       discrete conservation law) to the rounding of T updates,
       :math:`8Tnu\max(1,\|W_1\|^2+\|W_2\|^2)`; (b) the relation at the end of training,
       with :math:`\epsilon` the imbalance *the claim's premise allows*:
       :math:`\|D_0^{(s)}\|_2+\|\text{drift}\|_2` + that rounding, where
       :math:`D_0^{(s)}` is the imbalance of the same Gaussian draws with both layers at
       the small scale s. The unbalanced control trains from g = 10 and is held to the
       same premise. The relation is an identity of (nearly) balanced factors, so it is
       checked wherever training stands: the matrix factorisation converges (gradient
       near 1e-5); the spectral contrastive loss learns its modes one after another and
       may leave the slowest unlearned in 3000 steps.

    The final gradient norms (convergence) are reported in the details.
    """
    rng = ctx.rng(0)
    count = ctx.pick(20, 200)
    xp = ctx.xp
    parts: dict[str, Evidence] = {}
    details: dict[str, Any] = {}

    # 1. algebraic: balanced factorisations
    k, d = 4, 6
    u = _orthonormal(rng, count, k, k)
    v = _orthonormal(rng, count, d, k)
    sigma = np.exp(rng.uniform(math.log(0.1), math.log(10.0), (count, k)))
    w = np.einsum("bij,bj,bkj->bik", u, sigma, v)
    for hidden in (4, 6):
        rotation = _orthonormal(rng, count, hidden, hidden)
        w1, w2 = balanced_factors(ctx.asarray(w), hidden, ctx.asarray(rotation))
        d_hat = np.asarray(to_numpy(imbalance(w1, w2)), dtype=float)
        w1_np, w2_np = (np.asarray(to_numpy(x), dtype=float) for x in (w1, w2))
        n = max(k, d, hidden)
        epsilon = _spectral(d_hat) + 8 * n * UNIT_ROUNDOFF * (
            _spectral(w1_np) ** 2 + _spectral(w2_np) ** 2
        )
        parts[f"SVD-balanced factors, h={hidden}"] = _relation_part(
            ctx, w1, w2, epsilon, relation, {"w": w}
        )
    h, d, k = 3, 5, 6
    w1 = rng.standard_normal((count, h, d))
    p = w1 @ np.swapaxes(w1, -1, -2)
    values, vectors = np.linalg.eigh(p)
    root = np.einsum("bij,bj,bkj->bik", vectors, np.sqrt(values), vectors)
    w2 = _orthonormal(rng, count, k, h) @ root
    d_hat = p - np.swapaxes(w2, -1, -2) @ w2
    epsilon = _spectral(d_hat) + 8 * k * UNIT_ROUNDOFF * (_spectral(w1) ** 2 + _spectral(w2) ** 2)
    parts["generic balanced pairs W2 = Q (W1 W1^T)^{1/2}"] = _relation_part(
        ctx, ctx.asarray(w1), ctx.asarray(w2), epsilon, relation, {"w1": w1, "w2": w2}
    )

    # 2. gradient descent from a small initialisation
    target = np.einsum(
        "bij,j,bkj->bik",
        _orthonormal(rng, count, 4, 3),
        np.array([3.0, 1.5, 0.5]),
        _orthonormal(rng, count, 6, 3),
    )
    eigen = np.array([0.8, 0.6, 0.45, 0.1, 0.05, 0.02])
    basis = _orthonormal(rng, count, 6, 6)
    covariance = np.einsum("bij,j,bkj->bik", basis, eigen, basis)
    covariance = (covariance + np.swapaxes(covariance, -1, -2)) / 2
    problems = {
        "matrix factorisation": (factorisation_gradient(ctx.asarray(target)), (4, 5, 6)),
        "spectral contrastive": (spectral_contrastive_gradient(ctx.asarray(covariance)), (3, 4, 6)),
    }
    for name, (gradient, (k, h, d)) in problems.items():
        scale, lr, steps = SCHEDULES[name]
        g1 = rng.standard_normal((count, h, d))
        g2 = rng.standard_normal((count, k, h))
        start1, start2 = first_layer_gain * scale * g1, scale * g2
        premise = scale**2 * (g1 @ np.swapaxes(g1, -1, -2) - np.swapaxes(g2, -1, -2) @ g2)
        d0 = start1 @ np.swapaxes(start1, -1, -2) - np.swapaxes(start2, -1, -2) @ start2
        w1, w2, drift = train_factorised(
            ctx.asarray(start1), ctx.asarray(start2), gradient, lr, steps
        )
        w1_np, w2_np = (np.asarray(to_numpy(x), dtype=float) for x in (w1, w2))
        drift_np = np.asarray(to_numpy(drift), dtype=float)
        d_end = np.asarray(to_numpy(imbalance(w1, w2)), dtype=float)
        n = max(k, h, d)
        size = np.maximum(_spectral(w1_np) ** 2 + _spectral(w2_np) ** 2, 1.0)
        rounding = 8 * steps * n * UNIT_ROUNDOFF * size
        conservation = np.max(np.abs(d_end - d0 - drift_np), axis=(-2, -1))
        parts[f"{name}: D_T = D_0 + drift"] = checks.nonnegative(
            rounding - conservation, inputs={"g1": g1, "g2": g2}
        )
        epsilon = _spectral(premise) + _spectral(drift_np) + rounding
        parts[f"{name}: sigma(W1) vs sigma(W2 W1) after GD"] = _relation_part(
            ctx, w1, w2, epsilon, relation, {"g1": g1, "g2": g2}
        )
        final = np.linalg.norm(
            np.asarray(to_numpy(gradient(xp.matmul(w2, w1))), dtype=float), axis=(-2, -1)
        )
        details[f"{name}: median, max ||grad l(W)||_F at the end"] = (
            float(np.median(final)),
            float(np.max(final)),
        )
        details[f"{name}: max ||D_0||_2, ||drift||_2, ||D_T||_2"] = (
            float(np.max(_spectral(d0))),
            float(np.max(_spectral(drift_np))),
            float(np.max(_spectral(d_end))),
        )
    evidence = checks.combine(parts)
    evidence.details.update(details)
    return evidence


__all__ = [
    "PAPER",
    "balanced_factors",
    "factorisation_gradient",
    "imbalance",
    "same_weighting",
    "singular_values",
    "spectral_contrastive_gradient",
    "square_root_weighting",
    "train_factorised",
]
