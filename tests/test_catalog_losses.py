"""Bad input to the math objects of the losses group of the seed catalog.

One ValueError naming the offending value per public function at the edge, on NumPy
and array-api-strict (the ``xp`` fixture). The claims themselves are tested through the
pytest plugin (``pytest theory/catalog proofs_check/catalog``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from theory.catalog import (
    anyloss,
    circle,
    focal,
    ldr,
    maxsup,
    ms_loss,
    polyloss,
    psl,
    sam,
    sigmoid_loss,
    slk,
    sparse_softmax,
    supcon,
    zloss,
)


def _a(xp, values, dtype=None):
    return xp.asarray(np.asarray(values, dtype=dtype or np.float64))


def _labels(xp, values):
    return xp.asarray(np.asarray(values, dtype=np.int64))


# --------------------------------------------------------------------------- maxsup


def test_maxsup_rejects_bad_labels_and_alpha(xp):
    z = _a(xp, [[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match=r"y must lie in \[0, 3\), got label 3"):
        maxsup.cross_entropy(z, _labels(xp, [3]))
    with pytest.raises(ValueError, match="y must be an integer label array"):
        maxsup.ls_penalty(z, _a(xp, [0.0]), 0.1)
    with pytest.raises(ValueError, match=r"alpha must be a number in \(0, 1\), got 1.5"):
        maxsup.label_smoothing_loss(z, _labels(xp, [0]), 1.5)
    with pytest.raises(ValueError, match="y must have shape"):
        maxsup.maxsup_penalty(z, _labels(xp, [0, 1]), 0.1)
    with pytest.raises(ValueError, match="z must be finite"):
        maxsup.ls_penalty_split(_a(xp, [[1.0, math.nan]]), _labels(xp, [0]), 0.1)


# --------------------------------------------------------------------------- polyloss and focal


def test_polyloss_rejects_probabilities_outside_the_interval(xp):
    with pytest.raises(ValueError, match=r"p_t must lie in \(0, 1\], got 0.0"):
        polyloss.poly_loss(_a(xp, [0.5, 0.0]), (1.0,))
    with pytest.raises(ValueError, match="epsilons must hold at least one coefficient"):
        polyloss.poly_loss(_a(xp, [0.5]), ())
    with pytest.raises(ValueError, match=r"y must lie in \[0, 2\)"):
        polyloss.poly1_cross_entropy(_a(xp, [[0.0, 1.0]]), _labels(xp, [2]), 1.0)


def test_focal_rejects_bad_gamma_labels_and_probabilities(xp):
    with pytest.raises(ValueError, match="gamma must be a number >= 0, got -1"):
        focal.focal_loss_pt(_a(xp, [0.5]), -1)
    with pytest.raises(ValueError, match=r"p_t must lie in \(0, 1\], got 1.5"):
        focal.focal_loss_pt(_a(xp, [1.5]), 2.0)
    with pytest.raises(ValueError, match="y must hold labels -1 or \\+1 only"):
        focal.focal_loss_binary(_a(xp, [0.3]), _a(xp, [0.0]), 2.0)
    with pytest.raises(ValueError, match="alpha_t must be a number > 0, got 0"):
        focal.focal_loss_binary(_a(xp, [0.3]), _a(xp, [1.0]), 2.0, alpha_t=0)
    with pytest.raises(ValueError, match=r"eta must lie in \[0, 1\]"):
        focal.focal_conditional_risk(_a(xp, [0.3]), _a(xp, [1.2]), 1.0)


# --------------------------------------------------------------------------- sam


def test_sam_rejects_zero_gradient_and_bad_exponent(xp):
    with pytest.raises(ValueError, match="g must be non-zero in every row"):
        sam.sam_perturbation(_a(xp, [[0.0, 0.0]]), 0.1, 2.0)
    with pytest.raises(ValueError, match=r"p must be a number in \(1, inf\), got 1"):
        sam.sam_perturbation(_a(xp, [[1.0, 0.0]]), 0.1, 1)
    with pytest.raises(ValueError, match="rho must be a finite number > 0, got -0.1"):
        sam.sam_perturbation(_a(xp, [[1.0, 0.0]]), -0.1, 2.0)
    with pytest.raises(ValueError, match="H must be symmetric"):
        sam.quadratic_loss(_a(xp, [1.0, 0.0]), _a(xp, [[1.0, 2.0], [0.0, 1.0]]), _a(xp, [0.0, 0.0]))
    with pytest.raises(ValueError, match=r"H must have shape \(2, 2\)"):
        sam.quadratic_gradient(_a(xp, [1.0, 0.0]), _a(xp, [[1.0]]), _a(xp, [0.0, 0.0]))


# --------------------------------------------------------------------------- circle and zloss


def test_circle_rejects_bad_scale_and_shapes(xp):
    s_p, s_n = _a(xp, [[0.5]]), _a(xp, [[0.1, 0.2]])
    with pytest.raises(ValueError, match="gamma must be a finite number > 0, got 0"):
        circle.unified_loss(s_p, s_n, 0, 0.25)
    with pytest.raises(ValueError, match="share their leading"):
        circle.circle_loss(_a(xp, [[0.5], [0.4]]), s_n, 32.0, 0.25)
    with pytest.raises(ValueError, match="s_p must have one entry per row"):
        circle.am_softmax_loss(_a(xp, [[0.5, 0.4]]), s_n, 32.0, 0.25)
    with pytest.raises(ValueError, match="margin must be a finite number, got inf"):
        circle.circle_weights(s_p, s_n, math.inf)


def test_zloss_rejects_constant_rows_and_bad_parameters(xp):
    with pytest.raises(ValueError, match=r"sigma = 0"):
        zloss.z_score(_a(xp, [[1.0, 1.0, 1.0]]), _labels(xp, [0]))
    with pytest.raises(ValueError, match="a must be a finite number > 0, got 0"):
        zloss.z_loss(_a(xp, [[1.0, 2.0]]), _labels(xp, [0]), 0, 1.0)
    with pytest.raises(ValueError, match="D >= 2"):
        zloss.z_score(_a(xp, [[1.0]]), _labels(xp, [0]))
    with pytest.raises(ValueError, match=r"c must lie in \[0, 2\), got -1"):
        zloss.softmax_cross_entropy(_a(xp, [[1.0, 2.0]]), _labels(xp, [-1]))


# --------------------------------------------------------------------------- the other papers


def test_ms_loss_rejects_bad_batches(xp):
    s = _a(xp, np.eye(3))
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\)"):
        ms_loss.multi_similarity_loss(s, _labels(xp, [0, 1]))
    with pytest.raises(ValueError, match="S must be square"):
        ms_loss.multi_similarity_loss(_a(xp, np.ones((2, 3))), _labels(xp, [0, 1]))
    with pytest.raises(ValueError, match="beta must be a finite number > 0, got -1"):
        ms_loss.multi_similarity_weights(s, _labels(xp, [0, 0, 1]), beta=-1)
    with pytest.raises(ValueError, match="epsilon must be a number >= 0, got -0.1"):
        ms_loss.ms_mining_masks(s, _labels(xp, [0, 0, 1]), -0.1)


def test_sigmoid_loss_rejects_non_unit_embeddings_and_bad_chunks(xp):
    x = _a(xp, [[1.0, 0.0], [0.0, 2.0]])
    with pytest.raises(ValueError, match="rows of x must have unit norm"):
        sigmoid_loss.pair_logits(x, x, 1.0, -10.0)
    with pytest.raises(ValueError, match="square"):
        sigmoid_loss.sigmoid_loss(_a(xp, [[1.0, 2.0]]))
    with pytest.raises(ValueError, match=r"chunks must be an integer in \[1, 2\], got 3"):
        sigmoid_loss.chunked_loss(_a(xp, np.eye(2)), 3, sigmoid_loss.sigmoid_block_sum)


def test_sparse_softmax_rejects_bad_k_and_targets(xp):
    z = _a(xp, [[3.0, 2.0, 1.0]])
    with pytest.raises(ValueError, match=r"k must be an integer in \[1, 3\], got 4"):
        sparse_softmax.sparse_softmax(z, 4)
    with pytest.raises(ValueError, match="every target must lie among the k largest logits"):
        sparse_softmax.sparse_softmax_loss(z, _labels(xp, [2]), 1)


def test_anyloss_rejects_bad_labels_and_amplification(xp):
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\], got 1.2"):
        anyloss.approximation_function(_a(xp, [0.5, 1.2]))
    with pytest.raises(ValueError, match="amplification L must be a finite number > 0, got 0"):
        anyloss.approximation_function(_a(xp, [0.5]), 0)
    with pytest.raises(ValueError, match="y must hold labels 0 or 1 only"):
        anyloss.soft_confusion(_a(xp, [2.0, 0.0]), _a(xp, [0.5, 0.5]))
    with pytest.raises(ValueError, match="needs a positive label"):
        anyloss.f1_loss(_a(xp, [0.0, 0.0]), _a(xp, [0.5, 0.5]))


def test_psl_rejects_negative_activation_and_bad_temperature(xp):
    with pytest.raises(ValueError, match="the atan activation is negative at min d = -3.0"):
        psl.psl_loss(_a(xp, [[0.0, -3.0]]), 1.0, "atan")
    with pytest.raises(ValueError, match="tau must be a finite number > 0, got 0"):
        psl.softmax_loss(_a(xp, [[0.0, 0.5]]), 0)
    with pytest.raises(ValueError, match="kind must be one of"):
        psl.psl_activation(_a(xp, [0.0]), "sigmoid")
    with pytest.raises(ValueError, match="ranks must be >= 1, got 0.0"):
        psl.dcg(_a(xp, [0.0]))


def test_ldr_rejects_bad_lambda_margin_and_labels(xp):
    f = _a(xp, [[1.0, 0.0, -1.0]])
    with pytest.raises(ValueError, match="lam must be a finite number > 0, got 0"):
        ldr.ldr_kl_loss(f, _labels(xp, [0]), 0)
    with pytest.raises(ValueError, match="margin must be a finite number >= 0, got -1"):
        ldr.ldr_kl_loss(f, _labels(xp, [0]), 1.0, -1)
    with pytest.raises(ValueError, match=r"y must lie in \[0, 3\), got 5"):
        ldr.ldr_kl_loss(f, _labels(xp, [5]), 1.0)


def test_slk_rejects_bad_level_and_kind(xp):
    f = _a(xp, [[1.0, 0.0, -1.0]])
    with pytest.raises(ValueError, match=r"level must be a number in \(0, 1\), got 1"):
        slk.pinball_loss(f, _a(xp, [0.0]), 1)
    with pytest.raises(ValueError, match="kind must be one of"):
        slk.slk_weights(f, _a(xp, [0.0]), 1.0, "softmax")
    with pytest.raises(ValueError, match=r"k must be an integer in \[1, 3\], got 0"):
        slk.topk_threshold(f, 0)
    with pytest.raises(ValueError, match="tau_w must be a finite number > 0, got -1"):
        slk.slk_weights(f, _a(xp, [0.0]), -1)


def test_supcon_rejects_anchors_without_positives(xp):
    z = _a(xp, np.eye(3))
    with pytest.raises(ValueError, match="every anchor needs a positive"):
        supcon.supcon_out(z, _labels(xp, [0, 0, 1]), 0.5)
    with pytest.raises(ValueError, match="tau must be a finite number > 0, got 0"):
        supcon.supcon_in(z, _labels(xp, [0, 0, 0]), 0)
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\)"):
        supcon.supcon_out(z, _labels(xp, [0, 0]), 0.5)
