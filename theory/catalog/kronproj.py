r"""Kronecker projection maintenance (Song, Yang, Yang & Zhang, ICML 2023), fragment.

*Sketching Meets Differential Privacy: Fast Algorithm for Dynamic Kronecker Projection
Maintenance*; claim ``kronproj.projection-identities`` of ``shared/claims/catalog.md`` §77
[unconfirmed numbering]. This is a **fragment**: the linear-algebra ingredients the data
structure maintains, not its theorems. The data-structure running times and the
differential-privacy robustness (the paper's main results) are not checked and not
checkable at small scale.

Notation (the paper's): :math:`\mathsf A\in\mathbb R^{m\times n^2}` (row i the
vectorisation of an :math:`n\times n` constraint matrix), W a PSD :math:`n\times n` weight,
:math:`\mathsf B=\mathsf A(W\otimes I)` or :math:`\mathsf B=\mathsf A(W^{1/2}\otimes W^{1/2})`
and the projection :math:`P=\mathsf B^\top(\mathsf B\mathsf B^\top)^{-1}\mathsf B`
(:math:`n^2\times n^2`). The checked fragment:

1. P is symmetric and idempotent, equals the orthogonal projector onto the row space of
   :math:`\mathsf B` (an SVD reference), and :math:`\operatorname{rank}P=\operatorname{rank}
   \mathsf A` for invertible W;
2. :math:`(W^{1/2}\otimes W^{1/2})^2=W\otimes W` for the symmetric square root;
3. after a rank-1 change :math:`W\to W+vv^\top` the Woodbury identity applied to
   :math:`\mathsf B\mathsf B^\top` (a rank-2n correction, :func:`gram_update_factors`)
   gives the same P as recomputation;
4. a Gaussian sketch :math:`R\in\mathbb R^{s\times n^2}` (entries :math:`N(0,1/s)`)
   gives :math:`\|Ph-PR^\top Rh\|\le\epsilon\|h\|` with probability at least
   :math:`1-\delta` when :math:`s\ge(\operatorname{rank}P+1)/(\delta\epsilon^2)`.

Reconstructed, not confirmed against the paper: which side the sketch acts on (here
:math:`\widehat Ph=(PR^\top)(Rh)`, a sketched matrix-vector product) and the sketch size
of part 4, which is derived here from the exact second moment
:math:`\mathbb E\|P(R^\top R-I)h\|^2=(\|Ph\|^2+\operatorname{rank}(P)\|h\|^2)/s` (Wishart
moments) and Markov's inequality; the paper's own sketch size (with log factors and a
union bound over queries) is not confirmed. The form of the rank-1 change (here
:math:`+vv^\top`, which keeps W PSD) is also a choice of ours.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.stats

from theorycheck import checks, validate
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "kronproj"
"""Key of the paper in the seed catalog."""

EPS = float(np.finfo(np.float64).eps)
KINDS = ("w-identity", "sqrt-sqrt")
r"""The two weightings: :math:`W\otimes I` and :math:`W^{1/2}\otimes W^{1/2}`."""
SYMMETRY_TOL = 1e-10
r"""Largest accepted :math:`\max|W-W^\top|/\max(1,\max|W|)` of a weight: far above the
rounding of a symmetric product (a few n EPS), far below any genuinely asymmetric W."""
PSD_TOL = 1e-10
r"""Largest accepted :math:`-\lambda_{\min}(W)/\max(1,\|W\|_2)`; eigenvalues in
:math:`[-\mathrm{PSD\_TOL}\,\|W\|,0)` are rounding and are clipped to 0."""


# --------------------------------------------------------------------------- validation


def _check_square(x: Any, name: str, func: str) -> Any:
    x = validate.finite_real_array(x, name, func=func, min_ndim=2)
    if x.shape[-1] != x.shape[-2] or x.shape[-1] == 0:
        raise ValueError(f"{func}: {name} must be (..., n, n) with n >= 1, got {tuple(x.shape)}")
    return x


def _check_weight(w: Any, func: str) -> Any:
    """A finite symmetric PSD (..., n, n) weight, else ``ValueError``."""
    w = _check_square(w, "w", func)
    xp = array_namespace(w)
    scale = max(1.0, float(xp.max(xp.abs(w))))
    asymmetry = float(xp.max(xp.abs(w - xp.matrix_transpose(w)))) / scale
    if asymmetry > SYMMETRY_TOL:
        raise ValueError(
            f"{func}: w must be symmetric, max|W - W^T| / max(1, max|W|) = {asymmetry:.3g} "
            f"> {SYMMETRY_TOL:g}"
        )
    eigenvalues = xp.linalg.eigvalsh(w)
    lowest = float(xp.min(eigenvalues))
    top = max(1.0, float(xp.max(xp.abs(eigenvalues))))
    if lowest < -PSD_TOL * top:
        raise ValueError(f"{func}: w must be positive semidefinite, has eigenvalue {lowest:.3g}")
    return w


def _check_positive(value: Any, name: str, func: str, *, upper: float = math.inf) -> float:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not 0 < value < upper
    ):
        bound = "" if upper == math.inf else f" and < {upper:g}"
        raise ValueError(f"{func}: {name} must be a finite number > 0{bound}, got {value!r}")
    return float(value)


# --------------------------------------------------------------------------- math


def kron(left: Any, right: Any) -> Any:
    r"""Batched Kronecker product :math:`L\otimes R`.

    Parameters
    ----------
    left : array, shape (..., p, q)
    right : array, shape (..., r, t)
        Leading axes broadcast.

    Returns
    -------
    array, shape (..., p r, q t)
        :math:`(L\otimes R)_{(i,k),(j,l)}=L_{ij}R_{kl}` (row-major pairing, as
        ``numpy.kron``).
    """
    func = "kron"
    left = validate.finite_real_array(left, "left", func=func, min_ndim=2)
    right = validate.finite_real_array(right, "right", func=func, min_ndim=2)
    xp = array_namespace(left, right)
    p, q = left.shape[-2:]
    r, t = right.shape[-2:]
    product = left[..., :, None, :, None] * right[..., None, :, None, :]
    return xp.reshape(product, (*product.shape[:-4], p * r, q * t))


def psd_sqrt(w: Any) -> Any:
    r"""Symmetric PSD square root :math:`W^{1/2}=V\Lambda^{1/2}V^\top` (eigh).

    Parameters
    ----------
    w : array, shape (..., n, n)
        Symmetric positive semidefinite; eigenvalues within ``PSD_TOL`` below 0 are
        rounding and are clipped to 0.

    Returns
    -------
    array, shape (..., n, n)
        The unique symmetric PSD S with :math:`S^2=W` (to rounding,
        :math:`\|S^2-W\|\lesssim n\epsilon\|W\|`).
    """
    w = _check_weight(w, "psd_sqrt")
    xp = array_namespace(w)
    eigenvalues, vectors = xp.linalg.eigh(w)
    root = xp.sqrt(xp.clip(eigenvalues, 0.0, None))
    return xp.matmul(vectors * root[..., None, :], xp.matrix_transpose(vectors))


def kronecker_weight(w: Any, *, kind: str = "w-identity") -> Any:
    r"""The Kronecker weight K with :math:`\mathsf B=\mathsf AK`.

    Parameters
    ----------
    w : array, shape (..., n, n)
        Symmetric PSD weight W.
    kind : {"w-identity", "sqrt-sqrt"}
        :math:`K=W\otimes I_n` or :math:`K=W^{1/2}\otimes W^{1/2}` (:func:`psd_sqrt`).

    Returns
    -------
    array, shape (..., n^2, n^2)
    """
    func = "kronecker_weight"
    if kind not in KINDS:
        raise ValueError(f"{func}: kind must be one of {KINDS}, got {kind!r}")
    w = _check_weight(w, func)
    xp = array_namespace(w)
    if kind == "w-identity":
        return kron(w, xp.eye(w.shape[-1], dtype=w.dtype))
    root = psd_sqrt(w)
    return kron(root, root)


def _check_constraints(a: Any, n: int, func: str) -> Any:
    a = validate.finite_real_array(a, "a", func=func, min_ndim=2)
    if a.shape[-1] != n * n or a.shape[-2] == 0:
        raise ValueError(
            f"{func}: a must have shape (..., m, {n * n}) with m >= 1 (n^2 columns for an "
            f"{n}x{n} weight), got {tuple(a.shape)}"
        )
    return a


def gram_rtol(columns: int) -> float:
    r"""Relative cutoff :math:`10N\epsilon` below which an eigenvalue of
    :math:`\mathsf B\mathsf B^\top` counts as zero.

    Forming :math:`\mathsf B\mathsf B^\top` from :math:`\mathsf B` (N = n² columns) in
    float64 perturbs it by at most :math:`\gamma_N\|\mathsf B\|^2\approx N\epsilon\|
    \mathsf B\|^2`, so smaller eigenvalues are indistinguishable from zero; the factor 10
    covers the pseudo-inverse's own SVD.
    """
    return 10.0 * columns * EPS


def kronecker_projection(a: Any, w: Any, *, kind: str = "w-identity") -> Any:
    r"""The projection :math:`P=\mathsf B^\top(\mathsf B\mathsf B^\top)^{-1}\mathsf B`.

    Computed as written (the Gram inverse, not an orthogonalisation of
    :math:`\mathsf B`), with the Moore-Penrose inverse (cutoff :func:`gram_rtol`) so that a
    singular W still gives the projector onto the row space of :math:`\mathsf B`; for
    invertible W and A of full row rank it is the inverse, the paper's setting.

    Parameters
    ----------
    a : array, shape (..., m, n^2)
        :math:`\mathsf A`.
    w : array, shape (..., n, n)
        Symmetric PSD W.
    kind : {"w-identity", "sqrt-sqrt"}
        :math:`\mathsf B=\mathsf A(W\otimes I)` or :math:`\mathsf A(W^{1/2}\otimes W^{1/2})`.

    Returns
    -------
    array, shape (..., n^2, n^2)
    """
    func = "kronecker_projection"
    if kind not in KINDS:
        raise ValueError(f"{func}: kind must be one of {KINDS}, got {kind!r}")
    w = _check_weight(w, func)
    a = _check_constraints(a, w.shape[-1], func)
    weight = kronecker_weight(w, kind=kind)
    xp = array_namespace(a, weight)
    b = xp.matmul(a, weight)
    gram = xp.matmul(b, xp.matrix_transpose(b))
    inverse = xp.linalg.pinv(gram, rtol=gram_rtol(b.shape[-1]))
    return xp.matmul(xp.matrix_transpose(b), xp.matmul(inverse, b))


def gram_update_factors(a: Any, w: Any, v: Any, *, kind: str = "w-identity") -> tuple[Any, Any]:
    r"""Low-rank factors of the change of :math:`\mathsf B\mathsf B^\top` when
    :math:`W\to W'=W+vv^\top`.

    :math:`\mathsf B'\mathsf B'^\top=\mathsf B\mathsf B^\top+XCX^\top` with

    - ``w-identity`` (:math:`\mathsf B\mathsf B^\top=\mathsf A(W^2\otimes I)\mathsf A^\top`):
      :math:`W'^2-W^2=GC_0G^\top`, :math:`G=[Wv,v]`,
      :math:`C_0=\begin{pmatrix}0&1\\1&\|v\|^2\end{pmatrix}`, so
      :math:`X=\mathsf A(G\otimes I)`, :math:`C=C_0\otimes I`;
    - ``sqrt-sqrt`` (:math:`\mathsf B\mathsf B^\top=\mathsf A(W\otimes W)\mathsf A^\top`, by
      :math:`(W^{1/2}\otimes W^{1/2})^2=W\otimes W`):
      :math:`W'\otimes W'-W\otimes W=(I\otimes v)W(I\otimes v)^\top+(v\otimes I)W'(v\otimes
      I)^\top`, so :math:`X=\mathsf A[I\otimes v,\ v\otimes I]`,
      :math:`C=\operatorname{diag}(W,W')`.

    Parameters
    ----------
    a : array, shape (..., m, n^2)
    w : array, shape (..., n, n)
        Symmetric PSD W (for a Woodbury update C must be invertible: W PD for ``sqrt-sqrt``).
    v : array, shape (..., n)
        The rank-1 change.
    kind : {"w-identity", "sqrt-sqrt"}

    Returns
    -------
    x : array, shape (..., m, 2n)
    c : array, shape (..., 2n, 2n)
    """
    func = "gram_update_factors"
    if kind not in KINDS:
        raise ValueError(f"{func}: kind must be one of {KINDS}, got {kind!r}")
    w = _check_weight(w, func)
    n = w.shape[-1]
    a = _check_constraints(a, n, func)
    v = validate.finite_real_array(v, "v", func=func, min_ndim=1)
    if v.shape[-1] != n:
        raise ValueError(f"{func}: v must have shape (..., {n}), got {tuple(v.shape)}")
    xp = array_namespace(a, w, v)
    eye = xp.eye(n, dtype=w.dtype)
    column = v[..., :, None]  # (..., n, 1)
    if kind == "w-identity":
        g = xp.concat([xp.matmul(w, column), column], axis=-1)  # (..., n, 2)
        squared = xp.sum(v * v, axis=-1)[..., None, None]
        zero, one = xp.zeros_like(squared), xp.ones_like(squared)
        core = xp.concat(
            [xp.concat([zero, one], axis=-1), xp.concat([one, squared], axis=-1)], axis=-2
        )
        lift = kron(g, eye)  # (..., n^2, 2n)
        c = kron(core, eye)
    else:
        updated = w + column * v[..., None, :]
        lift = xp.concat([kron(eye, column), kron(column, eye)], axis=-1)  # (..., n^2, 2n)
        zeros = xp.zeros_like(w)
        c = xp.concat(
            [xp.concat([w, zeros], axis=-1), xp.concat([zeros, updated], axis=-1)], axis=-2
        )
    return xp.matmul(a, lift), c


def woodbury_inverse(m_inv: Any, x: Any, c: Any) -> Any:
    r"""Woodbury: :math:`(M+XCX^\top)^{-1}=M^{-1}-M^{-1}X(C^{-1}+X^\top M^{-1}X)^{-1}X^\top
    M^{-1}`.

    Parameters
    ----------
    m_inv : array, shape (..., m, m)
        :math:`M^{-1}` (symmetric).
    x : array, shape (..., m, k)
    c : array, shape (..., k, k)
        Invertible.

    Returns
    -------
    array, shape (..., m, m)
    """
    func = "woodbury_inverse"
    m_inv = _check_square(m_inv, "m_inv", func)
    c = _check_square(c, "c", func)
    x = validate.finite_real_array(x, "x", func=func, min_ndim=2)
    if x.shape[-2] != m_inv.shape[-1] or x.shape[-1] != c.shape[-1]:
        raise ValueError(
            f"{func}: need m_inv (..., m, m), x (..., m, k), c (..., k, k); got "
            f"{tuple(m_inv.shape)}, {tuple(x.shape)}, {tuple(c.shape)}"
        )
    xp = array_namespace(m_inv, x, c)
    singular = xp.linalg.svdvals(c)
    largest = singular[..., 0]
    nonzero = largest > 0
    ratio = singular[..., -1] / xp.where(nonzero, largest, xp.ones_like(largest))
    smallest = float(xp.min(xp.where(nonzero, ratio, xp.zeros_like(ratio))))
    if not smallest > c.shape[-1] * EPS:
        raise ValueError(
            f"{func}: c must be invertible, smallest sigma_min/sigma_max = {smallest:.3g}"
        )
    return _woodbury(m_inv, x, c, sign=1.0)


def _woodbury(m_inv: Any, x: Any, c: Any, *, sign: float) -> Any:
    xp = array_namespace(m_inv, x, c)
    left = xp.matmul(m_inv, x)  # M^{-1} X
    capacitance = xp.linalg.inv(c) + sign * xp.matmul(xp.matrix_transpose(x), left)
    correction = xp.linalg.solve(capacitance, xp.matrix_transpose(left))
    return m_inv - sign * xp.matmul(left, correction)


def _woodbury_sign_slip(m_inv: Any, x: Any, c: Any) -> Any:
    r"""Control: :math:`M^{-1}+M^{-1}X(C^{-1}-X^\top M^{-1}X)^{-1}X^\top M^{-1}` (the
    inverse of :math:`M-XCX^\top`, a sign slip)."""
    return _woodbury(m_inv, x, c, sign=-1.0)


def sketch_size(rank: int, eps: float, delta: float) -> int:
    r"""Rows :math:`s=\lceil(r+1)/(\delta\epsilon^2)\rceil` of a Gaussian sketch.

    With :math:`R_{ij}\sim N(0,1/s)`,
    :math:`\mathbb E\|P(R^\top R-I)h\|^2=(\|Ph\|^2+r\|h\|^2)/s\le(r+1)\|h\|^2/s` for an
    orthogonal projector P of rank r (Wishart second moments), so by Markov
    :math:`\Pr(\|Ph-PR^\top Rh\|>\epsilon\|h\|)\le\delta` (derived; the paper's size is not
    confirmed).

    Parameters
    ----------
    rank : int
        r >= 0.
    eps : float
        Accuracy, > 0.
    delta : float
        Failure probability, in (0, 1).
    """
    func = "sketch_size"
    if not isinstance(rank, int | np.integer) or isinstance(rank, bool) or rank < 0:
        raise ValueError(f"{func}: rank must be an integer >= 0, got {rank!r}")
    eps = _check_positive(eps, "eps", func)
    delta = _check_positive(delta, "delta", func, upper=1.0)
    return math.ceil((int(rank) + 1) / (delta * eps * eps))


def _sketch_size_without_delta(rank: int, eps: float, delta: float) -> int:
    r"""Control: :math:`s=\lceil(r+1)/\epsilon^2\rceil`, independent of :math:`\delta`."""
    return math.ceil((int(rank) + 1) / (eps * eps))


def sketched_apply(p: Any, h: Any, r: Any) -> Any:
    r"""The sketched query :math:`\widehat Ph=(PR^\top)(Rh)`.

    Parameters
    ----------
    p : array, shape (..., N, N)
        The projection.
    h : array, shape (..., N)
        Query vectors.
    r : array, shape (..., s, N)
        Sketch matrices (leading axes broadcast with those of p and h).

    Returns
    -------
    array, shape (..., N)
    """
    func = "sketched_apply"
    p = _check_square(p, "p", func)
    h = validate.finite_real_array(h, "h", func=func, min_ndim=1)
    r = validate.finite_real_array(r, "r", func=func, min_ndim=2)
    n = p.shape[-1]
    if h.shape[-1] != n or r.shape[-1] != n:
        raise ValueError(
            f"{func}: need p (..., N, N), h (..., N), r (..., s, N); got {tuple(p.shape)}, "
            f"{tuple(h.shape)}, {tuple(r.shape)}"
        )
    xp = array_namespace(p, h, r)
    sketched = xp.matmul(r, h[..., :, None])  # (..., s, 1)
    return xp.matmul(p, xp.matmul(xp.matrix_transpose(r), sketched))[..., 0]


# --------------------------------------------------------------------------- controls


def _projection_unweighted_gram(a: Any, w: Any, *, kind: str = "w-identity") -> Any:
    r"""Control: :math:`K\mathsf A^\top(\mathsf A\mathsf A^\top)^{-1}\mathsf AK` (the weight
    dropped from the Gram matrix)."""
    weight = kronecker_weight(w, kind=kind)
    xp = array_namespace(a, weight)
    gram = xp.matmul(a, xp.matrix_transpose(a))
    middle = xp.matmul(xp.matrix_transpose(a), xp.linalg.solve(gram, a))
    return xp.matmul(weight, xp.matmul(middle, weight))


def _cholesky_root(w: Any) -> Any:
    r"""Control: the Cholesky factor L (:math:`W=LL^\top`) used as :math:`W^{1/2}`."""
    xp = array_namespace(w)
    return xp.linalg.cholesky(w)


# --------------------------------------------------------------------------- claim


def _host(x: Any) -> np.ndarray:
    return np.asarray(to_numpy(x), dtype=float)


def _spectral(z: np.ndarray) -> np.ndarray:
    """Spectral norm of each matrix of a stack."""
    return np.linalg.norm(z, 2, axis=(-2, -1))


def _weights(rng: np.random.Generator, count: int, n: int, rank: int) -> np.ndarray:
    """Symmetric PSD weights Q diag(lambda) Q^T, lambda in [0.5, 2] on ``rank`` entries."""
    q = np.linalg.qr(rng.standard_normal((count, n, n)))[0]
    lam = rng.uniform(0.5, 2.0, (count, n))
    lam[:, rank:] = 0.0
    w = (q * lam[:, None, :]) @ np.swapaxes(q, -1, -2)
    return 0.5 * (w + np.swapaxes(w, -1, -2))


def _effective_condition(b: np.ndarray) -> np.ndarray:
    r""":math:`\sigma_1/\sigma_r` of each B over its numerical rank r (numpy's cutoff)."""
    s = np.linalg.svd(b, compute_uv=False)
    rank = np.sum(s > max(b.shape[-2:]) * EPS * s[:, :1], axis=1)
    return s[:, 0] / s[np.arange(len(s)), rank - 1]


def _row_space_projector(b: np.ndarray) -> np.ndarray:
    """Reference: V_r V_r^T from numpy's SVD of each B (numerical rank, numpy's cutoff)."""
    _, s, vh = np.linalg.svd(b, full_matrices=False)
    out = np.empty((b.shape[0], b.shape[-1], b.shape[-1]))
    for i in range(b.shape[0]):
        r = int(np.sum(s[i] > max(b.shape[-2:]) * EPS * s[i, 0]))
        out[i] = vh[i, :r].T @ vh[i, :r]
    return out


@claim(
    "kronproj.projection-identities",
    paper=PAPER,
    source="Sec. 3 (problem formulation) and the data structure's update and query (fragment)",
    statement=(
        r"\text{fragment: }P=\mathsf B^\top(\mathsf B\mathsf B^\top)^{-1}\mathsf B,\ "
        r"\mathsf B\in\{\mathsf A(W\otimes I),\mathsf A(W^{1/2}\otimes W^{1/2})\}:\ P=P^\top=P^2,"
        r"\ \operatorname{rank}P=\operatorname{rank}\mathsf A\ (W\succ0);\ "
        r"(W^{1/2}\otimes W^{1/2})^2=W\otimes W;\ \text{Woodbury after }W+vv^\top"
        r"=\text{recomputation};\ \Pr(\|Ph-PR^\top Rh\|>\epsilon\|h\|)\le\delta\ "
        r"\text{for }s\ge(r+1)/(\delta\epsilon^2)\ \text{(sketch side and size reconstructed)}"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "unweighted-gram",
            r"P=K\mathsf A^\top(\mathsf A\mathsf A^\top)^{-1}\mathsf AK\ (K=W\otimes I\text{ or }"
            r"W^{1/2}\otimes W^{1/2})\text{ is the projection}",
            {"projection": _projection_unweighted_gram},
        ),
        Control(
            "singular-w",
            r"\operatorname{rank}P=\operatorname{rank}\mathsf A\text{ also for singular }W"
            r"\ (\operatorname{rank}W=1,\ m=5>n)",
            {"w_rank": 1},
        ),
        Control(
            "cholesky-root",
            r"(L\otimes L)^2=W\otimes W\text{ for the Cholesky factor }W=LL^\top",
            {"square_root": _cholesky_root},
        ),
        Control(
            "woodbury-sign-slip",
            r"(M+XCX^\top)^{-1}=M^{-1}+M^{-1}X(C^{-1}-X^\top M^{-1}X)^{-1}X^\top M^{-1}",
            {"woodbury": _woodbury_sign_slip},
        ),
        Control(
            "unnormalised-sketch",
            r"R_{ij}\sim N(0,1)\ \text{(no }1/\sqrt s\text{) gives the same guarantee}",
            {"sketch_std": "unit"},
        ),
        Control(
            "sketch-size-without-delta",
            r"s=\lceil(r+1)/\epsilon^2\rceil\ \text{rows suffice for failure probability }\delta",
            {"rows": _sketch_size_without_delta},
        ),
    ],
)
def projection_identities(
    ctx: Context,
    projection: Callable[..., Any] = kronecker_projection,
    w_rank: int | None = None,
    square_root: Callable[[Any], Any] = psd_sqrt,
    woodbury: Callable[[Any, Any, Any], Any] = woodbury_inverse,
    sketch_std: str = "normalised",
    rows: Callable[[int, float, float], int] = sketch_size,
) -> Evidence:
    r"""Random instances, n = 4 (N = n² = 16), m = 5, 20 (quick) / 100 (full) per kind.

    :math:`\mathsf A` Gaussian, :math:`W=Q\operatorname{diag}(\lambda)Q^\top` with
    :math:`\lambda\in[0.5,2]` (``w_rank`` entries nonzero; all by default), v Gaussian
    scaled 1/2, h Gaussian. Parts, for both kinds of :math:`\mathsf B`:

    - symmetric, idempotent, equal to the SVD row-space projector of :math:`\mathsf B`,
      within :math:`\tau_P=10N\epsilon\kappa(\mathsf B)^2` (first-order error of the Gram
      route: a perturbation E of :math:`\mathsf B\mathsf B^\top` with
      :math:`\|E\|\le N\epsilon\|\mathsf B\|^2` moves :math:`\mathsf B^\top M^{-1}\mathsf B`
      by :math:`\le\|E\|/\sigma_{\min}^2`; the factor 10 covers the SVD of the pseudo-inverse
      and the products; :math:`\kappa` over the numerical rank);
    - :math:`\operatorname{tr}P=\operatorname{rank}\mathsf A` within :math:`N\tau_P` (the
      trace of a projector is its rank);
    - :math:`(S\otimes S)^2=W\otimes W` for ``square_root`` S, within
      :math:`10Nn\epsilon\|W\|_2^2` (eigh is backward stable, :math:`\|S^2-W\|\lesssim
      n\epsilon\|W\|`; the N×N product adds :math:`\gamma_N\||K||K|\|\le Nn\epsilon
      \|W\|^2`, as :math:`\||S|\|\le\sqrt n\|S\|`);
    - (W PD only) P after :math:`W\to W+vv^\top` by ``woodbury`` on
      :math:`M=\mathsf B\mathsf B^\top` equals :func:`kronecker_projection` of the new W,
      within :math:`\tau_P'+10N\epsilon\|\mathsf B'\|^2(\kappa(M)\|M^{-1}\|+\|M^{-1}X\|^2
      \|S^{-1}\|\kappa(S))` (S the capacitance matrix; first-order error of the inverse,
      of the capacitance solve and of the correction);
    - (W PD only) sketch: :math:`\epsilon=1/2`, :math:`\delta=1/10`, s = ``rows(rank A,
      eps, delta)``; 400 (quick) / 1000 (full) Gaussian sketches shared by the instances;
      per instance, the count of :math:`\|Ph-\widehat Ph\|>\epsilon\|h\|` must not exceed
      the Binomial(sketches, :math:`\delta`) upper quantile at level :math:`10^{-6}/(2K)`
      (a one-sided binomial test, Bonferroni over the K instances and 2 kinds, so a false
      alarm has probability below 1e-6). The Markov bound is loose, so the observed rate
      is far below :math:`\delta` at the claimed s, and about 0.3 at the
      :math:`\delta`-free size of the control.
    """
    rng = ctx.rng(0)
    xp = ctx.xp
    n, m, count = 4, 5, ctx.pick(20, 100)
    big_n = n * n
    rank_w = n if w_rank is None else int(w_rank)
    w = _weights(rng, count, n, rank_w)
    a = rng.standard_normal((count, m, big_n))
    v = 0.5 * rng.standard_normal((count, n))
    h = rng.standard_normal((count, big_n))
    sketches = ctx.pick(400, 1000)
    eps, delta, alpha = 0.5, 0.1, 1e-6
    rank_a = np.linalg.matrix_rank(a)
    s_rows = rows(int(rank_a.max()), eps, delta)
    std = 1.0 / math.sqrt(s_rows) if sketch_std == "normalised" else 1.0
    sketch = rng.standard_normal((sketches, s_rows, big_n)) * std
    invertible = rank_w == n

    parts: dict[str, Evidence] = {}
    for kind in KINDS:
        p_x = projection(ctx.asarray(a), ctx.asarray(w), kind=kind)
        p = _host(p_x)
        b = a @ _host(kronecker_weight(ctx.asarray(w), kind=kind))
        kappa = _effective_condition(b)
        tol = 10 * big_n * EPS * kappa**2
        pt = np.swapaxes(p, -1, -2)
        inputs = {"a": a, "w": w}
        parts[f"{kind}: P symmetric"] = checks.compare(p, pt, atol=tol, inputs=inputs)
        parts[f"{kind}: P idempotent"] = checks.compare(p @ p, p, atol=3 * tol, inputs=inputs)
        parts[f"{kind}: P = row-space projector of B"] = checks.compare(
            p, _row_space_projector(b), atol=2 * tol, inputs=inputs
        )
        parts[f"{kind}: rank P = rank A"] = checks.compare(
            np.trace(p, axis1=-2, axis2=-1), rank_a, atol=big_n * tol, inputs=inputs
        )
        if not invertible:
            continue

        # Woodbury after W -> W + v v^T, against recomputation
        b_x = xp.matmul(ctx.asarray(a), kronecker_weight(ctx.asarray(w), kind=kind))
        gram = xp.matmul(b_x, xp.matrix_transpose(b_x))
        m_inv = xp.linalg.inv(gram)
        x_f, c_f = gram_update_factors(ctx.asarray(a), ctx.asarray(w), ctx.asarray(v), kind=kind)
        new_m_inv = woodbury(m_inv, x_f, c_f)
        w_new = w + v[:, :, None] * v[:, None, :]
        b_new_x = xp.matmul(ctx.asarray(a), kronecker_weight(ctx.asarray(w_new), kind=kind))
        p_wood = _host(xp.matmul(xp.matrix_transpose(b_new_x), xp.matmul(new_m_inv, b_new_x)))
        p_new = _host(kronecker_projection(ctx.asarray(a), ctx.asarray(w_new), kind=kind))
        b_new, mh, xh, ch = _host(b_new_x), _host(gram), _host(x_f), _host(c_f)
        mh_inv = np.linalg.inv(mh)
        cap = np.linalg.inv(ch) + np.swapaxes(xh, -1, -2) @ mh_inv @ xh
        inverse_error = np.linalg.cond(mh) * _spectral(mh_inv) + _spectral(
            mh_inv @ xh
        ) ** 2 * _spectral(np.linalg.inv(cap)) * np.linalg.cond(cap)
        woodbury_tol = (
            10 * big_n * EPS * _effective_condition(b_new) ** 2
            + 10 * big_n * EPS * _spectral(b_new) ** 2 * inverse_error
        )
        parts[f"{kind}: Woodbury update = recomputation"] = checks.compare(
            p_wood, p_new, atol=woodbury_tol, inputs={"a": a, "w": w, "v": v}
        )

        # Gaussian sketch of the query
        sketch_x, error = ctx.asarray(sketch), np.empty((count, sketches))
        for start in range(0, count, 10):  # chunks bound the (10, sketches, s) buffers
            chunk = slice(start, start + 10)
            estimate = _host(
                sketched_apply(p_x[chunk, None, ...], ctx.asarray(h[chunk, None, :]), sketch_x)
            )
            exact = (p[chunk] @ h[chunk, :, None])[:, None, :, 0]
            error[chunk] = np.linalg.norm(estimate - exact, axis=-1)
        failures = np.sum(error > eps * np.linalg.norm(h, axis=-1)[:, None], axis=1)
        threshold = scipy.stats.binom.ppf(1 - alpha / (2 * count), sketches, delta)
        parts[f"{kind}: sketch failure rate <= delta"] = checks.nonnegative(
            (threshold - failures) / sketches, inputs={"a": a, "w": w, "h": h}
        )

    # (W^{1/2} (x) W^{1/2})^2 = W (x) W
    root = square_root(ctx.asarray(w))
    k = _host(kron(root, root))
    norm_w = np.linalg.norm(w, 2, axis=(-2, -1))
    parts["(W^1/2 (x) W^1/2)^2 = W (x) W"] = checks.compare(
        k @ k,
        np.stack([np.kron(wi, wi) for wi in w]),
        atol=10 * big_n * n * EPS * norm_w**2,
        inputs={"w": w},
    )
    evidence = checks.combine(parts)
    evidence.details["sketch rows s"] = s_rows
    evidence.details["max kappa(B)"] = float(kappa.max())
    return evidence
