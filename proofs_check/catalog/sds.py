r"""Score distillation sampling as a KL gradient (Poole et al., *DreamFusion*, ICLR 2023).

Claim ``sds.kl-gradient-gaussian`` of ``shared/claims/catalog.md`` §82 (Appendix
identity; the toy is derived). In 1-D with data :math:`N(\mu,s^2)`, the diffused
marginal is :math:`p(z_t)=N(\alpha_t\mu,v)`, :math:`v=\alpha_t^2s^2+\sigma_t^2`, with
exact noise prediction :math:`\hat\varepsilon(z_t)=\sigma_t(z_t-\alpha_t\mu)/v`. For a
rendered "image" :math:`x=\theta` and :math:`z_t=\alpha_tx+\sigma_t\varepsilon`,

.. math::
    \mathbb E_\varepsilon[w(t)(\hat\varepsilon(z_t)-\varepsilon)]\,\partial x/\partial\theta
    =\frac{\sigma_t}{\alpha_t}w(t)\,\partial_\theta
    \mathrm{KL}\big(N(\alpha_tx,\sigma_t^2)\,\|\,N(\alpha_t\mu,v)\big)
    =\frac{w(t)\sigma_t\alpha_t(x-\mu)}{v}.

The check integrates against the Gaussian density in sympy, differentiates the
closed-form Gaussian KL, and solves for the stationary point of SDS descent
(:math:`x=\mu`, the mode). The control drops the factor :math:`\sigma_t/\alpha_t`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import sympy

from proofs_check.derivation import Derivation, Equal
from theorycheck import checks
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "sds"
"""Key of the paper in the seed catalog."""


@lru_cache(maxsize=1)
def _symbols() -> tuple[sympy.Symbol, ...]:
    x, mu, eps = sympy.symbols("x mu epsilon", real=True)
    s, alpha, sigma, w = sympy.symbols("s alpha sigma w", positive=True)
    return x, mu, eps, s, alpha, sigma, w


def sds_gradient() -> sympy.Expr:
    r""":math:`\mathbb E_\varepsilon[w(\hat\varepsilon(\alpha x+\sigma\varepsilon)-\varepsilon)]`
    for :math:`\varepsilon\sim N(0,1)` (``\partial x/\partial\theta=1``).

    The integrand is a polynomial in :math:`\varepsilon`; each power is replaced by its
    exact Gaussian moment :math:`\mathbb E\varepsilon^k=(k-1)!!` (k even), 0 (k odd).
    """
    x, mu, eps, s, alpha, sigma, w = _symbols()
    v = alpha**2 * s**2 + sigma**2
    z = alpha * x + sigma * eps
    eps_hat = sigma * (z - alpha * mu) / v
    poly = sympy.Poly(sympy.expand(w * (eps_hat - eps)), eps)
    return sum(
        (coeff * (sympy.factorial2(k - 1) if k % 2 == 0 else 0) for (k,), coeff in poly.terms()),
        sympy.Integer(0),
    )


def gaussian_kl(m1: Any, v1: Any, m2: Any, v2: Any) -> sympy.Expr:
    r""":math:`\mathrm{KL}(N(m_1,v_1)\|N(m_2,v_2))=\tfrac12[\log(v_2/v_1)+(v_1+(m_1-m_2)^2)/v_2-1]`."""
    return (sympy.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / v2 - 1) / 2


@claim(
    "sds.kl-gradient-gaussian",
    paper=PAPER,
    source="Appendix (SDS as a weighted KL gradient); 1-D Gaussian toy derived",
    statement=(
        r"\mathbb E_{\varepsilon}[w(t)(\hat\varepsilon(z_t;t)-\varepsilon)\partial_\theta x]="
        r"\partial_\theta\tfrac{\sigma_t}{\alpha_t}w(t)\,\mathrm{KL}(q(z_t|x)\|p(z_t))"
        r"=w(t)\sigma_t\alpha_t(x-\mu)/v"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    notes=(
        "The identity is the paper's Appendix statement (numbering unconfirmed); the exact-score "
        "Gaussian toy is derived for this check."
    ),
    controls=[
        Control(
            "no-sigma-over-alpha",
            r"\nabla\mathcal L_{SDS}=w(t)\,\partial_\theta\mathrm{KL}(q\|p) (factor dropped)",
            {"kl_factor": "one"},
        )
    ],
)
def kl_gradient_gaussian(ctx: Context, kl_factor: str = "sigma/alpha") -> Evidence:
    r"""Derivation: Gaussian integral of the SDS integrand, KL derivative, stationary point.

    ``kl_factor`` is the weight in front of :math:`w\,\partial_x\mathrm{KL}`:
    ``"sigma/alpha"`` (the claim) or ``"one"`` (control). Exact sympy arithmetic; no
    tolerance.
    """
    x, mu, _, s, alpha, sigma, w = _symbols()
    v = alpha**2 * s**2 + sigma**2
    factors = {"sigma/alpha": sigma / alpha, "one": sympy.Integer(1)}
    if kl_factor not in factors:
        raise ValueError(f"kl_factor must be one of {sorted(factors)}, got {kl_factor!r}")
    closed = w * sigma * alpha * (x - mu) / v
    sds = sds_gradient()
    kl_grad = (
        factors[kl_factor] * w * sympy.diff(gaussian_kl(alpha * x, sigma**2, alpha * mu, v), x)
    )
    stationary = sympy.solve(sympy.Eq(sds, 0), x)
    evidence = Derivation(
        (
            Equal("E_eps[w (eps_hat - eps)] = w sigma alpha (x - mu)/v", sds, closed),
            Equal("factor * w * d/dx KL(q||p) = w sigma alpha (x - mu)/v", kl_grad, closed),
            Equal("SDS gradient = factor * w * d/dx KL", sds, kl_grad),
        )
    ).check()
    mode = checks.exact(
        stationary == [mu],
        counterexample={"stationary points": str(stationary)},
        details={"stationary points": str(stationary)},
    )
    return checks.combine({"derivation": evidence, "SDS descent fixed point is the mode mu": mode})
