r"""Tests of the sparsemax math objects (``theory.sparsemax``), not of the claims.

Martins & Astudillo, *From Softmax to Sparsemax*, ICML 2016. Every function is
checked on each backend of the ``xp`` fixture (NumPy and array-api-strict, in the
style of POT's ``nx`` fixture) against an independent reference written here in
plain NumPy/SciPy (Michelot's pruning algorithm for the threshold, which never
sorts), and the two backends against each other; bad input must raise a
``ValueError`` that names the problem; hypothesis searches the properties of
Proposition 2 and 3 with tolerances derived from float64 rounding (below); the
golden values are those of ``shared/claims/sparsemax.md``.

Rounding model used by the property tolerances
----------------------------------------------
``U = 2**-53`` is the unit roundoff (``eps = 2U``), ``K`` the number of classes,
``M = max|z|``, ``k <= K`` the support size. Algorithm 1 sorts (exact), takes the
sequential cumulative sum :math:`\hat S_k` of the top k scores, then
:math:`\hat\tau = fl(fl(\hat S_k - 1)/k)` and :math:`\hat p_j = [fl(z_j - \hat\tau)]_+`.

- The cumulative sum commits one rounding per partial sum, each of magnitude at
  most :math:`iM`: :math:`|\hat S_k - S_k| \le U M \sum_{i\le k} i \le U M k(k+1)/2`.
- Hence :math:`|\hat\tau-\tau| \le U M (k+1)/2 + 2U(M+1)` (the two last roundings act
  on :math:`|\tau| \le M + 1`, since :math:`\tau \in [z_{(1)}-1, z_{(1)})`).
- One subtraction adds :math:`U(2M+1)`; clipping is 1-Lipschitz, so each
  coordinate errs by at most :math:`U(M+1)((k+1)/2 + 4)`.
- The sum telescopes: :math:`\sum_S \hat p_j - 1` is the cumulative-sum error plus
  the roundings of the k subtractions and of the division,
  :math:`\le U(M+1)(k(k+1)/2 + 4k)`, and the test's own float sum adds
  :math:`(K-1)U` (the coordinates sum to about 1).

A support test decided the wrong way by rounding concerns an index with
:math:`z_{(k)}` within that error of :math:`\tau`; it moves :math:`\hat\tau` by no more
than the same order. We allow a factor 2 for it, which gives the bounds of
:func:`coordinate_tolerance` and :func:`sum_tolerance`.
"""

from __future__ import annotations

import math
import pathlib
import re

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import theory.sparsemax as sm
from theorycheck.backend import namespace, to_numpy

U = 2.0**-53  # unit roundoff of float64
EPS = float(np.finfo(np.float64).eps)  # 2U
AGREE = 1e-12  # backends and references agree to this, on O(1) scores
SCORE_BOUND = 1e3  # hypothesis scores lie in [-SCORE_BOUND, SCORE_BOUND]
MAX_K = 30


# ---------------------------------------------------------------------------
# backends (POT-style fixture) and conversions
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["numpy", "array-api-strict"])
def xp(request):
    """The array namespace of a backend; every test using it runs on each."""
    return namespace(request.param)


def on(xp, *arrays):
    """Copy NumPy arrays onto the backend ``xp``."""
    moved = tuple(xp.asarray(np.asarray(a, dtype=np.float64)) for a in arrays)
    return moved[0] if len(moved) == 1 else moved


def back(x):
    """A backend array as NumPy (booleans stay booleans)."""
    return np.asarray(to_numpy(x))


# ---------------------------------------------------------------------------
# tolerances (derivation in the module docstring)
# ---------------------------------------------------------------------------


def coordinate_tolerance(num_classes: int, magnitude: float) -> float:
    """Bound on :math:`|\\hat p_j - p_j|` for scores with ``max|z| <= magnitude``."""
    return U * (1.0 + magnitude) * (num_classes + 9)


def sum_tolerance(num_classes: int, magnitude: float) -> float:
    """Bound on :math:`|\\sum_j \\hat p_j - 1|`, including the test's own summation."""
    k = num_classes
    return U * (1.0 + magnitude) * (k * (k + 1) + 8 * k) + (k - 1) * U


