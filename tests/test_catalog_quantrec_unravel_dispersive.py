"""Bad input and known values of the quantrec, unravel and dispersive catalog math.

Each public function rejects bad input at its edge with a ``ValueError`` that names the
function and the offending value, on every CPU backend (the ``xp`` fixture of conftest).
The claims themselves are collected by the theorycheck plugin
(``pytest theory proofs_check -k "quantrec or unravel or dispersive"``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.special
from conftest import host, on

from theory.catalog import dispersive, quantrec, unravel
from theorycheck import all_claims

# --------------------------------------------------------------------------- registry


def test_claims_registered_with_spec_ids_methods_and_provenance():
    claims = {c.id: c for c in all_claims()}
    expected = {
        "quantrec.recurrence-toy": ("numeric", "derived", "theory.catalog.quantrec"),
        "unravel.mean-update": (
            "symbolic",
            "unconfirmed-numbering",
            "proofs_check.catalog.unravel",
        ),
        "dispersive.infonce-split": (
            "numeric",
            "unconfirmed-numbering",
            "theory.catalog.dispersive",
        ),
    }
    for claim_id, (method, provenance, module) in expected.items():
        claim = claims[claim_id]
        assert claim.paper == claim_id.split(".")[0]
        assert (claim.method, claim.provenance, claim.module) == (method, provenance, module)
        assert claim.controls and all(c.description for c in claim.controls)
    assert "simplified setting" in claims["quantrec.recurrence-toy"].statement
    assert "fragment" in claims["unravel.mean-update"].statement
    assert "fragment" in claims["dispersive.infonce-split"].statement


# --------------------------------------------------------------------------- quantrec


def test_quantize_and_the_quadratic(xp):
    w = np.array([[-0.5, 0.0, 2.0]])
    np.testing.assert_array_equal(host(quantrec.quantize(on(xp, w))), [[-1.0, 1.0, 1.0]])
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 3, 3))
    sigma = a @ np.swapaxes(a, -1, -2) + np.eye(3)
    w_star, q = rng.standard_normal((4, 3)), rng.choice([-1.0, 1.0], (4, 3))
    loss = host(quantrec.population_loss(on(xp, q), on(xp, sigma), on(xp, w_star)))
    expected = 0.5 * np.einsum("ri,rij,rj->r", q - w_star, sigma, q - w_star)
    np.testing.assert_allclose(loss, expected, rtol=1e-14)
    gradient = host(quantrec.coarse_gradient(on(xp, q), on(xp, sigma), on(xp, w_star)))
    # central differences of the quadratic are exact up to rounding
    h = 1e-5
    steps = h * np.eye(3)
    numeric = np.stack(
        [
            (
                host(quantrec.population_loss(on(xp, q + e), on(xp, sigma), on(xp, w_star)))
                - host(quantrec.population_loss(on(xp, q - e), on(xp, sigma), on(xp, w_star)))
            )
            / (2 * h)
            for e in steps
        ],
        axis=-1,
    )
    np.testing.assert_allclose(gradient, numeric, atol=1e-8)


def test_discrete_minimiser_isotropic_is_the_sign_with_gap_two_min_abs(xp):
    w_star = np.array([[0.3, -0.7, 1.4], [-0.2, 0.9, -0.5]])
    sigma = np.broadcast_to(np.eye(3), (2, 3, 3)).copy()
    q_star, gap = quantrec.discrete_minimiser(on(xp, sigma), on(xp, w_star))
    np.testing.assert_array_equal(host(q_star), np.sign(w_star))
    np.testing.assert_allclose(host(gap), 2 * np.abs(w_star).min(axis=1), rtol=1e-14)


def test_recurrence_visits_one_coordinate_frequency(xp):
    # d = 1, w* = 0.5: the sign is +1 a fraction (1 + 0.5)/2 of the time
    visits = host(
        quantrec.recurrence_visits(
            on(xp, [0.05]), on(xp, [[1.0]]), on(xp, [0.5]), on(xp, [1.0]), eta=0.01, steps=4000
        )
    )
    assert visits.shape == (4000,)
    assert abs(visits[1000:].mean() - 0.75) < 0.01


def test_correlated_inputs_counterexample(xp):
    # Sigma = [[1, -1.8], [-1.8, 4]], w* = (-0.6, -0.2): q* = (+1, +1) (f = 0.704 against
    # 0.784 at (-1, -1)), yet sign(w_t) never returns to it
    sigma = np.array([[1.0, -1.8], [-1.8, 4.0]])
    w_star = np.array([-0.6, -0.2])
    q_star, gap = quantrec.discrete_minimiser(on(xp, sigma), on(xp, w_star))
    np.testing.assert_array_equal(host(q_star), [1.0, 1.0])
    assert float(host(gap)) == pytest.approx(0.08)
    visits = host(
        quantrec.recurrence_visits(
            on(xp, [0.01, -0.01]), on(xp, sigma), on(xp, w_star), q_star, eta=0.01, steps=4000
        )
    )
    assert not visits[1000:].any()


def test_quantrec_rejects_bad_inputs(xp):
    eye = on(xp, np.eye(2))
    w = on(xp, [0.1, -0.2])
    with pytest.raises(ValueError, match="quantize: w must be finite"):
        quantrec.quantize(on(xp, [0.0, math.nan]))
    with pytest.raises(ValueError, match="quantize: w must have at least 1 axes"):
        quantrec.quantize(on(xp, 1.0))
    with pytest.raises(ValueError, match=r"population_loss: covariance must be symmetric"):
        quantrec.population_loss(w, on(xp, [[1.0, 0.5], [0.0, 1.0]]), w)
    with pytest.raises(ValueError, match="population_loss: covariance must be positive definite"):
        quantrec.population_loss(w, on(xp, [[1.0, 0.0], [0.0, -1.0]]), w)
    with pytest.raises(ValueError, match=r"coarse_gradient: covariance must have shape"):
        quantrec.coarse_gradient(w, on(xp, np.eye(3)), w)
    with pytest.raises(ValueError, match="coarse_gradient: q and w_star must have the same"):
        quantrec.coarse_gradient(w, eye, on(xp, [1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="discrete_minimiser: d = 13 exceeds 12"):
        quantrec.discrete_minimiser(on(xp, np.eye(13)), on(xp, np.zeros(13)))
    with pytest.raises(ValueError, match="population_loss: batch shapes do not broadcast"):
        quantrec.population_loss(on(xp, np.zeros((3, 2))), eye, on(xp, np.zeros((4, 2))))
    with pytest.raises(ValueError, match="recurrence_visits: eta must be a finite number > 0"):
        quantrec.recurrence_visits(w, eye, w, on(xp, [1.0, 1.0]), eta=0.0, steps=5)
    with pytest.raises(ValueError, match="recurrence_visits: steps must be an integer >= 1"):
        quantrec.recurrence_visits(w, eye, w, on(xp, [1.0, 1.0]), eta=0.1, steps=0)
    with pytest.raises(ValueError, match=r"recurrence_visits: target must have entries \+1 or -1"):
        quantrec.recurrence_visits(w, eye, w, on(xp, [1.0, 0.5]), eta=0.1, steps=5)
    with pytest.raises(ValueError, match="recurrence_visits: target must have last axis 2"):
        quantrec.recurrence_visits(w, eye, w, on(xp, [1.0]), eta=0.1, steps=5)


# --------------------------------------------------------------------------- unravel


def test_running_means_and_update(xp):
    rng = np.random.default_rng(1)
    losses = rng.uniform(0, 2, (3, 50))
    means = host(unravel.running_mean_losses(on(xp, losses)))
    np.testing.assert_allclose(means, np.cumsum(losses, -1) / np.arange(1, 51), rtol=1e-14)
    k = np.arange(1, 50)
    update = host(unravel.mean_update(on(xp, means[:, :-1]), on(xp, losses[:, 1:]), xp.asarray(k)))
    np.testing.assert_allclose(update, np.diff(means, axis=-1), atol=1e-15)
    assert float(host(unravel.mean_update(on(xp, 1.0), on(xp, 4.0), 2))) == 1.0
    hessians = rng.standard_normal((2, 10, 3, 3))
    h_means = host(unravel.running_mean_hessians(on(xp, hessians)))
    np.testing.assert_allclose(h_means[:, -1], hessians.mean(axis=1), rtol=1e-13, atol=1e-15)


def test_welsch_loss_bounded_and_hessian_matches_differences(xp):
    rng = np.random.default_rng(2)
    theta, a, b = rng.standard_normal(3), rng.standard_normal((6, 3)), rng.standard_normal(6)
    losses = host(unravel.welsch_losses(on(xp, theta), on(xp, a), on(xp, b), bound=2.5))
    assert np.all((losses >= 0) & (losses < 2.5))
    hessians = host(unravel.welsch_hessians(on(xp, theta), on(xp, a), on(xp, b), bound=2.5))
    h = 1e-4
    numeric = np.empty((6, 3, 3))
    for i in range(3):
        for j in range(3):
            ei, ej = h * np.eye(3)[i], h * np.eye(3)[j]
            value = [
                host(unravel.welsch_losses(on(xp, theta + s), on(xp, a), on(xp, b), bound=2.5))
                for s in (ei + ej, ei - ej, -ei + ej, -ei - ej)
            ]
            numeric[:, i, j] = (value[0] - value[1] - value[2] + value[3]) / (4 * h * h)
    np.testing.assert_allclose(hessians, numeric, atol=1e-5)
    curvature = (1 - (a @ theta - b) ** 2) * np.exp(-0.5 * (a @ theta - b) ** 2)
    assert (curvature > 0).any() or (curvature < 0).any()


def test_unravel_rejects_bad_inputs(xp):
    with pytest.raises(ValueError, match="running_mean_losses: losses must be finite"):
        unravel.running_mean_losses(on(xp, [1.0, math.inf]))
    with pytest.raises(ValueError, match="running_mean_losses: losses has an empty sample axis"):
        unravel.running_mean_losses(on(xp, np.zeros((2, 0))))
    with pytest.raises(ValueError, match="running_mean_hessians: hessians must have square"):
        unravel.running_mean_hessians(on(xp, np.zeros((4, 2, 3))))
    with pytest.raises(ValueError, match="running_mean_hessians: hessians must have at least 3"):
        unravel.running_mean_hessians(on(xp, np.zeros((2, 2))))
    with pytest.raises(ValueError, match="mean_update: count must be >= 1, got 0"):
        unravel.mean_update(on(xp, 1.0), on(xp, 2.0), 0)
    with pytest.raises(ValueError, match="mean_update: count must be an integer"):
        unravel.mean_update(on(xp, 1.0), on(xp, 2.0), 1.5)
    with pytest.raises(ValueError, match="mean_update: count must be >= 1, has entry -2"):
        unravel.mean_update(on(xp, [1.0, 1.0]), on(xp, [2.0, 2.0]), xp.asarray([1, -2]))
    with pytest.raises(ValueError, match="welsch_losses: bound must be a finite number > 0"):
        unravel.welsch_losses(on(xp, [1.0]), on(xp, [[1.0]]), on(xp, [1.0]), bound=-1.0)
    with pytest.raises(ValueError, match=r"welsch_hessians: need theta \(\.\.\., p\)"):
        unravel.welsch_hessians(on(xp, [1.0, 2.0]), on(xp, [[1.0]]), on(xp, [1.0]), bound=1.0)


# --------------------------------------------------------------------------- dispersive


def test_distances_against_scipy(xp):
    rng = np.random.default_rng(3)
    u, v = rng.standard_normal((5, 3)), rng.standard_normal((4, 3))
    np.testing.assert_allclose(
        host(dispersive.pairwise_distances(on(xp, u), on(xp, v))),
        scipy.spatial.distance.cdist(u, v, "sqeuclidean"),
        rtol=1e-14,
    )
    np.testing.assert_allclose(
        host(dispersive.pairwise_distances(on(xp, u), on(xp, v), distance="negative-cosine")),
        scipy.spatial.distance.cdist(u, v, "cosine") - 1.0,
        atol=1e-14,
    )


def test_infonce_split_and_dispersive_values(xp):
    rng = np.random.default_rng(4)
    z, p = rng.standard_normal((2, 6, 3)), rng.standard_normal((2, 6, 3))
    alignment, log_partition = dispersive.infonce_split(on(xp, z), on(xp, p), tau=0.7)
    logits = -np.stack(
        [scipy.spatial.distance.cdist(a, b, "sqeuclidean") for a, b in zip(z, p, strict=True)]
    )
    reference = -np.diagonal(scipy.special.log_softmax(logits / 0.7, axis=-1), axis1=1, axis2=2)
    np.testing.assert_allclose(host(alignment) + host(log_partition), reference, rtol=1e-13)
    # two points at squared distance D: log((2 + 2 exp(-D/tau)) / 4)
    pair = np.array([[0.0, 0.0], [1.0, 2.0]])
    value = float(host(dispersive.dispersive_loss(on(xp, pair), tau=2.0)))
    assert value == pytest.approx(math.log((1 + math.exp(-5.0 / 2.0)) / 2), rel=1e-14)
    shifted = float(host(dispersive.dispersive_loss(on(xp, pair + 7.0), tau=2.0)))
    assert shifted == pytest.approx(value, rel=1e-14)


def test_dispersive_rejects_bad_inputs(xp):
    z = on(xp, np.ones((3, 2)))
    with pytest.raises(ValueError, match="pairwise_distances: distance must be one of"):
        dispersive.pairwise_distances(z, z, distance="l1")
    with pytest.raises(ValueError, match="pairwise_distances: left and right must have the same"):
        dispersive.pairwise_distances(z, on(xp, np.ones((3, 4))))
    with pytest.raises(
        ValueError, match=r"the negative cosine needs non-zero points, right .*\(1,\)"
    ):
        dispersive.pairwise_distances(
            z, on(xp, [[1.0, 0.0], [0.0, 0.0]]), distance="negative-cosine"
        )
    with pytest.raises(ValueError, match="infonce_split: tau must be a finite number > 0"):
        dispersive.infonce_split(z, z, tau=0.0)
    with pytest.raises(ValueError, match="infonce_split: anchors and positives must have the same"):
        dispersive.infonce_split(z, on(xp, np.ones((4, 2))), tau=1.0)
    with pytest.raises(ValueError, match="dispersive_loss: z must be finite"):
        dispersive.dispersive_loss(on(xp, [[0.0, math.nan]]), tau=1.0)
    with pytest.raises(ValueError, match=r"dispersive_loss: z must have at least 2 axes"):
        dispersive.dispersive_loss(on(xp, [1.0, 2.0]), tau=1.0)
