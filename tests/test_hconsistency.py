r"""Tests of the H-consistency math objects (``theory.hconsistency``), not of the claims.

Mao, Mohri & Zhong, *Cross-Entropy Loss Functions: Theoretical Analysis and
Applications*, ICML 2023 (spec ``shared/claims/hconsistency.md``). Every function is
checked on each backend of the ``xp`` fixture (NumPy and array-api-strict) against an
independent reference written here (SciPy's softmax and entropy, the spec's §9
formulas, mpmath at 40 digits, brute force over the n possible predictions); bad
input must raise a ``ValueError`` that names the value; hypothesis searches the
pointwise bound and the shape of the transformations; golden values are the spec's.

Tolerances: ``U = 2**-53``. The losses are evaluated from a log-softmax of scores of
size M with absolute error about (n + 3) U (M + log n) in :math:`\log s_y`, which the
loss multiplies by at most :math:`1+|1-\tau||\ell|` (:func:`loss_tolerance`); the
transformation is within about U/t relative of the mpmath value and 16 U absolute;
the references themselves add a few U.
"""

from __future__ import annotations

import math
import pathlib
import warnings

import mpmath
import numpy as np
import pytest
import scipy.special
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import theory.hconsistency as hc
from theory.hconsistency import adversarial
from theory.hconsistency.references import (
    adversarial_search,
    equal_scores_instance,
    inf_sup_transformation,
    random_instances,
    single_threaded_blas,
    structured_instances,
    tight_binary_instance,
)
from theory.hconsistency.symbolic import certifiable, transformation_expr
from theorycheck.backend import namespace, to_numpy
from theorycheck.certify import certify_nonnegative

U = 2.0**-53
TAUS = (0.0, 0.5, 1.0, 1.3, 1.5, 1.8, 2.0, 3.0)


# ---------------------------------------------------------------------------
# backends and conversions
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["numpy", "array-api-strict"])
def xp(request):
    """The array namespace of a backend; every test using it runs on each."""
    return namespace(request.param)


def on(xp, *arrays):
    moved = tuple(xp.asarray(np.asarray(a, dtype=np.float64)) for a in arrays)
    return moved[0] if len(moved) == 1 else moved


def back(x):
    return np.asarray(to_numpy(x))


# ---------------------------------------------------------------------------
# independent references
# ---------------------------------------------------------------------------


def reference_losses(h: np.ndarray, tau: float) -> np.ndarray:
    """phi_tau(softmax(h)) with SciPy's softmax, the spec's §9 phi_s."""
    s = scipy.special.softmax(h, axis=-1)
    if tau == 1.0:
        return -np.log(s)
    return (s ** (tau - 1.0) - 1.0) / (1.0 - tau)


def reference_infimum(p: np.ndarray, tau: float) -> np.ndarray:
    """The spec's §9 C_star, entropy by scipy.special.entr."""
    if tau == 1.0:
        return scipy.special.entr(p).sum(axis=-1)
    if tau < 2.0:
        a = 1.0 / (2.0 - tau)
        return ((p**a).sum(axis=-1) ** (2.0 - tau) - 1.0) / (1.0 - tau)
    return (1.0 - p.max(axis=-1)) / (tau - 1.0)


def mp_transformation(t: float, tau: float, n: int) -> float:
    """T_tau(t) at 40 digits."""
    with mpmath.workdps(40):
        t, tau_mp = mpmath.mpf(t), mpmath.mpf(tau)
        if tau == 1.0:
            tail = (1 - t) / 2 * mpmath.log(1 - t) if t < 1 else 0
            return float((1 + t) / 2 * mpmath.log(1 + t) + tail)
        if tau >= 2.0:
            return float(t / ((tau_mp - 1) * mpmath.mpf(n) ** (tau_mp - 1)))
        a = 1 / (2 - tau_mp)
        mean = ((1 + t) ** a + (1 - t) ** a) / 2
        if tau < 1.0:
            return float(2 ** (1 - tau_mp) / (1 - tau_mp) * (1 - mean ** (2 - tau_mp)))
        return float((mean ** (2 - tau_mp) - 1) / ((tau_mp - 1) * mpmath.mpf(n) ** (tau_mp - 1)))


def brute_force_prediction(h: np.ndarray) -> np.ndarray:
    """The largest index among the maxima, by a Python loop over rows."""
    return np.array([max(k for k, v in enumerate(row) if v == row.max()) for row in h])


