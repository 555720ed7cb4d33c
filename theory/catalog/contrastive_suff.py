r"""InfoNCE with infinitely many negatives and the sufficiency gap (Lin & Mei, *A Statistical
Theory of Contrastive Learning via Approximate Sufficient Statistics*, arXiv 2025).

Finite alphabets: a joint law :math:`p(x,z)` on :math:`\{1..n_x\}\times\{1..n_z\}`
(a table), marginals :math:`p(x)`, :math:`p(z)`, a critic (score)
:math:`s(x,z)\in\mathbb R`, and the population ("infinite-negative") InfoNCE loss

.. math::

    \mathcal L(s)=-\mathbb E_{(X,Z)\sim p}\log\frac{e^{s(X,Z)}}
    {\mathbb E_{Z'\sim p_Z}e^{s(X,Z')}}
    =-\sum_{x,z}p(x,z)s(x,z)+\sum_xp(x)\log\sum_zp(z)e^{s(x,z)} .

Claim ``contrastive_suff.infonce-mi-gap`` (``shared/claims/catalog.md`` §84, [derived]):
:math:`\min_s\mathcal L=-I(X;Z)`, attained by the pointwise mutual information
:math:`s^*=\log\frac{p(x,z)}{p(x)p(z)}`; for an encoder :math:`f:\{1..n_x\}\to\{1..m\}`,
:math:`\min_g\mathcal L(g(f(\cdot),\cdot))=-I(f(X);Z)`, so the excess loss of f is the
sufficiency gap :math:`I(X;Z)-I(f(X);Z)`. The identity is a population statement that
this project derives from the paper's setting (the Gibbs inequality: :math:`\mathcal L(s)
+I(X;Z)=\mathbb E_X\mathrm{KL}(p(\cdot|X)\,\|\,q_s(\cdot|X))` with
:math:`q_s(z|x)\propto p(z)e^{s(x,z)}`); the paper's finite-K offsets and its theorem
numbering are not confirmed and not checked.

The math objects below run on any array-API namespace; the claim minimises
:math:`\mathcal L` with SciPy (Newton-CG on every table of a batch at once) and compares
the minima with the closed forms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.optimize

from theorycheck import checks, validate
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "contrastive-suff"
"""Key of the paper in the seed catalog."""

UNIT_ROUNDOFF = 2.0**-53
"""float64 unit roundoff u = 1.1e-16."""


# ------------------------------------------------------------------------ validation


def _joint(joint: Any, func: str) -> Any:
    joint, xp = validate.real_floating(joint, "joint", func=func)
    if joint.ndim < 2 or joint.shape[-1] == 0 or joint.shape[-2] == 0:
        raise ValueError(
            f"{func}: joint must have shape (..., n_x, n_z) with n_x, n_z >= 1, "
            f"got {tuple(joint.shape)}"
        )
    validate.finite(joint, "joint", func=func, xp=xp)
    total = xp.sum(xp.reshape(joint, (*joint.shape[:-2], -1)), axis=-1)
    minimum = float(xp.min(joint))
    if minimum < 0:
        raise ValueError(f"{func}: joint must be non-negative, has entry {minimum}")
    worst = float(xp.max(xp.abs(total - 1.0)))
    if worst > 1e-9:
        raise ValueError(f"{func}: joint must sum to 1 over (x, z), off by {worst:.3g}")
    return xp


def _critic(critic: Any, joint: Any, func: str) -> None:
    critic, xp = validate.real_floating(critic, "critic", func=func)
    if tuple(critic.shape[-2:]) != tuple(joint.shape[-2:]):
        raise ValueError(
            f"{func}: critic must end with the table shape {tuple(joint.shape[-2:])}, "
            f"got {tuple(critic.shape)}"
        )
    validate.finite(critic, "critic", func=func, xp=xp)


def _xlogy(xp: Any, a: Any, b: Any) -> Any:
    """a log b with 0 log 0 = 0 (b is replaced by 1 where a = 0)."""
    return xp.where(a > 0, a * xp.log(xp.where(a > 0, b, 1.0)), 0.0)


# ------------------------------------------------------------------------- the math


def mutual_information(joint: Any) -> Any:
    r"""Mutual information :math:`I(X;Z)=\sum_{x,z}p(x,z)\log\frac{p(x,z)}{p(x)p(z)}` (nats).

    Parameters
    ----------
    joint : array, shape (..., n_x, n_z)
        Joint probability tables :math:`p(x,z)` (non-negative, summing to 1); zero
        cells contribute 0.

    Returns
    -------
    array, shape (...)
    """
    xp = _joint(joint, "mutual_information")
    px = xp.sum(joint, axis=-1, keepdims=True)
    pz = xp.sum(joint, axis=-2, keepdims=True)
    ratio = joint / xp.where(joint > 0, px * pz, 1.0)
    return xp.sum(xp.reshape(_xlogy(xp, joint, ratio), (*joint.shape[:-2], -1)), axis=-1)


def _full_support_joint(joint: Any, func: str) -> Any:
    """The namespace of a valid joint table with every entry > 0."""
    xp = _joint(joint, func)
    minimum = float(xp.min(joint))
    if minimum <= 0:
        raise ValueError(f"{func}: joint must have full support (all entries > 0), got {minimum}")
    return xp


def pointwise_mutual_information(joint: Any) -> Any:
    r"""The optimal critic :math:`s^*(x,z)=\log\frac{p(x,z)}{p(x)p(z)}` (full support needed).

    Parameters
    ----------
    joint : array, shape (..., n_x, n_z)
        Joint tables with every entry > 0.

    Returns
    -------
    array, shape (..., n_x, n_z)
    """
    func = "pointwise_mutual_information"
    xp = _full_support_joint(joint, func)
    px = xp.sum(joint, axis=-1, keepdims=True)
    pz = xp.sum(joint, axis=-2, keepdims=True)
    return xp.log(joint) - xp.log(px) - xp.log(pz)


def log_joint_critic(joint: Any) -> Any:
    r"""The critic :math:`s(x,z)=\log p(x,z)` (a plausible but wrong optimum, for controls).

    It differs from the optimal :math:`s^*` by :math:`\log p(x)+\log p(z)`; the
    :math:`\log p(x)` term is a per-row shift that :math:`\mathcal L` ignores, the
    :math:`\log p(z)` term is not, so this critic is optimal only when :math:`p_Z` is
    uniform.

    Parameters
    ----------
    joint : array, shape (..., n_x, n_z)
        Joint tables with every entry > 0.

    Returns
    -------
    array, shape (..., n_x, n_z)
    """
    func = "log_joint_critic"
    xp = _full_support_joint(joint, func)
    return xp.log(joint)


def infonce_population_loss(critic: Any, joint: Any) -> Any:
    r"""Infinite-negative InfoNCE :math:`\mathcal L(s)=-\sum p\,s+\sum_xp(x)\log\sum_zp(z)e^{s}`.

    Parameters
    ----------
    critic : array, shape (..., n_x, n_z)
        Scores :math:`s(x,z)`, broadcastable with ``joint`` on the leading axes.
    joint : array, shape (..., n_x, n_z)
        Joint tables :math:`p(x,z)`.

    Returns
    -------
    array, shape (...)
        The loss (stable log-sum-exp with weights :math:`p(z)`; cells with
        :math:`p(z)=0` do not enter).
    """
    func = "infonce_population_loss"
    xp = _joint(joint, func)
    _critic(critic, joint, func)
    px = xp.sum(joint, axis=-1)
    pz = xp.sum(joint, axis=-2, keepdims=True)
    masked = xp.where(pz > 0, critic, -xp.inf)
    top = xp.max(masked, axis=-1, keepdims=True)
    weights = xp.where(pz > 0, pz * xp.exp(masked - top), 0.0)
    log_partition = top[..., 0] + xp.log(xp.sum(weights, axis=-1))
    positive = xp.sum(xp.reshape(joint * critic, (*joint.shape[:-2], -1)), axis=-1)
    return -positive + xp.sum(px * log_partition, axis=-1)


def _encoder(joint: Any, encoder: Any, classes: int, func: str) -> Any:
    xp = _joint(joint, func)
    if not isinstance(classes, int) or isinstance(classes, bool) or classes < 1:
        raise ValueError(f"{func}: classes must be a positive integer, got {classes!r}")
    try:
        integral = xp.isdtype(encoder.dtype, "integral")
    except (AttributeError, TypeError):
        integral = False
    if not integral:
        raise ValueError(f"{func}: encoder must be an integer array, got {encoder!r:.60}")
    if tuple(encoder.shape[-1:]) != tuple(joint.shape[-2:-1]):
        raise ValueError(
            f"{func}: encoder must have shape (..., {joint.shape[-2]}), got {tuple(encoder.shape)}"
        )
    low, high = int(xp.min(encoder)), int(xp.max(encoder))
    if low < 0 or high >= classes:
        bad = low if low < 0 else high
        raise ValueError(f"{func}: encoder labels must lie in [0, {classes}), got {bad}")
    return xp


def _pushforward(xp: Any, joint: Any, encoder: Any, classes: int) -> Any:
    labels = xp.arange(classes, dtype=encoder.dtype)
    one_hot = xp.astype(encoder[..., None, :] == labels[:, None], joint.dtype)  # (..., m, n_x)
    return xp.matmul(one_hot, joint)


def encoder_pushforward(joint: Any, encoder: Any, classes: int) -> Any:
    r"""The table of :math:`(f(X),Z)`: :math:`p_f(c,z)=\sum_{x:f(x)=c}p(x,z)`.

    Parameters
    ----------
    joint : array, shape (..., n_x, n_z)
        Joint tables.
    encoder : array of int, shape (..., n_x)
        :math:`f(x)\in\{0,\dots,m-1\}` for each x.
    classes : int
        m, the size of the encoder's range (>= 1).

    Returns
    -------
    array, shape (..., m, n_z)
    """
    xp = _encoder(joint, encoder, classes, "encoder_pushforward")
    return _pushforward(xp, joint, encoder, classes)


def sufficiency_gap(joint: Any, encoder: Any, classes: int) -> Any:
    r"""The claimed excess loss of an encoder, :math:`I(X;Z)-I(f(X);Z)`.

    Parameters
    ----------
    joint : array, shape (..., n_x, n_z)
    encoder : array of int, shape (..., n_x)
    classes : int

    Returns
    -------
    array, shape (...)
    """
    xp = _encoder(joint, encoder, classes, "sufficiency_gap")
    pushed = _pushforward(xp, joint, encoder, classes)
    return mutual_information(joint) - mutual_information(pushed)


def mutual_information_as_excess(joint: Any, encoder: Any, classes: int) -> Any:
    r"""Control: the excess loss of an encoder taken to be :math:`I(X;Z)` itself."""
    _encoder(joint, encoder, classes, "mutual_information_as_excess")
    return mutual_information(joint)


# ------------------------------------------------------------------------ the solver

POLISH_STEPS = 3
"""Exact Newton steps after SciPy: from a gradient near 1e-8 quadratic convergence reaches
the rounding floor in two; the third costs nothing."""


def _row_softmax(scores: np.ndarray, pz: np.ndarray) -> np.ndarray:
    """q(z|row) proportional to p(z) e^{score}, rows on the last axis."""
    shifted = scores - scores.max(axis=-1, keepdims=True)
    weights = pz * np.exp(shifted)
    return weights / weights.sum(axis=-1, keepdims=True)


def minimise_infonce(
    joint: np.ndarray, assignment: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Minimise :math:`\mathcal L(g(f(\cdot),\cdot))` over g for a batch of tables (NumPy/SciPy).

    The critic is :math:`s=Eg` with E the (n_x, m) assignment matrix of the encoder
    (the identity for an unconstrained critic). The batch's objectives are summed
    and minimised at once by ``scipy.optimize.minimize`` (Newton-CG with the exact
    gradient :math:`E^\top(-p(x,z)+p(x)q_s(z|x))` and Hessian-vector products; the
    Hessian is block diagonal, one block :math:`p_f(c)(\mathrm{diag}\,q_c-q_cq_c^\top)`
    per class c), then polished by :data:`POLISH_STEPS` exact Newton steps
    :math:`g\leftarrow g-H^+\nabla` on each block (Newton-CG stops when the *mean*
    update is small, which leaves single blocks at a gradient near 1e-8).

    Parameters
    ----------
    joint : ndarray, shape (N, n_x, n_z)
        Full-support joint tables.
    assignment : ndarray, shape (N, n_x, m)
        One-hot rows: ``assignment[i, x, c] = 1`` iff :math:`f_i(x)=c`; every class used.

    Returns
    -------
    minimum : ndarray, shape (N,)
        :math:`\mathcal L` at the solver's g, evaluated in NumPy.
    gap_estimate : ndarray, shape (N,)
        The Newton-decrement estimate :math:`\tfrac12\nabla^\top H^+\nabla` of the
        remaining optimality gap (exact to second order).
    g : ndarray, shape (N, m, n_z)
        The minimiser found.
    """
    func = "minimise_infonce"
    joint = np.asarray(joint, dtype=float)
    assignment = np.asarray(assignment, dtype=float)
    if joint.ndim != 3 or not np.all(np.isfinite(joint)) or joint.size == 0:
        raise ValueError(f"{func}: joint must be finite of shape (N, n_x, n_z), got {joint.shape}")
    if joint.min() <= 0 or np.max(np.abs(joint.sum((1, 2)) - 1)) > 1e-9:
        raise ValueError(
            f"{func}: joint must have full support and sum to 1 per table, "
            f"got min entry {joint.min()}"
        )
    if assignment.ndim != 3 or assignment.shape[:2] != joint.shape[:2]:
        raise ValueError(
            f"{func}: assignment must have shape ({joint.shape[0]}, {joint.shape[1]}, m), "
            f"got {assignment.shape}"
        )
    one_hot = np.all((assignment == 0) | (assignment == 1)) and np.all(assignment.sum(-1) == 1)
    if not one_hot or np.any(assignment.sum(1) == 0):
        raise ValueError(
            f"{func}: assignment must hold one-hot rows using every class, got {assignment!r:.80}"
        )
    count, _, nz = joint.shape
    classes = assignment.shape[-1]
    pushed = np.einsum("nxc,nxz->ncz", assignment, joint)  # p_f(c, z)
    pc = pushed.sum(-1, keepdims=True)  # p_f(c)
    pz = joint.sum(1, keepdims=True)  # (N, 1, n_z)
    shape = (count, classes, nz)

    def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
        g = flat.reshape(shape)
        top = g.max(-1, keepdims=True)
        log_partition = top[..., 0] + np.log((pz * np.exp(g - top)).sum(-1))
        value = -(pushed * g).sum() + (pc[..., 0] * log_partition).sum()
        gradient = -pushed + pc * _row_softmax(g, pz)
        return float(value), gradient.ravel()

    def hessp(flat: np.ndarray, direction: np.ndarray) -> np.ndarray:
        q = _row_softmax(flat.reshape(shape), pz)
        v = direction.reshape(shape)
        return (pc * (q * v - q * (q * v).sum(-1, keepdims=True))).ravel()

    start = np.zeros(count * classes * nz)
    result = scipy.optimize.minimize(
        objective,
        start,
        jac=True,
        hessp=hessp,
        method="Newton-CG",
        options={"xtol": 1e-14, "maxiter": 200},
    )
    g = result.x.reshape(shape)
    eye = np.eye(nz)

    def newton_step(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q = _row_softmax(g, pz)
        gradient = -pushed + pc * q
        hessian = pc[..., None] * (q[..., :, None] * eye - q[..., :, None] * q[..., None, :])
        step = np.einsum("ncij,ncj->nci", np.linalg.pinv(hessian, hermitian=True), gradient)
        return step, gradient

    for _ in range(POLISH_STEPS):
        step, _ = newton_step(g)
        g = g - step
    step, gradient = newton_step(g)
    gap_estimate = 0.5 * np.abs((gradient * step).sum((1, 2)))
    critic = np.einsum("nxc,ncz->nxz", assignment, g)
    top = critic.max(-1, keepdims=True)
    log_partition = top[..., 0] + np.log((pz * np.exp(critic - top)).sum(-1))
    minimum = -(joint * critic).sum((1, 2)) + (joint.sum(-1) * log_partition).sum(-1)
    return minimum, gap_estimate, g


# ------------------------------------------------------------------------- instances


def _instances(
    rng: np.random.Generator, count: int, nx: int, nz: int, classes: int
) -> tuple[np.ndarray, np.ndarray]:
    r"""Full-support tables and surjective encoders; a third of the encoders are sufficient.

    In the sufficient third, :math:`p(x,z)=p(x)\,r_{f(x)}(z)`: the conditional of Z
    given X depends on x only through f(x), so that :math:`I(f(X);Z)=I(X;Z)`.
    """
    joint = rng.dirichlet(np.ones(nx * nz), size=count).reshape(count, nx, nz)
    joint = 0.9 * joint + 0.1 / (nx * nz)  # entries >= 0.1/(n_x n_z): full support
    encoders = np.empty((count, nx), dtype=np.int64)
    for i in range(count):
        labels = np.concatenate([np.arange(classes), rng.integers(0, classes, nx - classes)])
        encoders[i] = rng.permutation(labels)
    sufficient = np.flatnonzero(np.arange(count) % 3 == 0)
    marginal = rng.dirichlet(np.full(nx, 2.0), size=sufficient.size)
    conditionals = rng.dirichlet(np.full(nz, 2.0), size=(sufficient.size, classes))
    conditionals = 0.9 * conditionals + 0.1 / nz
    rows = np.take_along_axis(conditionals, encoders[sufficient][..., None], axis=1)
    joint[sufficient] = marginal[..., None] * rows
    return joint, encoders


TABLE_SHAPES = ((3, 4, 2), (4, 3, 3), (5, 5, 2), (6, 4, 4))
"""(n_x, n_z, m) of the random instances."""


@claim(
    "contrastive_suff.infonce-mi-gap",
    paper=PAPER,
    source="Sec. 2-3 (population InfoNCE; derived identity, finite-K offsets not confirmed)",
    statement=(
        r"\mathcal L(s)=-\mathbb E\log\frac{e^{s(X,Z)}}{\mathbb E_{Z'\sim p_Z}e^{s(X,Z')}}:\ "
        r"\min_s\mathcal L=-I(X;Z)\ (s^*=\log\tfrac{p(x,z)}{p(x)p(z)}),\ "
        r"\min_g\mathcal L(g(f(X),\cdot))=-I(f(X);Z),\ "
        r"\text{excess}(f)=I(X;Z)-I(f(X);Z)"
    ),
    method="solver",
    provenance="derived",
    notes=(
        "Derived by this project from the paper's setting (Gibbs inequality); the paper's "
        "finite-K offsets and theorem numbering are not confirmed."
    ),
    controls=[
        Control(
            "excess-is-mi",
            r"\text{excess}(f)=I(X;Z)\ (\text{the encoder keeps no information})",
            {"excess": mutual_information_as_excess},
        ),
        Control(
            "joint-critic",
            r"\text{the critic }s=\log p(x,z)\text{ attains }\min_s\mathcal L=-I(X;Z)",
            {"critic": log_joint_critic},
        ),
    ],
)
def infonce_mi_gap(
    ctx: Context,
    excess: Callable[[Any, Any, int], Any] = sufficiency_gap,
    critic: Callable[[Any], Any] = pointwise_mutual_information,
) -> Evidence:
    r"""SciPy minima of :math:`\mathcal L` against the closed forms, on random tables.

    Instances: full-support Dirichlet tables of shapes (n_x, n_z) = (3, 4), (4, 3),
    (5, 5), (6, 4) with random surjective encoders onto m = 2, 3, 2, 4 classes; in a
    third of them two rows share a conditional and the encoder merges exactly those
    rows (a sufficient encoder: zero excess). Parts:

    1. :math:`\min_s\mathcal L` (SciPy, free critic) :math:`=-I(X;Z)` (closed form on
       the backend);
    2. :math:`\min_g\mathcal L(g\circ f)` (SciPy, critic through the encoder)
       :math:`=-I(f(X);Z)` (closed form of the pushed-forward table, on the backend);
    3. the excess :math:`\min_g\mathcal L(g\circ f)-\min_s\mathcal L` equals the
       candidate ``excess(joint, encoder, m)`` (default :math:`I(X;Z)-I(f(X);Z)`);
    4. the candidate ``critic`` evaluated by the backend's
       :func:`infonce_population_loss` equals :math:`-I(X;Z)`.

    Tolerances: each minimum carries the Newton-decrement estimate
    :math:`\tfrac12\nabla^\top H^+\nabla` of its optimality gap (exact to second order;
    near 1e-31 after the Newton polish) plus the float64 rounding of a
    :math:`\mathcal L` or I evaluation, :math:`\le4(n_xn_z+8)u(1+\max|s|)` with max|s| the
    largest critic entry or log-ratio (sums of :math:`n_xn_z` products and a
    log-sum-exp of :math:`n_z` terms); part 3 adds the tolerances of its two minima.
    """
    rng = ctx.rng(0)
    count = ctx.pick(40, 400)
    parts: dict[str, Evidence] = {}
    for nx, nz, classes in TABLE_SHAPES:
        joint, encoders = _instances(rng, count, nx, nz, classes)
        identity = np.broadcast_to(np.eye(nx), (count, nx, nx))
        assignment = np.eye(classes)[encoders]
        free_min, free_gap, free_g = minimise_infonce(joint, identity)
        enc_min, enc_gap, enc_g = minimise_infonce(joint, assignment)

        on_backend = ctx.asarray(joint)
        mi = np.asarray(to_numpy(mutual_information(on_backend)), dtype=float)
        pushed = encoder_pushforward(on_backend, ctx.asarray(encoders), classes)
        mi_f = np.asarray(to_numpy(mutual_information(pushed)), dtype=float)
        marginals = joint.sum(2, keepdims=True) * joint.sum(1, keepdims=True)
        log_ratio = np.abs(np.log(joint / marginals))
        scale = 1 + np.maximum(log_ratio.max((1, 2)), np.abs(free_g).max((1, 2)))
        scale = np.maximum(scale, 1 + np.abs(enc_g).max((1, 2)))
        rounding = 4 * (nx * nz + 8) * UNIT_ROUNDOFF * scale
        inputs = {"joint": joint, "encoder": encoders}
        label = f"(n_x, n_z, m) = ({nx}, {nz}, {classes})"
        parts[f"{label}: min_s L = -I(X;Z)"] = checks.compare(
            free_min, -mi, atol=2 * rounding + free_gap, inputs=inputs
        )
        parts[f"{label}: min_g L(g o f) = -I(f(X);Z)"] = checks.compare(
            enc_min, -mi_f, atol=2 * rounding + enc_gap, inputs=inputs
        )
        candidate = np.asarray(
            to_numpy(excess(on_backend, ctx.asarray(encoders), classes)), dtype=float
        )
        parts[f"{label}: excess = candidate"] = checks.compare(
            enc_min - free_min,
            candidate,
            atol=4 * rounding + free_gap + enc_gap,
            inputs=inputs,
        )
        scores = critic(on_backend)
        value = np.asarray(to_numpy(infonce_population_loss(scores, on_backend)), dtype=float)
        largest = np.abs(np.asarray(to_numpy(scores), dtype=float)).max((1, 2))
        critic_rounding = 4 * (nx * nz + 8) * UNIT_ROUNDOFF * (1 + np.maximum(largest, scale))
        parts[f"{label}: L(candidate critic) = -I(X;Z)"] = checks.compare(
            value, -mi, atol=2 * critic_rounding, inputs=inputs
        )
    return checks.combine(parts)


__all__ = [
    "PAPER",
    "encoder_pushforward",
    "infonce_population_loss",
    "log_joint_critic",
    "minimise_infonce",
    "mutual_information",
    "mutual_information_as_excess",
    "pointwise_mutual_information",
    "sufficiency_gap",
]
