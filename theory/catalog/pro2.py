r"""Project and Probe (Pro²; ICLR 2024): orthogonal least-squares directions and the probe.

*Project and Probe: Sample-Efficient Domain Adaptation by Interpolating Orthogonal
Features*. Claim ``pro2.orthogonal-ls-directions`` (``shared/claims/catalog.md`` §72; a
fragment, [unconfirmed numbering]: the paper's theorem is not confirmed; checked by
simulation in :mod:`simulations.catalog.pro2`).

Project: on source data :math:`(X,y)`, :math:`X\in\mathbb R^{N\times D}`, the directions
:math:`\Pi_1,\Pi_2,\dots` are chosen one at a time, each minimising the source squared
loss of a linear predictor along it under orthogonality to the earlier ones:
:math:`\Pi_i\propto\arg\min_{v\perp\Pi_1,\dots,\Pi_{i-1}}\|Xv-y\|^2`, normalised (a scale
along a fixed direction is absorbed by the predictor, so the minimiser over unit v and
a scalar is the normalised restricted least-squares solution; :math:`\Pi_1` is the
normalised least-squares solution). Probe: on n target samples, ordinary least squares
on the k projected features :math:`\Pi_{1:k}x`.

Target error, derived for a Gaussian target :math:`x\sim N(0,\Sigma)`,
:math:`y=\beta^\top x+\varepsilon`, :math:`\varepsilon\sim N(0,\sigma^2)`, and fixed
directions: with :math:`P=\Pi_{1:k}` (:math:`k\times D`), the best predictor on Px has
excess risk :math:`b(k)=\beta^\top\Sigma\beta-c^\top(P\Sigma P^\top)^{-1}c`,
:math:`c=P\Sigma\beta` (the bias, non-increasing in k), and its residual is Gaussian
noise of variance :math:`\sigma^2+b(k)` independent of Px, so the probe's expected excess
risk is :math:`b(k)+(\sigma^2+b(k))\frac k{n-k-1}` (the mean of an inverse Wishart
matrix), i.e. :math:`b(k)+\sigma^2k/n` to first order in k/n: the paper's
"bias(k) + sigma^2 k / n".
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theorycheck import validate

PAPER = "pro2"
"""Key of the paper in the seed catalog."""


def _matrix(x: Any, name: str, func: str) -> tuple[Any, Any]:
    x, xp = validate.real_floating(x, name, func=func)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"{func}: {name} must have shape (N, D) with N, D >= 1, got {x.shape}")
    validate.finite(x, name, func=func, xp=xp)
    return x, xp


def _count(value: Any, name: str, func: str, *, low: int, high: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or not low <= value <= high
    ):
        raise ValueError(f"{func}: {name} must be an integer in [{low}, {high}], got {value!r}")
    return int(value)


def orthogonal_ls_directions(x: Any, y: Any, k: int) -> Any:
    r"""Pro²'s sequential orthogonal least-squares directions :math:`\Pi_1,\dots,\Pi_k`.

    :math:`\Pi_i=v_i/\|v_i\|` with :math:`v_i=\arg\min_{v\perp\Pi_{<i}}\|Xv-y\|^2`, computed
    as :math:`v_i=(PGP+c\,\Pi_{<i}^\top\Pi_{<i})^{-1}Pb`, :math:`P=I-\Pi_{<i}^\top\Pi_{<i}`,
    :math:`G=X^\top X`, :math:`b=X^\top y`, :math:`c=\mathrm{tr}(G)/D` (the matrix is block
    diagonal on range(P) and its complement, so the solution lies in range(P) and solves
    the restricted normal equations :math:`PGPv=Pb`; c matches the blocks' scales so that
    rounding in the earlier directions is not amplified), then re-orthogonalised twice
    against :math:`\Pi_{<i}` (a no-op in exact arithmetic).

    Parameters
    ----------
    x : array, shape (N, D)
        Source features, of full column rank.
    y : array, shape (N,)
        Source labels.
    k : int
        Number of directions, :math:`1\le k\le D`.

    Returns
    -------
    array, shape (k, D)
        Orthonormal rows, each with :math:`\Pi_i^\top X^\top y>0`.
    """
    func = "orthogonal_ls_directions"
    x, xp = _matrix(x, "x", func)
    y, _ = validate.real_floating(y, "y", func=func)
    validate.finite(y, "y", func=func, xp=xp)
    n_samples, dim = x.shape
    if tuple(y.shape) != (n_samples,):
        raise ValueError(f"{func}: y must have shape ({n_samples},), got {tuple(y.shape)}")
    k = _count(k, "k", func, low=1, high=dim)
    gram = xp.matmul(xp.matrix_transpose(x), x)
    moment = xp.matmul(xp.matrix_transpose(x), y[:, None])[:, 0]
    eye = xp.eye(dim, dtype=x.dtype)
    level = float(xp.sum(xp.linalg.diagonal(gram))) / dim  # scale of G, for the span block
    directions = xp.zeros((0, dim), dtype=x.dtype)
    for i in range(k):
        span = xp.matmul(xp.matrix_transpose(directions), directions)
        proj = eye - span
        system = xp.matmul(xp.matmul(proj, gram), proj) + level * span
        v = xp.linalg.solve(system, xp.matmul(proj, moment[:, None]))[:, 0]
        for _ in range(2):  # re-orthogonalise (zero in exact arithmetic; keeps rounding local)
            coords = xp.matmul(directions, v[:, None])  # (i, 1)
            v = v - xp.matmul(xp.matrix_transpose(directions), coords)[:, 0]
        norm = float(xp.sqrt(xp.sum(v * v)))
        scale = float(xp.sqrt(xp.sum(moment * moment))) / max(float(xp.max(xp.abs(gram))), 1e-300)
        if not math.isfinite(norm) or norm <= 1e-12 * max(scale, 1e-300):
            raise ValueError(
                f"{func}: direction {i + 1} is undefined: y has no component along the "
                f"complement of the first {i} directions (or x is rank deficient)"
            )
        directions = xp.concat([directions, (v / norm)[None, :]], axis=0)
    return directions


def principal_directions(x: Any, y: Any, k: int) -> Any:
    r"""The top-k principal directions of the source features (ignoring y; a false
    variant of :func:`orthogonal_ls_directions`, for controls), signed so that
    :math:`\Pi_i^\top X^\top y\ge0`.

    Parameters
    ----------
    x : array, shape (N, D)
    y : array, shape (N,)
    k : int
        :math:`1\le k\le D`.

    Returns
    -------
    array, shape (k, D)
    """
    func = "principal_directions"
    x, xp = _matrix(x, "x", func)
    y, _ = validate.real_floating(y, "y", func=func)
    if tuple(y.shape) != (x.shape[0],):
        raise ValueError(f"{func}: y must have shape ({x.shape[0]},), got {tuple(y.shape)}")
    k = _count(k, "k", func, low=1, high=x.shape[1])
    _, vectors = xp.linalg.eigh(xp.matmul(xp.matrix_transpose(x), x))
    top = xp.flip(vectors, axis=1)[:, :k]  # (D, k), decreasing eigenvalues
    signs = xp.sign(xp.matmul(xp.matmul(y[None, :], x), top))
    signs = xp.where(signs == 0, xp.ones_like(signs), signs)
    return xp.matrix_transpose(top * signs)


def projected_bias(directions: Any, covariance: Any, beta: Any) -> Any:
    r"""Bias :math:`b(j)=\beta^\top\Sigma\beta-c_j^\top(P_j\Sigma P_j^\top)^{-1}c_j`,
    :math:`c_j=P_j\Sigma\beta`, of the best linear predictor on the first j directions.

    Parameters
    ----------
    directions : array, shape (k, D)
        Linearly independent rows :math:`\Pi_1,\dots,\Pi_k`.
    covariance : array, shape (D, D)
        Target covariance :math:`\Sigma` (symmetric positive definite).
    beta : array, shape (D,)
        Target coefficients.

    Returns
    -------
    array, shape (k,)
        b(1), ..., b(k), non-negative and non-increasing (up to rounding).
    """
    func = "projected_bias"
    directions, xp = _matrix(directions, "directions", func)
    covariance, _ = _matrix(covariance, "covariance", func)
    beta, _ = validate.real_floating(beta, "beta", func=func)
    validate.finite(beta, "beta", func=func, xp=xp)
    k, dim = directions.shape
    if tuple(covariance.shape) != (dim, dim) or tuple(beta.shape) != (dim,):
        raise ValueError(
            f"{func}: need covariance ({dim}, {dim}) and beta ({dim},), got "
            f"{tuple(covariance.shape)} and {tuple(beta.shape)}"
        )
    asym = float(xp.max(xp.abs(covariance - xp.matrix_transpose(covariance))))
    if asym > 1e-12 * float(xp.max(xp.abs(covariance))):
        raise ValueError(f"{func}: covariance must be symmetric, asymmetry {asym:.3g}")
    if float(xp.min(xp.linalg.eigvalsh(covariance))) <= 0:
        raise ValueError(f"{func}: covariance must be positive definite")
    total = float(xp.sum(beta * xp.matmul(covariance, beta[:, None])[:, 0]))
    values = []
    for j in range(1, k + 1):
        p = directions[:j, :]
        c = xp.matmul(p, xp.matmul(covariance, beta[:, None]))
        gram = xp.matmul(xp.matmul(p, covariance), xp.matrix_transpose(p))
        explained = float(xp.sum(c * xp.linalg.solve(gram, c)))
        values.append(total - explained)
    return xp.asarray(values, dtype=directions.dtype)


def probe_excess_risk(directions: Any, x: Any, y: Any, covariance: Any, beta: Any) -> Any:
    r"""Excess target risk of the least-squares probe on the projected features, per sample
    set: :math:`b(k)+(\hat w-w^*)^\top P\Sigma P^\top(\hat w-w^*)` with
    :math:`\hat w=\arg\min_w\|XP^\top w-y\|^2` and :math:`w^*=(P\Sigma P^\top)^{-1}P\Sigma\beta`.

    Parameters
    ----------
    directions : array, shape (k, D)
        P.
    x : array, shape (R, n, D)
        R independent target samples of size n > k.
    y : array, shape (R, n)
        Their labels.
    covariance : array, shape (D, D)
        Target covariance :math:`\Sigma` (positive definite).
    beta : array, shape (D,)
        Target coefficients.

    Returns
    -------
    array, shape (R,)
    """
    func = "probe_excess_risk"
    directions, xp = _matrix(directions, "directions", func)
    x, _ = validate.real_floating(x, "x", func=func)
    y, _ = validate.real_floating(y, "y", func=func)
    validate.finite(x, "x", func=func, xp=xp)
    validate.finite(y, "y", func=func, xp=xp)
    k, dim = directions.shape
    if x.ndim != 3 or x.shape[-1] != dim or tuple(y.shape) != tuple(x.shape[:2]):
        raise ValueError(
            f"{func}: need x (R, n, {dim}) and y (R, n), got {tuple(x.shape)}, {tuple(y.shape)}"
        )
    if x.shape[1] <= k:
        raise ValueError(f"{func}: need n > k samples, got n = {x.shape[1]}, k = {k}")
    bias = projected_bias(directions, covariance, beta)[k - 1]
    features = xp.matmul(x, xp.matrix_transpose(directions))  # (R, n, k)
    gram = xp.matmul(xp.matrix_transpose(features), features)
    rhs = xp.matmul(xp.matrix_transpose(features), y[..., None])
    w_hat = xp.linalg.solve(gram, rhs)[..., 0]  # (R, k)
    pop = xp.matmul(xp.matmul(directions, covariance), xp.matrix_transpose(directions))
    w_star = xp.linalg.solve(pop, xp.matmul(directions, xp.matmul(covariance, beta[:, None])))
    gap = w_hat - w_star[:, 0]
    return bias + xp.sum(gap * xp.matmul(gap, pop), axis=-1)


def expected_probe_excess(bias: Any, noise_variance: float, k: int, n: int) -> Any:
    r"""Expected excess target risk of the probe, :math:`b+(\sigma^2+b)\frac k{n-k-1}`
    (Gaussian design; derived, see the module docstring).

    Parameters
    ----------
    bias : array or float
        b(k) >= 0.
    noise_variance : float
        :math:`\sigma^2\ge0`.
    k, n : int
        Number of directions (>= 1) and target samples (n > k + 1).

    Returns
    -------
    array or float, the shape of ``bias``
    """
    func = "expected_probe_excess"
    if (
        isinstance(noise_variance, bool)
        or not isinstance(noise_variance, int | float)
        or not (0 <= noise_variance < math.inf)
    ):
        raise ValueError(
            f"{func}: noise_variance must be a non-negative number, got {noise_variance!r}"
        )
    k = _count(k, "k", func, low=1, high=10**9)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n <= k + 1:
        raise ValueError(f"{func}: n must be an integer > k + 1 = {k + 1}, got {n!r}")
    b = np.asarray(bias, dtype=float)
    if not np.all(np.isfinite(b)) or np.any(b < 0):
        raise ValueError(f"{func}: bias must be finite and non-negative, got {b.tolist()}")
    value = b + (noise_variance + b) * k / (n - k - 1)
    return float(value) if value.ndim == 0 else value
