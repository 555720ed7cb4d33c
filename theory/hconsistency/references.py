r"""Independent references for the H-consistency checks (NumPy, SciPy, mpmath).

Nothing here shares code with :mod:`theory.hconsistency.losses` or
:mod:`~theory.hconsistency.transformations`: a check compares the implementation on
the backend under test with a reference computed another way.

- :func:`reference_losses`, :func:`reference_infimum`, :func:`reference_transformation`:
  the spec's minimal reference implementation (§9), in NumPy/SciPy and mpmath.
- :func:`minimised_risk`: :math:`\inf_h\sum_yp_y\ell_\tau(h,y)` by L-BFGS-B from several
  starts (the numerical side of ``hcons.cstar.closed_form``).
- :func:`random_instances`, :func:`structured_instances`: test pairs (p, h) of the
  spec's "How to check" (a), and the known hard instances (tight, tie, P13).
- :func:`adversarial_search`: the empirical optimal transformation
  :math:`\widehat{\mathcal T}_n(t)` of "How to check" (a)/(b), SLSQP over
  :math:`p=\mathrm{softmax}(z)` and scores :math:`h_{\mathsf h}=0`, others
  :math:`-\mathrm{softplus}(g)`.
- :func:`inf_sup_transformation`: the [MMZ23b] characterisation of
  ``hcons.proof.two_coordinate``, evaluated numerically.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import mpmath
import numpy as np
import scipy.optimize
import scipy.special

TIE_EPSILON = 1e-9
"""Score advantage that realises a tie-break strictly (pitfall P1)."""

FAR_SCORE = -60.0
"""Score standing in for -inf in float64 instances (spec (c))."""

SCORE_BOX = 40.0
"""Bound on the optimisation variables of the searches: e^-80 is below any tolerance."""


# --------------------------------------------------------------------------- plain formulas


def reference_phi(s: np.ndarray, tau: float) -> np.ndarray:
    r""":math:`\varphi_\tau(s)` written directly from the spec (no log-domain tricks)."""
    with np.errstate(divide="ignore", over="ignore"):
        if tau == 1.0:
            return -np.log(s)
        return (np.power(s, tau - 1.0) - 1.0) / (1.0 - tau)


def reference_losses(h: np.ndarray, tau: float) -> np.ndarray:
    r"""All losses :math:`\varphi_\tau(s_y(h))` with SciPy's softmax (shape of h)."""
    return reference_phi(scipy.special.softmax(h, axis=-1), tau)


def reference_infimum(p: np.ndarray, tau: float) -> np.ndarray:
    r""":math:`\mathcal C^*_\tau(p)` by the spec's §9 formula (``xlogy`` for the entropy)."""
    p = np.asarray(p, dtype=float)
    if tau == 1.0:
        return -np.sum(scipy.special.xlogy(p, p), axis=-1)
    if tau < 2.0:
        a = 1.0 / (2.0 - tau)
        return (np.sum(p**a, axis=-1) ** (2.0 - tau) - 1.0) / (1.0 - tau)
    return (1.0 - p.max(axis=-1)) / (tau - 1.0)


def reference_regret(p: np.ndarray, h: np.ndarray, tau: float) -> np.ndarray:
    r""":math:`\sum_yp_y\varphi_\tau(s_y)-\mathcal C^*_\tau(p)`, zero-probability labels dropped."""
    losses = reference_losses(h, tau)
    risk = np.sum(np.where(p > 0, p * np.where(p > 0, losses, 0.0), 0.0), axis=-1)
    return risk - reference_infimum(p, tau)


def reference_prediction(h: np.ndarray) -> np.ndarray:
    """The largest index among the maximal scores, by masking (not by flipping)."""
    top = h.max(axis=-1, keepdims=True)
    return np.where(h == top, np.arange(h.shape[-1]), -1).max(axis=-1)


