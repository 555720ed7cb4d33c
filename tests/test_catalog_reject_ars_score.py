"""Bad input, known values and properties of the reject, ars and score catalog modules.

Each public function rejects bad input at its edge with a ``ValueError`` naming the
function and the offending value, on every CPU backend (the ``xp`` fixture of conftest).
The claims themselves are collected by the theorycheck plugin; here are the helpers of
their checks (exact references) and the claims' outcomes at quick scale.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from conftest import on
from hypothesis import given, settings
from hypothesis import strategies as st

from proofs_check.catalog import ars as ars_checks
from proofs_check.catalog import reject as reject_checks
from proofs_check.catalog import score as score_checks
from theory.catalog import ars, reject, score
from theorycheck import registry


def values(x) -> np.ndarray:
    return np.asarray(x)


# ----------------------------------------------------------------------------- reject


def test_reject_rejects_bad_inputs(xp):
    r, mistake = on(xp, [1.0, -1.0]), on(xp, [1.0, 0.0])
    with pytest.raises(ValueError, match=r"rejection_loss: the rejection cost c .* got 1.5"):
        reject.rejection_loss(r, mistake, 1.5)
    with pytest.raises(ValueError, match="rejection_loss: mistake must hold 0.0 or 1.0"):
        reject.rejection_loss(r, on(xp, [0.5, 1.0]), 0.2)
    with pytest.raises(ValueError, match="rejection_loss: r and mistake must have the same"):
        reject.rejection_loss(r, on(xp, [1.0, 0.0, 1.0]), 0.2)
    with pytest.raises(ValueError, match="rejection_loss: r must be finite, got nan"):
        reject.rejection_loss(on(xp, [np.nan, 1.0]), mistake, 0.2)
    with pytest.raises(ValueError, match="rejection_loss: r must have a real floating dtype"):
        reject.rejection_loss(on(xp, [1, 2], dtype=np.int64), mistake, 0.2)
    with pytest.raises(ValueError, match=r"conditional_rejection_risk: eta must lie in \[0, 1\]"):
        reject.conditional_rejection_risk(r, on(xp, [0.2, 1.3]), 0.2)
    with pytest.raises(ValueError, match=r"bayes_rejector: eta must lie in \[0, 1\], got -0.1"):
        reject.bayes_rejector(on(xp, [-0.1, 0.5]), 0.2)
    with pytest.raises(ValueError, match="bayes_rejector: eta must be finite, got nan"):
        reject.bayes_rejector(on(xp, [np.nan]), 0.2)
    with pytest.raises(ValueError, match="surrogate_conditional_risk: alpha must be .* got 0"):
        reject.surrogate_conditional_risk(r, on(xp, [0.1, 0.2]), alpha=0, beta=1, weight=0.1)
    with pytest.raises(ValueError, match="surrogate_conditional_risk: weight must be .* nan"):
        reject.surrogate_conditional_risk(
            r, on(xp, [0.1, 0.2]), alpha=1, beta=1, weight=float("nan")
        )
    with pytest.raises(ValueError, match=r"surrogate_minimiser: eta must lie in \(0, 1\], got 0"):
        reject.surrogate_minimiser(on(xp, [0.0, 0.5]), alpha=1, beta=1, weight=0.1)
    with pytest.raises(ValueError, match="surrogate_minimum: beta must be .* got -1"):
        reject.surrogate_minimum(on(xp, [0.5]), alpha=1, beta=-1, weight=0.1)
    with pytest.raises(ValueError, match="calibrated_weight: the rejection cost c must be > 0"):
        reject.calibrated_weight(1.0, 2.0, 0.0)
    with pytest.raises(ValueError, match=r"calibrated_weight: the rejection cost c .* got True"):
        reject.calibrated_weight(1.0, 2.0, True)


def test_reject_values(xp):
    r, mistake = on(xp, [1.0, 1.0, 0.0, -2.0]), on(xp, [1.0, 0.0, 1.0, 0.0])
    np.testing.assert_array_equal(values(reject.rejection_loss(r, mistake, 0.3)), [1, 0, 0.3, 0.3])
    eta = on(xp, [0.1, 0.3, 0.5])
    accept = values(reject.bayes_rejector(eta, 0.3))
    np.testing.assert_array_equal(accept, [True, False, False])  # rejects at the tie
    risk = reject.conditional_rejection_risk(on(xp, [1.0, 1.0, -1.0]), eta, 0.3)
    np.testing.assert_allclose(values(risk), [0.1, 0.3, 0.3])
    # alpha = beta = 1, w = c: r* = log(c / eta) / 2, min L = 2 sqrt(eta c)
    eta = on(xp, [0.05, 0.2, 0.8])
    star = reject.surrogate_minimiser(eta, alpha=1.0, beta=1.0, weight=0.2)
    np.testing.assert_allclose(values(star), 0.5 * np.log(0.2 / np.array([0.05, 0.2, 0.8])))
    minimum = reject.surrogate_minimum(eta, alpha=1.0, beta=1.0, weight=0.2)
    np.testing.assert_allclose(values(minimum), 2 * np.sqrt(0.2 * np.array([0.05, 0.2, 0.8])))
    at_star = reject.surrogate_conditional_risk(star, eta, alpha=1.0, beta=1.0, weight=0.2)
    np.testing.assert_allclose(values(at_star), values(minimum), rtol=1e-15)
    assert values(reject.surrogate_minimum(on(xp, [0.0]), alpha=2, beta=3, weight=0.1))[0] == 0
    assert math.isclose(reject.calibrated_weight(2.0, 19.0, 0.05), 0.1 / 19)


def test_reject_minimiser_is_the_minimum_of_the_surrogate():
    # a general (alpha, beta, w): the closed form beats its neighbours and gives min L
    eta = np.array([0.01, 0.3, 0.9])
    for alpha, beta, w in ((1.0, 2.0, 0.1), (2.0, 19.0, 0.3), (0.5, 0.25, 0.7)):
        star = reject.surrogate_minimiser(eta, alpha=alpha, beta=beta, weight=w)
        best = reject.surrogate_minimum(eta, alpha=alpha, beta=beta, weight=w)
        for shift in (-1e-3, 1e-3):
            moved = reject.surrogate_conditional_risk(
                star + shift, eta, alpha=alpha, beta=beta, weight=w
            )
            assert np.all(moved > best)
        np.testing.assert_allclose(
            reject.surrogate_conditional_risk(star, eta, alpha=alpha, beta=beta, weight=w),
            best,
            rtol=1e-14,
        )


def test_reject_rules_and_weights_of_the_checks():
    eta, confidence = np.array([0.2, 0.6]), np.array([0.8, 0.5])
    np.testing.assert_array_equal(reject_checks.paper_rule(eta, 0.3, confidence), [True, False])
    np.testing.assert_array_equal(reject_checks.swapped_cost_rule(eta, 0.3, confidence), [1, 1])
    np.testing.assert_array_equal(reject_checks.chow_rule(eta, 0.3, confidence), [1, 0])
    assert reject_checks.calibrated_relation(Fraction(2), Fraction(19), Fraction(1, 20)) == (
        Fraction(1, 190)
    )
    assert reject_checks.cost_as_weight(1, 2, Fraction(1, 3)) == Fraction(1, 3)


# -------------------------------------------------------------------------------- ars


def test_ars_rejects_bad_inputs(xp):
    p, sample = on(xp, [0.5, 0.8]), xp.asarray(np.array([True, False]))
    with pytest.raises(
        ValueError, match=r"posterior_after_failure: p must lie in \[0, 1\], got 1.2"
    ):
        ars.posterior_after_failure(on(xp, [0.5, 1.2]), sample)
    with pytest.raises(ValueError, match=r"posterior_after_failure: p must lie .* got -0.1"):
        ars.posterior_after_failure(on(xp, [-0.1, 0.5]), sample)
    with pytest.raises(ValueError, match="posterior_after_failure: p must be finite, got nan"):
        ars.posterior_after_failure(on(xp, [np.nan, 0.5]), sample)
    with pytest.raises(ValueError, match="posterior_after_failure: sample must be a boolean"):
        ars.posterior_after_failure(p, on(xp, [1.0, 0.0]))
    with pytest.raises(ValueError, match="posterior_after_failure: sample must be a boolean"):
        ars.posterior_after_failure(p, [True, False])
    with pytest.raises(ValueError, match=r"sample of shape \(3,\) does not broadcast"):
        ars.posterior_after_failure(p, xp.asarray(np.array([True, False, True])))
    with pytest.raises(ValueError, match="the failed sample must contain at least one point"):
        ars.posterior_after_failure(p, xp.asarray(np.array([False, False])))
    with pytest.raises(ValueError, match="the sample cannot fail"):
        ars.posterior_after_failure(on(xp, [1.0, 0.3]), sample)
    with pytest.raises(ValueError, match=r"p must have shape \(\.\.\., n\) with n >= 1"):
        ars.posterior_after_failure(on(xp, 0.5), sample)
    with pytest.raises(ValueError, match="p must have a real floating dtype"):
        ars.posterior_after_failure(xp.asarray(np.array([1, 0])), sample)


def test_ars_values(xp):
    p = on(xp, [[0.5, 0.8, 0.3, 0.9], [0.0, 0.5, 0.5, 1.0]])
    sample = xp.asarray(np.array([True, True, False, True]))
    out = values(ars.posterior_after_failure(p, sample))
    # row 0: p_0 (1 - 0.72) / (1 - 0.36) = 0.21875; the point outside S keeps 0.3
    np.testing.assert_allclose(out[0], [0.21875, 0.6875, 0.3, 0.84375], rtol=1e-15)
    # row 1: p_0 = 0, so the sample fails surely: nothing is learnt
    np.testing.assert_allclose(out[1], [0.0, 0.5, 0.5, 1.0], rtol=1e-15)
    single = values(ars.posterior_after_failure(on(xp, [0.7, 0.4]), xp.asarray([True, False])))
    np.testing.assert_allclose(single, [0.0, 0.4])  # a lone failed point is an outlier


@settings(max_examples=60, deadline=None)
@given(
    priors=st.lists(st.fractions(0, 1, max_denominator=9), min_size=1, max_size=5),
    data=st.data(),
)
def test_ars_update_is_the_enumerated_posterior_and_never_raises_a_sampled_prior(priors, data):
    n = len(priors)
    sample = data.draw(st.lists(st.booleans(), min_size=n, max_size=n).filter(any))
    if math.prod(q for q, s in zip(priors, sample, strict=True) if s) == 1:
        return  # the sample cannot fail
    exact = ars_checks.enumerated_posterior(priors, [sample])
    assert ars_checks.paper_update(priors, sample) == exact
    floats = ars.posterior_after_failure(np.array(priors, dtype=float), np.array(sample))
    np.testing.assert_allclose(floats, [float(q) for q in exact], rtol=1e-13, atol=1e-15)
    assert all(e <= q for e, q, s in zip(exact, priors, sample, strict=True) if s)


def test_ars_sequential_update_is_not_the_posterior_of_overlapping_failures():
    p = [Fraction(1, 2)] * 3
    failed = [[True, True, False], [False, True, True]]
    exact = ars_checks.enumerated_posterior(p, failed)
    sequential = ars_checks.paper_update(ars_checks.paper_update(p, failed[0]), failed[1])
    assert exact != sequential
    # the same sample failing twice teaches nothing new; a second update does
    once = ars_checks.enumerated_posterior(p, failed[:1])
    assert ars_checks.enumerated_posterior(p, [failed[0], failed[0]]) == once


# ------------------------------------------------------------------------------ score


def test_score_rejects_bad_inputs(xp):
    kernel = on(xp, [[1.0, 0.5], [0.5, 1.0]])
    masks = xp.asarray(np.array([[True, False]]))
    with pytest.raises(ValueError, match="facility_location: kernel must be a non-empty square"):
        score.facility_location(on(xp, [[1.0, 0.5]]), masks)
    with pytest.raises(ValueError, match="facility_location: kernel must be symmetric"):
        score.facility_location(on(xp, [[1.0, 0.5], [0.2, 1.0]]), masks)
    with pytest.raises(ValueError, match="graph_cut: kernel entries must be >= 0, got -0.5"):
        score.graph_cut(on(xp, [[1.0, -0.5], [-0.5, 1.0]]), masks, 0.5)
    with pytest.raises(ValueError, match="graph_cut: kernel must be finite, got nan"):
        score.graph_cut(on(xp, [[1.0, np.nan], [np.nan, 1.0]]), masks, 0.5)
    with pytest.raises(ValueError, match="graph_cut: lam must be a finite number, got inf"):
        score.graph_cut(kernel, masks, float("inf"))
    with pytest.raises(ValueError, match="log_determinant: kernel must be positive semidefinite"):
        score.log_determinant(on(xp, [[1.0, 2.0], [2.0, 1.0]]), masks, 0.1)
    with pytest.raises(ValueError, match="log_determinant: eps must be a finite number > 0, got 0"):
        score.log_determinant(kernel, masks, 0)
    with pytest.raises(ValueError, match="facility_location: subsets must be a boolean array"):
        score.facility_location(kernel, on(xp, [[1.0, 0.0]]))
    with pytest.raises(ValueError, match=r"subsets must have shape \(B, 2\), got \(1, 3\)"):
        score.facility_location(kernel, xp.asarray(np.array([[True, False, True]])))
    with pytest.raises(ValueError, match=r"subset_masks: n must be an integer in \[1, 16\], got 0"):
        score.subset_masks(0)


def test_score_values(xp):
    s = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 1.0]])
    masks_np = score.subset_masks(3)
    assert masks_np.shape == (8, 3) and masks_np[5].tolist() == [True, False, True]
    kernel, masks = on(xp, s), xp.asarray(masks_np)
    fl = values(score.facility_location(kernel, masks))
    # {} -> 0; {0} -> 2 + 1 + 0; {0, 2} -> 2 + 1 + 1; V -> 2 + 3 + 1
    assert fl[0] == 0 and fl[1] == 3 and fl[5] == 4 and fl[7] == 6
    gc = values(score.graph_cut(kernel, masks, 0.5))
    # {0, 1}: row sums 3 + 5 minus 0.5 (2 + 1 + 1 + 3) = 4.5
    assert gc[0] == 0 and gc[3] == 4.5
    ld = values(score.log_determinant(kernel, masks, 0.1))
    for code in range(8):
        idx = np.flatnonzero(masks_np[code])
        expected = np.linalg.slogdet(s[np.ix_(idx, idx)] + 0.1 * np.eye(idx.size))[1]
        assert math.isclose(ld[code], expected if idx.size else 0.0, abs_tol=1e-14)


def test_score_exact_helpers():
    v, a, b = score_checks.nested_triples(4)
    assert v.size == 4 * 3**3
    assert np.all((a & ~b) == 0) and np.all(((b >> v) & 1) == 0)
    rng = np.random.default_rng(0)
    g = rng.integers(0, 4, size=(5, 5))
    matrix = g @ g.T + np.eye(5, dtype=np.int64)
    assert score_checks.bareiss_determinant(matrix.tolist()) == round(np.linalg.det(matrix))
    assert score_checks.bareiss_determinant([[0, 1], [1, 0]]) == -1
    assert score_checks.bareiss_determinant([[1, 2], [2, 4]]) == 0
    assert score_checks.bareiss_determinant([]) == 1
    kernel = np.array([[2, 1], [1, 3]])
    assert score_checks.reference_facility_location(kernel).tolist() == [0, 3, 4, 5]
    cover, inside = score_checks.reference_graph_cut_parts(kernel)
    assert cover.tolist() == [0, 3, 4, 7] and inside.tolist() == [0, 2, 3, 7]
    assert score_checks.reference_minor_determinants(kernel) == [1, 2, 3, 5]


# ------------------------------------------------------------------------------ claims


EXPECTED = {
    "reject.bayes-rule": ("reject", "symbolic", "unconfirmed-numbering"),
    "reject.pointwise-calibration": ("reject", "symbolic", "derived"),
    "ars.bayes-update": ("ars", "symbolic", "derived"),
    "score.submodularity": ("score", "symbolic", "unconfirmed-numbering"),
}


@pytest.mark.parametrize("claim_id", sorted(EXPECTED))
def test_claims_are_registered_as_the_spec_marks_them(claim_id):
    """The checks and their controls run as plugin items (``pytest proofs_check -k ...``)."""
    registry.load_content()
    entry = registry._CLAIMS[claim_id]
    assert (entry.paper, entry.method, entry.provenance) == EXPECTED[claim_id]
    assert entry.module == f"proofs_check.catalog.{entry.paper}"
    assert entry.controls and all(c.description for c in entry.controls)
