r"""Forgetting bounds of sequential max-margin under cyclic and random orderings.

Evron et al., *Continual Learning in Linear Classification on Separable Data*, ICML
2023; ``shared/claims/continual_pocs.md`` (``pocs.cyclic_forgetting``,
``pocs.random_forgetting``). The paper's constants are not confirmed; the bounds
verified here are the spec's derived ones, each with a proof sketch there:

- cyclic, any jointly separable data, :math:`k\ge T`, :math:`n=\lfloor k/T\rfloor`:
  :math:`F_{\max}(k)\le2(T-1)\sqrt T/\sqrt n`;
- random (i.i.d. uniform task each step), :math:`\bar D(w)=\frac1T\sum_md^2(w,W_m)`:
  :math:`\sum_{t<k}\mathbb E\,\bar D(w_t)\le\|w^\star\|^2` for every k.

Every run is a batch of replicates on the array axis of the backend under test
(:mod:`theory.continual_pocs.dynamics`): random task collections (cyclic claim) or
random orderings of fixed collections (random claim). Besides Gaussian collections,
three closed-form families enter on purpose: the wedge of ``pocs.slow_distance`` with
:math:`\theta=k^{-1/2}` (forgetting :math:`\approx1/(ek)`), the staircase of
:func:`~theory.continual_pocs.tasks.staircase_tasks` (forgetting 1/4 at k = T for
every T) and rescaled copies :math:`x\mapsto x/s` of random collections.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from theory.continual_pocs.active_sets import build_table
from theory.continual_pocs.claims import PAPER, TEACHER_MARGIN, cached, simulate
from theory.continual_pocs.dynamics import joint_solutions, run_smm, task_violations
from theory.continual_pocs.tasks import (
    cyclic_order,
    random_separable_tasks,
    staircase_tasks,
    wedge_tasks,
)
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

BOUND_SLACK = 1e-9
"""The spec's additive allowance of the cyclic bound (``F_max(k) <= bound + 1e-9``)."""

SIGMAS = 3.0
"""One-sided Monte Carlo test width: mean +- 3 standard errors (spec)."""


# ------------------------------------------------------------------------------ cyclic


def derived_cyclic_bound(tasks: Any, steps: Any) -> Any:
    r"""The spec's derived bound :math:`2(T-1)\sqrt T/\sqrt{\lfloor k/T\rfloor}` (k >= T)."""
    tasks = np.asarray(tasks, dtype=float)
    cycles = np.floor(np.asarray(steps, dtype=float) / tasks)
    return 2.0 * (tasks - 1.0) * np.sqrt(tasks) / np.sqrt(cycles)


def ten_over_k_squared(tasks: Any, steps: Any) -> Any:
    r"""Control (a): an instance-uniform :math:`F_{\max}(k)\le10/k^2` (too fast a power)."""
    return 10.0 / np.asarray(steps, dtype=float) ** 2 + 0.0 * np.asarray(tasks, dtype=float)


def two_over_sqrt_k(tasks: Any, steps: Any) -> Any:
    r"""Control (c): a T-free :math:`F_{\max}(k)\le2/\sqrt k`."""
    return 2.0 / np.sqrt(np.asarray(steps, dtype=float)) + 0.0 * np.asarray(tasks, dtype=float)


def cyclic_families(ctx: Context) -> list[dict[str, Any]]:
    """The task families of the cyclic check (see the module docstring)."""
    rng = ctx.rng(0)
    count = ctx.pick(16, 512)
    families = []
    for tasks, samples, dim in ((2, 3, 3), (3, 2, 4), (5, 2, 3), (8, 1, 4)):
        features, labels = random_separable_tasks(
            rng, tasks, samples, dim, batch=count, teacher_margin=TEACHER_MARGIN
        )
        families.append(
            {
                "label": f"random T={tasks},n={samples},D={dim}",
                "tasks": tasks,
                "features": features,
                "labels": labels,
            }
        )
    features, labels = random_separable_tasks(
        rng, 3, 2, 3, batch=count, teacher_margin=TEACHER_MARGIN
    )
    families.append(
        {
            "label": "random T=3,n=2,D=3 scaled x/1000",
            "tasks": 3,
            "features": features / 1000.0,
            "labels": labels,
        }
    )
    horizons = ctx.pick((100,), (100, 300, 1000, 3000))
    wedges = [wedge_tasks(float(k) ** -0.5) for k in horizons]
    families.append(
        {
            "label": "wedge theta=k^-1/2",
            "tasks": 2,
            "features": np.stack([w[0] for w in wedges]),
            "labels": np.stack([w[1] for w in wedges]),
            "horizon": max(horizons),
        }
    )
    for tasks in ctx.pick((100,), (24, 100, 400)):
        features, labels = staircase_tasks(tasks)
        families.append(
            {
                "label": f"staircase T={tasks}",
                "tasks": tasks,
                "features": features[None],
                "labels": labels[None],
            }
        )
    return families


