r"""Claims about smooth adversarial comp-sum losses (Mao, Mohri & Zhong, ICML 2023, §5).

Ids (spec ``hcons.adv.<b>`` -> ``hconsistency.adv-<b>``): ``hconsistency.adv-definitions``
(numeric, definitional consistency; the spec marks the formulas [unconfirmed
numbering] and fixes no pass/fail check, so this one checks only what the
definitions imply) and ``hconsistency.adv-upper_bound`` (numeric with certified 1-D
parts, [derived]).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.optimize
import sympy

from theory.hconsistency.adversarial import (
    margin_vector,
    rho_margin,
    rho_margin_comp_sum,
    smooth_adversarial_comp_sum_loss,
    smooth_comp_sum_bound,
)
from theory.hconsistency.losses import comp_sum_loss
from theory.hconsistency.references import single_threaded_blas
from theory.hconsistency.symbolic import certifiable
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.certify import Budget, certify_nonnegative
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "hconsistency"
UNIT_ROUNDOFF = 2.0**-53


def _backend(
    ctx: Context, fn: Callable[..., Any], *arrays: np.ndarray, **kwargs: Any
) -> np.ndarray:
    return np.asarray(to_numpy(fn(*(ctx.asarray(a) for a in arrays), **kwargs)), dtype=float)


def _all_of(parts: dict[str, Evidence]) -> Evidence:
    """:func:`checks.combine`, except that a refuted part makes the whole refuted."""
    evidence = checks.combine(parts)
    if any(not e.holds and not e.inconclusive for e in parts.values()):
        evidence.inconclusive = False
        evidence.holds = False
    return evidence


# =========================================================================== adv-definitions

Tempering = Callable[[np.ndarray, float], np.ndarray]


def divide_by_rho(h: np.ndarray, rho: float) -> np.ndarray:
    r"""The spec: the comp-sum part uses scores at temperature :math:`\rho`, :math:`h/\rho`."""
    return h / rho


def multiply_by_rho(h: np.ndarray, rho: float) -> np.ndarray:
    r"""Control: the temperature multiplies the scores, :math:`h\rho`."""
    return h * rho


@claim(
    "hconsistency.adv-definitions",
    paper=PAPER,
    source="§5, smooth adversarial comp-sum losses",
    statement=(
        r"\tilde\ell_\tau(h,x,y)=\Phi^\tau\big(\sum_{y'\ne y}e^{(h(x,y')-h(x,y))/\rho}\big)"
        r"+\nu\sup_{\|x'-x\|_p\le\gamma}\|\Delta_h(x',y)-\Delta_h(x,y)\|_2"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    notes=(
        "[confirmed] (abstract): smooth adversarial comp-sum losses are comp-sum losses plus "
        "a smooth term and admit H-consistency bounds. The formulas and constants are "
        "[unconfirmed numbering]; only their internal consistency is checked."
    ),
    controls=[
        Control(
            "temperature-multiplies",
            r"comp-sum part at scores h\rho",
            {"tempering": multiply_by_rho},
        )
    ],
)
def adv_definitions(ctx: Context, tempering: Tempering = divide_by_rho) -> Evidence:
    r"""What the definitions imply, on random scores (n in {2, 3, 10}, rho in {0.5, 1, 2}).

    Parts: without a perturbation (x' = x) the smooth loss is the comp-sum loss of
    the tempered scores (1e-12 relative plus 64 u (1 + max|h|/rho) absolute: both are
    log-sum-exps of the same numbers); :math:`\Delta_h(x,y)_y=0` and
    :math:`\Delta_{h+c}=\Delta_h` (exact); the :math:`\rho`-margin loss is at least
    :math:`\Phi^\tau(1)` wherever the adversarial 0-1 loss is 1 (margin <= 0), and the
    penalty term equals :math:`\nu\|\Delta_{h'}-\Delta_h\|_2` (1e-12).
    """
    parts: dict[str, Evidence] = {}
    rng = ctx.rng(0)
    count = ctx.pick(200, 3000)
    for n in (2, 3, 10):
        h = np.clip(3.0 * rng.standard_normal((count, n)), -50, 50)
        y = rng.integers(0, n, count)
        shift = rng.normal(0, 10, (count, 1))
        perturbed = h + 0.3 * rng.standard_normal((count, n))
        margins = np.asarray(to_numpy(margin_vector(ctx.asarray(h), ctx.asarray(y))))
        shifted = np.asarray(to_numpy(margin_vector(ctx.asarray(h + shift), ctx.asarray(y))))
        parts[f"n={n}: Delta at y = 0"] = checks.compare(
            margins[np.arange(count), y], 0.0, inputs={"h": h}
        )
        parts[f"n={n}: Delta shift invariant"] = checks.compare(
            shifted,
            margins,
            atol=4 * UNIT_ROUNDOFF * (1 + np.abs(h).max() + np.abs(shift).max()),
            inputs={"h": h},
        )
        for rho in (0.5, 1.0, 2.0):
            for tau in (0.0, 1.0, 1.5, 2.0):
                smooth = np.asarray(
                    to_numpy(
                        smooth_adversarial_comp_sum_loss(
                            ctx.asarray(h), ctx.asarray(h), ctx.asarray(y), rho, 1.0 / rho, tau
                        )
                    )
                )
                plain = np.asarray(
                    to_numpy(comp_sum_loss(ctx.asarray(tempering(h, rho)), ctx.asarray(y), tau))
                )
                atol = 64 * UNIT_ROUNDOFF * (1 + np.abs(h).max(axis=1) / rho) * (1 + np.abs(plain))
                parts[f"n={n} rho={rho} tau={tau}: no perturbation = comp-sum at h/rho"] = (
                    checks.compare(smooth, plain, rtol=1e-12, atol=atol, inputs={"h": h})
                )
            with_penalty = np.asarray(
                to_numpy(
                    smooth_adversarial_comp_sum_loss(
                        ctx.asarray(h), ctx.asarray(perturbed), ctx.asarray(y), rho, 2.0, 1.0
                    )
                )
            )
            without = np.asarray(
                to_numpy(
                    smooth_adversarial_comp_sum_loss(
                        ctx.asarray(h), ctx.asarray(h), ctx.asarray(y), rho, 2.0, 1.0
                    )
                )
            )
            clean = margins
            moved = np.asarray(to_numpy(margin_vector(ctx.asarray(perturbed), ctx.asarray(y))))
            parts[f"n={n} rho={rho}: penalty = nu ||Delta' - Delta||"] = checks.compare(
                with_penalty - without,
                2.0 * np.linalg.norm(moved - clean, axis=1),
                rtol=1e-12,
                atol=64 * UNIT_ROUNDOFF * (1 + np.abs(with_penalty)),
            )
            others = np.arange(n) != y[:, None]
            v_prime = moved[others].reshape(count, n - 1)
            margin_loss = _backend(ctx, rho_margin_comp_sum, v_prime, rho=rho, tau=1.0)
            adversarial_error = v_prime.min(axis=1) <= 0  # rho_h(x', y) <= 0
            parts[f"n={n} rho={rho}: rho-margin loss >= Phi(1) 1[margin <= 0]"] = (
                checks.nonnegative(
                    margin_loss - math.log(2.0) * adversarial_error,
                    tol=4 * UNIT_ROUNDOFF,
                    inputs={"h": perturbed},
                )
            )
    return _all_of(parts)


# =========================================================================== adv-upper_bound

UPPER_BOUND_TAUS = (1.0, 1.5, 2.0, 3.0)


@claim(
    "hconsistency.adv-upper_bound",
    paper=PAPER,
    source="§5 (definitional)",
    statement=(
        r"\tau\ge1,\ \nu\ge1/\rho:\ \Phi^\tau\big(\sum_{y'}\Phi_\rho(v'_{y'})\big)\le"
        r"\Phi^\tau\big(\sum_{y'}e^{-v_{y'}/\rho}\big)+\nu\|v'-v\|_2"
    ),
    method="numeric",
    provenance="derived",
    notes="Whether the paper's nu equals 1/rho, and which tau it allows, is not confirmed.",
    controls=[
        Control(
            "tau-zero",
            r"the same bound for \tau=0 (sum-exp) with \nu=1/\rho",
            {"taus": (0.0,)},
        )
    ],
)
def adv_upper_bound(ctx: Context, taus: tuple[float, ...] = UPPER_BOUND_TAUS) -> Evidence:
    r"""Certified 1-D parts (i), (ii), then random and locally maximised pairs of margin vectors.

    (i) :math:`\Phi_\rho(v)\le e^{-v/\rho}`: with x = v/rho, :math:`e^{-x}-(1-x)\ge0`
    certified on [0, 1] (touching zero at 0); for v <= 0 the left side is 1 and the
    right :math:`\ge1`, for v >= rho the left side is 0 (float check on random v).
    (ii) :math:`u(1+u)^{-\tau}\le1`: with :math:`w=u/(1+u)\in[0,1)`,
    :math:`1-w(1-w)^{\tau-1}\ge0` certified on [0, 1] (via :math:`w=1-z^K` for a
    fractional exponent), which bounds the gradient norm
    :math:`(1+u)^{-\tau}\|e^{-v/\rho}\|_2/\rho\le u(1+u)^{-\tau}/\rho\le1/\rho`.
    (iii) For each tau, n in {2, 3, 10}, rho in {0.5, 1, 2}, nu = 1/rho: random pairs
    (v, v') and L-BFGS-B local maxima of the violation (at quick scale only for
    n = 10, rho = 1), plus the spec's pair
    (v = log 9, v' = 0, n = 10, rho = 1): violation <= 1e-12 (1 + |rhs|) (both sides are
    a few roundings of values of size |rhs|).
    """
    parts: dict[str, Evidence] = {}
    x = sympy.Symbol("x", positive=True)
    certificate = certify_nonnegative(
        certifiable(sympy.exp(-x) - 1 + x, [x]),
        [(0, 1)],
        budget=Budget(max_boxes=2000, seconds=10.0),
    )
    parts["(i) exp(-x) - (1 - x) >= 0 on [0, 1] (certified)"] = certificate.to_evidence()
    rng = ctx.rng(0)
    v = rng.normal(0, 3, 1000)
    for rho in (0.5, 1.0, 2.0):
        parts[f"(i) float rho={rho}: Phi_rho(v) <= exp(-v/rho)"] = checks.nonnegative(
            np.exp(-v / rho) - _backend(ctx, rho_margin, v, rho=rho),
            tol=4 * UNIT_ROUNDOFF,
            inputs={"v": v},
        )
    z = sympy.Symbol("z", positive=True)
    for tau in taus:
        exponent = Fraction(tau - 1.0).limit_denominator(64)
        k = exponent.denominator
        w = 1 - z**k
        bound = 1 - w * sympy.Pow(z**k, sympy.Rational(exponent.numerator, exponent.denominator))
        bound = sympy.powdenest(bound, force=True)
        certificate = certify_nonnegative(
            certifiable(bound, [z]), [(0, 1)], budget=Budget(max_boxes=2000, seconds=10.0)
        )
        parts[f"(ii) tau={tau}: 1 - w (1-w)^(tau-1) >= 0 on [0, 1] (certified, w = 1 - z^{k})"] = (
            certificate.to_evidence()
        )

    for tau in taus:
        for n in (2, 3, 10):
            for rho in (0.5, 1.0, 2.0):
                nu = 1.0 / rho
                count = ctx.pick(300, 5000)
                clean = rng.normal(0, 2, (count, n - 1))
                perturbed = clean + rng.normal(0, 1, (count, n - 1)) * rng.choice(
                    [0.1, 1.0, 5.0], (count, 1)
                )
                # quick scale: local maxima at one (n, rho) per tau; full: everywhere
                starts = ctx.pick(1 if (n, rho) == (10, 1.0) else 0, 20)
                maxima = _local_maxima(tau, n, rho, nu, rng, starts)
                if n == 10 and rho == 1.0:
                    maxima.append((np.full(9, math.log(9.0)), np.zeros(9)))  # the spec's pair
                if maxima:
                    clean = np.concatenate([clean, np.stack([a for a, _ in maxima])])
                    perturbed = np.concatenate([perturbed, np.stack([b for _, b in maxima])])
                left = _backend(ctx, rho_margin_comp_sum, perturbed, rho=rho, tau=tau)
                right = np.asarray(
                    to_numpy(
                        smooth_comp_sum_bound(
                            ctx.asarray(clean), ctx.asarray(perturbed), rho, nu, tau
                        )
                    )
                )
                parts[f"(iii) tau={tau} n={n} rho={rho}"] = checks.nonnegative(
                    right - left + 1e-12 * (1 + np.abs(right)),
                    inputs={"v": clean, "v_prime": perturbed},
                )
    return _all_of(parts)


def _violation(vector: np.ndarray, tau: float, n: int, rho: float, nu: float) -> float:
    """LHS - RHS of the bound at (v, v') = vector (NumPy reference, for the optimiser)."""
    v, w = vector[: n - 1], vector[n - 1 :]
    margin_sum = np.clip(1.0 - w / rho, 0.0, 1.0).sum()
    exp_sum = np.exp(-v / rho).sum()

    def outer(u: float) -> float:
        return (
            math.log1p(u) if tau == 1.0 else math.expm1((1.0 - tau) * math.log1p(u)) / (1.0 - tau)
        )

    return outer(margin_sum) - outer(exp_sum) - nu * float(np.linalg.norm(w - v))


def _local_maxima(
    tau: float, n: int, rho: float, nu: float, rng: np.random.Generator, starts: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Local maximisers of the violation from random starts (L-BFGS-B in [-20, 20])."""
    found = []
    for _ in range(starts):
        start = rng.normal(0, 2, 2 * (n - 1))
        with single_threaded_blas(), np.errstate(over="ignore"):
            result = scipy.optimize.minimize(
                lambda vector: -_violation(vector, tau, n, rho, nu),
                start,
                method="L-BFGS-B",
                bounds=[(-20.0, 20.0)] * (2 * (n - 1)),
                options={"maxiter": 200},
            )
        found.append((result.x[: n - 1], result.x[n - 1 :]))
    return found


__all__ = ["PAPER", "adv_definitions", "adv_upper_bound"]
