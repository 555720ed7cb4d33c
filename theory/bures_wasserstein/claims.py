r"""Claims of Bréchet et al. (ICML 2023) about the distance, the transport map and the gradients.

Ids follow ``shared/claims/bures_wasserstein.md`` (prefix ``bw.`` -> family
``bures_wasserstein``; ``bw.grad_W`` becomes ``grad_w``, since ids are lower case).
Each check takes the object under test as a keyword argument (defaulting to the
paper's statement); each negative control passes a plausible false variant to the
same check. The critical-point and curvature claims are in
:mod:`theory.bures_wasserstein.critical_claims`; the dynamics in
``simulations/bures_wasserstein``. The POT peer check (spec ``bw.pot``) lives in
``tests/test_bures_wasserstein.py``: POT is optional at run time.

Tolerances (float64, u = 1.1e-16)
---------------------------------
"Scale" is :math:`1 + \mathrm{tr}\,\Sigma + \mathrm{tr}\,\Sigma_0`.

- Identities between forms computed by eigen- or Schur decompositions: the
  decompositions are backward stable (error about :math:`n u` times the norm), and
  a square root of a matrix with condition number :math:`\kappa \le 10^2` (the
  random spectra lie in [0.1, 10]) loses at most a factor :math:`\kappa`; so the
  forms agree to about :math:`10^{-13}`scale, and the spec's 1e-10 x scale is a
  conservative bound.
- The coupling SDP is solved to a relative gap and feasibility of 1e-10
  (:data:`~theory.bures_wasserstein.references.SDP_OPTIONS`); 1e-8 x scale.
- Central differences with step h: truncation :math:`h^2 |f'''|/6` plus rounding
  :math:`\varepsilon_f/h`, with :math:`\varepsilon_f = 64 n u\,\mathrm{scale}` the
  error of one loss evaluation; the spec's relative 1e-6 plus that rounding term.
- At rank-deficient :math:`\Sigma = WW^\top`, a square-root form suffers the
  :math:`\sqrt{u}` effect: round-off eigenvalues :math:`\delta \approx n u\|\Sigma\|` of the
  null space enter through :math:`\sqrt\delta`, an error up to
  :math:`2n\sqrt{\delta\|\Sigma_0\|}` in :math:`B^2` (pitfall 1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from theory.bures_wasserstein.deep_linear import end_to_end, layer_gradients
from theory.bures_wasserstein.distance import (
    bures_commuting_formula,
    bures_loss,
    bures_product_of_roots,
    bures_wasserstein_squared,
    transport_cost,
    transport_map,
    transport_map_target_form,
)
from theory.bures_wasserstein.gradients import bures_gradient_sigma, bures_loss_gradient
from theory.bures_wasserstein.matrices import pd_inverse_sqrt, psd_sqrt, symmetrise
from theory.bures_wasserstein.references import (
    bures_procrustes_scipy,
    bures_squared_scipy,
    random_commuting_pair,
    random_orthogonal,
    random_spd,
    symmetric,
    w2_by_coupling_sdp,
)
from theorycheck import checks
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "bures_wasserstein"
UNIT_ROUNDOFF = 2.0**-53
IDENTITY_RTOL = 1e-10
"""The spec's agreement between forms, relative to the scale (see the module docstring)."""

Distance = Callable[[Any, Any], Any]


def _run(ctx: Context, fn: Callable[..., Any], *arrays: np.ndarray) -> np.ndarray:
    """Apply ``fn`` to NumPy inputs moved to the backend; return NumPy."""
    return np.asarray(to_numpy(fn(*(ctx.asarray(a) for a in arrays))), dtype=float)


def _scale(*matrices: np.ndarray) -> np.ndarray:
    """1 + the sum of the traces, per instance: the size of every B^2 term."""
    return 1.0 + sum(np.trace(m, axis1=-2, axis2=-1) for m in matrices)


def _sizes(ctx: Context) -> tuple[int, ...]:
    return ctx.pick((2, 3, 5), (2, 3, 4, 6, 8))


# --------------------------------------------------------------------------- def


