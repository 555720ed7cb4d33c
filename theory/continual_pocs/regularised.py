r"""The weakly regularised continual learner, solved to optimality in overflow-free form.

Evron et al. (ICML 2023), Scheme 1 (``pocs.weakreg_limit``): with the exponential
loss and regularisation strength :math:`\lambda_t`,

.. math:: w_t^{(\lambda)}=\arg\min_w\sum_{(x,y)\in S_{\tau(t)}}c_{x}\,e^{-yw^\top x}
          +\frac{\lambda_t}2\|w-w_{t-1}^{(\lambda)}\|^2,\qquad w_0^{(\lambda)}=0,

(task weights :math:`c_x>0`, 1 by default; ``pocs.reg_schedule``). For
:math:`\lambda_t=e^{-L_t}` put :math:`v=w/L_t` and :math:`m_i(v)=y_ix_i^\top v`;
dividing the objective by :math:`\lambda_tL_t^2` gives the equivalent

.. math:: \Phi_t(v)=\frac1{L_t^2}\sum_i c_i\,e^{-L_t(m_i(v)-1)}
          +\frac12\|v-\rho_tv_{t-1}\|^2,\qquad \rho_t=L_{t-1}/L_t ,

which never forms :math:`\lambda` (so :math:`L=10^5`, :math:`\lambda=e^{-10^5}`, is
fine) and whose minimiser is :math:`v_t=w_t^{(\lambda)}/L_t` exactly. It is strictly
convex, with gradient :math:`(v-\rho_tv_{t-1})-\frac1{L_t}\sum_ic_ie_ia_i` and
Hessian :math:`I+\sum_ic_ie_ia_ia_i^\top` (:math:`e_i=e^{-L_t(m_i-1)}`,
:math:`a_i=y_ix_i`). :func:`minimise_step` runs damped Newton (Armijo backtracking)
from a strictly feasible point, batched over any leading axis
(here: a grid of L), on any array-API namespace; :func:`regularised_path` starts it
closer (see there).

Stopping rule: the Newton step is at most
:math:`\max(10^{-13}, 100\,L_tu)\,(1+\|v\|)` (u = 1.1e-16). The exponents
:math:`L_t(m_i-1)` carry an absolute rounding error of about :math:`L_tu|m_i|`, so
the gradient is known to a relative :math:`L_tu` and Newton steps below a small
multiple of it are rounding noise (at :math:`L=10^5` the floor is
:math:`10^{-9}`). Since the Hessian is at least I, the distance to the minimiser is
then below that step, far below the :math:`\ln L/L\ge10^{-4}` errors the claims
measure. Near the minimiser the Armijo test cannot resolve the decrease (it is
below the rounding of :math:`\Phi`), so a Newton step d is taken in full once
:math:`L_t\|d\|\max_i\|a_i\|\le 0.1`: along it every exponent moves by at most 0.1,
the Hessian changes by a factor within :math:`e^{\pm0.1}`, and pure Newton
converges quadratically.
"""

from __future__ import annotations

from typing import Any

from theory.continual_pocs.active_sets import TaskTable, project
from theorycheck.backend import array_namespace

NEWTON_TOLERANCE = 1e-13
"""Relative size of the last Newton step at convergence (raised to 100 L u for large L)."""

UNIT_ROUNDOFF = 2.0**-53

MAX_NEWTON_STEPS = 400
_EXPONENT_CAP = 700.0
"""exp(700) ~ 1e304: exponents are capped only at trial points so bad that Armijo
rejects them anyway (their objective exceeds 1e294 / L^2)."""


def _objective(rows: Any, weights: Any, point: Any, anchor: Any, scale: Any, xp: Any) -> Any:
    margins = (rows @ point[..., None])[..., 0]
    exponent = xp.clip(-scale[:, None] * (margins - 1.0), max=_EXPONENT_CAP)
    loss = xp.sum(weights * xp.exp(exponent), axis=-1) / scale**2
    return loss + 0.5 * xp.sum((point - anchor) ** 2, axis=-1)


