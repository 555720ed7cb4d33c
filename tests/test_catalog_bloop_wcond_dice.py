"""Math objects of the Bloop, weight-conditioning and SeaBird-dice catalog modules.

Bad input raises one ValueError naming the function and the value, on NumPy and
array-api-strict (the ``xp`` fixture); a few values are checked against hand-computed
ones. The claims themselves run through the pytest plugin
(``pytest theory proofs_check -k "bloop or wcond or dice"``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from theory.catalog import bloop, dice, wcond
from theorycheck.backend import to_numpy


def _a(xp, values):
    return xp.asarray(np.asarray(values, dtype=np.float64))


def _np(x):
    return np.asarray(to_numpy(x), dtype=float)


# --------------------------------------------------------------------------- bloop


def _toy(xp):
    a = _a(xp, [[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])  # rank 2 in R^3: kernel = e_3
    b = _a(xp, [1.0, 4.0])
    c = _a(xp, [5.0, 6.0, 7.0])
    return a, b, c


def test_bloop_values(xp):
    v, u = _a(xp, [[1.0, 2.0, 3.0]]), _a(xp, [[0.0, 1.0, 1.0]])
    projected = _np(bloop.orthogonal_projection(v, u))
    np.testing.assert_allclose(projected, [[1.0, -0.5, 0.5]], atol=1e-15)
    np.testing.assert_allclose(_np(bloop.orthogonal_projection(v, 0.0 * u)), _np(v))
    direction = _np(bloop.bloop_direction(u, v, u, 2.0))
    np.testing.assert_allclose(direction, [[2.0, 0.0, 2.0]], atol=1e-15)
    np.testing.assert_allclose(_np(bloop.plain_sum_direction(u, v, u, 2.0)), [[2.0, 5.0, 7.0]])
    np.testing.assert_allclose(_np(bloop.ema_update(u, v, 0.25)), [[0.25, 1.25, 1.5]])
    a, b, c = _toy(xp)
    np.testing.assert_allclose(_np(bloop.bilevel_solution(a, b, c)), [1.0, 2.0, 7.0], atol=1e-14)
    # (A^T A + I) theta = A^T b + c: diag(2, 5, 1) theta = (6, 14, 7)
    np.testing.assert_allclose(_np(bloop.tikhonov_point(a, b, c, 1.0)), [3.0, 2.8, 7.0])
    theta0 = _a(xp, [0.0, 0.0, 0.0])
    plain = bloop.gradient_surgery_descent(
        a, b, c, theta0, lam=1.0, lr=0.2, steps=400, rate=0.1, direction="sum"
    )
    np.testing.assert_allclose(_np(plain), [3.0, 2.8, 7.0], atol=1e-12)
    surgery = bloop.gradient_surgery_descent(
        a, b, c, theta0, lam=1.0, lr=0.02, steps=2000, rate=0.1
    )
    assert np.linalg.norm(_np(surgery) - [1.0, 2.0, 7.0]) < 0.1 * np.linalg.norm(
        np.array([3.0, 2.8, 7.0]) - [1.0, 2.0, 7.0]
    )


def test_bloop_rejects_bad_input(xp):
    v = _a(xp, [1.0, 2.0])
    with pytest.raises(ValueError, match="orthogonal_projection: v and u must have the same"):
        bloop.orthogonal_projection(v, _a(xp, [1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="orthogonal_projection: u must be finite, got nan"):
        bloop.orthogonal_projection(v, _a(xp, [1.0, math.nan]))
    with pytest.raises(ValueError, match="orthogonal_projection: v must have at least 1 axes"):
        bloop.orthogonal_projection(_a(xp, 1.0), _a(xp, 1.0))
    with pytest.raises(
        ValueError, match=r"bloop_direction: lam must be a finite number > 0, got 0"
    ):
        bloop.bloop_direction(v, v, v, 0)
    with pytest.raises(ValueError, match="bloop_direction: g_train and ema must have the same"):
        bloop.bloop_direction(v, v, _a(xp, [1.0]), 1.0)
    with pytest.raises(ValueError, match="plain_sum_direction: g_train and g_aux must have"):
        bloop.plain_sum_direction(v, _a(xp, [1.0]), v, 1.0)
    with pytest.raises(ValueError, match=r"ema_update: rate must lie in \(0, 1\], got 1.5"):
        bloop.ema_update(v, v, 1.5)
    with pytest.raises(ValueError, match="ema_update: rate must be a finite number > 0, got -1"):
        bloop.ema_update(v, v, -1)
    a, b, c = _toy(xp)
    with pytest.raises(ValueError, match=r"bilevel_solution: b must have shape \(2,\)"):
        bloop.bilevel_solution(a, c, c)
    with pytest.raises(ValueError, match=r"bilevel_solution: c must have shape \(3,\)"):
        bloop.bilevel_solution(a, b, b)
    with pytest.raises(ValueError, match="bilevel_solution: rtol must be a finite number > 0"):
        bloop.bilevel_solution(a, b, c, rtol=0.0)
    with pytest.raises(ValueError, match="bilevel_solution: a must have at least 2 axes"):
        bloop.bilevel_solution(b, b, c)
    with pytest.raises(ValueError, match="tikhonov_point: lam must be a finite number > 0, got"):
        bloop.tikhonov_point(a, b, c, math.inf)
    with pytest.raises(ValueError, match="gradient_surgery_descent: steps must be a positive"):
        bloop.gradient_surgery_descent(a, b, c, c, lam=1.0, lr=0.1, steps=0, rate=0.1)
    with pytest.raises(ValueError, match="gradient_surgery_descent: direction must be one of"):
        bloop.gradient_surgery_descent(
            a, b, c, c, lam=1.0, lr=0.1, steps=1, rate=0.1, direction="pcgrad"
        )
    with pytest.raises(ValueError, match="gradient_surgery_descent: theta0 and c must have"):
        bloop.gradient_surgery_descent(a, b, c, b, lam=1.0, lr=0.1, steps=1, rate=0.1)
    with pytest.raises(ValueError, match="gradient_surgery_descent: lr must be a finite number"):
        bloop.gradient_surgery_descent(a, b, c, c, lam=1.0, lr=-0.1, steps=1, rate=0.1)


# --------------------------------------------------------------------------- wcond


def test_wcond_values(xp):
    w = _a(xp, [[2.0, 0.0], [0.0, 0.5], [0.0, 0.0]])  # kappa = 4
    assert float(_np(wcond.condition_number(w))) == pytest.approx(4.0, rel=1e-14)
    conditioned = wcond.newton_schulz_conditioning(w)
    # s = (1, 1/4) -> f(s) = (1, 47/128)
    np.testing.assert_allclose(_np(conditioned), [[1.0, 0.0], [0.0, 47 / 128], [0.0, 0.0]])
    assert wcond.conditioned_condition_number(4.0) == pytest.approx(128 / 47, rel=1e-15)
    assert wcond.conditioned_condition_number(1) == 1
    np.testing.assert_allclose(_np(wcond.least_squares_hessian(w)), [[4.0, 0.0], [0.0, 0.25]])
    rows = _np(wcond.row_equilibration(_a(xp, [[3.0, 4.0], [0.0, 2.0]])))
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.0, 1.0]])
    singular = _a(xp, [[1.0, 1.0], [1.0, 1.0]])
    assert math.isinf(float(_np(wcond.condition_number(singular))))


def test_wcond_rejects_bad_input(xp):
    with pytest.raises(ValueError, match="condition_number: w must have at least 2 axes"):
        wcond.condition_number(_a(xp, [1.0, 2.0]))
    with pytest.raises(ValueError, match="condition_number: w must be finite, got inf"):
        wcond.condition_number(_a(xp, [[1.0, math.inf]]))
    with pytest.raises(ValueError, match="condition_number: w must have a real floating dtype"):
        wcond.condition_number(xp.asarray(np.ones((2, 2), dtype=np.int64)))
    with pytest.raises(ValueError, match="newton_schulz_conditioning: w must be non-zero"):
        wcond.newton_schulz_conditioning(_a(xp, np.zeros((2, 2))))
    with pytest.raises(ValueError, match="conditioned_condition_number: kappa must be >= 1, got"):
        wcond.conditioned_condition_number(0.5)
    with pytest.raises(ValueError, match="conditioned_condition_number: kappa must be >= 1, has"):
        wcond.conditioned_condition_number(_a(xp, [1.0, 0.9]))
    with pytest.raises(ValueError, match="conditioned_condition_number: kappa must be a finite"):
        wcond.conditioned_condition_number(math.nan)
    with pytest.raises(ValueError, match="least_squares_hessian: w must have non-empty"):
        wcond.least_squares_hessian(_a(xp, np.zeros((0, 2))))
    with pytest.raises(ValueError, match="row_equilibration: w must have no zero row"):
        wcond.row_equilibration(_a(xp, [[1.0, 0.0], [0.0, 0.0]]))


# --------------------------------------------------------------------------- dice


def test_dice_values(xp):
    offset = _a(xp, [0.0, 1.5, -3.0, 10.0])
    length = _a(xp, [4.0, 3.0, 3.0, 2.0])
    expected = [0.0, 0.5, 1.0, 1.0]
    np.testing.assert_allclose(_np(dice.interval_dice_loss(offset, length)), expected)
    np.testing.assert_allclose(
        _np(dice.rasterised_dice_loss(offset, length, 30, -10)), expected, atol=1e-14
    )
    coverage = _np(dice.interval_coverage(_a(xp, [0.25]), _a(xp, [1.5]), 3, 0))
    np.testing.assert_allclose(coverage, [[0.75, 0.75, 0.0]])
    # u -> 0: the loss tends to 1; large u: sqrt(2/pi)/u; decreasing in l
    values = dice.expected_interval_dice_loss(np.array([1e-6, 1.0, 2.0, 100.0]), 1.0)
    assert values[0] == pytest.approx(1.0, abs=1e-6)
    assert values[-1] == pytest.approx(math.sqrt(2 / math.pi) / 100, rel=1e-12)
    assert np.all(np.diff(values) < 0)


def test_dice_rejects_bad_input(xp):
    one = _a(xp, [1.0])
    with pytest.raises(ValueError, match=r"interval_dice_loss: length must be > 0, has entry 0"):
        dice.interval_dice_loss(one, _a(xp, [0.0]))
    with pytest.raises(ValueError, match="interval_dice_loss: offset must be finite, got nan"):
        dice.interval_dice_loss(_a(xp, [math.nan]), one)
    with pytest.raises(ValueError, match="interval_coverage: pixels must be a positive integer"):
        dice.interval_coverage(one, one, 0, 0)
    with pytest.raises(ValueError, match="interval_coverage: origin must be an integer, got 0.5"):
        dice.interval_coverage(one, one, 4, 0.5)
    with pytest.raises(ValueError, match="interval_coverage: start and length must have the"):
        dice.interval_coverage(_a(xp, [1.0, 2.0]), one, 4, 0)
    with pytest.raises(ValueError, match="rasterised_dice_loss: length must be a whole number"):
        dice.rasterised_dice_loss(one, _a(xp, [1.5]), 8, -4)
    with pytest.raises(ValueError, match=r"rasterised_dice_loss: the intervals must lie inside"):
        dice.rasterised_dice_loss(_a(xp, [5.0]), one, 4, 0)
    with pytest.raises(ValueError, match="expected_interval_dice_loss: sigma must be finite"):
        dice.expected_interval_dice_loss(1.0, 0.0)
    with pytest.raises(ValueError, match="expected_interval_dice_loss: length must be finite"):
        dice.expected_interval_dice_loss(np.array([1.0, math.inf]), 1.0)
