r"""Critical points of the Bures-Wasserstein loss on the rank strata, and the perturbed optimum.

Bréchet et al., ICML 2023 (spec ``bw.crit``, ``bw.saddle``, ``bw.perturbed``). With the
eigendecomposition :math:`\Sigma_0 = \Omega\Lambda\Omega^\top`,
:math:`\lambda_1 > \dots > \lambda_n > 0`:

- the critical points of :math:`L|_{\mathcal M_r}` are
  :math:`W = \Omega_J\Lambda_J^{1/2}V^\top`, :math:`|J| = r`, :math:`V^\top V = I_r`, with
  loss :math:`\sum_{i\notin J}\lambda_i`; the global minimum over
  :math:`\mathcal M_{\le k}` is :math:`J = \{1,\dots,k\}`;
- for the perturbed loss :math:`L^\tau`,
  :math:`WW^\top = \sum_{i\in J}(\lambda_i - \tau)\omega_i\omega_i^\top`
  (:math:`\lambda_i > \tau` on J) with value :math:`\sum_{i\notin J}(\sqrt{\lambda_i}-\sqrt\tau)^2`;
- along the swap curve :math:`\omega_j\to\cos\theta\,\omega_j + \sin\theta\,\omega_i`
  (:math:`j\in J`, :math:`i\notin J`):
  :math:`L(\theta) = L(0) - 2\sqrt{\lambda_j}\big(\sqrt{\lambda_j
  + \sin^2\theta(\lambda_i-\lambda_j)} - \sqrt{\lambda_j}\big)`.

Index sets J are sequences of 0-based indices into the eigenvalues sorted in
*decreasing* order (J = (0, ..., k-1) is the top-k set).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from theory.bures_wasserstein.matrices import (
    integer_in_range,
    matrices,
    positive_scalar,
    psd_matrices,
)
from theorycheck.backend import array_namespace


def target_eigensystem(sigma_target: Any) -> tuple[Any, Any]:
    r"""Eigenvalues in decreasing order and the matching eigenvectors of :math:`\Sigma_0`.

    Parameters
    ----------
    sigma_target : array, shape (..., n, n)
        Symmetric PSD.

    Returns
    -------
    eigenvalues : array, shape (..., n)
        :math:`\lambda_1 \ge \dots \ge \lambda_n` (clamped at 0).
    eigenvectors : array, shape (..., n, n)
        :math:`\Omega`, column i the eigenvector of :math:`\lambda_{i+1}`.
    """
    sigma_target, xp = psd_matrices(sigma_target, "sigma_target", func="target_eigensystem")
    eigenvalues, eigenvectors = xp.linalg.eigh(sigma_target)
    return xp.flip(xp.clip(eigenvalues, min=0.0), axis=-1), xp.flip(eigenvectors, axis=-1)


def _index_set(subset: Sequence[int], n: int, func: str) -> list[int]:
    if isinstance(subset, (str, bytes)) or not isinstance(subset, Sequence):
        raise ValueError(f"{func}: subset must be a sequence of indices, got {subset!r}")
    chosen = [integer_in_range(i, "subset index", 0, n - 1, func=func) for i in subset]
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"{func}: subset has repeated indices: {list(subset)}")
    return chosen


def critical_point(
    eigenvalues: Any,
    eigenvectors: Any,
    subset: Sequence[int],
    right_factor: Any,
    tau: float = 0.0,
) -> Any:
    r"""The critical point :math:`W = \Omega_J(\Lambda_J - \tau I)^{1/2}V^\top`.

    Spec ``bw.crit`` (τ = 0) and ``bw.perturbed`` (τ > 0).

    Parameters
    ----------
    eigenvalues : array, shape (..., n)
        :math:`\lambda`, decreasing (from :func:`target_eigensystem`).
    eigenvectors : array, shape (..., n, n)
        :math:`\Omega`.
    subset : sequence of int
        J, r distinct 0-based indices, :math:`1 \le r \le n`.
    right_factor : array, shape (..., m, r)
        V with orthonormal columns (:math:`V^\top V = I_r`, so m >= r).
    tau : float
        0 for the loss L; :math:`\tau > 0` for :math:`L^\tau` (needs
        :math:`\lambda_i > \tau` on J).

    Returns
    -------
    array, shape (..., n, m)
    """
    func = "critical_point"
    xp = array_namespace(eigenvalues, eigenvectors)
    n = eigenvectors.shape[-1]
    chosen = _index_set(subset, n, func)
    right_factor, _ = matrices(right_factor, "right_factor", func=func)
    if not 1 <= len(chosen) <= n or right_factor.shape[-1] != len(chosen):
        raise ValueError(
            f"{func}: the rank r = |J| = {len(chosen)} must lie in [1, {n}] and equal the "
            f"columns of right_factor {tuple(right_factor.shape)}"
        )
    if right_factor.shape[-2] < len(chosen):
        raise ValueError(
            f"{func}: rank r = {len(chosen)} exceeds m = {right_factor.shape[-2]} "
            "(V must have orthonormal columns)"
        )
    if tau != 0.0:
        tau = positive_scalar(tau, "tau", func=func)
    index = xp.asarray(chosen)
    shifted = xp.take(eigenvalues, index, axis=-1) - tau
    if bool(xp.any(shifted <= 0)):
        raise ValueError(f"{func}: tau = {tau} must be below every eigenvalue of J = {chosen}")
    columns = xp.take(eigenvectors, index, axis=-1) * xp.sqrt(shifted)[..., None, :]
    return columns @ xp.matrix_transpose(right_factor)


def critical_value(eigenvalues: Any, subset: Sequence[int], tau: float = 0.0) -> Any:
    r"""The loss at the critical point of J: :math:`\sum_{i\notin J}(\sqrt{\lambda_i}-\sqrt\tau)^2`.

    For τ = 0 this is :math:`\sum_{i\notin J}\lambda_i` (``bw.crit``).

    Parameters
    ----------
    eigenvalues : array, shape (..., n)
    subset : sequence of int
        J (0-based).
    tau : float
        >= 0.

    Returns
    -------
    array, shape (...)
    """
    xp = array_namespace(eigenvalues)
    n = eigenvalues.shape[-1]
    chosen = set(_index_set(subset, n, "critical_value"))
    if tau != 0.0:
        tau = positive_scalar(tau, "tau", func="critical_value")
    complement = [i for i in range(n) if i not in chosen]
    if not complement:
        return 0 * eigenvalues[..., 0]
    rest = xp.take(eigenvalues, xp.asarray(complement), axis=-1)
    return xp.sum((xp.sqrt(rest) - math.sqrt(tau)) ** 2, axis=-1)


def bounded_rank_optimum(sigma_target: Any, bottleneck: int, tau: float = 0.0) -> tuple[Any, Any]:
    r"""The minimiser :math:`\mathrm{OPT}_\tau = \Omega_k(\Lambda_k - \tau I)\Omega_k^\top` over
    :math:`\mathcal M_{\le k}` and its value :math:`\sum_{i>k}(\sqrt{\lambda_i}-\sqrt\tau)^2`.

    Parameters
    ----------
    sigma_target : array, shape (..., n, n)
        Symmetric PSD :math:`\Sigma_0`.
    bottleneck : int
        k, in ``[1, n]``.
    tau : float
        0 (Eckart-Young form of ``bw.crit``) or :math:`0 < \tau < \lambda_k` (``bw.perturbed``).

    Returns
    -------
    covariance : array, shape (..., n, n)
        :math:`WW^\top` at the optimum.
    value : array, shape (...)
    """
    func = "bounded_rank_optimum"
    sigma_target, xp = psd_matrices(sigma_target, "sigma_target", func=func)
    n = sigma_target.shape[-1]
    k = integer_in_range(bottleneck, "bottleneck", 1, n, func=func)
    if tau != 0.0:
        tau = positive_scalar(tau, "tau", func=func)
    lam, omega = target_eigensystem(sigma_target)
    top = lam[..., :k] - tau
    if bool(xp.any(top <= 0)):
        raise ValueError(
            f"{func}: tau = {tau} must be below lambda_k = {float(xp.min(lam[..., k - 1]))}"
        )
    columns = omega[..., :k]
    covariance = (columns * top[..., None, :]) @ xp.matrix_transpose(columns)
    return covariance, critical_value(lam, list(range(k)), tau)


def swap_curve(
    eigenvalues: Any,
    eigenvectors: Any,
    subset: Sequence[int],
    right_factor: Any,
    replaced: int,
    incoming: int,
    angle: Any,
) -> Any:
    r"""The swap curve of ``bw.saddle``.

    :math:`\omega_j\to\cos\theta\,\omega_j+\sin\theta\,\omega_i`; keeps the coefficient
    :math:`\sqrt{\lambda_j}` and V, so the curve stays in :math:`\mathcal M_r`.

    Parameters
    ----------
    eigenvalues, eigenvectors, subset, right_factor
        As in :func:`critical_point` (τ = 0); no batch axes.
    replaced : int
        j, an element of J.
    incoming : int
        i, an index outside J.
    angle : array, shape (K,)
        The angles θ.

    Returns
    -------
    array, shape (K, n, m)
    """
    func = "swap_curve"
    xp = array_namespace(eigenvalues, eigenvectors, angle)
    chosen = _index_set(subset, eigenvectors.shape[-1], func)
    if replaced not in chosen or incoming in chosen:
        raise ValueError(f"{func}: need j = {replaced} in J = {chosen} and i = {incoming} outside")
    base = critical_point(eigenvalues, eigenvectors, chosen, right_factor)
    position = chosen.index(replaced)
    omega_j = eigenvectors[:, replaced]
    omega_i = eigenvectors[:, incoming]
    coefficient = xp.sqrt(eigenvalues[replaced])
    v_j = right_factor[:, position]
    moved = (xp.cos(angle)[:, None] - 1.0) * omega_j + xp.sin(angle)[:, None] * omega_i
    return base + coefficient * moved[:, :, None] * v_j[None, None, :]


def swap_curve_value(
    eigenvalues: Any, subset: Sequence[int], replaced: int, incoming: int, angle: Any
) -> Any:
    r""":math:`L(\theta) = L(0) - 2\sqrt{\lambda_j}\big(\sqrt{\lambda_j
    + \sin^2\theta\,(\lambda_i-\lambda_j)}
    - \sqrt{\lambda_j}\big)` (``bw.saddle``), shape of ``angle``."""
    xp = array_namespace(eigenvalues, angle)
    lam_j, lam_i = eigenvalues[replaced], eigenvalues[incoming]
    start = critical_value(eigenvalues, subset)
    inner = lam_j + xp.sin(angle) ** 2 * (lam_i - lam_j)
    return start - 2 * xp.sqrt(lam_j) * (xp.sqrt(inner) - xp.sqrt(lam_j))