def reference_transformation(t: float, tau: float, n: int, digits: int = 40) -> float:
    r""":math:`\mathcal T_\tau(t)` in mpmath at ``digits`` significant digits, rounded to float."""
    with mpmath.workdps(digits):
        t_mp = mpmath.mpf(t)
        tau_mp = mpmath.mpf(tau)
        if tau == 1.0:
            tail = (1 - t_mp) / 2 * mpmath.log(1 - t_mp) if t_mp < 1 else mpmath.mpf(0)
            return float((1 + t_mp) / 2 * mpmath.log(1 + t_mp) + tail)
        if tau >= 2.0:
            return float(t_mp / ((tau_mp - 1) * mpmath.mpf(n) ** (tau_mp - 1)))
        a = 1 / (2 - tau_mp)
        mean = ((1 + t_mp) ** a + (1 - t_mp) ** a) / 2
        if tau < 1.0:
            return float(2 ** (1 - tau_mp) / (1 - tau_mp) * (1 - mean ** (2 - tau_mp)))
        return float((mean ** (2 - tau_mp) - 1) / ((tau_mp - 1) * mpmath.mpf(n) ** (tau_mp - 1)))


# --------------------------------------------------------------------------- BLAS threads

_BLAS_THREAD_SYMBOLS = (
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
)


def _loaded_openblas() -> list[tuple[object, object]]:
    """(get, set) thread-count functions of every OpenBLAS loaded in this process (Linux)."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {
                line.split()[-1]
                for line in maps
                if "openblas" in line.lower() and ".so" in line.split()[-1]
            }
    except OSError:
        return []
    found = []
    for path in sorted(paths):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in _BLAS_THREAD_SYMBOLS:
            getter = getattr(library, get_name, None)
            setter = getattr(library, set_name, None)
            if getter is not None and setter is not None:
                getter.restype = ctypes.c_int
                setter.argtypes = [ctypes.c_int]
                found.append((getter, setter))
                break
    return found


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run tiny dense linear algebra (SLSQP's subproblems) on one OpenBLAS thread.

    SLSQP factors (2n-1)-sized matrices at every iteration; OpenBLAS threads gain
    nothing there and, on a loaded machine, their hand-offs make each call up to 50x
    slower. The previous thread counts are restored on exit; where no OpenBLAS is
    found (another BLAS, another OS) this does nothing. (The same as
    ``threadpoolctl.threadpool_limits(1, "blas")``, without the dependency.)
    """
    libraries = _loaded_openblas()
    previous = []
    try:
        for getter, setter in libraries:
            previous.append((setter, int(getter())))
            setter(1)
        yield
    finally:
        for setter, count in previous:
            setter(count)


# --------------------------------------------------------------------------- numerical infimum


def _risk_and_gradient(z: np.ndarray, p: np.ndarray, tau: float) -> tuple[float, np.ndarray]:
    r"""``sum_y p_y phi(s_y)`` at s = softmax(z) and its gradient in z.

    :math:`\partial/\partial z_k=w_k-s_k\sum_yw_y`, with
    :math:`w_y=p_y\varphi'(s_y)s_y=-p_ys_y^{\tau-1}`.
    """
    log_s = z - scipy.special.logsumexp(z)
    s = np.exp(log_s)
    with np.errstate(over="ignore"):
        phi = -log_s if tau == 1.0 else np.expm1((tau - 1.0) * log_s) / (1.0 - tau)
        w = -p * np.exp((tau - 1.0) * log_s)
    value = float(np.sum(np.where(p > 0, p * phi, 0.0)))
    return value, w - s * w.sum()


def minimised_risk(
    p: np.ndarray, tau: float, rng: np.random.Generator, starts: int = 4
) -> tuple[float, np.ndarray]:
    r"""Numerical :math:`\inf_h\sum_yp_y\varphi_\tau(s_y(h))` (scores in ``[-40, 40]``).

    L-BFGS-B from the uniform scores and ``starts - 1`` random ones. For
    :math:`\tau\le2` the problem is convex in s and softmax is a diffeomorphism onto
    the open simplex, so every start ends at the same value; for :math:`\tau>2`
    (:math:`\varphi` concave) the minimum over the simplex is at a vertex, so the n
    vertices (scores :math:`40e_k`) are added as starts. The box costs at most
    :math:`e^{-80}` for infima at infinity (P9); the optimiser stops at a relative
    decrease below 1e-14. Returns the best value and its scores.
    """
    p = np.asarray(p, dtype=float)
    n = p.shape[0]
    best_value, best_z = math.inf, np.zeros(n)
    inits = [np.zeros(n)] + [rng.normal(0.0, 2.0, n) for _ in range(starts - 1)]
    if tau >= 2.0:
        inits += [SCORE_BOX * np.eye(n)[k] for k in range(n)]
    for z0 in inits:
        with single_threaded_blas():
            result = scipy.optimize.minimize(
                _risk_and_gradient,
                z0,
                args=(p, tau),
                jac=True,
                method="L-BFGS-B",
                bounds=[(-SCORE_BOX, SCORE_BOX)] * n,
                options={"ftol": 1e-14, "gtol": 1e-11, "maxiter": 3000, "maxcor": 20},
            )
        if result.fun < best_value:
            best_value, best_z = float(result.fun), result.x
    return best_value, best_z


