r"""Task sequences of continual linear classification on separable data.

Evron et al., *Continual Learning in Linear Classification on Separable Data*,
ICML 2023 (``shared/claims/continual_pocs.md``, A.1). Task :math:`m\in[T]` is a set
:math:`S_m=\{(x, y)\}` of n samples :math:`x\in\mathbb R^D`, :math:`y\in\{-1,+1\}`;
its *feasible set* is the polyhedron

.. math:: W_m = \{w\in\mathbb R^D : y\,w^\top x\ge 1\ \ \forall (x, y)\in S_m\}
              = \{w : A_m w \ge \mathbf 1\},

where the rows of :math:`A_m` are :math:`y\,x^\top` (:func:`constraint_rows`). Every
collection here is stored as ``features`` of shape ``(..., T, n, D)`` and ``labels``
of shape ``(..., T, n)``; leading axes index independent replicates.

- :func:`validate_tasks`: the public-edge checks (shapes, finiteness, labels in
  :math:`\{-1,+1\}`), one ``ValueError`` naming the offending value;
- :func:`random_separable_tasks`: Gaussian samples labelled by a random teacher, with
  a guaranteed teacher margin, with or without a bias;
- :func:`with_bias`: the regularised-bias augmentation :math:`\tilde x=(x,1)`
  (``pocs.bias``);
- the closed-form families of the spec: :func:`counterexample_tasks` (the 2-D
  example of ``pocs.not_offline_maxmargin``), :func:`wedge_tasks`
  (``pocs.slow_distance``), :func:`staircase_tasks` (a cyclic-forgetting family whose
  forgetting at k = T does not decay with T, derived here).

Generators return NumPy arrays (references and random draws live in NumPy; move
them to a backend with ``ctx.asarray``); :func:`validate_tasks` and
:func:`constraint_rows` work on any array-API namespace.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from theorycheck import validate
from theorycheck.backend import array_namespace


def _is_count(value: Any, smallest: int) -> bool:
    """An integer (Python or NumPy, not bool) at least ``smallest``."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= smallest


def validate_tasks(features: Any, labels: Any, *, func: str) -> tuple[Any, Any, Any]:
    """Check a task collection at the public edge; return ``(features, labels, xp)``.

    Parameters
    ----------
    features : array, shape (..., T, n, D)
        Samples x of each task; real floating, finite, at least three axes.
    labels : array, shape (..., T, n)
        Labels y in {-1, +1} (any real or integer dtype holding exactly those values).
    func : str
        Name of the public function, for the message.

    Returns
    -------
    features, labels (cast to the features' dtype), xp

    Raises
    ------
    ValueError
        If features is not a real floating array with at least three axes, if an
        axis is empty, if labels do not have shape ``features.shape[:-1]``, if a
        value is not finite, or if a label is not -1 or +1 (the first one is named).
    """
    features, xp = validate.real_floating(features, "features", func=func)
    if features.ndim < 3:
        raise ValueError(
            f"{func}: features must have shape (..., T, n, D) with at least 3 axes, "
            f"got shape {tuple(features.shape)}"
        )
    if any(size == 0 for size in features.shape[-3:]):
        raise ValueError(
            f"{func}: features has an empty task, sample or feature axis "
            f"(shape {tuple(features.shape)})"
        )
    try:
        label_xp = array_namespace(labels)
    except TypeError:
        raise ValueError(
            f"{func}: labels must be an array (numpy, cupy or array-api-strict), "
            f"got {type(labels).__name__}"
        ) from None
    if label_xp is not xp and label_xp.__name__ != xp.__name__:
        raise ValueError(f"{func}: labels and features must live in the same array namespace")
    if tuple(labels.shape) != tuple(features.shape[:-1]):
        raise ValueError(
            f"{func}: labels must have shape {tuple(features.shape[:-1])} (features.shape[:-1]), "
            f"got {tuple(labels.shape)}"
        )
    if xp.isdtype(labels.dtype, "bool") or not (
        xp.isdtype(labels.dtype, "real floating") or xp.isdtype(labels.dtype, "integral")
    ):
        raise ValueError(
            f"{func}: labels must be real numbers in {{-1, +1}}, got dtype {labels.dtype}"
        )
    validate.finite(features, "features", func=func, xp=xp)
    labels = xp.astype(labels, features.dtype)
    bad = xp.logical_not(xp.logical_or(labels == 1.0, labels == -1.0))
    if bool(xp.any(bad)):
        flat = xp.reshape(bad, (-1,))
        position = int(xp.argmax(xp.astype(flat, xp.int8)))
        index = tuple(int(i) for i in np.unravel_index(position, tuple(labels.shape)))
        value = float(xp.reshape(labels, (-1,))[position])
        raise ValueError(
            f"{func}: labels must be -1 or +1, got {value} at index {index} "
            f"(task {index[-2]}, sample {index[-1]})"
        )
    return features, labels, xp


