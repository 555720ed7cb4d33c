"""Bad input and known values of the kronproj, pjax, osd and logbarrier catalog math.

Each public function rejects bad input at its edge with a ``ValueError`` that names the
function and the offending value, on every CPU backend (the ``xp`` fixture of conftest).
The claims themselves are collected by the theorycheck plugin
(``pytest theory -k "kronproj or pjax or osd or logbarrier"``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.optimize
from conftest import host, on

from theory.catalog import kronproj, logbarrier, osd, pjax
from theorycheck import all_claims


def _spd(rng, n, batch=()):
    q = np.linalg.qr(rng.standard_normal((*batch, n, n)))[0]
    lam = rng.uniform(0.5, 2.0, (*batch, n))
    w = (q * lam[..., None, :]) @ np.swapaxes(q, -1, -2)
    return 0.5 * (w + np.swapaxes(w, -1, -2))


# --------------------------------------------------------------------------- registry


def test_claims_registered_with_spec_ids_methods_and_provenance():
    claims = {c.id: c for c in all_claims()}
    expected = {
        "kronproj.projection-identities": ("kronproj", "numeric"),
        "pjax.relu-graph-projection": ("pjax", "numeric"),
        "osd.projected-descent": ("osd", "numeric"),
        "logbarrier.ftrl-kkt": ("logbarrier", "solver"),
    }
    for claim_id, (paper, method) in expected.items():
        claim = claims[claim_id]
        assert claim.paper == paper and claim.method == method
        assert claim.provenance == "unconfirmed-numbering"
        assert claim.module == f"theory.catalog.{paper}"
        assert "fragment" in claim.statement and claim.controls


# --------------------------------------------------------------------------- kronproj


def test_kron_and_weights_values(xp):
    rng = np.random.default_rng(0)
    left, right = rng.standard_normal((2, 3)), rng.standard_normal((4, 5))
    np.testing.assert_allclose(
        host(kronproj.kron(on(xp, left), on(xp, right))), np.kron(left, right)
    )
    w = _spd(rng, 3)
    root = host(kronproj.psd_sqrt(on(xp, w)))
    np.testing.assert_allclose(root, root.T, atol=1e-15)
    np.testing.assert_allclose(root @ root, w, atol=1e-14)
    np.testing.assert_allclose(
        host(kronproj.kronecker_weight(on(xp, w), kind="w-identity")), np.kron(w, np.eye(3))
    )
    k = host(kronproj.kronecker_weight(on(xp, w), kind="sqrt-sqrt"))
    np.testing.assert_allclose(k @ k, np.kron(w, w), atol=1e-13)


def test_kronecker_projection_values(xp):
    # A = e_1^T and W = I: P = e_1 e_1^T; a batch against the SVD projector
    a = np.zeros((1, 4))
    a[0, 0] = 1.0
    p = host(kronproj.kronecker_projection(on(xp, a), on(xp, np.eye(2))))
    np.testing.assert_allclose(p, np.diag([1.0, 0.0, 0.0, 0.0]), atol=1e-15)
    rng = np.random.default_rng(1)
    a, w = rng.standard_normal((3, 2, 9)), _spd(rng, 3, (3,))
    for kind in kronproj.KINDS:
        p = host(kronproj.kronecker_projection(on(xp, a), on(xp, w), kind=kind))
        b = a @ host(kronproj.kronecker_weight(on(xp, w), kind=kind))
        vh = np.linalg.svd(b, full_matrices=False)[2]
        np.testing.assert_allclose(p, np.swapaxes(vh, -1, -2) @ vh, atol=1e-12)


def test_gram_update_and_woodbury_values(xp):
    rng = np.random.default_rng(2)
    a, w, v = rng.standard_normal((2, 3, 9)), _spd(rng, 3, (2,)), rng.standard_normal((2, 3))
    w_new = w + v[:, :, None] * v[:, None, :]
    for kind in kronproj.KINDS:
        x, c = (
            host(z)
            for z in kronproj.gram_update_factors(on(xp, a), on(xp, w), on(xp, v), kind=kind)
        )
        b = a @ host(kronproj.kronecker_weight(on(xp, w), kind=kind))
        b_new = a @ host(kronproj.kronecker_weight(on(xp, w_new), kind=kind))
        gram, gram_new = b @ np.swapaxes(b, -1, -2), b_new @ np.swapaxes(b_new, -1, -2)
        np.testing.assert_allclose(gram + x @ c @ np.swapaxes(x, -1, -2), gram_new, atol=1e-11)
        inverse = host(kronproj.woodbury_inverse(on(xp, np.linalg.inv(gram)), on(xp, x), on(xp, c)))
        np.testing.assert_allclose(inverse, np.linalg.inv(gram_new), rtol=1e-9, atol=1e-12)


def test_sketch_values(xp):
    assert kronproj.sketch_size(5, 0.5, 0.1) == 240
    assert kronproj.sketch_size(np.int64(0), 1.0, 0.5) == 2
    rng = np.random.default_rng(3)
    p, h = np.diag([1.0, 1.0, 0.0]), rng.standard_normal(3)
    # an orthogonal R (R^T R = I) reproduces P h exactly
    r = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    np.testing.assert_allclose(
        host(kronproj.sketched_apply(on(xp, p), on(xp, h), on(xp, r))), p @ h, atol=1e-15
    )


def test_kronproj_rejects_bad_inputs(xp):
    w = on(xp, np.eye(2))
    a = on(xp, np.ones((1, 4)))
    with pytest.raises(ValueError, match="kron: left must be finite"):
        kronproj.kron(on(xp, [[np.nan]]), w)
    with pytest.raises(ValueError, match="kron: right must have at least 2 axes"):
        kronproj.kron(w, on(xp, [1.0]))
    with pytest.raises(ValueError, match=r"psd_sqrt: w must be symmetric, .* = 1 >"):
        kronproj.psd_sqrt(on(xp, [[1.0, 1.0], [0.0, 1.0]]))
    with pytest.raises(
        ValueError, match="psd_sqrt: w must be positive semidefinite, has eigenvalue -1"
    ):
        kronproj.psd_sqrt(on(xp, [[1.0, 0.0], [0.0, -1.0]]))
    with pytest.raises(ValueError, match=r"psd_sqrt: w must be \(\.\.\., n, n\)"):
        kronproj.psd_sqrt(on(xp, np.ones((2, 3))))
    with pytest.raises(ValueError, match="psd_sqrt: w must have a real floating dtype"):
        kronproj.psd_sqrt(xp.asarray([[1, 0], [0, 1]]))
    with pytest.raises(ValueError, match="kronecker_weight: kind must be one of .* got 'w-w'"):
        kronproj.kronecker_weight(w, kind="w-w")
    with pytest.raises(ValueError, match="kronecker_projection: kind must be one of"):
        kronproj.kronecker_projection(a, w, kind="other")
    with pytest.raises(
        ValueError, match=r"kronecker_projection: a must have shape \(\.\.\., m, 4\)"
    ):
        kronproj.kronecker_projection(on(xp, np.ones((1, 3))), w)
    with pytest.raises(ValueError, match="kronecker_projection: w must be finite"):
        kronproj.kronecker_projection(a, on(xp, [[np.inf, 0.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"gram_update_factors: v must have shape \(\.\.\., 2\)"):
        kronproj.gram_update_factors(a, w, on(xp, [1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="gram_update_factors: kind must be one of"):
        kronproj.gram_update_factors(a, w, on(xp, [1.0, 2.0]), kind="x")
    with pytest.raises(ValueError, match="woodbury_inverse: c must be invertible"):
        kronproj.woodbury_inverse(on(xp, np.eye(2)), on(xp, np.ones((2, 1))), on(xp, [[0.0]]))
    with pytest.raises(ValueError, match=r"woodbury_inverse: need m_inv \(\.\.\., m, m\)"):
        kronproj.woodbury_inverse(on(xp, np.eye(2)), on(xp, np.ones((3, 1))), on(xp, [[1.0]]))
    for bad in (0, -0.5, math.nan, math.inf, True):
        with pytest.raises(ValueError, match="sketch_size: eps must be a finite number > 0"):
            kronproj.sketch_size(3, bad, 0.1)
    with pytest.raises(
        ValueError, match=r"sketch_size: delta must be a finite number > 0 and < 1, got 1.5"
    ):
        kronproj.sketch_size(3, 0.5, 1.5)
    with pytest.raises(ValueError, match="sketch_size: rank must be an integer >= 0, got -1"):
        kronproj.sketch_size(-1, 0.5, 0.1)
    with pytest.raises(ValueError, match=r"sketched_apply: need p \(\.\.\., N, N\)"):
        kronproj.sketched_apply(w, on(xp, [1.0, 2.0]), on(xp, np.ones((3, 5))))
    with pytest.raises(ValueError, match="sketched_apply: h must be finite"):
        kronproj.sketched_apply(w, on(xp, [np.nan, 2.0]), on(xp, np.ones((3, 2))))


# --------------------------------------------------------------------------- pjax


def test_relu_graph_projection_values(xp):
    points = [[-1.0, 0.5], [1.0, -2.0], [2.0, 1.0], [-1.0, -1.0], [0.0, 3.0], [3.0, 3.0]]
    expected = [[-1.0, 0.0], [0.0, 0.0], [1.5, 1.5], [-1.0, 0.0], [1.5, 1.5], [3.0, 3.0]]
    np.testing.assert_allclose(host(pjax.relu_graph_projection(on(xp, points))), expected)
    # batch axes are kept; projections lie on the graph and are idempotent
    rng = np.random.default_rng(4)
    z = rng.uniform(-3, 3, (5, 7, 2))
    projected = host(pjax.relu_graph_projection(on(xp, z)))
    assert projected.shape == (5, 7, 2)
    np.testing.assert_array_equal(projected[..., 1], np.maximum(projected[..., 0], 0.0))
    np.testing.assert_allclose(host(pjax.relu_graph_projection(on(xp, projected))), projected)


def test_relu_graph_projection_rejects_bad_inputs(xp):
    with pytest.raises(
        ValueError, match=r"relu_graph_projection: points must have shape \(\.\.\., 2\), got \(3,\)"
    ):
        pjax.relu_graph_projection(on(xp, [1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="relu_graph_projection: points must be finite, got nan"):
        pjax.relu_graph_projection(on(xp, [[np.nan, 0.0]]))
    with pytest.raises(
        ValueError, match="relu_graph_projection: points must have a real floating dtype"
    ):
        pjax.relu_graph_projection(xp.asarray([[1, 2]]))
    with pytest.raises(ValueError, match="relu_graph_projection: points must be an array"):
        pjax.relu_graph_projection([[1.0, 2.0]])


# --------------------------------------------------------------------------- osd


def test_projected_step_values(xp):
    rng = np.random.default_rng(5)
    w, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    full = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    np.testing.assert_allclose(
        host(osd.projected_step(on(xp, w), on(xp, g), on(xp, full), eta=0.5)),
        w - 0.5 * g,
        atol=1e-14,
    )
    e1 = np.eye(4)[:, :1]
    stepped = host(osd.projected_step(on(xp, w), on(xp, g), on(xp, e1), eta=0.5))
    np.testing.assert_allclose(stepped[1:], w[1:])
    np.testing.assert_allclose(stepped[0], w[0] - 0.5 * g[0])
    # per-instance step sizes
    batch = rng.standard_normal((2, 4, 3))
    out = host(
        osd.projected_step(
            on(xp, batch), on(xp, batch), on(xp, np.stack([full, full])), eta=on(xp, [1.0, 0.5])
        )
    )
    np.testing.assert_allclose(out, [np.zeros((4, 3)), 0.5 * batch[1]], atol=1e-14)


def test_oja_and_principal_tangent_values(xp):
    u = np.eye(3)[:, :1]
    theta = 0.3
    p = np.array([[math.cos(theta)], [math.sin(theta)], [0.0]])
    assert host(osd.principal_tangent(on(xp, p), on(xp, u))) == pytest.approx(
        math.tan(theta), rel=1e-14
    )
    assert host(osd.principal_tangent(on(xp, np.eye(3)[:, 1:2]), on(xp, u))) == math.inf
    # G = diag(2, 1, 0): one Oja step multiplies the e1 coordinate by 1 + 4 alpha, e2 by 1 + alpha
    g = np.diag([2.0, 1.0, 0.0])
    p_new = host(osd.oja_update(on(xp, p), on(xp, g), alpha=0.5))
    ratio = (1 + 0.5) * math.sin(theta) / ((1 + 2.0) * math.cos(theta))
    assert host(osd.principal_tangent(on(xp, p_new), on(xp, u))) == pytest.approx(ratio, rel=1e-13)
    np.testing.assert_allclose(p_new.T @ p_new, [[1.0]], atol=1e-15)


def test_osd_rejects_bad_inputs(xp):
    w = on(xp, np.ones((3, 2)))
    e1 = on(xp, np.eye(3)[:, :1])
    for eta in (0, -0.5, math.nan, math.inf, True, "0.1"):
        with pytest.raises(ValueError, match="projected_step: eta must be a finite number > 0"):
            osd.projected_step(w, w, e1, eta=eta)
    with pytest.raises(ValueError, match="projected_step: eta must be > 0, has entry -1"):
        osd.projected_step(
            on(xp, np.ones((2, 3, 2))), on(xp, np.ones((2, 3, 2))), e1, eta=on(xp, [1.0, -1.0])
        )
    with pytest.raises(
        ValueError, match=r"projected_step: eta must be a number or have shape \(2,\)"
    ):
        osd.projected_step(
            on(xp, np.ones((2, 3, 2))), on(xp, np.ones((2, 3, 2))), e1, eta=on(xp, [1.0, 1.0, 1.0])
        )
    with pytest.raises(
        ValueError, match=r"projected_step: basis must have orthonormal columns, .* = 3 >"
    ):
        osd.projected_step(w, w, on(xp, [[2.0], [0.0], [0.0]]), eta=0.1)
    with pytest.raises(ValueError, match=r"projected_step: basis must have shape \(\.\.\., 3, r\)"):
        osd.projected_step(w, w, on(xp, np.eye(2)[:, :1]), eta=0.1)
    with pytest.raises(ValueError, match="projected_step: w and gradient must have the same shape"):
        osd.projected_step(w, on(xp, np.ones((3, 3))), e1, eta=0.1)
    with pytest.raises(ValueError, match="projected_step: gradient must be finite"):
        osd.projected_step(w, on(xp, [[np.nan, 0.0], [0.0, 0.0], [0.0, 0.0]]), e1, eta=0.1)
    for alpha in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="oja_update: alpha must be a finite number > 0"):
            osd.oja_update(e1, w, alpha=alpha)
    with pytest.raises(ValueError, match="oja_update: basis must have orthonormal columns"):
        osd.oja_update(on(xp, [[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]), w, alpha=0.1)
    with pytest.raises(
        ValueError,
        match="principal_tangent: basis and subspace must have the same number of columns",
    ):
        osd.principal_tangent(on(xp, np.eye(3)[:, :2]), e1)
    with pytest.raises(
        ValueError, match="principal_tangent: subspace must have orthonormal columns"
    ):
        osd.principal_tangent(e1, on(xp, [[0.5], [0.0], [0.0]]))


# --------------------------------------------------------------------------- logbarrier


def test_log_barrier_ftrl_values(xp):
    # one arm: p = 1; equal losses: uniform; otherwise the KKT root, checked with brentq
    np.testing.assert_allclose(host(logbarrier.log_barrier_ftrl(on(xp, [[3.0]]), 0.7)), [[1.0]])
    np.testing.assert_allclose(
        host(logbarrier.log_barrier_ftrl(on(xp, [2.0, 2.0, 2.0, 2.0]), 1.3)), 0.25, rtol=1e-15
    )
    losses, eta = np.array([0.0, 1.0, 5.0]), 2.0
    nu = scipy.optimize.brentq(
        lambda n: np.sum(1 / (eta * (losses + n))) - 1, -losses.min() + 1e-12, 10.0, xtol=1e-15
    )
    assert host(logbarrier.log_barrier_multiplier(on(xp, losses), eta)) == pytest.approx(
        nu, rel=1e-13
    )
    p = host(logbarrier.log_barrier_ftrl(on(xp, losses), eta))
    np.testing.assert_allclose(p, 1 / (eta * (losses + nu)), rtol=1e-13)
    assert p.sum() == pytest.approx(1.0, abs=1e-15)
    # per-instance eta; the objective at the minimiser beats a perturbed simplex point
    batch = np.array([[0.0, 1.0, 5.0], [3.0, 0.5, 0.5]])
    etas = np.array([2.0, 0.3])
    pb = host(logbarrier.log_barrier_ftrl(on(xp, batch), on(xp, etas)))
    np.testing.assert_allclose(pb[0], p, rtol=1e-13)
    shifted = pb + np.array([[0.01, -0.01, 0.0], [0.0, 0.02, -0.02]])
    f = host(logbarrier.log_barrier_objective(on(xp, pb), on(xp, batch), on(xp, etas)))
    f_shift = host(logbarrier.log_barrier_objective(on(xp, shifted), on(xp, batch), on(xp, etas)))
    assert np.all(f < f_shift)


def test_logbarrier_rejects_bad_inputs(xp):
    losses = on(xp, [1.0, 2.0])
    for eta in (0, -0.5, math.nan, math.inf, True):
        with pytest.raises(ValueError, match="log_barrier_ftrl: eta must be"):
            logbarrier.log_barrier_ftrl(losses, eta)
    with pytest.raises(
        ValueError, match="log_barrier_multiplier: eta must be a finite number > 0, got -1"
    ):
        logbarrier.log_barrier_multiplier(losses, -1.0)
    with pytest.raises(ValueError, match="log_barrier_ftrl: eta must be > 0, has entry -2"):
        logbarrier.log_barrier_ftrl(on(xp, np.ones((2, 3))), on(xp, [1.0, -2.0]))
    with pytest.raises(
        ValueError, match=r"log_barrier_ftrl: eta must be a number or have shape \(2,\)"
    ):
        logbarrier.log_barrier_ftrl(on(xp, np.ones((2, 3))), on(xp, [1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="log_barrier_ftrl: losses must be finite, got nan"):
        logbarrier.log_barrier_ftrl(on(xp, [1.0, np.nan]), 1.0)
    with pytest.raises(
        ValueError, match=r"log_barrier_ftrl: losses must have shape \(\.\.\., K\) with K >= 1"
    ):
        logbarrier.log_barrier_ftrl(on(xp, np.ones((2, 0))), 1.0)
    with pytest.raises(ValueError, match="log_barrier_objective: p must be positive, has entry 0"):
        logbarrier.log_barrier_objective(on(xp, [1.0, 0.0]), losses, 1.0)
    with pytest.raises(
        ValueError, match="log_barrier_objective: p and losses must have the same shape"
    ):
        logbarrier.log_barrier_objective(on(xp, [1.0]), losses, 1.0)