def loss_tolerance(num_classes: int, magnitude: float) -> float:
    r"""Bound on the rounding of :func:`sparsemax_loss` for ``max|z| <= magnitude``.

    The loss is evaluated at the shifted scores :math:`s = z - \max z` (exactly a valid
    input, so :math:`L(s;q) \ge 0` holds for it exactly), with :math:`|s| \le 2M`. Its value
    :math:`f(p) = p^\top s - \|p\|^2/2` is stationary on the simplex at
    :math:`p^\star`, with slope :math:`\tau(s) \in [-1, 0)` along :math:`\mathbf 1`, so an
    error :math:`e` in p moves it by :math:`|\tau|\,|\mathbf 1^\top e| + O(|e|^2)`, at most
    the sum tolerance at 2M; the three float sums of K terms bounded by
    :math:`2\cdot 2M`, 1 and 1 add :math:`(K+2)U(4M+2)` each at most.
    """
    return sum_tolerance(num_classes, 2 * magnitude) + 3 * (num_classes + 2) * U * (
        4 * magnitude + 2
    )


# ---------------------------------------------------------------------------
# independent references, plain NumPy on (..., K) arrays
# ---------------------------------------------------------------------------


def michelot_threshold(z: np.ndarray) -> np.ndarray:
    r"""τ(z) by Michelot's pruning (no sort): drop :math:`z_j \le \tau`, recompute, repeat.

    τ increases at every step and stops at the root of :math:`\sum_j [z_j-\tau]_+ = 1`
    after at most K steps.
    """
    active = np.ones(z.shape, dtype=bool)
    for _ in range(z.shape[-1] + 1):
        count = active.sum(axis=-1, keepdims=True)
        tau = (np.where(active, z, 0.0).sum(axis=-1, keepdims=True) - 1.0) / count
        pruned = active & (z > tau)
        if np.array_equal(pruned, active):
            return tau[..., 0]
        active = pruned
    raise AssertionError("Michelot's algorithm did not converge")  # pragma: no cover


def reference_sparsemax(z: np.ndarray) -> np.ndarray:
    return np.maximum(z - michelot_threshold(z)[..., None], 0.0)


def reference_jacobian(z: np.ndarray) -> np.ndarray:
    """Diag(s) - s s^T / |S|, built entry by entry, row by row."""
    support = z > michelot_threshold(z)[..., None]
    flat = support.reshape(-1, z.shape[-1])
    out = np.zeros((flat.shape[0], z.shape[-1], z.shape[-1]))
    for row, s in enumerate(flat):
        size = int(s.sum())
        for i in range(z.shape[-1]):
            for j in range(z.shape[-1]):
                if s[i] and s[j]:
                    out[row, i, j] = (1.0 if i == j else 0.0) - 1.0 / size
    return out.reshape(z.shape + (z.shape[-1],))


def reference_sparsemax_loss(z: np.ndarray, q: np.ndarray) -> np.ndarray:
    r"""The paper's form :math:`-q^\top z + \frac12\sum_{S}(z_j^2-\tau^2) + \frac12\|q\|^2`."""
    tau = michelot_threshold(z)[..., None]
    support = z > tau
    return (
        -np.sum(q * z, axis=-1)
        + 0.5 * np.sum(np.where(support, z**2 - tau**2, 0.0), axis=-1)
        + 0.5 * np.sum(q * q, axis=-1)
    )


def reference_softmax_loss(z: np.ndarray, q: np.ndarray) -> np.ndarray:
    r""":math:`\sum_j q_j\log q_j - q^\top z + \log\sum_j e^{z_j}` (KL to softmax)."""
    return (
        np.sum(scipy.special.xlogy(q, q), axis=-1)
        - np.sum(q * z, axis=-1)
        + scipy.special.logsumexp(z, axis=-1)
    )


# ---------------------------------------------------------------------------
# random batches
# ---------------------------------------------------------------------------

BATCH_SHAPES = [(1,), (2,), (7,), (4, 1), (3, 5), (2, 3, 11), (2, 2, 50)]


def random_scores(shape, seed, scale=3.0):
    return scale * np.random.default_rng(seed).standard_normal(shape)


def random_targets(shape, seed):
    """Rows on the simplex: a few sparse (one-hot, two-label) and dense Dirichlet."""
    rng = np.random.default_rng(seed)
    q = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    flat = q.reshape(-1, shape[-1])
    if flat.shape[0] >= 2:
        flat[0] = 0.0
        flat[0, rng.integers(shape[-1])] = 1.0
        if shape[-1] >= 2:
            flat[1] = 0.0
            flat[1, :2] = 0.5
    return flat.reshape(shape)


