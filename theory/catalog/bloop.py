r"""Bloop: gradient surgery with an EMA (Hsieh et al., ICML 2024), a derived toy.

*Careful with that Scalpel: Improving Gradient Surgery with an EMA*; claim
``bloop.bilevel-toy`` of ``shared/claims/catalog.md`` §105 [derived]. This is a **toy**
stated by this project, consistent with the paper but not found in it; the paper gives
no closed-form rate, so the tolerance of "much closer" is calibrated (see the claim).

Bloop follows :math:`d=g_{tr}+\lambda\,\pi(g_{aux};\hat g)`, with the projection
:math:`\pi(v;u)=v-\frac{\langle v,u\rangle}{\|u\|^2}u` and :math:`\hat g` an exponential
moving average (EMA) of the training gradients,
:math:`\hat g\leftarrow(1-\eta)\hat g+\eta g_{tr}`. The plain sum follows
:math:`g_{tr}+\lambda g_{aux}`.

Toy: :math:`L_{tr}(\theta)=\tfrac12\|A\theta-b\|^2` with a rank-deficient
:math:`A\in\mathbb R^{m\times d}` (its minimisers form the affine set
:math:`A^+b+\ker A`) and :math:`L_{aux}(\theta)=\tfrac12\|\theta-c\|^2`. The bilevel
solution (the minimiser of :math:`L_{aux}` over the minimisers of :math:`L_{tr}`) is
:math:`\theta^\dagger=A^+b+(I-A^+A)c`; the plain sum converges to the Tikhonov point
:math:`\theta_\lambda=(A^\top A+\lambda I)^{-1}(A^\top b+\lambda c)`.

Why Bloop should end near :math:`\theta^\dagger` (derived here): :math:`g_{tr}` and so
:math:`\hat g` lie in the row space of A, so the projection leaves the kernel component
of :math:`g_{aux}` untouched (the kernel part of :math:`\theta` tends to that of c), and
at a fixed point :math:`\hat g=g_{tr}` while :math:`\pi(g_{aux};\hat g)\perp g_{tr}`, so
:math:`d=0` forces :math:`g_{tr}=0`. With a constant step the iterates chatter around
:math:`\theta^\dagger` at a distance of order of the step size (the projection direction
swings as :math:`\hat g\to0`); the claim measures that floor.

The claim is in this module (method ``numeric``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

from theorycheck import checks, validate
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "bloop"
"""Key of the paper in the seed catalog."""

EPS = float(np.finfo(np.float64).eps)
RANK_RTOL = 1e-10
r"""Default numerical-rank cut of :func:`bilevel_solution`: singular values at most
``RANK_RTOL`` times the largest count as zero."""

Direction = Callable[[Any, Any, Any, float], Any]


# --------------------------------------------------------------------------- validation


def _vector(x: Any, name: str, func: str) -> Any:
    return validate.finite_real_array(x, name, func=func, min_ndim=1)


def _same(a: Any, b: Any, names: tuple[str, str], func: str) -> None:
    validate.same_shape(a, b, names, func=func)


def _rate(rate: Any, func: str) -> float:
    value = validate.positive_number(rate, "rate", func=func)
    if value > 1:
        raise ValueError(f"{func}: rate must lie in (0, 1], got {rate!r}")
    return value


def _problem(a: Any, b: Any, c: Any, func: str) -> tuple[Any, Any, Any]:
    a = validate.finite_real_array(a, "a", func=func, min_ndim=2)
    b = _vector(b, "b", func)
    c = _vector(c, "c", func)
    m, d = a.shape[-2], a.shape[-1]
    if m == 0 or d == 0:
        raise ValueError(f"{func}: a must have non-empty last two axes, got {tuple(a.shape)}")
    if tuple(b.shape) != (*a.shape[:-2], m):
        raise ValueError(
            f"{func}: b must have shape {(*a.shape[:-2], m)} to match a {tuple(a.shape)}, "
            f"got {tuple(b.shape)}"
        )
    if tuple(c.shape) != (*a.shape[:-2], d):
        raise ValueError(
            f"{func}: c must have shape {(*a.shape[:-2], d)} to match a {tuple(a.shape)}, "
            f"got {tuple(c.shape)}"
        )
    return a, b, c


# --------------------------------------------------------------------------- directions


def _project(v: Any, u: Any) -> Any:
    xp = array_namespace(v, u)
    norm2 = xp.sum(u * u, axis=-1, keepdims=True)
    positive = norm2 > 0
    coefficient = xp.where(
        positive, xp.sum(v * u, axis=-1, keepdims=True) / xp.where(positive, norm2, 1.0), 0.0
    )
    return v - coefficient * u


def orthogonal_projection(v: Any, u: Any) -> Any:
    r"""The projection :math:`\pi(v;u)=v-\frac{\langle v,u\rangle}{\|u\|^2}u` of Bloop.

    Removes from v its component along u; :math:`\pi(v;0)=v` by convention.

    Parameters
    ----------
    v : array, shape (..., d)
        The vector to project (Bloop: the auxiliary gradient :math:`g_{aux}`).
    u : array, shape (..., d)
        The direction removed (Bloop: the EMA :math:`\hat g` of the training gradients).

    Returns
    -------
    array, shape (..., d)
        Orthogonal to u on every row.

    Raises
    ------
    ValueError
        For non-finite or non-float arrays, a 0-d array or different shapes.
    """
    func = "orthogonal_projection"
    v, u = _vector(v, "v", func), _vector(u, "u", func)
    _same(v, u, ("v", "u"), func)
    return _project(v, u)


def _bloop(g_train: Any, g_aux: Any, ema: Any, lam: float) -> Any:
    return g_train + lam * _project(g_aux, ema)


def _plain(g_train: Any, g_aux: Any, ema: Any, lam: float) -> Any:
    return g_train + lam * g_aux


def bloop_direction(g_train: Any, g_aux: Any, ema: Any, lam: float) -> Any:
    r"""Bloop's update direction :math:`d=g_{tr}+\lambda\,\pi(g_{aux};\hat g)` (Sec. 3).

    Parameters
    ----------
    g_train, g_aux, ema : array, shape (..., d)
        :math:`g_{tr}`, :math:`g_{aux}` and the EMA :math:`\hat g` of the training
        gradients.
    lam : float
        The auxiliary weight :math:`\lambda>0`.

    Returns
    -------
    array, shape (..., d)

    Raises
    ------
    ValueError
        For bad arrays (as :func:`orthogonal_projection`), different shapes, or
        :math:`\lambda\le0`.
    """
    func = "bloop_direction"
    lam = validate.positive_number(lam, "lam", func=func)
    g_train, g_aux, ema = (
        _vector(x, n, func) for x, n in ((g_train, "g_train"), (g_aux, "g_aux"), (ema, "ema"))
    )
    _same(g_train, g_aux, ("g_train", "g_aux"), func)
    _same(g_train, ema, ("g_train", "ema"), func)
    return _bloop(g_train, g_aux, ema, lam)


def plain_sum_direction(g_train: Any, g_aux: Any, ema: Any, lam: float) -> Any:
    r"""The plain weighted sum :math:`g_{tr}+\lambda g_{aux}` (``ema`` is ignored; it is
    accepted so that both directions share one signature).

    Raises
    ------
    ValueError
        As :func:`bloop_direction`.
    """
    func = "plain_sum_direction"
    lam = validate.positive_number(lam, "lam", func=func)
    g_train, g_aux = _vector(g_train, "g_train", func), _vector(g_aux, "g_aux", func)
    _same(g_train, g_aux, ("g_train", "g_aux"), func)
    return _plain(g_train, g_aux, ema, lam)


def ema_update(ema: Any, gradient: Any, rate: float) -> Any:
    r"""One EMA step :math:`\hat g\leftarrow(1-\eta)\hat g+\eta g`.

    Parameters
    ----------
    ema, gradient : array, shape (..., d)
    rate : float
        :math:`\eta\in(0,1]` (1: no averaging, the current gradient).

    Raises
    ------
    ValueError
        For bad arrays, different shapes or a rate outside (0, 1].
    """
    func = "ema_update"
    rate = _rate(rate, func)
    ema, gradient = _vector(ema, "ema", func), _vector(gradient, "gradient", func)
    _same(ema, gradient, ("ema", "gradient"), func)
    return (1.0 - rate) * ema + rate * gradient


# --------------------------------------------------------------------------- the toy


def bilevel_solution(a: Any, b: Any, c: Any, *, rtol: float = RANK_RTOL) -> Any:
    r"""The bilevel solution :math:`\theta^\dagger=A^+b+(I-A^+A)c`.

    The point of :math:`\arg\min_\theta\tfrac12\|A\theta-b\|^2` closest to c.

    Parameters
    ----------
    a : array, shape (..., m, d)
        A, any rank.
    b : array, shape (..., m)
    c : array, shape (..., d)
        The target of the auxiliary loss :math:`\tfrac12\|\theta-c\|^2`.
    rtol : float
        Numerical rank cut of the pseudo-inverse (relative to the largest singular
        value), > 0.

    Returns
    -------
    array, shape (..., d)

    Raises
    ------
    ValueError
        For non-finite or non-float arrays, mismatched shapes, or rtol <= 0.
    """
    func = "bilevel_solution"
    rtol = validate.positive_number(rtol, "rtol", func=func)
    a, b, c = _problem(a, b, c, func)
    xp = array_namespace(a, b, c)
    pinv = xp.linalg.pinv(a, rtol=rtol)
    row_part = xp.matmul(pinv, b[..., None])[..., 0]
    projected_c = xp.matmul(pinv, xp.matmul(a, c[..., None]))[..., 0]
    return row_part + c - projected_c


def tikhonov_point(a: Any, b: Any, c: Any, lam: float) -> Any:
    r"""The Tikhonov point :math:`\theta_\lambda=(A^\top A+\lambda I)^{-1}(A^\top b+\lambda c)`,
    the minimiser of :math:`L_{tr}+\lambda L_{aux}` (the limit of the plain sum).

    Parameters
    ----------
    a, b, c : arrays
        As in :func:`bilevel_solution`.
    lam : float
        :math:`\lambda>0`.

    Returns
    -------
    array, shape (..., d)

    Raises
    ------
    ValueError
        As :func:`bilevel_solution`, or :math:`\lambda\le0`.
    """
    func = "tikhonov_point"
    lam = validate.positive_number(lam, "lam", func=func)
    a, b, c = _problem(a, b, c, func)
    xp = array_namespace(a, b, c)
    at = xp.matrix_transpose(a)
    system = xp.matmul(at, a) + lam * xp.eye(a.shape[-1], dtype=a.dtype)
    rhs = xp.matmul(at, b[..., None])[..., 0] + lam * c
    return xp.linalg.solve(system, rhs[..., None])[..., 0]


DIRECTIONS: dict[str, Direction] = {"bloop": _bloop, "sum": _plain}
"""The named directions of :func:`gradient_surgery_descent` (unvalidated, per step)."""


def gradient_surgery_descent(
    a: Any,
    b: Any,
    c: Any,
    theta0: Any,
    *,
    lam: float,
    lr: float,
    steps: int,
    rate: float,
    direction: str | Direction = "bloop",
) -> Any:
    r"""Full-batch descent :math:`\theta_{t+1}=\theta_t-\text{lr}\,d_t` on the toy.

    :math:`g_{tr}=A^\top(A\theta_t-b)`, :math:`g_{aux}=\theta_t-c`; the EMA starts at
    :math:`\hat g_0=g_{tr}(\theta_0)` and is updated with :math:`g_{tr}(\theta_t)` before
    each step, :math:`d_t=` ``direction``:math:`(g_{tr},g_{aux},\hat g_t,\lambda)`.
    Instances run in parallel on the leading axes (a loop over time only).

    Parameters
    ----------
    a, b, c : arrays
        As in :func:`bilevel_solution`.
    theta0 : array, shape (..., d)
        Start.
    lam : float
        :math:`\lambda>0`.
    lr : float
        Step size > 0.
    steps : int
        Number of steps T >= 1.
    rate : float
        EMA rate :math:`\eta\in(0,1]`.
    direction : {"bloop", "sum"} or callable
        Bloop (:math:`g_{tr}+\lambda\pi(g_{aux};\hat g)`), the plain sum, or a
        callable ``(g_train, g_aux, ema, lam) -> d`` (called unvalidated each step).

    Returns
    -------
    array, shape (..., d)
        :math:`\theta_T`.

    Raises
    ------
    ValueError
        For bad arrays or shapes, non-positive lam or lr, steps not a positive integer,
        a rate outside (0, 1], or an unknown direction name.
    """
    func = "gradient_surgery_descent"
    a, b, c = _problem(a, b, c, func)
    theta = _vector(theta0, "theta0", func)
    _same(theta, c, ("theta0", "c"), func)
    lam = validate.positive_number(lam, "lam", func=func)
    lr = validate.positive_number(lr, "lr", func=func)
    rate = _rate(rate, func)
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"{func}: steps must be a positive integer, got {steps!r}")
    if isinstance(direction, str):
        if direction not in DIRECTIONS:
            raise ValueError(
                f"{func}: direction must be one of {tuple(DIRECTIONS)} or a callable, "
                f"got {direction!r}"
            )
        step_direction = DIRECTIONS[direction]
    elif callable(direction):
        step_direction = direction
    else:
        raise ValueError(f"{func}: direction must be a name or a callable, got {direction!r}")
    xp = array_namespace(a, b, c, theta)
    at = xp.matrix_transpose(a)
    hessian = xp.matmul(at, a)
    atb = xp.matmul(at, b[..., None])[..., 0]

    def train_gradient(t: Any) -> Any:
        return xp.matmul(hessian, t[..., None])[..., 0] - atb

    ema = train_gradient(theta)
    for _ in range(steps):
        g_train = train_gradient(theta)
        ema = (1.0 - rate) * ema + rate * g_train
        theta = theta - lr * step_direction(g_train, theta - c, ema, lam)
    return theta


# --------------------------------------------------------------------------- claim

ROWS, COLUMNS, RANK = 4, 6, 3
LAM, LR, RATE, STEPS = 1.0, 0.03, 0.1, 2000
r"""Toy constants: :math:`A\in\mathbb R^{4\times6}` of rank 3 with non-zero singular values
in [0.5, 1.5], :math:`\lambda=1`, step 0.03, EMA rate 0.1, T = 2000 steps. The step is
below :math:`2/(s_{\max}^2+2\lambda)=0.47`, so the plain sum contracts by
:math:`1-\text{lr}\,\lambda` per step; :math:`0.97^{2000}<10^{-26}`."""
MUCH_CLOSER = 0.1
r"""'Much closer' made quantitative: at most a tenth (an order of magnitude) of the plain
sum's distance :math:`\|\theta_\lambda-\theta^\dagger\|`."""


