r"""Canonical proper losses from Legendre potentials (LegendreTron).

Lam, Walder, Penev & Nock, *LegendreTron: Uprising Proper Multiclass Loss Learning*,
ICML 2023: claims ``legendre.canonical-properness`` and ``legendre.gradient-link`` of
``shared/claims/catalog.md`` §23.

For C classes, a convex (Legendre) potential u on :math:`\mathbb R^{C-1}` whose gradient
maps onto the projected simplex :math:`\tilde\Delta=\{\tilde p\in\mathbb R^{C-1}_{>0}:
\sum\tilde p<1\}` defines the canonical loss :math:`\ell(y,v)=u(v)-\langle\tilde y,v\rangle`
(:math:`\tilde y` the first C - 1 coordinates of the one-hot label); its inverse link
is :math:`\nabla u`. For :math:`u=\mathrm{LSE}^+(v)=\log(1+\sum_ie^{v_i})`,
:math:`\nabla u=\mathrm{softmax}^+(v)=e^{v}/(1+\sum_ie^{v_i})` and the loss is multinomial
logistic regression.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.optimize
import scipy.special

from theorycheck import checks
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim
from theorycheck.validate import finite, real_floating

PAPER = "legendre"
EPS = float(np.finfo(np.float64).eps)


def _scores(v: Any, func: str) -> tuple[Any, Any]:
    v, xp = real_floating(v, "v", func=func)
    if v.ndim == 0 or v.shape[-1] == 0:
        raise ValueError(f"{func}: v must have shape (..., C-1) with C >= 2, got {tuple(v.shape)}")
    finite(v, "v", func=func, xp=xp)
    return v, xp


def lse_plus(v: Any, temperature: float = 1.0) -> Any:
    r"""The potential :math:`u(v)=\tau\log(1+\sum_ie^{v_i/\tau})` (τ = 1: LogSumExp+).

    Parameters
    ----------
    v : array, shape (..., C-1)
    temperature : float
        τ > 0.

    Returns
    -------
    array, shape (...)

    Raises
    ------
    ValueError
        For an empty last axis, non-finite entries or τ <= 0.
    """
    v, xp = _scores(v, "lse_plus")
    if not (isinstance(temperature, int | float) and temperature > 0):
        raise ValueError(f"lse_plus: temperature must be positive, got {temperature!r}")
    scaled = v / temperature
    top = xp.clip(xp.max(scaled, axis=-1), min=0.0)
    inner = xp.exp(-top) + xp.sum(xp.exp(scaled - top[..., None]), axis=-1)
    return temperature * (top + xp.log(inner))


def softmax_plus(v: Any, temperature: float = 1.0) -> Any:
    r"""The inverse canonical link
    :math:`\nabla u=e^{v/\tau}/(1+\sum_ie^{v_i/\tau})\in\tilde\Delta`.

    Same arguments as :func:`lse_plus`; returns shape (..., C-1).
    """
    v, xp = _scores(v, "softmax_plus")
    if not (isinstance(temperature, int | float) and temperature > 0):
        raise ValueError(f"softmax_plus: temperature must be positive, got {temperature!r}")
    scaled = v / temperature
    top = xp.clip(xp.max(scaled, axis=-1, keepdims=True), min=0.0)
    numerators = xp.exp(scaled - top)
    return numerators / (xp.exp(-top) + xp.sum(numerators, axis=-1, keepdims=True))


def canonical_loss(v: Any, label: Any, temperature: float = 1.0) -> Any:
    r""":math:`\ell(y,v)=u(v)-\langle\tilde y,v\rangle` for :math:`u=` :func:`lse_plus`.

    Parameters
    ----------
    v : array, shape (N, C-1)
    label : integer array, shape (N,)
        Classes 0..C-1 (class C-1 is the reference with :math:`\tilde y=0`).
    """
    v, xp = _scores(v, "canonical_loss")
    one_hot = xp.astype(label[:, None] == xp.arange(v.shape[-1])[None, :], v.dtype)
    return lse_plus(v, temperature) - xp.sum(one_hot * v, axis=-1)


# --------------------------------------------------------------------------- properness


def lse_expected_loss(temperature: float) -> Callable[[np.ndarray, np.ndarray], float]:
    r""":math:`\mathbb E_{y\sim p}\ell(y,v)=u(v)-\langle\tilde p,v\rangle` for the scaled
    LSE+ (NumPy)."""

    def value(v: np.ndarray, p_tilde: np.ndarray) -> float:
        scaled = v / temperature
        top = max(float(scaled.max()), 0.0)
        u = temperature * (top + np.log(np.exp(-top) + np.exp(scaled - top).sum()))
        return float(u - p_tilde @ v)

    return value


def linear_score_expected_loss(temperature: float) -> Callable[[np.ndarray, np.ndarray], float]:
    r"""Control: the linear score :math:`\ell(y,v)=-\langle\tilde y,\mathrm{softmax}^+(v)\rangle`,
    expectation :math:`-\langle\tilde p,\mathrm{softmax}^+(v)\rangle` (improper)."""

    def value(v: np.ndarray, p_tilde: np.ndarray) -> float:
        scaled = np.append(v / temperature, 0.0)
        weights = np.exp(scaled - scaled.max())
        return float(-p_tilde @ (weights[:-1] / weights.sum()))

    return value


@claim(
    "legendre.canonical-properness",
    paper=PAPER,
    source="Sec. 3 (canonical proper losses from Legendre functions)",
    statement=(
        r"\ell(y,v)=u(v)-\langle\tilde y,v\rangle:\ \arg\min_v\mathbb E_{y\sim p}\ell(y,v)="
        r"v^\ast\ \text{with}\ \nabla u(v^\ast)=\tilde p;\ "
        r"u=\mathrm{LSE}^+\Rightarrow\text{multinomial logistic}"
    ),
    method="solver",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "linear-score",
            r"\ell(y,v)=-\langle\tilde y,\mathrm{softmax}^+(v)\rangle\ \text{is proper}",
            {"expected_loss": linear_score_expected_loss},
        )
    ],
)
def canonical_properness(
    ctx: Context,
    expected_loss: Callable[[float], Callable[[np.ndarray, np.ndarray], float]] = lse_expected_loss,
) -> Evidence:
    r"""Minimise the expected loss without gradients; the link at the minimiser must be p̃.

    Random interior p (entries >= 0.02/C) for C in {3, 4, 6}, τ in {1, 0.5, 2}. The
    expected loss ``expected_loss(τ)`` (NumPy/SciPy values only) is minimised by BFGS
    from v = 0 with central-difference gradients of those values, so the solver never
    calls the link under test; it stops when the finite-difference gradient, whose
    error is about :math:`\epsilon^{2/3}\approx4\cdot10^{-11}` (central differences),
    is below 1e-9. Then :func:`softmax_plus` (backend) at :math:`v^\ast`, the exact
    gradient of u, must equal p̃ to 1e-6, a hundred times the gradient accuracy. Also
    the backend :func:`canonical_loss` averaged over y ~ p
    equals the expected loss at v* (1e-12), and the backend :func:`lse_plus` is
    midpoint-convex on random pairs.
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for classes in (3, 4, 6):
        for temperature in (1.0, 0.5, 2.0):
            links, targets, averaged, direct = [], [], [], []
            objective = expected_loss(temperature)
            for _ in range(ctx.pick(1, 20)):
                p = 0.98 * rng.dirichlet(np.ones(classes)) + 0.02 / classes
                p_tilde = p[:-1]
                result = scipy.optimize.minimize(
                    objective,
                    np.zeros(classes - 1),
                    args=(p_tilde,),
                    method="BFGS",
                    jac="3-point",
                    options={"gtol": 1e-9, "maxiter": 200},
                )
                v = result.x
                links.append(np.asarray(to_numpy(softmax_plus(ctx.asarray(v), temperature))))
                targets.append(p_tilde)
                labels = np.arange(classes)
                losses = np.asarray(
                    to_numpy(
                        canonical_loss(
                            ctx.asarray(np.tile(v, (classes, 1))), ctx.asarray(labels), temperature
                        )
                    )
                )
                averaged.append(p @ losses)
                direct.append(lse_expected_loss(temperature)(v, p_tilde))
            label = f"C={classes}, tau={temperature}"
            parts[f"{label}: softmax+(v*) = p~"] = checks.compare(
                np.array(links), np.array(targets), atol=1e-6, inputs={"p_tilde": np.array(targets)}
            )
            parts[f"{label}: E_y canonical_loss = u - <p~, v>"] = checks.compare(
                np.array(averaged), np.array(direct), atol=1e-12, rtol=1e-12
            )
    a, b = 3 * rng.standard_normal((2, 200, 4))
    values = [np.asarray(to_numpy(lse_plus(ctx.asarray(x)))) for x in (a, b, (a + b) / 2)]
    # midpoint convexity; each value carries a relative error of a few EPS
    parts["u midpoint-convex"] = checks.nonnegative(
        (values[0] + values[1]) / 2 - values[2], tol=16 * EPS * np.abs(values[2]).max()
    )
    return checks.combine(parts)


