r"""Double-weighting kernel mean matching (Segovia-Martín, Mazuelas & Liu, ICML 2023), fragment.

*Double-Weighting for Covariate Shift Adaptation*; claim ``dwcs.reduces-to-kmm`` of
``shared/claims/catalog.md`` §96 [unconfirmed numbering]. This is a **fragment**: the paper's
DW-GCS method weights training samples by :math:`\beta` and testing samples by
:math:`\alpha`, fits a minimax risk classifier with them and bounds its error; the checked
ingredient is the weight-estimation QP (DW-KMM) and its reduction to classical kernel mean
matching (Huang et al., 2007). The bounds B, D and :math:`\varepsilon` are **not
confirmed** against the paper: the constraints below are reconstructed from the spec and the
authors' public implementation (``DWKMM`` in MachineLearningBCAM/MRCs-for-Covariate-Shift-
Adaptation), so they are parameters of the check. The classifier and the generalisation
bounds are not checked.

DW-KMM, training points :math:`x_1..x_n`, testing points :math:`x'_1..x'_t`, kernel feature
map :math:`\Phi`:

.. math::
    \min_{\beta\in\mathbb R^n,\alpha\in\mathbb R^t}\Big\|\frac1n\sum_i\beta_i\Phi(x_i)-
    \frac1t\sum_j\alpha_j\Phi(x'_j)\Big\|^2\ \text{s.t.}\ 0\le\beta_i\le B/\sqrt D,\
    0\le\alpha_j\le1,\ \Big|\frac1n\sum_i\beta_i-\frac1t\sum_j\alpha_j\Big|\le\varepsilon,\
    \|\alpha-\mathbf 1\|_2\le(1-1/\sqrt D)\sqrt t.

At D = 1 the last constraint forces :math:`\alpha\equiv1`, and what is left is KMM,
:math:`\min_\beta\frac12\beta^\top K\beta-\kappa^\top\beta` s.t. :math:`0\le\beta_i\le B`,
:math:`|\sum_i\beta_i-n|\le n\varepsilon`, :math:`\kappa_i=\frac nt\sum_jk(x_i,x'_j)`: the
DW objective at :math:`\alpha=\mathbf 1` is :math:`\frac2{n^2}(\frac12\beta^\top K\beta-
\kappa^\top\beta)+\text{const}`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import cvxpy as cp
import numpy as np

from theorycheck import checks, validate
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "dwcs"
"""Key of the paper in the seed catalog."""

EPS = float(np.finfo(np.float64).eps)
SOLVER_TOL = 1e-8
r"""CLARABEL's gap (absolute and relative) and feasibility tolerances (its defaults). At
1e-10 CLARABEL reports ``optimal_inaccurate`` on some D > 1 instances."""


# --------------------------------------------------------------------------- kernel


def gaussian_gram(x: Any, y: Any, bandwidth: float) -> Any:
    r"""Gaussian kernel Gram block :math:`k(x,y)=\exp(-\|x-y\|^2/(2\sigma^2))`.

    Parameters
    ----------
    x : array, shape (..., p, dim)
    y : array, shape (..., q, dim)
    bandwidth : float
        :math:`\sigma>0`.

    Returns
    -------
    array, shape (..., p, q)
    """
    func = "gaussian_gram"
    x = validate.finite_real_array(x, "x", func=func, min_ndim=2)
    y = validate.finite_real_array(y, "y", func=func, min_ndim=2)
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(
            f"{func}: x and y must have the same dimension, got shapes {tuple(x.shape)} "
            f"and {tuple(y.shape)}"
        )
    bandwidth = validate.positive_number(bandwidth, "bandwidth", func=func)
    xp = array_namespace(x, y)
    gap = x[..., :, None, :] - y[..., None, :, :]
    return xp.exp(-xp.sum(gap * gap, axis=-1) / (2 * bandwidth**2))


# --------------------------------------------------------------------------- validation


def _gram(gram: Any, name: str, func: str) -> np.ndarray:
    gram = validate.finite_real_array(gram, name, func=func, min_ndim=2)
    gram = np.asarray(to_numpy(gram), dtype=float)
    if gram.shape[-1] != gram.shape[-2] or gram.shape[-1] == 0:
        raise ValueError(f"{func}: {name} must be square (..., r, r), got {gram.shape}")
    asymmetry = float(np.max(np.abs(gram - np.swapaxes(gram, -1, -2))))
    if asymmetry > 1e-12 * max(1.0, float(np.max(np.abs(gram)))):
        raise ValueError(f"{func}: {name} must be symmetric, off by {asymmetry:.3g}")
    return gram


def _per_instance(value: Any, name: str, batch: tuple[int, ...], func: str) -> np.ndarray:
    """A positive number or an array of shape ``batch``, as an array of shape batch."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return np.full(batch, validate.positive_number(value, name, func=func))
    value = validate.finite_real_array(value, name, func=func)
    value = np.asarray(to_numpy(value), dtype=float)
    if value.shape != batch:
        raise ValueError(
            f"{func}: {name} must be a number or have shape {batch}, got {value.shape}"
        )
    if not bool(np.all(value > 0)):
        raise ValueError(f"{func}: {name} must be > 0, has entry {float(np.min(value))}")
    return value


