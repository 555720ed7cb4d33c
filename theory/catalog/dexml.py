r"""Multi-label contrastive losses (Gupta et al., *Dual-Encoders for Extreme Multi-Label
Classification* (DEXML), ICLR 2024, arXiv 2310.10636), Sec. 3.

Scores s over labels, positives P (:math:`m=|P|\ge2`), negatives N. Claims of
``shared/claims/catalog.md`` §30:

- ``dexml.multilabel-softmax-floor``:
  :math:`L_{MLS}=-\sum_{l\in P}\log\frac{e^{s_l}}{\sum_{j\in P\cup N}e^{s_j}}\ge m\log m`
  (AM–GM with :math:`\sum_{l\in P}p_l\le1`), approached iff the positives are equal and
  the negative mass vanishes;
- ``dexml.decoupled-infimum``:
  :math:`L_{DS}=-\sum_{l\in P}\log\frac{e^{s_l}}{e^{s_l}+\sum_{j\in N}e^{s_j}}` has infimum 0,
  approached as :math:`\min_Ps-\max_Ns\to\infty` whatever the positive scores, and the
  l-th term does not depend on the other positives.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theorycheck import checks, validate
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "dexml"
"""Key of the paper in the seed catalog."""

EPS = float(np.finfo(np.float64).eps)


def _scores(s: Any, positive: Any, func: str) -> tuple[Any, Any]:
    s, xp = validate.real_floating(s, "s", func=func)
    validate.axis(s, -1, "s", func=func)
    validate.finite(s, "s", func=func, xp=xp)
    if tuple(positive.shape) != tuple(s.shape[-1:]) or positive.dtype != xp.bool:
        raise ValueError(
            f"{func}: positive must be a boolean mask of shape {tuple(s.shape[-1:])}, "
            f"got {positive.dtype} {tuple(positive.shape)}"
        )
    m = int(xp.sum(xp.astype(positive, xp.int64)))
    if m < 1 or m == s.shape[-1]:
        raise ValueError(f"{func}: need at least one positive and one negative, got m = {m}")
    return xp, xp.astype(positive, s.dtype)


def _logsumexp(x: Any, xp: Any, where: Any) -> Any:
    """log sum exp over the last axis of the entries where ``where`` is 1."""
    masked = xp.where(where > 0, x, -xp.inf)
    top = xp.max(masked, axis=-1, keepdims=True)
    return top[..., 0] + xp.log(xp.sum(xp.exp(masked - top), axis=-1))


def multilabel_softmax_loss(s: Any, positive: Any) -> Any:
    r""":math:`L_{MLS}=\sum_{l\in P}(\mathrm{LSE}_{P\cup N}(s)-s_l)`.

    Parameters
    ----------
    s : array, shape (..., L)
        Scores.
    positive : bool array, shape (L,)
        The positive labels (at least one positive and one negative).
    """
    xp, mask = _scores(s, positive, "multilabel_softmax_loss")
    lse = _logsumexp(s, xp, xp.ones_like(mask))
    return xp.sum(mask * (lse[..., None] - s), axis=-1)


def decoupled_softmax_terms(s: Any, positive: Any) -> Any:
    r"""Per-label terms :math:`\ell_l=\log(1+\sum_{j\in N}e^{s_j-s_l})` (0 for negatives).

    Parameters
    ----------
    s : array, shape (..., L)
        Scores.
    positive : bool array, shape (L,)
        The positive labels (at least one positive and one negative).

    Returns
    -------
    array, shape (..., L)
    """
    xp, mask = _scores(s, positive, "decoupled_softmax_terms")
    lse_neg = _logsumexp(s, xp, 1 - mask)  # (...)
    return mask * xp.log1p(xp.exp(lse_neg[..., None] - s))


def decoupled_softmax_loss(s: Any, positive: Any) -> Any:
    r""":math:`L_{DS}=\sum_{l\in P}\ell_l`, see :func:`decoupled_softmax_terms`."""
    terms = decoupled_softmax_terms(s, positive)
    return array_namespace(terms).sum(terms, axis=-1)


def _mls_gradient(s: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Analytic gradient of L_MLS: m softmax(s) - 1_P (NumPy, for the descent check)."""
    z = s - s.max(axis=-1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    return mask.sum() * p - mask


@claim(
    "dexml.multilabel-softmax-floor",
    paper=PAPER,
    source="Sec. 3 (multi-label softmax loss)",
    statement=(
        r"L_{MLS}=-\sum_{l\in P}\log\frac{e^{s_l}}{\sum_{j\in P\cup N}e^{s_j}}\ge m\log m,"
        r"\ \inf L_{MLS}=m\log m"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[Control("infimum-zero", r"\inf L_{MLS}=0", {"floor": "zero"})],
)
def multilabel_softmax_floor(ctx: Context, floor: str = "m log m") -> Evidence:
    r"""L = 12 labels, m in {2, 3, 5}; the candidate floor F(m) (``"m log m"`` or ``"zero"``).

    Parts: :math:`L_{MLS}\ge F(m)` on random scores (slack tolerance 1e-12: a sum of m
    log-sum-exps of O(10) values); :math:`F` is approached: at :math:`s_P=0,s_N=-40`,
    :math:`L_{MLS}-F(m)\le m|N|e^{-40}+10^{-12}`; gradient descent (step 0.5, 2000 steps)
    from random scores drives the positive spread below 1e-6.
    """
    floors = {"m log m": lambda m: m * math.log(m), "zero": lambda m: 0.0}
    if floor not in floors:
        raise ValueError(f"floor must be one of {sorted(floors)}, got {floor!r}")
    rng = ctx.rng(0)
    labels, count = 12, ctx.pick(200, 2000)
    parts: dict[str, Evidence] = {}
    for m in (2, 3, 5):
        mask = np.arange(labels) < m
        pos = ctx.asarray(mask)
        target = floors[floor](m)
        s = rng.uniform(-10, 10, (count, labels))
        loss = to_numpy(multilabel_softmax_loss(ctx.asarray(s), pos))
        parts[f"m={m}: L >= F(m)"] = checks.nonnegative(loss - target, tol=1e-12, inputs={"s": s})
        near = np.where(mask, 0.0, -40.0)
        gap = float(to_numpy(multilabel_softmax_loss(ctx.asarray(near), pos))) - target
        allowed = m * (labels - m) * math.exp(-40) + 1e-12
        parts[f"m={m}: F(m) approached"] = checks.nonnegative(np.array([allowed - abs(gap)]))
        start = rng.uniform(-3, 3, (20, labels))
        x = start.copy()
        for _ in range(2000):
            x = x - 0.5 * _mls_gradient(x, mask.astype(float))
        spread = np.ptp(x[:, mask], axis=1)
        parts[f"m={m}: descent equalises positives"] = checks.nonnegative(1e-6 - spread)
    return checks.combine(parts)


@claim(
    "dexml.decoupled-infimum",
    paper=PAPER,
    source="Sec. 3 (decoupled softmax loss)",
    statement=(
        r"L_{DS}=-\sum_{l\in P}\log\frac{e^{s_l}}{e^{s_l}+\sum_{j\in N}e^{s_j}}:\ \inf L_{DS}=0"
        r"\ \text{as}\ \min_Ps-\max_Ns\to\infty,\ "
        r"\partial\ell_l/\partial s_k=0\ (k\in P\setminus l)"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "penalises-unequal-positives",
            r"L_{DS}(s)\ge0.01\,(\max_Ps-\min_Ps)",
            {"spread_penalty": 0.01},
        )
    ],
)
def decoupled_infimum(ctx: Context, spread_penalty: float = 0.0) -> Evidence:
    r"""L = 12 labels, m = 4 positives with random unequal scores (spread up to 10).

    Parts: :math:`L_{DS}\ge c\,\mathrm{spread}(s_P)` (c = ``spread_penalty``; 0 is the
    claim, i.e. no penalty on unequal positives) on random scores and on scores with
    gap :math:`g=\min_Ps-\max_Ns\in\{5,10,20,40\}`; the limit:
    :math:`L_{DS}\le m|N|e^{-g}(1+10^{-12})` at each gap; the decoupling: central
    differences (h = 1e-3) of the l-th term in every other positive score are exactly
    0 (the term does not read them; a coupled term would give O(h^0) values).
    """
    rng = ctx.rng(0)
    labels, m, count = 12, 4, ctx.pick(200, 2000)
    mask = np.arange(labels) < m
    pos = ctx.asarray(mask)
    parts: dict[str, Evidence] = {}
    s = rng.uniform(-10, 10, (count, labels))
    for gap in (None, 5.0, 10.0, 20.0, 40.0):
        if gap is not None:
            s = np.where(
                mask, rng.uniform(0, 10, (count, labels)), rng.uniform(-5, 0, (count, labels))
            )
            s = np.where(
                mask,
                s - s[:, :m].min(axis=1, keepdims=True) + gap + s[:, m:].max(axis=1, keepdims=True),
                s,
            )
        loss = to_numpy(decoupled_softmax_loss(ctx.asarray(s), pos))
        spread = np.ptp(s[:, :m], axis=1)
        label = "random" if gap is None else f"gap={gap:g}"
        parts[f"{label}: L >= c spread"] = checks.nonnegative(
            loss - spread_penalty * spread, tol=1e-12, inputs={"s": s}
        )
        if gap is not None:
            bound = m * (labels - m) * math.exp(-gap) * (1 + 1e-12)
            parts[f"{label}: L <= m|N|e^-g"] = checks.nonnegative(bound - loss, inputs={"s": s})
    h = 1e-3
    cross = []
    s = rng.uniform(-10, 10, (count, labels))  # random scores, where any coupling shows
    for k in range(m):
        plus, minus = s.copy(), s.copy()
        plus[:, k] += h
        minus[:, k] -= h
        f_plus = to_numpy(decoupled_softmax_terms(ctx.asarray(plus), pos))
        f_minus = to_numpy(decoupled_softmax_terms(ctx.asarray(minus), pos))
        others = [l_idx for l_idx in range(m) if l_idx != k]
        cross.append((f_plus[:, others] - f_minus[:, others]) / (2 * h))
    parts["zero cross-gradients"] = checks.compare(np.stack(cross, axis=1), 0.0, atol=0.0)
    return checks.combine(parts)
