r"""The Gaussian log-Sobolev inequality (PAC-Bayes with gradient norms, NeurIPS 2022).

Claim ``pacgrad.gaussian-lsi`` (``shared/claims/catalog.md`` §21, [unconfirmed numbering]:
the inequality is the standard one that the paper invokes; its lemma number and exact
form in the paper are not confirmed). For :math:`\gamma=N(0,I_d)` and smooth f,

.. math:: \mathrm{Ent}_\gamma(f^2)=\mathbb E[f^2\log f^2]-\mathbb E[f^2]\log\mathbb E[f^2]
          \le C\,\mathbb E_\gamma\|\nabla f\|^2,\qquad C=2,

with equality for :math:`f=e^{\langle a,x\rangle/2}` (both sides
:math:`\tfrac{\|a\|^2}2e^{\|a\|^2/2}`). The check takes the constant C as a keyword
argument; the control passes C = 1. The quadrature helpers are in
:mod:`theory.catalog.pacgrad` (Herbst's bound, ``pacgrad.herbst-mgf``, is there too).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import sympy

from proofs_check.derivation import Derivation, Equal
from theory.catalog.pacgrad import PAPER, dirichlet_energy, gaussian_entropy, gaussian_quadrature
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

UNIT_ROUNDOFF = 2.0**-53
"""float64 unit roundoff u = 1.1e-16."""

NODES = {1: 100, 2: 40}
"""Gauss-Hermite nodes per coordinate by dimension (the error estimate uses twice as many)."""

R = sympy.Symbol("r", positive=True)
r""":math:`\|a\|`: :math:`\langle a,X\rangle=\|a\|Y` with Y ~ N(0, 1) in any dimension d."""


@lru_cache(maxsize=1)
def _equality_case() -> tuple[sympy.Expr, sympy.Expr]:
    r"""sympy integrals for :math:`f=e^{\langle a,x\rangle/2}=e^{rY/2}`: (Ent, energy).

    :math:`\mathbb Ef^2=\mathbb Ee^{rY}`, :math:`\mathbb E f^2\log f^2=\mathbb E[rYe^{rY}]`,
    :math:`\|\nabla f\|^2=\tfrac{r^2}4e^{rY}`, each integrated against the N(0, 1) density.
    """
    y = sympy.Symbol("y", real=True)
    density = sympy.exp(-(y**2) / 2) / sympy.sqrt(2 * sympy.pi)

    def expect(g: sympy.Expr) -> sympy.Expr:
        # convergent for every r > 0, so the convergence conditions are dropped
        integral = sympy.integrate(
            g * density, (y, -sympy.oo, sympy.oo), conds="none", meijerg=True
        )
        return sympy.simplify(integral)

    square = sympy.exp(R * y)
    mean_square = expect(square)
    entropy = sympy.simplify(expect(R * y * square) - mean_square * sympy.log(mean_square))
    energy = expect(R**2 / 4 * square)
    return entropy, energy


# ------------------------------------------------------------------- test functions


def _exponential(a: np.ndarray) -> Callable:
    r""":math:`f=e^{\langle a,x\rangle/2}` (the equality case)."""

    def evaluate(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = np.exp(a @ points.T / 2)
        return values, values[..., None] * a[:, None, :] / 2

    return evaluate


def _cosh(a: np.ndarray) -> Callable:
    r""":math:`f=\cosh(\langle a,x\rangle/2)`."""

    def evaluate(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        half = a @ points.T / 2
        return np.cosh(half), np.sinh(half)[..., None] * a[:, None, :] / 2

    return evaluate


def _sine(b: np.ndarray, w: np.ndarray, phase: np.ndarray) -> Callable:
    r""":math:`f=1+b\sin(\langle w,x\rangle+\phi)`, |b| <= 1/2."""

    def evaluate(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        arg = w @ points.T + phase[:, None]
        values = 1 + b[:, None] * np.sin(arg)
        return values, (b[:, None] * np.cos(arg))[..., None] * w[:, None, :]

    return evaluate


def _radial(c: np.ndarray) -> Callable:
    r""":math:`f=\sqrt{c+\|x\|^2}`."""

    def evaluate(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = np.sqrt(c[:, None] + np.sum(points**2, axis=-1))
        return values, points[None, :, :] / values[..., None]

    return evaluate


def _features(coef: np.ndarray, freq: np.ndarray, phase: np.ndarray) -> Callable:
    r""":math:`f=c_0+\sum_jc_j\cos(w_j^\top x+b_j)` with :math:`c_0=\tfrac32\sum_j|c_j|` (> 0)."""
    offset = 1.5 * np.abs(coef).sum(-1)

    def evaluate(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        arg = np.einsum("bjd,nd->bjn", freq, points) + phase[..., None]
        values = offset[:, None] + np.einsum("bj,bjn->bn", coef, np.cos(arg))
        gradients = -np.einsum("bj,bjn,bjd->bnd", coef, np.sin(arg), freq)
        return values, gradients

    return evaluate


def _sides(
    ctx: Context, evaluate: Callable, dim: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Ent and energy on the backend with the 2n rule, and their error allowances.

    Allowance = :math:`|Q_n-Q_{2n}|` (a posteriori; the integrands are analytic in a
    strip, so the 2n rule is far more accurate than the n rule) + float64 rounding of
    the weighted sums, :math:`8u(\log_2N+8)` times the sums of absolute terms
    (:math:`\mathbb E f^2|\log f^2|+\mathbb Ef^2(1+|\log\mathbb Ef^2|)` for Ent,
    :math:`\mathbb E\|\nabla f\|^2` for the energy).
    """
    found = []
    for n in (NODES[dim], 2 * NODES[dim]):
        points, weights = gaussian_quadrature(n, dim)
        values, gradients = evaluate(points)
        w = ctx.asarray(weights)
        entropy = np.asarray(to_numpy(gaussian_entropy(ctx.asarray(values), w)), dtype=float)
        energy = np.asarray(to_numpy(dirichlet_energy(ctx.asarray(gradients), w)), dtype=float)
        found.append((entropy, energy, values, weights))
    (coarse_ent, coarse_energy, _, _), (entropy, energy, values, weights) = found
    square = values**2
    mean_square = np.sum(weights * square, axis=-1)
    absolute = np.sum(weights * square * np.abs(np.log(square)), axis=-1)
    absolute += mean_square * (1 + np.abs(np.log(mean_square)))
    size = 8 * UNIT_ROUNDOFF * (math.log2(values.shape[-1]) + 8)
    entropy_error = np.abs(entropy - coarse_ent) + size * absolute
    energy_error = np.abs(energy - coarse_energy) + size * energy
    return entropy, energy, entropy_error, energy_error


