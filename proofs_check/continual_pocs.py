r"""Exact claims of Evron et al. (ICML 2023): the 2-D examples, in rational and symbolic arithmetic.

Ids follow ``shared/claims/continual_pocs.md`` (``pocs.not_offline_maxmargin``,
``pocs.task_similarity``; family ``continual_pocs`` here). With one sample per task,
a task's feasible set is the half-plane :math:`\{w: a^\top w\ge1\}` and the SMM step
is the exact projection :math:`w+\frac{(1-a^\top w)_+}{\|a\|^2}a`
(:func:`theory.continual_pocs.references.exact_halfspace_projection`): every iterate is
computed in sympy, rationals stay rationals, and each equality is a
:class:`~proofs_check.derivation.Equal` step that must simplify to zero (piecewise
steps are compared region by region). The same examples are also run through the
package's batched projection on the backend under test and compared in float64
(tolerance 16 u times the size of the iterate: a handful of roundings of O(1)
numbers, u = 1.1e-16).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import sympy

from proofs_check.derivation import Derivation, Equal
from theory.continual_pocs.active_sets import build_table, project
from theory.continual_pocs.claims import PAPER, cached
from theory.continual_pocs.projection import project_rows
from theory.continual_pocs.references import exact_halfspace_projection, projection_solver
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

UNIT_ROUNDOFF = 2.0**-53

_HALF = sympy.Rational(1, 2)
TASK_NORMALS = (sympy.Matrix([1, 0]), sympy.Matrix([_HALF, 1]))
"""The example of ``pocs.not_offline_maxmargin``: x_1 = (1, 0), x_2 = (1/2, 1), y = +1."""


def _float_iterates(ctx: Context, normals: list[list[float]], order: list[int]) -> np.ndarray:
    """SMM iterates of single-sample tasks by the batched projection on the backend."""
    features = np.array(normals, dtype=float)[:, None, :]
    table = build_table(ctx.asarray(features), ctx.asarray(np.ones(features.shape[:2])))
    point = ctx.asarray(np.zeros((1, features.shape[-1])))
    out = [np.zeros(features.shape[-1])]
    for task in order:
        point = project(table, point, ctx.asarray(np.array([task])))[0]
        out.append(np.asarray(to_numpy(point))[0])
    return np.stack(out)


def vector_equal(label: str, lhs: sympy.Matrix, rhs: sympy.Matrix) -> list[Equal]:
    """One :class:`Equal` step per coordinate (the steps compare scalar expressions)."""
    return [
        Equal(f"{label} [{index}]", left, right)
        for index, (left, right) in enumerate(zip(lhs, rhs, strict=True))
    ]


def exact_iterates(order: list[int]) -> list[sympy.Matrix]:
    """Exact SMM iterates of the example for a task order (0-based)."""
    point = sympy.zeros(2, 1)
    out = [point]
    for task in order:
        point = sympy.simplify(exact_halfspace_projection(point, TASK_NORMALS[task]))
        out.append(point)
    return out


def exact_joint_max_margin() -> tuple[sympy.Matrix, sympy.Matrix]:
    r""":math:`w^\star` with both constraints active: :math:`Aw=\mathbf 1`,
    :math:`\alpha=(AA^\top)^{-1}\mathbf 1`, :math:`w=A^\top\alpha`."""
    rows = sympy.Matrix.vstack(*(n.T for n in TASK_NORMALS))
    alpha = (rows * rows.T).inv() * sympy.ones(2, 1)
    return rows.T * alpha, alpha


@claim(
    "continual_pocs.not_offline_maxmargin",
    paper=PAPER,
    source="Fig. 1(c); 2-D example of spec pocs.not_offline_maxmargin",
    statement=(
        r"x_1=(1,0),\ x_2=(\tfrac12,1):\ w_1=(1,0),\ w_2=(\tfrac65,\tfrac25)=w_\infty\in W^\star,\ "
        r"w^\star=(1,\tfrac12),\ \|w_\infty\|^2=\tfrac85>\tfrac54=\|w^\star\|^2"
    ),
    method="symbolic",
    provenance="confirmed",
    notes=(
        "The phenomenon is the paper's Figure 1(c); the deterministic example is derived "
        "(spec). Includes the regression contrast: for affine sets the same solver's "
        "cyclic projections do converge to the min-norm solution."
    ),
    controls=[
        Control(
            "converges-to-w-star",
            r"\lim_t w_t=w^\star\ \text{for every cyclic ordering}",
            {"limit_is_joint_max_margin": True},
        )
    ],
)
def not_offline_maxmargin(ctx: Context, limit_is_joint_max_margin: bool = False) -> Evidence:
    r"""Exact (sympy rationals): the iterates of the orders 1,2,1,2,... and 2,1,2,1,...
    (the first step decides the limit of any ordering), their fixed points
    :math:`(6/5,2/5)` and :math:`(1,4/5)` (both in :math:`W^\star`, stationary under
    both projections), :math:`w^\star=(1,1/2)` with KKT multipliers (3/4, 1/2) >= 0, and
    the claimed relation between the limits and :math:`w^\star` (``lim != w*`` with a
    larger norm, or, for the control, ``lim = w*``). Float64: the batched projection on
    the backend reproduces the exact iterates (16 u), cvxpy reproduces :math:`w^\star`
    (1e-7), and for the regression contrast (random :math:`Xw=y`, 3 one-row tasks in
    :math:`\mathbb R^6`) cyclic projections by the same NumPy solver (equalities as two
    inequalities) reach the min-norm solution :math:`X^+y` (1e-9 relative after 200
    cycles, a rate of at least 0.9 per cycle for these rows)."""
    fixed, limits, joint = cached(
        ctx, "not_offline_maxmargin", lambda: _offline_parts(ctx), backend=True
    )
    parts = dict(fixed)
    for label, limit in limits.items():
        equal = sympy.simplify(limit - joint) == sympy.zeros(2, 1)
        larger = sympy.simplify((limit.T * limit)[0, 0] - (joint.T * joint)[0, 0]) > 0
        if limit_is_joint_max_margin:
            holds, claim_text = equal, "lim w_t = w*"
        else:
            holds, claim_text = (not equal) and bool(larger), "lim w_t != w*, |lim| > |w*|"
        parts[f"order {label}: {claim_text}"] = checks.exact(
            bool(holds),
            counterexample={"limit": str(list(limit)), "w_star": str(list(joint))},
        )
    return checks.combine(parts)


def _offline_parts(
    ctx: Context,
) -> tuple[dict[str, Evidence], dict[str, sympy.Matrix], sympy.Matrix]:
    """The parts that do not depend on the claimed limit, and the limits and w*."""
    steps = []
    limits = {}
    for label, order in (("1,2,1,2", [0, 1, 0, 1, 0, 1]), ("2,1,2,1", [1, 0, 1, 0, 1, 0])):
        iterates = exact_iterates(order)
        limit = iterates[2]
        limits[label] = limit
        for t in range(3, len(iterates)):
            steps += vector_equal(f"order {label}: w_{t} = w_2 (stationary)", iterates[t], limit)
        for m, normal in enumerate(TASK_NORMALS):
            steps += vector_equal(
                f"order {label}: w_2 in W_{m + 1} (projection leaves it)",
                exact_halfspace_projection(limit, normal),
                limit,
            )
    first = exact_iterates([0, 1])
    steps += vector_equal("w_1 = (1, 0)", first[1], sympy.Matrix([1, 0]))
    steps += vector_equal(
        "w_2 = (6/5, 2/5)", first[2], sympy.Matrix([sympy.Rational(6, 5), sympy.Rational(2, 5)])
    )
    joint, alpha = exact_joint_max_margin()
    steps += vector_equal("w* = (1, 1/2)", joint, sympy.Matrix([1, _HALF]))
    steps += vector_equal(
        "KKT multipliers = (3/4, 1/2)", alpha, sympy.Matrix([sympy.Rational(3, 4), _HALF])
    )
    steps.append(Equal("|w_2|^2 = 8/5", (first[2].T * first[2])[0, 0], sympy.Rational(8, 5)))
    steps.append(Equal("|w*|^2 = 5/4", (joint.T * joint)[0, 0], sympy.Rational(5, 4)))
    parts: dict[str, Evidence] = {"exact steps": Derivation(tuple(steps)).check()}
    parts["multipliers of w* are positive"] = checks.exact(
        all(a > 0 for a in alpha), counterexample={"alpha": str(list(alpha))}
    )
    exact_floats = np.array([[float(v) for v in p] for p in exact_iterates([0, 1, 0, 1])])
    floats = _float_iterates(ctx, [[1.0, 0.0], [0.5, 1.0]], [0, 1, 0, 1])
    parts["float64: batched projection = exact iterates"] = checks.compare(
        floats, exact_floats, atol=16 * UNIT_ROUNDOFF * (1.0 + np.abs(exact_floats))
    )
    solver = projection_solver(np.zeros((1, 2)), np.array([[[1.0, 0.0], [0.5, 1.0]]]))
    parts["cvxpy: w* = (1, 1/2)"] = checks.compare(solver, np.array([[1.0, 0.5]]), atol=1e-7)
    parts["regression contrast: cyclic affine projections -> X^+ y"] = _regression_contrast(ctx)
    return parts, limits, joint


def _regression_contrast(ctx: Context) -> Evidence:
    """Affine sets {x_m^T w = y_m}: cyclic projections from 0 reach the min-norm solution."""
    rng = ctx.rng(0)
    features = rng.standard_normal((3, 6))
    targets = rng.standard_normal(3)
    point = np.zeros(6)
    for _ in range(200):
        for row, target in zip(features, targets, strict=True):
            rows = np.stack([row, -row])
            point = project_rows(point, rows, np.array([target, -target])).point
    expected = np.linalg.pinv(features) @ targets
    return checks.compare(point, expected, atol=1e-9 * np.linalg.norm(expected))


# ------------------------------------------------------------------------------ task_similarity

COSINE = sympy.Symbol("c", real=True)
"""c = cos φ = a_1^T a_2, in (-1, 1)."""

RADIUS = sympy.Symbol("r", positive=True)
"""Distance of an iterate on line 1 from the apex."""

_SINE = sympy.sqrt(1 - COSINE**2)
A1 = sympy.Matrix([1, 0])
A2 = sympy.Matrix([COSINE, _SINE])


def paper_first_task_margin(c: sympy.Expr) -> sympy.Expr:
    r"""Claim: :math:`a_1^\top w_2=1+(1-\cos\varphi)\cos\varphi`."""
    return 1 + (1 - c) * c


def sign_slip_first_task_margin(c: sympy.Expr) -> sympy.Expr:
    r"""Control: :math:`a_1^\top w_2=1-(1-\cos\varphi)\cos\varphi`."""
    return 1 - (1 - c) * c


def paper_contraction(c: sympy.Expr) -> sympy.Expr:
    r"""Claim: distance to the apex shrinks by :math:`\cos\theta=-\cos\varphi` per projection."""
    return -c


def squared_contraction(c: sympy.Expr) -> sympy.Expr:
    r"""Control: :math:`\cos^2\theta` per projection (the per-cycle factor)."""
    return c**2


def _similarity_floats(ctx: Context, angles: np.ndarray) -> list[float]:
    """a_1^T w_2 by the batched projection on the backend, for each angle phi."""
    out = []
    for phi in angles:
        iterates = _float_iterates(ctx, [[1.0, 0.0], [np.cos(phi), np.sin(phi)]], [0, 1])
        out.append(float(iterates[2] @ np.array([1.0, 0.0])))
    return out


def _region_equal(label: str, lhs: sympy.Expr, rhs: sympy.Expr, region: sympy.Set) -> Equal:
    return Equal(label, lhs, rhs, variable=COSINE, region=region)


@claim(
    "continual_pocs.task_similarity",
    paper=PAPER,
    source="spec pocs.task_similarity (SMM geometry of two single-sample tasks)",
    statement=(
        r"\cos\varphi=a_1^\top a_2:\ w_2=a_1+(1-\cos\varphi)a_2,\ "
        r"a_1^\top w_2=1+(1-\cos\varphi)\cos\varphi;\ \cos\varphi\ge0\Rightarrow w_2\in W^\star;\ "
        r"\cos\varphi<0:\ \text{violation }(1-\cos\varphi)|\cos\varphi|,\ "
        r"\text{contraction }\cos\theta"
    ),
    method="symbolic",
    provenance="derived",
    controls=[
        Control(
            "sign-slip",
            r"a_1^\top w_2=1-(1-\cos\varphi)\cos\varphi",
            {"first_task_margin": sign_slip_first_task_margin},
        ),
        Control(
            "squared-contraction",
            r"\text{contraction }\cos^2\theta\text{ per projection}",
            {"contraction": squared_contraction},
        ),
    ],
)
def task_similarity(
    ctx: Context,
    first_task_margin: Callable[[sympy.Expr], sympy.Expr] = paper_first_task_margin,
    contraction: Callable[[sympy.Expr], sympy.Expr] = paper_contraction,
) -> Evidence:
    r"""Symbolic in :math:`c=\cos\varphi\in(-1,1)`, unit :math:`a_1=(1,0)`,
    :math:`a_2=(c,\sqrt{1-c^2})`: the projections :math:`w_1=\Pi_1(0)=a_1`,
    :math:`w_2=\Pi_2(w_1)=a_1+(1-c)a_2` (the constraint is violated on the whole
    interval), the candidate margin of task 1 at :math:`w_2`, its violation
    :math:`\max(0,1-a_1^\top w_2)`: 0 on [0, 1) (so :math:`w_2\in W^\star` and SMM
    stops) and :math:`(1-c)(-c)` on (-1, 0); the squared violation normalised by
    :math:`\|w^\star\|^2=1/\sin^2(\theta/2)` equals the k = 2 case of the wedge formula
    with :math:`\cos\theta=-c`; and, for a point at distance r from the apex on line 1
    violating task 2, one projection leaves it at distance r x candidate contraction
    from the apex, still violating task 1 (zig-zag). Float64: the batched projection on
    the backend for :math:`\varphi` on a grid against the closed forms (16 u)."""
    open_interval = sympy.Interval.open(-1, 1)
    similar = sympy.Interval.Ropen(0, 1)
    dissimilar = sympy.Interval.open(-1, 0)
    w1 = exact_halfspace_projection(sympy.zeros(2, 1), A1)
    gap = 1 - (A2.T * w1)[0, 0]
    w2 = w1 + gap * A2  # valid when gap > 0, checked next
    margin = (A1.T * w2)[0, 0]
    violation = sympy.Max(1 - margin, 0)
    steps = [
        *vector_equal("w_1 = Pi_1(0) = a_1", w1, A1),
        _region_equal(
            "task 2 violated at w_1: (1 - a_2^T w_1)_+ = 1 - c",
            sympy.Max(gap, 0),
            1 - COSINE,
            open_interval,
        ),
        *vector_equal("w_2 = a_1 + (1 - c) a_2", w2, A1 + (1 - COSINE) * A2),
        Equal("a_2^T w_2 = 1 (w_2 on the boundary of W_2)", (A2.T * w2)[0, 0], 1),
        _region_equal("c >= 0: task 1 satisfied, w_2 in W*", violation, 0, similar),
        _region_equal(
            "c < 0: violation = (1 - c)|c|", violation, (1 - COSINE) * (-COSINE), dissimilar
        ),
    ]
    cos_theta = -COSINE
    wedge_k2 = (1 + cos_theta) / 2 * (1 - cos_theta**2) * cos_theta**2
    sin_half_theta_sq = (1 - cos_theta) / 2
    steps.append(
        _region_equal(
            "c < 0: violation^2 sin^2(theta/2) = wedge F_max(2)",
            violation**2 * sin_half_theta_sq,
            wedge_k2,
            dissimilar,
        )
    )
    apex = sympy.Matrix([1, (1 - COSINE) / _SINE])
    point = apex - RADIUS * sympy.Matrix([0, 1])
    projected = point + (1 - (A2.T * point)[0, 0]) * A2
    steps += [
        Equal("apex on boundary 1", (A1.T * apex)[0, 0], 1),
        Equal("apex on boundary 2", (A2.T * apex)[0, 0], 1),
        Equal("the point violates task 2 by r sin(phi)", 1 - (A2.T * point)[0, 0], RADIUS * _SINE),
        Equal(
            "Pi_2(point) violates task 1 by -r sin(phi) c",
            1 - (A1.T * projected)[0, 0],
            -RADIUS * _SINE * COSINE,
        ),
    ]
    candidate_steps = (
        Equal("a_1^T w_2 = candidate", margin, first_task_margin(COSINE)),
        Equal(
            "|Pi_2(point) - apex|^2 = (r x contraction)^2",
            sympy.expand(((projected - apex).T * (projected - apex))[0, 0]),
            sympy.expand((RADIUS * contraction(COSINE)) ** 2),
        ),
    )
    parts: dict[str, Evidence] = {
        # the steps that do not involve the candidates are the same for the claim and
        # its controls: checked once per context
        "exact steps": cached(
            ctx, "task_similarity steps", lambda: Derivation(tuple(steps)).check(), backend=False
        ),
        "exact steps with the candidates": Derivation(candidate_steps).check(),
    }

    angles = np.linspace(0.2, 3.0, 15)
    floats = cached(ctx, "task_similarity floats", lambda: _similarity_floats(ctx, angles))
    expected = [float(first_task_margin(sympy.Float(np.cos(phi), 30))) for phi in angles]
    parts["float64: a_1^T w_2 on a grid of phi"] = checks.compare(
        np.array(floats), np.array(expected), atol=16 * UNIT_ROUNDOFF * 4, inputs={"phi": angles}
    )
    return checks.combine(parts)
