r"""PSL (Yang et al., *PSL: Rethinking and Improving Softmax Loss from Pairwise Perspective
for Recommendation*, NeurIPS 2024), Sec. 3-4; official code Tiny-Snow/IR-Benchmark,
``src/itemrec/optimizer/optim_PSL.py``.

For a user u and a positive item i, the score gaps :math:`d_{uij}=s_{uj}-s_{ui}` over all
items j (:math:`d_{uii}=0`), a temperature :math:`\tau>0` and an activation
:math:`\phi\in\{\tanh(d)+1,\ \arctan(d)+1,\ \mathrm{ReLU}(d+1)\}`:

.. math::

    \mathrm{SL}_\tau = \log\sum_je^{d_{uij}/\tau},\qquad
    \mathrm{PSL}_{\phi,\tau} = \log\sum_j\phi(d_{uij})^{1/\tau}.

The code requires :math:`\mathbb 1(d\ge0)\le\phi(d)\le e^d` on [-1, 1] (cosine scores over
a temperature >= 2 keep the gaps there). With one positive, its rank is
:math:`\pi_{ui}=\sum_j\mathbb 1[d_{uij}\ge0]` and :math:`\mathrm{DCG}_u=1/\log_2(1+\pi_{ui})`.
``psl.dcg-chain`` and ``psl.dro-duality`` are checked here; ``psl.activation-sandwich``
is certified in :mod:`proofs_check.catalog.psl`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from theorycheck import checks, validate
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "psl"
"""Key of the paper in the seed catalog."""

UNIT_ROUNDOFF = 2.0**-53
ACTIVATIONS = ("tanh", "atan", "relu")
"""The activations of the official code: tanh(d)+1, arctan(d)+1, ReLU(d+1)."""


# --------------------------------------------------------------------------- math objects


def _gaps(d: Any, func: str) -> Any:
    d, xp = validate.real_floating(d, "d", func=func)
    validate.axis(d, -1, "d", func=func)
    validate.finite(d, "d", func=func, xp=xp)
    return xp


def _temperature(tau: float, func: str) -> float:
    if not isinstance(tau, int | float) or isinstance(tau, bool) or not 0 < tau < math.inf:
        raise ValueError(f"{func}: tau must be a finite number > 0, got {tau!r}")
    return float(tau)


def psl_activation(d: Any, kind: str) -> Any:
    r"""The activation :math:`\phi(d)`: ``"tanh"`` :math:`\tanh d+1`, ``"atan"``
    :math:`\arctan d+1`, ``"relu"`` :math:`\max(d+1,0)`.

    Parameters
    ----------
    d : array
        Score gaps.
    kind : {"tanh", "atan", "relu"}
    """
    d, xp = validate.real_floating(d, "d", func="psl_activation")
    validate.finite(d, "d", func="psl_activation", xp=xp)
    if kind == "tanh":
        return xp.tanh(d) + 1.0
    if kind == "atan":
        return xp.atan(d) + 1.0
    if kind == "relu":
        return xp.clip(d + 1.0, min=0.0)
    raise ValueError(f"psl_activation: kind must be one of {ACTIVATIONS}, got {kind!r}")


def psl_loss(d: Any, tau: float, kind: str) -> Any:
    r""":math:`\mathrm{PSL}_{\phi,\tau}=\log\sum_j\phi(d_j)^{1/\tau}` along the last axis.

    Parameters
    ----------
    d : array, shape (..., N)
        Score gaps of all items (the positive's own gap 0 included).
    tau : float
        Temperature > 0.
    kind : {"tanh", "atan", "relu"}

    Raises
    ------
    ValueError
        When :math:`\phi(d)<0` somewhere (arctan(d)+1 for d < -tan 1): the logarithm of
        the activation is undefined there.
    """
    xp = _gaps(d, "psl_loss")
    tau = _temperature(tau, "psl_loss")
    phi = psl_activation(d, kind)
    if bool(xp.any(phi < 0)):
        raise ValueError(
            f"psl_loss: the {kind} activation is negative at min d = {float(xp.min(d))}"
        )
    log_phi = xp.log(phi) / tau
    top = xp.max(log_phi, axis=-1, keepdims=True)
    return top[..., 0] + xp.log(xp.sum(xp.exp(log_phi - top), axis=-1))


def softmax_loss(d: Any, tau: float) -> Any:
    r""":math:`\mathrm{SL}_\tau=\log\sum_je^{d_j/\tau}` along the last axis."""
    xp = _gaps(d, "softmax_loss")
    tau = _temperature(tau, "softmax_loss")
    scaled = d / tau
    top = xp.max(scaled, axis=-1, keepdims=True)
    return top[..., 0] + xp.log(xp.sum(xp.exp(scaled - top), axis=-1))


def positive_rank(d: Any) -> Any:
    r"""The rank :math:`\pi=\sum_j\mathbb 1[d_j\ge0]` of the positive (>= 1 with d_ii = 0)."""
    xp = _gaps(d, "positive_rank")
    return xp.sum(xp.astype(d >= 0.0, d.dtype), axis=-1)


def dcg(rank: Any) -> Any:
    r""":math:`\mathrm{DCG}=1/\log_2(1+\pi)` of a single positive at rank :math:`\pi\ge1`."""
    rank, xp = validate.real_floating(rank, "rank", func="dcg")
    if bool(xp.any(rank < 1)):
        raise ValueError(f"dcg: ranks must be >= 1, got {float(xp.min(rank))}")
    return math.log(2.0) / xp.log1p(rank)


def random_gaps(
    rng: np.random.Generator, count: int, items: int, temperature: float = 2.0
) -> np.ndarray:
    """Gaps :math:`(s_j-s_i)/\\tau` of cosine scores (uniform in [-1, 1]) over a temperature
    (default 2, so the gaps lie in [-1, 1]); item 0 is the positive (gap exactly 0)."""
    scores = rng.uniform(-1, 1, (count, items))
    return (scores - scores[:, :1]) / temperature


# --------------------------------------------------------------------------- dcg-chain

Surrogate = Callable[[Any, str], Any]
Link = tuple[str, str]
PAPER_LINKS: tuple[Link, ...] = (("-log DCG", "log pi"), ("log pi", "PSL"), ("PSL", "SL"))
"""The chain :math:`-\\log\\mathrm{DCG}\\le\\log\\pi\\le\\mathrm{PSL}_{\\phi,1}\\le\\mathrm{SL}_1`,
each pair read as (smaller, larger)."""


def paper_psl(d: Any, kind: str) -> Any:
    r""":math:`\mathrm{PSL}_{\phi,1}` (the backend's :func:`psl_loss` at :math:`\tau=1`)."""
    return psl_loss(d, 1.0, kind)


def normalised_psl(d: Any, kind: str) -> Any:
    r"""Control: :math:`\mathrm{PSL}_{\phi,1}-\log N` (a uniform average inside the log)."""
    return psl_loss(d, 1.0, kind) - math.log(d.shape[-1])


@claim(
    "psl.dcg-chain",
    paper=PAPER,
    source="Sec. 4 (first merit: a tighter DCG surrogate)",
    statement=(
        r"-\log\mathrm{DCG}_u=\log\log_2(1+\pi_{ui})\le\log\pi_{ui}\le\mathrm{PSL}_{\phi,1}"
        r"\le\mathrm{SL}_1;\ \text{several positives: Jensen, termwise}"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "normalised-psl",
            r"-\log\mathrm{DCG}_u\le\mathrm{PSL}_{\phi,1}-\log N",
            {"surrogate": normalised_psl},
        ),
        Control(
            "psl-at-least-sl",
            r"\mathrm{PSL}_{\phi,1}\ge\mathrm{SL}_1",
            {"links": (*PAPER_LINKS[:2], ("SL", "PSL"))},
        ),
    ],
)
def dcg_chain(
    ctx: Context, surrogate: Surrogate = paper_psl, links: Sequence[Link] = PAPER_LINKS
) -> Evidence:
    r"""The chain on random cosine-score instances (5 to 200 items), on the backend.

    Gaps are cosine-score differences over a temperature of 2 (within [-1, 1], where
    the sandwich holds); the rank is exact. Every link (smaller <= larger) must hold
    up to :math:`8Nu(1+\max|\log\phi|)` (two log-sum-exps of N terms). With several
    positives (4 per user), Jensen:
    :math:`-\log(\tfrac1{|P|}\sum_i1/\log_2(1+\pi_i))\le\tfrac1{|P|}\sum_i\log\log_2(1+\pi_i)`,
    then the chain termwise.
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for items in (5, 20, 200):
        count = ctx.pick(200, 3000)
        d = random_gaps(rng, count, items)
        d[: count // 10, :] = -np.abs(d[: count // 10, :])  # the positive ranked first
        d[: count // 10, 0] = 0.0
        db = ctx.asarray(d)
        rank = np.asarray(to_numpy(positive_rank(db)), dtype=float)
        terms = {
            "-log DCG": -np.log(np.asarray(to_numpy(dcg(ctx.asarray(rank))), dtype=float)),
            "log pi": np.log(rank),
            "SL": np.asarray(to_numpy(softmax_loss(db, 1.0)), dtype=float),
        }
        tol = 8 * items * UNIT_ROUNDOFF * (1 + np.log(items) + np.max(np.abs(d), axis=1))
        for kind in ACTIVATIONS:
            terms["PSL"] = np.asarray(to_numpy(surrogate(db, kind)), dtype=float)
            for smaller, larger in links:
                parts[f"N={items}, {kind}: {smaller} <= {larger}"] = checks.nonnegative(
                    terms[larger] - terms[smaller] + tol, inputs={"d": d}
                )
    users, positives, items = ctx.pick(100, 1000), 4, 30
    scores = rng.uniform(-1, 1, (users, items))
    ranks = np.empty((users, positives))
    for k in range(positives):
        gaps = (scores - scores[:, k : k + 1]) / 2
        ranks[:, k] = np.asarray(to_numpy(positive_rank(ctx.asarray(gaps))), dtype=float)
    mean_dcg = (np.log(2) / np.log1p(ranks)).mean(axis=1)
    jensen = np.log(np.log2(1 + ranks)).mean(axis=1)
    parts["several positives: Jensen"] = checks.nonnegative(
        jensen + np.log(mean_dcg) + 8 * UNIT_ROUNDOFF * positives, inputs={"ranks": ranks}
    )
    return checks.combine(parts)


# --------------------------------------------------------------------------- dro-duality

SOLVER_OPTIONS = {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9}
SOLVER_TOLERANCE = 1e-6
r"""Absolute tolerance on the optimal value against the closed form: CLARABEL's gap
tolerance 1e-9, times the exponential-cone scaling of :math:`\tau\,\mathrm{rel\_entr}`
for N <= 20 entries of size <= 5 (a safety factor 1000; the controls differ by >= 1e-2)."""


def closed_form(f: np.ndarray, tau: float) -> np.ndarray:
    r""":math:`\tau\log(\tfrac1N\sum_je^{f_j/\tau})` per row (NumPy)."""
    from scipy.special import logsumexp

    return tau * (logsumexp(f / tau, axis=-1) - np.log(f.shape[-1]))


def _dro_instances(ctx: Context) -> list[tuple[np.ndarray, float]]:
    rng = ctx.rng(0)
    instances = []
    for size in ctx.pick((3, 20), (3, 5, 10, 20)):
        for tau in (0.5, 1.0, 2.0):
            instances.append((np.log(rng.uniform(0.05, 2.0, size)) * 2.0, tau))
    return instances


@lru_cache(maxsize=8)
def _dro_solutions(
    seed: int, scale: str, label: str, penalty: str
) -> tuple[tuple[float, np.ndarray], ...]:
    """cvxpy's max over the simplex of E_Q f - tau * penalty, per instance (cached)."""
    import cvxpy as cp

    from theorycheck.backend import namespace

    ctx = Context(namespace("numpy"), "numpy", scale, seed, label)
    results = []
    for f, tau in _dro_instances(ctx):
        size = f.shape[0]
        q = cp.Variable(size, nonneg=True)
        uniform = np.full(size, 1.0 / size)
        if penalty == "kl_q_u":
            divergence = cp.sum(cp.rel_entr(q, uniform))
        elif penalty == "kl_u_q":
            divergence = cp.sum(cp.rel_entr(uniform, q))
        else:
            raise ValueError(f"unknown penalty {penalty!r}")
        problem = cp.Problem(cp.Maximize(f @ q - tau * divergence), [cp.sum(q) == 1])
        problem.solve(solver="CLARABEL", **SOLVER_OPTIONS)
        if problem.status != "optimal":
            raise RuntimeError(f"cvxpy status {problem.status!r} for f={f}, tau={tau}")
        results.append((float(problem.value), np.asarray(q.value, dtype=float)))
    return tuple(results)


@claim(
    "psl.dro-duality",
    paper=PAPER,
    source="Sec. 4 (DRO merit; the Gibbs variational identity)",
    statement=(
        r"\tau\log\Big(\tfrac1N\sum_je^{f_j/\tau}\Big)=\max_{Q\in\Delta_N}\Big\{\mathbb E_Qf"
        r"-\tau\,\mathrm{KL}(Q\,\|\,U)\Big\},\ Q^*_j\propto e^{f_j/\tau}"
    ),
    method="solver",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "reverse-kl",
            r"\tau\log(\tfrac1N\sum_je^{f_j/\tau})"
            r"=\max_Q\{\mathbb E_Qf-\tau\,\mathrm{KL}(U\,\|\,Q)\}",
            {"penalty": "kl_u_q"},
        )
    ],
)
def dro_duality(ctx: Context, penalty: str = "kl_q_u") -> Evidence:
    r"""cvxpy (``rel_entr``, CLARABEL) against the closed form and the Gibbs maximiser.

    Random f (:math:`f_j=2\log\phi_j`, :math:`\phi_j\in[0.05,2]`, as with
    :math:`f_j=\log\phi(d_{uij})` scaled), N in {3, 20}, :math:`\tau\in\{0.5,1,2\}`. The
    optimal value must equal the closed form within :data:`SOLVER_TOLERANCE`; the
    maximiser, :math:`Q^*\propto e^{f/\tau}`, within :math:`\sqrt{}` of it (1e-3; the
    objective is :math:`\tau`-strongly concave in the l1 norm, so a value gap
    :math:`\delta` allows a distance of :math:`\sqrt{2\delta/\tau}`). On the backend,
    :func:`softmax_loss` of f at temperature :math:`\tau`, minus :math:`\log N`, equals the
    closed form over :math:`\tau` (rounding :math:`8Nu(1+\max|f|/\tau)`).
    """
    from scipy.special import softmax as scipy_softmax

    parts: dict[str, Evidence] = {}
    solutions = _dro_solutions(ctx.seed, ctx.scale, ctx.label, penalty)
    for (f, tau), (value, q) in zip(_dro_instances(ctx), solutions, strict=True):
        label = f"N={f.shape[0]}, tau={tau}"
        expected = float(closed_form(f[None], tau)[0])
        parts[f"{label}: max = tau log mean exp(f / tau)"] = checks.compare(
            np.array([value]), np.array([expected]), atol=SOLVER_TOLERANCE, inputs={"f": f[None]}
        )
        parts[f"{label}: maximiser = softmax(f / tau)"] = checks.compare(
            q[None], scipy_softmax(f / tau)[None], atol=1e-3, inputs={"f": f[None]}
        )
        backend = float(to_numpy(softmax_loss(ctx.asarray(f[None]), tau))[0])
        parts[f"{label}: backend SL_tau - log N = closed form / tau"] = checks.compare(
            np.array([backend - math.log(f.shape[0])]),
            np.array([expected / tau]),
            atol=8 * f.shape[0] * UNIT_ROUNDOFF * (1 + float(np.max(np.abs(f))) / tau),
            inputs={"f": f[None]},
        )
    return checks.combine(parts)


__all__ = [
    "ACTIVATIONS",
    "PAPER",
    "dcg",
    "positive_rank",
    "psl_activation",
    "psl_loss",
    "random_gaps",
    "softmax_loss",
]
