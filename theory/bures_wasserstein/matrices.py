r"""Symmetric matrix functions and the input checks of the Bures-Wasserstein family.

Everything here works on any array-API namespace and on stacks of matrices: an
array of shape ``(..., n, n)`` is a batch of n x n matrices, and every function
acts on the last two axes, keeping the leading (batch) axes.

Square roots and powers of positive semi-definite (PSD) matrices go through the
eigendecomposition of the *symmetrised* matrix, with eigenvalues clamped at zero
(``scipy.linalg.sqrtm`` and POT's NumPy ``sqrtm`` return NaN or complex values
when round-off makes an eigenvalue slightly negative; see the spec's pitfall 1).

Tolerances of the input checks (float64, unit roundoff u = 1.1e-16)
---------------------------------------------------------------------
- :data:`SYMMETRY_RTOL`: a matrix is accepted as symmetric when
  :math:`\max_{ij}|S_{ij}-S_{ji}| \le 10^{-10}\max_{ij}|S_{ij}|`. A product
  :math:`AA^\top` formed by a general matrix multiply is symmetric only up to
  about :math:`n u \max|S|`, below 1e-12 relative for n up to 10^4.
- :data:`PSD_RTOL`: a symmetric matrix is accepted as PSD when its smallest
  eigenvalue is at least :math:`-10^{-10}\|S\|_2`. An eigensolver returns the
  eigenvalues of a matrix within about :math:`n u \|S\|_2` (backward stability), so
  exact PSD input computed in float64 passes for n up to 10^4, while a genuinely
  indefinite matrix (an eigenvalue below -1e-10 of the largest) is rejected.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from theorycheck import validate
from theorycheck.backend import array_namespace

SYMMETRY_RTOL = 1e-10
"""Relative asymmetry accepted in a symmetric input (see the module docstring)."""

PSD_RTOL = 1e-10
"""Relative negative eigenvalue accepted in a PSD input (see the module docstring)."""


# --------------------------------------------------------------------------- validation


def square_matrices(x: Any, name: str, *, func: str) -> tuple[Any, ModuleType]:
    """Check a finite real floating array of shape ``(..., n, n)`` with n >= 1.

    Returns
    -------
    (x, xp)
        The array and its namespace.

    Raises
    ------
    ValueError
        Naming ``name`` and the offending dtype, shape or entry.
    """
    x, xp = validate.real_floating(x, name, func=func)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2] or x.shape[-1] == 0:
        raise ValueError(
            f"{func}: {name} must be a stack of square matrices (..., n, n) with n >= 1, "
            f"got shape {tuple(x.shape)}"
        )
    validate.finite(x, name, func=func, xp=xp)
    return x, xp


def matrices(x: Any, name: str, *, func: str) -> tuple[Any, ModuleType]:
    """Check a finite real floating array of shape ``(..., n, m)`` with n, m >= 1."""
    x, xp = validate.real_floating(x, name, func=func)
    if x.ndim < 2 or x.shape[-1] == 0 or x.shape[-2] == 0:
        raise ValueError(
            f"{func}: {name} must be a stack of matrices (..., n, m) with n, m >= 1, "
            f"got shape {tuple(x.shape)}"
        )
    validate.finite(x, name, func=func, xp=xp)
    return x, xp


def batch_shape(
    a: Any, b: Any, names: tuple[str, str], *, func: str, trailing: tuple[int, int] = (-1, -1)
) -> tuple[int, ...]:
    """The broadcast batch shape of two stacks of matrices; raise if they do not fit.

    ``trailing`` names the axes that must have equal lengths: ``(-1, -1)`` for two
    stacks of n x n matrices; ``(-2, -1)`` for W (n x m) against Sigma_0 (n x n).
    """
    if a.shape[trailing[0]] != b.shape[trailing[1]]:
        raise ValueError(
            f"{func}: {names[0]} and {names[1]} have mismatched dimensions: shapes "
            f"{tuple(a.shape)} and {tuple(b.shape)}"
        )
    try:
        return tuple(np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2])))
    except ValueError:
        raise ValueError(
            f"{func}: the batch axes of {names[0]} {tuple(a.shape)} and {names[1]} "
            f"{tuple(b.shape)} do not broadcast"
        ) from None


def _first_bad(mask: Any, xp: ModuleType) -> tuple[int, ...]:
    """Batch index of the first True entry of a boolean batch array."""
    if mask.ndim == 0:
        return ()
    return tuple(int(i[0]) for i in xp.nonzero(mask))


def check_symmetric(x: Any, name: str, *, func: str, xp: ModuleType) -> None:
    """Raise ``ValueError`` unless every matrix of the stack is symmetric (SYMMETRY_RTOL)."""
    asymmetry = xp.max(xp.abs(x - xp.matrix_transpose(x)), axis=(-2, -1))
    size = xp.max(xp.abs(x), axis=(-2, -1))
    bad = asymmetry > SYMMETRY_RTOL * size
    if bool(xp.any(bad)):
        index = _first_bad(bad, xp)
        raise ValueError(
            f"{func}: {name} must be symmetric; matrix {index} has "
            f"max|S - S^T| = {float(asymmetry[index]):.3g} against max|S| = "
            f"{float(size[index]):.3g} (relative tolerance {SYMMETRY_RTOL:g})"
        )


def check_psd_eigenvalues(eigenvalues: Any, name: str, *, func: str, xp: ModuleType) -> None:
    """Raise unless the smallest eigenvalue of each matrix is >= -PSD_RTOL * ||S||_2."""
    smallest = eigenvalues[..., 0]
    scale = xp.max(xp.abs(eigenvalues), axis=-1)
    bad = smallest < -PSD_RTOL * scale
    if bool(xp.any(bad)):
        index = _first_bad(bad, xp)
        raise ValueError(
            f"{func}: {name} must be positive semi-definite; matrix {index} has the "
            f"eigenvalue {float(smallest[index]):.6g} (largest |eigenvalue| "
            f"{float(scale[index]):.6g}, relative tolerance {PSD_RTOL:g})"
        )


def check_psd(x: Any, name: str, *, func: str, xp: ModuleType) -> None:
    """Raise unless each (symmetric) matrix is PSD within PSD_RTOL.

    Fast path: a Cholesky factorisation of :math:`S + \\delta I` with
    :math:`\\delta = \\mathrm{PSD\\_RTOL}\\max_{ij}|S_{ij}|` (at most
    PSD_RTOL times the spectral norm) succeeds exactly when S passes, up to the
    factorisation's backward error; only when it fails (or returns non-finite
    numbers, as some GPU solvers do instead of raising) are the eigenvalues
    computed, to decide with the exact criterion and to name the offender.
    """
    n = x.shape[-1]
    shift = PSD_RTOL * xp.max(xp.abs(x), axis=(-2, -1))
    eye = xp.eye(n, dtype=x.dtype)
    try:
        factor = xp.linalg.cholesky(x + shift[..., None, None] * eye)
        if bool(xp.all(xp.isfinite(factor))) and bool(xp.all(shift > 0)):
            return
    except Exception:  # LinAlgError (numpy, array-api-strict) or a backend's own error
        pass
    check_psd_eigenvalues(xp.linalg.eigvalsh(symmetrise(x)), name, func=func, xp=xp)


def psd_matrices(x: Any, name: str, *, func: str) -> tuple[Any, ModuleType]:
    """Validate a stack of symmetric PSD matrices and return it symmetrised, with xp."""
    x, xp = square_matrices(x, name, func=func)
    check_symmetric(x, name, func=func, xp=xp)
    check_psd(x, name, func=func, xp=xp)
    return symmetrise(x), xp


def positive_scalar(value: Any, name: str, *, func: str) -> float:
    """A finite real number > 0 (the perturbation tau, a step size, a time)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"{func}: {name} must be a positive real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{func}: {name} must be a positive real number, got {value!r}")
    return value