def _factor(gram: np.ndarray) -> np.ndarray:
    r"""F with :math:`FF^\top=K` (eigendecomposition, negative rounding eigenvalues clipped)."""
    values, vectors = np.linalg.eigh(gram)
    return vectors * np.sqrt(np.maximum(values, 0.0))[..., None, :]


# --------------------------------------------------------------------------- DW-KMM


def _dw_problem(shape: tuple[int, ...]) -> tuple[Any, list[Any], Callable[[], Any]]:
    n, rank = shape
    t = rank - n
    f_train = cp.Parameter((n, rank))
    f_test = cp.Parameter((t, rank))
    upper = cp.Parameter(nonneg=True)
    epsilon = cp.Parameter(nonneg=True)
    radius = cp.Parameter(nonneg=True)
    beta = cp.Variable(n)
    alpha = cp.Variable(t)
    objective = cp.sum_squares(f_train.T @ beta / n - f_test.T @ alpha / t)
    constraints = [
        beta >= 0,
        beta <= upper,
        alpha >= 0,
        alpha <= 1,
        cp.abs(cp.sum(beta) / n - cp.sum(alpha) / t) <= epsilon,
        cp.norm(alpha - 1) <= radius,
    ]
    problem = cp.Problem(cp.Minimize(objective), constraints)
    return (
        problem,
        [f_train, f_test, upper, epsilon, radius],
        lambda: np.r_[beta.value, alpha.value],
    )


