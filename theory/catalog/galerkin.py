r"""Galerkin attention (Cao, *Choose a Transformer: Fourier or Galerkin*, NeurIPS 2021).

Claims ``galerkin.scale-homogeneous`` and ``galerkin.colspan`` of
``shared/claims/catalog.md`` §100. With n points and d channels, Galerkin attention is

.. math:: z=Q(\tilde K^\top\tilde V)/n,

with layer normalisation (no affine part) on K and V only. It is linear in Q, so
:math:`z(cQ)=c\,z(Q)`, its columns lie in the column span of Q (the coefficients
:math:`\langle\tilde k_l,\tilde v_j\rangle/n` are quadrature inner products), and
:math:`(Q\tilde K^\top)\tilde V=Q(\tilde K^\top\tilde V)` costs :math:`O(nd^2)`.
Softmax attention :math:`\mathrm{softmax}(QK^\top/\sqrt d)V` is the negative control:
neither homogeneous in Q nor in Q's column span. The paper's Céa-type approximation
theorem is not checked.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theorycheck import checks, validate
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "galerkin"
"""Key of the paper in the seed catalog."""

EPS = float(np.finfo(np.float64).eps)


def _qkv(q: Any, k: Any, v: Any, func: str) -> Any:
    for name, x in (("q", q), ("k", k), ("v", v)):
        x, xp = validate.real_floating(x, name, func=func)
        if x.ndim < 2:
            raise ValueError(f"{func}: {name} must have shape (..., n, d), got {tuple(x.shape)}")
        validate.finite(x, name, func=func, xp=xp)
    validate.same_shape(q, k, ("q", "k"), func=func)
    if tuple(v.shape[:-1]) != tuple(q.shape[:-1]):
        raise ValueError(
            f"{func}: v must have shape (..., n, d_v) matching q {tuple(q.shape)}, "
            f"got {tuple(v.shape)}"
        )
    return xp


def layer_norm(x: Any, eps: float = 1e-5) -> Any:
    r"""Layer normalisation over the last axis without affine part:
    :math:`(x-\bar x)/\sqrt{\mathrm{var}(x)+\epsilon}`.

    Parameters
    ----------
    x : array, shape (..., d)
    eps : float
        Positive stabiliser.
    """
    x, xp = validate.real_floating(x, "x", func="layer_norm")
    validate.axis(x, -1, "x", func="layer_norm")
    if not isinstance(eps, int | float) or isinstance(eps, bool) or not eps > 0:
        raise ValueError(f"layer_norm: eps must be a positive number, got {eps!r}")
    centred = x - xp.mean(x, axis=-1, keepdims=True)
    return centred / xp.sqrt(xp.mean(centred * centred, axis=-1, keepdims=True) + eps)


def galerkin_attention(q: Any, k: Any, v: Any, *, order: str = "kv-first") -> Any:
    r"""Galerkin attention :math:`Q(\tilde K^\top\tilde V)/n`.

    Parameters
    ----------
    q, k : array, shape (..., n, d)
    v : array, shape (..., n, d_v)
    order : {"kv-first", "qk-first"}
        ``kv-first`` forms :math:`\tilde K^\top\tilde V` (d x d_v) first, :math:`O(nd\,d_v)`;
        ``qk-first`` forms :math:`Q\tilde K^\top` (n x n) first, :math:`O(n^2d)`.

    Returns
    -------
    array, shape (..., n, d_v)
    """
    xp = _qkv(q, k, v, "galerkin_attention")
    n = q.shape[-2]
    kt = xp.matrix_transpose(layer_norm(k))
    vt = layer_norm(v)
    if order == "kv-first":
        return xp.matmul(q, xp.matmul(kt, vt)) / n
    if order == "qk-first":
        return xp.matmul(xp.matmul(q, kt), vt) / n
    raise ValueError(f"galerkin_attention: order must be 'kv-first' or 'qk-first', got {order!r}")


def softmax_attention(q: Any, k: Any, v: Any) -> Any:
    r"""Softmax attention :math:`\mathrm{softmax}(QK^\top/\sqrt d)V` (row-wise softmax).

    Parameters
    ----------
    q, k : array, shape (..., n, d)
    v : array, shape (..., n, d_v)
    """
    xp = _qkv(q, k, v, "softmax_attention")
    scores = xp.matmul(q, xp.matrix_transpose(k)) / math.sqrt(q.shape[-1])
    scores = scores - xp.max(scores, axis=-1, keepdims=True)
    weights = xp.exp(scores)
    weights = weights / xp.sum(weights, axis=-1, keepdims=True)
    return xp.matmul(weights, v)


ATTENTIONS = {"galerkin": galerkin_attention, "softmax": softmax_attention}


def _draw(ctx: Context, count: int, n: int, d: int) -> tuple[np.ndarray, ...]:
    rng = ctx.rng(0)
    return tuple(rng.standard_normal((count, n, d)) for _ in range(3))


@claim(
    "galerkin.scale-homogeneous",
    paper=PAPER,
    source="Sec. 3 (Galerkin-type attention)",
    statement=(
        r"z(Q)=Q(\tilde K^\top\tilde V)/n:\ z(cQ)=c\,z(Q),\ "
        r"(Q\tilde K^\top)\tilde V=Q(\tilde K^\top\tilde V)"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "softmax-attention",
            r"\mathrm{softmax}(cQK^\top/\sqrt d)V=c\,\mathrm{softmax}(QK^\top/\sqrt d)V",
            {"attention": "softmax"},
        )
    ],
)
def scale_homogeneous(ctx: Context, attention: str = "galerkin") -> Evidence:
    r"""Random Q, K, V (n = 32, d = 8), scales c in [-3, 3].

    Parts: :math:`z(cQ)` against :math:`c\,z(Q)` and (Galerkin only) the two
    multiplication orders against each other. Tolerance: each entry is a sum of
    n d = 256 products of layer-normalised O(1) values, error <= 256 x 4 EPS x |c| x
    (sum of magnitudes) ~ 1e-12 relative to the row norms; atol 1e-11 x (1 + |c|) x
    max|z| per instance.
    """
    fn = ATTENTIONS[attention]
    count, n, d = ctx.pick(50, 500), 32, 8
    q, k, v = _draw(ctx, count, n, d)
    c = ctx.rng(1).uniform(-3, 3, count)
    z = to_numpy(fn(*(ctx.asarray(t) for t in (q, k, v))))
    zc = to_numpy(fn(ctx.asarray(c[:, None, None] * q), ctx.asarray(k), ctx.asarray(v)))
    scale = np.abs(z).reshape(count, -1).max(axis=1)
    atol = 1e-11 * (1 + np.abs(c)) * scale
    parts = {"z(cQ) = c z(Q)": checks.compare(zc, c[:, None, None] * z, atol=atol, inputs={"c": c})}
    if attention == "galerkin":
        other = galerkin_attention(*(ctx.asarray(t) for t in (q, k, v)), order="qk-first")
        parts["(QK^T)V = Q(K^T V)"] = checks.compare(other, z, atol=1e-11 * scale)
    return checks.combine(parts)


@claim(
    "galerkin.colspan",
    paper=PAPER,
    source="Sec. 3 (Petrov-Galerkin interpretation)",
    statement=(
        r"z=Q(\tilde K^\top\tilde V)/n:\ \mathrm{col}(z)\subseteq\mathrm{col}(Q),\ "
        r"\mathrm{rank}(z)\le d"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "softmax-attention",
            r"\mathrm{col}(\mathrm{softmax}(QK^\top/\sqrt d)V)\subseteq\mathrm{col}(Q)",
            {"attention": "softmax"},
        )
    ],
)
def colspan(ctx: Context, attention: str = "galerkin") -> Evidence:
    r"""Random Q, K, V with n = 32 points, d = 4 channels for Q, K and d_v = 8 for V.

    The residual :math:`\|(I-P_Q)z\|_F` of the projection onto col(Q) (orthonormal
    basis from QR, computed in NumPy) must be below 1e-10 :math:`\|z\|_F` (QR and
    products of 32 x 8 well-conditioned Gaussian matrices: error ~ n EPS cond(Q)
    ~ 1e-13); the numerical rank of z (singular values above n EPS sigma_max) must be
    at most d.
    """
    fn = ATTENTIONS[attention]
    count, n, d, dv = ctx.pick(50, 500), 32, 4, 8
    rng = ctx.rng(0)
    q, k = rng.standard_normal((2, count, n, d))
    v = rng.standard_normal((count, n, dv))
    z = to_numpy(fn(*(ctx.asarray(t) for t in (q, k, v))))
    basis, _ = np.linalg.qr(q)
    residual = z - basis @ (np.swapaxes(basis, -1, -2) @ z)
    res_norm = np.linalg.norm(residual, axis=(1, 2))
    z_norm = np.linalg.norm(z, axis=(1, 2))
    singular = np.linalg.svd(z, compute_uv=False)
    rank = (singular > n * EPS * singular[:, :1]).sum(axis=1)
    return checks.combine(
        {
            "columns of z in col(Q)": checks.nonnegative(1e-10 * z_norm - res_norm),
            "rank(z) <= d": checks.nonnegative(d - rank),
        }
    )