def integer_in_range(value: Any, name: str, low: int, high: int, *, func: str) -> int:
    """An integer in ``[low, high]``; ``ValueError`` naming the value and the range."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{func}: {name} must be an integer, got {value!r}")
    if not low <= int(value) <= high:
        raise ValueError(f"{func}: {name} must lie in [{low}, {high}], got {int(value)}")
    return int(value)


# --------------------------------------------------------------------------- matrix functions


def symmetrise(x: Any) -> Any:
    """:math:`(S + S^\\top)/2` of each matrix of the stack."""
    xp = array_namespace(x)
    return (x + xp.matrix_transpose(x)) / 2


def psd_eigh(x: Any, xp: ModuleType) -> tuple[Any, Any]:
    """Eigenvalues (ascending, clamped at 0) and eigenvectors of symmetrised PSD matrices."""
    eigenvalues, eigenvectors = xp.linalg.eigh(symmetrise(x))
    return xp.clip(eigenvalues, min=0.0), eigenvectors


def from_eigh(eigenvalues: Any, eigenvectors: Any, xp: ModuleType) -> Any:
    """:math:`V\\,\\mathrm{diag}(d)\\,V^\\top` for a stack of eigenpairs."""
    return (eigenvectors * eigenvalues[..., None, :]) @ xp.matrix_transpose(eigenvectors)


def psd_power(x: Any, exponent: float, xp: ModuleType) -> Any:
    r""":math:`S^p` of symmetric PSD matrices for :math:`p \ge 0` (eigenvalues clamped at 0).

    :math:`0^0 = 1`, so :math:`S^0 = I` also for singular S. Eigenvalues below
    :math:`n\epsilon\lambda_{\max}` are round-off of a zero eigenvalue and are set to 0:
    otherwise a fractional power would turn a round-off of 1e-16 into, e.g.,
    :math:`(10^{-16})^{1/3} \approx 5\cdot10^{-6}`.
    """
    eigenvalues, eigenvectors = psd_eigh(x, xp)
    if exponent == 0:
        return xp.eye(x.shape[-1], dtype=x.dtype) + 0 * x
    floor = (
        x.shape[-1] * float(np.finfo(np.float64).eps) * xp.max(eigenvalues, axis=-1, keepdims=True)
    )
    eigenvalues = xp.where(eigenvalues <= floor, 0.0, eigenvalues)
    return from_eigh(eigenvalues**exponent, eigenvectors, xp)


def psd_sqrt(x: Any, xp: ModuleType) -> Any:
    """The PSD square root :math:`S^{1/2}` (symmetrised, eigenvalues clamped at 0)."""
    eigenvalues, eigenvectors = psd_eigh(x, xp)
    return from_eigh(xp.sqrt(eigenvalues), eigenvectors, xp)


def pd_inverse_sqrt(x: Any, xp: ModuleType) -> Any:
    r""":math:`S^{-1/2}` of symmetric positive-definite matrices (caller ensures S > 0)."""
    eigenvalues, eigenvectors = xp.linalg.eigh(symmetrise(x))
    return from_eigh(1.0 / xp.sqrt(eigenvalues), eigenvectors, xp)


def trace(x: Any, xp: ModuleType) -> Any:
    """Trace of each matrix of the stack, shape ``(...)``."""
    return xp.linalg.trace(x)


def frobenius_inner(a: Any, b: Any, xp: ModuleType) -> Any:
    r""":math:`\langle A, B\rangle_F = \mathrm{tr}(A^\top B)` over the last two axes."""
    return xp.sum(a * b, axis=(-2, -1))


def frobenius_norm_squared(a: Any, xp: ModuleType) -> Any:
    r""":math:`\|A\|_F^2` over the last two axes."""
    return xp.sum(a * a, axis=(-2, -1))
