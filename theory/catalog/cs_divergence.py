r"""The Cauchy-Schwarz divergence of Gaussians, and its relation to the KL divergence.

Yu et al., *Cauchy-Schwarz Divergence Information Bottleneck for Regression*, ICLR 2024:
claims ``cs-divergence.gaussian-closed-form`` and ``cs-divergence.vs-kl-gaussian``
([contested]) of ``shared/claims/catalog.md`` §108 (module ``cs_divergence``; the
``cs-ib.*`` claim is in :mod:`theory.catalog.cs_ib`).

.. math::
    D_{CS}(p,q)=-\log\frac{(\int pq)^2}{\int p^2\int q^2},\qquad
    \int N(x;\mu_1,\Sigma_1)N(x;\mu_2,\Sigma_2)\,dx=N(\mu_1;\mu_2,\Sigma_1+\Sigma_2),\qquad
    \int N^2=(4\pi)^{-d/2}|\Sigma|^{-1/2}.

In one dimension :math:`D_{CS}=\log\frac{s_1^2+s_2^2}{2s_1s_2}+\frac{(\mu_1-\mu_2)^2}{s_1^2+s_2^2}`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import sympy

from theorycheck import checks
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim
from theorycheck.validate import finite, real_floating

PAPER = "cs-divergence"
EPS = float(np.finfo(np.float64).eps)


# --------------------------------------------------------------------------- math objects


def _gaussians(mean: Any, cov: Any, func: str, name: str) -> tuple[Any, Any, Any]:
    mean, xp = real_floating(mean, f"mean{name}", func=func)
    cov, _ = real_floating(cov, f"cov{name}", func=func)
    if mean.ndim == 0 or cov.ndim < 2 or tuple(cov.shape[-2:]) != (mean.shape[-1], mean.shape[-1]):
        raise ValueError(
            f"{func}: mean{name} must have shape (..., d) and cov{name} shape (..., d, d), "
            f"got {tuple(mean.shape)} and {tuple(cov.shape)}"
        )
    finite(mean, f"mean{name}", func=func, xp=xp)
    finite(cov, f"cov{name}", func=func, xp=xp)
    asymmetry = float(xp.max(xp.abs(cov - xp.matrix_transpose(cov))))
    if asymmetry > 1e-12 * (1.0 + float(xp.max(xp.abs(cov)))):
        raise ValueError(f"{func}: cov{name} must be symmetric, off by {asymmetry:.3g}")
    smallest = float(xp.min(xp.linalg.eigvalsh(cov)))
    if smallest <= 0:
        raise ValueError(
            f"{func}: cov{name} must be positive definite, has eigenvalue {smallest:.3g}"
        )
    return mean, cov, xp


def _log_normal_density(x: Any, mean: Any, cov: Any, xp: Any) -> Any:
    d = mean.shape[-1]
    gap = (x - mean)[..., None]
    quad = (xp.matrix_transpose(gap) @ xp.linalg.solve(cov, gap))[..., 0, 0]
    return -0.5 * (quad + d * math.log(2 * math.pi) + xp.log(xp.linalg.det(cov)))


def log_cross_integral(mean1: Any, cov1: Any, mean2: Any, cov2: Any) -> Any:
    r""":math:`\log\int N(x;\mu_1,\Sigma_1)N(x;\mu_2,\Sigma_2)dx=
    \log N(\mu_1;\mu_2,\Sigma_1+\Sigma_2)`.

    Parameters
    ----------
    mean1, mean2 : array, shape (..., d)
    cov1, cov2 : array, shape (..., d, d)
        Symmetric positive definite.

    Returns
    -------
    array, shape (...)

    Raises
    ------
    ValueError
        For bad shapes, non-finite entries, or covariances that are not symmetric
        positive definite.
    """
    mean1, cov1, xp = _gaussians(mean1, cov1, "log_cross_integral", "1")
    mean2, cov2, _ = _gaussians(mean2, cov2, "log_cross_integral", "2")
    return _log_normal_density(mean1, mean2, cov1 + cov2, xp)


def log_self_integral(cov: Any) -> Any:
    r""":math:`\log\int N(x;\mu,\Sigma)^2dx=-\frac d2\log(4\pi)-\frac12\log|\Sigma|`."""
    cov, xp = real_floating(cov, "cov", func="log_self_integral")
    d = cov.shape[-1]
    return -0.5 * d * math.log(4 * math.pi) - 0.5 * xp.log(xp.linalg.det(cov))


def cs_divergence_gaussian(mean1: Any, cov1: Any, mean2: Any, cov2: Any) -> Any:
    r""":math:`D_{CS}(N(\mu_1,\Sigma_1),N(\mu_2,\Sigma_2))=-2\log\int pq+\log\int p^2+\log\int q^2`.

    Same arguments as :func:`log_cross_integral`.
    """
    return (
        -2.0 * log_cross_integral(mean1, cov1, mean2, cov2)
        + log_self_integral(cov1)
        + log_self_integral(cov2)
    )


def kl_gaussian(mean1: Any, cov1: Any, mean2: Any, cov2: Any) -> Any:
    r""":math:`D_{KL}(N_1\|N_2)=\frac12[\mathrm{tr}(\Sigma_2^{-1}\Sigma_1)+(\mu_2-\mu_1)^\top
    \Sigma_2^{-1}(\mu_2-\mu_1)-d+\log\frac{|\Sigma_2|}{|\Sigma_1|}]`; arguments as
    :func:`log_cross_integral`."""
    mean1, cov1, xp = _gaussians(mean1, cov1, "kl_gaussian", "1")
    mean2, cov2, _ = _gaussians(mean2, cov2, "kl_gaussian", "2")
    d = mean1.shape[-1]
    solved = xp.linalg.solve(cov2, cov1)
    trace = xp.sum(xp.where(xp.eye(d, dtype=xp.bool), solved, 0.0), axis=(-2, -1))
    gap = (mean2 - mean1)[..., None]
    quad = (xp.matrix_transpose(gap) @ xp.linalg.solve(cov2, gap))[..., 0, 0]
    return 0.5 * (trace + quad - d + xp.log(xp.linalg.det(cov2)) - xp.log(xp.linalg.det(cov1)))


def cs_divergence_1d(mean1: Any, sd1: Any, mean2: Any, sd2: Any) -> Any:
    r"""The one-dimensional closed form
    :math:`\log\frac{s_1^2+s_2^2}{2s_1s_2}+\frac{(\mu_1-\mu_2)^2}{s_1^2+s_2^2}`.

    Raises
    ------
    ValueError
        For a standard deviation that is not positive.
    """
    sd1, xp = real_floating(sd1, "sd1", func="cs_divergence_1d")
    if float(xp.min(sd1)) <= 0 or float(xp.min(sd2)) <= 0:
        raise ValueError("cs_divergence_1d: standard deviations must be positive")
    total = sd1 * sd1 + sd2 * sd2
    return xp.log(total / (2.0 * sd1 * sd2)) + (mean1 - mean2) ** 2 / total


# --------------------------------------------------------------------------- references


def random_gaussians(
    rng: np.random.Generator, count: int, dimension: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of Gaussians: means in [-2, 2]^d, covariances with eigenvalues 0.25 to 4."""
    means = rng.uniform(-2, 2, (2, count, dimension))
    covs = []
    for _ in range(2):
        q, _ = np.linalg.qr(rng.standard_normal((count, dimension, dimension)))
        eig = np.exp(rng.uniform(np.log(0.25), np.log(4.0), (count, dimension)))
        covs.append(q @ (eig[..., None] * np.swapaxes(q, 1, 2)))
    covs = [(c + np.swapaxes(c, 1, 2)) / 2 for c in covs]
    return means[0], covs[0], means[1], covs[1]


