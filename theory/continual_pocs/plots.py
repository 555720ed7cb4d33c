r"""Figures of continual linear classification as sequential max-margin (Evron et al., 2023).

``plot_continual_pocs(out_dir)`` writes two figures, each as PNG and SVG:

``continual_pocs_geometry``
    (a) the 2-D example of ``pocs.not_offline_maxmargin`` in the style of the paper's
    Figure 1: the half-planes :math:`W_1, W_2`, their intersection :math:`W^\star`, the
    SMM paths of the orders 1,2,... and 2,1,... and the joint max-margin point
    :math:`w^\star=(1,1/2)`, which neither path reaches; (b) the wedge of
    ``pocs.slow_distance`` (θ = 0.3): the iterates zig-zag towards the apex; (c) the
    weak-regularisation path: :math:`\max_t\|w_t^{(\lambda)}/\ln(1/\lambda)-w_t\|`
    against :math:`L=\ln(1/\lambda)` with the :math:`\ln L/L` reference.
``continual_pocs_forgetting``
    (a) cyclic orderings: :math:`F_{\max}(k)` over random collections (T = 3; median
    and 90 % band), the derived bound :math:`2(T-1)\sqrt T/\sqrt{\lfloor k/T\rfloor}`,
    and the wedge lower-bound family :math:`1/(ek)`; (b) random orderings: the
    averaged :math:`\frac1k\sum_{t<k}\mathbb E\,\bar D(w_t)/\|w^\star\|^2` per collection
    against the derived :math:`1/k`; (c) the wedge: Gap(k) and :math:`F_{\max}(k)` for
    several θ (arbitrarily slow distance, fast forgetting).

Everything is computed with the package's own functions on NumPy at modest sizes
(a few seconds). matplotlib is imported inside the function and used through
``Figure`` with an Agg canvas (no global backend is touched); files are written
atomically with :func:`theorycheck.atomic.write_figures`.
"""

from __future__ import annotations

import math
import pathlib
from typing import Any

import numpy as np

from theory.continual_pocs.active_sets import build_table
from theory.continual_pocs.dynamics import (
    forgetting_curves,
    joint_solutions,
    run_smm,
    task_violations,
)
from theory.continual_pocs.projection import sequential_max_margin
from theory.continual_pocs.regularised import regularised_path
from theory.continual_pocs.tasks import (
    counterexample_tasks,
    cyclic_order,
    random_separable_tasks,
    wedge_tasks,
)
from theorycheck.atomic import write_figures
from theorycheck.registry import plot

REFERENCE = "Evron et al. (ICML 2023)"


def _half_plane(axis, normal: np.ndarray, box: float, color: str, label: str) -> None:
    """Shade {w : normal^T w >= 1} inside [-box, box]^2 and draw its boundary."""
    grid = np.linspace(-box, box, 400)
    x, y = np.meshgrid(grid, grid)
    inside = normal[0] * x + normal[1] * y >= 1.0
    axis.contourf(x, y, inside.astype(float), levels=[0.5, 1.5], colors=[color], alpha=0.18)
    axis.contour(x, y, normal[0] * x + normal[1] * y, levels=[1.0], colors=[color], linewidths=1.2)
    axis.plot([], [], color=color, lw=6, alpha=0.3, label=label)


