"""Bad input and known values of the math objects of the ``mtp2`` and ``kt`` catalog modules.

Each public function rejects bad input at its edge with a ``ValueError`` that names the
offending value, on every CPU backend (the ``xp`` fixture of conftest). The claims
themselves are collected by the theorycheck plugin.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import on

from theory.catalog import kt, mtp2
from theorycheck.backend import to_numpy

TRIDIAGONAL = np.array([[2.0, -1.0, 0.0], [-1.0, 2.0, -1.0], [0.0, -1.0, 2.0]])
"""An M-matrix; with S its inverse and lambda = 0 it is the MTP2 MLE itself."""


def values(x):
    return np.asarray(to_numpy(x))


# ------------------------------------------------------------------------------ mtp2


def test_mtp2_rejects_bad_inputs(xp):
    eye = on(xp, np.eye(3))
    with pytest.raises(ValueError, match=r"mtp2_objective: theta must have shape \(..., p, p\)"):
        mtp2.mtp2_objective(on(xp, [1.0, 2.0]), eye)
    with pytest.raises(ValueError, match="s must have a positive diagonal, got -1.0"):
        mtp2.mtp2_objective(eye, on(xp, np.diag([1.0, -1.0, 1.0])))
    with pytest.raises(ValueError, match="s must be symmetric, asymmetry 0.5"):
        mtp2.mtp2_kkt_residuals(eye, on(xp, [[1.0, 0.5, 0], [0, 1, 0], [0, 0, 1]]))
    with pytest.raises(ValueError, match="lam must be non-negative, got -0.1"):
        mtp2.mtp2_kkt_residuals(eye, eye, -0.1)
    with pytest.raises(ValueError, match="theta must be finite"):
        mtp2.mtp2_objective(on(xp, [[np.nan, 0], [0, 1]]), on(xp, np.eye(2)))
    with pytest.raises(ValueError, match="theta must be positive definite, smallest eigenvalue"):
        mtp2.mtp2_kkt_residuals(on(xp, [[1.0, 2.0], [2.0, 1.0]]), on(xp, np.eye(2)))
    with pytest.raises(ValueError, match="adaptive_weights: eps must be a positive number, got 0"):
        mtp2.adaptive_weights(eye, 0.1, 0)
    with pytest.raises(ValueError, match="adaptive_weights: lam must be a non-negative number"):
        mtp2.adaptive_weights(eye, -1.0, 0.1)
    with pytest.raises(ValueError, match="tol must be a positive number, got 0"):
        mtp2.mtp2_projected_gradient(eye, tol=0)
    with pytest.raises(ValueError, match="max_iter must be a positive integer, got 0"):
        mtp2.mtp2_projected_gradient(eye, max_iter=0)
    with pytest.raises(ValueError, match="constraint must be one of .* got 'box'"):
        mtp2.dual_certificate(eye, eye, constraint="box")
    with pytest.raises(
        ValueError, match=r"m_matrix_ray: x must have non-zero entries, got \[1.0, 0.0"
    ):
        mtp2.m_matrix_ray(on(xp, [1.0, 0.0, 2.0]))
    with pytest.raises(ValueError, match="m_matrix_ray: x must have a real floating dtype"):
        mtp2.m_matrix_ray(xp.asarray([1, 2, 3]))
    with pytest.raises(ValueError, match=r"null_space_ray: s must have shape \(p, p\)"):
        mtp2.null_space_ray(on(xp, np.stack([np.eye(2)] * 2)))
    with pytest.raises(ValueError, match=r"certified_radius: gap must be a number in \[0, 5e-05\]"):
        mtp2.certified_radius(1.0)
    with pytest.raises(ValueError, match="existence_certificate: constraint must be one of"):
        mtp2.existence_certificate(np.eye(2), constraint="psd")


def test_mtp2_objective_values(xp):
    eye = on(xp, np.eye(3))
    assert float(mtp2.mtp2_objective(eye, eye)) == pytest.approx(3.0, abs=1e-14)
    value = float(mtp2.mtp2_objective(2 * eye, eye))
    assert value == pytest.approx(6.0 - 3 * math.log(2.0), abs=1e-14)
    # the penalty counts |Theta_ij| off the diagonal only
    theta = on(xp, [[1.0, -0.5], [-0.5, 1.0]])
    penalised = float(mtp2.mtp2_objective(theta, on(xp, np.eye(2)), 0.1))
    assert penalised == pytest.approx(-math.log(0.75) + 2.0 + 0.1, abs=1e-14)
    assert math.isinf(float(mtp2.mtp2_objective(on(xp, [[1.0, 2.0], [2.0, 1.0]]), eye[:2, :2])))


def test_mtp2_kkt_and_solver_at_a_known_optimum(xp):
    # S = inverse of an M-matrix, lambda = 0: the MLE is that M-matrix, all residuals vanish
    s = on(xp, np.linalg.inv(TRIDIAGONAL))
    kkt = mtp2.mtp2_kkt_residuals(on(xp, TRIDIAGONAL), s)
    for residual in (kkt.stationarity, kkt.multiplier, kkt.complementarity):
        assert np.max(np.abs(values(residual))) < 1e-14
    assert np.max(values(kkt.primal)) == 0.0
    result = mtp2.mtp2_projected_gradient(s)
    assert float(values(result.residual)) <= mtp2.PGD_TOL
    np.testing.assert_allclose(values(result.theta), TRIDIAGONAL, atol=1e-8)
    cert = mtp2.dual_certificate(on(xp, TRIDIAGONAL), s)
    optimum = float(mtp2.mtp2_objective(on(xp, TRIDIAGONAL), s))
    assert float(cert.lower_bound) == pytest.approx(optimum, abs=1e-12)


def test_mtp2_sign_constraint_zeroes_a_positive_partial_correlation(xp):
    # unconstrained optimum has Theta_12 = +0.3; under Theta_12 <= 0 it is diag(1 / S_ii)
    s = np.linalg.inv([[1.0, 0.3], [0.3, 1.0]])
    result = mtp2.mtp2_projected_gradient(on(xp, s))
    np.testing.assert_allclose(values(result.theta), np.diag(1 / np.diag(s)), atol=1e-9)
    kkt = mtp2.mtp2_kkt_residuals(on(xp, np.diag(1 / np.diag(s))), on(xp, s))
    assert values(kkt.multiplier)[0, 1] == pytest.approx(-s[0, 1], abs=1e-14)  # nu > 0
    assert np.max(values(kkt.complementarity)) == 0.0


def test_mtp2_weights_rays_and_radius(xp):
    weights = values(mtp2.adaptive_weights(on(xp, [[1.0, -0.1], [-0.1, 1.0]]), 0.1, 0.1))
    np.testing.assert_allclose(weights, [[0.0, 0.05], [0.05, 0.0]], atol=1e-15)
    ray = values(mtp2.m_matrix_ray(on(xp, [1.0, 2.0, -1.0])))
    np.testing.assert_allclose(ray, [[1.0, -0.5, 0.0], [-0.5, 0.25, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(ray @ np.array([1.0, 2.0, -1.0]), 0.0, atol=1e-15)
    projector = values(mtp2.null_space_ray(on(xp, [[1.0, 1.0], [1.0, 1.0]])))
    np.testing.assert_allclose(projector, [[0.5, -0.5], [-0.5, 0.5]], atol=1e-15)
    assert mtp2.certified_radius(0.0) == 0.0
    assert mtp2.certified_radius(2e-6) == pytest.approx(1.01 * 2e-3)


def test_mtp2_certificates_decide_existence():
    x = np.array([1.0, -2.0, 0.5])
    rank_one = np.outer(x, x)
    # no dual-feasible C is positive definite for one sample under the M-matrix constraint
    assert mtp2.existence_certificate(rank_one).min_eigenvalue < 1e-7
    assert mtp2.existence_certificate(rank_one, constraint="diagonally-dominant").min_eigenvalue > 0
    assert mtp2.existence_certificate(np.eye(3), constraint="none").min_eigenvalue == 1.0
    ridge = mtp2.dual_certificate(np.eye(2), np.eye(2), 0.0, constraint="none")
    np.testing.assert_allclose(ridge.matrix, np.eye(2))


# ------------------------------------------------------------------------------ kt


def test_kt_rejects_bad_inputs(xp):
    law = on(xp, [0.5, 0.5])
    with pytest.raises(ValueError, match="naive_minimiser: teacher must sum to 1 along axis -1"):
        kt.naive_minimiser(on(xp, [0.5, 0.6]))
    with pytest.raises(
        ValueError, match="naive_loss: student must be non-negative, has entry -0.5"
    ):
        kt.naive_loss(on(xp, [1.5, -0.5]), law)
    with pytest.raises(ValueError, match="student and teacher must have the same shape"):
        kt.naive_loss(on(xp, [1.0, 0.0, 0.0]), law)
    with pytest.raises(ValueError, match="counts must be non-negative, got -1.0"):
        kt.empirical_naive_minimiser(on(xp, [-1.0, 2.0]), law)
    with pytest.raises(ValueError, match="every row needs a sampled label"):
        kt.empirical_naive_minimiser(on(xp, [0.0, 0.0]), law)
    with pytest.raises(ValueError, match="teacher must be finite"):
        kt.naive_minimiser(on(xp, [np.nan, 1.0]))
    with pytest.raises(ValueError, match="expected_unseen_mass: n must be an integer >= 1, got 0"):
        kt.expected_unseen_mass(law, 0)
    with pytest.raises(ValueError, match=r"counts must have shape \(..., 2\)"):
        kt.unseen_mass(on(xp, [1.0, 0.0, 2.0]), law)
    with pytest.raises(ValueError, match="total_variation: p and q must have the same K"):
        kt.total_variation(law, on(xp, [1.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match="unseen_mass_bound: support must be an integer >= 1"):
        kt.unseen_mass_bound(0, 5)
    with pytest.raises(ValueError, match="need n \\+ 1 >= support - 1, got n = 2, support = 10"):
        kt.worst_case_law(10, 2)
    with pytest.raises(ValueError, match="worst_case_law: n must be an integer >= 1, got 1.5"):
        kt.worst_case_law(3, 1.5)


def test_kt_numeric_minimiser_rejects_bad_inputs():
    with pytest.raises(ValueError, match="teacher must be positive, got 0.0"):
        kt.numeric_naive_minimiser(np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"teacher must have shape \(K,\) with K >= 2"):
        kt.numeric_naive_minimiser(np.array([1.0]))
    with pytest.raises(ValueError, match="gtol must be a positive number, got -1"):
        kt.numeric_naive_minimiser(np.array([0.5, 0.5]), gtol=-1)


def test_kt_naive_minimiser_values(xp):
    teacher = on(xp, [0.75, 0.25])
    np.testing.assert_allclose(values(kt.naive_minimiser(teacher)), [0.9, 0.1], atol=1e-15)
    np.testing.assert_allclose(values(kt.naive_minimiser(on(xp, [0.5, 0.5]))), [0.5, 0.5])
    np.testing.assert_allclose(
        values(kt.empirical_naive_minimiser(on(xp, [1.0, 3.0]), teacher)), [0.5, 0.5]
    )
    at_minimiser = float(kt.naive_loss(kt.naive_minimiser(teacher), teacher))
    assert at_minimiser < float(kt.naive_loss(teacher, teacher))
    expected = -(0.5625 * math.log(0.9) + 0.0625 * math.log(0.1))
    assert at_minimiser == pytest.approx(expected, abs=1e-15)
    assert math.isinf(float(kt.naive_loss(on(xp, [1.0, 0.0]), teacher)))
    np.testing.assert_allclose(
        kt.numeric_naive_minimiser(np.array([0.75, 0.25])), [0.9, 0.1], atol=2 * kt.GTOL / 0.625
    )


def test_kt_missing_mass_values(xp):
    assert float(kt.total_variation(on(xp, [1.0, 0.0]), on(xp, [0.0, 1.0]))) == 1.0
    law = on(xp, [0.2, 0.5, 0.3])
    assert float(kt.unseen_mass(on(xp, [0.0, 2.0, 0.0]), law)) == pytest.approx(0.5)
    half = on(xp, [0.5, 0.5])
    assert float(kt.expected_unseen_mass(half, 1)) == pytest.approx(0.5)
    assert float(kt.expected_unseen_mass(half, 2)) == pytest.approx(0.25)
    assert kt.unseen_mass_bound(10, 5) == pytest.approx(10 / (5 * math.e))
    np.testing.assert_allclose(kt.worst_case_law(4, 9), [0.7, 0.1, 0.1, 0.1])
    # the worst-case law comes within a factor (|A| - 1) / |A| (1 + 1/n)^-1 of the bound
    for n in (10, 100, 1000):
        worst = float(kt.expected_unseen_mass(on(xp, kt.worst_case_law(5, n)), n))
        assert 0.8 * n / (n + 1) * kt.unseen_mass_bound(5, n) <= worst <= kt.unseen_mass_bound(5, n)