@claim(
    "bures_wasserstein.def",
    paper=PAPER,
    source="Sec. 2 (B.1, bw.def)",
    statement=(
        r"B^2(\Sigma,\Sigma_0)=\mathrm{tr}\Sigma+\mathrm{tr}\Sigma_0-2\mathrm{tr}(\Sigma_0^{1/2}"
        r"\Sigma\Sigma_0^{1/2})^{1/2}=W_2^2(\mathcal N(0,\Sigma),\mathcal N(0,\Sigma_0))"
        r"=\min_O\|\Sigma^{1/2}-\Sigma_0^{1/2}O\|_F^2;\ L(W)=\|W\|_F^2+\mathrm{tr}\Sigma_0"
        r"-2\|\Sigma_0^{1/2}W\|_*"
    ),
    method="solver",
    provenance="confirmed",
    notes="Nuclear-norm form [derived]. W_2 by an SDP over couplings (cvxpy, CLARABEL).",
    controls=[
        Control(
            "commuting-formula",
            r"B^2=\sum_i(\sqrt{\mu_i}-\sqrt{\lambda_i})^2 also for non-commuting pairs",
            {"distance": bures_commuting_formula},
        ),
        Control(
            "product-of-roots",
            r"B^2=\mathrm{tr}\Sigma+\mathrm{tr}\Sigma_0-2\mathrm{tr}(\Sigma^{1/2}\Sigma_0^{1/2})",
            {"distance": bures_product_of_roots},
        ),
    ],
)
def definition(ctx: Context, distance: Distance = bures_wasserstein_squared) -> Evidence:
    r"""The forms agree (trace formula by SciPy, Procrustes by SciPy's polar factor,
    :math:`W_2^2` by the coupling SDP, the nuclear-norm form) and B is a metric with
    :math:`B^2(c\Sigma,c\Sigma_0)=cB^2` and the commuting formula on commuting pairs."""
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for n in _sizes(ctx):
        count = ctx.pick(24, 200)
        sigma, target = random_spd(rng, count, n), random_spd(rng, count, n)
        value = _run(ctx, distance, sigma, target)
        scale = _scale(sigma, target)
        inputs = {"sigma": sigma, "sigma_target": target}
        parts[f"n={n} trace form (scipy sqrtm)"] = checks.compare(
            value, bures_squared_scipy(sigma, target), atol=IDENTITY_RTOL * scale, inputs=inputs
        )
        parts[f"n={n} Procrustes form (scipy polar)"] = checks.compare(
            value, bures_procrustes_scipy(sigma, target), atol=IDENTITY_RTOL * scale, inputs=inputs
        )
        solved = ctx.pick(4, 20)
        parts[f"n={n} W2^2 by coupling SDP"] = checks.compare(
            value[:solved],
            w2_by_coupling_sdp(sigma[:solved], target[:solved]),
            atol=1e-8 * scale[:solved],
            inputs={"sigma": sigma[:solved], "sigma_target": target[:solved]},
        )
        parts[f"n={n} symmetric in its arguments"] = checks.compare(
            value, _run(ctx, distance, target, sigma), atol=IDENTITY_RTOL * scale, inputs=inputs
        )
        parts[f"n={n} B(S,S)=0"] = checks.compare(
            _run(ctx, distance, sigma, sigma),
            0.0,
            atol=IDENTITY_RTOL * _scale(sigma, sigma),
            inputs={"sigma": sigma},
        )
        factor = 10 ** rng.uniform(-1, 1, size=count)
        scaled = _run(ctx, distance, factor[:, None, None] * sigma, factor[:, None, None] * target)
        parts[f"n={n} B^2(cS,cS0)=cB^2"] = checks.compare(
            scaled, factor * value, atol=IDENTITY_RTOL * factor * scale, inputs=inputs
        )
        third = random_spd(rng, count, n)
        root = lambda a, b: np.sqrt(np.clip(_run(ctx, distance, a, b), 0.0, None))  # noqa: E731
        slack = root(sigma, third) + root(third, target) - root(sigma, target)
        parts[f"n={n} triangle inequality for B"] = checks.nonnegative(
            slack, tol=np.sqrt(IDENTITY_RTOL) * float(np.max(np.sqrt(scale))), inputs=inputs
        )
        a, b = random_commuting_pair(rng, count, n)
        parts[f"n={n} commuting pairs"] = checks.compare(
            _run(ctx, distance, a, b),
            _commuting_reference(a, b),
            atol=IDENTITY_RTOL * _scale(a, b),
            inputs={"sigma": a, "sigma_target": b},
        )
        for m in (n - 1, n, n + 2):
            if m < 1:
                continue
            w = rng.standard_normal((count, n, m))
            gram = symmetric(w @ np.swapaxes(w, -1, -2))
            nuclear = _run(ctx, bures_loss, w, target)
            direct = _run(ctx, distance, gram, target)
            scale_w = _scale(gram, target)
            if m >= n:
                parts[f"n={n} m={m} nuclear-norm form"] = checks.compare(
                    direct, nuclear, atol=IDENTITY_RTOL * scale_w, inputs={"W": w}
                )
            else:  # rank-deficient W W^T: the square root's sqrt(u) effect bounds the error
                null_noise = n * UNIT_ROUNDOFF * np.linalg.norm(gram, 2, axis=(-2, -1))
                allowed = IDENTITY_RTOL * scale_w + 2 * n * np.sqrt(
                    null_noise * np.linalg.norm(target, 2, axis=(-2, -1))
                )
                parts[f"n={n} m={m} nuclear-norm form (rank-deficient)"] = checks.compare(
                    direct, nuclear, atol=allowed, inputs={"W": w}
                )
    return checks.combine(parts)


