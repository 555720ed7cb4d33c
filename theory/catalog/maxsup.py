r"""MaxSup: the label-smoothing penalty, its sign split, and Max Suppression.

Zhou et al., *MaxSup: Overcoming Representation Collapse in Label Smoothing*,
arXiv 2502.15798, Sec. 3. Logits :math:`z\in\mathbb R^K`, true class y,
:math:`p=\mathrm{softmax}(z)`, :math:`\bar z=\tfrac1K\sum_k z_k`, smoothing weight
:math:`\alpha\in(0,1)` and smoothed target :math:`t=(1-\alpha)e_y+\tfrac\alpha K\mathbf 1`:

.. math::

    L_{LS}(z,y) = -\sum_k t_k\log p_k = L_{CE}(z,y) + \alpha\,(z_y-\bar z),

    \alpha(z_y-\bar z) = \underbrace{\tfrac\alpha K\sum_{z_k<z_y}(z_y-z_k)}_{\ge0}
                       + \underbrace{\tfrac\alpha K\sum_{z_k>z_y}(z_y-z_k)}_{\le0},

the regularisation and the error-amplification parts,

and MaxSup replaces :math:`\alpha(z_y-\bar z)` by :math:`\alpha(z_{\max}-\bar z)` (official
code: ZhouYuxuanYX/Maximum-Suppression-Regularization, ``LT/loss/MAXsupLoss.py``,
``CE + lam * (top1_logit - mean_logit)``).

The math objects below take logits of shape (..., K) and integer labels of shape
(...) on any array-API namespace. The claims ``maxsup.sign-split`` and
``maxsup.penalty-form`` are checked here (numeric); ``maxsup.ls-decomposition`` is
derived symbolically in :mod:`proofs_check.catalog.maxsup`.

Tolerances: u = 1.1e-16 (float64 unit roundoff). A sum of K terms bounded by M
errs by at most K u M (recursive summation; pairwise summation does better), a
log-sum-exp after the max shift by u(M + log K + 2); the checks below allow a
factor 4 over these first-order bounds.
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

PAPER = "maxsup"
"""Key of the paper in the seed catalog."""

UNIT_ROUNDOFF = 2.0**-53
"""float64 unit roundoff u = 1.1e-16."""


# --------------------------------------------------------------------------- math objects


def _logits_and_labels(z: Any, y: Any, func: str) -> tuple[Any, Any, Any]:
    """Validate logits (..., K) and integer labels (...); return ``(xp, z, one_hot)``."""
    z, xp = validate.real_floating(z, "z", func=func)
    validate.axis(z, -1, "z", func=func)
    validate.finite(z, "z", func=func, xp=xp)
    size = z.shape[-1]
    try:
        integral = xp.isdtype(y.dtype, "integral")
    except (AttributeError, TypeError):
        integral = False
    if not integral:
        raise ValueError(f"{func}: y must be an integer label array, got {type(y).__name__}")
    if tuple(y.shape) != tuple(z.shape[:-1]):
        raise ValueError(
            f"{func}: y must have shape {tuple(z.shape[:-1])} (z without its class axis), "
            f"got {tuple(y.shape)}"
        )
    if y.ndim and math.prod(y.shape) and (int(xp.min(y)) < 0 or int(xp.max(y)) >= size):
        bad = int(xp.min(y)) if int(xp.min(y)) < 0 else int(xp.max(y))
        raise ValueError(f"{func}: y must lie in [0, {size}), got label {bad}")
    if not y.ndim and not 0 <= int(y) < size:
        raise ValueError(f"{func}: y must lie in [0, {size}), got label {int(y)}")
    hot = xp.astype(y[..., None] == xp.arange(size), z.dtype)
    return xp, z, hot


def _alpha(alpha: float, func: str) -> float:
    if not isinstance(alpha, int | float) or isinstance(alpha, bool) or not 0 < alpha < 1:
        raise ValueError(f"{func}: alpha must be a number in (0, 1), got {alpha!r}")
    return float(alpha)


def _log_sum_exp(z: Any, xp: Any) -> Any:
    top = xp.max(z, axis=-1, keepdims=True)
    return (top + xp.log(xp.sum(xp.exp(z - top), axis=-1, keepdims=True)))[..., 0]


def cross_entropy(z: Any, y: Any) -> Any:
    r"""Cross-entropy :math:`L_{CE}(z,y)=\log\sum_k e^{z_k}-z_y`.

    Parameters
    ----------
    z : array, shape (..., K)
        Logits; finite, floating dtype.
    y : array of int, shape (...)
        True classes in [0, K).

    Returns
    -------
    array, shape (...)
    """
    xp, z, hot = _logits_and_labels(z, y, "cross_entropy")
    return _log_sum_exp(z, xp) - xp.sum(hot * z, axis=-1)


def label_smoothing_loss(z: Any, y: Any, alpha: float) -> Any:
    r"""Label-smoothing loss :math:`-\sum_k t_k\log p_k`.

    The smoothed target is :math:`t=(1-\alpha)e_y+\tfrac\alpha K\mathbf 1`.

    Computed from its definition: the smoothed target against
    :math:`\log p_k = z_k-\log\sum_j e^{z_j}`.

    Parameters
    ----------
    z : array, shape (..., K)
        Logits.
    y : array of int, shape (...)
        True classes.
    alpha : float
        Smoothing weight in (0, 1).
    """
    xp, z, hot = _logits_and_labels(z, y, "label_smoothing_loss")
    alpha = _alpha(alpha, "label_smoothing_loss")
    target = (1.0 - alpha) * hot + alpha / z.shape[-1]
    log_p = z - _log_sum_exp(z, xp)[..., None]
    return -xp.sum(target * log_p, axis=-1)


def ls_penalty(z: Any, y: Any, alpha: float) -> Any:
    r"""The label-smoothing penalty :math:`\alpha(z_y-\bar z)` (Sec. 3)."""
    xp, z, hot = _logits_and_labels(z, y, "ls_penalty")
    alpha = _alpha(alpha, "ls_penalty")
    return alpha * (xp.sum(hot * z, axis=-1) - xp.mean(z, axis=-1))


def ls_penalty_split(z: Any, y: Any, alpha: float) -> tuple[Any, Any]:
    r"""The paper's split of :math:`\alpha(z_y-\bar z)` by the sign of :math:`z_y-z_k`.

    Returns
    -------
    regularisation : array, shape (...)
        :math:`\tfrac\alpha K\sum_{k:\,z_k<z_y}(z_y-z_k)\ge0`.
    amplification : array, shape (...)
        :math:`\tfrac\alpha K\sum_{k:\,z_k>z_y}(z_y-z_k)\le0`, non-zero exactly when
        some logit exceeds :math:`z_y` (a misclassified sample).
    """
    xp, z, hot = _logits_and_labels(z, y, "ls_penalty_split")
    alpha = _alpha(alpha, "ls_penalty_split")
    gap = xp.sum(hot * z, axis=-1, keepdims=True) - z
    zero = xp.zeros_like(gap)
    scale = alpha / z.shape[-1]
    regularisation = scale * xp.sum(xp.where(gap > 0, gap, zero), axis=-1)
    amplification = scale * xp.sum(xp.where(gap < 0, gap, zero), axis=-1)
    return regularisation, amplification


def maxsup_penalty(z: Any, y: Any, alpha: float) -> Any:
    r"""The MaxSup penalty :math:`\alpha(z_{\max}-\bar z)`; y is validated but not used.

    Parameters
    ----------
    z : array, shape (..., K)
        Logits.
    y : array of int, shape (...)
        True classes (the penalty does not depend on them; kept for a common signature
        with :func:`ls_penalty`).
    alpha : float
        Weight in (0, 1) (the official code ramps it from 0.1 to 0.2).
    """
    xp, z, _ = _logits_and_labels(z, y, "maxsup_penalty")
    alpha = _alpha(alpha, "maxsup_penalty")
    return alpha * (xp.max(z, axis=-1) - xp.mean(z, axis=-1))


def maxsup_loss(z: Any, y: Any, alpha: float) -> Any:
    r"""MaxSup loss :math:`L_{CE}(z,y)+\alpha(z_{\max}-\bar z)`."""
    return cross_entropy(z, y) + maxsup_penalty(z, y, alpha)


# --------------------------------------------------------------------------- instances

Penalty = Callable[[Any, Any, float], Any]
Split = Callable[[Any, Any, float], tuple[Any, Any]]


def random_logits(
    rng: np.random.Generator, count: int, size: int, log10_scales: tuple[float, float] = (-2, 3)
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian logits at scales 10^U(lo, hi) per row; labels: a quarter on the minimum
    logit (the worst case of the LS penalty), a quarter on the maximum (correctly
    classified), the rest uniform.

    Returns
    -------
    z : ndarray, shape (count, size)
    y : ndarray of int, shape (count,)
    """
    scale = 10.0 ** rng.uniform(*log10_scales, size=(count, 1))
    z = scale * rng.standard_normal((count, size))
    y = rng.integers(0, size, count)
    kind = rng.random(count)
    y = np.where(kind < 0.25, np.argmin(z, axis=1), np.where(kind < 0.5, np.argmax(z, axis=1), y))
    return z, y