def _grid(
    mean1: np.ndarray, mean2: np.ndarray, spread: float, points: int
) -> tuple[np.ndarray, float]:
    centre = (mean1 + mean2) / 2
    half = np.abs(mean1 - mean2).max() / 2 + 12 * spread
    axes = [np.linspace(c - half, c + half, points) for c in centre]
    mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, centre.size)
    return mesh, (axes[0][1] - axes[0][0]) ** centre.size


def _density(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    d = mean.size
    gap = x - mean
    quad = np.einsum("ni,ij,nj->n", gap, np.linalg.inv(cov), gap)
    return np.exp(-0.5 * quad) / np.sqrt((2 * np.pi) ** d * np.linalg.det(cov))


def quadrature_cs(
    mean1: np.ndarray, cov1: np.ndarray, mean2: np.ndarray, cov2: np.ndarray, scale: float = 1.0
) -> float:
    r""":math:`-\log((\int pq)^2/(\int p^2\int q^2))` by the trapezoid rule on a wide grid
    (NumPy), with p multiplied by ``scale``. Gaussians decay fast and are smooth, so the
    trapezoid rule converges spectrally (error about :math:`e^{-2\pi^2s^2/h^2}` for step h
    and standard deviation s): with 12 standard deviations of margin and a step below
    half the smallest standard deviation (4001 points in 1-D, 201 per axis in 2-D, for
    eigenvalues 0.25 to 4 and means in [-2, 2]) its error is below 1e-13."""
    spread = float(np.sqrt(max(np.linalg.eigvalsh(cov1).max(), np.linalg.eigvalsh(cov2).max())))
    points = 4001 if mean1.size == 1 else 201
    mesh, cell = _grid(mean1, mean2, spread, points)
    p = scale * _density(mesh, mean1, cov1)
    q = _density(mesh, mean2, cov2)
    cross, pp, qq = ((a * b).sum() * cell for a, b in ((p, q), (p, p), (q, q)))
    return float(-np.log(cross**2 / (pp * qq)))


def _on_backend(ctx: Context, fn: Callable[..., Any], *arrays: np.ndarray) -> np.ndarray:
    return np.asarray(to_numpy(fn(*(ctx.asarray(a) for a in arrays))), dtype=float)


# --------------------------------------------------------------------------- gaussian-closed-form


def product_cross_integral(mean1: Any, cov1: Any, mean2: Any, cov2: Any) -> Any:
    r"""Control: :math:`N(\mu_1;\mu_2,\Sigma_1\Sigma_2)` (a product of covariances, not the sum)."""
    xp = array_namespace(mean1)
    product = cov1 @ cov2
    product = (product + xp.matrix_transpose(product)) / 2
    return _log_normal_density(mean1, mean2, product, xp)


@claim(
    "cs_divergence.gaussian-closed-form",
    paper=PAPER,
    source="Sec. 2 / App. (CS divergence of Gaussians)",
    statement=(
        r"D_{CS}(p,q)=-\log\frac{(\int pq)^2}{\int p^2\int q^2},\ "
        r"\int N_1N_2=N(\mu_1;\mu_2,\Sigma_1+\Sigma_2),\ \int N^2=(4\pi)^{-d/2}|\Sigma|^{-1/2};\ "
        r"d=1:\ \log\frac{s_1^2+s_2^2}{2s_1s_2}+\frac{(\mu_1-\mu_2)^2}{s_1^2+s_2^2}"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "product-covariance",
            r"\int N_1N_2=N(\mu_1;\mu_2,\Sigma_1\Sigma_2)",
            {"cross": product_cross_integral},
        )
    ],
)
def gaussian_closed_form(ctx: Context, cross: Callable[..., Any] = log_cross_integral) -> Evidence:
    r"""Closed form (backend, with the candidate cross integral) against trapezoid quadrature.

    d = 1 and 2, random pairs (means in [-2, 2], covariance eigenvalues 0.25 to 4).
    Parts: :math:`-2\,` ``cross`` :math:`+\log\int p^2+\log\int q^2` equals the quadrature
    value (atol 1e-10: quadrature below 1e-13, the logs of products of a few
    rounded numbers a few EPS, margin 100x); the 1-D formula :func:`cs_divergence_1d`
    equals :func:`cs_divergence_gaussian` (1e-12); properties of
    :func:`cs_divergence_gaussian`: symmetric (1e-12), non-negative, 0 at p = q
    (atol 1e-12) and above 1e-6 otherwise here; invariance to p -> a p (1-D quadrature
    with a in {0.1, 7}, atol 1e-10).
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for dimension in (1, 2):
        m1, c1, m2, c2 = random_gaussians(rng, ctx.pick(6, 40), dimension)
        inputs = {"mean1": m1, "mean2": m2}
        candidate = (
            -2 * _on_backend(ctx, cross, m1, c1, m2, c2)
            + _on_backend(ctx, log_self_integral, c1)
            + _on_backend(ctx, log_self_integral, c2)
        )
        quadrature = _quadratures(ctx, dimension)
        parts[f"d={dimension}: closed form = quadrature"] = checks.compare(
            candidate, quadrature, atol=1e-10, inputs=inputs
        )
        value = _on_backend(ctx, cs_divergence_gaussian, m1, c1, m2, c2)
        parts[f"d={dimension}: symmetric"] = checks.compare(
            _on_backend(ctx, cs_divergence_gaussian, m2, c2, m1, c1),
            value,
            atol=1e-12,
            inputs=inputs,
        )
        parts[f"d={dimension}: positive for p != q"] = checks.nonnegative(
            value - 1e-6, inputs=inputs
        )
        parts[f"d={dimension}: 0 at p = q"] = checks.compare(
            _on_backend(ctx, cs_divergence_gaussian, m1, c1, m1, c1), 0.0, atol=1e-12, inputs=inputs
        )
        if dimension == 1:
            scaled = np.array(
                [
                    quadrature_cs(a, b, c, d, scale)
                    for a, b, c, d in zip(m1, c1, m2, c2, strict=True)
                    for scale in (0.1, 7.0)
                ]
            )
            parts["d=1: invariant to p -> a p"] = checks.compare(
                scaled, np.repeat(quadrature, 2), atol=1e-10
            )
    m1, c1, m2, c2 = random_gaussians(rng, ctx.pick(100, 1000), 1)
    parts["d=1: one-dimensional formula"] = checks.compare(
        _on_backend(
            ctx, cs_divergence_1d, m1[:, 0], np.sqrt(c1[:, 0, 0]), m2[:, 0], np.sqrt(c2[:, 0, 0])
        ),
        _on_backend(ctx, cs_divergence_gaussian, m1, c1, m2, c2),
        atol=1e-12,
        rtol=1e-12,
    )
    return checks.combine(parts)


@lru_cache(maxsize=8)
def _quadratures(ctx: Context, dimension: int) -> np.ndarray:
    """Quadrature values for the pairs that :func:`gaussian_closed_form` draws (shared with
    its control: they do not depend on the candidate)."""
    rng = ctx.rng(0)
    for d in (1, 2):
        pairs = random_gaussians(rng, ctx.pick(6, 40), d)
        if d == dimension:
            return np.array([quadrature_cs(*args) for args in zip(*pairs, strict=True)])
    raise ValueError(f"no quadrature for dimension {dimension}")


# --------------------------------------------------------------------------- vs-kl-gaussian


def forward_kl(kl_pq: np.ndarray, kl_qp: np.ndarray) -> np.ndarray:
    r""":math:`D_{KL}(p\|q)`: the one-sided bound of the secondary summaries."""
    return kl_pq


def half_forward_kl(kl_pq: np.ndarray, kl_qp: np.ndarray) -> np.ndarray:
    r"""Control: :math:`\frac12D_{KL}(p\|q)` (fails where the covariances are equal)."""
    return kl_pq / 2


GOLDEN = (0.0, 1.0, 2.0, 4.0)
"""The spec's counterexample: p = N(0, 1), q = N(2, 4) (variance 4)."""