def _geometry_figure(figure: Any) -> str:
    left, middle, right = figure.subplots(1, 3)

    features, labels = counterexample_tasks()
    normals = features[:, 0, :]
    for normal, color, label in zip(normals, ("C0", "C1"), ("$W_1$", "$W_2$"), strict=True):
        _half_plane(left, normal, 2.2, color, label)
    joint = joint_solutions(features, labels)
    for order, color, name in (
        ([0, 1, 0], "k", "SMM, order 1,2,..."),
        ([1, 0, 1], "C3", "SMM, order 2,1,..."),
    ):
        path = sequential_max_margin(features, labels, order)
        left.plot(path[:, 0], path[:, 1], "-o", color=color, ms=4, label=name)
    left.plot(*joint, "*", color="C2", ms=16, label=r"$w^\star=(1,1/2)$")
    left.annotate(
        r"$w_\infty=(6/5,2/5)$",
        (1.2, 0.4),
        (1.35, -0.45),
        fontsize=9,
        arrowprops={"arrowstyle": "->"},
    )
    left.set_xlim(-0.3, 2.2)
    left.set_ylim(-0.6, 1.6)
    left.set_aspect("equal")
    left.set_xlabel("$w_1$")
    left.set_ylabel("$w_2$")
    left.text(1.35, 1.3, "$W^\\star=W_1\\cap W_2$", fontsize=10)
    left.set_title("(a) SMM stops short of $w^\\star$ (cf. the paper's Fig. 1c)")
    left.legend(loc="upper left", fontsize=8, frameon=False)

    theta = 0.3
    features, labels = wedge_tasks(theta)
    normals = features[:, 0, :]
    for normal, color, label in zip(normals, ("C0", "C1"), ("$W_1$", "$W_2$"), strict=True):
        _half_plane(middle, normal, 12.0, color, label)
    path = sequential_max_margin(features, labels, cyclic_order(2, 40))
    apex = joint_solutions(features, labels)
    middle.plot(
        path[:, 0], path[:, 1], "-", color="k", lw=0.8, marker=".", ms=3, label="SMM iterates"
    )
    middle.plot(*apex, "*", color="C2", ms=14, label=r"apex $w^\star$")
    middle.set_xlim(-2.0, 3.0)
    middle.set_ylim(-1.0, 8.0)
    middle.set_xlabel("$w_1$")
    middle.set_ylabel("$w_2$")
    middle.set_title(rf"(b) wedge $\theta={theta}$: zig-zag, Gap$\propto\cos^{{2k}}\theta$")
    middle.legend(loc="lower right", fontsize=8, frameon=False)

    rng = np.random.default_rng(0)
    features, labels = random_separable_tasks(rng, 3, 4, 6, teacher_margin=0.2)
    order = cyclic_order(3, 6)
    grid = 10.0 ** np.arange(1.0, 5.01, 0.5)
    table = build_table(features, labels)
    rescaled = regularised_path(table, order, np.repeat(grid[:, None], len(order), axis=1))
    limit = sequential_max_margin(features, labels, order)
    error = np.max(np.linalg.norm(rescaled - limit[None], axis=-1), axis=-1)
    features2, labels2 = counterexample_tasks()
    table2 = build_table(features2, labels2)
    rescaled2 = regularised_path(table2, [0, 1], np.repeat(grid[:, None], 2, axis=1))
    limit2 = sequential_max_margin(features2, labels2, [0, 1])
    error2 = np.max(np.linalg.norm(rescaled2 - limit2[None], axis=-1), axis=-1)
    right.loglog(grid, error, "o-", color="k", label="random (D=6, T=3, n=4)")
    right.loglog(grid, error2, "s-", color="C3", label="2-D example")
    right.loglog(grid, np.log(grid) / grid, "--", color="0.5", label=r"$\ln L/L$")
    right.set_xlabel(r"$L=\ln(1/\lambda)$")
    right.set_ylabel(r"$\max_t\|w_t^{(\lambda)}/L-w_t\|$")
    right.set_title("(c) weak regularisation -> SMM, error $\\Theta(\\ln L/L)$")
    right.legend(fontsize=8, frameon=False)

    figure.suptitle(f"Sequential max-margin as POCS ({REFERENCE})")
    return f"continual_pocs geometry ({REFERENCE})"


