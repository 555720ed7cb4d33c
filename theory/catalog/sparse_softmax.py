r"""Sparse-softmax (*Sparse-softmax: A Simpler and Faster Alternative Softmax
Transformation*, arXiv 2021); a different transformation from sparsemax.

The top-k softmax of logits :math:`z\in\mathbb R^n`, with :math:`\Omega_k` the indices of
the k largest logits:

.. math::

    p_i = \frac{e^{z_i}}{\sum_{j\in\Omega_k}e^{z_j}}\,\mathbb 1[i\in\Omega_k],\qquad
    L_k(z,t) = \log\sum_{j\in\Omega_k}e^{z_j}-z_t\quad(t\in\Omega_k).

k = n gives the softmax, k = 1 the one-hot arg-max, and for a target in
:math:`\Omega_k`, :math:`L_k\le\mathrm{CE}` (the sum runs over fewer positive terms).
Ties at the k-th largest logit are broken towards the lower index (a stable sort),
so :math:`|\Omega_k|=k` always.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theorycheck import checks, validate
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "sparse-softmax"
"""Key of the paper in the seed catalog."""

UNIT_ROUNDOFF = 2.0**-53


def _top_k_mask(z: Any, k: int, func: str) -> tuple[Any, Any]:
    z, xp = validate.real_floating(z, "z", func=func)
    validate.axis(z, -1, "z", func=func)
    validate.finite(z, "z", func=func, xp=xp)
    size = z.shape[-1]
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= size:
        raise ValueError(f"{func}: k must be an integer in [1, {size}], got {k!r}")
    order = xp.argsort(-z, axis=-1, stable=True)
    ranks = xp.argsort(order, axis=-1, stable=True)
    return xp, ranks < k


def sparse_softmax(z: Any, k: int) -> Any:
    r"""The top-k softmax :math:`p_i=e^{z_i}\mathbb 1[i\in\Omega_k]/\sum_{j\in\Omega_k}e^{z_j}`.

    Parameters
    ----------
    z : array, shape (..., n)
        Logits.
    k : int
        Number of kept classes, 1 <= k <= n.

    Returns
    -------
    array, shape (..., n)
        A probability vector supported on :math:`\Omega_k`.
    """
    xp, keep = _top_k_mask(z, k, "sparse_softmax")
    top = xp.max(z, axis=-1, keepdims=True)
    weights = xp.where(keep, xp.exp(z - top), xp.zeros_like(z))
    return weights / xp.sum(weights, axis=-1, keepdims=True)


def sparse_softmax_loss(z: Any, target: Any, k: int) -> Any:
    r"""The sparse-softmax loss :math:`L_k(z,t)=\log\sum_{j\in\Omega_k}e^{z_j}-z_t`.

    The target must lie in :math:`\Omega_k`.

    Parameters
    ----------
    z : array, shape (..., n)
        Logits.
    target : array of int, shape (...)
        Target classes, each among the k largest logits of its row.
    k : int
        1 <= k <= n.
    """
    xp, keep = _top_k_mask(z, k, "sparse_softmax_loss")
    size = z.shape[-1]
    if not xp.isdtype(getattr(target, "dtype", xp.float64), "integral"):
        raise ValueError(f"sparse_softmax_loss: target must be an integer array, got {target!r}")
    if tuple(target.shape) != tuple(z.shape[:-1]):
        raise ValueError(
            f"sparse_softmax_loss: target must have shape {tuple(z.shape[:-1])}, "
            f"got {tuple(target.shape)}"
        )
    hot = target[..., None] == xp.arange(size)
    if not bool(xp.all(xp.any(xp.logical_and(hot, keep), axis=-1))):
        raise ValueError("sparse_softmax_loss: every target must lie among the k largest logits")
    top = xp.max(z, axis=-1, keepdims=True)
    partial = xp.sum(xp.where(keep, xp.exp(z - top), xp.zeros_like(z)), axis=-1)
    return top[..., 0] + xp.log(partial) - xp.sum(xp.where(hot, z, xp.zeros_like(z)), axis=-1)


# --------------------------------------------------------------------------- reductions


@claim(
    "sparse_softmax.reductions",
    paper=PAPER,
    source="Sec. 3 (definition of sparse-softmax)",
    statement=(
        r"p=\mathrm{sparse\text{-}softmax}_k(z):\ k=n\Rightarrow p=\mathrm{softmax}(z),\ "
        r"k=1\Rightarrow p=e_{\arg\max z},\ t\in\Omega_k\Rightarrow\log\sum_{\Omega_k}e^{z_j}-z_t"
        r"\le\mathrm{CE}(z,t)"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "loss-at-least-ce",
            r"\log\sum_{\Omega_k}e^{z_j}-z_t\ge\mathrm{CE}(z,t)",
            {"direction": -1},
        )
    ],
)
def reductions(ctx: Context, direction: int = 1) -> Evidence:
    r"""The three statements on random logits, on the backend, against SciPy/NumPy.

    k = n: ``sparse_softmax`` against ``scipy.special.softmax`` (rtol 8n u: a sum of n
    exponentials and a division); k = 1: exactly the one-hot arg-max (the kept
    weight is exp(0) = 1 divided by itself); k in 1..n with the target among the
    top k: :math:`\mathrm{direction}\cdot(\mathrm{CE}-L_k)\ge-\mathrm{tol}`, with CE from
    ``scipy.special.logsumexp`` and tol :math:`8nu(1+\max|z|)` (two log-sum-exps).
    The gap :math:`\mathrm{CE}-L_k=\log(\sum_{j}e^{z_j}/\sum_{\Omega_k}e^{z_j})` is positive
    for k < n, so the reversed direction fails there. Ties are included (a quarter
    of the rows repeat a logit).
    """
    from scipy.special import logsumexp
    from scipy.special import softmax as scipy_softmax

    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for size in (2, 5, 20, 100):
        count = ctx.pick(200, 5000)
        z = rng.standard_normal((count, size)) * 10.0 ** rng.uniform(-1, 1.5, (count, 1))
        ties = rng.random(count) < 0.25
        z[ties, -1] = z[ties, 0]
        zb = ctx.asarray(z)
        inputs = {"z": z}
        full = np.asarray(to_numpy(sparse_softmax(zb, size)), dtype=float)
        parts[f"n={size}: k = n is softmax"] = checks.compare(
            full, scipy_softmax(z, axis=1), rtol=8 * size * UNIT_ROUNDOFF, inputs=inputs
        )
        single = np.asarray(to_numpy(sparse_softmax(zb, 1)), dtype=float)
        parts[f"n={size}: k = 1 is the one-hot arg-max"] = checks.compare(
            single, np.eye(size)[np.argmax(z, axis=1)], inputs=inputs
        )
        ce_all = logsumexp(z, axis=1)
        for k in sorted({1, 2, max(1, size // 2), size}):
            order = np.argsort(-z, axis=1, kind="stable")
            target = order[np.arange(count), rng.integers(0, k, count)]
            loss = np.asarray(
                to_numpy(sparse_softmax_loss(zb, ctx.asarray(target), k)), dtype=float
            )
            ce = ce_all - z[np.arange(count), target]
            tol = 8 * size * UNIT_ROUNDOFF * (1 + np.max(np.abs(z), axis=1))
            parts[f"n={size}, k={k}: sparse loss vs CE"] = checks.nonnegative(
                direction * (ce - loss) + tol, inputs={"z": z, "target": target}
            )
    return checks.combine(parts)


__all__ = ["PAPER", "sparse_softmax", "sparse_softmax_loss"]
