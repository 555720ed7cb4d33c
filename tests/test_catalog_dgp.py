"""Bad input and known values of the double-gradient-projection math (theory.catalog.dgp).

Each public function rejects bad input at its edge with a ``ValueError`` that names the
function and the offending value, on every CPU backend (the ``xp`` fixture of conftest).
The claims themselves are collected by the theorycheck plugin (``pytest theory -k dgp``).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import host, on

from theory.catalog import dgp

E1 = [[1.0], [0.0]]


def test_projected_update_rejects_bad_inputs(xp):
    g = on(xp, [[1.0, 2.0], [3.0, 4.0]])
    u = on(xp, E1)
    for eta in (0, -0.5, float("nan"), float("inf"), True, "0.1"):
        with pytest.raises(ValueError, match=r"projected_update: eta must be a finite number > 0"):
            dgp.projected_update(g, u, u, eta=eta)
    with pytest.raises(ValueError, match=r"eta must be a finite number > 0, got -0.5"):
        dgp.projected_update(g, u, eta=-0.5)
    with pytest.raises(ValueError, match="projected_update: gradient must be finite"):
        dgp.projected_update(on(xp, [[np.nan, 0.0], [0.0, 0.0]]), u, eta=0.1)
    with pytest.raises(ValueError, match=r"input_basis must have orthonormal columns, .* = 3 >"):
        dgp.projected_update(g, on(xp, [[2.0], [0.0]]), eta=0.1)
    with pytest.raises(ValueError, match=r"output_basis must have orthonormal columns"):
        dgp.projected_update(g, u, on(xp, [[1.0, 1.0], [0.0, 0.0]]), eta=0.1)
    with pytest.raises(
        ValueError, match=r"input_basis must have shape \(\.\.\., 2, k\), got \(3, 1\)"
    ):
        dgp.projected_update(g, on(xp, [[1.0], [0.0], [0.0]]), eta=0.1)
    with pytest.raises(ValueError, match="gradient must have at least 2 axes"):
        dgp.projected_update(on(xp, [1.0, 2.0]), u, eta=0.1)


def test_orthonormal_basis_rejects_bad_inputs(xp):
    samples = on(xp, [[1.0, 0.0], [0.0, 1.0]])
    for energy in (0, 1.5, float("nan"), None):
        with pytest.raises(ValueError, match=r"orthonormal_basis: energy must be a number in"):
            dgp.orthonormal_basis(samples, energy=energy)
    with pytest.raises(ValueError, match=r"energy must be a number in \(0, 1\], got 1.5"):
        dgp.orthonormal_basis(samples, energy=1.5)
    with pytest.raises(ValueError, match="samples must have at least 2 axes"):
        dgp.orthonormal_basis(on(xp, [1.0, 2.0]))
    with pytest.raises(ValueError, match="samples must be finite"):
        dgp.orthonormal_basis(on(xp, [[np.inf, 0.0]]))
    with pytest.raises(ValueError, match="all-zero instance"):
        dgp.orthonormal_basis(on(xp, [[0.0, 0.0]]))
    with pytest.raises(ValueError, match="samples must have a real floating dtype"):
        dgp.orthonormal_basis(xp.asarray([[1, 0]]))


def test_network_functions_reject_bad_inputs(xp):
    w1, w2 = on(xp, np.ones((3, 2))), on(xp, np.ones((1, 3)))
    x = on(xp, [[1.0, 2.0]])
    with pytest.raises(ValueError, match="mlp_forward: activation must be one of .* got 'tanh'"):
        dgp.mlp_forward([w1, w2], x, activation="tanh")
    with pytest.raises(ValueError, match="mlp_forward: weights must be a non-empty sequence"):
        dgp.mlp_forward([], x)
    with pytest.raises(ValueError, match=r"weights\[1\] has shape \(1, 2\), which does not take"):
        dgp.mlp_forward([w1, on(xp, np.ones((1, 2)))], x)
    with pytest.raises(ValueError, match="x must have 2 columns, got shape"):
        dgp.mlp_forward([w1, w2], on(xp, [[1.0, 2.0, 3.0]]))
    with pytest.raises(ValueError, match=r"weights\[0\] must be finite"):
        dgp.mlp_forward([on(xp, [[np.nan, 0.0]]), on(xp, [[1.0]])], x)
    with pytest.raises(ValueError, match="mlp_backward: need one preactivation per layer"):
        dgp.mlp_backward([w1, w2], None, on(xp, [[1.0]]))
    _, pre, _ = dgp.mlp_forward([w1, w2], x)
    with pytest.raises(ValueError, match=r"preactivations\[0\] must have shape \(\.\.\., 2, 3\)"):
        dgp.mlp_backward([w1, w2], pre, on(xp, [[1.0], [1.0]]))
    with pytest.raises(ValueError, match="cotangent must have 1 columns"):
        dgp.mlp_backward([w1, w2], pre, on(xp, [[1.0, 1.0]]))
    bases = [on(xp, np.eye(2)[:, :1]), on(xp, np.eye(3)[:, :1])]
    y = on(xp, [[0.0]])
    with pytest.raises(
        ValueError, match="projected_training: steps must be an integer >= 1, got 0"
    ):
        dgp.projected_training([w1, w2], x, y, bases, None, eta=0.1, steps=0)
    with pytest.raises(ValueError, match="projected_training: eta must be a finite number > 0"):
        dgp.projected_training([w1, w2], x, y, bases, None, eta=0.0, steps=1)
    with pytest.raises(ValueError, match="need one basis per layer"):
        dgp.projected_training([w1, w2], x, y, bases[:1], None, eta=0.1, steps=1)
    with pytest.raises(ValueError, match="y must have 1 columns"):
        dgp.projected_training([w1, w2], x, on(xp, [[0.0, 0.0]]), bases, None, eta=0.1, steps=1)


def test_projected_update_values(xp):
    # (I - e1 e1^T) G (I - e1 e1^T) keeps only G[1, 1]; the one-sided update keeps column 2
    g = on(xp, [[1.0, 2.0], [3.0, 4.0]])
    u = on(xp, E1)
    np.testing.assert_array_equal(host(dgp.projected_update(g, u, u, eta=0.5)), [[0, 0], [0, -2]])
    np.testing.assert_array_equal(host(dgp.projected_update(g, u, eta=0.5)), [[0, -1], [0, -2]])
    # a batch: one basis per instance
    rng = np.random.default_rng(0)
    grads = rng.standard_normal((5, 4, 6))
    ub = np.linalg.qr(rng.standard_normal((5, 6, 2)))[0]
    vb = np.linalg.qr(rng.standard_normal((5, 4, 3)))[0]
    update = host(dgp.projected_update(on(xp, grads), on(xp, ub), on(xp, vb), eta=0.3))
    expected = [
        -0.3 * (np.eye(4) - v @ v.T) @ gr @ (np.eye(6) - uu @ uu.T)
        for gr, uu, v in zip(grads, ub, vb, strict=True)
    ]
    np.testing.assert_allclose(update, expected, atol=1e-14)
    np.testing.assert_allclose(update @ ub, 0.0, atol=1e-14)
    np.testing.assert_allclose(np.swapaxes(update, -1, -2) @ vb, 0.0, atol=1e-14)


def test_orthonormal_basis_values(xp):
    # rows spanning the e1-e2 plane of R^3 (numerical rank 2): the projector is diag(1, 1, 0)
    basis = host(dgp.orthonormal_basis(on(xp, [[1.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 3.0, 0.0]])))
    assert basis.shape == (3, 2)
    np.testing.assert_allclose(basis @ basis.T, np.diag([1.0, 1.0, 0.0]), atol=1e-15)
    # singular values 3 and 1: energy 9/10 of the total sits in the first direction
    samples = on(xp, [[3.0, 0.0], [0.0, 1.0]])
    assert dgp.orthonormal_basis(samples, energy=0.85).shape == (2, 1)
    assert dgp.orthonormal_basis(samples, energy=0.95).shape == (2, 2)
    np.testing.assert_allclose(np.abs(host(dgp.orthonormal_basis(samples, energy=0.85))), E1)
    # a batch shares the largest per-instance count
    batch = on(xp, [[[1.0, 0.0], [2.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]]])
    assert dgp.orthonormal_basis(batch).shape == (2, 2, 2)


def test_mlp_forward_backward_values(xp):
    # z1 = (-1, 4), h1 = (0, 4), f = 4; delta_1 = (0, 1), input gradient W1^T delta_1 = (2, 1)
    weights = [on(xp, [[1.0, -1.0], [2.0, 1.0]]), on(xp, [[1.0, 1.0]])]
    inputs, pre, out = dgp.mlp_forward(weights, on(xp, [[1.0, 2.0]]))
    np.testing.assert_array_equal(host(pre[0]), [[-1.0, 4.0]])
    np.testing.assert_array_equal(host(inputs[1]), [[0.0, 4.0]])
    np.testing.assert_array_equal(host(out), [[4.0]])
    deltas, grad = dgp.mlp_backward(weights, pre, on(xp, [[1.0]]))
    np.testing.assert_array_equal(host(deltas[0]), [[0.0, 1.0]])
    np.testing.assert_array_equal(host(grad), [[2.0, 1.0]])
    _, linear_grad = dgp.mlp_backward(weights, None, on(xp, [[1.0]]), activation="linear")
    np.testing.assert_array_equal(host(linear_grad), [[3.0, 0.0]])


def test_mlp_input_gradient_matches_central_differences():
    rng = np.random.default_rng(1)
    weights = [
        rng.standard_normal((5, 3)),
        rng.standard_normal((4, 5)),
        rng.standard_normal((2, 4)),
    ]
    x, a = rng.standard_normal((1, 3)), rng.standard_normal((1, 2))
    _, pre, _ = dgp.mlp_forward(weights, x)
    _, grad = dgp.mlp_backward(weights, pre, a)
    step = 1e-6
    numeric = [
        (
            a @ dgp.mlp_forward(weights, x + step * e)[2].T
            - a @ dgp.mlp_forward(weights, x - step * e)[2].T
        ).item()
        / (2 * step)
        for e in np.eye(3)
    ]
    np.testing.assert_allclose(grad[0], numeric, rtol=1e-6, atol=1e-8)


def test_projected_training_keeps_old_outputs_and_gradients():
    # a ReLU MLP, bases of 2 old samples: double projection keeps both, one-sided only outputs
    rng = np.random.default_rng(2)
    weights = [rng.standard_normal((6, 4)) / 2, rng.standard_normal((3, 6)) / 2]
    x_old, y_old = rng.standard_normal((2, 4)), rng.standard_normal((2, 3))
    inputs, pre, out = dgp.mlp_forward(weights, x_old)
    deltas, grad = dgp.mlp_backward(weights, pre, out - y_old)
    u = [dgp.orthonormal_basis(h) for h in inputs]
    v = [dgp.orthonormal_basis(d) for d in deltas]
    x_new, y_new = rng.standard_normal((8, 4)), rng.standard_normal((8, 3))
    for output_bases, grad_kept in ((v, True), (None, False)):
        final = dgp.projected_training(weights, x_new, y_new, u, output_bases, eta=0.1, steps=3)
        assert len(final) == 4
        _, pre_t, out_t = dgp.mlp_forward(final[-1], x_old)
        _, grad_t = dgp.mlp_backward(final[-1], pre_t, out_t - y_old)
        np.testing.assert_allclose(out_t, out, atol=1e-13)
        assert np.allclose(grad_t, grad, atol=1e-13) == grad_kept
