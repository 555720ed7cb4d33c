r"""Weight conditioning (Saratchandran, Wang & Lucey, ECCV 2024): math objects of a fragment.

*Weight Conditioning for Smooth Optimization of Neural Networks*; claim
``wcond.kappa-reduction`` of ``shared/claims/catalog.md`` §109 [unconfirmed numbering],
checked in :mod:`proofs_check.catalog.wcond`. This is a **fragment**: the paper's
conditioning operator is **not confirmed** here (the abstract says only that it
"narrows the gap between the smallest and largest singular values" of a weight matrix).

The operator checked is a **reconstruction**: one cubic Newton-Schulz (polar) step on
the spectrally normalised weight,

.. math:: C(W)=\tfrac32X-\tfrac12XX^\top X,\qquad X=W/\|W\|_2,

which maps each singular value :math:`s=\sigma_i/\sigma_1\in(0,1]` of X to
:math:`f(s)=(3s-s^3)/2` and keeps the singular vectors; f is increasing on [0, 1] and
f(s)/s decreasing, so :math:`\kappa(C(W))=f(1)/f(1/\kappa)=2\kappa^3/(3\kappa^2-1)\le
\kappa=\kappa(W)`. For a linear least-squares layer :math:`\tfrac12\|Wx-y\|^2` the
Hessian in x is :math:`W^\top W`, with :math:`\kappa(W^\top W)=\kappa(W)^2`, so the
Hessian's condition number shrinks to :math:`\kappa(C(W))^2`.

A diagonal row equilibration (weight-normalisation-like, a Jacobi preconditioner) is
provided as the contrast: it does *not* always reduce :math:`\kappa`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theorycheck import validate
from theorycheck.backend import array_namespace

PAPER = "wcond"
"""Key of the paper in the seed catalog."""

EPS = float(np.finfo(np.float64).eps)


def _matrix(w: Any, func: str) -> Any:
    w = validate.finite_real_array(w, "w", func=func, min_ndim=2)
    if w.shape[-2] == 0 or w.shape[-1] == 0:
        raise ValueError(f"{func}: w must have non-empty last two axes, got {tuple(w.shape)}")
    return w


def condition_number(w: Any) -> Any:
    r"""Spectral condition number :math:`\kappa(W)=\sigma_{\max}/\sigma_{\min}`.

    Parameters
    ----------
    w : array, shape (..., m, n)
        Matrices; :math:`\sigma_{\min}` is the smallest of the min(m, n) singular
        values.

    Returns
    -------
    array, shape (...)
        Infinite where :math:`\sigma_{\min}=0`.

    Raises
    ------
    ValueError
        For a non-float or non-finite array, fewer than two axes or an empty matrix.
    """
    w = _matrix(w, "condition_number")
    xp = array_namespace(w)
    singular = xp.linalg.svdvals(w)
    largest = xp.max(singular, axis=-1)
    smallest = xp.min(singular, axis=-1)
    positive = smallest > 0
    return xp.where(
        positive, largest / xp.where(positive, smallest, 1.0), xp.full_like(largest, xp.inf)
    )


def newton_schulz_conditioning(w: Any) -> Any:
    r"""The reconstructed conditioning operator
    :math:`C(W)=\tfrac32X-\tfrac12XX^\top X`, :math:`X=W/\|W\|_2`.

    Not confirmed as the paper's operator (see the module docstring).

    Parameters
    ----------
    w : array, shape (..., m, n)
        Non-zero weight matrices.

    Returns
    -------
    array, shape (..., m, n)
        Same singular vectors; singular values :math:`(3s-s^3)/2` of
        :math:`s=\sigma_i/\sigma_1`.

    Raises
    ------
    ValueError
        For bad arrays (as :func:`condition_number`) or a zero matrix.
    """
    func = "newton_schulz_conditioning"
    w = _matrix(w, func)
    xp = array_namespace(w)
    norm = xp.linalg.matrix_norm(w, ord=2)
    if not bool(xp.all(norm > 0)):
        raise ValueError(f"{func}: w must be non-zero, got a zero matrix")
    x = w / norm[..., None, None]
    return 1.5 * x - 0.5 * xp.matmul(x, xp.matmul(xp.matrix_transpose(x), x))


def conditioned_condition_number(kappa: Any) -> Any:
    r"""Closed form :math:`\kappa(C(W))=f(1)/f(1/\kappa)=2\kappa^3/(3\kappa^2-1)`,
    :math:`f(s)=(3s-s^3)/2`.

    Parameters
    ----------
    kappa : float or array
        :math:`\kappa(W)\ge1`.

    Returns
    -------
    float or array
        Same shape as kappa; <= kappa, with equality only at :math:`\kappa=1`.

    Raises
    ------
    ValueError
        For kappa < 1 or not finite.
    """
    func = "conditioned_condition_number"
    if hasattr(kappa, "shape"):
        kappa = validate.finite_real_array(kappa, "kappa", func=func)
        xp = array_namespace(kappa)
        if kappa.ndim and kappa.shape[0] and not bool(xp.all(kappa >= 1)):
            raise ValueError(f"{func}: kappa must be >= 1, has entry {float(xp.min(kappa))}")
        if not kappa.ndim and not float(kappa) >= 1:
            raise ValueError(f"{func}: kappa must be >= 1, got {float(kappa)}")
    else:
        value = validate.positive_number(kappa, "kappa", func=func)
        if value < 1:
            raise ValueError(f"{func}: kappa must be >= 1, got {kappa!r}")
        kappa = value
    return 2 * kappa**3 / (3 * kappa**2 - 1)


def least_squares_hessian(w: Any) -> Any:
    r"""Hessian :math:`W^\top W` of the linear least-squares layer
    :math:`x\mapsto\tfrac12\|Wx-y\|^2` (in x; independent of x and y).

    Parameters
    ----------
    w : array, shape (..., m, n)

    Returns
    -------
    array, shape (..., n, n)
        Symmetric positive semi-definite; :math:`\kappa=\kappa(W)^2` when m >= n.

    Raises
    ------
    ValueError
        As :func:`condition_number`.
    """
    w = _matrix(w, "least_squares_hessian")
    xp = array_namespace(w)
    return xp.matmul(xp.matrix_transpose(w), w)


def row_equilibration(w: Any) -> Any:
    r"""Diagonal row scaling :math:`D^{-1}W`, :math:`D=\operatorname{diag}(\|w_i\|)`
    (every row, i.e. every output unit's weights, to unit norm: a Jacobi-type diagonal
    preconditioner, as weight normalisation with unit gains).

    A contrast, not the paper's operator: it can increase :math:`\kappa`.

    Parameters
    ----------
    w : array, shape (..., m, n)
        Matrices without zero rows.

    Returns
    -------
    array, shape (..., m, n)

    Raises
    ------
    ValueError
        For bad arrays (as :func:`condition_number`) or a zero row.
    """
    func = "row_equilibration"
    w = _matrix(w, func)
    xp = array_namespace(w)
    norms = xp.linalg.vector_norm(w, axis=-1, keepdims=True)
    if not bool(xp.all(norms > 0)):
        raise ValueError(f"{func}: w must have no zero row")
    return w / norms