def constraint_rows(features: Any, labels: Any) -> Any:
    r"""The rows :math:`y\,x^\top` of the constraint matrices :math:`A_m`.

    Parameters
    ----------
    features : array, shape (..., T, n, D)
    labels : array, shape (..., T, n)

    Returns
    -------
    array, shape (..., T, n, D)
        :math:`A_m` per task, so that :math:`W_m=\{w : A_m w\ge\mathbf 1\}`.
    """
    features, labels, _ = validate_tasks(features, labels, func="constraint_rows")
    return labels[..., None] * features


def with_bias(features: Any) -> Any:
    r"""Append a constant feature 1: :math:`\tilde x=(x, 1)\in\mathbb R^{D+1}`.

    With :math:`\tilde w=(w, b)`, :math:`\tilde w^\top\tilde x=w^\top x+b`; regularising
    :math:`\|\tilde w\|^2` regularises the bias with the weights (``pocs.bias``, the
    only bias treatment implemented).

    Parameters
    ----------
    features : array, shape (..., D)

    Returns
    -------
    array, shape (..., D + 1)
    """
    features, xp = validate.real_floating(features, "features", func="with_bias")
    ones = xp.ones((*features.shape[:-1], 1), dtype=features.dtype)
    return xp.concat([features, ones], axis=-1)


