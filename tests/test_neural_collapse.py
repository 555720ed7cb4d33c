r"""Tests of the neural-collapse math objects (``theory.neural_collapse``) and studies.

Dang et al., *Neural Collapse in Deep Linear Networks*, ICML 2023. Every function runs on
each backend of the ``xp`` fixture (NumPy and array-api-strict) against an independent
reference (the flat NumPy objective of :mod:`theory.neural_collapse.references`, central
finite differences, brentq, exact constructions); bad input must raise a ``ValueError``
naming the offending value.

Tolerances: u = 2^-53. Objectives and gradients of O(1) size agree with the reference to
1e-12 (a few hundred roundings); central differences with step h = 1e-6 have truncation
error h^2 |f'''| and rounding u|f|/h, both below 1e-8 here, so 1e-6 (the spec's
tolerance) is generous.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import theory.neural_collapse as nc
from simulations.neural_collapse import DynamicsConfig, SweepConfig, gradient_descent
from theory.neural_collapse.references import FlatUFM, scalar_minimiser_reference
from theorycheck.backend import namespace, to_numpy

U = 2.0**-53


@pytest.fixture(scope="module", params=["numpy", "array-api-strict"])
def xp(request):
    return namespace(request.param)


def back(x) -> np.ndarray:
    return np.asarray(to_numpy(x))


def random_point(problem: FlatUFM, seed: int = 0):
    p = np.random.default_rng(seed).standard_normal(problem.size)
    return p, problem.unpack(p)


# --------------------------------------------------------------------------- objectives


@pytest.mark.parametrize("loss", ["mse", "ce"])
@pytest.mark.parametrize("bias", [False, True])
def test_objective_and_gradients_match_reference(xp, loss, bias):
    labels = nc.one_hot_labels([4, 3, 2])
    problem = FlatUFM(loss, labels, (5, 6), (1e-2, 2e-2), 3e-2, bias)
    p, (weights, features, b) = random_point(problem)
    value, grad = problem.value_and_gradient(p)
    args = ([xp.asarray(w) for w in weights], xp.asarray(features), xp.asarray(labels),
            (1e-2, 2e-2), 3e-2, None if b is None else xp.asarray(b))
    assert abs(float(nc.objective(loss, *args)) - value) <= 1e-12 * max(1.0, abs(value))
    grads = nc.gradients(loss, *args)
    packed = problem.pack([back(g) for g in grads.weights], back(grads.features),
                          None if grads.bias is None else back(grads.bias))
    np.testing.assert_allclose(packed, grad, rtol=0, atol=1e-12)


@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_gradients_match_central_differences(loss):
    labels = nc.one_hot_labels([3, 2, 2])
    problem = FlatUFM(loss, labels, (4, 4, 4), (1e-2, 3e-2, 2e-2), 5e-2, True)
    p, _ = random_point(problem, 3)
    _, grad = problem.value_and_gradient(p)
    rng = np.random.default_rng(1)
    h = 1e-6
    for index in rng.choice(problem.size, 25, replace=False):
        step = np.zeros_like(p)
        step[index] = h
        numeric = (problem.value_and_gradient(p + step)[0]
                   - problem.value_and_gradient(p - step)[0]) / (2 * h)
        assert abs(numeric - grad[index]) <= 1e-6


def test_batched_objective_equals_unbatched(xp):
    labels = nc.one_hot_labels([2, 2, 3])
    problem = FlatUFM("mse", labels, (4, 4), (1e-2, 1e-2), 1e-2)
    points = [problem.unpack(random_point(problem, s)[0]) for s in range(3)]
    weights = [xp.asarray(np.stack([pt[0][i] for pt in points])) for i in range(2)]
    features = xp.asarray(np.stack([pt[1] for pt in points]))
    batched = back(nc.mse_objective(weights, features, xp.asarray(labels), (1e-2, 1e-2), 1e-2))
    single = [problem.value_and_gradient(problem.pack(pt[0], pt[1]))[0] for pt in points]
    np.testing.assert_allclose(batched, single, rtol=1e-13)


def test_numpy_lbfgs_agrees_with_scipy_lbfgsb():
    from theory.neural_collapse.references import multistart

    problem = FlatUFM("mse", nc.one_hot_labels([3, 2, 1]), (3, 3), (2e-3, 2e-3), 2e-2)
    ours = multistart(problem, np.random.SeedSequence(1), 1, engine="numpy")
    scipy_runs = multistart(problem, np.random.SeedSequence(1), 1, engine="scipy")
    assert math.isclose(ours[0].objective, scipy_runs[0].objective, rel_tol=1e-12)
    assert ours[0].gradient_norm <= 1e-10
    closed = nc.mse_global_minimiser([3, 2, 1], (2e-3, 2e-3), 2e-2)
    assert math.isclose(ours[0].objective, closed.objective, rel_tol=1e-12)


# --------------------------------------------------------------------------- scalar problem


def test_thresholds_match_spec_values():
    spec = (1.0, 0.5, 0.529134, 0.569877, 0.606287, 0.637270, 0.663573, 0.686074, 0.705512)
    for depth, value in enumerate(spec, start=1):
        assert abs(nc.collapse_threshold(depth) - value) <= 5e-7
    roots = (0.649519, 0.839947, 1.065206, 1.301366, 1.542451)
    for depth, value in enumerate(roots, start=2):
        assert abs(nc.root_existence_bound(depth) - value) <= 5e-7


def test_scalar_minimiser_matches_brentq_reference(xp):
    rng = np.random.default_rng(0)
    for depth in (1, 2, 3, 5):
        beta = np.concatenate([10 ** rng.uniform(-3, 0.3, 40),
                               [0.99 * nc.collapse_threshold(depth),
                                1.01 * nc.collapse_threshold(depth)]])
        x = back(nc.scalar_minimiser(xp.asarray(beta), depth))
        reference = np.array([scalar_minimiser_reference(b, depth) for b in beta])
        np.testing.assert_allclose(x, reference, rtol=1e-12, atol=1e-14)


def test_largest_root_is_stationary_and_nan_without_root(xp):
    beta = np.array([0.2, 0.6, 0.64, 0.66, 2.0])
    root = back(nc.largest_stationary_root(xp.asarray(beta), 2))
    assert np.all(np.isnan(root[3:]))
    phi = back(nc.stationarity(xp.asarray(root[:3]), 2))
    np.testing.assert_allclose(phi, beta[:3], rtol=1e-12)
    # beta in (beta*, beta_root]: a root exists but collapse is the global minimiser
    assert back(nc.scalar_minimiser(xp.asarray(np.array([0.6])), 2))[0] == 0.0


# --------------------------------------------------------------------------- closed forms


def test_closed_form_per_class_equals_svd_route(xp):
    sizes, decays, lam_h = [200, 100, 50, 50], (1e-3, 3e-3, 2e-3), 1e-3
    per_class = nc.mse_global_minimiser(sizes, decays, lam_h, xp=xp)
    svd = nc.minimiser_for_target(nc.one_hot_labels(sizes, xp), decays, lam_h, sizes)
    for name in ("classifier_gram", "feature_gram", "class_logits", "product"):
        np.testing.assert_allclose(back(getattr(svd, name)), back(getattr(per_class, name)),
                                   rtol=0, atol=1e-10 * np.max(np.abs(back(getattr(
                                       per_class, name)))))
    assert math.isclose(svd.objective, per_class.objective, rel_tol=1e-12)
    np.testing.assert_allclose(back(per_class.sigma_squared),
                               [33.3790909, 19.6021045, 11.4088283, 11.4088283], atol=5e-8)


def test_sample_count_invariance(xp):
    full = nc.mse_global_minimiser([200, 100, 50, 50], (2e-3, 2e-3), 1e-3, xp=xp)
    small = nc.mse_global_minimiser([8, 4, 2, 2], (2e-3, 2e-3), 25e-3, xp=xp)
    np.testing.assert_allclose(back(small.sigma_squared), back(full.sigma_squared), rtol=1e-12)
    assert math.isclose(small.objective, full.objective, rel_tol=1e-12)


def test_bias_minimiser_and_plain_closed_form(xp):
    closed = nc.mse_bias_minimiser([60] * 4, (1e-3, 1e-3), 1e-3, xp=xp)
    np.testing.assert_allclose(back(closed.bias), [0.25] * 4, atol=1e-15)
    np.testing.assert_allclose(np.sort(back(closed.sigma_squared))[::-1],
                               [15.005339] * 3 + [0.0], atol=5e-7)
    plain = nc.plain_ufm_closed_form([6, 3, 2, 1], 0.1, 1.5 / 14.4)
    assert plain.alive.tolist() == [True, True, True, False]
    scalar = nc.mse_global_minimiser([6, 3, 2, 1], (0.1,), 1.5 / 14.4, xp=xp)
    np.testing.assert_allclose(back(scalar.sigma_squared), plain.classifier_norm_squared,
                               rtol=1e-12, atol=1e-15)


def test_balanced_factorisation_reproduces_product_and_schatten_term(xp):
    rng = np.random.default_rng(4)
    product = rng.standard_normal((3, 6))
    decays, lam_h = (1e-2, 3e-2), 2e-2
    weights, features = nc.balanced_factorisation(xp.asarray(product), decays, lam_h, (4, 5))
    rebuilt = back(weights[1] @ weights[0] @ features)
    np.testing.assert_allclose(rebuilt, product, atol=1e-13)
    regulariser = 0.5 * lam_h * np.sum(back(features) ** 2) + sum(
        0.5 * d * np.sum(back(w) ** 2) for d, w in zip(decays, weights, strict=True))
    singular = np.linalg.svd(product, compute_uv=False)
    schatten = 1.5 * (lam_h * math.prod(decays)) ** (1 / 3) * np.sum(singular ** (2 / 3))
    assert math.isclose(regulariser, schatten, rel_tol=1e-12)


def test_cross_entropy_scale_and_reduced_objective(xp):
    assert abs(nc.cross_entropy_etf_scale(5, 30, 2e-3, 1e-3) - 4.829109) <= 5e-7
    assert nc.cross_entropy_etf_scale(4, 10, 1.0, 1.0) == 0.0
    logits = nc.candidate_logits("etf", 3, 2.0, xp)
    value = float(nc.reduced_cross_entropy_objective(logits, 1, (1e-2,), 1e-2))
    expected = math.log1p(2 * math.exp(-2.0)) + 1e-2 * 2 * 2.0  # two singular values 2
    assert math.isclose(value, expected, rel_tol=1e-13)


# --------------------------------------------------------------------------- metrics


def test_metrics_on_exact_frames(xp):
    k, n = 4, 3
    sizes = [n] * k
    etf = np.eye(k) - 1 / k
    features = xp.asarray(np.concatenate([etf, np.zeros((2, k))]) @ nc.one_hot_labels(sizes))
    classifier = xp.asarray(np.concatenate([etf, np.zeros((k, 2))], axis=1))
    assert float(nc.nc1(features, sizes)) <= 1e-25
    assert float(nc.nc2_classifier(classifier, "etf")) <= 1e-14
    assert float(nc.nc2_features(features, sizes, "etf")) <= 1e-14
    assert float(nc.nc3(classifier, features, sizes, "etf")) <= 1e-14
    assert float(nc.nc4(classifier, features, sizes)) == 0.0
    known = math.sqrt(2 - 2 * math.sqrt((k - 1) / k))
    assert abs(float(nc.etf_distance(xp.eye(k, dtype=xp.float64))) - known) <= 1e-14
    assert abs(known - 0.5176381) <= 1e-7
    assert float(nc.orthogonal_frame_distance(xp.eye(k, dtype=xp.float64))) <= 1e-15


def test_metrics_keep_batch_axes(xp):
    rng = np.random.default_rng(2)
    sizes = [2, 3, 2]
    features = rng.standard_normal((5, 4, 7))
    weights = [rng.standard_normal((5, 4, 4)), rng.standard_normal((5, 3, 4))]
    batched = nc.collapse_metrics([xp.asarray(w) for w in weights], xp.asarray(features), sizes)
    for r in range(5):
        single = nc.collapse_metrics([xp.asarray(w[r]) for w in weights],
                                     xp.asarray(features[r]), sizes)
        for name, value in single.items():
            assert abs(float(back(batched[name])[r]) - float(value)) <= 1e-12


# --------------------------------------------------------------------------- simulations


def test_gradient_descent_is_backend_independent_and_replicate_stable():
    config = DynamicsConfig((2, 2, 2), (1e-2,), 1e-2, width=4, iterations=50, records=3)
    seeds = np.random.SeedSequence(5).spawn(3)
    a = gradient_descent(config, namespace("numpy"), seeds)
    b = gradient_descent(config, namespace("array-api-strict"), seeds)
    np.testing.assert_allclose(back(b["objective"]), back(a["objective"]), rtol=1e-12)
    one = gradient_descent(config, namespace("numpy"), seeds[:1])
    np.testing.assert_allclose(back(one["objective"])[0], back(a["objective"])[0], rtol=1e-13)


def test_divergence_is_reported_not_raised():
    config = DynamicsConfig((2, 2), (1e-2,), 1e-2, width=3, learning_rate=50.0, momentum=0.9,
                            init_scale=1.0, iterations=200, records=4)
    with np.errstate(all="ignore"):
        result = gradient_descent(config, namespace("numpy"),
                                  np.random.SeedSequence(0).spawn(2))
    assert bool(np.all(back(result["diverged"])))


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("sizes", "match"),
    [([3, 0], "n_2 must be a positive integer, got 0"),
     ([3, -1], "n_2 must be a positive integer, got -1"),
     ([3, 2.5], "n_2 must be a positive integer, got 2.5"),
     ([True, 2], "n_1 must be a positive integer, got True"),
     ("abc", "class_sizes must be a sequence"),
     ([4], "at least 2 classes")],
)
def test_bad_class_sizes(sizes, match):
    with pytest.raises(ValueError, match=match):
        nc.mse_global_minimiser(sizes, (1e-3,), 1e-3)


@pytest.mark.parametrize("bad", [0.0, -1e-3, math.nan, math.inf, True, "1e-3"])
def test_bad_penalties(bad):
    with pytest.raises(ValueError, match="lambda_H"):
        nc.mse_global_minimiser([2, 2], (1e-3,), bad)
    with pytest.raises(ValueError, match="lambda_W2"):
        nc.mse_global_minimiser([2, 2], (1e-3, bad), 1e-3)


def test_bad_depth():
    with pytest.raises(ValueError, match="depth M = len\\(weight_decays\\) must be >= 1, got 0"):
        nc.mse_global_minimiser([2, 2], (), 1e-3)
    with pytest.raises(ValueError, match="depth M must be an integer >= 1, got 0"):
        nc.collapse_threshold(0)
    with pytest.raises(ValueError, match="depth M must be an integer >= 1, got 1.5"):
        nc.root_existence_bound(1.5)
    with pytest.raises(ValueError, match="scalar"):
        nc.mse_global_minimiser([2, 2], 1e-3, 1e-3)


def test_shapes_that_disagree(xp):
    labels = xp.asarray(nc.one_hot_labels([2, 2]))
    h = xp.zeros((3, 4), dtype=xp.float64)
    w1, w2 = xp.zeros((3, 3), dtype=xp.float64), xp.zeros((2, 3), dtype=xp.float64)
    with pytest.raises(ValueError, match="W_2 has 4 columns but its input has dimension 3"):
        nc.mse_objective([w1, xp.zeros((2, 4), dtype=xp.float64)], h, labels, (1, 1), 1)
    with pytest.raises(ValueError, match="features H has 5 samples"):
        nc.mse_objective([w1, w2], xp.zeros((3, 5), dtype=xp.float64), labels, (1, 1), 1)
    with pytest.raises(ValueError, match="last layer W_1 has 3 rows but there are 2 classes"):
        nc.mse_objective([w1], h, labels, (1,), 1)
    with pytest.raises(ValueError, match="bias b must have shape"):
        nc.mse_objective([w1, w2], h, labels, (1, 1), 1, bias=xp.zeros(3, dtype=xp.float64))
    with pytest.raises(ValueError, match="2 weight decays given for 1 layers"):
        nc.mse_objective([w2], h, labels, (1, 1), 1)
    with pytest.raises(ValueError, match="class_sizes sum to 5"):
        nc.nc1(h, [3, 2])
    with pytest.raises(ValueError, match="classifier W has 4 columns"):
        nc.nc3(xp.zeros((2, 4), dtype=xp.float64), h, [2, 2])
    with pytest.raises(ValueError, match="widths \\[1, 1\\] are below the rank 2"):
        nc.balanced_factorisation(xp.asarray(np.eye(2)), (1.0, 1.0), 1.0, (1, 1))


def test_bad_simulation_configs():
    with pytest.raises(ValueError, match="momentum must be in \\[0, 1\\), got 1.0"):
        DynamicsConfig((2, 2), (1e-2,), 1e-2, momentum=1.0)
    with pytest.raises(ValueError, match="width 1 is below the number of classes 2"):
        DynamicsConfig((2, 2), (1e-2,), 1e-2, width=1)
    with pytest.raises(ValueError, match="iterations must be a positive integer, got 0"):
        DynamicsConfig((2, 2), (1e-2,), 1e-2, iterations=0)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        DynamicsConfig((2, 2), (1e-2,), 1e-2, learning_rate=-0.1)
    with pytest.raises(ValueError, match="minor_sizes.*n_2 must be a positive integer, got 0"):
        SweepConfig(20, (10, 0), (1e-2,), 1e-2)
    with pytest.raises(ValueError, match="major_size.*n_1 must be a positive integer, got -3"):
        SweepConfig(-3, (10,), (1e-2,), 1e-2)
    with pytest.raises(ValueError, match="beta must be positive"):
        nc.scalar_minimiser(namespace("numpy").asarray([0.5, -1.0]), 2)


def test_figure_is_registered():
    from theorycheck.registry import all_plots

    assert "neural_collapse" in all_plots()