@claim(
    "pacgrad.gaussian-lsi",
    paper=PAPER,
    source="Sec. 3 (Gaussian log-Sobolev inequality; numbering not confirmed)",
    statement=(
        r"\gamma=N(0,I_d):\ \mathrm{Ent}_\gamma(f^2)=\mathbb E[f^2\log f^2]-\mathbb E[f^2]"
        r"\log\mathbb E[f^2]\le2\,\mathbb E_\gamma\|\nabla f\|^2,\ \text{equality for }"
        r"f=e^{\langle a,x\rangle/2}\ (\text{both sides }\tfrac{\|a\|^2}2e^{\|a\|^2/2})"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    notes="The standard Gaussian LSI as the paper uses it; the paper's lemma number and exact "
    "form are not confirmed.",
    controls=[
        Control(
            "constant-one",
            r"\mathrm{Ent}_\gamma(f^2)\le\mathbb E_\gamma\|\nabla f\|^2",
            {"constant": 1.0},
        )
    ],
)
def gaussian_lsi(ctx: Context, constant: float = 2.0) -> Evidence:
    r"""sympy for the equality case; Gauss-Hermite quadrature for the inequality.

    Parts:

    1. sympy (Gaussian integrals in :math:`r=\|a\|`, valid in every d since
       :math:`\langle a,X\rangle\sim N(0,r^2)`): for :math:`f=e^{\langle a,x\rangle/2}`,
       :math:`\mathrm{Ent}=\tfrac{r^2}2e^{r^2/2}` and C :math:`\mathbb E\|\nabla f\|^2=
       \tfrac{r^2}2e^{r^2/2}` (so Ent = C E|grad f|^2: the constant is attained);
    2. quadrature, d = 1 and 2, random instances of
       :math:`e^{\langle a,x\rangle/2}` and :math:`\cosh(\langle a,x\rangle/2)`
       (:math:`\|a\|\in[0.3,2]`), :math:`1+b\sin(\langle w,x\rangle+\phi)`
       (:math:`|b|\le\tfrac12`, :math:`\|w\|\le1.5`), :math:`\sqrt{c+\|x\|^2}`
       (:math:`c\in[0.5,2]`), and positive random cosine features (d = 2): slack
       :math:`C\,\mathbb E\|\nabla f\|^2-\mathrm{Ent}\ge-(C\,\epsilon_{energy}+\epsilon_{Ent})`,
       with the allowances of :func:`_sides` (quadrature estimate + rounding).
    """
    parts: dict[str, Evidence] = {}
    entropy, energy = _equality_case()
    value = R**2 / 2 * sympy.exp(R**2 / 2)
    c = sympy.nsimplify(constant)
    parts["sympy: equality case f = exp(<a,x>/2)"] = Derivation(
        (
            Equal("Ent(f^2) = (r^2/2) e^{r^2/2}", entropy, value),
            Equal("C E|grad f|^2 = (r^2/2) e^{r^2/2}", c * energy, value),
        )
    ).check()

    rng = ctx.rng(0)
    count = ctx.pick(20, 200)
    for dim in (1, 2):
        directions = rng.standard_normal((count, dim))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        a = directions * rng.uniform(0.3, 2.0, (count, 1))
        w = directions * rng.uniform(0.1, 1.5, (count, 1))
        b = rng.uniform(-0.5, 0.5, count)
        phase = rng.uniform(0, 2 * np.pi, count)
        c_radial = rng.uniform(0.5, 2.0, count)
        cases = {
            "exp(<a,x>/2)": (_exponential(a), {"a": a}),
            "cosh(<a,x>/2)": (_cosh(a), {"a": a}),
            "1 + b sin(<w,x> + phi)": (_sine(b, w, phase), {"b": b, "w": w, "phi": phase}),
            "sqrt(c + |x|^2)": (_radial(c_radial), {"c": c_radial}),
        }
        if dim == 2:
            coef = rng.uniform(-1, 1, (count, 3))
            freq = rng.standard_normal((count, 3, 2))
            shift = rng.uniform(0, 2 * np.pi, (count, 3))
            cases["positive cosine features"] = (
                _features(coef, freq, shift),
                {"c": coef, "w": freq, "b": shift},
            )
        for name, (evaluate, inputs) in cases.items():
            ent, energy_value, ent_error, energy_error = _sides(ctx, evaluate, dim)
            slack = constant * energy_value - ent
            parts[f"d={dim}, f = {name}"] = checks.nonnegative(
                slack + constant * energy_error + ent_error, inputs=inputs
            )
    return checks.combine(parts)
