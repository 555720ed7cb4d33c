r"""The deep linear generator: layers, end-to-end matrix, balanced factorisation, dynamics.

Bréchet et al., ICML 2023 (spec ``bw.setting``, ``bw.grad_W``, ``bw.hessian_spectra``,
``bw.balanced_flow``). Layers :math:`W_j \in \mathbb R^{d_j\times d_{j-1}}`,
:math:`j = 1,\dots,N`, :math:`d_0 = m`, :math:`d_N = n`; the end-to-end matrix
:math:`W = W_N\cdots W_1` has rank at most the bottleneck :math:`k = \min_j d_j`, and
the parameter-space loss is :math:`L^N(W_1,\dots,W_N) = L(W_N\cdots W_1)`.

- :func:`layer_gradients`:
  :math:`\nabla_{W_j}L^N = (W_N\cdots W_{j+1})^\top\,\nabla_WL(W)\,(W_{j-1}\cdots W_1)^\top`;
- :func:`balanced_layers`: :math:`W = USV^\top \mapsto W_1 = S^{1/N}V^\top`,
  :math:`W_j = S^{1/N}`, :math:`W_N = US^{1/N}` (the authors' ``balance_weights``),
  which satisfies :math:`W_{j+1}^\top W_{j+1} = W_jW_j^\top`;
- :func:`end_to_end_velocity`: the end-to-end gradient flow of balanced layers
  (Arora et al. 2018),
  :math:`\dot W = -\sum_{j=1}^N (WW^\top)^{(N-j)/N}\,\nabla L(W)\,(W^\top W)^{(j-1)/N}`;
- :func:`parameter_hessian`: the Hessian of :math:`L^N` in the flattened layers.

A list of layers is a Python list of arrays; each may carry the same leading batch
axes (replicates), on which every function acts elementwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from theory.bures_wasserstein.distance import bures_loss
from theory.bures_wasserstein.gradients import perturbed_bures_loss
from theory.bures_wasserstein.matrices import (
    frobenius_norm_squared,
    from_eigh,
    integer_in_range,
    matrices,
    psd_eigh,
)
from theorycheck.backend import array_namespace

EPSILON = float(np.finfo(np.float64).eps)

EndToEndGradient = Callable[[Any], Any]
"""``gradient(W) -> nabla L(W)`` for a stack of end-to-end matrices."""

EndToEndHvp = Callable[[Any, Any], Any]
"""``hvp(W, dW) -> nabla^2 L(W)[dW]``."""


def _validated_layers(layers: Sequence[Any], func: str) -> tuple[list[Any], Any]:
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence) or not layers:
        raise ValueError(f"{func}: layers must be a non-empty sequence of matrices, got {layers!r}")
    checked = []
    for j, layer in enumerate(layers, start=1):
        layer, xp = matrices(layer, f"layer W_{j}", func=func)
        checked.append(layer)
    for j in range(1, len(checked)):
        below, above = checked[j - 1], checked[j]
        if above.shape[-1] != below.shape[-2]:
            raise ValueError(
                f"{func}: layer W_{j + 1} {tuple(above.shape)} does not compose with "
                f"W_{j} {tuple(below.shape)} (need d_{j} = {below.shape[-2]} columns)"
            )
    return checked, array_namespace(*checked)


def _product(layers: Sequence[Any], xp: Any, m: int, dtype: Any) -> Any:
    """:math:`W_{b}\\cdots W_{a}` for the given (ascending) layers; identity if empty."""
    if not layers:
        return xp.eye(m, dtype=dtype)
    result = layers[0]
    for layer in layers[1:]:
        result = layer @ result
    return result


def end_to_end(layers: Sequence[Any]) -> Any:
    r"""The end-to-end matrix :math:`W = W_N\cdots W_1`.

    Parameters
    ----------
    layers : sequence of N arrays, shapes (..., d_j, d_{j-1})

    Returns
    -------
    array, shape (..., n, m)
    """
    layers, xp = _validated_layers(layers, "end_to_end")
    return _product(layers, xp, layers[0].shape[-1], layers[0].dtype)


def deep_linear_loss(layers: Sequence[Any], sigma_target: Any, tau: float = 0.0) -> Any:
    r"""The parameter-space loss :math:`L^N(W_1,\dots,W_N) = L(W_N\cdots W_1)`.

    Spec ``bw.setting``. The end-to-end matrix has rank at most the bottleneck
    :math:`k = \min_j d_j`, so this is the Bures-Wasserstein loss restricted to
    :math:`\mathcal M_{\le k}`. With
    τ = 0 it is :math:`B^2(WW^\top, \Sigma_0)` in the nuclear-norm form (exact also at
    rank-deficient :math:`WW^\top`); with τ > 0 the perturbed :math:`L^\tau`.

    Parameters
    ----------
    layers : sequence of N arrays, shapes (..., d_j, d_{j-1})
    sigma_target : array, shape (..., n, n)
        Symmetric PSD :math:`\Sigma_0`, n = d_N.
    tau : float
        0 or the perturbation τ > 0.

    Returns
    -------
    array, shape (...)
    """
    weights = end_to_end(layers)
    if tau == 0.0:
        return bures_loss(weights, sigma_target)
    return perturbed_bures_loss(weights, sigma_target, tau)


def layer_gradients(layers: Sequence[Any], end_to_end_gradient: Any) -> list[Any]:
    r""":math:`\nabla_{W_j}L^N = (W_N\cdots W_{j+1})^\top G (W_{j-1}\cdots W_1)^\top` (chain rule).

    Parameters
    ----------
    layers : sequence of N arrays, shapes (..., d_j, d_{j-1})
    end_to_end_gradient : array, shape (..., n, m)
        :math:`G = \nabla_W L(W)` at :math:`W = W_N\cdots W_1`.

    Returns
    -------
    list of N arrays, the shapes of the layers
    """
    layers, xp = _validated_layers(layers, "layer_gradients")
    gradient, _ = matrices(end_to_end_gradient, "end_to_end_gradient", func="layer_gradients")
    n, m = layers[-1].shape[-2], layers[0].shape[-1]
    if tuple(gradient.shape[-2:]) != (n, m):
        raise ValueError(
            f"layer_gradients: end_to_end_gradient must be {n} x {m}, got {tuple(gradient.shape)}"
        )
    return _layer_gradients(layers, gradient, xp)


def _layer_gradients(layers: list[Any], gradient: Any, xp: Any) -> list[Any]:
    wt = xp.matrix_transpose
    out = []
    for j in range(len(layers)):
        above = _product(layers[j + 1 :], xp, layers[j].shape[-2], gradient.dtype)
        below = _product(layers[:j], xp, layers[0].shape[-1], gradient.dtype)
        out.append(wt(above) @ gradient @ wt(below))
    return out


def balanced_layers(weights: Any, depth: int, width: int) -> list[Any]:
    r"""A balanced factorisation of W into ``depth`` layers of inner width ``width``.

    With the compact SVD :math:`W = USV^\top` truncated to ``width`` terms:
    :math:`W_1 = S^{1/N}V^\top` (width x m), :math:`W_j = S^{1/N}` (width x width),
    :math:`W_N = US^{1/N}` (n x width); for N = 1 the single layer is W. The
    factorisation is exact when rank W <= width and then
    :math:`W_{j+1}^\top W_{j+1} = W_jW_j^\top = S^{2/N}` (balancedness).

    Parameters
    ----------
    weights : array, shape (..., n, m)
    depth : int
        N >= 1.
    width : int
        The inner width :math:`d_1 = \dots = d_{N-1}`, in ``[1, min(n, m)]`` (the
        bottleneck k); ignored for N = 1.

    Returns
    -------
    list of N arrays
    """
    func = "balanced_layers"
    weights, xp = matrices(weights, "weights", func=func)
    depth = integer_in_range(depth, "depth", 1, 64, func=func)
    if depth == 1:
        return [weights]
    width = integer_in_range(width, "width", 1, min(weights.shape[-2:]), func=func)
    left, singular_values, right_t = xp.linalg.svd(weights, full_matrices=False)
    root = singular_values[..., :width] ** (1.0 / depth)
    first = root[..., :, None] * right_t[..., :width, :]
    last = left[..., :, :width] * root[..., None, :]
    eye = xp.eye(width, dtype=weights.dtype)
    middle = [root[..., :, None] * eye for _ in range(depth - 2)]
    return [first, *middle, last]


def balancedness_defect(layers: Sequence[Any]) -> Any:
    r""":math:`\max_j \|W_{j+1}^\top W_{j+1} - W_jW_j^\top\|_F` (0 for one layer), shape (...)."""
    layers, xp = _validated_layers(layers, "balancedness_defect")
    wt = xp.matrix_transpose
    defect = 0 * layers[0][..., 0, 0]
    for below, above in zip(layers[:-1], layers[1:], strict=True):
        gap = frobenius_norm_squared(wt(above) @ above - below @ wt(below), xp)
        defect = xp.maximum(defect, xp.sqrt(gap))
    return defect


def end_to_end_velocity(weights: Any, gradient: Any, depth: int) -> Any:
    r"""The end-to-end gradient flow of balanced layers (Arora et al. 2018; ``bw.balanced_flow``).

    .. math:: \dot W = -\sum_{j=1}^N (WW^\top)^{(N-j)/N}\, G\, (W^\top W)^{(j-1)/N},
              \qquad G = \nabla L(W).

    Parameters
    ----------
    weights : array, shape (..., n, m)
    gradient : array, shape (..., n, m)
    depth : int
        N >= 1.

    Returns
    -------
    array, shape (..., n, m)
    """
    func = "end_to_end_velocity"
    weights, xp = matrices(weights, "weights", func=func)
    gradient, _ = matrices(gradient, "gradient", func=func)
    depth = integer_in_range(depth, "depth", 1, 64, func=func)
    return _end_to_end_velocity(weights, gradient, depth, xp)


def _end_to_end_velocity(weights: Any, gradient: Any, depth: int, xp: Any) -> Any:
    wt = xp.matrix_transpose
    if depth == 1:
        return -gradient
    left = _power_family(weights @ wt(weights), depth, xp)
    right = _power_family(wt(weights) @ weights, depth, xp)
    velocity = 0 * gradient
    for j in range(1, depth + 1):
        velocity = velocity - left[depth - j] @ gradient @ right[j - 1]
    return velocity


def _power_family(gram: Any, depth: int, xp: Any) -> list[Any]:
    r""":math:`[S^{0}, S^{1/N}, \dots, S^{(N-1)/N}]` from one eigendecomposition
    (round-off eigenvalues set to 0 as in :func:`~theory.bures_wasserstein.matrices.psd_power`)."""
    eigenvalues, eigenvectors = psd_eigh(gram, xp)
    floor = gram.shape[-1] * EPSILON * xp.max(eigenvalues, axis=-1, keepdims=True)
    eigenvalues = xp.where(eigenvalues <= floor, 0.0, eigenvalues)
    powers = [xp.eye(gram.shape[-1], dtype=gram.dtype) + 0 * gram]
    for p in range(1, depth):
        powers.append(from_eigh(eigenvalues ** (p / depth), eigenvectors, xp))
    return powers


def layer_hvp(
    layers: Sequence[Any],
    directions: Sequence[Any],
    gradient: EndToEndGradient,
    hvp: EndToEndHvp,
) -> list[Any]:
    r"""Hessian-vector product of :math:`L^N` in the layers.

    With :math:`P_j = W_N\cdots W_{j+1}`, :math:`Q_j = W_{j-1}\cdots W_1`,
    :math:`dW = \sum_l P_lD_lQ_l` and :math:`G = \nabla L(W)`:

    .. math:: d(\nabla_{W_j}L^N) = dP_j^\top G Q_j^\top + P_j^\top\,\nabla^2L(W)[dW]\,Q_j^\top
              + P_j^\top G\, dQ_j^\top .

    Parameters
    ----------
    layers : sequence of N arrays (..., d_j, d_{j-1})
    directions : sequence of N arrays, broadcastable against the layers
    gradient : callable
        ``gradient(W)``, the end-to-end gradient.
    hvp : callable
        ``hvp(W, dW)``, the end-to-end Hessian-vector product.

    Returns
    -------
    list of N arrays
    """
    xp = array_namespace(*layers)
    wt = xp.matrix_transpose
    depth = len(layers)
    if len(directions) != depth:
        raise ValueError(f"layer_hvp: {len(directions)} directions for {depth} layers")
    m = layers[0].shape[-1]
    dtype = layers[0].dtype

    def partial_product(lo: int, hi: int, replaced: int | None = None) -> Any:
        """W_{hi-1} ... W_{lo} (0-based), with layer ``replaced`` swapped for its direction."""
        chosen = [directions[i] if i == replaced else layers[i] for i in range(lo, hi)]
        size = layers[lo].shape[-1] if lo < depth else layers[-1].shape[-2]
        return _product(chosen, xp, size, dtype)

    weights = _product(list(layers), xp, m, dtype)
    g = gradient(weights)
    d_weights = sum(partial_product(0, depth, replaced=layer) for layer in range(depth))
    h = hvp(weights, d_weights)
    out = []
    for j in range(depth):
        above = partial_product(j + 1, depth)
        below = partial_product(0, j)
        d_above = sum(
            (partial_product(j + 1, depth, replaced=layer) for layer in range(j + 1, depth)),
            start=0 * above,
        )
        d_below = sum(
            (partial_product(0, j, replaced=layer) for layer in range(j)), start=0 * below
        )
        out.append(
            wt(d_above) @ g @ wt(below) + wt(above) @ h @ wt(below) + wt(above) @ g @ wt(d_below)
        )
    return out


def parameter_hessian(layers: Sequence[Any], gradient: EndToEndGradient, hvp: EndToEndHvp) -> Any:
    r"""The Hessian of :math:`L^N` in the flattened layers (``bw.hessian_spectra``).

    The parameters are the entries of :math:`W_1, \dots, W_N` in order, each
    row-major, P = :math:`\sum_j d_jd_{j-1}` in all. The P Hessian-vector products
    along the unit directions run as one batch (a leading axis of length P).

    Parameters
    ----------
    layers : sequence of N arrays, shapes (d_j, d_{j-1}) (no batch axes)
    gradient, hvp : callables
        As in :func:`layer_hvp`.

    Returns
    -------
    array, shape (P, P)
        Symmetrised.
    """
    layers, xp = _validated_layers(layers, "parameter_hessian")
    if any(layer.ndim != 2 for layer in layers):
        raise ValueError("parameter_hessian: layers must be single matrices (no batch axes)")
    sizes = [layer.shape[0] * layer.shape[1] for layer in layers]
    total = sum(sizes)
    eye = xp.eye(total, dtype=layers[0].dtype)
    directions, offset = [], 0
    for layer, size in zip(layers, sizes, strict=True):
        block = eye[:, offset : offset + size]
        directions.append(xp.reshape(block, (total, *layer.shape)))
        offset += size
    products = layer_hvp(layers, directions, gradient, hvp)
    flat = xp.concat([xp.reshape(p, (total, -1)) for p in products], axis=1)
    return (flat + xp.matrix_transpose(flat)) / 2
