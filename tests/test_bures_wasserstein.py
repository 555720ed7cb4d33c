r"""Tests of the Bures-Wasserstein math objects (``theory.bures_wasserstein``), not of the claims.

Bréchet et al., ICML 2023. Every function runs on each backend of the ``xp``
fixture (NumPy and array-api-strict) against an independent reference (SciPy's
``sqrtm``, finite differences) and, where installed, against POT
(``ot.gaussian``, the peer of spec ``bw.pot``; optional: those tests skip without
it). Bad input must raise a ``ValueError`` naming the value; near-singular input
must give finite answers (POT's NumPy path gives NaN there).

Tolerances: float64, u = 1.1e-16. The trace formula, POT's double square root and
ours are backward stable to about :math:`nu(\mathrm{tr}\,C_s+\mathrm{tr}\,C_t)` per
eigendecomposition, amplified by the condition number (<= 1e3 here); the spec's
``bw.pot`` tolerance 1e-9 (tr Cs + tr Ct) covers that with room.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

import theory.bures_wasserstein as bw
from theory.bures_wasserstein.matrices import PSD_RTOL
from theory.bures_wasserstein.references import random_orthogonal, random_spd, symmetric
from theorycheck.backend import namespace, to_numpy

POT_RTOL = 1e-9  # the spec's bw.pot tolerance, times (tr Cs + tr Ct)


@pytest.fixture(scope="module", params=["numpy", "array-api-strict"])
def xp(request):
    """The array namespace of a backend; every test using it runs on each."""
    return namespace(request.param)


def on(xp, *arrays):
    moved = tuple(xp.asarray(np.asarray(a, dtype=np.float64)) for a in arrays)
    return moved[0] if len(moved) == 1 else moved


def back(x) -> np.ndarray:
    return np.asarray(to_numpy(x))


def assert_within(actual, expected, tolerance) -> None:
    """|actual - expected| <= tolerance elementwise (tolerance may be an array)."""
    error = np.abs(np.asarray(actual) - np.asarray(expected))
    assert np.all(error <= tolerance), (
        f"max error {error.max():.3g}, excess {(error - tolerance).max():.3g}"
    )


def scipy_bures(a: np.ndarray, b: np.ndarray) -> float:
    root = np.real(scipy.linalg.sqrtm(b))
    return float(
        np.trace(a) + np.trace(b) - 2 * np.trace(np.real(scipy.linalg.sqrtm(root @ a @ root)))
    )


def near_singular_pairs(rng: np.random.Generator, count: int = 8, n: int = 6):
    """Rank-deficient covariances W W^T (W of n-2 columns) perturbed by -1e-17 I: PSD to
    round-off, with eigenvalues slightly below zero, as products computed in float64 are."""
    w = rng.standard_normal((count, n, n - 2))
    source = symmetric(w @ np.swapaxes(w, -1, -2)) - 1e-17 * np.eye(n)
    target = random_spd(rng, count, n)
    return source, target


# --------------------------------------------------------------------------- distance


def test_distance_matches_scipy_on_every_backend(xp):
    rng = np.random.default_rng(0)
    a, b = random_spd(rng, 12, 4), random_spd(rng, 12, 4)
    ours = back(bw.bures_wasserstein_squared(*on(xp, a, b)))
    reference = np.array([scipy_bures(x, y) for x, y in zip(a, b, strict=True)])
    scale = 1 + np.trace(a, axis1=1, axis2=2) + np.trace(b, axis1=1, axis2=2)
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-10 * scale.max())
    np.testing.assert_allclose(
        back(bw.bures_distance(*on(xp, a, b))), np.sqrt(np.clip(reference, 0, None)), atol=1e-7
    )


def test_distance_broadcasts_batch_axes(xp):
    rng = np.random.default_rng(1)
    a = random_spd(rng, 6, 3).reshape(2, 3, 3, 3)
    b = random_spd(rng, 1, 3)[0]
    ours = back(bw.bures_wasserstein_squared(*on(xp, a, b)))
    assert ours.shape == (2, 3)
    expected = np.array([[scipy_bures(x, b) for x in row] for row in a])
    np.testing.assert_allclose(ours, expected, atol=1e-10 * (1 + np.trace(b) + 30))


def test_forms_agree(xp):
    rng = np.random.default_rng(2)
    a, b = random_spd(rng, 8, 3), random_spd(rng, 8, 3)
    value = back(bw.bures_wasserstein_squared(*on(xp, a, b)))
    procrustes, rotation = bw.bures_procrustes(*on(xp, a, b))
    np.testing.assert_allclose(back(procrustes), value, atol=1e-10 * 100)
    o = back(rotation)
    np.testing.assert_allclose(
        o @ np.swapaxes(o, -1, -2), np.broadcast_to(np.eye(3), o.shape), atol=1e-12
    )
    w = rng.standard_normal((8, 3, 5))
    nuclear = back(bw.bures_loss(*on(xp, w, b)))
    direct = back(bw.bures_wasserstein_squared(*on(xp, w @ np.swapaxes(w, -1, -2), b)))
    np.testing.assert_allclose(nuclear, direct, atol=1e-9)


def test_commuting_formula_exact_only_for_commuting_pairs(xp):
    rng = np.random.default_rng(3)
    q = random_orthogonal(rng, 4, 3)
    a = symmetric((q * rng.uniform(0.1, 5, (4, 1, 3))) @ np.swapaxes(q, -1, -2))
    b = symmetric((q * rng.uniform(0.1, 5, (4, 1, 3))) @ np.swapaxes(q, -1, -2))
    exact = back(bw.bures_wasserstein_squared(*on(xp, a, b)))
    np.testing.assert_allclose(back(bw.bures_commuting_formula(*on(xp, a, b))), exact, atol=1e-10)
    c = random_spd(rng, 4, 3)
    gap = np.abs(
        back(bw.bures_commuting_formula(*on(xp, c, b)))
        - back(bw.bures_wasserstein_squared(*on(xp, c, b)))
    )
    assert gap.max() > 1e-3


def test_transport_map_pushes_forward(xp):
    rng = np.random.default_rng(4)
    a, b = random_spd(rng, 6, 4), random_spd(rng, 6, 4)
    t = back(bw.transport_map(*on(xp, a, b)))
    np.testing.assert_allclose(t, np.swapaxes(t, -1, -2), atol=1e-12)
    np.testing.assert_allclose(t @ a @ t, b, atol=1e-10)
    np.testing.assert_allclose(back(bw.transport_map_target_form(*on(xp, a, b))), t, atol=1e-10)
    cost = back(bw.transport_cost(*on(xp, a, t)))
    np.testing.assert_allclose(cost, back(bw.bures_wasserstein_squared(*on(xp, a, b))), atol=1e-9)


def test_near_singular_inputs_give_finite_answers(xp):
    rng = np.random.default_rng(5)
    source, target = near_singular_pairs(rng)
    assert np.linalg.eigvalsh(source).min() < 0  # round-off below zero, as in practice
    for value in (
        bw.bures_wasserstein_squared(*on(xp, source, target)),
        bw.bures_wasserstein_squared(*on(xp, target, source)),
        bw.bures_distance(*on(xp, source, source)),
        bw.bures_procrustes(*on(xp, source, target))[0],
    ):
        assert np.all(np.isfinite(back(value)))
    np.testing.assert_allclose(
        back(bw.bures_wasserstein_squared(*on(xp, source, source))), 0.0, atol=1e-6
    )
    zero, other = np.zeros((2, 3, 3)), random_spd(rng, 2, 3)
    np.testing.assert_allclose(  # B^2(0, S) = tr S
        back(bw.bures_wasserstein_squared(*on(xp, zero, other))),
        np.trace(other, axis1=1, axis2=2),
        atol=1e-12,
    )


# --------------------------------------------------------------------------- gradients


def central(f, x, d, h=1e-6):
    return (f(x + h * d) - f(x - h * d)) / (2 * h)


def test_gradients_against_finite_differences(xp):
    rng = np.random.default_rng(6)
    target = random_spd(rng, 1, 4)[0]
    w = rng.standard_normal((4, 3))
    d = rng.standard_normal((4, 3))
    loss = lambda x: float(back(bw.bures_loss(*on(xp, x, target))))  # noqa: E731
    grad = back(bw.bures_loss_gradient(*on(xp, w, target)))
    assert abs(central(loss, w, d) - np.sum(grad * d)) < 1e-7
    tau = 0.2
    perturbed = lambda x: float(back(bw.perturbed_bures_loss(*on(xp, x, target), tau)))  # noqa: E731
    grad = back(bw.perturbed_bures_gradient(*on(xp, w, target), tau))
    assert abs(central(perturbed, w, d) - np.sum(grad * d)) < 1e-7
    hvp = back(bw.perturbed_bures_hvp(*on(xp, w, d, target), tau))
    fd = central(lambda x: back(bw.perturbed_bures_gradient(*on(xp, x, target), tau)), w, d)
    np.testing.assert_allclose(hvp, fd, atol=1e-6)
    frob = lambda x: float(back(bw.frobenius_loss(*on(xp, x, target))))  # noqa: E731
    assert (
        abs(central(frob, w, d) - np.sum(back(bw.frobenius_gradient(*on(xp, w, target))) * d))
        < 1e-6
    )


def test_sigma_gradient_and_hessian(xp):
    rng = np.random.default_rng(7)
    a, b = random_spd(rng, 1, 3)[0], random_spd(rng, 1, 3)[0]
    h = symmetric(rng.standard_normal((3, 3)))
    f = lambda x: float(back(bw.bures_wasserstein_squared(*on(xp, x, b))))  # noqa: E731
    g = back(bw.bures_gradient_sigma(*on(xp, a, b)))
    assert abs(central(f, a, h) - np.sum(g * h)) < 1e-7
    hessian = back(bw.sigma_hessian(*on(xp, a, b)))
    assert hessian.shape == (6, 6)
    assert np.linalg.eigvalsh(hessian).min() > 0  # B^2 is convex in Sigma


def test_layers_and_balance(xp):
    rng = np.random.default_rng(8)
    w = rng.standard_normal((2, 4, 2)) @ rng.standard_normal((2, 2, 3))
    layers = bw.balanced_layers(on(xp, w), 3, 2)
    assert [tuple(x.shape) for x in layers] == [(2, 2, 3), (2, 2, 2), (2, 4, 2)]
    np.testing.assert_allclose(back(bw.end_to_end(layers)), w, atol=1e-12)
    assert back(bw.balancedness_defect(layers)).max() < 1e-12


def test_descent_freezes_diverging_replicates(xp):
    rng = np.random.default_rng(9)
    target = random_spd(rng, 1, 3)[0]
    objective = bw.PerturbedBuresObjective(on(xp, target), 0.1)
    layers = bw.balanced_layers(on(xp, rng.standard_normal((2, 3, 3))), 2, 3)
    run = bw.layer_gradient_descent(
        layers, objective, on(xp, np.array([1e-2, 50.0])), 30, stop_above=1e4
    )
    loss = back(run.loss)
    assert np.all(np.isfinite(loss))
    assert loss[-1, 0] < loss[0, 0] and loss[:, 1].max() > 1e4


# --------------------------------------------------------------------------- bad input


def test_rejects_non_symmetric(xp):
    a = np.array([[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match="sigma must be symmetric.*max\\|S - S\\^T\\| = 0.5"):
        bw.bures_wasserstein_squared(*on(xp, a, np.eye(2)))


def test_accepts_asymmetry_within_tolerance(xp):
    a = np.array([[1.0, 0.5], [0.5 + 1e-13, 1.0]])
    assert np.isfinite(back(bw.bures_wasserstein_squared(*on(xp, a, np.eye(2)))))


def test_rejects_non_psd(xp):
    a = np.diag([1.0, -0.5])
    with pytest.raises(ValueError, match="sigma must be positive semi-definite.*-0.5"):
        bw.bures_wasserstein_squared(*on(xp, a, np.eye(2)))
    with pytest.raises(ValueError, match="sigma_target must be positive semi-definite.*-0.5"):
        bw.bures_wasserstein_squared(*on(xp, np.eye(2), a))
    tiny = np.diag([1.0, -0.5 * PSD_RTOL])  # within the stated tolerance: accepted
    assert np.isfinite(back(bw.bures_wasserstein_squared(*on(xp, np.eye(2), tiny))))


def test_rejects_mismatched_and_malformed(xp):
    with pytest.raises(ValueError, match="mismatched dimensions.*\\(2, 2\\) and \\(3, 3\\)"):
        bw.bures_wasserstein_squared(*on(xp, np.eye(2), np.eye(3)))
    with pytest.raises(ValueError, match="square matrices.*\\(2, 3\\)"):
        bw.bures_wasserstein_squared(*on(xp, np.ones((2, 3)), np.eye(3)))
    with pytest.raises(ValueError, match="do not broadcast"):
        bw.bures_wasserstein_squared(*on(xp, np.stack([np.eye(2)] * 3), np.stack([np.eye(2)] * 2)))
    with pytest.raises(ValueError, match="must be finite, got nan"):
        bw.bures_wasserstein_squared(*on(xp, np.array([[np.nan, 0], [0, 1.0]]), np.eye(2)))
    with pytest.raises(ValueError, match="real floating dtype"):
        bw.bures_wasserstein_squared(xp.asarray([[1, 0], [0, 1]]), on(xp, np.eye(2)))
    with pytest.raises(ValueError, match="must be an array"):
        bw.bures_wasserstein_squared([[1.0, 0.0], [0.0, 1.0]], on(xp, np.eye(2)))
    with pytest.raises(ValueError, match="weights and sigma_target have mismatched dimensions"):
        bw.bures_loss(*on(xp, np.ones((3, 2)), np.eye(2)))


def test_rejects_singular_source_for_transport_map(xp):
    with pytest.raises(ValueError, match="sigma must be positive definite.*eigenvalue 0"):
        bw.transport_map(*on(xp, np.diag([1.0, 0.0]), np.eye(2)))
    with pytest.raises(ValueError, match="not differentiable|full rank 2"):
        bw.bures_loss_gradient(*on(xp, np.array([[1.0, 2.0], [2.0, 4.0]]), np.eye(2)))


def test_rejects_rank_bounds_out_of_range(xp):
    target = random_spd(np.random.default_rng(10), 1, 3)[0]
    with pytest.raises(ValueError, match="bottleneck must lie in \\[1, 3\\], got 0"):
        bw.bounded_rank_optimum(on(xp, target), 0)
    with pytest.raises(ValueError, match="bottleneck must lie in \\[1, 3\\], got 4"):
        bw.bounded_rank_optimum(on(xp, target), 4)
    with pytest.raises(ValueError, match="rank must lie in \\[1, 2\\], got 3"):
        bw.bures_riemannian_gradient(*on(xp, np.ones((3, 2)), target), 3)
    with pytest.raises(ValueError, match="width must lie in \\[1, 2\\], got 5"):
        bw.balanced_layers(on(xp, np.ones((3, 2))), 2, 5)
    with pytest.raises(ValueError, match="depth must lie in \\[1, 64\\], got 0"):
        bw.balanced_layers(on(xp, np.ones((3, 2))), 0, 1)
    lam, omega = bw.target_eigensystem(on(xp, target))
    with pytest.raises(
        ValueError, match="rank r = \\|J\\| = 2.*columns of right_factor \\(3, 1\\)"
    ):
        bw.critical_point(lam, omega, (0, 1), on(xp, np.ones((3, 1))))
    with pytest.raises(ValueError, match="subset index must lie in \\[0, 2\\], got 7"):
        bw.critical_point(lam, omega, (7,), on(xp, np.ones((3, 1))))
    with pytest.raises(ValueError, match="repeated"):
        bw.critical_value(lam, (1, 1))


def test_rejects_bad_tau(xp):
    target = random_spd(np.random.default_rng(11), 1, 3)[0]
    for tau in (0.0, -1.0, float("nan"), "0.1"):
        with pytest.raises(ValueError, match="tau must be a positive real number"):
            bw.perturbed_bures_loss(*on(xp, np.ones((3, 2)), target), tau)
    top = float(np.linalg.eigvalsh(target)[-2])  # lambda_2 for k = 2
    with pytest.raises(ValueError, match="must be below lambda_k"):
        bw.bounded_rank_optimum(on(xp, target), 2, top * 1.01)


def test_rejects_bad_layers(xp):
    with pytest.raises(
        ValueError, match="layer W_2 \\(2, 4\\) does not compose with W_1 \\(3, 2\\)"
    ):
        bw.end_to_end([on(xp, np.ones((3, 2))), on(xp, np.ones((2, 4)))])
    with pytest.raises(ValueError, match="non-empty sequence"):
        bw.end_to_end([])


# --------------------------------------------------------------------------- POT (peer, bw.pot)


def test_pot_bures_distance_agrees_where_finite(xp):
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(12)
    cs, ct = random_spd(rng, 20, 5), random_spd(rng, 20, 5)
    theirs = np.asarray(ot.gaussian.bures_distance(cs, ct, paired=True))
    ours = back(bw.bures_wasserstein_squared(*on(xp, cs, ct)))
    scale = np.trace(cs, axis1=1, axis2=2) + np.trace(ct, axis1=1, axis2=2)
    # bw.pot: POT returns B, not B^2
    assert_within(ours, theirs**2, POT_RTOL * scale)
    crossed = np.asarray(ot.gaussian.bures_distance(cs[:4], ct[:3]))
    np.testing.assert_allclose(
        back(bw.bures_distance(*on(xp, cs[:4, None], ct[None, :3]))), crossed, atol=1e-7
    )
    zeros = np.zeros((20, 5))
    full = np.asarray(ot.gaussian.bures_wasserstein_distance(zeros, zeros, cs, ct, paired=True))
    assert_within(ours, full**2, POT_RTOL * scale)


def test_pot_control_unsquared_comparison_fails():
    """Negative control of bw.pot: comparing our B^2 with POT's B (not squared) must fail."""
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(13)
    cs, ct = random_spd(rng, 20, 5), random_spd(rng, 20, 5)
    theirs = np.asarray(ot.gaussian.bures_distance(cs, ct, paired=True))
    ours = np.asarray(bw.bures_wasserstein_squared(cs, ct))
    scale = np.trace(cs, axis1=1, axis2=2) + np.trace(ct, axis1=1, axis2=2)
    assert np.max(np.abs(ours - theirs) - POT_RTOL * scale) > 0


