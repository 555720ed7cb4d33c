"""The math objects of Prospect (Mehta et al., ICLR 2024): known values and bad input.

Known values on NumPy and array-api-strict (the ``xp`` fixture); every bad input raises
one ValueError naming the function and the value. The claims themselves run through the
pytest plugin (``pytest theory -k prospect``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from theory.catalog import prospect
from theorycheck.backend import to_numpy


def _a(xp, values):
    return xp.asarray(np.asarray(values, dtype=np.float64))


def _np(x):
    return np.asarray(to_numpy(x), dtype=float)


# --------------------------------------------------------------------------- spectral risk


def test_spectral_risk_sorts_the_losses(xp):
    losses = _a(xp, [[3.0, 1.0, 2.0], [0.0, -1.0, 5.0]])
    sigma = _a(xp, [0.0, 0.5, 0.5])
    np.testing.assert_allclose(_np(prospect.spectral_risk(losses, sigma)), [2.5, 2.5])
    # the control pairs sigma with the losses in their given order
    np.testing.assert_allclose(
        _np(prospect.spectral_risk_unsorted(losses, sigma)), [1.5, 2.0], rtol=1e-15
    )


def test_spectral_risk_with_per_instance_spectra(xp):
    losses = _a(xp, [[1.0, 2.0], [1.0, 2.0]])
    sigma = _a(xp, [[0.5, 0.5], [0.0, 1.0]])
    np.testing.assert_allclose(_np(prospect.spectral_risk(losses, sigma)), [1.5, 2.0])


def test_cvar_spectrum_integer_and_fractional_mass(xp):
    np.testing.assert_allclose(_np(prospect.cvar_spectrum(5, 0.4, xp=xp)), [0, 0, 0, 0.5, 0.5])
    # n alpha = 1.2: the top rank gets 1/1.2, the next 0.2/1.2
    np.testing.assert_allclose(
        _np(prospect.cvar_spectrum(4, 0.3, xp=xp)), [0, 0, 0.2 / 1.2, 1 / 1.2], rtol=1e-15
    )
    np.testing.assert_allclose(_np(prospect.cvar_spectrum(4, 1.0, xp=xp)), [0.25] * 4)
    losses = _a(xp, [4.0, -1.0, 7.0, 0.0, 2.0])
    cvar = prospect.spectral_risk(losses, prospect.cvar_spectrum(5, 0.4, xp=xp))
    assert float(cvar) == pytest.approx(5.5)  # mean of the top 2


@pytest.mark.parametrize(
    ("sigma", "message"),
    [
        ([0.5, 0.3, 0.2], r"spectral_risk: sigma must be sorted ascending.*decrease of -0.2"),
        ([0.2, 0.3, 0.4], r"spectral_risk: sigma must sum to 1 along axis -1, off by 0.1"),
        ([-0.1, 0.5, 0.6], r"spectral_risk: sigma must be non-negative, has entry -0.1"),
        ([0.5, 0.5], r"spectral_risk: sigma must have shape \(n,\) or \(\.\.\., n\) with n = 3"),
        ([0.1, math.nan, 0.9], r"spectral_risk: sigma must be finite, got nan"),
    ],
)
def test_spectral_risk_rejects_bad_spectra(xp, sigma, message):
    with pytest.raises(ValueError, match=message):
        prospect.spectral_risk(_a(xp, [1.0, 2.0, 3.0]), _a(xp, sigma))


def test_spectral_risk_rejects_bad_losses(xp):
    sigma = _a(xp, [0.0, 1.0])
    with pytest.raises(ValueError, match=r"spectral_risk: losses must be finite, got nan"):
        prospect.spectral_risk(_a(xp, [1.0, math.nan]), sigma)
    with pytest.raises(ValueError, match="spectral_risk: losses must have a real floating dtype"):
        prospect.spectral_risk(xp.asarray(np.array([1, 2])), sigma)
    with pytest.raises(ValueError, match="spectral_risk: losses must be an array"):
        prospect.spectral_risk([1.0, 2.0], sigma)


@pytest.mark.parametrize(
    ("n", "alpha", "message"),
    [
        (5, 0.0, r"cvar_spectrum: alpha must be a number in \(0, 1\], got 0.0"),
        (5, 1.5, r"cvar_spectrum: alpha must be a number in \(0, 1\], got 1.5"),
        (0, 0.5, r"cvar_spectrum: n must be an integer >= 1, got 0"),
        (2.5, 0.5, r"cvar_spectrum: n must be an integer >= 1, got 2.5"),
    ],
)
def test_cvar_spectrum_rejects_bad_parameters(n, alpha, message):
    with pytest.raises(ValueError, match=message):
        prospect.cvar_spectrum(n, alpha)


# --------------------------------------------------------------------------- PAV and projection


def test_isotonic_regression_known_values(xp):
    y = _a(xp, [[1.0, 3.0, 2.0, 4.0], [3.0, 2.0, 1.0, 0.0], [0.0, 1.0, 2.0, 3.0]])
    np.testing.assert_allclose(
        _np(prospect.isotonic_regression(y)),
        [[1.0, 2.5, 2.5, 4.0], [1.5, 1.5, 1.5, 1.5], [0.0, 1.0, 2.0, 3.0]],
    )


def test_isotonic_regression_rejects_bad_input(xp):
    with pytest.raises(ValueError, match=r"isotonic_regression: y must be finite, got inf"):
        prospect.isotonic_regression(_a(xp, [1.0, math.inf]))
    with pytest.raises(ValueError, match="isotonic_regression: y must have at least one axis"):
        prospect.isotonic_regression(_a(xp, 1.0))


def test_permutahedron_projection_known_values(xp):
    sigma = _a(xp, [0.0, 1.0])  # P(sigma) is the segment between (1, 0) and (0, 1)
    np.testing.assert_allclose(
        _np(prospect.permutahedron_projection(_a(xp, [[0.2, 0.3], [5.0, -1.0]]), sigma)),
        [[0.45, 0.55], [1.0, 0.0]],
        atol=1e-15,
    )
    sigma3 = _a(xp, [0.1, 0.3, 0.6])
    vertex = _a(xp, [0.3, 0.6, 0.1])  # a permutation of sigma projects onto itself
    np.testing.assert_allclose(
        _np(prospect.permutahedron_projection(vertex, sigma3)), _np(vertex), atol=1e-15
    )
    # a constant vector projects onto the barycentre 1/n
    np.testing.assert_allclose(
        _np(prospect.permutahedron_projection(_a(xp, [7.0, 7.0, 7.0]), sigma3)),
        [1 / 3] * 3,
        atol=1e-14,
    )


# --------------------------------------------------------------------------- chi^2 weights


def test_chi2_weights_limits(xp):
    sigma = _a(xp, [0.1, 0.3, 0.6])
    losses = _a(xp, [0.0, 10.0, 5.0])
    # small shift cost: the sorted vertex of P(sigma), weights placed by loss rank
    np.testing.assert_allclose(
        _np(prospect.chi2_weights(losses, sigma, 1e-6)), [0.1, 0.6, 0.3], atol=1e-14
    )
    # an interior maximiser: 1/n + l/(2 nu n) itself when it lies in P(sigma)
    small = _a(xp, [0.0, 0.3, 0.15])
    expected = 1 / 3 + np.array([0.0, 0.3, 0.15]) / 6 - 0.025  # minus the mean excess
    np.testing.assert_allclose(_np(prospect.chi2_weights(small, sigma, 1.0)), expected, atol=1e-15)
    # uniform spectrum: P(sigma) = {1/n}, the risk is the mean loss (no penalty)
    uniform = _a(xp, [0.25] * 4)
    ls = _a(xp, [[1.0, 2.0, 3.0, 10.0]])
    np.testing.assert_allclose(_np(prospect.chi2_weights(ls, uniform, 0.5)), [[0.25] * 4])
    np.testing.assert_allclose(_np(prospect.chi2_risk(ls, uniform, 0.5)), [4.0])


def test_chi2_weights_per_instance_shift_cost(xp):
    sigma = _a(xp, [0.1, 0.3, 0.6])
    losses = _a(xp, [[0.0, 10.0, 5.0], [0.0, 10.0, 5.0]])
    q = _np(prospect.chi2_weights(losses, sigma, _a(xp, [1e-6, 1e6])))
    np.testing.assert_allclose(q[0], [0.1, 0.6, 0.3], atol=1e-14)
    np.testing.assert_allclose(q[1], [1 / 3] * 3, atol=1e-5)


@pytest.mark.parametrize(
    ("nu", "message"),
    [
        (0.0, r"chi2_weights: nu must be a finite number > 0, got 0.0"),
        (-1.0, r"chi2_weights: nu must be a finite number > 0, got -1.0"),
        (math.inf, r"chi2_weights: nu must be a finite number > 0, got inf"),
        (True, r"chi2_weights: nu must be a number or an array > 0, got True"),
    ],
)
def test_chi2_weights_rejects_bad_shift_cost(xp, nu, message):
    with pytest.raises(ValueError, match=message):
        prospect.chi2_weights(_a(xp, [1.0, 2.0]), _a(xp, [0.0, 1.0]), nu)


def test_chi2_weights_rejects_bad_arrays(xp):
    losses = _a(xp, [[1.0, 2.0], [3.0, 4.0]])
    sigma = _a(xp, [0.0, 1.0])
    with pytest.raises(ValueError, match=r"chi2_weights: nu must be a number or have shape \(2,\)"):
        prospect.chi2_weights(losses, sigma, _a(xp, [1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"chi2_weights: nu must be > 0, got -2.0"):
        prospect.chi2_weights(losses, sigma, _a(xp, [1.0, -2.0]))
    with pytest.raises(ValueError, match=r"chi2_weights: sigma must be sorted ascending"):
        prospect.chi2_weights(losses, _a(xp, [1.0, 0.0]), 1.0)
    with pytest.raises(ValueError, match=r"chi2_risk: losses must be finite, got nan"):
        prospect.chi2_risk(_a(xp, [math.nan, 1.0]), sigma, 1.0)


def test_chi2_weights_agree_with_the_sorted_formula_at_vertices():
    rng = np.random.default_rng(3)
    losses = rng.standard_normal((50, 8)) * 100
    sigma = np.sort(rng.dirichlet(np.ones(8)))
    # nu = 1e-4: z = 1/n + l/(2 nu n) has gaps >> those of sigma (a vertex), |z| ~ 1e5,
    # so q = z - v is accurate to ~ n u |z| ~ 1e-10
    q = np.asarray(prospect.chi2_weights(losses, sigma, 1e-4))
    ranks = np.argsort(np.argsort(losses, axis=1), axis=1)
    np.testing.assert_allclose(q, sigma[ranks], atol=1e-9)
    np.testing.assert_allclose(np.sum(q * losses, axis=1), prospect.spectral_risk(losses, sigma))


# --------------------------------------------------------------------------- objective, optimisers


def _ridge():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 3)) / np.sqrt(3)
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.standard_normal(20)
    return x, y


def test_objective_value_and_gradient():
    x, y = _ridge()
    w = np.array([0.3, -0.1, 0.2])
    uniform = np.full(20, 1 / 20)
    value, grad = prospect.ridge_dro_objective(w, x, y, uniform, 0.5, 0.1)
    residual = x @ w - y
    assert value == pytest.approx(np.mean(0.5 * residual**2) + 0.05 * (w @ w), rel=1e-14)
    sigma = prospect.cvar_spectrum(20, 0.2)
    value, grad = prospect.ridge_dro_objective(w, x, y, sigma, 0.05, 0.1)
    h = 1e-6
    numeric = [
        (
            prospect.ridge_dro_objective(w + h * e, x, y, sigma, 0.05, 0.1)[0]
            - prospect.ridge_dro_objective(w - h * e, x, y, sigma, 0.05, 0.1)[0]
        )
        / (2 * h)
        for e in np.eye(3)
    ]
    np.testing.assert_allclose(grad, numeric, atol=1e-8)


def test_prospect_is_deterministic_and_converges_on_a_small_problem():
    x, y = _ridge()
    sigma = prospect.cvar_spectrum(20, 0.2)
    step = 1 / (3 * (20 * sigma[-1] * np.max(np.sum(x * x, axis=1)) + 0.1))
    first = prospect.prospect(x, y, sigma, 0.05, 0.1, step, 60, np.random.default_rng(5))
    again = prospect.prospect(x, y, sigma, 0.05, 0.1, step, 60, np.random.default_rng(5))
    np.testing.assert_array_equal(first, again)
    assert first.shape == (61, 3)
    values = [prospect.ridge_dro_objective(w, x, y, sigma, 0.05, 0.1)[0] for w in first]
    _, grad = prospect.ridge_dro_objective(first[-1], x, y, sigma, 0.05, 0.1)
    assert np.linalg.norm(grad) < 1e-6 * np.linalg.norm(
        prospect.ridge_dro_objective(first[0], x, y, sigma, 0.05, 0.1)[1]
    )
    assert values[-1] < values[0]
    stopped = prospect.prospect(
        x, y, sigma, 0.05, 0.1, step, 60, np.random.default_rng(5), until=lambda w: True
    )
    assert stopped.shape == (2, 3)


def test_minibatch_sgd_shapes():
    x, y = _ridge()
    ws = prospect.minibatch_sgd(
        x, y, prospect.cvar_spectrum(5, 0.2), 0.05, 0.1, 0.05, 3, 5, np.random.default_rng(0)
    )
    assert ws.shape == (3 * 4 + 1, 3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"step": 0.0}, r"prospect: step must be a finite number > 0, got 0.0"),
        ({"nu": -1.0}, r"prospect: nu must be a finite number > 0, got -1.0"),
        ({"mu": -0.1}, r"prospect: mu must be a finite number >= 0, got -0.1"),
        ({"epochs": -1}, r"prospect: epochs must be an integer >= 0, got -1"),
        ({"y": np.zeros(19)}, r"prospect: need x of shape \(n, d\) and y of shape \(n,\)"),
        ({"sigma": np.full(20, 0.1)}, r"prospect: sigma must sum to 1 along axis -1, off by 1"),
    ],
)
def test_prospect_rejects_bad_input(kwargs, message):
    x, y = _ridge()
    args = {
        "x": x,
        "y": y,
        "sigma": prospect.cvar_spectrum(20, 0.2),
        "nu": 0.05,
        "mu": 0.1,
        "step": 0.01,
        "epochs": 1,
        "rng": np.random.default_rng(0),
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        prospect.prospect(**args)


def test_minibatch_sgd_and_objective_reject_bad_input():
    x, y = _ridge()
    rng = np.random.default_rng(0)
    with pytest.raises(
        ValueError, match=r"minibatch_sgd: batch_size must be an integer in \[1, 20\], got 21"
    ):
        prospect.minibatch_sgd(x, y, np.full(21, 1 / 21), 0.1, 0.1, 0.1, 1, 21, rng)
    with pytest.raises(ValueError, match=r"minibatch_sgd: sigma_batch must have shape"):
        prospect.minibatch_sgd(x, y, np.full(4, 0.25), 0.1, 0.1, 0.1, 1, 5, rng)
    with pytest.raises(
        ValueError, match=r"ridge_dro_objective: w must have shape \(3,\), got \(2,\)"
    ):
        prospect.ridge_dro_objective(np.zeros(2), x, y, np.full(20, 0.05), 0.1, 0.1)
    with pytest.raises(ValueError, match=r"ridge_dro_objective: x must be finite, got nan"):
        bad = x.copy()
        bad[2, 1] = math.nan
        prospect.ridge_dro_objective(np.zeros(3), bad, y, np.full(20, 0.05), 0.1, 0.1)
