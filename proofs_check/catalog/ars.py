r"""ARS (*Adaptive Reordering Sampler with Neurally Guided MAGSAC*, ICCV 2023): the Bayesian
update of inlier probabilities after a failed minimal sample, by enumerating the joint law.

Claim ``ars.bayes-update`` (``shared/claims/catalog.md`` §61). Provenance [derived]: the
update is the spec's, derived from independent Bernoulli inlier indicators; the exact
update printed in the paper is *not confirmed*. Notation of :mod:`theory.catalog.ars`.

The reference is the posterior computed from its definition: the joint law
:math:`P(z)=\prod_ip_i^{z_i}(1-p_i)^{1-z_i}` on :math:`\{0,1\}^n` restricted to the
configurations in which every failed sample contains an outlier, then the marginals
:math:`P(z_i=1\mid\text{failures})`. It is evaluated with sympy symbols (a proof for the
given n and S) and with exact rationals on random instances; the candidate update is
evaluated in the same arithmetic, so that agreement is exact equality (no tolerance).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import sympy

from proofs_check.derivation import Derivation, Equal
from theory.catalog.ars import PAPER, posterior_after_failure
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

UNIT_ROUNDOFF = 2.0**-53
"""float64 unit roundoff u."""

Update = Callable[[Sequence[Any], Sequence[bool]], list[Any]]


def paper_update(p: Sequence[Any], sample: Sequence[bool]) -> list[Any]:
    r"""The spec's update: :math:`p_i(1-\prod_{j\in S\setminus i}p_j)/(1-\prod_{j\in S}p_j)`
    on S, :math:`p_i` elsewhere; plain arithmetic (sympy, Fraction or float)."""
    in_sample = [q for q, s in zip(p, sample, strict=True) if s]
    total = math.prod(in_sample)
    out = []
    for i, (q, s) in enumerate(zip(p, sample, strict=True)):
        if s:
            others = math.prod(p[j] for j in range(len(p)) if sample[j] and j != i)
            out.append(q * (1 - others) / (1 - total))
        else:
            out.append(q)
    return out


def unchanged_update(p: Sequence[Any], sample: Sequence[bool]) -> list[Any]:
    """Control: a failed sample carries no information, :math:`p_i'=p_i`."""
    return list(p)


def unnormalised_update(p: Sequence[Any], sample: Sequence[bool]) -> list[Any]:
    r"""Control: the likelihood without the evidence,
    :math:`p_i'=p_i(1-\prod_{j\in S\setminus i}p_j)` on S."""
    out = []
    for i, (q, s) in enumerate(zip(p, sample, strict=True)):
        others = math.prod(p[j] for j in range(len(p)) if sample[j] and j != i)
        out.append(q * (1 - others) if s else q)
    return out


def enumerated_posterior(p: Sequence[Any], failed: Sequence[Sequence[bool]]) -> list[Any]:
    r""":math:`P(z_i=1\mid\text{each failed sample holds an outlier})` from the joint law.

    Parameters
    ----------
    p : sequence of n priors (sympy expressions, Fractions or floats)
    failed : sequence of boolean masks of length n, the failed samples in order

    Returns
    -------
    list of n posterior marginals, in the arithmetic of p.
    """
    n = len(p)
    evidence, inlier_mass = 0, [0] * n
    for z in itertools.product((0, 1), repeat=n):
        if any(all(z[j] for j in range(n) if sample[j]) for sample in failed):
            continue  # some failed sample would have been all inliers
        weight = math.prod(p[i] if z[i] else 1 - p[i] for i in range(n))
        evidence += weight
        for i in range(n):
            if z[i]:
                inlier_mass[i] += weight
    return [mass / evidence for mass in inlier_mass]


def _sequential(update: Update, p: Sequence[Any], failed: Sequence[Sequence[bool]]) -> list:
    for sample in failed:
        p = update(p, sample)
    return list(p)


SYMBOLIC_CASES = {
    1: ((4, ((True, True, True, False),)), (2, ((True, False),))),
    2: ((3, ((True, True, False), (False, True, True))),),
}
"""(n, failed samples) proved symbolically, for one failure and for two overlapping ones."""


def _symbolic_part(update: Update, failures: int) -> Evidence:
    steps = []
    for n, failed in SYMBOLIC_CASES[failures]:
        # rational functions equal on the open box (0, 1)^n are identical, so positive
        # symbols prove the identity on the priors' domain (and a residual anywhere refutes it)
        p = list(sympy.symbols(f"p0:{n}", positive=True))
        exact = enumerated_posterior(p, failed)
        candidate = _sequential(update, p, failed)
        for i in range(n):
            label = f"n={n}, failed={[[j for j in range(n) if m[j]] for m in failed]}: p_{i}'"
            steps.append(Equal(label, candidate[i], exact[i]))
    return Derivation(tuple(steps)).check()


def _random_instances(
    rng: np.random.Generator, count: int, n: int, failures: int
) -> list[tuple[list[Fraction], list[list[bool]]]]:
    """Priors k/12 (0 and 1 included) and failed samples of possible failure.

    With two failures the samples overlap in at least one point and differ.
    """
    instances = []
    while len(instances) < count:
        p = [Fraction(int(k), 12) for k in rng.integers(0, 13, size=n)]
        first = rng.random(n) < 0.5
        first[rng.integers(n)] = True
        failed = [first.tolist()]
        if failures == 2:
            second = rng.random(n) < 0.5
            shared = rng.choice(np.flatnonzero(first))
            second[shared] = True
            if np.array_equal(second, first):
                second[(shared + 1) % n] = not second[(shared + 1) % n]
                second[shared] = True
            failed.append(second.tolist())
        try:
            enumerated_posterior(p, failed)
        except ZeroDivisionError:
            continue  # the failures are impossible under these priors
        instances.append((p, failed))
    return instances


def _exact_gaps(candidate: list, exact: list) -> np.ndarray:
    """0 where two rationals are equal, else -|difference| (never rounded to 0)."""
    return np.array(
        [
            0.0 if c == e else -max(abs(float(c - e)), 5e-324)
            for c, e in zip(candidate, exact, strict=True)
        ]
    )


@claim(
    "ars.bayes-update",
    paper=PAPER,
    source="Sec. 3 (adaptive reordering: update of inlier probabilities; not confirmed)",
    statement=(
        r"z_i\sim\mathrm{Bernoulli}(p_i)\text{ independent},\ S\text{ fails}:\ "
        r"p_i'=P(z_i=1\mid\exists j\in S:z_j=0)=p_i\frac{1-\prod_{j\in S\setminus i}p_j}"
        r"{1-\prod_{j\in S}p_j}\ (i\in S),\ p_i'=p_i\ (i\notin S)"
        r"\ \text{(derived; the paper's exact update is not confirmed)}"
    ),
    method="symbolic",
    provenance="derived",
    controls=[
        Control(
            "no-update",
            r"p_i'=p_i\text{ (a failure carries no information)}",
            {"update": unchanged_update},
        ),
        Control(
            "unnormalised",
            r"p_i'=p_i(1-\prod_{j\in S\setminus i}p_j)\text{ (no division by }P(\text{fail}))",
            {"update": unnormalised_update},
        ),
        Control(
            "sequential-overlapping",
            r"\text{applying the update after each of two overlapping failed samples gives "
            r"the exact posterior}",
            {"failures": 2},
        ),
    ],
)
def bayes_update(ctx: Context, update: Update = paper_update, failures: int = 1) -> Evidence:
    r"""Exact enumeration of the joint Bernoulli law against the candidate update.

    Parts: (1) exact rationals: priors k/12 (k = 0..12, so that certain inliers and
    outliers occur), n = 6, a random non-empty S, ``ctx.pick(40, 300)`` instances; every
    posterior must be equal; (2) sympy, symbolic priors :math:`p_i` (positive symbols: both
    sides are rational functions, and rational functions that agree on the open box
    :math:`(0,1)^n` are identical): the candidate equals the enumerated posterior for
    n = 4, S = {0, 1, 2} (points inside and outside S) and n = 2, S = {0} (then
    :math:`p_0'=0`); (3) the backend's :func:`~theory.catalog.ars.posterior_after_failure`
    on the one-failure instances against the exact posterior within
    :math:`(4n+6)u\,(p_i/(1-\prod_Sp_j)+p_i')`: the priors' rounding and the n-term
    products give absolute errors :math:`\le(2n+1)u` in :math:`N=1-\prod_{S\setminus i}p_j`
    and :math:`D=1-\prod_Sp_j`, and :math:`N\le D` bounds the quotient's error.

    With ``failures=2`` (a control) each instance has two overlapping failed samples and
    the candidate is applied after each in turn; the backend part still checks one failure.
    """
    if failures not in SYMBOLIC_CASES:
        raise ValueError(f"failures must be 1 or 2, got {failures!r}")
    rng = ctx.rng(0)
    n, count = 6, ctx.pick(40, 300)
    instances = _random_instances(rng, count, n, failures)
    gaps = [
        _exact_gaps(_sequential(update, p, failed), enumerated_posterior(p, failed))
        for p, failed in instances
    ]
    priors = np.array([[float(q) for q in p] for p, _ in instances])
    samples = np.array([failed for _, failed in instances])  # (count, failures, n)
    masks = samples[:, 0, :]
    parts = {  # the rational part first: its counterexample has priors in [0, 1]
        "exact rationals: candidate = enumerated posterior": checks.nonnegative(
            np.array(gaps), inputs={"p": priors, "failed_samples": samples}
        ),
        "sympy: candidate = enumerated posterior": _symbolic_part(update, failures),
    }

    single = [(p, failed[:1]) for p, failed in instances]
    reference = np.array([[float(x) for x in enumerated_posterior(p, f)] for p, f in single])
    backend = to_numpy(posterior_after_failure(ctx.asarray(priors), ctx.asarray(masks)))
    fail_probability = 1.0 - np.prod(np.where(masks, priors, 1.0), axis=1, keepdims=True)
    tolerance = (4 * n + 6) * UNIT_ROUNDOFF * (priors / fail_probability + np.abs(reference))
    parts["float: backend update = exact posterior (one failure)"] = checks.compare(
        backend, reference, atol=tolerance, inputs={"p": priors, "sample": masks}
    )
    return checks.combine(parts)
