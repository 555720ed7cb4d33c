r"""SCoRe (Majee et al., *SCoRe: Submodular Combinatorial Representation Learning*, ICML 2024):
the set functions of its instantiations.

Claim ``score.submodularity`` (``shared/claims/catalog.md`` §17, [unconfirmed numbering]:
the exact parametrisation of each instantiation in the paper is not confirmed), checked in
:mod:`proofs_check.catalog.score`. On a ground set :math:`V=\{0,\dots,n-1\}` with a
similarity kernel S (symmetric, entries :math:`\ge0`; positive semidefinite for LogDet):

.. math::

    f_{FL}(A)=\sum_{i\in V}\max_{j\in A}S_{ij},\qquad
    f_{GC}(A)=\sum_{i\in A}\sum_{j\in V}S_{ij}-\lambda\sum_{i,j\in A}S_{ij},\qquad
    f_{LD}(A)=\log\det(S_{AA}+\varepsilon I),

with :math:`f_{FL}(\emptyset)=0` and :math:`f_{LD}(\emptyset)=\log\det()=0`. Subsets are
boolean masks, one per row, so that all :math:`2^n` subsets are evaluated in one call.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theorycheck import validate
from theorycheck.backend import array_namespace

PAPER = "score"
"""Key of the paper in the seed catalog."""

SYMMETRY_TOLERANCE = 1e-12
"""Relative asymmetry :math:`\\max|S-S^\\top|/\\max|S|` accepted (rounding of a product)."""


def subset_masks(n: int) -> np.ndarray:
    """All :math:`2^n` subsets of ``range(n)`` as boolean masks, row k is the bits of k.

    Parameters
    ----------
    n : int
        Size of the ground set, 1 to 16.

    Returns
    -------
    ndarray of bool, shape (2**n, n)
    """
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 16:
        raise ValueError(f"subset_masks: n must be an integer in [1, 16], got {n!r}")
    codes = np.arange(2**n)
    return (codes[:, None] >> np.arange(n)[None, :]) & 1 == 1


def _kernel_and_subsets(kernel: Any, subsets: Any, func: str, *, psd: bool = False) -> Any:
    kernel, xp = validate.real_floating(kernel, "kernel", func=func)
    validate.finite(kernel, "kernel", func=func, xp=xp)
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1] or kernel.shape[0] == 0:
        raise ValueError(f"{func}: kernel must be a non-empty square matrix, got {kernel.shape}")
    scale = max(float(xp.max(xp.abs(kernel))), 1e-300)
    asymmetry = float(xp.max(xp.abs(kernel - xp.matrix_transpose(kernel))))
    if asymmetry > SYMMETRY_TOLERANCE * scale:
        raise ValueError(f"{func}: kernel must be symmetric, max |S - S^T| = {asymmetry:.3g}")
    low = float(xp.min(kernel))
    if low < 0:
        raise ValueError(f"{func}: kernel entries must be >= 0, got {low}")
    if psd:
        smallest = float(xp.min(xp.linalg.eigvalsh(kernel)))
        n = kernel.shape[0]
        if smallest < -8 * n * 2.0**-53 * scale:  # eigvalsh is backward stable: |error| ~ n u ||S||
            raise ValueError(
                f"{func}: kernel must be positive semidefinite, smallest eigenvalue {smallest:.3g}"
            )
    try:
        subsets_xp = array_namespace(subsets)
    except TypeError:
        subsets_xp = None
    if subsets_xp is None or not xp.isdtype(subsets.dtype, "bool"):
        kind = getattr(subsets, "dtype", type(subsets).__name__)
        raise ValueError(f"{func}: subsets must be a boolean array, got {kind}")
    if subsets.ndim != 2 or subsets.shape[1] != kernel.shape[0]:
        raise ValueError(
            f"{func}: subsets must have shape (B, {kernel.shape[0]}), got {tuple(subsets.shape)}"
        )
    return xp


def facility_location(kernel: Any, subsets: Any) -> Any:
    r""":math:`f_{FL}(A)=\sum_{i\in V}\max_{j\in A}S_{ij}` (0 for the empty set).

    Parameters
    ----------
    kernel : array, shape (n, n)
        Symmetric similarity kernel with entries >= 0.
    subsets : array of bool, shape (B, n)
        One subset A per row.

    Returns
    -------
    array, shape (B,)
    """
    xp = _kernel_and_subsets(kernel, subsets, "facility_location")
    # entry (b, i, j) = S_ij if j in A_b else 0; since S >= 0, the max over j is 0 for A empty
    masked = xp.where(subsets[:, None, :], kernel[None, :, :], xp.zeros_like(kernel)[None, :, :])
    return xp.sum(xp.max(masked, axis=-1), axis=-1)


def graph_cut(kernel: Any, subsets: Any, lam: float) -> Any:
    r""":math:`f_{GC}(A)=\sum_{i\in A}\sum_{j\in V}S_{ij}-\lambda\sum_{i,j\in A}S_{ij}`.

    Parameters
    ----------
    kernel : array, shape (n, n)
        Symmetric similarity kernel with entries >= 0.
    subsets : array of bool, shape (B, n)
    lam : float
        The trade-off :math:`\lambda` (any finite real; the claims concern
        :math:`\lambda\ge0`).

    Returns
    -------
    array, shape (B,)
    """
    func = "graph_cut"
    xp = _kernel_and_subsets(kernel, subsets, func)
    if not isinstance(lam, int | float) or isinstance(lam, bool) or not math.isfinite(lam):
        raise ValueError(f"{func}: lam must be a finite number, got {lam!r}")
    m = xp.astype(subsets, kernel.dtype)
    coverage = m @ xp.sum(kernel, axis=1)
    inside = xp.sum((m @ kernel) * m, axis=1)
    return coverage - float(lam) * inside


def log_determinant(kernel: Any, subsets: Any, eps: float) -> Any:
    r""":math:`f_{LD}(A)=\log\det(S_{AA}+\varepsilon I)` (0 for the empty set).

    Evaluated as the log-determinant of the n x n matrix equal to
    :math:`S+\varepsilon I` on :math:`A\times A` and to the identity elsewhere, whose
    determinant is :math:`\det(S_{AA}+\varepsilon I)`.

    Parameters
    ----------
    kernel : array, shape (n, n)
        Symmetric positive semidefinite kernel with entries >= 0.
    subsets : array of bool, shape (B, n)
    eps : float
        Ridge :math:`\varepsilon>0`.

    Returns
    -------
    array, shape (B,)
    """
    func = "log_determinant"
    xp = _kernel_and_subsets(kernel, subsets, func, psd=True)
    if (
        not isinstance(eps, int | float)
        or isinstance(eps, bool)
        or not math.isfinite(eps)
        or not eps > 0
    ):
        raise ValueError(f"{func}: eps must be a finite number > 0, got {eps!r}")
    n = kernel.shape[0]
    identity = xp.eye(n, dtype=kernel.dtype)
    ridged = kernel + float(eps) * identity
    both = subsets[:, :, None] & subsets[:, None, :]
    matrices = xp.where(both, ridged[None, :, :], identity[None, :, :])
    return xp.linalg.slogdet(matrices).logabsdet
