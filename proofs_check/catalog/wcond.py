r"""Weight conditioning reduces the condition number (Saratchandran, Wang & Lucey, ECCV 2024).

Claim ``wcond.kappa-reduction`` of ``shared/claims/catalog.md`` §109 [unconfirmed
numbering]. A **fragment**, and the paper's conditioning operator is **not confirmed**:
the check is the spec's generic one ("the conditioned matrix has a condition number <=
that of the original on random W, and for a linear least-squares layer the condition
number of the Hessian shrinks accordingly"), run on a **reconstructed** operator, one
Newton-Schulz step on the spectrally normalised weight (see
:mod:`theory.catalog.wcond`). Sympy proves the reduction for that operator
(:math:`\kappa(C(W))=2\kappa^3/(3\kappa^2-1)\le\kappa`) and the Hessian of the
least-squares layer; the backend's operator is then run on random W.

Float tolerances: a backward-stable SVD computes each singular value with an absolute
error of at most :math:`\delta\sigma_{\max}`, :math:`\delta=16(m+n)\epsilon` (a
generous multiple of the usual :math:`p(m,n)\epsilon`), and the product
:math:`XX^\top X` of a matrix of norm 1 adds an error of the same order; a computed
:math:`\kappa` is therefore off by at most a relative :math:`\delta\kappa`, i.e. an
absolute :math:`\delta\kappa^2`. The Gram matrix :math:`W^\top W` squares this:
relative :math:`\delta\kappa^2` on :math:`\kappa(W^\top W)`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import sympy

from proofs_check.derivation import Derivation, Equal
from theory.catalog.wcond import (
    EPS,
    PAPER,
    condition_number,
    conditioned_condition_number,
    least_squares_hessian,
    newton_schulz_conditioning,
    row_equilibration,
)
from theorycheck import checks
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

S = sympy.Symbol("s", positive=True)
KAPPA = sympy.Symbol("kappa", positive=True)
T = sympy.Symbol("t", nonnegative=True)
SHAPES = ((6, 6), (12, 5), (32, 16))
MAX_LOG10_KAPPA = 3.0
"""Spectra of the structured instances: condition numbers log-uniform in [1, 1e3]."""


def singular_value_map(s: Any) -> Any:
    r""":math:`f(s)=\tfrac32s-\tfrac12s^3`, the map of the normalised singular values
    :math:`s=\sigma_i/\sigma_1` under :func:`~theory.catalog.wcond.newton_schulz_conditioning`
    (sympy or NumPy input)."""
    return sympy.Rational(3, 2) * s - s**3 / 2 if isinstance(s, sympy.Basic) else 1.5 * s - s**3 / 2


@lru_cache(maxsize=1)
def _derivation() -> Evidence:
    """The sympy part; it does not depend on the candidate operator (cached)."""
    f = singular_value_map(S)
    kappa_c = sympy.simplify(singular_value_map(sympy.Integer(1)) / singular_value_map(1 / KAPPA))
    gap = sympy.factor(sympy.cancel((KAPPA - kappa_c).subs(KAPPA, 1 + T)))
    steps = (
        Equal(
            "kappa(C(W)) = f(1)/f(1/kappa) = 2 kappa^3/(3 kappa^2 - 1)",
            kappa_c,
            2 * KAPPA**3 / (3 * KAPPA**2 - 1),
        ),
        Equal(
            "kappa - kappa_c = kappa (kappa^2 - 1)/(3 kappa^2 - 1)",
            KAPPA - kappa_c,
            KAPPA * (KAPPA**2 - 1) / (3 * KAPPA**2 - 1),
        ),
        Equal(
            "kappa = 1 + t: kappa - kappa_c = t (t + 1)(t + 2)/(3 t^2 + 6 t + 2)",
            gap,
            T * (T + 1) * (T + 2) / (3 * T**2 + 6 * T + 2),
        ),
    )
    parts: dict[str, Evidence] = {"sympy: closed form": Derivation(steps).check()}
    unit = sympy.Interval(0, 1)
    parts["sympy: f increasing on [0, 1] (order kept), f > 0 on (0, 1]"] = checks.exact(
        bool(sympy.is_increasing(f, unit, S))
        and bool(sympy.is_decreasing(f / S, sympy.Interval.Lopen(0, 1), S))
        and bool((f / S).subs(S, 1) > 0),
        cases=3,
    )
    parts["sympy: kappa - kappa_c >= 0 for kappa = 1 + t >= 1"] = checks.exact(
        bool(gap.is_nonnegative), cases=1
    )
    w = sympy.Matrix(3, 2, sympy.symbols("w0:6", real=True))
    x = sympy.Matrix(sympy.symbols("x0:2", real=True))
    y = sympy.Matrix(sympy.symbols("y0:3", real=True))
    residual = w * x - y
    loss = (residual.T * residual)[0] / 2
    hessian = sympy.hessian(loss, list(x))
    parts["sympy: Hessian of 1/2 |Wx - y|^2 is W^T W (3 x 2)"] = checks.exact(
        sympy.simplify(hessian - least_squares_hessian_symbolic(w)) == sympy.zeros(2, 2), cases=1
    )
    return checks.combine(parts)


def least_squares_hessian_symbolic(w: sympy.Matrix) -> sympy.Matrix:
    r""":math:`W^\top W` for a sympy matrix (the symbolic twin of
    :func:`~theory.catalog.wcond.least_squares_hessian`)."""
    return w.T * w


def _weights(rng: np.random.Generator, count: int, m: int, n: int) -> np.ndarray:
    """Half structured (random singular vectors, log-uniform spectrum with kappa up to
    1e3, random scale 1e-2..1e2, every tenth with kappa = 1), half Gaussian."""
    half = count // 2
    left = np.linalg.qr(rng.standard_normal((half, m, m)))[0][:, :, :n]
    right = np.linalg.qr(rng.standard_normal((half, n, n)))[0]
    log_kappa = rng.uniform(0, MAX_LOG10_KAPPA, (half, 1))
    log_kappa[::10] = 0.0
    exponents = np.sort(rng.uniform(0, 1, (half, n)), axis=1)[:, ::-1]
    exponents[:, 0], exponents[:, -1] = 1.0, 0.0
    spectrum = 10.0 ** (log_kappa * (exponents - 1.0))  # from 1 down to 1/kappa
    scale = 10.0 ** rng.uniform(-2, 2, (half, 1))
    structured = (left * (scale * spectrum)[:, None, :]) @ np.swapaxes(right, -1, -2)
    gaussian = rng.standard_normal((count - half, m, n))
    return np.concatenate([structured, gaussian])


def _host(x: Any) -> np.ndarray:
    return np.asarray(to_numpy(x), dtype=float)


def _unnormalised_step(w: Any) -> Any:
    r"""Control: the Newton-Schulz step without the spectral normalisation,
    :math:`\tfrac32W-\tfrac12WW^\top W`."""
    xp = array_namespace(w)
    return 1.5 * w - 0.5 * xp.matmul(w, xp.matmul(xp.matrix_transpose(w), w))


@claim(
    "wcond.kappa-reduction",
    paper=PAPER,
    source="Sec. 3 (weight conditioning; operator reconstructed, not confirmed; fragment)",
    statement=(
        r"\text{fragment: }\kappa(C(W))\le\kappa(W)\ \text{on random }W,\ "
        r"\kappa\big(\nabla_x^2\tfrac12\|C(W)x-y\|^2\big)=\kappa(C(W))^2\le\kappa(W)^2;\ "
        r"C(W)=\tfrac32X-\tfrac12XX^\top X,\ X=W/\|W\|_2\ \text{(reconstructed operator, "
        r"not confirmed)},\ \kappa(C(W))=\tfrac{2\kappa^3}{3\kappa^2-1}"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    notes="The paper's conditioning operator is not confirmed; the operator is reconstructed.",
    controls=[
        Control(
            "row-equilibration",
            r"\text{the diagonal row scaling }D^{-1}W,\ D=\operatorname{diag}(\|w_i\|),"
            r"\ \text{never increases }\kappa",
            {"operator": row_equilibration},
        ),
        Control(
            "unnormalised-step",
            r"\tfrac32W-\tfrac12WW^\top W\ \text{(no spectral normalisation) never increases }"
            r"\kappa",
            {"operator": _unnormalised_step},
        ),
    ],
)
def kappa_reduction(
    ctx: Context, operator: Callable[[Any], Any] = newton_schulz_conditioning
) -> Evidence:
    r"""Sympy for the reconstructed operator, then the candidate ``operator`` on random W.

    Sympy (independent of the candidate): the normalised singular values map by
    :math:`f(s)=(3s-s^3)/2`, increasing on [0, 1] with f(s)/s decreasing, so
    :math:`\kappa_c=f(1)/f(1/\kappa)=2\kappa^3/(3\kappa^2-1)`; with
    :math:`\kappa=1+t`, :math:`\kappa-\kappa_c=t(t+1)(t+2)/(3t^2+6t+2)\ge0`; the
    Hessian of :math:`\tfrac12\|Wx-y\|^2` in x is :math:`W^\top W`.

    Float, per shape (6x6, 12x5, 32x16), ``ctx.pick(200, 2000)`` matrices (half with
    a log-uniform spectrum, :math:`\kappa\le10^3`, half Gaussian): (1)
    :math:`\kappa(\text{op}(W))\le\kappa(W)+2\delta\kappa^2`; (2)
    :math:`\kappa(\text{op}(W))=2\kappa^3/(3\kappa^2-1)` within :math:`2\delta\kappa^2`;
    (3) :math:`\kappa(H(\text{op}(W)))\le\kappa(H(W))(1+2\delta\kappa^2)` and
    :math:`\kappa(H(W))=\kappa(W)^2` within relative :math:`2\delta\kappa^2`, with
    :math:`H(W)=W^\top W` (tolerances: module docstring).
    """
    parts: dict[str, Evidence] = {"sympy": _derivation()}
    rng = ctx.rng(0)
    for m, n in SHAPES:
        w = _weights(rng, ctx.pick(200, 2000), m, n)
        w_x = ctx.asarray(w)
        conditioned = operator(w_x)
        kappa = _host(condition_number(w_x))
        kappa_c = _host(condition_number(conditioned))
        kappa_h = _host(condition_number(least_squares_hessian(w_x)))
        kappa_hc = _host(condition_number(least_squares_hessian(conditioned)))
        delta = 16 * (m + n) * EPS
        allowance = 2 * delta * kappa**2
        inputs = {"W": w, "kappa": kappa}
        label = f"{m}x{n}"
        parts[f"{label}: kappa(op(W)) <= kappa(W)"] = checks.nonnegative(
            kappa - kappa_c + allowance, inputs=inputs
        )
        parts[f"{label}: kappa(op(W)) = 2 kappa^3/(3 kappa^2 - 1)"] = checks.compare(
            kappa_c, conditioned_condition_number(kappa), atol=allowance, inputs=inputs
        )
        parts[f"{label}: kappa(H(op(W))) <= kappa(H(W))"] = checks.nonnegative(
            kappa_h * (1 + allowance) - kappa_hc, inputs=inputs
        )
        parts[f"{label}: kappa(H(W)) = kappa(W)^2"] = checks.compare(
            kappa_h, kappa**2, atol=2 * allowance * kappa**2, inputs=inputs
        )
    return checks.combine(parts)