def _instances(rng: np.random.Generator, count: int) -> tuple[np.ndarray, ...]:
    """Rank-deficient A (rank 3 of 4 x 6), b, c and a start theta0, each on axis 0."""
    left = np.linalg.qr(rng.standard_normal((count, ROWS, ROWS)))[0][:, :, :RANK]
    right = np.linalg.qr(rng.standard_normal((count, COLUMNS, COLUMNS)))[0][:, :, :RANK]
    singular = rng.uniform(0.5, 1.5, (count, RANK))
    a = (left * singular[:, None, :]) @ np.swapaxes(right, -1, -2)
    b = rng.standard_normal((count, ROWS))
    c = rng.standard_normal((count, COLUMNS))
    theta0 = rng.standard_normal((count, COLUMNS))
    return a, b, c, theta0


def _host(x: Any) -> np.ndarray:
    return np.asarray(to_numpy(x), dtype=float)


def _ratios(ctx: Context, arrays: tuple[np.ndarray, ...], direction: Any) -> dict[str, Any]:
    a, b, c, theta0 = (ctx.asarray(x) for x in arrays)
    final = _host(
        gradient_surgery_descent(
            a, b, c, theta0, lam=LAM, lr=LR, steps=STEPS, rate=RATE, direction=direction
        )
    )
    dagger = _host(bilevel_solution(a, b, c))
    tikhonov = _host(tikhonov_point(a, b, c, LAM))
    bias = np.linalg.norm(tikhonov - dagger, axis=-1)
    return {
        "ratio": np.linalg.norm(final - dagger, axis=-1) / bias,
        "final": final,
        "dagger": dagger,
        "tikhonov": tikhonov,
        "bias": bias,
    }