def minimise_step(
    rows: Any, anchor: Any, scale: Any, start: Any, weights: Any | None = None
) -> Any:
    r"""Minimise :math:`\Phi(v)` (module docstring) for a batch of problems.

    Parameters
    ----------
    rows : array, shape (B, n, D)
        :math:`a_i=y_ix_i` of the task of each problem.
    anchor : array, shape (B, D)
        :math:`\rho_tv_{t-1}`.
    scale : array, shape (B,)
        :math:`L_t=\ln(1/\lambda_t)>0`.
    start : array, shape (B, D)
        A strictly feasible starting point.
    weights : array, shape (B, n), optional
        :math:`c_i>0` (default 1).

    Returns
    -------
    array, shape (B, D)
        :math:`v_t=w_t^{(\lambda)}/L_t`.

    Raises
    ------
    RuntimeError
        If Newton's method does not converge in :data:`MAX_NEWTON_STEPS` steps.
    """
    xp = array_namespace(rows, anchor, scale, start)
    dim = int(rows.shape[-1])
    weights = xp.ones(rows.shape[:-1], dtype=rows.dtype) if weights is None else weights
    eye = xp.eye(dim, dtype=rows.dtype)
    point = start
    tolerance = xp.clip(100.0 * UNIT_ROUNDOFF * scale, min=NEWTON_TOLERANCE)
    row_norm = xp.sqrt(xp.max(xp.sum(rows**2, axis=-1), axis=-1))
    value = _objective(rows, weights, point, anchor, scale, xp)
    for _ in range(MAX_NEWTON_STEPS):
        margins = (rows @ point[..., None])[..., 0]
        tilted = weights * xp.exp(xp.clip(-scale[:, None] * (margins - 1.0), max=_EXPONENT_CAP))
        gradient = (point - anchor) - (xp.permute_dims(rows, (0, 2, 1)) @ tilted[..., None])[
            ..., 0
        ] / scale[:, None]
        hessian = eye + xp.permute_dims(rows, (0, 2, 1)) @ (tilted[..., None] * rows)
        direction = -xp.linalg.solve(hessian, gradient[..., None])[..., 0]
        size = xp.sqrt(xp.sum(direction**2, axis=-1))
        norm = xp.sqrt(xp.sum(point**2, axis=-1))
        done = size <= tolerance * (1.0 + norm)
        if bool(xp.all(done)):
            return point + direction
        local = xp.logical_or(done, scale * size * row_norm <= 0.1)
        if bool(xp.all(local)):
            point = point + direction
            value = _objective(rows, weights, point, anchor, scale, xp)
            continue
        # Largest step keeping every exponent L(1 - m_i) below 2 ln L + ln(1 + Phi) + 5:
        # beyond it the loss term alone exceeds e^5 Phi(v), which Armijo rejects anyway.
        slope = xp.sum(gradient * direction, axis=-1)
        descent = (rows @ direction[..., None])[..., 0]  # d m_i / d step
        ceiling = (2.0 * xp.log(scale) + xp.log1p(value) + 5.0) / scale
        room = ceiling[:, None] - (1.0 - margins)
        limit = xp.where(descent < 0, room / xp.where(descent < 0, -descent, 1.0), xp.inf)
        step = xp.clip(xp.min(limit, axis=-1), max=1.0)
        accepted = local
        for _halving in range(80):
            trial = point + step[:, None] * direction
            trial_value = _objective(rows, weights, trial, anchor, scale, xp)
            accepted = xp.logical_or(accepted, trial_value <= value + 1e-4 * step * slope)
            if bool(xp.all(accepted)):
                break
            step = xp.where(accepted, step, 0.5 * step)
        step = xp.where(local, 1.0, step)
        point = point + step[:, None] * direction
        value = _objective(rows, weights, point, anchor, scale, xp)
    raise RuntimeError(
        f"minimise_step: Newton's method did not converge in {MAX_NEWTON_STEPS} steps"
    )


def regularised_path(
    table: TaskTable,
    order: Any,
    scales: Any,
    weights: Any | None = None,
) -> Any:
    r"""The rescaled iterates :math:`v_t=w_t^{(\lambda)}/L_t` of Scheme 1 for a batch of schedules.

    Each step starts Newton's method from the strictly feasible point
    :math:`\Pi_{W_m}(a)+\frac{2\ln L_t+1}{L_t}u_m`, where a is the anchor
    :math:`\rho_tv_{t-1}`, :math:`u_m=\Pi_{W_m}(0)` (margins >= 1) and Π the exact
    projection (:mod:`theory.continual_pocs.active_sets`): every margin is at least
    :math:`1+(2\ln L_t+1)/L_t`, so every exponential term is below :math:`1/(eL_t^2)`.
    The minimiser lies about :math:`\ln L_t/L_t` from :math:`\Pi_{W_m}(a)` on the other
    side, so the start is not the answer, and Newton needs a few steps instead of the
    ~30 it needs from margins of 2.

    Parameters
    ----------
    table : TaskTable
        The tasks (one shared collection; :func:`~theory.continual_pocs.active_sets.build_table`).
    order : sequence of int, length k
        :math:`\tau(1..k)`, 0-based.
    scales : array, shape (B, k)
        :math:`L_t=\ln(1/\lambda_t)>0` per schedule and step (a constant row is the
        constant schedule of ``pocs.weakreg_limit``).
    weights : array, shape (T, n), optional
        Sample weights :math:`c` (``pocs.reg_schedule``); default 1.

    Returns
    -------
    array, shape (B, k + 1, D)
        Row 0 is :math:`v_0=0`.
    """
    if table.batch is not None:
        raise ValueError("regularised_path: the table must hold one shared task collection")
    xp = array_namespace(table.rows, scales)
    count = int(scales.shape[0])
    rows = table.rows
    dim = table.dim
    point = xp.zeros((count, dim), dtype=rows.dtype)
    zeros = xp.zeros((table.num_tasks, dim), dtype=rows.dtype)
    max_margins = project(table, zeros, xp.arange(table.num_tasks, dtype=xp.int64))[0]
    previous_scale = scales[:, 0]
    out = [point]
    for step, task in enumerate(order):
        task = int(task)
        scale = scales[:, step]
        anchor = (previous_scale / scale)[:, None] * point
        projected = project(table, anchor, xp.full((count,), task, dtype=xp.int64))[0]
        lift = (2.0 * xp.log(scale) + 1.0) / scale
        start = projected + lift[:, None] * max_margins[task, ...]
        task_rows = xp.broadcast_to(rows[task, ...], (count, *rows.shape[1:]))
        task_weights = None
        if weights is not None:
            task_weights = xp.broadcast_to(weights[task, ...], (count, int(rows.shape[1])))
        point = minimise_step(task_rows, anchor, scale, start, task_weights)
        out.append(point)
        previous_scale = scale
    return xp.stack(out, axis=1)
