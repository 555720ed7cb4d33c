r"""SL@K (*Breaking the Top-K Barrier: Advancing Top-K Ranking Metrics Optimization in
Recommender Systems*, 2025); official code Tiny-Snow/IR-Benchmark,
``src/itemrec/optimizer/optim_SLatK.py``.

For a user with item scores :math:`f_j` (N items), positives P, the top-K threshold
:math:`\beta` is estimated by the pinball (quantile) loss at level :math:`t=K/N`,

.. math:: \rho_t(\beta)=\sum_j\big[(1-t)(f_j-\beta)_++t(\beta-f_j)_+\big],

and the loss weights the positives by
:math:`w_i=\sigma_w(f_i-\beta)/\sum_{i'\in P}\sigma_w(f_{i'}-\beta)`:

.. math:: L_{SL@K} = \sum_{i\in P}w_i\log\sum_je^{(f_j-f_i)/\tau}

(with :math:`\sigma(d)=e^{d/\tau}` as the surrogate of the step). ``slk.quantile-pinball``
and ``slk.reduces-to-sl`` are checked here; ``slk.exp-weights-cancel-beta`` is derived
in :mod:`proofs_check.catalog.slk`.
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

PAPER = "slk"
"""Key of the paper in the seed catalog."""

UNIT_ROUNDOFF = 2.0**-53
WEIGHT_KINDS = ("sigmoid", "exp")


# --------------------------------------------------------------------------- math objects


def _scores(f: Any, func: str) -> Any:
    f, xp = validate.real_floating(f, "f", func=func)
    validate.axis(f, -1, "f", func=func)
    validate.finite(f, "f", func=func, xp=xp)
    return xp


def _positive(value: float, name: str, func: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < math.inf:
        raise ValueError(f"{func}: {name} must be a finite number > 0, got {value!r}")
    return float(value)


def pinball_loss(f: Any, beta: Any, level: float) -> Any:
    r"""The pinball loss :math:`\sum_j[(1-t)(f_j-\beta)_++t(\beta-f_j)_+]` at level t.

    Parameters
    ----------
    f : array, shape (..., N)
        Scores.
    beta : array, shape (...)
        Candidate thresholds.
    level : float
        t in (0, 1) (t = K/N estimates the top-K threshold).
    """
    xp = _scores(f, "pinball_loss")
    beta, _ = validate.real_floating(beta, "beta", func="pinball_loss")
    if tuple(beta.shape) != tuple(f.shape[:-1]):
        raise ValueError(
            f"pinball_loss: beta must have shape {tuple(f.shape[:-1])}, got {tuple(beta.shape)}"
        )
    if not isinstance(level, int | float) or isinstance(level, bool) or not 0 < level < 1:
        raise ValueError(f"pinball_loss: level must be a number in (0, 1), got {level!r}")
    gap = f - beta[..., None]
    return xp.sum((1.0 - level) * xp.clip(gap, min=0.0) + level * xp.clip(-gap, min=0.0), axis=-1)


def topk_threshold(f: Any, k: int) -> Any:
    r"""The sorting estimator of :math:`\beta`: the K-th largest score :math:`f_{(K)}`."""
    xp = _scores(f, "topk_threshold")
    size = f.shape[-1]
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= size:
        raise ValueError(f"topk_threshold: k must be an integer in [1, {size}], got {k!r}")
    return xp.sort(f, axis=-1)[..., size - k]


def slk_weights(f_positive: Any, beta: Any, tau_w: float, kind: str = "sigmoid") -> Any:
    r"""Weights :math:`w_i=\sigma_w(f_i-\beta)/\sum_{i'}\sigma_w(f_{i'}-\beta)` of the positives.

    Parameters
    ----------
    f_positive : array, shape (..., |P|)
        Scores of the positive items.
    beta : array, shape (...)
        Threshold.
    tau_w : float
        Weight temperature > 0.
    kind : {"sigmoid", "exp"}
        :math:`\sigma_w(x)=\sigma(x/\tau_w)` (the default of the code) or :math:`e^{x/\tau_w}`.
    """
    xp = _scores(f_positive, "slk_weights")
    beta, _ = validate.real_floating(beta, "beta", func="slk_weights")
    tau_w = _positive(tau_w, "tau_w", "slk_weights")
    x = (f_positive - beta[..., None]) / tau_w
    if kind == "sigmoid":
        raw = 0.5 * (1.0 + xp.tanh(0.5 * x))
    elif kind == "exp":
        raw = xp.exp(x - xp.max(x, axis=-1, keepdims=True))
    else:
        raise ValueError(f"slk_weights: kind must be one of {WEIGHT_KINDS}, got {kind!r}")
    return raw / xp.sum(raw, axis=-1, keepdims=True)


def softmax_losses(f: Any, f_positive: Any, tau: float) -> Any:
    r"""Per positive i: :math:`\log\sum_je^{(f_j-f_i)/\tau}`; shape (..., |P|)."""
    xp = _scores(f, "softmax_losses")
    _scores(f_positive, "softmax_losses")
    tau = _positive(tau, "tau", "softmax_losses")
    scaled = f / tau
    top = xp.max(scaled, axis=-1, keepdims=True)
    log_partition = top + xp.log(xp.sum(xp.exp(scaled - top), axis=-1, keepdims=True))
    return log_partition - f_positive / tau


def slk_loss(
    f: Any, f_positive: Any, beta: Any, tau: float, tau_w: float, kind: str = "sigmoid"
) -> Any:
    r""":math:`L_{SL@K}=\sum_{i\in P}w_i\log\sum_je^{(f_j-f_i)/\tau}`.

    Parameters
    ----------
    f : array, shape (..., N)
        Scores of all items.
    f_positive : array, shape (..., |P|)
        Scores of the positives (a subset of f).
    beta : array, shape (...)
        Threshold (``-inf`` gives uniform sigmoid weights).
    tau, tau_w : float
        Temperatures of the softmax and of the weights.
    kind : {"sigmoid", "exp"}
    """
    weights = slk_weights(f_positive, beta, tau_w, kind)
    _, xp = validate.real_floating(f, "f", func="slk_loss")
    return xp.sum(weights * softmax_losses(f, f_positive, tau), axis=-1)


# --------------------------------------------------------------------------- quantile-pinball

Pinball = Callable[[Any, Any, float], Any]


def swapped_pinball_loss(f: Any, beta: Any, level: float) -> Any:
    r"""Control: t and 1 - t swapped, :math:`\sum_j[t(f_j-\beta)_++(1-t)(\beta-f_j)_+]`."""
    return pinball_loss(f, beta, 1.0 - level)


@claim(
    "slk.quantile-pinball",
    paper=PAPER,
    source="official code optim_SLatK.py (quantile estimate of beta)",
    statement=(
        r"t=K/N:\ \arg\min_\beta\sum_j[(1-t)(f_j-\beta)_++t(\beta-f_j)_+]=[f_{(K+1)},f_{(K)}]"
        r"\ \text{(descending order statistics)}"
    ),
    method="numeric",
    provenance="confirmed",
    controls=[
        Control(
            "swap-t",
            r"weights t and 1 - t swapped (the K-th smallest score)",
            {"pinball": swapped_pinball_loss},
        )
    ],
)
def quantile_pinball(ctx: Context, pinball: Pinball = pinball_loss) -> Evidence:
    r"""The pinball loss on the backend at every breakpoint and at random thresholds.

    The loss is convex and piecewise linear with breakpoints at the scores; its slope
    is :math:`-(1-t)\#\{f_j>\beta\}+t\#\{f_j<\beta\}`, zero between :math:`f_{(K+1)}` and
    :math:`f_{(K)}` and of magnitude >= 1 outside. So, with :math:`m^*` the minimum over
    the breakpoints: the loss equals :math:`m^*` on the interval (at both ends, at its
    midpoint and at the sorting estimator :math:`f_{(K)}`), and at every breakpoint and
    random :math:`\beta` exceeds :math:`m^*` by at least the distance to the interval.
    Tolerance: N terms of size at most :math:`S=\max|f|+|\beta|`: 4NuS.
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for size in (10, 50, 200):
        for k in sorted({1, size // 2, size - 1}):
            count = ctx.pick(8, 200)
            f = rng.normal(0, 1, (count, size))
            ordered = -np.sort(-f, axis=1)
            upper, lower = ordered[:, k - 1], ordered[:, k]
            level = k / size
            fb = ctx.asarray(f)
            breakpoints = np.asarray(
                to_numpy(
                    pinball(
                        ctx.asarray(np.repeat(f, size, axis=0)), ctx.asarray(f.reshape(-1)), level
                    )
                ),
                dtype=float,
            ).reshape(count, size)
            best = breakpoints.min(axis=1)
            top = np.max(np.abs(f), axis=1)
            tol = 4 * size * UNIT_ROUNDOFF * (1 + 2 * top)  # |beta| <= max|f| at breakpoints
            label = f"N={size}, K={k}"
            inputs = {"f": f}
            sorting = np.asarray(to_numpy(topk_threshold(fb, k)), dtype=float)
            for name, beta in (
                ("f_(K)", upper),
                ("f_(K+1)", lower),
                ("midpoint", 0.5 * (upper + lower)),
                ("sorting estimator", sorting),
            ):
                value = np.asarray(to_numpy(pinball(fb, ctx.asarray(beta), level)), dtype=float)
                parts[f"{label}: minimal at {name}"] = checks.compare(
                    value, best, atol=tol, inputs=inputs
                )
            distance = np.maximum(np.maximum(lower[:, None] - f, f - upper[:, None]), 0.0)
            parts[f"{label}: breakpoints exceed the minimum by their distance"] = (
                checks.nonnegative(
                    breakpoints - best[:, None] - distance + tol[:, None], inputs=inputs
                )
            )
            beta = rng.uniform(-3, 3, count)
            value = np.asarray(to_numpy(pinball(fb, ctx.asarray(beta), level)), dtype=float)
            distance = np.maximum(np.maximum(lower - beta, beta - upper), 0.0)
            random_tol = tol + 4 * size * UNIT_ROUNDOFF * (1 + top + np.abs(beta))
            parts[f"{label}: random beta exceeds the minimum by its distance"] = checks.nonnegative(
                value - best - distance + random_tol, inputs={**inputs, "beta": beta}
            )
    return checks.combine(parts)


# --------------------------------------------------------------------------- reduces-to-sl


@claim(
    "slk.reduces-to-sl",
    paper=PAPER,
    source="Sec. 4 (SL@K with uniform weights)",
    statement=(
        r"\beta\to-\infty\ (\text{sigmoid weights}\to\tfrac1{|P|}),\ \sigma(d)=e^{d/\tau}:\ "
        r"L_{SL@K}=\tfrac1{|P|}\sum_{i\in P}\log\sum_je^{(f_j-f_i)/\tau}"
    ),
    method="numeric",
    provenance="derived",
    controls=[
        Control(
            "finite-beta",
            r"L_{SL@K}(\beta=f_{(K)})=\tfrac1{|P|}\sum_i\mathrm{SL}_i"
            r" (finite beta, sigmoid weights)",
            {"beta": "top-k"},
        )
    ],
)
def reduces_to_sl(ctx: Context, beta: str = "-inf") -> Evidence:
    r"""SL@K on the backend against the mean softmax loss of the positives.

    Parts: (1) at the given threshold (``"-inf"``: exactly uniform weights, since
    :math:`\sigma(+\infty)=1`; the control's ``"top-k"``: :math:`\beta=f_{(K)}`) the loss
    equals the mean of the positives' softmax losses up to rounding
    (:math:`8Nu(1+\max|f|/\tau)`); (2) the limit itself: for
    :math:`\beta_n=\min_if_i-n\tau_w\log10`, n = 1..8, the weights deviate from
    :math:`1/|P|` by at most :math:`\eta/((1-\eta)|P|)` with
    :math:`\eta=e^{-(\min_if_i-\beta)/\tau_w}`, so :math:`|L-\overline{\mathrm{SL}}|\le
    \eta/(1-\eta)\max_i\mathrm{SL}_i` (+ rounding), a band that shrinks to 0.
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    tau, tau_w = 0.5, 0.2
    for size, positives in ((20, 3), (100, 10)):
        count = ctx.pick(200, 3000)
        f = rng.normal(0, 1, (count, size))
        f_positive = f[:, :positives]
        losses = np.asarray(
            to_numpy(softmax_losses(ctx.asarray(f), ctx.asarray(f_positive), tau)), dtype=float
        )
        mean = losses.mean(axis=1)
        rounding = 8 * size * UNIT_ROUNDOFF * (1 + np.max(np.abs(f), axis=1) / tau)
        if beta == "-inf":
            threshold = np.full(count, -np.inf)
        elif beta == "top-k":
            threshold = -np.sort(-f, axis=1)[:, 5]
        else:
            raise ValueError(f"unknown beta {beta!r}")
        value = np.asarray(
            to_numpy(
                slk_loss(
                    ctx.asarray(f), ctx.asarray(f_positive), ctx.asarray(threshold), tau, tau_w
                )
            ),
            dtype=float,
        )
        parts[f"N={size}, |P|={positives}: L at beta = {beta} equals the mean SL"] = checks.compare(
            value, mean, atol=rounding, inputs={"f": f}
        )
        for n in range(1, 9):
            threshold = f_positive.min(axis=1) - n * tau_w * math.log(10)
            eta = np.exp(-(f_positive.min(axis=1) - threshold) / tau_w)
            band = eta / (1 - eta) * np.max(np.abs(losses), axis=1)
            value = np.asarray(
                to_numpy(
                    slk_loss(
                        ctx.asarray(f), ctx.asarray(f_positive), ctx.asarray(threshold), tau, tau_w
                    )
                ),
                dtype=float,
            )
            parts[
                f"N={size}, |P|={positives}: beta = min f - {n} tau_w log 10, within the band"
            ] = checks.compare(value, mean, atol=band + rounding, inputs={"f": f})
    return checks.combine(parts)


__all__ = [
    "PAPER",
    "WEIGHT_KINDS",
    "pinball_loss",
    "slk_loss",
    "slk_weights",
    "softmax_losses",
    "topk_threshold",
]