def _commuting_reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r""":math:`\sum_i(\sqrt{\mu_i}-\sqrt{\lambda_i})^2` in b's eigenbasis (NumPy)."""
    lam, omega = np.linalg.eigh(b)
    mu = np.einsum("...ji,...jk,...ki->...i", omega, a, omega)
    return np.sum((np.sqrt(np.clip(mu, 0, None)) - np.sqrt(np.clip(lam, 0, None))) ** 2, axis=-1)


# --------------------------------------------------------------------------- otmap


def naive_transport(sigma: Any, sigma_target: Any) -> Any:
    r"""Control: :math:`T' = \Sigma^{-1/2}\Sigma_0^{1/2}` (right only for commuting pairs)."""
    xp = array_namespace(sigma, sigma_target)
    return pd_inverse_sqrt(sigma, xp) @ psd_sqrt(sigma_target, xp)


MONTE_CARLO_Z = 4.0
r"""Standard errors allowed in each Monte Carlo comparison: with at most ~25 tested
entries per instance and <= 5 instances, a Bonferroni bound at overall level 1e-3
needs z = 4.0 (the spec's 3 standard errors is the per-comparison version)."""


@claim(
    "bures_wasserstein.otmap",
    paper=PAPER,
    source="B.2 (bw.otmap; standard)",
    statement=(
        r"T=\Sigma^{-1/2}(\Sigma^{1/2}\Sigma_0\Sigma^{1/2})^{1/2}\Sigma^{-1/2}"
        r"=\Sigma_0^{1/2}(\Sigma_0^{1/2}\Sigma\Sigma_0^{1/2})^{-1/2}\Sigma_0^{1/2}:\ T\succ0,\ "
        r"T\Sigma T=\Sigma_0,\ \mathbb E\|X-TX\|^2=B^2(\Sigma,\Sigma_0)"
    ),
    method="numeric",
    provenance="derived",
    controls=[
        Control(
            "naive-map",
            r"T'=\Sigma^{-1/2}\Sigma_0^{1/2} is the optimal map",
            {"transport": naive_transport},
        )
    ],
)
def otmap(ctx: Context, transport: Distance = transport_map) -> Evidence:
    r"""Algebraic identities on random SPD pairs (1e-10 x scale), the two forms, and a
    Monte Carlo push-forward: the covariance of TX against :math:`\Sigma_0` and the
    mean of :math:`\|X-TX\|^2` against :math:`B^2`, each within
    :data:`MONTE_CARLO_Z` standard errors."""
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for n in _sizes(ctx):
        count = ctx.pick(24, 200)
        sigma, target = random_spd(rng, count, n), random_spd(rng, count, n)
        t = _run(ctx, transport, sigma, target)
        inputs = {"sigma": sigma, "sigma_target": target}
        norm_t = np.max(np.abs(t), axis=(-2, -1))
        norm_target = np.max(np.abs(target), axis=(-2, -1))
        parts[f"n={n} symmetric"] = checks.compare(
            t, np.swapaxes(t, -1, -2), atol=IDENTITY_RTOL * norm_t, inputs=inputs
        )
        parts[f"n={n} positive definite"] = checks.nonnegative(
            np.linalg.eigvalsh(symmetric(t))[:, 0], inputs=inputs
        )
        parts[f"n={n} T S T^T = S0"] = checks.compare(
            t @ sigma @ np.swapaxes(t, -1, -2),
            target,
            atol=IDENTITY_RTOL * norm_target,
            inputs=inputs,
        )
        parts[f"n={n} target form"] = checks.compare(
            t,
            _run(ctx, transport_map_target_form, sigma, target),
            atol=IDENTITY_RTOL * norm_t,
            inputs=inputs,
        )
        parts[f"n={n} E|X-TX|^2 = B^2"] = checks.compare(
            _run(ctx, transport_cost, sigma, t),
            bures_squared_scipy(sigma, target),
            atol=IDENTITY_RTOL * _scale(sigma, target),
            inputs=inputs,
        )
    parts.update(_otmap_monte_carlo(ctx, transport))
    return checks.combine(parts)