def test_pot_mapping_matches_transport_map(xp):
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(14)
    cs, ct = random_spd(rng, 1, 4)[0], random_spd(rng, 1, 4)[0]
    a, b = ot.gaussian.bures_wasserstein_mapping(np.zeros(4), np.zeros(4), cs, ct)
    np.testing.assert_allclose(back(bw.transport_map(*on(xp, cs, ct))), a, atol=1e-9)
    np.testing.assert_allclose(b, 0.0, atol=0)


def test_pot_gives_nan_on_near_singular_inputs_where_we_do_not(xp):
    """Pitfall 1: POT's NumPy ``sqrtm`` takes the square root of negative round-off
    eigenvalues. With the near-singular matrix as target it returns NaN; as source
    the NaN of its first square root makes the next eigensolver raise. Our clamped
    eigenvalues keep every answer finite, and agree with POT where POT is finite."""
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(15)
    singular, regular = near_singular_pairs(rng)
    with np.errstate(invalid="ignore"):
        theirs = np.asarray(ot.gaussian.bures_distance(regular, singular, paired=True))
        with pytest.raises(np.linalg.LinAlgError):
            ot.gaussian.bures_distance(singular, regular, paired=True)
    ours = back(bw.bures_distance(*on(xp, regular, singular)))
    ours_swapped = back(bw.bures_distance(*on(xp, singular, regular)))
    assert np.isnan(theirs).any()
    assert np.isfinite(ours).all() and np.isfinite(ours_swapped).all()
    finite = np.isfinite(theirs)
    assert finite.any()
    # B near a singular matrix carries the sqrt(u) effect of the square root: 1e-6 absolute
    np.testing.assert_allclose(ours[finite], theirs[finite], atol=1e-6)
    np.testing.assert_allclose(ours, ours_swapped, atol=1e-6)


