r"""Sequential max-margin runs, batched over replicates, and the forgetting quantities.

Evron et al. (ICML 2023); ``shared/claims/continual_pocs.md`` A.1 and
``pocs.forgetting_defs``. A run starts at :math:`w_0=0` and projects onto the task of
each step, :math:`w_t=\Pi_{W_{\tau(t)}}(w_{t-1})`. For a run of k steps, with
:math:`d(w, W)` the Euclidean distance, :math:`R` the data radius and
:math:`w^\star` the offline max-margin solution:

- :math:`F_{\mathrm{dist}}(k)=\frac1k\sum_{t\le k}d^2(w_k,W_{\tau(t)})/\|w^\star\|^2`;
- :math:`F_{\mathrm{margin}}(k)=\frac1k\sum_{t\le k}\max_{(x,y)\in S_{\tau(t)}}
  (1-yw_k^\top x)_+^2/(R^2\|w^\star\|^2)`;
- :math:`F_{\max}(k)=\max_{m\text{ seen by }k}d^2(w_k,W_m)/\|w^\star\|^2`;
- :math:`\mathrm{Dist}(k)=d^2(w_k,W^\star)/\|w^\star\|^2`,
  :math:`\mathrm{Gap}(k)=\|w_k-w^\star\|^2/\|w^\star\|^2`.

Replicates sit on the leading array axis; steps are a Python loop (each step depends
on the previous one); every per-step quantity of all iterates is computed at once.
Everything runs on the namespace of the table (numpy, cupy, array-api-strict), except
:func:`joint_solutions`, which solves one QP per collection in NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from theory.continual_pocs.active_sets import (
    TaskTable,
    flat_indices,
    project_flat,
    project_onto_each_task,
)
from theory.continual_pocs.projection import project_rows
from theorycheck.backend import array_namespace, to_numpy


def run_smm(table: TaskTable, orders: Any, start: Any | None = None) -> Any:
    r"""The SMM iterates :math:`w_0,\dots,w_k` of B replicates (Scheme 2).

    Parameters
    ----------
    table : TaskTable
        The tasks (shared, or one collection per replicate).
    orders : array of int, shape (B, k)
        :math:`\tau(1..k)` per replicate, 0-based, on the table's namespace.
    start : array, shape (B, D), optional
        :math:`w_0` (default 0).

    Returns
    -------
    array, shape (B, k + 1, D)
    """
    xp = array_namespace(table.rows)
    if orders.ndim != 2:
        raise ValueError(f"run_smm: orders must have shape (B, k), got {tuple(orders.shape)}")
    count, steps = (int(s) for s in orders.shape)
    if table.batch is not None and count != table.batch:
        raise ValueError(f"run_smm: the table holds {table.batch} replicates, orders {count}")
    point = xp.zeros((count, table.dim), dtype=table.rows.dtype) if start is None else start
    iterates = [point]
    if steps == 0:
        return xp.stack(iterates, axis=1)
    try:
        index = flat_indices(table, orders)
    except ValueError as error:
        raise ValueError(f"run_smm: {error}") from None
    for column in xp.unstack(index, axis=1):
        point = project_flat(table, point, column)
        iterates.append(point)
    return xp.stack(iterates, axis=1)


@dataclass(frozen=True)
class TaskViolations:
    r"""Per iterate and task: squared distance and worst squared hinge.

    Attributes
    ----------
    distance_sq : array, shape (B, J, T)
        :math:`d^2(w_j, W_m)`.
    hinge_sq : array, shape (B, J, T)
        :math:`\max_{(x,y)\in S_m}(1-yw_j^\top x)_+^2`.
    hinge_sq_sum : array, shape (B, J, T)
        :math:`\sum_{(x,y)\in S_m}(1-yw_j^\top x)_+^2`.
    """

    distance_sq: Any
    hinge_sq: Any
    hinge_sq_sum: Any


def task_violations(table: TaskTable, iterates: Any) -> TaskViolations:
    """Distances and hinge violations of every iterate to every task.

    Parameters
    ----------
    table : TaskTable
    iterates : array, shape (B, J, D)

    Returns
    -------
    TaskViolations
    """
    xp = array_namespace(iterates)
    projections = project_onto_each_task(table, iterates)  # (B, J, T, D)
    distance_sq = xp.sum((projections - iterates[:, :, None, :]) ** 2, axis=-1)
    count = int(iterates.shape[0])
    rows = table.rows
    if table.batch is None:
        margins = (rows[None, None, :, :, :] @ iterates[:, :, None, :, None])[..., 0]
    else:
        shaped = xp.reshape(rows, (count, table.num_tasks, table.samples, table.dim))
        margins = (shaped[:, None, :, :, :] @ iterates[:, :, None, :, None])[..., 0]
    hinge = xp.clip(1.0 - margins, min=0.0) ** 2  # (B, J, T, n)
    return TaskViolations(distance_sq, xp.max(hinge, axis=-1), xp.sum(hinge, axis=-1))


def visit_counts(orders: Any, num_tasks: int) -> Any:
    r"""How often each task was trained by step j: shape (B, k + 1, T), row j = 0 zero."""
    xp = array_namespace(orders)
    tasks = xp.arange(num_tasks, dtype=orders.dtype)
    one_hot = xp.astype(orders[:, :, None] == tasks, xp.float64)
    zeros = xp.zeros((int(orders.shape[0]), 1, num_tasks), dtype=xp.float64)
    return xp.concat([zeros, xp.cumulative_sum(one_hot, axis=1)], axis=1)


@dataclass(frozen=True)
class Forgetting:
    r"""The forgetting curves of ``pocs.forgetting_defs`` at k = 0..K (k = 0 is 0).

    Attributes
    ----------
    dist, margin, max : array, shape (B, K + 1)
        :math:`F_{\mathrm{dist}}`, :math:`F_{\mathrm{margin}}`, :math:`F_{\max}`.
    margin_sum : array, shape (B, K + 1)
        :math:`F_{\mathrm{margin}}` with the squared hinge summed over each task's
        samples instead of maximised (at most :math:`n` times ``margin``).
    """

    dist: Any
    margin: Any
    max: Any
    margin_sum: Any


def forgetting_curves(
    violations: TaskViolations,
    orders: Any,
    joint_norm_sq: Any,
    radius_sq: Any,
    *,
    normalise: bool = True,
) -> Forgetting:
    r""":math:`F_{\mathrm{dist}}, F_{\mathrm{margin}}, F_{\max}` along runs.

    Parameters
    ----------
    violations : TaskViolations
        Of the iterates :math:`w_0..w_K`, shape (B, K + 1, T).
    orders : array of int, shape (B, K)
    joint_norm_sq : array, shape (B,)
        :math:`\|w^\star\|^2` per replicate.
    radius_sq : array, shape (B,)
        :math:`R^2` per replicate.
    normalise : bool
        Divide by :math:`\|w^\star\|^2` (and :math:`R^2`); False gives the
        unnormalised quantities (a control of ``pocs.cyclic_forgetting``).

    Returns
    -------
    Forgetting
    """
    xp = array_namespace(violations.distance_sq)
    num_tasks = int(violations.distance_sq.shape[-1])
    counts = visit_counts(orders, num_tasks)  # (B, K+1, T)
    steps = xp.reshape(xp.arange(int(counts.shape[1]), dtype=xp.float64), (1, -1))
    per_step = xp.where(steps > 0, 1.0 / xp.where(steps > 0, steps, 1.0), 0.0)
    norm = joint_norm_sq[:, None] if normalise else xp.ones_like(joint_norm_sq)[:, None]
    margin_norm = norm * (radius_sq[:, None] if normalise else 1.0)
    dist = xp.sum(counts * violations.distance_sq, axis=-1) * per_step / norm
    margin = xp.sum(counts * violations.hinge_sq, axis=-1) * per_step / margin_norm
    margin_sum = xp.sum(counts * violations.hinge_sq_sum, axis=-1) * per_step / margin_norm
    seen = counts > 0
    largest = xp.max(xp.where(seen, violations.distance_sq, 0.0), axis=-1) / norm
    return Forgetting(dist=dist, margin=margin, max=largest, margin_sum=margin_sum)


def joint_solutions(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    r""":math:`w^\star` of each collection (NumPy, one exact QP per collection).

    Parameters
    ----------
    features : ndarray, shape ([B,] T, n, D)
    labels : ndarray, shape ([B,] T, n)

    Returns
    -------
    ndarray, shape ([B,] D)
    """
    features = np.asarray(to_numpy(features), dtype=float)
    labels = np.asarray(to_numpy(labels), dtype=float)
    rows = labels[..., None] * features
    flat = rows.reshape(-1, rows.shape[-3] * rows.shape[-2], rows.shape[-1])
    dim = rows.shape[-1]
    solutions = np.stack(
        [project_rows(np.zeros(dim), block, name="the union of the tasks").point for block in flat]
    )
    return solutions.reshape(*rows.shape[:-3], dim)


def distance_sq_to_joint_set(
    features: np.ndarray, labels: np.ndarray, iterates: np.ndarray
) -> np.ndarray:
    r""":math:`d^2(w_j, W^\star)` of iterates (NumPy, exact QPs).

    Parameters
    ----------
    features : ndarray, shape ([B,] T, n, D)
    labels : ndarray, shape ([B,] T, n)
    iterates : ndarray, shape ([B,] J, D)

    Returns
    -------
    ndarray, shape ([B,] J)
    """
    features = np.asarray(to_numpy(features), dtype=float)
    labels = np.asarray(to_numpy(labels), dtype=float)
    iterates = np.asarray(to_numpy(iterates), dtype=float)
    rows = labels[..., None] * features
    dim = rows.shape[-1]
    flat_rows = rows.reshape(-1, rows.shape[-3] * rows.shape[-2], dim)
    flat_iterates = iterates.reshape(flat_rows.shape[0], -1, dim)
    out = np.empty(flat_iterates.shape[:2])
    for b, (block, points) in enumerate(zip(flat_rows, flat_iterates, strict=True)):
        for j, point in enumerate(points):
            out[b, j] = np.sum((project_rows(point, block).point - point) ** 2)
    return out.reshape(iterates.shape[:-1])