def loss_tolerance(h: np.ndarray, expected: np.ndarray, tau: float) -> np.ndarray:
    """Bound on |implementation - reference| of a loss value (module docstring)."""
    n = h.shape[-1]
    magnitude = np.abs(h).max(axis=-1, keepdims=True)
    return 64 * (n + 3) * U * (1 + magnitude + math.log(n)) * (1 + np.abs(expected))


# ---------------------------------------------------------------------------
# (a) the math objects against the references, on each backend
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 10])
@pytest.mark.parametrize("tau", TAUS)
def test_losses_match_the_softmax_reference(xp, n, tau):
    rng = np.random.default_rng(n)
    h = np.clip(rng.normal(0, 3, (200, n)), -30, 30)
    expected = reference_losses(h, tau)
    actual = back(hc.comp_sum_losses(on(xp, h), tau))
    np.testing.assert_array_less(np.abs(actual - expected), loss_tolerance(h, expected, tau))
    y = rng.integers(0, n, 200)
    picked = back(hc.comp_sum_loss(on(xp, h), xp.asarray(y), tau))
    np.testing.assert_array_equal(picked, actual[np.arange(200), y])


@pytest.mark.parametrize("tau", TAUS)
def test_outer_function_is_the_softmax_form(xp, tau):
    """Phi^tau(1/s - 1) = phi_tau(s) (hcons.def.compsum) away from s = 0."""
    s = np.linspace(0.01, 1.0, 100)
    outer = back(hc.comp_sum_outer(on(xp, 1 / s - 1), tau))
    inner = back(hc.loss_of_softmax_probability(on(xp, s), tau))
    np.testing.assert_allclose(outer, inner, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("tau", TAUS)
@pytest.mark.parametrize("n", [2, 5])
def test_infimum_matches_the_closed_form_reference(xp, tau, n):
    p, _ = random_instances(np.random.default_rng(7), 300, n)
    expected = reference_infimum(p, tau)
    actual = back(hc.conditional_risk_infimum(on(xp, p), tau))
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=64 * n * U)


def test_infimum_is_continuous_at_tau_one(xp):
    """P4: the tau != 1 branch keeps its accuracy as tau -> 1 (no 1/(1 - tau) blow-up)."""
    p = on(xp, [[0.7, 0.2, 0.1], [0.5, 0.5, 0.0]])
    entropy = back(hc.conditional_risk_infimum(p, 1.0))
    for tau in (1 - 1e-9, 1 + 1e-9, 1 - 1e-6, 1 + 1e-6):
        # |d C*_tau / d tau| <= 2 here, so C*_tau is within 2 |1 - tau| of the entropy
        np.testing.assert_allclose(
            back(hc.conditional_risk_infimum(p, tau)), entropy, rtol=0, atol=2 * abs(1 - tau)
        )


def test_infimum_has_no_overflow_near_tau_two(xp):
    p = on(xp, [[0.7, 0.2, 0.1]])
    value = float(back(hc.conditional_risk_infimum(p, 2.0 - 1e-6))[0])
    assert math.isfinite(value) and abs(value - 0.3) < 1e-5


@pytest.mark.parametrize("n", [2, 3, 6])
def test_zero_one_regret_by_brute_force_with_ties(xp, n):
    rng = np.random.default_rng(n)
    p, h = random_instances(rng, 500, n)
    h = np.round(h / 4)  # many exact ties
    label = brute_force_prediction(h)
    np.testing.assert_array_equal(back(hc.predicted_label(on(xp, h))), label)
    risks = 1 - p
    expected = risks[np.arange(500), label] - risks.min(axis=1)
    np.testing.assert_allclose(
        back(hc.zero_one_regret(*on(xp, p, h))), expected, rtol=0, atol=4 * U
    )


