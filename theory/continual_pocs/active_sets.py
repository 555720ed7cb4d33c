r"""Batched exact projections onto small tasks, written once against the array API.

For a task with n samples in general position the projection
:math:`\Pi_{W_m}(w)` is determined by its active set :math:`S\subseteq[n]`
(:math:`|S|\le\min(n, D)`): with :math:`A_S` the active rows,

.. math:: \alpha_S=(A_SA_S^\top)^{-1}(\mathbf 1-A_Sw),\qquad
          \Pi_{W_m}(w)=w+A_S^\top\alpha_S ,

an affine map of w whose matrices depend on the task only. :func:`build_table`
precomputes, for every task and every candidate active set, the maps
:math:`w\mapsto\Pi_S(w)` and :math:`w\mapsto\alpha_S(w)` (one batched matrix inverse);
:func:`project` then evaluates every candidate for a whole batch of points at once
and keeps the one that satisfies the KKT conditions of ``pocs.smm_is_pocs``
(:math:`\alpha_S\ge0`, :math:`A_m\Pi\ge\mathbf 1`): in general position exactly one
set does, and its point is the projection in closed form, exact up to rounding.
There is no iteration, so a batch of replicates (Monte Carlo over task sequences and
orderings) is a handful of batched matrix products on any namespace (numpy, cupy,
array-api-strict).

The number of candidate sets is :math:`\sum_{s\le\min(n,D)}\binom ns`; the table is
meant for small tasks (at most :data:`MAX_CANDIDATE_SETS` sets, e.g. n <= 12). For
large tasks use :func:`theory.continual_pocs.projection.project_rows` (NumPy).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from theory.continual_pocs.projection import EmptySetError, project_rows
from theory.continual_pocs.tasks import validate_tasks
from theorycheck.backend import to_numpy

MAX_CANDIDATE_SETS = 4096
"""Upper limit on the number of candidate active sets per task."""

KKT_ACCEPTANCE = 1e-8
r"""Largest KKT violation (:math:`\max(-\alpha_i, 1-a_i^\top\Pi)`) accepted for the chosen
set; the spec's KKT tolerance. The closed form's rounding is about
:math:`\kappa(A_SA_S^\top)\,u\,\max(1,\|w\|\max\|a_i\|)`, below 1e-12 on the
tasks used here."""

_CHUNK_ENTRIES = 4_000_000
"""Gathered table entries per batched call (about 32 MB of float64): larger batches are
processed in chunks."""

_SINGULAR = 1e-12
r"""A candidate set whose Gram matrix has Hadamard ratio
:math:`\det G_S/\prod_i(G_S)_{ii}` below this is linearly dependent (not in general
position) and is never chosen."""


@dataclass(frozen=True)
class TaskTable:
    r"""Precomputed affine maps of every candidate active set of every task.

    Attributes
    ----------
    rows : array, shape (C, n, D)
        :math:`A_m` of the C = ([B] x T) tasks, replicate-major.
    point_maps : array, shape (C, K, D, D)
        :math:`I-A_S^\top G_S^{-1}A_S` per task and candidate set (K sets).
    point_offsets : array, shape (C, K, D)
        :math:`A_S^\top G_S^{-1}\mathbf 1`.
    multiplier_maps : array, shape (C, K, n, D)
        :math:`-G_S^{-1}A_S` padded with zeros off S.
    multiplier_offsets : array, shape (C, K, n)
        :math:`G_S^{-1}\mathbf 1` padded with zeros.
    kkt_maps : array, shape (C, K, 2n, D)
        The multiplier maps stacked on :math:`A(I-A_S^\top G_S^{-1}A_S)`, so that
        ``kkt_maps @ w + kkt_offsets`` is :math:`(\alpha_S(w), A\Pi_S(w)-\mathbf 1)`,
        non-negative exactly when S satisfies the KKT conditions at w.
    kkt_offsets : array, shape (C, K, 2n)
        :math:`(G_S^{-1}\mathbf 1, AA_S^\top G_S^{-1}\mathbf 1-\mathbf 1)`.
    penalty : array, shape (C, K)
        +inf for candidate sets with linearly dependent rows (never chosen), else 0.
    num_tasks : int
        T.
    batch : int or None
        B when each replicate has its own tasks, None when all share one collection.
    """

    rows: Any
    point_maps: Any
    point_offsets: Any
    multiplier_maps: Any
    multiplier_offsets: Any
    kkt_maps: Any
    kkt_offsets: Any
    penalty: Any
    num_tasks: int
    batch: int | None

    @property
    def dim(self) -> int:
        """D."""
        return int(self.rows.shape[-1])

    @property
    def samples(self) -> int:
        """n."""
        return int(self.rows.shape[-2])


def candidate_sets(samples: int, dim: int) -> np.ndarray:
    """Indicator rows of every subset of ``range(samples)`` of size <= min(samples, dim).

    Returns
    -------
    ndarray, shape (K, samples), float 0/1
    """
    largest = min(samples, dim)
    masks = []
    for size in range(largest + 1):
        for subset in itertools.combinations(range(samples), size):
            mask = np.zeros(samples)
            mask[list(subset)] = 1.0
            masks.append(mask)
    return np.stack(masks)


def build_table(features: Any, labels: Any) -> TaskTable:
    r"""Precompute the candidate active sets of every task (see the module docstring).

    Parameters
    ----------
    features : array, shape ([B,] T, n, D)
        One collection shared by every replicate, or one per replicate.
    labels : array, shape ([B,] T, n)

    Returns
    -------
    TaskTable

    Raises
    ------
    ValueError
        For bad input (shapes, labels outside {-1, +1}, non-finite values), too many
        candidate sets, or a task that is not linearly separable through the origin
        (named by replicate and task index; confirmed by a HiGHS LP).
    """
    func = "build_table"
    features, labels, xp = validate_tasks(features, labels, func=func)
    if features.ndim not in (3, 4):
        raise ValueError(
            f"{func}: features must have shape (T, n, D) or (B, T, n, D), got "
            f"{tuple(features.shape)}"
        )
    batch = int(features.shape[0]) if features.ndim == 4 else None
    num_tasks, samples, dim = (int(s) for s in features.shape[-3:])
    masks_np = candidate_sets(samples, dim)
    if masks_np.shape[0] > MAX_CANDIDATE_SETS:
        raise ValueError(
            f"{func}: tasks of {samples} samples in {dim} dimensions have {masks_np.shape[0]} "
            f"candidate active sets (> {MAX_CANDIDATE_SETS}); use project_rows for large tasks"
        )
    rows = xp.reshape(labels[..., None] * features, (-1, samples, dim))
    dtype = rows.dtype
    masks = xp.asarray(masks_np, dtype=dtype)
    rows_t = xp.permute_dims(rows, (0, 2, 1))
    gram = rows @ rows_t  # (C, n, n)
    outer = masks[:, :, None] * masks[:, None, :]  # (K, n, n)
    eye_n = xp.eye(samples, dtype=dtype)
    completed = outer * gram[:, None, :, :] + eye_n * (1.0 - masks)[:, None, :]
    diagonal = xp.linalg.diagonal(completed)
    ratio = xp.linalg.det(completed) / xp.prod(diagonal, axis=-1)
    invalid = ratio < _SINGULAR
    safe = xp.where(invalid[..., None, None], eye_n, completed)
    inverse = outer * xp.linalg.inv(safe)  # G_S^{-1} padded with zeros, (C, K, n, n)
    multiplier_offsets = xp.sum(inverse, axis=-1)
    multiplier_maps = -(inverse @ rows[:, None, :, :])  # (C, K, n, D)
    point_offsets = (rows_t[:, None, :, :] @ multiplier_offsets[..., None])[..., 0]
    point_maps = xp.eye(dim, dtype=dtype) + rows_t[:, None, :, :] @ multiplier_maps
    margin_maps = rows[:, None, :, :] @ point_maps  # (C, K, n, D)
    margin_offsets = (rows[:, None, :, :] @ point_offsets[..., None])[..., 0]
    kkt_maps = xp.concat([multiplier_maps, margin_maps], axis=-2)
    kkt_offsets = xp.concat([multiplier_offsets, margin_offsets - 1.0], axis=-1)
    penalty = xp.where(invalid, xp.inf, xp.zeros(invalid.shape, dtype=dtype))
    table = TaskTable(
        rows=rows,
        point_maps=point_maps,
        point_offsets=point_offsets,
        multiplier_maps=multiplier_maps,
        multiplier_offsets=multiplier_offsets,
        kkt_maps=kkt_maps,
        kkt_offsets=kkt_offsets,
        penalty=penalty,
        num_tasks=num_tasks,
        batch=batch,
    )
    _check_separable(table, xp)
    return table


def _check_separable(table: TaskTable, xp: Any) -> None:
    """Project 0 onto every task; where no candidate certifies, decide by LP and name it."""
    count = int(table.rows.shape[0])
    zeros = xp.zeros((count, table.dim), dtype=table.rows.dtype)
    _, _, violation = _project_indexed(table, zeros, xp.arange(count), xp)
    failing = np.flatnonzero(np.asarray(to_numpy(violation)) > KKT_ACCEPTANCE)
    rows_np = np.asarray(to_numpy(table.rows))
    for flat in failing:
        replicate, task = divmod(int(flat), table.num_tasks)
        where = f"task {task}" if table.batch is None else f"replicate {replicate}, task {task}"
        try:
            project_rows(np.zeros(table.dim), rows_np[flat], name=where)
        except EmptySetError as error:
            raise ValueError(
                f"build_table: {where} is not linearly separable through the origin: {error.reason}"
            ) from None
        raise ValueError(
            f"build_table: {where} is not in general position (no candidate active set "
            f"satisfies the KKT conditions to {KKT_ACCEPTANCE:.0e}); use project_rows"
        )


def _project_indexed(
    table: TaskTable, points: Any, index: Any, xp: Any, multipliers: bool = True
) -> tuple[Any, Any, Any]:
    """Project points[b] onto task row ``index[b]`` of the table; return (Π, α, violation).

    Written with takes, reshapes and matrix products only (no fancy indexing), which
    keeps the per-call overhead small on strict namespaces. With
    ``multipliers=False`` the second result is None.
    """
    count = int(points.shape[0])
    dim, samples = table.dim, table.samples
    sets = int(table.penalty.shape[1])
    column = xp.reshape(points, (count, 1, dim, 1))
    point_maps = xp.take(table.point_maps, index, axis=0)
    candidates = xp.reshape(point_maps @ column, (count, sets, dim))
    candidates = candidates + xp.take(table.point_offsets, index, axis=0)
    kkt_maps = xp.take(table.kkt_maps, index, axis=0)
    slack = xp.reshape(kkt_maps @ column, (count, sets, 2 * samples))
    slack = slack + xp.take(table.kkt_offsets, index, axis=0)
    violation = xp.take(table.penalty, index, axis=0) - xp.min(slack, axis=-1)
    best = xp.reshape(xp.argmin(violation, axis=1), (count, 1))
    chosen_violation = xp.reshape(xp.take_along_axis(violation, best, axis=1), (count,))
    best3 = xp.reshape(best, (count, 1, 1))
    chosen = xp.reshape(xp.take_along_axis(candidates, best3, axis=1), (count, dim))
    if not multipliers:
        return chosen, None, chosen_violation
    chosen_slack = xp.reshape(xp.take_along_axis(slack, best3, axis=1), (count, 2 * samples))
    return chosen, xp.clip(chosen_slack[:, :samples], min=0.0), chosen_violation


def _flat_index(table: TaskTable, tasks: Any, batch: int, xp: Any) -> Any:
    tasks = xp.astype(tasks, xp.int64)
    if table.batch is None:
        return tasks
    if batch != table.batch:
        raise ValueError(
            f"project: the table holds {table.batch} replicates but {batch} points were given"
        )
    return xp.arange(batch, dtype=xp.int64) * table.num_tasks + tasks


def flat_indices(table: TaskTable, tasks: Any) -> Any:
    """Rows of the table for task indices of shape (B, ...) (validated once, for loops).

    Raises
    ------
    ValueError
        For a task index out of range or a batch that does not match the table.
    """
    from theorycheck.backend import array_namespace

    xp = array_namespace(tasks)
    if tasks.ndim < 1:
        raise ValueError("flat_indices: tasks must have a leading replicate axis")
    if math.prod(tasks.shape) and (int(xp.min(tasks)) < 0 or int(xp.max(tasks)) >= table.num_tasks):
        raise ValueError(f"task indices must lie in [0, {table.num_tasks})")
    tasks = xp.astype(tasks, xp.int64)
    if table.batch is None:
        return tasks
    count = int(tasks.shape[0])
    if count != table.batch:
        raise ValueError(f"the table holds {table.batch} replicates but {count} were given")
    shape = (count,) + (1,) * (tasks.ndim - 1)
    return xp.reshape(xp.arange(count, dtype=xp.int64), shape) * table.num_tasks + tasks


def project_flat(table: TaskTable, points: Any, index: Any) -> Any:
    """Project points (B, D) onto the table rows ``index`` (B,) from :func:`flat_indices`."""
    from theorycheck.backend import array_namespace

    return _project_indexed(table, points, index, array_namespace(points), False)[0]


def project(table: TaskTable, points: Any, tasks: Any) -> tuple[Any, Any]:
    r"""Project each point onto its task's feasible set: :math:`\Pi_{W_{\tau_b}}(w_b)`.

    Parameters
    ----------
    table : TaskTable
    points : array, shape (B, D)
        The points w (on the table's namespace).
    tasks : array of int, shape (B,)
        Task index :math:`\tau_b\in[0, T)` of each point (of its own replicate when the
        table is batched).

    Returns
    -------
    projections : array, shape (B, D)
    multipliers : array, shape (B, n)
        :math:`\alpha\ge0` with :math:`\Pi-w=A_{\tau_b}^\top\alpha`.

    Raises
    ------
    ValueError
        For mismatched shapes or a task index out of range.
    """
    from theorycheck.backend import array_namespace

    xp = array_namespace(points)
    if points.ndim != 2 or int(points.shape[1]) != table.dim:
        raise ValueError(
            f"project: points must have shape (B, {table.dim}), got {tuple(points.shape)}"
        )
    if tuple(tasks.shape) != (int(points.shape[0]),):
        raise ValueError(
            f"project: tasks must have shape ({int(points.shape[0])},), got {tuple(tasks.shape)}"
        )
    if int(points.shape[0]) and (int(xp.min(tasks)) < 0 or int(xp.max(tasks)) >= table.num_tasks):
        raise ValueError(f"project: task indices must lie in [0, {table.num_tasks})")
    index = _flat_index(table, tasks, int(points.shape[0]), xp)
    chosen, multipliers, _ = _project_indexed(table, points, index, xp)
    return chosen, multipliers


def project_onto_each_task(table: TaskTable, points: Any) -> Any:
    r"""Project every point onto every task: :math:`\Pi_{W_m}(w)` for all m.

    Parameters
    ----------
    table : TaskTable
    points : array, shape (B, D) or (B, J, D)
        Points (for example a trajectory of J iterates per replicate); with a batched
        table, ``points[b]`` belongs to replicate b.

    Returns
    -------
    array, shape (B, T, D) or (B, J, T, D)
    """
    from theorycheck.backend import array_namespace

    xp = array_namespace(points)
    if points.ndim not in (2, 3) or int(points.shape[-1]) != table.dim:
        raise ValueError(
            f"project_onto_each_task: points must have shape (B, D) or (B, J, D) with "
            f"D = {table.dim}, got {tuple(points.shape)}"
        )
    if table.batch is not None and int(points.shape[0]) != table.batch:
        raise ValueError(
            f"project_onto_each_task: the table holds {table.batch} replicates but points "
            f"have {int(points.shape[0])}"
        )
    squeeze = points.ndim == 2
    if squeeze:
        points = xp.reshape(points, (int(points.shape[0]), 1, table.dim))
    if table.batch is None:  # one shared collection: every point is a row of one batch
        count, length = int(points.shape[0]), int(points.shape[1])
        flat = xp.reshape(points, (1, count * length, table.dim))
        projected = xp.reshape(_project_grid(table, flat, xp), (count, length, -1, table.dim))
    else:
        projected = _project_grid(table, points, xp)
    if squeeze:
        projected = xp.reshape(projected, (int(projected.shape[0]), -1, table.dim))
    return projected


def _project_grid(table: TaskTable, points: Any, xp: Any) -> Any:
    """Π_{W_m}(points[b, j]) for every task m: (B, J, D) -> (B, J, T, D).

    Every candidate active set of every task is evaluated by one batched matrix
    product per replicate (``points @ maps^T`` with the maps of all tasks and sets
    stacked), which is a plain GEMM for a shared collection; long point lists are
    processed in chunks of about :data:`_CHUNK_ENTRIES` entries.
    """
    count, length, dim = (int(s) for s in points.shape)
    tasks, samples, sets = table.num_tasks, table.samples, int(table.penalty.shape[1])
    owners = 1 if table.batch is None else count
    point_maps = xp.reshape(table.point_maps, (owners, tasks * sets * dim, dim))
    point_offsets = xp.reshape(table.point_offsets, (owners, 1, tasks * sets * dim))
    kkt_maps = xp.reshape(table.kkt_maps, (owners, tasks * sets * 2 * samples, dim))
    kkt_offsets = xp.reshape(table.kkt_offsets, (owners, 1, tasks * sets * 2 * samples))
    penalty = xp.reshape(table.penalty, (owners, 1, tasks, sets))
    chunk = max(1, _CHUNK_ENTRIES // (tasks * sets * (dim + 2 * samples)))
    pieces = []
    for start in range(0, length, chunk):
        part = points[:, start : min(start + chunk, length), :]
        size = int(part.shape[1])
        candidates = part @ xp.permute_dims(point_maps, (0, 2, 1)) + point_offsets
        candidates = xp.reshape(candidates, (count, size, tasks, sets, dim))
        slack = part @ xp.permute_dims(kkt_maps, (0, 2, 1)) + kkt_offsets
        slack = xp.reshape(slack, (count, size, tasks, sets, 2 * samples))
        violation = penalty - xp.min(slack, axis=-1)  # (B, size, T, K)
        best = xp.reshape(xp.argmin(violation, axis=-1), (count, size, tasks, 1, 1))
        chosen = xp.take_along_axis(candidates, best, axis=3)
        pieces.append(xp.reshape(chosen, (count, size, tasks, dim)))
    return pieces[0] if len(pieces) == 1 else xp.concat(pieces, axis=1)
