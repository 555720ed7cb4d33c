r"""MSE and cross-entropy objectives of the deep linear UFM and their gradients.

Conventions of the authors' code (``shared/claims/neural_collapse.md``, B.1, pitfall P-B8):
per-sample averaged loss, weight decay on every layer and on the features, an
unregularised bias.

.. math::

    f_{\rm MSE}=\frac1{2N}\big\|W_M\cdots W_1H+b\mathbf 1_N^\top-Y\big\|_F^2
      +\sum_{i=1}^M\frac{\lambda_{W_i}}2\|W_i\|_F^2+\frac{\lambda_H}2\|H\|_F^2,

    f_{\rm CE}=\frac1N\sum_{k,i}\mathrm{CE}(W_M\cdots W_1h_{k,i}+b,\ k)
      +\sum_{i=1}^M\frac{\lambda_{W_i}}2\|W_i\|_F^2+\frac{\lambda_H}2\|H\|_F^2 .

With :math:`Z=W_M\cdots W_1H+b\mathbf 1^\top` and :math:`G=\partial f_{\rm loss}/\partial Z`
(:math:`(Z-Y)/N` for MSE, :math:`(\mathrm{softmax}(Z)-Y)/N` for CE), back-propagation
gives :math:`\nabla_{W_i}f=(W_M\cdots W_{i+1})^\top G\,(W_{i-1}\cdots W_1H)^\top
+\lambda_{W_i}W_i`, :math:`\nabla_Hf=(W_M\cdots W_1)^\top G+\lambda_HH` and
:math:`\nabla_bf=G\mathbf 1_N`.

Every function accepts leading batch axes (replicates) on the weights, features and
bias, and works on any array-API namespace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from theory.neural_collapse.model import (
    check_model_arrays,
    check_penalty,
    check_weight_decays,
    frobenius_squared,
    layer_features,
)
from theorycheck.backend import array_namespace

LOSSES = ("mse", "ce")
"""The two losses of the paper: squared error and softmax cross-entropy."""


@dataclass
class Gradients:
    """Gradients of a UFM objective.

    Attributes
    ----------
    weights : list of arrays
        :math:`\\nabla_{W_i}f`, shapes of the ``W_i``.
    features : array
        :math:`\\nabla_Hf`, shape of H.
    bias : array or None
        :math:`\\nabla_bf`, shape (..., K), when a bias is present.
    """

    weights: list[Any]
    features: Any
    bias: Any = None


def _checked(
    weights: Sequence[Any],
    features: Any,
    targets: Any,
    weight_decays: Sequence[float],
    feature_decay: float,
    bias: Any,
    func: str,
) -> tuple[Any, tuple[float, ...], float]:
    xp, _, _ = check_model_arrays(weights, features, targets, bias, func=func)
    decays = check_weight_decays(weight_decays, func=func)
    if len(decays) != len(weights):
        raise ValueError(
            f"{func}: {len(decays)} weight decays given for {len(weights)} layers "
            f"(weight_decays={list(decays)})"
        )
    return xp, decays, check_penalty(feature_decay, "feature decay lambda_H", func=func)


def _logits(xp: Any, outputs: Any, bias: Any) -> Any:
    return outputs if bias is None else outputs + bias[..., :, None]


def _regulariser(xp, weights, features, decays, feature_decay):
    total = 0.5 * feature_decay * frobenius_squared(features, xp)
    for decay, weight in zip(decays, weights, strict=True):
        total = total + 0.5 * decay * frobenius_squared(weight, xp)
    return total


def _log_softmax(xp: Any, logits: Any) -> Any:
    """Column-wise log-softmax over the class axis (-2), shifted by the column maximum."""
    top = xp.max(logits, axis=-2, keepdims=True)
    shifted = logits - top
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=-2, keepdims=True))


def loss_value(loss: str, logits: Any, targets: Any) -> Any:
    r"""The data term alone: :math:`\frac1{2N}\|Z-Y\|_F^2` or :math:`\frac1N\sum\mathrm{CE}`.

    Parameters
    ----------
    loss : {"mse", "ce"}
    logits : array, shape (..., K, N)
        :math:`Z=W_M\cdots W_1H+b\mathbf 1^\top`.
    targets : array, shape (K, N)
        One-hot labels (any real targets for MSE).
    """
    xp = array_namespace(logits)
    num_samples = targets.shape[-1]
    if loss == "mse":
        return 0.5 * frobenius_squared(logits - targets, xp) / num_samples
    if loss == "ce":
        return -xp.sum(targets * _log_softmax(xp, logits), axis=(-2, -1)) / num_samples
    raise ValueError(f"loss_value: loss must be one of {LOSSES}, got {loss!r}")


def loss_gradient(loss: str, logits: Any, targets: Any) -> Any:
    r""":math:`G=\partial(\text{data term})/\partial Z`: :math:`(Z-Y)/N` (MSE) or
    :math:`(\mathrm{softmax}(Z)-Y)/N` (CE)."""
    xp = array_namespace(logits)
    num_samples = targets.shape[-1]
    if loss == "mse":
        return (logits - targets) / num_samples
    if loss == "ce":
        return (xp.exp(_log_softmax(xp, logits)) - targets) / num_samples
    raise ValueError(f"loss_gradient: loss must be one of {LOSSES}, got {loss!r}")


def objective(
    loss: str,
    weights: Sequence[Any],
    features: Any,
    targets: Any,
    weight_decays: Sequence[float],
    feature_decay: float,
    bias: Any = None,
) -> Any:
    r"""The regularised UFM objective :math:`f_{\rm MSE}` or :math:`f_{\rm CE}` (B.1).

    Parameters
    ----------
    loss : {"mse", "ce"}
    weights : sequence of arrays ``[W_1, ..., W_M]``
        :math:`W_i` of shape (..., d_{i+1}, d_i), :math:`d_{M+1}=K`.
    features : array, shape (..., d_1, N)
        Unconstrained features H, samples ordered class by class.
    targets : array, shape (K, N)
        One-hot labels Y (:func:`~theory.neural_collapse.model.one_hot_labels`).
    weight_decays : sequence of M positive floats
        :math:`\lambda_{W_1},\dots,\lambda_{W_M}`.
    feature_decay : float
        :math:`\lambda_H>0`.
    bias : array, shape (..., K), optional
        Unregularised last-layer bias b.

    Returns
    -------
    array, shape (...)
        The objective per batch element (0-d without batch axes).

    Raises
    ------
    ValueError
        For an unknown loss, shapes that do not chain, or non-positive penalties.
    """
    if loss not in LOSSES:
        raise ValueError(f"objective: loss must be one of {LOSSES}, got {loss!r}")
    xp, decays, feature_decay = _checked(
        weights, features, targets, weight_decays, feature_decay, bias, "objective"
    )
    outputs = layer_features(weights, features)[-1]
    data = loss_value(loss, _logits(xp, outputs, bias), targets)
    return data + _regulariser(xp, weights, features, decays, feature_decay)


def gradients(
    loss: str,
    weights: Sequence[Any],
    features: Any,
    targets: Any,
    weight_decays: Sequence[float],
    feature_decay: float,
    bias: Any = None,
) -> Gradients:
    r"""Gradients of :func:`objective` with respect to every :math:`W_i`, H and b.

    Same parameters and shapes as :func:`objective`; see the module docstring for the
    back-propagation formulas.
    """
    if loss not in LOSSES:
        raise ValueError(f"gradients: loss must be one of {LOSSES}, got {loss!r}")
    xp, decays, feature_decay = _checked(
        weights, features, targets, weight_decays, feature_decay, bias, "gradients"
    )
    return unchecked_gradients(loss, weights, features, targets, decays, feature_decay, bias)


def unchecked_gradients(
    loss: str,
    weights: Sequence[Any],
    features: Any,
    targets: Any,
    weight_decays: Sequence[float],
    feature_decay: float,
    bias: Any = None,
) -> Gradients:
    """:func:`gradients` without validation, for inner loops whose inputs were checked once."""
    xp = array_namespace(features)
    layers = layer_features(weights, features)
    upstream = loss_gradient(loss, _logits(xp, layers[-1], bias), targets)
    bias_gradient = None if bias is None else xp.sum(upstream, axis=-1)
    weight_gradients: list[Any] = [None] * len(weights)
    for index in range(len(weights) - 1, -1, -1):
        weight = weights[index]
        weight_gradients[index] = (
            upstream @ layers[index].mT + weight_decays[index] * weight
        )
        upstream = weight.mT @ upstream
    return Gradients(weight_gradients, upstream + feature_decay * features, bias_gradient)


def mse_objective(weights, features, targets, weight_decays, feature_decay, bias=None) -> Any:
    """:func:`objective` with the squared error (B.1)."""
    return objective("mse", weights, features, targets, weight_decays, feature_decay, bias)


def mse_gradients(weights, features, targets, weight_decays, feature_decay, bias=None) -> Gradients:
    """:func:`gradients` with the squared error (B.1)."""
    return gradients("mse", weights, features, targets, weight_decays, feature_decay, bias)


def cross_entropy_objective(
    weights, features, targets, weight_decays, feature_decay, bias=None
) -> Any:
    """:func:`objective` with the softmax cross-entropy (B.1)."""
    return objective("ce", weights, features, targets, weight_decays, feature_decay, bias)


def cross_entropy_gradients(
    weights, features, targets, weight_decays, feature_decay, bias=None
) -> Gradients:
    """:func:`gradients` with the softmax cross-entropy (B.1)."""
    return gradients("ce", weights, features, targets, weight_decays, feature_decay, bias)