# ---------------------------------------------------------------------------
# (a) each backend against the references, and the backends against each other
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", BATCH_SHAPES, ids=str)
def test_projection_matches_references_and_numpy(xp, shape):
    z = random_scores(shape, seed=sum(shape))
    ref_tau = michelot_threshold(z)
    ref_p = np.maximum(z - ref_tau[..., None], 0.0)
    z_xp = on(xp, z)

    p = back(sm.sparsemax(z_xp))
    tau = back(sm.sparsemax_threshold(z_xp))
    support = back(sm.sparsemax_support(z_xp))
    soft = back(sm.softmax(z_xp))

    assert p.shape == shape and tau.shape == shape[:-1] and support.dtype == np.bool_
    np.testing.assert_allclose(p, ref_p, rtol=0, atol=AGREE)
    np.testing.assert_allclose(tau, ref_tau, rtol=0, atol=AGREE)
    np.testing.assert_array_equal(support, z > ref_tau[..., None])
    np.testing.assert_array_equal(support, p > 0)
    np.testing.assert_allclose(soft, scipy.special.softmax(z, axis=-1), rtol=0, atol=AGREE)
    # and the same numbers as the NumPy backend (a no-op comparison on NumPy itself)
    np.testing.assert_allclose(p, sm.sparsemax(z), rtol=0, atol=AGREE)
    np.testing.assert_allclose(tau, sm.sparsemax_threshold(z), rtol=0, atol=AGREE)
    np.testing.assert_allclose(soft, sm.softmax(z), rtol=0, atol=AGREE)


@pytest.mark.parametrize("axis", [0, 1, -2, 2, -1])
def test_axis_argument_moves_the_class_axis(xp, axis):
    z = random_scores((6, 4, 5), seed=11 + axis)
    z_last = np.moveaxis(z, axis, -1)
    ref_tau = michelot_threshold(z_last)
    ref_p = np.moveaxis(np.maximum(z_last - ref_tau[..., None], 0.0), -1, axis)
    z_xp = on(xp, z)

    p = back(sm.sparsemax(z_xp, axis=axis))
    assert p.shape == z.shape
    np.testing.assert_allclose(p, ref_p, rtol=0, atol=AGREE)
    np.testing.assert_allclose(p.sum(axis=axis), 1.0, rtol=0, atol=AGREE)
    np.testing.assert_allclose(
        back(sm.sparsemax_threshold(z_xp, axis=axis)), ref_tau, rtol=0, atol=AGREE
    )
    np.testing.assert_array_equal(back(sm.sparsemax_support(z_xp, axis=axis)), ref_p > 0)
    np.testing.assert_allclose(
        back(sm.softmax(z_xp, axis=axis)), scipy.special.softmax(z, axis=axis), rtol=0, atol=AGREE
    )
    np.testing.assert_allclose(p, sm.sparsemax(z, axis=axis), rtol=0, atol=AGREE)


@pytest.mark.parametrize("shape", BATCH_SHAPES, ids=str)
def test_jacobian_and_jvp_match_references(xp, shape):
    z = random_scores(shape, seed=100 + sum(shape))
    v = random_scores(shape, seed=200 + sum(shape), scale=1.0)
    ref_jac = reference_jacobian(z)
    z_xp, v_xp = on(xp, z, v)

    jac = back(sm.sparsemax_jacobian(z_xp))
    jvp = back(sm.sparsemax_jvp(z_xp, v_xp))

    assert jac.shape == shape + (shape[-1],) and jvp.shape == shape
    np.testing.assert_allclose(jac, ref_jac, rtol=0, atol=AGREE)
    np.testing.assert_allclose(jvp, np.einsum("...ij,...j->...i", ref_jac, v), rtol=0, atol=AGREE)
    np.testing.assert_allclose(jac, sm.sparsemax_jacobian(z), rtol=0, atol=AGREE)
    np.testing.assert_allclose(jvp, sm.sparsemax_jvp(z, v), rtol=0, atol=AGREE)


def test_jvp_is_the_directional_derivative(xp):
    """Central differences (h = 1e-6) at points at least 1e-3 from every kink."""
    rng = np.random.default_rng(5)
    z = 2.0 * rng.standard_normal((64, 6))
    distance = np.min(np.abs(z - michelot_threshold(z)[:, None]), axis=-1)
    z = z[distance > 1e-3]
    v = rng.standard_normal(z.shape)
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    h = 1e-6
    z_xp, v_xp = on(xp, z, v)
    difference = (back(sm.sparsemax(z_xp + h * v_xp)) - back(sm.sparsemax(z_xp - h * v_xp))) / (
        2 * h
    )
    assert z.shape[0] >= 32  # enough points survive the kink filter
    # sparsemax is affine within 1e-3 of z, so only rounding (~4e-16 * 3 / 1e-6) remains
    np.testing.assert_allclose(back(sm.sparsemax_jvp(z_xp, v_xp)), difference, rtol=0, atol=1e-8)


