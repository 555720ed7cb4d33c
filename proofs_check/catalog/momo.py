r"""MoMo (Schaipp et al., ICML 2024): with :math:`\beta=0` the update is the capped Polyak step.

Notation of :mod:`theory.catalog.momo`. With :math:`\beta=0` the averages are
:math:`\bar f_k=f_k`, :math:`\bar\gamma_k=\langle g_k,x_k\rangle`, :math:`d_k=g_k`, so
:math:`h_k=f_k` and

.. math:: x_{k+1}=x_k-\min\{\alpha_k,(f_k-f_*)_+/\|g_k\|^2\}g_k\quad(\mathrm{SPS}_{\max}),

which becomes the Polyak step as :math:`\alpha_k\to\infty`. The check takes the
candidate step (a function of sympy symbols that also runs on NumPy arrays) as a
keyword argument; the control passes a false variant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sympy

from proofs_check.derivation import Derivation, Equal
from theory.catalog.momo import PAPER, momo_averages, momo_update
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

UNIT_ROUNDOFF = 2.0**-53
DIMENSION = 2


def _max0(v: Any) -> Any:
    return sympy.Max(v, 0) if isinstance(v, sympy.Basic) else np.maximum(v, 0.0)


def _min(a: Any, b: Any) -> Any:
    if isinstance(a, sympy.Basic) or isinstance(b, sympy.Basic):
        return sympy.Min(a, b)
    return np.minimum(a, b)


def capped_polyak_step(x: Any, g: Any, f: Any, f_star: Any, alpha: Any) -> Any:
    r"""SPS_max: :math:`x-\min\{\alpha,(f-f_*)_+/\|g\|^2\}g` (x, g: lists or (N, n) arrays)."""
    if isinstance(x, list):
        norm2 = sum(gi**2 for gi in g)
        tau = _min(alpha, _max0(f - f_star) / norm2)
        return [xi - tau * gi for xi, gi in zip(x, g, strict=True)]
    norm2 = np.sum(g * g, axis=-1)
    tau = _min(alpha, _max0(f - f_star) / np.where(norm2 > 0, norm2, 1.0))
    return x - np.where(norm2 > 0, tau, 0.0)[..., None] * g


def capped_step_with_norm(x: Any, g: Any, f: Any, f_star: Any, alpha: Any) -> Any:
    r"""Control: :math:`x-\min\{\alpha,(f-f_*)_+/\|g\|\}g`."""
    if isinstance(x, list):
        norm = sympy.sqrt(sum(gi**2 for gi in g))
        tau = _min(alpha, _max0(f - f_star) / norm)
        return [xi - tau * gi for xi, gi in zip(x, g, strict=True)]
    norm = np.linalg.norm(g, axis=-1)
    tau = _min(alpha, _max0(f - f_star) / np.where(norm > 0, norm, 1.0))
    return x - np.where(norm > 0, tau, 0.0)[..., None] * g


def _momo_symbolic(x, g, f, f_star, alpha, beta, f_prev, gamma_prev, d_prev):
    """MoMo's averages and update written out in sympy (Algorithm 1)."""
    f_bar = beta * f_prev + (1 - beta) * f
    gamma_bar = beta * gamma_prev + (1 - beta) * sum(gi * xi for gi, xi in zip(g, x, strict=True))
    d = [beta * dp + (1 - beta) * gi for dp, gi in zip(d_prev, g, strict=True)]
    h = sympy.expand(f_bar + sum(di * xi for di, xi in zip(d, x, strict=True)) - gamma_bar)
    d = [sympy.expand(di) for di in d]
    tau = sympy.Min(alpha, sympy.Max(h - f_star, 0) / sum(di**2 for di in d))
    return [xi - tau * di for xi, di in zip(x, d, strict=True)]


