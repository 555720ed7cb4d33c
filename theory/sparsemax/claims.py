r"""Claims of Martins & Astudillo (ICML 2016) about sparsemax and its Jacobian.

Ids and statements follow ``shared/claims/sparsemax.md``. Each check takes the
thing under test as a keyword argument (defaulting to the paper's statement); each
negative control passes a plausible false variant to the same check. Symbolic
claims (binary reductions, margins) live in :mod:`proofs_check.sparsemax`; the
loss claims in :mod:`theory.sparsemax.loss_claims`.

Tolerances: float64 unit roundoff u = 2.2e-16. A threshold computed from a
cumulative sum of K <= 50 terms of size <= 40 carries an error below
K u max|z| ~ 5e-13, hence the spec's 1e-12 against bisection; the cvxpy QP is
solved to CLARABEL's default 1e-8 feasibility and gap, hence 1e-7.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from theory.sparsemax.jacobian import sparsemax_jacobian, sparsemax_jvp
from theory.sparsemax.projection import (
    softmax,
    sparsemax,
    sparsemax_support,
    sparsemax_threshold,
)
from theory.sparsemax.references import (
    SOLVER_OPTIONS,
    projection_problem,
    random_batch,
    random_scores,
    sparsemax_exact,
    threshold_by_bisection,
)
from theorycheck import checks
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "sparsemax"


def _apply(ctx: Context, fn: Callable[[Any], Any], z: np.ndarray) -> np.ndarray:
    """Run ``fn`` on the backend under test and bring the result back to NumPy."""
    return to_numpy(fn(ctx.asarray(z)))


def _group_by_size(vectors: list[np.ndarray]) -> dict[int, np.ndarray]:
    groups: dict[int, list[np.ndarray]] = {}
    for z in vectors:
        groups.setdefault(z.shape[0], []).append(z)
    return {size: np.stack(rows) for size, rows in sorted(groups.items())}


# --------------------------------------------------------------------------- def_projection


def normalised_relu(z: Any) -> Any:
    r"""Control: :math:`[z]_+/\mathbf 1^\top[z]_+`, a map onto the simplex that is no projection."""
    xp = array_namespace(z)
    positive = xp.clip(z, min=0.0)
    return positive / xp.sum(positive, axis=-1, keepdims=True)


@claim(
    "sparsemax.def_projection",
    paper=PAPER,
    source="Eq. (2)",
    statement=r"\mathrm{sparsemax}(z)=\arg\min_{p\in\Delta^{K-1}}\|p-z\|_2^2",
    method="solver",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "normalised-relu",
            r"[z]_+/\mathbf 1^\top[z]_+ is the projection",
            {"projection": normalised_relu},
        )
    ],
)
def def_projection(ctx: Context, projection: Callable[[Any], Any] = sparsemax) -> Evidence:
    """Compare the map with a cvxpy QP (1e-7) and with the bisection threshold (1e-12)."""
    vectors = random_scores(ctx.rng(0), ctx.pick(40, 1000))
    parts: dict[str, Evidence] = {}
    for size, z in _group_by_size(vectors).items():
        p = _apply(ctx, projection, z)
        solved = checks.solve_each(projection_problem, z, **SOLVER_OPTIONS)
        bisected = np.clip(z - threshold_by_bisection(z)[:, None], 0.0, None)
        parts[f"K={size} vs cvxpy"] = checks.compare(p, solved, atol=1e-7, inputs={"z": z})
        parts[f"K={size} vs bisection"] = checks.compare(p, bisected, atol=1e-12, inputs={"z": z})
    golden = np.array([[1.0, 0.5, -1.0]])
    parts["golden (1, .5, -1)"] = checks.compare(
        _apply(ctx, projection, golden), [[0.75, 0.25, 0.0]], atol=1e-15, inputs={"z": golden}
    )
    return checks.combine(parts)


# --------------------------------------------------------------------------- closed_form


def paper_support_test(rank: int, value: Fraction, prefix_sum: Fraction) -> bool:
    r"""Proposition 1: k is in the support iff :math:`1 + k z_{(k)} > \sum_{j\le k} z_{(j)}`."""
    return 1 + rank * value > prefix_sum


def off_by_one_support_test(rank: int, value: Fraction, prefix_sum: Fraction) -> bool:
    r"""Control (a): :math:`1 + k z_{(k)} > \sum_{j<k} z_{(j)}`, a slip seen in public code."""
    return 1 + rank * value > prefix_sum - value


def paper_denominator(support_size: int, num_classes: int) -> int:
    r"""Proposition 1: :math:`\tau = (\sum_{j\le k} z_{(j)} - 1)/k(z)`."""
    return support_size


def full_denominator(support_size: int, num_classes: int) -> int:
    r"""Control (b): dividing by K instead of k(z)."""
    return num_classes


def threshold_by_rule(
    z: list[Fraction],
    support_test: Callable[[int, Fraction, Fraction], bool],
    denominator: Callable[[int, int], int],
) -> tuple[Fraction | None, int]:
    """Algorithm 1 in exact arithmetic with a given support test and denominator.

    Returns ``(None, 0)`` when no rank passes the test (an empty support).
    """
    ordered = sorted(z, reverse=True)
    prefix = Fraction(0)
    support_size, support_sum = 0, Fraction(0)
    for rank, value in enumerate(ordered, start=1):
        prefix += value
        if support_test(rank, value, prefix):
            support_size, support_sum = rank, prefix
    if support_size == 0:
        return None, 0
    return (support_sum - 1) / denominator(support_size, len(z)), support_size


_GOLDEN_CLOSED_FORM = [
    # z, p, tau, k  (shared/claims/sparsemax.md, sparsemax.closed_form)
    ((1, Fraction(1, 2), -1), (Fraction(3, 4), Fraction(1, 4), 0), Fraction(1, 4), 2),
    (
        (Fraction(3, 10), Fraction(2, 10), Fraction(1, 10), Fraction(-5, 10)),
        (Fraction(13, 30), Fraction(10, 30), Fraction(7, 30), 0),
        Fraction(-2, 15),
        3,
    ),
    ((2, 2, 0), (Fraction(1, 2), Fraction(1, 2), 0), Fraction(3, 2), 2),
    ((0, 0, 0, 0), (Fraction(1, 4),) * 4, Fraction(-1, 4), 4),
]


def _random_rationals(rng: np.random.Generator, count: int) -> list[list[Fraction]]:
    vectors = []
    for _ in range(count):
        size = int(rng.integers(2, 13))
        numerators = rng.integers(-60, 61, size)
        denominator = int(rng.integers(1, 25))
        z = [Fraction(int(n), denominator) for n in numerators]
        if rng.random() < 0.3:
            z[1] = z[0]  # a tie (pitfall P-A2)
        vectors.append(z)
    return vectors


@claim(
    "sparsemax.closed_form",
    paper=PAPER,
    source="Prop. 1, Alg. 1",
    statement=(
        r"\mathrm{sparsemax}_i(z)=[z_i-\tau(z)]_+,\ "
        r"\tau=\frac{\sum_{j\le k(z)}z_{(j)}-1}{k(z)},\ "
        r"k(z)=\max\{k:1+kz_{(k)}>\sum_{j\le k}z_{(j)}\}"
    ),
    method="numeric",
    provenance="confirmed",
    controls=[
        Control(
            "off-by-one-support",
            r"support test 1+k z_{(k)} > \sum_{j<k} z_{(j)}",
            {"support_test": off_by_one_support_test},
        ),
        Control(
            "denominator-K",
            r"\tau=(\sum_{j\le k}z_{(j)}-1)/K",
            {"denominator": full_denominator},
        ),
    ],
)
def closed_form(
    ctx: Context,
    support_test: Callable[[int, Fraction, Fraction], bool] = paper_support_test,
    denominator: Callable[[int, int], int] = paper_denominator,
) -> Evidence:
    r"""Exact: the rule's :math:`\tau` gives :math:`\sum_j[z_j-\tau]_+=1` and :math:`|S|=k`
    on random rationals and the golden values; float64: the implementation agrees
    with bisection (1e-12) and with the exact rule on rational inputs (1e-12)."""
    parts: dict[str, Evidence] = {}

    failures = []
    rationals = [list(map(Fraction, z)) for z, *_ in _GOLDEN_CLOSED_FORM]
    rationals += _random_rationals(ctx.rng(0), ctx.pick(200, 2000))
    for z in rationals:
        tau, k = threshold_by_rule(z, support_test, denominator)
        if tau is None:
            failures.append({"z": [str(v) for v in z], "tau": "none (empty support)", "mass": "0"})
            continue
        mass = sum(max(v - tau, Fraction(0)) for v in z)
        support = sum(1 for v in z if v > tau)
        if mass != 1 or support != k:
            failures.append({"z": [str(v) for v in z], "tau": str(tau), "mass": str(mass), "k": k})
    parts["exact rule"] = checks.exact(
        not failures,
        cases=len(rationals),
        residual=float(Fraction(failures[0]["mass"]) - 1) if failures else None,
        counterexample=failures[0] if failures else None,
    )

    golden_failures = []
    for z, p, tau_expected, k_expected in _GOLDEN_CLOSED_FORM:
        zf = list(map(Fraction, z))
        tau, k = threshold_by_rule(zf, support_test, denominator)
        p_rule = [max(v - tau, Fraction(0)) for v in zf]
        if (tau, k, p_rule) != (tau_expected, k_expected, list(map(Fraction, p))):
            golden_failures.append({"z": z, "tau": str(tau), "k": k})
    parts["golden values"] = checks.exact(
        not golden_failures,
        cases=len(_GOLDEN_CLOSED_FORM),
        counterexample=golden_failures[0] if golden_failures else None,
    )

    for size, z in _group_by_size(random_scores(ctx.rng(1), ctx.pick(300, 3000))).items():
        tau = _apply(ctx, sparsemax_threshold, z)
        parts[f"K={size} vs bisection"] = checks.compare(
            tau, threshold_by_bisection(z), atol=1e-12, inputs={"z": z}
        )
    exact_floats = {}
    for z in rationals:
        exact_floats.setdefault(len(z), []).append(
            (np.array([float(v) for v in z]), float(sparsemax_exact(z)[1]))
        )
    for size, rows in exact_floats.items():
        z = np.stack([r[0] for r in rows])
        parts[f"K={size} vs exact"] = checks.compare(
            _apply(ctx, sparsemax_threshold, z), [r[1] for r in rows], atol=1e-12, inputs={"z": z}
        )
    return checks.combine(parts)


# --------------------------------------------------------------------------- shared helpers

UNIT_ROUNDOFF = float(np.finfo(np.float64).eps)
"""2.2e-16: every tolerance below is a small multiple of it times the size of the data."""


def _rounding_tolerance(num_classes: int, magnitude: Any) -> Any:
    r"""Float64 error allowance ``4 K u (magnitude + 1)`` for sparsemax and softmax outputs.

    The threshold is a cumulative sum of at most K sorted scores of size at most
    ``magnitude`` (error <= K u magnitude), divided by k, then subtracted from a score
    (one more rounding); :math:`|\tau| \le \max|z| + 1`. Softmax's sum of K
    exponentials carries a relative error <= K u and each exponent an absolute error
    <= u max|z|. A factor 4 covers the few extra roundings of each path.
    """
    return 4.0 * num_classes * UNIT_ROUNDOFF * (np.asarray(magnitude, dtype=float) + 1.0)


def _apply_pair(
    ctx: Context, fn: Callable[[Any, Any], Any], z: np.ndarray, v: np.ndarray
) -> np.ndarray:
    """Run a two-argument ``fn`` on the backend under test; return a NumPy array."""
    return to_numpy(fn(ctx.asarray(z), ctx.asarray(v)))


# --------------------------------------------------------------------------- prop2 limit


def paper_limit_temperature(multiplicity: int, gap: Fraction) -> Fraction:
    r"""Derived sharp form: the limit is reached exactly for :math:`\varepsilon\le|A|(m-m_2)`."""
    return multiplicity * gap


def gap_only_limit_temperature(multiplicity: int, gap: Fraction) -> Fraction:
    r"""Control: the threshold :math:`\varepsilon\le m-m_2`, missing the factor :math:`|A|`."""
    return gap


_LIMIT_OVERSHOOT = Fraction(1, 10_000)
r"""ε = T(1 + 1e-4) lies 'slightly above' T: there the next coordinates get mass
:math:`(\varepsilon-T)/(k\varepsilon) \approx 10^{-4}/k \ge 2\cdot10^{-6}` for k <= 50,
seven orders above the rounding allowance."""


def _rationals_with_top_ties(rng: np.random.Generator, count: int) -> list[list[Fraction]]:
    """Rational scores whose maximum is repeated 1 to 3 times, never all equal."""
    vectors = []
    for _ in range(count):
        size = int(rng.integers(2, 13))
        denominator = int(rng.integers(1, 13))
        numerators = rng.integers(-20, 21, size)
        multiplicity = int(rng.integers(1, min(3, size - 1) + 1))
        numerators[rng.choice(size, multiplicity, replace=False)] = numerators.max()
        if (numerators == numerators.max()).all():
            numerators[int(rng.integers(size))] -= int(rng.integers(1, 10))
        vectors.append([Fraction(int(n), denominator) for n in numerators])
    return vectors


def _argmax_limit(z: list[Fraction]) -> tuple[list[Fraction], int, Fraction]:
    r"""``(1_A/|A|, |A|, m - m_2)`` for scores with at least two distinct values."""
    top = max(z)
    multiplicity = sum(1 for value in z if value == top)
    runner_up = max(value for value in z if value < top)
    limit = [Fraction(1, multiplicity) if value == top else Fraction(0) for value in z]
    return limit, multiplicity, top - runner_up


@claim(
    "sparsemax.prop2_uniform_and_argmax_limit",
    paper=PAPER,
    source="Prop. 2, item 1",
    statement=(
        r"\rho(0)=\mathbf 1/K,\ \lim_{\varepsilon\to0^+}\rho(z/\varepsilon)=\mathbf 1_A/|A|;\ "
        r"\mathrm{sparsemax}(z/\varepsilon)=\mathbf 1_A/|A|\iff0<\varepsilon\le|A|(m-m_2)"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    notes=(
        "The sharp finite-temperature threshold |A|(m-m2) for sparsemax and the fact that "
        "softmax never reaches the limit are derived."
    ),
    controls=[
        Control(
            "threshold-without-multiplicity",
            r"\mathrm{sparsemax}(z/\varepsilon)=\mathbf 1_A/|A|\iff\varepsilon\le m-m_2",
            {"limit_temperature": gap_only_limit_temperature},
        )
    ],
)
def prop2_uniform_and_argmax_limit(
    ctx: Context,
    limit_temperature: Callable[[int, Fraction], Fraction] = paper_limit_temperature,
) -> Evidence:
    r"""Both maps give 1/K at 0; sparsemax reaches :math:`\mathbf 1_A/|A|` exactly for every
    ε up to the claimed temperature T and not at T(1 + 1e-4) (exact rationals and the
    implementation); softmax's mass outside A matches its closed form, positive at
    every finite ε and vanishing as ε -> 0.

    Tolerances: 4 K u (max|z/ε| + 1) for the float outputs (see
    :func:`_rounding_tolerance`); softmax's outside mass is compared relatively, its
    exponents carrying an absolute error <= 2 u max|z/ε|.
    """
    parts: dict[str, Evidence] = {}

    for size in (2, 3, 4, 7, 50):
        zero = np.zeros((1, size))
        uniform = np.full((1, size), 1.0 / size)
        # 1/K is correctly rounded on both paths: error <= u/2 relative, atol u suffices.
        for name, rho in (("sparsemax", sparsemax), ("softmax", softmax)):
            parts[f"{name}(0)=1/K, K={size}"] = checks.compare(
                _apply(ctx, rho, zero), uniform, atol=UNIT_ROUNDOFF, inputs={"z": zero}
            )

    golden = [Fraction(1), Fraction(1), Fraction("0.7"), Fraction("0.2")]
    vectors = [golden, *_rationals_with_top_ties(ctx.rng(0), ctx.pick(150, 1500))]
    below_fractions = [Fraction(1), Fraction(1, 2), Fraction(1, 1000)]

    failures: list[dict[str, Any]] = []
    float_rows: dict[int, list[tuple[np.ndarray, list[float], float, np.ndarray]]] = {}
    rng = ctx.rng(1)
    for z in vectors:
        limit, multiplicity, gap = _argmax_limit(z)
        temperature = limit_temperature(multiplicity, gap)
        below = [temperature * r for r in below_fractions]
        below.append(temperature * Fraction(int(rng.integers(1, 1000)), 1000))
        above = temperature * (1 + _LIMIT_OVERSHOOT)
        for eps in below:
            p, _, _ = sparsemax_exact([value / eps for value in z])
            if p != limit:
                failures.append(
                    {"z": [str(v) for v in z], "eps": str(eps), "p": [str(v) for v in p]}
                )
        p, _, _ = sparsemax_exact([value / above for value in z])
        if p == limit:
            failures.append(
                {"z": [str(v) for v in z], "eps": str(above), "p": "limit reached above T"}
            )
        float_rows.setdefault(len(z), []).append(
            (
                np.array([float(v) for v in z]),
                [float(eps) for eps in below],
                float(above),
                np.array([float(v) for v in limit]),
            )
        )
    parts["exact: limit iff eps <= T"] = checks.exact(
        not failures,
        cases=len(vectors) * (len(below_fractions) + 2),
        counterexample=failures[0] if failures else None,
    )

    for size, rows in float_rows.items():
        z = np.stack([r[0] for r in rows])
        below = np.array([r[1] for r in rows])
        above = np.array([r[2] for r in rows])
        limit = np.stack([r[3] for r in rows])
        count, columns = below.shape

        scaled = (z[:, None, :] / below[:, :, None]).reshape(-1, size)
        p_below = _apply(ctx, sparsemax, scaled)
        parts[f"K={size} sparsemax reached for eps <= T"] = checks.compare(
            p_below,
            np.repeat(limit, columns, axis=0),
            atol=_rounding_tolerance(size, np.abs(scaled).max(axis=1)),
            inputs={"z": np.repeat(z, columns, axis=0), "eps": below.reshape(-1)},
        )

        scaled_above = z / above[:, None]
        p_above = _apply(ctx, sparsemax, scaled_above)
        distance = np.abs(p_above - limit).max(axis=1)
        parts[f"K={size} sparsemax not reached at T(1+1e-4)"] = checks.nonnegative(
            distance - _rounding_tolerance(size, np.abs(scaled_above).max(axis=1)),
            inputs={"z": z, "eps": above},
        )

        # Softmax: the mass outside A is sum_{j not in A} e_j / (|A| + sum e_j) with
        # e_j = exp((z_j - m)/eps) > 0, at eps down to T/100 (no underflow of the m_2 term).
        softmax_eps = above[:, None] * np.array([[0.01, 0.1, 0.5, 1.0, 2.0]])
        scaled_soft = (z[:, None, :] / softmax_eps[:, :, None]).reshape(-1, size)
        outside = np.repeat(limit == 0, softmax_eps.shape[1], axis=0)
        p_soft = _apply(ctx, softmax, scaled_soft)
        mass_outside = np.where(outside, p_soft, 0.0).sum(axis=1)
        top = z.max(axis=1, keepdims=True)
        exponentials = np.exp((z - top)[:, None, :] / softmax_eps[:, :, None]).reshape(-1, size)
        tail = np.where(outside, exponentials, 0.0).sum(axis=1)
        reference = tail / ((~outside).sum(axis=1) + tail)
        relative = _rounding_tolerance(size, np.abs(scaled_soft).max(axis=1))
        parts[f"K={size} softmax mass outside A > 0, -> 0"] = checks.compare(
            mass_outside,
            reference,
            atol=relative * reference,
            inputs={
                "z": np.repeat(z, softmax_eps.shape[1], axis=0),
                "eps": softmax_eps.reshape(-1),
            },
        )

    golden_z = np.array([[1.0, 1.0, 0.7, 0.2]])
    for text in ("0.6", "0.60006"):
        eps = Fraction(text)
        exact_p, _, _ = sparsemax_exact([value / eps for value in golden])
        scaled = golden_z / float(eps)
        parts[f"golden z=(1,1,.7,.2), eps={text}"] = checks.compare(
            _apply(ctx, sparsemax, scaled),
            [[float(v) for v in exact_p]],
            atol=_rounding_tolerance(4, np.abs(scaled).max()),
            inputs={"z": golden_z},
        )
    return checks.combine(parts)


# --------------------------------------------------------------------------- high temperature


def paper_high_temperature_slope(num_classes: int) -> Fraction:
    r"""Derived: :math:`\mathrm{sparsemax}(z/T)=\mathbf 1/K+(z-\bar z\mathbf 1)/T`, slope 1."""
    return Fraction(1)


def softmax_like_slope(num_classes: int) -> Fraction:
    r"""Control: slope 1/K, as in softmax's first-order term :math:`\mathbf 1/K+(z-\bar z)/(KT)`."""
    return Fraction(1, num_classes)


