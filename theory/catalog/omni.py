r"""Omnipredictors for constrained optimization (Hu, Livni-Navon, Reingold & Yang, ICML 2023).

Claim ``omni.constrained-lp-sufficiency`` (``shared/claims/catalog.md`` §79, [derived]): a
**sanity case** of the paper's notion, stated by this project and consistent with the paper,
not a numbered result of it. The paper's omnipredictors are multicalibrated predictors from
which a near-optimal constrained decision rule can be post-processed for any loss and any
group constraint; the checked fragment is the ideal case where the predictor is the true
conditional probability :math:`p^*(x)=\Pr[y=1\mid x]` itself (perfectly multicalibrated
with respect to any class).

Notation. A finite domain :math:`\mathcal X=\{0,\dots,n-1\}` with probabilities
:math:`w(x)`, a label :math:`y\in\{0,1\}` with :math:`\Pr[y=1\mid x]=p^*(x)`, a group
:math:`g(x)\in\{0,\dots,G-1\}`, actions :math:`a\in\{0,\dots,k-1\}`, a loss
:math:`\ell(y,a)` and a randomised decision rule :math:`\pi(a\mid x)`. Its risk is
:math:`\mathbb E\,\ell(y,a)=\sum_{x,a}w(x)\pi(a\mid x)\,[p^*(x)\ell(1,a)+(1-p^*(x))\ell(0,a)]`
and a group-defined linear constraint is :math:`\mathbb E\,\phi_i(g(x),y,a)\le b_i` for any
table :math:`\phi_i(g,y,a)` (demographic parity, equal opportunity, or arbitrary).
Both are linear in :math:`\pi` with coefficients that depend on x only through
:math:`(w(x),p^*(x),g(x))`; hence averaging an optimal rule over each cell
:math:`\{x:(p^*(x),g(x))=(s,h)\}` (weighted by w) keeps its risk and every constraint value,
and the best rule that is a function of :math:`(p^*(x),g(x))` is as good as the best rule
overall. A rule of :math:`p^*` alone is not (its cells mix groups whose constraint
coefficients differ), which is the negative control.

The optimum over rules that are constant on given cells is one HiGHS linear program per
instance (:func:`optimal_constrained_risk`, all instances as diagonal blocks of one LP) with
an a-posteriori error bound from its duals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.optimize
import scipy.sparse

from theorycheck import checks, validate
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "omni"
"""Key of the paper in the seed catalog."""

UNIT_ROUNDOFF = 2.0**-53
CELL_KINDS = ("score-and-group", "score")
"""Partitions of the domain: by :math:`(p^*(x),g(x))` (the claim) or by :math:`p^*(x)` alone."""


# ------------------------------------------------------------------------------ validation


def _floats(x: Any, name: str, func: str, *, min_ndim: int) -> tuple[Any, Any]:
    x = validate.finite_real_array(x, name, func=func, min_ndim=min_ndim)
    return x, array_namespace(x)


def _domain(weights: Any, p_star: Any, func: str) -> tuple[Any, Any, Any]:
    weights, xp = _floats(weights, "weights", func, min_ndim=1)
    p_star, _ = _floats(p_star, "p_star", func, min_ndim=1)
    validate.same_shape(weights, p_star, ("weights", "p_star"), func=func)
    if weights.shape[-1] < 1:
        raise ValueError(f"{func}: the domain must have at least one point, got {weights.shape}")
    validate.on_simplex(weights, "weights", func=func)
    low, high = float(xp.min(p_star)), float(xp.max(p_star))
    if low < 0.0 or high > 1.0:
        raise ValueError(f"{func}: p_star must lie in [0, 1], got values in [{low}, {high}]")
    return weights, p_star, xp


def _groups(groups: Any, shape: tuple[int, ...], count: int, func: str) -> np.ndarray:
    values = np.asarray(to_numpy(groups))
    if values.dtype.kind not in "iu":
        raise ValueError(f"{func}: groups must be an integer array, got dtype {values.dtype}")
    if values.shape != tuple(shape):
        raise ValueError(f"{func}: groups must have shape {tuple(shape)}, got {values.shape}")
    if values.size and (values.min() < 0 or values.max() >= count):
        raise ValueError(
            f"{func}: groups must lie in [0, {count}) (the group axis of phi), got values in "
            f"[{values.min()}, {values.max()}]"
        )
    return values.astype(np.int64)


def _loss(loss: Any, func: str) -> tuple[Any, Any]:
    loss, xp = _floats(loss, "loss", func, min_ndim=2)
    if loss.shape[-2] != 2 or loss.shape[-1] < 1:
        raise ValueError(f"{func}: loss must have shape (..., 2, k) with k >= 1, got {loss.shape}")
    return loss, xp


def _phi(phi: Any, func: str) -> tuple[Any, Any]:
    phi, xp = _floats(phi, "phi", func, min_ndim=4)
    if phi.shape[-2] != 2 or phi.shape[-1] < 1 or phi.shape[-3] < 1 or phi.shape[-4] < 1:
        raise ValueError(
            f"{func}: phi must have shape (..., m, G, 2, k) with m, G, k >= 1, got {phi.shape}"
        )
    return phi, xp


# ------------------------------------------------------------------------------ coefficients


def risk_coefficients(weights: Any, p_star: Any, loss: Any) -> Any:
    r"""Coefficients :math:`c(x,a)=w(x)\,[p^*(x)\ell(1,a)+(1-p^*(x))\ell(0,a)]` of the risk.

    The risk of a rule is :math:`\sum_{x,a}c(x,a)\pi(a\mid x)`.

    Parameters
    ----------
    weights : array, shape (..., n)
        Probabilities :math:`w(x)` of the domain points (non-negative, summing to 1).
    p_star : array, shape (..., n)
        True conditional probabilities :math:`p^*(x)\in[0,1]`.
    loss : array, shape (..., 2, k)
        :math:`\ell(y,a)`, row y, column a.

    Returns
    -------
    array, shape (..., n, k)
    """
    func = "risk_coefficients"
    weights, p_star, xp = _domain(weights, p_star, func)
    loss, _ = _loss(loss, func)
    w, p = weights[..., None], p_star[..., None]
    return w * (p * loss[..., 1:2, :] + (1.0 - p) * loss[..., 0:1, :])


def constraint_coefficients(weights: Any, p_star: Any, groups: Any, phi: Any) -> Any:
    r"""Coefficients :math:`A_i(x,a)=w(x)\,[p^*(x)\phi_i(g(x),1,a)+(1-p^*(x))\phi_i(g(x),0,a)]`.

    The constraint values of a rule are :math:`\mathbb E\,\phi_i(g,y,a)=
    \sum_{x,a}A_i(x,a)\pi(a\mid x)`.

    Parameters
    ----------
    weights, p_star : array, shape (..., n)
        As in :func:`risk_coefficients`.
    groups : integer array, shape (..., n)
        Group :math:`g(x)\in\{0,\dots,G-1\}` of each point.
    phi : array, shape (..., m, G, 2, k)
        The constraint tables :math:`\phi_i(g,y,a)`.

    Returns
    -------
    array, shape (..., m, n, k)
    """
    func = "constraint_coefficients"
    weights, p_star, xp = _domain(weights, p_star, func)
    phi, _ = _phi(phi, func)
    count = phi.shape[-3]
    labels = _groups(groups, tuple(weights.shape), count, func)
    onehot = xp.asarray((labels[..., None] == np.arange(count)).astype(np.float64))  # (..., n, G)
    by_label = [
        xp.matmul(onehot[..., None, :, :], phi[..., y, :]) for y in (0, 1)
    ]  # (..., m, n, k)
    w, p = weights[..., None, :, None], p_star[..., None, :, None]
    return w * (p * by_label[1] + (1.0 - p) * by_label[0])


def risk_and_constraints(
    weights: Any, p_star: Any, groups: Any, loss: Any, phi: Any, rule: Any
) -> tuple[Any, Any]:
    r"""Risk :math:`\mathbb E\,\ell(y,a)` and constraint values :math:`\mathbb E\,\phi_i(g,y,a)`
    of a randomised rule.

    Parameters
    ----------
    weights, p_star, groups, loss, phi
        As in :func:`risk_coefficients` and :func:`constraint_coefficients`.
    rule : array, shape (..., n, k)
        :math:`\pi(a\mid x)`, each row a probability vector.

    Returns
    -------
    risk : array, shape (...)
    values : array, shape (..., m)
    """
    func = "risk_and_constraints"
    rule, xp = _floats(rule, "rule", func, min_ndim=2)
    validate.on_simplex(rule, "rule", func=func)
    c = risk_coefficients(weights, p_star, loss)
    a = constraint_coefficients(weights, p_star, groups, phi)
    if a.shape[-1] != c.shape[-1]:
        raise ValueError(
            f"{func}: loss and phi must have the same number of actions, got "
            f"{c.shape[-1]} and {a.shape[-1]}"
        )
    if tuple(rule.shape[-2:]) != tuple(c.shape[-2:]):
        raise ValueError(f"{func}: rule must have shape (..., n, k) = {c.shape}, got {rule.shape}")
    risk = xp.sum(xp.sum(c * rule, axis=-1), axis=-1)
    values = xp.sum(xp.sum(a * rule[..., None, :, :], axis=-1), axis=-1)
    return risk, values


def demographic_parity(
    weights: Any, groups: Any, *, slack: float = 0.0, action: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    r"""Demographic parity between groups 0 and 1 as two constraint tables:
    :math:`|\Pr[a=\text{action}\mid g=0]-\Pr[a=\text{action}\mid g=1]|\le\text{slack}`.

    :math:`\phi_1(g,y,a)=\mathbf 1[a=\text{action}]\,(\mathbf 1[g=0]/\Pr[g=0]-\mathbf 1[g=1]/
    \Pr[g=1])`, :math:`\phi_2=-\phi_1`, both bounded by ``slack``.

    Parameters
    ----------
    weights : array, shape (..., n)
        Probabilities of the domain points.
    groups : integer array, shape (..., n)
        Groups in {0, 1}, both with positive probability.
    slack : float
        Allowed gap (>= 0; 0 is exact parity).
    action : int
        The action whose rate is equalised, in {0, 1}.

    Returns
    -------
    phi : ndarray, shape (..., 2, 2, 2, 2)
        Tables (constraint, group, label, action) for k = 2 actions.
    bound : ndarray, shape (..., 2)
    """
    return _parity("demographic_parity", weights, None, groups, slack, action)


def equal_opportunity(
    weights: Any, p_star: Any, groups: Any, *, slack: float = 0.0, action: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    r"""Equal opportunity between groups 0 and 1 as two constraint tables:
    :math:`|\Pr[a=\text{action}\mid y=1,g=0]-\Pr[a=\text{action}\mid y=1,g=1]|\le\text{slack}`.

    :math:`\phi_1(g,y,a)=\mathbf 1[a=\text{action}]\,y\,(\mathbf 1[g=0]/\Pr[y=1,g=0]-
    \mathbf 1[g=1]/\Pr[y=1,g=1])` and :math:`\phi_2=-\phi_1`.

    Parameters
    ----------
    weights, p_star : array, shape (..., n)
        Probabilities and :math:`p^*` of the domain points.
    groups : integer array, shape (..., n)
        Groups in {0, 1}, both with :math:`\Pr[y=1,g]>0`.
    slack, action
        As in :func:`demographic_parity`.

    Returns
    -------
    phi : ndarray, shape (..., 2, 2, 2, 2)
    bound : ndarray, shape (..., 2)
    """
    return _parity("equal_opportunity", weights, p_star, groups, slack, action)


def _parity(
    func: str, weights: Any, p_star: Any, groups: Any, slack: float, action: int
) -> tuple[np.ndarray, np.ndarray]:
    weights, _ = _floats(weights, "weights", func, min_ndim=1)
    validate.on_simplex(weights, "weights", func=func)
    w = np.asarray(to_numpy(weights), dtype=float)
    labels = _groups(groups, w.shape, 2, func)
    if isinstance(slack, bool) or not isinstance(slack, int | float) or not slack >= 0:
        raise ValueError(f"{func}: slack must be a number >= 0, got {slack!r}")
    if isinstance(action, bool) or action not in (0, 1):
        raise ValueError(f"{func}: action must be 0 or 1, got {action!r}")
    if p_star is None:
        label_factor = np.ones(2)  # phi does not depend on y
        mass_of = w
    else:
        _, p_star, _ = _domain(weights, p_star, func)
        label_factor = np.array([0.0, 1.0])  # only y = 1 counts
        mass_of = w * np.asarray(to_numpy(p_star), dtype=float)
    mass = np.stack([(mass_of * (labels == h)).sum(-1) for h in (0, 1)], axis=-1)  # (..., 2)
    if np.any(mass <= 0):
        raise ValueError(
            f"{func}: both groups need positive probability, got masses down to {mass.min()}"
        )
    signed = np.array([1.0, -1.0]) / mass  # (..., G)
    table = np.zeros((*mass.shape[:-1], 2, 2, 2))  # (..., G, y, a)
    table[..., action] = signed[..., :, None] * label_factor
    phi = np.stack([table, -table], axis=-4)
    return phi, np.full((*mass.shape[:-1], 2), float(slack))


# ------------------------------------------------------------------------------ cells and LPs


def cell_labels(p_star: Any, groups: Any, *, by: str = "score-and-group") -> np.ndarray:
    r"""Label each domain point by its cell: :math:`(p^*(x),g(x))` or :math:`p^*(x)` alone.

    The label of a point is the index of the first point of its cell, so labels lie in
    [0, n) and two points share one exactly when their :math:`p^*` (and groups) are equal
    as floats.

    Parameters
    ----------
    p_star : array, shape (..., n)
        Conditional probabilities.
    groups : integer array, shape (..., n)
        Groups (non-negative).
    by : {"score-and-group", "score"}
        The partition.

    Returns
    -------
    ndarray of int64, shape (..., n), values in [0, n)
    """
    func = "cell_labels"
    p_star, _ = _floats(p_star, "p_star", func, min_ndim=1)
    if by not in CELL_KINDS:
        raise ValueError(f"{func}: by must be one of {CELL_KINDS}, got {by!r}")
    p = np.asarray(to_numpy(p_star), dtype=float)
    labels = _groups(groups, p.shape, np.iinfo(np.int64).max, func)
    same = p[..., :, None] == p[..., None, :]  # (..., n, n)
    if by == "score-and-group":
        same &= labels[..., :, None] == labels[..., None, :]
    return np.argmax(same, axis=-1).astype(np.int64)


def cell_average(weights: Any, rule: Any, cells: Any) -> Any:
    r"""Average a rule over cells: :math:`\bar\pi(a\mid x)=\sum_{x'\in C(x)}w(x')\pi(a\mid x')/
    \sum_{x'\in C(x)}w(x')` (the rule itself where a cell has zero weight).

    Parameters
    ----------
    weights : array, shape (..., n)
        Probabilities of the points.
    rule : array, shape (..., n, k)
        A randomised rule.
    cells : integer array, shape (..., n)
        Cell labels in [0, n) (:func:`cell_labels`).

    Returns
    -------
    array, shape (..., n, k)
    """
    func = "cell_average"
    weights, xp = _floats(weights, "weights", func, min_ndim=1)
    rule, _ = _floats(rule, "rule", func, min_ndim=2)
    if tuple(rule.shape[:-1]) != tuple(weights.shape):
        raise ValueError(
            f"{func}: rule must have shape (..., n, k) with (..., n) = {weights.shape}, "
            f"got {rule.shape}"
        )
    n = weights.shape[-1]
    labels = _groups(cells, tuple(weights.shape), n, func)
    member = xp.asarray((labels[..., :, None] == np.arange(n)).astype(np.float64))  # (..., n, C)
    mass = xp.sum(member * weights[..., :, None], axis=-2)  # (..., C)
    summed = xp.matmul(xp.matrix_transpose(member), weights[..., :, None] * rule)  # (..., C, k)
    point_mass = xp.matmul(member, mass[..., None])  # (..., n, 1)
    averaged = xp.matmul(member, summed)  # (..., n, k)
    safe = xp.where(point_mass > 0, point_mass, xp.ones_like(point_mass))
    return xp.where(point_mass > 0, averaged / safe, rule)


def optimal_constrained_risk(
    weights: Any,
    p_star: Any,
    groups: Any,
    loss: Any,
    phi: Any,
    bound: Any,
    cells: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Best risk over randomised rules constant on given cells, subject to
    :math:`\mathbb E\,\phi_i(g,y,a)\le b_i`, by HiGHS (``scipy.optimize.linprog``).

    The LP in the cell rules :math:`z(c,a)\ge0`, :math:`\sum_az(c,a)=1`, with
    :math:`\pi(a\mid x)=z(C(x),a)`: minimise :math:`\sum_{c,a}(\sum_{x\in c}c(x,a))z(c,a)`
    subject to :math:`\sum_{c,a}(\sum_{x\in c}A_i(x,a))z(c,a)\le b_i`. The N instances are
    the diagonal blocks of one LP (one solve).

    The error bound of each optimum is a-posteriori: with the solver's point
    :math:`\hat z` and duals :math:`\hat\lambda\ge0` (inequalities) and :math:`\hat\mu`
    (simplex rows), weak duality over the box :math:`[0,1]` (which holds every feasible z)
    gives the rigorous lower bound :math:`L=-\hat\lambda^\top b-\sum\hat\mu+\sum_j
    \min(0,r_j)` with reduced costs :math:`r=c+A^\top\hat\lambda+E^\top\hat\mu`; and
    :math:`\hat z` violates the constraints by at most v, which moves the optimum by at most
    :math:`(\|\hat\lambda\|_1+\|\hat\mu\|_1)v` to first order. The bound is
    :math:`\max(0,c^\top\hat z-L)+(\|\hat\lambda\|_1+\|\hat\mu\|_1)v` plus the float64
    rounding of these sums, :math:`8(nk+m+n)u` times the sum of the magnitudes involved.

    Parameters
    ----------
    weights, p_star : array, shape (N, n)
        The instances' domains.
    groups : integer array, shape (N, n)
        Groups.
    loss : array, shape (N, 2, k)
        Losses.
    phi : array, shape (N, m, G, 2, k)
        Constraint tables.
    bound : array, shape (N, m)
        Right-hand sides :math:`b_i`.
    cells : integer array, shape (N, n), optional
        Cell labels in [0, n); default: every point its own cell (all rules).

    Returns
    -------
    values : ndarray, shape (N,)
        :math:`c^\top\hat z`, the optimal risk.
    rules : ndarray, shape (N, n, k)
        The optimal rule :math:`\hat\pi(a\mid x)`.
    errors : ndarray, shape (N,)
        The a-posteriori bound on :math:`|c^\top\hat z-\text{optimum}|`.

    Raises
    ------
    ValueError
        For bad input (shapes, ranges, non-finite values).
    RuntimeError
        If HiGHS does not report an optimal solution (for example an infeasible instance).
    """
    func = "optimal_constrained_risk"
    weights, _ = _floats(weights, "weights", func, min_ndim=2)
    if weights.ndim != 2:
        raise ValueError(f"{func}: weights must have shape (N, n), got {weights.shape}")
    c = np.asarray(to_numpy(risk_coefficients(weights, p_star, loss)), dtype=float)  # (N, n, k)
    a = np.asarray(to_numpy(constraint_coefficients(weights, p_star, groups, phi)), dtype=float)
    bound, _ = _floats(bound, "bound", func, min_ndim=2)
    b = np.asarray(to_numpy(bound), dtype=float)
    count, n, k = c.shape
    m = a.shape[1]
    if a.shape != (count, m, n, k):
        raise ValueError(
            f"{func}: phi must have shape (N, m, G, 2, k) = ({count}, m, G, 2, {k}), got "
            f"{tuple(np.shape(to_numpy(phi)))}"
        )
    if b.shape != (count, m):
        raise ValueError(f"{func}: bound must have shape (N, m) = {(count, m)}, got {b.shape}")
    if cells is None:
        labels = np.broadcast_to(np.arange(n), (count, n))
    else:
        labels = _groups(cells, (count, n), n, func)
    member = (labels[..., :, None] == np.arange(n)).astype(float)  # (N, n, C)
    c_cell = np.einsum("rxc,rxa->rca", member, c).reshape(count, n * k)
    a_cell = np.einsum("rxc,rixa->rica", member, a).reshape(count, m, n * k)
    simplex = np.kron(np.eye(n), np.ones((1, k)))  # (C, C k)
    result = scipy.optimize.linprog(
        c_cell.reshape(-1),
        A_ub=scipy.sparse.block_diag(list(a_cell), format="csr"),
        b_ub=b.reshape(-1),
        A_eq=scipy.sparse.block_diag([simplex] * count, format="csr"),
        b_eq=np.ones(count * n),
        bounds=(0, None),
        method="highs",
    )
    if result.status != 0:
        raise RuntimeError(f"{func}: HiGHS did not solve the LP: {result.message}")
    z = result.x.reshape(count, n * k)
    lam = np.maximum(-result.ineqlin.marginals.reshape(count, m), 0.0)
    mu = -result.eqlin.marginals.reshape(count, n)
    reduced = c_cell + np.einsum("ri,rij->rj", lam, a_cell) + mu @ simplex
    lower = -(lam * b).sum(1) - mu.sum(1) + np.minimum(reduced, 0.0).sum(1)
    values = (c_cell * z).sum(1)
    violation = np.maximum.reduce(
        [
            np.max(np.einsum("rij,rj->ri", a_cell, z) - b, axis=1, initial=0.0),
            np.max(np.abs(z @ simplex.T - 1.0), axis=1),
            np.max(-z, axis=1, initial=0.0),
        ]
    )
    dual_mass = lam.sum(1) + np.abs(mu).sum(1)
    magnitude = (1.0 + np.abs(c_cell * z).sum(1) + (lam * np.abs(b)).sum(1) + dual_mass) + np.abs(
        reduced
    ).sum(1)
    rounding = 8 * (n * k + m + n) * UNIT_ROUNDOFF * magnitude
    errors = np.maximum(values - lower, 0.0) + dual_mass * np.maximum(violation, 0.0) + rounding
    rules = np.einsum("rxc,rca->rxa", member, z.reshape(count, n, k))
    return values, rules, errors