def test_regret_complement_is_accurate_below_the_spacing_of_one(xp):
    """P13: p = (1, 2.5e-22) with the tiny class predicted.

    In float64 t = 1 exactly, so 1 - t = 0 and T_0(t) = 1: a spurious violation of
    3.2e-11. The complement from the small components, sum_{y != y*} p_y + p_hat =
    5e-22 (p sums to 1 only up to its rounding), gives the spec's exact
    T_0 = 1 - 2 sqrt(2.5e-22), below the regret.
    """
    p, h = on(xp, [[1.0, 2.5e-22]], [[0.0, 1e-9]])
    complement = float(back(hc.zero_one_regret_complement(p, h))[0])
    assert complement == pytest.approx(5e-22, rel=1e-15, abs=0)
    t = float(back(hc.zero_one_regret(p, h))[0])
    assert t == 1.0
    value = float(
        back(hc.error_transformation(on(xp, [t]), 0.0, 2, complement=on(xp, [complement])))[0]
    )
    assert value == pytest.approx(1 - 2 * math.sqrt(2.5e-22), rel=0, abs=1e-15)
    naive = float(back(hc.error_transformation(on(xp, [t]), 0.0, 2))[0])
    assert naive == 1.0
    regret = float(back(hc.conditional_surrogate_regret(p, h, 0.0))[0])
    assert regret - value >= -1e-12 * (1 + regret)
    assert float(back(hc.pointwise_slack(p, h, 0.0))[0]) == pytest.approx(
        regret - value, rel=0, abs=1e-15
    )


@pytest.mark.parametrize("tau", TAUS + (0.25, 1.0 - 1e-7, 1.0 + 1e-7, 1.999999))
@pytest.mark.parametrize("n", [2, 10])
def test_transformation_matches_mpmath(xp, tau, n):
    t = np.array([0.0, 1e-6, 1e-3, 0.05, 0.2, 0.5, 0.7, 0.9, 0.999, 1.0 - 1e-12, 1.0])
    actual = back(hc.error_transformation(on(xp, t), tau, n))
    expected = np.array([mp_transformation(v, tau, n) for v in t])
    # relative error about U/t (and 16 U absolute) of the implementation, see module doc
    np.testing.assert_allclose(actual, expected, rtol=0, atol=32 * U)
    np.testing.assert_allclose(actual[2:], expected[2:], rtol=1e-10)


@pytest.mark.parametrize("tau", TAUS)
def test_inverse_inverts_the_transformation(xp, tau):
    n = 5
    t = np.linspace(0.0, 1.0, 41)
    values = back(hc.error_transformation(on(xp, t), tau, n))
    again = back(hc.inverse_error_transformation(on(xp, values), tau, n))
    back_values = back(hc.error_transformation(on(xp, np.clip(again, 0, 1)), tau, n))
    np.testing.assert_allclose(back_values, values, atol=64 * U)
    beyond = back(hc.inverse_error_transformation(on(xp, [values[-1], 2 * values[-1] + 1]), tau, n))
    np.testing.assert_array_equal(beyond, [1.0, 1.0])  # P8


def test_closed_form_inverses(xp):
    v = np.linspace(0.0, 1.0, 11)
    np.testing.assert_allclose(
        back(hc.inverse_error_transformation(on(xp, v), 0.0, 7)), np.sqrt(2 * v - v**2), atol=4 * U
    )
    np.testing.assert_allclose(
        back(hc.inverse_error_transformation(on(xp, v), 2.0, 7)), np.minimum(7 * v, 1), atol=4 * U
    )


@pytest.mark.parametrize("tau", TAUS)
@pytest.mark.parametrize("n", [2, 3, 10])
def test_tight_instance_attains_the_binary_transformation(xp, tau, n):
    """How to check (c): the regret of the tight instance is T^(2)(t) (epsilon = 1e-9)."""
    t = np.array([0.1, 0.3, 0.6, 0.9])
    pairs = [tight_binary_instance(v, n) for v in t]
    p = np.stack([a for a, _ in pairs])
    h = np.stack([b for _, b in pairs])
    regret = back(hc.conditional_surrogate_regret(*on(xp, p, h), tau))
    binary = np.array([mp_transformation(v, tau, 2) for v in t])
    if tau <= 2.0:  # for tau > 2 the instance is far from tight (P12)
        np.testing.assert_allclose(regret, binary, atol=1e-8)
    bound = back(hc.error_transformation(on(xp, t), tau, n))
    assert np.all(regret >= bound - 1e-12)


