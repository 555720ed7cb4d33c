"""Bad input and known values of the AMP quadratic fragment (``theory.catalog.amp``)."""

from __future__ import annotations

import numpy as np
import pytest

from theory.catalog import amp


def test_trust_region_maximum_known_values():
    # at the minimum: (eps^2 / 2) lambda_max
    assert amp.trust_region_maximum(np.zeros(2), np.diag([2.0, 1.0]), 1.0) == pytest.approx(
        1.0, abs=1e-14
    )
    # negative definite: the interior point -H^{-1} g, value g^T (-H)^{-1} g / 2
    value = amp.trust_region_maximum(np.array([0.1, 0.0]), -np.eye(2), 1.0)
    assert value == pytest.approx(0.005, abs=1e-15)
    # linear: eps |g|
    assert amp.trust_region_maximum(np.array([3.0, 4.0]), np.zeros((2, 2)), 0.5) == (
        pytest.approx(2.5, abs=1e-14)
    )


def test_bounds_bracket_the_increase_and_use_the_positive_part():
    gradient, hessian = np.array([0.1, 0.0]), -np.eye(2)
    lower, upper = amp.amp_increase_bounds(gradient, hessian, 1.0)
    value = amp.trust_region_maximum(gradient, hessian, 1.0)
    assert lower <= value <= upper
    assert upper == pytest.approx(0.1)  # eps |g| + 0: lambda_max = -1 contributes nothing


@pytest.mark.parametrize(
    "gradient, hessian, radius, message",
    [
        ([0.0, 0.0], [[1.0, 2.0], [0.0, 1.0]], 1.0, "hessian must be symmetric"),
        ([0.0, 0.0], [[np.nan, 0.0], [0.0, 1.0]], 1.0, "hessian must be finite"),
        ([0.0, 0.0], [[1.0, 0.0, 0.0]], 1.0, "hessian must be square"),
        ([0.0, 0.0], np.eye(2), 0.0, "radius must be a finite number > 0, got 0.0"),
        ([0.0, 0.0, 0.0], np.eye(2), 1.0, r"needs gradient \(2,\) and hessian \(2, 2\)"),
    ],
)
def test_trust_region_maximum_rejects_bad_input(gradient, hessian, radius, message):
    with pytest.raises(ValueError, match=f"^trust_region_maximum: {message}"):
        amp.trust_region_maximum(np.array(gradient), np.array(hessian), radius)


def test_bounds_reject_bad_input():
    with pytest.raises(ValueError, match=r"gradient must have shape \(2,\), got \(3,\)"):
        amp.amp_increase_bounds(np.zeros(3), np.eye(2), 1.0)
    with pytest.raises(ValueError, match="radius must be finite and > 0"):
        amp.amp_increase_bounds(np.zeros(2), np.eye(2), -1.0)
