r"""Gaussian functional inequalities behind PAC-Bayes bounds with gradient norms (Gat, Adi,
Schwing & Hazan, *On the Importance of Gradient Norm in PAC-Bayesian Bounds*, NeurIPS 2022).

The paper replaces uniform boundedness and Lipschitzness of the loss by on-average
assumptions via log-Sobolev inequalities; its final constants are not pinned down, so
only two standard ingredients are checked (``shared/claims/catalog.md`` §21, both
[unconfirmed numbering]: the paper's lemma numbers and exact forms are not confirmed).
Under the standard Gaussian :math:`\gamma=N(0,I_d)`:

- ``pacgrad.gaussian-lsi`` (in :mod:`proofs_check.catalog.pacgrad`): the log-Sobolev
  inequality :math:`\mathrm{Ent}_\gamma(f^2)=\mathbb E[f^2\log f^2]-\mathbb E[f^2]
  \log\mathbb E[f^2]\le2\,\mathbb E_\gamma\|\nabla f\|^2`, with equality for
  :math:`f=e^{\langle a,x\rangle/2}`;
- ``pacgrad.herbst-mgf`` (here): Herbst's argument, :math:`\log\mathbb E
  e^{\lambda(f-\mathbb Ef)}\le\lambda^2L^2/2` for L-Lipschitz f, with equality for linear f.

Expectations are computed with probabilists' Gauss-Hermite rules (tensor products in
d = 2) on any array-API namespace; quadrature errors are estimated a posteriori by the
difference between the n-node and 2n-node rules.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.special
import sympy
from numpy.polynomial.hermite_e import hermegauss

from theorycheck import checks, validate
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "pacgrad"
"""Key of the paper in the seed catalog."""

UNIT_ROUNDOFF = 2.0**-53
"""float64 unit roundoff u = 1.1e-16."""


# ------------------------------------------------------------------------ quadrature


def gaussian_quadrature(nodes: int, dim: int = 1) -> tuple[np.ndarray, np.ndarray]:
    r"""The tensor probabilists' Gauss-Hermite rule for :math:`N(0,I_d)`.

    Parameters
    ----------
    nodes : int
        Nodes per coordinate, n >= 1 (exact for polynomials of degree <= 2n - 1 in each
        coordinate).
    dim : int
        d, 1 or more (the rule has :math:`n^d` points).

    Returns
    -------
    points : ndarray, shape (n**d, d)
    weights : ndarray, shape (n**d,)
        Positive, summing to 1: :math:`\mathbb E_\gamma g\approx\sum_iw_ig(x_i)`.
    """
    func = "gaussian_quadrature"
    if not isinstance(nodes, int) or isinstance(nodes, bool) or nodes < 1:
        raise ValueError(f"{func}: nodes must be a positive integer, got {nodes!r}")
    if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
        raise ValueError(f"{func}: dim must be a positive integer, got {dim!r}")
    if nodes**dim > 10**7:
        raise ValueError(f"{func}: nodes**dim = {nodes**dim} points is too many (max 1e7)")
    x, w = hermegauss(nodes)
    w = w / w.sum()
    grids = np.meshgrid(*([x] * dim), indexing="ij")
    points = np.stack([g.ravel() for g in grids], axis=-1)
    weights = np.ones(1)
    for _ in range(dim):
        weights = np.multiply.outer(weights, w).ravel()
    return points, weights


def _weights(weights: Any, size: int, func: str) -> Any:
    weights, xp = validate.real_floating(weights, "weights", func=func)
    if weights.ndim != 1 or weights.shape[0] != size:
        raise ValueError(f"{func}: weights must have shape ({size},), got {tuple(weights.shape)}")
    validate.finite(weights, "weights", func=func, xp=xp)
    validate.on_simplex(weights, "weights", func=func)
    return xp


def _values(values: Any, name: str, func: str) -> tuple[Any, Any]:
    values, xp = validate.real_floating(values, name, func=func)
    validate.axis(values, -1, name, func=func)
    validate.finite(values, name, func=func, xp=xp)
    return values, xp


def gaussian_entropy(f_values: Any, weights: Any) -> Any:
    r""":math:`\mathrm{Ent}_\gamma(f^2)=\mathbb E[f^2\log f^2]-\mathbb E[f^2]\log\mathbb E[f^2]`.

    Parameters
    ----------
    f_values : array, shape (..., N)
        f at the N quadrature points (:math:`0\log0=0`).
    weights : array, shape (N,)
        Quadrature weights of :math:`\gamma` (non-negative, summing to 1).

    Returns
    -------
    array, shape (...)
    """
    func = "gaussian_entropy"
    f_values, xp = _values(f_values, "f_values", func)
    _weights(weights, f_values.shape[-1], func)
    square = f_values * f_values
    safe = xp.where(square > 0, square, 1.0)
    mean = xp.sum(weights * square, axis=-1)
    first = xp.sum(weights * xp.where(square > 0, square * xp.log(safe), 0.0), axis=-1)
    return first - xp.where(mean > 0, mean * xp.log(xp.where(mean > 0, mean, 1.0)), 0.0)


def dirichlet_energy(gradients: Any, weights: Any) -> Any:
    r""":math:`\mathbb E_\gamma\|\nabla f\|^2`.

    Parameters
    ----------
    gradients : array, shape (..., N, d)
        :math:`\nabla f` at the N quadrature points.
    weights : array, shape (N,)

    Returns
    -------
    array, shape (...)
    """
    func = "dirichlet_energy"
    gradients, xp = _values(gradients, "gradients", func)
    if gradients.ndim < 2:
        raise ValueError(f"{func}: gradients must have shape (..., N, d), got {gradients.shape}")
    _weights(weights, gradients.shape[-2], func)
    return xp.sum(weights * xp.sum(gradients * gradients, axis=-1), axis=-1)


def centered_log_mgf(f_values: Any, weights: Any, lam: Any) -> Any:
    r""":math:`\log\mathbb E_\gamma e^{\lambda(f-\mathbb E_\gamma f)}` for each :math:`\lambda`.

    Parameters
    ----------
    f_values : array, shape (..., N)
        f at the N quadrature points.
    weights : array, shape (N,)
        Quadrature weights (non-negative, summing to 1).
    lam : array, shape (M,)
        The :math:`\lambda` values.

    Returns
    -------
    array, shape (..., M)
        A log-sum-exp with weights, shifted by its largest exponent.
    """
    func = "centered_log_mgf"
    f_values, xp = _values(f_values, "f_values", func)
    _weights(weights, f_values.shape[-1], func)
    lam, _ = _values(lam, "lam", func)
    if lam.ndim != 1:
        raise ValueError(f"{func}: lam must be 1-d, got shape {tuple(lam.shape)}")
    mean = xp.sum(weights * f_values, axis=-1, keepdims=True)
    exponent = lam[:, None] * (f_values - mean)[..., None, :]  # (..., M, N)
    top = xp.max(exponent, axis=-1, keepdims=True)
    return top[..., 0] + xp.log(xp.sum(weights * xp.exp(exponent - top), axis=-1))


# -------------------------------------------------------------------- herbst (numeric)

LAMBDAS = np.linspace(-4.0, 4.0, 33)
r""":math:`\lambda` grid of the quadrature parts (:math:`|\lambda|L\le6`: an n = 100 rule
then integrates :math:`e^{\lambda f}` to near machine precision)."""
ABS_LAMBDAS = np.linspace(-10.0, 10.0, 201)
""":math:`\\lambda` grid of the closed-form part (f = |x_1|)."""
NODES = 100
"""Gauss-Hermite nodes per coordinate in d = 1 (the error estimate uses 2n)."""
NODES_2D = 40
"""Nodes per coordinate in d = 2."""


@lru_cache(maxsize=1)
def _linear_log_mgf() -> sympy.Expr:
    r"""sympy: :math:`\log\mathbb E e^{\lambda rY}`, Y ~ N(0, 1) (a linear f with
    :math:`\|a\|=r`, since :math:`\langle a,X\rangle/\|a\|\sim N(0,1)` in any d)."""
    y = sympy.Symbol("y", real=True)
    lam = sympy.Symbol("lambda", real=True)
    r = sympy.Symbol("r", positive=True)
    density = sympy.exp(-(y**2) / 2) / sympy.sqrt(2 * sympy.pi)
    # convergent for every real lambda and r > 0, so the convergence conditions are dropped
    integral = sympy.integrate(
        sympy.exp(lam * r * y) * density, (y, -sympy.oo, sympy.oo), conds="none", meijerg=True
    )
    return sympy.simplify(sympy.log(integral))


def _rounding(f_values: np.ndarray, lam: np.ndarray, points: int) -> np.ndarray:
    r"""float64 error of a centered log-MGF: each exponent :math:`\lambda(f-m)` errs by
    :math:`2u|\lambda|(|f|+|m|)`, the weighted sum of N exponentials by
    :math:`(\log_2N+4)u` relatively; the log turns relative into absolute error. Doubled
    for the two rules compared. Shape (..., M)."""
    size = np.abs(f_values).max(-1) + np.abs(f_values).mean(-1)
    return 4 * UNIT_ROUNDOFF * (np.abs(lam) * size[..., None] + math.log2(points) + 4)


def _case(
    ctx: Context,
    evaluate: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    dim: int,
    nodes: int,
    lam: np.ndarray,
) -> dict[str, np.ndarray]:
    """Log-MGF (backend, 2n rule), its error estimate, and E||grad f|| with its estimate."""
    found = {}
    for n in (nodes, 2 * nodes):
        points, weights = gaussian_quadrature(n, dim)
        values, gradients = evaluate(points)
        log_mgf = centered_log_mgf(ctx.asarray(values), ctx.asarray(weights), ctx.asarray(lam))
        mean_gradient = np.sum(weights * np.linalg.norm(gradients, axis=-1), axis=-1)
        found[n] = (np.asarray(to_numpy(log_mgf), dtype=float), mean_gradient, values)
    (coarse, coarse_mean, _), (fine, fine_mean, values) = found[nodes], found[2 * nodes]
    return {
        "log_mgf": fine,
        "error": np.abs(fine - coarse) + _rounding(values, lam, values.shape[-1]),
        "mean_gradient": fine_mean,
        "mean_gradient_error": np.abs(fine_mean - coarse_mean),
    }


def _linear(a: np.ndarray) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    def evaluate(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = a @ points.T  # (B, N)
        return values, np.broadcast_to(a[:, None, :], (*values.shape, a.shape[1]))

    return evaluate


def _tanh(scale: np.ndarray, slope: np.ndarray) -> Callable:
    def evaluate(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        arg = slope[:, None] * points[None, :, 0]
        values = scale[:, None] * np.tanh(arg)
        derivative = scale[:, None] * slope[:, None] / np.cosh(arg) ** 2
        return values, derivative[..., None]

    return evaluate


def _features(coef: np.ndarray, freq: np.ndarray, phase: np.ndarray) -> Callable:
    """f(x) = sum_j c_j sin(w_j . x + b_j); coef (B, J), freq (B, J, d), phase (B, J)."""

    def evaluate(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        arg = np.einsum("bjd,nd->bjn", freq, points) + phase[..., None]
        values = np.einsum("bj,bjn->bn", coef, np.sin(arg))
        gradients = np.einsum("bj,bjn,bjd->bnd", coef, np.cos(arg), freq)
        return values, gradients

    return evaluate


def _max_of_normals(k: int, nodes: int, lam: np.ndarray) -> dict[str, np.ndarray]:
    r""":math:`M=\max_{i\le k}X_i` has density :math:`k\varphi\Phi^{k-1}`: a 1-d rule with
    weights :math:`w_ik\Phi(t_i)^{k-1}` (renormalised), n and 2n nodes."""
    found = {}
    for n in (nodes, 2 * nodes):
        t, w = gaussian_quadrature(n, 1)
        weights = w * k * scipy.special.ndtr(t[:, 0]) ** (k - 1)
        weights = weights / weights.sum()
        values = t[:, 0][None, :]
        found[n] = (values, weights)
    return found


@claim(
    "pacgrad.herbst-mgf",
    paper=PAPER,
    source="Sec. 3 (Herbst argument from the Gaussian log-Sobolev inequality; numbering "
    "not confirmed)",
    statement=(
        r"f\ L\text{-Lipschitz},\ X\sim N(0,I_d):\ \log\mathbb E e^{\lambda(f(X)-\mathbb Ef(X))}"
        r"\le\frac{\lambda^2L^2}{2}\ \forall\lambda,\ \text{equality for linear }f"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    notes="A standard ingredient of the paper's bound; the paper's exact statement is not "
    "confirmed.",
    controls=[
        Control(
            "quarter-constant",
            r"\log\mathbb E e^{\lambda(f-\mathbb Ef)}\le\lambda^2L^2/4",
            {"factor": 0.25},
        ),
        Control(
            "mean-gradient",
            r"\log\mathbb E e^{\lambda(f-\mathbb Ef)}\le\lambda^2(\mathbb E\|\nabla f\|)^2/2"
            r"\ (\text{on-average gradient norm in place of }L)",
            {"lipschitz": "mean"},
        ),
    ],
)
def herbst_mgf(ctx: Context, factor: float = 0.5, lipschitz: str = "sup") -> Evidence:
    r"""Sub-Gaussian bound ``factor`` :math:`\lambda^2L^2` for several Lipschitz f.

    ``lipschitz="sup"`` uses the Lipschitz constant (the statement); ``"mean"`` uses
    :math:`\mathbb E\|\nabla f\|` (a control). Parts:

    1. sympy: :math:`\log\mathbb Ee^{\lambda rY}=` ``factor`` :math:`\cdot\lambda^2r^2`
       (Y ~ N(0, 1); linear f with :math:`\|a\|=r` in any d: equality);
    2. linear f, d = 1 and 2, random a with :math:`\|a\|\in[0.3,1.5]` (:math:`L=\|a\|`);
    3. :math:`f=|x_1|` (L = 1), closed form :math:`\log\mathbb Ee^{\lambda|X|}=\log2+
       \lambda^2/2+\log\Phi(\lambda)`, :math:`\mathbb E|X|=\sqrt{2/\pi}` (SciPy's
       ``log_ndtr``), :math:`|\lambda|\le10`;
    4. :math:`f=\max_{i\le k}x_i`, k = 2, 5, 20 (L = 1 in the Euclidean norm), through
       the density :math:`k\varphi\Phi^{k-1}` of the maximum;
    5. :math:`f=c\tanh(wx_1)`, w = 1, 2 (:math:`L=cw`, attained at 0);
    6. random features :math:`f=\sum_{j\le4}c_j\sin(w_j^\top x+b_j)` in d = 2, with the
       upper bound :math:`L\le\sum_j|c_j|\|w_j\|` (this weakens the part, never the control).

    Slack ``factor`` :math:`\lambda^2L^2-\log\mathbb Ee^{\lambda(f-\mathbb Ef)}\ge-`tol on
    :math:`\lambda\in[-4,4]` (33 points; [-10, 10] in part 3). Tolerance: the a posteriori
    quadrature error :math:`|Q_n-Q_{2n}|` (n = 100 in d = 1, 40 per axis in d = 2; the
    integrands are entire, so :math:`Q_{2n}` is far more accurate than :math:`Q_n`), plus
    the float64 rounding of a weighted log-sum-exp,
    :math:`4u(|\lambda|(\max|f|+\mathrm{mean}|f|)+\log_2N+4)`, plus, for
    ``lipschitz="mean"``, :math:`2\,\mathrm{factor}\,\lambda^2L\,|\Delta L|` from the
    quadrature error of :math:`\mathbb E\|\nabla f\|`. In part 3 only rounding:
    :math:`8u(\log2+|\log\Phi(\lambda)|+|\lambda|+\lambda^2)`.
    """
    if lipschitz not in ("sup", "mean"):
        raise ValueError(f"herbst_mgf: lipschitz must be 'sup' or 'mean', got {lipschitz!r}")
    rng = ctx.rng(0)
    count = ctx.pick(20, 200)
    parts: dict[str, Evidence] = {}

    lam_s, r = sympy.Symbol("lambda", real=True), sympy.Symbol("r", positive=True)
    difference = sympy.simplify(_linear_log_mgf() - sympy.nsimplify(factor) * lam_s**2 * r**2)
    parts["sympy: linear f attains factor * lambda^2 L^2"] = checks.exact(
        difference == 0,
        residual=float(difference.subs({lam_s: 1, r: 1})) if difference != 0 else None,
        counterexample={"residual": str(difference)},
    )

    def bound_part(case: dict[str, np.ndarray], sup: np.ndarray, inputs: dict) -> Evidence:
        constant = sup if lipschitz == "sup" else case["mean_gradient"]
        bound = factor * LAMBDAS**2 * constant[:, None] ** 2
        tol = case["error"] + 3 * UNIT_ROUNDOFF * bound
        if lipschitz == "mean":
            spread = case["mean_gradient_error"][:, None]
            tol = tol + 2 * factor * LAMBDAS**2 * constant[:, None] * spread
        return checks.nonnegative(bound - case["log_mgf"] + tol, inputs=inputs)

    for dim in (1, 2):
        directions = rng.standard_normal((count, dim))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        a = directions * rng.uniform(0.3, 1.5, (count, 1))
        nodes = NODES if dim == 1 else NODES_2D
        case = _case(ctx, _linear(a), dim, nodes, LAMBDAS)
        parts[f"linear f, d={dim}"] = bound_part(case, np.linalg.norm(a, axis=1), {"a": a})

    # |x_1|: closed form
    # log E e^{lambda(|X| - E|X|)} - lambda^2/2: the lambda^2/2 cancels against the bound
    log_phi = scipy.special.log_ndtr(ABS_LAMBDAS)
    log_mgf_abs = math.log(2) + log_phi - ABS_LAMBDAS * math.sqrt(2 / math.pi)
    size = math.log(2) + np.abs(log_phi) + np.abs(ABS_LAMBDAS) + ABS_LAMBDAS**2
    tol_abs = 8 * UNIT_ROUNDOFF * size
    # with L = 1 and L_mean = E|sign| = 1 the bound is factor * lambda^2
    parts["f = |x_1| (closed form)"] = checks.nonnegative(
        (factor - 0.5) * ABS_LAMBDAS**2 - log_mgf_abs + tol_abs, inputs={"lambda": ABS_LAMBDAS}
    )

    for k in (2, 5, 20):
        rules = _max_of_normals(k, NODES, LAMBDAS)
        results = []
        for values, weights in rules.values():
            log_mgf = centered_log_mgf(
                ctx.asarray(values), ctx.asarray(weights), ctx.asarray(LAMBDAS)
            )
            results.append((np.asarray(to_numpy(log_mgf), dtype=float), values))
        (coarse, _), (fine, values) = results
        case = {
            "log_mgf": fine,
            "error": np.abs(fine - coarse) + _rounding(values, LAMBDAS, values.shape[-1]),
            "mean_gradient": np.ones(1),  # ||grad max|| = 1 almost everywhere
            "mean_gradient_error": np.zeros(1),
        }
        parts[f"f = max of {k} coordinates"] = bound_part(case, np.ones(1), {"k": np.array([k])})

    scale = rng.uniform(0.5, 1.5, count)
    slope = np.repeat([1.0, 2.0], (count + 1) // 2)[:count]
    case = _case(ctx, _tanh(scale, slope), 1, NODES, LAMBDAS)
    parts["f = c tanh(w x_1)"] = bound_part(case, scale * slope, {"c": scale, "w": slope})

    features = 4
    coef = rng.uniform(-1, 1, (count, features)) / features
    freq = rng.standard_normal((count, features, 2))
    phase = rng.uniform(0, 2 * np.pi, (count, features))
    case = _case(ctx, _features(coef, freq, phase), 2, NODES_2D, LAMBDAS)
    lipschitz_bound = np.sum(np.abs(coef) * np.linalg.norm(freq, axis=-1), axis=-1)
    parts["random sine features, d=2"] = bound_part(
        case, lipschitz_bound, {"c": coef, "w": freq, "b": phase}
    )
    return checks.combine(parts)


__all__ = [
    "PAPER",
    "centered_log_mgf",
    "dirichlet_energy",
    "gaussian_entropy",
    "gaussian_quadrature",
]
