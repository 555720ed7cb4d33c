"""Bad input and known values of the dwcs, pamc and bayes_unlearn catalog math.

Each public function rejects bad input at its edge with a ``ValueError`` that names the
function and the offending value, on every CPU backend (the ``xp`` fixture of conftest).
The claims themselves are collected by the theorycheck plugin
(``pytest theory -k "dwcs or pamc or bayes_unlearn"``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from conftest import host, on

from theory.catalog import bayes_unlearn, dwcs, pamc
from theorycheck import all_claims
from theorycheck.context import Context

# --------------------------------------------------------------------------- registry


def test_claims_registered_with_spec_ids_methods_and_provenance():
    claims = {c.id: c for c in all_claims()}
    expected = {
        "dwcs.reduces-to-kmm": ("dwcs", "solver", "theory.catalog.dwcs"),
        "pamc.metanode-identity": ("pamc", "numeric", "theory.catalog.pamc"),
        "bayes_unlearn.gaussian-be": ("bayes-unlearn", "numeric", "theory.catalog.bayes_unlearn"),
    }
    for claim_id, (paper, method, module) in expected.items():
        claim = claims[claim_id]
        assert (claim.paper, claim.method, claim.module) == (paper, method, module)
        assert claim.provenance == "unconfirmed-numbering"
        assert "fragment" in claim.statement and "fragment" in claim.source
        assert claim.controls


@pytest.mark.parametrize(
    "claim_id", ["dwcs.reduces-to-kmm", "pamc.metanode-identity", "bayes_unlearn.gaussian-be"]
)
def test_claim_holds_and_every_control_fails(claim_id):
    claim = {c.id: c for c in all_claims()}[claim_id]
    ctx = Context.create("numpy", "quick", 0, label=claim_id)
    assert claim.check(ctx).holds
    for control in claim.controls:
        evidence = claim.check(ctx, **control.kwargs)
        assert not evidence.holds and evidence.counterexample, control.name


# --------------------------------------------------------------------------- dwcs


def test_gaussian_gram_values(xp):
    x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    gram = host(dwcs.gaussian_gram(on(xp, x), on(xp, x), 2.0))
    distances = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(gram, np.exp(-distances / 8.0), rtol=1e-15)
    np.testing.assert_array_equal(np.diag(gram), 1.0)
    batch = host(dwcs.gaussian_gram(on(xp, np.stack([x, 2 * x])), on(xp, np.stack([x, x])), 1.0))
    assert batch.shape == (2, 3, 3)


def test_dw_kmm_objective_is_the_embedding_distance(xp):
    # with the linear kernel the feature map is the identity
    rng = np.random.default_rng(0)
    x_train, x_test = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    points = np.concatenate([x_train, x_test])
    beta, alpha = rng.uniform(0, 2, 4), rng.uniform(0, 1, 5)
    expected = np.sum((beta @ x_train / 4 - alpha @ x_test / 5) ** 2)
    value = host(dwcs.dw_kmm_objective(on(xp, points @ points.T), on(xp, beta), on(xp, alpha)))
    np.testing.assert_allclose(value, expected, rtol=1e-13)
    kappa = host(dwcs.kmm_kappa(on(xp, x_train @ x_test.T)))
    np.testing.assert_allclose(kappa, (4 / 5) * (x_train @ x_test.T).sum(-1), rtol=1e-14)
    j = host(dwcs.kmm_objective(on(xp, x_train @ x_train.T), on(xp, kappa), on(xp, beta)))
    # f = (2 / n^2) J + ||mean of the test features||^2
    np.testing.assert_allclose(
        2 / 16 * j + np.sum(x_test.mean(0) ** 2),
        np.sum((beta @ x_train / 4 - x_test.mean(0)) ** 2),
        rtol=1e-12,
    )


def test_kmm_and_dw_kmm_on_identical_samples():
    # training = testing points: beta = alpha = 1 matches the embeddings exactly
    x = np.random.default_rng(1).standard_normal((6, 2))
    points = np.concatenate([x, x])
    gram = host(dwcs.gaussian_gram(points, points, 1.0))
    beta, alpha = dwcs.dw_kmm_weights(gram, 6, bound=3.0, d_param=1.0, epsilon=0.1)
    np.testing.assert_allclose(alpha, 1.0, atol=1e-6)
    assert host(dwcs.dw_kmm_objective(gram, beta, alpha)) < 1e-7
    reference = dwcs.kmm_weights(gram[:6, :6], dwcs.kmm_kappa(gram[:6, 6:]), bound=3.0, epsilon=0.1)
    np.testing.assert_allclose(reference, 1.0, atol=1e-3)
    # a batch of two instances with per-instance parameters
    beta2, alpha2 = dwcs.dw_kmm_weights(
        np.stack([gram, gram]),
        6,
        bound=np.array([3.0, 3.0]),
        d_param=np.array([1.0, 4.0]),
        epsilon=np.array([0.1, 0.1]),
    )
    assert beta2.shape == (2, 6) and alpha2.shape == (2, 6)
    assert np.all(beta2[1] <= 1.5 + 1e-6)  # B / sqrt(D)


def test_dwcs_rejects_bad_inputs(xp):
    x = on(xp, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="gaussian_gram: bandwidth must be a finite number > 0"):
        dwcs.gaussian_gram(x, x, 0.0)
    with pytest.raises(ValueError, match="gaussian_gram: bandwidth must be a finite number > 0"):
        dwcs.gaussian_gram(x, x, True)
    with pytest.raises(ValueError, match="gaussian_gram: x and y must have the same dimension"):
        dwcs.gaussian_gram(x, on(xp, np.zeros((3, 3))), 1.0)
    with pytest.raises(ValueError, match="gaussian_gram: y must be finite, got nan"):
        dwcs.gaussian_gram(x, on(xp, [[np.nan, 0.0]]), 1.0)
    with pytest.raises(ValueError, match="gaussian_gram: x must have at least 2 axes"):
        dwcs.gaussian_gram(on(xp, [1.0, 2.0]), x, 1.0)
    gram = on(xp, np.eye(4))
    with pytest.raises(ValueError, match=r"dw_kmm_weights: gram must be square"):
        dwcs.dw_kmm_weights(on(xp, np.ones((4, 3))), 2, bound=1.0, d_param=1.0, epsilon=0.1)
    with pytest.raises(ValueError, match="dw_kmm_weights: gram must be symmetric, off by 1"):
        dwcs.dw_kmm_weights(
            on(xp, np.triu(np.ones((4, 4)))), 2, bound=1.0, d_param=1.0, epsilon=0.1
        )
    for bad in (0, 4, True, 1.5):
        with pytest.raises(ValueError, match=r"dw_kmm_weights: n_train must be an integer in"):
            dwcs.dw_kmm_weights(gram, bad, bound=1.0, d_param=1.0, epsilon=0.1)
    with pytest.raises(ValueError, match="dw_kmm_weights: d_param must be >= 1, has entry 0.5"):
        dwcs.dw_kmm_weights(gram, 2, bound=1.0, d_param=0.5, epsilon=0.1)
    with pytest.raises(ValueError, match="dw_kmm_weights: bound must be a finite number > 0"):
        dwcs.dw_kmm_weights(gram, 2, bound=-1.0, d_param=1.0, epsilon=0.1)
    with pytest.raises(ValueError, match=r"dw_kmm_weights: epsilon must be a number or have"):
        dwcs.dw_kmm_weights(gram, 2, bound=1.0, d_param=1.0, epsilon=on(xp, [0.1, 0.2]))
    with pytest.raises(ValueError, match="dw_kmm_weights: gram must be finite, got inf"):
        dwcs.dw_kmm_weights(
            on(xp, np.diag([1, 1, 1, np.inf])), 2, bound=1.0, d_param=1.0, epsilon=0.1
        )
    with pytest.raises(ValueError, match=r"dw_kmm_objective: gram must be \(\.\.\., 5, 5\)"):
        dwcs.dw_kmm_objective(gram, on(xp, np.ones(2)), on(xp, np.ones(3)))
    with pytest.raises(ValueError, match="kmm_kappa: gram_cross must be non-empty"):
        dwcs.kmm_kappa(on(xp, np.ones((3, 0))))
    with pytest.raises(ValueError, match=r"kmm_weights: kappa must have shape \(4,\), got \(3,\)"):
        dwcs.kmm_weights(gram, on(xp, np.ones(3)), bound=1.0, epsilon=0.1)
    with pytest.raises(ValueError, match="kmm_weights: epsilon must be a finite number > 0"):
        dwcs.kmm_weights(gram, on(xp, np.ones(4)), bound=1.0, epsilon=math.nan)
    with pytest.raises(ValueError, match="kmm_objective: need gram_train"):
        dwcs.kmm_objective(gram, on(xp, np.ones(3)), on(xp, np.ones(3)))


# --------------------------------------------------------------------------- pamc


def test_metanode_values_by_hand(xp):
    z = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    c = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # A = {0, 1}, B = {2}
    # sum_{A x B} z_i^T z_j = 1 + 2 = 3; sum_{A x A} = 1 + 0 + 0 + 4 = 5; B x B = 2
    expected = np.array([[5.0, 3.0], [3.0, 2.0]])
    for fn in (pamc.block_similarity, pamc.metanode_similarity):
        np.testing.assert_array_equal(host(fn(on(xp, z), on(xp, c))), expected)
    block = host(pamc.block_similarity(on(xp, z), on(xp, c), similarity="exp", temperature=2.0))
    meta = host(pamc.metanode_similarity(on(xp, z), on(xp, c), similarity="exp", temperature=2.0))
    np.testing.assert_allclose(block[0, 1], math.exp(0.5) + math.exp(1.0), rtol=1e-15)
    np.testing.assert_allclose(meta[0, 1], 2 * math.exp(3.0 / (2.0 * 2)), rtol=1e-15)
    assert np.all(meta <= block * (1 + 1e-14))
    np.testing.assert_allclose(meta[1, 1], block[1, 1], rtol=1e-15)  # a one-point block


def test_metanode_batches_and_soft_assignments(xp):
    rng = np.random.default_rng(2)
    z = rng.standard_normal((3, 10, 4))
    c = rng.dirichlet(np.ones(5), (3, 10))
    meta = host(pamc.metanode_similarity(on(xp, z), on(xp, c)))
    assert meta.shape == (3, 5, 5)
    np.testing.assert_allclose(meta, np.einsum("bik,bjl,bim,bjm->bkl", c, c, z, z), atol=1e-13)


def test_pamc_rejects_bad_inputs(xp):
    z, c = on(xp, np.ones((3, 2))), on(xp, np.eye(3))
    for fn in (pamc.block_similarity, pamc.metanode_similarity):
        name = fn.__name__
        with pytest.raises(ValueError, match=rf"{name}: z \(\.\.\., N, d\) and assignment"):
            fn(z, on(xp, np.eye(4)))
        with pytest.raises(ValueError, match=rf"{name}: similarity must be one of .* got 'cos'"):
            fn(z, c, similarity="cos")
        with pytest.raises(ValueError, match=rf"{name}: temperature must be a finite number > 0"):
            fn(z, c, similarity="exp", temperature=0.0)
        with pytest.raises(ValueError, match=rf"{name}: the exponential similarity needs"):
            fn(z, on(xp, -np.eye(3)), similarity="exp")
        with pytest.raises(ValueError, match=rf"{name}: z must be finite, got nan"):
            fn(on(xp, [[np.nan, 0.0]] * 3), c)
        with pytest.raises(ValueError, match=rf"{name}: z must have at least 2 axes"):
            fn(on(xp, [1.0, 2.0, 3.0]), c)
    with pytest.raises(ValueError, match="metanode_similarity: every block needs a positive mass"):
        pamc.metanode_similarity(z, on(xp, np.zeros((3, 2))), similarity="exp")


# --------------------------------------------------------------------------- bayes_unlearn


def test_bayes_error_values(xp):
    assert float(bayes_unlearn.gaussian_bayes_error(1.0, 1.0)) == pytest.approx(
        scipy.stats.norm.cdf(-1.0), rel=1e-15
    )
    mu, sigma = on(xp, [0.5, 1.0, 2.0]), on(xp, [1.0, 0.5, 2.0])
    np.testing.assert_allclose(
        bayes_unlearn.gaussian_bayes_error(mu, sigma), scipy.stats.norm.cdf([-0.5, -2.0, -1.0])
    )
    poisoned = bayes_unlearn.poisoned_bayes_error(1.0, 1.0, 0.5)
    assert float(poisoned) == pytest.approx(scipy.stats.norm.cdf(-0.5), rel=1e-15)
    assert float(bayes_unlearn.poisoned_bayes_error(1.0, 1.0, 1.0)) == 0.5
    clean = bayes_unlearn.gaussian_bayes_error(1.0, 1.0)
    assert bayes_unlearn.mixed_bayes_error(1.0, 1.0, 0.5, 0.0) == pytest.approx(poisoned)
    assert bayes_unlearn.mixed_bayes_error(1.0, 1.0, 0.5, 1.0) == pytest.approx(clean)
    assert clean < bayes_unlearn.mixed_bayes_error(1.0, 1.0, 0.5, 0.3) < poisoned


def test_bayes_error_quadrature_values():
    value, error = bayes_unlearn.bayes_error_quadrature([-1.0], [1.0], [1.0], [1.0], 1.0)
    assert value == pytest.approx(scipy.stats.norm.cdf(-1.0), abs=1e-12) and error < 1e-11
    value, _ = bayes_unlearn.bayes_error_quadrature([0.3], [1.0], [0.3], [1.0], 2.0)
    assert value == pytest.approx(0.5, abs=1e-12)  # identical classes
    # an asymmetric pair is a translate of a symmetric one
    value, _ = bayes_unlearn.bayes_error_quadrature([0.5], [1.0], [2.5], [1.0], 0.8)
    assert value == pytest.approx(scipy.stats.norm.cdf(-1.0 / 0.8), abs=1e-12)


def test_bayes_unlearn_rejects_bad_inputs(xp):
    with pytest.raises(ValueError, match="gaussian_bayes_error: mu must be > 0, has entry 0.0"):
        bayes_unlearn.gaussian_bayes_error(0.0, 1.0)
    with pytest.raises(ValueError, match="gaussian_bayes_error: sigma must be > 0, has entry -1"):
        bayes_unlearn.gaussian_bayes_error(on(xp, [1.0, 2.0]), on(xp, [1.0, -1.0]))
    with pytest.raises(ValueError, match="gaussian_bayes_error: mu must be finite, got nan"):
        bayes_unlearn.gaussian_bayes_error(math.nan, 1.0)
    with pytest.raises(ValueError, match="gaussian_bayes_error: mu must be finite, got inf"):
        bayes_unlearn.gaussian_bayes_error(on(xp, [np.inf]), 1.0)
    with pytest.raises(ValueError, match="gaussian_bayes_error: mu must be a real number"):
        bayes_unlearn.gaussian_bayes_error(True, 1.0)
    with pytest.raises(ValueError, match="gaussian_bayes_error: sigma must be an array"):
        bayes_unlearn.gaussian_bayes_error(1.0, "one")
    with pytest.raises(ValueError, match="gaussian_bayes_error: mu must be numeric"):
        bayes_unlearn.gaussian_bayes_error(["a"], 1.0)
    with pytest.raises(
        ValueError, match=r"poisoned_bayes_error: epsilon must be <= mu .* got epsilon 1.5 > mu 1"
    ):
        bayes_unlearn.poisoned_bayes_error(1.0, 1.0, 1.5)
    with pytest.raises(ValueError, match="poisoned_bayes_error: epsilon must be >= 0"):
        bayes_unlearn.poisoned_bayes_error(1.0, 1.0, -0.1)
    with pytest.raises(
        ValueError, match=r"mixed_bayes_error: clean_fraction must lie in \[0, 1\], got 1.5"
    ):
        bayes_unlearn.mixed_bayes_error(1.0, 1.0, 0.5, on(xp, [0.5, 1.5]))
    with pytest.raises(ValueError, match="bayes_error_quadrature: weights1 must be non-negative"):
        bayes_unlearn.bayes_error_quadrature([0.0], [1.0], [1.0, 2.0], [0.5, 0.6], 1.0)
    with pytest.raises(ValueError, match="bayes_error_quadrature: means0 and weights0 must be"):
        bayes_unlearn.bayes_error_quadrature([0.0, 1.0], [1.0], [1.0], [1.0], 1.0)
    with pytest.raises(ValueError, match="bayes_error_quadrature: sigma must be a finite number"):
        bayes_unlearn.bayes_error_quadrature([0.0], [1.0], [1.0], [1.0], 0.0)