def _cyclic_runs(ctx: Context) -> list[dict[str, Any]]:
    runs = []
    for family in cyclic_families(ctx):
        tasks = family["tasks"]
        steps = family.get("horizon", max(ctx.pick(100, 2000), 2 * tasks))
        count = family["features"].shape[0]
        orders = np.tile(cyclic_order(tasks, steps), (count, 1))
        result = simulate(ctx, family["features"], family["labels"], orders)
        result.update(label=family["label"], tasks=tasks)
        runs.append(result)
    return runs


@claim(
    "continual_pocs.cyclic_forgetting",
    paper=PAPER,
    source="abstract (cyclic forgetting bounds); derived bound of spec pocs.cyclic_forgetting",
    statement=(
        r"\text{cyclic},\ k\ge T:\ F_{\max}(k)=\max_{m\ \mathrm{seen}}"
        r"\frac{d^2(w_k,W_m)}{\|w^\star\|^2}\le\frac{2(T-1)\sqrt T}{\sqrt{\lfloor k/T\rfloor}}"
    ),
    method="monte-carlo",
    provenance="derived",
    notes=(
        "The paper's bound (expected c T^2/sqrt(k)) is not confirmed; the derived bound is "
        "checked. Whether C T^2/k holds is open (1/k is the wedge lower bound): reported as "
        "'not refuted', never as verified."
    ),
    controls=[
        Control("ten-over-k-squared", r"F_{\max}(k)\le10/k^2", {"bound": ten_over_k_squared}),
        Control("T-free", r"F_{\max}(k)\le2/\sqrt k", {"bound": two_over_sqrt_k}),
        Control(
            "unnormalised",
            r"d^2(w_k,W_m)\le2(T-1)\sqrt T/\sqrt{\lfloor k/T\rfloor}\ (\text{no }\|w^\star\|^2)",
            {"normalised": False},
        ),
    ],
)
def cyclic_forgetting(
    ctx: Context,
    bound: Callable[[Any, Any], Any] = derived_cyclic_bound,
    normalised: bool = True,
    paper_constant: float | None = None,
) -> Evidence:
    r"""Cyclic SMM on the backend for batches of 16 random collections (512 full;
    T = 2, 3, 5, 8; one batch rescaled by 1/1000), the wedge with
    :math:`\theta=k^{-1/2}` (k = 100; and 300, 1000, 3000 full) and the staircase
    (T = 100; and 24, 400 full): :math:`F_{\max}(k)` (or, with ``normalised=False``,
    the unnormalised :math:`\max_md^2(w_k,W_m)`) at every :math:`k\ge T` up to
    max(100, 2T) steps (quick; 2000 full) against ``bound(T, k)`` + 1e-9. With
    ``paper_constant`` c, also :math:`F_{\mathrm{margin}}(k)\le cT^2/\sqrt k`. Details
    report the worst ratio observed/bound per family, and
    :math:`\max F_{\max}(k)\,k/T^2` (the open :math:`T^2/k` question) and
    :math:`\max F_{\max}\sqrt k` (the T-free question)."""
    runs = cached(ctx, "cyclic_forgetting", lambda: _cyclic_runs(ctx))
    parts: dict[str, Evidence] = {}
    worst_ratio: dict[str, float] = {}
    open_question, tfree = 0.0, 0.0
    for run in runs:
        tasks = run["tasks"]
        forgetting = run["max"] if normalised else run["max"] * run["joint_sq"][:, None]
        k = np.arange(forgetting.shape[1])
        valid = k >= tasks
        limit = bound(tasks, k[valid])
        observed = forgetting[:, valid]
        parts[run["label"]] = checks.nonnegative(
            limit[None, :] - observed, tol=BOUND_SLACK, inputs={"w_star": run["joint"]}
        )
        worst_ratio[run["label"]] = float(np.max(observed / limit[None, :]))
        normal = run["max"][:, valid]
        open_question = max(open_question, float(np.max(normal * k[valid] / tasks**2)))
        tfree = max(tfree, float(np.max(normal * np.sqrt(k[valid]))))
        if paper_constant is not None:
            parts[f"{run['label']} F_margin <= c T^2/sqrt(k)"] = checks.nonnegative(
                paper_constant * tasks**2 / np.sqrt(k[valid])[None, :] - run["margin"][:, valid],
                tol=BOUND_SLACK,
            )
    evidence = checks.combine(parts)
    evidence.details["worst observed/bound per family"] = worst_ratio
    evidence.details["max F_max k / T^2 (open: C T^2/k neither confirmed nor refuted)"] = (
        open_question
    )
    evidence.details["max F_max sqrt(k) (a T-free C/sqrt(k) needs C above this)"] = tfree
    return evidence


