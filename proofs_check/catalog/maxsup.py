r"""MaxSup (Zhou et al., arXiv 2502.15798), Sec. 3: the label-smoothing decomposition.

With the smoothed target :math:`t=(1-\alpha)e_y+\tfrac\alpha K\mathbf 1` and
:math:`\log p_k=z_k-\log\sum_j e^{z_j}`,

.. math::

    L_{LS}-L_{CE} = -\sum_k t_k(z_k-A) - (A - z_y)
                  = \Big(\sum_k t_k - 1\Big)A + z_y - \sum_k t_k z_k
                  = \alpha(z_y-\bar z),\qquad A=\log\sum_j e^{z_j},

since :math:`\sum_k t_k=1`. The check derives :math:`L_{LS}-L_{CE}` with sympy from
the definitions for K = 3, 4, 5 and every label position, and compares it with the
candidate penalty; then it runs :func:`theory.catalog.maxsup.label_smoothing_loss`
and :func:`~theory.catalog.maxsup.cross_entropy` on the backend against the
candidate on random logits (K up to 1000, scales 1e-2 to 1e3).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import sympy

from proofs_check.derivation import equal_chain
from theory.catalog.maxsup import (
    PAPER,
    UNIT_ROUNDOFF,
    cross_entropy,
    label_smoothing_loss,
    random_logits,
)
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

Penalty = Callable[[np.ndarray, np.ndarray, object], np.ndarray]
"""A candidate for :math:`L_{LS}-L_{CE}`: ``penalty(z, one_hot, alpha)`` on rows (N, K),
written with array operators only so that it runs on float and on sympy object arrays."""

SYMBOLIC_SIZES = (3, 4, 5)
ALPHA = sympy.Symbol("alpha", positive=True)


def paper_penalty(z: np.ndarray, one_hot: np.ndarray, alpha: object) -> np.ndarray:
    r"""Sec. 3: :math:`\alpha(z_y-\bar z)`."""
    size = z.shape[-1]
    return alpha * ((one_hot * z).sum(axis=-1) - z.sum(axis=-1) / size)


def non_target_mean_penalty(z: np.ndarray, one_hot: np.ndarray, alpha: object) -> np.ndarray:
    r"""Control: :math:`\alpha(z_y-\tfrac1{K-1}\sum_{k\ne y}z_k)` (mean over the non-targets)."""
    size = z.shape[-1]
    target = (one_hot * z).sum(axis=-1)
    return alpha * (target - (z.sum(axis=-1) - target) / (size - 1))


def shrunk_coefficient_penalty(z: np.ndarray, one_hot: np.ndarray, alpha: object) -> np.ndarray:
    r"""Control: :math:`\alpha(1-1/K)(z_y-\bar z)`."""
    size = z.shape[-1]
    return paper_penalty(z, one_hot, alpha) * (size - 1) / size


@cache
def _difference_of_losses(size: int, label: int) -> tuple[tuple[sympy.Symbol, ...], sympy.Expr]:
    """:math:`L_{LS}-L_{CE}` from the definitions, with logits z_1..z_K."""
    z = sympy.symbols(f"z1:{size + 1}", real=True)
    log_partition = sympy.log(sum(sympy.exp(zk) for zk in z))
    target = [(1 - ALPHA) * int(k == label) + ALPHA / size for k in range(size)]
    smoothed = -sum(t * (zk - log_partition) for t, zk in zip(target, z, strict=True))
    cross = log_partition - z[label]
    return z, sympy.expand(smoothed - cross)


def _symbolic_part(penalty: Penalty) -> Evidence:
    steps = []
    for size in SYMBOLIC_SIZES:
        for label in sorted({0, size // 2, size - 1}):
            z, derived = _difference_of_losses(size, label)
            row = np.empty((1, size), dtype=object)
            row[0, :] = z
            one_hot = np.zeros((1, size), dtype=int)
            one_hot[0, label] = 1
            candidate = penalty(row, one_hot, ALPHA)[0]
            # expand first: the difference is linear in z, so expand decides it exactly
            # and a false candidate leaves a short polynomial that a probe refutes
            residual = sympy.expand(derived - candidate)
            steps.append((f"K={size}, y={label + 1}: L_LS - L_CE - candidate = 0", residual, 0))
    return equal_chain(steps)


@claim(
    "maxsup.ls-decomposition",
    paper=PAPER,
    source="Sec. 3",
    statement=(
        r"t=(1-\alpha)e_y+\tfrac\alpha K\mathbf 1:\ -\sum_k t_k\log p_k"
        r"=L_{CE}(z,y)+\alpha(z_y-\bar z)"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "non-target-mean",
            r"L_{LS}-L_{CE}=\alpha\big(z_y-\tfrac1{K-1}\sum_{k\ne y}z_k\big)",
            {"penalty": non_target_mean_penalty},
        ),
        Control(
            "coefficient-alpha-1-minus-1-over-K",
            r"L_{LS}-L_{CE}=\alpha(1-1/K)(z_y-\bar z)",
            {"penalty": shrunk_coefficient_penalty},
        ),
    ],
)
def ls_decomposition(ctx: Context, penalty: Penalty = paper_penalty) -> Evidence:
    r"""sympy for K = 3, 4, 5; float64 on the backend for K up to 1000.

    Tolerance of the float part, per row with :math:`M=\max_k|z_k|`: the log-partition
    after the max shift errs by :math:`u(M+\log K+2)`; each :math:`\log p_k` by twice
    that, and the weighted sum of K of them adds :math:`Ku(2M+\log K)`; the
    cross-entropy errs by :math:`2u(M+\log K+2)`; the candidate, a sum of K terms,
    by :math:`KuM`. Together at most :math:`(2K+6)u(M+\log K+2)`, below the
    allowance :math:`8Ku(1+M+\log K)` for K >= 2 (3.6e-9 at K = 1000, M = 1e3·4).
    """
    parts: dict[str, Evidence] = {"sympy: K = 3, 4, 5": _symbolic_part(penalty)}
    rng = ctx.rng(0)
    alpha = 0.1
    for size in ctx.pick((2, 7, 100, 1000), (2, 3, 7, 20, 100, 1000)):
        count = ctx.pick(max(20, 20_000 // size), max(1000, 200_000 // size))
        z, y = random_logits(rng, count, size)
        zb, yb = ctx.asarray(z), ctx.asarray(y)
        difference = np.asarray(
            to_numpy(label_smoothing_loss(zb, yb, alpha) - cross_entropy(zb, yb)), dtype=float
        )
        expected = np.asarray(penalty(z, np.eye(size)[y], alpha), dtype=float)
        magnitude = 1 + np.max(np.abs(z), axis=1) + np.log(size)
        parts[f"float K={size}: L_LS - L_CE = candidate"] = checks.compare(
            difference,
            expected,
            atol=8 * size * UNIT_ROUNDOFF * magnitude,
            inputs={"z": z, "y": y},
        )
    return checks.combine(parts)
