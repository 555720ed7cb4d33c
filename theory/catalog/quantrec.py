r"""Recurrence of the discrete optimum in quantized training (Long, Yin & Xin, ACHA 2023),
in a **simplified setting** of our own.

*Recurrence of Optimum for Training Weight and Activation Quantized Networks*; claim
``quantrec.recurrence-toy`` of ``shared/claims/catalog.md`` §44 [derived]. This is a
**simplified setting**, not the paper's theorem: the paper's two-linear-layer network
with quantized activations, its coarse gradient (straight-through estimator) and its
step-size conditions are not confirmed and not checked.

The toy: Gaussian inputs :math:`x\sim N(0,\Sigma)`, a linear teacher
:math:`y=x^\top w^\star+\varepsilon`, a binary student :math:`q\in\{\pm1\}^d`. The
population loss is a quadratic in the quantized weights,

.. math::

    f(q)=\tfrac12\mathbb E(x^\top q-y)^2
        =\tfrac12(q-w^\star)^\top\Sigma(q-w^\star)+\tfrac12\sigma_\varepsilon^2,

and its gradient evaluated at the quantized weights, :math:`\nabla f(q)=\Sigma(q-w^\star)`,
is the coarse gradient of this linear model (the straight-through estimator of the
quantizer :math:`Q=\mathrm{sign}` is the identity). The float weights follow

.. math::

    w_{t+1}=w_t-\eta\,\nabla f(Q(w_t)),\qquad Q(w)=\mathrm{sign}(w)\ (Q(0)=+1),

and the claim is that :math:`Q(w_t)` returns to the global discrete minimiser
:math:`q^\star=\arg\min_{q\in\{\pm1\}^d}f(q)` infinitely often. With :math:`\Sigma=I`
(isotropic inputs, the setting of this family of papers as far as we know, not confirmed)
the recursion splits into d one-dimensional sigma-delta loops whose signs match
:math:`q^\star_i=\mathrm{sign}(w^\star_i)` a fraction :math:`(1+|w^\star_i|)/2` of the time
(all of it eventually when :math:`|w^\star_i|>1`). With correlated inputs the statement
fails (see the claim's control).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from theorycheck import checks, validate
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "quantrec"
"""Key of the paper in the seed catalog."""

MAX_ENUMERATED_DIMENSION = 12
"""Largest d for which :func:`discrete_minimiser` enumerates the :math:`2^d` vertices."""

SYMMETRY_TOL = 1e-12
"""Largest accepted :math:`\\max|\\Sigma-\\Sigma^\\top|/\\max|\\Sigma|` (rounding of a product
:math:`AA^\\top` is near 1e-16 of it)."""


# --------------------------------------------------------------------------- validation


def _vectors(w: Any, name: str, func: str) -> Any:
    return validate.finite_real_array(w, name, func=func, min_ndim=1)


def _covariance(covariance: Any, dimension: int, func: str) -> Any:
    r"""A finite, symmetric, positive definite (..., d, d) array."""
    covariance = validate.finite_real_array(covariance, "covariance", func=func, min_ndim=2)
    xp = array_namespace(covariance)
    if tuple(covariance.shape[-2:]) != (dimension, dimension):
        raise ValueError(
            f"{func}: covariance must have shape (..., {dimension}, {dimension}), "
            f"got {tuple(covariance.shape)}"
        )
    scale = float(xp.max(xp.abs(covariance)))
    asymmetry = float(xp.max(xp.abs(covariance - xp.matrix_transpose(covariance))))
    if asymmetry > SYMMETRY_TOL * max(scale, 1.0):
        raise ValueError(f"{func}: covariance must be symmetric, max|S - S^T| = {asymmetry:.3g}")
    smallest = float(xp.min(xp.linalg.eigvalsh(covariance)))
    if not smallest > 0:
        raise ValueError(
            f"{func}: covariance must be positive definite, smallest eigenvalue {smallest:.3g}"
        )
    return covariance


def _broadcast_batch(func: str, **arrays: tuple[Any, int]) -> tuple[int, ...]:
    """Check that the batch shapes (all axes but the trailing ``event`` ones) agree."""
    shapes = {}
    for name, (array, event) in arrays.items():
        shapes[name] = tuple(array.shape[: array.ndim - event])
    try:
        return tuple(np.broadcast_shapes(*shapes.values()))
    except ValueError:
        described = ", ".join(f"{k} {v}" for k, v in shapes.items())
        raise ValueError(f"{func}: batch shapes do not broadcast: {described}") from None


# --------------------------------------------------------------------------- the toy


def quantize(w: Any) -> Any:
    r"""The binary quantizer :math:`Q(w)=\mathrm{sign}(w)` with :math:`Q(0)=+1`.

    Parameters
    ----------
    w : array, shape (..., d)
        Float weights.

    Returns
    -------
    array, shape (..., d)
        Entries in :math:`\{-1,+1\}`, same dtype.
    """
    w = _vectors(w, "w", "quantize")
    xp = array_namespace(w)
    ones = xp.ones_like(w)
    return xp.where(w >= 0, ones, -ones)


def _quadratic_inputs(q: Any, w_star: Any, covariance: Any, func: str) -> tuple[Any, ...]:
    """Validated (q, w_star, covariance, xp): same dimension d, broadcastable batches."""
    q = _vectors(q, "q", func)
    w_star = _vectors(w_star, "w_star", func)
    if q.shape[-1] != w_star.shape[-1]:
        raise ValueError(
            f"{func}: q and w_star must have the same last axis, got {q.shape} and {w_star.shape}"
        )
    covariance = _covariance(covariance, q.shape[-1], func)
    _broadcast_batch(func, q=(q, 1), w_star=(w_star, 1), covariance=(covariance, 2))
    return q, w_star, covariance, array_namespace(q, covariance, w_star)


def population_loss(q: Any, covariance: Any, w_star: Any) -> Any:
    r"""Population loss :math:`f(q)=\tfrac12(q-w^\star)^\top\Sigma(q-w^\star)` of the toy
    (the noise constant :math:`\sigma_\varepsilon^2/2` dropped).

    Parameters
    ----------
    q : array, shape (..., d)
        Student weights (usually quantized).
    covariance : array, shape (..., d, d)
        :math:`\Sigma`, the input covariance; symmetric positive definite.
    w_star : array, shape (..., d)
        Teacher weights :math:`w^\star`.

    Returns
    -------
    array, shape (...)
    """
    func = "population_loss"
    q, w_star, covariance, xp = _quadratic_inputs(q, w_star, covariance, func)
    delta = q - w_star
    return 0.5 * xp.sum(delta * xp.matmul(covariance, delta[..., None])[..., 0], axis=-1)


def coarse_gradient(q: Any, covariance: Any, w_star: Any) -> Any:
    r"""The coarse gradient of the toy, :math:`\nabla f(q)=\Sigma(q-w^\star)`, evaluated at
    the quantized weights q (straight-through: :math:`\partial Q/\partial w:=I`).

    Parameters
    ----------
    q : array, shape (..., d)
    covariance : array, shape (..., d, d)
    w_star : array, shape (..., d)

    Returns
    -------
    array, shape (..., d)
    """
    func = "coarse_gradient"
    q, w_star, covariance, xp = _quadratic_inputs(q, w_star, covariance, func)
    return xp.matmul(covariance, (q - w_star)[..., None])[..., 0]


def discrete_minimiser(covariance: Any, w_star: Any) -> tuple[Any, Any]:
    r"""The global discrete minimiser :math:`q^\star=\arg\min_{q\in\{\pm1\}^d}f(q)`, by
    enumeration of the :math:`2^d` vertices (d <= 12).

    Parameters
    ----------
    covariance : array, shape (..., d, d)
    w_star : array, shape (..., d)

    Returns
    -------
    q_star : array, shape (..., d)
        The minimising vertex (the first in enumeration order on ties).
    gap : array, shape (...)
        :math:`f(\text{second best})-f(q^\star)\ge0`; the minimiser is unique when > 0.
    """
    func = "discrete_minimiser"
    w_star = _vectors(w_star, "w_star", func)
    d = w_star.shape[-1]
    if d > MAX_ENUMERATED_DIMENSION:
        raise ValueError(
            f"{func}: d = {d} exceeds {MAX_ENUMERATED_DIMENSION} (2^d vertices are enumerated)"
        )
    covariance = _covariance(covariance, d, func)
    _broadcast_batch(func, w_star=(w_star, 1), covariance=(covariance, 2))
    xp = array_namespace(covariance, w_star)
    vertices = xp.asarray(
        np.array(list(itertools.product((-1.0, 1.0), repeat=d))), dtype=w_star.dtype
    )  # (V, d)
    delta = vertices - w_star[..., None, :]  # (..., V, d)
    values = 0.5 * xp.sum(delta * xp.matmul(delta, covariance), axis=-1)  # (..., V)
    order = xp.argsort(values, axis=-1)
    best = order[..., 0]
    ranked = xp.take_along_axis(values, order[..., :2], axis=-1)
    q_star = xp.take(vertices, xp.reshape(best, (-1,)), axis=0)
    return xp.reshape(q_star, (*best.shape, d)), ranked[..., 1] - ranked[..., 0]


def recurrence_visits(
    w0: Any, covariance: Any, w_star: Any, target: Any, *, eta: float, steps: int
) -> Any:
    r"""Run :math:`w_{t+1}=w_t-\eta\Sigma(Q(w_t)-w^\star)` and record the visits
    :math:`Q(w_t)=\text{target}`.

    Parameters
    ----------
    w0 : array, shape (..., d)
        Initial float weights :math:`w_0`.
    covariance : array, shape (..., d, d)
        :math:`\Sigma`, symmetric positive definite.
    w_star : array, shape (..., d)
        Teacher weights.
    target : array, shape (..., d)
        The vertex whose visits are recorded (entries :math:`\pm1`), usually
        :func:`discrete_minimiser`'s :math:`q^\star`.
    eta : float
        Step size, > 0.
    steps : int
        Number of iterations T, >= 1.

    Returns
    -------
    array of bool, shape (..., T)
        Entry t is :math:`[Q(w_t)=\text{target}]`, t = 0, ..., T - 1.
    """
    func = "recurrence_visits"
    eta = validate.positive_number(eta, "eta", func=func)
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"{func}: steps must be an integer >= 1, got {steps!r}")
    w0 = _vectors(w0, "w0", func)
    w_star = _vectors(w_star, "w_star", func)
    target = _vectors(target, "target", func)
    d = w0.shape[-1]
    for name, array in (("w_star", w_star), ("target", target)):
        if array.shape[-1] != d:
            raise ValueError(
                f"{func}: {name} must have last axis {d} like w0, got {tuple(array.shape)}"
            )
    covariance = _covariance(covariance, d, func)
    _broadcast_batch(
        func, w0=(w0, 1), w_star=(w_star, 1), target=(target, 1), covariance=(covariance, 2)
    )
    xp = array_namespace(w0, covariance, w_star, target)
    off = xp.abs(xp.abs(target) - 1.0)
    if not bool(xp.all(off == 0.0)):
        index = tuple(int(i[0]) for i in xp.nonzero(off != 0.0))
        raise ValueError(
            f"{func}: target must have entries +1 or -1, got {float(target[index])} at {index}"
        )
    ones = xp.ones_like(w0)
    w = w0
    visits = []
    for _ in range(steps):
        q = xp.where(w >= 0, ones, -ones)
        visits.append(xp.all(q == target, axis=-1))
        w = w - eta * xp.matmul(covariance, (q - w_star)[..., None])[..., 0]
    return xp.stack(visits, axis=-1)


# --------------------------------------------------------------------------- claim

COVARIANCES = ("identity", "wishart")


def _instances(
    rng: np.random.Generator, count: int, d: int, covariance: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Teachers with :math:`|w^\star_i|\sim U(0.25,1.25)` and random signs, covariances
    (identity, or Wishart :math:`AA^\top/d+0.1I`) and :math:`w_0\sim N(0,0.1^2I)`."""
    w_star = rng.uniform(0.25, 1.25, (count, d)) * rng.choice([-1.0, 1.0], (count, d))
    if covariance == "identity":
        sigma = np.broadcast_to(np.eye(d), (count, d, d)).copy()
    else:
        a = rng.standard_normal((count, d, d))
        sigma = a @ np.swapaxes(a, -1, -2) / d + 0.1 * np.eye(d)
        sigma = 0.5 * (sigma + np.swapaxes(sigma, -1, -2))
    w0 = 0.1 * rng.standard_normal((count, d))
    return w_star, sigma, w0


