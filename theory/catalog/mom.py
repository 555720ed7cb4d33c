r"""Maximum optimality margin (Sun, Liu & Li, ICML 2023), Sec. 3.

LP(c): :math:`\min c^\top x` s.t. :math:`Ax=b,\ x\ge0`, A of full row rank; a basis B
(:math:`|B|=m`, :math:`A_B` invertible) with :math:`x_B=A_B^{-1}b\ge0`, :math:`x_N=0`, and
reduced costs :math:`r(c)=c_N-A_N^\top A_B^{-\top}c_B`. Claims (``shared/claims/catalog.md``
§11): ``mom.reduced-cost-certificate`` (r >= 0 certifies optimality; r > 0 with
:math:`x_B>0` uniqueness) and ``mom.margin-needed`` (the MOM problem with margin 1
recovers the observed optima on separable data; margin 0 does not).
"""

from __future__ import annotations

from typing import Any

import cvxpy as cp
import numpy as np
import scipy.optimize

from theorycheck import checks, validate
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "mom"
"""Key of the paper in the seed catalog."""

FORMULAS = ("transpose", "inverse", "naive")


def reduced_costs(a: Any, basis: Any, c: Any, *, formula: str = "transpose") -> Any:
    r"""Reduced costs :math:`r(c)=c_N-A_N^\top A_B^{-\top}c_B` of a basis.

    Parameters
    ----------
    a : array, shape (m, n)
        Constraint matrix.
    basis : sequence of int, length m
        Basic column indices (distinct); the rest, in increasing order, are N.
    c : array, shape (..., n)
        Cost vectors.
    formula : {"transpose", "inverse", "naive"}
        ``transpose`` is the correct formula; ``inverse`` uses :math:`A_B^{-1}c_B` and
        ``naive`` :math:`c_N-A_N^\top c_B` (wrong variants, for controls).

    Returns
    -------
    array, shape (..., n - m)
    """
    func = "reduced_costs"
    a, xp = validate.real_floating(a, "a", func=func)
    c, _ = validate.real_floating(c, "c", func=func)
    if a.ndim != 2 or c.shape[-1] != a.shape[1]:
        raise ValueError(f"{func}: need a (m, n) and c (..., n), got {a.shape}, {c.shape}")
    m, n = a.shape
    basis = [int(i) for i in basis]
    if len(basis) != m or len(set(basis)) != m or not all(0 <= i < n for i in basis):
        raise ValueError(f"{func}: basis must be {m} distinct indices in [0, {n}), got {basis}")
    if formula not in FORMULAS:
        raise ValueError(f"{func}: formula must be one of {FORMULAS}, got {formula!r}")
    nonbasic = [j for j in range(n) if j not in basis]
    a_b = xp.take(a, xp.asarray(basis), axis=1)
    a_n = xp.take(a, xp.asarray(nonbasic), axis=1)
    c_b = xp.take(c, xp.asarray(basis), axis=-1)
    c_n = xp.take(c, xp.asarray(nonbasic), axis=-1)
    rhs = xp.matrix_transpose(xp.reshape(c_b, (-1, m)))  # (m, K)
    if formula == "transpose":
        y = xp.linalg.solve(xp.matrix_transpose(a_b), rhs)
    elif formula == "inverse":
        y = xp.linalg.solve(a_b, rhs)
    else:
        y = rhs
    r = xp.reshape(xp.matrix_transpose(xp.matmul(xp.matrix_transpose(a_n), y)), c_n.shape)
    return c_n - r


def _instance(rng: np.random.Generator, m: int, n: int) -> tuple[np.ndarray, ...]:
    """A, a basis (the first m columns), b with x_B > 0 and the basic solution."""
    a = rng.standard_normal((m, n))
    x_b = rng.uniform(0.5, 2.0, m)
    b = a[:, :m] @ x_b
    x = np.concatenate([x_b, np.zeros(n - m)])
    return a, b, x