# --------------------------------------------------------------------------- instances


def random_instances(
    rng: np.random.Generator, count: int, num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    r"""Random pairs (p, h) of "How to check" (a), shape (count, n) each, vectorised.

    p ~ Dirichlet(alpha 1) with alpha drawn from {0.1, 0.5, 1, 5} per instance; 15 % made
    sparse (a random set of labels zeroed, at least one kept), 10 % given a near tie
    (the second largest moved to within 1e-12 of the largest). h ~ N(0, sigma^2 I)
    with sigma from {0.1, 1, 3, 10}, clipped to |h| <= 50; 10 % rounded to integers,
    which creates exact score ties (resolved by the highest-index rule).
    """
    n = num_classes
    alpha = rng.choice([0.1, 0.5, 1.0, 5.0], size=(count, 1))
    p = rng.gamma(alpha, size=(count, n))
    sparse = rng.random(count) < 0.15
    zeroed = (rng.random((count, n)) < 0.5) & sparse[:, None]
    keep = rng.integers(0, n, count)
    zeroed[np.arange(count), keep] = False
    p = np.where(zeroed, 0.0, p)
    p[p.sum(axis=1) == 0, :] = 1.0  # all-underflow guard (probability ~1e-30)
    p = p / p.sum(axis=1, keepdims=True)
    near_tie = rng.random(count) < 0.10
    order = np.argsort(p, axis=1)
    first, second = order[:, -1], order[:, -2]
    rows = np.arange(count)
    jitter = 1e-12 * rng.random(count)
    p[rows[near_tie], second[near_tie]] = p[rows[near_tie], first[near_tie]] - jitter[near_tie]
    p = np.clip(p, 0.0, None)
    p = p / p.sum(axis=1, keepdims=True)
    sigma = rng.choice([0.1, 1.0, 3.0, 10.0], size=(count, 1))
    h = np.clip(sigma * rng.standard_normal((count, n)), -50.0, 50.0)
    rounded = rng.random(count) < 0.10
    h[rounded] = np.round(h[rounded])
    return p, h


@dataclass
class Instances:
    """A named batch of (p, h) pairs of one size n."""

    p: np.ndarray
    h: np.ndarray
    labels: list[str] = field(default_factory=list)


def tight_binary_instance(t: float, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    r"""The attaining instance of "How to check" (c), strictly tie-broken.

    :math:`p_{\hat y}=(1-t)/2` (label 0, predicted), :math:`p_{y^\star}=(1+t)/2`
    (label 1), other labels 0; scores :math:`h_{\hat y}=\varepsilon`, :math:`h_{y^\star}=0`,
    others :math:`-60`.
    """
    p = np.zeros(num_classes)
    p[0], p[1] = (1.0 - t) / 2.0, (1.0 + t) / 2.0
    h = np.full(num_classes, FAR_SCORE)
    h[0], h[1] = TIE_EPSILON, 0.0
    return p, h


def equal_scores_instance(t: float, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    r"""The all-equal-scores instance of ``hcons.tight.mae_small_t`` (needs t <= 1/(n-1)).

    Label 0 is predicted (score :math:`\varepsilon` above the others) with
    :math:`p_0=p^\star-t`, every other label has :math:`p^\star=(1+t)/n`.
    """
    n = num_classes
    top = (1.0 + t) / n
    p = np.full(n, top)
    p[0] = top - t
    h = np.zeros(n)
    h[0] = TIE_EPSILON
    return p, h


def structured_instances(num_classes: int) -> Instances:
    r"""The known hard instances for one n, labelled.

    Tight binary instances for t in {0.05, 0.1, 0.2, 0.3, 0.6, 0.7, 0.9, 0.99, 1-1e-6};
    all-equal-score instances for t in {0.05, 0.1, 0.2, 0.3, 0.5, 1/(n-1)} where
    t <= 1/(n-1) (this is the spec's GCE/MAE instance at n = 10, t = 0.1); for n = 2
    the P13 instances :math:`p=(1-10^{-12},10^{-12})` and :math:`(1,2.5\times10^{-22})`
    with the tiny class predicted.
    """
    n = num_classes
    rows_p, rows_h, labels = [], [], []
    for t in (0.05, 0.1, 0.2, 0.3, 0.6, 0.7, 0.9, 0.99, 1.0 - 1e-6):
        p, h = tight_binary_instance(t, n)
        rows_p.append(p)
        rows_h.append(h)
        labels.append(f"tight binary t={t}")
    for t in (0.05, 0.1, 0.2, 0.3, 0.5, 1.0 / (n - 1)):
        if t <= 1.0 / (n - 1) + 1e-15:
            p, h = equal_scores_instance(t, n)
            rows_p.append(p)
            rows_h.append(h)
            labels.append(f"equal scores t={t:.6g}")
    if n == 2:
        for small in (1e-12, 2.5e-22):
            rows_p.append(np.array([small, 1.0 - small]))
            rows_h.append(np.array([TIE_EPSILON, 0.0]))
            labels.append(f"P13 p=(1-{small:g}, {small:g}), tiny class predicted")
    return Instances(np.stack(rows_p), np.stack(rows_h), labels)


# --------------------------------------------------------------------------- adversarial search


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _log_normalise(x: np.ndarray) -> np.ndarray:
    """``x - logsumexp(x)`` for a 1-D vector (plain NumPy: the searches call it often)."""
    shifted = x - x.max()
    return shifted - math.log(float(np.exp(shifted).sum()))


def _unpack(x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(p, h) of a search vector: p = softmax(z), h = (0, -softplus(g))."""
    z, g = x[:n], x[n:]
    p = np.exp(_log_normalise(z))
    h = np.concatenate([[0.0], -_softplus(g)])
    return p, h


def _search_objective(x: np.ndarray, tau: float, n: int) -> tuple[float, np.ndarray]:
    r"""Regret of (p, h) with :math:`\mathcal C^*` written for the feasible set (p_1 = max p)."""
    z, g = x[:n], x[n:]
    log_p = _log_normalise(z)
    p = np.exp(log_p)
    h = np.concatenate([[0.0], -_softplus(g)])
    log_s = _log_normalise(h)
    s = np.exp(log_s)
    with np.errstate(over="ignore"):
        phi = -log_s if tau == 1.0 else np.expm1((tau - 1.0) * log_s) / (1.0 - tau)
    if tau == 1.0:
        cstar = -float(np.dot(p, log_p))
        d_cstar = -log_p - 1.0
    elif tau >= 2.0:
        cstar = (1.0 - p[1]) / (tau - 1.0)
        d_cstar = np.zeros(n)
        d_cstar[1] = -1.0 / (tau - 1.0)
    else:
        a = 1.0 / (2.0 - tau)
        total = float(np.exp(a * log_p).sum())
        cstar = (total ** (2.0 - tau) - 1.0) / (1.0 - tau)
        d_cstar = total ** (1.0 - tau) * np.exp((a - 1.0) * log_p) / (1.0 - tau)
    value = float(np.dot(p, phi)) - cstar
    grad_p = phi - d_cstar
    grad_z = p * (grad_p - np.dot(p, grad_p))
    w = -p * np.exp((tau - 1.0) * log_s)
    grad_h = w - s * w.sum()
    grad_g = -grad_h[1:] / (1.0 + np.exp(-g))
    return value, np.concatenate([grad_z, grad_g])


def _constraints(n: int, t: float) -> list[dict]:
    r""":math:`p_1-p_0=t` and :math:`p_1\ge p_k` (k >= 2), with Jacobians in (z, g)."""
    zeros = np.zeros(n - 1)

    def probabilities(x: np.ndarray) -> np.ndarray:
        return np.exp(_log_normalise(x[:n]))

    def softmax_jacobian_rows(p: np.ndarray, rows: np.ndarray) -> np.ndarray:
        jac = -np.outer(p[rows], p)
        jac[np.arange(rows.size), rows] += p[rows]
        return jac

    def equality(x: np.ndarray) -> np.ndarray:
        p = probabilities(x)
        return np.array([p[1] - p[0] - t])

    def equality_jac(x: np.ndarray) -> np.ndarray:
        p = probabilities(x)
        rows = softmax_jacobian_rows(p, np.array([1, 0]))
        return np.concatenate([rows[0] - rows[1], zeros])[None, :]

    constraints = [{"type": "eq", "fun": equality, "jac": equality_jac}]
    if n > 2:
        others = np.arange(2, n)

        def inequality(x: np.ndarray) -> np.ndarray:
            p = probabilities(x)
            return p[1] - p[others]

        def inequality_jac(x: np.ndarray) -> np.ndarray:
            p = probabilities(x)
            top = softmax_jacobian_rows(p, np.array([1]))
            rest = softmax_jacobian_rows(p, others)
            return np.concatenate([top - rest, np.zeros((others.size, n - 1))], axis=1)

        constraints.append({"type": "ineq", "fun": inequality, "jac": inequality_jac})
    return constraints


def _encode(p: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Search vector of (p, h) with h_0 = 0 >= others (clipped into the box)."""
    z = np.clip(np.log(np.maximum(p, 1e-300)), -SCORE_BOX, SCORE_BOX)
    gap = np.maximum(-h[1:], 1e-17)
    with np.errstate(over="ignore"):
        g = np.where(gap > 30.0, gap, np.log(np.expm1(gap)))
    return np.concatenate([z, np.clip(g, -SCORE_BOX, SCORE_BOX)])


@dataclass
class SearchResult:
    r"""Outcome of :func:`adversarial_search` for one (tau, n, t).

    Attributes
    ----------
    value : float
        :math:`\widehat{\mathcal T}_n(t)`, the smallest regret found (an upper bound of
        the optimum), recomputed with :func:`reference_regret`.
    t_actual : float
        The 0-1 regret of the best instance (the target t up to the SLSQP
        feasibility, <= 1e-9 away).
    p, h : ndarray
        The best instance; label 0 is predicted, label 1 carries max p.
    instances_p, instances_h : ndarray
        Every feasible end point (for the pointwise check).
    runs, feasible : int
    """

    value: float
    t_actual: float
    p: np.ndarray
    h: np.ndarray
    instances_p: np.ndarray
    instances_h: np.ndarray
    runs: int
    feasible: int


def adversarial_search(
    tau: float, num_classes: int, t: float, seed: np.random.SeedSequence, restarts: int
) -> SearchResult:
    r"""Minimise the surrogate regret at a given 0-1 regret t.

    Constraints :math:`p_{y^\star}-p_{\mathsf h}=t` and :math:`p_{y^\star}=\max p`.

    SLSQP ("How to check" (a)/(b)) over :math:`z\in[-40,40]^n` and
    :math:`g\in[-40,40]^{n-1}` with analytic gradients, from ``restarts`` random starts
    drawn from ``seed`` plus the tight binary instance and the all-equal-scores
    instance. End points violating the constraints by more than 1e-9 are dropped.
    """
    n = num_classes
    rng = np.random.default_rng(seed)
    starts = []
    p_tight, h_tight = tight_binary_instance(t, n)
    starts.append(_encode(p_tight, h_tight))
    if n >= 3:
        rest = (1.0 - 2.0 * max(1e-3, (1.0 - t * (n - 1)) / n) - t) / (n - 2)
        low = max(1e-3, (1.0 - t * (n - 1)) / n)
        p_equal = np.concatenate([[low, low + t], np.full(n - 2, max(rest, 1e-6))])
        p_equal /= p_equal.sum()
        starts.append(_encode(p_equal, np.full(n, -1e-9) * np.r_[0.0, np.ones(n - 1)]))
    for _ in range(restarts):
        scale = rng.choice([0.5, 2.0, 5.0])
        starts.append(np.concatenate([scale * rng.standard_normal(n), rng.normal(0, 3, n - 1)]))
    bounds = [(-SCORE_BOX, SCORE_BOX)] * (2 * n - 1)
    constraints = _constraints(n, t)
    feasible_p, feasible_h = [], []
    for x0 in starts:
        with single_threaded_blas(), np.errstate(over="ignore", invalid="ignore"):
            result = scipy.optimize.minimize(
                _search_objective,
                x0,
                args=(tau, n),
                jac=True,
                method="SLSQP",
                bounds=bounds,
                constraints=constraints,
                options={"maxiter": 300, "ftol": 1e-13},
            )
        p, h = _unpack(result.x, n)
        if abs(p[1] - p[0] - t) <= 1e-9 and p[1] >= p.max() - 1e-12:
            feasible_p.append(p)
            feasible_h.append(h)
    if not feasible_p:  # pragma: no cover - the tight start is always feasible
        raise RuntimeError(f"adversarial search found no feasible point (tau={tau}, n={n})")
    ps, hs = np.stack(feasible_p), np.stack(feasible_h)
    regrets = reference_regret(ps, hs, tau)
    best = int(np.argmin(regrets))
    return SearchResult(
        value=float(regrets[best]),
        t_actual=float(ps[best, 1] - ps[best, 0]),
        p=ps[best],
        h=hs[best],
        instances_p=ps,
        instances_h=hs,
        runs=len(starts),
        feasible=len(feasible_p),
    )


# ------------------------------------------------------------------ inf-sup characterisation


def inner_supremum(tau: float, t: float, sigma: float) -> float:
    r""":math:`\sup_{\mu\in[-\sigma,\sigma]}\tfrac{1+t}2[\varphi(\sigma)-\varphi(\sigma+\mu)]+\tfrac{1-t}2[\varphi(\sigma)-\varphi(\sigma-\mu)]`.

    Bounded Brent maximisation (``xatol`` 1e-12) over the open interval, together with
    the end points :math:`\mu=\pm\sigma` where :math:`\varphi(0)` is finite (:math:`\tau>1`).
    """

    def phi(s: float) -> float:
        if s <= 0.0:
            return math.inf if tau <= 1.0 else 1.0 / (tau - 1.0)
        return -math.log(s) if tau == 1.0 else (s ** (tau - 1.0) - 1.0) / (1.0 - tau)

    def inner(mu: float) -> float:
        right = phi(sigma - mu)
        if math.isinf(right):
            return -math.inf
        return 0.5 * (1.0 + t) * (phi(sigma) - phi(sigma + mu)) + 0.5 * (1.0 - t) * (
            phi(sigma) - right
        )

    result = scipy.optimize.minimize_scalar(
        lambda mu: -inner(mu), bounds=(-sigma, sigma), method="bounded", options={"xatol": 1e-12}
    )
    best = -float(result.fun)
    if tau > 1.0:
        best = max(best, inner(sigma), inner(-sigma))
    return best


def inf_sup_transformation(
    tau: float,
    num_classes: int,
    t: float,
    sigma_points: int = 41,
    sigma_range: tuple[float, float] | None = None,
) -> float:
    r"""The [MMZ23b] characterisation, evaluated numerically.

    .. math::

        \inf_{\sigma\in[1/n,1/2]}\sup_{\mu\in[-\sigma,\sigma]}
        \tfrac{1+t}2[\varphi(\sigma)-\varphi(\sigma+\mu)]+\tfrac{1-t}2[\varphi(\sigma)-\varphi(\sigma-\mu)]

    on a grid of ``sigma_points`` values of :math:`\sigma` (end points included; the
    range may be overridden), the inner supremum by :func:`inner_supremum`.
    Independent of the closed forms.
    """
    low, high = sigma_range if sigma_range is not None else (1.0 / num_classes, 0.5)
    sigmas = np.linspace(low, high, sigma_points) if high > low else np.array([low])
    return float(min(inner_supremum(tau, t, float(sigma)) for sigma in sigmas))


__all__ = [
    "FAR_SCORE",
    "Instances",
    "SCORE_BOX",
    "SearchResult",
    "TIE_EPSILON",
    "adversarial_search",
    "equal_scores_instance",
    "inf_sup_transformation",
    "inner_supremum",
    "minimised_risk",
    "random_instances",
    "reference_infimum",
    "reference_losses",
    "reference_phi",
    "reference_prediction",
    "reference_regret",
    "reference_transformation",
    "structured_instances",
    "tight_binary_instance",
]
