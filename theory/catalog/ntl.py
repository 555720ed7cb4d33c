r"""Number Token Loss (NTL): Wasserstein and MSE variants.

Zausinger et al., *Regress, Don't Guess -- A Regression-like Loss on Number Tokens for
Language Models*, ICML 2025, arXiv 2411.02083: claims ``ntl.was-closed-form`` and
``ntl.mse-blind-spot`` of ``shared/claims/catalog.md`` §34.

Number tokens carry values :math:`v_1<\dots<v_m`; the model's probabilities over them
(renormalised) are p; the ground truth is a value y (one of the :math:`v_k`) or a
distribution q on the same support.

.. math::
    \mathrm{NTL\text{-}WAS}=W_1\Big(\sum_ip_i\delta_{v_i},\delta_y\Big)=\sum_ip_i|v_i-y|,
    \qquad \mathrm{NTL\text{-}MSE}=\Big(\sum_ip_iv_i-y\Big)^2,

and :math:`W_1(p,q)=\sum_k|\sum_{i\le k}(p_i-q_i)|(v_{k+1}-v_k)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.stats

from theorycheck import checks
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim
from theorycheck.validate import finite, on_simplex, real_floating

PAPER = "ntl"
EPS = float(np.finfo(np.float64).eps)


def _validated(p: Any, values: Any, func: str) -> tuple[Any, Any, Any]:
    p, xp = real_floating(p, "p", func=func)
    values, _ = real_floating(values, "values", func=func)
    if values.ndim != 1 or p.ndim == 0 or p.shape[-1] != values.shape[0]:
        raise ValueError(
            f"{func}: values must have shape (m,) and p shape (..., m), "
            f"got {tuple(values.shape)} and {tuple(p.shape)}"
        )
    finite(values, "values", func=func, xp=xp)
    finite(p, "p", func=func, xp=xp)
    if values.shape[0] > 1 and float(xp.min(values[1:] - values[:-1])) <= 0:
        raise ValueError(f"{func}: values must be strictly increasing")
    on_simplex(p, "p", func=func)
    return p, values, xp


def ntl_wasserstein(p: Any, values: Any, y: Any) -> Any:
    r"""NTL-WAS against a point target: :math:`\sum_ip_i|v_i-y|`.

    Parameters
    ----------
    p : array, shape (..., m)
        Probabilities over the number tokens (rows on the simplex).
    values : array, shape (m,)
        Token values, strictly increasing.
    y : array, shape (...)
        Ground-truth values.

    Returns
    -------
    array, shape (...)

    Raises
    ------
    ValueError
        For shapes that do not match, non-finite input, values that do not
        increase or rows of p off the simplex.
    """
    p, values, xp = _validated(p, values, "ntl_wasserstein")
    y, _ = real_floating(y, "y", func="ntl_wasserstein")
    finite(y, "y", func="ntl_wasserstein", xp=xp)
    return xp.sum(p * xp.abs(values - y[..., None]), axis=-1)


def ntl_wasserstein_general(p: Any, q: Any, values: Any) -> Any:
    r""":math:`W_1(p,q)=\sum_{k<m}|\sum_{i\le k}(p_i-q_i)|\,(v_{k+1}-v_k)` on a common
    sorted support.

    Parameters
    ----------
    p, q : array, shape (..., m)
        Distributions over the token values.
    values : array, shape (m,)
        Token values, strictly increasing.
    """
    p, values, xp = _validated(p, values, "ntl_wasserstein_general")
    q, _, _ = _validated(q, values, "ntl_wasserstein_general")
    cdf_gap = xp.cumulative_sum(p - q, axis=-1)[..., :-1]
    return xp.sum(xp.abs(cdf_gap) * (values[1:] - values[:-1]), axis=-1)


def ntl_mse(p: Any, values: Any, y: Any) -> Any:
    r"""NTL-MSE: :math:`(\sum_ip_iv_i-y)^2`; arguments as :func:`ntl_wasserstein`."""
    p, values, xp = _validated(p, values, "ntl_mse")
    y, _ = real_floating(y, "y", func="ntl_mse")
    gap = xp.sum(p * values, axis=-1) - y
    return gap * gap


def expected_value_mae(p: Any, values: Any, y: Any) -> Any:
    r"""Control: :math:`|\sum_ip_iv_i-y|`, the absolute error of the expected value."""
    xp = array_namespace(p)
    return xp.abs(xp.sum(p * values, axis=-1) - y)


def random_distributions(rng: np.random.Generator, count: int, size: int) -> np.ndarray:
    """Rows on the simplex: dense Dirichlet(1), sparse (about 3 tokens), and near point masses."""
    kind = rng.integers(0, 3, (count, 1))
    dense = rng.dirichlet(np.ones(size), count)
    mask = rng.random((count, size)) < 3 / size
    mask[np.arange(count), rng.integers(0, size, count)] = True
    sparse = rng.gamma(1.0, size=(count, size)) * mask
    sparse /= sparse.sum(axis=1, keepdims=True)
    peak = np.eye(size)[rng.integers(0, size, count)]
    near = 0.98 * peak + 0.02 * dense
    return np.select([kind == 0, kind == 1], [dense, sparse], near)


def _on_backend(ctx: Context, fn: Callable[..., Any], *arrays: np.ndarray) -> np.ndarray:
    return np.asarray(to_numpy(fn(*(ctx.asarray(a) for a in arrays))), dtype=float)


def _supports(rng: np.random.Generator) -> list[np.ndarray]:
    """The digits 0..9, and sorted random real supports of 5 and 20 values."""
    return [
        np.arange(10.0),
        np.sort(rng.uniform(-50, 50, 5)),
        np.sort(rng.uniform(0, 1000, 20)),
    ]


@claim(
    "ntl.was-closed-form",
    paper=PAPER,
    source="Sec. 3 (NTL-WAS)",
    statement=(
        r"W_1\Big(\sum_ip_i\delta_{v_i},\delta_y\Big)=\sum_ip_i|v_i-y|;\ "
        r"W_1(p,q)=\sum_k\Big|\sum_{i\le k}(p_i-q_i)\Big|(v_{k+1}-v_k)"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "expected-value-mae",
            r"W_1\Big(\sum_ip_i\delta_{v_i},\delta_y\Big)=\Big|\sum_ip_iv_i-y\Big|",
            {"loss": expected_value_mae},
        )
    ],
)
def was_closed_form(ctx: Context, loss: Callable[..., Any] = ntl_wasserstein) -> Evidence:
    r"""The closed forms (backend) against ``scipy.stats.wasserstein_distance`` with weights.

    Supports: the digits 0..9 and random sorted reals (5 values in [-50, 50], 20 in
    [0, 1000]); p random (dense, sparse, near point masses); y a random support
    value; q random. Tolerance: both sides sum m <= 20 terms bounded by
    :math:`V=\max|v|` (SciPy through cumulative sums of the weights), so each is
    within about 2 m EPS V: atol 8 m EPS V.
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for values in _supports(rng):
        m = values.size
        count = ctx.pick(100, 1000)
        p = random_distributions(rng, count, m)
        q = random_distributions(rng, count, m)
        y = values[rng.integers(0, m, count)]
        atol = 8 * m * EPS * np.max(np.abs(values))
        inputs = {"p": p, "y": y}
        reference = [
            scipy.stats.wasserstein_distance(values, [t], row, [1.0])
            for row, t in zip(p, y, strict=True)
        ]
        parts[f"m={m}: point target"] = checks.compare(
            _on_backend(ctx, loss, p, values, y), reference, atol=atol, inputs=inputs
        )
        general = [
            scipy.stats.wasserstein_distance(values, values, a, b)
            for a, b in zip(p, q, strict=True)
        ]
        parts[f"m={m}: general target"] = checks.compare(
            _on_backend(ctx, ntl_wasserstein_general, p, q, values),
            general,
            atol=atol,
            inputs={"p": p, "q": q},
        )
    return checks.combine(parts)


