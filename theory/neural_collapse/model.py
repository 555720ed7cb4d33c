r"""The deep linear unconstrained-features model (UFM) and its validation.

Dang, Tran, Osher, Tran-The, Ho & Nguyen, *Neural Collapse in Deep Linear Networks:
From Balanced to Imbalanced Data*, ICML 2023 (``shared/claims/neural_collapse.md``, B.1).

K classes of sizes :math:`n_1,\dots,n_K` (:math:`N=\sum_k n_k`), samples ordered class by
class; one-hot labels :math:`Y\in\{0,1\}^{K\times N}`; unconstrained features
:math:`H\in\mathbb R^{d_1\times N}`; linear layers :math:`W_1\in\mathbb R^{d_2\times d_1},
\dots,W_M\in\mathbb R^{K\times d_M}` and an optional last-layer bias :math:`b\in\mathbb R^K`.
The product is :math:`W=W_M\cdots W_1` (K x d_1).

Shapes: ``weights`` is a sequence ``[W_1, ..., W_M]``; every array may carry the same
leading batch axes (replicates), e.g. ``W_i`` of shape ``(R, d_{i+1}, d_i)`` and ``H`` of
shape ``(R, d_1, N)``; targets are ``(K, N)`` and broadcast over the batch.

This module holds the validation of the public edge (class sizes, penalties, depth,
shapes), the labels, the forward pass and the class-size bookkeeping.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np

from theorycheck import validate
from theorycheck.backend import array_namespace

# --------------------------------------------------------------------------- validation


def check_class_sizes(class_sizes: Any, *, func: str, minimum_classes: int = 2) -> tuple[int, ...]:
    """Return the class sizes as a tuple of Python ints, or raise ``ValueError``.

    Parameters
    ----------
    class_sizes : sequence of int
        :math:`n_1,\\dots,n_K`; each a positive integer (``bool`` and non-integral
        floats are refused; integral NumPy scalars are accepted).
    func : str
        Name of the public function, for the message.
    minimum_classes : int
        Smallest admissible K (2: a frame needs two classes).
    """
    if isinstance(class_sizes, str | bytes) or not isinstance(class_sizes, Sequence | np.ndarray):
        raise ValueError(f"{func}: class_sizes must be a sequence of positive integers, "
                         f"got {class_sizes!r}")
    sizes = []
    for index, value in enumerate(list(class_sizes)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(
                f"{func}: class size n_{index + 1} must be a positive integer, got {value!r}"
            )
        if int(value) < 1:
            raise ValueError(
                f"{func}: class size n_{index + 1} must be a positive integer, got {value!r}"
            )
        sizes.append(int(value))
    if len(sizes) < minimum_classes:
        raise ValueError(
            f"{func}: need at least {minimum_classes} classes, got class_sizes={list(sizes)}"
        )
    return tuple(sizes)


def check_penalty(value: Any, name: str, *, func: str) -> float:
    """Return a positive finite penalty (weight decay) as a float, or raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{func}: {name} must be a positive number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number <= 0.0:
        raise ValueError(f"{func}: {name} must be positive and finite, got {value!r}")
    return number


def check_weight_decays(weight_decays: Any, *, func: str) -> tuple[float, ...]:
    r"""Return :math:`(\lambda_{W_1},\dots,\lambda_{W_M})`; the depth M is its length, M >= 1."""
    if isinstance(weight_decays, numbers.Real) and not isinstance(weight_decays, bool):
        raise ValueError(
            f"{func}: weight_decays must be a sequence with one positive entry per layer "
            f"(its length is the depth M), got the scalar {weight_decays!r}"
        )
    if isinstance(weight_decays, str | bytes) or not isinstance(
        weight_decays, Sequence | np.ndarray
    ):
        raise ValueError(f"{func}: weight_decays must be a sequence, got {weight_decays!r}")
    values = list(weight_decays)
    if len(values) < 1:
        raise ValueError(f"{func}: depth M = len(weight_decays) must be >= 1, got 0")
    return tuple(
        check_penalty(v, f"weight decay lambda_W{i + 1}", func=func) for i, v in enumerate(values)
    )


def check_depth(depth: Any, *, func: str) -> int:
    """Return the depth M as an int >= 1, or raise ``ValueError`` naming it."""
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral):
        raise ValueError(f"{func}: depth M must be an integer >= 1, got {depth!r}")
    if int(depth) < 1:
        raise ValueError(f"{func}: depth M must be an integer >= 1, got {depth!r}")
    return int(depth)