def dw_kmm_weights(
    gram: Any, n_train: int, *, bound: Any, d_param: Any, epsilon: Any
) -> tuple[np.ndarray, np.ndarray]:
    r"""The DW-KMM weights :math:`(\beta,\alpha)` (module docstring; cvxpy with CLARABEL).

    Parameters
    ----------
    gram : array, shape (..., n + t, n + t)
        Kernel Gram matrix of the training points (first n) and the testing points.
    n_train : int
        n, with 1 <= n < n + t.
    bound : float or array, shape (...)
        B > 0 (training weights are at most :math:`B/\sqrt D`).
    d_param : float or array, shape (...)
        D >= 1 (D = 1 forces :math:`\alpha\equiv1`).
    epsilon : float or array, shape (...)
        :math:`\varepsilon>0`, the allowed gap between the mean weights.

    Returns
    -------
    beta : ndarray, shape (..., n)
    alpha : ndarray, shape (..., t)
        Solver accuracy: gap and feasibility :data:`SOLVER_TOL`.
    """
    func = "dw_kmm_weights"
    gram = _gram(gram, "gram", func)
    rank = gram.shape[-1]
    if not isinstance(n_train, int) or isinstance(n_train, bool) or not 1 <= n_train < rank:
        raise ValueError(f"{func}: n_train must be an integer in [1, {rank - 1}], got {n_train!r}")
    batch = gram.shape[:-2]
    bound = _per_instance(bound, "bound", batch, func)
    d_param = _per_instance(d_param, "d_param", batch, func)
    if not bool(np.all(d_param >= 1)):
        raise ValueError(f"{func}: d_param must be >= 1, has entry {float(np.min(d_param))}")
    epsilon = _per_instance(epsilon, "epsilon", batch, func)
    t = rank - n_train
    factor = _factor(gram).reshape(-1, rank, rank)
    solution = checks.solve_each(
        _dw_problem,
        factor[:, :n_train, :],
        factor[:, n_train:, :],
        (bound / np.sqrt(d_param)).reshape(-1),
        epsilon.reshape(-1),
        ((1 - 1 / np.sqrt(d_param)) * math.sqrt(t)).reshape(-1),
        tol_gap_abs=SOLVER_TOL,
        tol_gap_rel=SOLVER_TOL,
        tol_feas=SOLVER_TOL,
    )
    solution = solution.reshape(*batch, rank)
    return solution[..., :n_train], solution[..., n_train:]


def dw_kmm_objective(gram: Any, beta: Any, alpha: Any) -> Any:
    r""":math:`\|\frac1n\sum_i\beta_i\Phi(x_i)-\frac1t\sum_j\alpha_j\Phi(x'_j)\|^2=w^\top Kw`,
    :math:`w=(\beta/n,-\alpha/t)`, on the array backend.

    Parameters
    ----------
    gram : array, shape (..., n + t, n + t)
    beta : array, shape (..., n)
    alpha : array, shape (..., t)

    Returns
    -------
    array, shape (...)
    """
    func = "dw_kmm_objective"
    gram = validate.finite_real_array(gram, "gram", func=func, min_ndim=2)
    beta = validate.finite_real_array(beta, "beta", func=func, min_ndim=1)
    alpha = validate.finite_real_array(alpha, "alpha", func=func, min_ndim=1)
    n, t = beta.shape[-1], alpha.shape[-1]
    if gram.shape[-1] != n + t or gram.shape[-2] != n + t:
        raise ValueError(
            f"{func}: gram must be (..., {n + t}, {n + t}) for n = {n}, t = {t}, got "
            f"{tuple(gram.shape)}"
        )
    xp = array_namespace(gram, beta, alpha)
    w = xp.concat([beta / n, -alpha / t], axis=-1)
    return xp.sum(w * xp.squeeze(gram @ w[..., None], axis=-1), axis=-1)


# --------------------------------------------------------------------------- KMM


def kmm_kappa(gram_cross: Any) -> Any:
    r"""Huang et al.'s linear term :math:`\kappa_i=\frac nt\sum_jk(x_i,x'_j)`.

    Parameters
    ----------
    gram_cross : array, shape (..., n, t)
        :math:`k(x_i,x'_j)`.

    Returns
    -------
    array, shape (..., n)
    """
    func = "kmm_kappa"
    gram_cross = validate.finite_real_array(gram_cross, "gram_cross", func=func, min_ndim=2)
    xp = array_namespace(gram_cross)
    n, t = gram_cross.shape[-2:]
    if n == 0 or t == 0:
        raise ValueError(f"{func}: gram_cross must be non-empty, got {tuple(gram_cross.shape)}")
    return (n / t) * xp.sum(gram_cross, axis=-1)


def _kappa_without_ratio(gram_cross: Any) -> Any:
    r"""Control: :math:`\kappa_i=\sum_jk(x_i,x'_j)` (the factor n/t dropped)."""
    xp = array_namespace(gram_cross)
    return xp.sum(gram_cross, axis=-1)