@lru_cache(maxsize=8)
def _calibrated_ratios(backend: str, scale: str, seed: int, label: str) -> np.ndarray:
    """Bloop's ratios on the calibration toys of a context (cached: the claim and each
    control share them; they never depend on the candidate)."""
    ctx = Context.create(backend, scale, seed, label=label)
    calibration = _instances(ctx.rng(1), ctx.pick(1024, 8192))
    return _ratios(ctx, calibration, "bloop")["ratio"]


def _project_training_gradient(g_train: Any, g_aux: Any, ema: Any, lam: float) -> Any:
    r"""Control: the surgery the other way round, :math:`\pi(g_{tr};g_{aux})+\lambda g_{aux}`
    (the training gradient loses its component along the auxiliary one)."""
    return _project(g_train, g_aux) + lam * g_aux


@claim(
    "bloop.bilevel-toy",
    paper=PAPER,
    source="Sec. 3 (Bloop: g_tr + lambda pi(g_aux; EMA)); toy derived by this project",
    statement=(
        r"\text{toy: }L_{tr}=\tfrac12\|A\theta-b\|^2\ (\operatorname{rank}A<\min(m,d)),\ "
        r"L_{aux}=\tfrac12\|\theta-c\|^2:\ \text{Bloop ends much closer to }"
        r"\theta^\dagger=A^+b+(I-A^+A)c\ \text{than }g_{tr}+\lambda g_{aux},\ \text{which "
        r"converges to }\theta_\lambda=(A^\top A+\lambda I)^{-1}(A^\top b+\lambda c)"
        r"\ \text{(derived toy; 'much' = 10x, floor calibrated)}"
    ),
    method="numeric",
    provenance="derived",
    notes="A toy of this project; the paper gives no closed-form rate.",
    controls=[
        Control(
            "plain-sum",
            r"g_{tr}+\lambda g_{aux}\ \text{also ends much closer to }\theta^\dagger",
            {"direction": "sum"},
        ),
        Control(
            "project-training-gradient",
            r"\pi(g_{tr};g_{aux})+\lambda g_{aux}\ \text{ends much closer to }\theta^\dagger",
            {"direction": _project_training_gradient},
        ),
    ],
)
def bilevel_toy(ctx: Context, direction: str | Direction = "bloop") -> Evidence:
    r"""Random toys (A of rank 3, 4 x 6), the candidate ``direction`` against a calibrated
    floor of Bloop's distance to :math:`\theta^\dagger`.

    Parts:

    1. :func:`bilevel_solution` against an independent reference, :math:`c+` the
       minimum-norm least-squares solution of :math:`A\delta=b-Ac` (NumPy ``lstsq``):
       both are SVD solves of a problem whose non-zero singular values lie in
       [0.5, 1.5] (condition <= 3, rank gap ~1e15), error <= :math:`16(m+d)\cdot3\,
       \epsilon(2\|b\|+\|c\|)` (a backward-stable solve times the condition number).
    2. The plain sum converges to :math:`\theta_\lambda`: the iteration contracts by
       :math:`q=1-\text{lr}\,\lambda` per step, so
       :math:`\|\theta_T-\theta_\lambda\|\le q^T\|\theta_0-\theta_\lambda\|+r/(\text{lr}
       \lambda)`, with r the rounding of one step,
       :math:`8d\epsilon(\|\theta\|+\text{lr}(\|A^\top A\|\|\theta\|+\|A^\top b\|+\lambda
       \|\theta\|+\lambda\|c\|))` at :math:`\|\theta\|\le\|\theta_\lambda\|+
       \|\theta_0-\theta_\lambda\|`, plus :math:`16d\,\kappa\,\epsilon\|\theta_\lambda\|`
       for the solve of :math:`\theta_\lambda` (:math:`\kappa\le3.25`).
    3. Calibration (the paper gives no rate): Bloop runs on ``ctx.pick(1024, 8192)``
       calibration toys from an independent stream; the calibrated floor
       :math:`\rho` is the largest ratio :math:`\|\theta_T-\theta^\dagger\|/
       \|\theta_\lambda-\theta^\dagger\|` among them. "Much closer" requires
       :math:`\rho\le1/10` (:data:`MUCH_CLOSER`).
    4. The candidate direction runs on ``ctx.pick(8, 64)`` test toys; every ratio must
       be <= :math:`\rho`. For Bloop itself the ratios are exchangeable with the
       calibration ratios, so a test ratio exceeds their maximum with probability
       <= n_test/(n_cal + n_test) = 0.78% (distribution-free; the family-wise level
       of the claim's only random part).
    """
    test = _instances(ctx.rng(2), ctx.pick(8, 64))
    a, b, c, theta0 = test

    parts: dict[str, Evidence] = {}
    # 1. the bilevel solution against lstsq
    dagger = _host(bilevel_solution(ctx.asarray(a), ctx.asarray(b), ctx.asarray(c)))
    reference = c + np.stack(
        [np.linalg.lstsq(a[i], b[i] - a[i] @ c[i], rcond=RANK_RTOL)[0] for i in range(a.shape[0])]
    )
    scale = 2 * np.linalg.norm(b, axis=-1) + np.linalg.norm(c, axis=-1)
    parts["theta_dagger = c + lstsq(A, b - A c)"] = checks.compare(
        dagger, reference, atol=16 * (ROWS + COLUMNS) * 3 * EPS * scale, inputs={"A": a}
    )

    # 2. the plain sum converges to the Tikhonov point
    plain = _ratios(ctx, test, "sum")
    tikhonov = plain["tikhonov"]
    start = np.linalg.norm(theta0 - tikhonov, axis=-1)
    radius = np.linalg.norm(tikhonov, axis=-1) + start
    hessian_norm = np.linalg.norm(a, ord=2, axis=(-2, -1)) ** 2
    atb = np.linalg.norm(np.einsum("nij,ni->nj", a, b), axis=-1)
    c_norm = np.linalg.norm(c, axis=-1)
    per_step = (
        8 * COLUMNS * EPS * (radius + LR * (hessian_norm * radius + atb + LAM * (radius + c_norm)))
    )
    contraction = (1 - LR * LAM) ** STEPS
    allowed = contraction * start + per_step / (LR * LAM) + 16 * COLUMNS * 3.25 * EPS * radius
    parts["plain sum -> Tikhonov point"] = checks.compare(
        plain["final"], tikhonov, atol=allowed, inputs={"A": a, "b": b, "c": c}
    )

    # 3. calibration of Bloop's floor
    calibrated = _calibrated_ratios(ctx.backend, ctx.scale, ctx.seed, ctx.label)
    floor = float(np.max(calibrated))
    parts["calibrated floor <= 1/10 (much closer)"] = checks.nonnegative(
        np.array([MUCH_CLOSER - floor]),
        inputs={"floor": np.array([floor])},
    )

    # 4. the candidate on the test toys against the floor
    candidate = plain if direction == "sum" else _ratios(ctx, test, direction)
    parts["candidate ratio <= calibrated floor"] = checks.nonnegative(
        floor - candidate["ratio"], inputs={"A": a, "b": b, "c": c, "theta0": theta0}
    )
    evidence = checks.combine(parts)
    evidence.details.update(
        {
            "calibrated floor (max ratio)": floor,
            "calibration median ratio": float(np.median(calibrated)),
            "candidate max ratio": float(np.max(candidate["ratio"])),
            "false-refutation level": ctx.pick(8, 64) / (ctx.pick(8, 64) + ctx.pick(1024, 8192)),
            "min bias |theta_lambda - theta_dagger|": float(np.min(plain["bias"])),
        }
    )
    return evidence