def _otmap_monte_carlo(ctx: Context, transport: Distance) -> dict[str, Evidence]:
    rng = ctx.rng(1)
    n, instances, samples = 3, ctx.pick(2, 5), ctx.pick(200_000, 1_000_000)
    sigma, target = random_spd(rng, instances, n), random_spd(rng, instances, n)
    t = _run(ctx, transport, sigma, target)
    xp = ctx.xp
    root = np.linalg.cholesky(sigma)
    z = rng.standard_normal((instances, samples, n))
    x = ctx.asarray(z @ np.swapaxes(root, -1, -2))  # rows ~ N(0, Sigma)
    pushed = x @ xp.matrix_transpose(ctx.asarray(t))  # rows T x
    covariance = to_numpy(xp.matrix_transpose(pushed) @ pushed / samples)
    residual = to_numpy(xp.sum((x - pushed) ** 2, axis=-1))
    # Standard error of each entry of a sample covariance of N Gaussian vectors:
    # sqrt((S_ii S_jj + S_ij^2) / N) with S the true covariance of T X (Isserlis).
    pushed_cov = t @ sigma @ np.swapaxes(t, -1, -2)
    d = np.diagonal(pushed_cov, axis1=-2, axis2=-1)
    entry_se = np.sqrt((d[:, :, None] * d[:, None, :] + pushed_cov**2) / samples)
    mean_residual = residual.mean(axis=1)
    residual_se = residual.std(axis=1, ddof=1) / np.sqrt(samples)
    inputs = {"sigma": sigma, "sigma_target": target}
    return {
        "Monte Carlo cov(TX) = S0": checks.compare(
            covariance, target, atol=MONTE_CARLO_Z * entry_se, inputs=inputs
        ),
        "Monte Carlo E|X-TX|^2 = B^2": checks.compare(
            mean_residual,
            bures_squared_scipy(sigma, target),
            atol=MONTE_CARLO_Z * residual_se,
            inputs=inputs,
        ),
    }


# --------------------------------------------------------------------------- grad_sigma


def gradient_i_minus_t_squared(sigma: Any, sigma_target: Any) -> Any:
    r"""Control: :math:`I - T^2`."""
    xp = array_namespace(sigma)
    t = transport_map(sigma, sigma_target)
    return xp.eye(sigma.shape[-1], dtype=sigma.dtype) - t @ t


def gradient_i_minus_t_inverse(sigma: Any, sigma_target: Any) -> Any:
    r"""Control: :math:`I - T^{-1}`."""
    xp = array_namespace(sigma)
    return xp.eye(sigma.shape[-1], dtype=sigma.dtype) - xp.linalg.inv(
        transport_map(sigma, sigma_target)
    )


def gradient_doubled(sigma: Any, sigma_target: Any) -> Any:
    r"""Control: :math:`2(I - T)`."""
    return 2 * bures_gradient_sigma(sigma, sigma_target)


def _rounding_over_step(n: int, scale: np.ndarray, step: float) -> np.ndarray:
    r""":math:`\varepsilon_f/h`, :math:`\varepsilon_f = 64nu\,\mathrm{scale}` (module docstring)."""
    return 64 * n * UNIT_ROUNDOFF * scale / step


FD_STEP = 1e-6
"""The spec's central-difference step h."""
FD_RTOL = 1e-6
"""The spec's relative tolerance of a directional derivative against its formula."""