def test_spec_values_of_the_transformations():
    """hcons.T.properties values at t = 1, n = 10; T_1(0.2) and T_0(0.2) of hcons.tight.tau_le_1."""
    for tau, value in {0.0: 1.0, 0.5: 0.828427, 1.0: 0.693147, 1.5: 0.261972, 2.0: 0.1}.items():
        assert hc.error_transformation_at_one(tau, 10) == pytest.approx(value, abs=1e-6)
        assert float(hc.error_transformation(np.array(1.0), tau, 10)) == pytest.approx(
            value, abs=1e-6
        )
    assert float(hc.error_transformation(np.array(0.2), 1.0, 3)) == pytest.approx(
        0.02013551, abs=1e-8
    )
    assert float(hc.error_transformation(np.array(0.2), 0.0, 3)) == pytest.approx(
        0.02020410, abs=1e-8
    )
    assert hc.quadratic_minorant_coefficient(0.5, 3) == pytest.approx(1 / (math.sqrt(2) * 1.5))
    assert hc.quadratic_minorant_coefficient(1.5, 4) == pytest.approx(1 / 4)


def test_bounded_gap_closed_form_and_table():
    """hcons.gap.bounded_deterministic at Lambda = 1, n = 10 (spec table)."""
    assert hc.bounded_conditional_infimum(10, 1.0, 1.0) == pytest.approx(0.796614, abs=1e-6)
    assert hc.bounded_conditional_infimum(10, 1.0, 0.0) == pytest.approx(1.218018, abs=1e-6)
    assert hc.bounded_conditional_infimum(10, 1.0, 2.0) == pytest.approx(0.549147, abs=1e-6)
    top, bottom = hc.bounded_softmax_extremes(10, 1.0)
    assert top == pytest.approx(1 / (1 + 9 * math.exp(-2)))
    assert bottom == pytest.approx(1 / (1 + 9 * math.exp(2)))
    assert hc.minimizability_gap(0.573459, 0.350282) == pytest.approx(0.223177)


# ---------------------------------------------------------------------------
# (b) extreme scores: log-sum-exp, no overflow, no NaN
# ---------------------------------------------------------------------------


