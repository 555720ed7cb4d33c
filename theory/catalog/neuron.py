r"""Robustly learning a single neuron via sharpness (Wang, Zarifis, Diakonikolas &
Diakonikolas, ICML 2023).

Surrogate loss :math:`L_{sur}(w)=\mathbb E\big[\int_0^{w\cdot x}(\sigma(t)-y)\,dt\big]`,
with gradient :math:`\nabla L_{sur}(w)=\mathbb E[(\sigma(w\cdot x)-y)x]`. For
:math:`x\sim N(0,I)`, ReLU :math:`\sigma` and noiseless :math:`y=\sigma(w^*\cdot x)`,

.. math:: \langle\nabla L_{sur}(w),w-w^*\rangle=\tfrac12\|w-w^*\|^2 ,

since :math:`\mathbb E[\mathrm{relu}(w\cdot x)(u\cdot x)]=\tfrac12w\cdot u`: the sharpness
of the surrogate. Claim ``neuron.relu-sharpness-half`` (numeric) is here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from theorycheck import checks, validate
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "neuron"
"""Key of the paper in the seed catalog."""

UNIT_ROUNDOFF = 2.0**-53


def relu(t: Any) -> Any:
    r""":math:`\mathrm{relu}(t)=\max(t,0)` on any array namespace."""
    return array_namespace(t).clip(t, min=0.0)


def absolute(t: Any) -> Any:
    r""":math:`|t|`: a non-monotone activation (no sharpness)."""
    return array_namespace(t).abs(t)


def surrogate_gradient(w: Any, x: Any, y: Any, activation: Callable[[Any], Any] = relu) -> Any:
    r"""Empirical :math:`\nabla L_{sur}(w)=\frac1n\sum_i(\sigma(w\cdot x_i)-y_i)x_i`.

    Parameters
    ----------
    w : array, shape (..., d)
        Weights; leading axes index independent instances.
    x : array, shape (..., n, d)
        Inputs.
    y : array, shape (..., n)
        Labels.
    activation : callable
        :math:`\sigma`, elementwise on arrays (ReLU by default).

    Returns
    -------
    array, shape (..., d)

    Raises
    ------
    ValueError
        For mismatched shapes or non-finite entries.
    """
    func = "surrogate_gradient"
    w, xp = validate.real_floating(w, "w", func=func)
    x, _ = validate.real_floating(x, "x", func=func)
    y, _ = validate.real_floating(y, "y", func=func)
    if x.ndim < 2 or w.ndim < 1 or x.shape[-1] != w.shape[-1]:
        raise ValueError(
            f"{func}: x must have shape (..., n, d) and w (..., d), got {tuple(x.shape)} "
            f"and {tuple(w.shape)}"
        )
    if tuple(y.shape) != tuple(x.shape[:-1]):
        raise ValueError(f"{func}: y must have shape {tuple(x.shape[:-1])}, got {tuple(y.shape)}")
    for value, name in ((w, "w"), (x, "x"), (y, "y")):
        validate.finite(value, name, func=func, xp=xp)
    pre = xp.sum(x * w[..., None, :], axis=-1)
    residual = activation(pre) - y
    return xp.mean(residual[..., None] * x, axis=-2)


@claim(
    "neuron.relu-sharpness-half",
    paper=PAPER,
    source="sharpness property (Sec. 2), instance for Gaussian x and ReLU",
    statement=(
        r"x\sim N(0,I),\ y=\mathrm{relu}(w^*\cdot x):\ \langle\nabla L_{sur}(w),w-w^*\rangle"
        r"=\tfrac12\|w-w^*\|^2"
    ),
    method="numeric",
    provenance="derived",
    controls=[
        Control(
            "constant-one", r"\langle\nabla L_{sur}(w),w-w^*\rangle=\|w-w^*\|^2", {"constant": 1.0}
        ),
        Control(
            "absolute-activation",
            r"the same identity with the non-monotone \sigma(t)=|t|",
            {"activation": absolute},
        ),
    ],
)
def relu_sharpness_half(
    ctx: Context, constant: float = 0.5, activation: Callable[[Any], Any] = relu
) -> Evidence:
    r"""Exact identity on sign-symmetric samples, and Monte Carlo on Gaussian samples.

    (1) For a sample closed under :math:`x\mapsto-x` the empirical expectation of
    :math:`\mathrm{relu}(w\cdot x)(u\cdot x)` is exactly :math:`\tfrac12w^\top\hat Cu`
    (:math:`\hat C` the sample second moment), since :math:`\mathrm{relu}(t)-\mathrm{relu}(-t)=t`:
    so the backend's :math:`\langle\widehat{\nabla L}_{sur}(w),w-w^*\rangle` must equal
    constant :math:`\cdot(w-w^*)^\top\hat C(w-w^*)`; a mean of 2n terms and a dot
    product of d carry a relative error of at most :math:`(2n+d)u` of the sum of
    absolute terms (tol :math:`(2n+2d)u\cdot\mathrm{mean}|\text{term}|`).
    (2) Fresh Gaussian samples (d = 5): the estimate against constant
    :math:`\cdot\|w-w^*\|^2` within 5 standard errors (estimated from the per-sample
    terms; the chance of a 5-sigma excursion on one of the instances is < 1e-5).
    """
    rng = ctx.rng(0)
    instances, d = ctx.pick(12, 48), 5
    w = rng.normal(size=(instances, d))
    w_star = rng.normal(size=(instances, d))
    v = w - w_star

    n = ctx.pick(1000, 20_000)
    half = rng.normal(size=(instances, n, d))
    x = np.concatenate([half, -half], axis=1)
    y = np.maximum(np.einsum("ind,id->in", x, w_star), 0.0)
    gradient = np.asarray(
        to_numpy(surrogate_gradient(ctx.asarray(w), ctx.asarray(x), ctx.asarray(y), activation)),
        dtype=float,
    )
    estimate = np.sum(gradient * v, axis=1)
    projected = np.einsum("ind,id->in", x, v)
    expected = constant * np.mean(projected**2, axis=1)
    pre = np.einsum("ind,id->in", x, w)
    terms = np.abs(np.asarray(to_numpy(activation(ctx.asarray(pre))), dtype=float) - y) * np.abs(
        projected
    )
    tol = (2 * x.shape[1] + 2 * d) * UNIT_ROUNDOFF * np.mean(terms, axis=1)
    parts = {
        "symmetric sample: <grad, w - w*> = constant (w-w*)^T C (w-w*)": checks.compare(
            estimate, expected, atol=tol, inputs={"w": w, "w_star": w_star}
        )
    }

    samples = ctx.pick(10_000, 400_000)
    x = rng.normal(size=(instances, samples, d))
    y = np.maximum(np.einsum("ind,id->in", x, w_star), 0.0)
    gradient = np.asarray(
        to_numpy(surrogate_gradient(ctx.asarray(w), ctx.asarray(x), ctx.asarray(y), activation)),
        dtype=float,
    )
    estimate = np.sum(gradient * v, axis=1)
    pre = np.einsum("ind,id->in", x, w)
    per_sample = (np.asarray(to_numpy(activation(ctx.asarray(pre))), dtype=float) - y) * np.einsum(
        "ind,id->in", x, v
    )
    standard_error = np.std(per_sample, axis=1, ddof=1) / np.sqrt(samples)
    parts["Gaussian Monte Carlo: <grad, w - w*> = constant ||w - w*||^2 (5 s.e.)"] = checks.compare(
        estimate,
        constant * np.sum(v * v, axis=1),
        atol=5 * standard_error,
        inputs={"w": w, "w_star": w_star},
    )
    return checks.combine(parts)


__all__ = ["PAPER", "absolute", "relu", "surrogate_gradient"]
