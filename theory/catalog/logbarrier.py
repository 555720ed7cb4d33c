r"""Log-barrier FTRL on the simplex (Dai, Luo, Wei & Zimmert, ICML 2023), fragment.

*Refined Regret for Adversarial MDPs with Linear Function Approximation*; claim
``logbarrier.ftrl-kkt`` of ``shared/claims/catalog.md`` §58 [unconfirmed numbering]. This is
a **fragment**: the closed form of one FTRL step with the log-barrier regulariser, an
ingredient of the paper's policy-optimisation algorithms; the paper's regret bounds
(:math:`O(\sqrt K)` with a simulator, :math:`O(K^{8/9})` without; specified in
``online_regret.md`` §5) are not checked and not testable at small scale. Where in the paper
the step is stated, and whether with exactly this scaling of :math:`\eta`, is not confirmed.

The step: :math:`p=\arg\min_{p\in\Delta_K}\langle L,p\rangle-\frac1\eta\sum_i\log p_i`. The
KKT conditions (stationarity with multiplier :math:`\nu` of :math:`\sum_ip_i=1`; the barrier
keeps :math:`p>0`, so no sign multipliers) give :math:`p_i=1/(\eta(L_i+\nu))` with
:math:`\nu>-\min_iL_i` the unique root of :math:`g(\nu)=\sum_i1/(\eta(L_i+\nu))-1`, which is
decreasing and convex on :math:`(-\min L,\infty)` with :math:`g\ge0` at
:math:`-\min L+1/\eta` and :math:`g\le0` at :math:`-\min L+K/\eta`.
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

PAPER = "logbarrier"
"""Key of the paper in the seed catalog."""

EPS = float(np.finfo(np.float64).eps)
NEWTON_STEPS = 100
r"""Newton steps of the root find; monotone from the left bracket, quadratic near the root
(the iterate stops moving long before)."""
SOLVER_TOL = 1e-10
"""CLARABEL's gap (absolute and relative) and feasibility tolerances for the reference."""


def _check_losses(losses: Any, func: str) -> tuple[Any, Any]:
    losses, xp = validate.real_floating(losses, "losses", func=func)
    if losses.ndim < 1 or losses.shape[-1] < 1:
        raise ValueError(
            f"{func}: losses must have shape (..., K) with K >= 1, got {tuple(losses.shape)}"
        )
    validate.finite(losses, "losses", func=func, xp=xp)
    return losses, xp


def _check_eta(eta: Any, losses: Any, func: str) -> Any:
    """A finite positive number, or an array of shape losses.shape[:-1]; as (..., 1)."""
    if isinstance(eta, int | float) and not isinstance(eta, bool):
        if not math.isfinite(eta) or not eta > 0:
            raise ValueError(f"{func}: eta must be a finite number > 0, got {eta!r}")
        return float(eta)
    eta, xp = validate.real_floating(eta, "eta", func=func)
    if tuple(eta.shape) != tuple(losses.shape[:-1]):
        raise ValueError(
            f"{func}: eta must be a number or have shape {tuple(losses.shape[:-1])}, "
            f"got {tuple(eta.shape)}"
        )
    validate.finite(eta, "eta", func=func, xp=xp)
    if eta.ndim and not bool(xp.all(eta > 0)):
        raise ValueError(f"{func}: eta must be > 0, has entry {float(xp.min(eta))}")
    if not eta.ndim and not float(eta) > 0:
        raise ValueError(f"{func}: eta must be > 0, got {float(eta)}")
    return eta[..., None]


def log_barrier_multiplier(losses: Any, eta: Any) -> Any:
    r"""The multiplier :math:`\nu` of :math:`\sum_ip_i=1`: the root of
    :math:`\sum_i1/(\eta(L_i+\nu))=1` on :math:`(-\min L,\infty)`.

    Newton's method from :math:`\nu_0=-\min L+1/\eta` (where :math:`g\ge0`); g is convex and
    decreasing, so the iterates increase monotonically to the root (each step is also
    clamped to be non-decreasing against rounding).

    Parameters
    ----------
    losses : array, shape (..., K)
        Cumulative losses L.
    eta : float or array, shape (...)
        Learning rate(s), > 0.

    Returns
    -------
    array, shape (...)
    """
    func = "log_barrier_multiplier"
    losses, _ = _check_losses(losses, func)
    return _multiplier(losses, _check_eta(eta, losses, func))[..., 0]