@claim(
    "sparsemax.high_temperature_affine",
    paper=PAPER,
    source="Prop. 1 (consequence)",
    statement=(
        r"\min_i z_i>\bar z-\tfrac1K\Rightarrow\mathrm{sparsemax}(z)=z-\bar z\mathbf 1+\tfrac1K"
        r"\mathbf 1;\ \mathrm{sparsemax}(z/T)=\tfrac1K\mathbf 1+\tfrac{z-\bar z\mathbf 1}{T}"
        r"\ \forall T\ge K(\bar z-\min_i z_i)"
    ),
    method="numeric",
    provenance="derived",
    controls=[
        Control(
            "softmax-slope-1-over-K",
            r"\mathrm{sparsemax}(z/T)=\tfrac1K\mathbf 1+\tfrac{z-\bar z\mathbf 1}{KT}",
            {"slope": softmax_like_slope},
        )
    ],
)
def high_temperature_affine(
    ctx: Context, slope: Callable[[int], Fraction] = paper_high_temperature_slope
) -> Evidence:
    r"""Exact rationals and float64 at temperatures :math:`T=rK(\bar z-\min z)`, r = 1 (the
    boundary, where the minimum reaches 0) and r in (1, 4]: sparsemax(z/T) equals
    :math:`\mathbf 1/K+\mathrm{slope}(K)(z-\bar z)/T` and, for r > 1, every class is in
    the support. Float tolerance 4 K u (max|z/T| + 1) (see :func:`_rounding_tolerance`).
    """
    parts: dict[str, Evidence] = {}
    rng = ctx.rng(0)

    failures: list[dict[str, Any]] = []
    rationals = _random_rationals(rng, ctx.pick(150, 1500))
    for z in rationals:
        size = len(z)
        mean = sum(z) / size
        spread = size * (mean - min(z))
        for ratio in (Fraction(1), Fraction(int(rng.integers(1001, 4001)), 1000)):
            temperature = spread * ratio if spread > 0 else ratio
            p, _, support_size = sparsemax_exact([value / temperature for value in z])
            expected = [
                Fraction(1, size) + slope(size) * (value - mean) / temperature for value in z
            ]
            full_support = ratio == 1 or support_size == size
            if p != expected or not full_support:
                failures.append(
                    {"z": [str(v) for v in z], "T": str(temperature), "k": support_size}
                )
    parts["exact rationals"] = checks.exact(
        not failures, cases=2 * len(rationals), counterexample=failures[0] if failures else None
    )

    for size in (2, 3, 5, 10, 50):
        z = random_batch(rng, ctx.pick(100, 1000), size)
        spread = size * (z.mean(axis=1) - z.min(axis=1))
        ratio = np.concatenate([np.ones(10), 1.0 + 3.0 * rng.random(z.shape[0] - 10)])
        temperature = spread * ratio
        scaled = z / temperature[:, None]
        expected = (
            1.0 / size
            + float(slope(size)) * (z - z.mean(axis=1, keepdims=True)) / (temperature[:, None])
        )
        inputs = {"z": z, "T": temperature}
        parts[f"K={size} sparsemax(z/T) affine"] = checks.compare(
            _apply(ctx, sparsemax, scaled),
            expected,
            atol=_rounding_tolerance(size, np.abs(scaled).max(axis=1)),
            inputs=inputs,
        )
        above = ratio > 1
        parts[f"K={size} full support for T > K(mean - min)"] = checks.agree(
            _apply(ctx, sparsemax_support, scaled[above]).all(axis=1),
            np.ones(int(above.sum()), dtype=bool),
            inputs={"z": z[above], "T": temperature[above]},
            names=("full_support", "expected"),
        )
    return checks.combine(parts)


