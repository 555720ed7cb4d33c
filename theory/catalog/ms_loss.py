r"""Multi-similarity loss (Wang et al., *Multi-Similarity Loss with General Pair Weighting
for Deep Metric Learning*, CVPR 2019).

A batch of m samples with labels :math:`y` and a similarity matrix S; for anchor i,
:math:`P_i=\{k\ne i: y_k=y_i\}` and :math:`N_i=\{k: y_k\ne y_i\}`:

.. math::

    L_{MS} = \frac1m\sum_i\Big\{\frac1\alpha
             \log\Big[1+\sum_{k\in P_i}e^{-\alpha(S_{ik}-\lambda)}\Big]
             + \frac1\beta\log\Big[1+\sum_{k\in N_i}e^{\beta(S_{ik}-\lambda)}\Big]\Big\},

with the general-pair-weighting weights

.. math::

    w^-_{ij} = \frac1{e^{\beta(\lambda-S_{ij})}+\sum_{k\in N_i}e^{\beta(S_{ik}-S_{ij})}},\qquad
    w^+_{ij} = \frac1{e^{-\alpha(\lambda-S_{ij})}+\sum_{k\in P_i}e^{-\alpha(S_{ik}-S_{ij})}},

:math:`m\,\partial L/\partial S_{ij}=w^-_{ij}` (j in N_i) and :math:`-w^+_{ij}` (j in P_i),
and the mining rule: a negative pair is kept iff :math:`S_{ij}>\min_{k\in P_i}S_{ik}-\epsilon`,
a positive pair iff :math:`S_{ij}<\max_{k\in N_i}S_{ik}+\epsilon`. The paper's defaults
(to be confirmed) are :math:`\alpha=2`, :math:`\beta=50`, :math:`\lambda=0.5`. Module
name ``ms_loss``; claim ids ``ms_loss.*`` (spec prefix ``ms-loss``).
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

PAPER = "ms-loss"
"""Key of the paper in the seed catalog."""

UNIT_ROUNDOFF = 2.0**-53
ALPHA, BETA, LAMBDA = 2.0, 50.0, 0.5
"""The paper's defaults (to be confirmed), used by the checks."""


# --------------------------------------------------------------------------- math objects


def _batch(similarity: Any, labels: Any, func: str) -> tuple[Any, Any, Any]:
    """Validate S (..., m, m) and labels (m,); return (xp, positive mask, negative mask)."""
    similarity, xp = validate.real_floating(similarity, "S", func=func)
    validate.finite(similarity, "S", func=func, xp=xp)
    if similarity.ndim < 2 or similarity.shape[-1] != similarity.shape[-2]:
        raise ValueError(
            f"{func}: S must be square (..., m, m), got shape {tuple(similarity.shape)}"
        )
    size = similarity.shape[-1]
    if not xp.isdtype(getattr(labels, "dtype", xp.float64), "integral"):
        raise ValueError(f"{func}: labels must be an integer array, got {type(labels).__name__}")
    if tuple(labels.shape) != (size,):
        raise ValueError(f"{func}: labels must have shape ({size},), got {tuple(labels.shape)}")
    same = labels[:, None] == labels[None, :]
    off_diagonal = xp.logical_not(xp.eye(size, dtype=xp.bool))
    return xp, xp.logical_and(same, off_diagonal), xp.logical_not(same)


def _hyper(alpha: float, beta: float, lam: float, func: str) -> None:
    for name, value in (("alpha", alpha), ("beta", beta)):
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not 0 < value < math.inf
        ):
            raise ValueError(f"{func}: {name} must be a finite number > 0, got {value!r}")
    if not isinstance(lam, int | float) or isinstance(lam, bool) or not math.isfinite(lam):
        raise ValueError(f"{func}: lam must be a finite number, got {lam!r}")


def _log_one_plus_sum_exp(x: Any, mask: Any, xp: Any) -> Any:
    r""":math:`\log(1+\sum_{k:\,\mathrm{mask}}e^{x_k})` per row, stable, 0 for an empty mask."""
    top = xp.max(xp.where(mask, x, xp.zeros_like(x)), axis=-1, keepdims=True)
    top = xp.clip(top, min=0.0)
    terms = xp.where(mask, xp.exp(x - top), xp.zeros_like(x))
    return top[..., 0] + xp.log(xp.exp(-top[..., 0]) + xp.sum(terms, axis=-1))


