r"""Region and distribution losses of semantic segmentation (math objects).

Azad et al., *Loss Functions in the Era of Semantic Segmentation: A Survey and
Outlook*, arXiv 2312.05391 (2023). The claims (``segloss.tversky-reductions``,
``segloss.dice-jaccard``, ``segloss.focal-ce`` of ``shared/claims/catalog.md`` §38)
are symbolic and certified, in :mod:`proofs_check.catalog.segloss`.

Soft predictions :math:`p\in[0,1]^n`, binary targets :math:`g\in\{0,1\}^n`:
:math:`TP=\sum pg`, :math:`FP=\sum p(1-g)`, :math:`FN=\sum(1-p)g`;
Dice :math:`D=2TP/(2TP+FP+FN)`, Jaccard :math:`J=TP/(TP+FP+FN)`, Tversky
:math:`TI_{\alpha,\beta}=TP/(TP+\alpha FN+\beta FP)`, focal loss
:math:`FL_\gamma=-(1-p_t)^\gamma\log p_t`.

The exponent convention of the Focal-Tversky loss differs across sources
(:math:`(1-TI)^\gamma` or :math:`(1-TI)^{1/\gamma}`); the survey's own convention is
not confirmed here, so :func:`focal_tversky_loss` takes the power that is applied,
``exponent``, directly. With exponent 1 the two conventions agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theorycheck.validate import finite, real_floating, same_shape

PAPER = "segloss"
EPS = float(np.finfo(np.float64).eps)


def _masks(prediction: Any, target: Any, func: str) -> tuple[Any, Any, Any]:
    prediction, xp = real_floating(prediction, "prediction", func=func)
    target, _ = real_floating(target, "target", func=func)
    same_shape(prediction, target, ("prediction", "target"), func=func)
    if prediction.ndim == 0 or prediction.shape[-1] == 0:
        raise ValueError(
            f"{func}: masks need a non-empty last axis, got shape {tuple(prediction.shape)}"
        )
    finite(prediction, "prediction", func=func, xp=xp)
    finite(target, "target", func=func, xp=xp)
    low, high = float(xp.min(prediction)), float(xp.max(prediction))
    if low < 0 or high > 1:
        raise ValueError(f"{func}: prediction must lie in [0, 1], has entries {low} .. {high}")
    binary = xp.logical_or(target == 0.0, target == 1.0)
    if not bool(xp.all(binary)):
        raise ValueError(f"{func}: target must be a 0/1 mask")
    return prediction, target, xp


def confusion_terms(prediction: Any, target: Any) -> tuple[Any, Any, Any]:
    r"""Soft :math:`(TP, FP, FN)` summed over the last axis.

    Parameters
    ----------
    prediction : array, shape (..., n)
        Soft predictions in [0, 1].
    target : array, shape (..., n)
        A 0/1 mask.

    Returns
    -------
    tuple of arrays, shape (...)

    Raises
    ------
    ValueError
        For different shapes, an empty last axis, non-finite entries, predictions
        outside [0, 1] or a target that is not 0/1.
    """
    p, g, xp = _masks(prediction, target, "confusion_terms")
    return _terms(p, g, xp)


def _terms(p: Any, g: Any, xp: Any) -> tuple[Any, Any, Any]:
    return (
        xp.sum(p * g, axis=-1),
        xp.sum(p * (1.0 - g), axis=-1),
        xp.sum((1.0 - p) * g, axis=-1),
    )


def tversky_index(prediction: Any, target: Any, alpha: float, beta: float) -> Any:
    r"""Tversky index :math:`TI_{\alpha,\beta}=TP/(TP+\alpha FN+\beta FP)`.

    Parameters
    ----------
    prediction, target : array, shape (..., n)
        As in :func:`confusion_terms`.
    alpha, beta : float
        Non-negative weights of the false negatives and false positives.

    Returns
    -------
    array, shape (...)

    Raises
    ------
    ValueError
        For a negative weight, or bad masks (see :func:`confusion_terms`).
    """
    for name, value in (("alpha", alpha), ("beta", beta)):
        if not (isinstance(value, int | float) and value >= 0):
            raise ValueError(f"tversky_index: {name} must be a non-negative number, got {value!r}")
    p, g, xp = _masks(prediction, target, "tversky_index")
    tp, fp, fn = _terms(p, g, xp)
    return tp / (tp + alpha * fn + beta * fp)


def dice_coefficient(prediction: Any, target: Any) -> Any:
    r"""Soft Dice coefficient :math:`D=2TP/(2TP+FP+FN)`; arguments as :func:`confusion_terms`."""
    p, g, xp = _masks(prediction, target, "dice_coefficient")
    tp, fp, fn = _terms(p, g, xp)
    return 2.0 * tp / (2.0 * tp + fp + fn)


def jaccard_index(prediction: Any, target: Any) -> Any:
    r"""Soft Jaccard index :math:`J=TP/(TP+FP+FN)`; arguments as :func:`confusion_terms`."""
    p, g, xp = _masks(prediction, target, "jaccard_index")
    tp, fp, fn = _terms(p, g, xp)
    return tp / (tp + fp + fn)


def focal_tversky_loss(
    prediction: Any, target: Any, alpha: float, beta: float, exponent: float
) -> Any:
    r"""Focal-Tversky loss :math:`(1-TI_{\alpha,\beta})^{e}`, e = ``exponent`` the applied
    power.

    Abraham & Khan (2019) write :math:`e=1/\gamma`; other sources :math:`e=\gamma`.

    Raises
    ------
    ValueError
        For a non-positive exponent, or as :func:`tversky_index`.
    """
    if not (isinstance(exponent, int | float) and exponent > 0):
        raise ValueError(
            f"focal_tversky_loss: exponent must be a positive number, got {exponent!r}"
        )
    return (1.0 - tversky_index(prediction, target, alpha, beta)) ** exponent


def focal_loss(probability: Any, gamma: float) -> Any:
    r"""Focal loss :math:`FL_\gamma(p_t)=-(1-p_t)^\gamma\log p_t` (Lin et al. 2017).

    Parameters
    ----------
    probability : array
        The probability :math:`p_t\in(0,1]` of the true class.
    gamma : float
        The focusing parameter, >= 0 (:math:`0^0=1`).

    Raises
    ------
    ValueError
        For probabilities outside (0, 1] or a negative gamma.
    """
    p, xp = real_floating(probability, "probability", func="focal_loss")
    finite(p, "probability", func="focal_loss", xp=xp)
    if not (isinstance(gamma, int | float) and gamma >= 0):
        raise ValueError(f"focal_loss: gamma must be a non-negative number, got {gamma!r}")
    if p.size and (float(xp.min(p)) <= 0 or float(xp.max(p)) > 1):
        raise ValueError(
            f"focal_loss: probability must lie in (0, 1], has entries "
            f"{float(xp.min(p))} .. {float(xp.max(p))}"
        )
    return -((1.0 - p) ** gamma) * xp.log(p)


def cross_entropy(probability: Any) -> Any:
    r"""Cross-entropy :math:`CE(p_t)=-\log p_t`; same domain as :func:`focal_loss`."""
    return focal_loss(probability, 0.0)


def random_soft_masks(
    rng: np.random.Generator, count: int, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Soft predictions (uniform, near-binary, and hard 0/1 in a third each) and 0/1 targets
    with at least one foreground pixel, shape (count, size)."""
    target = (rng.random((count, size)) < rng.uniform(0.05, 0.6, (count, 1))).astype(float)
    target[:, 0] = 1.0
    kind = rng.integers(0, 3, (count, 1))
    uniform = rng.random((count, size))
    near = np.clip(target + rng.normal(0, 0.2, (count, size)) * (1 - 2 * target), 0, 1)
    hard = (rng.random((count, size)) < 0.5).astype(float)
    prediction = np.select([kind == 0, kind == 1], [uniform, near], hard)
    return prediction, target