# --------------------------------------------------------------------------- dynamics


def test_dynamics_reject_bad_parameters(xp):
    target = random_spd(np.random.default_rng(16), 1, 3)[0]
    objective = bw.PerturbedBuresObjective(on(xp, target), 0.1)
    layers = [on(xp, np.eye(3))]
    with pytest.raises(ValueError, match="dt must be a positive real number, got -0.1"):
        bw.layer_gradient_flow(layers, objective, -0.1, 10)
    with pytest.raises(ValueError, match="steps must lie in"):
        bw.layer_gradient_flow(layers, objective, 0.1, 0)
    with pytest.raises(ValueError, match="step_size must be a positive real number, got 0.0"):
        bw.layer_gradient_descent(layers, objective, 0.0, 10)
    with pytest.raises(ValueError, match="tau must be positive"):
        bw.PerturbedBuresObjective(on(xp, target), on(xp, np.array([0.1, -0.2])))
    with pytest.raises(ValueError, match="sigma_target must be positive definite"):
        bw.PerturbedBuresObjective(on(xp, np.diag([1.0, 0.0])), 0.1)


def test_init_close_has_a_positive_margin():
    rng = np.random.default_rng(17)
    lam = -np.sort(-rng.uniform(1, 4, (6, 3)), axis=1)
    omega = random_orthogonal(rng, 6, 3)
    tau = 0.3 * lam[:, -1]
    w0, scale, margin = bw.init_close(rng, lam, omega, tau)
    assert w0.shape == (6, 3, 3) and np.all(margin > 0) and np.all(scale <= 0.95)
    sigma0 = (omega * lam[:, None, :]) @ np.swapaxes(omega, -1, -2)
    loss = np.asarray(bw.perturbed_bures_loss(w0, symmetric(sigma0), 0.3 * lam[0, -1]))
    assert loss.shape == (6,)
    with pytest.raises(ValueError, match="tau must lie in \\(0, lambda_n\\)"):
        bw.init_close(rng, lam, omega, lam[:, -1])


