r"""Gradients and Hessians of the Bures-Wasserstein losses; the Frobenius comparison loss.

Bréchet et al., ICML 2023 (spec ``bw.grad_sigma``, ``bw.grad_W``, ``bw.perturbed``,
``bw.hessian_spectra``, ``bw.strong_convexity``). With :math:`R_0 = \Sigma_0^{1/2}` and
:math:`T(\Sigma)` the optimal transport map from :math:`\mathcal N(0,\Sigma)` to
:math:`\mathcal N(0,\Sigma_0)`:

- in the covariance: :math:`\nabla_\Sigma B^2(\Sigma,\Sigma_0) = I - T(\Sigma)` for
  :math:`\Sigma \succ 0`;
- in the end-to-end matrix, where :math:`R_0W = USV^\top` has full rank
  :math:`\min(n,m)`: :math:`\nabla_W L(W) = 2(W - R_0UV^\top)`;
- on the rank-r stratum :math:`\mathcal M_r`, the Riemannian gradient
  :math:`2(W - R_0U_rV_r^\top)` (rank-r truncated SVD);
- the smooth perturbed loss :math:`L^\tau(W) = B^2(WW^\top + \tau I, \Sigma_0)`, with
  :math:`\nabla_W L^\tau = 2(I - T_\tau)W`, :math:`T_\tau = T(WW^\top+\tau I)`;
- the Frobenius loss :math:`L_F(W) = \|WW^\top - \Sigma_0\|_F^2` with gradient
  :math:`4(WW^\top - \Sigma_0)W` (the unscaled convention; pitfall 4).

Second derivatives use the target form :math:`T(\Sigma) = R_0 A^{-1/2} R_0`,
:math:`A = R_0\Sigma R_0 = Q\,\mathrm{diag}(a)\,Q^\top`, and the Daleckii-Krein formula:
the derivative of :math:`A\mapsto A^{-1/2}` in the direction E is
:math:`Q\,(\Gamma\circ Q^\top E Q)\,Q^\top` with the divided differences
:math:`\Gamma_{ij} = -1/(\sqrt{a_i}\sqrt{a_j}(\sqrt{a_i}+\sqrt{a_j}))`, a form free of
cancellation (also on the diagonal, :math:`-\tfrac12 a_i^{-3/2}`). These need
:math:`\Sigma_0 \succ 0`, as in the paper's setting.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory.bures_wasserstein.distance import (
    _bures_from_eigh,
    _positive_definite_eigh,
    _transport_from_eigh,
    _validated_pair,
    check_psd,
)
from theory.bures_wasserstein.matrices import (
    batch_shape,
    frobenius_norm_squared,
    from_eigh,
    integer_in_range,
    matrices,
    positive_scalar,
    psd_matrices,
    psd_sqrt,
    symmetrise,
)
from theorycheck import validate

EPSILON = float(np.finfo(np.float64).eps)
"""float64 machine epsilon (2u)."""


def bures_gradient_sigma(sigma: Any, sigma_target: Any) -> Any:
    r""":math:`\nabla_\Sigma B^2(\Sigma, \Sigma_0) = I - T` for :math:`\Sigma\succ0`.

    Spec ``bw.grad_sigma``.

    The gradient for the Frobenius inner product on symmetric matrices:
    :math:`\tfrac{d}{dt}B^2(\Sigma + tH, \Sigma_0)|_{t=0} = \langle I - T, H\rangle_F`.

    Parameters
    ----------
    sigma : array, shape (..., n, n)
        Symmetric positive-definite Σ.
    sigma_target : array, shape (..., n, n)
        Symmetric PSD Σ_0.

    Returns
    -------
    array, shape (..., n, n)
        Symmetric.
    """
    func = "bures_gradient_sigma"
    sigma, sigma_target, xp = _validated_pair(sigma, sigma_target, func)
    eigenvalues, eigenvectors = _positive_definite_eigh(sigma, "sigma", func, xp)
    check_psd(sigma_target, "sigma_target", func=func, xp=xp)
    transport = _transport_from_eigh(eigenvalues, eigenvectors, sigma_target, xp)
    return xp.eye(sigma.shape[-1], dtype=sigma.dtype) - transport


def validate_real_array(x: Any, name: str, func: str) -> tuple[Any, Any]:
    """A finite real floating array (any shape)."""
    x, xp = validate.real_floating(x, name, func=func)
    validate.finite(x, name, func=func, xp=xp)
    return x, xp


def _weights_and_target(weights: Any, sigma_target: Any, func: str) -> tuple[Any, Any, Any]:
    weights, xp = matrices(weights, "weights", func=func)
    sigma_target, _ = psd_matrices(sigma_target, "sigma_target", func=func)
    batch_shape(weights, sigma_target, ("weights", "sigma_target"), func=func, trailing=(-2, -1))
    return weights, sigma_target, xp


def rank_tolerance(shape: tuple[int, ...]) -> float:
    r"""Relative singular-value threshold of numerical rank, :math:`\max(n,m)\,\epsilon`
    (the default of ``numpy.linalg.matrix_rank``): a singular value below it times
    the largest is round-off."""
    return max(shape[-2], shape[-1]) * EPSILON


def bures_loss_gradient(weights: Any, sigma_target: Any) -> Any:
    r""":math:`\nabla_W L(W) = 2(W - R_0UV^\top)`, :math:`R_0W = USV^\top` (``bw.grad_W``).

    Valid where :math:`R_0W` has full rank :math:`\min(n,m)`; equal to
    :math:`2(I - T)W` when moreover :math:`WW^\top \succ 0`.

    Parameters
    ----------
    weights : array, shape (..., n, m)
        End-to-end matrices W.
    sigma_target : array, shape (..., n, n)
        Symmetric PSD Σ_0.

    Returns
    -------
    array, shape (..., n, m)

    Raises
    ------
    ValueError
        Also where :math:`R_0W` is numerically rank deficient (smallest singular value
        at most :func:`rank_tolerance` times the largest): L is not differentiable
        there (``bw.nondiff``).
    """
    func = "bures_loss_gradient"
    weights, sigma_target, xp = _weights_and_target(weights, sigma_target, func)
    product = psd_sqrt(sigma_target, xp) @ weights
    left, singular_values, right_t = xp.linalg.svd(product, full_matrices=False)
    bad = singular_values[..., -1] <= rank_tolerance(weights.shape) * singular_values[..., 0]
    if bool(xp.any(bad)):
        index = tuple(int(i[0]) for i in xp.nonzero(bad)) if bad.ndim else ()
        raise ValueError(
            f"{func}: Sigma_0^(1/2) W must have full rank {min(weights.shape[-2:])} for L to be "
            f"differentiable; matrix {index} has the singular values "
            f"{[float(v) for v in singular_values[(*index, ...)]]}"
        )
    return 2 * (weights - psd_sqrt(sigma_target, xp) @ (left @ right_t))


def bures_riemannian_gradient(weights: Any, sigma_target: Any, rank: int) -> Any:
    r"""The Riemannian gradient :math:`2(W - R_0U_rV_r^\top)` of :math:`L|_{\mathcal M_r}`.

    Spec ``bw.crit``.

    :math:`U_r, V_r` are the top-r singular vectors of :math:`R_0W`. For W of rank
    r the matrix lies in the tangent space of :math:`\mathcal M_r` at W (its row
    space is W's), so it is the Riemannian gradient itself; it vanishes exactly at
    the critical points of :math:`L` on the stratum.

    Parameters
    ----------
    weights : array, shape (..., n, m)
        Matrices W of rank r.
    sigma_target : array, shape (..., n, n)
        Symmetric positive-definite Σ_0.
    rank : int
        The stratum r, :math:`1 \le r \le \min(n, m)`.

    Returns
    -------
    array, shape (..., n, m)
    """
    func = "bures_riemannian_gradient"
    weights, sigma_target, xp = _weights_and_target(weights, sigma_target, func)
    rank = integer_in_range(rank, "rank", 1, min(weights.shape[-2:]), func=func)
    root = psd_sqrt(sigma_target, xp)
    left, _, right_t = xp.linalg.svd(root @ weights, full_matrices=False)
    polar = left[..., :rank] @ right_t[..., :rank, :]
    return 2 * (weights - root @ polar)


def _shifted_covariance(weights: Any, tau: float, xp: Any) -> Any:
    n = weights.shape[-2]
    return weights @ xp.matrix_transpose(weights) + tau * xp.eye(n, dtype=weights.dtype)


def perturbed_bures_loss(weights: Any, sigma_target: Any, tau: float) -> Any:
    r"""The smooth perturbed loss :math:`L^\tau(W) = B^2(WW^\top + \tau I_n, \Sigma_0)`.

    Spec ``bw.perturbed`` (the authors' ``models.py``).

    Parameters
    ----------
    weights : array, shape (..., n, m)
    sigma_target : array, shape (..., n, n)
        Symmetric PSD Σ_0.
    tau : float
        The perturbation :math:`\tau > 0`.

    Returns
    -------
    array, shape (...)
    """
    func = "perturbed_bures_loss"
    weights, sigma_target, xp = _weights_and_target(weights, sigma_target, func)
    tau = positive_scalar(tau, "tau", func=func)
    eigenvalues, eigenvectors = xp.linalg.eigh(symmetrise(_shifted_covariance(weights, tau, xp)))
    return _bures_from_eigh(xp.clip(eigenvalues, min=0.0), eigenvectors, sigma_target, xp)


def perturbed_bures_gradient(weights: Any, sigma_target: Any, tau: float) -> Any:
    r""":math:`\nabla_W L^\tau = 2(I - T_\tau)W`, :math:`T_\tau = T(WW^\top + \tau I)`.

    Equal to the authors' :math:`2(W - R_0(R_0(WW^\top+\tau I)R_0)^{-1/2}R_0W)`; computed
    in the source form, which needs only :math:`\Sigma_0 \succeq 0`.

    Parameters
    ----------
    weights : array, shape (..., n, m)
    sigma_target : array, shape (..., n, n)
        Symmetric PSD Σ_0.
    tau : float
        :math:`\tau > 0`.

    Returns
    -------
    array, shape (..., n, m)
    """
    func = "perturbed_bures_gradient"
    weights, sigma_target, xp = _weights_and_target(weights, sigma_target, func)
    tau = positive_scalar(tau, "tau", func=func)
    return _perturbed_gradient(weights, sigma_target, tau, xp)


def _perturbed_gradient(weights: Any, sigma_target: Any, tau: float, xp: Any) -> Any:
    eigenvalues, eigenvectors = xp.linalg.eigh(symmetrise(_shifted_covariance(weights, tau, xp)))
    transport = _transport_from_eigh(eigenvalues, eigenvectors, sigma_target, xp)
    return 2 * (weights - transport @ weights)


def frobenius_loss(weights: Any, sigma_target: Any) -> Any:
    r"""The comparison loss :math:`L_F(W) = \|WW^\top - \Sigma_0\|_F^2` (unscaled; pitfall 4).

    Parameters
    ----------
    weights : array, shape (..., n, m)
    sigma_target : array, shape (..., n, n)

    Returns
    -------
    array, shape (...)
    """
    weights, sigma_target, xp = _weights_and_target(weights, sigma_target, "frobenius_loss")
    return frobenius_norm_squared(weights @ xp.matrix_transpose(weights) - sigma_target, xp)


def frobenius_gradient(weights: Any, sigma_target: Any) -> Any:
    r""":math:`\nabla_W L_F = 4(WW^\top - \Sigma_0)W`. Shapes as :func:`frobenius_loss`."""
    weights, sigma_target, xp = _weights_and_target(weights, sigma_target, "frobenius_gradient")
    return 4 * (weights @ xp.matrix_transpose(weights) - sigma_target) @ weights


def frobenius_hvp(weights: Any, direction: Any, sigma_target: Any) -> Any:
    r"""Hessian-vector product of :math:`L_F`:
    :math:`4(WD^\top + DW^\top)W + 4(WW^\top - \Sigma_0)D`.

    Parameters
    ----------
    weights : array, shape (..., n, m)
    direction : array, shape (..., n, m)
        Batch axes broadcast with those of weights and sigma_target.
    sigma_target : array, shape (..., n, n)

    Returns
    -------
    array, shape (..., n, m)
    """
    func = "frobenius_hvp"
    weights, sigma_target, xp = _weights_and_target(weights, sigma_target, func)
    direction, _ = matrices(direction, "direction", func=func)
    batch_shape(weights, direction, ("weights", "direction"), func=func, trailing=(-2, -2))
    batch_shape(weights, direction, ("weights", "direction"), func=func, trailing=(-1, -1))
    return _frobenius_hvp(weights, direction, sigma_target, xp)


def _frobenius_hvp(weights: Any, direction: Any, sigma_target: Any, xp: Any) -> Any:
    wt = xp.matrix_transpose
    cross = weights @ wt(direction) + direction @ wt(weights)
    return 4 * cross @ weights + 4 * (weights @ wt(weights) - sigma_target) @ direction


def _inverse_sqrt_divided_differences(a: Any, xp: Any) -> Any:
    r""":math:`\Gamma_{ij} = -1/(\sqrt{a_i}\sqrt{a_j}(\sqrt{a_i}+\sqrt{a_j}))`, (..., n, n)."""
    root = xp.sqrt(a)
    return -1.0 / (
        root[..., :, None] * root[..., None, :] * (root[..., :, None] + root[..., None, :])
    )


def _transport_derivative(sigma: Any, root_target: Any, direction: Any, xp: Any) -> Any:
    r"""Derivative of :math:`\Sigma\mapsto T(\Sigma)=R_0(R_0\Sigma R_0)^{-1/2}R_0` along E."""
    a, q = xp.linalg.eigh(symmetrise(root_target @ sigma @ root_target))
    g = root_target @ q
    rotated = xp.matrix_transpose(g) @ direction @ g
    return g @ (_inverse_sqrt_divided_differences(a, xp) * rotated) @ xp.matrix_transpose(g)


def _positive_definite_target(sigma_target: Any, func: str) -> tuple[Any, Any, Any]:
    sigma_target, xp = psd_matrices(sigma_target, "sigma_target", func=func)
    lam, omega = _positive_definite_eigh(sigma_target, "sigma_target", func, xp)
    return sigma_target, from_eigh(xp.sqrt(lam), omega, xp), xp


def perturbed_bures_hvp(weights: Any, direction: Any, sigma_target: Any, tau: float) -> Any:
    r"""Hessian-vector product of :math:`L^\tau` in W (``bw.hessian_spectra``).

    .. math:: \nabla^2 L^\tau(W)[D] = 2(I - T_\tau)D - 2\,DT_\tau[WD^\top + DW^\top]\,W

    with :math:`DT` the derivative of the transport map (module docstring).
    Setting ``tau`` to 0 is *not* allowed here; at full-rank W use a tiny τ or
    :func:`bures_hvp`.

    Parameters
    ----------
    weights : array, shape (..., n, m)
    direction : array, shape (..., n, m)
        Batch axes broadcast.
    sigma_target : array, shape (..., n, n)
        Symmetric positive-definite Σ_0.
    tau : float
        :math:`\tau > 0`.

    Returns
    -------
    array, shape (..., n, m)
    """
    func = "perturbed_bures_hvp"
    weights, xp = matrices(weights, "weights", func=func)
    direction, _ = matrices(direction, "direction", func=func)
    sigma_target, root_target, _ = _positive_definite_target(sigma_target, func)
    batch_shape(weights, sigma_target, ("weights", "sigma_target"), func=func, trailing=(-2, -1))
    batch_shape(weights, direction, ("weights", "direction"), func=func, trailing=(-2, -2))
    batch_shape(weights, direction, ("weights", "direction"), func=func, trailing=(-1, -1))
    tau = positive_scalar(tau, "tau", func=func)
    return _bures_hvp(weights, direction, sigma_target, root_target, tau, xp)


def _bures_hvp(
    weights: Any, direction: Any, sigma_target: Any, root_target: Any, tau: float, xp: Any
) -> Any:
    wt = xp.matrix_transpose
    shifted = _shifted_covariance(weights, tau, xp)
    transport = _target_form_from_root(shifted, root_target, xp)
    cross = weights @ wt(direction) + direction @ wt(weights)
    derivative = _transport_derivative(shifted, root_target, cross, xp)
    return 2 * (direction - transport @ direction) - 2 * derivative @ weights


def _target_form_from_root(sigma: Any, root_target: Any, xp: Any) -> Any:
    a, q = xp.linalg.eigh(symmetrise(root_target @ sigma @ root_target))
    return from_eigh(1.0 / xp.sqrt(a), root_target @ q, xp)


def bures_hvp(weights: Any, direction: Any, sigma_target: Any) -> Any:
    r"""Hessian-vector product of the unperturbed L at W with :math:`WW^\top \succ 0` (n <= m).

    The formula of :func:`perturbed_bures_hvp` at τ = 0. Raises ``ValueError`` when
    :math:`WW^\top` is not positive definite (L is not twice differentiable there
    in general; ``bw.nondiff``).
    """
    func = "bures_hvp"
    weights, xp = matrices(weights, "weights", func=func)
    direction, _ = matrices(direction, "direction", func=func)
    sigma_target, root_target, _ = _positive_definite_target(sigma_target, func)
    batch_shape(weights, sigma_target, ("weights", "sigma_target"), func=func, trailing=(-2, -1))
    batch_shape(weights, direction, ("weights", "direction"), func=func, trailing=(-2, -2))
    gram = weights @ xp.matrix_transpose(weights)
    _positive_definite_eigh(symmetrise(gram), "W W^T", func, xp)
    wt = xp.matrix_transpose
    transport = _target_form_from_root(gram, root_target, xp)
    cross = weights @ wt(direction) + direction @ wt(weights)
    derivative = _transport_derivative(gram, root_target, cross, xp)
    return 2 * (direction - transport @ direction) - 2 * derivative @ weights


def symmetric_basis(n: int, xp: Any, dtype: Any = None) -> Any:
    r"""An orthonormal basis of the symmetric n x n matrices (Frobenius inner product).

    :math:`e_ie_i^\top` and :math:`(e_ie_j^\top + e_je_i^\top)/\sqrt2` for i < j, shape
    ``(n(n+1)/2, n, n)``.
    """
    basis = []
    for i in range(n):
        for j in range(i, n):
            e = np.zeros((n, n))
            if i == j:
                e[i, i] = 1.0
            else:
                e[i, j] = e[j, i] = 1.0 / np.sqrt(2.0)
            basis.append(e)
    return xp.asarray(np.stack(basis), dtype=dtype if dtype is not None else xp.float64)


def sigma_hessian(sigma: Any, sigma_target: Any) -> Any:
    r"""Hessian of :math:`\Sigma\mapsto B^2(\Sigma, \Sigma_0)` on symmetric matrices.

    Spec ``bw.strong_convexity``:

    .. math:: \nabla^2 B^2[E, E] = -\langle DT[E], E\rangle
              = \sum_{ij}\frac{(Q^\top R_0ER_0Q)_{ij}^2}
                {\sqrt{a_i}\sqrt{a_j}(\sqrt{a_i}+\sqrt{a_j})}

    with :math:`R_0\Sigma R_0 = Q\,\mathrm{diag}(a)\,Q^\top`, in the orthonormal basis of
    :func:`symmetric_basis`. For the perturbed loss pass :math:`\Sigma + \tau I`.

    Parameters
    ----------
    sigma : array, shape (..., n, n)
        Symmetric positive-definite Σ.
    sigma_target : array, shape (..., n, n)
        Symmetric positive-definite Σ_0.

    Returns
    -------
    array, shape (..., p, p), p = n(n+1)/2
        Symmetric positive definite: :math:`B^2` is convex in Σ.
    """
    func = "sigma_hessian"
    sigma, sigma_target, xp = _validated_pair(sigma, sigma_target, func)
    _positive_definite_eigh(sigma, "sigma", func, xp)
    lam, omega = _positive_definite_eigh(sigma_target, "sigma_target", func, xp)
    root_target = from_eigh(xp.sqrt(lam), omega, xp)
    n = sigma.shape[-1]
    a, q = xp.linalg.eigh(symmetrise(root_target @ sigma @ root_target))
    g = root_target @ q
    basis = symmetric_basis(n, xp, sigma.dtype)
    g = g[..., None, :, :]
    rotated = xp.matrix_transpose(g) @ basis @ g  # (..., p, n, n)
    weight = -_inverse_sqrt_divided_differences(a, xp)[..., None, :, :]
    flat = xp.reshape(rotated, (*rotated.shape[:-2], n * n))
    weighted = xp.reshape(weight * rotated, (*rotated.shape[:-2], n * n))
    hessian = weighted @ xp.matrix_transpose(flat)
    return symmetrise(hessian)


class PerturbedBuresObjective:
    r"""The perturbed loss :math:`L^\tau(W) = B^2(WW^\top+\tau I, \Sigma_0)` with its target
    validated once, for inner loops (gradient descent, flows, Hessians).

    Parameters
    ----------
    sigma_target : array, shape (..., n, n)
        Symmetric positive-definite :math:`\Sigma_0` (batch axes broadcast with W's).
    tau : float or array of shape (...)
        :math:`\tau > 0`; an array gives one τ per replicate (its shape broadcasts
        with the batch axes of W).

    Methods ``loss(W)``, ``gradient(W)`` and ``hvp(W, D)`` take W of shape
    ``(..., n, m)`` and skip validation: pass finite arrays of the right shape.
    """

    name = "Bures-Wasserstein (perturbed)"

    def __init__(self, sigma_target: Any, tau: Any) -> None:
        func = "PerturbedBuresObjective"
        self.sigma_target, self.root_target, self.xp = _positive_definite_target(sigma_target, func)
        if isinstance(tau, (int, float, np.floating, np.integer)):
            self.tau = positive_scalar(tau, "tau", func=func)
        else:
            tau, _ = validate_real_array(tau, "tau", func)
            if not bool(self.xp.all(tau > 0)):
                raise ValueError(
                    f"{func}: tau must be positive, got minimum {float(self.xp.min(tau))}"
                )
            self.tau = tau[..., None, None]

    def loss(self, weights: Any) -> Any:
        """:math:`L^\\tau(W)`, shape (...)."""
        xp = self.xp
        shifted = symmetrise(_shifted_covariance(weights, self.tau, xp))
        eigenvalues, eigenvectors = xp.linalg.eigh(shifted)
        return _bures_from_eigh(xp.clip(eigenvalues, min=0.0), eigenvectors, self.sigma_target, xp)

    def gradient(self, weights: Any) -> Any:
        """:math:`2(I - T_\\tau)W`, shape of W."""
        return _perturbed_gradient(weights, self.sigma_target, self.tau, self.xp)

    def hvp(self, weights: Any, direction: Any) -> Any:
        """:math:`\\nabla^2L^\\tau(W)[D]`, shape of W."""
        return _bures_hvp(
            weights, direction, self.sigma_target, self.root_target, self.tau, self.xp
        )


class FrobeniusObjective:
    r"""The comparison loss :math:`L_F(W) = \|WW^\top - \Sigma_0\|_F^2` (unscaled) with the
    same interface as :class:`PerturbedBuresObjective`.

    Parameters
    ----------
    sigma_target : array, shape (..., n, n)
        Symmetric PSD :math:`\Sigma_0`.
    """

    name = "Frobenius"

    def __init__(self, sigma_target: Any) -> None:
        self.sigma_target, self.xp = psd_matrices(
            sigma_target, "sigma_target", func="FrobeniusObjective"
        )

    def loss(self, weights: Any) -> Any:
        xp = self.xp
        return frobenius_norm_squared(
            weights @ xp.matrix_transpose(weights) - self.sigma_target, xp
        )

    def gradient(self, weights: Any) -> Any:
        xp = self.xp
        return 4 * (weights @ xp.matrix_transpose(weights) - self.sigma_target) @ weights

    def hvp(self, weights: Any, direction: Any) -> Any:
        return _frobenius_hvp(weights, direction, self.sigma_target, self.xp)