def _multiplier(losses: Any, eta: Any) -> Any:
    """Newton's root find of :func:`log_barrier_multiplier`; eta as a number or (..., 1)."""
    xp = array_namespace(losses)
    nu = -xp.min(losses, axis=-1, keepdims=True) + 1.0 / eta
    for _ in range(NEWTON_STEPS):
        inverse = 1.0 / (eta * (losses + nu))
        value = xp.sum(inverse, axis=-1, keepdims=True) - 1.0
        slope = -eta * xp.sum(inverse * inverse, axis=-1, keepdims=True)
        nu = xp.maximum(nu, nu - value / slope)
    return nu


def log_barrier_ftrl(losses: Any, eta: Any) -> Any:
    r"""The log-barrier FTRL step :math:`p_i=1/(\eta(L_i+\nu))`.

    Parameters
    ----------
    losses : array, shape (..., K)
        Cumulative losses L.
    eta : float or array, shape (...)
        Learning rate(s), > 0.

    Returns
    -------
    array, shape (..., K)
        :math:`\arg\min_{p\in\Delta_K}\langle L,p\rangle-\frac1\eta\sum_i\log p_i`; positive,
        summing to 1 to rounding (:math:`\lesssim K\epsilon`).
    """
    func = "log_barrier_ftrl"
    losses, _ = _check_losses(losses, func)
    eta = _check_eta(eta, losses, func)
    return 1.0 / (eta * (losses + _multiplier(losses, eta)))


def log_barrier_objective(p: Any, losses: Any, eta: Any) -> Any:
    r"""The FTRL objective :math:`\langle L,p\rangle-\frac1\eta\sum_i\log p_i`.

    Parameters
    ----------
    p : array, shape (..., K)
        Positive points.
    losses : array, shape (..., K)
    eta : float or array, shape (...)

    Returns
    -------
    array, shape (...)
    """
    func = "log_barrier_objective"
    losses, xp = _check_losses(losses, func)
    p, _ = validate.real_floating(p, "p", func=func)
    validate.same_shape(p, losses, ("p", "losses"), func=func)
    validate.finite(p, "p", func=func, xp=xp)
    if not bool(xp.all(p > 0)):
        raise ValueError(f"{func}: p must be positive, has entry {float(xp.min(p))}")
    eta = _check_eta(eta, losses, func)
    return xp.sum(losses * p - xp.log(p) / eta, axis=-1)


def _hedge(losses: Any, eta: Any) -> Any:
    r"""Control: the negentropy FTRL step :math:`p\propto e^{-\eta L}` (Hedge)."""
    xp = array_namespace(losses)
    eta = _check_eta(eta, losses, "_hedge")
    shifted = -eta * (losses - xp.min(losses, axis=-1, keepdims=True))
    weights = xp.exp(shifted)
    return weights / xp.sum(weights, axis=-1, keepdims=True)


def _normalised_at_bracket(losses: Any, eta: Any) -> Any:
    r"""Control: :math:`p_i\propto1/(\eta(L_i-\min L)+1)` (the multiplier fixed at the left
    bracket and the result normalised instead of solving for :math:`\nu`)."""
    xp = array_namespace(losses)
    eta = _check_eta(eta, losses, "_normalised_at_bracket")
    q = 1.0 / (eta * (losses - xp.min(losses, axis=-1, keepdims=True)) + 1.0)
    return q / xp.sum(q, axis=-1, keepdims=True)


def _reference_problem(shape: tuple[int, ...]) -> tuple[Any, list[Any], Callable[[], Any]]:
    k = shape[0]
    losses = cp.Parameter(k)
    inv_eta = cp.Parameter(nonneg=True)
    p = cp.Variable(k)
    objective = cp.Minimize(losses @ p - inv_eta * cp.sum(cp.log(p)))
    problem = cp.Problem(objective, [cp.sum(p) == 1])
    return problem, [losses, inv_eta], lambda: p.value


def _objective_scale(p: np.ndarray, losses: np.ndarray, eta: np.ndarray) -> np.ndarray:
    r""":math:`\sum_i|L_ip_i|+\frac1\eta\sum_i|\log p_i|`: the size of the objective's terms."""
    logs = np.log(np.maximum(p, np.finfo(float).tiny))
    return np.sum(np.abs(losses * p) + np.abs(logs) / eta[:, None], axis=-1)


