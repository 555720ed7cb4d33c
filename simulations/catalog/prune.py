r"""Randomised magnitude pruning is an unbiased sketch with Bernstein concentration.

*Generalization Bounds for Magnitude-Based Pruning via Sparse Matrix Sketching* (2023);
claim ``prune.unbiased-sparsifier`` (``shared/claims/catalog.md`` §81, [unconfirmed
numbering]). A **fragment**: the sparsifier
:math:`\hat W_{ij}=\xi_{ij}W_{ij}/p_{ij}`, :math:`\xi_{ij}\sim\mathrm{Bernoulli}(p_{ij})`
independent, that the paper's bounds rest on, not the bounds. The paper's keep
probabilities and sketch dimension are not confirmed; here
:math:`p_{ij}=\min(1,s|W_{ij}|/\sum|W|)` (:func:`theory.catalog.prune.keep_probabilities`).
The concentration statement is matrix Bernstein (Tropp 2015) for
:math:`Z=\hat W-W` (see :mod:`theory.catalog.prune`).

Two scales:

- **exact** (3 x 4 matrices, all :math:`2^{12}=4096` keep patterns with their
  probabilities): :math:`\mathbb E\hat W=W`, :math:`\operatorname{Var}\hat W_{ij}=
  W_{ij}^2(1-p_{ij})/p_{ij}`, :math:`\mathbb E\|Z\|_2` and :math:`\Pr[\|Z\|_2\ge t]` below the
  Bernstein bounds, all as exact sums (to float64 rounding);
- **sampled** (a 40 x 40 matrix, s = 400, R replicates on the leading array axis, keep
  indicators drawn with NumPy from the claim's seed stream and moved to the backend under
  test): unbiasedness along 8 random bilinear probes :math:`u^\top\hat Wv` (z-test with the
  exact variance :math:`\sum_{ij}u_i^2v_j^2\operatorname{Var}\hat W_{ij}/R`), the tail
  bound at :math:`t=c\sqrt v` for c in {1.5, 2, 2.5, 3, 4} (exact Clopper-Pearson lower
  confidence bound of the tail frequency against the bound) and the expectation bound
  (sample mean minus z standard errors against it).

The sampled comparisons share a family-wise level of 1e-3 (Bonferroni over the 14 tests).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.stats

from theory.catalog.prune import (
    PAPER,
    bernstein_expectation,
    bernstein_parameters,
    bernstein_tail,
    keep_masks,
    keep_patterns,
    keep_probabilities,
    sparsifier_variance,
    sparsify,
    spectral_norm,
)
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

FAMILY_LEVEL = 1e-3
"""Family-wise level of the sampled comparisons (Bonferroni)."""

UNIT_ROUNDOFF = 2.0**-53
SMALL_SHAPE, SMALL_BUDGET = (3, 4), 6.0
LARGE_SHAPE, LARGE_BUDGET = (40, 40), 400.0
PROBES = 8
TAIL_MULTIPLES = (1.5, 2.0, 2.5, 3.0, 4.0)
r"""Thresholds of the sampled tail test, in units of :math:`\sqrt v` (fixed in advance)."""
CHUNK = 2500
"""Replicates per vectorised batch (memory: CHUNK x 40 x 40 float64 = 32 MB)."""


def _exact_part(
    ctx: Context, reweight: bool, variance: Callable[[Any, Any], Any], dimension_factor: bool
) -> dict[str, Evidence]:
    count = ctx.pick(8, 64)
    w = ctx.rng(0).standard_normal((count, *SMALL_SHAPE))
    p = np.asarray(to_numpy(keep_probabilities(ctx.asarray(w), SMALL_BUDGET)))
    masks, probabilities = keep_patterns(p)  # (P, d1, d2), (N, P)
    patterns, entries = probabilities.shape[1], math.prod(SMALL_SHAPE)
    w_hat = sparsify(
        ctx.asarray(w[:, None]),
        ctx.asarray(p[:, None]),
        ctx.asarray(masks[None]),
        reweight=reweight,
    )
    w_hat = np.asarray(to_numpy(w_hat))  # (N, P, d1, d2)
    weight = probabilities[:, :, None, None]
    mean = (weight * w_hat).sum(axis=1)
    spread = (weight * (w_hat - w[:, None]) ** 2).sum(axis=1)
    claimed_variance = np.asarray(to_numpy(variance(ctx.asarray(w), ctx.asarray(p))))
    # recursive summation of P terms, each with relative error <= (E + 8) u:
    # |error| <= (P + E + 8) u * sum|terms|; sum|terms| = |W| for the mean (sum over kept
    # patterns of prob |W|/p) and the enumerated variance itself for the spread
    gamma = (patterns + entries + 8) * UNIT_ROUNDOFF
    inputs = {"w": w, "p": p}
    parts = {
        "exact: E W_hat = W": checks.compare(mean, w, atol=gamma * np.abs(w), inputs=inputs),
        "exact: Var W_hat = W^2 (1 - p) / p": checks.compare(
            spread,
            claimed_variance,
            atol=gamma * (spread + np.abs(claimed_variance)),
            inputs=inputs,
        ),
    }
    v, bound = bernstein_parameters(
        ctx.asarray(w), ctx.asarray(p), variance=ctx.asarray(claimed_variance)
    )
    v, bound = np.asarray(to_numpy(v)), np.asarray(to_numpy(bound))
    norms = np.asarray(to_numpy(spectral_norm(ctx.asarray(w_hat - w[:, None]))))  # (N, P)
    expected_norm = (probabilities * norms).sum(axis=1)
    limit = bernstein_expectation(v, bound, SMALL_SHAPE, dimension_factor=dimension_factor)
    # singular values are backward stable: relative error <= 10 max(d1, d2) u per norm
    norm_gamma = gamma + 10 * max(SMALL_SHAPE) * UNIT_ROUNDOFF
    parts["exact: E||Z|| <= Bernstein"] = checks.nonnegative(
        limit - expected_norm,
        tol=float(np.max(norm_gamma * (expected_norm + limit))),
        inputs=inputs,
    )
    thresholds = np.sqrt(v)[:, None] * np.asarray(TAIL_MULTIPLES)  # (N, K)
    tail = (probabilities[:, None, :] * (norms[:, None, :] >= thresholds[:, :, None])).sum(-1)
    # patterns whose norm lies within its rounding of t could flip: their mass is allowed
    near = np.abs(norms[:, None, :] - thresholds[:, :, None]) <= norm_gamma * norms[:, None, :]
    flip_mass = (probabilities[:, None, :] * near).sum(-1) + gamma
    tail_limit = bernstein_tail(
        thresholds, v[:, None], bound[:, None], SMALL_SHAPE, dimension_factor=dimension_factor
    )
    parts["exact: P(||Z|| >= t) <= Bernstein"] = checks.nonnegative(
        tail_limit - tail + flip_mass, inputs=inputs
    )
    return parts


def _sampled_part(
    ctx: Context, reweight: bool, variance: Callable[[Any, Any], Any], dimension_factor: bool
) -> tuple[dict[str, Evidence], dict[str, Any]]:
    replicates = ctx.pick(2500, 25000)
    w = ctx.rng(1).standard_normal(LARGE_SHAPE)
    p_backend = keep_probabilities(ctx.asarray(w), LARGE_BUDGET)
    p = np.asarray(to_numpy(p_backend))
    probes_u = ctx.rng(2).standard_normal((PROBES, LARGE_SHAPE[0]))
    probes_v = ctx.rng(3).standard_normal((PROBES, LARGE_SHAPE[1]))
    u_b, v_b = ctx.asarray(probes_u), ctx.asarray(probes_v)
    rng = ctx.rng(4)
    bilinear, norms = [], []
    for start in range(0, replicates, CHUNK):  # vectorised batches of replicates
        size = min(CHUNK, replicates - start)
        masks = ctx.asarray(keep_masks(rng, p, size))
        w_hat = sparsify(ctx.asarray(w), p_backend, masks, reweight=reweight)  # (B, d1, d2)
        # u_k^T W_hat v_k for every probe k: (B, K)
        product = ctx.xp.matmul(
            u_b[None, :, :], ctx.xp.matmul(w_hat, ctx.xp.matrix_transpose(v_b))
        )  # (B, K, K)
        bilinear.append(np.diagonal(np.asarray(to_numpy(product)), axis1=1, axis2=2))
        norms.append(np.asarray(to_numpy(spectral_norm(w_hat - ctx.asarray(w)))))
    bilinear, norms = np.concatenate(bilinear), np.concatenate(norms)

    tests = PROBES + len(TAIL_MULTIPLES) + 1
    alpha = FAMILY_LEVEL / tests
    z_two = float(scipy.stats.norm.ppf(1 - alpha / 2))
    z_one = float(scipy.stats.norm.ppf(1 - alpha))
    claimed_variance = np.asarray(to_numpy(variance(ctx.asarray(w), p_backend)))
    target = np.einsum("ki,ij,kj->k", probes_u, w, probes_v)
    spread = np.einsum("ki,ij,kj->k", probes_u**2, claimed_variance, probes_v**2)
    standard_error = np.sqrt(spread / replicates)
    parts = {
        "sampled: E u^T W_hat v = u^T W v (8 probes)": checks.nonnegative(
            z_two * standard_error - np.abs(bilinear.mean(axis=0) - target)
        )
    }
    v, bound = bernstein_parameters(
        ctx.asarray(w), p_backend, variance=ctx.asarray(claimed_variance)
    )
    v, bound = float(to_numpy(v)), float(to_numpy(bound))
    thresholds = math.sqrt(v) * np.asarray(TAIL_MULTIPLES)
    exceed = (norms[:, None] >= thresholds[None, :]).sum(axis=0)
    lower = np.where(exceed > 0, scipy.stats.beta.ppf(alpha, exceed, replicates - exceed + 1), 0.0)
    tail_limit = bernstein_tail(
        thresholds, v, bound, LARGE_SHAPE, dimension_factor=dimension_factor
    )
    parts["sampled: P(||Z|| >= t) <= Bernstein (Clopper-Pearson)"] = checks.nonnegative(
        tail_limit - lower, inputs={"t / sqrt(v)": np.asarray(TAIL_MULTIPLES)}
    )
    limit = float(bernstein_expectation(v, bound, LARGE_SHAPE, dimension_factor=dimension_factor))
    mean_norm = float(norms.mean())
    norm_error = float(norms.std(ddof=1) / math.sqrt(replicates))
    parts["sampled: E||Z|| <= Bernstein"] = checks.nonnegative(
        np.array([limit - (mean_norm - z_one * norm_error)])
    )
    details = {
        "sampled v, L": (v, bound),
        "sampled mean ||Z|| / sqrt(v)": mean_norm / math.sqrt(v),
        "sampled tail frequencies": (exceed / replicates).tolist(),
        "Bernstein tail bounds": tail_limit.tolist(),
        "Bernstein expectation bound": limit,
        "Bonferroni z (two-sided, one-sided)": (z_two, z_one),
        "replicates": replicates,
    }
    return parts, details


@claim(
    "prune.unbiased-sparsifier",
    paper=PAPER,
    source=(
        "the sparse matrix sketch the bounds rest on (spec §81; fragment, numbering unconfirmed)"
    ),
    statement=(
        r"\hat W_{ij}=\xi_{ij}W_{ij}/p_{ij},\ \xi_{ij}\sim\mathrm{Bern}(p_{ij}):\ "
        r"\mathbb E\hat W=W,\ \Pr[\|\hat W-W\|_2\ge t]\le(d_1+d_2)e^{-\frac{t^2/2}{v+Lt/3}}"
        r"\ (\text{fragment; keep probabilities not confirmed})"
    ),
    method="monte-carlo",
    provenance="unconfirmed-numbering",
    notes=(
        "Fragment: the sparsifier, not the paper's generalization bounds; the keep "
        "probabilities (here min(1, s|W_ij| / sum|W|)) and sketch size are not confirmed."
    ),
    controls=[
        Control(
            "no-reweighting",
            r"\hat W_{ij}=\xi_{ij}W_{ij}\ (\text{pruning without }1/p)\text{ is unbiased}",
            {"reweight": False},
        ),
        Control(
            "variance-without-inverse-p",
            r"\operatorname{Var}\hat W_{ij}=W_{ij}^2(1-p_{ij})",
            {"variance": lambda w, p: w * w * (1.0 - p)},
        ),
        Control(
            "dimension-free-bernstein",
            r"\Pr[\|Z\|_2\ge t]\le e^{-\frac{t^2/2}{v+Lt/3}},\ \mathbb E\|Z\|_2\le\sqrt{2v}+L/3",
            {"dimension_factor": False},
        ),
    ],
)
def unbiased_sparsifier(
    ctx: Context,
    reweight: bool = True,
    variance: Callable[[Any, Any], Any] = sparsifier_variance,
    dimension_factor: bool = True,
) -> Evidence:
    r"""Exact enumeration on 3 x 4 matrices (8 quick, 64 full; s = 6 of 12 entries) and
    sampling on a 40 x 40 matrix (s = 400; R = 2500 quick, 25000 full); see the module
    docstring.

    Tolerances: exact sums to float64 rounding, :math:`(P+E+8)u` times the sum of the
    magnitudes of the terms (recursive summation of P = 4096 terms, each a product of
    E = 12 factors) plus :math:`10\max(d_1,d_2)u` relative for a computed singular value,
    and the probability of the patterns whose norm lies within that rounding of a tail
    threshold; sampled tests at family-wise level 1e-3 (Bonferroni over 14 tests: 8
    two-sided z-tests with the exact variance, 5 one-sided Clopper-Pearson bounds, one
    one-sided z-test).
    """
    parts = _exact_part(ctx, reweight, variance, dimension_factor)
    sampled, details = _sampled_part(ctx, reweight, variance, dimension_factor)
    parts.update(sampled)
    evidence = checks.combine(parts)
    evidence.details.update(details)
    return evidence