def _on_backend(ctx: Context, fn: Callable[..., Any], *arrays: Any, **kwargs: Any) -> Any:
    result = fn(*(ctx.asarray(a) for a in arrays), **kwargs)
    if isinstance(result, tuple):
        return tuple(np.asarray(to_numpy(r), dtype=float) for r in result)
    return np.asarray(to_numpy(result), dtype=float)


def _sum_tolerance(z: np.ndarray, alpha: float) -> np.ndarray:
    """4 K u alpha M per row: the error of alpha times a sum of K terms bounded by M."""
    size = z.shape[-1]
    return 4 * size * UNIT_ROUNDOFF * alpha * (1 + np.max(np.abs(z), axis=-1))


# --------------------------------------------------------------------------- sign-split


def paper_offending_gradient(alpha: float, size: int) -> float:
    r"""Sec. 3: :math:`\partial/\partial z_k` of the amplification part is :math:`-\alpha/K`."""
    return -alpha / size


def raising_gradient(alpha: float, size: int) -> float:
    r"""Control: :math:`+\alpha/K` (gradient descent would lower the offending logits)."""
    return alpha / size


def whole_penalty_as_regulariser(z: Any, y: Any, alpha: float) -> tuple[Any, Any]:
    r"""Control: the whole LS penalty :math:`\alpha(z_y-\bar z)` is the non-negative part."""
    penalty = ls_penalty(z, y, alpha)
    return penalty, 0.0 * penalty


