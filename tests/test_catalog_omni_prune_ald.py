"""The math objects of the ``omni``, ``prune`` and ``ald`` catalog modules.

Known values on NumPy and array-api-strict (the ``xp`` fixture of conftest) and bad input:
every public function rejects it with one ValueError naming the function and the value.
The claims themselves run through the pytest plugin
(``pytest theory simulations -k "omni or prune or ald"``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import on

from theory.catalog import ald, omni, prune
from theorycheck import all_claims
from theorycheck.backend import to_numpy


def values(x):
    return np.asarray(to_numpy(x))


# ------------------------------------------------------------------------------ registry


def test_claims_are_registered_with_their_spec_ids():
    claims = {c.id: c for c in all_claims() if c.paper in ("omni", "prune", "ald")}
    expected = {
        "omni.constrained-lp-sufficiency": ("solver", "theory.catalog.omni", "derived"),
        "prune.unbiased-sparsifier": (
            "monte-carlo",
            "simulations.catalog.prune",
            "unconfirmed-numbering",
        ),
        "ald.dictionary-growth": (
            "monte-carlo",
            "simulations.catalog.ald",
            "unconfirmed-numbering",
        ),
    }
    assert set(claims) == set(expected)
    for cid, (method, module, provenance) in expected.items():
        assert (claims[cid].method, claims[cid].module, claims[cid].provenance) == (
            method,
            module,
            provenance,
        )
        assert claims[cid].controls
    assert "fragment" in claims["prune.unbiased-sparsifier"].statement
    assert "fragment" in claims["ald.dictionary-growth"].statement
    assert "derived" in claims["omni.constrained-lp-sufficiency"].statement


# ------------------------------------------------------------------------------ omni


def two_point_domain(xp):
    """x0: p* = 0.8 in group 0, x1: p* = 0.2 in group 1, equal weights, 0-1 loss."""
    weights = on(xp, [0.5, 0.5])
    p_star = on(xp, [0.8, 0.2])
    groups = xp.asarray(np.array([0, 1]))
    loss = on(xp, [[0.0, 1.0], [1.0, 0.0]])  # l(y, a) = 1[y != a]
    return weights, p_star, groups, loss


def test_risk_and_constraint_coefficients_known_values(xp):
    weights, p_star, groups, loss = two_point_domain(xp)
    c = values(omni.risk_coefficients(weights, p_star, loss))
    np.testing.assert_allclose(c, [[0.5 * 0.8, 0.5 * 0.2], [0.5 * 0.2, 0.5 * 0.8]])
    phi, bound = omni.demographic_parity(values(weights), values(groups))
    a = values(omni.constraint_coefficients(weights, p_star, groups, xp.asarray(phi)))
    # P(a=1 | g=0) - P(a=1 | g=1) = pi(1|x0) - pi(1|x1)
    np.testing.assert_allclose(a[0], [[0.0, 1.0], [0.0, -1.0]])
    np.testing.assert_allclose(a[1], -a[0])
    assert bound.tolist() == [0.0, 0.0]
    rule = on(xp, [[0.0, 1.0], [1.0, 0.0]])  # the Bayes rule
    risk, constraint = omni.risk_and_constraints(
        weights, p_star, groups, loss, xp.asarray(phi), rule
    )
    assert float(values(risk)) == pytest.approx(0.2)
    np.testing.assert_allclose(values(constraint), [1.0, -1.0])


def test_equal_opportunity_weights_by_positive_mass():
    phi, bound = omni.equal_opportunity(
        np.array([0.5, 0.5]), np.array([0.8, 0.2]), np.array([0, 1]), slack=0.1
    )
    assert phi.shape == (2, 2, 2, 2)
    np.testing.assert_allclose(phi[0, :, 1, 1], [1 / 0.4, -1 / 0.1])
    np.testing.assert_allclose(phi[0, :, 0, :], 0.0)  # y = 0 does not count
    assert bound.tolist() == [0.1, 0.1]


def test_cell_labels_and_cell_average(xp):
    p_star = np.array([0.3, 0.3, 0.7, 0.3])
    groups = np.array([0, 1, 0, 0])
    assert omni.cell_labels(p_star, groups).tolist() == [0, 1, 2, 0]
    assert omni.cell_labels(p_star, groups, by="score").tolist() == [0, 0, 2, 0]
    weights = on(xp, [0.1, 0.2, 0.3, 0.4])
    rule = on(xp, [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.0, 1.0]])
    averaged = values(omni.cell_average(weights, rule, xp.asarray(np.array([0, 1, 2, 0]))))
    np.testing.assert_allclose(averaged[0], [0.2, 0.8])  # (0.1 [1, 0] + 0.4 [0, 1]) / 0.5
    np.testing.assert_allclose(averaged[3], [0.2, 0.8])
    np.testing.assert_allclose(averaged[1:3], values(rule)[1:3])


def test_optimal_constrained_risk_closed_forms():
    weights, p_star, groups, loss = (values(a) for a in two_point_domain(np))
    batch = [np.stack([a, a]) for a in (weights, p_star, groups, loss)]
    exact = omni.demographic_parity(weights, groups)
    relaxed = omni.demographic_parity(weights, groups, slack=0.2)
    phi = np.stack([exact[0], relaxed[0]])
    bound = np.stack([exact[1], relaxed[1]])
    optimum, rules, errors = omni.optimal_constrained_risk(*batch, phi, bound)
    # exact parity forces pi(1|x0) = pi(1|x1): risk 0.5; slack e gives 0.5 - 0.3 e
    np.testing.assert_allclose(optimum, [0.5, 0.44], atol=1e-9)
    assert np.all(errors < 1e-9)
    np.testing.assert_allclose(rules.sum(-1), 1.0)
    assert rules[1, 0, 1] - rules[1, 1, 1] == pytest.approx(0.2, abs=1e-9)
    # without a binding constraint, the Bayes risk 0.2
    loose = np.stack([relaxed[0], relaxed[0]])
    optimum, _, _ = omni.optimal_constrained_risk(*batch, loose, np.full((2, 2), 5.0))
    np.testing.assert_allclose(optimum, 0.2, atol=1e-9)
    # one cell for both points: the rule must be constant
    cells = np.zeros((2, 2), dtype=np.int64)
    optimum, rules, _ = omni.optimal_constrained_risk(*batch, loose, np.full((2, 2), 5.0), cells)
    np.testing.assert_allclose(optimum, 0.5, atol=1e-9)
    np.testing.assert_allclose(rules[:, 0], rules[:, 1], atol=1e-12)


def test_optimal_constrained_risk_reports_infeasible_lps():
    weights, p_star, groups, loss = (values(a)[None] for a in two_point_domain(np))
    phi, _ = omni.demographic_parity(weights[0], groups[0])
    with pytest.raises(RuntimeError, match="optimal_constrained_risk: HiGHS did not solve"):
        omni.optimal_constrained_risk(weights, p_star, groups, loss, phi[None], -np.ones((1, 2)))


def test_random_instances_share_levels_across_groups_and_are_feasible():
    data = omni.random_instances(np.random.default_rng(0), 8)
    assert data["weights"].shape == (8, 12) and data["phi"].shape == (8, 2, 2, 2, 2)
    cells = omni.cell_labels(data["p_star"], data["groups"])
    assert all(len(set(row)) == 6 for row in cells.tolist())  # six (p*, g)-cells of two
    score_cells = omni.cell_labels(data["p_star"], data["groups"], by="score")
    assert all(len(set(row)) == 3 for row in score_cells.tolist())
    args = [data[k] for k in ("weights", "p_star", "groups", "loss", "phi", "bound")]
    constant = np.zeros((8, 12), dtype=np.int64)  # a constant rule is feasible
    omni.optimal_constrained_risk(*args, constant)


def test_omni_rejects_bad_input(xp):
    weights, p_star, groups, loss = two_point_domain(xp)
    phi = xp.asarray(omni.demographic_parity(values(weights), values(groups))[0])
    rule = on(xp, [[0.0, 1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="risk_coefficients: weights must sum to 1"):
        omni.risk_coefficients(on(xp, [0.5, 0.6]), p_star, loss)
    with pytest.raises(ValueError, match=r"risk_coefficients: p_star must lie in \[0, 1\]"):
        omni.risk_coefficients(weights, on(xp, [1.2, 0.2]), loss)
    with pytest.raises(ValueError, match="risk_coefficients: p_star must be finite, got nan"):
        omni.risk_coefficients(weights, on(xp, [np.nan, 0.2]), loss)
    with pytest.raises(ValueError, match=r"risk_coefficients: loss must have shape \(..., 2, k\)"):
        omni.risk_coefficients(weights, p_star, on(xp, [[0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"constraint_coefficients: groups must lie in \[0, 2\)"):
        omni.constraint_coefficients(weights, p_star, xp.asarray(np.array([0, 2])), phi)
    with pytest.raises(ValueError, match="constraint_coefficients: groups must be an integer"):
        omni.constraint_coefficients(weights, p_star, on(xp, [0.0, 1.0]), phi)
    with pytest.raises(ValueError, match=r"constraint_coefficients: phi must have shape"):
        omni.constraint_coefficients(weights, p_star, groups, on(xp, np.zeros((2, 2, 3, 2))))
    with pytest.raises(ValueError, match="risk_and_constraints: rule must sum to 1"):
        omni.risk_and_constraints(weights, p_star, groups, loss, phi, on(xp, [[0.5, 0.6]] * 2))
    with pytest.raises(ValueError, match=r"risk_and_constraints: rule must have shape"):
        omni.risk_and_constraints(weights, p_star, groups, loss, phi, on(xp, [[1.0, 0.0]] * 3))
    with pytest.raises(ValueError, match="risk_and_constraints: loss and phi must have the same"):
        omni.risk_and_constraints(weights, p_star, groups, on(xp, np.zeros((2, 3))), phi, rule)
    del rule


def test_omni_constraint_builders_reject_bad_input():
    w, g = np.array([0.5, 0.5]), np.array([0, 1])
    with pytest.raises(ValueError, match="demographic_parity: slack must be a number >= 0"):
        omni.demographic_parity(w, g, slack=-0.1)
    with pytest.raises(ValueError, match="demographic_parity: action must be 0 or 1, got 2"):
        omni.demographic_parity(w, g, action=2)
    with pytest.raises(ValueError, match="demographic_parity: both groups need positive"):
        omni.demographic_parity(w, np.array([0, 0]))
    with pytest.raises(ValueError, match="equal_opportunity: both groups need positive"):
        omni.equal_opportunity(w, np.array([0.5, 0.0]), g)
    with pytest.raises(ValueError, match=r"equal_opportunity: p_star must lie in \[0, 1\]"):
        omni.equal_opportunity(w, np.array([0.5, -1.0]), g)
    with pytest.raises(ValueError, match="cell_labels: by must be one of"):
        omni.cell_labels(np.array([0.1, 0.2]), g, by="group")
    with pytest.raises(ValueError, match=r"cell_labels: groups must have shape \(2,\)"):
        omni.cell_labels(np.array([0.1, 0.2]), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match=r"cell_average: rule must have shape \(..., n, k\)"):
        omni.cell_average(w, np.ones((3, 2)) / 2, g)
    with pytest.raises(ValueError, match=r"cell_average: groups must lie in \[0, 2\)"):
        omni.cell_average(w, np.ones((2, 2)) / 2, np.array([0, 5]))
    with pytest.raises(ValueError, match="random_instances: rng must be a numpy Generator"):
        omni.random_instances(0, 3)
    with pytest.raises(ValueError, match="random_instances: count must be an integer >= 1"):
        omni.random_instances(np.random.default_rng(0), 0)


def test_optimal_constrained_risk_rejects_bad_input():
    weights, p_star, groups, loss = (values(a)[None] for a in two_point_domain(np))
    phi, bound = omni.demographic_parity(weights[0], groups[0])
    phi, bound = phi[None], bound[None]
    with pytest.raises(
        ValueError, match=r"optimal_constrained_risk: weights must have at least 2 axes"
    ):
        omni.optimal_constrained_risk(weights[0], p_star[0], groups[0], loss[0], phi[0], bound)
    with pytest.raises(ValueError, match=r"optimal_constrained_risk: bound must have shape"):
        omni.optimal_constrained_risk(weights, p_star, groups, loss, phi, np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"optimal_constrained_risk: groups must lie in \[0, 2\)"):
        omni.optimal_constrained_risk(weights, p_star, groups, loss, phi, bound, np.array([[0, 7]]))
    with pytest.raises(ValueError, match=r"optimal_constrained_risk: phi must have shape"):
        omni.optimal_constrained_risk(weights, p_star, groups, np.zeros((1, 2, 3)), phi, bound)


# ------------------------------------------------------------------------------ prune


def test_keep_probabilities_are_magnitude_proportional_and_capped(xp):
    w = on(xp, [[1.0, -3.0], [0.0, 4.0]])
    np.testing.assert_allclose(values(prune.keep_probabilities(w, 2.0)), [[0.25, 0.75], [0, 1]])
    np.testing.assert_allclose(values(prune.keep_probabilities(w, 4.0)), [[0.5, 1.0], [0, 1]])
    squared = values(prune.keep_probabilities(w, 1.0, power=2.0))
    np.testing.assert_allclose(squared, [[1 / 26, 9 / 26], [0, 16 / 26]])


def test_sparsify_reweights_kept_entries_and_variance_formula(xp):
    w = on(xp, [[1.0, -3.0], [0.0, 4.0]])
    p = on(xp, [[0.25, 0.75], [0.0, 1.0]])
    mask = xp.asarray(np.array([[True, False], [False, True]]))
    np.testing.assert_allclose(values(prune.sparsify(w, p, mask)), [[4.0, 0.0], [0.0, 4.0]])
    plain = values(prune.sparsify(w, p, mask, reweight=False))
    np.testing.assert_allclose(plain, [[1.0, 0.0], [0.0, 4.0]])
    variance = values(prune.sparsifier_variance(w, p))
    np.testing.assert_allclose(variance, [[1 * 0.75 / 0.25, 9 * 0.25 / 0.75], [0.0, 0.0]])


def test_keep_patterns_enumerate_with_probabilities():
    masks, probabilities = prune.keep_patterns(np.array([[0.25, 0.5]]))
    assert masks.tolist() == [[[False, False]], [[True, False]], [[False, True]], [[True, True]]]
    np.testing.assert_allclose(probabilities, [0.375, 0.125, 0.375, 0.125])
    _, batch = prune.keep_patterns(np.full((5, 2, 3), 0.3))
    assert batch.shape == (5, 64)
    np.testing.assert_allclose(batch.sum(-1), 1.0)


def test_keep_masks_are_bernoulli():
    masks = prune.keep_masks(np.random.default_rng(0), np.array([[0.2, 0.9], [0.0, 1.0]]), 20000)
    assert masks.shape == (20000, 2, 2) and masks.dtype == bool
    # SE <= 0.0035; 0.02 is more than 5 SE
    np.testing.assert_allclose(masks.mean(0), [[0.2, 0.9], [0.0, 1.0]], atol=0.02)


def test_bernstein_bounds_known_values(xp):
    w = on(xp, [[2.0, 0.0], [0.0, 1.0]])
    p = on(xp, [[0.5, 0.0], [0.0, 1.0]])
    v, bound = prune.bernstein_parameters(w, p)
    assert float(values(v)) == pytest.approx(4.0) and float(values(bound)) == pytest.approx(2.0)
    tail = prune.bernstein_tail(np.array([2.0]), 4.0, 2.0, (2, 2))
    np.testing.assert_allclose(tail, [4 * math.exp(-2.0 / (4.0 + 4.0 / 3.0))])
    free = prune.bernstein_tail(np.array([2.0]), 4.0, 2.0, (2, 2), dimension_factor=False)
    np.testing.assert_allclose(free, tail / 4)
    expectation = prune.bernstein_expectation(4.0, 2.0, (2, 2))
    assert float(expectation) == pytest.approx(math.sqrt(8 * math.log(4)) + 2 * math.log(4) / 3)
    free = prune.bernstein_expectation(4.0, 2.0, (2, 2), dimension_factor=False)
    assert float(free) == pytest.approx(math.sqrt(8) + 2 / 3)
    norms = values(prune.spectral_norm(on(xp, [[[3.0, 0.0], [0.0, -5.0]], [[1.0, 1.0], [1, 1]]])))
    np.testing.assert_allclose(norms, [5.0, 2.0])


def test_prune_rejects_bad_input(xp):
    w = on(xp, [[1.0, -3.0], [0.0, 4.0]])
    p = on(xp, [[0.25, 0.75], [0.0, 1.0]])
    mask = xp.asarray(np.array([[True, False], [False, True]]))
    with pytest.raises(ValueError, match="keep_probabilities: budget must be a finite number > 0"):
        prune.keep_probabilities(w, 0.0)
    with pytest.raises(ValueError, match="keep_probabilities: power must be a finite number > 0"):
        prune.keep_probabilities(w, 1.0, power=-1.0)
    with pytest.raises(ValueError, match="keep_probabilities: w must have a non-zero entry"):
        prune.keep_probabilities(on(xp, np.zeros((2, 2))), 1.0)
    with pytest.raises(ValueError, match="keep_probabilities: w must be finite, got inf"):
        prune.keep_probabilities(on(xp, [[np.inf, 1.0]]), 1.0)
    with pytest.raises(ValueError, match="keep_probabilities: w must have at least 2 axes"):
        prune.keep_probabilities(on(xp, [1.0, 2.0]), 1.0)
    with pytest.raises(ValueError, match="sparsify: mask must be a boolean array"):
        prune.sparsify(w, p, on(xp, [[1.0, 0.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"sparsify: mask must have shape \(..., 2, 2\)"):
        prune.sparsify(w, p, xp.asarray(np.array([[True, False, True]])))
    with pytest.raises(ValueError, match=r"sparsify: p must lie in \[0, 1\]"):
        prune.sparsify(w, on(xp, [[1.5, 0.5], [0.0, 1.0]]), mask)
    with pytest.raises(ValueError, match="sparsify: p must be > 0 wherever w != 0"):
        prune.sparsify(w, on(xp, [[0.0, 0.5], [0.0, 1.0]]), mask)
    with pytest.raises(ValueError, match="sparsifier_variance: w and p must have the same shape"):
        prune.sparsifier_variance(w, on(xp, [[0.5, 0.5]]))
    with pytest.raises(ValueError, match="bernstein_parameters: w and variance must have the"):
        prune.bernstein_parameters(w, p, variance=on(xp, [[1.0, 1.0]]))
    with pytest.raises(ValueError, match="spectral_norm: z must have at least 2 axes"):
        prune.spectral_norm(on(xp, [1.0, 2.0]))


def test_prune_numpy_helpers_reject_bad_input():
    with pytest.raises(ValueError, match="keep_masks: rng must be a numpy Generator"):
        prune.keep_masks(0, np.full((2, 2), 0.5), 3)
    with pytest.raises(ValueError, match="keep_masks: replicates must be an integer >= 1"):
        prune.keep_masks(np.random.default_rng(0), np.full((2, 2), 0.5), 0)
    with pytest.raises(ValueError, match=r"keep_masks: p must lie in \[0, 1\]"):
        prune.keep_masks(np.random.default_rng(0), np.full((2, 2), 1.5), 3)
    with pytest.raises(ValueError, match="keep_patterns: 5 x 4 = 20 entries give 2"):
        prune.keep_patterns(np.full((5, 4), 0.5))
    with pytest.raises(ValueError, match=r"keep_patterns: p must lie in \[0, 1\]"):
        prune.keep_patterns(np.full((2, 2), -0.5))
    with pytest.raises(ValueError, match="bernstein_tail: t must be finite and > 0"):
        prune.bernstein_tail(np.array([0.0]), 1.0, 1.0, (2, 2))
    with pytest.raises(ValueError, match="bernstein_tail: v must be finite and >= 0"):
        prune.bernstein_tail(np.array([1.0]), -1.0, 1.0, (2, 2))
    with pytest.raises(ValueError, match="bernstein_tail: L must be finite and >= 0"):
        prune.bernstein_tail(np.array([1.0]), 1.0, np.nan, (2, 2))
    with pytest.raises(ValueError, match=r"bernstein_expectation: shape must be \(d1, d2\)"):
        prune.bernstein_expectation(1.0, 1.0, (2, 0))


# ------------------------------------------------------------------------------ ald


def test_kernels_known_values(xp):
    x, y = on(xp, [0.0, 0.0]), on(xp, [0.2, 0.0])
    expected = {
        "gaussian": math.exp(-0.5),
        "laplace": math.exp(-1.0),
        "matern32": (1 + math.sqrt(3)) * math.exp(-math.sqrt(3)),
        "matern52": (1 + math.sqrt(5) + 5 / 3) * math.exp(-math.sqrt(5)),
    }
    for kind, value in expected.items():
        np.testing.assert_allclose(values(ald.kernel(x, y, kind=kind)), [value, 1.0])


def test_anytime_thresholds():
    np.testing.assert_allclose(ald.anytime_thresholds(4, 0.5), [0.5, 0.25, 0.5 / 3, 0.125])


def test_ald_dictionary_small_stream(xp):
    x = on(xp, [[0.5, 0.5, 0.9], [0.1, 0.1, 0.1]])
    run = ald.ald_dictionary(x, on(xp, [0.25, 0.125, 0.01]))
    assert values(run["sizes"]).tolist() == [[1, 1, 2], [1, 1, 1]]
    assert values(run["admitted"]).tolist() == [[True, False, True], [True, False, False]]
    delta = 1 - math.exp(-0.5 * (0.4 / 0.2) ** 2) ** 2
    np.testing.assert_allclose(values(run["residuals"]), [[1, 0, delta], [1, 0, 0]], atol=1e-12)
    np.testing.assert_allclose(values(run["dictionary"])[:, :2], [[0.5, 0.9], [0.1, 0.0]])
    assert values(run["count"]).tolist() == [2, 1]


def test_online_residuals_match_a_direct_solve():
    rng = np.random.default_rng(1)
    x = rng.random((3, 200))
    run = ald.ald_dictionary(x, ald.anytime_thresholds(200, 0.5), kind="matern52")
    sizes = run["sizes"]
    assert np.all(np.diff(sizes, axis=1) >= 0) and np.all(sizes[:, 0] == 1)
    for t in (5, 50, 150):  # a few time points; the dictionary is in admission order
        before = sizes[:, t - 1]  # |D_{t-1}|, the dictionary that tested x_t
        direct = ald.ald_residuals(x[:, t : t + 1], run["dictionary"], before, kind="matern52")
        np.testing.assert_allclose(direct[:, 0], run["residuals"][:, t], atol=1e-9)
    final = ald.ald_residuals(x, run["dictionary"], run["count"], kind="matern52")
    assert np.all(final <= ald.anytime_thresholds(200, 0.5) + 1e-9)


def test_ald_rejects_bad_input(xp):
    x = on(xp, [[0.1, 0.2]])
    with pytest.raises(ValueError, match="kernel: kind must be one of"):
        ald.kernel(x, x, kind="cauchy")
    with pytest.raises(ValueError, match="kernel: lengthscale must be a finite number > 0"):
        ald.kernel(x, x, lengthscale=0.0)
    with pytest.raises(ValueError, match="kernel: x must be finite, got nan"):
        ald.kernel(on(xp, [np.nan]), x)
    with pytest.raises(ValueError, match=r"ald_dictionary: x must have shape \(R, T\)"):
        ald.ald_dictionary(on(xp, [[[0.1]]]), on(xp, [0.5]))
    with pytest.raises(ValueError, match=r"ald_dictionary: thresholds must have shape \(T,\)"):
        ald.ald_dictionary(x, on(xp, [0.5]))
    with pytest.raises(ValueError, match="ald_dictionary: thresholds must be > 0, got 0.0"):
        ald.ald_dictionary(x, on(xp, [0.5, 0.0]))
    with pytest.raises(ValueError, match="ald_dictionary: kind must be one of"):
        ald.ald_dictionary(x, on(xp, [0.5, 0.2]), kind="rbf")
    dictionary = on(xp, [[0.1, 0.0]])
    with pytest.raises(ValueError, match=r"ald_residuals: count must lie in \[1, 2\]"):
        ald.ald_residuals(x, dictionary, xp.asarray(np.array([0])))
    with pytest.raises(ValueError, match=r"ald_residuals: count must be an integer array"):
        ald.ald_residuals(x, dictionary, on(xp, [1.0]))
    with pytest.raises(ValueError, match=r"ald_residuals: need x \(R, T\) and dictionary"):
        ald.ald_residuals(x, on(xp, [[0.1], [0.2]]), xp.asarray(np.array([1, 1])))


def test_anytime_thresholds_reject_bad_input():
    with pytest.raises(ValueError, match="anytime_thresholds: horizon must be an integer >= 1"):
        ald.anytime_thresholds(0)
    with pytest.raises(ValueError, match="anytime_thresholds: nu0 must be < 1"):
        ald.anytime_thresholds(5, 1.5)
    with pytest.raises(ValueError, match="anytime_thresholds: nu0 must be a finite number > 0"):
        ald.anytime_thresholds(5, 0.0)