# --------------------------------------------------------------------------- shift invariance


def shift_by(z: Any, c: Any) -> Any:
    r"""The claim's transformation :math:`z+c\mathbf 1`."""
    return z + c


def scale_by(z: Any, c: Any) -> Any:
    r"""Control: the transformation :math:`cz` (scale invariance, false for both maps)."""
    return c * z


@claim(
    "sparsemax.prop2_shift_invariance",
    paper=PAPER,
    source="Prop. 2, item 2",
    statement=(
        r"\rho(z+c\mathbf 1)=\rho(z),\ \tau(z+c\mathbf 1)=\tau(z)+c"
        r"\quad\forall c\in\mathbb R"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control("scale-invariance", r"\rho(cz)=\rho(z)", {"transform": scale_by}),
    ],
)
def prop2_shift_invariance(
    ctx: Context, transform: Callable[[Any, Any], Any] = shift_by
) -> Evidence:
    r"""Random z (K in [2, 50], scales 0.01 to 10, with ties) and c = ±10^U(-2, 2):
    sparsemax, softmax and τ of the transformed scores against the originals.

    Rounding z + c moves each score by <= u(|z| + |c|), which moves the 1-Lipschitz
    projection, softmax (Jacobian norm <= 1/2) and τ by as much; on top come the
    maps' own errors, so the tolerance is 4 K u (max|z| + |c| + 1) per instance.
    """
    parts: dict[str, Evidence] = {}
    rng = ctx.rng(1)
    groups = _group_by_size(random_scores(ctx.rng(0), ctx.pick(300, 3000)))
    for size, z in groups.items():
        c = rng.choice([-1.0, 1.0], size=(z.shape[0], 1)) * 10 ** rng.uniform(
            -2, 2, (z.shape[0], 1)
        )
        moved = to_numpy(transform(ctx.asarray(z), ctx.asarray(c)))
        tolerance = _rounding_tolerance(size, np.abs(z).max(axis=1) + np.abs(c[:, 0]))
        inputs = {"z": z, "c": c[:, 0]}
        for name, rho in (("sparsemax", sparsemax), ("softmax", softmax)):
            parts[f"K={size} {name}"] = checks.compare(
                _apply(ctx, rho, moved), _apply(ctx, rho, z), atol=tolerance, inputs=inputs
            )
        parts[f"K={size} tau shifts by c"] = checks.compare(
            _apply(ctx, sparsemax_threshold, moved),
            _apply(ctx, sparsemax_threshold, z) + c[:, 0],
            atol=tolerance,
            inputs=inputs,
        )
    return checks.combine(parts)


