r"""Projected online gradient descent (Zinkevich 2003), vectorised over replicates.

OGD plays :math:`x_t \in X` and then steps along the observed gradient,

.. math:: x_{t+1} = \Pi_X\bigl(x_t - \eta_t \nabla f_t(x_t)\bigr),
          \qquad \eta_t = \frac{D}{G\sqrt t},

with :math:`D` the diameter of :math:`X`, :math:`G` the gradient scale and
:math:`\Pi_X` the Euclidean projection. Its static regret is
:math:`O(DG\sqrt T)` against every sequence, and it is the baseline (and the negative
control) of the adaptive methods of the other modules.

:func:`ogd_linear_regret` runs OGD on linear losses :math:`f_t(x) = \langle g_t, x\rangle`
over the ball of radius :math:`\rho` and returns the regret at the requested horizons;
the minimum over the ball is :math:`-\rho\|\sum_t g_t\|`, kept in O(1) per horizon by a
running sum. The study ``online_regret.ogd`` runs it on the noise floor of the SEA
model (:mod:`~simulations.online_regret.oomd_sea`, environment SEA-0): i.i.d. gradients
:math:`g_t \sim N(0, (\sigma^2/d) I_d)`, whose expected regret is exactly
:math:`\rho\sigma\sqrt T\kappa_d` for every non-anticipating learner. The benchmark
``benchmarks/bench_studies.py`` times :func:`ogd_linear_regret` on R replicates at once
against a Python loop that calls it on one replicate at a time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from simulations.online_regret.harness import (
    Recorder,
    check_count,
    check_horizons,
    check_positive,
    log_grid,
    normal_stream,
    project_to_ball,
    row_sum,
    vector_norm,
)
from theorycheck.registry import study

STUDY = "online_regret.ogd"


def ogd_step(x: Any, gradient: Any, step: float, radius: float, xp: ModuleType) -> Any:
    r"""One projected step :math:`\Pi_X(x - \eta g)` on the ball of radius ``radius``.

    Parameters
    ----------
    x, gradient : array, shape (R, d)
        Current points and gradients, replicates on axis 0.
    step : float
        The step size :math:`\eta_t > 0`.
    radius : float
        Radius :math:`\rho` of the ball :math:`X`.
    xp : module
        Array namespace.
    """
    return project_to_ball(x - step * gradient, radius, xp)


def ogd_linear_regret(
    gradient_at: Callable[[int], Any],
    *,
    replicates: int,
    dimension: int,
    radius: float,
    step_scale: float,
    horizons: Sequence[int],
    xp: ModuleType,
) -> dict[str, Any]:
    r"""Regret of OGD on linear losses :math:`\langle g_t, x\rangle` over a ball.

    Parameters
    ----------
    gradient_at : callable
        ``gradient_at(t)`` returns the gradients :math:`g_t` of step ``t`` (1-based),
        shape (R, d), on ``xp``.
    replicates, dimension : int
        R and d.
    radius : float
        Radius :math:`\rho` of :math:`X`; the diameter is :math:`D = 2\rho`.
    step_scale : float
        :math:`c` in :math:`\eta_t = c/\sqrt t` (:math:`D/G` for the textbook tuning).
    horizons : sequence of int
        Horizons T at which the regret is recorded (the run goes to the largest).
    xp : module
        Array namespace.

    Returns
    -------
    dict
        ``{"T": (H,), "regret": (R, H)}`` with
        :math:`R_T = \sum_{t\le T}\langle g_t, x_t\rangle + \rho\|\sum_{t\le T} g_t\|`.

    Raises
    ------
    ValueError
        For non-positive radius or step scale, a bad count, or bad horizons.
    """
    where = "ogd_linear_regret"
    replicates = check_count(replicates, "replicates", where=where)
    dimension = check_count(dimension, "dimension", where=where)
    radius = check_positive(radius, "radius", where=where)
    step_scale = check_positive(step_scale, "step_scale", where=where)
    grid = check_horizons(horizons, where=where)
    recorder = Recorder(grid, xp)
    x = xp.zeros((replicates, dimension), dtype=xp.float64)
    gradient_sum = xp.zeros((replicates, dimension), dtype=xp.float64)
    loss = xp.zeros((replicates,), dtype=xp.float64)
    for t in range(1, grid[-1] + 1):
        gradient = gradient_at(t)
        loss = loss + row_sum(gradient * x, xp)
        gradient_sum = gradient_sum + gradient
        x = ogd_step(x, gradient, step_scale / math.sqrt(t), radius, xp)
        if recorder.due(t):
            recorder.record(regret=loss + radius * vector_norm(gradient_sum, xp)[:, 0])
    return recorder.curves()


def noise_floor_constant(dimension: int) -> float:
    r""":math:`\kappa_d=\sqrt{2/d}\,\Gamma((d+1)/2)/\Gamma(d/2)=E\|Z\|/\sqrt d`, Z ~ N(0, I_d)."""
    dimension = check_count(dimension, "dimension", where="noise_floor_constant")
    return math.sqrt(2.0 / dimension) * math.exp(
        math.lgamma((dimension + 1) / 2) - math.lgamma(dimension / 2)
    )


def _simulate_ogd(
    config: Mapping[str, Any], seeds: Sequence[np.random.SeedSequence], xp: ModuleType
) -> dict[str, Any]:
    """OGD with eta_t = D/(sigma sqrt t) on the SEA-0 noise floor (linear Gaussian losses)."""
    where = f"study {STUDY}"
    sigma = check_positive(config["sigma"], "sigma", where=where)
    dimension = check_count(config["d"], "d", where=where)
    radius = check_positive(config.get("radius", 1.0), "radius", where=where)
    noise = normal_stream(seeds, xp, 0, (dimension,))
    scale = sigma / math.sqrt(dimension)
    return ogd_linear_regret(
        lambda t: scale * noise.at(t),
        replicates=len(seeds),
        dimension=dimension,
        radius=radius,
        step_scale=2.0 * radius / sigma,
        horizons=config["horizons"],
        xp=xp,
    )


study(
    STUDY,
    grid=[{"sigma": 1.0, "d": 10, "horizons": log_grid(2, 4)}],
    replicates=256,
    batch_size=256,
    axis="T",
    description="OGD on the SEA-0 noise floor, d = 10: E[R_T] = rho sigma sqrt(T) kappa_d",
    claimed_exponent=lambda config, metric: (0.5, 0.07) if metric == "regret" else None,
)(_simulate_ogd)
