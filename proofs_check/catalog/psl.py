r"""PSL (Yang et al., NeurIPS 2024): the activation sandwich, certified by interval arithmetic.

The official code (Tiny-Snow/IR-Benchmark, ``optim_PSL.py``) requires
:math:`\mathbb 1(d\ge0)\le\phi(d)\le e^d` on :math:`d\in[-1,1]` for
:math:`\phi\in\{\tanh d+1,\ \arctan d+1,\ \mathrm{ReLU}(d+1)\}`. The Heaviside step is
constant on [-1, 0) and [0, 1], so the statement is three inequalities per
activation, each proved by :func:`theorycheck.certify.certify_nonnegative`:
:math:`\phi\ge0` on [-1, 0], :math:`\phi-1\ge0` on [0, 1] and :math:`e^d-\phi\ge0` on
[-1, 1] (touching zero at d = 0, where :math:`\phi(0)=1=e^0` and
:math:`\phi'(0)=1`). The corollary
:math:`\log\sum_j\mathbb 1[d_j\ge0]\le\mathrm{PSL}_{\phi,\tau}\le\mathrm{SL}_\tau` (raise
to the power :math:`1/\tau`, sum, take logs) runs on the backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from proofs_check.derivation import AtLeast, Derivation
from theory.catalog.psl import (
    ACTIVATIONS,
    PAPER,
    positive_rank,
    psl_loss,
    random_gaps,
    softmax_loss,
)
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.certify import Budget
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

UNIT_ROUNDOFF = 2.0**-53


def _phi(kind: str) -> Callable[[Any, Any], Any]:
    """The activation as ``phi(d, m)`` for the certifier (ReLU as (x + |x|)/2)."""
    if kind == "tanh":
        return lambda d, m: m.tanh(d) + 1
    if kind == "atan":
        return lambda d, m: m.atan(d) + 1
    return lambda d, m: (d + 1 + abs(d + 1)) / 2


@lru_cache(maxsize=4)
def _certified(domain: tuple[Any, Any]) -> Evidence:
    low, high = domain
    steps = []
    for kind in ACTIVATIONS:
        phi = _phi(kind)
        budget = Budget(max_boxes=4000, seconds=10.0)
        steps.append(
            AtLeast(
                f"{kind}: phi(d) >= 0 on [{low}, 0]",
                lambda x, m, p=phi: p(x[0], m),
                [(low, 0)],
                budget,
            )
        )
        steps.append(
            AtLeast(
                f"{kind}: phi(d) >= 1 on [0, {high}]",
                lambda x, m, p=phi: p(x[0], m) - 1,
                [(0, high)],
                budget,
            )
        )
        steps.append(
            AtLeast(
                f"{kind}: phi(d) <= e^d on [{low}, {high}]",
                lambda x, m, p=phi: m.exp(x[0]) - p(x[0], m),
                [(low, high)],
                budget,
            )
        )
    return Derivation(tuple(steps)).check()


@claim(
    "psl.activation-sandwich",
    paper=PAPER,
    source="official code optim_PSL.py (condition on sigma); corollary derived",
    statement=(
        r"d\in[-1,1]:\ \mathbb 1[d\ge0]\le\phi(d)\le e^d\ (\phi\in\{\tanh d+1,\arctan d+1,"
        r"\mathrm{ReLU}(d+1)\});\ \log\sum_j\mathbb 1[d_{uij}\ge0]"
        r"\le\mathrm{PSL}_{\phi,\tau}\le\mathrm{SL}_\tau"
    ),
    method="certified",
    provenance="confirmed",
    notes="The corollary (the bounds on PSL) is [derived].",
    controls=[
        Control(
            "domain-minus-3-to-3",
            r"\mathbb 1[d\ge0]\le\phi(d)\le e^d on d\in[-3,3] (arctan(d)+1 < 0 below -tan 1)",
            {"domain": (-3, 3)},
        )
    ],
)
def activation_sandwich(ctx: Context, domain: Sequence[Any] = (-1, 1)) -> Evidence:
    r"""Interval proofs of the nine inequalities on the domain; the corollary on the backend.

    Corollary part (the claim's hypothesis: gaps of cosine scores over a temperature
    2, within [-1, 1]): random users with N in {5, 50} items,
    :math:`\tau\in\{0.5,1,2\}`, each activation;
    :math:`\log\pi\le\mathrm{PSL}_{\phi,\tau}\le\mathrm{SL}_\tau` up to
    :math:`8Nu(1+\max|\log\phi|/\tau)` (two log-sum-exps of N terms; :math:`|\log\phi|`
    is at most :math:`\log2` plus, for ReLU at d = -1, the gap to 0, bounded here by
    drawing :math:`d\ge-1+10^{-3}`: :math:`|\log\phi|\le7`).
    """
    parts: dict[str, Evidence] = {"certified": _certified(tuple(domain))}
    rng = ctx.rng(0)
    for items in (5, 50):
        count = ctx.pick(200, 3000)
        d = np.maximum(random_gaps(rng, count, items), -1 + 1e-3)
        db = ctx.asarray(d)
        log_rank = np.log(np.asarray(to_numpy(positive_rank(db)), dtype=float))
        for tau in (0.5, 1.0, 2.0):
            sl = np.asarray(to_numpy(softmax_loss(db, tau)), dtype=float)
            tol = 8 * items * UNIT_ROUNDOFF * (1 + 7 / tau)
            for kind in ACTIVATIONS:
                psl = np.asarray(to_numpy(psl_loss(db, tau, kind)), dtype=float)
                label = f"N={items}, tau={tau}, {kind}"
                parts[f"{label}: log pi <= PSL"] = checks.nonnegative(
                    psl - log_rank + tol, inputs={"d": d}
                )
                parts[f"{label}: PSL <= SL"] = checks.nonnegative(sl - psl + tol, inputs={"d": d})
    return checks.combine(parts)