@claim(
    "logbarrier.ftrl-kkt",
    paper=PAPER,
    source="log-barrier FTRL step of the policy update (fragment; location not confirmed)",
    statement=(
        r"\text{fragment: }\arg\min_{p\in\Delta_K}\langle L,p\rangle-\tfrac1\eta\sum_i\log p_i"
        r"=\big(\tfrac1{\eta(L_i+\nu)}\big)_i,\ \nu>-\min L:\ \sum_i\tfrac1{\eta(L_i+\nu)}=1"
    ),
    method="solver",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "hedge",
            r"\text{the minimiser is }p\propto e^{-\eta L}\ \text{(negentropy FTRL)}",
            {"ftrl": _hedge},
        ),
        Control(
            "normalised-at-bracket",
            r"p_i\propto1/(\eta(L_i-\min L)+1)\ \text{(no root find)}",
            {"ftrl": _normalised_at_bracket},
        ),
    ],
)
def ftrl_kkt(ctx: Context, ftrl: Callable[[Any, Any], Any] = log_barrier_ftrl) -> Evidence:
    r"""30 (quick) / 300 (full) instances, K uniform in {2, ..., 8} (grouped by K),
    :math:`L_i\sim U(0,10)`, :math:`\eta` log-uniform in [0.1, 3]; reference: cvxpy with
    CLARABEL at gap and feasibility tolerances 1e-10, its point q renormalised onto the
    simplex. Parts:

    - on the simplex: :math:`|\sum p-1|\le4K\epsilon`, :math:`p>0`;
    - no worse than the solver and consistent with strong convexity:
      :math:`f(q)-f(p)\ge\frac1{2\eta}\|q-p\|^2-\tau`. For the exact minimiser p* this holds
      for every feasible q (f is :math:`1/\eta`-strongly convex on the simplex, as
      :math:`\nabla^2f=\operatorname{diag}(1/(\eta p_i^2))\succeq I/\eta`, and
      :math:`\langle\nabla f(p^\star),q-p^\star\rangle=-\nu\sum(q-p^\star)=0`); a wrong p
      fails it once its error exceeds about :math:`\sqrt{\eta\epsilon_{\text{solver}}}`.
      :math:`\tau=4K\epsilon(\sum|L_ip_i|+\frac1\eta\sum|\log p_i|)` summed over p and q
      (the rounding of the two objectives);
    - solver-pinned distance: :math:`\|p-q\|_2\le\sqrt{2\eta\epsilon_{\text{solver}}}`,
      :math:`\epsilon_{\text{solver}}=100\cdot10^{-10}(1+|f(q)|)` (an objective gap
      :math:`\epsilon` pins a :math:`1/\eta`-strongly convex minimiser only to
      :math:`\sqrt{2\eta\epsilon}`; the factor 100 covers the feasibility residual and the
      renormalisation).
    """
    rng = ctx.rng(0)
    count = ctx.pick(30, 300)
    sizes = rng.integers(2, 9, count)
    parts: dict[str, Evidence] = {}
    for k in sorted(set(sizes.tolist())):
        chosen = int(np.sum(sizes == k))
        losses = rng.uniform(0.0, 10.0, (chosen, k))
        eta = np.exp(rng.uniform(np.log(0.1), np.log(3.0), chosen))
        p = np.asarray(to_numpy(ftrl(ctx.asarray(losses), ctx.asarray(eta))), dtype=float)
        q = checks.solve_each(
            _reference_problem,
            losses,
            1.0 / eta,
            tol_gap_abs=SOLVER_TOL,
            tol_gap_rel=SOLVER_TOL,
            tol_feas=SOLVER_TOL,
        )
        q = np.maximum(q, np.finfo(float).tiny)
        q = q / q.sum(axis=-1, keepdims=True)
        inputs = {"losses": losses, "eta": eta, "p": p, "q": q}
        f_p = np.sum(losses * p - np.log(np.maximum(p, np.finfo(float).tiny)) / eta[:, None], -1)
        f_q = np.sum(losses * q - np.log(q) / eta[:, None], -1)
        tau = 4 * k * EPS * (_objective_scale(p, losses, eta) + _objective_scale(q, losses, eta))
        distance_sq = np.sum((p - q) ** 2, axis=-1)
        solver_eps = 100 * SOLVER_TOL * (1 + np.abs(f_q))
        parts[f"K={k}: sum p = 1"] = checks.compare(p.sum(-1), 1.0, atol=4 * k * EPS, inputs=inputs)
        parts[f"K={k}: p > 0"] = checks.nonnegative(p.min(-1), inputs=inputs)
        parts[f"K={k}: f(q) - f(p) >= ||q - p||^2 / (2 eta)"] = checks.nonnegative(
            f_q - f_p - distance_sq / (2 * eta) + tau, inputs=inputs
        )
        parts[f"K={k}: ||p - q|| <= sqrt(2 eta eps_solver)"] = checks.nonnegative(
            np.sqrt(2 * eta * solver_eps) - np.sqrt(distance_sq), inputs=inputs
        )
    return checks.combine(parts)
