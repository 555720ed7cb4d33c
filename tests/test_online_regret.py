r"""Tests of the online-regret simulations (``simulations/online_regret``), not of the claims.

- the vectorised algorithms against independent scalar ports (SAOCP and SF-OGD as in
  the reference code salesforce/online_conformal; OGD, Adam and AMSGrad from their
  update rules), one replicate at a time;
- closed forms: the noise-floor constant, the moment recursion of the drifting model
  against the spec's reference values, the greedy step as the minimiser;
- pinball-loss minimisers and the strongly adaptive regret against brute force;
- random numbers independent of the batching, and every study on array-api-strict
  giving the NumPy numbers;
- the test helpers of the harness (grey zone, early stop) and bad input.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import scipy.stats

from simulations.online_regret import adam_adabound, conformal, harness, lr_shift, ogd, oomd_sea
from theorycheck import registry
from theorycheck.backend import namespace, to_numpy
from theorycheck.claim import Evidence
from theorycheck.rates import RateFit
from theorycheck.study import replicate_seeds, run_study

NUMPY = namespace("numpy")
AGREE = 1e-12  # two namespaces (or two summation orders) on the same float64 arithmetic


@pytest.fixture(scope="module")
def studies():
    registry.load_content(["simulations"])
    return {
        name: registry.get_study(name) for name in registry.all_studies() if "online_regret" in name
    }


def seeds(count: int, name: str = "test") -> list:
    return replicate_seeds(0, name, 0, count)


# ------------------------------------------------------------------------ reference ports


def pinball(score: float, radius: float, level: float) -> float:
    return max(level * (score - radius), (1 - level) * (radius - score))


def pinball_grad(score: float, radius: float, level: float) -> float:
    return -level * (score > radius) + (1 - level) * (score < radius)


class PortedExpert:
    """``_OGD`` of salesforce/online_conformal (saocp.py), scalar."""

    def __init__(self, t: int, scale: float, alpha: float, start: float, multiplier: int = 8):
        self.scale, self.base_lr, self.alpha = scale, scale / math.sqrt(3), alpha
        self.radius, self.grad_norm = start, 0.0
        power = 0
        while t % 2 == 0:
            t //= 2
            power += 1
        self.lifetime = multiplier * 2**power
        self.z = self.wz = 0.0
        self.age = 0

    @property
    def w(self) -> float:
        return 0.0 if self.age == 0 else self.z / self.age * (1 + self.wz)

    def update(self, score: float, meta_loss: float) -> None:
        w = self.w
        gain = meta_loss - pinball(score, self.radius, 1 - self.alpha)
        gain = 0.0 if abs(gain) <= conformal.TIE_TOLERANCE * self.scale else gain  # exact ties
        bet = gain / self.scale / max(self.alpha, 1 - self.alpha)
        bet = min(max(bet, -1.0 if w > 0 else 0.0), 1.0)
        self.z += bet
        self.wz += bet * w
        self.age += 1
        grad = pinball_grad(score, self.radius, 1 - self.alpha)
        self.grad_norm += grad**2
        if self.grad_norm != 0:
            self.radius = max(0.0, self.radius - self.base_lr / math.sqrt(self.grad_norm) * grad)


class PortedSAOCP:
    """``SAOCP`` of salesforce/online_conformal, scalar, one horizon."""

    def __init__(self, scale: float, alpha: float):
        self.scale, self.alpha, self.t, self.experts = scale, alpha, 1, {}

    def prediction(self) -> float:
        prior = {t: 1 / (t**2 * (1 + math.floor(math.log2(t)))) for t in self.experts}
        total = sum(prior.values())
        prior = {t: v / total for t, v in prior.items()}
        p = {t: prior[t] * max(0.0, e.w) for t, e in self.experts.items()}
        mass = sum(p.values())
        p = {t: v / mass for t, v in p.items()} if mass > 0 else prior
        return sum(p[t] * e.radius for t, e in self.experts.items())

    def begin(self) -> float:
        seed = self.prediction()
        for t in [t for t, e in self.experts.items() if e.age > e.lifetime]:
            del self.experts[t]
        self.experts[self.t] = PortedExpert(self.t, self.scale, self.alpha, seed)
        return self.prediction()

    def update(self, score: float) -> None:
        meta = pinball(score, self.prediction(), 1 - self.alpha)
        for expert in self.experts.values():
            expert.update(score, meta)
        self.t += 1


def piecewise_scores(rng: np.random.Generator, count: int) -> np.ndarray:
    scale = np.where((np.arange(count) // 300) % 2 == 1, 4.0, 1.0)
    return np.abs(rng.standard_normal((count, 3))) * scale[:, None]


def test_saocp_matches_the_reference_code_replicate_by_replicate():
    rng = np.random.default_rng(3)
    horizon, alpha = 1500, 0.1
    scores = piecewise_scores(rng, horizon)
    scale = np.sqrt(3.0) * np.array([2.0, 3.0, 1.5])
    model = conformal.SAOCP(NUMPY.asarray(scale), alpha, horizon, NUMPY)
    ports = [PortedSAOCP(s, alpha) for s in scale]
    worst = 0.0
    for t in range(horizon):
        ours = np.asarray(model.begin_round())
        theirs = np.array([p.begin() for p in ports])
        worst = max(worst, float(np.max(np.abs(ours - theirs))))
        model.update(NUMPY.asarray(scores[t]), t + 1)
        for port, score in zip(ports, scores[t], strict=True):
            port.update(float(score))
    # the summation orders differ (a slot array against a dict): rounding only
    assert worst < 1e-9, worst
    assert model.slots == conformal.saocp_slots(horizon)


def test_sfogd_matches_the_reference_update():
    rng = np.random.default_rng(4)
    scores = piecewise_scores(rng, 800)
    scale = np.sqrt(3.0) * np.array([2.0, 3.0, 1.5])
    model = conformal.ScaleFreeOGD(NUMPY.asarray(scale), 0.1, NUMPY)
    radius, grad_norm = np.zeros(3), np.zeros(3)
    for row in scores:
        assert np.allclose(np.asarray(model.predict()), radius, rtol=0, atol=AGREE)
        model.update(NUMPY.asarray(row), 0)
        for i, score in enumerate(row):  # ScaleFreeOGD.update of the reference code
            grad = pinball_grad(score, radius[i], 0.9)
            grad_norm[i] += grad**2
            if grad_norm[i] != 0:
                radius[i] = max(0.0, radius[i] - scale[i] / np.sqrt(3 * grad_norm[i]) * grad)


def test_saocp_lifetimes_and_slots():
    assert [conformal.saocp_lifetime(t) for t in (1, 2, 3, 4, 6, 8, 12)] == [
        8,
        16,
        8,
        32,
        16,
        64,
        32,
    ]
    for horizon in (10, 100, 5000):
        assert conformal.saocp_slots(horizon) <= 8 * (math.floor(math.log2(horizon)) + 2)


def test_ogd_batch_of_one_equals_the_batch():
    stream_seeds = seeds(5)
    noise = harness.normal_stream(stream_seeds, NUMPY, 0, (3,))
    full = ogd.ogd_linear_regret(
        noise.at,
        replicates=5,
        dimension=3,
        radius=1.0,
        step_scale=2.0,
        horizons=[10, 100],
        xp=NUMPY,
    )
    for r in range(5):
        single = harness.normal_stream(stream_seeds[r : r + 1], NUMPY, 0, (3,))
        one = ogd.ogd_linear_regret(
            single.at,
            replicates=1,
            dimension=3,
            radius=1.0,
            step_scale=2.0,
            horizons=[10, 100],
            xp=NUMPY,
        )
        np.testing.assert_allclose(one["regret"][0], full["regret"][r], rtol=AGREE)


def test_adam_and_amsgrad_match_a_scalar_loop():
    horizons = [30, 300]
    arrays = {
        a: adam_adabound.reddi_regret(seeds(2), NUMPY, algorithm=a, big_c=3.0, horizons=horizons)
        for a in ("adam", "amsgrad")
    }
    start = np.asarray(
        to_numpy(harness.initial_draws(seeds(2), NUMPY, lambda g: g.uniform(-1, 1, 1)))
    )[:, 0]
    for algorithm, use_max in (("adam", False), ("amsgrad", True)):
        for r, x in enumerate(start):
            v = v_max = 0.0
            loss = total = 0.0
            for t in range(1, 301):
                g = 3.0 if t % 3 == 1 else -1.0
                loss += g * x
                total += g
                v = 0.1 * v + 0.9 * g * g
                v_max = max(v_max, v)
                x = min(
                    1.0, max(-1.0, x - 0.5 / math.sqrt(t) * g / math.sqrt(v_max if use_max else v))
                )
                if t in horizons:
                    got = arrays[algorithm]["regret"][r, horizons.index(t)]
                    assert abs(got - (loss + abs(total))) < 1e-9


# ------------------------------------------------------------------------ closed forms


def test_noise_floor_constant_is_the_mean_chi_norm():
    assert ogd.noise_floor_constant(1) == pytest.approx(math.sqrt(2 / math.pi), rel=1e-14)
    for d in (2, 5, 10):
        assert ogd.noise_floor_constant(d) == pytest.approx(
            scipy.stats.chi(d).mean() / math.sqrt(d)
        )


def test_moment_recursion_reproduces_the_reference_values():
    # spec §4.3: cumulative sum of m_t at T = 1e3, 5e3, 2e4 for d = 10, sigma = 1, gamma = 0.01
    expected = {
        "greedy": (258.9, 683.6, 2276),
        "optimal-constant": (662.9, 1088, 2680),
        "constant": (509, 1995, 7566),
    }
    for schedule, values in expected.items():
        steps = lr_shift.schedule_steps(
            schedule, 20000, dimension=10, sigma=1.0, gamma=0.01, scale=0.05
        )
        regret = lr_shift.predicted_regret(
            steps, [1000, 5000, 20000], dimension=10, sigma=1.0, gamma=0.01
        )
        np.testing.assert_allclose(2 * regret, values, rtol=1e-3)


def test_greedy_step_minimises_the_next_error():
    for error in (0.01, 0.1, 1.0, 10.0):
        best = lr_shift.greedy_step(error, 10, 1.0)
        grid = np.linspace(0.0, 0.2, 2001)
        nexts = [lr_shift.moment_step(error, s, 10, 1.0, 0.01, 12) for s in grid]
        assert lr_shift.moment_step(error, best, 10, 1.0, 0.01, 12) <= min(nexts) + 1e-12
    assert lr_shift.stationary_error(10, 1.0, 0.01) == pytest.approx(0.10618, rel=1e-4)


def test_best_fixed_loss_and_strongly_adaptive_regret_against_brute_force():
    rng = np.random.default_rng(5)
    scores = np.abs(rng.standard_normal((2, 96))) * 3
    losses = rng.uniform(0, 2, (2, 96))
    best = np.asarray(conformal.best_fixed_loss(NUMPY.asarray(scores), 0.9, NUMPY))
    for r in range(2):
        brute = min(sum(pinball(s, c, 0.9) for s in scores[r]) for c in scores[r])
        assert best[r] == pytest.approx(brute, rel=1e-12)
    sar = np.asarray(
        conformal.strongly_adaptive_regret(
            NUMPY.asarray(scores), NUMPY.asarray(losses), 16, 0.9, NUMPY
        )
    )
    for r in range(2):
        brute = max(
            losses[r, s : s + 16].sum()
            - min(
                sum(pinball(x, c, 0.9) for x in scores[r, s : s + 16])
                for c in scores[r, s : s + 16]
            )
            for s in range(0, 96 - 16 + 1, 4)
        )
        assert sar[r] == pytest.approx(brute, rel=1e-12)


# ------------------------------------------------------------------------ streams, backends


def test_replicate_streams_do_not_depend_on_the_batch_or_the_horizon():
    everything = harness.normal_stream(seeds(6), NUMPY, 0, (2,))
    part = harness.normal_stream(seeds(6)[2:4], NUMPY, 0, (2,))
    for t in (1, 2, harness.BLOCK, harness.BLOCK + 1, 3 * harness.BLOCK + 7):
        np.testing.assert_array_equal(everything.at(t)[2:4], part.at(t))


SMALL_CONFIGS = {
    "online_regret.oomd-sea": [
        oomd_sea.sea_config("noise-floor", "optimistic", [10, 50], sigma=0.5, d=3),
        oomd_sea.sea_config("bilinear", "optimistic", [10, 50], sigma=0.3, variation=0.2),
        oomd_sea.sea_config("bilinear", "ogd", [10, 50]),
        oomd_sea.sea_config("quadratic", "optimistic", [10, 50], sigma=1.0, d=5),
    ],
    "online_regret.ogd": [{"sigma": 1.0, "d": 4, "horizons": [10, 50]}],
    "online_regret.conformal": [
        conformal.conformal_config(s, a, [10, 60], step=0.05)
        for s in ("piecewise", "adversarial")
        for a in ("saocp", "aci", "sfogd", "ogd-radius", "split")
    ],
    "online_regret.saocp": [conformal.sar_config("saocp", 64, [8, 16])],
    "online_regret.reddi": [
        adam_adabound.reddi_config(a, [10, 60])
        for a in ("adam", "adabound", "adabound-code", "optimistic-amsgrad")
    ],
    "online_regret.lrshift": [
        lr_shift.lrshift_config("greedy", [10, 60], d=4),
        lr_shift.lrshift_config("inverse-sqrt-t", [10, 60], scale=0.1, d=4, gamma=0.0),
    ],
}


@pytest.mark.parametrize("name", sorted(SMALL_CONFIGS))
def test_every_study_runs_on_array_api_strict_with_the_numpy_numbers(studies, name):
    grid = SMALL_CONFIGS[name]
    plain = run_study(studies[name], replicates=3, grid=grid).frame
    strict = run_study(studies[name], replicates=3, grid=grid, backend="array-api-strict").frame
    metrics = [c for c in plain.columns if c not in (*grid[0], "replicate", studies[name].axis)]
    for metric in metrics:
        np.testing.assert_allclose(strict[metric], plain[metric], rtol=AGREE, atol=AGREE)


def test_batching_does_not_change_the_numbers(studies):
    entry = studies["online_regret.oomd-sea"]
    grid = SMALL_CONFIGS["online_regret.oomd-sea"][1:2]
    one = run_study(replace(entry, batch_size=5), replicates=5, grid=grid).frame
    many = run_study(replace(entry, batch_size=2), replicates=5, grid=grid).frame
    np.testing.assert_array_equal(one["regret"].to_numpy(), many["regret"].to_numpy())


def test_every_family_claim_is_registered_with_controls():
    registry.load_content(["simulations"])
    claims = [c for c in registry.registered_claims() if c.family == "online_regret"]
    assert len(claims) >= 15
    for entry in claims:
        assert entry.method == "monte-carlo" and entry.controls
        assert entry.module.startswith("simulations.online_regret.")
        assert entry.paper in {
            "oomd_sea",
            "online_conformal",
            "adabound",
            "optimistic_amsgrad",
            "lrshift",
        }


# ------------------------------------------------------------------------ harness tests


def fit_of(exponent: float, low: float, high: float) -> RateFit:
    return RateFit(exponent, low, high, 0.0, 0.95, 1000)


def test_two_sided_band_and_grey_zone():
    assert harness.two_sided(fit_of(0.55, 0.52, 0.6), 0.5).holds  # meets 0.5 +- 0.07
    grey = harness.two_sided(fit_of(0.65, 0.6, 0.7), 0.5)  # 0.1 away: neither
    assert not grey.holds and grey.inconclusive
    clear = harness.two_sided(fit_of(1.0, 0.95, 1.05), 0.5)
    assert not clear.holds and not clear.inconclusive and clear.margin == pytest.approx(-0.38)


def test_one_sided_and_bounded_ratio():
    assert harness.one_sided(fit_of(0.5, 0.45, 0.56), 0.5).holds
    assert harness.one_sided(fit_of(0.6, 0.58, 0.62), 0.5).inconclusive
    assert not harness.one_sided(fit_of(0.9, 0.85, 0.95), 0.5).inconclusive
    assert harness.bounded_ratio(fit_of(0.04, -0.02, 0.1)).holds  # the point estimate decides
    assert not harness.bounded_ratio(fit_of(0.5, 0.4, 0.6)).inconclusive


def test_decide_stops_at_the_first_decisive_failure():
    calls = []

    def part(holds: bool, inconclusive: bool = False):
        def make() -> Evidence:
            calls.append(holds)
            return Evidence(
                holds=holds, margin=0.0 if holds else -1.0, cases=1, inconclusive=inconclusive
            )

        return make

    evidence = harness.decide(
        [("a", part(True)), ("b", part(False, True)), ("c", part(False)), ("d", part(True))]
    )
    assert calls == [True, False, False] and not evidence.holds and not evidence.inconclusive
    assert "d" in evidence.details["not evaluated (a part already failed)"]
    grey = harness.decide([("a", part(True)), ("b", part(False, True))])
    assert grey.inconclusive


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: harness.check_horizons([10, -5], where="x"), "-5"),
        (lambda: harness.check_horizons([], where="x"), "non-empty"),
        (lambda: harness.check_horizons([2.5], where="x"), "2.5"),
        (
            lambda: oomd_sea.simulate_sea(
                oomd_sea.sea_config("bilinear", "adagrad", [10]), seeds(2), NUMPY
            ),
            "adagrad",
        ),
        (
            lambda: oomd_sea.simulate_sea(
                oomd_sea.sea_config("tornado", "ogd", [10]), seeds(2), NUMPY
            ),
            "tornado",
        ),
        (
            lambda: oomd_sea.simulate_sea(
                oomd_sea.sea_config("noise-floor", "ogd", [10], sigma=0.0), seeds(2), NUMPY
            ),
            "sigma",
        ),
        (
            lambda: oomd_sea.simulate_sea(
                oomd_sea.sea_config("bilinear", "ogd", [0, 10]), seeds(2), NUMPY
            ),
            "0",
        ),
        (
            lambda: conformal.run_conformal(
                seeds(2), NUMPY, stream="iid", algorithm="aci", alpha=0.1, step=0.0, horizon=5
            ),
            "step",
        ),
        (
            lambda: conformal.run_conformal(
                seeds(2), NUMPY, stream="iid", algorithm="sfogd", alpha=1.5, step=0.0, horizon=5
            ),
            "1.5",
        ),
        (
            lambda: conformal.run_conformal(
                seeds(2), NUMPY, stream="fog", algorithm="sfogd", alpha=0.1, step=0.0, horizon=5
            ),
            "fog",
        ),
        (
            lambda: adam_adabound.reddi_regret(
                seeds(2), NUMPY, algorithm="adam", big_c=1.5, horizons=[5]
            ),
            "1.5",
        ),
        (
            lambda: adam_adabound.reddi_regret(
                seeds(2), NUMPY, algorithm="rmsprop", big_c=3.0, horizons=[5]
            ),
            "rmsprop",
        ),
        (
            lambda: lr_shift.schedule_steps(
                "constant", 5, dimension=2, sigma=1.0, gamma=0.0, scale=-0.1
            ),
            "-0.1",
        ),
        (
            lambda: lr_shift.schedule_steps(
                "cosine", 5, dimension=2, sigma=1.0, gamma=0.0, scale=0.1
            ),
            "cosine",
        ),
        (
            lambda: ogd.ogd_linear_regret(
                lambda t: None,
                replicates=2,
                dimension=2,
                radius=1.0,
                step_scale=0.0,
                horizons=[3],
                xp=NUMPY,
            ),
            "step_scale",
        ),
    ],
)
def test_bad_input_names_the_value(call, message):
    with pytest.raises(ValueError, match=message):
        call()