@pytest.mark.parametrize("shape", BATCH_SHAPES, ids=str)
def test_losses_match_references(xp, shape):
    z = random_scores(shape, seed=300 + sum(shape))
    q = random_targets(shape, seed=400 + sum(shape))
    z_xp, q_xp = on(xp, z, q)

    loss = back(sm.sparsemax_loss(z_xp, q_xp))
    grad = back(sm.sparsemax_loss_grad(z_xp, q_xp))
    soft = back(sm.softmax_loss(z_xp, q_xp))

    assert loss.shape == shape[:-1] and grad.shape == shape and soft.shape == shape[:-1]
    np.testing.assert_allclose(loss, reference_sparsemax_loss(z, q), rtol=0, atol=AGREE)
    np.testing.assert_allclose(grad, reference_sparsemax(z) - q, rtol=0, atol=AGREE)
    np.testing.assert_allclose(soft, reference_softmax_loss(z, q), rtol=0, atol=AGREE)
    np.testing.assert_allclose(loss, sm.sparsemax_loss(z, q), rtol=0, atol=AGREE)
    np.testing.assert_allclose(grad, sm.sparsemax_loss_grad(z, q), rtol=0, atol=AGREE)
    np.testing.assert_allclose(soft, sm.softmax_loss(z, q), rtol=0, atol=AGREE)


def test_loss_grad_is_the_gradient_of_the_loss(xp):
    """Central differences of the loss (C^1, so kinks need no filter), h = 1e-6."""
    rng = np.random.default_rng(7)
    z = 2.0 * rng.standard_normal((20, 5))
    q = random_targets(z.shape, seed=8)
    h = 1e-6
    z_xp, q_xp = on(xp, z, q)
    grad = back(sm.sparsemax_loss_grad(z_xp, q_xp))
    for j in range(z.shape[-1]):
        step = np.zeros_like(z)
        step[:, j] = h
        plus, minus = on(xp, z + step, z - step)
        difference = back(sm.sparsemax_loss(plus, q_xp)) - back(sm.sparsemax_loss(minus, q_xp))
        # O(h) curvature (<= 1) + rounding of O(10) values over 2h
        np.testing.assert_allclose(grad[:, j], difference / (2 * h), rtol=0, atol=1e-6)


# ---------------------------------------------------------------------------
# (b) bad input: a ValueError that names the problem
# ---------------------------------------------------------------------------

BAD_SCORES = {
    "nan": (lambda xp: on(xp, [0.5, float("nan"), 1.0]), -1, r"finite.*nan.*index \(1,\)"),
    "inf": (
        lambda xp: on(xp, [[0.5, 1.0], [float("inf"), 0.0]]),
        -1,
        r"finite.*inf.*index \(1, 0\)",
    ),
    "-inf": (lambda xp: on(xp, [-float("inf"), 0.0]), -1, r"finite.*-inf"),
    "empty-axis": (lambda xp: on(xp, np.empty((3, 0))), -1, r"empty axis -1 \(shape \(3, 0\)\)"),
    "empty-batch-axis": (lambda xp: on(xp, np.empty((0, 3))), 0, r"empty axis 0"),
    "integer": (lambda xp: xp.asarray([1, 2, 3]), -1, r"real floating dtype, got \S*int64"),
    "boolean": (lambda xp: xp.asarray([True, False]), -1, r"real floating dtype, got \S*bool"),
    "axis-too-large": (lambda xp: on(xp, np.zeros((2, 3))), 2, r"axis 2 is out of range.*2 dim"),
    "axis-too-negative": (lambda xp: on(xp, np.zeros(3)), -2, r"axis -2 is out of range"),
    "0-d": (lambda xp: xp.asarray(1.5, dtype=xp.float64), -1, r"at least one axis.*0-d"),
}


@pytest.mark.parametrize(
    "func",
    [sm.sparsemax, sm.sparsemax_threshold, sm.sparsemax_support, sm.softmax],
    ids=lambda f: f.__name__,
)
@pytest.mark.parametrize("case", sorted(BAD_SCORES))
def test_bad_scores_raise_value_error_naming_the_problem(xp, func, case):
    make, axis, message = BAD_SCORES[case]
    z = make(xp)
    with pytest.raises(ValueError, match=rf"^{func.__name__}: ") as info:
        func(z, axis=axis)
    assert re.search(message, str(info.value)), str(info.value)


@pytest.mark.parametrize("value", [[1.0, 2.0], (1.0, 2.0), 3.0, "abc"], ids=repr)
def test_non_arrays_are_rejected(value):
    message = r"^sparsemax: z must be an array .*got (list|tuple|float|str)"
    with pytest.raises(ValueError, match=message):
        sm.sparsemax(value)


def test_non_integer_axis_is_rejected(xp):
    with pytest.raises(ValueError, match=r"axis must be an integer, got 1\.0"):
        sm.sparsemax(on(xp, np.zeros((2, 3))), axis=1.0)
    with pytest.raises(ValueError, match=r"axis must be an integer, got True"):
        sm.sparsemax(on(xp, np.zeros((2, 3))), axis=True)