ALPHA = 0.1
"""Smoothing weight of the checks (the common choice; any value in (0, 1) works)."""


@claim(
    "maxsup.sign-split",
    paper=PAPER,
    source="Sec. 3",
    statement=(
        r"\alpha(z_y-\bar z)=\tfrac\alpha K\sum_{z_k<z_y}(z_y-z_k)+\tfrac\alpha K"
        r"\sum_{z_k>z_y}(z_y-z_k),\ \text{first}\ge0,\ \text{second}\le0,\ \ne0"
        r"\iff\exists k: z_k>z_y,\ \partial_{z_k}(\text{second})=-\alpha/K"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "ls-penalty-nonnegative",
            r"\alpha(z_y-\bar z)\ge0 for every z (the whole penalty is regularisation)",
            {"split": whole_penalty_as_regulariser},
        ),
        Control(
            "offending-gradient-positive",
            r"\partial_{z_k}(\text{amplification})=+\alpha/K\ (z_k>z_y)",
            {"offending_gradient": raising_gradient},
        ),
    ],
)
def sign_split(
    ctx: Context,
    split: Split = ls_penalty_split,
    offending_gradient: Callable[[float, int], float] = paper_offending_gradient,
) -> Evidence:
    r"""The split on random logits (K up to 1000, scales 1e-2 to 1e3), on the backend.

    Parts: the two parts add up to :math:`\alpha(z_y-\bar z)` computed in NumPy (atol
    4 K u alpha (1 + M), module docstring); the first is >= 0 and the second <= 0
    (exactly: each is a sum of terms of one sign, so no tolerance); the second is
    non-zero exactly on the misclassified rows (exact: a float difference of two
    distinct numbers is non-zero); central differences of the second part in the
    largest offending logit equal ``offending_gradient``. The part is linear in
    :math:`z_k` while :math:`z_k-z_y>h`, so the difference is exact up to the
    rounding of the part, :math:`4Ku\alpha(1+M)`, divided by h: with
    :math:`h=10^{-3}(1+M)` the tolerance is :math:`4\cdot10^{3}Ku\alpha`
    (<= 4.4e-11 at K = 1000).
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for size in ctx.pick((2, 7, 100, 1000), (2, 3, 7, 20, 100, 1000)):
        count = ctx.pick(max(20, 20_000 // size), max(200, 200_000 // size))
        z, y = random_logits(rng, count, size)
        inputs = {"z": z, "y": y}
        regularisation, amplification = split(ctx.asarray(z), ctx.asarray(y), ALPHA)
        regularisation = np.asarray(to_numpy(regularisation), dtype=float)
        amplification = np.asarray(to_numpy(amplification), dtype=float)
        target = z[np.arange(count), y]
        expected = ALPHA * (target - z.mean(axis=1))
        parts[f"K={size}: parts add up"] = checks.compare(
            regularisation + amplification, expected, atol=_sum_tolerance(z, ALPHA), inputs=inputs
        )
        parts[f"K={size}: regularisation >= 0"] = checks.nonnegative(regularisation, inputs=inputs)
        parts[f"K={size}: amplification <= 0"] = checks.nonnegative(-amplification, inputs=inputs)
        misclassified = (z > target[:, None]).any(axis=1)
        parts[f"K={size}: amplification != 0 iff misclassified"] = checks.agree(
            amplification != 0, misclassified, inputs=inputs, names=("nonzero", "misclassified")
        )
        rows = np.flatnonzero(misclassified)
        if rows.size:
            zr, yr = z[rows], y[rows]
            offender = np.argmax(zr, axis=1)
            step = 1e-3 * (1 + np.max(np.abs(zr), axis=1))
            far = zr[np.arange(rows.size), offender] - zr[np.arange(rows.size), yr] > 2 * step
            zr, yr, offender, step = zr[far], yr[far], offender[far], step[far]
            bump = step[:, None] * np.eye(size)[offender]
            _, up = split(ctx.asarray(zr + bump), ctx.asarray(yr), ALPHA)
            _, down = split(ctx.asarray(zr - bump), ctx.asarray(yr), ALPHA)
            up = np.asarray(to_numpy(up), dtype=float)
            down = np.asarray(to_numpy(down), dtype=float)
            difference = (up - down) / (2 * step)
            parts[f"K={size}: d amplification / d z_offending"] = checks.compare(
                difference,
                np.full(difference.shape, offending_gradient(ALPHA, size)),
                atol=4e3 * size * UNIT_ROUNDOFF * ALPHA,
                inputs={"z": zr, "y": yr, "offender": offender},
            )
    return checks.combine(parts)


# --------------------------------------------------------------------------- penalty-form


def official_code_penalty(z: np.ndarray, alpha: float) -> np.ndarray:
    """The official code's ``lam * (x.topk(1)[0] - x.mean(-1))`` in NumPy (per row)."""
    return alpha * (np.sort(z, axis=-1)[..., -1] - z.mean(axis=-1))


