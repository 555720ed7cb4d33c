r"""Neural-collapse metrics NC1-NC4 and the distances to an ETF, an orthogonal frame or a GOF.

``shared/claims/neural_collapse.md``, B.2 (the authors' code; standard since Papyan, Han &
Donoho, PNAS 2020). Features ``H`` have shape (..., d, N) with samples ordered class by
class (``class_sizes``); the classifier ``W`` (the product :math:`W_M\cdots W_1`) has
shape (..., K, d). Leading batch axes (replicates) are kept in every result.

- Class means :math:`\bar h_k=\frac1{n_k}\sum_ih_{k,i}`; global mean
  :math:`h_G=\frac1N\sum_{k,i}h_{k,i}` (sample-weighted, pitfall P-B7).
- :math:`\Sigma_W=\frac1N\sum_{k,i}(h_{k,i}-\bar h_k)(h_{k,i}-\bar h_k)^\top`,
  :math:`\Sigma_B=\frac1K\sum_k(\bar h_k-h_G)(\bar h_k-h_G)^\top` (normalised by K, not by
  the feature dimension: a slip of public scripts).
- **NC1** :math:`=\frac1K\mathrm{tr}(\Sigma_W\Sigma_B^\dagger)`.
- **NC2** :math:`\|G/\|G\|_F-T\|_F` for a Gram matrix G (:math:`WW^\top`, or the class-mean
  Gram: centred for the ETF, uncentred for the orthogonal frame) against the normalised
  target T: :math:`(I_K-\frac1K\mathbf 1\mathbf 1^\top)/\sqrt{K-1}` (simplex ETF) or
  :math:`I_K/\sqrt K` (orthogonal frame).
- **NC3** :math:`\|W\bar H/\|W\bar H\|_F-T\|_F` (centred :math:`\bar H` for the ETF).
- **NC4** the fraction of samples whose classifier decision :math:`\arg\max_k(Wh+b)_k`
  differs from the nearest class mean :math:`\arg\min_k\|h-\bar h_k\|`.
- **GOF** (imbalanced, bias-free MSE): normalised :math:`WW^\top`, :math:`\bar H^\top\bar H`,
  :math:`W` and :math:`W\bar H` against :math:`\mathrm{diag}(\sigma_k^2)`,
  :math:`\mathrm{diag}(\sigma_k^2/(\sigma_k^2+N\lambda_H)^2)`,
  :math:`\mathrm{diag}(\sigma_k^2+N\lambda_H)\bar H^\top` and
  :math:`\mathrm{diag}(\sigma_k^2/(\sigma_k^2+N\lambda_H))`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from theory.neural_collapse.model import check_class_sizes, one_hot_labels, product_matrix
from theorycheck import validate

GEOMETRIES = ("etf", "orthogonal")
"""Targets of NC2/NC3: the simplex ETF (with bias, CE) or the orthogonal frame (bias-free MSE)."""

Target = Callable[[int, ModuleType], Any]
"""A normalised K x K target geometry: ``target(K, xp)``."""


# --------------------------------------------------------------------------- targets


def simplex_etf_target(num_classes: int, xp: ModuleType) -> Any:
    r"""The normalised simplex ETF :math:`(I_K-\frac1K\mathbf 1\mathbf 1^\top)/\sqrt{K-1}`.

    :math:`\|I_K-\frac1K\mathbf 1\mathbf 1^\top\|_F=\sqrt{K-1}`, so the target has unit norm;
    its off-diagonal cosine is :math:`-1/(K-1)`.
    """
    eye = xp.eye(num_classes, dtype=xp.float64)
    return (eye - 1.0 / num_classes) / (num_classes - 1) ** 0.5


def orthogonal_frame_target(num_classes: int, xp: ModuleType) -> Any:
    r"""The normalised orthogonal frame :math:`I_K/\sqrt K` (:math:`\|I_K\|_F=\sqrt K`)."""
    return xp.eye(num_classes, dtype=xp.float64) / num_classes**0.5


TARGETS: dict[str, Target] = {"etf": simplex_etf_target, "orthogonal": orthogonal_frame_target}


def _target(geometry: str | Target, num_classes: int, xp: ModuleType) -> Any:
    if callable(geometry):
        return geometry(num_classes, xp)
    if geometry not in TARGETS:
        raise ValueError(f"geometry must be one of {GEOMETRIES} or a callable, got {geometry!r}")
    return TARGETS[geometry](num_classes, xp)


# --------------------------------------------------------------------------- helpers


def _features(features: Any, class_sizes: Sequence[int], func: str) -> tuple[Any, Any, tuple]:
    features, xp = validate.real_floating(features, "features H", func=func)
    sizes = check_class_sizes(class_sizes, func=func)
    if features.ndim < 2:
        raise ValueError(
            f"{func}: features H must have shape (..., d, N), got {tuple(features.shape)}"
        )
    if features.shape[-1] != sum(sizes):
        raise ValueError(
            f"{func}: features H has {features.shape[-1]} samples but class_sizes sum to "
            f"{sum(sizes)} (class_sizes={list(sizes)})"
        )
    return features, xp, sizes


def _classifier(classifier: Any, num_classes: int, width: int | None, func: str) -> Any:
    classifier, _ = validate.real_floating(classifier, "classifier W", func=func)
    if classifier.ndim < 2 or classifier.shape[-2] != num_classes:
        raise ValueError(
            f"{func}: classifier W must have shape (..., K={num_classes}, d), "
            f"got {tuple(classifier.shape)}"
        )
    if width is not None and classifier.shape[-1] != width:
        raise ValueError(
            f"{func}: classifier W has {classifier.shape[-1]} columns but the features have "
            f"dimension {width}"
        )
    return classifier


def frobenius_norm(x: Any, xp: ModuleType) -> Any:
    """Frobenius norm over the last two axes (keepdims), for normalising."""
    return xp.sqrt(xp.sum(x * x, axis=(-2, -1), keepdims=True))


def normalised_distance(matrix: Any, target: Any) -> Any:
    r""":math:`\|A/\|A\|_F-T/\|T\|_F\|_F` over the last two axes (NaN when A = 0).

    Parameters
    ----------
    matrix : array, shape (..., p, q)
    target : array, shape (..., p, q), broadcastable
    """
    matrix, xp = validate.real_floating(matrix, "matrix", func="normalised_distance")
    difference = matrix / frobenius_norm(matrix, xp) - target / frobenius_norm(target, xp)
    return xp.sqrt(xp.sum(difference * difference, axis=(-2, -1)))


def frame_distance(gram: Any, target: Any) -> Any:
    r""":math:`\|G/\|G\|_F-T\|_F` for a target T given already normalised (B.2 form).

    Unlike :func:`normalised_distance`, the target is used as given, as in the
    authors' code: a target with a wrong normaliser shows up as a non-zero distance.
    """
    gram, xp = validate.real_floating(gram, "gram", func="frame_distance")
    difference = gram / frobenius_norm(gram, xp) - target
    return xp.sqrt(xp.sum(difference * difference, axis=(-2, -1)))


def etf_distance(gram: Any) -> Any:
    r"""NC2 distance of a K x K Gram matrix to the simplex ETF (0 iff :math:`G\propto
    I_K-\frac1K\mathbf 1\mathbf 1^\top`)."""
    gram, xp = validate.real_floating(gram, "gram", func="etf_distance")
    return frame_distance(gram, simplex_etf_target(gram.shape[-1], xp))


def orthogonal_frame_distance(gram: Any) -> Any:
    r"""NC2 distance of a K x K Gram matrix to the orthogonal frame (0 iff :math:`G\propto I_K`)."""
    gram, xp = validate.real_floating(gram, "gram", func="orthogonal_frame_distance")
    return frame_distance(gram, orthogonal_frame_target(gram.shape[-1], xp))


# --------------------------------------------------------------------------- class statistics


def class_means(features: Any, class_sizes: Sequence[int]) -> tuple[Any, Any]:
    r"""Class means :math:`\bar H=[\bar h_1,\dots,\bar h_K]` (..., d, K) and the sample-weighted
    global mean :math:`h_G` (..., d, 1)."""
    features, xp, sizes = _features(features, class_sizes, "class_means")
    averaging = one_hot_labels(sizes, xp).mT / xp.asarray(np.asarray(sizes, dtype=float))
    means = features @ averaging
    return means, xp.mean(features, axis=-1, keepdims=True)


def within_class_covariance(features: Any, class_sizes: Sequence[int]) -> Any:
    r""":math:`\Sigma_W=\frac1N\sum_{k,i}(h_{k,i}-\bar h_k)(h_{k,i}-\bar h_k)^\top`, (..., d, d)."""
    features, xp, sizes = _features(features, class_sizes, "within_class_covariance")
    means, _ = class_means(features, sizes)
    deviations = features - means @ one_hot_labels(sizes, xp)
    return deviations @ deviations.mT / sum(sizes)


def between_class_covariance(features: Any, class_sizes: Sequence[int]) -> Any:
    r""":math:`\Sigma_B=\frac1K\sum_k(\bar h_k-h_G)(\bar h_k-h_G)^\top`, (..., d, d)."""
    features, xp, sizes = _features(features, class_sizes, "between_class_covariance")
    means, global_mean = class_means(features, sizes)
    centred = means - global_mean
    return centred @ centred.mT / len(sizes)


def nc1(features: Any, class_sizes: Sequence[int]) -> Any:
    r"""**NC1** :math:`=\frac1K\mathrm{tr}(\Sigma_W\Sigma_B^\dagger)` (0 under collapse).

    Parameters
    ----------
    features : array, shape (..., d, N)
    class_sizes : sequence of K positive ints summing to N

    Returns
    -------
    array, shape (...)
    """
    features, xp, sizes = _features(features, class_sizes, "nc1")
    within = within_class_covariance(features, sizes)
    between = between_class_covariance(features, sizes)
    product = within @ xp.linalg.pinv(between)
    return xp.sum(xp.linalg.diagonal(product), axis=-1) / len(sizes)


def feature_gram(features: Any, class_sizes: Sequence[int], geometry: str = "etf") -> Any:
    r"""The class-mean Gram matrix compared in NC2: centred
    :math:`(\bar H-h_G\mathbf 1^\top)^\top(\bar H-h_G\mathbf 1^\top)` for the ETF, uncentred
    :math:`\bar H^\top\bar H` for the orthogonal frame (and the GOF)."""
    means, global_mean = class_means(features, class_sizes)
    if geometry == "etf":
        means = means - global_mean
    elif geometry != "orthogonal":
        raise ValueError(f"feature_gram: geometry must be one of {GEOMETRIES}, got {geometry!r}")
    return means.mT @ means


def nc2_classifier(classifier: Any, geometry: str | Target = "etf") -> Any:
    r"""**NC2** of the classifier: :math:`\|WW^\top/\|WW^\top\|_F-T\|_F`, shape (...)."""
    classifier, xp = validate.real_floating(classifier, "classifier W", func="nc2_classifier")
    if classifier.ndim < 2:
        raise ValueError(f"nc2_classifier: W must be (..., K, d), got {tuple(classifier.shape)}")
    gram = classifier @ classifier.mT
    return frame_distance(gram, _target(geometry, gram.shape[-1], xp))


def nc2_features(
    features: Any, class_sizes: Sequence[int], geometry: str | Target = "etf"
) -> Any:
    r"""**NC2** of the class means (centred Gram for the ETF, uncentred for the orthogonal
    frame; a callable target is compared with the centred Gram)."""
    features, xp, sizes = _features(features, class_sizes, "nc2_features")
    kind = geometry if isinstance(geometry, str) else "etf"
    gram = feature_gram(features, sizes, kind)
    return frame_distance(gram, _target(geometry, len(sizes), xp))


def nc3(
    classifier: Any, features: Any, class_sizes: Sequence[int], geometry: str | Target = "etf"
) -> Any:
    r"""**NC3** :math:`\|W\bar H/\|W\bar H\|_F-T\|_F` (centred :math:`\bar H` for the ETF)."""
    features, xp, sizes = _features(features, class_sizes, "nc3")
    classifier = _classifier(classifier, len(sizes), features.shape[-2], "nc3")
    means, global_mean = class_means(features, sizes)
    if geometry == "etf" or callable(geometry):
        means = means - global_mean
    return frame_distance(classifier @ means, _target(geometry, len(sizes), xp))


def nc4(
    classifier: Any, features: Any, class_sizes: Sequence[int], bias: Any = None
) -> Any:
    r"""**NC4**: fraction of samples with :math:`\arg\max_k(Wh+b)_k\ne\arg\min_k\|h-\bar h_k\|`.

    Parameters
    ----------
    classifier : array, shape (..., K, d)
    features : array, shape (..., d, N)
    class_sizes : sequence of K ints
    bias : array, shape (..., K), optional

    Returns
    -------
    array, shape (...), in [0, 1]
    """
    features, xp, sizes = _features(features, class_sizes, "nc4")
    classifier = _classifier(classifier, len(sizes), features.shape[-2], "nc4")
    logits = classifier @ features
    if bias is not None:
        logits = logits + bias[..., :, None]
    decision = xp.argmax(logits, axis=-2)
    means, _ = class_means(features, sizes)
    # squared distances ||h||^2 - 2 h^T m_k + ||m_k||^2; the first term is common to all k
    scores = 2.0 * (means.mT @ features) - xp.sum(means * means, axis=-2)[..., :, None]
    nearest = xp.argmax(scores, axis=-2)
    mismatch = xp.astype(decision != nearest, features.dtype)
    return xp.mean(mismatch, axis=-1)


def gof_metrics(
    classifier: Any,
    features: Any,
    class_sizes: Sequence[int],
    sigma_squared: Any,
    feature_decay: float,
) -> dict[str, Any]:
    r"""The four general-orthogonal-frame distances of B.2 (imbalanced, bias-free MSE).

    Parameters
    ----------
    classifier : array, shape (..., K, d)
        The product :math:`W=W_M\cdots W_1`.
    features : array, shape (..., d, N)
    class_sizes : sequence of K ints
    sigma_squared : array, shape (K,)
        The predicted :math:`\sigma_k^2` (``nc.mse_scalar``); classes with
        :math:`\sigma_k=0` have zero targets.
    feature_decay : float
        :math:`\lambda_H`.

    Returns
    -------
    dict
        ``classifier_gram``, ``feature_gram``, ``self_duality``, ``logits``: each the
        normalised distance, shape (...).
    """
    features, xp, sizes = _features(features, class_sizes, "gof_metrics")
    classifier = _classifier(classifier, len(sizes), features.shape[-2], "gof_metrics")
    means, _ = class_means(features, sizes)
    scale = sigma_squared + sum(sizes) * feature_decay
    eye = xp.eye(len(sizes), dtype=features.dtype)
    return {
        "classifier_gram": normalised_distance(classifier @ classifier.mT, eye * sigma_squared),
        "feature_gram": normalised_distance(means.mT @ means, eye * (sigma_squared / scale**2)),
        "self_duality": normalised_distance(classifier, (eye * scale) @ means.mT),
        "logits": normalised_distance(classifier @ means, eye * (sigma_squared / scale)),
    }


def collapse_metrics(
    weights: Sequence[Any],
    features: Any,
    class_sizes: Sequence[int],
    bias: Any = None,
    geometry: str = "etf",
) -> dict[str, Any]:
    r"""NC1-NC4 of a deep linear UFM point, for the product :math:`W=W_M\cdots W_1` and H.

    Returns
    -------
    dict of arrays, shape (...)
        ``nc1``, ``nc2_classifier``, ``nc2_features``, ``nc3``, ``nc4``.
    """
    classifier = product_matrix(list(weights))
    return {
        "nc1": nc1(features, class_sizes),
        "nc2_classifier": nc2_classifier(classifier, geometry),
        "nc2_features": nc2_features(features, class_sizes, geometry),
        "nc3": nc3(classifier, features, class_sizes, geometry),
        "nc4": nc4(classifier, features, class_sizes, bias),
    }


def layerwise_metrics(
    weights: Sequence[Any], features: Any, class_sizes: Sequence[int], geometry: str = "etf"
) -> list[dict[str, Any]]:
    r"""Deep NC (B.2): for j = 1..M, the partial product :math:`W_M\cdots W_j` against the
    features entering layer j, :math:`W_{j-1}\cdots W_1H`.

    Returns
    -------
    list of M dicts (j = 1 first) with ``nc1``, ``nc2_classifier``, ``nc2_features``, ``nc3``.
    """
    weights = list(weights)
    out = []
    layer_input = features
    for start in range(len(weights)):
        classifier = product_matrix(weights, start)
        out.append(
            {
                "nc1": nc1(layer_input, class_sizes),
                "nc2_classifier": nc2_classifier(classifier, geometry),
                "nc2_features": nc2_features(layer_input, class_sizes, geometry),
                "nc3": nc3(classifier, layer_input, class_sizes, geometry),
            }
        )
        layer_input = weights[start] @ layer_input
    return out
