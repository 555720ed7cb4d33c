r"""The Bures-Wasserstein distance between PSD matrices and its equivalent forms.

Bréchet, Papagiannouli, An & Montúfar, *Critical Points and Convergence Analysis of
Generative Deep Linear Networks Trained with Bures-Wasserstein Loss*, ICML 2023
(spec ``bw.def``, ``bw.otmap``):

.. math::

    B^2(\Sigma, \Sigma_0) = \mathrm{tr}\,\Sigma + \mathrm{tr}\,\Sigma_0
        - 2\,\mathrm{tr}\big(\Sigma_0^{1/2}\Sigma\Sigma_0^{1/2}\big)^{1/2}
        = W_2^2\big(\mathcal N(0,\Sigma), \mathcal N(0,\Sigma_0)\big)
        = \min_{O\in O(n)} \|\Sigma^{1/2} - \Sigma_0^{1/2} O\|_F^2 ,

and, for :math:`\Sigma = WW^\top`, the nuclear-norm form
:math:`L(W) = \|W\|_F^2 + \mathrm{tr}\,\Sigma_0 - 2\|\Sigma_0^{1/2}W\|_*`.

Computation
-----------
:func:`bures_wasserstein_squared` factors :math:`\Sigma = FF^\top` once (Cholesky when
Σ is numerically positive definite, else :math:`F = VD^{1/2}` from the
eigendecomposition with eigenvalues clamped at 0) and uses that
:math:`\Sigma^{1/2}\Sigma_0\Sigma^{1/2}` and :math:`F^\top\Sigma_0F` have the same
eigenvalues :math:`\mu` (:math:`F = \Sigma^{1/2}Q` for an orthogonal Q, by the polar
decomposition): :math:`\mathrm{tr}(\cdot)^{1/2} = \sum_i \sqrt{\max(\mu_i, 0)}`. One
Cholesky factorisation and one symmetric eigenvalue computation without vectors,
against two eigendecompositions with vectors in POT; no square root of a negative
round-off eigenvalue is ever taken. All functions accept stacks
``(..., n, n)`` whose batch axes broadcast.
"""

from __future__ import annotations

from typing import Any

from theory.bures_wasserstein.matrices import (
    batch_shape,
    check_psd,
    check_psd_eigenvalues,
    check_symmetric,
    frobenius_norm_squared,
    from_eigh,
    matrices,
    psd_eigh,
    psd_matrices,
    psd_sqrt,
    square_matrices,
    symmetrise,
    trace,
)
from theorycheck.backend import array_namespace

UNIT_ROUNDOFF = 2.0**-53
"""float64 unit roundoff u."""


def _validated_pair(sigma: Any, sigma_target: Any, func: str) -> tuple[Any, Any, Any]:
    """Validate two stacks of PSD matrices of the same size; return them symmetrised."""
    sigma, xp = square_matrices(sigma, "sigma", func=func)
    sigma_target, _ = square_matrices(sigma_target, "sigma_target", func=func)
    batch_shape(sigma, sigma_target, ("sigma", "sigma_target"), func=func)
    check_symmetric(sigma, "sigma", func=func, xp=xp)
    check_symmetric(sigma_target, "sigma_target", func=func, xp=xp)
    return symmetrise(sigma), symmetrise(sigma_target), xp


