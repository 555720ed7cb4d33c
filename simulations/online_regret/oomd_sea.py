r"""Optimistic online mirror descent in the SEA model (Chen, Zhang, Tu, Zhao, Zhang, ICML 2023).

Specification: ``shared/claims/online_regret.md`` §1 (seed paper 19, catalog key
``oomd_sea``; arXiv 2302.04552).

**Model** (stochastically extended adversarial, after Sachs et al. 2022). Each round
nature picks :math:`D_t`; the learner plays :math:`x_t\in X`, then :math:`f_t\sim D_t` is
drawn and its gradient observed. With :math:`F_t = E_{f\sim D_t} f`,
:math:`\sigma^2_{1:T} = E\sum_t \sigma_t^2` (stochastic variance) and
:math:`\Sigma^2_{1:T} = E\sum_t \sup_x\|\nabla F_t(x)-\nabla F_{t-1}(x)\|^2`
(adversarial variation, :math:`\nabla F_0 = 0`).

**Algorithm** (Euclidean optimistic OMD; §1.2). With hint :math:`M_t=\nabla f_{t-1}(x_{t-1})`,
:math:`M_1 = 0`:

.. math:: x_t = \Pi_X(\hat x_t - \eta_t M_t),\qquad
          \hat x_{t+1} = \Pi_X(\hat x_t - \eta_t\nabla f_t(x_t)).

Step sizes: :math:`\eta_t = D/\sqrt{\delta + \sum_{s<t}\|\nabla f_s(x_s)-M_s\|^2}` for
convex losses (uncapped here: the losses are linear, L = 0), and
:math:`\eta_t = 1/(t+1)` for the strongly convex quadratics (λ = L = 1). The baseline,
plain OGD, uses :math:`\eta_t = c/\sqrt t`.

**Environments** (§1.4), every one with provably positive regret:

- ``noise-floor`` (SEA-0): :math:`f_t(x)=\langle\xi_t,x\rangle`,
  :math:`\xi_t\sim N(0,(\sigma^2/d)I_d)`,
  X the ball of radius ρ. For *every* non-anticipating learner
  :math:`E[R_T] = \rho\sigma\sqrt T\,\kappa_d` exactly (the lower bound that makes
  :math:`\sqrt{\sigma^2_{1:T}}` tight).
- ``bilinear`` (SEA-1): noisy self-play of matching pennies on [-1, 1]; player 1 sees
  :math:`f_t(x) = (y_t + a(-1)^t + \xi_t)x` and player 2 the mirror image, with
  :math:`\xi\sim N(0,\sigma^2)`. The stochastic variance is :math:`\sigma^2 T` and the
  adversarial variation :math:`\Sigma^2_{1:T}=\sum_t(y_t + a(-1)^t - y_{t-1} - a(-1)^{t-1})^2`
  (exact for bilinear losses) is measured online. ``sigma`` sweeps the stochastic
  variance; ``variation`` (the amplitude a of a deterministic alternating perturbation
  of both players' losses, :math:`\Sigma^2_{1:T}\approx 4a^2T`) sweeps the adversarial
  variation at :math:`\sigma = 0`. Initial points are uniform on [-1, 1]² per replicate.
- ``quadratic`` (SEA-2): :math:`f_t(x)=\tfrac12\|x-c\|^2+\langle\xi_t,x\rangle` on the ball of
  radius 2 in :math:`R^5`, :math:`c = 0.3\cdot\mathbf 1`, :math:`\xi_t\sim N(0,(\sigma^2/d)I)`;
  the comparator is the projection of :math:`c - S_T/T` (exact).

The exp-concave design (SEA-3, optimistic ONS with projections in the :math:`U_t` norm)
is not implemented; see the family report.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from simulations.online_regret.harness import (
    EXCLUSION,
    ConfigRuns,
    LogFit,
    Recorder,
    bounded_ratio,
    check_choice,
    check_count,
    check_horizons,
    check_nonnegative,
    check_positive,
    clip,
    decide,
    fit,
    initial_draws,
    log_grid,
    logarithmic_fit,
    normal_stream,
    one_sided,
    project_to_ball,
    row_sum,
    two_sided,
    vector_norm,
)
from simulations.online_regret.ogd import noise_floor_constant, ogd_step
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.rates import RateFit, fit_exponent
from theorycheck.registry import claim, study

PAPER = "oomd_sea"
STUDY = "online_regret.oomd-sea"
ENVIRONMENTS = ("noise-floor", "bilinear", "quadratic")
ALGORITHMS = ("optimistic", "ogd")

NOISE_FLOOR_RADIUS = 1.0
"""ρ of SEA-0 (D = 2ρ)."""
CONVEX_DELTA = 1.0
"""δ in the convex step size (spec: "δ = G² or 1")."""
BILINEAR_OGD_STEP = 0.5
"""c of the plain-OGD baseline :math:`\\eta_t = c/\\sqrt t` in SEA-1 (spec)."""
QUADRATIC_RADIUS = 2.0
QUADRATIC_CENTRE = 0.3
QUADRATIC_OGD_STEP = 1.0
"""c of the OGD baseline :math:`\\eta_t = c/\\sqrt t` in SEA-2 (spec)."""


def sea_config(
    env: str,
    algorithm: str,
    horizons: Sequence[int],
    *,
    sigma: float = 0.0,
    variation: float = 0.0,
    d: int = 1,
) -> dict[str, Any]:
    """A configuration of the study (every configuration has the same keys)."""
    return {
        "env": env,
        "algorithm": algorithm,
        "sigma": float(sigma),
        "variation": float(variation),
        "d": int(d),
        "horizons": list(horizons),
    }


# ------------------------------------------------------------------------------ algorithms


def convex_step(error_sum: Any, diameter: float, delta: float, xp: ModuleType) -> Any:
    r""":math:`\eta_t = D/\sqrt{\delta + \sum_{s<t}\|\nabla f_s(x_s) - M_s\|^2}` (§1.2, convex)."""
    return diameter / xp.sqrt(delta + error_sum)


def noise_floor_regret(
    seeds: Sequence[np.random.SeedSequence],
    xp: ModuleType,
    *,
    algorithm: str,
    sigma: float,
    dimension: int,
    horizons: Sequence[int],
    radius: float = NOISE_FLOOR_RADIUS,
) -> dict[str, Any]:
    r"""SEA-0: regret of optimistic OMD or OGD on :math:`\langle\xi_t, x\rangle`, ‖x‖ <= ρ.

    Returns ``{"T": (H,), "regret": (R, H)}`` with
    :math:`R_T = \sum_t\langle\xi_t,x_t\rangle + \rho\|\sum_t\xi_t\|`.
    """
    where = "noise_floor_regret"
    algorithm = check_choice(algorithm, ALGORITHMS, "algorithm", where=where)
    sigma = check_positive(sigma, "sigma", where=where)
    dimension = check_count(dimension, "dimension", where=where)
    grid = check_horizons(horizons, where=where)
    replicates = len(seeds)
    noise = normal_stream(seeds, xp, 0, (dimension,))
    scale = sigma / math.sqrt(dimension)
    diameter = 2.0 * radius
    recorder = Recorder(grid, xp)
    shape = (replicates, dimension)
    x = xp.zeros(shape, dtype=xp.float64)
    x_aux = xp.zeros(shape, dtype=xp.float64)
    hint = xp.zeros(shape, dtype=xp.float64)
    error_sum = xp.zeros((replicates, 1), dtype=xp.float64)
    gradient_sum = xp.zeros(shape, dtype=xp.float64)
    loss = xp.zeros((replicates,), dtype=xp.float64)
    for t in range(1, grid[-1] + 1):
        if algorithm == "optimistic":
            step = convex_step(error_sum, diameter, CONVEX_DELTA, xp)
            x = project_to_ball(x_aux - step * hint, radius, xp)
        gradient = scale * noise.at(t)
        loss = loss + row_sum(gradient * x, xp)
        gradient_sum = gradient_sum + gradient
        if algorithm == "optimistic":
            x_aux = project_to_ball(x_aux - step * gradient, radius, xp)
            miss = gradient - hint
            error_sum = error_sum + row_sum(miss * miss, xp)[:, None]
            hint = gradient
        else:
            x = ogd_step(x, gradient, diameter / (sigma * math.sqrt(t)), radius, xp)
        if recorder.due(t):
            recorder.record(regret=loss + radius * vector_norm(gradient_sum, xp)[:, 0])
    return recorder.curves()


def bilinear_regret(
    seeds: Sequence[np.random.SeedSequence],
    xp: ModuleType,
    *,
    algorithm: str,
    sigma: float,
    variation: float,
    horizons: Sequence[int],
) -> dict[str, Any]:
    r"""SEA-1: player 1's regret in noisy self-play of matching pennies.

    Both players run ``algorithm``: optimistic OGD with
    :math:`\eta_t = 1/\sqrt{1+\sum_{s<t}(g_s-M_s)^2}` or plain OGD with
    :math:`\eta_t = 0.5/\sqrt t`. Player 1's gradient is
    :math:`g_t = y_t + a(-1)^t + \xi_t`, player 2's :math:`-(x_t + a(-1)^t + \xi'_t)`.

    Returns
    -------
    dict
        ``"regret"``: :math:`\sum_t g_t x_t + |\sum_t g_t|`; ``"variation_sum"``: the online
        :math:`\Sigma^2_{1:T} = \sum_t(\nabla F_t - \nabla F_{t-1})^2` with
        :math:`\nabla F_t = y_t + a(-1)^t`, :math:`\nabla F_0 = 0`; both (R, H).
    """
    where = "bilinear_regret"
    algorithm = check_choice(algorithm, ALGORITHMS, "algorithm", where=where)
    sigma = check_nonnegative(sigma, "sigma", where=where)
    variation = check_nonnegative(variation, "variation", where=where)
    grid = check_horizons(horizons, where=where)
    replicates = len(seeds)
    start = initial_draws(seeds, xp, lambda g: g.uniform(-1.0, 1.0, 2))
    x_aux, y_aux = start[:, 0], start[:, 1]
    x, y = x_aux, y_aux
    zeros = xp.zeros((replicates,), dtype=xp.float64)
    hint_x, hint_y, error_x, error_y = zeros, zeros, zeros, zeros
    loss, gradient_sum, variation_sum, previous_mean = zeros, zeros, zeros, zeros
    noise_x = normal_stream(seeds, xp, 0) if sigma > 0 else None
    noise_y = normal_stream(seeds, xp, 1) if sigma > 0 else None
    recorder = Recorder(grid, xp)
    for t in range(1, grid[-1] + 1):
        if algorithm == "optimistic":
            step_x = 1.0 / xp.sqrt(1.0 + error_x)
            step_y = 1.0 / xp.sqrt(1.0 + error_y)
            x = clip(x_aux - step_x * hint_x, -1.0, 1.0, xp)
            y = clip(y_aux - step_y * hint_y, -1.0, 1.0, xp)
        alternating = variation * (-1.0) ** t
        mean_gradient = y + alternating
        gradient_x = mean_gradient
        gradient_y = -(x + alternating)
        if noise_x is not None:
            gradient_x = gradient_x + sigma * noise_x.at(t)
            gradient_y = gradient_y - sigma * noise_y.at(t)
        change = mean_gradient - previous_mean
        variation_sum = variation_sum + change * change
        previous_mean = mean_gradient
        loss = loss + gradient_x * x
        gradient_sum = gradient_sum + gradient_x
        if algorithm == "optimistic":
            x_aux = clip(x_aux - step_x * gradient_x, -1.0, 1.0, xp)
            y_aux = clip(y_aux - step_y * gradient_y, -1.0, 1.0, xp)
            error_x = error_x + (gradient_x - hint_x) ** 2
            error_y = error_y + (gradient_y - hint_y) ** 2
            hint_x, hint_y = gradient_x, gradient_y
        else:
            step = BILINEAR_OGD_STEP / math.sqrt(t)
            x, y = (
                clip(x - step * gradient_x, -1.0, 1.0, xp),
                clip(y - step * gradient_y, -1.0, 1.0, xp),
            )
        if recorder.due(t):
            recorder.record(regret=loss + xp.abs(gradient_sum), variation_sum=variation_sum)
    return recorder.curves()


def quadratic_regret(
    seeds: Sequence[np.random.SeedSequence],
    xp: ModuleType,
    *,
    algorithm: str,
    sigma: float,
    dimension: int,
    horizons: Sequence[int],
) -> dict[str, Any]:
    r"""SEA-2: regret on :math:`\tfrac12\|x-c\|^2+\langle\xi_t,x\rangle` over the ball of radius 2.

    ``algorithm`` is optimistic OMD with :math:`\eta_t = 1/(t+1)` or OGD with
    :math:`\eta_t = 1/\sqrt t`. The comparator minimises
    :math:`\tfrac T2\|x - (c - S_T/T)\|^2 + \text{const}` over the ball: the projection of
    :math:`c - S_T/T`, so the regret is exact at every horizon.
    """
    where = "quadratic_regret"
    algorithm = check_choice(algorithm, ALGORITHMS, "algorithm", where=where)
    sigma = check_nonnegative(sigma, "sigma", where=where)
    dimension = check_count(dimension, "dimension", where=where)
    grid = check_horizons(horizons, where=where)
    replicates = len(seeds)
    shape = (replicates, dimension)
    centre = xp.full((1, dimension), QUADRATIC_CENTRE, dtype=xp.float64)
    noise = normal_stream(seeds, xp, 0, (dimension,))
    scale = sigma / math.sqrt(dimension)
    x = xp.zeros(shape, dtype=xp.float64)
    x_aux = xp.zeros(shape, dtype=xp.float64)
    hint = xp.zeros(shape, dtype=xp.float64)
    noise_sum = xp.zeros(shape, dtype=xp.float64)
    loss = xp.zeros((replicates,), dtype=xp.float64)
    recorder = Recorder(grid, xp)
    for t in range(1, grid[-1] + 1):
        if algorithm == "optimistic":
            step = 1.0 / (t + 1)
            x = project_to_ball(x_aux - step * hint, QUADRATIC_RADIUS, xp)
        xi = scale * noise.at(t)
        offset = x - centre
        gradient = offset + xi
        loss = loss + row_sum(0.5 * offset * offset + xi * x, xp)
        noise_sum = noise_sum + xi
        if algorithm == "optimistic":
            x_aux = project_to_ball(x_aux - step * gradient, QUADRATIC_RADIUS, xp)
            hint = gradient
        else:
            step = QUADRATIC_OGD_STEP / math.sqrt(t)
            x = ogd_step(x, gradient, step, QUADRATIC_RADIUS, xp)
        if recorder.due(t):
            best = project_to_ball(centre - noise_sum / t, QUADRATIC_RADIUS, xp)
            gap = best - centre
            best_loss = row_sum(0.5 * t * gap * gap + noise_sum * best, xp)
            recorder.record(regret=loss - best_loss)
    return recorder.curves()


def simulate_sea(
    config: Mapping[str, Any], seeds: Sequence[np.random.SeedSequence], xp: ModuleType
) -> dict[str, Any]:
    """The study's simulate: dispatch on ``config["env"]`` (see the module docstring)."""
    where = f"study {STUDY}"
    env = check_choice(config.get("env"), ENVIRONMENTS, "environment", where=where)
    algorithm = check_choice(config.get("algorithm"), ALGORITHMS, "algorithm", where=where)
    horizons = check_horizons(config.get("horizons"), where=where)
    if env == "noise-floor":
        return noise_floor_regret(
            seeds,
            xp,
            algorithm=algorithm,
            sigma=config["sigma"],
            dimension=config["d"],
            horizons=horizons,
        )
    if env == "bilinear":
        return bilinear_regret(
            seeds,
            xp,
            algorithm=algorithm,
            sigma=config["sigma"],
            variation=config["variation"],
            horizons=horizons,
        )
    return quadratic_regret(
        seeds,
        xp,
        algorithm=algorithm,
        sigma=config["sigma"],
        dimension=config["d"],
        horizons=horizons,
    )


# ------------------------------------------------------------------------------ the study

NOISE_FLOOR_HORIZONS = log_grid(2, 4)
BILINEAR_HORIZONS = log_grid(3, 5)
QUADRATIC_HORIZONS = log_grid(2, 4.5)
NOISE_FLOOR_SIGMAS = (0.01, 0.03, 0.1, 0.3, 1.0)
BILINEAR_SIGMAS = (0.0, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
BILINEAR_VARIATIONS = (0.1, 0.3, 1.0, 3.0)
QUADRATIC_SIGMAS = (1.0, 0.3, 0.1)


def _full_grid() -> list[dict[str, Any]]:
    grid = [
        sea_config("noise-floor", algorithm, NOISE_FLOOR_HORIZONS, sigma=s, d=d)
        for d in (1, 5)
        for s in NOISE_FLOOR_SIGMAS
        for algorithm in ALGORITHMS
    ]
    grid += [
        sea_config("bilinear", "optimistic", BILINEAR_HORIZONS, sigma=s) for s in BILINEAR_SIGMAS
    ]
    grid += [
        sea_config("bilinear", "optimistic", BILINEAR_HORIZONS, variation=a)
        for a in BILINEAR_VARIATIONS
    ]
    grid += [
        sea_config("bilinear", "ogd", BILINEAR_HORIZONS, sigma=s, variation=a)
        for s, a in ((0.0, 0.0), (0.01, 0.0), (1.0, 0.0), (0.0, 1.0))
    ]
    grid += [
        sea_config("quadratic", algorithm, QUADRATIC_HORIZONS, sigma=s, d=5)
        for algorithm in ALGORITHMS
        for s in QUADRATIC_SIGMAS
    ]
    return grid


def asymptotic(config: Mapping[str, Any], first_horizon: float) -> bool:
    r"""Whether the leading term of the SEA-1 bound dominates from ``first_horizon`` on.

    The bound :math:`\sqrt{\sigma^2T} + \sqrt{\Sigma^2_{1:T}} + 1` switches from its
    constant to its growing terms; the study states an exponent 1/2 only where the
    growing term is at least 10 times the constant over the fit window
    (:math:`\sigma\sqrt{T_0}\ge 10` or :math:`2a\sqrt{T_0}\ge 10`; smaller σ and a are
    in transition and get no claimed exponent).
    """
    growth = max(config["sigma"], 2.0 * config["variation"]) * math.sqrt(first_horizon)
    return growth >= 10.0


def claimed_exponent(config: Mapping[str, Any], metric: str) -> tuple[float, float] | None:
    """The exponent a claim states for a curve of the study (shown by ``theorycheck study``)."""
    if metric != "regret":
        return None
    env, algorithm = config["env"], config["algorithm"]
    if env == "noise-floor":
        return (0.5, 0.07)
    if env == "bilinear":
        if algorithm == "ogd":
            return (0.5, EXCLUSION)  # the baseline does not adapt: slope >= 0.35
        if config["sigma"] == 0 and config["variation"] == 0:
            return (0.0, 0.1)
        # the table's configurations hold scalars only: the study's own fit window
        return (0.5, 0.07) if asymptotic(config, BILINEAR_HORIZONS[0]) else None
    if algorithm == "optimistic":
        return (0.0, 0.2)  # logarithmic: local log-log slope below 0.2
    return (0.5, EXCLUSION) if config["sigma"] >= 1 else None


study(
    STUDY,
    grid=_full_grid(),
    replicates=256,
    batch_size=256,
    axis="T",
    description=(
        "optimistic OMD vs OGD in the SEA model: noise floor (SEA-0), noisy self-play "
        "with sweeps over sigma and the variation (SEA-1), strongly convex quadratics (SEA-2)"
    ),
    claimed_exponent=claimed_exponent,
)(simulate_sea)


# ------------------------------------------------------------------------------ claims


def _runs(ctx: Context, replicates: tuple[int, int]) -> ConfigRuns:
    return ConfigRuns(ctx, STUDY, replicates)


def _label(config: Mapping[str, Any]) -> str:
    parts = [config["env"], config["algorithm"], f"sigma={config['sigma']:g}"]
    if config["env"] == "bilinear":
        parts.append(f"a={config['variation']:g}")
    else:
        parts.append(f"d={config['d']}")
    return " ".join(parts)


# ---- SEA-0: the noise floor ------------------------------------------------------------


@claim(
    "online_regret.regret-sea-noise-floor",
    paper=PAPER,
    source="derived (spec §1.4, SEA-0): the lower bound that makes sqrt(sigma^2_{1:T}) tight",
    statement=(
        r"f_t=\langle\xi_t,x\rangle,\ \xi_t\sim N(0,\tfrac{\sigma^2}{d}I),\ \|x\|\le\rho:\ "
        r"E[R_T]=\rho\sigma\sqrt{T}\,\kappa_d,\ "
        r"\kappa_d=\sqrt{2/d}\,\Gamma(\tfrac{d+1}2)/\Gamma(\tfrac d2)"
    ),
    method="monte-carlo",
    provenance="derived",
    controls=[
        Control(
            "variance-scaling",
            r"E[R_T]=\rho\sigma^2\sqrt{T}\kappa_d (the variance, not the standard deviation)",
            {"sigma_exponent": 2.0},
        ),
    ],
)
def noise_floor(ctx: Context, sigma_exponent: float = 1.0) -> Evidence:
    r"""Slope 1/2 in T, slope ``sigma_exponent`` in σ, and the mean within 3 bootstrap SE.

    For each (σ, d) the regret of optimistic OMD (and of OGD at full scale) must have
    a T-exponent meeting 1/2 ± 0.07 (test type 1), and its mean at the largest horizon
    must lie within 3 bootstrap standard errors of :math:`\rho\sigma^{p}\sqrt T\kappa_d`
    with p = ``sigma_exponent``; the exponent of the mean regret at the largest horizon
    in σ must meet p ± 0.07. The formula is exact (no constant fitted).
    """
    horizons = ctx.pick(log_grid(2, 3.5), NOISE_FLOOR_HORIZONS)
    sigmas = ctx.pick((0.1, 1.0), NOISE_FLOOR_SIGMAS)
    algorithms = ctx.pick(("optimistic",), ALGORITHMS)
    runs = _runs(ctx, (128, 256))
    configs = [
        sea_config("noise-floor", a, horizons, sigma=s, d=d)
        for d in (1, 5)
        for a in algorithms
        for s in sigmas
    ]
    parts: list = []

    def slope_in_t(config: dict, stream: int) -> Evidence:
        curves = runs(config)
        return two_sided(fit(curves.horizons, curves["regret"], ctx, stream), 0.5)

    def formula(config: dict) -> Evidence:
        curves = runs(config)
        final = curves["regret"][:, -1]
        rng = ctx.rng(1000)
        boot = final[rng.integers(0, final.shape[0], (1000, final.shape[0]))].mean(axis=1)
        error = float(boot.std())
        predicted = (
            NOISE_FLOOR_RADIUS
            * config["sigma"] ** sigma_exponent
            * math.sqrt(curves.horizons[-1])
            * noise_floor_constant(config["d"])
        )
        z = abs(float(final.mean()) - predicted) / error
        return Evidence(
            holds=z <= 3.0,
            margin=3.0 - z,
            cases=int(final.shape[0]),
            tolerance=3.0,
            counterexample=None if z <= 3 else {"mean": float(final.mean()), "formula": predicted},
            details={"mean": float(final.mean()), "formula": predicted, "bootstrap SE": error},
        )

    def slope_in_sigma(d: int, algorithm: str, stream: int) -> Evidence:
        chosen = [c for c in configs if c["d"] == d and c["algorithm"] == algorithm]
        finals = np.stack([runs(c)["regret"][:, -1] for c in chosen], axis=1)  # (R, S)
        fitted = fit_exponent(np.asarray(sigmas), finals, rng=ctx.rng(stream))
        return two_sided(fitted, sigma_exponent)

    for index, config in enumerate(configs):
        label = _label(config)
        parts.append((f"{label}: T-exponent", lambda c=config, i=index: slope_in_t(c, i)))
        parts.append((f"{label}: mean vs formula", lambda c=config: formula(c)))
    for index, (d, algorithm) in enumerate((d, a) for d in (1, 5) for a in algorithms):
        parts.append(
            (
                f"d={d} {algorithm}: sigma-exponent",
                lambda d=d, a=algorithm, i=index: slope_in_sigma(d, a, 500 + i),
            )
        )
    # the sigma exponent first: it decides a control without running every part
    parts.sort(key=lambda part: "sigma-exponent" not in part[0])
    return decide(parts)


# ---- SEA-1: the convex bound ------------------------------------------------------------

BOUND_TERMS = ("variance", "variation", "constant")

RATIO_DESIGNS_QUICK = ((0.0, 1.0), (3.0, 0.0), (0.0, 3.0))
RATIO_DESIGNS_FULL = ((0.0, 0.3), (0.0, 1.0), (1.0, 0.0), (3.0, 0.0), (0.0, 3.0))
"""(sigma, a) designs of the bounded-ratio test, besides sigma = a = 0.

The ratio test is an asymptotic statement: it is applied where the growing term of
the bound dominates its other terms over the fit window (at least ~10 times:
sigma sqrt(T_0) against 1 + sqrt(Sigma^2) with the noise-driven variation
Sigma^2 ~ log T of self-play, or 2a sqrt(T_0) against 1). At quick scale (T_0 = 10^2.5)
sigma = 1 misses it (17.8 against ~4.2: the slowly growing lower-order terms tilt the
ratio's slope by ~0.04 over one decade), so the stochastic design uses sigma = 3;
sigma = 1 enters at full scale (T_0 = 10^3)."""


def sea_bound(
    horizons: np.ndarray, sigma: float, variation_mean: np.ndarray, terms: Sequence[str]
) -> np.ndarray:
    r"""The convex SEA bound with unit constants: :math:`\sqrt{\sigma^2 T}+\sqrt{\Sigma^2_{1:T}}+1`.

    ``terms`` selects the summands (``variance``, ``variation``, ``constant``), so a
    control can state the bound without one of them.
    """
    bound = np.zeros_like(horizons, dtype=float)
    if "variance" in terms:
        bound = bound + np.sqrt(sigma**2 * horizons)
    if "variation" in terms:
        bound = bound + np.sqrt(variation_mean)
    if "constant" in terms:
        bound = bound + 1.0
    return bound


@claim(
    "online_regret.regret-sea-convex",
    paper=PAPER,
    source="main theorem, convex and smooth (§1.3; numbering unconfirmed)",
    statement=(
        r"E[R_T]\le O\big(D\sqrt{\sigma^2_{1:T}}+D\sqrt{\Sigma^2_{1:T}}+LD^2+D\sqrt\delta\big)"
        r"\ \text{for optimistic OMD}"
    ),
    method="monte-carlo",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "plain-ogd",
            r"plain OGD (\eta_t=0.5/\sqrt t) enjoys the same bound (it does not adapt)",
            {"algorithm": "ogd"},
        ),
        Control(
            "no-variation-term",
            r"E[R_T]\le O(D\sqrt{\sigma^2_{1:T}}+LD^2): the stochastic rate alone",
            {"bound_terms": ("variance", "constant")},
        ),
        Control(
            "no-variance-term",
            r"E[R_T]\le O(D\sqrt{\Sigma^2_{1:T}}+LD^2): the adversarial rate alone",
            {"bound_terms": ("variation", "constant")},
        ),
    ],
)
def sea_convex(
    ctx: Context, algorithm: str = "optimistic", bound_terms: Sequence[str] = BOUND_TERMS
) -> Evidence:
    r"""SEA-1 self-play: O(1) without noise and variation, bounded ratio, slope 1/2 at σ = 1.

    Parts, in order: (i) at σ = a = 0 the regret is O(1): the upper end of its
    exponent interval is at most 0 + 0.1 (the spec's "local slope < 0.1"); (ii) the
    ratio :math:`E[R_T]/B_T`, :math:`B_T` = :func:`sea_bound` with the chosen terms,
    is bounded (:func:`~simulations.online_regret.harness.bounded_ratio`: the slope of
    :math:`\log(R_T/B_T)` is at most 0.05), at σ = a = 0 and on the designs
    :data:`RATIO_DESIGNS_QUICK` / :data:`RATIO_DESIGNS_FULL`, where the bound's growing
    term dominates over the fit window; (iii) at σ = 1 the exponent meets 1/2 ± 0.07.
    The stochastic variance is :math:`\sigma^2 T`; :math:`\Sigma^2_{1:T}` is the
    replicate mean of the online variation. The largest mean ratio is reported.
    """
    check_choice(algorithm, ALGORITHMS, "algorithm", where="regret-sea-convex")
    for term in bound_terms:
        check_choice(term, BOUND_TERMS, "bound term", where="regret-sea-convex")
    horizons = ctx.pick(log_grid(2.5, 3.5), BILINEAR_HORIZONS)
    runs = _runs(ctx, (256, 256))
    zero = sea_config("bilinear", algorithm, horizons)
    ratio_configs = [zero] + [
        sea_config("bilinear", algorithm, horizons, sigma=s, variation=a)
        for s, a in ctx.pick(RATIO_DESIGNS_QUICK, RATIO_DESIGNS_FULL)
    ]
    noisy = sea_config("bilinear", algorithm, horizons, sigma=1.0)

    def bounded_regret() -> Evidence:
        curves = runs(zero)
        return one_sided(fit(curves.horizons, curves["regret"], ctx, 0), 0.0, band=0.1)

    def ratio_part(config: dict, stream: int) -> Evidence:
        curves = runs(config)
        bound = sea_bound(
            curves.horizons, config["sigma"], curves["variation_sum"].mean(axis=0), bound_terms
        )
        ratio = curves["regret"] / bound
        return bounded_ratio(
            fit(curves.horizons, ratio, ctx, stream),
            details={"largest mean ratio": float(ratio.mean(axis=0).max())},
        )

    def noisy_slope() -> Evidence:
        curves = runs(noisy)
        return two_sided(fit(curves.horizons, curves["regret"], ctx, 99), 0.5)

    parts = [("sigma = a = 0: O(1) regret", bounded_regret)]
    for index, config in enumerate(ratio_configs):
        parts.append(
            (f"{_label(config)}: bounded ratio", lambda c=config, i=index: ratio_part(c, 10 + i))
        )
    parts.append(("sigma = 1: T-exponent 1/2", noisy_slope))
    return decide(parts)


# ---- SEA-2: strongly convex, logarithmic regret ----------------------------------------------


def _slope_fit(values: np.ndarray, boot: np.ndarray, parameters: np.ndarray) -> RateFit:
    """Log-log slope of positive values against parameters, with a bootstrap interval."""
    log_p = np.log(parameters)
    centred = log_p - log_p.mean()

    def slope(rows: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log(rows)
        return (logs * centred).sum(axis=-1) / (centred * centred).sum()

    point = float(slope(values[None, :])[0])
    boots = slope(boot)
    boots = boots[np.isfinite(boots)]
    if boots.size == 0:
        return RateFit(point, -np.inf, np.inf, 0.0, 0.95, 0)
    low, high = np.quantile(boots, [0.025, 0.975])
    return RateFit(point, float(low), float(high), 0.0, 0.95, int(boots.size))


@claim(
    "online_regret.regret-sea-sc",
    paper=PAPER,
    source="extended-version abstract (strongly convex and smooth)",
    statement=(
        r"E[R_T]\le O\big(\tfrac1\lambda(\sigma^2_{\max}+\Sigma^2_{\max})"
        r"\log\tfrac{\sigma^2_{1:T}+\Sigma^2_{1:T}}{\sigma^2_{\max}+\Sigma^2_{\max}}\big)"
        r"=O(\tfrac{\sigma^2}{\lambda}\log T)\ \text{(i.i.d.)}"
    ),
    method="monte-carlo",
    provenance="confirmed",
    controls=[
        Control(
            "ogd-sqrt-t",
            r"OGD with \eta_t=1/\sqrt t has logarithmic regret too",
            {"algorithm": "ogd"},
        ),
        Control(
            "linear-in-sigma",
            r"the coefficient of \log T grows like \sigma (not \sigma^2)",
            {"b_exponent": 1.0},
        ),
    ],
)
def sea_strongly_convex(
    ctx: Context, algorithm: str = "optimistic", b_exponent: float = 2.0
) -> Evidence:
    r"""Test type 3 on SEA-2: :math:`R_T = a + b\log T` with :math:`b\propto\sigma^2`.

    For each σ: the bootstrap interval of b lies above 0 and the log-log exponent over
    the top decade has upper end < 0.2 (a control fails decisively when its lower end
    reaches 0.35). Then the log-log slope of b against σ must meet ``b_exponent`` ± 0.3
    (the spec's band for this design), with resamples shared across σ (common
    random numbers). The constant of the log is reported, not tested.
    """
    check_choice(algorithm, ALGORITHMS, "algorithm", where="regret-sea-sc")
    horizons = ctx.pick(log_grid(2, 4), QUADRATIC_HORIZONS)
    sigmas = QUADRATIC_SIGMAS
    replicates = (48, 128)
    runs = _runs(ctx, replicates)
    configs = [sea_config("quadratic", algorithm, horizons, sigma=s, d=5) for s in sigmas]
    count = ctx.pick(*replicates)
    indices = ctx.rng(7).integers(0, count, size=(1000, count))
    fits: dict[float, LogFit] = {}

    def logarithmic(config: dict, stream: int) -> Evidence:
        curves = runs(config)
        log_fit = logarithmic_fit(
            curves.horizons, curves["regret"], ctx.rng(stream), indices=indices
        )
        fits[config["sigma"]] = log_fit
        top = curves.horizons >= curves.horizons[-1] / 10.0
        local = fit(curves.horizons[top], curves["regret"][:, top], ctx, stream + 1)
        positive = Evidence(
            holds=log_fit.low > 0,
            margin=log_fit.low,
            cases=len(log_fit.boot),
            details={"log fit": str(log_fit), "a": log_fit.a},
            counterexample=None if log_fit.low > 0 else {"log fit": str(log_fit)},
        )
        flat = one_sided(
            local, 0.2, band=0.0, details={"top decade": curves.horizons[top].tolist()}
        )
        return decide([("b > 0", lambda: positive), ("top-decade exponent < 0.2", lambda: flat)])

    def scaling() -> Evidence:
        for config in configs:
            if config["sigma"] not in fits:
                logarithmic(config, 0)
        values = np.asarray([fits[s].b for s in sigmas])
        boot = np.stack([fits[s].boot for s in sigmas], axis=1)
        slope = _slope_fit(values, boot, np.asarray(sigmas))
        return two_sided(
            slope,
            b_exponent,
            band=0.3,
            details={f"b(sigma={s:g})": fits[s].b for s in sigmas},
        )

    parts = [
        (f"{_label(c)}: logarithmic", lambda c=c, i=i: logarithmic(c, 20 + 2 * i))
        for i, c in enumerate(configs)
    ]
    parts.append(("b against sigma", scaling))
    return decide(parts)