@claim(
    "bures_wasserstein.grad_sigma",
    paper=PAPER,
    source="B.2 (bw.grad_sigma)",
    statement=(
        r"\nabla_\Sigma B^2(\Sigma,\Sigma_0)=I-T\ (\Sigma\succ0);\ \nabla=0\iff\Sigma=\Sigma_0;\ "
        r"\Sigma\mapsto B^2(\Sigma,\Sigma_0)\text{ convex}"
    ),
    method="numeric",
    provenance="derived",
    controls=[
        Control(
            "i-minus-t-squared",
            r"\nabla_\Sigma B^2 = I - T^2",
            {"gradient": gradient_i_minus_t_squared},
        ),
        Control(
            "i-minus-t-inverse",
            r"\nabla_\Sigma B^2 = I - T^{-1}",
            {"gradient": gradient_i_minus_t_inverse},
        ),
        Control("doubled", r"\nabla_\Sigma B^2 = 2(I - T)", {"gradient": gradient_doubled}),
    ],
)
def grad_sigma(ctx: Context, gradient: Distance = bures_gradient_sigma) -> Evidence:
    r"""Central differences of :math:`B^2` along random unit symmetric H against
    :math:`\langle\nabla, H\rangle` (h = 1e-6, relative 1e-6 plus rounding over h);
    the gradient vanishes at :math:`\Sigma_0`; convexity (midpoint, and the first-order
    inequality with the gradient under test)."""
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for n in _sizes(ctx):
        count = ctx.pick(20, 200)
        sigma, target = random_spd(rng, count, n), random_spd(rng, count, n)
        h = symmetric(rng.standard_normal((count, n, n)))
        h /= np.linalg.norm(h, axis=(-2, -1), keepdims=True)
        g = _run(ctx, gradient, sigma, target)
        predicted = np.sum(g * h, axis=(-2, -1))
        plus = _run(ctx, bures_wasserstein_squared, sigma + FD_STEP * h, target)
        minus = _run(ctx, bures_wasserstein_squared, sigma - FD_STEP * h, target)
        scale = _scale(sigma, target)
        inputs = {"sigma": sigma, "sigma_target": target, "H": h}
        parts[f"n={n} directional derivative"] = checks.compare(
            predicted,
            (plus - minus) / (2 * FD_STEP),
            rtol=FD_RTOL,
            atol=_rounding_over_step(n, scale, FD_STEP),
            inputs=inputs,
        )
        parts[f"n={n} zero at S = S0"] = checks.compare(
            _run(ctx, gradient, target, target),
            0.0,
            atol=IDENTITY_RTOL * scale[:, None, None],
            inputs={"sigma_target": target},
        )
        other = random_spd(rng, count, n)
        b_sigma = _run(ctx, bures_wasserstein_squared, sigma, target)
        b_other = _run(ctx, bures_wasserstein_squared, other, target)
        b_mid = _run(ctx, bures_wasserstein_squared, (sigma + other) / 2, target)
        tol = IDENTITY_RTOL * float(np.max(_scale(sigma, other, target)))
        parts[f"n={n} midpoint convexity"] = checks.nonnegative(
            (b_sigma + b_other) / 2 - b_mid, tol=tol, inputs=inputs
        )
        parts[f"n={n} first-order convexity"] = checks.nonnegative(
            b_other - b_sigma - np.sum(g * (other - sigma), axis=(-2, -1)), tol=tol, inputs=inputs
        )
    return checks.combine(parts)


# --------------------------------------------------------------------------- grad_w


def sqrtm_form_loss(weights: Any, sigma_target: Any) -> Any:
    r"""The loss through :math:`\mathrm{tr}(R_0WW^\top R_0)^{1/2}` (eigenvalues clamped).

    Control for ``grad_w``: finite differences of this form at rank-deficient
    :math:`WW^\top` carry the :math:`\sqrt{u}/h` artefact of pitfall 1.
    """
    xp = array_namespace(weights, sigma_target)
    root = psd_sqrt(sigma_target, xp)
    inner = root @ weights @ xp.matrix_transpose(weights) @ root
    eigenvalues = xp.clip(xp.linalg.eigvalsh(symmetrise(inner)), min=0.0)
    return (
        xp.sum(weights * weights, axis=(-2, -1))
        + xp.linalg.trace(sigma_target)
        - 2 * xp.sum(xp.sqrt(eigenvalues), axis=-1)
    )


def gradient_without_chain_factor(weights: Any, sigma_target: Any) -> Any:
    r"""Control: :math:`(W - R_0UV^\top)`, the chain rule's factor 2 of
    :math:`\nabla_W f(WW^\top) = 2\nabla f\,W` dropped."""
    return bures_loss_gradient(weights, sigma_target) / 2


