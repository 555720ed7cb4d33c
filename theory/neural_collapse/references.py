r"""Independent references for the neural-collapse checks (NumPy, SciPy, cvxpy).

Nothing here shares code with the backend-generic modules: a check compares the
closed forms and the metric code with quantities computed another way.

- :class:`FlatUFM`: the full non-convex UFM objective (MSE or CE, with or without
  bias) and its gradient on a flat parameter vector, written out in plain NumPy.
- :func:`multistart`: L-BFGS from several random initialisations (scales cycling
  through 1, 0.3, 3: pitfall P-B2), each run polished by a few Newton steps
  (:func:`newton_polish`) and reported with its objective, gradient norm, product rank
  and convergence message; nothing is dropped, so lower-rank local minima and stalled
  runs stay visible.
- :func:`lbfgs`: the L-BFGS two-loop recursion in NumPy with scipy's strong-Wolfe line
  search. scipy's L-BFGS-B (``engine="scipy"``, the spec's recipe) gives the same
  optima, but its compiled core calls multi-threaded OpenBLAS and runs 35 times slower
  on a loaded two-core machine (measured: 8.2 s against 0.23 s for one run), so the
  NumPy engine is the default.
- :func:`scalar_minimiser_reference`: the global minimiser of
  :math:`\psi_\beta(x)=1/(1+x^M)+\beta x` by a dense grid plus brentq on every bracket.
- :func:`nuclear_norm_mse` and :func:`nuclear_norm_cross_entropy`: the convex M = 1
  problems :math:`\min_Z\ \ell(Z)+\sqrt{\lambda_W\lambda_H}\|Z\|_*` in cvxpy.
- :func:`best_scale`: a bounded 1-D search (for the ETF scale of the CE probe).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import brentq, line_search, minimize, minimize_scalar
from scipy.sparse.linalg import LinearOperator, minres
from scipy.special import logsumexp

LBFGS_OPTIONS = {"maxiter": 20_000, "maxfun": 40_000, "gtol": 1e-12, "ftol": 1e-16, "maxcor": 20}
"""L-BFGS settings of the spec (``gtol=1e-12, ftol=1e-16``, memory 20). L-BFGS stops when
the objective no longer decreases in float64 (about 1e-9 in the gradient); the Newton
polish then takes the gradient to the rounding level of its evaluation."""

STATIONARY_GRADIENT = 1e-8
"""A run counts as stationary when its polished gradient norm is below this. After the
polish, converged runs sit at 1e-12 or below; an L-BFGS stop on a flat region (a
stalled run) stays above 1e-8 and is reported, never accepted."""


# --------------------------------------------------------------------------- the objective


@dataclass(frozen=True)
class FlatUFM:
    r"""The UFM objective on a flat parameter vector :math:`(W_1,\dots,W_M,H,b)`.

    Parameters
    ----------
    loss : {"mse", "ce"}
    targets : ndarray, shape (K, N)
        Y (one-hot) or any real target for MSE.
    widths : sequence of M ints
        :math:`d_1,\dots,d_M`; :math:`W_i` is :math:`d_{i+1}\times d_i` with :math:`d_{M+1}=K`.
    weight_decays : sequence of M floats
    feature_decay : float
    bias : bool
        Whether an unregularised bias b is a variable.
    """

    loss: str
    targets: np.ndarray
    widths: tuple[int, ...]
    weight_decays: tuple[float, ...]
    feature_decay: float
    bias: bool = False

    @property
    def shapes(self) -> list[tuple[int, int]]:
        dims = [*self.widths, self.targets.shape[0]]
        return [(dims[i + 1], dims[i]) for i in range(len(self.widths))]

    @property
    def size(self) -> int:
        count = sum(a * b for a, b in self.shapes) + self.widths[0] * self.targets.shape[1]
        return count + (self.targets.shape[0] if self.bias else 0)

    def unpack(self, p: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray | None]:
        weights, offset = [], 0
        for rows, cols in self.shapes:
            weights.append(p[offset : offset + rows * cols].reshape(rows, cols))
            offset += rows * cols
        d1, num_samples = self.widths[0], self.targets.shape[1]
        features = p[offset : offset + d1 * num_samples].reshape(d1, num_samples)
        offset += d1 * num_samples
        bias = p[offset:] if self.bias else None
        return weights, features, bias

    def value_and_gradient(self, p: np.ndarray) -> tuple[float, np.ndarray]:
        weights, features, bias = self.unpack(p)
        y = self.targets
        num_samples = y.shape[1]
        inputs = [features]
        for w in weights:
            inputs.append(w @ inputs[-1])
        z = inputs[-1] if bias is None else inputs[-1] + bias[:, None]
        if self.loss == "mse":
            residual = z - y
            value = 0.5 * float(np.sum(residual**2)) / num_samples
            upstream = residual / num_samples
        else:
            lse = logsumexp(z, axis=0)
            value = float(np.sum(lse - np.sum(y * z, axis=0))) / num_samples
            upstream = (np.exp(z - lse) - y) / num_samples
        value += 0.5 * self.feature_decay * float(np.sum(features**2))
        for decay, weight in zip(self.weight_decays, weights, strict=True):
            value += 0.5 * decay * float(np.sum(weight**2))
        grads: list[np.ndarray] = [np.empty(0)] * len(weights)
        bias_grad = upstream.sum(axis=1) if bias is not None else None
        for i in range(len(weights) - 1, -1, -1):
            grads[i] = upstream @ inputs[i].T + self.weight_decays[i] * weights[i]
            upstream = weights[i].T @ upstream
        parts = [g.ravel() for g in grads] + [(upstream + self.feature_decay * features).ravel()]
        if bias_grad is not None:
            parts.append(bias_grad)
        return value, np.concatenate(parts)

    def pack(self, weights, features, bias=None) -> np.ndarray:
        parts = [np.asarray(w, dtype=float).ravel() for w in weights]
        parts.append(np.asarray(features, dtype=float).ravel())
        if self.bias:
            parts.append(np.asarray(bias, dtype=float).ravel())
        return np.concatenate(parts)

    def product(self, p: np.ndarray) -> np.ndarray:
        """The product :math:`W=W_M\\cdots W_1` (K x d_1)."""
        weights, _, _ = self.unpack(p)
        result = weights[0]
        for w in weights[1:]:
            result = w @ result
        return result


# --------------------------------------------------------------------------- optimisation


def newton_polish(problem: FlatUFM, p: np.ndarray, steps: int = 2) -> np.ndarray:
    r"""A few Newton steps :math:`p\leftarrow p-\mathcal H^+\nabla f` from an L-BFGS output.

    Hessian-vector products are central differences of the exact gradient; MINRES
    solves the singular (rotation-invariant) Newton system. A step is kept only
    if it lowers the gradient norm, so the polish never walks away from a point.
    """
    _, grad = problem.value_and_gradient(p)
    norm = float(np.linalg.norm(grad))
    for _ in range(steps):
        if norm < 1e-13 or not math.isfinite(norm):
            break
        point = p

        def hessian_vector(v: np.ndarray, point: np.ndarray = point) -> np.ndarray:
            size = float(np.linalg.norm(v))
            if size == 0.0:
                return np.zeros_like(v)
            h = 1e-5 / size
            return (
                problem.value_and_gradient(point + h * v)[1]
                - problem.value_and_gradient(point - h * v)[1]
            ) / (2 * h)

        operator = LinearOperator((p.size, p.size), matvec=hessian_vector, dtype=float)
        step, _ = minres(operator, -grad, rtol=1e-12, maxiter=min(150, p.size))
        candidate = p + step
        new_value, new_grad = problem.value_and_gradient(candidate)
        new_norm = float(np.linalg.norm(new_grad))
        if not new_norm < norm or not math.isfinite(new_value):
            break
        p, grad, norm = candidate, new_grad, new_norm
    return p


@dataclass
class OptimisationRun:
    """One L-BFGS run (polished).

    Attributes
    ----------
    objective : float
    gradient_norm : float
        Euclidean norm of the full gradient at the returned point.
    iterations : int
        L-BFGS iterations.
    message : str
        scipy's termination message.
    rank : int
        Numerical rank of the product :math:`W_M\\cdots W_1` (singular values above
        1e-6 of the largest).
    init_scale : float
        Standard deviation of the Gaussian initialisation.
    parameters : ndarray
    """

    objective: float
    gradient_norm: float
    iterations: int
    message: str
    rank: int
    init_scale: float
    parameters: np.ndarray = field(repr=False)

    @property
    def stationary(self) -> bool:
        return math.isfinite(self.objective) and self.gradient_norm <= STATIONARY_GRADIENT


INIT_SCALES = (1.0, 0.3, 3.0)
"""Initialisation scales, cycled over the restarts. Scale 1 avoids the rank-deficient
minima of a small start (pitfall P-B2), but where the global minimum is itself rank
deficient (minority collapse) scale-1 starts can all land in a full-rank local minimum
(the worked example of ``nc.collapse_threshold`` at 16 samples: 8 of 8 runs); 0.3 and 3
reach the other basins."""


def lbfgs(
    value_and_gradient: Callable[[np.ndarray], tuple[float, np.ndarray]],
    start: np.ndarray,
    memory: int = 20,
    max_iterations: int = 20_000,
    gtol: float = 1e-12,
    ftol: float = 1e-16,
) -> tuple[np.ndarray, int, str]:
    r"""Minimise with L-BFGS (two-loop recursion, strong-Wolfe line search).

    Stops when :math:`\|\nabla f\|_\infty\le` ``gtol``, when the relative decrease
    :math:`(f_k-f_{k+1})/\max(|f_k|,|f_{k+1}|,1)` falls to ``ftol`` (the L-BFGS-B
    criteria), when the line search fails (no further decrease in float64), or after
    ``max_iterations``. Returns ``(x, iterations, message)``.
    """
    cache: dict[str, Any] = {"x": None}

    def evaluate(x: np.ndarray) -> tuple[float, np.ndarray]:
        if cache["x"] is None or not np.array_equal(cache["x"], x):
            cache["x"], (cache["f"], cache["g"]) = x.copy(), value_and_gradient(x)
        return cache["f"], cache["g"]

    x = np.asarray(start, dtype=float).copy()
    value, grad = evaluate(x)
    steps: list[np.ndarray] = []
    changes: list[np.ndarray] = []
    # scipy's BFGS convention: a fictitious previous value sets the first trial step to
    # about ||g|| / |g^T d|, a unit-length move, whatever the scale of the start
    previous_value = value + float(np.linalg.norm(grad)) / 2
    for iteration in range(1, max_iterations + 1):
        if not math.isfinite(value):
            return x, iteration - 1, "ABNORMAL: non-finite objective"
        if float(np.max(np.abs(grad))) <= gtol:
            return x, iteration - 1, "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL"
        found = None
        for attempt in ("memory", "steepest"):
            if attempt == "steepest":
                if not steps:
                    break
                steps.clear()
                changes.clear()
            direction = _two_loop_direction(grad, steps, changes)
            with warnings.catch_warnings():
                # "did not converge" is scipy's LineSearchWarning (a RuntimeWarning): a
                # failed search is handled below (restart, then stop with a message)
                warnings.filterwarnings(
                    "ignore", message="The line search algorithm", category=RuntimeWarning
                )
                step, *_, new_value, _, new_grad = line_search(
                    lambda z: evaluate(z)[0], lambda z: evaluate(z)[1], x, direction, grad,
                    value, previous_value, c2=0.9, maxiter=50,
                )
            if step is not None and new_grad is not None:
                found = (step, direction, new_value, new_grad)
                break
        if found is None:
            return x, iteration - 1, "ABNORMAL: line search found no decrease"
        step, direction, new_value, new_grad = found
        x_new = x + step * direction
        s_new, y_new = x_new - x, new_grad - grad
        if float(s_new @ y_new) > 1e-12 * float(np.linalg.norm(s_new) * np.linalg.norm(y_new)):
            steps.append(s_new)
            changes.append(y_new)
            if len(steps) > memory:
                steps.pop(0)
                changes.pop(0)
        decrease = (value - new_value) / max(abs(value), abs(new_value), 1.0)
        previous_value, value, grad, x = value, new_value, new_grad, x_new
        if decrease <= ftol:
            return x, iteration, "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH"
    return x, max_iterations, "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"


def _two_loop_direction(
    grad: np.ndarray, steps: list[np.ndarray], changes: list[np.ndarray]
) -> np.ndarray:
    """The L-BFGS direction :math:`-H_kg` from the stored pairs (steepest descent if none)."""
    direction = -grad.copy()
    alphas = []
    for s_i, y_i in zip(reversed(steps), reversed(changes), strict=True):
        alpha = float(s_i @ direction) / float(y_i @ s_i)
        alphas.append(alpha)
        direction -= alpha * y_i
    if steps:
        direction *= float(steps[-1] @ changes[-1]) / float(changes[-1] @ changes[-1])
    for (s_i, y_i), alpha in zip(zip(steps, changes, strict=True), reversed(alphas),
                                 strict=True):
        beta = float(y_i @ direction) / float(y_i @ s_i)
        direction += (alpha - beta) * s_i
    if float(direction @ grad) >= 0:  # not a descent direction (should not happen)
        return -grad.copy()
    return direction


def multistart(
    problem: FlatUFM,
    seed: np.random.SeedSequence,
    restarts: int = 6,
    init_scales: Sequence[float] = INIT_SCALES,
    options: dict[str, Any] | None = None,
    polish: bool = True,
    engine: str = "numpy",
) -> list[OptimisationRun]:
    """L-BFGS from ``restarts`` Gaussian initialisations, standard deviations cycling
    through ``init_scales``.

    ``engine="numpy"`` uses :func:`lbfgs`; ``engine="scipy"`` scipy's L-BFGS-B with
    :data:`LBFGS_OPTIONS` (updated by ``options``). Every run is returned (lowest
    objective first), with its gradient norm, rank, initialisation scale and message:
    local minima and stalled runs are reported, not hidden.
    """
    if engine not in ("numpy", "scipy"):
        raise ValueError(f"multistart: engine must be 'numpy' or 'scipy', got {engine!r}")
    settings = {**LBFGS_OPTIONS, **(options or {})}
    rng = np.random.default_rng(seed)
    runs = []
    for index in range(restarts):
        init_scale = float(init_scales[index % len(init_scales)])
        start = init_scale * rng.standard_normal(problem.size)
        if engine == "scipy":
            result = minimize(problem.value_and_gradient, start, jac=True, method="L-BFGS-B",
                              options=settings)
            found, iterations, message = result.x, int(result.nit), str(result.message)
        else:
            found, iterations, message = lbfgs(
                problem.value_and_gradient, start, memory=settings["maxcor"],
                max_iterations=settings["maxiter"], gtol=settings["gtol"],
                ftol=settings["ftol"],
            )
        p = newton_polish(problem, found) if polish else found
        value, grad = problem.value_and_gradient(p)
        singular = np.linalg.svd(problem.product(p), compute_uv=False)
        rank = int(np.sum(singular > 1e-6 * max(singular[0], 1e-300)))
        runs.append(
            OptimisationRun(
                objective=value,
                gradient_norm=float(np.linalg.norm(grad)),
                iterations=iterations,
                message=message,
                rank=rank if singular[0] > 1e-8 else 0,
                init_scale=init_scale,
                parameters=p,
            )
        )
    return sorted(runs, key=lambda r: (not math.isfinite(r.objective), r.objective))


def summarise_runs(runs: Sequence[OptimisationRun], rtol: float = 1e-9) -> dict[str, Any]:
    """Objectives, gradient norms and ranks of all runs; which ones reach the best value."""
    best = runs[0].objective
    at_best = [abs(r.objective - best) <= rtol * abs(best) for r in runs]
    return {
        "restarts": len(runs),
        "best_objective": best,
        "reached_best": int(sum(at_best)),
        "objectives": [float(f"{r.objective:.12g}") for r in runs],
        "ranks": [r.rank for r in runs],
        "init_scales": [r.init_scale for r in runs],
        "gradient_norms": [float(f"{r.gradient_norm:.3g}") for r in runs],
        "not_stationary": int(sum(not r.stationary for r in runs)),
        "worse_local_points": [
            {"objective": r.objective, "rank": r.rank, "init_scale": r.init_scale}
            for r, ok in zip(runs, at_best, strict=True)
            if not ok
        ],
    }


# --------------------------------------------------------------------------- scalar problem


def scalar_minimiser_reference(beta: float, depth: int, grid_points: int = 20_001) -> float:
    r"""Global minimiser of :math:`\psi_\beta(x)=1/(1+x^M)+\beta x` on :math:`[0,\infty)`.

    Dense grid on :math:`[0, 1/\beta]` (beyond it :math:`\beta x>1\ge\psi(0)`), brentq on
    every sign change of :math:`\psi'`, then the smallest :math:`\psi` among the roots and
    x = 0.
    """
    def derivative(x: float) -> float:
        return beta - depth * x ** (depth - 1) / (1 + x**depth) ** 2

    def psi(x: float) -> float:
        return 1 / (1 + x**depth) + beta * x

    grid = np.linspace(0.0, 1.0 / beta, grid_points)
    values = beta - depth * grid ** (depth - 1) / (1 + grid**depth) ** 2
    candidates = [0.0]
    for i in np.nonzero(np.sign(values[:-1]) != np.sign(values[1:]))[0]:
        if values[i] == 0.0:
            candidates.append(float(grid[i]))
            continue
        candidates.append(brentq(derivative, grid[i], grid[i + 1], xtol=1e-15, rtol=1e-15))
    return min(candidates, key=lambda x: (psi(x), -x))


# --------------------------------------------------------------------------- convex references

SOLVER_OPTIONS = {"tol_gap_abs": 1e-11, "tol_gap_rel": 1e-11, "tol_feas": 1e-11}
"""CLARABEL tolerances: tighter than the default 1e-8, so that the minimiser (pinned only to
about the square root of the gap) is accurate to the spec's 1e-6."""