def _lp_solution(c: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[int, np.ndarray]:
    res = scipy.optimize.linprog(c, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
    return res.status, (res.x if res.status == 0 else np.full(a.shape[1], np.nan))


@claim(
    "mom.reduced-cost-certificate",
    paper=PAPER,
    source="Sec. 3 (optimality conditions of LP)",
    statement=(
        r"r(c)=c_N-A_N^\top A_B^{-\top}c_B\ge0\Leftrightarrow x=(A_B^{-1}b,0)\in\arg\min "
        r"\text{LP}(c)\ (x_B>0);\ r(c)>0\Rightarrow\text{unique}"
    ),
    method="solver",
    provenance="unconfirmed-numbering",
    controls=[
        Control("inverse-not-transpose", r"r=c_N-A_N^\top A_B^{-1}c_B", {"formula": "inverse"}),
        Control("no-basis-solve", r"r=c_N-A_N^\top c_B", {"formula": "naive"}),
    ],
)
def reduced_cost_certificate(ctx: Context, formula: str = "transpose") -> Evidence:
    r"""Random nondegenerate instances (m = 3, n = 6); half of the costs are built with
    :math:`r\ge0` (random duals y and :math:`r_N\ge0`), half are Gaussian.

    Parts: (agree) the candidate's ":math:`r\ge-10^{-9}`" against HiGHS's "the basic
    solution's cost is within 1e-7 (1 + |optimum|) of the optimum" (HiGHS
    feasibility/optimality tolerance 1e-7; unbounded LPs count as not optimal);
    (compare) where the candidate's r > 1e-3, HiGHS's solution equals the basic one
    to 1e-6 (unique optimum; the 1e-3 gap keeps the optimum well separated).
    """
    rng = ctx.rng(0)
    m, n, count = 3, 6, ctx.pick(60, 600)
    said, truth, unique_x, basic_x = [], [], [], []
    for i in range(count):
        a, b, x = _instance(rng, m, n)
        if i % 2 == 0:
            y = rng.standard_normal(m)
            r_n = rng.uniform(0.0, 1.0, n - m) * (rng.random(n - m) < 0.8)
            c = np.concatenate([a[:, :m].T @ y, a[:, m:].T @ y + r_n])
        else:
            c = rng.standard_normal(n)
        r = to_numpy(reduced_costs(ctx.asarray(a), range(m), ctx.asarray(c), formula=formula))
        status, sol = _lp_solution(c, a, b)
        optimal = status == 0 and c @ x <= c @ sol + 1e-7 * (1 + abs(c @ sol))
        said.append(bool(np.all(r >= -1e-9)))
        truth.append(bool(optimal))
        if np.all(r > 1e-3):
            unique_x.append(sol)
            basic_x.append(x)
    parts = {"r >= 0 <=> basic solution optimal": checks.agree(said, truth, names=("r>=0", "LP"))}
    if unique_x:
        parts["r > 0 => unique optimum"] = checks.compare(
            np.array(unique_x), np.array(basic_x), atol=1e-6
        )
    return checks.combine(parts)


def _mom_data(rng: np.random.Generator, t_count: int, m: int, n: int, p: int) -> dict[str, Any]:
    theta_star = rng.standard_normal((n, p))
    data: dict[str, list[Any]] = {"a": [], "b": [], "z": [], "basis": [], "x": [], "M": []}
    while len(data["a"]) < t_count:
        a = rng.standard_normal((m, n))
        b = a @ rng.uniform(0.1, 1.0, n)  # feasible, bounded below since c = Theta z random
        z = rng.standard_normal(p)
        status, x = _lp_solution(theta_star @ z, a, b)
        if status != 0:
            continue
        basis = [int(j) for j in np.argsort(-x)[:m]]
        if np.sort(x)[-m - 1] > 1e-9 or np.linalg.cond(a[:, basis]) > 1e8:
            continue  # degenerate or ill-conditioned: skip
        nonbasic = [j for j in range(n) if j not in basis]
        # r(c) = M c with M = [e_N^T] - A_N^T A_B^{-T} [e_B^T]
        sel_b, sel_n = np.eye(n)[basis], np.eye(n)[nonbasic]
        mat = sel_n - a[:, nonbasic].T @ np.linalg.solve(a[:, basis].T, sel_b)
        for key, value in zip(data, (a, b, z, basis, x, mat), strict=True):
            data[key].append(value)
    min_r = min(
        float(np.min(mt @ theta_star @ zt)) for mt, zt in zip(data["M"], data["z"], strict=True)
    )
    data["theta_star"] = theta_star / min_r  # all reduced costs >= 1: separable
    return data


@claim(
    "mom.margin-needed",
    paper=PAPER,
    source="Sec. 3 (the MOM training problem)",
    statement=(
        r"\min_\Theta\tfrac\lambda2\|\Theta\|_F^2+\tfrac1T\sum_t\sum_{j\in N_t}"
        r"\max(0,1-r_j(\Theta z_t;B_t))\ \text{recovers}\ x_t^*\ \text{on separable data}"
    ),
    method="solver",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "zero-margin",
            r"\text{with hinge }\max(0,-r_j)\text{ the MOM solution recovers }x_t^*",
            {"margin": 0.0},
        )
    ],
)
def margin_needed(ctx: Context, margin: float = 1.0, lam: float = 1e-4) -> Evidence:
    r"""Synthetic separable data (m = 2, n = 5, 3 features, T = 20 quick / 50 full).

    Parts: the hinge loss at the CLARABEL solution is below 1e-6 (solver tolerance
    1e-8 on an objective of O(1), times T n); the reduced costs at :math:`B_t` are
    certified positive *for the exact minimiser* :math:`\Theta^\dagger` (unique: the
    objective is :math:`\lambda`-strongly convex, so a solution with objective gap
    :math:`\epsilon\le10^{-8}(1+|f|)` lies within :math:`\rho=\sqrt{2\epsilon/\lambda}` of
    it): :math:`\min_jr_j(\hat\Theta z_t)>\|M_t\|_2\|z_t\|\rho` (:math:`r=M_tc`); and HiGHS
    on :math:`\hat\Theta z_t` returns :math:`x_t^*` to 1e-6. The certificate is what
    makes the zero-margin control fail: its exact minimiser is :math:`\Theta=0`, even
    when an interior-point solver stops at a small separating :math:`\hat\Theta`.
    """
    rng = ctx.rng(0)
    m, n, p, t_count = 2, 5, 3, ctx.pick(20, 50)
    data = _mom_data(rng, t_count, m, n, p)
    theta = cp.Variable((n, p))
    hinge = sum(
        cp.sum(cp.pos(margin - mt @ theta @ zt))
        for mt, zt in zip(data["M"], data["z"], strict=True)
    )
    loss = hinge / t_count
    problem = cp.Problem(cp.Minimize(lam / 2 * cp.sum_squares(theta) + loss))
    problem.solve(solver="CLARABEL")
    if problem.status != cp.OPTIMAL:
        raise RuntimeError(f"MOM problem not solved: {problem.status}")
    theta_hat = np.asarray(theta.value)
    radius = np.sqrt(2 * 1e-8 * (1 + abs(problem.value)) / lam)
    r_min, mismatch = [], []
    for a, b, z, x, mt in zip(data["a"], data["b"], data["z"], data["x"], data["M"], strict=True):
        c = theta_hat @ z
        r_min.append(float(np.min(mt @ c)) - np.linalg.norm(mt, 2) * np.linalg.norm(z) * radius)
        _, sol = _lp_solution(c, a, b)
        mismatch.append(float(np.max(np.abs(sol - x))))
    evidence = checks.combine(
        {
            "zero hinge loss": checks.nonnegative(np.array([1e-6 - float(loss.value)])),
            "certified unique optimum (r > 0)": checks.nonnegative(np.array(r_min)),
            "HiGHS reproduces x*": checks.nonnegative(1e-6 - np.array(mismatch)),
        }
    )
    evidence.details["||Theta_hat||_F"] = float(np.linalg.norm(theta_hat))
    evidence.details["certified radius"] = float(radius)
    return evidence