PADDED_DIMENSION = 12
PAD_TEACHER = 2.0
PAD_START = 0.1
r"""Instances of every d run in one batch, padded to 12 coordinates that are decoupled
(:math:`\Sigma` block-diagonal with an identity block) with :math:`w^\star_i=2`,
:math:`w_{0,i}=0.1`: there :math:`w_{t+1,i}=w_{t,i}+\eta` stays positive, so
:math:`Q(w_t)_i=q^\star_i=+1` at every step and the padding changes neither the
dynamics of the first d coordinates nor their visits."""

STEP = 0.01
r"""Step size relative to :math:`1/\lambda_{\max}(\Sigma)`. Q is scale-invariant, so only the
ratio of :math:`w_0` to :math:`\eta` matters; the paper's step-size conditions are not
confirmed."""


@claim(
    "quantrec.recurrence-toy",
    paper=PAPER,
    source="main theorem, in a simplified setting (linear model, weight quantization only)",
    statement=(
        r"\text{simplified setting: }x\sim N(0,I_d),\ f(q)=\tfrac12\|q-w^\star\|^2,\ "
        r"w_{t+1}=w_t-\eta\nabla f(\mathrm{sign}(w_t)):\ \mathrm{sign}(w_t)="
        r"\arg\min_{\{\pm1\}^d}f\ \text{infinitely often}\ (d\le12;\ \text{paper's two-layer "
        r"setting and step sizes not confirmed})"
    ),
    method="numeric",
    provenance="derived",
    notes=(
        "Simplified setting of our own; with correlated Gaussian inputs the recurrence "
        "fails (control correlated-inputs)."
    ),
    controls=[
        Control(
            "correlated-inputs",
            r"\text{the recurrence also holds for }x\sim N(0,\Sigma),\ \Sigma\ne I"
            r"\ (f(q)=\tfrac12(q-w^\star)^\top\Sigma(q-w^\star))",
            {"covariance": "wishart"},
        ),
        Control(
            "convergence",
            r"\mathrm{sign}(w_t)\ \text{converges to (stays at) }q^\star",
            {"min_fraction": 1.0},
        ),
    ],
)
def recurrence_toy(
    ctx: Context, covariance: str = "identity", min_fraction: float = 0.0
) -> Evidence:
    r"""Exact enumeration of :math:`q^\star` and a finite-horizon proxy of "infinitely often".

    Instances: d in (2, 6, 12) (quick; 2 to 12 in steps of 2 at full scale), 40 (200)
    teachers each. :math:`q^\star` is found by enumerating the :math:`2^d` vertices;
    instances whose minimiser is not unique to 1e-9 (a float64 evaluation of f errs by
    < 1e-13 here) are set aside and counted. The instances are then padded to 12
    decoupled coordinates (:data:`PAD_TEACHER`; :math:`q^\star` padded with +1) so that
    they run as one batch, for T = 10^4 iterations (4 10^4 at full scale), as in the
    spec, with :math:`\eta=0.01/\max\lambda_{\max}(\Sigma)`.

    "Infinitely often" is checked as: each of the two windows of the last half of the run
    (T/2 to 3T/4 and 3T/4 to T) contains at least :math:`\max(1,\lceil p\,T/4\rceil)`
    visits, p = ``min_fraction`` (0: at least one visit, the claim; 1: every step,
    the convergence control). The margin is the smallest visit count minus the
    requirement (in visits). No tolerance enters: the sign pattern is an integer outcome.
    With :math:`\Sigma=I` the expected visit rate is
    :math:`\prod_i(1+\min(|w^\star_i|,1))/2\ge(5/8)^{12}`, at least 9 visits per
    window of 2500 steps
    (8.9 on average at the extreme).
    """
    if covariance not in COVARIANCES:
        raise ValueError(f"recurrence_toy: covariance must be one of {COVARIANCES}")
    rng = ctx.rng(0)
    steps = ctx.pick(10_000, 40_000)
    window = steps // 4
    required = max(1, math.ceil(min_fraction * window))
    dims, w_stars, sigmas, w0s, targets, uniques = [], [], [], [], [], []
    for d in ctx.pick((2, 6, 12), (2, 4, 6, 8, 10, 12)):
        w_star, sigma, w0 = _instances(rng, ctx.pick(40, 200), d, covariance)
        q_star, gap = discrete_minimiser(ctx.asarray(sigma), ctx.asarray(w_star))
        pad = PADDED_DIMENSION - d
        dims.append(np.full(w_star.shape[0], d))
        uniques.append(np.asarray(to_numpy(gap)) > 1e-9)
        targets.append(np.pad(np.asarray(to_numpy(q_star)), ((0, 0), (0, pad)), constant_values=1))
        w_stars.append(np.pad(w_star, ((0, 0), (0, pad)), constant_values=PAD_TEACHER))
        sigmas.append(np.pad(sigma, ((0, 0), (0, pad), (0, pad))))
        sigmas[-1][:, d:, d:] = np.eye(pad)
        w0s.append(np.pad(w0, ((0, 0), (0, pad)), constant_values=PAD_START))
    dim, w_star, sigma, w0, target, unique = (
        np.concatenate(x) for x in (dims, w_stars, sigmas, w0s, targets, uniques)
    )
    eta = STEP / float(np.linalg.eigvalsh(sigma)[:, -1].max())
    visits = recurrence_visits(
        ctx.asarray(w0[unique]),
        ctx.asarray(sigma[unique]),
        ctx.asarray(w_star[unique]),
        ctx.asarray(target[unique]),
        eta=eta,
        steps=steps,
    )
    late = np.asarray(to_numpy(visits))[:, steps - 2 * window :]
    window_counts = late.reshape(late.shape[0], 2, window).sum(axis=-1)
    evidence = checks.nonnegative(
        window_counts - required,
        inputs={"d": dim[unique], "w_star": w_star[unique], "covariance": sigma[unique]},
    )
    evidence.details.update(
        {
            "steps": steps,
            "required visits per window": required,
            "fewest visits in a late window": int(window_counts.min()),
            "instances without late visits": int((window_counts.min(axis=1) == 0).sum()),
            "set aside (non-unique minimiser)": int((~unique).sum()),
        }
    )
    return evidence
