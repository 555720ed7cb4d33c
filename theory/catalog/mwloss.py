r"""The MW loss and the area over the ROC curve (*Optimizing What Matters: AUC-Driven
Learning for Robust Neural Retrieval*, 2025).

Scores :math:`s_p` of the positives P and :math:`s_n` of the negatives N,

.. math::
    L_{MW}=\frac1{|P||N|}\sum_{p,n}\log\big(1+e^{-(s_p-s_n)}\big),\qquad
    1-\mathrm{AUC}=\frac1{|P||N|}\sum_{p,n}\mathbb 1[s_p-s_n\le0]

(ties count as errors, the convention under which the bound is stated), and the
per-query InfoNCE :math:`-\log\big(e^{s_{q,0}}/\sum_je^{s_{q,j}}\big)` with the
positive in column 0. Claims ``mwloss.aoc-bound`` and ``mwloss.infonce-shift-blind``
(numeric) are here.
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

PAPER = "mwloss"
"""Key of the paper in the seed catalog."""

UNIT_ROUNDOFF = 2.0**-53


def _pair(s_pos: Any, s_neg: Any, func: str) -> tuple[Any, Any]:
    s_pos, xp = validate.real_floating(s_pos, "s_pos", func=func)
    s_neg, _ = validate.real_floating(s_neg, "s_neg", func=func)
    validate.axis(s_pos, -1, "s_pos", func=func)
    validate.axis(s_neg, -1, "s_neg", func=func)
    if tuple(s_pos.shape[:-1]) != tuple(s_neg.shape[:-1]):
        raise ValueError(
            f"{func}: s_pos and s_neg must share their leading axes, got "
            f"{tuple(s_pos.shape)} and {tuple(s_neg.shape)}"
        )
    validate.finite(s_pos, "s_pos", func=func, xp=xp)
    validate.finite(s_neg, "s_neg", func=func, xp=xp)
    return xp, s_pos[..., :, None] - s_neg[..., None, :]


def mw_loss(s_pos: Any, s_neg: Any) -> Any:
    r"""The MW loss :math:`\frac1{|P||N|}\sum_{p,n}\mathrm{softplus}(-(s_p-s_n))`.

    Parameters
    ----------
    s_pos : array, shape (..., |P|)
        Scores of the positives.
    s_neg : array, shape (..., |N|)
        Scores of the negatives; the leading axes index independent queries.

    Returns
    -------
    array, shape (...)
    """
    xp, margin = _pair(s_pos, s_neg, "mw_loss")
    softplus = xp.clip(-margin, min=0.0) + xp.log1p(xp.exp(-xp.abs(margin)))
    return xp.mean(softplus, axis=(-2, -1))


def area_over_curve(s_pos: Any, s_neg: Any) -> Any:
    r""":math:`1-\mathrm{AUC}`: the fraction of pairs with :math:`s_p\le s_n` (ties are errors).

    Parameters and shapes as :func:`mw_loss`.
    """
    xp, margin = _pair(s_pos, s_neg, "area_over_curve")
    return xp.mean(xp.astype(margin <= 0.0, s_pos.dtype), axis=(-2, -1))


def infonce_loss(scores: Any) -> Any:
    r"""Per-query InfoNCE :math:`\log\sum_je^{s_{q,j}}-s_{q,0}` (positive in column 0).

    Parameters
    ----------
    scores : array, shape (..., C)
        C >= 2 candidate scores per query, the positive first.

    Returns
    -------
    array, shape (...)
    """
    scores, xp = validate.real_floating(scores, "scores", func="infonce_loss")
    validate.axis(scores, -1, "scores", func="infonce_loss")
    validate.finite(scores, "scores", func="infonce_loss", xp=xp)
    if scores.shape[-1] < 2:
        raise ValueError(
            f"infonce_loss: scores needs C >= 2 candidates, got C = {scores.shape[-1]}"
        )
    top = xp.max(scores, axis=-1, keepdims=True)
    shifted = scores - top
    return xp.log(xp.sum(xp.exp(shifted), axis=-1)) - shifted[..., 0]


def global_auc(scores: Any) -> Any:
    r"""The global AUC of a batch of queries: every positive against every negative.

    Parameters
    ----------
    scores : array, shape (..., Q, C)
        Q queries, positive in column 0; the positives :math:`s_{q,0}` of all queries
        are ranked against the negatives :math:`s_{q',j}`, j >= 1, of all queries.

    Returns
    -------
    array, shape (...)
        :math:`\mathrm{AUC}=1-(1-\mathrm{AUC})` with ties counted as errors.
    """
    scores, xp = validate.real_floating(scores, "scores", func="global_auc")
    if scores.ndim < 2 or scores.shape[-1] < 2:
        raise ValueError(
            f"global_auc: scores must have shape (..., Q, C) with C >= 2, got {tuple(scores.shape)}"
        )
    lead = tuple(scores.shape[:-2])
    q, c = scores.shape[-2], scores.shape[-1]
    positives = scores[..., 0]
    negatives = xp.reshape(scores[..., 1:], (*lead, q * (c - 1)))
    return 1.0 - area_over_curve(positives, negatives)


def _on(ctx: Context, fn: Callable[..., Any], *arrays: np.ndarray) -> np.ndarray:
    return np.asarray(to_numpy(fn(*(ctx.asarray(a) for a in arrays))), dtype=float)


# --------------------------------------------------------------------------- aoc-bound


@claim(
    "mwloss.aoc-bound",
    paper=PAPER,
    source="Sec. 3 (AUC surrogate); constant derived",
    statement=(
        r"L_{MW}=\tfrac1{|P||N|}\sum_{p,n}\log(1+e^{-(s_p-s_n)}),\ "
        r"1-\mathrm{AUC}\le L_{MW}/\ln2"
    ),
    method="numeric",
    provenance="derived",
    notes=(
        "The paper's exact constant is not confirmed; 1/ln 2 follows from "
        "1[u<=0] <= log2(1+e^-u)."
    ),
    controls=[
        Control(
            "constant-one",
            r"1-\mathrm{AUC}\le L_{MW} (fails with ties: AoC = 1 > \ln 2)",
            {"constant": 1.0},
        )
    ],
)
def aoc_bound(ctx: Context, constant: float = 1 / math.log(2)) -> Evidence:
    r"""The backend's :math:`1-\mathrm{AUC}` against constant times its :math:`L_{MW}`.

    Instances: continuous scores (N(0, 2)), coarse integer scores in {0, 1, 2} (many
    ties) and all-tied queries, with |P| = 1..8 and |N| = 1..12 (padded groups are
    run per shape). The AoC is a mean of 0/1 values (relative error <= u), the MW
    loss a mean of softplus values (relative error <= 8u); tol
    :math:`8u(1+\text{constant}\cdot L_{MW})`.
    """
    rng = ctx.rng(0)
    per_shape = ctx.pick(40, 400)
    slack, losses, aocs, kinds = [], [], [], []
    for n_pos, n_neg in ((1, 1), (1, 7), (3, 5), (8, 12)):
        for kind in ("continuous", "coarse", "tied"):
            if kind == "continuous":
                s_pos = rng.normal(0, 2, (per_shape, n_pos))
                s_neg = rng.normal(0, 2, (per_shape, n_neg))
            elif kind == "coarse":
                s_pos = rng.integers(0, 3, (per_shape, n_pos)).astype(float)
                s_neg = rng.integers(0, 3, (per_shape, n_neg)).astype(float)
            else:
                level = rng.normal(size=(per_shape, 1))
                s_pos, s_neg = np.repeat(level, n_pos, 1), np.repeat(level, n_neg, 1)
            loss = _on(ctx, mw_loss, s_pos, s_neg)
            aoc = _on(ctx, area_over_curve, s_pos, s_neg)
            tol = 8 * UNIT_ROUNDOFF * (1 + constant * loss)
            slack.append(constant * loss - aoc + tol)
            losses.append(loss)
            aocs.append(aoc)
            kinds.append(np.full(per_shape, f"{kind} |P|={n_pos} |N|={n_neg}"))
    inputs = {
        "L_MW": np.concatenate(losses),
        "AoC": np.concatenate(aocs),
        "kind": np.concatenate(kinds),
    }
    evidence = checks.nonnegative(np.concatenate(slack), inputs=inputs)
    evidence.details["max AoC / L_MW"] = float(np.max(inputs["AoC"] / inputs["L_MW"]))
    return evidence


# ------------------------------------------------------------------ infonce-shift-blind


@claim(
    "mwloss.infonce-shift-blind",
    paper=PAPER,
    source="Sec. 3 (motivation: InfoNCE ignores cross-query calibration)",
    statement=(
        r"\mathrm{InfoNCE}_q(s_q+c_q\mathbf 1)=\mathrm{InfoNCE}_q(s_q)\ \forall c_q,"
        r"\ \text{while the global AUC over queries changes}"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "global-auc-invariant",
            r"the global AUC is also invariant to per-query shifts",
            {"invariant": "global_auc"},
        ),
        Control(
            "infonce-sees-shift",
            r"per-query InfoNCE changes under a per-query shift",
            {"sensitive": "infonce"},
        ),
    ],
)
def infonce_shift_blind(
    ctx: Context, invariant: str = "infonce", sensitive: str = "global_auc"
) -> Evidence:
    r"""A metric claimed invariant is unchanged by per-query shifts; one claimed
    sensitive changes under some shift.

    Two queries with C = 6 candidates (N(0,1) scores, positive first); shifts
    :math:`c=(0,t)` with :math:`t\sim U(-20,20)` and the reordering shifts
    :math:`t=\pm(\max s-\min s+1)`, which put all of query 2 above (below) query 1.
    Invariance: per-query InfoNCE (a log-sum-exp after subtracting the row maximum)
    differs after the shift by the rounding of :math:`s+c`, at most
    :math:`16u(\max|s|+|c|)` plus :math:`8u` of the result; for a per-query vector
    the comparison is per query, for the global AUC exact (a count). Sensitivity:
    for each instance, some shift between consecutive breakpoints of the cross-query
    order (where :math:`s_{1,0}-s_{2,j}` or :math:`s_{1,j}-s_{2,0}` equals t) changes the
    metric by more than that tolerance (for the global AUC, by at least
    :math:`1/(Q\cdot Q(C-1))`).
    """
    metrics = {"infonce": infonce_loss, "global_auc": global_auc}
    rng = ctx.rng(0)
    count, q, c = ctx.pick(300, 3000), 2, 6
    scores = rng.normal(size=(count, q, c))
    spread = scores.max(axis=(1, 2)) - scores.min(axis=(1, 2)) + 1
    shifts = [rng.uniform(-20, 20, count), spread, -spread]

    def shifted(t: np.ndarray) -> np.ndarray:
        return scores + np.stack([np.zeros(count), t], axis=1)[:, :, None]

    def evaluate(name: str, s: np.ndarray) -> np.ndarray:
        return _on(ctx, metrics[name], s).reshape(count, -1)

    base = evaluate(invariant, scores)
    parts = {}
    for label, t in zip(("random", "up", "down"), shifts, strict=True):
        tol = 16 * UNIT_ROUNDOFF * (np.abs(scores).max(axis=(1, 2)) + np.abs(t))[
            :, None
        ] + 8 * UNIT_ROUNDOFF * np.abs(base)
        parts[f"{invariant} unchanged by shift ({label})"] = checks.compare(
            evaluate(invariant, shifted(t)), base, atol=tol, inputs={"scores": scores, "shift": t}
        )
    base = evaluate(sensitive, scores)
    # the cross-query order changes only where s_{1,0} - s_{2,j} or s_{1,j} - s_{2,0}
    # crosses t: try the midpoints between consecutive such breakpoints and beyond them
    breaks = np.sort(
        np.concatenate(
            [scores[:, 0, :1] - scores[:, 1, 1:], scores[:, 0, 1:] - scores[:, 1, :1]], 1
        ),
        axis=1,
    )
    trials = np.concatenate(
        [breaks[:, :1] - 1, 0.5 * (breaks[:, 1:] + breaks[:, :-1]), breaks[:, -1:] + 1], axis=1
    )
    change = np.full(count, -np.inf)
    for column in range(trials.shape[1]):
        t = trials[:, column]
        tol = 16 * UNIT_ROUNDOFF * (np.abs(scores).max(axis=(1, 2)) + np.abs(t))[
            :, None
        ] + 8 * UNIT_ROUNDOFF * np.abs(base)
        moved = np.max(np.abs(evaluate(sensitive, shifted(t)) - base) - tol, axis=1)
        change = np.maximum(change, moved)
    parts[f"{sensitive} changed by some shift"] = checks.nonnegative(
        np.where(change > 0, change, -1.0), inputs={"scores": scores}
    )
    return checks.combine(parts)


__all__ = ["PAPER", "area_over_curve", "global_auc", "infonce_loss", "mw_loss"]