def multi_similarity_loss(
    similarity: Any,
    labels: Any,
    alpha: float = ALPHA,
    beta: float = BETA,
    lam: float = LAMBDA,
    keep: tuple[Any, Any] | None = None,
) -> Any:
    r"""The MS loss :math:`L_{MS}` of a batch (mean over the m anchors).

    Parameters
    ----------
    similarity : array, shape (..., m, m)
        :math:`S_{ik}`, row i for anchor i (not required to be symmetric); leading axes
        are independent batches with the same labels.
    labels : array of int, shape (m,)
    alpha, beta : float
        Positive and negative scales, > 0.
    lam : float
        The margin :math:`\lambda`.
    keep : (array, array) of bool, shape (m, m), optional
        Masks of the mined positive and negative pairs (default: all pairs).

    Returns
    -------
    array, shape (...)
    """
    xp, positive, negative = _batch(similarity, labels, "multi_similarity_loss")
    _hyper(alpha, beta, lam, "multi_similarity_loss")
    if keep is not None:
        positive = xp.logical_and(positive, keep[0])
        negative = xp.logical_and(negative, keep[1])
    pos = _log_one_plus_sum_exp(-alpha * (similarity - lam), positive, xp) / alpha
    neg = _log_one_plus_sum_exp(beta * (similarity - lam), negative, xp) / beta
    return xp.mean(pos + neg, axis=-1)


def multi_similarity_weights(
    similarity: Any, labels: Any, alpha: float = ALPHA, beta: float = BETA, lam: float = LAMBDA
) -> tuple[Any, Any]:
    r"""The weights :math:`w^+_{ij}` (j in P_i) and :math:`w^-_{ij}` (j in N_i); 0 elsewhere.

    Evaluated as
    :math:`w^-_{ij}=e^{\beta(S_{ij}-\lambda)}/(1+\sum_{k\in N_i}e^{\beta(S_{ik}-\lambda)})`
    (the same fraction multiplied through by :math:`e^{\beta(S_{ij}-\lambda)}`), shifted
    for stability; likewise :math:`w^+`.
    """
    xp, positive, negative = _batch(similarity, labels, "multi_similarity_weights")
    _hyper(alpha, beta, lam, "multi_similarity_weights")

    def softmax_with_one(x: Any, mask: Any) -> Any:
        top = xp.clip(xp.max(xp.where(mask, x, xp.zeros_like(x)), axis=-1, keepdims=True), min=0.0)
        terms = xp.where(mask, xp.exp(x - top), xp.zeros_like(x))
        return terms / (xp.exp(-top) + xp.sum(terms, axis=-1, keepdims=True))

    return (
        softmax_with_one(-alpha * (similarity - lam), positive),
        softmax_with_one(beta * (similarity - lam), negative),
    )


def ms_mining_masks(similarity: Any, labels: Any, epsilon: float) -> tuple[Any, Any]:
    r"""The mining rule of the pairs.

    Keep :math:`S^-_{ij}>\min_{P_i}S-\epsilon` and :math:`S^+_{ij}<\max_{N_i}S+\epsilon`.

    Parameters
    ----------
    similarity : array, shape (m, m)
    labels : array of int, shape (m,)
    epsilon : float
        Mining margin, >= 0; ``inf`` (the limit) keeps every pair. An anchor without a
        positive (negative) pair keeps no negative (positive) pair for finite epsilon:
        the minimum (maximum) over an empty set is +inf (-inf).

    Returns
    -------
    keep_positive, keep_negative : arrays of bool, shape (m, m)
    """
    xp, positive, negative = _batch(similarity, labels, "ms_mining_masks")
    if not isinstance(epsilon, int | float) or isinstance(epsilon, bool) or not epsilon >= 0:
        raise ValueError(f"ms_mining_masks: epsilon must be a number >= 0, got {epsilon!r}")
    if epsilon == math.inf:
        return positive, negative
    hardest_positive = xp.min(xp.where(positive, similarity, xp.inf), axis=-1, keepdims=True)
    hardest_negative = xp.max(xp.where(negative, similarity, -xp.inf), axis=-1, keepdims=True)
    keep_negative = xp.logical_and(negative, similarity > hardest_positive - epsilon)
    keep_positive = xp.logical_and(positive, similarity < hardest_negative + epsilon)
    return keep_positive, keep_negative