# --------------------------------------------------------------------------- gradient-link


def sheared_link(v: Any) -> Any:
    r"""Control: :math:`\mathrm{softmax}^+(Av)` with a fixed non-symmetric invertible A."""
    xp = array_namespace(v)
    size = v.shape[-1]
    shear = np.eye(size) + np.triu(np.full((size, size), 0.8), k=1)
    return softmax_plus(v @ xp.asarray(shear.T))


@claim(
    "legendre.gradient-link",
    paper=PAPER,
    source="Sec. 3 (inverse canonical links are gradients of convex functions)",
    statement=(
        r"\nabla u\ \text{with}\ u\ \text{convex}:\ "
        r"\langle\nabla u(a)-\nabla u(b),a-b\rangle\ge0,\ "
        r"J_{\nabla u}=J_{\nabla u}^\top\succeq0;\ \text{e.g.}\ \mathrm{softmax}^+"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "sheared-softmax-plus",
            r"\mathrm{softmax}^+(Av),\ A\ne A^\top,\ \text{is a valid link}",
            {"link": sheared_link},
        )
    ],
)
def gradient_link(ctx: Context, link: Callable[[Any], Any] = softmax_plus) -> Evidence:
    r"""Central-difference Jacobians of the candidate link (backend) at random points.

    C - 1 in {2, 3, 5}, points with entries of scale 2. Parts: the Jacobian is
    symmetric and positive semi-definite (smallest eigenvalue of its symmetric
    part >= -1e-8), and the link is monotone on random pairs. Step h = 1e-5: the
    central-difference error is below :math:`h^2\max|\partial^3|/6+\epsilon/h\approx
    2\cdot10^{-10}\cdot C+2\cdot10^{-11}`, so tolerance 1e-8; a non-gradient link's
    asymmetry is O(0.1).
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    step = 1e-5
    for size in (2, 3, 5):
        count = ctx.pick(50, 500)
        v = 2 * rng.standard_normal((count, size))
        shifts = step * np.eye(size)
        plus = np.asarray(to_numpy(link(ctx.asarray((v[:, None, :] + shifts).reshape(-1, size)))))
        minus = np.asarray(to_numpy(link(ctx.asarray((v[:, None, :] - shifts).reshape(-1, size)))))
        # jacobian[n, j, i] = d link_i / d v_j -> transpose to [n, i, j]
        jacobian = np.swapaxes(((plus - minus) / (2 * step)).reshape(count, size, size), 1, 2)
        inputs = {"v": v}
        parts[f"C-1={size}: symmetric Jacobian"] = checks.compare(
            jacobian, np.swapaxes(jacobian, 1, 2), atol=1e-8, inputs=inputs
        )
        symmetric = (jacobian + np.swapaxes(jacobian, 1, 2)) / 2
        parts[f"C-1={size}: PSD Jacobian"] = checks.nonnegative(
            np.linalg.eigvalsh(symmetric).min(axis=1), tol=1e-8, inputs=inputs
        )
        w = 2 * rng.standard_normal((count, size))
        gap = np.asarray(to_numpy(link(ctx.asarray(v)))) - np.asarray(
            to_numpy(link(ctx.asarray(w)))
        )
        # a link value is accurate to a few EPS: allow 8 EPS |v - w|_1
        parts[f"C-1={size}: monotone"] = checks.nonnegative(
            np.sum(gap * (v - w), axis=1),
            tol=8 * EPS * np.abs(v - w).sum(axis=1).max(),
            inputs=inputs,
        )
    return checks.combine(parts)