BAD_TARGETS = {
    "off-simplex-sum": ([0.5, 0.6, 0.0], r"q must sum to 1 along axis -1, off by 0\.1"),
    "unnormalised-labels": ([1.0, 1.0, 0.0], r"q must sum to 1.*off by 1"),
    "negative-entry": ([1.5, -0.5, 0.0], r"q must be non-negative, has entry -0\.5"),
    "shape-mismatch": (
        [0.25, 0.25, 0.25, 0.25],
        r"z and q must have the same shape, got \(3,\) and \(4,\)",
    ),
    "nan": ([float("nan"), 1.0, 0.0], r"q must be finite, got nan"),
}


@pytest.mark.parametrize(
    "func", [sm.sparsemax_loss, sm.sparsemax_loss_grad, sm.softmax_loss], ids=lambda f: f.__name__
)
@pytest.mark.parametrize("case", sorted(BAD_TARGETS))
def test_bad_targets_raise_value_error_naming_the_problem(xp, func, case):
    q, message = BAD_TARGETS[case]
    z_xp, q_xp = on(xp, [1.0, 0.5, -1.0], q)
    with pytest.raises(ValueError, match=rf"^{func.__name__}: {message}"):
        func(z_xp, q_xp)


def test_bad_target_in_one_row_of_a_batch_is_caught(xp):
    z = random_scores((4, 3), seed=1)
    q = random_targets((4, 3), seed=2)
    q[2] = [0.7, 0.7, -0.4]  # sums to 1, one negative entry
    with pytest.raises(ValueError, match=r"q must be non-negative, has entry -0\.4"):
        sm.sparsemax_loss(*on(xp, z, q))


def test_sparsemax_loss_names_infinite_scores(xp):
    """z is checked before the max-shift, which would turn inf into nan."""
    for func in (sm.sparsemax_loss, sm.sparsemax_loss_grad, sm.softmax_loss):
        with pytest.raises(ValueError, match=rf"^{func.__name__}: z must be finite, got inf"):
            func(*on(xp, [np.inf, 1.0], [1.0, 0.0]))


def test_losses_name_an_empty_class_axis(xp):
    for func in (sm.sparsemax_loss, sm.sparsemax_loss_grad, sm.softmax_loss):
        with pytest.raises(ValueError, match=rf"^{func.__name__}: z has an empty axis -1"):
            func(*on(xp, np.empty((2, 0)), np.empty((2, 0))))