@claim(
    "cs_divergence.vs-kl-gaussian",
    paper=PAPER,
    source="Sec. 3 (CS vs KL divergence for Gaussians)",
    statement=r"D_{CS}(p,q)\le D_{KL}(p\|q)\ \text{for Gaussians p, q}",
    method="numeric",
    provenance="contested",
    notes=(
        "Contested: the exact inequality printed in the paper is not confirmed; secondary "
        "summaries state D_CS <= D_KL(p||q), which a probe refutes (p = N(0,1), q = N(2,4): "
        "D_CS = log(5/4) + 4/5 = 1.023 > D_KL = 0.818). The check evaluates that one-sided "
        "statement (refuted) and reports the other side: D_CS = D_KL for equal covariances, "
        "and D_CS <= (KL(p||q) + KL(q||p))/2 and <= max of the two on every trial."
    ),
    controls=[
        Control(
            "reversed", r"D_{CS}(p,q)\ge D_{KL}(p\|q)", {"bound": forward_kl, "relation": "ge"}
        ),
        Control("half-kl", r"D_{CS}(p,q)\le\tfrac12D_{KL}(p\|q)", {"bound": half_forward_kl}),
    ],
)
def vs_kl_gaussian(
    ctx: Context,
    bound: Callable[[np.ndarray, np.ndarray], np.ndarray] = forward_kl,
    relation: str = "le",
) -> Evidence:
    r"""Random Gaussian pairs (d = 1..4) and the golden pair, D_CS against ``bound``.

    Parts: (exact, sympy) at the golden pair, D_CS and ``bound`` are compared exactly
    (:math:`\log(5/4)+4/5` against :math:`\frac12(\log4+\frac14+1-1)` and its reverse);
    (float64, backend) ``relation`` ("le": :math:`D_{CS}\le` bound, "ge": the
    reverse) on 500 random pairs per dimension, tolerance 1e-12 (a few logs and
    solves of well-conditioned 4 x 4 systems). Details: the fraction of violations,
    the largest |D_CS - D_KL| with equal covariances, and whether the symmetrised
    and the max-KL bounds held.
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    m1, v1, m2, v2 = (sympy.Rational(x) for x in GOLDEN)
    s = v1 + v2
    cs_exact = sympy.log(s / (2 * sympy.sqrt(v1 * v2))) + (m1 - m2) ** 2 / s
    kl = lambda ma, va, mb, vb: (va / vb + (ma - mb) ** 2 / vb - 1 + sympy.log(vb / va)) / 2  # noqa: E731
    kl_pq, kl_qp = kl(m1, v1, m2, v2), kl(m2, v2, m1, v1)
    golden_bound = sympy.nsimplify(bound(kl_pq, kl_qp))
    golden_slack = golden_bound - cs_exact if relation == "le" else cs_exact - golden_bound
    golden_value = float(sympy.N(golden_slack, 30))
    parts["golden p = N(0,1), q = N(2,4) (exact)"] = checks.exact(
        golden_value >= 0,
        residual=golden_value,
        counterexample={
            "D_CS": str(sympy.N(cs_exact, 12)),
            "bound": str(sympy.N(golden_bound, 12)),
        },
    )
    violations, trials = 0, 0
    symmetric_ok, max_ok, equal_gap = True, True, 0.0
    for dimension in (1, 2, 3, 4):
        a1, c1, a2, c2 = random_gaussians(rng, ctx.pick(500, 5000), dimension)
        cs = _on_backend(ctx, cs_divergence_gaussian, a1, c1, a2, c2)
        forward = _on_backend(ctx, kl_gaussian, a1, c1, a2, c2)
        backward = _on_backend(ctx, kl_gaussian, a2, c2, a1, c1)
        slack = bound(forward, backward) - cs if relation == "le" else cs - bound(forward, backward)
        parts[f"d={dimension}"] = checks.nonnegative(
            slack, tol=1e-12, inputs={"mean1": a1, "mean2": a2}
        )
        violations += int((slack < -1e-12).sum())
        trials += slack.size
        symmetric_ok &= bool(np.all((forward + backward) / 2 - cs >= -1e-12))
        max_ok &= bool(np.all(np.maximum(forward, backward) - cs >= -1e-12))
        equal = _on_backend(ctx, cs_divergence_gaussian, a1, c1, a2, c1) - _on_backend(
            ctx, kl_gaussian, a1, c1, a2, c1
        )
        equal_gap = max(equal_gap, float(np.abs(equal).max()))
    evidence = checks.combine(parts)
    evidence.details.update(
        {
            "violations": f"{violations} of {trials}",
            "equal covariances: max |D_CS - D_KL|": equal_gap,
            "D_CS <= (KL(p||q) + KL(q||p))/2 on every trial": symmetric_ok,
            "D_CS <= max(KL(p||q), KL(q||p)) on every trial": max_ok,
        }
    )
    return evidence
