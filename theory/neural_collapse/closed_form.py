r"""Closed-form global minimisers of the deep linear UFM with MSE (and the M = 1 CE scale).

``shared/claims/neural_collapse.md``: ``nc.mse_scalar``, ``nc.mse_M1_closed_form``,
``nc.mse_reduction``, ``nc.mse_bias_balanced_ETF``, ``nc.ce_M1_etf``.

Reduction (``nc.mse_reduction``). For :math:`Z=W_M\cdots W_1H` the smallest regulariser
over all factorisations is :math:`\frac{M+1}2(\lambda_H\prod_i\lambda_{W_i})^{1/(M+1)}
\sum_j\sigma_j(Z)^{2/(M+1)}`; the optimal Z shares its singular vectors with the target
T (Y without bias, the centred :math:`Y-\frac1N Y\mathbf 1\mathbf 1^\top` with an
unregularised bias), and each singular value :math:`s_j` of T gives the scalar problem of
:mod:`theory.neural_collapse.scalar` with :math:`\beta_j=b/s_j^2`,
:math:`b=MN(N\lambda_H\prod_i\lambda_{W_i})^{1/M}`. Then, with
:math:`\sigma_j^2=N\lambda_Hx_j^M`:

- :math:`WW^\top=U\,\mathrm{diag}(\sigma_j^2)U^\top` (K x K),
- :math:`Z=U\,\mathrm{diag}(s_j\,x_j^M/(1+x_j^M))V^\top`,
- :math:`H^\top H=V\,\mathrm{diag}(s_j^2\sigma_j^2/(\sigma_j^2+N\lambda_H)^2)V^\top`,
- every layer: :math:`\lambda_{W_i}s_{i,j}^2=t_j=(N\lambda_H\prod_l\lambda_{W_l})^{1/M}x_j`,
- objective :math:`\sum_j\frac{s_j^2}{2N}\psi_{\beta_j}(x_j)+\frac1{2N}(\|T\|_F^2-\sum_js_j^2)`.

For one-hot Y without bias, :math:`s_k^2=n_k` with :math:`U=I`: the general orthogonal
frame of ``nc.mse_scalar`` (:func:`mse_global_minimiser`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from theory.neural_collapse.model import (
    check_class_sizes,
    check_penalty,
    check_weight_decays,
    one_hot_labels,
)
from theory.neural_collapse.scalar import scalar_minimiser, scalar_objective
from theorycheck import validate
from theorycheck.backend import namespace

FLOAT64_EPS = float(np.finfo(np.float64).eps)
"""Machine epsilon of float64, 2.2e-16 (twice the unit roundoff u)."""


def _default_xp(xp: ModuleType | None) -> ModuleType:
    return xp if xp is not None else namespace("numpy")


def scale_b(
    num_samples: int, weight_decays: Sequence[float], feature_decay: float
) -> float:
    r""":math:`b=MN(N\lambda_H\prod_i\lambda_{W_i})^{1/M}`, so that :math:`\beta_k=b/n_k`."""
    depth = len(weight_decays)
    return depth * num_samples * (num_samples * feature_decay * math.prod(weight_decays)) ** (
        1.0 / depth
    )


def class_betas(
    class_sizes: Sequence[int], weight_decays: Sequence[float], feature_decay: float
) -> np.ndarray:
    r""":math:`\beta_k=b/n_k` per class (NumPy, shape (K,)); see :func:`scale_b`."""
    sizes = check_class_sizes(class_sizes, func="class_betas")
    decays = check_weight_decays(weight_decays, func="class_betas")
    feature_decay = check_penalty(feature_decay, "feature decay lambda_H", func="class_betas")
    b = scale_b(sum(sizes), decays, feature_decay)
    return b / np.asarray(sizes, dtype=float)


@dataclass(frozen=True)
class MSEMinimiser:
    r"""A global minimiser of the MSE UFM in rotation-invariant form.

    Attributes (arrays on the namespace of the call)
    ----------
    beta : array (r,)
        :math:`\beta_j=b/s_j^2` per direction (per class without bias).
    x : array (r,)
        Global minimisers of :math:`\psi_{\beta_j}` (0: collapsed direction).
    sigma_squared : array (r,)
        :math:`\sigma_j^2=N\lambda_Hx_j^M`, squared singular values of :math:`W=W_M\cdots W_1`.
    layer_singular_values : array (M, r)
        :math:`s_{i,j}=\sqrt{t_j/\lambda_{W_i}}`, with :math:`\prod_is_{i,j}=\sigma_j`.
    classifier_gram : array (K, K)
        :math:`WW^\top`.
    feature_gram : array (K, K)
        :math:`\bar H^\top\bar H` (class means; uncentred).
    class_logits : array (K, K)
        :math:`W\bar H` (column k: the logits of class k's mean, without bias).
    product : array (K, N)
        :math:`Z=W H` (without bias).
    bias : array (K,) or None
        :math:`b^*=Y\mathbf 1/N=(n_k/N)_k` with a bias, else None.
    objective : float
        The global minimum of the objective.
    """

    beta: Any
    x: Any
    sigma_squared: Any
    layer_singular_values: Any
    classifier_gram: Any
    feature_gram: Any
    class_logits: Any
    product: Any
    bias: Any
    objective: float


def mse_global_minimiser(
    class_sizes: Sequence[int],
    weight_decays: Sequence[float],
    feature_decay: float,
    *,
    xp: ModuleType | None = None,
) -> MSEMinimiser:
    r"""Closed-form global minimiser of the bias-free MSE UFM (``nc.mse_scalar``).

    With :math:`x_k` the global minimiser of :math:`\psi_{\beta_k}`,
    :math:`\sigma_k^2=N\lambda_Hx_k^M` and every global minimiser satisfies
    :math:`WW^\top=\mathrm{diag}(\sigma_k^2)`,
    :math:`\bar H^\top\bar H=\mathrm{diag}(\sigma_k^2/(\sigma_k^2+N\lambda_H)^2)`,
    :math:`W\bar H=\mathrm{diag}(\sigma_k^2/(\sigma_k^2+N\lambda_H))`,
    :math:`W=\mathrm{diag}(\sigma_k^2+N\lambda_H)\bar H^\top` and NC1.

    Parameters
    ----------
    class_sizes : sequence of K positive ints
        :math:`n_1,\dots,n_K` (any order; balanced: all equal).
    weight_decays : sequence of M positive floats
        :math:`\lambda_{W_1},\dots,\lambda_{W_M}`; M is the depth.
    feature_decay : float
        :math:`\lambda_H>0`.
    xp : array namespace, optional
        Where to compute (NumPy by default).

    Returns
    -------
    MSEMinimiser
        Per-class quantities (r = K directions, direction k = class k).

    Raises
    ------
    ValueError
        For class sizes that are not positive integers, non-positive penalties or an
        empty ``weight_decays`` (depth < 1).
    """
    func = "mse_global_minimiser"
    sizes = check_class_sizes(class_sizes, func=func)
    decays = check_weight_decays(weight_decays, func=func)
    feature_decay = check_penalty(feature_decay, "feature decay lambda_H", func=func)
    xp = _default_xp(xp)
    depth, num_samples = len(decays), sum(sizes)
    n = xp.asarray(np.asarray(sizes, dtype=float))
    beta = scale_b(num_samples, decays, feature_decay) / n
    x = scalar_minimiser(beta, depth)
    sigma_squared = num_samples * feature_decay * x**depth
    scale = sigma_squared + num_samples * feature_decay
    t = (num_samples * feature_decay * math.prod(decays)) ** (1.0 / depth) * x
    layers = xp.stack([xp.sqrt(t / decay) for decay in decays])
    per_class = sigma_squared / scale
    labels = one_hot_labels(sizes, xp)
    objective = float(xp.sum(n / (2.0 * num_samples) * scalar_objective(x, beta, depth)))
    return MSEMinimiser(
        beta=beta,
        x=x,
        sigma_squared=sigma_squared,
        layer_singular_values=layers,
        classifier_gram=_diag(xp, sigma_squared),
        feature_gram=_diag(xp, sigma_squared / scale**2),
        class_logits=_diag(xp, per_class),
        product=per_class[:, None] * labels,
        bias=None,
        objective=objective,
    )


def _diag(xp: ModuleType, v: Any) -> Any:
    return xp.eye(v.shape[0], dtype=v.dtype) * v[None, :]


def minimiser_for_target(
    targets: Any,
    weight_decays: Sequence[float],
    feature_decay: float,
    class_sizes: Sequence[int] | None = None,
) -> MSEMinimiser:
    r"""Global minimiser of :math:`\frac1{2N}\|W_M\cdots W_1H-T\|_F^2+\text{regularisers}`
    for any target T, through its SVD (``nc.mse_reduction``).

    Parameters
    ----------
    targets : array, shape (K, N)
        The target T (Y, or the centred Y when the bias is free).
    weight_decays, feature_decay
        As in :func:`mse_global_minimiser`.
    class_sizes : sequence of int, optional
        When given (samples ordered class by class), the class-mean quantities
        :math:`\bar H^\top\bar H` and :math:`W\bar H` are filled in; otherwise they are
        ``None``.

    Returns
    -------
    MSEMinimiser
        Directions j = singular directions of T with :math:`s_j>0`.
    """
    func = "minimiser_for_target"
    targets, xp = validate.real_floating(targets, "targets", func=func)
    if targets.ndim != 2:
        raise ValueError(f"{func}: targets must have shape (K, N), got {tuple(targets.shape)}")
    validate.finite(targets, "targets", func=func, xp=xp)
    decays = check_weight_decays(weight_decays, func=func)
    feature_decay = check_penalty(feature_decay, "feature decay lambda_H", func=func)
    depth, num_samples = len(decays), targets.shape[1]
    u, s, vh = xp.linalg.svd(targets, full_matrices=False)
    # singular values below K N u max(s) are rounding noise of an exactly rank-deficient T
    keep = s > s[0] * targets.shape[0] * num_samples * FLOAT64_EPS
    s_kept = xp.where(keep, s, xp.ones_like(s))
    beta = scale_b(num_samples, decays, feature_decay) / s_kept**2
    x = xp.where(keep, scalar_minimiser(beta, depth), xp.zeros_like(s))
    sigma_squared = num_samples * feature_decay * x**depth
    scale = sigma_squared + num_samples * feature_decay
    t = (num_samples * feature_decay * math.prod(decays)) ** (1.0 / depth) * x
    layers = xp.stack([xp.sqrt(t / decay) for decay in decays])
    z = xp.where(keep, s * (sigma_squared / scale), xp.zeros_like(s))
    product = (u * z[None, :]) @ vh
    residual = float(xp.sum(targets * targets)) - float(xp.sum(xp.where(keep, s * s, 0.0 * s)))
    kept_terms = xp.where(
        keep, s_kept**2 / (2.0 * num_samples) * scalar_objective(x, beta, depth), 0.0 * s
    )
    objective = float(xp.sum(kept_terms)) + max(residual, 0.0) / (2.0 * num_samples)
    classifier_gram = (u * sigma_squared[None, :]) @ u.mT
    feature_gram = class_logits = None
    if class_sizes is not None:
        sizes = check_class_sizes(class_sizes, func=func)
        if sum(sizes) != num_samples:
            raise ValueError(
                f"{func}: class sizes sum to {sum(sizes)} but targets have {num_samples} columns"
            )
        averaging = one_hot_labels(sizes, xp).mT / xp.asarray(np.asarray(sizes, dtype=float))
        # features H = R diag(s_j sigma_j / scale_j) V^T: H^T H = V diag(.)^2 V^T
        feature_coefficient = xp.where(keep, s * xp.sqrt(sigma_squared) / scale, 0.0 * s)
        features_right = feature_coefficient[:, None] * (vh @ averaging)  # (r, K)
        feature_gram = features_right.mT @ features_right
        class_logits = product @ averaging
    return MSEMinimiser(
        beta=beta,
        x=x,
        sigma_squared=sigma_squared,
        layer_singular_values=layers,
        classifier_gram=classifier_gram,
        feature_gram=feature_gram,
        class_logits=class_logits,
        product=product,
        bias=None,
        objective=objective,
    )


def mse_bias_minimiser(
    class_sizes: Sequence[int],
    weight_decays: Sequence[float],
    feature_decay: float,
    *,
    xp: ModuleType | None = None,
) -> MSEMinimiser:
    r"""Global minimiser with an unregularised last-layer bias (``nc.mse_bias_balanced_ETF``).

    :math:`h_G=0` (a non-zero global mean costs :math:`\frac{N\lambda_H}2\|h_G\|^2` and
    can be absorbed by the bias), hence :math:`b^*=Y\mathbf 1/N=(n_k/N)_k`, and the
    rest is :func:`minimiser_for_target` of the centred target
    :math:`Y-b^*\mathbf 1^\top`. Balanced data: :math:`b^*=\mathbf 1/K`, K - 1 directions of
    singular value :math:`\sqrt n` and a simplex ETF.
    """
    func = "mse_bias_minimiser"
    sizes = check_class_sizes(class_sizes, func=func)
    xp = _default_xp(xp)
    labels = one_hot_labels(sizes, xp)
    bias = xp.mean(labels, axis=1)
    result = minimiser_for_target(labels - bias[:, None], weight_decays, feature_decay, sizes)
    return MSEMinimiser(**{**result.__dict__, "bias": bias})


@dataclass(frozen=True)
class PlainUFMClosedForm:
    r"""``nc.mse_M1_closed_form``: M = 1, bias-free MSE, per class k (all clipped at 0).

    Attributes (NumPy arrays, shape (K,))
    ----------
    classifier_norm_squared
        :math:`\|w_k\|^2=[\sqrt{n_k\lambda_H/\lambda_W}-N\lambda_H]_+`.
    feature_norm_squared
        :math:`\|\bar h_k\|^2=[\sqrt{\lambda_W/(n_k\lambda_H)}-N\lambda_W/n_k]_+`.
    inner_product
        :math:`w_k^\top\bar h_k=[1-N\sqrt{\lambda_W\lambda_H/n_k}]_+`.
    alive
        :math:`n_k>N^2\lambda_W\lambda_H`.
    """

    classifier_norm_squared: np.ndarray
    feature_norm_squared: np.ndarray
    inner_product: np.ndarray
    alive: np.ndarray


def plain_ufm_closed_form(
    class_sizes: Sequence[int], weight_decay: float, feature_decay: float
) -> PlainUFMClosedForm:
    r"""Explicit M = 1 formulas of ``nc.mse_M1_closed_form`` (NumPy; no root finding).

    Non-zero iff :math:`n_k>N^2\lambda_W\lambda_H`; balanced: iff
    :math:`K\sqrt{n\lambda_W\lambda_H}<1`.
    """
    func = "plain_ufm_closed_form"
    n = np.asarray(check_class_sizes(class_sizes, func=func), dtype=float)
    lw = check_penalty(weight_decay, "weight decay lambda_W", func=func)
    lh = check_penalty(feature_decay, "feature decay lambda_H", func=func)
    total = n.sum()
    alive = n > total**2 * lw * lh
    w = np.where(alive, np.sqrt(n * lh / lw) - total * lh, 0.0)
    h = np.where(alive, np.sqrt(lw / (n * lh)) - total * lw / n, 0.0)
    inner = np.where(alive, 1.0 - total * np.sqrt(lw * lh / n), 0.0)
    return PlainUFMClosedForm(w, h, inner, alive)


def balanced_factorisation(
    product: Any,
    weight_decays: Sequence[float],
    feature_decay: float,
    widths: Sequence[int],
) -> tuple[list[Any], Any]:
    r"""The factorisation :math:`W_M\cdots W_1H=Z` with the smallest regulariser.

    With :math:`Z=\sum_j\zeta_ju_jv_j^\top`, every factor gets the direction j with
    scale :math:`\sqrt{\tau_j/\lambda}` (its own :math:`\lambda`), where
    :math:`\tau_j=(\lambda_H\prod_i\lambda_{W_i}\zeta_j^2)^{1/(M+1)}`; the regulariser
    is then :math:`\frac{M+1}2\sum_j\tau_j`, the Schatten term of ``nc.mse_reduction``.
    Hidden bases are the coordinate axes.

    Parameters
    ----------
    product : array, shape (K, N)
        Z.
    weight_decays, feature_decay
        :math:`\lambda_{W_i}`, :math:`\lambda_H`.
    widths : sequence of M ints
        :math:`d_1,\dots,d_M`; each at least the rank of Z (pitfall P-B6).

    Returns
    -------
    (weights, features)
        ``[W_1, ..., W_M]`` with :math:`W_i` of shape (d_{i+1}, d_i) and H (d_1, N).
    """
    func = "balanced_factorisation"
    product, xp = validate.real_floating(product, "product", func=func)
    decays = check_weight_decays(weight_decays, func=func)
    feature_decay = check_penalty(feature_decay, "feature decay lambda_H", func=func)
    widths = [int(w) for w in widths]
    if len(widths) != len(decays):
        raise ValueError(f"{func}: need {len(decays)} widths d_1..d_M, got widths={widths}")
    u, zeta, vh = xp.linalg.svd(product, full_matrices=False)
    # directions with zeta below (K + N) eps zeta_max are rounding noise of exact zeros
    # (an ETF has rank K - 1); kept, they would cost (lambda^(M+1) zeta^2)^(1/(M+1)),
    # 1e-10 at zeta = 1e-15 and M = 3, so they are dropped
    noise = (product.shape[0] + product.shape[1]) * FLOAT64_EPS * float(zeta[0])
    rank = int(xp.count_nonzero(zeta > noise))
    if min(widths) < rank:
        raise ValueError(f"{func}: widths {widths} are below the rank {rank} of Z (P-B6)")
    u, zeta, vh = u[:, :rank], zeta[:rank], vh[:rank, :]
    depth = len(decays)
    tau = (feature_decay * math.prod(decays) * zeta**2) ** (1.0 / (depth + 1))

    def embed(matrix: Any, rows: int, cols: int) -> Any:
        """``matrix`` in the top-left corner of a (rows, cols) zero matrix."""
        dtype = product.dtype
        below = xp.zeros((rows - matrix.shape[0], matrix.shape[1]), dtype=dtype)
        tall = xp.concat([matrix, below], axis=0)
        return xp.concat([tall, xp.zeros((rows, cols - matrix.shape[1]), dtype=dtype)], axis=1)

    features = embed(xp.sqrt(tau / feature_decay)[:, None] * vh, widths[0], product.shape[1])
    weights = []
    for index, decay in enumerate(decays):
        scale = xp.eye(rank, dtype=product.dtype) * xp.sqrt(tau / decay)[None, :]
        if index == depth - 1:
            weights.append(embed(u @ scale, product.shape[0], widths[index]))
        else:
            weights.append(embed(scale, widths[index + 1], widths[index]))
    return weights, features


def cross_entropy_etf_scale(
    num_classes: int, class_size: int, weight_decay: float, feature_decay: float
) -> float:
    r""":math:`\rho^*=\max(0,\log(1/\sqrt{n\lambda_W\lambda_H}-(K-1)))` (``nc.ce_M1_etf``).

    Balanced CE, M = 1, no bias: every global minimiser has
    :math:`W\bar H=\rho^*(I_K-\frac1K\mathbf 1\mathbf 1^\top)`; non-zero iff
    :math:`\sqrt{n\lambda_W\lambda_H}<1/K`.
    """
    func = "cross_entropy_etf_scale"
    check_class_sizes([class_size] * 2, func=func)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"{func}: num_classes K must be an integer >= 2, got {num_classes!r}")
    lw = check_penalty(weight_decay, "weight decay lambda_W", func=func)
    lh = check_penalty(feature_decay, "feature decay lambda_H", func=func)
    inside = 1.0 / math.sqrt(class_size * lw * lh) - (num_classes - 1)
    return max(0.0, math.log(inside)) if inside > 0 else 0.0
