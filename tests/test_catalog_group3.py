"""Bad input to the math objects of the group-3 catalog modules.

Each public function rejects bad input at its edge with a ``ValueError`` that names
the offending value, on every CPU backend (the ``xp`` fixture of conftest). The
claims themselves are collected from ``theory/catalog`` and ``proofs_check/catalog``
by the theorycheck plugin.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import on

from theory.catalog import contrastive_k, infoot, momo, mwloss, neuron, repgame


def test_momo_rejects_bad_step_inputs(xp):
    x, d = on(xp, [[1.0, 2.0]]), on(xp, [[0.5, -1.0]])
    one = on(xp, [1.0])
    with pytest.raises(ValueError, match="alpha must be > 0, got -1.0"):
        momo.momo_update(x, d, one, one, one, on(xp, [-1.0]))
    with pytest.raises(ValueError, match="x and d must have the same shape"):
        momo.momo_update(x, on(xp, [[1.0, 2.0, 3.0]]), one, one, one, one)
    with pytest.raises(ValueError, match="f_bar must be finite"):
        momo.momo_update(x, d, on(xp, [np.nan]), one, one, one)
    with pytest.raises(ValueError, match=r"beta must be a number in \[0, 1\), got 1.5"):
        momo.momo_averages(one, one, d, one, d, x, beta=1.5)


def test_momo_update_values(xp):
    # h = f_bar + <d, x> - gamma_bar = 1 + 0 - 0 = 1, ||d||^2 = 1: Polyak step 1, capped at 0.25
    x, d = on(xp, [[0.0, 0.0]]), on(xp, [[1.0, 0.0]])
    zero, one = on(xp, [0.0]), on(xp, [1.0])
    assert np.asarray(momo.momo_update(x, d, one, zero, zero, on(xp, [0.25]))).tolist() == [
        [-0.25, 0.0]
    ]
    assert np.asarray(momo.momo_update(x, d, one, zero, on(xp, [2.0]), one)).tolist() == [
        [0.0, 0.0]
    ]


def test_mwloss_rejects_bad_scores(xp):
    with pytest.raises(ValueError, match="share their leading axes"):
        mwloss.mw_loss(on(xp, [[1.0], [2.0]]), on(xp, [[0.0]]))
    with pytest.raises(ValueError, match="s_neg must be finite, got inf"):
        mwloss.area_over_curve(on(xp, [1.0]), on(xp, [np.inf]))
    with pytest.raises(ValueError, match="C >= 2 candidates, got C = 1"):
        mwloss.infonce_loss(on(xp, [[1.0]]))
    with pytest.raises(ValueError, match=r"shape \(..., Q, C\)"):
        mwloss.global_auc(on(xp, [1.0, 2.0]))


def test_neuron_rejects_mismatched_shapes(xp):
    with pytest.raises(ValueError, match=r"y must have shape \(3,\), got \(2,\)"):
        neuron.surrogate_gradient(on(xp, [1.0, 0.0]), on(xp, np.ones((3, 2))), on(xp, [1.0, 2.0]))
    with pytest.raises(ValueError, match="x must be finite"):
        neuron.surrogate_gradient(on(xp, [1.0, 0.0]), on(xp, [[np.nan, 1.0]]), on(xp, [1.0]))


def test_contrastive_losses_reject_bad_margins(xp):
    with pytest.raises(ValueError, match="v must be finite, got nan"):
        contrastive_k.logistic_contrastive_loss(on(xp, [np.nan, 1.0]))
    with pytest.raises(ValueError, match="v must have a real floating dtype"):
        contrastive_k.hinge_contrastive_loss(xp.asarray([1, 2]))
    assert float(contrastive_k.hinge_contrastive_loss(on(xp, [2.0, 0.5]))) == 0.5


def test_repgame_rejects_bad_matrices(xp):
    sigma = on(xp, np.eye(3))
    with pytest.raises(ValueError, match="sigma must be positive definite, smallest eigenvalue -1"):
        repgame.worst_case_regret(on(xp, np.ones((3, 1))), on(xp, -np.eye(3)), sigma)
    with pytest.raises(ValueError, match="S must be symmetric"):
        repgame.worst_case_regret(
            on(xp, np.ones((3, 1))), sigma, on(xp, [[1, 1, 0], [0, 1, 0], [0, 0, 1]])
        )
    with pytest.raises(ValueError, match=r"R must have shape \(..., 3, r\) with 1 <= r < 3"):
        repgame.task_regret(on(xp, np.ones((3, 3))), sigma, on(xp, [1.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match=r"r must be an integer in \[1, 3\), got 3"):
        repgame.mixed_value(on(xp, [1.0, 2.0, 3.0]), 3)
    with pytest.raises(ValueError, match="eigenvalues must be > 0, got 0.0"):
        repgame.mixed_value(on(xp, [1.0, 0.0, 3.0]), 1)
    # lambda = (1, 1, 1, 1), r = 1: value 3/4
    assert float(repgame.mixed_value(on(xp, [1.0, 1.0, 1.0, 1.0]), 1)) == pytest.approx(0.75)


def test_infoot_rejects_bad_inputs(xp):
    x = on(xp, [[0.0, 0.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="bandwidth must be a finite number > 0, got 0.0"):
        infoot.gaussian_kernel(x, x, 0.0)
    with pytest.raises(ValueError, match="gamma must be non-negative, has entry -0.5"):
        infoot.kernel_mutual_information(
            on(xp, [[1.0, -0.5], [0.0, 0.5]]), on(xp, np.eye(2)), on(xp, np.eye(2))
        )
    with pytest.raises(ValueError, match="a must sum to 1"):
        infoot.sinkhorn(on(xp, [0.5, 0.6]), on(xp, [0.5, 0.5]), on(xp, np.ones((2, 2))), 0.1)
    with pytest.raises(ValueError, match="lam must be a finite number >= 0, got -1.0"):
        half = on(xp, [0.5, 0.5])
        infoot.infoot_coupling(half, half, on(xp, np.ones((2, 2))), None, None, -1.0, 0.1)
    # the product coupling of uniform marginals has zero kernel mutual information
    kernel = infoot.gaussian_kernel(x, x, 1.0)
    value = infoot.kernel_mutual_information(on(xp, np.full((2, 2), 0.25)), kernel, kernel)
    assert abs(float(value)) < 1e-15