def bures_wasserstein_squared(sigma: Any, sigma_target: Any) -> Any:
    r"""The squared Bures-Wasserstein distance :math:`B^2(\Sigma, \Sigma_0)` (spec ``bw.def``).

    .. math:: B^2 = \mathrm{tr}\,\Sigma + \mathrm{tr}\,\Sigma_0
              - 2\,\mathrm{tr}(\Sigma^{1/2}\Sigma_0\Sigma^{1/2})^{1/2}

    (symmetric in its arguments). Stable at singular and near-singular inputs:
    both matrices are symmetrised and every eigenvalue is clamped at 0 before its
    square root; the result is clamped at 0 (B^2 >= 0 exactly).

    Parameters
    ----------
    sigma : array, shape (..., n, n)
        Symmetric PSD matrices :math:`\Sigma` (float, finite).
    sigma_target : array, shape (..., n, n)
        Symmetric PSD matrices :math:`\Sigma_0`; the batch axes broadcast with sigma's.

    Returns
    -------
    array, shape (...)
        :math:`B^2(\Sigma, \Sigma_0)`; absolute error about
        :math:`n u (\mathrm{tr}\,\Sigma + \mathrm{tr}\,\Sigma_0)` plus the square-root
        sensitivity at tiny eigenvalues.

    Raises
    ------
    ValueError
        Non-float or non-finite entries, non-square or mismatched matrices, batch
        axes that do not broadcast, asymmetry beyond ``SYMMETRY_RTOL`` or a negative
        eigenvalue beyond ``PSD_RTOL`` (both in :mod:`~theory.bures_wasserstein.matrices`).
    """
    func = "bures_wasserstein_squared"
    sigma, sigma_target, xp = _validated_pair(sigma, sigma_target, func)
    check_psd(sigma, "sigma", func=func, xp=xp)
    check_psd(sigma_target, "sigma_target", func=func, xp=xp)
    return _bures_from_factor(psd_factor(sigma, xp), trace(sigma, xp), sigma_target, xp)


def psd_factor(sigma: Any, xp: Any) -> Any:
    r"""A factor F with :math:`FF^\top = \Sigma` for symmetric PSD Σ (no validation).

    The Cholesky factor when every matrix of the batch is numerically positive
    definite (it exists and is backward stable: :math:`FF^\top = \Sigma + E`,
    :math:`\|E\| \le c\,nu\|\Sigma\|`); otherwise :math:`V\,\mathrm{diag}(\sqrt{\max(d,0)})`
    from the eigendecomposition, with round-off eigenvalues below zero clamped. A
    backend that signals a failed factorisation by non-finite numbers instead of an
    exception (some GPU solvers) takes the same fallback.
    """
    try:
        factor = xp.linalg.cholesky(sigma)
        if bool(xp.all(xp.isfinite(factor))):
            return factor
    except Exception:  # LinAlgError: a singular matrix in the batch
        pass
    eigenvalues, eigenvectors = xp.linalg.eigh(sigma)
    return eigenvectors * xp.sqrt(xp.clip(eigenvalues, min=0.0))[..., None, :]


def _bures_from_factor(factor: Any, trace_sigma: Any, sigma_target: Any, xp: Any) -> Any:
    r""":math:`B^2` from :math:`FF^\top = \Sigma`: the eigenvalues of :math:`F^\top\Sigma_0F` are
    those of :math:`\Sigma^{1/2}\Sigma_0\Sigma^{1/2}` (no validation)."""
    inner = xp.matrix_transpose(factor) @ sigma_target @ factor
    mu = xp.clip(xp.linalg.eigvalsh(symmetrise(inner)), min=0.0)
    value = trace_sigma + trace(sigma_target, xp) - 2 * xp.sum(xp.sqrt(mu), axis=-1)
    return xp.clip(value, min=0.0)


def _bures_from_eigh(eigenvalues: Any, eigenvectors: Any, sigma_target: Any, xp: Any) -> Any:
    """B^2 from the clamped eigenpairs of Sigma and a symmetric Sigma_0 (no validation)."""
    factor = eigenvectors * xp.sqrt(eigenvalues)[..., None, :]
    return _bures_from_factor(factor, xp.sum(eigenvalues, axis=-1), sigma_target, xp)


def bures_distance(sigma: Any, sigma_target: Any) -> Any:
    r"""The Bures distance :math:`B(\Sigma,\Sigma_0) = \sqrt{B^2}` (what POT's
    ``ot.gaussian.bures_distance`` returns). Shapes and errors as
    :func:`bures_wasserstein_squared`."""
    value = bures_wasserstein_squared(sigma, sigma_target)
    return array_namespace(value).sqrt(value)


