"""Bad input and known values of the math objects of ``theory.catalog.gdro`` and
``theory.catalog.metric_nearness``.

Each public function rejects bad input at its edge with a ``ValueError`` that names the
offending value, on every CPU backend (the ``xp`` fixture of conftest). The claims
themselves are collected by the theorycheck plugin.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import on

from theory.catalog import gdro
from theory.catalog import metric_nearness as mn


def labels(xp, array):
    return on(xp, array, dtype=np.int64)


# --- group DRO ---------------------------------------------------------------------------


def test_group_statistics_values(xp):
    groups = labels(xp, [0, 0, 1, 2])
    np.testing.assert_allclose(np.asarray(gdro.group_proportions(groups, 3)), [0.5, 0.25, 0.25])
    risks = gdro.group_risks(on(xp, [1.0, 3.0, 2.0, 4.0]), groups, 3)
    np.testing.assert_allclose(np.asarray(risks), [2.0, 2.0, 4.0])
    batched = gdro.group_risks(
        on(xp, [[1.0, 3.0, 2.0, 4.0]] * 2), labels(xp, [[0, 0, 1, 2]] * 2), 3
    )
    assert tuple(batched.shape) == (2, 3)


def test_worst_group_bound_values(xp):
    # R = (2, 2, 4), pi = (1/2, 1/4, 1/4): R_avg = 2.5, max R = 4 <= 2.5 / (1/4) = 10
    average, proportions = on(xp, 2.5), on(xp, [0.5, 0.25, 0.25])
    assert float(gdro.worst_group_bound(average, proportions)) == 10.0
    assert float(gdro.worst_group_bound(average, proportions, denominator="max")) == 5.0
    assert float(gdro.worst_group_bound(average, proportions, denominator="one")) == 2.5
    # equality: all the loss on the smallest group, R = (0, 0, 4), R_avg = 1
    assert float(gdro.worst_group_bound(on(xp, 1.0), proportions)) == 4.0


def test_logistic_risks_at_zero_are_log_two(xp):
    x = on(xp, [[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]])
    y = on(xp, [1.0, -1.0, 1.0])
    risks = gdro.logistic_group_risks(on(xp, [0.0, 0.0]), x, y, labels(xp, [0, 1, 1]), 2)
    np.testing.assert_allclose(np.asarray(risks), [math.log(2)] * 2, rtol=1e-15)


def test_online_group_dro_one_step(xp):
    # t = 1 from theta = 0: loss log 2, q = (1/2, 1/2) -> (2/3, 1/3) for eta_q = 1,
    # theta_1 = eta_theta * q_g * sigmoid(0) * y x = 0.3 * 2/3 * 1/2 * (1, 0) = (0.1, 0)
    x, y, groups = on(xp, [[1.0, 0.0], [0.0, 1.0]]), on(xp, [1.0, -1.0]), labels(xp, [0, 1])
    samples, q0 = labels(xp, [[0]]), on(xp, [0.5, 0.5])
    kwargs = {"eta_theta": 0.3, "eta_q": 1.0, "q0": q0}
    theta = gdro.online_group_dro(x, y, groups, samples, radius=10.0, **kwargs)
    np.testing.assert_allclose(np.asarray(theta), [[0.1, 0.0]], atol=1e-15)
    projected = gdro.online_group_dro(x, y, groups, samples, radius=0.05, **kwargs)
    np.testing.assert_allclose(np.asarray(projected), [[0.05, 0.0]], atol=1e-15)


def test_gdro_rejects_bad_inputs(xp):
    groups = labels(xp, [0, 0, 1, 2])
    with pytest.raises(ValueError, match="n_groups must be an integer >= 1, got 0"):
        gdro.group_proportions(groups, 0)
    with pytest.raises(ValueError, match="groups must have an integer dtype"):
        gdro.group_proportions(on(xp, [0.0, 1.0]), 2)
    with pytest.raises(ValueError, match=r"group labels must lie in \[0, 2\), got 2"):
        gdro.group_proportions(groups, 2)
    with pytest.raises(ValueError, match=r"group labels must lie in \[0, 3\), got -1"):
        gdro.group_risks(on(xp, [1.0, 1.0]), labels(xp, [0, -1]), 3)
    with pytest.raises(ValueError, match="losses must be finite, got nan"):
        gdro.group_risks(on(xp, [1.0, np.nan, 2.0, 4.0]), groups, 3)
    with pytest.raises(ValueError, match="group 3 is empty"):
        gdro.group_risks(on(xp, [1.0, 3.0, 2.0, 4.0]), groups, 4)
    with pytest.raises(ValueError, match="same shape"):
        gdro.group_risks(on(xp, [1.0, 3.0]), groups, 3)


def test_worst_group_bound_rejects_bad_inputs(xp):
    average = on(xp, 1.0)
    with pytest.raises(ValueError, match="proportions must be > 0, got -0.1"):
        gdro.worst_group_bound(average, on(xp, [1.1, -0.1]))
    with pytest.raises(ValueError, match="proportions must sum to 1"):
        gdro.worst_group_bound(average, on(xp, [0.5, 0.6]))
    with pytest.raises(ValueError, match="average_risk must be >= 0, got -1.0"):
        gdro.worst_group_bound(on(xp, -1.0), on(xp, [0.5, 0.5]))
    with pytest.raises(ValueError, match="denominator must be one of .* got 'median'"):
        gdro.worst_group_bound(average, on(xp, [0.5, 0.5]), denominator="median")
    with pytest.raises(ValueError, match="need average_risk"):
        gdro.worst_group_bound(on(xp, [1.0, 2.0]), on(xp, [0.5, 0.5]))


def test_online_group_dro_rejects_bad_inputs(xp):
    x, y, groups = on(xp, [[1.0, 0.0], [0.0, 1.0]]), on(xp, [1.0, -1.0]), labels(xp, [0, 1])
    samples, q0 = labels(xp, [[0], [1]]), on(xp, [0.5, 0.5])
    ok = {"radius": 1.0, "eta_theta": 0.1, "eta_q": 0.1, "q0": q0}
    with pytest.raises(ValueError, match="radius must be a number > 0, got 0"):
        gdro.online_group_dro(x, y, groups, samples, **{**ok, "radius": 0})
    with pytest.raises(ValueError, match="eta_q must be a finite number >= 0, got -0.1"):
        gdro.online_group_dro(x, y, groups, samples, **{**ok, "eta_q": -0.1})
    with pytest.raises(ValueError, match=r"sample indices must lie in \[0, 2\)"):
        gdro.online_group_dro(x, y, groups, labels(xp, [[2]]), **ok)
    with pytest.raises(ValueError, match="q0 must sum to 1"):
        gdro.online_group_dro(x, y, groups, samples, **{**ok, "q0": on(xp, [0.5, 0.6])})
    with pytest.raises(ValueError, match="labels y must be"):
        gdro.online_group_dro(x, on(xp, [1.0, 0.0]), groups, samples, **ok)
    with pytest.raises(ValueError, match="theta must have shape"):
        gdro.logistic_group_risks(on(xp, [0.0, 0.0, 0.0]), x, y, groups, 2)


# --- metric nearness ---------------------------------------------------------------------


def test_triangle_matrix_values():
    # pairs (0,1), (0,2), (1,2): x01 <= x02 + x21, x02 <= x01 + x12, x12 <= x10 + x02
    np.testing.assert_array_equal(mn.triangle_matrix(3), [[1, -1, -1], [-1, 1, -1], [-1, -1, 1]])
    matrix = mn.triangle_matrix(8)
    assert matrix.shape == (168, 28)
    assert np.all(np.sum(matrix != 0, axis=1) == 3) and np.all(matrix.sum(axis=1) == -1)
    order, bounds = mn.edge_disjoint_order(8)
    assert sorted(order.tolist()) == list(range(168))
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        assert np.all(np.abs(matrix[order[lo:hi]]).sum(axis=0) <= 1)  # no pair twice


def test_single_violated_triangle_is_projected(xp):
    # d = (1, 1, 3) violates only x12 <= x01 + x02, by 1: x* = d - (1/3)(-1, -1, 1)
    d = on(xp, [1.0, 1.0, 3.0])
    np.testing.assert_allclose(np.asarray(mn.triangle_violations(d)), [-3.0, -3.0, 1.0])
    for corrections in (True, False):
        run = mn.project_and_forget(d, corrections=corrections)
        np.testing.assert_allclose(np.asarray(run.x), [4 / 3, 4 / 3, 8 / 3], rtol=1e-15)
        np.testing.assert_allclose(np.asarray(run.duals), [0.0, 0.0, 1 / 3], atol=1e-16)
        assert run.sweeps == 2 and tuple(run.trajectory.shape) == (3, 3)


def test_duality_gap_values(xp):
    d = on(xp, [1.0, 1.0, 3.0])
    x, gap, allowance = mn.duality_gap(d, on(xp, [0.0, 0.0, 1 / 3]))
    assert float(gap) <= float(allowance) < 1e-14  # the optimum: gap 0 up to rounding
    x, gap, _ = mn.duality_gap(d, on(xp, [0.0, 0.0, 0.0]))
    # z = 0: x = d, s = (-3, -3, 1), v = 1, gap = N v^2 / 2 = 3/2; sqrt(3) >= ||d - x*||
    assert float(gap) == 1.5
    assert math.sqrt(2 * 1.5) >= math.sqrt(3) / 3


def test_pocs_stops_at_a_metric_that_is_not_the_nearest():
    rng = np.random.default_rng(3)
    d = mn._perturbed_metrics(rng, 3, 8)
    dykstra = mn.project_and_forget(d)
    pocs = mn.project_and_forget(d, corrections=False)
    assert np.max(mn.triangle_violations(pocs.x)) <= 1e-12  # a metric
    assert np.all(np.linalg.norm(pocs.x - dykstra.x, axis=-1) > 1e-3)


def test_metric_nearness_rejects_bad_inputs(xp):
    with pytest.raises(ValueError, match="n must be an integer >= 3, got 2"):
        mn.triangle_matrix(2)
    with pytest.raises(ValueError, match=r"n\(n-1\)/2 pair distances for some n >= 3, got 4"):
        mn.triangle_violations(on(xp, [1.0, 1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="d must be finite, got nan"):
        mn.project_and_forget(on(xp, [1.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="max_sweeps must be an integer >= 1, got 0"):
        mn.project_and_forget(on(xp, [1.0, 1.0, 1.0]), max_sweeps=0)
    with pytest.raises(ValueError, match="corrections must be True or False, got 'yes'"):
        mn.project_and_forget(on(xp, [1.0, 1.0, 1.0]), corrections="yes")
    with pytest.raises(ValueError, match=r"duals must be >= 0, got -1.0"):
        mn.duality_gap(on(xp, [1.0, 1.0, 1.0]), on(xp, [0.0, -1.0, 0.0]))
    with pytest.raises(ValueError, match=r"duals must have shape \(3,\)"):
        mn.duality_gap(on(xp, [1.0, 1.0, 1.0]), on(xp, [0.0, 0.0]))
    with pytest.raises(ValueError, match="d must have a real floating dtype"):
        mn.triangle_violations(labels(xp, [1, 1, 1]))