# --------------------------------------------------------------------------- ntl.mse-blind-spot

ZERO = 1e-12
r"""Zero test: a point mass gives exactly 0 (one product 1 x 0); any other p on the digits
has NTL-WAS >= 1 - p_y >= 1e-6 here (integer spacing), far above it."""


def _blind_spot_instances(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Digits 0..9: point masses at y, random p, two- and three-point p with mean exactly y,
    and p = (1 - 1e-6) delta_y + 1e-6 delta_other."""
    y = rng.integers(1, 9, count)
    p = random_distributions(rng, count, 10)
    kind = rng.integers(0, 4, count)
    for i in range(count):
        if kind[i] == 0:
            p[i] = np.eye(10)[y[i]]
        elif kind[i] == 1:
            k = int(rng.integers(1, min(y[i], 9 - y[i]) + 1))
            p[i] = 0.5 * np.eye(10)[y[i] - k] + 0.5 * np.eye(10)[y[i] + k]
        elif kind[i] == 2:
            low, high = int(rng.integers(0, y[i])), int(rng.integers(y[i] + 1, 10))
            w_low = (high - y[i]) / (high - low)  # mean exactly y up to rounding
            p[i] = 0.5 * np.eye(10)[y[i]] + 0.5 * (
                w_low * np.eye(10)[low] + (1 - w_low) * np.eye(10)[high]
            )
        elif rng.random() < 0.5:
            other = (y[i] + int(rng.integers(1, 10))) % 10
            p[i] = (1 - 1e-6) * np.eye(10)[y[i]] + 1e-6 * np.eye(10)[other]
    return p, y.astype(float)


@claim(
    "ntl.mse-blind-spot",
    paper=PAPER,
    source="Sec. 3 (NTL-MSE vs NTL-WAS)",
    statement=(
        r"p=\tfrac12\delta_4+\tfrac12\delta_6,\ y=5:\ \mathrm{NTL\text{-}MSE}=0,\ "
        r"\mathrm{NTL\text{-}WAS}=1;\ \mathrm{NTL\text{-}WAS}=0\iff p=\delta_y"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "mse-zero-iff-point-mass",
            r"\mathrm{NTL\text{-}MSE}=0\Rightarrow p=\delta_y",
            {"loss": ntl_mse},
        )
    ],
)
def mse_blind_spot(ctx: Context, loss: Callable[..., Any] = ntl_wasserstein) -> Evidence:
    r"""The golden blind spot, then "``loss`` = 0 iff :math:`p=\delta_y`" by random search.

    Parts: at p = (δ_4 + δ_6)/2, y = 5, NTL-MSE is exactly 0 and ``loss`` is 1 (both
    exact in float64); on the digits, over point masses, random p, two- and
    three-point p with mean y (NTL-MSE 0) and near point masses, ``loss`` <=
    :data:`ZERO` exactly where p is a point mass at y.
    """
    values = np.arange(10.0)
    golden_p = np.zeros((1, 10))
    golden_p[0, [4, 6]] = 0.5
    golden_y = np.array([5.0])
    parts = {
        "golden: NTL-MSE = 0": checks.compare(
            _on_backend(ctx, ntl_mse, golden_p, values, golden_y), 0.0
        ),
        "golden: loss = 1": checks.compare(_on_backend(ctx, loss, golden_p, values, golden_y), 1.0),
    }
    p, y = _blind_spot_instances(ctx.rng(0), ctx.pick(400, 4000))
    point_mass = p[np.arange(y.size), y.astype(int)] == 1.0
    parts["loss = 0 iff p = delta_y"] = checks.agree(
        _on_backend(ctx, loss, p, values, y) <= ZERO,
        point_mass,
        inputs={"p": p, "y": y},
        names=("loss_zero", "point_mass"),
    )
    evidence = checks.combine(parts)
    mse = _on_backend(ctx, ntl_mse, p, values, y)
    evidence.details["non-degenerate p with NTL-MSE <= 1e-12"] = int(
        ((mse <= ZERO) & ~point_mass).sum()
    )
    return evidence