# --------------------------------------------------------------------------- instances


def random_batch(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Similarities uniform in [-1, 1] and two or three classes, every class twice where
    m allows (m = 3: labels (0, 0, 1), so one anchor has no positive pair)."""
    classes = 2 if size < 6 else 3
    extra = rng.integers(0, classes, max(0, size - 2 * classes))
    labels = np.concatenate([np.repeat(np.arange(classes), 2), extra])[:size]
    rng.shuffle(labels)
    return rng.uniform(-1, 1, (size, size)), labels


# --------------------------------------------------------------------------- gpw-weights

Weights = Callable[[np.ndarray, np.ndarray, float, float, float], tuple[np.ndarray, np.ndarray]]


def paper_weights(
    s: np.ndarray, labels: np.ndarray, alpha: float, beta: float, lam: float
) -> tuple[np.ndarray, np.ndarray]:
    r"""The paper's :math:`w^+`, :math:`w^-` as written (NumPy, exponents of differences)."""
    same = labels[:, None] == labels[None, :]
    positive = same & ~np.eye(len(labels), dtype=bool)
    negative = ~same
    plus = np.zeros_like(s)
    minus = np.zeros_like(s)
    for i in range(len(labels)):
        for j in np.flatnonzero(positive[i]):
            plus[i, j] = 1 / (
                np.exp(-alpha * (lam - s[i, j]))
                + np.exp(-alpha * (s[i, positive[i]] - s[i, j])).sum()
            )
        for j in np.flatnonzero(negative[i]):
            minus[i, j] = 1 / (
                np.exp(beta * (lam - s[i, j])) + np.exp(beta * (s[i, negative[i]] - s[i, j])).sum()
            )
    return plus, minus


def swapped_scale_weights(
    s: np.ndarray, labels: np.ndarray, alpha: float, beta: float, lam: float
) -> tuple[np.ndarray, np.ndarray]:
    r"""Control: alpha and beta swapped in the weights."""
    return paper_weights(s, labels, beta, alpha, lam)


def weights_without_margin_term(
    s: np.ndarray, labels: np.ndarray, alpha: float, beta: float, lam: float
) -> tuple[np.ndarray, np.ndarray]:
    r"""Control: the :math:`e^{\beta(\lambda-S_{ij})}` term dropped.

    :math:`w^-_{ij}=1/\sum_{k\in N_i}e^{\beta(S_{ik}-S_{ij})}`.
    """
    plus, _ = paper_weights(s, labels, alpha, beta, lam)
    same = labels[:, None] == labels[None, :]
    minus = np.zeros_like(s)
    for i in range(len(labels)):
        row = s[i, ~same[i]]
        for j in np.flatnonzero(~same[i]):
            minus[i, j] = 1 / np.exp(beta * (row - s[i, j])).sum()
    return plus, minus


FD_STEP = 1e-6
WEIGHT_RTOL = 16 * UNIT_ROUNDOFF * (1 + max(ALPHA, BETA) * (2 + abs(LAMBDA)))
r"""Relative tolerance between two evaluations of a weight: an exponent
:math:`eta x` with :math:`|x|\le2+|\lambda|` is formed with relative error ~u, so the
exponential errs relatively by :math:`ueta|x|`; a factor 16 covers the sums and the
division (2.2e-13 at beta = 50)."""


@claim(
    "ms_loss.gpw-weights",
    paper=PAPER,
    source="Sec. 3-4 (the equations for w+ and w-)",
    statement=(
        r"m\frac{\partial L_{MS}}{\partial S_{ij}}=\begin{cases}w^-_{ij}"
        r"=\big(e^{\beta(\lambda-S_{ij})}"
        r"+\sum_{k\in N_i}e^{\beta(S_{ik}-S_{ij})}\big)^{-1},&j\in N_i\\-w^+_{ij}=-\big(e^{-\alpha"
        r"(\lambda-S_{ij})}+\sum_{k\in P_i}e^{-\alpha(S_{ik}-S_{ij})}\big)^{-1},"
        r"&j\in P_i\end{cases}"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    notes=(
        "alpha = 2, beta = 50, lambda = 0.5 are the paper's defaults as stated in the "
        "spec (to be confirmed)."
    ),
    controls=[
        Control(
            "swap-alpha-beta",
            r"\alpha and \beta swapped in w^\pm",
            {"weights": swapped_scale_weights},
        ),
        Control(
            "no-margin-term",
            r"w^-_{ij}=1/\sum_{k\in N_i}e^{\beta(S_{ik}-S_{ij})}",
            {"weights": weights_without_margin_term},
        ),
    ],
)
def gpw_weights(ctx: Context, weights: Weights = paper_weights) -> Evidence:
    r"""Central differences of the backend's loss against the candidate weights.

    Random batches, m = 3..6, S uniform in [-1, 1], every entry :math:`S_{ij}` (i != j
    and the diagonal, whose derivative is 0) perturbed by :math:`\pm h`,
    :math:`h=10^{-6}`. Also the backend's :func:`multi_similarity_weights` against the
    candidate (rtol :data:`WEIGHT_RTOL`). Tolerance of the differences:
    along one coordinate, :math:`mL` is a sum of terms
    :math:`\tfrac1\beta\log(1+\sum e^{\beta x})` whose second derivative is
    :math:`\beta w(1-w)\le\beta/4` (and :math:`\alpha/4`), so a central difference errs
    by at most :math:`h\max(\alpha,\beta)/8`; rounding adds :math:`4u\,m(1+|L|)/h`.
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for size in (3, 4, 5, 6):
        for trial in range(ctx.pick(3, 20)):
            s, labels = random_batch(rng, size)
            plus, minus = weights(s, labels, ALPHA, BETA, LAMBDA)
            claimed = np.where(plus != 0, -plus, minus)
            bumps = FD_STEP * np.eye(size * size).reshape(size * size, size, size)
            points = np.concatenate([s + bumps, s - bumps])
            lb = ctx.asarray(labels)
            values = np.asarray(
                to_numpy(multi_similarity_loss(ctx.asarray(points), lb)), dtype=float
            )
            half = size * size
            loss = float(to_numpy(multi_similarity_loss(ctx.asarray(s), lb)))
            derivative = size * (values[:half] - values[half:]).reshape(size, size) / (2 * FD_STEP)
            atol = (
                FD_STEP * max(ALPHA, BETA) / 8
                + 4 * UNIT_ROUNDOFF * size * (1 + abs(loss)) / FD_STEP
            )
            inputs = {"S": s[None], "labels": labels[None]}
            parts[f"m={size} #{trial}: m dL/dS = candidate"] = checks.compare(
                derivative[None], claimed[None], atol=atol, inputs=inputs
            )
            backend_plus, backend_minus = multi_similarity_weights(ctx.asarray(s), lb)
            implemented = np.asarray(to_numpy(backend_minus), dtype=float) - np.asarray(
                to_numpy(backend_plus), dtype=float
            )
            parts[f"m={size} #{trial}: backend weights = candidate"] = checks.compare(
                implemented[None], claimed[None], rtol=WEIGHT_RTOL, inputs=inputs
            )
    return checks.combine(parts)


# --------------------------------------------------------------------------- mining-rule

Mining = Callable[[Any, Any, float], tuple[Any, Any]]


def reversed_mining_masks(similarity: Any, labels: Any, epsilon: float) -> tuple[Any, Any]:
    r"""Control: the reversed inequalities, :math:`S^-_{ij}<\min_{P_i}S-\epsilon` and
    :math:`S^+_{ij}>\max_{N_i}S+\epsilon` (keeps the easy pairs)."""
    xp, positive, negative = _batch(similarity, labels, "reversed_mining_masks")
    hardest_positive = xp.min(xp.where(positive, similarity, xp.inf), axis=-1, keepdims=True)
    hardest_negative = xp.max(xp.where(negative, similarity, -xp.inf), axis=-1, keepdims=True)
    keep_negative = xp.logical_and(negative, similarity < hardest_positive - epsilon)
    keep_positive = xp.logical_and(positive, similarity > hardest_negative + epsilon)
    return keep_positive, keep_negative


@claim(
    "ms_loss.mining-rule",
    paper=PAPER,
    source="Sec. 4 (pair mining)",
    statement=(
        r"\text{keep }S^-_{ij}>\min_{y_k=y_i}S_{ik}-\epsilon,\ S^+_{ij}<\max_{y_k\ne y_i}S_{ik}"
        r"+\epsilon:\ \epsilon\to\infty\text{ keeps all pairs }(L=L_{MS});\ \epsilon=0,\ "
        r"\min S^+>\max S^-\text{ keeps none}"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "reversed-inequality",
            r"keep S^-_{ij}<\min S^+-\epsilon and S^+_{ij}>\max S^-+\epsilon",
            {"mining": reversed_mining_masks},
        )
    ],
)
def mining_rule(ctx: Context, mining: Mining = ms_mining_masks) -> Evidence:
    r"""The two limiting cases of the rule on random batches, on the backend.

    Batches with m in {4, 5, 8, 16} (every anchor has a positive and a negative pair).
    :math:`\epsilon=4` (with :math:`|S|\le1` every :math:`\epsilon>2` is the limit) and
    :math:`\epsilon=\infty`: both masks equal the full positive and negative sets and the
    mined loss equals :math:`L_{MS}` exactly (the same operations on the same entries);
    :math:`\epsilon=0` on separated batches (per anchor, every positive similarity
    above every negative one: positives drawn in [0.6, 1], negatives in [-1, 0.4]):
    no pair is kept. Agreement of boolean masks is exact.
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for size in (4, 5, 8, 16):
        for trial in range(ctx.pick(2, 50)):
            s, labels = random_batch(rng, size)
            same = labels[:, None] == labels[None, :]
            positive = same & ~np.eye(size, dtype=bool)
            negative = ~same
            sb, lb = ctx.asarray(s), ctx.asarray(labels)
            inputs = {"S": s[None], "labels": labels[None]}
            # |S| <= 1, so any epsilon > 2 is already the limit; 4 exercises the inequality
            for epsilon in (4.0, math.inf):
                keep_p, keep_n = mining(sb, lb, epsilon)
                keep_p = np.asarray(to_numpy(keep_p), dtype=bool)
                keep_n = np.asarray(to_numpy(keep_n), dtype=bool)
                parts[f"m={size} #{trial}: eps = {epsilon} keeps every pair"] = checks.agree(
                    np.concatenate([keep_p, keep_n])[None],
                    np.concatenate([positive, negative])[None],
                    inputs=inputs,
                    names=("kept", "all pairs"),
                )
                keep = (ctx.asarray(keep_p), ctx.asarray(keep_n))
                mined = float(to_numpy(multi_similarity_loss(sb, lb, keep=keep)))
                full = float(to_numpy(multi_similarity_loss(sb, lb)))
                parts[f"m={size} #{trial}: eps = {epsilon}, mined loss = L_MS"] = checks.compare(
                    np.array([mined]), np.array([full]), inputs=inputs
                )
            separated = np.where(
                same, rng.uniform(0.6, 1.0, (size, size)), rng.uniform(-1.0, 0.4, (size, size))
            )
            keep_p, keep_n = mining(ctx.asarray(separated), lb, 0.0)
            kept = np.concatenate(
                [np.asarray(to_numpy(keep_p), dtype=bool), np.asarray(to_numpy(keep_n), dtype=bool)]
            )
            parts[f"m={size} #{trial}: eps = 0, separated batch keeps none"] = checks.agree(
                kept[None],
                np.zeros_like(kept)[None],
                inputs={"S": separated[None], "labels": labels[None]},
                names=("kept", "none"),
            )
    return checks.combine(parts)


__all__ = [
    "PAPER",
    "ms_mining_masks",
    "multi_similarity_loss",
    "multi_similarity_weights",
    "random_batch",
]
