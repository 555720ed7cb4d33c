r"""Training dynamics of the deep linear generator: layer-wise gradient flow and descent.

Bréchet et al., ICML 2023 (spec ``bw.balanced_flow``, ``bw.gf_rate``, ``bw.gd_stepsize``).
The layers :math:`W_1,\dots,W_N` follow

- gradient flow :math:`\dot W_j = -\nabla_{W_j}L^N`, integrated by the classical
  fourth-order Runge-Kutta scheme (local error :math:`O(dt^5)`, so a step of 1e-2
  is far more accurate than the authors' gradient descent with a step of 1e-5);
- gradient descent :math:`W_j \leftarrow W_j - \eta\,\nabla_{W_j}L^N`.

Any leading axes of the layers are replicates: every replicate moves at once (no
Python loop over replicates), and a step size may differ per replicate. The
objective is any object with ``loss(W)`` and ``gradient(W)`` (for instance
:class:`~theory.bures_wasserstein.gradients.PerturbedBuresObjective`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from theory.bures_wasserstein.deep_linear import (
    _layer_gradients,
    _product,
    _validated_layers,
    balancedness_defect,
)
from theory.bures_wasserstein.distance import _bures_from_eigh
from theory.bures_wasserstein.matrices import integer_in_range, positive_scalar
from theory.bures_wasserstein.references import random_orthogonal


class Objective(Protocol):
    """A loss of the end-to-end matrix with its gradient."""

    def loss(self, weights: Any) -> Any: ...

    def gradient(self, weights: Any) -> Any: ...


@dataclass
class Trajectory:
    """Observations along a run, each stacked on a leading time axis.

    Attributes
    ----------
    times : list of float
        Flow time (gradient flow) or iteration count (gradient descent).
    loss : array, shape (T, ...)
        The objective at each recorded time, per replicate.
    weights : array, shape (T, ..., n, m)
        The end-to-end matrix.
    defect : array, shape (T, ...)
        The balancedness defect :math:`\\max_j\\|W_{j+1}^\top W_{j+1} - W_jW_j^\top\\|_F`.
    layers : list of arrays
        The final layers.
    """

    times: list[float]
    loss: Any
    weights: Any
    defect: Any
    layers: list[Any]


def _end_to_end(layers: list[Any], xp: Any) -> Any:
    return _product(layers, xp, layers[0].shape[-1], layers[0].dtype)


def _velocity(layers: list[Any], objective: Objective, xp: Any) -> list[Any]:
    gradient = objective.gradient(_end_to_end(layers, xp))
    return [-g for g in _layer_gradients(layers, gradient, xp)]


def _record(layers: list[Any], objective: Objective, xp: Any, store: dict[str, list[Any]]) -> None:
    weights = _end_to_end(layers, xp)
    store["loss"].append(objective.loss(weights))
    store["weights"].append(weights)
    store["defect"].append(balancedness_defect(layers))


def _store(store: dict[str, list[Any]], loss: Any, weights: Any, layers: list[Any]) -> None:
    store["loss"].append(loss)
    store["weights"].append(weights)
    store["defect"].append(balancedness_defect(layers))


def _trajectory(times: list[float], store: dict[str, list[Any]], layers: list[Any], xp: Any):
    return Trajectory(
        times=times,
        loss=xp.stack(store["loss"]),
        weights=xp.stack(store["weights"]),
        defect=xp.stack(store["defect"]),
        layers=layers,
    )


def layer_gradient_flow(
    layers: list[Any],
    objective: Objective,
    dt: float,
    steps: int,
    record_every: int = 1,
    method: str = "rk4",
) -> Trajectory:
    r"""Integrate :math:`\dot W_j = -\nabla_{W_j}L^N` from the given layers.

    ``method="rk4"``: the classical fourth-order Runge-Kutta scheme.
    ``method="midpoint"``: the implicit midpoint rule
    :math:`y_{t+1} = y_t + dt\,f((y_t+y_{t+1})/2)`, second order, which conserves every
    quadratic invariant of the vector field exactly (Cooper 1987) -- among them the
    balancedness :math:`W_{j+1}^\top W_{j+1} - W_jW_j^\top` of the layer flow, which RK4
    only keeps up to its local error. Its stage equation is solved by fixed-point
    iteration to a relative change below 1e-10, or to its round-off floor (the map
    contracts by :math:`dt\,\mathrm{Lip}(f)/2`; at most 100 iterations, else
    ``RuntimeError``).

    Parameters
    ----------
    layers : list of N arrays, shapes (..., d_j, d_{j-1})
        The initial layers (leading axes: replicates).
    objective : Objective
        ``loss(W)`` and ``gradient(W)`` of the end-to-end matrix.
    dt : float
        Time step > 0.
    steps : int
        Number of steps >= 1; the final time is ``steps * dt``.
    record_every : int
        Record every this many steps (the start and the end are always recorded).
    method : {"rk4", "midpoint"}

    Returns
    -------
    Trajectory
    """
    func = "layer_gradient_flow"
    if method not in ("rk4", "midpoint"):
        raise ValueError(f"{func}: method must be 'rk4' or 'midpoint', got {method!r}")
    layers, xp = _validated_layers(layers, func)
    dt = positive_scalar(dt, "dt", func=func)
    steps = integer_in_range(steps, "steps", 1, 10**8, func=func)
    record_every = integer_in_range(record_every, "record_every", 1, 10**8, func=func)
    store: dict[str, list[Any]] = {"loss": [], "weights": [], "defect": []}
    times = [0.0]
    _record(layers, objective, xp, store)
    advance = _rk4_step if method == "rk4" else _midpoint_step
    for step in range(1, steps + 1):
        layers = advance(layers, objective, dt, xp)
        if step % record_every == 0 or step == steps:
            times.append(step * dt)
            _record(layers, objective, xp, store)
    return _trajectory(times, store, layers, xp)


def _rk4_step(layers: list[Any], objective: Objective, dt: float, xp: Any) -> list[Any]:
    k1 = _velocity(layers, objective, xp)
    k2 = _velocity([w + dt / 2 * k for w, k in zip(layers, k1, strict=True)], objective, xp)
    k3 = _velocity([w + dt / 2 * k for w, k in zip(layers, k2, strict=True)], objective, xp)
    k4 = _velocity([w + dt * k for w, k in zip(layers, k3, strict=True)], objective, xp)
    return [
        w + dt / 6 * (a + 2 * b + 2 * c + d)
        for w, a, b, c, d in zip(layers, k1, k2, k3, k4, strict=True)
    ]


MIDPOINT_RTOL = 1e-10
"""Stage solve: stop when an iteration changes the stage by at most 1e-10 of its size,
or when the change stops decreasing below 1e-9 of it (the round-off floor of the
gradient, a few ulps times its condition, has been reached)."""
MIDPOINT_ITERATIONS = 100


def _midpoint_step(layers: list[Any], objective: Objective, dt: float, xp: Any) -> list[Any]:
    """One implicit-midpoint step: k = f(y + dt k / 2), y <- y + dt k."""
    k = _velocity(layers, objective, xp)
    previous = float("inf")
    for _ in range(MIDPOINT_ITERATIONS):
        new = _velocity([w + dt / 2 * v for w, v in zip(layers, k, strict=True)], objective, xp)
        change = max(float(xp.max(xp.abs(a - b))) for a, b in zip(new, k, strict=True))
        size = max(max(float(xp.max(xp.abs(a))) for a in new), 1.0)
        k = new
        if change <= MIDPOINT_RTOL * size or (change >= previous and change <= 1e-9 * size):
            return [w + dt * v for w, v in zip(layers, k, strict=True)]
        previous = change
    raise RuntimeError(
        f"implicit midpoint: no convergence in {MIDPOINT_ITERATIONS} iterations at dt = {dt}"
    )


def layer_gradient_descent(
    layers: list[Any],
    objective: Objective,
    step_size: Any,
    iterations: int,
    record_every: int = 1,
    stop_above: float | None = None,
) -> Trajectory:
    r"""Gradient descent :math:`W_j \leftarrow W_j - \eta\,\nabla_{W_j}L^N` on every layer.

    Parameters
    ----------
    layers : list of N arrays, shapes (..., d_j, d_{j-1})
    objective : Objective
    step_size : float or array of the replicate shape (...)
        :math:`\eta > 0`, per replicate if an array.
    iterations : int
        >= 1.
    record_every : int
        Record every this many iterations (start and end always).
    stop_above : float, optional
        A replicate whose loss exceeds this (or is not finite) stops moving, so
        that a diverging run stays finite and its blow-up stays on record.

    Returns
    -------
    Trajectory
        ``times`` counts iterations.
    """
    func = "layer_gradient_descent"
    layers, xp = _validated_layers(layers, func)
    iterations = integer_in_range(iterations, "iterations", 1, 10**8, func=func)
    record_every = integer_in_range(record_every, "record_every", 1, 10**8, func=func)
    if isinstance(step_size, (int, float)):
        step = positive_scalar(step_size, "step_size", func=func)
    else:
        if not bool(xp.all(step_size > 0)) or not bool(xp.all(xp.isfinite(step_size))):
            raise ValueError(f"{func}: step_size must be positive and finite, got {step_size}")
        step = step_size[..., None, None]
    store: dict[str, list[Any]] = {"loss": [], "weights": [], "defect": []}
    times = [0.0]
    weights = _end_to_end(layers, xp)
    loss = objective.loss(weights)
    _store(store, loss, weights, layers)
    for iteration in range(1, iterations + 1):
        moving = step
        if stop_above is not None:
            active = xp.logical_and(xp.isfinite(loss), loss <= stop_above)
            moving = step * xp.astype(active, weights.dtype)[..., None, None]
            weights = xp.where(active[..., None, None], weights, 0 * weights)
        grads = _layer_gradients(layers, objective.gradient(weights), xp)
        layers = [w - moving * g for w, g in zip(layers, grads, strict=True)]
        weights = _end_to_end(layers, xp)
        recording = iteration % record_every == 0 or iteration == iterations
        if recording or stop_above is not None:
            loss = objective.loss(weights)
        if recording:
            times.append(float(iteration))
            _store(store, loss, weights, layers)
    return _trajectory(times, store, layers, xp)


def init_close(
    rng: Any,
    eigenvalues: Any,
    eigenvectors: Any,
    tau: Any,
    shrink: float = 0.95,
    attempts: int = 200,
) -> tuple[Any, Any, Any]:
    r"""The authors' ``init_close``: a start near the perturbed optimum with a positive margin.

    For each replicate: a random orthogonal Γ and
    :math:`A = \Gamma\,\mathrm{diag}(D)\Gamma^\top`, :math:`D_i = s\lambda_n(2 - i/n)`;
    :math:`\Sigma_{\mathrm{init}} = \Sigma_0 - \tau I + A = U\,\mathrm{diag}(e)\,U^\top`;
    :math:`W_0 = U\,\mathrm{diag}(\sqrt e)\,V^\top` with a random orthogonal V; s starts at
    0.95 and is multiplied by 0.95 until the deficiency margin
    :math:`c = \sqrt{\lambda_n} - \sqrt{L^\tau(W_0)}` is positive (square case n = m = k).
    All replicates are drawn and tested at once (NumPy: this prepares inputs).

    Parameters
    ----------
    rng : numpy.random.Generator
    eigenvalues : ndarray, shape (R, n)
        :math:`\lambda` of each replicate's target, decreasing.
    eigenvectors : ndarray, shape (R, n, n)
    tau : ndarray, shape (R,)
        :math:`0 < \tau < \lambda_n`.
    shrink : float
        The factor applied to s after a failure (0.95).
    attempts : int
        Maximum number of shrinkings.

    Returns
    -------
    weights : ndarray, shape (R, n, n)
    scale : ndarray, shape (R,)
        The accepted s.
    margin : ndarray, shape (R,)
        c > 0.
    """
    lam = np.asarray(eigenvalues, dtype=float)
    omega = np.asarray(eigenvectors, dtype=float)
    tau = np.asarray(tau, dtype=float)
    count, n = lam.shape
    if np.any(tau <= 0) or np.any(tau >= lam[:, -1]):
        raise ValueError(f"init_close: tau must lie in (0, lambda_n), got {tau}")
    sigma0 = (omega * lam[:, None, :]) @ np.swapaxes(omega, -1, -2)
    gamma = random_orthogonal(rng, count, n)
    right = random_orthogonal(rng, count, n)
    profile = 2.0 - np.arange(1, n + 1) / n
    s = np.full(count, shrink)
    accepted = np.zeros(count, dtype=bool)
    weights = np.zeros((count, n, n))
    margin = np.zeros(count)
    for _ in range(attempts):
        d = s[:, None] * lam[:, -1:] * profile
        init = (
            sigma0
            - tau[:, None, None] * np.eye(n)
            + (gamma * d[:, None, :]) @ np.swapaxes(gamma, -1, -2)
        )
        e, u = np.linalg.eigh((init + np.swapaxes(init, -1, -2)) / 2)
        w = (u * np.sqrt(np.clip(e, 0, None))[:, None, :]) @ np.swapaxes(right, -1, -2)
        shifted = w @ np.swapaxes(w, -1, -2) + tau[:, None, None] * np.eye(n)
        se, sv = np.linalg.eigh(shifted)
        loss = _bures_from_eigh(np.clip(se, 0, None), sv, sigma0, np)
        c = np.sqrt(lam[:, -1]) - np.sqrt(loss)
        fresh = ~accepted & (c > 0)
        weights[fresh], margin[fresh] = w[fresh], c[fresh]
        accepted |= fresh
        if accepted.all():
            return weights, s, margin
        s = np.where(accepted, s, s * shrink)
    raise ValueError(f"init_close: no positive margin after {attempts} shrinkings")