@claim(
    "maxsup.penalty-form",
    paper=PAPER,
    source="Sec. 3; official code LT/loss/MAXsupLoss.py",
    statement=(
        r"\alpha(z_{\max}-\bar z)\ge0,\ \text{shift invariant},\ =\alpha(z_y-\bar z)\text{ if }"
        r"\arg\max z=y,\ \nabla=\alpha(1-1/K)\text{ at }\arg\max,\ -\alpha/K\text{ elsewhere}"
    ),
    method="numeric",
    provenance="confirmed",
    controls=[
        Control(
            "equals-ls-penalty",
            r"the MaxSup penalty equals the LS penalty \alpha(z_y-\bar z) for every z",
            {"penalty": ls_penalty},
        )
    ],
)
def penalty_form(ctx: Context, penalty: Penalty = maxsup_penalty) -> Evidence:
    r"""The penalty on the backend against the official code's formula and its properties.

    Parts, on random logits (K up to 1000, scales 1e-2 to 1e3): equality with the
    official code's formula in NumPy; non-negativity up to the rounding of the mean
    (atol 4 K u alpha (1+M): a computed mean of equal entries may exceed them);
    invariance to :math:`z\mapsto z+c\mathbf 1` (atol with M + |c|); coincidence with
    :func:`ls_penalty` on correctly classified rows; for K <= 20, central differences
    in every coordinate equal :math:`\alpha(1-1/K)` at the arg-max and
    :math:`-\alpha/K` elsewhere, for the label y and for another label (independent
    of y). Rows whose top two logits are within 2h of each other are left out of the
    gradient part (ties excluded); elsewhere the penalty is linear within h, so
    the difference errs only by rounding, :math:`4Ku\alpha(1+M)/h`, with
    :math:`h=10^{-3}(1+M)`.
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for size in ctx.pick((2, 5, 20, 1000), (2, 3, 5, 10, 20, 100, 1000)):
        count = ctx.pick(max(20, 20_000 // size), max(200, 200_000 // size))
        z, y = random_logits(rng, count, size)
        inputs = {"z": z, "y": y}
        tol = _sum_tolerance(z, ALPHA)
        value = _on_backend(ctx, penalty, z, y, alpha=ALPHA)
        parts[f"K={size}: = official code"] = checks.compare(
            value, official_code_penalty(z, ALPHA), atol=tol, inputs=inputs
        )
        parts[f"K={size}: >= 0"] = checks.nonnegative(value + tol, inputs=inputs)
        shift = 10.0 ** rng.uniform(-2, 3, count) * rng.choice([-1.0, 1.0], count)
        shifted = _on_backend(ctx, penalty, z + shift[:, None], y, alpha=ALPHA)
        shift_tol = tol + _sum_tolerance(z + shift[:, None], ALPHA)
        parts[f"K={size}: shift invariant"] = checks.compare(
            shifted, value, atol=shift_tol, inputs={**inputs, "shift": shift}
        )
        correct = np.argmax(z, axis=1) == y
        ls_value = _on_backend(ctx, ls_penalty, z[correct], y[correct], alpha=ALPHA)
        parts[f"K={size}: = LS penalty when argmax z = y"] = checks.compare(
            value[correct], ls_value, atol=tol[correct], inputs={"z": z[correct]}
        )
        if size > 20:
            continue
        ordered = np.sort(z, axis=1)
        step = 1e-3 * (1 + np.max(np.abs(z), axis=1))
        clear = ordered[:, -1] - ordered[:, -2] > 2 * step
        zc, yc, hc = z[clear], y[clear], step[clear]
        other = (yc + 1 + rng.integers(0, size - 1, yc.shape[0])) % size
        expected = np.where(
            np.eye(size)[np.argmax(zc, axis=1)] > 0, ALPHA * (1 - 1 / size), -ALPHA / size
        )
        for name, labels in (("y", yc), ("another label", other)):
            bump = hc[:, None, None] * np.eye(size)[None]
            points = np.concatenate([zc[:, None, :] + bump, zc[:, None, :] - bump])
            repeated = np.concatenate([labels, labels])[:, None].repeat(size, axis=1)
            values = _on_backend(ctx, penalty, points, repeated, alpha=ALPHA)
            half = zc.shape[0]
            gradient = (values[:half] - values[half:]) / (2 * hc[:, None])
            parts[f"K={size}: gradient ({name})"] = checks.compare(
                gradient,
                expected,
                atol=4e3 * size * UNIT_ROUNDOFF * ALPHA,
                inputs={"z": zc, "label": labels},
            )
    return checks.combine(parts)


__all__ = [
    "PAPER",
    "cross_entropy",
    "label_smoothing_loss",
    "ls_penalty",
    "ls_penalty_split",
    "maxsup_loss",
    "maxsup_penalty",
    "random_logits",
]