def _kmm_problem(shape: tuple[int, ...]) -> tuple[Any, list[Any], Callable[[], Any]]:
    n = shape[0]
    factor = cp.Parameter((n, n))
    kappa = cp.Parameter(n)
    upper = cp.Parameter(nonneg=True)
    slack = cp.Parameter(nonneg=True)
    beta = cp.Variable(n)
    objective = 0.5 * cp.sum_squares(factor.T @ beta) - kappa @ beta
    constraints = [beta >= 0, beta <= upper, cp.abs(cp.sum(beta) - n) <= slack]
    problem = cp.Problem(cp.Minimize(objective), constraints)
    return problem, [factor, kappa, upper, slack], lambda: beta.value


def kmm_weights(gram_train: Any, kappa: Any, *, bound: Any, epsilon: Any) -> np.ndarray:
    r"""Classical KMM (Huang et al. 2007): :math:`\arg\min_\beta\frac12\beta^\top K\beta-
    \kappa^\top\beta` s.t. :math:`0\le\beta_i\le B`, :math:`|\sum_i\beta_i-n|\le n\varepsilon`.

    Parameters
    ----------
    gram_train : array, shape (..., n, n)
    kappa : array, shape (..., n)
    bound, epsilon : float or array, shape (...)
        B > 0 and :math:`\varepsilon>0`.

    Returns
    -------
    ndarray, shape (..., n)
        cvxpy with CLARABEL, gap and feasibility :data:`SOLVER_TOL`.
    """
    func = "kmm_weights"
    gram_train = _gram(gram_train, "gram_train", func)
    n = gram_train.shape[-1]
    kappa = validate.finite_real_array(kappa, "kappa", func=func, min_ndim=1)
    kappa = np.asarray(to_numpy(kappa), dtype=float)
    batch = gram_train.shape[:-2]
    if kappa.shape != (*batch, n):
        raise ValueError(f"{func}: kappa must have shape {(*batch, n)}, got {kappa.shape}")
    bound = _per_instance(bound, "bound", batch, func)
    epsilon = _per_instance(epsilon, "epsilon", batch, func)
    beta = checks.solve_each(
        _kmm_problem,
        _factor(gram_train).reshape(-1, n, n),
        kappa.reshape(-1, n),
        bound.reshape(-1),
        (n * epsilon).reshape(-1),
        tol_gap_abs=SOLVER_TOL,
        tol_gap_rel=SOLVER_TOL,
        tol_feas=SOLVER_TOL,
    )
    return beta.reshape(*batch, n)


def kmm_objective(gram_train: Any, kappa: Any, beta: Any) -> Any:
    r""":math:`\frac12\beta^\top K\beta-\kappa^\top\beta` on the array backend.

    Parameters
    ----------
    gram_train : array, shape (..., n, n)
    kappa, beta : array, shape (..., n)

    Returns
    -------
    array, shape (...)
    """
    func = "kmm_objective"
    gram_train = validate.finite_real_array(gram_train, "gram_train", func=func, min_ndim=2)
    kappa = validate.finite_real_array(kappa, "kappa", func=func, min_ndim=1)
    beta = validate.finite_real_array(beta, "beta", func=func, min_ndim=1)
    n = beta.shape[-1]
    if gram_train.shape[-2:] != (n, n) or kappa.shape[-1] != n:
        raise ValueError(
            f"{func}: need gram_train (..., n, n), kappa and beta (..., n), got "
            f"{tuple(gram_train.shape)}, {tuple(kappa.shape)}, {tuple(beta.shape)}"
        )
    xp = array_namespace(gram_train, kappa, beta)
    quadratic = xp.sum(beta * xp.squeeze(gram_train @ beta[..., None], axis=-1), axis=-1)
    return 0.5 * quadratic - xp.sum(kappa * beta, axis=-1)


# --------------------------------------------------------------------------- the claim


