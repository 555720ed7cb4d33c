r"""Randomised magnitude pruning as a sparse matrix sketch (fragment).

*Generalization Bounds for Magnitude-Based Pruning via Sparse Matrix Sketching* (2023);
claim ``prune.unbiased-sparsifier`` of ``shared/claims/catalog.md`` §81 [unconfirmed
numbering]. This is a **fragment**: the sparsifier the paper's bounds rest on, not its
generalization bounds. The keep probabilities and the sketch dimension of the paper are
not confirmed; the probabilities here are a parameter (:func:`keep_probabilities`, the
magnitude-proportional rule of Achlioptas & McSherry, capped at 1).

Notation. A weight matrix :math:`W\in\mathbb R^{d_1\times d_2}`, keep probabilities
:math:`p_{ij}\in[0,1]` (:math:`p_{ij}>0` wherever :math:`W_{ij}\ne0`), independent keep
indicators :math:`\xi_{ij}\sim\mathrm{Bernoulli}(p_{ij})` and the sparsifier
:math:`\hat W_{ij}=\xi_{ij}W_{ij}/p_{ij}`. Then (exact)

- :math:`\mathbb E\hat W=W` and :math:`\operatorname{Var}\hat W_{ij}=W_{ij}^2(1-p_{ij})/p_{ij}`;
- :math:`Z=\hat W-W=\sum_{ij}(\hat W_{ij}-W_{ij})e_ie_j^\top` is a sum of independent,
  centred, bounded matrices, so matrix Bernstein (Tropp 2015, Thms 1.6.2 and 6.1.1) gives
  :math:`\Pr[\|Z\|_2\ge t]\le(d_1+d_2)\exp\!\big(\frac{-t^2/2}{v+Lt/3}\big)` and
  :math:`\mathbb E\|Z\|_2\le\sqrt{2v\log(d_1+d_2)}+\frac L3\log(d_1+d_2)`, with
  :math:`v=\max(\max_i\sum_j\operatorname{Var}\hat W_{ij},\max_j\sum_i\operatorname{Var}
  \hat W_{ij})` and :math:`L=\max_{ij:\,0<p_{ij}<1}|W_{ij}|\max(1,(1-p_{ij})/p_{ij})`
  (:func:`bernstein_parameters`).

The claim itself is checked in :mod:`simulations.catalog.prune` (exact enumeration of the
keep patterns of small matrices, sampling for larger ones).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theorycheck import validate
from theorycheck.backend import array_namespace, to_numpy

PAPER = "prune"
"""Key of the paper in the seed catalog."""

MAX_ENUMERATED_ENTRIES = 16
"""Largest number of entries whose 2^E keep patterns :func:`keep_patterns` enumerates."""


# ------------------------------------------------------------------------------ validation


def _matrix(w: Any, name: str, func: str) -> tuple[Any, Any]:
    w = validate.finite_real_array(w, name, func=func, min_ndim=2)
    if w.shape[-1] < 1 or w.shape[-2] < 1:
        raise ValueError(f"{func}: {name} must have shape (..., d1, d2) with d1, d2 >= 1")
    return w, array_namespace(w)


def _probabilities(w: Any, p: Any, func: str) -> tuple[Any, Any, Any]:
    w, xp = _matrix(w, "w", func)
    p, _ = _matrix(p, "p", func)
    validate.same_shape(w, p, ("w", "p"), func=func)
    low, high = float(xp.min(p)), float(xp.max(p))
    if low < 0.0 or high > 1.0:
        raise ValueError(f"{func}: p must lie in [0, 1], got values in [{low}, {high}]")
    if bool(xp.any(xp.logical_and(p == 0.0, w != 0.0))):
        raise ValueError(f"{func}: p must be > 0 wherever w != 0 (else the sketch is biased)")
    return w, p, xp


def _mask(mask: Any, shape: tuple[int, ...], func: str) -> Any:
    dtype = getattr(mask, "dtype", None)
    try:
        xp = array_namespace(mask)
    except TypeError:
        xp = None
    if xp is None or not xp.isdtype(dtype, "bool"):
        raise ValueError(f"{func}: mask must be a boolean array, got {dtype or type(mask)}")
    if mask.ndim < 2 or tuple(mask.shape[-2:]) != tuple(shape[-2:]):
        raise ValueError(
            f"{func}: mask must have shape (..., {shape[-2]}, {shape[-1]}), got {mask.shape}"
        )
    return mask


# ------------------------------------------------------------------------------ sparsifier


def keep_probabilities(w: Any, budget: float, *, power: float = 1.0) -> Any:
    r"""Magnitude-based keep probabilities :math:`p_{ij}=\min(1,\,s|W_{ij}|^q/
    \sum_{kl}|W_{kl}|^q)`.

    With :math:`q=1` this is the :math:`\ell_1` (magnitude-proportional) sampling of
    Achlioptas & McSherry; the expected number of kept entries is at most s. The paper's
    own rule is not confirmed.

    Parameters
    ----------
    w : array, shape (..., d1, d2)
        Weights (finite, not all zero per matrix).
    budget : float
        s > 0, the expected number of kept entries before capping.
    power : float
        q > 0.

    Returns
    -------
    array, shape (..., d1, d2)
    """
    func = "keep_probabilities"
    w, xp = _matrix(w, "w", func)
    budget = validate.positive_number(budget, "budget", func=func)
    power = validate.positive_number(power, "power", func=func)
    magnitude = xp.abs(w) ** power
    total = xp.sum(xp.sum(magnitude, axis=-1, keepdims=True), axis=-2, keepdims=True)
    if bool(xp.any(total == 0.0)):
        raise ValueError(f"{func}: w must have a non-zero entry in every matrix")
    return xp.minimum(budget * magnitude / total, xp.ones_like(magnitude))


def sparsify(w: Any, p: Any, mask: Any, *, reweight: bool = True) -> Any:
    r"""The sparsifier :math:`\hat W_{ij}=\xi_{ij}W_{ij}/p_{ij}` for given keep indicators.

    Parameters
    ----------
    w : array, shape (d1, d2) or (..., d1, d2)
        Weights.
    p : array, shape of w
        Keep probabilities (> 0 wherever w != 0).
    mask : bool array, shape (..., d1, d2), broadcastable against w
        Keep indicators :math:`\xi`.
    reweight : bool
        Divide the kept entries by p (the unbiased sketch). ``False`` keeps them as they
        are (plain random pruning; a false variant for the negative control).

    Returns
    -------
    array, shape of the broadcast of w and mask
    """
    func = "sparsify"
    w, p, xp = _probabilities(w, p, func)
    mask = _mask(mask, tuple(w.shape), func)
    safe = xp.where(p > 0.0, p, xp.ones_like(p))
    kept = w / safe if reweight else w
    return xp.where(mask, kept, xp.zeros_like(kept))


def sparsifier_variance(w: Any, p: Any) -> Any:
    r"""Entrywise variance :math:`\operatorname{Var}\hat W_{ij}=W_{ij}^2(1-p_{ij})/p_{ij}`
    (0 where :math:`W_{ij}=0`).

    Parameters
    ----------
    w, p : array, shape (..., d1, d2)
        Weights and keep probabilities.

    Returns
    -------
    array, shape (..., d1, d2)
    """
    w, p, xp = _probabilities(w, p, "sparsifier_variance")
    safe = xp.where(p > 0.0, p, xp.ones_like(p))
    return w * w * (1.0 - p) / safe


def keep_masks(rng: np.random.Generator, p: Any, replicates: int) -> np.ndarray:
    r"""Independent keep indicators :math:`\xi_{ij}\sim\mathrm{Bernoulli}(p_{ij})`,
    replicates on the leading axis (NumPy; move them to a backend with ``ctx.asarray``).

    Parameters
    ----------
    rng : numpy.random.Generator
        The claim's seed stream.
    p : array, shape (d1, d2)
        Keep probabilities in [0, 1].
    replicates : int
        R >= 1.

    Returns
    -------
    ndarray of bool, shape (R, d1, d2)
    """
    func = "keep_masks"
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"{func}: rng must be a numpy Generator, got {type(rng).__name__}")
    p, xp = _matrix(p, "p", func)
    if float(xp.min(p)) < 0.0 or float(xp.max(p)) > 1.0:
        raise ValueError(
            f"{func}: p must lie in [0, 1], got values in [{float(xp.min(p))}, {float(xp.max(p))}]"
        )
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 1:
        raise ValueError(f"{func}: replicates must be an integer >= 1, got {replicates!r}")
    probabilities = np.asarray(to_numpy(p), dtype=float)
    return rng.random((replicates, *probabilities.shape)) < probabilities


def keep_patterns(p: Any) -> tuple[np.ndarray, np.ndarray]:
    r"""Every keep pattern :math:`\xi\in\{0,1\}^{d_1\times d_2}` with its probability
    :math:`\prod_{ij}p_{ij}^{\xi_{ij}}(1-p_{ij})^{1-\xi_{ij}}` (exact expectations are sums
    over the patterns).

    Parameters
    ----------
    p : array, shape (..., d1, d2)
        Keep probabilities in [0, 1], at most :data:`MAX_ENUMERATED_ENTRIES` entries per
        matrix.

    Returns
    -------
    masks : ndarray of bool, shape (2^E, d1, d2)
        The patterns (the same for every matrix of the batch), E = d1 d2.
    probabilities : ndarray, shape (..., 2^E)
        Their probabilities per matrix (they sum to 1).
    """
    func = "keep_patterns"
    p, xp = _matrix(p, "p", func)
    d1, d2 = p.shape[-2:]
    entries = d1 * d2
    if entries > MAX_ENUMERATED_ENTRIES:
        raise ValueError(
            f"{func}: {d1} x {d2} = {entries} entries give 2^{entries} patterns; at most "
            f"{MAX_ENUMERATED_ENTRIES} entries are enumerated"
        )
    probabilities = np.asarray(to_numpy(p), dtype=float)
    if probabilities.min() < 0.0 or probabilities.max() > 1.0:
        raise ValueError(
            f"{func}: p must lie in [0, 1], got values in "
            f"[{probabilities.min()}, {probabilities.max()}]"
        )
    bits = (np.arange(2**entries)[:, None] >> np.arange(entries)) & 1  # (2^E, E)
    masks = bits.astype(bool).reshape(-1, d1, d2)
    flat = probabilities.reshape(*probabilities.shape[:-2], 1, entries)
    factors = np.where(bits.astype(bool), flat, 1.0 - flat)  # (..., 2^E, E)
    return masks, np.prod(factors, axis=-1)


def spectral_norm(z: Any) -> Any:
    r"""Spectral norm :math:`\|Z\|_2` (largest singular value) of each matrix.

    Parameters
    ----------
    z : array, shape (..., d1, d2)

    Returns
    -------
    array, shape (...)
    """
    z, xp = _matrix(z, "z", "spectral_norm")
    return xp.linalg.matrix_norm(z, ord=2)


# ------------------------------------------------------------------------------ Bernstein


def bernstein_parameters(w: Any, p: Any, *, variance: Any = None) -> tuple[Any, Any]:
    r"""Matrix-Bernstein parameters of :math:`Z=\hat W-W`: the variance proxy
    :math:`v=\max(\|\mathbb EZZ^\top\|,\|\mathbb EZ^\top Z\|)` (the largest row or column sum
    of the entry variances) and the almost-sure bound
    :math:`L=\max_{ij:\,0<p_{ij}<1}|W_{ij}|\max(1,(1-p_{ij})/p_{ij})` of a summand.

    Parameters
    ----------
    w, p : array, shape (..., d1, d2)
        Weights and keep probabilities.
    variance : array, shape (..., d1, d2), optional
        Entry variances (default :func:`sparsifier_variance`).

    Returns
    -------
    v, L : arrays, shape (...)
    """
    func = "bernstein_parameters"
    w, p, xp = _probabilities(w, p, func)
    if variance is None:
        variance = sparsifier_variance(w, p)
    else:
        variance, _ = _matrix(variance, "variance", func)
        validate.same_shape(w, variance, ("w", "variance"), func=func)
    rows = xp.max(xp.sum(variance, axis=-1), axis=-1)
    columns = xp.max(xp.sum(variance, axis=-2), axis=-1)
    safe = xp.where(p > 0.0, p, xp.ones_like(p))
    random = xp.logical_and(p > 0.0, p < 1.0)
    summand = xp.abs(w) * xp.maximum((1.0 - p) / safe, xp.ones_like(p))
    bound = xp.where(random, summand, xp.zeros_like(summand))
    return xp.maximum(rows, columns), xp.max(xp.max(bound, axis=-1), axis=-1)


def _bernstein_inputs(v: Any, bound: Any, shape: Any, func: str) -> tuple[Any, Any, int]:
    v = np.asarray(to_numpy(v), dtype=float)
    bound = np.asarray(to_numpy(bound), dtype=float)
    if not (np.all(np.isfinite(v)) and np.all(v >= 0)):
        raise ValueError(f"{func}: v must be finite and >= 0, got {v}")
    if not (np.all(np.isfinite(bound)) and np.all(bound >= 0)):
        raise ValueError(f"{func}: L must be finite and >= 0, got {bound}")
    if (
        len(shape) != 2
        or any(isinstance(d, bool) or not isinstance(d, int | np.integer) for d in shape)
        or min(shape) < 1
    ):
        raise ValueError(f"{func}: shape must be (d1, d2) with positive integers, got {shape!r}")
    return v, bound, int(shape[0]) + int(shape[1])


def bernstein_tail(
    t: Any, v: Any, bound: Any, shape: tuple[int, int], *, dimension_factor: bool = True
) -> np.ndarray:
    r"""Matrix-Bernstein tail bound :math:`\Pr[\|Z\|_2\ge t]\le(d_1+d_2)
    \exp\!\big(\frac{-t^2/2}{v+Lt/3}\big)` (Tropp 2015, Thm 1.6.2).

    Parameters
    ----------
    t : array_like, shape (K,) or broadcastable
        Thresholds, > 0.
    v, bound : array_like
        The variance proxy v and summand bound L (:func:`bernstein_parameters`).
    shape : (int, int)
        :math:`(d_1,d_2)`.
    dimension_factor : bool
        Keep the factor :math:`d_1+d_2`. ``False`` drops it (a dimension-free variant,
        false in general; for the negative control).

    Returns
    -------
    ndarray, the broadcast of t, v and L (not clipped at 1)
    """
    func = "bernstein_tail"
    v, bound, dims = _bernstein_inputs(v, bound, shape, func)
    t = np.asarray(to_numpy(t), dtype=float)
    if not (np.all(np.isfinite(t)) and np.all(t > 0)):
        raise ValueError(f"{func}: t must be finite and > 0, got {t}")
    factor = dims if dimension_factor else 1.0
    return factor * np.exp(-(t * t / 2.0) / (v + bound * t / 3.0))


def bernstein_expectation(
    v: Any, bound: Any, shape: tuple[int, int], *, dimension_factor: bool = True
) -> np.ndarray:
    r"""Matrix-Bernstein expectation bound :math:`\mathbb E\|Z\|_2\le\sqrt{2v\log(d_1+d_2)}
    +\frac L3\log(d_1+d_2)` (Tropp 2015, Thm 6.1.1).

    Parameters
    ----------
    v, bound : array_like
        The variance proxy and summand bound (:func:`bernstein_parameters`).
    shape : (int, int)
        :math:`(d_1,d_2)`.
    dimension_factor : bool
        ``False`` replaces :math:`\log(d_1+d_2)` by 1 (the dimension-free variant
        :math:`\sqrt{2v}+L/3`, false in general; for the negative control).

    Returns
    -------
    ndarray, the broadcast of v and L
    """
    v, bound, dims = _bernstein_inputs(v, bound, shape, "bernstein_expectation")
    log_dims = math.log(dims) if dimension_factor else 1.0
    return np.sqrt(2.0 * v * log_dims) + bound * log_dims / 3.0
