"""Bad input and known values of the math objects of the group-4 catalog modules.

Each public function rejects bad input at its edge with a ``ValueError`` that names
the offending value, on every CPU backend (the ``xp`` fixture of conftest). The
claims themselves are collected by the theorycheck plugin.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import on

from theory.catalog import dexml, dictlearn, galerkin, mom, pdrl


def test_dictlearn_rejects_bad_inputs(xp):
    w = on(xp, [[1.0, 0.0]])
    with pytest.raises(ValueError, match=r"theta must be a number in \(0, 1\], got 1.5"):
        dictlearn.population_lp_moment(w, 1.5, 4)
    with pytest.raises(ValueError, match="p must be a number >= 2.0, got 1"):
        dictlearn.population_gradient(w, 0.3, 1)
    with pytest.raises(ValueError, match="w must be finite"):
        dictlearn.population_lp_moment(on(xp, [[np.nan, 0.0]]), 0.3, 4)
    with pytest.raises(ValueError, match="m must be a square matrix"):
        dictlearn.polar(on(xp, [[1.0, 2.0, 3.0]]))
    with pytest.raises(ValueError, match="v has a zero row"):
        dictlearn.normalise(on(xp, [[0.0, 0.0]]))


def test_dictlearn_values(xp):
    # p = 2: E (w^T x)^2 = theta ||w||^2; p = 4 at e_1: 3 theta
    w = on(xp, [[0.6, 0.8, 0.0]])
    assert np.isclose(float(dictlearn.population_lp_moment(w, 0.3, 2)[0]), 0.3)
    e1 = on(xp, [[1.0, 0.0, 0.0]])
    assert np.isclose(float(dictlearn.population_lp_moment(e1, 0.3, 4)[0]), 0.9)
    grad = np.asarray(dictlearn.population_gradient(w, 0.3, 2))
    np.testing.assert_allclose(grad, [[0.18, 0.24, 0.0]], atol=1e-15)
    rotation = on(xp, [[0.0, 2.0], [-3.0, 0.0]])
    np.testing.assert_allclose(np.asarray(dictlearn.polar(rotation)), [[0, 1], [-1, 0]], atol=1e-15)


def test_galerkin_rejects_bad_inputs(xp):
    q = on(xp, np.ones((3, 2)))
    with pytest.raises(ValueError, match="q must have shape"):
        galerkin.galerkin_attention(on(xp, [1.0, 2.0]), q, q)
    with pytest.raises(ValueError, match="v must have shape"):
        galerkin.galerkin_attention(q, q, on(xp, np.ones((4, 2))))
    with pytest.raises(ValueError, match="order must be 'kv-first' or 'qk-first', got 'x'"):
        galerkin.galerkin_attention(q, q, q, order="x")
    with pytest.raises(ValueError, match="eps must be a positive number, got 0"):
        galerkin.layer_norm(q, eps=0)
    with pytest.raises(ValueError, match="k must be finite"):
        galerkin.softmax_attention(q, on(xp, [[np.inf, 0.0]] * 3), q)


def test_galerkin_values(xp):
    # layer_norm([1, 3]) = [-1, 1] / sqrt(1 + eps)
    # one point: z = q outer(k~, k~) = [2, -2] / (1 + eps)
    ln = np.asarray(galerkin.layer_norm(on(xp, [[1.0, 3.0]]), eps=1e-5))
    np.testing.assert_allclose(ln, np.array([[-1, 1]]) / np.sqrt(1 + 1e-5), rtol=1e-15)
    q, k = on(xp, [[2.0, 0.0]]), on(xp, [[1.0, 3.0]])
    z = np.asarray(galerkin.galerkin_attention(q, k, k))
    np.testing.assert_allclose(z, np.array([[2, -2]]) / (1 + 1e-5), rtol=1e-14)
    # softmax over one key returns v
    np.testing.assert_allclose(np.asarray(galerkin.softmax_attention(q, k, k)), [[1.0, 3.0]])


def test_pdrl_rejects_bad_inputs(xp):
    x, p = on(xp, [0.5, 1.5]), on(xp, [0.5, 0.5])
    with pytest.raises(ValueError, match="support must be strictly increasing"):
        pdrl.categorical_projection(x, p, on(xp, [0.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match="probs must sum to 1"):
        pdrl.categorical_projection(x, on(xp, [0.5, 0.7]), on(xp, [0.0, 2.0]))
    with pytest.raises(ValueError, match="k must be a positive integer, got 0"):
        pdrl.quantile_projection(x, p, 0)
    with pytest.raises(ValueError, match="power must be a number >= 1, got 0.5"):
        pdrl.cdf_distance(x, p, x, p, 0.5)


def test_pdrl_values(xp):
    # atom 0.5 on {0, 2}: 3/4 to 0 and 1/4 to 2; atom 3 is clipped to 2
    proj = pdrl.categorical_projection(on(xp, [0.5, 3.0]), on(xp, [0.5, 0.5]), on(xp, [0.0, 2.0]))
    np.testing.assert_allclose(np.asarray(proj), [0.375, 0.625], atol=1e-15)
    # quantiles 1/4, 3/4 of {0 w.p. 0.5, 1 w.p. 0.5}
    q = pdrl.quantile_projection(on(xp, [1.0, 0.0]), on(xp, [0.5, 0.5]), 2)
    assert np.asarray(q).tolist() == [0.0, 1.0]
    w1 = pdrl.cdf_distance(on(xp, [0.0]), on(xp, [1.0]), on(xp, [3.0]), on(xp, [1.0]), 1)
    assert float(w1) == 3.0


def test_mom_reduced_costs(xp):
    a = on(xp, [[1.0, 1.0, 1.0]])
    c = on(xp, [1.0, 2.0, 0.5])
    # basis {0}: y = c_0 / a_0 = 1, r = c_N - a_N y = [1, -0.5]
    assert np.asarray(mom.reduced_costs(a, [0], c)).tolist() == [1.0, -0.5]
    with pytest.raises(
        ValueError, match=r"basis must be 1 distinct indices in \[0, 3\), got \[3\]"
    ):
        mom.reduced_costs(a, [3], c)
    with pytest.raises(ValueError, match="formula must be one of"):
        mom.reduced_costs(a, [0], c, formula="x")
    with pytest.raises(ValueError, match="need a"):
        mom.reduced_costs(a, [0], on(xp, [1.0, 2.0]))


def test_dexml_losses(xp):
    pos = xp.asarray(np.array([True, True, False]))
    s = on(xp, [0.0, 0.0, 0.0])
    # MLS: 2 * log 3; DS: 2 * log 2
    assert np.isclose(float(dexml.multilabel_softmax_loss(s, pos)), 2 * np.log(3), rtol=1e-15)
    assert np.isclose(float(dexml.decoupled_softmax_loss(s, pos)), 2 * np.log(2), rtol=1e-15)
    with pytest.raises(ValueError, match="positive must be a boolean mask of shape"):
        dexml.decoupled_softmax_loss(s, on(xp, [1.0, 1.0, 0.0]))
    with pytest.raises(ValueError, match="need at least one positive and one negative, got m = 3"):
        dexml.multilabel_softmax_loss(s, xp.asarray(np.array([True, True, True])))
    with pytest.raises(ValueError, match="s must be finite"):
        dexml.decoupled_softmax_terms(on(xp, [np.nan, 0.0, 0.0]), pos)
