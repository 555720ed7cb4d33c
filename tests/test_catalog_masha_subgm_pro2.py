"""The math objects of the ``masha``, ``subgm`` and ``pro2`` catalog modules.

Known values on NumPy and array-api-strict (the ``xp`` fixture of conftest) and bad input:
every public function rejects it with one ValueError naming the function and the value.
The claims themselves run through the pytest plugin (``pytest theory simulations -k masha``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import on

from theory.catalog import masha, pro2, subgm
from theorycheck import all_claims
from theorycheck.backend import to_numpy


def values(x):
    return np.asarray(to_numpy(x))


# ------------------------------------------------------------------------------ registry


def test_claims_are_registered_with_their_spec_ids():
    claims = {c.id: c for c in all_claims() if c.paper in ("masha", "subgm", "pro2")}
    expected = {
        "masha.compressor-constants": ("numeric", "theory.catalog.masha"),
        "masha.linear-rate-bilinear": ("monte-carlo", "simulations.catalog.masha"),
        "subgm.small-init-recovery": ("numeric", "theory.catalog.subgm"),
        "pro2.orthogonal-ls-directions": ("monte-carlo", "simulations.catalog.pro2"),
    }
    assert set(claims) == set(expected)
    for cid, (method, module) in expected.items():
        assert (claims[cid].method, claims[cid].module) == (method, module)
        assert claims[cid].provenance == "unconfirmed-numbering"
        assert claims[cid].controls


# ------------------------------------------------------------------------------ masha: compressors


def test_rand_k_subsets_enumerates_every_subset_once():
    masks = masha.rand_k_subsets(5, 2)
    assert masks.shape == (10, 5) and masks.dtype == bool
    assert np.all(masks.sum(axis=1) == 2)
    assert len({tuple(row) for row in masks}) == 10
    assert masha.rand_k_subsets(3, 3).tolist() == [[True, True, True]]


@pytest.mark.parametrize(
    ("d", "k", "message"),
    [
        (5, 0, r"rand_k_subsets: k must be an integer in \[1, d\] = \[1, 5\], got 0"),
        (5, 6, r"k must be an integer in \[1, d\] = \[1, 5\], got 6"),
        (0, 1, "rand_k_subsets: d must be an integer >= 1, got 0"),
        (5, True, "k must be an integer in"),
        (40, 20, r"C\(40, 20\) = \d+ subsets is too many"),
    ],
)
def test_rand_k_subsets_rejects_bad_sizes(d, k, message):
    with pytest.raises(ValueError, match=message):
        masha.rand_k_subsets(d, k)


def test_rand_k_masks_are_uniform_k_subsets():
    rng = np.random.default_rng(0)
    masks = masha.rand_k_masks(rng, (20000,), 6, 2)
    assert masks.shape == (20000, 6) and np.all(masks.sum(axis=1) == 2)
    # each coordinate is kept with probability k/d = 1/3 (SE ~ 0.0033)
    np.testing.assert_allclose(masks.mean(axis=0), 1 / 3, atol=0.02)
    with pytest.raises(ValueError, match="rand_k_masks: rng must be a numpy Generator"):
        masha.rand_k_masks(0, (3,), 6, 2)
    with pytest.raises(ValueError, match=r"rand_k_masks: k must be an integer in \[1, d\]"):
        masha.rand_k_masks(rng, (3,), 6, 7)


def test_rand_k_scales_the_kept_coordinates(xp):
    x = on(xp, [1.0, 2.0, 3.0, 4.0])
    mask = xp.asarray(np.array([True, False, True, False]))
    np.testing.assert_allclose(values(masha.rand_k(x, mask)), [2.0, 0.0, 6.0, 0.0])


def test_rand_k_rejects_bad_input(xp):
    x = on(xp, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="rand_k: x must be finite, got nan"):
        masha.rand_k(on(xp, [1.0, np.nan, 3.0]), xp.asarray(np.array([True, False, False])))
    with pytest.raises(ValueError, match="rand_k: mask must be a boolean array"):
        masha.rand_k(x, on(xp, [1.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match=r"rand_k: mask must have shape \(..., 3\)"):
        masha.rand_k(x, xp.asarray(np.array([True, False])))
    with pytest.raises(ValueError, match="the same k >= 1 coordinates, got sizes from 1 to 2"):
        masha.rand_k(
            on(xp, [[1.0, 2.0, 3.0]] * 2),
            xp.asarray(np.array([[True, False, False], [True, True, False]])),
        )
    with pytest.raises(ValueError, match="from 0 to 0"):
        masha.rand_k(x, xp.asarray(np.array([False, False, False])))


def test_top_k_keeps_the_largest_magnitudes_ties_to_lower_index(xp):
    x = on(xp, [3.0, -5.0, 1.0, 5.0])
    np.testing.assert_array_equal(values(masha.top_k(x, 2)), [0.0, -5.0, 0.0, 5.0])
    np.testing.assert_array_equal(values(masha.top_k(x, 1)), [0.0, -5.0, 0.0, 0.0])
    np.testing.assert_array_equal(values(masha.top_k(x, 4)), values(x))


def test_top_k_rejects_bad_input(xp):
    x = on(xp, [1.0, 2.0, 3.0])
    with pytest.raises(
        ValueError, match=r"top_k: k must be an integer in \[1, d\] = \[1, 3\], got 0"
    ):
        masha.top_k(x, 0)
    with pytest.raises(
        ValueError, match=r"top_k: k must be an integer in \[1, d\] = \[1, 3\], got 4"
    ):
        masha.top_k(x, 4)
    with pytest.raises(ValueError, match="top_k: x must be finite, got inf"):
        masha.top_k(on(xp, [1.0, np.inf]), 1)
    with pytest.raises(ValueError, match="top_k: x must have a real floating dtype"):
        masha.top_k(xp.asarray(np.array([1, 2, 3])), 1)


def test_compressor_constants_and_exact_moments(xp):
    assert masha.rand_k_omega(10, 2) == 4.0
    assert masha.top_k_contraction(10, 2) == pytest.approx(0.8)
    with pytest.raises(ValueError, match=r"rand_k_omega: k must be an integer in \[1, d\]"):
        masha.rand_k_omega(3, 5)
    with pytest.raises(ValueError, match="top_k_contraction: d must be an integer >= 1"):
        masha.top_k_contraction(-1, 1)
    x = on(xp, [[1.0, -2.0, 0.5, 3.0, 0.0]])
    mean, second, variance = masha.rand_k_moments(x, 2)
    norm2 = 1 + 4 + 0.25 + 9
    np.testing.assert_allclose(values(mean), values(x), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(values(second), [2.5 * norm2], rtol=1e-14)
    np.testing.assert_allclose(values(variance), [1.5 * norm2], rtol=1e-14)
    with pytest.raises(ValueError, match=r"rand_k_moments: k must be an integer in \[1, d\]"):
        masha.rand_k_moments(x, 6)


# ------------------------------------------------------------------------------ masha: MASHA1


def _problem(seed=0, workers=3, half=2, mu=0.7):
    rng = np.random.default_rng(seed)
    return masha.bilinear_saddle(
        rng.standard_normal((workers, half, half)),
        rng.standard_normal((workers, half)),
        rng.standard_normal((workers, half)),
        mu,
    )


def test_bilinear_saddle_operator_and_solution():
    jac, off = _problem()
    assert jac.shape == (3, 4, 4) and off.shape == (3, 4)
    # strongly monotone: the symmetric part of every J_m is mu I
    np.testing.assert_allclose(
        jac + np.swapaxes(jac, 1, 2), np.broadcast_to(1.4 * np.eye(4), jac.shape)
    )
    z_star = masha.saddle_solution(jac, off)
    np.testing.assert_allclose((jac @ z_star + off).mean(axis=0), 0.0, atol=1e-13)


def test_bilinear_saddle_rejects_bad_input():
    a, b = np.zeros((2, 3, 3)), np.zeros((2, 3))
    with pytest.raises(
        ValueError, match="bilinear_saddle: mu must be a positive finite number, got 0"
    ):
        masha.bilinear_saddle(a, b, b, 0.0)
    with pytest.raises(ValueError, match=r"bilinear_saddle: need couplings \(M, dx, dy\)"):
        masha.bilinear_saddle(a, np.zeros((2, 2)), b, 1.0)
    with pytest.raises(ValueError, match="bilinear_saddle: linear_x must be finite"):
        masha.bilinear_saddle(a, np.full((2, 3), np.nan), b, 1.0)
    with pytest.raises(ValueError, match=r"saddle_solution: need jacobians \(M, n, n\)"):
        masha.saddle_solution(np.zeros((2, 3)), b)


def test_worker_operators_shape_and_values(xp):
    jac, off = _problem()
    z = np.random.default_rng(1).standard_normal((5, 4))
    out = values(masha.worker_operators(on(xp, z), jac, off))
    np.testing.assert_allclose(out, np.einsum("mij,rj->rmi", jac, z) + off, rtol=1e-13)
    with pytest.raises(ValueError, match=r"worker_operators: z must have shape \(R, 4\)"):
        masha.worker_operators(on(xp, np.zeros((5, 3))), jac, off)


def test_masha1_without_compression_or_anchor_is_extragradient(xp):
    jac, off = _problem()
    gamma = 0.1
    z = np.random.default_rng(2).standard_normal((3, 4))
    state = (on(xp, z), on(xp, z), masha.worker_operators(on(xp, z), jac, off))
    masks = xp.asarray(np.ones((3, 3, 4), dtype=bool))
    refresh = xp.asarray(np.ones(3, dtype=bool))
    z_new, w_new, _ = masha.masha1_step(state, masks, refresh, jac, off, gamma, 1.0)
    big_j, big_h = jac.mean(axis=0), off.mean(axis=0)

    def field(u):
        return u @ big_j.T + big_h

    expected = z - gamma * field(z - gamma * field(z))
    np.testing.assert_allclose(values(z_new), expected, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(values(w_new), expected, rtol=1e-13, atol=1e-14)


def test_masha1_step_rejects_bad_input(xp):
    jac, off = _problem()
    z = on(xp, np.zeros((2, 4)))
    state = (z, z, masha.worker_operators(z, jac, off))
    masks = xp.asarray(np.ones((2, 3, 4), dtype=bool))
    refresh = xp.asarray(np.ones(2, dtype=bool))
    with pytest.raises(
        ValueError, match="masha1_step: gamma must be a positive finite number, got -0.1"
    ):
        masha.masha1_step(state, masks, refresh, jac, off, -0.1, 0.5)
    with pytest.raises(
        ValueError, match=r"masha1_step: p_refresh must be a probability in \[0, 1\], got 1.5"
    ):
        masha.masha1_step(state, masks, refresh, jac, off, 0.1, 1.5)
    with pytest.raises(ValueError, match=r"masha1_step: need masks \(2, 3, 4\)"):
        masha.masha1_step(state, masks[:, :2, :], refresh, jac, off, 0.1, 0.5)
    with pytest.raises(ValueError, match="masha1_step: z must be finite"):
        bad = on(xp, np.full((2, 4), np.nan))
        masha.masha1_step((bad, z, state[2]), masks, refresh, jac, off, 0.1, 0.5)


def test_masha1_parameters_follow_the_reconstructed_rule():
    jac, _ = _problem()
    gamma, p = masha.masha1_parameters(jac, 2)
    assert p == 0.5
    q = 2.0
    lipschitz = np.linalg.norm(jac.mean(axis=0), 2)
    local = np.linalg.norm(jac, 2, axis=(1, 2))
    l_hat = math.sqrt(lipschitz**2 + (q - 1) / 3 * np.mean(local**2))
    assert gamma == pytest.approx(0.5 * math.sqrt(0.5) / l_hat, rel=1e-14)
    with pytest.raises(
        ValueError, match=r"masha1_parameters: k must be an integer in \[1, d\] = \[1, 4\], got 9"
    ):
        masha.masha1_parameters(jac, 9)


def test_mean_square_curve_of_deterministic_extragradient_is_exact():
    jac, off = _problem()
    gamma = 0.1
    operator = masha.mean_square_operator(jac, off, gamma, 4, 1.0)  # k = n, always refresh
    e0 = np.array([1.0, -0.5, 0.25, 2.0])
    curve = masha.mean_square_curve(operator, e0, 5)
    big_j = jac.mean(axis=0)
    step = np.eye(4) - gamma * big_j @ (np.eye(4) - gamma * big_j)
    expected = [np.sum((np.linalg.matrix_power(step, t) @ e0) ** 2) for t in range(6)]
    np.testing.assert_allclose(curve, expected, rtol=1e-12)
    limit = masha.mean_square_limit(operator, 4)
    assert limit["rho"] == pytest.approx(np.max(np.abs(np.linalg.eigvals(step))) ** 2, rel=1e-10)
    assert limit["floor"] == 0.0


def test_mean_square_limit_detects_floors_and_non_contraction():
    jac, off = _problem()
    gamma, p = masha.masha1_parameters(jac, 2)
    naive = masha.mean_square_limit(
        masha.mean_square_operator(jac, off, gamma, 2, p, correction=False), 4
    )
    assert naive["rho"] < 1 and naive["floor"] > 1e-3
    frozen = masha.mean_square_limit(masha.mean_square_operator(jac, off, gamma, 2, 0.0), 4)
    assert frozen["rho"] > 1 - frozen["rho_tolerance"] and frozen["floor"] == math.inf


def test_mean_square_functions_reject_bad_input():
    jac, off = _problem()
    with pytest.raises(
        ValueError, match="mean_square_operator: gamma must be a positive finite number, got 0"
    ):
        masha.mean_square_operator(jac, off, 0.0, 2, 0.5)
    with pytest.raises(
        ValueError,
        match=r"mean_square_operator: k must be an integer in \[1, d\] = \[1, 4\], got 5",
    ):
        masha.mean_square_operator(jac, off, 0.1, 5, 0.5)
    operator = masha.mean_square_operator(jac, off, 0.1, 2, 0.5)
    with pytest.raises(
        ValueError, match="mean_square_curve: steps must be an integer >= 0, got -1"
    ):
        masha.mean_square_curve(operator, np.ones(4), -1)
    with pytest.raises(ValueError, match=r"mean_square_curve: need error0 \(n,\)"):
        masha.mean_square_curve(operator, np.ones(3), 2)
    with pytest.raises(ValueError, match="mean_square_limit: operator must be a finite"):
        masha.mean_square_limit(operator, 3)


# ------------------------------------------------------------------------------ subgm


def _sensing(xp, seed=0, d=4, m=30, configs=2, rank=2):
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((configs, d, rank))
    a = rng.standard_normal((m, d, d))
    y = rng.standard_normal(m)
    return on(xp, u), on(xp, a), on(xp, y), (u, a, y)


def test_sensing_residuals_and_losses(xp):
    u, a, y, (un, an, yn) = _sensing(xp)
    res = values(subgm.sensing_residuals(u, a, y))
    expected = np.einsum("mij,cij->cm", an, un @ np.swapaxes(un, 1, 2)) - yn
    np.testing.assert_allclose(res, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(values(subgm.robust_loss(u, a, y)), np.abs(expected).mean(axis=1))
    np.testing.assert_allclose(
        values(subgm.robust_loss(u, a, y, loss="l2")), (expected**2).mean(axis=1), rtol=1e-13
    )


def test_subgradient_is_the_gradient_where_the_loss_is_smooth(xp):
    u, a, y, (un, an, yn) = _sensing(xp)
    for loss in ("l1", "l2"):  # no residual is 0, so the l1 loss is differentiable here
        grad = values(subgm.subgradient(u, a, y, loss=loss))
        h = 1e-6
        direction = np.random.default_rng(3).standard_normal(un.shape)
        plus = values(subgm.robust_loss(on(xp, un + h * direction), a, y, loss=loss))
        minus = values(subgm.robust_loss(on(xp, un - h * direction), a, y, loss=loss))
        numeric = (plus - minus) / (2 * h)
        np.testing.assert_allclose(np.sum(grad * direction, axis=(1, 2)), numeric, rtol=1e-6)


def test_subgradient_method_takes_the_sub_gradient_steps(xp):
    u, a, y, (un, an, yn) = _sensing(xp)
    steps = subgm.geometric_steps(0.01, 0.5, 2)
    u_final, history = subgm.subgradient_method(u, a, y, steps)
    manual = u
    for eta in steps:
        manual = manual - float(eta) * subgm.subgradient(manual, a, y)
    np.testing.assert_allclose(values(u_final), values(manual), rtol=1e-12, atol=1e-13)
    assert history.shape == (3, 2)
    np.testing.assert_allclose(history[0], values(subgm.robust_loss(u, a, y)), rtol=1e-12)
    x_star = on(xp, np.eye(4))
    _, errors = subgm.subgradient_method(u, a, y, steps, x_star=x_star)
    np.testing.assert_allclose(
        errors[-1], values(subgm.relative_error(u_final, x_star)), rtol=1e-12
    )


def test_zero_columns_stay_zero(xp):
    u, a, y, (un, an, yn) = _sensing(xp)
    padded = np.concatenate([un, np.zeros_like(un)], axis=2)
    u_final, _ = subgm.subgradient_method(on(xp, padded), a, y, subgm.geometric_steps(0.01, 1.0, 3))
    assert np.all(values(u_final)[..., 2:] == 0.0)


def test_geometric_steps_and_relative_error(xp):
    np.testing.assert_allclose(subgm.geometric_steps(0.5, 0.5, 3), [0.5, 0.25, 0.125])
    u = on(xp, [[[1.0], [0.0]]])  # one config, UU^T = e1 e1^T
    x_star = on(xp, [[2.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(values(subgm.relative_error(u, x_star)), [0.5])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0.0, 0.5, 3), "geometric_steps: eta0 must be a positive finite number, got 0.0"),
        ((0.1, 0.0, 3), r"geometric_steps: ratio must lie in \(0, 1\], got 0.0"),
        ((0.1, 1.5, 3), r"ratio must lie in \(0, 1\], got 1.5"),
        ((0.1, 0.5, 0), "geometric_steps: steps must be an integer >= 1, got 0"),
    ],
)
def test_geometric_steps_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        subgm.geometric_steps(*args)


def test_subgm_functions_reject_bad_input(xp):
    u, a, y, (un, an, yn) = _sensing(xp)
    with pytest.raises(ValueError, match="robust_loss: loss must be one of .* got 'huber'"):
        subgm.robust_loss(u, a, y, loss="huber")
    with pytest.raises(ValueError, match="sensing_residuals: u must be finite, got nan"):
        subgm.sensing_residuals(on(xp, np.full_like(un, np.nan)), a, y)
    with pytest.raises(ValueError, match=r"sensing_residuals: y must have shape \(30,\)"):
        subgm.sensing_residuals(u, a, on(xp, yn[:5]))
    with pytest.raises(ValueError, match=r"subgradient: need a \(..., m, d, d\) and u"):
        subgm.subgradient(on(xp, np.zeros((2, 3, 2))), a, y)
    with pytest.raises(
        ValueError, match="subgradient_method: step sizes must be finite and non-negative, got -0.1"
    ):
        subgm.subgradient_method(u, a, y, np.array([0.1, -0.1]))
    with pytest.raises(ValueError, match=r"subgradient_method: step_sizes must have shape \(T,\)"):
        subgm.subgradient_method(u, a, y, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="relative_error: x_star must be non-zero"):
        subgm.relative_error(u, on(xp, np.zeros((4, 4))))
    with pytest.raises(ValueError, match=r"relative_error: need u \(..., C, d, r\) and x_star"):
        subgm.relative_error(u, on(xp, np.eye(3)))


# ------------------------------------------------------------------------------ pro2


def _regression(seed=0, n=50, dim=4):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim)) @ rng.standard_normal((dim, dim))
    y = x @ rng.standard_normal(dim) + 0.3 * rng.standard_normal(n)
    return x, y


def test_orthogonal_ls_directions_are_sequential_restricted_least_squares(xp):
    x, y = _regression()
    directions = values(pro2.orthogonal_ls_directions(on(xp, x), on(xp, y), 4))
    np.testing.assert_allclose(directions @ directions.T, np.eye(4), atol=1e-14)
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    np.testing.assert_allclose(directions[0], beta / np.linalg.norm(beta), atol=1e-12)
    # Pi_2 minimises ||X v - y|| over v orthogonal to Pi_1 (closed form via a basis)
    basis = np.linalg.svd(directions[:1])[2][1:].T
    v = basis @ np.linalg.lstsq(x @ basis, y, rcond=None)[0]
    np.testing.assert_allclose(directions[1], v / np.linalg.norm(v), atol=1e-12)
    assert np.all(directions @ (x.T @ y) > 0)


def test_principal_directions_ignore_the_labels(xp):
    x, y = _regression()
    pcs = values(pro2.principal_directions(on(xp, x), on(xp, y), 2))
    _, vectors = np.linalg.eigh(x.T @ x)
    np.testing.assert_allclose(np.abs(pcs), np.abs(vectors[:, ::-1][:, :2].T), atol=1e-12)


def test_projected_bias_and_probe_risk(xp):
    beta = np.array([1.0, 2.0, -1.0])
    eye = np.eye(3)
    bias = values(pro2.projected_bias(on(xp, eye), on(xp, eye), on(xp, beta)))
    np.testing.assert_allclose(bias, [5.0, 1.0, 0.0], atol=1e-14)
    # noiseless labels in the span of the directions: the probe is exact, excess = bias = 0
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6, 3))
    risk = values(
        pro2.probe_excess_risk(on(xp, eye), on(xp, x), on(xp, x @ beta), on(xp, eye), on(xp, beta))
    )
    np.testing.assert_allclose(risk, 0.0, atol=1e-20)
    assert pro2.expected_probe_excess(1.0, 1.0, 2, 13) == pytest.approx(1.4)
    np.testing.assert_allclose(
        pro2.expected_probe_excess(np.array([0.0, 2.0]), 0.5, 1, 4), [0.25, 3.25]
    )


def test_pro2_functions_reject_bad_input(xp):
    x, y = _regression()
    xs, ys = on(xp, x), on(xp, y)
    with pytest.raises(
        ValueError, match=r"orthogonal_ls_directions: k must be an integer in \[1, 4\], got 0"
    ):
        pro2.orthogonal_ls_directions(xs, ys, 0)
    with pytest.raises(ValueError, match=r"k must be an integer in \[1, 4\], got 5"):
        pro2.orthogonal_ls_directions(xs, ys, 5)
    with pytest.raises(ValueError, match="orthogonal_ls_directions: x must be finite, got nan"):
        pro2.orthogonal_ls_directions(on(xp, np.full((3, 2), np.nan)), on(xp, np.ones(3)), 1)
    with pytest.raises(ValueError, match=r"orthogonal_ls_directions: y must have shape \(50,\)"):
        pro2.orthogonal_ls_directions(xs, on(xp, y[:3]), 1)
    with pytest.raises(ValueError, match="direction 1 is undefined"):
        pro2.orthogonal_ls_directions(xs, on(xp, np.zeros(50)), 1)
    eye = on(xp, np.eye(2))
    with pytest.raises(ValueError, match="projected_bias: covariance must be positive definite"):
        pro2.projected_bias(eye, on(xp, [[1.0, 0.0], [0.0, -1.0]]), on(xp, [1.0, 1.0]))
    with pytest.raises(
        ValueError, match="projected_bias: covariance must be symmetric, asymmetry 0.5"
    ):
        pro2.projected_bias(eye, on(xp, [[1.0, 0.5], [0.0, 1.0]]), on(xp, [1.0, 1.0]))
    with pytest.raises(
        ValueError, match=r"projected_bias: need covariance \(2, 2\) and beta \(2,\)"
    ):
        pro2.projected_bias(eye, eye, on(xp, [1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="probe_excess_risk: need n > k samples, got n = 2, k = 2"):
        pro2.probe_excess_risk(
            eye, on(xp, np.ones((3, 2, 2))), on(xp, np.ones((3, 2))), eye, on(xp, [1.0, 1.0])
        )
    with pytest.raises(
        ValueError, match=r"expected_probe_excess: n must be an integer > k \+ 1 = 3, got 3"
    ):
        pro2.expected_probe_excess(1.0, 1.0, 2, 3)
    with pytest.raises(
        ValueError, match="expected_probe_excess: bias must be finite and non-negative"
    ):
        pro2.expected_probe_excess(-1.0, 1.0, 2, 10)
    with pytest.raises(
        ValueError, match="expected_probe_excess: noise_variance must be a non-negative number"
    ):
        pro2.expected_probe_excess(1.0, -1.0, 2, 10)