def _forgetting_figure(figure: Any) -> str:
    left, middle, right = figure.subplots(1, 3)
    rng = np.random.default_rng(1)

    tasks, steps, count = 3, 300, 64
    features, labels = random_separable_tasks(rng, tasks, 3, 4, batch=count, teacher_margin=0.2)
    table = build_table(features, labels)
    orders = np.tile(cyclic_order(tasks, steps), (count, 1))
    iterates = run_smm(table, orders)
    joint_sq = np.sum(joint_solutions(features, labels) ** 2, axis=-1)
    radius_sq = np.sum(features**2, axis=-1).reshape(count, -1).max(axis=1)
    curves = forgetting_curves(task_violations(table, iterates), orders, joint_sq, radius_sq)
    k = np.arange(tasks, steps + 1)
    band = np.quantile(curves.max[:, tasks:], [0.05, 0.5, 0.95], axis=0)
    positive = np.maximum(band, 1e-9)  # exact zeros (the run reached W*) drawn at the floor
    left.fill_between(
        k, positive[0], positive[2], color="C0", alpha=0.25, label="5-95 % over collections"
    )
    left.loglog(k, positive[1], color="C0", label=r"median $F_{\max}(k)$, random T=3")
    bound = 2 * (tasks - 1) * math.sqrt(tasks) / np.sqrt(np.floor(k / tasks))
    left.loglog(k, bound, "k--", label=r"derived bound $2(T-1)\sqrt{T}/\sqrt{\lfloor k/T\rfloor}$")
    wedge_k = np.arange(2, steps + 1)
    left.loglog(
        wedge_k, 1.0 / (math.e * wedge_k), ":", color="C3", label=r"wedge worst case $1/(ek)$"
    )
    left.set_ylim(1e-9, 20)
    left.set_xlabel("iteration k")
    left.set_ylabel(r"$F_{\max}(k)$")
    left.set_title("(a) cyclic ordering")
    left.legend(fontsize=7.5, frameon=False, loc="lower left")

    runs, horizon = 1000, 60
    for index, (t, n, d) in enumerate(((3, 2, 3), (4, 3, 4), (5, 1, 3))):
        features, labels = random_separable_tasks(rng, t, n, d, teacher_margin=0.2)
        table = build_table(features, labels)
        orders = rng.integers(0, t, (runs, horizon))
        distance = task_violations(table, run_smm(table, orders)).distance_sq[:, :-1]
        average = np.cumsum(distance.mean(axis=-1), axis=1).mean(axis=0)
        average /= float(np.sum(joint_solutions(features, labels) ** 2))
        steps_k = np.arange(1, horizon + 1)
        middle.loglog(
            steps_k,
            average / steps_k,
            color=f"C{index}",
            label=rf"$\frac{{1}}{{k}}\sum_{{t<k}}\mathbb{{E}}\bar D(w_t)/\|w^\star\|^2$, T={t}",
        )
    middle.loglog(steps_k, 1.0 / steps_k, "k--", label="derived bound $1/k$")
    middle.set_xlabel("iteration k")
    middle.set_title(f"(b) random ordering ({runs} runs per collection)")
    middle.legend(fontsize=7.5, frameon=False, loc="lower left")

    for index, theta in enumerate((0.3, 0.1, 0.03)):
        k = np.unique(np.geomspace(1, 3000, 200).astype(int))
        gap = np.cos(theta / 2) ** 2 * np.cos(theta) ** (2 * (k - 1))
        forgetting = np.maximum(gap * np.sin(theta) ** 2, 1e-12)
        gap = np.maximum(gap, 1e-12)
        right.loglog(k, gap, color=f"C{index}", label=rf"Gap(k), $\theta={theta}$")
        right.loglog(
            k, forgetting, "--", color=f"C{index}", label=rf"$F_{{\max}}(k)$, $\theta={theta}$"
        )
    right.set_ylim(1e-9, 2)
    right.set_xlabel("iteration k")
    right.set_title("(c) wedge: slow distance, small forgetting")
    right.legend(fontsize=7.5, frameon=False, ncol=2, loc="lower left")

    figure.suptitle(f"Forgetting of sequential max-margin ({REFERENCE}; derived bounds)")
    return f"continual_pocs forgetting ({REFERENCE})"


@plot("continual_pocs")
def plot_continual_pocs(out_dir: str | pathlib.Path) -> list[str]:
    """Draw the geometry and forgetting figures (module docstring).

    Parameters
    ----------
    out_dir : str or path
        Folder for the figures; created if missing.

    Returns
    -------
    list of str
        The written paths: ``continual_pocs_geometry`` and ``continual_pocs_forgetting``,
        each ``.png`` and ``.svg``.
    """
    return write_figures(
        out_dir,
        [
            ("continual_pocs_geometry", (14.0, 4.6), _geometry_figure),
            ("continual_pocs_forgetting", (14.0, 4.6), _forgetting_figure),
        ],
    )