def nuclear_norm_mse(targets: np.ndarray, weight: float) -> tuple[np.ndarray, float]:
    r"""Solve :math:`\min_Z\frac1{2N}\|Z-T\|_F^2+w\|Z\|_*` with cvxpy (CLARABEL).

    With :math:`w=\sqrt{\lambda_W\lambda_H}` this is the M = 1 UFM in terms of
    :math:`Z=WH` (``nc.mse_M1_closed_form``). Returns ``(Z, optimal value)``.
    """
    import cvxpy as cp

    z = cp.Variable(targets.shape)
    objective = cp.sum_squares(z - targets) / (2 * targets.shape[1]) + weight * cp.normNuc(z)
    problem = cp.Problem(cp.Minimize(objective))
    problem.solve(solver="CLARABEL", **SOLVER_OPTIONS)
    if problem.status != "optimal":
        raise RuntimeError(f"nuclear_norm_mse: solver status {problem.status!r}")
    return np.asarray(z.value), float(problem.value)


def nuclear_norm_mse_class_means(
    class_sizes: Sequence[int], weight: float
) -> tuple[np.ndarray, float]:
    r"""The M = 1 MSE problem of :func:`nuclear_norm_mse` for one-hot targets, in class means.

    By convexity, averaging Z over the within-class permutations of the samples does not
    increase the objective, so an optimal :math:`Z=AY` exists (:math:`A\in\mathbb
    R^{K\times K}`, column k the logits of class k); then
    :math:`\|Z-Y\|_F^2=\sum_kn_k\|a_k-e_k\|^2` and
    :math:`\|Z\|_*=\|A\,\mathrm{diag}(\sqrt{n_k})\|_*`. A K x K problem whatever N (the
    per-sample semidefinite program at N = 400 needs tens of GB). Returns
    ``(A, optimal value)``.
    """
    import cvxpy as cp

    sizes = np.asarray(class_sizes, dtype=float)
    k, total = sizes.size, float(sizes.sum())
    a = cp.Variable((k, k))
    fit = cp.sum(cp.multiply(sizes[None, :], cp.square(a - np.eye(k)))) / (2 * total)
    objective = fit + weight * cp.normNuc(a @ np.diag(np.sqrt(sizes)))
    problem = cp.Problem(cp.Minimize(objective))
    problem.solve(solver="CLARABEL", **SOLVER_OPTIONS)
    if problem.status != "optimal":
        raise RuntimeError(f"nuclear_norm_mse_class_means: solver status {problem.status!r}")
    return np.asarray(a.value), float(problem.value)