def bures_procrustes(sigma: Any, sigma_target: Any) -> tuple[Any, Any]:
    r"""The Procrustes form :math:`\min_{O} \|\Sigma^{1/2} - \Sigma_0^{1/2}O\|_F^2` and its argmin.

    The minimiser is the polar factor :math:`O = UV^\top` of
    :math:`\Sigma_0^{1/2}\Sigma^{1/2} = USV^\top` (spec ``bw.def``, form 2); the value
    is then evaluated as the Frobenius norm itself, not through the nuclear norm.

    Parameters
    ----------
    sigma, sigma_target : array, shape (..., n, n)
        Symmetric PSD matrices (batch axes broadcast).

    Returns
    -------
    value : array, shape (...)
        :math:`\|\Sigma^{1/2} - \Sigma_0^{1/2}O\|_F^2`.
    rotation : array, shape (..., n, n)
        The orthogonal polar factor O.
    """
    func = "bures_procrustes"
    sigma, sigma_target, xp = psd_pair(sigma, sigma_target, func)
    root = psd_sqrt(sigma, xp)
    root_target = psd_sqrt(sigma_target, xp)
    left, _, right_t = xp.linalg.svd(root_target @ root, full_matrices=False)
    rotation = left @ right_t
    return frobenius_norm_squared(root - root_target @ rotation, xp), rotation


def psd_pair(sigma: Any, sigma_target: Any, func: str) -> tuple[Any, Any, Any]:
    """Validate two stacks of symmetric PSD n x n matrices; return them symmetrised and xp."""
    sigma, xp = psd_matrices(sigma, "sigma", func=func)
    sigma_target, _ = psd_matrices(sigma_target, "sigma_target", func=func)
    batch_shape(sigma, sigma_target, ("sigma", "sigma_target"), func=func)
    return sigma, sigma_target, xp


def bures_commuting_formula(sigma: Any, sigma_target: Any) -> Any:
    r"""The commuting-case formula :math:`\sum_i(\sqrt{\mu_i} - \sqrt{\lambda_i})^2`.

    :math:`\lambda_i, \omega_i` are the eigenpairs of :math:`\Sigma_0` and
    :math:`\mu_i = \omega_i^\top\Sigma\,\omega_i` the diagonal of Σ in that basis.
    Equal to :math:`B^2` when Σ and Σ_0 commute (spec ``bw.def``, properties); on
    a non-commuting pair it is *not* the distance (the spec's first control).

    Parameters
    ----------
    sigma, sigma_target : array, shape (..., n, n)
        Symmetric PSD matrices.

    Returns
    -------
    array, shape (...)
    """
    func = "bures_commuting_formula"
    sigma, sigma_target, xp = psd_pair(sigma, sigma_target, func)
    lam, omega = psd_eigh(sigma_target, xp)
    mu = xp.clip(xp.linalg.diagonal(xp.matrix_transpose(omega) @ sigma @ omega), min=0.0)
    return xp.sum((xp.sqrt(mu) - xp.sqrt(lam)) ** 2, axis=-1)


def bures_product_of_roots(sigma: Any, sigma_target: Any) -> Any:
    r"""The product of roots :math:`\mathrm{tr}\,\Sigma + \mathrm{tr}\,\Sigma_0
    - 2\,\mathrm{tr}(\Sigma^{1/2}\Sigma_0^{1/2})`.

    The product of the roots instead of the root of the product: equal to
    :math:`B^2` only for commuting pairs (the spec's second control for ``bw.def``).
    Shapes as :func:`bures_wasserstein_squared`.
    """
    func = "bures_product_of_roots"
    sigma, sigma_target, xp = psd_pair(sigma, sigma_target, func)
    cross = trace(psd_sqrt(sigma, xp) @ psd_sqrt(sigma_target, xp), xp)
    return trace(sigma, xp) + trace(sigma_target, xp) - 2 * cross


