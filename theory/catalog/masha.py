r"""MASHA (Beznosikov, Richtárik, Diskin, Ryabinin & Gasnikov, NeurIPS 2022).

*Distributed Methods with Compressed Communication for Solving Variational
Inequalities, with Theoretical Guarantees* (arXiv 2110.03313). Claims
(``shared/claims/catalog.md`` §93 and ``online_regret.md`` §8, both [unconfirmed
numbering]):

- ``masha.compressor-constants`` (here, ``numeric``): Rand-k,
  :math:`Q(x)=\frac dk\sum_{i\in S}x_ie_i` with S a uniformly random k-subset, is
  unbiased with :math:`\mathbb E\|Q(x)\|^2=\frac dk\|x\|^2`, i.e. variance parameter
  :math:`\omega=\frac dk-1` (the paper's :math:`q=d/k`); Top-k is contractive,
  :math:`\|C(x)-x\|^2\le(1-\frac kd)\|x\|^2` (:math:`\delta=k/d`).
- ``masha.linear-rate-bilinear`` (:mod:`simulations.catalog.masha`, ``monte-carlo``): on a
  strongly monotone regularised bilinear saddle problem split over M workers, MASHA1 with
  Rand-k drives :math:`\mathbb E\|z^k-z^*\|^2` to zero geometrically.

The problem. Worker m holds
:math:`f_m(x,y)=\frac\mu2\|x\|^2+x^\top A_my-\frac\mu2\|y\|^2+b_m^\top x-c_m^\top y`, so its
operator is affine, :math:`F_m(z)=J_mz+h_m` with
:math:`J_m=\begin{pmatrix}\mu I&A_m\\-A_m^\top&\mu I\end{pmatrix}`,
:math:`h_m=(b_m,c_m)`; :math:`F=\frac1M\sum_mF_m` is :math:`\mu`-strongly monotone (the
skew part cancels in :math:`\langle F(z)-F(z'),z-z'\rangle`) and :math:`z^*=-\bar J^{-1}\bar h`.
The workers are heterogeneous: :math:`F_m(z^*)\ne0` although :math:`\sum_mF_m(z^*)=0`.

MASHA1, reconstructed (the paper's Algorithm 1 as we read it: the loopless
variance-reduced extragradient of Alacaoglu & Malitsky with compressed corrections;
the server-side compression is the identity here). With refresh probability
:math:`p=1-\tau`:
:math:`\bar z^k=\tau z^k+(1-\tau)w^k`, :math:`z^{k+1/2}=\bar z^k-\gamma F(w^k)`, each worker
sends :math:`Q_m(F_m(z^{k+1/2})-F_m(w^k))`,
:math:`z^{k+1}=\bar z^k-\gamma\big(F(w^k)+\frac1M\sum_mQ_m(F_m(z^{k+1/2})-F_m(w^k))\big)`,
and :math:`w^{k+1}=z^{k+1}` with probability p (then the full :math:`F(w^{k+1})` is
communicated), else :math:`w^{k+1}=w^k`. Parameters (reconstructed, not the paper's
confirmed constants): :math:`p=1/q=k/d` and :math:`\gamma=\frac12\sqrt p/\hat L` with
:math:`\hat L^2=L^2+\frac{q-1}{M}\frac1M\sum_mL_m^2`, the mean-square Lipschitz constant of
the compressed estimator (:func:`masha1_parameters`).

Since every step is linear in :math:`(z-z^*,w-z^*)` given the masks and the coin, the
second moment of the error obeys an exact linear recursion (:func:`mean_square_operator`);
its spectral radius is the exact mean-square contraction factor of the instance.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.linalg
import scipy.stats

from theorycheck import checks, validate
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "masha"
"""Key of the paper in the seed catalog."""

UNIT_ROUNDOFF = 2.0**-53
COMPRESSORS = ("rand-k", "top-k")
FAMILY_LEVEL = 1e-3
"""Family-wise level of the sampled (Monte Carlo) comparisons (two-sided Bonferroni)."""


# ------------------------------------------------------------------------------ validation


def _integer(value: Any, name: str, func: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{func}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _dimension_and_k(d: Any, k: Any, func: str) -> tuple[int, int]:
    d = _integer(d, "d", func)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= d:
        raise ValueError(f"{func}: k must be an integer in [1, d] = [1, {d}], got {k!r}")
    return d, int(k)


def _vectors(x: Any, name: str, func: str) -> tuple[Any, Any]:
    x, xp = validate.real_floating(x, name, func=func)
    if x.ndim < 1 or x.shape[-1] < 1:
        raise ValueError(f"{func}: {name} must have shape (..., d) with d >= 1, got {x.shape}")
    validate.finite(x, name, func=func, xp=xp)
    return x, xp


def _positive(value: Any, name: str, func: str, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, int | float | np.floating) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{func}: {name} must be a {kind} finite number, got {value!r}")
    return float(value)


def _probability(value: Any, name: str, func: str) -> float:
    ok = isinstance(value, int | float | np.floating) and not isinstance(value, bool)
    if not ok or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{func}: {name} must be a probability in [0, 1], got {value!r}")
    return float(value)


# ------------------------------------------------------------------------------ compressors


def rand_k_subsets(d: int, k: int) -> np.ndarray:
    r"""Every k-subset S of :math:`\{0,\dots,d-1\}` as a row of indicators (lexicographic).

    Each subset has probability :math:`1/\binom dk` under Rand-k, so averages over the
    rows are exact expectations.

    Parameters
    ----------
    d, k : int
        Dimension and subset size, :math:`1\le k\le d` (at most :math:`10^6` subsets).

    Returns
    -------
    ndarray of bool, shape (C(d, k), d)
    """
    func = "rand_k_subsets"
    d, k = _dimension_and_k(d, k, func)
    count = math.comb(d, k)
    if count > 10**6:
        raise ValueError(f"{func}: C({d}, {k}) = {count} subsets is too many to enumerate")
    index = np.array(list(itertools.combinations(range(d), k)), dtype=np.intp)
    masks = np.zeros((count, d), dtype=bool)
    np.put_along_axis(masks, index, True, axis=1)
    return masks


def rand_k_masks(rng: np.random.Generator, shape: Sequence[int], d: int, k: int) -> np.ndarray:
    r"""Independent uniformly random k-subsets (the randomness of Rand-k), as indicators.

    The k smallest of d i.i.d. uniforms form a uniformly random k-subset (exchangeability).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness (a claim's ``ctx.rng(stream)``).
    shape : sequence of int
        Batch shape.
    d, k : int
        Dimension and subset size, :math:`1\le k\le d`.

    Returns
    -------
    ndarray of bool, shape (*shape, d)
        Exactly k True entries per row.
    """
    func = "rand_k_masks"
    d, k = _dimension_and_k(d, k, func)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"{func}: rng must be a numpy Generator, got {type(rng).__name__}")
    shape = tuple(_integer(s, "shape entry", func, minimum=0) for s in shape)
    uniforms = rng.random((*shape, d))
    kth = np.partition(uniforms, k - 1, axis=-1)[..., k - 1 : k]
    return uniforms <= kth


def rand_k(x: Any, mask: Any) -> Any:
    r"""Rand-k compression :math:`Q(x)=\frac dk\sum_{i\in S}x_ie_i` for given subsets S.

    Parameters
    ----------
    x : array, shape (..., d)
        Vectors to compress (finite).
    mask : bool array, shape broadcastable to x
        Indicators of the subsets S, each row with the same number k >= 1 of True entries.

    Returns
    -------
    array, shape of the broadcast
    """
    func = "rand_k"
    x, xp = _vectors(x, "x", func)
    if not hasattr(mask, "dtype") or not xp.isdtype(mask.dtype, "bool"):
        raise ValueError(
            f"{func}: mask must be a boolean array, got {getattr(mask, 'dtype', mask)}"
        )
    if mask.ndim < 1 or mask.shape[-1] != x.shape[-1]:
        raise ValueError(f"{func}: mask must have shape (..., {x.shape[-1]}), got {mask.shape}")
    sizes = xp.sum(xp.astype(mask, xp.int64), axis=-1)
    k = int(xp.max(sizes))
    if k < 1 or int(xp.min(sizes)) != k:
        raise ValueError(
            f"{func}: every mask row must select the same k >= 1 coordinates, got sizes "
            f"from {int(xp.min(sizes))} to {k}"
        )
    d = x.shape[-1]
    return (d / k) * xp.where(mask, x, xp.zeros_like(x))


def top_k(x: Any, k: int) -> Any:
    r"""Top-k compression: keep the k entries of largest magnitude (ties: lower index).

    Parameters
    ----------
    x : array, shape (..., d)
        Vectors to compress (finite).
    k : int
        Number of kept entries, :math:`1\le k\le d`.

    Returns
    -------
    array, shape (..., d)
    """
    func = "top_k"
    x, xp = _vectors(x, "x", func)
    d, k = _dimension_and_k(x.shape[-1], k, func)
    order = xp.argsort(-xp.abs(x), axis=-1, stable=True)
    rank = xp.argsort(order, axis=-1, stable=True)
    return xp.where(rank < k, x, xp.zeros_like(x))


def rand_k_omega(d: int, k: int) -> float:
    r"""Variance parameter of Rand-k, :math:`\omega=d/k-1`
    (:math:`\mathbb E\|Q(x)-x\|^2=\omega\|x\|^2`; the paper's :math:`q=\omega+1=d/k`)."""
    d, k = _dimension_and_k(d, k, "rand_k_omega")
    return d / k - 1.0


def top_k_contraction(d: int, k: int) -> float:
    r"""Contraction factor of Top-k, :math:`1-\delta` with :math:`\delta=k/d`
    (:math:`\|C(x)-x\|^2\le(1-\delta)\|x\|^2`)."""
    d, k = _dimension_and_k(d, k, "top_k_contraction")
    return 1.0 - k / d


def rand_k_moments(x: Any, k: int) -> tuple[Any, Any, Any]:
    r"""Exact moments of Rand-k by enumerating all :math:`\binom dk` subsets.

    Parameters
    ----------
    x : array, shape (..., d)
        Vectors (finite).
    k : int
        Subset size, :math:`1\le k\le d`.

    Returns
    -------
    mean : array, shape (..., d)
        :math:`\mathbb EQ(x)`.
    second : array, shape (...)
        :math:`\mathbb E\|Q(x)\|^2`.
    variance : array, shape (...)
        :math:`\mathbb E\|Q(x)-x\|^2`.
    """
    func = "rand_k_moments"
    x, xp = _vectors(x, "x", func)
    d, k = _dimension_and_k(x.shape[-1], k, func)
    masks = xp.asarray(rand_k_subsets(d, k))  # (C, d)
    compressed = rand_k(x[..., None, :], masks)  # (..., C, d)
    mean = xp.mean(compressed, axis=-2)
    second = xp.mean(xp.sum(compressed * compressed, axis=-1), axis=-1)
    error = compressed - x[..., None, :]
    variance = xp.mean(xp.sum(error * error, axis=-1), axis=-1)
    return mean, second, variance


# ------------------------------------------------------------------------------ saddle problem


def bilinear_saddle(
    couplings: Any, linear_x: Any, linear_y: Any, mu: float
) -> tuple[np.ndarray, np.ndarray]:
    r"""Affine operators :math:`F_m(z)=J_mz+h_m` of the regularised bilinear saddle problems
    :math:`\min_x\max_y\frac\mu2\|x\|^2+x^\top A_my-\frac\mu2\|y\|^2+b_m^\top x-c_m^\top y`.

    Parameters
    ----------
    couplings : array, shape (M, dx, dy)
        :math:`A_m`.
    linear_x : array, shape (M, dx)
        :math:`b_m`.
    linear_y : array, shape (M, dy)
        :math:`c_m`.
    mu : float
        Regularisation :math:`\mu>0` (the strong monotonicity of every :math:`F_m`).

    Returns
    -------
    jacobians : ndarray, shape (M, n, n), n = dx + dy
        :math:`J_m=\begin{pmatrix}\mu I&A_m\\-A_m^\top&\mu I\end{pmatrix}`.
    offsets : ndarray, shape (M, n)
        :math:`h_m=(b_m,c_m)`.
    """
    func = "bilinear_saddle"
    a = np.asarray(to_numpy(couplings), dtype=float)
    b = np.asarray(to_numpy(linear_x), dtype=float)
    c = np.asarray(to_numpy(linear_y), dtype=float)
    mu = _positive(mu, "mu", func)
    if a.ndim != 3 or b.shape != a.shape[:2] or c.shape != (a.shape[0], a.shape[2]):
        raise ValueError(
            f"{func}: need couplings (M, dx, dy), linear_x (M, dx), linear_y (M, dy); got "
            f"{a.shape}, {b.shape}, {c.shape}"
        )
    for name, arr in (("couplings", a), ("linear_x", b), ("linear_y", c)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{func}: {name} must be finite")
    workers, dx, dy = a.shape
    jac = np.zeros((workers, dx + dy, dx + dy))
    jac[:, :dx, :dx] = mu * np.eye(dx)
    jac[:, dx:, dx:] = mu * np.eye(dy)
    jac[:, :dx, dx:] = a
    jac[:, dx:, :dx] = -np.swapaxes(a, 1, 2)
    return jac, np.concatenate([b, c], axis=1)


def _operators(jacobians: Any, offsets: Any, func: str) -> tuple[np.ndarray, np.ndarray]:
    jac = np.asarray(to_numpy(jacobians), dtype=float)
    off = np.asarray(to_numpy(offsets), dtype=float)
    if jac.ndim != 3 or jac.shape[1] != jac.shape[2] or off.shape != jac.shape[:2]:
        raise ValueError(
            f"{func}: need jacobians (M, n, n) and offsets (M, n), got {jac.shape}, {off.shape}"
        )
    if not (np.all(np.isfinite(jac)) and np.all(np.isfinite(off))):
        raise ValueError(f"{func}: jacobians and offsets must be finite")
    return jac, off


def saddle_solution(jacobians: Any, offsets: Any) -> np.ndarray:
    r"""The solution :math:`z^*=-\bar J^{-1}\bar h` of :math:`F(z)=\frac1M\sum_mF_m(z)=0`.

    Parameters
    ----------
    jacobians : array, shape (M, n, n)
    offsets : array, shape (M, n)

    Returns
    -------
    ndarray, shape (n,)
    """
    jac, off = _operators(jacobians, offsets, "saddle_solution")
    return -np.linalg.solve(jac.mean(axis=0), off.mean(axis=0))


def worker_operators(z: Any, jacobians: Any, offsets: Any) -> Any:
    r"""All workers' operators :math:`F_m(z)=J_mz+h_m` at a batch of points.

    Parameters
    ----------
    z : array, shape (R, n)
        Points (one per replicate), on any backend.
    jacobians : array, shape (M, n, n)
    offsets : array, shape (M, n)

    Returns
    -------
    array, shape (R, M, n)
    """
    func = "worker_operators"
    z, xp = _vectors(z, "z", func)
    jac, off = _operators(jacobians, offsets, func)
    workers, n, _ = jac.shape
    if z.ndim != 2 or z.shape[1] != n:
        raise ValueError(f"{func}: z must have shape (R, {n}), got {z.shape}")
    stacked = xp.asarray(jac.reshape(workers * n, n).T.copy())
    values = xp.matmul(z, stacked)
    return xp.reshape(values, (z.shape[0], workers, n)) + xp.asarray(off)


def masha1_parameters(jacobians: Any, k: int) -> tuple[float, float]:
    r"""Step size and refresh probability of MASHA1 with Rand-k (reconstructed rule).

    :math:`p=1/q=k/d` (the expected cost of the full refresh, :math:`pd=k` floats, equals
    the compressed message) and :math:`\gamma=\frac12\sqrt p/\hat L`,
    :math:`\hat L^2=L^2+\frac{q-1}M\cdot\frac1M\sum_mL_m^2` with :math:`L=\|\bar J\|_2`,
    :math:`L_m=\|J_m\|_2` (Alacaoglu–Malitsky's step :math:`\sqrt{1-\tau}\,c/\hat L`,
    :math:`c=\frac12`). The paper's confirmed constants may differ.

    Parameters
    ----------
    jacobians : array, shape (M, n, n)
    k : int
        Rand-k subset size, :math:`1\le k\le n`.

    Returns
    -------
    gamma, p_refresh : float
    """
    func = "masha1_parameters"
    jac = np.asarray(to_numpy(jacobians), dtype=float)
    if jac.ndim != 3 or jac.shape[1] != jac.shape[2] or not np.all(np.isfinite(jac)):
        raise ValueError(f"{func}: jacobians must be a finite (M, n, n) array, got {jac.shape}")
    workers, n, _ = jac.shape
    n, k = _dimension_and_k(n, k, func)
    q = n / k
    lipschitz = np.linalg.norm(jac.mean(axis=0), 2)
    local = np.linalg.norm(jac, 2, axis=(1, 2))
    l_hat = math.sqrt(lipschitz**2 + (q - 1) / workers * float(np.mean(local**2)))
    p_refresh = 1.0 / q
    return 0.5 * math.sqrt(p_refresh) / l_hat, p_refresh


def masha1_step(
    state: tuple[Any, Any, Any],
    masks: Any,
    refresh: Any,
    jacobians: Any,
    offsets: Any,
    gamma: float,
    p_refresh: float,
    *,
    correction: bool = True,
) -> tuple[Any, Any, Any]:
    r"""One iteration of MASHA1 (Rand-k) for a batch of independent replicates.

    Parameters
    ----------
    state : tuple of arrays (z, w, fw)
        Iterates :math:`z^k` (R, n), anchors :math:`w^k` (R, n) and the workers'
        :math:`F_m(w^k)` (R, M, n), on any backend.
    masks : bool array, shape (R, M, n)
        The Rand-k subsets of each worker (same k for all).
    refresh : bool array, shape (R,)
        The server's coin :math:`b_k` (True with probability ``p_refresh``).
    jacobians, offsets : arrays, shapes (M, n, n), (M, n)
        The workers' affine operators.
    gamma : float
        Step size :math:`\gamma>0`.
    p_refresh : float
        Refresh probability :math:`p=1-\tau\in[0,1]` (sets :math:`\bar z=\tau z+(1-\tau)w`).
    correction : bool
        True for MASHA1; False sends :math:`Q_m(F_m(z^{k+1/2}))` without the anchor
        correction, :math:`z^{k+1}=\bar z^k-\frac\gamma M\sum_mQ_m(F_m(z^{k+1/2}))` (a naive
        variant, for controls).

    Returns
    -------
    tuple of arrays (z, w, fw) at iteration k + 1
    """
    func = "masha1_step"
    z, w, fw = state
    z, xp = _vectors(z, "z", func)
    w, _ = _vectors(w, "w", func)
    gamma = _positive(gamma, "gamma", func)
    p_refresh = _probability(p_refresh, "p_refresh", func)
    jac, off = _operators(jacobians, offsets, func)
    workers, n, _ = jac.shape
    shape = (z.shape[0], workers, n)
    if tuple(w.shape) != tuple(z.shape) or tuple(fw.shape) != shape:
        raise ValueError(
            f"{func}: need z, w (R, {n}) and fw {shape}, got {z.shape}, {w.shape}, {fw.shape}"
        )
    if tuple(masks.shape) != shape or tuple(refresh.shape) != (z.shape[0],):
        raise ValueError(
            f"{func}: need masks {shape} and refresh ({z.shape[0]},), got {masks.shape}, "
            f"{refresh.shape}"
        )
    tau = 1.0 - p_refresh
    z_bar = tau * z + p_refresh * w
    f_w = xp.mean(fw, axis=1)
    z_half = z_bar - gamma * f_w
    f_half = worker_operators(z_half, jac, off)
    if correction:
        messages = rand_k(f_half - fw, masks)
        z_new = z_bar - gamma * (f_w + xp.mean(messages, axis=1))
    else:
        messages = rand_k(f_half, masks)
        z_new = z_bar - gamma * xp.mean(messages, axis=1)
    w_new = xp.where(refresh[:, None], z_new, w)
    fw_new = xp.where(refresh[:, None, None], worker_operators(z_new, jac, off), fw)
    return z_new, w_new, fw_new


def mean_square_operator(
    jacobians: Any,
    offsets: Any,
    gamma: float,
    k: int,
    p_refresh: float,
    *,
    correction: bool = True,
) -> np.ndarray:
    r"""The exact linear map of the second moments of MASHA1's augmented error state.

    With :math:`s=(z-z^*,w-z^*,1)\in\mathbb R^{N}`, N = 2n + 1, one iteration is
    :math:`s'=A(\delta,b)s` with :math:`A=G_b+\sum_j\delta_jF_{b,j}` affine in the
    indicators :math:`\delta_j` (worker m, coordinate i) of the Rand-k subsets and
    b the refresh coin, so :math:`\mathbb E[s's'^\top]=\sum_bP(b)\sum_{j,l}
    \mathbb E[\delta_j\delta_l]F_{b,j}\Sigma F_{b,l}^\top` (with :math:`\delta_0=1`,
    :math:`F_{b,0}=G_b`) needs only the first two moments of the indicators:
    :math:`P(i\in S)=k/n`, :math:`P(i,l\in S)=\frac{k(k-1)}{n(n-1)}` within a worker,
    independent across workers.

    Parameters
    ----------
    jacobians, offsets : arrays, shapes (M, n, n), (M, n)
    gamma : float
        Step size, > 0.
    k : int
        Rand-k subset size, :math:`1\le k\le n`.
    p_refresh : float
        Refresh probability in [0, 1].
    correction : bool
        As in :func:`masha1_step`.

    Returns
    -------
    ndarray, shape (N*N, N*N)
        T with :math:`\mathrm{vec}\,\mathbb E[s_{k+1}s_{k+1}^\top]=T\,\mathrm{vec}\,
        \mathbb E[s_ks_k^\top]` (row-major vec).
    """
    func = "mean_square_operator"
    jac, off = _operators(jacobians, offsets, func)
    gamma = _positive(gamma, "gamma", func)
    p_refresh = _probability(p_refresh, "p_refresh", func)
    workers, n, _ = jac.shape
    n, k = _dimension_and_k(n, k, func)
    size = 2 * n + 1
    tau = 1.0 - p_refresh
    eye, zero, col = np.eye(n), np.zeros((n, n)), np.zeros((n, 1))
    z_star = saddle_solution(jac, off)
    at_solution = np.einsum("mij,j->mi", jac, z_star) + off  # F_m(z*), (M, n)
    e_bar = np.hstack([tau * eye, p_refresh * eye, col])
    e_w = np.hstack([zero, eye, col])
    e_half = e_bar - gamma * np.hstack([zero, jac.mean(axis=0), col])
    if correction:
        base = e_half
        rows = np.einsum("mij,jl->mil", jac, e_half - e_w)  # J_m (e_half - e_w)
    else:
        base = e_bar
        rows = np.einsum("mij,jl->mil", jac, e_half)
        rows[:, :, -1] += at_solution  # F_m(z_half) = J_m e_half + F_m(z*)
    one = np.zeros((1, size))
    one[0, -1] = 1.0
    scale = gamma * n / (k * workers)
    count = workers * n
    moments = np.empty((count + 1, count + 1))
    moments[0, 0] = 1.0
    moments[0, 1:] = moments[1:, 0] = k / n
    moments[1:, 1:] = (k / n) ** 2
    pair = k * (k - 1) / (n * (n - 1)) if n > 1 else 0.0
    within = np.full((n, n), pair)
    np.fill_diagonal(within, k / n)
    for m in range(workers):
        moments[1 + m * n : 1 + (m + 1) * n, 1 + m * n : 1 + (m + 1) * n] = within
    operator = np.zeros((size * size, size * size))
    for refreshed, probability in ((True, p_refresh), (False, tau)):
        if probability == 0.0:
            continue
        terms = np.zeros((count + 1, size, size))
        terms[0] = np.vstack([base, base if refreshed else e_w, one])
        for m in range(workers):
            for i in range(n):
                terms[1 + m * n + i, i] = -scale * rows[m, i]
                if refreshed:
                    terms[1 + m * n + i, n + i] = -scale * rows[m, i]
        flat = terms.reshape(count + 1, size * size)
        block = (flat.T @ moments @ flat).reshape(size, size, size, size)
        operator += probability * block.transpose(0, 2, 1, 3).reshape(size * size, size * size)
    return operator


def _homogeneous_index(n: int) -> np.ndarray:
    size = 2 * n + 1
    return np.array([a * size + b for a in range(2 * n) for b in range(2 * n)])


def mean_square_curve(operator: Any, error0: Any, steps: int) -> np.ndarray:
    r""":math:`\mathbb E\|z^k-z^*\|^2` for k = 0..steps from :math:`z^0=w^0=z^*+e_0`.

    Parameters
    ----------
    operator : array, shape (N*N, N*N)
        From :func:`mean_square_operator` (N = 2n + 1).
    error0 : array, shape (n,)
        :math:`e_0=z^0-z^*`.
    steps : int
        Number of iterations, >= 0.

    Returns
    -------
    ndarray, shape (steps + 1,)
    """
    func = "mean_square_curve"
    op = np.asarray(to_numpy(operator), dtype=float)
    e0 = np.asarray(to_numpy(error0), dtype=float)
    steps = _integer(steps, "steps", func, minimum=0)
    n = e0.shape[0] if e0.ndim == 1 else -1
    size = 2 * n + 1
    if n < 1 or op.shape != (size * size, size * size):
        raise ValueError(
            f"{func}: need error0 (n,) and operator ((2n+1)^2, (2n+1)^2), got {e0.shape}, "
            f"{op.shape}"
        )
    if not (np.all(np.isfinite(op)) and np.all(np.isfinite(e0))):
        raise ValueError(f"{func}: operator and error0 must be finite")
    s0 = np.concatenate([e0, e0, [1.0]])
    moment = np.outer(s0, s0).ravel()
    diagonal = np.array([i * size + i for i in range(n)])
    out = np.empty(steps + 1)
    for step in range(steps + 1):
        out[step] = moment[diagonal].sum()
        moment = op @ moment
    return out


def mean_square_limit(operator: Any, n: int) -> dict[str, float]:
    r"""Exact asymptotics of the mean-square recursion.

    Parameters
    ----------
    operator : array, shape (N*N, N*N), N = 2n + 1
        From :func:`mean_square_operator`.
    n : int
        Dimension of z.

    Returns
    -------
    dict
        ``rho``: spectral radius of the homogeneous block (the map of
        :math:`\mathbb E[ee^\top]`, e = (z - z*, w - z*)), the exact mean-square
        contraction factor; ``rho_tolerance``: a bound on its float64 error, the larger of
        the first-order bound :math:`\kappa(\lambda)\,\|T_h\|_F\,N_h\,u` (:math:`\kappa` the
        eigenvalue's condition number from left and right eigenvectors) and
        :math:`\sqrt{N_hu}\,\|T_h\|_F`, the accuracy of an eigenvalue in a Jordan block of
        size two (a repeated eigenvalue, as when the anchor is never refreshed);
        ``floor``: the limit of :math:`\mathbb E\|z^k-z^*\|^2` (the fixed point of the affine
        recursion, computed when rho < 1 - rho_tolerance; ``inf`` otherwise), zero exactly
        when the forcing terms vanish;
        ``floor_tolerance``: :math:`\mathrm{cond}_1(I-T)\,N^2u\,\max(1,\|x\|_\infty)`
        for that solve.
    """
    func = "mean_square_limit"
    n = _integer(n, "n", func)
    op = np.asarray(to_numpy(operator), dtype=float)
    size = 2 * n + 1
    if op.shape != (size * size, size * size) or not np.all(np.isfinite(op)):
        raise ValueError(f"{func}: operator must be a finite ({size**2}, {size**2}) array")
    index = _homogeneous_index(n)
    block = op[np.ix_(index, index)]
    values, left, right = scipy.linalg.eig(block, left=True, right=True)
    top = int(np.argmax(np.abs(values)))
    rho = float(np.abs(values[top]))
    overlap = abs(np.vdot(left[:, top], right[:, top]))
    kappa = (
        np.linalg.norm(left[:, top]) * np.linalg.norm(right[:, top]) / overlap
        if overlap > 0
        else math.inf
    )
    scale = float(np.linalg.norm(block))
    rho_tolerance = max(
        float(kappa * scale * block.shape[0] * UNIT_ROUNDOFF),
        math.sqrt(block.shape[0] * UNIT_ROUNDOFF) * scale,
    )
    result = {"rho": rho, "rho_tolerance": rho_tolerance, "floor": math.inf}
    result["floor_tolerance"] = math.inf
    if rho < 1.0 - rho_tolerance:
        last = size * size - 1
        rest = np.arange(last)
        system = np.eye(last) - op[np.ix_(rest, rest)]
        fixed = np.linalg.solve(system, op[rest, last])
        diagonal = np.array([i * size + i for i in range(n)])
        result["floor"] = float(fixed[diagonal].sum())
        result["floor_tolerance"] = float(
            np.linalg.cond(system, 1) * size**2 * UNIT_ROUNDOFF * max(1.0, np.abs(fixed).max())
        )
    return result


# ------------------------------------------------------------------------------ claim


def _bonferroni(count: int, family_level: float = FAMILY_LEVEL) -> float:
    return float(scipy.stats.norm.ppf(1 - family_level / (2 * count)))


def overstated_omega(d: int, k: int) -> float:
    r"""A false variance parameter :math:`\omega=d/k` (the second moment, not the variance)."""
    return d / k


def squared_top_k_contraction(d: int, k: int) -> float:
    r"""A false contraction factor :math:`(1-k/d)^2` for Top-k."""
    return (1.0 - k / d) ** 2


COMPRESSOR_CASES = ((4, 1), (5, 2), (6, 3), (8, 3), (10, 2), (10, 5), (12, 6))
"""(d, k) pairs enumerated exactly (at most C(12, 6) = 924 subsets)."""


@claim(
    "masha.compressor-constants",
    paper=PAPER,
    source="Sec. 2 (compressor definitions; Rand-k q = d/k, Top-k delta = k/d); numbering "
    "unconfirmed",
    statement=(
        r"\text{Rand-}k:\ \mathbb EQ(x)=x,\ \mathbb E\|Q(x)\|^2=\tfrac dk\|x\|^2\ "
        r"(\omega=\tfrac dk-1);\ \ \text{Top-}k:\ \|C(x)-x\|^2\le(1-\tfrac kd)\|x\|^2"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    notes="Standard compressor constants; the paper's section numbering is not confirmed.",
    controls=[
        Control(
            "top-k-unbiased",
            r"\text{Top-}k\text{ is unbiased: }\mathbb EC(x)=x",
            {"unbiased": ("rand-k", "top-k")},
        ),
        Control(
            "omega-is-d-over-k",
            r"\mathbb E\|Q(x)-x\|^2=\tfrac dk\|x\|^2",
            {"omega": overstated_omega},
        ),
        Control(
            "top-k-squared-factor",
            r"\|C(x)-x\|^2\le(1-\tfrac kd)^2\|x\|^2",
            {"contraction": squared_top_k_contraction},
        ),
    ],
)
def compressor_constants(
    ctx: Context,
    unbiased: Sequence[str] = ("rand-k",),
    omega: Callable[[int, int], float] = rand_k_omega,
    contraction: Callable[[int, int], float] = top_k_contraction,
) -> Evidence:
    r"""Exact enumeration of all k-subsets for the (d, k) of :data:`COMPRESSOR_CASES`, on
    Gaussian, heavy-tailed (Student t, 2 d.o.f.), sparse and equal-magnitude vectors (8
    per (d, k) quick, 40 full), plus a sampled check of :func:`rand_k_masks`.

    Parts: (exact) :math:`\mathbb EC(x)=x` for each compressor in ``unbiased`` (Top-k is
    deterministic, so its mean is itself), :math:`\mathbb E\|Q(x)\|^2=\frac dk\|x\|^2` and
    :math:`\mathbb E\|Q(x)-x\|^2=\omega(d,k)\|x\|^2`, each to the float64 rounding of a
    mean of :math:`C=\binom dk` terms of d-term sums: :math:`(C+d+8)u` (:math:`u=2^{-53}`;
    the recursive-summation bound, pairwise summation does better) relative to the
    vector's largest entry (means) or to :math:`\frac dk\|x\|^2` (second moments);
    (exact) :math:`\|C(x)-x\|^2\le` ``contraction(d, k)`` :math:`\|x\|^2` to
    :math:`(d+4)u\|x\|^2` (equal-magnitude vectors attain equality); (sampled) with
    :func:`rand_k_masks` (R = 20000 quick, 200000 full, one stream), the sample means of
    :math:`Q(x)` and of :math:`\|Q(x)-x\|^2` agree with x and :math:`\omega\|x\|^2` within
    z standard errors, z the two-sided Bonferroni quantile at family level 1e-3 over all
    coordinates and cases.
    """
    for name in unbiased:
        if name not in COMPRESSORS:
            raise ValueError(f"compressor_constants: unknown compressor {name!r}")
    rng = ctx.rng(0)
    per_case = ctx.pick(8, 40)
    parts: dict[str, Evidence] = {}
    mean_actual, mean_expected, mean_atol = [], [], []
    second_actual, second_expected, variance_actual, variance_expected, moment_rtol = (
        [],
        [],
        [],
        [],
        [],
    )
    top_slack, top_tol = [], []
    for d, k in COMPRESSOR_CASES:
        quarter = max(per_case // 4, 1)
        gaussian = rng.standard_normal((quarter, d))
        heavy = rng.standard_t(2.0, (quarter, d))
        sparse = rng.standard_normal((quarter, d)) * (rng.random((quarter, d)) < 0.3)
        sparse[:, 0] += 1.0  # never the zero vector
        equal = rng.choice([-1.0, 1.0], (per_case - 3 * quarter, d)) * rng.uniform(0.5, 2, (1, 1))
        x = np.concatenate([gaussian, heavy, sparse, equal])
        count = math.comb(d, k)
        norm2 = np.sum(x * x, axis=1)
        mean, second, variance = (
            np.asarray(to_numpy(v)) for v in rand_k_moments(ctx.asarray(x), k)
        )
        rtol = (count + d + 8) * UNIT_ROUNDOFF
        for name in unbiased:
            actual = mean if name == "rand-k" else np.asarray(to_numpy(top_k(ctx.asarray(x), k)))
            mean_actual.append(actual.ravel())  # coordinates of every vector, flattened
            mean_expected.append(x.ravel())
            mean_atol.append(rtol * np.repeat(np.abs(x).max(axis=1), d))
        second_actual.append(second)
        second_expected.append(d / k * norm2)
        variance_actual.append(variance)
        variance_expected.append(omega(d, k) * norm2)
        moment_rtol.append(np.full(x.shape[0], rtol))
        compressed = np.asarray(to_numpy(top_k(ctx.asarray(x), k)))
        residual = np.sum((compressed - x) ** 2, axis=1)
        top_slack.append(contraction(d, k) * norm2 - residual)
        top_tol.append((d + 4) * UNIT_ROUNDOFF * norm2)
    parts["E C(x) = x (exact enumeration)"] = checks.compare(
        np.concatenate(mean_actual), np.concatenate(mean_expected), atol=np.concatenate(mean_atol)
    )
    rtols = np.concatenate(moment_rtol)
    parts["E||Q(x)||^2 = (d/k)||x||^2 (exact)"] = checks.compare(
        np.concatenate(second_actual),
        np.concatenate(second_expected),
        atol=rtols * np.concatenate(second_expected),
    )
    expected_var = np.concatenate(variance_expected)
    parts["E||Q(x)-x||^2 = omega ||x||^2 (exact)"] = checks.compare(
        np.concatenate(variance_actual),
        expected_var,
        atol=rtols * np.maximum(np.abs(expected_var), np.concatenate(second_expected)),
    )
    slack = np.concatenate(top_slack)
    tol = np.concatenate(top_tol)
    parts["Top-k: ||C(x)-x||^2 <= factor ||x||^2"] = checks.nonnegative(slack + tol)

    # sampled: the random subsets of rand_k_masks give the same moments
    sample_rng = ctx.rng(1)
    draws = ctx.pick(20000, 200000)
    z_values, z_names = [], []
    comparisons = sum(d + 1 for d, _ in COMPRESSOR_CASES)
    z_crit = _bonferroni(comparisons)
    for d, k in COMPRESSOR_CASES:
        x = rng.standard_normal(d)
        masks = rand_k_masks(sample_rng, (draws,), d, k)
        compressed = np.asarray(
            to_numpy(rand_k(ctx.asarray(np.broadcast_to(x, (draws, d)).copy()), ctx.asarray(masks)))
        )
        sample_mean = compressed.mean(axis=0)
        sample_se = compressed.std(axis=0, ddof=1) / math.sqrt(draws)
        err2 = np.sum((compressed - x) ** 2, axis=1)
        # rounding allowance of a mean of `draws` terms (a variance can be exactly 0: when
        # d = 2k, ||Q(x) - x||^2 = ||x||^2 for every subset)
        rounding = (draws + d + 8) * UNIT_ROUNDOFF * (d / k)
        tiny = np.finfo(float).tiny
        z_mean = np.maximum(np.abs(sample_mean - x) - rounding * np.abs(x), 0) / np.maximum(
            sample_se, tiny
        )
        var_gap = max(abs(err2.mean() - omega(d, k) * x @ x) - rounding * (x @ x), 0.0)
        var_se = err2.std(ddof=1) / math.sqrt(draws)
        z_var = var_gap / var_se if var_se > 0 else (math.inf if var_gap > 0 else 0.0)
        z_values.append(np.append(z_mean, z_var))
        z_names.append((d, k))
    z_all = np.stack([np.max(z) for z in z_values])
    parts[f"sampled Rand-k moments within z = {z_crit:.2f} SE"] = checks.nonnegative(
        z_crit - z_all, inputs={"d_k": np.array(z_names)}
    )
    evidence = checks.combine(parts)
    evidence.details["Bonferroni z"] = z_crit
    evidence.details["cases (d, k)"] = [list(c) for c in COMPRESSOR_CASES]
    return evidence