def nuclear_norm_cross_entropy(num_classes: int, weight: float) -> tuple[np.ndarray, float]:
    r"""Solve :math:`\min_{\bar Z}\frac1K\sum_k\mathrm{CE}(\bar z_k,k)+w\|\bar Z\|_*` (cvxpy).

    The balanced M = 1 CE UFM in class-mean logits :math:`\bar Z=W\bar H` (K x K), with
    :math:`w=\sqrt{n\lambda_W\lambda_H}`: by convexity, averaging Z over the within-class
    permutations of the samples does not increase the objective, so an optimal
    :math:`Z=\bar Z\otimes\mathbf 1_n^\top` exists and :math:`\|Z\|_*=\sqrt n\|\bar Z\|_*`.
    Returns ``(Zbar, optimal value)``; column k holds the logits of class k.
    """
    import cvxpy as cp

    z = cp.Variable((num_classes, num_classes))
    losses = [cp.log_sum_exp(z[:, k]) - z[k, k] for k in range(num_classes)]
    objective = sum(losses) / num_classes + weight * cp.normNuc(z)
    problem = cp.Problem(cp.Minimize(objective))
    problem.solve(solver="CLARABEL", **SOLVER_OPTIONS)
    if problem.status != "optimal":
        raise RuntimeError(f"nuclear_norm_cross_entropy: solver status {problem.status!r}")
    return np.asarray(z.value), float(problem.value)


def best_scale(
    function: Callable[[float], float], upper: float = 200.0
) -> tuple[float, float]:
    """``(minimum, argmin)`` of a scalar function of a scale in [0, upper] (bounded Brent,
    with the end point 0 compared explicitly)."""
    result = minimize_scalar(function, bounds=(0.0, upper), method="bounded",
                             options={"xatol": 1e-12, "maxiter": 2000})
    at_zero = function(0.0)
    if at_zero <= result.fun:
        return float(at_zero), 0.0
    return float(result.fun), float(result.x)


def ce_logits(logits: np.ndarray) -> float:
    """Mean cross-entropy of class-mean logits (column k has label k), NumPy reference."""
    k = logits.shape[0]
    return float(np.mean(logsumexp(logits, axis=0) - logits[np.arange(k), np.arange(k)]))