def bures_loss(weights: Any, sigma_target: Any) -> Any:
    r"""The loss :math:`L(W) = B^2(WW^\top, \Sigma_0)` in its nuclear-norm form.

    .. math:: L(W) = \|W\|_F^2 + \mathrm{tr}\,\Sigma_0 - 2\,\|\Sigma_0^{1/2}W\|_*

    (spec ``bw.def`` form 3, derived: :math:`\mathrm{tr}(R_0WW^\top R_0)^{1/2}` is
    the sum of the singular values of :math:`R_0W`, :math:`R_0=\Sigma_0^{1/2}`). No
    square root of a singular matrix is taken, so finite differences through this
    form stay accurate at rank-deficient :math:`WW^\top` (pitfall 1).

    Parameters
    ----------
    weights : array, shape (..., n, m)
        End-to-end matrices W.
    sigma_target : array, shape (..., n, n)
        Symmetric PSD targets :math:`\Sigma_0`; batch axes broadcast.

    Returns
    -------
    array, shape (...)
    """
    func = "bures_loss"
    weights, xp = matrices(weights, "weights", func=func)
    sigma_target, _ = psd_matrices(sigma_target, "sigma_target", func=func)
    batch_shape(weights, sigma_target, ("weights", "sigma_target"), func=func, trailing=(-2, -1))
    return nuclear_form(weights, psd_sqrt(sigma_target, xp), trace(sigma_target, xp), xp)


def nuclear_form(weights: Any, root_target: Any, trace_target: Any, xp: Any) -> Any:
    """:math:`\\|W\\|_F^2 + \\mathrm{tr}\\,\\Sigma_0 - 2\\|R_0W\\|_*` without validation."""
    singular_values = xp.linalg.svdvals(root_target @ weights)
    value = (
        frobenius_norm_squared(weights, xp) + trace_target - 2 * xp.sum(singular_values, axis=-1)
    )
    return xp.clip(value, min=0.0)


# --------------------------------------------------------------------------- transport maps


PD_RTOL = 64 * UNIT_ROUNDOFF
"""A matrix counts as positive definite when its smallest eigenvalue exceeds
``PD_RTOL`` times its largest: below that, ``S^{-1/2}`` has no correct digit
(its condition number would exceed ~1/(64 u))."""


def _positive_definite_eigh(x: Any, name: str, func: str, xp: Any) -> tuple[Any, Any]:
    eigenvalues, eigenvectors = xp.linalg.eigh(x)
    check_psd_eigenvalues(eigenvalues, name, func=func, xp=xp)
    smallest, largest = eigenvalues[..., 0], eigenvalues[..., -1]
    bad = smallest <= PD_RTOL * largest
    if bool(xp.any(bad)):
        index = tuple(int(i[0]) for i in xp.nonzero(bad)) if bad.ndim else ()
        raise ValueError(
            f"{func}: {name} must be positive definite (the transport map is not unique "
            f"otherwise); matrix {index} has the eigenvalue {float(smallest[index]):.6g} "
            f"against the largest {float(largest[index]):.6g}"
        )
    return eigenvalues, eigenvectors


def transport_map(sigma: Any, sigma_target: Any) -> Any:
    r"""The optimal transport map between centred Gaussians (spec ``bw.otmap``).

    .. math:: T = \Sigma^{-1/2}\big(\Sigma^{1/2}\Sigma_0\Sigma^{1/2}\big)^{1/2}\Sigma^{-1/2},

    which pushes :math:`\mathcal N(0,\Sigma)` to :math:`\mathcal N(0,\Sigma_0)`
    (:math:`T\Sigma T = \Sigma_0`). With :math:`\Sigma = VDV^\top`,
    :math:`F^\top\Sigma_0F = Q\,\mathrm{diag}(\mu)\,Q^\top` for :math:`F = VD^{1/2}`
    and :math:`G = VD^{-1/2}Q`, :math:`T = G\,\mathrm{diag}(\sqrt\mu)\,G^\top`:
    symmetric by construction.

    Parameters
    ----------
    sigma : array, shape (..., n, n)
        Symmetric positive-definite source covariances Σ.
    sigma_target : array, shape (..., n, n)
        Symmetric PSD target covariances Σ_0.

    Returns
    -------
    array, shape (..., n, n)
        T, symmetric PSD (positive definite when Σ_0 is).

    Raises
    ------
    ValueError
        As :func:`bures_wasserstein_squared`, and when Σ is not positive definite
        (smallest eigenvalue <= ``PD_RTOL`` times the largest): the map is then
        not unique (pitfall 3).
    """
    func = "transport_map"
    sigma, sigma_target, xp = _validated_pair(sigma, sigma_target, func)
    eigenvalues, eigenvectors = _positive_definite_eigh(sigma, "sigma", func, xp)
    check_psd(sigma_target, "sigma_target", func=func, xp=xp)
    return _transport_from_eigh(eigenvalues, eigenvectors, sigma_target, xp)