# ------------------------------------------------------------------------------ random


def random_families(ctx: Context) -> list[dict[str, Any]]:
    """Fixed collections whose random orderings are simulated."""
    rng = ctx.rng(0)
    families = []
    shapes = ctx.pick(((3, 2, 3), (4, 2, 4)), ((3, 2, 3), (4, 3, 4), (5, 1, 3), (8, 2, 5)))
    for tasks, samples, dim in shapes:
        features, labels = random_separable_tasks(
            rng, tasks, samples, dim, teacher_margin=TEACHER_MARGIN
        )
        families.append(
            {
                "label": f"random T={tasks},n={samples},D={dim}",
                "features": features,
                "labels": labels,
            }
        )
    for tasks, angle in ctx.pick(((3, 0.1),), ((3, 0.1), (5, 0.3))):
        features, labels = staircase_tasks(tasks, angle)
        families.append(
            {"label": f"staircase T={tasks}, psi={angle}", "features": features, "labels": labels}
        )
    features, labels = wedge_tasks(0.3)
    families.append({"label": "wedge theta=0.3", "features": features, "labels": labels})
    return families


def _random_runs(ctx: Context) -> list[dict[str, Any]]:
    runs = []
    repeats = ctx.pick(2000, 20000)
    steps = ctx.pick(20, 200)
    for index, family in enumerate(random_families(ctx)):
        features, labels = family["features"], family["labels"]
        tasks = features.shape[0]
        table = build_table(ctx.asarray(features), ctx.asarray(labels))
        orders = ctx.rng(1, index).integers(0, tasks, (repeats, steps))
        iterates = run_smm(table, ctx.asarray(orders))
        distance_sq = np.asarray(to_numpy(task_violations(table, iterates).distance_sq))
        moves = np.asarray(to_numpy(iterates))
        steps_sq = np.sum(np.diff(moves, axis=1) ** 2, axis=-1)  # |w_{t+1} - w_t|^2
        joint_sq = float(np.sum(joint_solutions(features, labels) ** 2))
        runs.append(
            {
                "label": family["label"],
                "tasks": tasks,
                "distance_sq": distance_sq[:, :-1] / joint_sq,  # w_0 .. w_{k-1}
                "steps_sq": steps_sq / joint_sq,
            }
        )
    return runs


def task_mean(distance_sq: np.ndarray) -> np.ndarray:
    r"""The claim's :math:`\bar D(w)=\frac1T\sum_md^2(w,W_m)` (last axis: tasks)."""
    return distance_sq.mean(axis=-1)


def task_max(distance_sq: np.ndarray) -> np.ndarray:
    r"""Control: :math:`\max_md^2(w,W_m)` in place of the average."""
    return distance_sq.max(axis=-1)


def not_significantly_above(mean: np.ndarray, error: np.ndarray, bound: float) -> Evidence:
    r"""One-sided Monte Carlo test of :math:`\mathbb E X_k\le` bound for every k.

    The bound is refuted only by a significant excess, :math:`\bar X_k-3\,\mathrm{SE}_k>`
    bound. The upper end :math:`\bar X_k+3\,\mathrm{SE}_k` is reported: where it
    exceeds the bound while the lower end does not, the bound is attained within the
    Monte Carlo error (``tight``), as it must be where the iterates converge to
    :math:`w^\star` with Fejér equality (the wedge).
    """
    lower, upper = mean - SIGMAS * error, mean + SIGMAS * error
    evidence = checks.nonnegative(bound - lower, inputs={"k": np.arange(1, mean.size + 1)})
    worst = int(np.argmax(upper))
    evidence.details.update(
        {
            "largest mean": float(mean.max()),
            "largest mean + 3 SE": float(upper[worst]),
            "tight (bound inside mean +- 3 SE)": bool(np.any((lower <= bound) & (upper > bound))),
        }
    )
    return evidence


