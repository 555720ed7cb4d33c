"""Bad input and known values of the contrastive-suff, pacgrad, cpa and projhead modules.

Each public function rejects bad input at its edge with a ``ValueError`` that names the
function and the offending value, on every CPU backend (the ``xp`` fixture of conftest).
The claims themselves are collected by the theorycheck plugin.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import on

from theory.catalog import contrastive_suff, cpa, pacgrad, projhead
from theorycheck import all_claims


def values(x):
    return np.asarray(x, dtype=float)


# ------------------------------------------------------------------ contrastive-suff


def test_contrastive_rejects_bad_inputs(xp):
    joint = on(xp, [[0.25, 0.25], [0.25, 0.25]])
    with pytest.raises(ValueError, match=r"mutual_information: joint must have shape"):
        contrastive_suff.mutual_information(on(xp, [0.5, 0.5]))
    with pytest.raises(ValueError, match="mutual_information: joint must be non-negative, has "):
        contrastive_suff.mutual_information(on(xp, [[0.75, -0.25], [0.25, 0.25]]))
    with pytest.raises(ValueError, match="mutual_information: joint must sum to 1"):
        contrastive_suff.mutual_information(on(xp, [[0.5, 0.5], [0.5, 0.5]]))
    with pytest.raises(ValueError, match="mutual_information: joint must be finite"):
        contrastive_suff.mutual_information(on(xp, [[np.nan, 0.5], [0.25, 0.25]]))
    with pytest.raises(ValueError, match="pointwise_mutual_information: joint must have full"):
        contrastive_suff.pointwise_mutual_information(on(xp, [[0.5, 0.0], [0.25, 0.25]]))
    with pytest.raises(ValueError, match="log_joint_critic: joint must have full support"):
        contrastive_suff.log_joint_critic(on(xp, [[0.5, 0.0], [0.25, 0.25]]))
    with pytest.raises(ValueError, match=r"infonce_population_loss: critic must end with"):
        contrastive_suff.infonce_population_loss(on(xp, [[0.0, 0.0, 0.0]]), joint)
    with pytest.raises(ValueError, match="infonce_population_loss: critic must be finite"):
        contrastive_suff.infonce_population_loss(on(xp, [[np.inf, 0.0], [0.0, 0.0]]), joint)
    labels = on(xp, [0, 1], dtype=np.int64)
    with pytest.raises(ValueError, match="encoder_pushforward: classes must be a positive"):
        contrastive_suff.encoder_pushforward(joint, labels, 0)
    with pytest.raises(ValueError, match="encoder_pushforward: encoder must be an integer"):
        contrastive_suff.encoder_pushforward(joint, on(xp, [0.0, 1.0]), 2)
    with pytest.raises(ValueError, match=r"encoder labels must lie in \[0, 1\), got 1"):
        contrastive_suff.encoder_pushforward(joint, labels, 1)
    with pytest.raises(ValueError, match=r"encoder_pushforward: encoder must have shape"):
        contrastive_suff.encoder_pushforward(joint, on(xp, [0, 1, 0], dtype=np.int64), 2)
    with pytest.raises(ValueError, match=r"sufficiency_gap: encoder labels .* got -1"):
        contrastive_suff.sufficiency_gap(joint, on(xp, [0, -1], dtype=np.int64), 2)
    with pytest.raises(ValueError, match="mutual_information_as_excess: classes must be"):
        contrastive_suff.mutual_information_as_excess(joint, labels, -3)


def test_contrastive_values(xp):
    independent = on(xp, np.outer([0.3, 0.7], [0.2, 0.5, 0.3]))
    assert abs(float(contrastive_suff.mutual_information(independent))) < 1e-15
    np.testing.assert_allclose(
        values(contrastive_suff.pointwise_mutual_information(independent)), 0.0, atol=1e-15
    )
    diagonal = on(xp, [[0.5, 0.0], [0.0, 0.5]])
    assert math.isclose(float(contrastive_suff.mutual_information(diagonal)), math.log(2))
    joint = on(xp, [[0.1, 0.4], [0.3, 0.2]])  # p_Z = (0.4, 0.6): not uniform
    mi = float(contrastive_suff.mutual_information(joint))
    pmi = contrastive_suff.pointwise_mutual_information(joint)
    loss = float(contrastive_suff.infonce_population_loss(pmi, joint))
    assert math.isclose(loss, -mi, rel_tol=1e-14)
    # a constant critic has loss 0; the joint critic is not optimal
    zero = float(contrastive_suff.infonce_population_loss(on(xp, np.zeros((2, 2))), joint))
    assert abs(zero) < 1e-15
    wrong = contrastive_suff.infonce_population_loss(
        contrastive_suff.log_joint_critic(joint), joint
    )
    assert float(wrong) > -mi + 1e-3
    # merging both rows keeps no information about Z
    merged = contrastive_suff.encoder_pushforward(joint, on(xp, [0, 0], dtype=np.int64), 1)
    np.testing.assert_allclose(values(merged), [[0.4, 0.6]], atol=1e-16)
    gap = contrastive_suff.sufficiency_gap(joint, on(xp, [0, 0], dtype=np.int64), 1)
    assert math.isclose(float(gap), mi, rel_tol=1e-14)
    same = contrastive_suff.sufficiency_gap(joint, on(xp, [1, 0], dtype=np.int64), 2)
    assert abs(float(same)) < 1e-15


def test_minimise_infonce_recovers_minus_mi_and_rejects_bad_input():
    joint = np.array([[[0.1, 0.3], [0.4, 0.2]]])
    minimum, gap, _ = contrastive_suff.minimise_infonce(joint, np.eye(2)[None])
    mi = float(contrastive_suff.mutual_information(joint[0]))
    assert abs(minimum[0] + mi) < 1e-14 and gap[0] < 1e-20
    merged, _, _ = contrastive_suff.minimise_infonce(joint, np.ones((1, 2, 1)))
    assert abs(merged[0]) < 1e-14
    with pytest.raises(ValueError, match="minimise_infonce: joint must have full support"):
        contrastive_suff.minimise_infonce(np.array([[[0.5, 0.0], [0.25, 0.25]]]), np.eye(2)[None])
    with pytest.raises(ValueError, match=r"minimise_infonce: assignment must have shape \(1, 2,"):
        contrastive_suff.minimise_infonce(joint, np.eye(3)[None])
    with pytest.raises(ValueError, match="minimise_infonce: assignment must hold one-hot rows"):
        contrastive_suff.minimise_infonce(joint, np.array([[[1.0, 0.0], [1.0, 0.0]]]))


# ------------------------------------------------------------------------------- cpa


def test_cpa_rejects_bad_inputs(xp):
    grid = on(xp, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="cosine_power_annealing: exponent_order must be >= 1"):
        cpa.cosine_power_annealing(grid, exponent_order=0.5)
    with pytest.raises(ValueError, match="cosine_power_annealing: min_lr must not exceed max_lr"):
        cpa.cosine_power_annealing(grid, max_lr=0.1, min_lr=0.2)
    with pytest.raises(ValueError, match="cosine_power_annealing: max_lr must be a finite"):
        cpa.cosine_power_annealing(grid, max_lr=float("nan"))
    with pytest.raises(ValueError, match="cosine_power_annealing: epochs must be a 1-d grid"):
        cpa.cosine_power_annealing(on(xp, [1.0]))
    with pytest.raises(ValueError, match="cosine_power_annealing: the grid's cosine values"):
        cpa.cosine_power_annealing(on(xp, [2.0, 2.0]))
    with pytest.raises(ValueError, match="cosine_proportion: max_epoch must be > 0, got 0"):
        cpa.cosine_proportion(grid, 0)
    with pytest.raises(ValueError, match="cosine_proportion: epochs must be finite"):
        cpa.cosine_proportion(on(xp, [np.inf]), 3)
    with pytest.raises(ValueError, match=r"cosine_power_closed_form: proportion must lie in"):
        cpa.cosine_power_closed_form(on(xp, [0.5, 1.5]))
    with pytest.raises(ValueError, match="cosine_power_closed_form: exponent_order must be >= 1"):
        cpa.cosine_power_closed_form(on(xp, [0.5]), exponent_order=-2)


def test_cpa_values(xp):
    c = values(cpa.cosine_proportion(on(xp, [0.0, 2.0, 4.0]), 4))
    np.testing.assert_allclose(c, [1.0, 0.5, 0.0], atol=1e-16)
    # the official grid t = 1..3, p = 2: (2^{c+1} - 2) / (2^{c_1+1} - 2) with c_1 = 3/4
    rates = values(cpa.cosine_power_annealing(on(xp, [1.0, 2.0, 3.0]), 1.0, 0.0, 2.0))
    expected = (2 ** np.array([0.75, 0.25, 0.0]) - 1) / (2**0.75 - 1)
    np.testing.assert_allclose(rates, expected, rtol=1e-14)
    # p = 1 on a spanning grid is cosine annealing; the closed form agrees with the code
    span = on(xp, np.arange(11.0))
    cos = values(cpa.cosine_proportion(span, 10))
    np.testing.assert_allclose(
        values(cpa.cosine_power_annealing(span, 0.1, 1e-3, 1.0)), 1e-3 + 0.099 * cos, atol=1e-17
    )
    for p in (1.0, 1.5, 10.0):
        np.testing.assert_allclose(
            values(cpa.cosine_power_annealing(span, 0.1, 1e-3, p)),
            values(cpa.cosine_power_closed_form(on(xp, cos), 0.1, 1e-3, p)),
            atol=1e-15,
        )


def test_cpa_candidates_are_symbolic_and_numeric():
    from proofs_check.catalog import cpa as cpa_claims

    assert math.isclose(cpa_claims.normalised_power(10.0, 0.5), (math.sqrt(10) - 1) / 9)
    assert cpa_claims.unnormalised_power(2.0, 1.0) == 2.0


# --------------------------------------------------------------------------- pacgrad


def test_pacgrad_rejects_bad_inputs(xp):
    points, weights = pacgrad.gaussian_quadrature(5)
    f = on(xp, points[:, 0])
    w = on(xp, weights)
    with pytest.raises(ValueError, match="gaussian_quadrature: nodes must be a positive integer"):
        pacgrad.gaussian_quadrature(0)
    with pytest.raises(ValueError, match="gaussian_quadrature: dim must be a positive integer"):
        pacgrad.gaussian_quadrature(5, dim=0)
    with pytest.raises(ValueError, match="gaussian_quadrature: nodes\\*\\*dim = "):
        pacgrad.gaussian_quadrature(1000, dim=3)
    with pytest.raises(ValueError, match=r"gaussian_entropy: weights must have shape \(5,\)"):
        pacgrad.gaussian_entropy(f, on(xp, weights[:4]))
    with pytest.raises(ValueError, match="gaussian_entropy: weights must sum to 1"):
        pacgrad.gaussian_entropy(f, on(xp, 2 * weights))
    with pytest.raises(ValueError, match="gaussian_entropy: f_values must be finite"):
        pacgrad.gaussian_entropy(on(xp, [np.nan, 0, 0, 0, 0]), w)
    with pytest.raises(ValueError, match=r"dirichlet_energy: gradients must have shape"):
        pacgrad.dirichlet_energy(f, w)
    with pytest.raises(ValueError, match="centered_log_mgf: lam must be 1-d"):
        pacgrad.centered_log_mgf(f, w, on(xp, [[1.0]]))
    with pytest.raises(ValueError, match="centered_log_mgf: weights must be non-negative"):
        pacgrad.centered_log_mgf(f, on(xp, [1.5, -0.5, 0, 0, 0]), on(xp, [1.0]))


def test_pacgrad_values(xp):
    points, weights = pacgrad.gaussian_quadrature(40)
    assert math.isclose(weights.sum(), 1.0, rel_tol=1e-15)
    np.testing.assert_allclose([weights @ points[:, 0] ** 2, weights @ points[:, 0] ** 4], [1, 3])
    grid2, weights2 = pacgrad.gaussian_quadrature(3, 2)
    assert grid2.shape == (9, 2) and math.isclose(weights2 @ grid2[:, 1] ** 2, 1.0)
    w = on(xp, weights)
    a = 1.2
    f = on(xp, np.exp(a * points[:, 0] / 2))
    expected = a**2 / 2 * math.exp(a**2 / 2)
    assert math.isclose(float(pacgrad.gaussian_entropy(f, w)), expected, rel_tol=1e-12)
    gradients = on(xp, (a / 2 * np.exp(a * points[:, 0] / 2))[:, None])
    assert math.isclose(float(pacgrad.dirichlet_energy(gradients, w)), expected / 2, rel_tol=1e-12)
    assert abs(float(pacgrad.gaussian_entropy(on(xp, np.full(40, 3.0)), w))) < 1e-14
    lam = np.array([-2.0, 0.0, 1.5])
    log_mgf = values(pacgrad.centered_log_mgf(on(xp, a * points[:, 0]), w, on(xp, lam)))
    np.testing.assert_allclose(log_mgf, lam**2 * a**2 / 2, atol=1e-13)


# -------------------------------------------------------------------------- projhead


def test_projhead_rejects_bad_inputs(xp):
    w1, w2 = on(xp, np.ones((3, 4))), on(xp, np.ones((2, 3)))
    with pytest.raises(ValueError, match="imbalance: w2 .* and w1 .* must share h"):
        projhead.imbalance(w1, on(xp, np.ones((2, 2))))
    with pytest.raises(ValueError, match="singular_values: m must have shape"):
        projhead.singular_values(on(xp, [1.0, 2.0]))
    with pytest.raises(ValueError, match="singular_values: m must be finite"):
        projhead.singular_values(on(xp, [[np.nan, 1.0]]))
    with pytest.raises(ValueError, match=r"balanced_factors: hidden must be an integer >= "):
        projhead.balanced_factors(on(xp, np.eye(3)), 2)
    with pytest.raises(ValueError, match="balanced_factors: rotation must be orthogonal"):
        projhead.balanced_factors(on(xp, np.eye(2)), 2, on(xp, [[1.0, 1.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"balanced_factors: rotation must have shape"):
        projhead.balanced_factors(on(xp, np.eye(2)), 2, on(xp, np.eye(3)))
    with pytest.raises(ValueError, match="spectral_contrastive_gradient: positive_covariance "):
        projhead.spectral_contrastive_gradient(on(xp, [[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="train_factorised: lr must be a positive finite"):
        projhead.train_factorised(w1, w2, lambda w: w, 0.0, 3)
    with pytest.raises(ValueError, match="train_factorised: steps must be a non-negative"):
        projhead.train_factorised(w1, w2, lambda w: w, 0.1, -1)


def test_projhead_values(xp):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 5))
    w1, w2 = projhead.balanced_factors(on(xp, w), 4)
    np.testing.assert_allclose(values(xp.matmul(w2, w1)), w, atol=1e-13)
    np.testing.assert_allclose(values(projhead.imbalance(w1, w2)), 0.0, atol=1e-13)
    np.testing.assert_allclose(
        values(projhead.singular_values(w1))[:3] ** 2,
        values(projhead.singular_values(on(xp, w))),
        rtol=1e-13,
    )
    target = on(xp, rng.standard_normal((2, 3)))
    gradient = projhead.factorisation_gradient(target)
    a1, a2 = on(xp, 0.1 * rng.standard_normal((2, 3))), on(xp, 0.1 * rng.standard_normal((2, 2)))
    b1, b2, drift = projhead.train_factorised(a1, a2, gradient, 0.1, 20)
    change = values(projhead.imbalance(b1, b2)) - values(projhead.imbalance(a1, a2))
    np.testing.assert_allclose(change, values(drift), atol=1e-14)
    identity = projhead.spectral_contrastive_gradient(on(xp, np.eye(2)))
    # W = I: -4 W A + 4 W W^T W = 0 at A = I
    np.testing.assert_allclose(values(identity(on(xp, np.eye(2)))), 0.0, atol=1e-15)


def test_claims_are_registered_where_their_methods_say():
    ids = {c.id: c for c in all_claims()}
    expected = {
        "contrastive_suff.infonce-mi-gap": ("solver", "derived", "theory.catalog"),
        "pacgrad.gaussian-lsi": ("symbolic", "unconfirmed-numbering", "proofs_check.catalog"),
        "pacgrad.herbst-mgf": ("numeric", "unconfirmed-numbering", "theory.catalog"),
        "cpa.cosine-limit": ("symbolic", "confirmed", "proofs_check.catalog"),
        "projhead.balanced-sqrt-weighting": (
            "numeric",
            "unconfirmed-numbering",
            "theory.catalog",
        ),
    }
    for claim_id, (method, provenance, package) in expected.items():
        entry = ids[claim_id]
        assert (entry.method, entry.provenance) == (method, provenance)
        assert entry.module.startswith(package)
        assert entry.paper == claim_id.split(".")[0].replace("_", "-")