# --------------------------------------------------------------------------- permutation


def sorted_output(rho: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Control: an implementation that sorts the scores and forgets to un-permute."""

    def rho_sorted(z: Any) -> Any:
        xp = array_namespace(z)
        return rho(xp.flip(xp.sort(z, axis=-1), axis=-1))

    rho_sorted.__name__ = f"{getattr(rho, '__name__', 'rho')}_sorted_output"
    return rho_sorted


_PERMUTATION_GOLDEN = [
    (1.0, 1.0, 0.0),
    (2.0, 2.0, 0.0),
    (0.0, 0.0, 0.0, 0.0),
    (0.3, 0.2, 0.1, -0.5),
]


@claim(
    "sparsemax.prop2_permutation",
    paper=PAPER,
    source="Prop. 2, item 3",
    statement=r"\rho(Pz)=P\rho(z)\ \text{for every permutation matrix }P",
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "sorted-output",
            r"an implementation returning \rho(\mathrm{sort}(z)), never un-permuted",
            {
                "sparsemax_map": sorted_output(sparsemax),
                "softmax_map": sorted_output(softmax),
            },
        )
    ],
)
def prop2_permutation(
    ctx: Context,
    sparsemax_map: Callable[[Any], Any] = sparsemax,
    softmax_map: Callable[[Any], Any] = softmax,
) -> Evidence:
    r"""Random z with ties (a quarter copy a coordinate; integer scores in {-2..2} tie
    massively) under one random permutation each, and every permutation of the
    golden vectors (1,1,0), (2,2,0), 0 in R^4, (0.3,0.2,0.1,-0.5).

    Permuting changes at most the order of floating sums (softmax's normaliser), a
    relative error <= 2 K u on outputs <= 1: tolerance 2 K u.
    """
    import itertools

    rng = ctx.rng(1)
    batches = dict(_group_by_size(random_scores(ctx.rng(0), ctx.pick(300, 3000))))
    for size in (3, 6, 20):
        batches[1000 + size] = rng.integers(-2, 3, (ctx.pick(50, 500), size)).astype(float)
    for index, golden in enumerate(_PERMUTATION_GOLDEN):
        batches[2000 + index] = np.array(list(itertools.permutations(golden)))
    parts: dict[str, Evidence] = {}
    for key, z in batches.items():
        size = z.shape[1]
        if key >= 2000:  # row i of z is the golden vector permuted by the i-th permutation
            label = f"golden {_PERMUTATION_GOLDEN[key - 2000]} all permutations"
            permutation = np.array(list(itertools.permutations(range(size))))
            original = np.repeat(z[:1], z.shape[0], axis=0)
            permuted = z
        else:
            permutation = rng.permuted(np.tile(np.arange(size), (z.shape[0], 1)), axis=1)
            label = f"K={size}" + (" integer ties" if key >= 1000 else "")
            original = z
            permuted = np.take_along_axis(z, permutation, axis=1)
        for name, rho in (("sparsemax", sparsemax_map), ("softmax", softmax_map)):
            parts[f"{label} {name}"] = checks.compare(
                _apply(ctx, rho, permuted),
                np.take_along_axis(_apply(ctx, rho, original), permutation, axis=1),
                atol=2 * size * UNIT_ROUNDOFF,
                inputs={"z": original, "permutation": permutation},
            )
    return checks.combine(parts)


# --------------------------------------------------------------------------- order and Lipschitz

_TIGHTNESS_TOLERANCE = 1e-7
r"""How close the sampled supremum of :math:`(\rho_j-\rho_i)/(z_j-z_i)` must come to η.
Sparsemax: both coordinates in the support give ratio 1 exactly, up to rounding
<= 1e-13/(z_j-z_i) <= 1e-9 for the gaps >= 1e-4 used. Softmax with K = 2 and gap
d in [1e-4, 1e-3]: ratio tanh(d/2)/d >= 1/2 - d^2/24 >= 1/2 - 4.2e-8."""


def _pairwise_order_slacks(
    z: np.ndarray, p: np.ndarray, eta: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slacks of ``0 <= p_j - p_i`` and ``p_j - p_i <= eta (z_j - z_i)`` over pairs with
    ``z_i <= z_j`` (others +inf), and the ratios over pairs with ``z_j - z_i >= 1e-4``."""
    score_gap = z[:, None, :] - z[:, :, None]  # [n, i, j] = z_j - z_i
    mass_gap = p[:, None, :] - p[:, :, None]
    ordered = score_gap >= 0
    lower = np.where(ordered, mass_gap, np.inf)
    upper = np.where(ordered, eta * score_gap - mass_gap, np.inf)
    wide = score_gap >= 1e-4
    ratios = np.where(wide, mass_gap / np.where(wide, score_gap, 1.0), -np.inf)
    return lower, upper, ratios


@claim(
    "sparsemax.prop2_order_lipschitz",
    paper=PAPER,
    source="Prop. 2, item 4",
    statement=(
        r"z_i\le z_j\Rightarrow0\le\rho_j(z)-\rho_i(z)\le\eta(z_j-z_i),\ "
        r"\eta=1\ (\mathrm{sparsemax}),\ \eta=\tfrac12\ (\mathrm{softmax})"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control("sparsemax-eta-half", r"\eta=1/2 for sparsemax", {"sparsemax_eta": 0.5}),
        Control("softmax-eta-quarter", r"\eta=1/4 for softmax", {"softmax_eta": 0.25}),
    ],
)
def prop2_order_lipschitz(
    ctx: Context, sparsemax_eta: float = 1.0, softmax_eta: float = 0.5
) -> Evidence:
    r"""Random search over every ordered pair of random z (K in {2, 3, 5, 10, 50},
    scales 0.01 to 10), K = 2 near-ties z = (a, a + d) with d in [1e-4, 1e-3] (where
    softmax's ratio tends to 1/2) and z = (1, 0) (sparsemax's ratio is 1): both
    inequalities on every pair, and the sampled supremum of the ratio within
    1e-7 of η (the constant is attained).

    Tolerance of the inequalities: :math:`p_j-p_i` carries the maps' output error
    (<= 4 K u (max|z| + 1), see :func:`_rounding_tolerance`) twice, and
    :math:`\eta(z_j-z_i)` one rounding of max|z|; 16 K u (max|z| + 1) over the batch.
    """
    rng = ctx.rng(0)
    batches = {f"K={size}": random_batch(rng, ctx.pick(300, 3000), size) for size in (2, 3, 5, 10)}
    batches["K=50"] = random_batch(rng, ctx.pick(40, 400), 50)
    count = ctx.pick(200, 2000)
    offset = rng.uniform(-3, 3, count)
    near_tie = offset + 10 ** rng.uniform(-4, -3, count)
    batches["K=2 near ties"] = np.stack([offset, near_tie], axis=1)
    batches["z=(1,0)"] = np.array([[1.0, 0.0]])

    parts: dict[str, Evidence] = {}
    for name, rho, eta in (
        ("sparsemax", sparsemax, sparsemax_eta),
        ("softmax", softmax, softmax_eta),
    ):
        supremum = -np.inf
        for label, z in batches.items():
            size = z.shape[1]
            lower, upper, ratios = _pairwise_order_slacks(z, _apply(ctx, rho, z), eta)
            tolerance = 16 * size * UNIT_ROUNDOFF * (np.abs(z).max() + 1)
            parts[f"{name} {label} monotone"] = checks.nonnegative(
                lower, tol=tolerance, inputs={"z": z}
            )
            parts[f"{name} {label} eta={eta:g} bound"] = checks.nonnegative(
                upper, tol=tolerance, inputs={"z": z}
            )
            supremum = max(supremum, float(ratios.max()))
        parts[f"{name} sup ratio = eta={eta:g}"] = checks.nonnegative(
            np.array([supremum - eta]), tol=_TIGHTNESS_TOLERANCE, inputs={"sup_ratio": [supremum]}
        )
        parts[f"{name} sup ratio = eta={eta:g}"].details["sup_ratio"] = supremum
    return checks.combine(parts)


# --------------------------------------------------------------------------- Jacobian

FINITE_DIFFERENCE_STEP = 1e-6
FINITE_DIFFERENCE_TOLERANCE = 1e-6
KINK_MARGIN = 1e-4
r"""Spec: central differences, h = 1e-6, tolerance 1e-6, only at points with
:math:`\min_j|z_j-\tau|>10^{-4}` (P-A1). A step of h moves τ by at most h, so no
score crosses τ and sparsemax is affine on the stencil: the truncation error is
zero and the rounding error is about K u max|z| / h <= 50 * 2.2e-16 * 15 / 1e-6 ~ 2e-7."""


def _differentiable_points(
    rng: np.random.Generator, count: int, sizes: tuple[int, ...]
) -> dict[int, np.ndarray]:
    """Random z per K, kept only where min_j |z_j - τ| > 1e-4 and |S| >= 2 (P-A1, P-A3).

    τ comes from the bisection reference; scales 10**U(-1, 0.5), so that supports
    of every size occur.
    """
    batches = {}
    for size in sizes:
        z = random_batch(rng, 6 * count, size, scale_range=(-1.0, 0.5))
        tau = threshold_by_bisection(z)[:, None]
        keep = (np.abs(z - tau).min(axis=1) > KINK_MARGIN) & ((z > tau).sum(axis=1) >= 2)
        batches[size] = z[keep][:count]
    return batches


def _reference_support(z: np.ndarray) -> np.ndarray:
    """The 0/1 support indicator from the bisection threshold (NumPy, independent)."""
    return (z > threshold_by_bisection(z)[..., None]).astype(float)


def _central_differences(
    fn: Callable[[np.ndarray], np.ndarray], z: np.ndarray, directions: np.ndarray
) -> np.ndarray:
    r"""Central differences of ``fn`` (NumPy, float64) at z along ``directions``.

    Parameters
    ----------
    fn : callable
        Maps (..., K) to (..., M); evaluated on NumPy arrays.
    z : ndarray, shape (N, K)
    directions : ndarray, shape (N, D, K)

    Returns
    -------
    ndarray, shape (N, D, M)
        :math:`(f(z+hv)-f(z-hv))/(2h)`, with 2h replaced by the representable step
        actually taken along the largest component of v.
    """
    h = FINITE_DIFFERENCE_STEP
    plus = z[:, None, :] + h * directions
    minus = z[:, None, :] - h * directions
    lead = np.argmax(np.abs(directions), axis=-1)[..., None]
    taken = np.take_along_axis(plus - minus, lead, -1) / np.take_along_axis(directions, lead, -1)
    return (fn(plus) - fn(minus)) / taken


def _numpy_threshold(z: np.ndarray) -> np.ndarray:
    return np.asarray(sparsemax_threshold(z))[..., None]


def softmax_form_at_sparsemax(z: Any) -> Any:
    r"""Control (a): softmax's form :math:`\mathrm{Diag}(p)-pp^\top` with p = sparsemax(z)."""
    xp = array_namespace(z)
    p = sparsemax(z)
    eye = xp.eye(p.shape[-1], dtype=p.dtype)
    return p[..., None] * eye - p[..., :, None] * p[..., None, :]


def jacobian_divided_by_classes(z: Any) -> Any:
    r"""Control (b): :math:`\mathrm{Diag}(s)-ss^\top/K`, dividing by K instead of |S|."""
    xp = array_namespace(z)
    p = sparsemax(z)
    s = xp.astype(p > 0, p.dtype)
    eye = xp.eye(p.shape[-1], dtype=p.dtype)
    return s[..., None] * eye - s[..., :, None] * s[..., None, :] / p.shape[-1]


def support_diagonal_minus_uniform(z: Any) -> Any:
    r"""Control (c): :math:`\mathrm{Diag}(s)-\mathbf 1\mathbf 1^\top/|S|`."""
    xp = array_namespace(z)
    p = sparsemax(z)
    s = xp.astype(p > 0, p.dtype)
    size = xp.sum(s, axis=-1, keepdims=True)[..., None]
    eye = xp.eye(p.shape[-1], dtype=p.dtype)
    return s[..., None] * eye - xp.ones_like(eye) / size


_GOLDEN_JACOBIAN_Z = np.array([[0.3, 0.2, 0.1, -0.5]])
_GOLDEN_JACOBIAN = np.array(
    [
        [
            [2 / 3, -1 / 3, -1 / 3, 0],
            [-1 / 3, 2 / 3, -1 / 3, 0],
            [-1 / 3, -1 / 3, 2 / 3, 0],
            [0, 0, 0, 0],
        ]
    ]
)


@claim(
    "sparsemax.jacobian",
    paper=PAPER,
    source="Sec. 2, Jacobian",
    statement=(
        r"J_{\mathrm{sparsemax}}(z)=\mathrm{Diag}(s)-\frac{ss^\top}{|S(z)|},\ "
        r"s=\mathbf 1_{S(z)},\ \text{wherever no } z_j=\tau(z)"
    ),
    method="numeric",
    provenance="confirmed",
    controls=[
        Control(
            "softmax-form",
            r"J=\mathrm{Diag}(p)-pp^\top,\ p=\mathrm{sparsemax}(z)",
            {"jacobian": softmax_form_at_sparsemax},
        ),
        Control(
            "divide-by-K",
            r"J=\mathrm{Diag}(s)-ss^\top/K",
            {"jacobian": jacobian_divided_by_classes},
        ),
        Control(
            "uniform-block",
            r"J=\mathrm{Diag}(s)-\mathbf 1\mathbf 1^\top/|S|",
            {"jacobian": support_diagonal_minus_uniform},
        ),
    ],
)
def jacobian(ctx: Context, jacobian: Callable[[Any], Any] = sparsemax_jacobian) -> Evidence:
    r"""The candidate J (on the backend) against central finite differences of the
    implementation (NumPy float64, h = 1e-6, tolerance 1e-6) at random points with
    :math:`\min_j|z_j-\tau|>10^{-4}` and |S| >= 2; :math:`J^2=J`, :math:`J=J^\top`,
    :math:`J\mathbf 1=0` (entries of size <= 1, products summing K terms: tolerance
    4 K u) and rank |S| - 1; the golden J at z = (0.3, 0.2, 0.1, -0.5); and the threshold
    derivative :math:`\partial\tau/\partial z_j=s_j/|S|` by finite differences.
    """
    parts: dict[str, Evidence] = {}
    batches = _differentiable_points(ctx.rng(0), ctx.pick(60, 600), (2, 3, 4, 7, 12, 30))
    for size, z in batches.items():
        inputs = {"z": z}
        candidate = _apply(ctx, jacobian, z)
        directions = np.broadcast_to(np.eye(size), (z.shape[0], size, size))
        # [n, j, i] = d sparsemax_i / d z_j  ->  transpose to J[n, i, j]
        finite = _central_differences(lambda x: np.asarray(sparsemax(x)), z, directions)
        parts[f"K={size} vs finite differences"] = checks.compare(
            candidate, np.swapaxes(finite, 1, 2), atol=FINITE_DIFFERENCE_TOLERANCE, inputs=inputs
        )
        structure = 4 * size * UNIT_ROUNDOFF
        parts[f"K={size} J^2=J"] = checks.compare(
            candidate @ candidate, candidate, atol=structure, inputs=inputs
        )
        parts[f"K={size} J=J^T"] = checks.compare(
            candidate, np.swapaxes(candidate, 1, 2), atol=structure, inputs=inputs
        )
        parts[f"K={size} J1=0"] = checks.nonnegative(
            -np.abs(candidate.sum(axis=2)), tol=structure, inputs=inputs
        )
        support = _reference_support(z)
        parts[f"K={size} rank |S|-1"] = checks.compare(
            np.linalg.matrix_rank(candidate), support.sum(axis=1) - 1, inputs=inputs
        )
        threshold_slope = _central_differences(_numpy_threshold, z, directions)[..., 0]
        parts[f"K={size} dtau/dz = s/|S|"] = checks.compare(
            threshold_slope,
            support / support.sum(axis=1, keepdims=True),
            atol=FINITE_DIFFERENCE_TOLERANCE,
            inputs=inputs,
        )
    parts["golden z=(.3,.2,.1,-.5)"] = checks.compare(
        _apply(ctx, jacobian, _GOLDEN_JACOBIAN_Z),
        _GOLDEN_JACOBIAN,
        atol=4 * UNIT_ROUNDOFF,
        inputs={"z": _GOLDEN_JACOBIAN_Z},
    )
    return checks.combine(parts)


# --------------------------------------------------------------------------- JVP


def jvp_divided_by_sqrt_support(z: Any, v: Any) -> Any:
    r"""Control: :math:`\hat v=s^\top v/\|s\|_2`, dividing by :math:`\sqrt{|S|}`."""
    xp = array_namespace(z, v)
    p = sparsemax(z)
    s = xp.astype(p > 0, p.dtype)
    v_hat = xp.sum(s * v, axis=-1, keepdims=True) / xp.sqrt(xp.sum(s, axis=-1, keepdims=True))
    return s * (v - v_hat)


@claim(
    "sparsemax.jvp",
    paper=PAPER,
    source="Sec. 2, Jacobian-vector product",
    statement=(
        r"J_{\mathrm{sparsemax}}(z)\,v=s\odot(v-\hat v\mathbf 1),\ "
        r"\hat v=\frac{\sum_{j\in S(z)}v_j}{|S(z)|}"
    ),
    method="numeric",
    provenance="confirmed",
    controls=[
        Control(
            "divide-by-sqrt-support",
            r"\hat v=s^\top v/\|s\|_2=\sum_{j\in S}v_j/\sqrt{|S|}",
            {"jvp": jvp_divided_by_sqrt_support},
        )
    ],
)
def jvp(ctx: Context, jvp: Callable[[Any, Any], Any] = sparsemax_jvp) -> Evidence:
    r"""The candidate product (on the backend) at the points of :func:`jacobian` with
    random v (max-norm 1): against :math:`Jv` with J = Diag(s) - ss^T/|S| built in NumPy
    from the bisection support (tolerance 1e-12: K <= 30 products of terms <= 1 carry
    <= 30 u ~ 7e-15), and against the central finite-difference directional
    derivative of the implementation (h = 1e-6, tolerance 1e-6); golden
    z = (0.3, 0.2, 0.1, -0.5), v = e_1 gives (2/3, -1/3, -1/3, 0).
    """
    parts: dict[str, Evidence] = {}
    rng = ctx.rng(1)
    batches = _differentiable_points(ctx.rng(0), ctx.pick(60, 600), (2, 3, 4, 7, 12, 30))
    for size, z in batches.items():
        v = rng.standard_normal(z.shape)
        v /= np.abs(v).max(axis=1, keepdims=True)
        inputs = {"z": z, "v": v}
        candidate = _apply_pair(ctx, jvp, z, v)
        s = _reference_support(z)
        reference_jacobian = (
            s[:, :, None] * np.eye(size)
            - s[:, :, None] * s[:, None, :] / (s.sum(axis=1)[:, None, None])
        )
        parts[f"K={size} vs J v"] = checks.compare(
            candidate, np.einsum("nij,nj->ni", reference_jacobian, v), atol=1e-12, inputs=inputs
        )
        finite = _central_differences(lambda x: np.asarray(sparsemax(x)), z, v[:, None, :])
        parts[f"K={size} vs finite differences"] = checks.compare(
            candidate, finite[:, 0, :], atol=FINITE_DIFFERENCE_TOLERANCE, inputs=inputs
        )
    golden_v = np.array([[1.0, 0.0, 0.0, 0.0]])
    parts["golden z=(.3,.2,.1,-.5), v=e_1"] = checks.compare(
        _apply_pair(ctx, jvp, _GOLDEN_JACOBIAN_Z, golden_v),
        [[2 / 3, -1 / 3, -1 / 3, 0.0]],
        atol=4 * UNIT_ROUNDOFF,
        inputs={"z": _GOLDEN_JACOBIAN_Z, "v": golden_v},
    )
    return checks.combine(parts)