def test_bad_jvp_input_is_named(xp):
    with pytest.raises(ValueError, match=r"^sparsemax_jvp: z must be an array .*got list"):
        sm.sparsemax_jvp([1.0, 2.0], on(xp, [1.0, 1.0]))
    with pytest.raises(ValueError, match=r"^sparsemax_jvp: v must be finite, got nan"):
        sm.sparsemax_jvp(*on(xp, [1.0, 0.5], [np.nan, 1.0]))
    with pytest.raises(ValueError, match=r"^sparsemax_jvp: z and v must have the same shape"):
        sm.sparsemax_jvp(*on(xp, [1.0, 0.5], [1.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match=r"^sparsemax_jvp: z must be finite, got nan"):
        sm.sparsemax_jvp(*on(xp, [np.nan, 0.5], [1.0, 0.0]))
    with pytest.raises(ValueError, match=r"^sparsemax_jacobian: z must be finite, got nan"):
        sm.sparsemax_jacobian(on(xp, [np.nan, 0.5]))


# ---------------------------------------------------------------------------
# (c) properties, searched by hypothesis
# ---------------------------------------------------------------------------

finite_scores = st.floats(
    -SCORE_BOUND, SCORE_BOUND, allow_nan=False, allow_infinity=False, allow_subnormal=False
)
# small integers create the ties (z_j = z_i, z_j = tau) where an implementation slips
tie_prone = st.one_of(finite_scores, st.integers(-3, 3).map(float))
class_counts = st.integers(1, MAX_K)
# one vector (K,) or a small batch (rows, K)
score_shapes = st.one_of(st.tuples(class_counts), st.tuples(st.integers(1, 4), class_counts))
score_arrays = hnp.arrays(np.float64, score_shapes, elements=tie_prone)
simplex_weights = hnp.arrays(
    np.float64,
    class_counts,
    elements=st.floats(0.0, 1.0, allow_subnormal=False),
).filter(lambda w: w.sum() > 0.1)

PROPERTY = settings(max_examples=60, deadline=None)


def magnitude(z: np.ndarray) -> float:
    return float(np.max(np.abs(z)))


@PROPERTY
@given(z=score_arrays)
def test_output_lies_on_the_simplex(xp, z):
    num_classes = z.shape[-1]
    p = back(sm.sparsemax(on(xp, z)))
    tau = back(sm.sparsemax_threshold(on(xp, z)))
    assert np.all(p >= 0.0)  # the clip is exact
    sums = np.sum(p, axis=-1)
    assert np.max(np.abs(sums - 1.0)) <= sum_tolerance(num_classes, magnitude(z))
    # tau in [z_(1) - 1, z_(1)) up to its own rounding
    top = np.max(z, axis=-1)
    slack = coordinate_tolerance(num_classes, magnitude(z))
    assert np.all(tau >= top - 1.0 - slack) and np.all(tau < top + slack)
    # the maximiser always has mass (the support is never empty)
    assert np.all(np.take_along_axis(p, np.argmax(z, axis=-1)[..., None], axis=-1) > 0)


@PROPERTY
@given(z=score_arrays, data=st.data())
def test_permutation_equivariance(xp, z, data):
    """sparsemax(Pz) = P sparsemax(z), each side within its rounding bound of the truth;
    tied scores get exactly equal mass (both are fl(z_j - tau) of the same floats)."""
    perm = np.array(data.draw(st.permutations(range(z.shape[-1]))))
    permuted = back(sm.sparsemax(on(xp, z[..., perm])))
    original = back(sm.sparsemax(on(xp, z)))
    tolerance = 2 * coordinate_tolerance(z.shape[-1], magnitude(z))
    np.testing.assert_allclose(permuted, original[..., perm], rtol=0, atol=tolerance)
    np.testing.assert_allclose(
        np.sort(permuted, axis=-1), np.sort(original, axis=-1), rtol=0, atol=tolerance
    )
    tied = z[..., :, None] == z[..., None, :]
    equal_mass = original[..., :, None] == original[..., None, :]
    assert np.all(equal_mass[tied])


@PROPERTY
@given(z=score_arrays, shift=finite_scores)
def test_shift_invariance(xp, z, shift):
    r"""sparsemax(z + c1) = sparsemax(z) and tau(z + c1) = tau(z) + c.

    fl(z + c) perturbs each score by at most U(M + |c|); sparsemax is a projection,
    hence 1-Lipschitz in the 2-norm, so the exact outputs differ by at most
    :math:`\sqrt K U (M+|c|)`; each computed side adds its coordinate bound.
    """
    num_classes = z.shape[-1]
    big = magnitude(z) + abs(shift)
    tolerance = (
        math.sqrt(num_classes) * U * big
        + coordinate_tolerance(num_classes, big)
        + coordinate_tolerance(num_classes, magnitude(z))
    )
    shifted = back(sm.sparsemax(on(xp, z + shift)))
    np.testing.assert_allclose(shifted, back(sm.sparsemax(on(xp, z))), rtol=0, atol=tolerance)
    tau_shifted = back(sm.sparsemax_threshold(on(xp, z + shift)))
    tau = back(sm.sparsemax_threshold(on(xp, z)))
    np.testing.assert_allclose(tau_shifted, tau + shift, rtol=0, atol=tolerance + U * big)


@st.composite
def scores_and_target(draw):
    """A batch of scores (rows, K) and one target q on the simplex, broadcast to it."""
    weights = draw(simplex_weights)
    rows = draw(st.integers(1, 4))
    z = draw(hnp.arrays(np.float64, (rows, weights.size), elements=tie_prone))
    return z, np.broadcast_to(weights / weights.sum(), z.shape)


@PROPERTY
@given(pair=scores_and_target())
def test_loss_is_non_negative(xp, pair):
    z, q = pair
    num_classes = z.shape[-1]
    tolerance = loss_tolerance(num_classes, magnitude(z))
    loss = back(sm.sparsemax_loss(*on(xp, z, q)))
    assert loss.shape == z.shape[:-1]
    assert np.all(loss >= -tolerance)
    # sharper (Fenchel-Young): L >= |q - sparsemax(z)|^2 / 2
    p = back(sm.sparsemax(on(xp, z)))
    assert np.all(loss >= 0.5 * np.sum((q - p) ** 2, axis=-1) - tolerance)


@PROPERTY
@given(weights=simplex_weights, shift=finite_scores)
def test_loss_is_zero_at_its_target(xp, weights, shift):
    r"""L(q + c1; q) = 0, grad = 0 and sparsemax(q) = q for q on the simplex.

    q sums to 1 within KU; fl(q + c) moves each score by U(1 + |c|), which moves
    sparsemax by at most twice that (its Jacobians have infinity-norm <= 2) and the
    loss only to second order (it is 1-smooth with minimum 0 at q).
    """
    q = weights / weights.sum()
    num_classes = q.size
    z = q + shift
    big = magnitude(z)
    loss = float(back(sm.sparsemax_loss(*on(xp, z, q))))
    assert abs(loss) <= loss_tolerance(num_classes, big)
    p = back(sm.sparsemax(on(xp, q)))
    np.testing.assert_allclose(
        p, q, rtol=0, atol=coordinate_tolerance(num_classes, 1.0) + num_classes * U
    )
    grad = back(sm.sparsemax_loss_grad(*on(xp, z, q)))
    grad_tolerance = coordinate_tolerance(num_classes, big) + 2 * U * (1 + big) + num_classes * U
    np.testing.assert_allclose(grad, 0.0, rtol=0, atol=grad_tolerance)


@PROPERTY
@given(z=score_arrays)
def test_jacobian_is_a_symmetric_projector(xp, z):
    r"""J = J^T exactly, J^2 = J, J 1 = 0 and trace J = |S| - 1.

    Entries are 0, 1 or :math:`\pm 1/|S|` (one rounding), so a product or row sum of
    K of them errs by at most :math:`2KU`.
    """
    num_classes = z.shape[-1]
    z_xp = on(xp, z)
    jac = back(sm.sparsemax_jacobian(z_xp))
    support_size = np.sum(back(sm.sparsemax_support(z_xp)), axis=-1)
    tolerance = 4 * num_classes * U
    np.testing.assert_array_equal(jac, np.swapaxes(jac, -1, -2))
    np.testing.assert_allclose(jac @ jac, jac, rtol=0, atol=tolerance)
    np.testing.assert_allclose(jac.sum(axis=-1), 0.0, rtol=0, atol=tolerance)
    np.testing.assert_allclose(
        np.trace(jac, axis1=-2, axis2=-1), support_size - 1, rtol=0, atol=tolerance
    )
    # the JVP is J v, and J^T = J makes it the VJP too
    v = np.cos(np.arange(z.size, dtype=np.float64)).reshape(z.shape)
    jvp = back(sm.sparsemax_jvp(z_xp, on(xp, v)))
    np.testing.assert_allclose(jvp, np.einsum("...ij,...j->...i", jac, v), rtol=0, atol=tolerance)


# ---------------------------------------------------------------------------
# (d) golden values of shared/claims/sparsemax.md
# ---------------------------------------------------------------------------

CLOSED_FORM_GOLDEN = [
    # z, p, tau, k   (sparsemax.closed_form, item 3)
    ([1.0, 0.5, -1.0], [0.75, 0.25, 0.0], 0.25, 2),
    ([0.3, 0.2, 0.1, -0.5], [13 / 30, 10 / 30, 7 / 30, 0.0], -2 / 15, 3),
    ([2.0, 2.0, 0.0], [0.5, 0.5, 0.0], 1.5, 2),
    ([0.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25], -0.25, 4),
    ([1.0, 1.0, 0.0], [0.5, 0.5, 0.0], 0.5, 2),  # pitfall P-A2: a tie at tau
]


@pytest.mark.parametrize("z, p, tau, k", CLOSED_FORM_GOLDEN, ids=lambda v: str(v))
def test_closed_form_golden_values(xp, z, p, tau, k):
    z_xp = on(xp, z)
    tolerance = 4 * EPS
    np.testing.assert_allclose(back(sm.sparsemax(z_xp)), p, rtol=0, atol=tolerance)
    assert abs(float(back(sm.sparsemax_threshold(z_xp))) - tau) <= tolerance
    support = back(sm.sparsemax_support(z_xp))
    assert int(np.sum(support)) == k
    np.testing.assert_array_equal(support, np.asarray(p) > 0)


def test_golden_values_batched_with_the_class_axis_first(xp):
    z = np.array([[1.0, 0.5, -1.0], [2.0, 2.0, 0.0]]).T
    p = np.array([[0.75, 0.25, 0.0], [0.5, 0.5, 0.0]]).T
    np.testing.assert_allclose(back(sm.sparsemax(on(xp, z), axis=0)), p, rtol=0, atol=4 * EPS)
    np.testing.assert_allclose(
        back(sm.sparsemax_threshold(on(xp, z), axis=0)), [0.25, 1.5], rtol=0, atol=4 * EPS
    )


def test_jacobian_golden_value(xp):
    """z = (0.3, 0.2, 0.1, -0.5): 2/3 on the diagonal of S, -1/3 off it, row/column 4 zero."""
    jac = back(sm.sparsemax_jacobian(on(xp, [0.3, 0.2, 0.1, -0.5])))
    expected = np.zeros((4, 4))
    expected[:3, :3] = -1 / 3
    expected[range(3), range(3)] = 2 / 3
    np.testing.assert_allclose(jac, expected, rtol=0, atol=2 * EPS)
    assert np.all(jac[3] == 0.0) and np.all(jac[:, 3] == 0.0)


def test_loss_golden_values(xp):
    """(3, 2, 1.5), label 1: L = 0 exactly; (2.99, 2, 1.5): L = (0.01)^2 / 4 = 2.5e-5."""
    q = [1.0, 0.0, 0.0]
    separated = float(back(sm.sparsemax_loss(*on(xp, [3.0, 2.0, 1.5], q))))
    assert separated == 0.0
    inside = float(back(sm.sparsemax_loss(*on(xp, [2.99, 2.0, 1.5], q))))
    # 2.99 is stored with error <= 3U; the loss has slope |p_1 - 1| <= 1 there
    assert abs(inside - 2.5e-5) <= 16 * EPS * 3.0
    np.testing.assert_allclose(
        back(sm.sparsemax_loss_grad(*on(xp, [2.99, 2.0, 1.5], q))),
        [-0.005, 0.005, 0.0],
        rtol=0,
        atol=8 * EPS,
    )


def test_finite_temperature_argmax_golden(xp):
    """z = (1, 1, 0.7, 0.2): sparsemax(z/0.6) is uniform on the tied maxima; at 0.60006
    the third coordinate is 3.3e-5 (sparsemax.prop2_uniform_and_argmax_limit)."""
    z = np.array([1.0, 1.0, 0.7, 0.2])
    at_threshold = back(sm.sparsemax(on(xp, z / 0.6)))
    np.testing.assert_allclose(at_threshold, [0.5, 0.5, 0.0, 0.0], rtol=0, atol=4 * EPS)
    beyond = back(sm.sparsemax(on(xp, z / 0.60006)))
    assert abs(beyond[2] - 3.3e-5) < 0.05e-5 and beyond[3] == 0.0


def test_two_class_sparsemax_is_the_hard_sigmoid(xp):
    """K = 2, z = (t, 0): sparsemax_1 = clip((t+1)/2, 0, 1), softmax_1 = sigmoid(t)."""
    t = np.linspace(-3.0, 3.0, 121)
    z = on(xp, np.stack([t, np.zeros_like(t)], axis=-1))
    np.testing.assert_allclose(
        back(sm.sparsemax(z))[:, 0], np.clip((t + 1) / 2, 0, 1), rtol=0, atol=4 * EPS
    )
    np.testing.assert_allclose(
        back(sm.softmax(z))[:, 0], scipy.special.expit(t), rtol=0, atol=4 * EPS
    )


def test_binary_sparsemax_loss_is_a_quarter_of_zhangs_modified_huber(xp):
    t = np.linspace(-3.0, 3.0, 121)
    z = np.stack([t, np.zeros_like(t)], axis=-1)
    q = np.tile([1.0, 0.0], (t.size, 1))
    loss = back(sm.sparsemax_loss(*on(xp, z, q)))
    huber = back(sm.modified_huber_loss(on(xp, t)))
    closed = np.where(t <= -1, -t, np.where(t >= 1, 0.0, (t - 1) ** 2 / 4))
    np.testing.assert_allclose(loss, closed, rtol=0, atol=16 * EPS)
    np.testing.assert_allclose(loss, huber / 4, rtol=0, atol=16 * EPS)


# ---------------------------------------------------------------------------
# the figure
# ---------------------------------------------------------------------------


def test_plot_sparsemax_writes_png_and_svg(tmp_path):
    from theory.sparsemax.plots import plot_sparsemax
    from theorycheck import registry

    out_dir = tmp_path / "figures" / "new"  # created by the maker
    paths = plot_sparsemax(out_dir)

    assert sorted(pathlib.Path(p).name for p in paths) == [
        "sparsemax_binary.png",
        "sparsemax_binary.svg",
    ]
    png, svg = sorted(paths)
    assert pathlib.Path(png).parent == out_dir
    with open(png, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert pathlib.Path(png).stat().st_size > 10_000  # three panels, not a blank canvas
    text = pathlib.Path(svg).read_text(encoding="utf-8")
    assert "<svg" in text and text.rstrip().endswith("</svg>")
    assert "Martins &amp; Astudillo" in text  # the title names the paper
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(pathlib.Path(p).name for p in paths)
    # registered under its name (read directly, so as not to import every content module)
    assert registry._PLOTS["sparsemax"] is plot_sparsemax
    # a second run replaces the files in place
    assert sorted(plot_sparsemax(str(out_dir))) == sorted(paths)
