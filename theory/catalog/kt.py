r"""Knowledge transfer over finite domains (Zhao & Zhu, ICLR 2024).

*Towards the Fundamental Limits of Knowledge Transfer over Finite Domains*. A teacher
:math:`\pi^\star(\cdot|s)` on a finite label set A (|A| labels) and inputs
:math:`s\in S` drawn from :math:`\rho`; the student sees n samples :math:`(s_i,a_i)` and,
by privilege level, (1) the hard labels, (2) also :math:`\pi^\star(a_i|s_i)`, (3) the
whole :math:`\pi^\star(\cdot|s_i)`. Rates (abstract): :math:`\sqrt{|S||A|/n}`,
:math:`|S||A|/n`, :math:`|S|/n`. This module holds the math objects of both claims
(``shared/claims/catalog.md`` §92) and the check of

- ``kt.naive-ce-bias`` [derived; the form of the naive loss is reconstructed]: weighting
  the log-likelihood of each sampled label by its teacher probability,
  :math:`-\frac1n\sum_i\pi^\star(a_i|s_i)\log\pi(a_i|s_i)`, has population loss
  :math:`-\mathbb E_{a\sim\pi^\star}[\pi^\star(a)\log\pi(a)]=-\sum_a\pi^\star(a)^2\log\pi(a)`
  (per input). On the simplex its Lagrangian :math:`-\sum_a w_a\log\pi(a)+\nu(\sum_a\pi(a)
  -1)`, :math:`w=\pi^{\star2}`, is stationary at :math:`\pi(a)=w_a/\nu` and the constraint
  gives :math:`\nu=\sum_bw_b`: the unique minimiser is
  :math:`\pi(a)=\pi^\star(a)^2/\sum_b\pi^\star(b)^2`, which differs from
  :math:`\pi^\star` unless :math:`\pi^\star` is uniform on its support, so the naive loss
  is asymptotically biased (the same computation with the empirical weights
  :math:`c_a\pi^\star(a)/n` gives the empirical minimiser).

The rates claim ``kt.rates-missing-mass`` is a simulation
(:mod:`simulations.catalog.kt`); its quantities are :func:`total_variation`,
:func:`unseen_mass`, :func:`expected_unseen_mass`, :func:`unseen_mass_bound` and
:func:`worst_case_law`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.optimize
import scipy.stats

from theorycheck import checks, validate
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "kt"
"""Key of the paper in the seed catalog."""

GTOL = 1e-9
"""Gradient tolerance of the numeric minimiser (scipy ``trust-exact``)."""


# ------------------------------------------------------------------------------ validation


def _probabilities(q: Any, name: str, func: str) -> tuple[Any, Any]:
    q, xp = validate.real_floating(q, name, func=func)
    if q.ndim < 1 or q.shape[-1] < 1:
        raise ValueError(f"{func}: {name} must have shape (..., K) with K >= 1, got {q.shape}")
    validate.finite(q, name, func=func, xp=xp)
    validate.on_simplex(q, name, func=func)
    return q, xp


def _count(value: Any, name: str, func: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{func}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


# ------------------------------------------------------------------------------ naive loss


def naive_loss(student: Any, teacher: Any) -> Any:
    r"""Population naive loss :math:`-\sum_a\pi^\star(a)^2\log\pi(a)`.

    The expectation over :math:`a\sim\pi^\star` of :math:`-\pi^\star(a)\log\pi(a)` (one
    input; ``kt.naive-ce-bias``, derived).

    Parameters
    ----------
    student, teacher : array, shape (..., K)
        Probability vectors :math:`\pi` and :math:`\pi^\star` (same shape).

    Returns
    -------
    array, shape (...)
        :math:`+\infty` where the student puts zero mass on a label the teacher uses.
    """
    func = "naive_loss"
    student, xp = _probabilities(student, "student", func)
    teacher, _ = _probabilities(teacher, "teacher", func)
    validate.same_shape(student, teacher, ("student", "teacher"), func=func)
    weights = teacher * teacher
    positive = student > 0
    safe = xp.where(positive, student, xp.ones_like(student))
    terms = -weights * xp.log(safe)
    missed = xp.logical_and(weights > 0, xp.logical_not(positive))
    terms = xp.where(missed, xp.full_like(terms, math.inf), terms)
    return xp.sum(terms, axis=-1)


def naive_minimiser(teacher: Any) -> Any:
    r"""Minimiser of :func:`naive_loss`: :math:`\pi(a)=\pi^\star(a)^2/\sum_b\pi^\star(b)^2`.

    Parameters
    ----------
    teacher : array, shape (..., K)
        Probability vectors :math:`\pi^\star`.

    Returns
    -------
    array, shape (..., K)
    """
    teacher, xp = _probabilities(teacher, "teacher", "naive_minimiser")
    weights = teacher * teacher
    return weights / xp.sum(weights, axis=-1, keepdims=True)


def empirical_naive_minimiser(counts: Any, teacher: Any) -> Any:
    r"""Minimiser of the empirical naive loss :math:`-\frac1n\sum_a c_a\pi^\star(a)\log\pi(a)`.

    :math:`\hat\pi(a)=c_a\pi^\star(a)/\sum_bc_b\pi^\star(b)` (the Lagrangian argument of
    the module docstring with weights :math:`c_a\pi^\star(a)`).

    Parameters
    ----------
    counts : array, shape (..., K)
        Non-negative label counts :math:`c_a` (float dtype), each row with a label of
        positive teacher probability.
    teacher : array, shape (K,) or (..., K)
        Probability vectors :math:`\pi^\star`.

    Returns
    -------
    array, shape (..., K)
    """
    func = "empirical_naive_minimiser"
    counts, xp = validate.real_floating(counts, "counts", func=func)
    validate.finite(counts, "counts", func=func, xp=xp)
    teacher, _ = _probabilities(teacher, "teacher", func)
    if counts.ndim < 1 or counts.shape[-1] != teacher.shape[-1]:
        raise ValueError(
            f"{func}: counts must have shape (..., {teacher.shape[-1]}), got {counts.shape}"
        )
    if float(xp.min(counts)) < 0:
        raise ValueError(f"{func}: counts must be non-negative, got {float(xp.min(counts))}")
    weights = counts * teacher
    total = xp.sum(weights, axis=-1, keepdims=True)
    if float(xp.min(total)) <= 0:
        raise ValueError(f"{func}: every row needs a sampled label with positive teacher mass")
    return weights / total


def numeric_naive_minimiser(teacher: np.ndarray, *, gtol: float = GTOL) -> np.ndarray:
    r"""Minimise :func:`naive_loss` numerically (an independent reference, NumPy).

    scipy ``trust-exact`` on the softmax parameterisation :math:`\pi=\mathrm{softmax}(0,y)`
    (gauge :math:`z_0=0`) with the exact gradient :math:`(W\pi-w)_{1:}` and Hessian
    :math:`W(\mathrm{diag}\,\pi-\pi\pi^\top)_{1:,1:}`, :math:`w=\pi^{\star2}`,
    :math:`W=\sum w`, finished by scipy's ``root`` (hybr) on the gradient when the
    trust-region ratio test stalls on the rounding of the loss. For every z,
    :math:`\pi(z)-w/W=\nabla_z/W` exactly, and
    :math:`|\nabla_{z_0}|\le\|\nabla_y\|_1`, so stopping at :math:`\|\nabla_y\|_2\le`
    ``gtol`` puts :math:`\pi` within :math:`K\,\mathrm{gtol}/W` of the true minimiser.

    Parameters
    ----------
    teacher : ndarray, shape (K,)
        A probability vector with positive entries, K >= 2.
    gtol : float
        Gradient tolerance, > 0.

    Returns
    -------
    ndarray, shape (K,)

    Raises
    ------
    RuntimeError
        If the optimiser does not reach ``gtol``.
    """
    func = "numeric_naive_minimiser"
    teacher = np.asarray(teacher, dtype=float)
    if teacher.ndim != 1 or teacher.shape[0] < 2:
        raise ValueError(f"{func}: teacher must have shape (K,) with K >= 2, got {teacher.shape}")
    _probabilities(teacher, "teacher", func)
    if np.min(teacher) <= 0:
        raise ValueError(f"{func}: teacher must be positive, got {float(np.min(teacher))}")
    if not (isinstance(gtol, int | float) and gtol > 0):
        raise ValueError(f"{func}: gtol must be a positive number, got {gtol!r}")
    w = teacher**2
    total = float(np.sum(w))

    def softmax(y: np.ndarray) -> np.ndarray:
        z = np.concatenate([[0.0], y])
        e = np.exp(z - z.max())
        return e / e.sum()

    def loss(y: np.ndarray) -> float:
        z = np.concatenate([[0.0], y])
        top = z.max()
        return float(-(w @ (z - top - np.log(np.sum(np.exp(z - top))))))

    def gradient(y: np.ndarray) -> np.ndarray:
        return (total * softmax(y) - w)[1:]

    def hessian(y: np.ndarray) -> np.ndarray:
        p = softmax(y)
        return (total * (np.diag(p) - np.outer(p, p)))[1:, 1:]

    result = scipy.optimize.minimize(
        loss,
        np.zeros(teacher.shape[0] - 1),
        jac=gradient,
        hess=hessian,
        method="trust-exact",
        options={"gtol": gtol},
    )
    y = result.x
    if np.linalg.norm(gradient(y)) > gtol:
        # trust-exact's ratio test can stall on the rounding of the loss near the optimum;
        # finish on the gradient alone (Powell's hybrid method, no loss evaluations)
        y = scipy.optimize.root(gradient, y, jac=hessian, method="hybr", tol=1e-14).x
    if np.linalg.norm(gradient(y)) > gtol:
        raise RuntimeError(
            f"{func}: stopped at gradient norm {np.linalg.norm(gradient(y)):.3g} > {gtol} "
            f"({result.message})"
        )
    return softmax(y)


def teacher_itself(teacher: Any) -> Any:
    r"""Control: the claim that the naive loss is consistent (minimiser :math:`\pi^\star`)."""
    teacher, _ = _probabilities(teacher, "teacher", "teacher_itself")
    return teacher


# ------------------------------------------------------------------------------ missing mass


def total_variation(p: Any, q: Any) -> Any:
    r"""Total variation :math:`\tfrac12\sum_a|p(a)-q(a)|` along the last axis.

    Parameters
    ----------
    p, q : array, shape (..., K)
        Probability vectors (broadcastable).

    Returns
    -------
    array, shape (...)
    """
    func = "total_variation"
    p, xp = _probabilities(p, "p", func)
    q, _ = _probabilities(q, "q", func)
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(f"{func}: p and q must have the same K, got {p.shape} and {q.shape}")
    return xp.sum(xp.abs(p - q), axis=-1) / 2


def unseen_mass(counts: Any, law: Any) -> Any:
    r"""Missing mass :math:`\sum_a\pi(a)\mathbf 1[c_a=0]` of a sample with counts c.

    The level-2 error (the part of :math:`\pi^\star` the student never observes; any
    student's TV error is at most this, and at least half of it for the worst teacher
    consistent with the observations) and, for the input law :math:`\rho`, the level-3
    bound (derived from the paper's setting).

    Parameters
    ----------
    counts : array, shape (..., K)
        Non-negative counts (float dtype).
    law : array, shape (..., K)
        The sampling law (broadcastable to counts).

    Returns
    -------
    array, shape (...)
    """
    func = "unseen_mass"
    counts, xp = validate.real_floating(counts, "counts", func=func)
    validate.finite(counts, "counts", func=func, xp=xp)
    law, _ = _probabilities(law, "law", func)
    if counts.ndim < 1 or counts.shape[-1] != law.shape[-1]:
        raise ValueError(
            f"{func}: counts must have shape (..., {law.shape[-1]}), got {counts.shape}"
        )
    if float(xp.min(counts)) < 0:
        raise ValueError(f"{func}: counts must be non-negative, got {float(xp.min(counts))}")
    return xp.sum(xp.where(counts == 0, law, xp.zeros_like(law * counts)), axis=-1)


def expected_unseen_mass(law: Any, n: int) -> Any:
    r"""Expected missing mass after n i.i.d. draws: :math:`E_n=\sum_a\pi(a)(1-\pi(a))^n`.

    Parameters
    ----------
    law : array, shape (..., K)
        Probability vectors.
    n : int
        Sample size, >= 1.

    Returns
    -------
    array, shape (...)
    """
    func = "expected_unseen_mass"
    law, xp = _probabilities(law, "law", func)
    n = _count(n, "n", func)
    return xp.sum(law * (1.0 - law) ** n, axis=-1)


def unseen_mass_bound(support: int, n: int) -> float:
    r"""The bound :math:`E_n\le|A|/(en)`.

    Each term :math:`p(1-p)^n\le\max_pp(1-p)^n=n^n/(n+1)^{n+1}\le1/(en)`, the last since
    :math:`(1+1/n)^{n+1}\ge e`.

    Parameters
    ----------
    support : int
        Number of labels |A| (or inputs |S|), >= 1.
    n : int
        Sample size, >= 1.
    """
    func = "unseen_mass_bound"
    support = _count(support, "support", func)
    n = _count(n, "n", func)
    return support / (math.e * n)


def worst_case_law(support: int, n: int) -> np.ndarray:
    r"""The law that nearly attains :math:`|A|/(en)`: mass 1/(n+1) on |A|-1 labels.

    Each of those labels maximises :math:`p(1-p)^n`; label 0 carries the rest,
    :math:`1-(|A|-1)/(n+1)`. Then :math:`E_n\approx(|A|-1)/(e(n+1))`, linear in |A| and
    of order 1/n: the minimax rate of level 2 (and, for the input law, of level 3).

    Parameters
    ----------
    support : int
        |A| >= 2.
    n : int
        Sample size with n + 1 >= |A| - 1.

    Returns
    -------
    ndarray, shape (support,)
    """
    func = "worst_case_law"
    support = _count(support, "support", func, minimum=2)
    n = _count(n, "n", func)
    if n + 1 < support - 1:
        raise ValueError(f"{func}: need n + 1 >= support - 1, got n = {n}, support = {support}")
    law = np.full(support, 1.0 / (n + 1))
    law[0] = 1.0 - (support - 1) / (n + 1)
    return law


# ------------------------------------------------------------------------------ claim


def _bonferroni(count: int, family_level: float = 1e-3) -> float:
    """Two-sided normal quantile for ``count`` simultaneous comparisons at a family level."""
    return float(scipy.stats.norm.ppf(1 - family_level / (2 * count)))


@claim(
    "kt.naive-ce-bias",
    paper=PAPER,
    source="level 2: the naive teacher-weighted log-likelihood (reconstructed)",
    statement=(
        r"\arg\min_{\pi\in\Delta_A}-\mathbb E_{a\sim\pi^\star}[\pi^\star(a)\log\pi(a)]"
        r"=\frac{\pi^{\star2}}{\sum_b\pi^\star(b)^2}\ne\pi^\star"
    ),
    method="numeric",
    provenance="derived",
    controls=[
        Control(
            "naive-is-consistent",
            r"\arg\min_\pi-\mathbb E_{a\sim\pi^\star}[\pi^\star(a)\log\pi(a)]=\pi^\star",
            {"minimiser": teacher_itself},
        )
    ],
)
def naive_ce_bias(ctx: Context, minimiser: Callable[[Any], Any] = naive_minimiser) -> Evidence:
    r"""Random teachers :math:`\pi^\star\sim\mathrm{Dirichlet}(\mathbf1_K)`, K = 3, 5, 10
    (8 each quick, 60 full).

    Parts: (closed form) the candidate ``minimiser`` against
    :func:`numeric_naive_minimiser` to :math:`K\,\mathrm{gtol}/W+10^{-15}` per instance
    (the exact error identity in its docstring, gtol = 1e-9, plus float64 rounding of
    the normalisation); (simulation) R = 200 replicates (1000 full) of n = 1e6 labels
    from :math:`\pi^\star` (counts, multinomial, on the replicate axis): the replicate
    mean of the empirical minimiser :func:`empirical_naive_minimiser` agrees with the
    candidate within :math:`z\,\mathrm{SE}+2/(nW)`, z the two-sided Bonferroni quantile
    at family level 1e-3 over all entries, :math:`2/(nW)` a bound on the bias of the
    ratio estimator (:math:`X/Y` with :math:`0\le X/Y\le1`,
    :math:`\operatorname{Var}Y,|\operatorname{Cov}(X_a,Y)|\le W/n`, :math:`\mathbb EY=W`).
    The asymptotic bias :math:`\|\pi_{\text{naive}}-\pi^\star\|_1` is reported.
    """
    rng = ctx.rng(0)
    sizes = [k for k in (3, 5, 10) for _ in range(ctx.pick(8, 60))]
    replicates, n = ctx.pick(200, 1000), 1_000_000
    z = _bonferroni(sum(sizes))
    closed_margin, mc_margin, bias = [], [], []
    for k in sizes:
        teacher = rng.dirichlet(np.ones(k))
        weight = float(np.sum(teacher**2))
        candidate = to_numpy(minimiser(ctx.asarray(teacher)))
        reference = numeric_naive_minimiser(teacher)
        allowed = k * GTOL / weight + 1e-15
        closed_margin.append(allowed - float(np.max(np.abs(candidate - reference))))
        counts = rng.multinomial(n, teacher, size=replicates).astype(float)
        empirical = to_numpy(empirical_naive_minimiser(ctx.asarray(counts), ctx.asarray(teacher)))
        mean = empirical.mean(axis=0)
        standard_error = empirical.std(axis=0, ddof=1) / math.sqrt(replicates)
        slack = z * standard_error + 2.0 / (n * weight) - np.abs(mean - candidate)
        mc_margin.append(float(np.min(slack)))
        bias.append(
            float(np.sum(np.abs(to_numpy(naive_minimiser(ctx.asarray(teacher))) - teacher)))
        )
    inputs = {"K": np.array(sizes)}
    evidence = checks.combine(
        {
            "closed form = numeric minimiser": checks.nonnegative(
                np.array(closed_margin), inputs=inputs
            ),
            "empirical minimisers (n = 1e6) average to it": checks.nonnegative(
                np.array(mc_margin), inputs=inputs
            ),
        }
    )
    evidence.details["asymptotic bias ||pi_naive - pi*||_1 (min, max)"] = (min(bias), max(bias))
    evidence.details["Bonferroni z"] = z
    return evidence
