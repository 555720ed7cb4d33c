r"""Online conformal prediction: SF-OGD, SAOCP and ACI (Bhatnagar, Wang, Xiong, Bai, ICML 2023).

Specification: ``shared/claims/online_regret.md`` §2 (seed paper 85, catalog key
``online_conformal``; arXiv 2302.07869; reference code salesforce/online_conformal).

**Objects** (§2.1). A score :math:`s_t\ge 0`, a radius :math:`\theta_t` (the set is
:math:`\{y: S(x_t, y)\le\theta_t\}`), the miscoverage :math:`\mathrm{err}_t=1[s_t>\theta_t]`
and, at level :math:`q = 1-\alpha`, the pinball loss
:math:`\ell_t(\theta) = \max\{q(s_t-\theta), (1-q)(\theta-s_t)\}` with subgradient
:math:`-q1[s_t>\theta] + (1-q)1[s_t<\theta] = \alpha - \mathrm{err}_t` (ties aside).

**Learners**, each vectorised over replicates (state arrays of shape (R,) or (R, K)):

- ``sfogd``: scale-free OGD,
  :math:`\theta_{t+1}=\max\{0,\theta_t-\eta g_t/\sqrt{\sum_{i\le t}g_i^2}\}`,
  :math:`\eta = D/\sqrt3`, :math:`D=\sqrt3\max` (burn-in scores); no step while
  :math:`\sum g^2 = 0`; :math:`\theta_1 = 0`.
- ``saocp``: CBCE coin betting over SF-OGD experts with geometric lifetimes
  :math:`g 2^{u(t)}` (g = 8), prior :math:`\pi_i\propto 1/(i^2(1+\lfloor\log_2 i\rfloor))`,
  exactly in the order of the reference code (§2.1, steps 1-5). The expert schedule is
  the same for every replicate, so slots, ages and priors are kept on the host and
  the experts' radii and betting states in (R, K) arrays.
- ``aci``: ACI (Gibbs & Candès 2021) on the level :math:`\alpha_t`:
  :math:`\alpha_{t+1}=\alpha_t+\gamma(\alpha-\mathrm{err}_t)`; the radius is the
  :math:`(1-\alpha_t)` inverted-CDF quantile of the n = 200 burn-in (calibration)
  scores; the set is everything when :math:`\alpha_t\le 0`
  (err = 0) and empty when :math:`\alpha_t\ge 1` (err = 1). For the losses the radius is
  the quantile at the level clipped to [0, 1], as in the reference code.
- ``aci-radius``: ACI run on the radius (FACI_S of the reference code with one γ):
  :math:`\theta_{t+1}=\theta_t-\gamma D\,\partial\ell_t(\theta_t)`, :math:`\theta_1=0`; the
  fixed-step learner of the strongly adaptive regret comparison.
- ``ogd-radius``: constant-step OGD on the radius (quantile tracking,
  Angelopoulos-Candès-Tibshirani 2023), :math:`\theta_{t+1}=\theta_t+\eta(\mathrm{err}_t-\alpha)`,
  :math:`\theta_1 = 0`; ``ogd-radius-decaying`` uses :math:`\eta/\sqrt t` instead.
- ``split``: split conformal, a fixed radius: the :math:`\lceil(n+1)(1-\alpha)\rceil/n`
  quantile of the n = 200 burn-in scores.

**Score streams** (§2.3), capped at :data:`SCORE_CAP`:

- ``piecewise`` (CP-1): :math:`|\sigma_{seg(t)} z_t|`, scales cycling through 1, 4, 0.5, 2
  in segments of 500;
- ``iid``: :math:`|z_t|`, fixed expected losses, so the static regret is positive;
- ``shifted``: :math:`|2z_t|` after burn-in scores :math:`|z|`, a shift at time 0 after
  which split conformal miscovers at a constant rate;
- ``adversarial`` (CP-3): :math:`s_t=\theta_t+10^{-6}` whenever that stays in the score
  range [0, 1], else :math:`s_t = 0`.

Burn-in scores come from the stream's first regime (uniform on [0, 1] for the adversary).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from simulations.online_regret.harness import (
    BLOCK,
    EXCLUSION,
    ConfigRuns,
    check_choice,
    check_count,
    check_horizons,
    check_open_unit,
    check_positive,
    decide,
    fit,
    initial_draws,
    log_grid,
    normal_stream,
    one_sided,
    row_sum,
    uniform_stream,
    vanishing,
)
from theorycheck import checks
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim, study

PAPER = "online_conformal"
COVERAGE_STUDY = "online_regret.conformal"
SAR_STUDY = "online_regret.saocp"
ALGORITHMS = ("sfogd", "saocp", "aci", "aci-radius", "ogd-radius", "ogd-radius-decaying", "split")
STREAMS = ("piecewise", "iid", "shifted", "adversarial")
SHIFTED_SCALE = 2.0
STEPPED = ("aci", "aci-radius", "ogd-radius", "ogd-radius-decaying")
"""Learners that take a step size (γ for ACI, η for the radius OGD)."""
SCORE_CAP = 20.0
"""Scores of the random streams are capped here, so that every stream has a known range
[0, B] (the bound of the radius OGD needs it). A score of scale 4 exceeds it with
probability 6e-7: the cap changes almost no score."""

BURN_IN = 200
LIFETIME_MULTIPLIER = 8
SEGMENT = 500
SEGMENT_SCALES = (1.0, 4.0, 0.5, 2.0)
ADVERSARY_RANGE = 1.0
ADVERSARY_EPSILON = 1e-6
TIE_TOLERANCE = 1e-12
"""Relative size below which SAOCP treats meta-loss minus expert loss as an exact tie.