def _instances(rng: np.random.Generator, count: int, n: int, t: int) -> dict[str, np.ndarray]:
    """Training points N(0, I_2), testing points N(m, s^2 I_2) with |m| = 1 and
    s ~ U(0.4, 0.9) (a covariate shift with partial support mismatch); B ~ U(2.5, 5)
    (so that B/2 > 1 and the KMM of the control D = 4 stays feasible),
    epsilon ~ U(0.02, 0.3), bandwidth ~ U(0.7, 1.5)."""
    angle = rng.uniform(0, 2 * np.pi, count)
    shift = np.stack([np.cos(angle), np.sin(angle)], axis=-1)
    spread = rng.uniform(0.4, 0.9, count)
    return {
        "x_train": rng.standard_normal((count, n, 2)),
        "x_test": shift[:, None, :] + spread[:, None, None] * rng.standard_normal((count, t, 2)),
        "bound": rng.uniform(2.5, 5.0, count),
        "epsilon": rng.uniform(0.02, 0.3, count),
        "bandwidth": rng.uniform(0.7, 1.5, count),
    }


@claim(
    "dwcs.reduces-to-kmm",
    paper=PAPER,
    source="DW-KMM weights (fragment; equation numbers and the bounds B, D, eps not confirmed)",
    statement=(
        r"\text{fragment: }\min_{\beta,\alpha}\|\tfrac1n\sum_i\beta_i\Phi(x_i)-\tfrac1t\sum_j"
        r"\alpha_j\Phi(x'_j)\|^2,\ 0\le\beta\le B/\sqrt D,\ 0\le\alpha\le1,\ |\bar\beta-\bar\alpha|"
        r"\le\varepsilon,\ \|\alpha-1\|\le(1-D^{-1/2})\sqrt t;\ D=1\Rightarrow\alpha\equiv1,\ "
        r"\beta=\mathrm{KMM}"
    ),
    method="solver",
    provenance="unconfirmed-numbering",
    notes=(
        "Fragment; the constraint set is reconstructed from the spec and the authors' public "
        "code, not confirmed against the paper."
    ),
    controls=[
        Control(
            "any-d",
            r"D=4:\ \alpha\equiv1\text{ still, and }\beta=\mathrm{KMM}\text{ with bound }B/\sqrt D",
            {"d_param": 4.0},
        ),
        Control(
            "kappa-without-ratio",
            r"\beta=\mathrm{KMM}\text{ with }\kappa_i=\sum_jk(x_i,x'_j)\ (\text{no }n/t)",
            {"kappa": _kappa_without_ratio},
        ),
    ],
)
def reduces_to_kmm(
    ctx: Context, d_param: float = 1.0, kappa: Callable[[Any], Any] = kmm_kappa
) -> Evidence:
    r"""DW-KMM at ``d_param`` against KMM (bound :math:`B/\sqrt D`, linear term ``kappa``).

    6 (quick) / 60 (full) instances for each of (n, t) = (12, 8) and (10, 15) (n != t, so
    that n/t matters), Gaussian kernel. Both problems are solved by cvxpy/CLARABEL (gap and
    feasibility :data:`SOLVER_TOL` = 1e-8) in different parametrisations (a factor of the
    joint Gram for DW-KMM; of the training Gram for KMM). With
    :math:`\tau=100\,\mathrm{tol}` (the factor 100 covers the feasibility residual, as for
    the other solver claims), parts:

    - :math:`\alpha\equiv1`: :math:`\|\alpha-1\|_\infty\le\tau(1+\sqrt t)` (the feasibility
      residual of :math:`\|\alpha-1\|_2\le0`, scaled by the size of the iterate);
    - the DW :math:`\beta` is KMM-feasible: box and :math:`|\sum\beta-n|\le n\varepsilon`,
      each to :math:`\tau(1+nB)`;
    - equal optimal values: :math:`J(\beta_{DW})-J(\beta_{KMM})` (J the KMM objective on
      the backend) within :math:`\tau(1+|J|)+\frac{n^2}2\tau(1+f)`, the two solvers' gaps in
      J units (:math:`f=\frac2{n^2}J+c` at :math:`\alpha=\mathbf 1`);
    - equal embeddings: the RKHS distance :math:`\frac1n\|\sum_i(\beta_{DW}-\beta_{KMM})_i
      \Phi(x_i)\|` is at most :math:`\sqrt{\epsilon_1}+\sqrt{\epsilon_2}` with
      :math:`\epsilon` the gaps in f units: for a convex set C and
      :math:`f(\beta)=\|A\beta-m\|^2`, every feasible :math:`\beta` has
      :math:`f(\beta)-f^\star\ge\|A\beta-A\beta^\star\|^2` (the optimal embedding is unique
      even where :math:`\beta` is not pinned, K being near-singular).
    """
    rng = ctx.rng(0)
    tau = 100 * SOLVER_TOL
    parts: dict[str, Evidence] = {}
    for n, t in ((12, 8), (10, 15)):
        data = _instances(rng, ctx.pick(6, 60), n, t)
        points = np.concatenate([data["x_train"], data["x_test"]], axis=1)
        gram = np.stack(
            [
                np.asarray(to_numpy(gaussian_gram(ctx.asarray(p), ctx.asarray(p), float(s))))
                for p, s in zip(points, data["bandwidth"], strict=True)
            ]
        )
        bound, epsilon = data["bound"], data["epsilon"]
        inputs = {**data, "d_param": np.full(bound.shape, d_param)}
        beta, alpha = dw_kmm_weights(gram, n, bound=bound, d_param=d_param, epsilon=epsilon)
        k_train = gram[:, :n, :n]
        linear = np.asarray(to_numpy(kappa(ctx.asarray(gram[:, :n, n:]))), dtype=float)
        kmm_bound = bound / np.sqrt(d_param)
        reference = kmm_weights(k_train, linear, bound=kmm_bound, epsilon=epsilon)

        def objective(b: np.ndarray, k_train: np.ndarray = k_train, linear: np.ndarray = linear):
            value = kmm_objective(ctx.asarray(k_train), ctx.asarray(linear), ctx.asarray(b))
            return np.asarray(to_numpy(value), dtype=float)

        j_dw, j_kmm = objective(beta), objective(reference)
        f_dw = np.asarray(
            to_numpy(dw_kmm_objective(ctx.asarray(gram), ctx.asarray(beta), ctx.asarray(alpha)))
        )
        gap_kmm_j = tau * (1 + np.abs(j_kmm))
        gap_dw_f = tau * (1 + np.abs(f_dw))
        label = f"n={n}, t={t}"
        parts[f"{label}: alpha = 1"] = checks.compare(
            alpha, 1.0, atol=tau * (1 + math.sqrt(t)), inputs=inputs
        )
        feasibility = tau * (1 + n * kmm_bound)
        parts[f"{label}: beta in the KMM box"] = checks.nonnegative(
            np.minimum(beta.min(-1), (kmm_bound[:, None] - beta).min(-1)) + feasibility,
            inputs=inputs,
        )
        parts[f"{label}: |sum beta - n| <= n eps"] = checks.nonnegative(
            n * epsilon - np.abs(beta.sum(-1) - n) + feasibility, inputs=inputs
        )
        parts[f"{label}: KMM objective of beta_DW = KMM optimum"] = checks.compare(
            j_dw, j_kmm, atol=gap_kmm_j + 0.5 * n**2 * gap_dw_f, inputs=inputs
        )
        difference = beta - reference
        distance = (
            np.sqrt(np.maximum(np.einsum("bi,bij,bj->b", difference, k_train, difference), 0.0)) / n
        )
        allowed = np.sqrt(gap_dw_f) + np.sqrt(2 * gap_kmm_j / n**2)
        parts[f"{label}: embeddings of beta_DW and beta_KMM coincide"] = checks.nonnegative(
            allowed - distance, inputs=inputs
        )
    return checks.combine(parts)
