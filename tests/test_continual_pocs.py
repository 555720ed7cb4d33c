r"""Tests of the continual-POCS math objects (``theory.continual_pocs``), not of the claims.

Evron et al., *Continual Learning in Linear Classification on Separable Data*, ICML
2023. The exact NumPy projection is checked against cvxpy and scipy's NNLS, the
batched closed-form projection against the NumPy one on each backend of the ``xp``
fixture (NumPy and array-api-strict), the closed-form examples against the spec's
values, and bad input must raise a ``ValueError`` that names the problem (a task
that is not separable is named by its index).

Tolerances: solvers agree to 1e-7 (cvxpy at gap 1e-12) and the two exact
projections to 1e-10 (closed forms on O(1) data: a few roundings times
:math:`\kappa(A_SA_S^\top)\le10^4`).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from theory.continual_pocs import (
    build_table,
    constraint_rows,
    counterexample_tasks,
    cyclic_order,
    forgetting_curves,
    joint_max_margin,
    joint_solutions,
    max_margin,
    minimise_step,
    project,
    project_onto_each_task,
    project_onto_task,
    project_rows,
    random_orders,
    random_separable_tasks,
    regularised_path,
    run_smm,
    sequential_max_margin,
    staircase_tasks,
    task_violations,
    wedge_tasks,
    with_bias,
)
from theory.continual_pocs.active_sets import MAX_CANDIDATE_SETS
from theory.continual_pocs.projection import KKT_TOLERANCE, _regularised_step, kkt_residual
from theory.continual_pocs.references import (
    hildreth_projection,
    nnls_projection,
    projection_solver,
)
from theorycheck.backend import namespace, to_numpy

SOLVER = 1e-7
EXACT = 1e-10


@pytest.fixture(scope="module", params=["numpy", "array-api-strict"])
def xp(request):
    """The array namespace of a backend; every test using it runs on each."""
    return namespace(request.param)


def back(x):
    return np.asarray(to_numpy(x))


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------- exact projection


@pytest.mark.parametrize(
    "samples,dim", [(1, 2), (3, 3), (6, 4), (40, 10), (200, 10), (200, 50), (30, 120)]
)
def test_projection_matches_cvxpy_and_nnls(samples, dim):
    generator = rng(samples)
    features, labels = random_separable_tasks(generator, 2, samples, dim, teacher_margin=0.1)
    rows = labels[..., None] * features
    previous = project_rows(np.zeros(dim), rows[0]).point
    result = project_rows(previous, rows[1])
    reference = projection_solver(previous[None], rows[1][None])[0]
    scale = 1.0 + np.linalg.norm(reference)
    assert np.max(np.abs(result.point - reference)) <= SOLVER * scale
    assert np.max(np.abs(result.point - nnls_projection(previous[None], rows[1][None])[0])) <= (
        SOLVER * scale
    )
    assert result.kkt_residual <= KKT_TOLERANCE
    assert np.all(result.multipliers >= 0)
    assert np.allclose(result.point - previous, result.multipliers @ rows[1], atol=1e-12 * scale)


@pytest.mark.parametrize("violated", [12, 40])
def test_newton_step_solves_its_system_in_either_form(violated):
    """|V| <= D uses the |V| x |V| dual form, |V| > D the D x D primal form."""
    generator = rng(violated)
    rows = generator.standard_normal((60, 20))
    target = generator.standard_normal(60)
    proposal = np.zeros(60, dtype=bool)
    proposal[generator.choice(60, violated, replace=False)] = True
    inverse_penalty = 0.3
    step = _regularised_step(rows, proposal, target, inverse_penalty)
    sub = rows[proposal]
    expected = np.linalg.solve(inverse_penalty * np.eye(20) + sub.T @ sub, sub.T @ target[proposal])
    assert np.max(np.abs(step - expected)) <= 1e-12 * (1 + np.max(np.abs(expected)))


@pytest.mark.parametrize(
    "point, rows, bounds, message",
    [
        ([np.nan, 0.0], [[1.0, 0.0]], None, "point must be finite"),
        ([0.0, 0.0], [[np.inf, 0.0]], None, "rows must be finite"),
        ([0.0, 0.0], [[1.0, 0.0]], [np.nan], "bounds must be finite"),
        ([1e200, 0.0], [[1e200, 0.0]], None, "task 4 overflows float64"),
    ],
)
def test_project_rows_names_non_finite_input(point, rows, bounds, message):
    bounds = None if bounds is None else np.array(bounds)
    with pytest.raises(ValueError, match=message):
        project_rows(np.array(point), np.array(rows), bounds, name="task 4")


def test_projection_of_a_feasible_point_is_the_point():
    features, labels = counterexample_tasks()
    rows = labels[..., None] * features
    point = np.array([3.0, 3.0])
    result = project_rows(point, rows[1])
    assert result.method == "feasible"
    assert np.array_equal(result.point, point)


def test_projection_with_bounds_handles_equalities():
    generator = rng(3)
    features = generator.standard_normal((3, 6))
    targets = generator.standard_normal(3)
    rows = np.concatenate([features, -features])
    bounds = np.concatenate([targets, -targets])
    result = project_rows(np.zeros(6), rows, bounds)
    assert np.allclose(result.point, np.linalg.pinv(features) @ targets, atol=1e-10)


def test_hildreth_reference_converges():
    features, labels = random_separable_tasks(rng(4), 1, 4, 3, batch=5, teacher_margin=0.2)
    rows = (labels[..., None] * features)[:, 0]
    points = rng(5).standard_normal((5, 3))
    hildreth, sweeps = hildreth_projection(points, rows)
    exact = np.stack([project_rows(p, a).point for p, a in zip(points, rows, strict=True)])
    assert sweeps < 200_000
    assert np.max(np.abs(hildreth - exact)) <= SOLVER


def test_kkt_residual_flags_a_wrong_step():
    rows = np.array([[1.0, 0.0], [0.0, 1.0]])
    rhs = np.array([1.0, -1.0])
    assert kkt_residual(rows, rhs, np.array([1.0, 0.0]), np.array([1.0, 0.0])) == 0.0
    assert kkt_residual(rows, rhs, np.array([1.0, -1.0]), np.array([1.0, -1.0])) > 0.1


def test_counterexample_values():
    features, labels = counterexample_tasks()
    iterates = sequential_max_margin(features, labels, [0, 1, 0, 1])
    assert np.allclose(iterates[1], [1.0, 0.0], atol=1e-15)
    assert np.allclose(iterates[2:], [1.2, 0.4], atol=1e-15)
    assert np.allclose(joint_max_margin(features, labels), [1.0, 0.5], atol=1e-15)
    assert np.allclose(max_margin(features[1], labels[1]), [0.4, 0.8], atol=1e-15)


# ---------------------------------------------------------------------------- batched projection


@pytest.mark.parametrize("samples,dim", [(1, 2), (2, 3), (3, 3), (5, 3), (4, 5)])
def test_batched_projection_matches_the_exact_solver(xp, samples, dim):
    features, labels = random_separable_tasks(rng(dim), 3, samples, dim, batch=20)
    table = build_table(xp.asarray(features), xp.asarray(labels))
    points = rng(7).standard_normal((20, dim)) * 2
    tasks = rng(8).integers(0, 3, 20)
    projected, multipliers = project(table, xp.asarray(points), xp.asarray(tasks))
    rows = labels[..., None] * features
    for index in range(20):
        exact = project_rows(points[index], rows[index, tasks[index]])
        assert np.max(np.abs(back(projected)[index] - exact.point)) <= EXACT
        assert np.max(np.abs(back(multipliers)[index] - exact.multipliers)) <= 1e-8


def test_projection_onto_each_task_shapes_and_values(xp):
    features, labels = random_separable_tasks(rng(9), 3, 2, 4)
    table = build_table(xp.asarray(features), xp.asarray(labels))
    points = rng(10).standard_normal((5, 7, 4))
    out = back(project_onto_each_task(table, xp.asarray(points)))
    assert out.shape == (5, 7, 3, 4)
    flat = back(project_onto_each_task(table, xp.asarray(points[:, 0])))
    assert flat.shape == (5, 3, 4)
    rows = labels[..., None] * features
    for b, j, m in [(0, 0, 0), (4, 6, 2), (2, 3, 1)]:
        assert np.max(np.abs(out[b, j, m] - project_rows(points[b, j], rows[m]).point)) <= EXACT
    assert np.max(np.abs(flat - out[:, 0])) <= EXACT


def test_backends_agree_on_a_run():
    features, labels = random_separable_tasks(rng(11), 3, 3, 4, batch=6)
    orders = np.tile(cyclic_order(3, 12), (6, 1))
    results = []
    for name in ("numpy", "array-api-strict"):
        space = namespace(name)
        table = build_table(space.asarray(features), space.asarray(labels))
        results.append(back(run_smm(table, space.asarray(orders))))
    assert np.max(np.abs(results[0] - results[1])) <= EXACT
    exact = sequential_max_margin(features[2], labels[2], orders[2])
    assert np.max(np.abs(results[0][2] - exact)) <= EXACT


# ---------------------------------------------------------------------------- forgetting


def test_wedge_forgetting_and_gap_closed_forms(xp):
    theta = 0.1
    features, labels = wedge_tasks(theta)
    table = build_table(xp.asarray(features), xp.asarray(labels))
    orders = xp.asarray(cyclic_order(2, 50)[None, :])
    iterates = run_smm(table, orders)
    joint = joint_solutions(features, labels)
    norm_sq = float(joint @ joint)
    assert math.isclose(norm_sq, 1.0 / math.sin(theta / 2) ** 2, rel_tol=1e-12)
    curves = forgetting_curves(
        task_violations(table, iterates), orders, xp.asarray([norm_sq]), xp.asarray([1.0])
    )
    k = np.arange(2, 51)
    expected = np.cos(theta / 2) ** 2 * np.sin(theta) ** 2 * np.cos(theta) ** (2 * (k - 1))
    assert np.allclose(back(curves.max)[0, 2:], expected, rtol=1e-10)
    assert back(curves.max)[0, 1] == 0.0  # task 2 unseen at k = 1
    gap = np.sum((back(iterates)[0] - joint) ** 2, axis=1) / norm_sq
    assert np.allclose(gap[1:], np.cos(theta / 2) ** 2 * np.cos(theta) ** (2 * np.arange(50)))
    order = back(curves.margin) <= back(curves.dist) + 1e-12
    assert order.all() and (back(curves.dist) <= back(curves.max) + 1e-12).all()


def test_staircase_forgetting_at_k_equals_T_is_a_quarter():
    features, labels = staircase_tasks(200)
    iterates = sequential_max_margin(features, labels, cyclic_order(200, 200))
    joint = joint_max_margin(features, labels)
    violation = 1.0 - iterates[-1] @ np.array([1.0, 0.0])
    assert violation**2 / (joint @ joint) == pytest.approx(0.25, abs=2e-3)


def test_random_orders_and_cyclic_order():
    assert cyclic_order(3, 7).tolist() == [0, 1, 2, 0, 1, 2, 0]
    orders = random_orders(rng(12), 4, 10, 5)
    assert orders.shape == (5, 10) and orders.min() >= 0 and orders.max() < 4


# ---------------------------------------------------------------------------- regularised learner


def test_regularised_step_is_stationary(xp):
    features, labels = random_separable_tasks(rng(13), 1, 4, 3, teacher_margin=0.2)
    rows = (labels[..., None] * features)[0]
    scales = np.array([10.0, 1e3, 1e5])
    anchor = rng(14).standard_normal((3, 3)) * 0.3
    start = anchor + 5.0 * max_margin(features[0], labels[0])
    batch_rows = np.broadcast_to(rows, (3, *rows.shape))
    result = back(
        minimise_step(
            xp.asarray(np.array(batch_rows)),
            xp.asarray(anchor),
            xp.asarray(scales),
            xp.asarray(start),
        )
    )
    margins = np.einsum("nd,bd->bn", rows, result)
    tilted = np.exp(-scales[:, None] * (margins - 1.0))
    gradient = (result - anchor) - np.einsum("bn,nd->bd", tilted, rows) / scales[:, None]
    # gradient error of the rescaled objective: relative L u (exponents known to L u |m|)
    assert np.all(np.abs(gradient) <= 1e-9 * (1 + scales[:, None] * 1e-6))


def test_regularised_path_tends_to_smm():
    features, labels = counterexample_tasks()
    table = build_table(features, labels)
    scales = np.array([[1e2, 1e2], [1e4, 1e4]])
    path = regularised_path(table, [0, 1], scales)
    error = np.linalg.norm(path[:, 2] - np.array([1.2, 0.4]), axis=1)
    assert error[1] < error[0] < 0.1
    assert error[1] * 1e4 / math.log(1e4) < 10 * error[0] * 1e2 / math.log(1e2)


def test_bias_augmentation_separates_affine_data():
    features, labels = random_separable_tasks(rng(15), 2, 6, 3, bias=True)
    augmented = with_bias(features)
    assert augmented.shape == (2, 6, 4) and np.all(augmented[..., -1] == 1.0)
    iterates = sequential_max_margin(augmented, labels, [0, 1])
    rows = labels[..., None] * augmented
    assert np.min(rows[1] @ iterates[-1]) >= 1 - 1e-10


# ---------------------------------------------------------------------------- bad input


def _not_separable() -> tuple[np.ndarray, np.ndarray]:
    """Task 1 holds x and -x with the same label: no w separates it."""
    features = np.array([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [-1.0, -1.0]]])
    return features, np.ones((2, 2))


def test_non_separable_task_is_named_by_project_onto_task():
    features, labels = _not_separable()
    with pytest.raises(ValueError, match=r"task 7 is not linearly separable.*Farkas"):
        project_onto_task(np.zeros(2), features[1], labels[1], task=7)


def test_non_separable_task_is_named_by_sequential_max_margin():
    features, labels = _not_separable()
    with pytest.raises(ValueError, match=r"^sequential_max_margin: task 1 is not linearly"):
        sequential_max_margin(features, labels, [0, 1, 0])


def test_non_separable_task_is_named_by_build_table(xp):
    features, labels = _not_separable()
    with pytest.raises(ValueError, match=r"^build_table: task 1 is not linearly separable"):
        build_table(xp.asarray(features), xp.asarray(labels))
    batch_features = np.stack([features, features[::-1]])
    with pytest.raises(ValueError, match=r"replicate 0, task 1 is not linearly separable"):
        build_table(xp.asarray(batch_features), xp.asarray(np.ones((2, 2, 2))))


def test_non_separable_union_is_reported_by_joint_max_margin():
    features = np.array([[[1.0, 0.0]], [[-1.0, 0.0]]])
    with pytest.raises(ValueError, match=r"^joint_max_margin: the tasks are not jointly separable"):
        joint_max_margin(features, np.ones((2, 1)))


def test_zero_sample_is_named():
    with pytest.raises(ValueError, match=r"task 2 is not linearly separable.*sample 1 is the zero"):
        project_onto_task(np.zeros(2), np.array([[1.0, 0.0], [0.0, 0.0]]), np.ones(2), task=2)


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.array([[1.0, 0.0]]), r"labels must be -1 or \+1, got 0.0 at index \(0, 1\)"),
        (np.array([[2.0, 1.0]]), r"labels must be -1 or \+1, got 2.0 at index \(0, 0\)"),
        (np.array([[1.0, -0.5]]), r"labels must be -1 or \+1, got -0.5"),
        (np.array([[True, False]]), r"labels must be real numbers"),
        (np.array([[1.0, 1.0, 1.0]]), r"labels must have shape \(1, 2\)"),
    ],
)
def test_bad_labels_raise(labels, message):
    features = np.ones((1, 2, 3))
    with pytest.raises(ValueError, match=message):
        constraint_rows(features, labels)


def test_bad_labels_raise_on_every_backend(xp):
    features = xp.asarray(np.ones((1, 2, 3)))
    with pytest.raises(ValueError, match=r"^build_table: labels must be -1 or \+1"):
        build_table(features, xp.asarray(np.array([[1.0, 3.0]])))


@pytest.mark.parametrize(
    "features, message",
    [
        (np.ones((2, 3)), r"features must have shape \(\.\.\., T, n, D\)"),
        (np.ones((1, 0, 3)), r"features has an empty"),
        (np.array([[[np.nan, 1.0]]]), r"features must be finite, got nan"),
        (np.ones((1, 2, 3), dtype=int), r"features must have a real floating dtype"),
    ],
)
def test_bad_features_raise(features, message):
    labels = np.ones(features.shape[:-1]) if features.ndim >= 2 else np.ones(1)
    with pytest.raises(ValueError, match=message):
        constraint_rows(features, labels)


def test_non_arrays_are_rejected():
    with pytest.raises(ValueError, match=r"features must be an array"):
        constraint_rows([[[1.0, 0.0]]], np.ones((1, 1)))
    with pytest.raises(ValueError, match=r"labels must be an array"):
        constraint_rows(np.ones((1, 1, 2)), [[1.0]])
    with pytest.raises(ValueError, match=r"features of one task must be an array"):
        project_onto_task(np.zeros(2), [[1.0, 0.0]], np.ones(1))


def test_mismatched_shapes_raise(xp):
    features, labels = counterexample_tasks()
    with pytest.raises(ValueError, match=r"point must have shape \(2,\)"):
        project_onto_task(np.zeros(3), features[0], labels[0])
    with pytest.raises(ValueError, match=r"labels must have shape \(1,\)"):
        project_onto_task(np.zeros(2), features[0], np.ones(2))
    with pytest.raises(ValueError, match=r"order holds task index 2 outside \[0, 2\)"):
        sequential_max_margin(features, labels, [0, 2])
    with pytest.raises(ValueError, match=r"start must have shape \(2,\)"):
        sequential_max_margin(features, labels, [0], start=np.zeros(3))
    with pytest.raises(ValueError, match=r"project_rows: rows must be \(n, D\)"):
        project_rows(np.zeros(3), np.ones((2, 2)))
    table = build_table(xp.asarray(features), xp.asarray(labels))
    with pytest.raises(ValueError, match=r"project: points must have shape \(B, 2\)"):
        project(table, xp.asarray(np.zeros((3, 3))), xp.asarray(np.zeros(3, dtype=np.int64)))
    with pytest.raises(ValueError, match=r"project: tasks must have shape \(3,\)"):
        project(table, xp.asarray(np.zeros((3, 2))), xp.asarray(np.zeros(2, dtype=np.int64)))
    with pytest.raises(ValueError, match=r"task indices must lie in \[0, 2\)"):
        project(table, xp.asarray(np.zeros((1, 2))), xp.asarray(np.array([5])))
    with pytest.raises(ValueError, match=r"run_smm: orders must have shape \(B, k\)"):
        run_smm(table, xp.asarray(np.array([0, 1])))
    with pytest.raises(ValueError, match=r"run_smm: task indices must lie in \[0, 2\)"):
        run_smm(table, xp.asarray(np.array([[0, 3]])))
    with pytest.raises(ValueError, match=r"project_onto_each_task: points must have shape"):
        project_onto_each_task(table, xp.asarray(np.zeros((2, 3))))


def test_too_many_candidate_sets_are_refused():
    samples = 13
    features, labels = random_separable_tasks(rng(16), 1, samples, samples)
    with pytest.raises(ValueError, match=rf"candidate active sets \(> {MAX_CANDIDATE_SETS}\)"):
        build_table(features, labels)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: random_separable_tasks(rng(), 0, 2, 2), r"num_tasks must be an integer >= 1"),
        (lambda: random_separable_tasks(rng(), 2, 2, 2, batch=0), r"batch must be an integer"),
        (
            lambda: random_separable_tasks(rng(), 2, 2, 2, teacher_margin=-1.0),
            r"teacher_margin must be a positive number",
        ),
        (lambda: wedge_tasks(2.0), r"theta must lie in \(0, pi/2\)"),
        (lambda: staircase_tasks(1), r"num_tasks must be an integer >= 2"),
        (lambda: staircase_tasks(3, angle=0.0), r"angle must lie in \(0, pi/2\)"),
        (lambda: cyclic_order(0, 3), r"num_tasks must be an integer >= 1"),
    ],
)
def test_bad_generator_arguments_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------------------- figures


def test_plot_writes_png_and_svg(tmp_path):
    from theory.continual_pocs.plots import plot_continual_pocs

    written = plot_continual_pocs(tmp_path)
    names = sorted(p.split("/")[-1] for p in written)
    assert names == [
        "continual_pocs_forgetting.png",
        "continual_pocs_forgetting.svg",
        "continual_pocs_geometry.png",
        "continual_pocs_geometry.svg",
    ]
    for path in written:
        assert (tmp_path / path.split("/")[-1]).stat().st_size > 1000
