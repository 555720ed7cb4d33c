r"""Black-box losses for discrete generative models (math objects).

Kimpara, Frongillo & Waggoner, *Proper losses for discrete generative models*, ICML 2023.
A black-box loss sees k draws :math:`x_1,\dots,x_k\sim p` from the model and one draw
:math:`y\sim q` from the data; it is (strictly) black-box proper when
:math:`\mathbb E_{x\sim p^{\otimes k},y\sim q}\ell` is (uniquely) minimised at p = q.
The claims (``bbproper.brier-two-draws``, ``bbproper.one-draw-impossible``,
``bbproper.cross-entropy-random-draws`` of ``shared/claims/catalog.md`` §103) are in
:mod:`proofs_check.catalog.bbproper`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theorycheck.backend import array_namespace
from theorycheck.validate import finite, on_simplex, real_floating

PAPER = "bbproper"


def two_draw_brier_loss(first: Any, second: Any, target: Any) -> Any:
    r""":math:`\ell(x_1,x_2,y)=\mathbb 1[x_1=x_2]-2\cdot\mathbb 1[x_1=y]`, elementwise.

    Parameters
    ----------
    first, second : integer array
        Two model draws :math:`x_1,x_2`.
    target : integer array
        The data draw y (broadcast with the draws).

    Returns
    -------
    float64 array
    """
    xp = array_namespace(first, second, target)
    return xp.astype(first == second, xp.float64) - 2.0 * xp.astype(first == target, xp.float64)


def expected_loss(table: Any, p: Any, q: Any) -> Any:
    r""":math:`\mathbb E_{x\sim p^{\otimes k},\,y\sim q}\,\ell(x_1,\dots,x_k,y)` from a loss table.

    Parameters
    ----------
    table : array, shape (K,) * (k + 1)
        :math:`\ell(x_1,\dots,x_k,y)`, the data draw on the last axis.
    p : array, shape (..., K)
        Model distributions (rows on the simplex).
    q : array, shape (K,)
        The data distribution.

    Returns
    -------
    array, shape (...)

    Raises
    ------
    ValueError
        For a table that is not a (K, ..., K) cube with at least two axes, non-finite
        entries, or p, q off the simplex.
    """
    table, xp = real_floating(table, "table", func="expected_loss")
    size = table.shape[-1] if table.ndim else 0
    if table.ndim < 2 or any(s != size for s in table.shape):
        raise ValueError(
            f"expected_loss: table must have shape (K, ..., K), got {tuple(table.shape)}"
        )
    finite(table, "table", func="expected_loss", xp=xp)
    p, _ = real_floating(p, "p", func="expected_loss")
    q, _ = real_floating(q, "q", func="expected_loss")
    if p.shape[-1] != size or q.shape != (size,):
        raise ValueError(
            f"expected_loss: p must have shape (..., {size}) and q shape ({size},), "
            f"got {tuple(p.shape)} and {tuple(q.shape)}"
        )
    on_simplex(p, "p", func="expected_loss")
    on_simplex(q, "q", func="expected_loss")
    value = table @ q  # contract y: shape (K,) * k
    batch = p.shape[:-1]
    value = xp.broadcast_to(value, (*batch, *value.shape))
    while value.ndim > len(batch):
        value = xp.sum(
            value * xp.reshape(p, (*batch, *([1] * (value.ndim - len(batch) - 1)), size)), axis=-1
        )
    return value


def harmonic_number(count: Any) -> Any:
    r""":math:`H_n=\sum_{j=1}^n1/j` for integer arrays n >= 0 (:math:`H_0=0`).

    Raises
    ------
    ValueError
        For a negative count.
    """
    xp = array_namespace(count)
    if count.size and int(xp.min(count)) < 0:
        raise ValueError(f"harmonic_number: counts must be >= 0, got {int(xp.min(count))}")
    top = int(xp.max(count)) if count.size else 0
    table = xp.concat(
        [
            xp.zeros(1, dtype=xp.float64),
            xp.cumulative_sum(1.0 / xp.arange(1, top + 1, dtype=xp.float64)),
        ]
    )
    return (
        xp.take(table, xp.reshape(count, (-1,)), axis=0)
        if count.ndim == 1
        else xp.reshape(xp.take(table, xp.reshape(count, (-1,)), axis=0), count.shape)
    )


def draws_until_hit_loss(draws: Any, truncation: int | None = None) -> Any:
    r"""The random-draw cross-entropy loss :math:`H_{T-1}` (derived construction).

    Draw from the model until the first draw equals the target y; with T that number
    of draws, :math:`\ell=H_{T-1}`, whose conditional expectation is
    :math:`\sum_{k\ge1}(1-p_y)^k/k=-\log p_y`.

    Parameters
    ----------
    draws : integer array
        T >= 1 per instance.
    truncation : int, optional
        Stop after a fixed number of draws: :math:`H_{\min(T-1,k)}` (biased).
    """
    xp = array_namespace(draws)
    if draws.size and int(xp.min(draws)) < 1:
        raise ValueError(f"draws_until_hit_loss: T must be >= 1, got {int(xp.min(draws))}")
    count = draws - 1
    if truncation is not None:
        count = xp.minimum(count, truncation)
    return harmonic_number(count)


def poisson_log_ratio_loss(first_target_arrival: Any, first_arrival: Any) -> Any:
    r"""The Poisson-process version :math:`\ell=\log(\tau_y/\tau)`: the first arrival time of
    the target outcome over the first arrival time of any outcome (expectation
    :math:`-\log p_y`)."""
    x, xp = real_floating(
        first_target_arrival, "first_target_arrival", func="poisson_log_ratio_loss"
    )
    return xp.log(x / first_arrival)


def random_interior_distribution(rng: np.random.Generator, size: int) -> np.ndarray:
    """A distribution with every entry at least 0.05 / size (Dirichlet(1) mixed with uniform)."""
    return 0.95 * rng.dirichlet(np.ones(size)) + 0.05 / size