def _transport_from_eigh(eigenvalues: Any, eigenvectors: Any, sigma_target: Any, xp: Any) -> Any:
    root = xp.sqrt(eigenvalues)
    factor = eigenvectors * root[..., None, :]
    mu, q = xp.linalg.eigh(symmetrise(xp.matrix_transpose(factor) @ sigma_target @ factor))
    g = (eigenvectors / root[..., None, :]) @ q
    return from_eigh(xp.sqrt(xp.clip(mu, min=0.0)), g, xp)


def transport_map_target_form(sigma: Any, sigma_target: Any) -> Any:
    r"""The same map in the target's form :math:`T = R_0(R_0\Sigma R_0)^{-1/2}R_0`,
    :math:`R_0 = \Sigma_0^{1/2}` (spec ``bw.otmap``, equivalent form; the form of
    the authors' gradient). Needs both matrices positive definite.

    Parameters
    ----------
    sigma, sigma_target : array, shape (..., n, n)
        Symmetric positive-definite matrices.

    Returns
    -------
    array, shape (..., n, n)
    """
    func = "transport_map_target_form"
    sigma, sigma_target, xp = _validated_pair(sigma, sigma_target, func)
    _positive_definite_eigh(sigma, "sigma", func, xp)
    lam, omega = _positive_definite_eigh(sigma_target, "sigma_target", func, xp)
    root_target = from_eigh(xp.sqrt(lam), omega, xp)
    return _target_form(sigma, root_target, xp)


def _target_form(sigma: Any, root_target: Any, xp: Any) -> Any:
    """:math:`R_0(R_0\\Sigma R_0)^{-1/2}R_0` without validation (R_0 Σ R_0 must be > 0)."""
    a, q = xp.linalg.eigh(symmetrise(root_target @ sigma @ root_target))
    g = root_target @ q
    return from_eigh(1.0 / xp.sqrt(a), g, xp)


def transport_cost(sigma: Any, transport: Any) -> Any:
    r""":math:`\mathbb E\|X - TX\|^2 = \mathrm{tr}\,\Sigma - 2\,\mathrm{tr}(T\Sigma)
    + \mathrm{tr}(T\Sigma T^\top)` for :math:`X\sim\mathcal N(0,\Sigma)` and a linear
    map T (spec ``bw.otmap``: equal to :math:`B^2(\Sigma,\Sigma_0)` for the optimal map).

    Parameters
    ----------
    sigma : array, shape (..., n, n)
        Symmetric PSD covariances Σ.
    transport : array, shape (..., n, n)
        Any square matrices T (not necessarily symmetric); batch axes broadcast.

    Returns
    -------
    array, shape (...)
    """
    func = "transport_cost"
    sigma, xp = psd_matrices(sigma, "sigma", func=func)
    transport, _ = square_matrices(transport, "transport", func=func)
    batch_shape(sigma, transport, ("sigma", "transport"), func=func)
    pushed = transport @ sigma @ xp.matrix_transpose(transport)
    return trace(sigma, xp) - 2 * trace(transport @ sigma, xp) + trace(pushed, xp)


__all__ = [
    "PD_RTOL",
    "bures_commuting_formula",
    "bures_distance",
    "bures_loss",
    "bures_procrustes",
    "bures_product_of_roots",
    "bures_wasserstein_squared",
    "nuclear_form",
    "psd_pair",
    "transport_cost",
    "transport_map",
    "transport_map_target_form",
]