@claim(
    "bures_wasserstein.grad_w",
    paper=PAPER,
    source="B.2 (bw.grad_W); authors' models.py",
    statement=(
        r"\nabla_WL=2(W-\Sigma_0^{1/2}UV^\top)=2(I-T)W,\ \Sigma_0^{1/2}W=USV^\top;\ "
        r"\nabla_{W_j}L^N=(W_N\cdots W_{j+1})^\top\nabla_WL\,(W_{j-1}\cdots W_1)^\top"
    ),
    method="numeric",
    provenance="confirmed",
    notes="Spec id bw.grad_W (ids are lower case).",
    controls=[
        Control(
            "sqrtm-differences",
            r"central differences of the sqrtm form at rank-deficient WW^\top are accurate",
            {"difference_loss": sqrtm_form_loss},
        ),
        Control(
            "missing-chain-factor",
            r"\nabla_WL=W-\Sigma_0^{1/2}UV^\top",
            {"gradient": gradient_without_chain_factor},
        ),
    ],
)
def grad_w(
    ctx: Context,
    gradient: Distance = bures_loss_gradient,
    difference_loss: Distance = bures_loss,
) -> Evidence:
    r"""The closed form against central differences of ``difference_loss`` (the
    nuclear-norm form by default) for m < n (rank-deficient :math:`WW^\top`), m = n and
    m > n; against :math:`2(I-T)W` where :math:`WW^\top\succ0`; the layer gradients for
    N in {1, 2, 3, 5} against central differences of :math:`L^N`."""
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for n in ctx.pick((3, 5), (3, 4, 5, 7)):
        count = ctx.pick(16, 100)
        target = random_spd(rng, count, n)
        for m in (n - 2, n - 1, n, n + 2):
            w = rng.standard_normal((count, n, m))
            d = rng.standard_normal((count, n, m))
            d /= np.linalg.norm(d, axis=(-2, -1), keepdims=True)
            g = _run(ctx, gradient, w, target)
            plus = _run(ctx, difference_loss, w + FD_STEP * d, target)
            minus = _run(ctx, difference_loss, w - FD_STEP * d, target)
            scale = 1.0 + np.sum(w * w, axis=(-2, -1)) + np.trace(target, axis1=-2, axis2=-1)
            label = f"n={n} m={m}" + (" (W W^T rank-deficient)" if m < n else "")
            parts[f"{label} directional derivative"] = checks.compare(
                np.sum(g * d, axis=(-2, -1)),
                (plus - minus) / (2 * FD_STEP),
                rtol=FD_RTOL,
                atol=_rounding_over_step(n, scale, FD_STEP),
                inputs={"W": w, "sigma_target": target, "D": d},
            )
            if m >= n:
                gram = symmetric(w @ np.swapaxes(w, -1, -2))
                t = _run(ctx, transport_map, gram, target)
                parts[f"n={n} m={m} equals 2(I-T)W"] = checks.compare(
                    g,
                    2 * (w - t @ w),
                    atol=IDENTITY_RTOL * scale[:, None, None],
                    inputs={"W": w, "sigma_target": target},
                )
    parts.update(_layer_gradient_parts(ctx, gradient, difference_loss))
    return checks.combine(parts)


def _layer_gradient_parts(
    ctx: Context, gradient: Distance, difference_loss: Distance
) -> dict[str, Evidence]:
    rng = ctx.rng(1)
    parts: dict[str, Evidence] = {}
    n, m, count = 4, 3, ctx.pick(8, 50)
    target = random_spd(rng, count, n)
    for depth in (1, 2, 3, 5):
        widths = [m] + [int(rng.integers(3, 6)) for _ in range(depth - 1)] + [n]
        layers = [
            rng.standard_normal((count, widths[j + 1], widths[j])) / np.sqrt(widths[j])
            for j in range(depth)
        ]
        directions = [rng.standard_normal(layer.shape) for layer in layers]
        norm = np.sqrt(sum(np.sum(d * d, axis=(-2, -1)) for d in directions))
        directions = [d / norm[:, None, None] for d in directions]

        def loss_of(shift: float, layers=layers, directions=directions) -> np.ndarray:
            moved = [
                ctx.asarray(layer + shift * d) for layer, d in zip(layers, directions, strict=True)
            ]
            return np.asarray(to_numpy(difference_loss(end_to_end(moved), ctx.asarray(target))))

        xp_layers = [ctx.asarray(layer) for layer in layers]
        weights = end_to_end(xp_layers)
        grads = layer_gradients(xp_layers, gradient(weights, ctx.asarray(target)))
        predicted = sum(
            np.sum(to_numpy(g) * d, axis=(-2, -1)) for g, d in zip(grads, directions, strict=True)
        )
        w = to_numpy(weights)
        scale = 1.0 + np.sum(w * w, axis=(-2, -1)) + np.trace(target, axis1=-2, axis2=-1)
        parts[f"N={depth} layer gradients (widths {widths})"] = checks.compare(
            predicted,
            (loss_of(FD_STEP) - loss_of(-FD_STEP)) / (2 * FD_STEP),
            rtol=FD_RTOL,
            atol=_rounding_over_step(n, scale, FD_STEP),
            inputs={"sigma_target": target},
        )
    return parts