def test_flow_preserves_balancedness_and_matches_end_to_end(xp):
    """Arora et al. (2018): balanced layers follow the end-to-end equation (one Euler-free
    check: the RK4 layer velocity at t = 0 equals the end-to-end velocity)."""
    rng = np.random.default_rng(18)
    target = random_spd(rng, 1, 3)[0]
    objective = bw.PerturbedBuresObjective(on(xp, target), 0.2)
    w = rng.standard_normal((3, 3))
    layers = bw.balanced_layers(on(xp, w), 3, 3)
    gradient = objective.gradient(on(xp, w))
    grads = bw.layer_gradients(layers, gradient)
    h = 1e-7  # velocity of the product by a forward step of every layer
    moved = bw.end_to_end([x - h * g for x, g in zip(layers, grads, strict=True)])
    velocity = (back(moved) - w) / h
    expected = back(bw.end_to_end_velocity(on(xp, w), gradient, 3))
    np.testing.assert_allclose(velocity, expected, atol=1e-5 * np.abs(expected).max())


def test_deep_linear_loss_is_the_loss_of_the_product(xp):
    rng = np.random.default_rng(19)
    target = random_spd(rng, 1, 4)[0]
    w = rng.standard_normal((4, 2)) @ rng.standard_normal((2, 3))
    layers = bw.balanced_layers(on(xp, w), 3, 2)
    exact = back(bw.bures_loss(*on(xp, w, target)))
    np.testing.assert_allclose(back(bw.deep_linear_loss(layers, on(xp, target))), exact, atol=1e-12)
    perturbed = back(bw.perturbed_bures_loss(*on(xp, w, target), 0.1))
    np.testing.assert_allclose(
        back(bw.deep_linear_loss(layers, on(xp, target), 0.1)), perturbed, atol=1e-12
    )