The rounding error of the meta-prediction (a sum of K <= ~150 products) is below
K u D ~ 3e-14 D; real gains below 1e-12 D change no bet visibly."""


def pinball_loss(score: Any, radius: Any, level: float, xp: ModuleType) -> Any:
    r""":math:`\ell(\theta) = \max\{q(s-\theta), (1-q)(\theta-s)\}` at level q = 1 - α."""
    difference = score - radius
    return xp.maximum(level * difference, (level - 1.0) * difference)


def pinball_gradient(score: Any, radius: Any, level: float, xp: ModuleType) -> Any:
    r""":math:`\partial_\theta\ell = -q1[s>\theta] + (1-q)1[s<\theta]`."""
    above = xp.astype(score > radius, xp.float64)
    below = xp.astype(score < radius, xp.float64)
    return -level * above + (1.0 - level) * below


# ------------------------------------------------------------------------------ learners


class SplitConformal:
    """A fixed radius: the finite-sample (1 - α) quantile of the burn-in scores."""

    def __init__(self, burn_in: Any, alpha: float, xp: ModuleType) -> None:
        count = burn_in.shape[1]
        rank = min(math.ceil((count + 1) * (1 - alpha)), count)
        self.radius = xp.sort(burn_in, axis=1)[:, rank - 1]

    def predict(self) -> Any:
        return self.radius

    def miscovered(self, score: Any, xp: ModuleType) -> Any:
        return xp.astype(score > self.radius, xp.float64)

    def update(self, score: Any, t: int) -> None:
        return None


class RadiusOGD:
    r"""OGD on the radius: :math:`\theta_{t+1}=\theta_t+\eta_t(\mathrm{err}_t-\alpha)`, θ_1 = 0.

    ``decaying=False``: :math:`\eta_t=\eta`; ``decaying=True``: :math:`\eta_t=\eta/\sqrt t`.
    """

    def __init__(self, replicates: int, alpha: float, step: Any, decaying: bool, xp: ModuleType):
        self.xp, self.alpha, self.step, self.decaying = xp, alpha, step, decaying
        self.radius = xp.zeros((replicates,), dtype=xp.float64)

    def predict(self) -> Any:
        return self.radius

    def miscovered(self, score: Any, xp: ModuleType) -> Any:
        return xp.astype(score > self.radius, xp.float64)

    def update(self, score: Any, t: int) -> None:
        err = self.miscovered(score, self.xp)
        step = self.step / math.sqrt(t) if self.decaying else self.step
        self.radius = self.radius + step * (err - self.alpha)


class ScaleFreeOGD:
    r"""SF-OGD (Orabona & Pál): :math:`\theta_{t+1}=\max\{0,\theta_t-\eta g_t/\sqrt{\sum g^2}\}`."""

    def __init__(self, scale: Any, alpha: float, xp: ModuleType) -> None:
        self.xp, self.level = xp, 1.0 - alpha
        self.step = scale / math.sqrt(3.0)  # eta = D / sqrt(3)
        self.radius = xp.zeros(scale.shape, dtype=xp.float64)
        self.gradient_norm = xp.zeros(scale.shape, dtype=xp.float64)

    def predict(self) -> Any:
        return self.radius

    def miscovered(self, score: Any, xp: ModuleType) -> Any:
        return xp.astype(score > self.radius, xp.float64)

    def update(self, score: Any, t: int) -> None:
        xp = self.xp
        gradient = pinball_gradient(score, self.radius, self.level, xp)
        self.gradient_norm = self.gradient_norm + gradient * gradient
        moved = xp.maximum(
            self.radius - self.step * gradient / xp.sqrt(xp.maximum(self.gradient_norm, 1e-300)),
            0.0,
        )
        self.radius = xp.where(self.gradient_norm > 0, moved, self.radius)


class AdaptiveConformal:
    r"""ACI: :math:`\alpha_{t+1}=\alpha_t+\gamma(\alpha-\mathrm{err}_t)` on calibration quantiles.

    The radius is the :math:`(1-\alpha_t)` inverted-CDF quantile of the n burn-in
    (calibration) scores; the set is everything when :math:`\alpha_t\le 0` and empty
    when :math:`\alpha_t\ge 1`. For the pinball loss the level is clipped to [0, 1],
    as in the reference code, so that the radius stays finite.
    """

    def __init__(self, burn_in: Any, alpha: float, gamma: float, xp: ModuleType) -> None:
        self.xp, self.alpha, self.gamma = xp, alpha, gamma
        self.calibration = xp.sort(burn_in, axis=1)
        self.level = xp.full((burn_in.shape[0],), alpha, dtype=xp.float64)

    def predict(self) -> Any:
        xp = self.xp
        size = self.calibration.shape[1]
        coverage = xp.minimum(xp.maximum(1.0 - self.level, 0.0), 1.0)
        rank = xp.minimum(xp.maximum(xp.ceil(coverage * size) - 1.0, 0.0), size - 1.0)
        index = xp.astype(rank, xp.int64)[:, None]
        self._radius = xp.take_along_axis(self.calibration, index, axis=1)[:, 0]
        return self._radius

    def miscovered(self, score: Any, xp: ModuleType) -> Any:
        inside = xp.astype(score > self._radius, xp.float64)
        return xp.where(self.level <= 0, 0.0, xp.where(self.level >= 1, 1.0, inside))

    def update(self, score: Any, t: int) -> None:
        err = self.miscovered(score, self.xp)
        self.level = self.level + self.gamma * (self.alpha - err)


def saocp_lifetime(t: int, multiplier: int = LIFETIME_MULTIPLIER) -> int:
    """L(t) = g 2^{u(t)}, u(t) the largest n with 2^n dividing t (Hazan & Seshadhri)."""
    power = (t & -t).bit_length() - 1
    return multiplier * 2**power


def saocp_prior(t: int) -> float:
    r"""Unnormalised prior :math:`1/(t^2(1+\lfloor\log_2 t\rfloor))` of the expert born at t."""
    return 1.0 / (t * t * (1 + (t.bit_length() - 1)))


def saocp_slots(horizon: int, multiplier: int = LIFETIME_MULTIPLIER) -> int:
    """The largest number of experts alive at once up to ``horizon``."""
    expiry: list[int] = []
    largest = 0
    for t in range(1, horizon + 1):
        expiry = [e for e in expiry if e >= t]  # expert born at i is dropped once age > L(i)
        expiry.append(t + saocp_lifetime(t, multiplier))
        largest = max(largest, len(expiry))
    return largest


class ExpertSchedule:
    """Births, ages and priors of the SAOCP experts in K slots, round by round.

    The schedule does not depend on the data, so it is computed on the host, in
    blocks of :data:`~simulations.online_regret.harness.BLOCK` rounds, and moved to
    ``xp`` once per block. With :math:`b` the birth round of the expert in a slot,
    its age at round t is :math:`t - b` and its prior :math:`1/(b^2(1+\\lfloor\\log_2 b\rfloor))`.
    Row t holds, per slot: the age, prior and normalised prior *before* the expired
    experts are dropped (for the seed of the newborn), the one-hot slot of the expert
    born at t, and the age, prior, normalised prior and alive mask after the birth.
    """

    FIELDS = (
        "age_before",
        "prior_before",
        "fallback_before",
        "fresh",
        "age",
        "prior",
        "fallback",
        "alive",
    )

    def __init__(self, horizon: int, xp: ModuleType, multiplier: int = LIFETIME_MULTIPLIER):
        self.horizon, self.xp, self.multiplier = horizon, xp, multiplier
        self.slots = saocp_slots(horizon, multiplier)
        self._birth = [0] * self.slots
        self._block: dict[str, Any] = {}
        self._block_index = -1

    @staticmethod
    def _prior(birth: np.ndarray) -> np.ndarray:
        born = np.maximum(birth, 1).astype(float)
        prior = 1.0 / (born * born * (1.0 + np.floor(np.log2(born))))
        return np.where(birth > 0, prior, 0.0)

    def _compute_block(self, block: int) -> None:
        first = block * BLOCK + 1
        last = min(first + BLOCK - 1, self.horizon)
        before, after = [], []
        birth = self._birth
        for t in range(first, last + 1):
            before.append(list(birth))
            for slot, born in enumerate(birth):  # an expert leaves once its age exceeds L
                if born and t - born > self.multiplier * (born & -born):
                    birth[slot] = 0
            birth[birth.index(0)] = t
            after.append(list(birth))
        rounds = np.arange(first, last + 1)[:, None]
        rows = {}
        for suffix, table in (("_before", np.asarray(before)), ("", np.asarray(after))):
            prior = self._prior(table)
            rows["age" + suffix] = np.where(table > 0, rounds - table, 0).astype(float)
            rows["prior" + suffix] = prior
            total = prior.sum(axis=1, keepdims=True)
            rows["fallback" + suffix] = prior / np.where(total > 0, total, 1.0)
        table = np.asarray(after)
        rows["fresh"] = (table == rounds).astype(float)
        rows["alive"] = (table > 0).astype(float)
        self._block = {name: self.xp.asarray(rows[name]) for name in self.FIELDS}
        self._block_index = block

    def row(self, t: int) -> dict[str, Any]:
        """The (K,) arrays of round ``t`` (1-based, in increasing order)."""
        block, offset = divmod(t - 1, BLOCK)
        if block != self._block_index:
            self._compute_block(block)
        return {name: values[offset, ...] for name, values in self._block.items()}


class SAOCP:
    """Strongly adaptive online conformal prediction (CBCE over SF-OGD experts).

    The expert born at t lives while its age (number of updates) is at most L(t); it
    is dropped at the start of the first round where its age exceeds L(t). Experts
    sit in the K slots of an :class:`ExpertSchedule`; radii, squared-gradient sums and
    betting states (Z, W) are (R, K) arrays. Round t: the seed (the mixture before
    dropping), drop, birth (radius = seed), prediction (the mixture after birth);
    then :meth:`update` with the score, in the order of the reference code.
    """

    def __init__(self, scale: Any, alpha: float, horizon: int, xp: ModuleType) -> None:
        self.xp, self.alpha, self.level = xp, alpha, 1.0 - alpha
        self.scale = scale[:, None]  # D, shape (R, 1)
        self.step = self.scale / math.sqrt(3.0)
        self.schedule = ExpertSchedule(horizon, xp)
        self.slots = self.schedule.slots
        shape = (scale.shape[0], self.slots)
        self.radius = xp.zeros(shape, dtype=xp.float64)
        self.gradient_norm = xp.zeros(shape, dtype=xp.float64)
        self.z = xp.zeros(shape, dtype=xp.float64)
        self.wz = xp.zeros(shape, dtype=xp.float64)
        self.t = 1

    def _weights(self, age: Any) -> Any:
        r"""KT betting weights :math:`w_i = (Z_i/a_i)(1+W_i)`, 0 at age 0."""
        xp = self.xp
        return xp.where(age > 0, self.z / xp.maximum(age, 1.0) * (1.0 + self.wz), 0.0)

    def _mixture(self, weight: Any, prior: Any, fallback: Any) -> Any:
        r""":math:`\sum_i p_i\theta_i`, :math:`p\propto\pi\max(0,w)` (the prior if all vanish)."""
        xp = self.xp
        mass = prior * xp.maximum(weight, 0.0)
        total = row_sum(mass, xp)
        weighted = row_sum(mass * self.radius, xp) / xp.where(total > 0, total, 1.0)
        return xp.where(total > 0, weighted, xp.matmul(self.radius, fallback))

    def begin_round(self) -> Any:
        """Drop expired experts, add the expert born now, return the prediction."""
        xp = self.xp
        row = self._row = self.schedule.row(self.t)
        weight = self._weights(row["age_before"])
        seed = self._mixture(weight, row["prior_before"], row["fallback_before"])
        fresh = row["fresh"] > 0
        self.radius = xp.where(fresh, seed[:, None], self.radius)
        self.gradient_norm = xp.where(fresh, 0.0, self.gradient_norm)
        self.z = xp.where(fresh, 0.0, self.z)
        self.wz = xp.where(fresh, 0.0, self.wz)
        self._weight = xp.where(fresh, 0.0, weight)  # survivors keep their age
        self._prediction = self._mixture(self._weight, row["prior"], row["fallback"])
        return self._prediction

    def predict(self) -> Any:
        return self._prediction

    def miscovered(self, score: Any, xp: ModuleType) -> Any:
        return xp.astype(score > self._prediction, xp.float64)

    def update(self, score: Any, t: int) -> None:
        xp = self.xp
        alive = self._row["alive"]
        column = score[:, None]
        meta_loss = pinball_loss(score, self._prediction, self.level, xp)[:, None]
        gain = meta_loss - pinball_loss(column, self.radius, self.level, xp)
        # an expert seeded with the meta-prediction ties with it: its gain is 0 in exact
        # arithmetic, and rounding noise of either sign would decide its weight
        gain = xp.where(xp.abs(gain) <= TIE_TOLERANCE * self.scale, 0.0, gain)
        bet = gain / (self.scale * max(self.alpha, 1.0 - self.alpha))
        weight = self._weight
        lower = -xp.astype(weight > 0, xp.float64)  # -1 for a positive weight, else 0
        bet = xp.minimum(xp.maximum(bet, lower), 1.0) * alive
        self.z = self.z + bet
        self.wz = self.wz + bet * weight
        gradient = pinball_gradient(column, self.radius, self.level, xp) * alive
        self.gradient_norm = self.gradient_norm + gradient * gradient
        moved = xp.maximum(
            self.radius - self.step * gradient / xp.sqrt(xp.maximum(self.gradient_norm, 1e-300)),
            0.0,
        )
        self.radius = xp.where(self.gradient_norm > 0, moved, self.radius)
        self.t += 1


# ------------------------------------------------------------------------------ runs


def _burn_in(seeds: Sequence[np.random.SeedSequence], stream: str, xp: ModuleType) -> Any:
    if stream == "adversarial":
        return initial_draws(seeds, xp, lambda g: g.uniform(0.0, ADVERSARY_RANGE, BURN_IN))
    return initial_draws(
        seeds, xp, lambda g: np.minimum(np.abs(g.standard_normal(BURN_IN)), SCORE_CAP)
    )


def make_learner(
    algorithm: str, burn_in: Any, alpha: float, step: float, horizon: int, xp: ModuleType
) -> Any:
    """The learner of a configuration; D = sqrt(3) max(burn-in) for SF-OGD and SAOCP."""
    scale = math.sqrt(3.0) * xp.max(burn_in, axis=1)
    replicates = burn_in.shape[0]
    if algorithm == "sfogd":
        return ScaleFreeOGD(scale, alpha, xp)
    if algorithm == "saocp":
        return SAOCP(scale, alpha, horizon, xp)
    if algorithm == "aci":
        return AdaptiveConformal(burn_in, alpha, step, xp)
    if algorithm == "aci-radius":
        return RadiusOGD(replicates, alpha, step * scale, False, xp)
    if algorithm in ("ogd-radius", "ogd-radius-decaying"):
        return RadiusOGD(replicates, alpha, step, algorithm == "ogd-radius-decaying", xp)
    return SplitConformal(burn_in, alpha, xp)


def run_conformal(
    seeds: Sequence[np.random.SeedSequence],
    xp: ModuleType,
    *,
    stream: str,
    algorithm: str,
    alpha: float,
    step: float,
    horizon: int,
) -> dict[str, Any]:
    r"""Run a learner on a score stream for ``horizon`` rounds.

    Returns
    -------
    dict of (R, T) arrays
        ``score`` :math:`s_t`, ``radius`` :math:`\theta_t`, ``miss``
        :math:`\mathrm{err}_t`, and ``deviation``: the running maximum of
        :math:`|\sum_{i\le t}(\mathrm{err}_i-\alpha)|`.

    Raises
    ------
    ValueError
        For an unknown stream or algorithm, α outside (0, 1), a step <= 0 for a
        learner that takes one, or a horizon < 1.
    """
    where = "run_conformal"
    stream = check_choice(stream, STREAMS, "stream", where=where)
    algorithm = check_choice(algorithm, ALGORITHMS, "algorithm", where=where)
    alpha = check_open_unit(alpha, "alpha", where=where)
    if algorithm in STEPPED:
        step = check_positive(step, "step", where=where)
    horizon = check_count(horizon, "horizon", where=where)
    burn_in = _burn_in(seeds, stream, xp)
    learner = make_learner(algorithm, burn_in, alpha, step, horizon, xp)
    normals = normal_stream(seeds, xp, 0) if stream != "adversarial" else None
    uniforms = uniform_stream(seeds, xp, 1) if stream == "adversarial" else None
    replicates = len(seeds)
    deviation = xp.zeros((replicates,), dtype=xp.float64)
    worst = xp.zeros((replicates,), dtype=xp.float64)
    scores, radii, misses, worsts = [], [], [], []
    for t in range(1, horizon + 1):
        radius = learner.begin_round() if isinstance(learner, SAOCP) else learner.predict()
        if stream == "adversarial":
            assert uniforms is not None
            uniforms.at(t)  # keeps the stream aligned with the other streams' blocks
            target = radius + ADVERSARY_EPSILON
            score = xp.where(target <= ADVERSARY_RANGE, target, 0.0)
        else:
            assert normals is not None
            scale = SHIFTED_SCALE if stream == "shifted" else 1.0
            if stream == "piecewise":
                scale = SEGMENT_SCALES[((t - 1) // SEGMENT) % len(SEGMENT_SCALES)]
            score = xp.minimum(scale * xp.abs(normals.at(t)), SCORE_CAP)
        miss = learner.miscovered(score, xp)
        learner.update(score, t)
        deviation = deviation + (miss - alpha)
        worst = xp.maximum(worst, xp.abs(deviation))
        scores.append(score)
        radii.append(radius)
        misses.append(miss)
        worsts.append(worst)
    return {
        "score": xp.stack(scores, axis=1),
        "radius": xp.stack(radii, axis=1),
        "miss": xp.stack(misses, axis=1),
        "deviation": xp.stack(worsts, axis=1),
    }


def best_fixed_loss(scores: Any, level: float, xp: ModuleType) -> Any:
    r""":math:`\min_\theta\sum_i\ell_i(\theta)` over the last axis: the loss at the
    inverted-CDF q-quantile of the scores (a minimiser of the pinball sum)."""
    count = scores.shape[-1]
    ordered = xp.sort(scores, axis=-1)
    best = ordered[..., max(math.ceil(level * count) - 1, 0)]
    return xp.sum(pinball_loss(scores, best[..., None], level, xp), axis=-1)


def _simulate_coverage(
    config: Mapping[str, Any], seeds: Sequence[np.random.SeedSequence], xp: ModuleType
) -> dict[str, Any]:
    """Coverage error, cumulative deviation and static regret at the horizons."""
    horizons = check_horizons(config.get("horizons"), where=f"study {COVERAGE_STUDY}")
    alpha = config["alpha"]
    run = run_conformal(
        seeds,
        xp,
        stream=config["stream"],
        algorithm=config["algorithm"],
        alpha=alpha,
        step=config["step"],
        horizon=horizons[-1],
    )
    level = 1.0 - alpha
    losses = xp.cumulative_sum(pinball_loss(run["score"], run["radius"], level, xp), axis=1)
    misses = xp.cumulative_sum(run["miss"], axis=1)
    coverage_error, deviation, regret = [], [], []
    for horizon in horizons:
        coverage_error.append(xp.abs(misses[:, horizon - 1] / horizon - alpha))
        deviation.append(run["deviation"][:, horizon - 1])
        best = best_fixed_loss(run["score"][:, :horizon], level, xp)
        regret.append(losses[:, horizon - 1] - best)
    return {
        "T": xp.asarray(horizons),
        "coverage_error": xp.stack(coverage_error, axis=1),
        "deviation": xp.stack(deviation, axis=1),
        "regret": xp.stack(regret, axis=1),
    }


def strongly_adaptive_regret(
    scores: Any, losses: Any, window: int, level: float, xp: ModuleType
) -> Any:
    r""":math:`SAR(T,k)=\max_\tau[\sum_{t=\tau}^{\tau+k-1}\ell_t(\theta_t)-\min_\theta\sum\ell_t(\theta)]`.

    Windows start at every multiple of k/4 (§2.3); ``scores`` and ``losses`` are
    (R, T). Returns (R,).
    """
    horizon = scores.shape[1]
    stride = max(window // 4, 1)
    starts = list(range(0, horizon - window + 1, stride))
    index = xp.asarray([s + i for s in starts for i in range(window)])
    windows = xp.reshape(xp.take(scores, index, axis=1), (scores.shape[0], len(starts), window))
    best = best_fixed_loss(windows, level, xp)
    cumulative = xp.cumulative_sum(losses, axis=1, include_initial=True)
    first = xp.take(cumulative, xp.asarray(starts), axis=1)
    last = xp.take(cumulative, xp.asarray([s + window for s in starts]), axis=1)
    return xp.max(last - first - best, axis=1)


def _simulate_sar(
    config: Mapping[str, Any], seeds: Sequence[np.random.SeedSequence], xp: ModuleType
) -> dict[str, Any]:
    """Strongly adaptive regret SAR(T, k) on the window lengths of the grid."""
    where = f"study {SAR_STUDY}"
    windows = check_horizons(config.get("windows"), where=where)
    horizon = check_count(config.get("T"), "T", where=where)
    if windows[-1] > horizon:
        raise ValueError(f"{where}: window {windows[-1]} is longer than T = {horizon}")
    alpha = config["alpha"]
    run = run_conformal(
        seeds,
        xp,
        stream=config["stream"],
        algorithm=config["algorithm"],
        alpha=alpha,
        step=config["step"],
        horizon=horizon,
    )
    losses = pinball_loss(run["score"], run["radius"], 1.0 - alpha, xp)
    sar = [strongly_adaptive_regret(run["score"], losses, k, 1.0 - alpha, xp) for k in windows]
    return {"k": xp.asarray(windows), "sar": xp.stack(sar, axis=1)}


def conformal_config(
    stream: str, algorithm: str, horizons: Sequence[int], *, alpha: float = 0.1, step: float = 0.0
) -> dict[str, Any]:
    """A configuration of the coverage study (every configuration has the same keys)."""
    return {
        "stream": stream,
        "algorithm": algorithm,
        "alpha": float(alpha),
        "step": float(step),
        "horizons": list(horizons),
    }


def sar_config(
    algorithm: str, horizon: int, windows: Sequence[int], *, step: float = 0.0
) -> dict[str, Any]:
    """A configuration of the SAR study on the piecewise stream (CP-1), α = 0.1."""
    return {
        "stream": "piecewise",
        "algorithm": algorithm,
        "alpha": 0.1,
        "step": float(step),
        "T": int(horizon),
        "windows": list(windows),
    }


COVERAGE_HORIZONS = log_grid(2, 4.5, 0.25)
COVERAGE_QUICK = log_grid(2, 3.5, 0.25)
BOUND_QUICK = log_grid(2, 3.25, 0.25)
"""Horizons of the deterministic coverage bounds at quick scale (four CP-1 segments)."""
ACI_GAMMAS = (0.005, 0.05)
RADIUS_STEPS = (0.01, 0.1)
STATIC_ACI_GAMMA = 0.1
"""γ of ACI on the radius (step γD, about 0.5 on |N(0,1)| scores) in the static-regret control."""
SAR_HORIZON = 2**15
SAR_QUICK_HORIZON = 2**12
SAR_WINDOWS = [2**j for j in range(4, 9)]
"""k = 16 ... 256 < B = 500: longer windows straddle a change point of CP-1, where a
tracking learner beats every fixed radius and SAR turns negative (the pitfall of §0)."""
SAR_ACI_GAMMA = 0.001
BOUNDED_STREAMS = ("piecewise", "adversarial")


def score_range(stream: str) -> float:
    """B: every score of the stream lies in [0, B]."""
    return ADVERSARY_RANGE if stream == "adversarial" else SCORE_CAP


def _coverage_grid() -> list[dict[str, Any]]:
    grid = []
    for stream in BOUNDED_STREAMS:
        grid += [conformal_config(stream, "aci", COVERAGE_HORIZONS, step=g) for g in ACI_GAMMAS]
        grid += [
            conformal_config(stream, algorithm, COVERAGE_HORIZONS, step=h)
            for algorithm in ("ogd-radius", "ogd-radius-decaying")
            for h in RADIUS_STEPS
        ]
        grid += [
            conformal_config(stream, a, COVERAGE_HORIZONS) for a in ("sfogd", "saocp", "split")
        ]
    grid += [conformal_config("iid", a, COVERAGE_HORIZONS) for a in ("sfogd", "saocp")]
    grid += [conformal_config("iid", "aci-radius", COVERAGE_HORIZONS, step=STATIC_ACI_GAMMA)]
    grid += [conformal_config("shifted", a, COVERAGE_HORIZONS) for a in ("saocp", "split")]
    return grid


def _coverage_claimed(config: Mapping[str, Any], metric: str) -> tuple[float, float] | None:
    algorithm, stream = config["algorithm"], config["stream"]
    if metric == "coverage_error" and stream != "iid":
        if algorithm in ("aci", "ogd-radius"):
            return (-1.0, 0.07)
        if algorithm == "sfogd":
            return (-0.5, 0.05)
        if algorithm == "split":
            return (0.0, EXCLUSION)
    if metric == "regret" and stream == "iid":
        return (0.5, 0.07) if algorithm == "sfogd" else (1.0, EXCLUSION)
    return None


study(
    COVERAGE_STUDY,
    grid=_coverage_grid(),
    replicates=64,
    batch_size=64,
    axis="T",
    description="online conformal: coverage error, deviation and static regret of "
    "SF-OGD, SAOCP, ACI, radius OGD and split conformal on CP-1, CP-3 and i.i.d. scores",
    claimed_exponent=_coverage_claimed,
)(_simulate_coverage)

study(
    SAR_STUDY,
    grid=[
        sar_config("saocp", SAR_HORIZON, SAR_WINDOWS),
        sar_config("sfogd", SAR_HORIZON, SAR_WINDOWS),
        sar_config("split", SAR_HORIZON, SAR_WINDOWS),
        sar_config("aci-radius", SAR_HORIZON, SAR_WINDOWS, step=SAR_ACI_GAMMA),
    ],
    replicates=32,
    batch_size=32,
    axis="k",
    description="strongly adaptive regret SAR(T, k) against the window length k on CP-1",
    claimed_exponent=lambda config, metric: (
        (0.5, 0.1) if config["algorithm"] == "saocp" else (1.0, EXCLUSION)
    ),
)(_simulate_sar)


# ------------------------------------------------------------------------------ claims


def _coverage_runs(ctx: Context) -> ConfigRuns:
    return ConfigRuns(ctx, COVERAGE_STUDY, (32, 64))


def _label(config: Mapping[str, Any]) -> str:
    step = f" step={config['step']:g}" if config["algorithm"] in STEPPED else ""
    return f"{config['stream']} {config['algorithm']}{step}"


def _deviation_bound(
    ctx: Context, configs: Sequence[dict], bound_of: Any, runs: ConfigRuns
) -> Evidence:
    r"""Hard check: :math:`\max_{t\le T}|\sum_{i\le t}(\mathrm{err}_i-\alpha)|` <= bound.

    Every replicate at every recorded horizon (the running maximum covers every
    t <= T). Tolerance 1e-9: the sums of T <= 1e5 terms err_i - α carry an
    absolute rounding error below T u ~ 2e-11.
    """
    parts = {}
    for config in configs:
        curves = runs(config)
        bound = bound_of(config)
        slack = bound - curves["deviation"]
        evidence = checks.nonnegative(
            slack, tol=1e-9, inputs={"replicate": np.arange(slack.shape[0])}
        )
        evidence.details.update(
            {"bound": bound, "largest deviation": float(curves["deviation"].max())}
        )
        parts[_label(config)] = evidence
    return checks.combine(parts)


@claim(
    "online_regret.coverage-aci-finite_t",
    paper=PAPER,
    source="Gibbs & Candès (2021), Prop. 4.1 (the ACI baseline of §2.2)",
    statement=(
        r"\Big|\tfrac1T\sum_{t\le T}\mathrm{err}_t-\alpha\Big|"
        r"\le\frac{\max\{\alpha_1,1-\alpha_1\}+\gamma}{\gamma T}\ \forall T,\ \text{every sequence}"
    ),
    method="monte-carlo",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "split-conformal",
            r"a fixed split-conformal radius meets the same finite-T bound",
            {"algorithm": "split"},
        )
    ],
)
def aci_finite_horizon(ctx: Context, algorithm: str = "aci") -> Evidence:
    r"""Deterministic bound on every replicate and every T, on CP-1 and the CP-3 adversary.

    γ ∈ {0.005, 0.05}, α = α_1 = 0.1; the bound, in counts, is
    :math:`(\max\{\alpha_1, 1-\alpha_1\}+\gamma)/\gamma`.
    """
    check_choice(algorithm, ALGORITHMS, "algorithm", where="coverage-aci-finite_t")
    horizons = ctx.pick(BOUND_QUICK, COVERAGE_HORIZONS)
    configs = [
        conformal_config(stream, algorithm, horizons, step=gamma)
        for stream in BOUNDED_STREAMS
        for gamma in ACI_GAMMAS
    ]
    return _deviation_bound(
        ctx,
        configs,
        lambda c: (max(c["alpha"], 1 - c["alpha"]) + c["step"]) / c["step"],
        _coverage_runs(ctx),
    )


@claim(
    "online_regret.coverage-ogd_radius-finite_t",
    paper=PAPER,
    source="Angelopoulos, Candès & Tibshirani (2023), quantile tracking (§2.2 baseline)",
    statement=(
        r"s_t\in[0,B],\ \theta_{t+1}=\theta_t+\eta(\mathrm{err}_t-\alpha):\ "
        r"\Big|\tfrac1T\sum_{t\le T}\mathrm{err}_t-\alpha\Big|\le\frac{B+\eta}{\eta T}"
    ),
    method="monte-carlo",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "decaying-step",
            r"the bound holds for the step \eta/\sqrt t too",
            {"algorithm": "ogd-radius-decaying"},
        ),
        Control(
            "split-conformal",
            r"a fixed split-conformal radius meets the same bound",
            {"algorithm": "split"},
        ),
    ],
)
def radius_ogd_finite_horizon(ctx: Context, algorithm: str = "ogd-radius") -> Evidence:
    r"""Deterministic bound :math:`(B+\eta)/\eta` (in counts) on every replicate and T.

    Streams CP-1 (scores capped at B = 20) and the CP-3 adversary (B = 1);
    η ∈ {0.01, 0.1}; :math:`\theta_1 = 0`.
    """
    check_choice(algorithm, ALGORITHMS, "algorithm", where="coverage-ogd_radius-finite_t")
    horizons = ctx.pick(BOUND_QUICK, COVERAGE_HORIZONS)
    configs = [
        conformal_config(stream, algorithm, horizons, step=eta)
        for stream in BOUNDED_STREAMS
        for eta in RADIUS_STEPS
    ]
    return _deviation_bound(
        ctx,
        configs,
        lambda c: (score_range(c["stream"]) + c["step"]) / c["step"],
        _coverage_runs(ctx),
    )


@claim(
    "online_regret.coverage-sfogd",
    paper=PAPER,
    source="derived (§2.2): telescoping and Abel summation of the SF-OGD steps",
    statement=(
        r"\Big|\tfrac1T\sum_{t\le T}\mathrm{err}_t-\alpha\Big|\le"
        r"\frac{2B'\max(\alpha,1-\alpha)}{\eta\sqrt T}=O(T^{-1/2})\ \text{(SF-OGD)}"
    ),
    method="monte-carlo",
    provenance="derived",
    controls=[
        Control(
            "split-conformal",
            r"a fixed split-conformal radius has coverage error O(T^{-1/2}) too",
            {"algorithm": "split"},
        )
    ],
)
def sfogd_coverage(ctx: Context, algorithm: str = "sfogd") -> Evidence:
    r"""One-sided: the exponent of the mean coverage error has upper end <= -0.45.

    On CP-1, the CP-3 adversary and i.i.d. scores; fit over
    :math:`T\ge 10^{2.5}` (quick) or :math:`10^3` (full).
    """
    check_choice(algorithm, ALGORITHMS, "algorithm", where="coverage-sfogd")
    horizons = ctx.pick(COVERAGE_QUICK, COVERAGE_HORIZONS)
    first = ctx.pick(10**2.5, 10**3)
    runs = _coverage_runs(ctx)
    parts = []
    for index, stream in enumerate(("adversarial", "piecewise", "iid")):
        config = conformal_config(stream, algorithm, horizons)

        def part(config: dict = config, stream_index: int = index) -> Evidence:
            horizons_, metrics = runs(config).window(first - 1)
            fitted = fit(horizons_, metrics["coverage_error"], ctx, stream_index)
            return one_sided(fitted, -0.5, band=0.05)

        parts.append((_label(config), part))
    return decide(parts)


@claim(
    "online_regret.regret-sfogd-static",
    paper=PAPER,
    source="SF-OGD static regret (Orabona & Pál 2016, as used in §2; numbering unconfirmed)",
    statement=(
        r"R_T=\sum_t\ell_t(\theta_t)-\min_\theta\sum_t\ell_t(\theta)=O(D\sqrt T)"
        r"\ \text{anytime}"
    ),
    method="monte-carlo",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "fixed-step-aci",
            r"ACI on the radius with a fixed step (\gamma=0.1) has O(D\sqrt T) regret too",
            {"algorithm": "aci-radius", "step": STATIC_ACI_GAMMA},
        )
    ],
)
def sfogd_static_regret(ctx: Context, algorithm: str = "sfogd", step: float = 0.0) -> Evidence:
    r"""Test type 2 on i.i.d. :math:`|N(0,1)|` scores (fixed expected losses, so the
    regret is positive): the upper end of the exponent interval is <= 0.5 + 0.07.

    A fixed step η = γD has regret :math:`O(1/\eta + \eta T)`, linear in T.
    """
    check_choice(algorithm, ALGORITHMS, "algorithm", where="regret-sfogd-static")
    horizons = ctx.pick(COVERAGE_QUICK, COVERAGE_HORIZONS)
    first = ctx.pick(10**2.5, 10**3)
    config = conformal_config("iid", algorithm, horizons, step=step)
    horizons_, metrics = _coverage_runs(ctx)(config).window(first - 1)
    regret = metrics["regret"]
    return one_sided(
        fit(horizons_, regret, ctx, 0),
        0.5,
        details={"mean regret at the largest T": float(regret[:, -1].mean())},
    )


@claim(
    "online_regret.regret-saocp-sa",
    paper=PAPER,
    source="strongly adaptive regret of SAOCP (§2.2; numbering unconfirmed)",
    statement=(
        r"SAR(T,k)\le\tilde O(D\sqrt k)\ \forall k\le T"
        r"\ \text{(expected }cD\sqrt{k(\log T+1)})"
    ),
    method="monte-carlo",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "split-conformal",
            r"a fixed split-conformal radius has SAR(T,k)=\tilde O(D\sqrt k)",
            {"algorithm": "split"},
        ),
        Control(
            "aci-gamma-0.001",
            r"ACI with \gamma=0.001 (fixed step \gamma D on the radius) has "
            r"SAR(T,k)=\tilde O(D\sqrt k)",
            {"algorithm": "aci-radius", "step": SAR_ACI_GAMMA},
        ),
    ],
)
def saocp_strongly_adaptive(ctx: Context, algorithm: str = "saocp", step: float = 0.0) -> Evidence:
    r"""CP-1, k = 16 ... 256: the exponent of SAR in k has upper end <= 0.5 + 0.1.

    The spec's one-sided band for this design is 0.6; a control fails decisively when
    its interval's lower end reaches 0.65. The constant :math:`SAR/\sqrt{k(\log T+1)}`
    at the largest window is reported (D included), not tested.
    """
    check_choice(algorithm, ALGORITHMS, "algorithm", where="regret-saocp-sa")
    horizon = ctx.pick(SAR_QUICK_HORIZON, SAR_HORIZON)
    config = sar_config(algorithm, horizon, SAR_WINDOWS, step=step)
    curves = ConfigRuns(ctx, SAR_STUDY, (16, 32))(config)
    sar = curves["sar"]
    k = curves.horizons
    constant = float(sar[:, -1].mean() / math.sqrt(k[-1] * (math.log(horizon) + 1)))
    return one_sided(
        fit(k, sar, ctx, 0),
        0.5,
        band=0.1,
        details={"T": horizon, "SAR / sqrt(k (log T + 1)) at the largest k": constant},
    )


@claim(
    "online_regret.coverage-saocp",
    paper=PAPER,
    source="SAOCP coverage theorem (§2.2; rate and numbering unconfirmed, low confidence)",
    statement=(
        r"\Big|\tfrac1T\sum_{t\le T}\mathrm{err}_t-\alpha\Big|\to 0"
        r"\ \text{(bound }\inf_\beta O(T^{1/2-\beta}+T^{\beta-1}S_\beta(T)))"
    ),
    method="monte-carlo",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "split-conformal",
            r"a fixed split-conformal radius has vanishing coverage error too",
            {"algorithm": "split"},
        )
    ],
)
def saocp_coverage(ctx: Context, algorithm: str = "saocp") -> Evidence:
    r"""The slope interval of the coverage error over :math:`T\in[10^3, 10^4]` is below 0.

    On CP-1 (piecewise stationary) and on the ``shifted`` stream (scale 2 after a
    burn-in at scale 1, where a fixed radius miscovers at a constant rate); full
    scale fits up to :math:`10^{4.5}`. Not on the CP-3 adversary: there SAOCP's coverage
    error stays near 0.5 (so does the reference code's), consistent with a bound whose
    auxiliary term :math:`S_\beta(T)` that adversary can make grow linearly; see the
    family report.
    """
    check_choice(algorithm, ALGORITHMS, "algorithm", where="coverage-saocp")
    horizons = ctx.pick(log_grid(3, 4, 0.25), log_grid(3, 4.5, 0.25))
    runs = ConfigRuns(ctx, COVERAGE_STUDY, (16, 64))
    parts = []
    for index, stream in enumerate(("shifted", "piecewise")):
        config = conformal_config(stream, algorithm, horizons)

        def part(config: dict = config, stream_index: int = index) -> Evidence:
            curves = runs(config)
            return vanishing(fit(curves.horizons, curves["coverage_error"], ctx, stream_index))

        parts.append((_label(config), part))
    return decide(parts)
