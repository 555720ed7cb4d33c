"""Bad input to the math objects of the "geometry and bounds" catalog modules.

Each public function must reject bad input at its edge with a ``ValueError`` that
names the offending value, on every CPU backend (the ``xp`` fixture of conftest).
The claims themselves are collected from ``theory/catalog`` and
``proofs_check/catalog`` by the theorycheck plugin.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import on

from theory.catalog import (
    bbproper,
    cs_divergence,
    cs_ib,
    diou,
    expressive,
    ibp,
    icon,
    legendre,
    losslandscape,
    maxout,
    mmd,
    ntl,
    segloss,
    supersample,
    sw,
    vdsw,
    volume_sampling,
)


def test_diou_rejects_degenerate_and_misshapen_boxes(xp):
    good = on(xp, [[0.0, 0.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match="x2 > x1 and y2 > y1, got a side of length -1.0"):
        diou.diou_loss(on(xp, [[0.0, 0.0, -1.0, 1.0]]), good)
    with pytest.raises(ValueError, match=r"shape \(..., 4\)"):
        diou.iou(on(xp, [[0.0, 0.0, 1.0]]), good)
    with pytest.raises(ValueError, match="must be finite"):
        diou.ciou_loss(good, on(xp, [[0.0, 0.0, np.nan, 1.0]]))


def test_diou_loss_values_on_backend(xp):
    box = on(xp, [[0.0, 0.0, 2.0, 2.0]])
    target = on(xp, [[1.0, 1.0, 3.0, 3.0]])
    # IoU = 1/7, centres (1,1) and (2,2): rho^2 = 2, enclosing diagonal^2 = 18
    value = float(np.asarray(diou.diou_loss(box, target))[0])
    assert value == pytest.approx(1 - 1 / 7 + 2 / 18, abs=1e-15)


def test_sliced_wasserstein_rejects_bad_order_and_shapes(xp):
    x = on(xp, [[0.0, 1.0]])
    with pytest.raises(ValueError, match="order p must be a number >= 1, got 0.5"):
        sw.wasserstein_1d(x, x, p=0.5)
    with pytest.raises(ValueError, match="same non-empty shape"):
        sw.wasserstein_1d(x, on(xp, [[0.0, 1.0, 2.0]]))
    with pytest.raises(ValueError, match=r"directions must have shape \(..., 2\)"):
        sw.projected_wasserstein(
            on(xp, [[0.0, 1.0]]), on(xp, [[1.0, 0.0]]), on(xp, [[1.0, 0.0, 0.0]])
        )


def test_vdsw_rejects_non_unit_means(xp):
    with pytest.raises(ValueError, match="unit vectors, a norm is off by 1"):
        vdsw.householder_to(on(xp, [[0.0, 0.0, 2.0]]))


def test_segmentation_losses_reject_bad_masks(xp):
    target = on(xp, [[1.0, 0.0]])
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\], has entries 0.0 .. 1.5"):
        segloss.dice_coefficient(on(xp, [[1.5, 0.0]]), target)
    with pytest.raises(ValueError, match="target must be a 0/1 mask"):
        segloss.jaccard_index(on(xp, [[0.5, 0.5]]), on(xp, [[0.5, 1.0]]))
    with pytest.raises(ValueError, match="alpha must be a non-negative number, got -1"):
        segloss.tversky_index(on(xp, [[0.5, 0.5]]), target, -1, 0.5)
    with pytest.raises(ValueError, match=r"probability must lie in \(0, 1\]"):
        segloss.focal_loss(on(xp, [0.0, 0.5]), 2.0)


def test_filter_normalize_rejects_zero_direction_rows(xp):
    params = [(on(xp, np.ones((2, 3))), on(xp, np.zeros(2)))]
    direction = [(on(xp, [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]), on(xp, np.zeros(2)))]
    with pytest.raises(ValueError, match=r"direction W\[0\] has a row of norm 0"):
        losslandscape.filter_normalize(direction, params)
    with pytest.raises(ValueError, match="layer 0 needs W of shape"):
        losslandscape.filter_normalize(params, [(on(xp, np.ones((2, 3))), on(xp, np.zeros(3)))])


def test_interval_bounds_reject_inverted_boxes(xp):
    with pytest.raises(ValueError, match="lower <= upper, has upper - lower = -1.0"):
        ibp.interval_affine(on(xp, [1.0]), on(xp, [0.0]), on(xp, [[1.0]]), on(xp, [0.0]))
    with pytest.raises(ValueError, match="W has 2 inputs, the box 1"):
        ibp.interval_affine(on(xp, [0.0]), on(xp, [1.0]), on(xp, [[1.0, 1.0]]), on(xp, [0.0]))


def test_mutual_information_rejects_bad_tables(xp):
    with pytest.raises(ValueError, match="negative entry -0.5"):
        supersample.mutual_information(on(xp, [[1.5, -0.5], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="sum to 1, one is off by 0.5"):
        supersample.mutual_information(on(xp, [[0.25, 0.25], [0.0, 0.0]]))
    independent = supersample.mutual_information(on(xp, [[0.25, 0.25], [0.25, 0.25]]))
    assert float(np.asarray(independent)) == 0.0


def test_number_token_losses_reject_unsorted_values(xp):
    p = on(xp, [[0.5, 0.5]])
    with pytest.raises(ValueError, match="values must be strictly increasing"):
        ntl.ntl_wasserstein(p, on(xp, [1.0, 0.0]), on(xp, [0.0]))
    with pytest.raises(ValueError, match="p must sum to 1"):
        ntl.ntl_mse(on(xp, [[0.5, 0.6]]), on(xp, [0.0, 1.0]), on(xp, [0.0]))


def test_icon_rejects_bad_temperature_and_zero_embeddings(xp):
    f = on(xp, [[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="temperature must be positive, got 0"):
        icon.log_neighbour_distribution(f, 0)
    with pytest.raises(ValueError, match="an embedding is zero"):
        icon.log_neighbour_distribution(on(xp, [[1.0, 0.0], [0.0, 0.0]]), 1.0)


def test_mmd_needs_two_points_per_sample(xp):
    with pytest.raises(ValueError, match="at least 2 points per sample, got m=1, n=2"):
        mmd.mmd2_unbiased(on(xp, [[0.0, 0.0]]), on(xp, [[0.0, 0.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match=r"needs \|psi\| <= 1, got 2"):
        mmd.critic_sample_gradient(on(xp, [[0.0]]), on(xp, [[0.0]]), 0.0, psi=2.0)


def test_volume_sampling_rejects_out_of_range_tuples(xp):
    phi = on(xp, np.eye(3)[:, :2])
    tuples = xp.asarray(np.array([[0, 5]]))
    with pytest.raises(ValueError, match="tuples must index atoms 0..2"):
        volume_sampling.projection_dpp_density(phi, tuples)
    with pytest.raises(ValueError, match=r"phi must have shape \(N, m\) with m <= N"):
        volume_sampling.projection_dpp_density(
            on(xp, np.ones((2, 3))), xp.asarray(np.array([[0, 1]]))
        )


def test_black_box_expected_loss_rejects_off_simplex_laws(xp):
    table = on(xp, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="p must sum to 1"):
        bbproper.expected_loss(table, on(xp, [0.7, 0.7]), on(xp, [0.5, 0.5]))
    with pytest.raises(ValueError, match=r"table must have shape \(K, ..., K\)"):
        bbproper.expected_loss(on(xp, np.zeros((2, 3))), on(xp, [0.5, 0.5]), on(xp, [0.5, 0.5]))
    with pytest.raises(ValueError, match="T must be >= 1, got 0"):
        bbproper.draws_until_hit_loss(xp.asarray(np.array([0, 2])))


def test_legendre_potential_rejects_bad_temperature(xp):
    with pytest.raises(ValueError, match="temperature must be positive, got 0"):
        legendre.lse_plus(on(xp, [[0.0, 1.0]]), 0)
    with pytest.raises(ValueError, match=r"C >= 2, got \(2, 0\)"):
        legendre.softmax_plus(on(xp, np.zeros((2, 0))))


def test_cs_divergence_rejects_indefinite_covariances(xp):
    mean = on(xp, [[0.0, 0.0]])
    good = on(xp, [np.eye(2)])
    with pytest.raises(ValueError, match="positive definite, has eigenvalue -1"):
        cs_divergence.cs_divergence_gaussian(mean, on(xp, [np.diag([1.0, -1.0])]), mean, good)
    with pytest.raises(ValueError, match="must be symmetric"):
        cs_divergence.kl_gaussian(mean, on(xp, [[[1.0, 0.5], [0.0, 1.0]]]), mean, good)


def test_cs_qmi_rejects_bad_bandwidth_and_shapes(xp):
    with pytest.raises(ValueError, match="bandwidth must be positive, got 0"):
        cs_ib.gaussian_gram(on(xp, [[0.0], [1.0]]), 0)
    with pytest.raises(ValueError, match="square and of the same shape"):
        cs_ib.cs_qmi(on(xp, np.eye(2)), on(xp, np.eye(3)))


def test_expressive_losses_reject_alpha_outside_unit_interval(xp):
    z = on(xp, [[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"alpha must lie in \[0, 1\], got 1.5 .. 1.5"):
        expressive.cc_ibp_loss(z, z, on(xp, [1.5]))
    with pytest.raises(ValueError, match="margins must be finite"):
        expressive.margin_loss(on(xp, [[np.inf]]))


def test_maxout_rejects_mismatched_pieces(xp):
    with pytest.raises(ValueError, match="need x"):
        maxout.maxout(on(xp, [[0.0, 1.0]]), on(xp, [[1.0, 0.0]]), on(xp, [0.0, 1.0]))
