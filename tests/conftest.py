"""Shared fixtures of the machinery tests."""

from __future__ import annotations

import numpy as np
import pytest

from theorycheck import registry
from theorycheck.backend import namespace, to_numpy
from theorycheck.checks import compare, nonnegative
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context

pytest_plugins = ["pytester"]


@pytest.fixture(params=["numpy", "array-api-strict"])
def xp(request):
    """Every array namespace that runs on CPU (cupy is exercised on a GPU machine)."""
    return namespace(request.param)


def on(xp, array, dtype=np.float64):
    """``array`` (anything NumPy reads) as an array of namespace ``xp``."""
    return xp.asarray(np.asarray(array, dtype=dtype))


def host(x) -> np.ndarray:
    """A NumPy copy of an array of any namespace."""
    return np.asarray(to_numpy(x))


@pytest.fixture
def isolated_registry(monkeypatch):
    """A registry that forgets the claims a test registers (content loaded first)."""
    registry.load_content()
    monkeypatch.setattr(registry, "_CLAIMS", dict(registry._CLAIMS))
    monkeypatch.setattr(registry, "_PLOTS", dict(registry._PLOTS))
    return registry


@pytest.fixture
def ctx():
    return Context.create("numpy", "quick", 0, label="test")


def register_toy_claims(reg) -> None:
    """Register three toy claims: true, false, and one whose check cannot fail."""

    def square_identity(ctx, exponent: float = 2.0) -> Evidence:
        x = ctx.rng(0).uniform(-3, 3, 200)
        return compare(x**exponent, x * x, atol=1e-12, inputs={"x": x})

    reg.claim(
        "toy.square",
        paper="toy2026",
        source="Eq. (1)",
        statement=r"x^2 = x \cdot x",
        method="numeric",
        provenance="derived",
        controls=[Control("cube", "x^3 = x x", {"exponent": 3.0})],
    )(square_identity)

    def false_bound(ctx, constant: float = 1.0) -> Evidence:
        x = ctx.rng(0).uniform(0, 2, 100)
        return nonnegative(constant - x, inputs={"x": x})

    reg.claim(
        "toy.false-bound",
        paper="toy2026",
        source="Lemma 2",
        statement=r"x \le 1 \text{ on } [0, 2]",
        method="numeric",
        provenance="confirmed",
        controls=[Control("half", "x <= 1/2", {"constant": 0.5})],
    )(false_bound)

    def weak_check(ctx, constant: float = 1.0) -> Evidence:
        x = np.abs(ctx.rng(0).uniform(-1, 1, 50))
        return nonnegative(np.full_like(x, 1.0), inputs={"x": x})  # ignores the constant

    reg.claim(
        "toy.weak",
        paper="toy2026",
        source="Lemma 3",
        statement=r"|x| \le 1",
        method="numeric",
        provenance="confirmed",
        controls=[Control("half", "|x| <= 1/2", {"constant": 0.5})],
    )(weak_check)