def test_losses_at_scores_of_size_1e4(xp):
    h = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4 - 800.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ce = back(hc.comp_sum_losses(on(xp, h), 1.0))
        gce = back(hc.comp_sum_losses(on(xp, h), 1.5))
        mae = back(hc.comp_sum_losses(on(xp, h), 2.0))
        sum_exp = back(hc.comp_sum_losses(on(xp, h), 0.0))
    np.testing.assert_allclose(ce[0], [0.0, 2e4, 1e4], rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(ce[1], np.log(3), rtol=1e-15)
    np.testing.assert_allclose(ce[2, 1], 800.0, rtol=1e-14)
    assert np.all(np.isfinite(gce)) and np.all(gce <= 2.0) and np.all(gce >= 0)
    assert np.all(np.isfinite(mae)) and np.all(mae <= 1.0) and np.all(mae >= 0)
    # sum-exp: 1/s - 1 = e^{2e4} is beyond float64 (inf, its rounding), e^800 too; never NaN
    assert sum_exp[0, 0] == 0.0 and np.isinf(sum_exp[0, 1]) and not np.any(np.isnan(sum_exp))
    p = np.array([[0.5, 0.0, 0.5], [1 / 3, 1 / 3, 1 / 3], [1.0, 0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        risk = back(hc.conditional_surrogate_risk(*on(xp, p, h), 1.0))
        sum_exp_risk = back(hc.conditional_surrogate_risk(*on(xp, p, h), 0.0))
        regret = back(hc.conditional_surrogate_regret(*on(xp, p, h), 1.5))
    np.testing.assert_allclose(risk, [5e3, np.log(3), 0.0], rtol=1e-14, atol=1e-300)
    assert not np.any(np.isnan(sum_exp_risk)) and np.all(np.isfinite(regret))


def test_zero_probability_labels_contribute_nothing_even_with_infinite_loss(xp):
    p, h = on(xp, [[1.0, 0.0]], [[0.0, -800.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(back(hc.conditional_surrogate_risk(p, h, 0.0))[0]) == 0.0


# ---------------------------------------------------------------------------
# (c) properties (hypothesis)
# ---------------------------------------------------------------------------

distributions = (
    hnp.arrays(np.float64, st.integers(2, 6), elements=st.floats(0.0, 1.0, allow_subnormal=False))
    .filter(lambda a: a.sum() > 1e-3)
    .map(lambda a: a / a.sum())
)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), tau=st.sampled_from(TAUS))
def test_pointwise_bound_holds(data, tau):
    """hcons.main.pointwise on hypothesis-chosen (p, h), NumPy."""
    p = data.draw(distributions)
    h = data.draw(
        hnp.arrays(np.float64, p.shape, elements=st.floats(-50, 50, allow_subnormal=False))
    )
    slack = float(hc.pointwise_slack(p[None], h[None], tau)[0])
    regret = float(hc.conditional_surrogate_regret(p[None], h[None], tau)[0])
    assert slack >= -1e-12 * (1 + abs(regret))


@settings(max_examples=40, deadline=None)
@given(tau=st.floats(0.0, 3.0), n=st.integers(2, 20), t=st.floats(0.0, 1.0), s=st.floats(0.0, 1.0))
def test_transformation_is_increasing_and_convex(tau, n, t, s):
    """T(0) = 0; midpoint convexity and monotonicity within rounding (16 U per value)."""
    low, high = min(t, s), max(t, s)
    values = hc.error_transformation(np.array([0.0, low, (low + high) / 2, high]), tau, n)
    assert abs(values[0]) <= 16 * U
    assert values[1] <= values[3] + 32 * U
    assert values[2] <= (values[1] + values[3]) / 2 + 64 * U


# ---------------------------------------------------------------------------
# (d) bad input: ValueError naming the value
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("tau", [-0.5, float("nan"), float("inf"), "1", True])
def test_bad_tau_is_named(xp, tau):
    with pytest.raises(ValueError, match=r"^comp_sum_losses: tau must be"):
        hc.comp_sum_losses(on(xp, [[0.0, 1.0]]), tau)
    with pytest.raises(ValueError, match=r"^error_transformation: tau must be"):
        hc.error_transformation(on(xp, [0.5]), tau, 3)


@pytest.mark.parametrize("q", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_gce_parameter_outside_the_open_unit_interval(q):
    with pytest.raises(
        ValueError, match=r"^gce_tau: q must lie in the open interval \(0, 1\), got"
    ):
        hc.gce_tau(q)
    assert hc.gce_tau(0.5) == 1.5


@pytest.mark.parametrize("n", [1, 0, -3, 2.0, True])
def test_fewer_than_two_classes(xp, n):
    with pytest.raises(ValueError, match=r"num_classes must be an integer >= 2, got"):
        hc.error_transformation(on(xp, [0.5]), 1.0, n)
    with pytest.raises(ValueError, match=r"num_classes must be an integer >= 2"):
        hc.bounded_conditional_infimum(n, 1.0, 1.0)


def test_one_class_scores_are_rejected(xp):
    with pytest.raises(ValueError, match=r"^comp_sum_losses: h must have at least 2 classes"):
        hc.comp_sum_losses(on(xp, [[1.0], [2.0]]), 1.0)
    with pytest.raises(
        ValueError, match=r"^conditional_risk_infimum: p must have at least 2 classes"
    ):
        hc.conditional_risk_infimum(on(xp, [[1.0]]), 1.0)


@pytest.mark.parametrize(
    "p, message",
    [
        ([[0.5, 0.6]], r"p must sum to 1 along axis -1, off by 0\.1"),
        ([[1.2, -0.2]], r"p must be non-negative, has entry -0\.2"),
        ([[np.nan, 1.0]], r"p must be finite, got nan"),
        ([[0.5, 0.3], [0.4, 0.2]], r"p must sum to 1"),
    ],
)
def test_probabilities_off_the_simplex(xp, p, message):
    h = np.zeros_like(np.asarray(p))
    for func in (
        hc.conditional_surrogate_risk,
        hc.conditional_surrogate_regret,
        hc.pointwise_slack,
    ):
        with pytest.raises(ValueError, match=rf"^{func.__name__}: {message}"):
            func(on(xp, p), on(xp, h), 1.0)
    with pytest.raises(ValueError, match=rf"^zero_one_regret: {message}"):
        hc.zero_one_regret(on(xp, p), on(xp, h))
    with pytest.raises(ValueError, match=rf"^conditional_risk_infimum: {message}"):
        hc.conditional_risk_infimum(on(xp, p), 1.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_scores(xp, bad):
    h = on(xp, [[0.0, bad, 1.0]])
    for func in (hc.comp_sum_losses, hc.softmax, hc.log_softmax, hc.predicted_label):
        args = (h, 1.0) if func is hc.comp_sum_losses else (h,)
        with pytest.raises(ValueError, match=rf"^{func.__name__}: h must be finite, got {bad}"):
            func(*args)
    p = on(xp, [[0.2, 0.3, 0.5]])
    with pytest.raises(ValueError, match=r"^zero_one_regret: h must be finite"):
        hc.zero_one_regret(p, h)


def test_other_bad_inputs_are_named(xp):
    with pytest.raises(ValueError, match=r"^error_transformation: t must lie in \[0, 1\]"):
        hc.error_transformation(on(xp, [1.5]), 1.0, 3)
    with pytest.raises(ValueError, match=r"^inverse_error_transformation: v must be >= 0"):
        hc.inverse_error_transformation(on(xp, [-0.1]), 1.0, 3)
    with pytest.raises(ValueError, match=r"^comp_sum_loss: labels y must lie in \[0, 2\)"):
        hc.comp_sum_loss(on(xp, [[0.0, 1.0]]), xp.asarray([2]), 1.0)
    with pytest.raises(ValueError, match=r"^comp_sum_loss: y must be an integer array"):
        hc.comp_sum_loss(on(xp, [[0.0, 1.0]]), on(xp, [1.0]), 1.0)
    with pytest.raises(ValueError, match=r"^loss_of_softmax_probability: s must lie in \[0, 1\]"):
        hc.loss_of_softmax_probability(on(xp, [1.5]), 1.0)
    with pytest.raises(ValueError, match=r"^comp_sum_outer: u must be >= 0"):
        hc.comp_sum_outer(on(xp, [-1.0]), 1.0)
    with pytest.raises(
        ValueError, match=r"^conditional_surrogate_risk: p and h must have the same shape"
    ):
        hc.conditional_surrogate_risk(on(xp, [[0.5, 0.5]]), on(xp, [[0.0, 1.0, 2.0]]), 1.0)
    with pytest.raises(ValueError, match=r"must be an array .*got list"):
        hc.comp_sum_losses([[0.0, 1.0]], 1.0)
    with pytest.raises(
        ValueError, match=r"^bounded_conditional_infimum: score_bound must be a finite number > 0"
    ):
        hc.bounded_conditional_infimum(3, 0.0, 1.0)
    with pytest.raises(
        ValueError, match=r"^minimizability_gap: best_in_class_risk must be a finite number"
    ):
        hc.minimizability_gap(float("nan"), 0.1)


# ---------------------------------------------------------------------------
# (e) smooth adversarial comp-sum losses
# ---------------------------------------------------------------------------


def test_adversarial_functions(xp):
    v = np.array([-1.0, 0.0, 0.25, 1.0, 3.0])
    np.testing.assert_array_equal(back(adversarial.rho_margin(on(xp, v), 1.0)), [1, 1, 0.75, 0, 0])
    h = np.array([[2.0, 0.5, -1.0]])
    y = xp.asarray([0])
    np.testing.assert_array_equal(back(adversarial.margin_vector(on(xp, h), y)), [[0.0, 1.5, 3.0]])
    smooth = back(
        adversarial.smooth_adversarial_comp_sum_loss(on(xp, h), on(xp, h), y, 0.5, 2.0, 1.0)
    )
    expected = np.log1p(np.exp((0.5 - 2.0) / 0.5) + np.exp((-1.0 - 2.0) / 0.5))
    np.testing.assert_allclose(smooth, [expected], rtol=1e-15)
    # the spec's negative-control pair: tau = 0, rho = 1, nu = 1, n = 10
    left = back(adversarial.rho_margin_comp_sum(on(xp, np.zeros((1, 9))), 1.0, 0.0))
    right = back(
        adversarial.smooth_comp_sum_bound(
            on(xp, np.full((1, 9), math.log(9))), on(xp, np.zeros((1, 9))), 1.0, 1.0, 0.0
        )
    )
    assert left[0] == pytest.approx(9.0) and right[0] == pytest.approx(1 + 3 * math.log(9))
    huge = back(
        adversarial.smooth_comp_sum_bound(
            on(xp, [[-1e4, 0.0]]), on(xp, [[0.0, 0.0]]), 1.0, 0.0, 1.0
        )
    )
    assert huge[0] == pytest.approx(1e4)
    with pytest.raises(ValueError, match=r"^rho_margin: rho must be > 0, got 0"):
        adversarial.rho_margin(on(xp, v), 0)
    with pytest.raises(ValueError, match=r"^smooth_comp_sum_bound: nu must be >= 0, got -1"):
        adversarial.smooth_comp_sum_bound(on(xp, [[0.0]]), on(xp, [[0.0]]), 1.0, -1, 1.0)


# ---------------------------------------------------------------------------
# (f) the references, the certifier bridge and the BLAS guard
# ---------------------------------------------------------------------------


def test_certifiable_translation_matches_sympy():
    t = sympy.Symbol("t", positive=True)
    expr = (
        sympy.diff(transformation_expr(t, sympy.Rational(1, 2), 2), t, 2)
        + sympy.exp(t)
        - sympy.log(1 + t)
    )
    function = certifiable(expr, [t])
    for value in (0.1, 0.5, 0.9):
        enclosure = function([mpmath.mpf(value)], _MpmathNamespace())
        assert float(enclosure) == pytest.approx(float(expr.subs(t, value)), rel=1e-12)
    assert certify_nonnegative(certifiable(t**2 - t + sympy.Rational(1, 4), [t]), [(0, 1)]).proved
    with pytest.raises(TypeError, match="no interval counterpart"):
        certifiable(sympy.Max(t, 1), [t])


class _MpmathNamespace:
    """A plain-mpmath ``m`` for evaluating a certifiable function at a point."""

    exp = staticmethod(mpmath.exp)
    log = staticmethod(mpmath.log)
    pi = mpmath.pi

    @staticmethod
    def const(value):
        return mpmath.mpf(value.numerator) / value.denominator

    @staticmethod
    def pow(x, exponent):
        return mpmath.power(
            x,
            mpmath.mpf(exponent.numerator) / exponent.denominator
            if hasattr(exponent, "denominator")
            else exponent,
        )


def test_instances_and_search_are_reproducible():
    p1, h1 = random_instances(np.random.default_rng(3), 50, 4)
    p2, h2 = random_instances(np.random.default_rng(3), 50, 4)
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(h1, h2)
    np.testing.assert_allclose(p1.sum(axis=1), 1.0, atol=1e-15)
    assert np.all(np.abs(h1) <= 50)
    hard = structured_instances(2)
    assert len(hard.labels) == hard.p.shape[0] and hard.p.shape == hard.h.shape
    first = adversarial_search(1.0, 3, 0.3, np.random.SeedSequence(5), restarts=1)
    second = adversarial_search(1.0, 3, 0.3, np.random.SeedSequence(5), restarts=1)
    assert first.value == second.value
    assert first.value == pytest.approx(mp_transformation(0.3, 1.0, 3), abs=1e-6)
    p, h = equal_scores_instance(0.1, 10)
    assert float(hc.conditional_surrogate_regret(p[None], h[None], 2.0)[0]) == pytest.approx(
        0.01, abs=1e-9
    )
    assert inf_sup_transformation(1.5, 5, 0.1) == pytest.approx(
        mp_transformation(0.1, 1.5, 5), abs=1e-9
    )


def test_single_threaded_blas_restores_the_thread_counts():
    from theory.hconsistency.references import _loaded_openblas

    before = [int(getter()) for getter, _ in _loaded_openblas()]
    with single_threaded_blas():
        inside = [int(getter()) for getter, _ in _loaded_openblas()]
        assert all(count == 1 for count in inside)
    assert [int(getter()) for getter, _ in _loaded_openblas()] == before


# ---------------------------------------------------------------------------
# (g) the figures
# ---------------------------------------------------------------------------


def test_plot_hconsistency_writes_png_and_svg(tmp_path):
    from theory.hconsistency.plots import plot_hconsistency
    from theorycheck import registry

    out_dir = tmp_path / "figures" / "new"
    paths = plot_hconsistency(out_dir)
    names = sorted(pathlib.Path(p).name for p in paths)
    assert names == [
        "hconsistency_regret_clouds.png",
        "hconsistency_regret_clouds.svg",
        "hconsistency_transformations.png",
        "hconsistency_transformations.svg",
    ]
    for path in paths:
        path = pathlib.Path(path)
        assert path.parent == out_dir and path.stat().st_size > 10_000
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        else:
            text = path.read_text(encoding="utf-8")
            assert "<svg" in text and text.rstrip().endswith("</svg>")
            assert "Mao, Mohri &amp; Zhong" in text
    assert sorted(p.name for p in out_dir.iterdir()) == names
    assert registry._PLOTS["hconsistency"] is plot_hconsistency