def unbiased(difference: np.ndarray) -> Evidence:
    """Two-sided test that a per-run difference has mean 0 (within 3 standard errors)."""
    mean = float(difference.mean())
    error = float(difference.std(ddof=1) / math.sqrt(difference.size))
    evidence = checks.nonnegative(
        np.array([SIGMAS * error - abs(mean)]), inputs={"mean difference": np.array([mean])}
    )
    evidence.details.update({"mean difference": mean, "standard error": error})
    return evidence


@claim(
    "continual_pocs.random_forgetting",
    paper=PAPER,
    source="abstract (random orderings); derived T-free bound of spec pocs.random_forgetting",
    statement=(
        r"\tau(t)\overset{iid}{\sim}U[T]:\ \sum_{t<k}\mathbb E\,\bar D(w_t)\le\|w^\star\|^2,\ "
        r"\bar D(w)=\frac1T\sum_{m}d^2(w,W_m);\ \text{so }\frac1k\sum_{t<k}"
        r"\mathbb E\bar D(w_t)/\|w^\star\|^2\le\frac1k"
    ),
    method="monte-carlo",
    provenance="derived",
    notes="The paper's random-ordering theorem (statement, constant) is not confirmed.",
    controls=[
        Control(
            "task-maximum",
            r"\sum_{t<k}\mathbb E\max_md^2(w_t,W_m)\le\|w^\star\|^2",
            {"aggregate": task_max},
        )
    ],
)
def random_forgetting(
    ctx: Context, aggregate: Callable[[np.ndarray], np.ndarray] = task_mean
) -> Evidence:
    r"""2000 random orderings (quick; 20000 full) of 20 steps (200 full) of each fixed
    collection (random; staircase T = 3, ψ = 0.1; wedge θ = 0.3; more in full),
    simulated as one batch on the backend. With
    :math:`Y_k=\sum_{t<k}\text{aggregate}_md^2(w_t,W_m)/\|w^\star\|^2` and
    :math:`Z_k=\sum_{t<k}\|w_{t+1}-w_t\|^2/\|w^\star\|^2` per run, the check follows
    the derivation: (i) :math:`Z_K\le1` on every run (Fejér, pathwise; 1e-9);
    (ii) :math:`\mathbb E(Y_K-Z_K)=0` (two-sided, 3 SE), which holds for the task
    *average* because :math:`\mathbb E[\|w_{t+1}-w_t\|^2\mid w_t]=\bar D(w_t)`;
    (iii) the direct one-sided test of :math:`\mathbb EY_k\le1` at every k
    (:func:`not_significantly_above`). The spec asks to compare mean + 3 SE with the
    bound; that upper end is reported, but it cannot serve as the pass criterion: on the
    wedge the bound is attained in the limit (Fejér equality at the apex), so no sample
    puts mean + 3 SE below it. Details give the largest mean partial sum per collection."""
    runs = cached(ctx, "random_forgetting", lambda: _random_runs(ctx))
    parts: dict[str, Evidence] = {}
    largest: dict[str, float] = {}
    for run in runs:
        partial = np.cumsum(aggregate(run["distance_sq"]), axis=1)  # (R, k)
        energy = np.cumsum(run["steps_sq"], axis=1)
        mean = partial.mean(axis=0)
        error = partial.std(axis=0, ddof=1) / math.sqrt(partial.shape[0])
        label = run["label"]
        parts[f"{label}: sum_t |w_(t+1) - w_t|^2 <= |w*|^2 on every run"] = checks.nonnegative(
            1.0 - energy[:, -1], tol=BOUND_SLACK
        )
        parts[f"{label}: E[Y_K - Z_K] = 0"] = unbiased(partial[:, -1] - energy[:, -1])
        parts[f"{label}: E Y_k <= 1 (one-sided, 3 SE)"] = not_significantly_above(mean, error, 1.0)
        largest[label] = float(mean.max())
    evidence = checks.combine(parts)
    evidence.details["largest mean partial sum per collection"] = largest
    return evidence
