r"""Cross-entropy geometry of the balanced deep linear UFM: candidate logits and their cost.

``shared/claims/neural_collapse.md``, ``nc.ce_M1_etf`` and the contested ``nc.ce_deep_etf``.

Balanced data, n samples per class, no bias. Within-class collapse holds at every
stationary point (for fixed weights the per-sample feature problem is strictly convex
and the same for every sample of a class), so the objective depends on the class-mean
logits :math:`\bar Z=W_M\cdots W_1\bar H` (K x K, column k = class k) and, minimising the
regulariser over all factorisations (``nc.mse_reduction``, which does not use the loss),

.. math::

    g(\bar Z)=\frac1K\sum_k\mathrm{CE}(\bar z_k,k)
      +\frac{M+1}2\big(n\lambda_H\textstyle\prod_i\lambda_{W_i}\big)^{1/(M+1)}
       \sum_j\sigma_j(\bar Z)^{2/(M+1)} .

For M = 1 the penalty is a nuclear norm (convex); for M >= 2 a Schatten quasi-norm that
rewards low rank: Garrod & Keating (arXiv 2410.23169) prove that no DNC (ETF)
configuration is then globally optimal for (K >= 4, M >= 3) or (K >= 6, M = 2).

Candidates: the simplex ETF :math:`\rho(I_K-\frac1K\mathbf 1\mathbf 1^\top)` (rank K - 1),
the orthogonal frame :math:`\rho I_K` (rank K) and the regular polygon
:math:`\rho\,U^\top U`, :math:`U=[\cos\theta_k;\sin\theta_k]` with
:math:`\theta_k=2\pi k/K` (rank 2, in the style of Garrod & Keating).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from theory.neural_collapse.model import check_penalty, check_weight_decays
from theorycheck import validate

FLOAT64_EPS = 2.0**-52
"""Machine epsilon of float64."""

CANDIDATE_GEOMETRIES = ("etf", "orthogonal", "polygon")


def _check_classes(num_classes: Any, func: str) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"{func}: num_classes K must be an integer >= 2, got {num_classes!r}")
    return num_classes


def candidate_logits(geometry: str, num_classes: int, scale: float, xp: ModuleType) -> Any:
    r"""Class-mean logits :math:`\bar Z` (K x K) of a candidate geometry at scale :math:`\rho`.

    Parameters
    ----------
    geometry : {"etf", "orthogonal", "polygon"}
    num_classes : int, K >= 2
    scale : float, :math:`\rho\ge0`
    xp : array namespace
    """
    num_classes = _check_classes(num_classes, "candidate_logits")
    eye = xp.eye(num_classes, dtype=xp.float64)
    if geometry == "etf":
        return scale * (eye - 1.0 / num_classes)
    if geometry == "orthogonal":
        return scale * eye
    if geometry == "polygon":
        angles = xp.arange(num_classes, dtype=xp.float64) * (2.0 * math.pi / num_classes)
        frame = xp.stack([xp.cos(angles), xp.sin(angles)])
        return scale * (frame.mT @ frame)
    raise ValueError(
        f"candidate_logits: geometry must be one of {CANDIDATE_GEOMETRIES}, got {geometry!r}"
    )


def mean_cross_entropy(class_logits: Any) -> Any:
    r""":math:`\frac1K\sum_k\mathrm{CE}(\bar z_k,k)` for class-mean logits (..., K, K)."""
    class_logits, xp = validate.real_floating(class_logits, "class_logits",
                                              func="mean_cross_entropy")
    top = xp.max(class_logits, axis=-2, keepdims=True)
    lse = top[..., 0, :] + xp.log(xp.sum(xp.exp(class_logits - top), axis=-2))
    diagonal = xp.linalg.diagonal(class_logits)
    return xp.mean(lse - diagonal, axis=-1)


def schatten_coefficient(
    class_size: int, weight_decays: Sequence[float], feature_decay: float
) -> float:
    r""":math:`\frac{M+1}2(n\lambda_H\prod_i\lambda_{W_i})^{1/(M+1)}`, the factor of the
    Schatten-:math:`2/(M+1)` penalty in class-mean logits."""
    decays = check_weight_decays(weight_decays, func="schatten_coefficient")
    feature_decay = check_penalty(feature_decay, "feature decay lambda_H",
                                  func="schatten_coefficient")
    depth = len(decays)
    return (depth + 1) / 2 * (class_size * feature_decay * math.prod(decays)) ** (1 / (depth + 1))


def reduced_cross_entropy_objective(
    class_logits: Any,
    class_size: int,
    weight_decays: Sequence[float],
    feature_decay: float,
) -> Any:
    r""":math:`g(\bar Z)`: the smallest balanced CE objective with class-mean logits
    :math:`\bar Z`, over all collapsed factorisations (module docstring).

    Parameters
    ----------
    class_logits : array, shape (..., K, K)
    class_size : int
        n (samples per class).
    weight_decays : sequence of M floats
    feature_decay : float

    Returns
    -------
    array, shape (...)
    """
    class_logits, xp = validate.real_floating(
        class_logits, "class_logits", func="reduced_cross_entropy_objective"
    )
    depth = len(check_weight_decays(weight_decays, func="reduced_cross_entropy_objective"))
    coefficient = schatten_coefficient(class_size, weight_decays, feature_decay)
    singular = xp.linalg.svdvals(class_logits)
    # A singular value below K eps sigma_max is rounding noise of an exact zero (the ETF
    # has rank K - 1); raised to the power 2/(M+1) < 1 the noise would be amplified
    # (6e-16 -> 2e-8 at M = 3), so it counts as zero.
    noise = class_logits.shape[-1] * FLOAT64_EPS * xp.max(singular, axis=-1, keepdims=True)
    singular = xp.where(singular > noise, singular, xp.zeros_like(singular))
    penalty = xp.sum(singular ** (2.0 / (depth + 1)), axis=-1)
    return mean_cross_entropy(class_logits) + coefficient * penalty
