r"""MoMo: momentum models for adaptive learning rates (Schaipp et al., ICML 2024).

Notation of Algorithm 1: at step k, loss :math:`f_k=f(x_k;s_k)`, gradient :math:`g_k`,

.. math::
    \bar f_k=\beta\bar f_{k-1}+(1-\beta)f_k,\quad
    \bar\gamma_k=\beta\bar\gamma_{k-1}+(1-\beta)\langle g_k,x_k\rangle,\quad
    d_k=\beta d_{k-1}+(1-\beta)g_k,

:math:`h_k=\bar f_k+\langle d_k,x_k\rangle-\bar\gamma_k`, and the update

.. math:: x_{k+1}=x_k-\min\Big\{\alpha_k,\frac{(h_k-f_*)_+}{\|d_k\|^2}\Big\}d_k ,

the proximal step on the truncated model
:math:`m_k(y)=\max\{\bar f_k+\langle d_k,y\rangle-\bar\gamma_k,f_*\}`.
Claim ``momo.prox-closed-form`` (solver) is here; ``momo.beta0-is-polyak`` is in
:mod:`proofs_check.catalog.momo`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cvxpy as cp
import numpy as np

from theorycheck import checks, validate
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "momo"
"""Key of the paper in the seed catalog."""

UNIT_ROUNDOFF = 2.0**-53


def _vectors(x: Any, d: Any, func: str) -> Any:
    x, xp = validate.real_floating(x, "x", func=func)
    d, _ = validate.real_floating(d, "d", func=func)
    validate.axis(x, -1, "x", func=func)
    validate.same_shape(x, d, ("x", "d"), func=func)
    validate.finite(x, "x", func=func, xp=xp)
    validate.finite(d, "d", func=func, xp=xp)
    return xp


def _batch_scalar(value: Any, name: str, shape: tuple[int, ...], xp: Any, func: str) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = xp.asarray(float(value))
    value, _ = validate.real_floating(value, name, func=func)
    validate.finite(value, name, func=func, xp=xp)
    if value.ndim and tuple(value.shape) != shape:
        raise ValueError(
            f"{func}: {name} must be a scalar or have shape {shape}, got {tuple(value.shape)}"
        )
    return value


def momo_model_value(y: Any, d: Any, f_bar: Any, gamma_bar: Any, f_star: Any) -> Any:
    r"""The truncated model :math:`m_k(y)=\max\{\bar f_k+\langle d_k,y\rangle-\bar\gamma_k,f_*\}`.

    Parameters
    ----------
    y, d : array, shape (..., n)
        Point and averaged gradient :math:`d_k`.
    f_bar, gamma_bar, f_star : float or array, shape (...)
        :math:`\bar f_k`, :math:`\bar\gamma_k` and the lower bound :math:`f_*`.
    """
    xp = _vectors(y, d, "momo_model_value")
    shape = tuple(y.shape[:-1])
    f_bar = _batch_scalar(f_bar, "f_bar", shape, xp, "momo_model_value")
    gamma_bar = _batch_scalar(gamma_bar, "gamma_bar", shape, xp, "momo_model_value")
    f_star = _batch_scalar(f_star, "f_star", shape, xp, "momo_model_value")
    return xp.maximum(f_bar + xp.sum(d * y, axis=-1) - gamma_bar, f_star)


def momo_update(x: Any, d: Any, f_bar: Any, gamma_bar: Any, f_star: Any, alpha: Any) -> Any:
    r"""MoMo's update :math:`x_{k+1}=x_k-\min\{\alpha_k,(h_k-f_*)_+/\|d_k\|^2\}d_k`.

    Parameters
    ----------
    x : array, shape (..., n)
        Current iterate :math:`x_k`; leading axes are independent instances.
    d : array, shape (..., n)
        Averaged gradient :math:`d_k`; a zero :math:`d_k` gives a zero step.
    f_bar, gamma_bar : float or array, shape (...)
        Averaged loss :math:`\bar f_k` and :math:`\bar\gamma_k`.
    f_star : float or array, shape (...)
        Lower bound :math:`f_*` of the loss.
    alpha : float or array, shape (...)
        Learning rate :math:`\alpha_k>0`.

    Returns
    -------
    array, shape (..., n)
        :math:`x_{k+1}`.

    Raises
    ------
    ValueError
        For mismatched shapes, non-finite entries or a non-positive alpha.
    """
    xp = _vectors(x, d, "momo_update")
    shape = tuple(x.shape[:-1])
    f_bar = _batch_scalar(f_bar, "f_bar", shape, xp, "momo_update")
    gamma_bar = _batch_scalar(gamma_bar, "gamma_bar", shape, xp, "momo_update")
    f_star = _batch_scalar(f_star, "f_star", shape, xp, "momo_update")
    alpha = _batch_scalar(alpha, "alpha", shape, xp, "momo_update")
    if not bool(xp.all(alpha > 0)):
        raise ValueError(f"momo_update: alpha must be > 0, got {float(xp.min(alpha))}")
    h = f_bar + xp.sum(d * x, axis=-1) - gamma_bar
    norm2 = xp.sum(d * d, axis=-1)
    safe = xp.where(norm2 > 0, norm2, 1.0)
    polyak = xp.where(norm2 > 0, xp.clip(h - f_star, min=0.0) / safe, 0.0)
    tau = xp.minimum(alpha, polyak)
    return x - tau[..., None] * d


def momo_averages(
    f_bar: Any, gamma_bar: Any, d: Any, f: Any, g: Any, x: Any, beta: float
) -> tuple[Any, Any, Any]:
    r"""One step of MoMo's averages (Algorithm 1).

    :math:`\bar f_k=\beta\bar f_{k-1}+(1-\beta)f_k`,
    :math:`\bar\gamma_k=\beta\bar\gamma_{k-1}+(1-\beta)\langle g_k,x_k\rangle`,
    :math:`d_k=\beta d_{k-1}+(1-\beta)g_k`.

    Parameters
    ----------
    f_bar, gamma_bar : array, shape (...)
        Previous averages.
    d : array, shape (..., n)
        Previous averaged gradient.
    f : array, shape (...)
        Current loss :math:`f_k`.
    g, x : array, shape (..., n)
        Current gradient and iterate.
    beta : float
        Momentum in [0, 1).
    """
    if not isinstance(beta, int | float) or isinstance(beta, bool) or not 0 <= beta < 1:
        raise ValueError(f"momo_averages: beta must be a number in [0, 1), got {beta!r}")
    xp = _vectors(x, g, "momo_averages")
    validate.same_shape(d, g, ("d", "g"), func="momo_averages")
    inner = xp.sum(g * x, axis=-1)
    return (
        beta * f_bar + (1 - beta) * f,
        beta * gamma_bar + (1 - beta) * inner,
        beta * d + (1 - beta) * g,
    )


# ------------------------------------------------------------------ prox-closed-form

Update = Callable[[Any, Any, Any, Any, Any, Any], Any]


def update_with_norm(x: Any, d: Any, f_bar: Any, gamma_bar: Any, f_star: Any, alpha: Any) -> Any:
    r"""Control: the Polyak term divided by :math:`\|d_k\|` instead of :math:`\|d_k\|^2`."""
    xp = array_namespace(x, d)
    h = f_bar + xp.sum(d * x, axis=-1) - gamma_bar
    norm = xp.sqrt(xp.sum(d * d, axis=-1))
    tau = xp.minimum(alpha, xp.clip(h - f_star, min=0.0) / norm)
    return x - tau[..., None] * d


def update_without_positive_part(
    x: Any, d: Any, f_bar: Any, gamma_bar: Any, f_star: Any, alpha: Any
) -> Any:
    r"""Control: :math:`\min\{\alpha_k,(h_k-f_*)/\|d_k\|^2\}` (no positive part)."""
    xp = array_namespace(x, d)
    h = f_bar + xp.sum(d * x, axis=-1) - gamma_bar
    tau = xp.minimum(alpha, (h - f_star) / xp.sum(d * d, axis=-1))
    return x - tau[..., None] * d


def _prox_objective(y, x, d, f_bar, gamma_bar, f_star, alpha):
    model = np.maximum(f_bar + np.sum(d * y, axis=-1) - gamma_bar, f_star)
    return model + np.sum((y - x) ** 2, axis=-1) / (2 * alpha)


def _prox_problem(shape: tuple[int, ...]):
    """The prox problem in the step s = y - x_k (DPP: every parameter enters affinely)."""
    n = shape[0]
    d = cp.Parameter(n)
    h, f_star, inv_alpha = cp.Parameter(), cp.Parameter(), cp.Parameter(nonneg=True)
    step = cp.Variable(n)
    objective = cp.maximum(h + d @ step, f_star) + 0.5 * inv_alpha * cp.sum_squares(step)
    problem = cp.Problem(cp.Minimize(objective))
    return problem, [d, h, f_star, inv_alpha], lambda: step.value


@claim(
    "momo.prox-closed-form",
    paper=PAPER,
    source="Algorithm 1 (model derivation, Sec. 2)",
    statement=(
        r"x_{k+1}=x_k-\min\{\alpha_k,(h_k-f_*)_+/\|d_k\|^2\}d_k=\arg\min_y\max\{\bar f_k+"
        r"\langle d_k,y\rangle-\bar\gamma_k,f_*\}+\tfrac1{2\alpha_k}\|y-x_k\|^2"
    ),
    method="solver",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "norm-not-squared",
            r"x_{k+1}=x_k-\min\{\alpha_k,(h_k-f_*)_+/\|d_k\|\}d_k",
            {"update": update_with_norm},
        ),
        Control(
            "no-positive-part",
            r"x_{k+1}=x_k-\min\{\alpha_k,(h_k-f_*)/\|d_k\|^2\}d_k (moves uphill when h_k<f_*)",
            {"update": update_without_positive_part},
        ),
    ],
)
def prox_closed_form(ctx: Context, update: Update = momo_update) -> Evidence:
    r"""The candidate update against CLARABEL on the prox problem, in the three regimes.

    Instances (n = 5) are drawn so that a third has the cap :math:`\alpha_k` active, a
    third the Polyak step, and a third :math:`h_k<f_*` (zero step). Let F be the prox
    objective, :math:`\hat y` the candidate and :math:`y_s` the solver's point. F is
    :math:`1/\alpha_k`-strongly convex, so if :math:`\hat y` is the minimiser then
    (i) :math:`F(\hat y)\le F(y_s)` and (ii)
    :math:`\|y_s-\hat y\|^2/(2\alpha_k)\le F(y_s)-F(\hat y)`, whatever the solver's
    accuracy. Both are checked with the rounding allowance of evaluating F:
    :math:`16u(|\bar f_k|+|\bar\gamma_k|+|f_*|+\|d\|\|y\|+\|y-x\|^2/\alpha)`
    (about 1e-14 here). A wrong candidate is beaten by the solver (gap 1e-8) by far
    more than that.
    """
    rng = ctx.rng(0)
    count, n = ctx.pick(30, 600), 5
    x = rng.normal(size=(count, n))
    d = rng.normal(size=(count, n)) * rng.uniform(0.2, 3.0, size=(count, 1))
    f_star = rng.uniform(-1.0, 1.0, count)
    gamma_bar = rng.normal(size=count)
    norm2 = np.sum(d * d, axis=1)
    regime = np.arange(count) % 3  # 0: cap, 1: Polyak, 2: h < f_*
    gap = rng.uniform(0.5, 3.0, count)  # |h - f_*|
    h = np.where(regime == 2, f_star - gap, f_star + gap)
    polyak = gap / norm2
    alpha = np.where(
        regime == 0, polyak * rng.uniform(0.1, 0.9, count), polyak * rng.uniform(1.2, 5.0, count)
    )
    alpha = np.where(regime == 2, rng.uniform(0.1, 3.0, count), alpha)
    f_bar = h - np.sum(d * x, axis=1) + gamma_bar
    candidate = np.asarray(
        to_numpy(update(*(ctx.asarray(a) for a in (x, d, f_bar, gamma_bar, f_star, alpha)))),
        dtype=float,
    )
    solved = x + checks.solve_each(_prox_problem, d, h, f_star, 1.0 / alpha)
    f_candidate = _prox_objective(candidate, x, d, f_bar, gamma_bar, f_star, alpha)
    f_solver = _prox_objective(solved, x, d, f_bar, gamma_bar, f_star, alpha)
    scale = (
        np.abs(f_bar)
        + np.abs(gamma_bar)
        + np.abs(f_star)
        + np.sqrt(norm2)
        * np.maximum(np.linalg.norm(candidate, axis=1), np.linalg.norm(solved, axis=1))
        + np.sum((candidate - x) ** 2 + (solved - x) ** 2, axis=1) / alpha
    )
    rounding = 16 * UNIT_ROUNDOFF * scale
    inputs = {
        "x": x,
        "d": d,
        "f_bar": f_bar,
        "gamma_bar": gamma_bar,
        "f_star": f_star,
        "alpha": alpha,
        "regime": regime,
    }
    distance2 = np.sum((solved - candidate) ** 2, axis=1) / (2 * alpha)
    return checks.combine(
        {
            "F(candidate) <= F(solver)": checks.nonnegative(
                f_solver - f_candidate + rounding, inputs=inputs
            ),
            "||y_s - candidate||^2 / (2 alpha) <= F(y_s) - F(candidate)": checks.nonnegative(
                f_solver - f_candidate - distance2 + rounding, inputs=inputs
            ),
        }
    )


__all__ = ["PAPER", "momo_averages", "momo_model_value", "momo_update"]