# --------------------------------------------------------------------------- nondiff


def paper_kink(weights: np.ndarray, direction: np.ndarray, root_target: np.ndarray) -> bool:
    r"""The paper's statement: one-sided derivatives differ iff
    :math:`\mathrm{rank}(R_0W) < \min(n,m)` and D leaves the tangent space, i.e.
    :math:`U_\perp^\top R_0 D V_\perp \ne 0` (NumPy, one instance)."""
    u_perp, v_perp = _complements(root_target @ weights)
    if u_perp.shape[1] == 0 or v_perp.shape[1] == 0:
        return False
    leak = u_perp.T @ root_target @ direction @ v_perp
    return bool(np.linalg.norm(leak) > 1e-8 * max(1.0, np.linalg.norm(direction)))


def smooth_at_zero_kink(weights: np.ndarray, direction: np.ndarray, root: np.ndarray) -> bool:
    """Control: as the paper, except that L would be differentiable at W = 0."""
    return False if not np.any(weights) else paper_kink(weights, direction, root)


def singular_covariance_kink(weights: np.ndarray, direction: np.ndarray, root: np.ndarray) -> bool:
    r"""Control: 'L is not differentiable wherever :math:`WW^\top` is singular' (rank W < n)."""
    singular = np.linalg.matrix_rank(weights) < weights.shape[0]
    return bool(singular) or paper_kink(weights, direction, root)


