r"""Contrastive losses whose generalisation bounds do not grow with k (Lei, Yang, Ying &
Zhou, *Generalization Analysis for Contrastive Representation Learning*, ICML 2023).

With :math:`v_i=f(x)^\top(f(x^+)-f(x_i^-))`, i = 1..k,

.. math::
    \ell_{log}(v)=\log\Big(1+\sum_{i=1}^ke^{-v_i}\Big),\qquad
    \ell_{hinge}(v)=\max\{0,1+\max_i(-v_i)\},

both 1-Lipschitz in :math:`\|\cdot\|_\infty` (for the logistic loss
:math:`\|\nabla\ell\|_1=s/(1+s)<1`, :math:`s=\sum_ie^{-v_i}`). Claim
``contrastive_k.linf-lipschitz`` (numeric) is here; ``contrastive_k.self-bounding``
(certified) is in :mod:`proofs_check.catalog.contrastive_k`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from theorycheck import checks, validate
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "contrastive-k"
"""Key of the paper in the seed catalog."""

UNIT_ROUNDOFF = 2.0**-53


def _margins(v: Any, func: str) -> Any:
    v, xp = validate.real_floating(v, "v", func=func)
    validate.axis(v, -1, "v", func=func)
    validate.finite(v, "v", func=func, xp=xp)
    return xp


def logistic_contrastive_loss(v: Any) -> Any:
    r""":math:`\log(1+\sum_ie^{-v_i})`, as a log-sum-exp of :math:`(0,-v_1,\dots,-v_k)`.

    Parameters
    ----------
    v : array, shape (..., k)
        Margins :math:`v_i=f(x)^\top(f(x^+)-f(x_i^-))`.

    Returns
    -------
    array, shape (...)
    """
    xp = _margins(v, "logistic_contrastive_loss")
    top = xp.clip(xp.max(-v, axis=-1), min=0.0)
    total = xp.exp(-top) + xp.sum(xp.exp(-v - top[..., None]), axis=-1)
    return top + xp.log(total)


def logistic_contrastive_gradient(v: Any) -> Any:
    r""":math:`\partial\ell_{log}/\partial v_i=-e^{-v_i}/(1+\sum_je^{-v_j})` (a softmax entry).

    Parameters
    ----------
    v : array, shape (..., k)

    Returns
    -------
    array, shape (..., k)
        Its :math:`\ell_1` norm is :math:`s/(1+s)<1`.
    """
    xp = _margins(v, "logistic_contrastive_gradient")
    top = xp.clip(xp.max(-v, axis=-1, keepdims=True), min=0.0)
    weights = xp.exp(-v - top)
    return -weights / (xp.exp(-top) + xp.sum(weights, axis=-1, keepdims=True))


def hinge_contrastive_loss(v: Any) -> Any:
    r""":math:`\max\{0,1+\max_i(-v_i)\}`.

    Parameters
    ----------
    v : array, shape (..., k)

    Returns
    -------
    array, shape (...)
    """
    xp = _margins(v, "hinge_contrastive_loss")
    return xp.clip(1.0 + xp.max(-v, axis=-1), min=0.0)


def summed_logistic_loss(v: Any) -> Any:
    r""":math:`\sum_i\log(1+e^{-v_i})`: k-Lipschitz in :math:`\|\cdot\|_\infty` only."""
    xp = _margins(v, "summed_logistic_loss")
    return xp.sum(xp.clip(-v, min=0.0) + xp.log1p(xp.exp(-xp.abs(v))), axis=-1)


@claim(
    "contrastive_k.linf-lipschitz",
    paper=PAPER,
    source="Sec. 3 (loss assumptions; logistic and hinge examples)",
    statement=(
        r"|\ell(v)-\ell(v')|\le\|v-v'\|_\infty\ \text{for}\ \ell=\log(1+\textstyle\sum_{i\le k}"
        r"e^{-v_i})\ \text{and}\ \ell=\max\{0,1+\max_i(-v_i)\},\ \text{all }k"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "summed-logistic",
            r"\sum_i\log(1+e^{-v_i}) is 1-Lipschitz in \|\cdot\|_\infty (it is only k-Lipschitz)",
            {"losses": (summed_logistic_loss,)},
        )
    ],
)
def linf_lipschitz(
    ctx: Context,
    losses: Sequence[Callable[[Any], Any]] = (logistic_contrastive_loss, hinge_contrastive_loss),
) -> Evidence:
    r"""Lipschitz quotients on random pairs, k from 1 to 1000, on the backend.

    Pairs: :math:`v\sim N(0,9)`, and :math:`v'` either :math:`v+\delta` with
    :math:`\delta\sim U(-2,2)^k` or :math:`v-t\mathbf 1` with :math:`t\sim U(-3,3)` (all
    margins move together: the direction in which a sum over negatives is
    k-Lipschitz). Slack :math:`\|v-v'\|_\infty-|\ell(v)-\ell(v')|`; each loss value
    (a log-sum-exp of k + 1 terms, or a maximum) errs by at most
    :math:`(k+4)u(1+|\ell|+\|v\|_\infty)`, hence that tolerance for both values.
    The backend's logistic gradient has :math:`\|\nabla\ell\|_1=s/(1+s)<1` (checked against
    :math:`s` computed in NumPy, rtol :math:`(k+8)u`).
    """
    rng = ctx.rng(0)
    per_k = ctx.pick(100, 1000)
    parts: dict[str, Evidence] = {}
    for k in (1, 2, 10, 100, 1000):
        v = rng.normal(0, 3, (2 * per_k, k))
        moved = np.concatenate(
            [
                v[:per_k] + rng.uniform(-2, 2, (per_k, k)),
                v[per_k:] - rng.uniform(-3, 3, (per_k, 1)),
            ]
        )
        distance = np.max(np.abs(v - moved), axis=1)
        for loss in losses:
            before = np.asarray(to_numpy(loss(ctx.asarray(v))), dtype=float)
            after = np.asarray(to_numpy(loss(ctx.asarray(moved))), dtype=float)
            scale = (
                2 + np.abs(before) + np.abs(after) + np.max(np.abs(v), 1) + np.max(np.abs(moved), 1)
            )
            tol = (k + 4) * UNIT_ROUNDOFF * scale
            parts[f"{loss.__name__}, k={k}"] = checks.nonnegative(
                distance - np.abs(before - after) + tol, inputs={"v": v, "v_prime": moved}
            )
        gradient = np.asarray(to_numpy(logistic_contrastive_gradient(ctx.asarray(v))), dtype=float)
        s = np.sum(np.exp(-v), axis=1)
        parts[f"||grad logistic||_1 = s/(1+s), k={k}"] = checks.compare(
            np.sum(np.abs(gradient), axis=1),
            s / (1 + s),
            rtol=(k + 8) * UNIT_ROUNDOFF,
            inputs={"v": v},
        )
    return checks.combine(parts)


__all__ = [
    "PAPER",
    "hinge_contrastive_loss",
    "logistic_contrastive_gradient",
    "logistic_contrastive_loss",
    "summed_logistic_loss",
]