# ------------------------------------------------------------------------------ instances


DOMAIN_SIZE, LEVELS, ACTIONS = 12, 3, 2
CONSTRAINT_KINDS = ("demographic-parity", "relaxed-parity", "equal-opportunity", "random")


def random_instances(rng: np.random.Generator, count: int) -> dict[str, np.ndarray]:
    r"""The instances of the check: |X| = 12, two groups of six points, three shared
    :math:`p^*` levels (each group holds each level on two points, so the
    :math:`(p^*,g)`-cells are pairs and every :math:`p^*`-cell mixes both groups),
    Dirichlet(1) weights (so the groups' level distributions and base rates differ),
    a uniform [0, 1] loss table for k = 2 actions, and two constraint rows cycling through
    exact demographic parity, parity with slack 0.05, exact equal opportunity, and random
    Gaussian tables :math:`\phi` whose bounds exceed the value at the uniform rule by
    U(0, 0.1) (a constant rule, a function of :math:`p^*` alone, is feasible in every kind).

    Parameters
    ----------
    rng : numpy.random.Generator
        The claim's seed stream.
    count : int
        N >= 1 instances.

    Returns
    -------
    dict with weights (N, n), p_star (N, n), groups (N, n), loss (N, 2, k),
    phi (N, 2, 2, 2, k), bound (N, 2) and kind (N,) (index into CONSTRAINT_KINDS)
    """
    func = "random_instances"
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"{func}: rng must be a numpy Generator, got {type(rng).__name__}")
    if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 1:
        raise ValueError(f"{func}: count must be an integer >= 1, got {count!r}")
    n, k = DOMAIN_SIZE, ACTIONS
    weights = rng.dirichlet(np.ones(n), size=count)
    levels = np.sort(rng.uniform(0.05, 0.95, (count, LEVELS)), axis=1)
    p_star = levels[:, np.arange(n) % LEVELS]
    groups = np.broadcast_to((np.arange(n) >= n // 2).astype(np.int64), (count, n)).copy()
    loss = rng.uniform(0.0, 1.0, (count, 2, k))
    kind = np.arange(count) % len(CONSTRAINT_KINDS)
    parity = demographic_parity(weights, groups)
    relaxed = demographic_parity(weights, groups, slack=0.05)
    opportunity = equal_opportunity(weights, p_star, groups)
    gaussian = rng.standard_normal((count, 2, 2, 2, k))
    _, at_uniform = risk_and_constraints(
        weights, p_star, groups, loss, gaussian, np.full((count, n, k), 1.0 / k)
    )
    random_bound = at_uniform + rng.uniform(0.0, 0.1, (count, 2))
    choices = (parity, relaxed, opportunity, (gaussian, random_bound))
    phi = np.choose(kind[:, None, None, None, None], [c[0] for c in choices])
    bound = np.choose(kind[:, None], [c[1] for c in choices])
    return {
        "weights": weights,
        "p_star": p_star,
        "groups": groups,
        "loss": loss,
        "phi": phi,
        "bound": bound,
        "kind": kind,
    }


@claim(
    "omni.constrained-lp-sufficiency",
    paper=PAPER,
    source=(
        "derived sanity case of the paper's omnipredictor notion (spec §79); "
        "not a numbered result of the paper"
    ),
    statement=(
        r"p=p^*\ \Rightarrow\ \min_{\pi}\{\mathbb E\,\ell(y,a):\mathbb E\,\phi(g,y,a)\le b\}"
        r"=\min_{\pi=\pi(p^*(x),g(x))}\{\cdots\}\ \text{for every loss }\ell\text{ and group "
        r"constraint }\phi\ (\text{derived sanity case})"
    ),
    method="solver",
    provenance="derived",
    notes=(
        "Derived sanity case (spec [derived]): the ideal predictor p* makes the optimal "
        "constrained rule a function of (p*, g); not the paper's omnipredictor theorem."
    ),
    controls=[
        Control(
            "score-only",
            r"\text{rules of }p^*(x)\text{ alone (ignoring }g\text{) reach the same optimum}",
            {"cells_by": "score"},
        )
    ],
)
def constrained_lp_sufficiency(ctx: Context, cells_by: str = "score-and-group") -> Evidence:
    r"""Random instances (:func:`random_instances`; 48 quick, 480 full), solved by HiGHS
    over all rules and over rules constant on the cells ``cells_by``.

    Parts: (equal optima) :math:`|\mathrm{OPT}_\text{cells}-\mathrm{OPT}_\text{all}|` is
    within the sum of the two a-posteriori error bounds of
    :func:`optimal_constrained_risk` (duality gap, residual times dual mass, rounding; the
    solver runs at HiGHS's default 1e-7 feasibility tolerances; the bounds come out near
    1e-13);
    (cell average) averaging the unrestricted optimal rule over the cells keeps its risk and
    its constraint values, to :math:`4nu` times the sum of the magnitudes of the terms
    (float64 rounding of the weighted sums of n = 12 points). Both fail for cells of
    :math:`p^*` alone: the averaged rule breaks the group constraint, and the restricted
    optimum is strictly worse once the group base rates differ.
    """
    data = random_instances(ctx.rng(0), ctx.pick(48, 480))
    inputs = [data[key] for key in ("weights", "p_star", "groups", "loss", "phi", "bound")]
    cells = cell_labels(data["p_star"], data["groups"], by=cells_by)
    full, rules, full_error = optimal_constrained_risk(*inputs)
    restricted, _, restricted_error = optimal_constrained_risk(*inputs, cells=cells)
    gap = restricted - full
    equal = checks.nonnegative(
        full_error + restricted_error - np.abs(gap),
        inputs={"kind": data["kind"], "p_star": data["p_star"], "weights": data["weights"]},
    )

    weights, p_star = ctx.asarray(data["weights"]), ctx.asarray(data["p_star"])
    loss, phi = ctx.asarray(data["loss"]), ctx.asarray(data["phi"])
    groups = ctx.asarray(data["groups"])
    averaged = cell_average(weights, ctx.asarray(rules), ctx.asarray(cells))
    risk_avg, values_avg = risk_and_constraints(weights, p_star, groups, loss, phi, averaged)
    risk_opt, values_opt = risk_and_constraints(
        weights, p_star, groups, loss, phi, ctx.asarray(rules)
    )
    # |rounding| <= 4 n k u * sum_{x,a} |coefficient| (pi <= 1; weighted sums of n k terms)
    magnitudes = np.concatenate(
        [
            np.abs(to_numpy(risk_coefficients(weights, p_star, loss))).sum(axis=(-2, -1))[:, None],
            np.abs(to_numpy(constraint_coefficients(weights, p_star, groups, phi))).sum(
                axis=(-2, -1)
            ),
        ],
        axis=1,
    )
    tolerance = 4 * DOMAIN_SIZE * ACTIONS * UNIT_ROUNDOFF * magnitudes
    actual = np.concatenate([to_numpy(risk_avg)[:, None], to_numpy(values_avg)], axis=1)
    expected = np.concatenate([to_numpy(risk_opt)[:, None], to_numpy(values_opt)], axis=1)
    average = checks.compare(actual, expected, atol=tolerance, inputs={"kind": data["kind"]})
    evidence = checks.combine(
        {
            "OPT over (p*, g)-rules = OPT over all rules": equal,
            "cell average of the optimum keeps risk and constraints": average,
        }
    )
    evidence.details["cells"] = cells_by
    evidence.details["largest optimum gap"] = float(np.max(gap))
    evidence.details["instances with gap > 1e-6"] = int(np.sum(gap > 1e-6))
    evidence.details["largest a-posteriori LP error"] = float(
        np.max(np.maximum(full_error, restricted_error))
    )
    return evidence