def _complements(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal bases of the left and right null spaces (numerical rank)."""
    u, s, vt = np.linalg.svd(matrix)
    rank = int(np.sum(s > max(matrix.shape) * np.finfo(float).eps * max(s[0] if s.size else 0, 1)))
    return u[:, rank:], vt[rank:, :].T


KINK_STEP = 1e-6
r"""One-sided difference step: at a smooth point the gap :math:`L'(W;D)+L'(W;-D)`
estimated with step h is :math:`h\,\partial^2L[D,D]`, below 1e-4 for the unit
directions and curvatures (< 100) here; at a kink it is
:math:`-4\|U_\perp^\top R_0DV_\perp\|_*`. Rounding adds :math:`2u L/h < 10^{-8}`."""
KINK_THRESHOLD = 1e-3
"""A gap above this is a kink: ten times the largest smooth gap (1e-4), and below
every kink built here (predicted gap >= 0.05, see ``_nondiff_cases``)."""


@claim(
    "bures_wasserstein.nondiff",
    paper=PAPER,
    source="B.2 (bw.nondiff)",
    statement=(
        r"L\text{ not differentiable at }W\text{ with }\mathrm{rank}(\Sigma_0^{1/2}W)<\min(n,m):"
        r"\ L'(W;D)+L'(W;-D)=-4\|U_\perp^\top\Sigma_0^{1/2}DV_\perp\|_*\neq0;\ n=m=1:\ "
        r"L(w)=w^2+\lambda-2\sqrt\lambda|w|"
    ),
    method="numeric",
    provenance="derived",
    controls=[
        Control(
            "smooth-at-zero", "L is differentiable at W = 0", {"predicts_kink": smooth_at_zero_kink}
        ),
        Control(
            "singular-covariance",
            r"L is not differentiable wherever WW^\top is singular",
            {"predicts_kink": singular_covariance_kink},
        ),
    ],
)
def nondiff(
    ctx: Context, predicts_kink: Callable[[np.ndarray, np.ndarray, np.ndarray], bool] = paper_kink
) -> Evidence:
    r"""Classify (W, D) pairs as kinks by one-sided differences of the nuclear-norm
    form and compare with the predicate under test; at the kinks, compare the gap with
    :math:`-4\|U_\perp^\top R_0DV_\perp\|_*`; the scalar case against its closed form."""
    rng = ctx.rng(0)
    cases = _nondiff_cases(rng, ctx.pick(4, 20))
    observed, predicted, measured_gap, formula_gap, labels = [], [], [], [], []
    for label, w, d, target in cases:
        root = np.real(psd_sqrt(target, np))

        def loss(x: np.ndarray, target: np.ndarray = target) -> float:
            return float(np.asarray(to_numpy(bures_loss(ctx.asarray(x), ctx.asarray(target)))))

        base = loss(w)
        gap = (loss(w + KINK_STEP * d) - base) / KINK_STEP + (
            loss(w - KINK_STEP * d) - base
        ) / KINK_STEP
        u_perp, v_perp = _complements(root @ w)
        leak = u_perp.T @ root @ d @ v_perp
        expected = -4 * np.linalg.svd(leak, compute_uv=False).sum() if leak.size else 0.0
        observed.append(abs(gap) > KINK_THRESHOLD)
        predicted.append(predicts_kink(w, d, root))
        measured_gap.append(gap)
        formula_gap.append(expected)
        labels.append(label)
    labels_array = np.array(labels)
    parts = {
        "kink classification": checks.agree(
            np.array(predicted),
            np.array(observed),
            inputs={"case": labels_array},
            names=("predicted kink", "observed kink"),
        ),
        # one-sided difference: truncation h |L''| <= 1e-4 at smooth directions of the
        # kink's pieces; so 2e-4 absolute
        "gap = -4 ||U_perp^T R0 D V_perp||_*": checks.compare(
            np.array(measured_gap), np.array(formula_gap), atol=2e-4, inputs={"case": labels_array}
        ),
    }
    lam = 10 ** rng.uniform(-1, 1, size=ctx.pick(8, 50))
    w = rng.uniform(-3, 3, size=lam.shape)
    w[: len(w) // 4] = 0.0
    scalar = _run(ctx, bures_loss, w[:, None, None], lam[:, None, None])
    parts["scalar L(w) = w^2 + lambda - 2 sqrt(lambda)|w|"] = checks.compare(
        scalar,
        w**2 + lam - 2 * np.sqrt(lam) * np.abs(w),
        atol=1e-14 * (1 + w**2 + lam),
        inputs={"w": w, "lambda": lam},
    )
    return checks.combine(parts)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x)


def _nondiff_cases(
    rng: np.random.Generator, count: int
) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    r"""(label, W, D, Sigma_0): kinks, tangent directions at kinks, and smooth points.

    Every direction D has unit Frobenius norm. Rank-deficient W are built with the
    singular values of :math:`R_0W` in [0.5, 2], so the curvature of the smooth
    pieces stays below 50 (the eigenvalues of Σ_0 lie in [0.1, 10]); a kink direction
    is redrawn until its predicted gap :math:`4\|U_\perp^\top R_0DV_\perp\|_*` is at
    least 0.05 (else it is the pure leak direction :math:`R_0^{-1}U_\perp EV_\perp^\top`,
    whose gap is at least :math:`4\sigma_{\min}(R_0) > 1`).
    """
    cases: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
    cases.append(("scalar w=0", np.zeros((1, 1)), np.ones((1, 1)), np.array([[5.0]])))
    cases.append(("scalar w=0.7", np.full((1, 1), 0.7), np.ones((1, 1)), np.array([[5.0]])))
    for i in range(count):
        n = int(rng.integers(2, 5))
        m = int(rng.integers(2, 5))
        target = random_spd(rng, 1, n)[0]
        root = np.real(psd_sqrt(target, np))
        top = min(n, m)
        zero_d = _unit(rng.standard_normal((n, m)))
        cases.append((f"#{i} W=0 ({n}x{m})", np.zeros((n, m)), zero_d, target))
        for rank in range(1, top):
            u = random_orthogonal(rng, 1, n)[0][:, :rank]
            v = random_orthogonal(rng, 1, m)[0][:, :rank]
            w = np.linalg.solve(root, u * rng.uniform(0.5, 2.0, rank)) @ v.T
            u_perp, v_perp = _complements(root @ w)
            for _ in range(20):
                d = _unit(rng.standard_normal((n, m)))
                leak = np.linalg.svd(u_perp.T @ root @ d @ v_perp, compute_uv=False).sum()
                if 4 * leak >= 0.05:
                    break
            else:
                e = rng.standard_normal((u_perp.shape[1], v_perp.shape[1]))
                d = _unit(np.linalg.solve(root, u_perp @ e @ v_perp.T))
            cases.append((f"#{i} rank {rank} of {n}x{m}, generic D", w, d, target))
            u_r, _, vt_r = np.linalg.svd(root @ w)
            tangent = (
                u_r[:, :rank] @ rng.standard_normal((rank, m))
                + rng.standard_normal((n, rank)) @ vt_r[:rank, :]
            )
            cases.append(
                (
                    f"#{i} rank {rank} of {n}x{m}, tangent D",
                    w,
                    _unit(np.linalg.solve(root, tangent)),
                    target,
                )
            )
        w_full = rng.standard_normal((n, m))
        full_d = _unit(rng.standard_normal((n, m)))
        cases.append((f"#{i} full rank {n}x{m}", w_full, full_d, target))
    return cases