@claim(
    "momo.beta0-is-polyak",
    paper=PAPER,
    source="Algorithm 1 with beta = 0 (Sec. 2)",
    statement=(
        r"\beta=0:\ x_{k+1}=x_k-\min\{\alpha_k,(f_k-f_*)_+/\|g_k\|^2\}g_k\ (\mathrm{SPS}_{\max});"
        r"\ \alpha_k\to\infty:\ \text{Polyak step}"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "norm-not-squared",
            r"\beta=0:\ x_{k+1}=x_k-\min\{\alpha_k,(f_k-f_*)_+/\|g_k\|\}g_k",
            {"step": capped_step_with_norm},
        )
    ],
)
def beta0_is_polyak(ctx: Context, step: Callable[..., Any] = capped_polyak_step) -> Evidence:
    r"""sympy substitution, the backend's MoMo at beta = 0, and linear convergence.

    Symbolic (n = 2, arbitrary previous averages): MoMo's update at :math:`\beta=0`
    minus the candidate is zero in the first coordinate (the numeric part below compares
    every coordinate); at :math:`\alpha=\infty`
    it is the Polyak step :math:`x-(f-f_*)_+g/\|g\|^2`.

    Numeric: on a realisable least-squares problem
    :math:`f(x)=\tfrac1{2m}\|Ax-b\|^2`, :math:`b=Ax^*`, :math:`f_*=0` (m = 40, n = 5),
    full-batch MoMo (``momo_averages`` + ``momo_update`` on the backend, beta = 0,
    :math:`\alpha=10^3`) runs 60 steps from random starts. At each step the backend's
    update equals the candidate at the same point (rtol :math:`64u`: a few dot products
    of 5 terms and one division), and the squared distance to :math:`x^*` contracts by
    the Polyak factor :math:`1-\mu/(4L)` (:math:`\mu,L` the extreme eigenvalues of
    :math:`A^\top A/m`), since :math:`(f-f_*)^2/\|g\|^2\ge(f-f_*)/(2L)\ge\mu\|x-x^*\|^2/(4L)`;
    the contraction allows :math:`64u\|x_k-x^*\|^2` of rounding plus the rounding of
    the iterate, :math:`64u\|x_k\|\|x_k-x^*\|`.
    """
    x = list(sympy.symbols("x1:3", real=True))
    g = list(sympy.symbols("g1:3", real=True))
    d_prev = list(sympy.symbols("d1:3", real=True))
    f, f_star, f_prev, gamma_prev = sympy.symbols("f f_star fbar_prev gammabar_prev", real=True)
    alpha = sympy.Symbol("alpha", positive=True)
    momo = _momo_symbolic(x, g, f, f_star, alpha, sympy.Integer(0), f_prev, gamma_prev, d_prev)
    candidate = step(x, g, f, f_star, alpha)
    steps = [Equal("beta = 0: coordinate 1 equals the candidate", momo[0], candidate[0])]
    norm2 = sum(gi**2 for gi in g)
    polyak = [xi - sympy.Max(f - f_star, 0) / norm2 * gi for xi, gi in zip(x, g, strict=True)]
    steps += [
        Equal(
            "alpha = oo: coordinate 1 is the Polyak step",
            step(x, g, f, f_star, sympy.oo)[0],
            polyak[0],
        )
    ]
    parts: dict[str, Evidence] = {"sympy": Derivation(tuple(steps)).check()}

    rng = ctx.rng(0)
    runs, m, n, iterations = ctx.pick(8, 64), 40, 5, ctx.pick(60, 120)
    a = rng.normal(size=(runs, m, n))
    x_true = rng.normal(size=(runs, n))
    b = np.einsum("rmn,rn->rm", a, x_true)
    hessian = np.einsum("rmi,rmj->rij", a, a) / m
    eigenvalues = np.linalg.eigvalsh(hessian)
    rate = 1 - eigenvalues[:, 0] / (4 * eigenvalues[:, -1])
    x_k = x_true + rng.normal(size=(runs, n)) * 3
    f_bar, gamma_bar, d = np.zeros(runs), np.zeros(runs), np.zeros((runs, n))
    identity, contraction = [], []
    for _ in range(iterations):
        residual = np.einsum("rmn,rn->rm", a, x_k) - b
        loss = np.sum(residual**2, axis=1) / (2 * m)
        grad = np.einsum("rmn,rm->rn", a, residual) / m
        state = momo_averages(
            *(ctx.asarray(v) for v in (f_bar, gamma_bar, d, loss, grad, x_k)), beta=0.0
        )
        f_bar, gamma_bar, d = (np.asarray(to_numpy(v), dtype=float) for v in state)
        x_next = np.asarray(
            to_numpy(
                momo_update(
                    *(
                        ctx.asarray(v)
                        for v in (x_k, d, f_bar, gamma_bar, np.zeros(runs), np.full(runs, 1e3))
                    )
                )
            ),
            dtype=float,
        )
        expected = np.asarray(step(x_k, grad, loss, 0.0, 1e3), dtype=float)
        identity.append(
            64 * UNIT_ROUNDOFF * (np.abs(expected) + np.abs(x_k)) - np.abs(x_next - expected)
        )
        before = np.sum((x_k - x_true) ** 2, axis=1)
        after = np.sum((x_next - x_true) ** 2, axis=1)
        allowance = 64 * UNIT_ROUNDOFF * (before + np.linalg.norm(x_k, axis=1) * np.sqrt(before))
        contraction.append(rate * before - after + allowance)
        x_k = x_next
    inputs = {"x_true": x_true, "rate": rate}
    parts["backend MoMo(beta=0) step = candidate"] = checks.nonnegative(
        np.stack(identity, axis=1), inputs=inputs
    )
    parts["||x_{k+1}-x*||^2 <= (1 - mu/(4L)) ||x_k-x*||^2"] = checks.nonnegative(
        np.stack(contraction, axis=1), inputs=inputs
    )
    final = np.sum((x_k - x_true) ** 2, axis=1) / np.sum(x_true**2, axis=1)
    parts["converged: ||x_K - x*||^2 / ||x*||^2 <= 1e-12"] = checks.nonnegative(
        1e-12 - final, inputs=inputs
    )
    return checks.combine(parts)