def check_model_arrays(
    weights: Sequence[Any],
    features: Any,
    targets: Any,
    bias: Any = None,
    *,
    func: str,
) -> tuple[ModuleType, int, int]:
    """Check the shapes of a UFM point; return ``(xp, K, N)``.

    Raises
    ------
    ValueError
        For an empty weight list, a non-floating array, layer shapes that do not
        chain (:math:`W_i` must be :math:`d_{i+1}\\times d_i`), features whose sample
        count differs from the targets', a last layer without K rows, a bias not of
        shape (..., K), or batch axes that do not broadcast.
    """
    if isinstance(weights, str | bytes) or not isinstance(weights, Sequence) or not weights:
        raise ValueError(f"{func}: weights must be a non-empty sequence [W_1, ..., W_M]")
    features, xp = validate.real_floating(features, "features H", func=func)
    if features.ndim < 2:
        raise ValueError(
            f"{func}: features H must have shape (..., d_1, N), got {tuple(features.shape)}"
        )
    targets, _ = validate.real_floating(targets, "targets Y", func=func)
    if targets.ndim != 2:
        raise ValueError(f"{func}: targets Y must have shape (K, N), got {tuple(targets.shape)}")
    num_classes, num_samples = targets.shape
    if features.shape[-1] != num_samples:
        raise ValueError(
            f"{func}: features H has {features.shape[-1]} samples (columns) but targets Y has "
            f"{num_samples}"
        )
    batch_shapes = [tuple(features.shape[:-2])]
    width = features.shape[-2]
    for index, weight in enumerate(weights):
        weight, _ = validate.real_floating(weight, f"W_{index + 1}", func=func)
        if weight.ndim < 2:
            raise ValueError(
                f"{func}: W_{index + 1} must be a matrix, got shape {tuple(weight.shape)}"
            )
        if weight.shape[-1] != width:
            raise ValueError(
                f"{func}: W_{index + 1} has {weight.shape[-1]} columns but its input has "
                f"dimension {width} (shape {tuple(weight.shape)})"
            )
        width = weight.shape[-2]
        batch_shapes.append(tuple(weight.shape[:-2]))
    if width != num_classes:
        raise ValueError(
            f"{func}: the last layer W_{len(weights)} has {width} rows but there are "
            f"{num_classes} classes (rows of Y)"
        )
    if bias is not None:
        bias, _ = validate.real_floating(bias, "bias b", func=func)
        if bias.ndim < 1 or bias.shape[-1] != num_classes:
            raise ValueError(
                f"{func}: bias b must have shape (..., {num_classes}), got {tuple(bias.shape)}"
            )
        batch_shapes.append(tuple(bias.shape[:-1]))
    try:
        np.broadcast_shapes(*batch_shapes)
    except ValueError:
        raise ValueError(f"{func}: batch axes do not broadcast: {batch_shapes}") from None
    return xp, num_classes, num_samples


# --------------------------------------------------------------------------- labels


def one_hot_labels(class_sizes: Sequence[int], xp: ModuleType | None = None) -> Any:
    r"""One-hot labels :math:`Y\in\{0,1\}^{K\times N}`, samples ordered class by class.

    Balanced data give :math:`Y=I_K\otimes\mathbf 1_n^\top`.

    Parameters
    ----------
    class_sizes : sequence of int, length K
    xp : array namespace, optional
        Where to create the array (NumPy by default).

    Returns
    -------
    array, shape (K, N), float64
    """
    sizes = check_class_sizes(class_sizes, func="one_hot_labels")
    labels = np.repeat(np.eye(len(sizes)), sizes, axis=1)
    if xp is None:
        return labels
    return xp.asarray(labels)


def class_index(class_sizes: Sequence[int]) -> np.ndarray:
    """The class (0-based) of every sample, shape (N,), samples ordered class by class."""
    sizes = check_class_sizes(class_sizes, func="class_index")
    return np.repeat(np.arange(len(sizes)), sizes)


# --------------------------------------------------------------------------- forward


def layer_features(weights: Sequence[Any], features: Any) -> list[Any]:
    r"""The features entering and leaving every layer.

    Returns
    -------
    list of arrays
        :math:`[H, W_1H, W_2W_1H, \dots, W_M\cdots W_1H]`, length M + 1; the last is
        the logits without bias, shape (..., K, N).
    """
    out = [features]
    for weight in weights:
        out.append(weight @ out[-1])
    return out


def product_matrix(weights: Sequence[Any], start: int = 0) -> Any:
    r"""The partial product :math:`W_M\cdots W_{j}` with ``start = j - 1`` (0-based).

    ``start = 0`` gives the full product :math:`W=W_M\cdots W_1` (K x d_1).
    """
    if not weights or not 0 <= start < len(weights):
        raise ValueError(f"product_matrix: start must be in [0, {len(weights) - 1}], got {start}")
    result = weights[start]
    for weight in weights[start + 1 :]:
        result = weight @ result
    return result


def frobenius_squared(x: Any, xp: ModuleType | None = None) -> Any:
    r""":math:`\|x\|_F^2` over the last two axes (batch axes kept)."""
    xp = xp or array_namespace(x)
    return xp.sum(x * x, axis=(-2, -1))
