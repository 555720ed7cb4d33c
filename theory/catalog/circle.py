r"""Circle loss (Sun et al., *Circle Loss: A Unified Perspective of Pair Similarity
Optimization*, CVPR 2020).

Within-class similarities :math:`s_p^i` (i = 1..K) and between-class similarities
:math:`s_n^j` (j = 1..L), scale :math:`\gamma`, margin m:

.. math::

    L_{uni} = \log\Big[1+\sum_{i=1}^K\sum_{j=1}^L e^{\gamma(s_n^j-s_p^i+m)}\Big]
    \quad\text{(Eq. (1))},

    L_{circle} = \log\Big[1+\sum_{j}e^{\gamma\alpha_n^j(s_n^j-\Delta_n)}
                 \sum_i e^{-\gamma\alpha_p^i(s_p^i-\Delta_p)}\Big],

with :math:`\alpha_p=[O_p-s_p]_+`, :math:`\alpha_n=[s_n-O_n]_+`, :math:`O_p=1+m`,
:math:`O_n=-m`, :math:`\Delta_p=1-m`, :math:`\Delta_n=m` (Sec. 3.2-3.3). Every
function evaluates through a stable log-sum-exp (softplus of the log-sum-exp of
the exponents) on any array-API namespace; similarities are on the last axis.

``circle.reduces-to-triplet`` is checked here; ``circle.decision-boundary`` and
``circle.reduces-to-amsoftmax`` are derived in :mod:`proofs_check.catalog.circle`.
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

PAPER = "circle"
"""Key of the paper in the seed catalog."""

UNIT_ROUNDOFF = 2.0**-53
"""float64 unit roundoff u = 1.1e-16."""


# --------------------------------------------------------------------------- math objects


def _similarities(s_p: Any, s_n: Any, gamma: float, margin: float, func: str) -> Any:
    s_p, xp = validate.real_floating(s_p, "s_p", func=func)
    validate.real_floating(s_n, "s_n", func=func)
    validate.axis(s_p, -1, "s_p", func=func)
    validate.axis(s_n, -1, "s_n", func=func)
    validate.finite(s_p, "s_p", func=func, xp=xp)
    validate.finite(s_n, "s_n", func=func, xp=xp)
    if tuple(s_p.shape[:-1]) != tuple(s_n.shape[:-1]):
        raise ValueError(
            f"{func}: s_p and s_n must share their leading (batch) shape, got "
            f"{tuple(s_p.shape)} and {tuple(s_n.shape)}"
        )
    if not isinstance(gamma, int | float) or isinstance(gamma, bool) or not 0 < gamma < math.inf:
        raise ValueError(f"{func}: gamma must be a finite number > 0, got {gamma!r}")
    if not isinstance(margin, int | float) or isinstance(margin, bool) or not math.isfinite(margin):
        raise ValueError(f"{func}: margin must be a finite number, got {margin!r}")
    return xp


def _log_sum_exp(x: Any, xp: Any) -> Any:
    top = xp.max(x, axis=-1, keepdims=True)
    return (top + xp.log(xp.sum(xp.exp(x - top), axis=-1, keepdims=True)))[..., 0]


def _softplus(v: Any, xp: Any) -> Any:
    return xp.clip(v, min=0.0) + xp.log1p(xp.exp(-xp.abs(v)))


def unified_loss(s_p: Any, s_n: Any, gamma: float, margin: float) -> Any:
    r"""Eq. (1): :math:`\log[1+\sum_{i,j}e^{\gamma(s_n^j-s_p^i+m)}]`.

    Parameters
    ----------
    s_p : array, shape (..., K)
        Within-class similarities.
    s_n : array, shape (..., L)
        Between-class similarities.
    gamma : float
        Scale, > 0.
    margin : float
        m.

    Returns
    -------
    array, shape (...)
    """
    xp = _similarities(s_p, s_n, gamma, margin, "unified_loss")
    exponents = gamma * (s_n[..., None, :] - s_p[..., :, None] + margin)
    flat = xp.reshape(exponents, (*exponents.shape[:-2], -1))
    return _softplus(_log_sum_exp(flat, xp), xp)


def circle_weights(s_p: Any, s_n: Any, margin: float) -> tuple[Any, Any]:
    r"""Self-paced weights :math:`\alpha_p=[1+m-s_p]_+`, :math:`\alpha_n=[s_n+m]_+`."""
    xp = _similarities(s_p, s_n, 1.0, margin, "circle_weights")
    return xp.clip(1.0 + margin - s_p, min=0.0), xp.clip(s_n + margin, min=0.0)


def circle_loss(s_p: Any, s_n: Any, gamma: float, margin: float) -> Any:
    r"""The circle loss (Sec. 3.2).

    :math:`\log[1+\sum_je^{\gamma\alpha_n^j(s_n^j-m)}\sum_ie^{-\gamma\alpha_p^i(s_p^i-1+m)}]`.

    Shapes and parameters as :func:`unified_loss`.
    """
    xp = _similarities(s_p, s_n, gamma, margin, "circle_loss")
    alpha_p, alpha_n = circle_weights(s_p, s_n, margin)
    negative = gamma * alpha_n * (s_n - margin)
    positive = -gamma * alpha_p * (s_p - (1.0 - margin))
    return _softplus(_log_sum_exp(negative, xp) + _log_sum_exp(positive, xp), xp)


def am_softmax_loss(s_p: Any, s_n: Any, gamma: float, margin: float) -> Any:
    r"""AM-Softmax / CosFace.

    :math:`-\log\frac{e^{\gamma(s_p-m)}}{e^{\gamma(s_p-m)}+\sum_je^{\gamma s_n^j}}`.

    Parameters
    ----------
    s_p : array, shape (..., 1)
        Cosine of the target class.
    s_n : array, shape (..., L)
        Cosines of the other classes.
    gamma, margin : float
        Scale and additive cosine margin.
    """
    xp = _similarities(s_p, s_n, gamma, margin, "am_softmax_loss")
    if s_p.shape[-1] != 1:
        raise ValueError(f"am_softmax_loss: s_p must have one entry per row, got shape {s_p.shape}")
    logits = xp.concat([gamma * (s_p - margin), gamma * s_n], axis=-1)
    return _log_sum_exp(logits, xp) - gamma * (s_p[..., 0] - margin)


# --------------------------------------------------------------------------- reduces-to-triplet

Limit = Callable[[np.ndarray, np.ndarray, float], np.ndarray]


def hard_mining_triplet(s_p: np.ndarray, s_n: np.ndarray, margin: float) -> np.ndarray:
    r"""Eq. (1), :math:`\gamma\to\infty`: :math:`\max_{i,j}[s_n^j-s_p^i+m]_+` (NumPy)."""
    return np.maximum(s_n.max(axis=-1) - s_p.min(axis=-1) + margin, 0.0)


def mean_hinge(s_p: np.ndarray, s_n: np.ndarray, margin: float) -> np.ndarray:
    r"""Control: the mean of the hinges :math:`\frac1{KL}\sum_{i,j}[s_n^j-s_p^i+m]_+`."""
    hinges = np.maximum(s_n[..., None, :] - s_p[..., :, None] + margin, 0.0)
    return hinges.mean(axis=(-2, -1))


@claim(
    "circle.reduces-to-triplet",
    paper=PAPER,
    source="Eq. (1) and the text after it",
    statement=(
        r"\lim_{\gamma\to\infty}\tfrac1\gamma\log\Big[1+\sum_{i,j}e^{\gamma(s_n^j-s_p^i+m)}\Big]"
        r"=\max_{i,j}[s_n^j-s_p^i+m]_+"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "mean-of-hinges",
            r"\lim_{\gamma\to\infty}\tfrac1\gamma L_{uni}=\tfrac1{KL}\sum_{i,j}[s_n^j-s_p^i+m]_+",
            {"limit": mean_hinge},
        )
    ],
)
def reduces_to_triplet(ctx: Context, limit: Limit = hard_mining_triplet) -> Evidence:
    r"""The log-sum-exp sandwich at :math:`\gamma\in\{10^2,10^3,10^4\}` on the backend.

    With :math:`x_{ij}=s_n^j-s_p^i+m` and :math:`M=\max(0,\max x_{ij})`,
    :math:`\gamma M\le L_{uni}\le\gamma M+\log(1+KL)`, so
    :math:`0\le L_{uni}/\gamma-\ell\le\log(1+KL)/\gamma` must hold for the candidate
    limit :math:`\ell`; its right side tends to 0, which is the limit. Random
    similarities in [-1, 1], K, L in 1..8, m in [0, 0.5]. Rounding: the stable
    log-sum-exp errs by :math:`u(\gamma(2+m)+\log(1+KL)+2)`, divided by gamma:
    atol :math:`4u(2+m+(\log(1+KL)+2)/\gamma)`.
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    count = ctx.pick(300, 5000)
    for k, ell in ((1, 1), (1, 8), (4, 3), (8, 8)):
        s_p = rng.uniform(-1, 1, (count, k))
        s_n = rng.uniform(-1, 1, (count, ell))
        margin = float(rng.uniform(0, 0.5))
        claimed = np.asarray(limit(s_p, s_n, margin), dtype=float)
        inputs = {"s_p": s_p, "s_n": s_n}
        for gamma in (1e2, 1e3, 1e4):
            loss = np.asarray(
                to_numpy(unified_loss(ctx.asarray(s_p), ctx.asarray(s_n), gamma, margin)),
                dtype=float,
            )
            scaled = loss / gamma
            width = math.log1p(k * ell) / gamma
            tol = 4 * UNIT_ROUNDOFF * (2 + margin + (math.log1p(k * ell) + 2) / gamma)
            label = f"K={k}, L={ell}, m={margin:.3f}, gamma={gamma:g}"
            parts[f"{label}: L/gamma >= limit"] = checks.nonnegative(
                scaled - claimed, tol=tol, inputs=inputs
            )
            parts[f"{label}: L/gamma <= limit + log(1+KL)/gamma"] = checks.nonnegative(
                claimed + width - scaled, tol=tol, inputs=inputs
            )
    return checks.combine(parts)


__all__ = [
    "PAPER",
    "am_softmax_loss",
    "circle_loss",
    "circle_weights",
    "hard_mining_triplet",
    "unified_loss",
]