def random_separable_tasks(
    rng: np.random.Generator,
    num_tasks: int,
    samples_per_task: int,
    dim: int,
    *,
    batch: int | None = None,
    teacher_margin: float = 0.1,
    bias: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Jointly separable random tasks: Gaussian samples labelled by a random teacher.

    A unit teacher :math:`u` (and, with ``bias``, an offset :math:`b\sim N(0, 1/4)`)
    labels :math:`y=\mathrm{sign}(u^\top x+b)` for :math:`x\sim N(0, I_D)`; each sample
    is then pushed away from the teacher's boundary, :math:`x\leftarrow x+y\gamma u`,
    so that :math:`y(u^\top x+b)\ge\gamma` (the teacher margin). Without a bias the
    union of the tasks is separable through the origin and
    :math:`\|w^\star\|\le 1/\gamma`; with a bias it is separable by an affine
    classifier, i.e. through the origin after :func:`with_bias`.

    Parameters
    ----------
    rng : numpy.random.Generator
    num_tasks, samples_per_task, dim : int
        T, n and D (all >= 1).
    batch : int, optional
        Number of independent collections (leading axis B), each with its own teacher.
    teacher_margin : float
        :math:`\gamma > 0`.
    bias : bool
        Label with an affine teacher (data not separable through the origin in
        general; use :func:`with_bias`).

    Returns
    -------
    features : ndarray, shape ([B,] T, n, D)
    labels : ndarray, shape ([B,] T, n), values in {-1, +1}
    """
    for name, value in (
        ("num_tasks", num_tasks),
        ("samples_per_task", samples_per_task),
        ("dim", dim),
    ):
        if not _is_count(value, 1):
            raise ValueError(
                f"random_separable_tasks: {name} must be an integer >= 1, got {value!r}"
            )
    if batch is not None and not _is_count(batch, 1):
        raise ValueError(f"random_separable_tasks: batch must be an integer >= 1, got {batch!r}")
    if not (isinstance(teacher_margin, int | float) and math.isfinite(teacher_margin)) or (
        teacher_margin <= 0
    ):
        raise ValueError(
            "random_separable_tasks: teacher_margin must be a positive number, "
            f"got {teacher_margin!r}"
        )
    num_tasks, samples_per_task, dim = int(num_tasks), int(samples_per_task), int(dim)
    count = 1 if batch is None else int(batch)
    teacher = rng.standard_normal((count, dim))
    teacher /= np.linalg.norm(teacher, axis=-1, keepdims=True)
    offset = 0.5 * rng.standard_normal(count) if bias else np.zeros(count)
    features = rng.standard_normal((count, num_tasks, samples_per_task, dim))
    scores = np.einsum("btnd,bd->btn", features, teacher) + offset[:, None, None]
    labels = np.where(scores >= 0.0, 1.0, -1.0)
    features = features + teacher_margin * labels[..., None] * teacher[:, None, None, :]
    if batch is None:
        return features[0], labels[0]
    return features, labels


def _single_sample_tasks(normals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tasks of one sample each, label +1: features (T, 1, D), labels (T, 1)."""
    normals = np.asarray(normals, dtype=float)
    return normals[:, None, :], np.ones((normals.shape[0], 1))


def counterexample_tasks() -> tuple[np.ndarray, np.ndarray]:
    r"""The 2-D example of ``pocs.not_offline_maxmargin``: T = 2, one sample each, y = +1.

    Task 1: :math:`x=(1, 0)`; task 2: :math:`x=(1/2, 1)`. SMM stops at
    :math:`(6/5, 2/5)`, while :math:`w^\star=(1, 1/2)`.

    Returns
    -------
    features : ndarray, shape (2, 1, 2)
    labels : ndarray, shape (2, 1)
    """
    return _single_sample_tasks(np.array([[1.0, 0.0], [0.5, 1.0]]))


def wedge_tasks(theta: float) -> tuple[np.ndarray, np.ndarray]:
    r"""The acute wedge of ``pocs.slow_distance``: :math:`a_1=(1,0)`,
    :math:`a_2=(-\cos\theta,\sin\theta)`.

    The feasible set :math:`W^\star` is a wedge of angle θ with apex
    :math:`w^\star=(1,\cot(\theta/2))`, :math:`\|w^\star\|^2=1/\sin^2(\theta/2)`.

    Parameters
    ----------
    theta : float
        The wedge angle, :math:`0<\theta<\pi/2`.

    Returns
    -------
    features : ndarray, shape (2, 1, 2)
    labels : ndarray, shape (2, 1)
    """
    if not (isinstance(theta, int | float) and 0.0 < theta < math.pi / 2):
        raise ValueError(f"wedge_tasks: theta must lie in (0, pi/2), got {theta!r}")
    return _single_sample_tasks(np.array([[1.0, 0.0], [-math.cos(theta), math.sin(theta)]]))


def staircase_tasks(num_tasks: int, angle: float = math.pi / 4) -> tuple[np.ndarray, np.ndarray]:
    r"""A cyclic-forgetting family whose forgetting at k = T stays 1/4 for every T (derived).

    D = 2, one sample per task, y = +1. Task 1 is :math:`x_1=(1, 0)`; tasks
    m = 2, ..., T share the unit direction :math:`n=(-\sin\psi,\cos\psi)` with growing
    offsets, :math:`x_m=n/r_m`, :math:`r_m=m-1`, so :math:`W_m=\{n^\top w\ge r_m\}`.

    Derivation. :math:`w_1=(1,0)`; each later projection moves straight along n to
    :math:`n^\top w=r_m`, so :math:`w_T=w_1+(r_T+\sin\psi)\,n`, which violates task 1
    by :math:`\sin\psi\,(r_T+\sin\psi)`. :math:`W^\star` is the wedge
    :math:`\{w_1\ge1,\ n^\top w\ge r_T\}`; its min-norm point is the vertex
    (both KKT multipliers are positive), with
    :math:`\|w^\star\|^2=1+(r_T+\sin\psi)^2/\cos^2\psi`. Hence
    :math:`F_{\max}(T)\to\sin^2\psi\cos^2\psi` (1/4 at ψ = π/4) as T grows, and
    :math:`F_{\max}(T)\sqrt T` grows like :math:`\sqrt T/4`: no T-free bound
    :math:`C/\sqrt k` holds (``pocs.cyclic_forgetting``, control (c)).

    Parameters
    ----------
    num_tasks : int
        T >= 2.
    angle : float
        ψ in (0, π/2).

    Returns
    -------
    features : ndarray, shape (T, 1, 2)
    labels : ndarray, shape (T, 1)
    """
    if not _is_count(num_tasks, 2):
        raise ValueError(f"staircase_tasks: num_tasks must be an integer >= 2, got {num_tasks!r}")
    num_tasks = int(num_tasks)
    if not (isinstance(angle, int | float) and 0.0 < angle < math.pi / 2):
        raise ValueError(f"staircase_tasks: angle must lie in (0, pi/2), got {angle!r}")
    direction = np.array([-math.sin(angle), math.cos(angle)])
    offsets = np.arange(1, num_tasks, dtype=float)
    normals = np.concatenate([[[1.0, 0.0]], direction[None, :] / offsets[:, None]])
    return _single_sample_tasks(normals)


def cyclic_order(num_tasks: int, steps: int) -> np.ndarray:
    r"""The cyclic ordering :math:`\tau(t)=((t-1)\bmod T)+1`, 0-based: shape (steps,)."""
    if not _is_count(num_tasks, 1):
        raise ValueError(f"cyclic_order: num_tasks must be an integer >= 1, got {num_tasks!r}")
    if not _is_count(steps, 0):
        raise ValueError(f"cyclic_order: steps must be an integer >= 0, got {steps!r}")
    return np.arange(int(steps)) % int(num_tasks)


def random_orders(rng: np.random.Generator, num_tasks: int, steps: int, runs: int) -> np.ndarray:
    r"""Random orderings: :math:`\tau(t)` i.i.d. uniform on [T], 0-based; shape (runs, steps)."""
    if not _is_count(runs, 1):
        raise ValueError(f"random_orders: runs must be an integer >= 1, got {runs!r}")
    return rng.integers(0, num_tasks, size=(runs, steps))
