r"""SCoRe (Majee et al., ICML 2024): submodularity of its set functions, by exact enumeration.

Claim ``score.submodularity`` (``shared/claims/catalog.md`` §17, [unconfirmed numbering]:
the paper's parametrisation of each instantiation is not confirmed; the forms of
:mod:`theory.catalog.score` are the spec's). The check enumerates, for every point v of a
ground set of n = 8 points and every pair :math:`A\subseteq B\subseteq
V\setminus\{v\}` (:math:`n3^{n-1}` triples), the diminishing-returns inequality

.. math:: f(A\cup\{v\})-f(A)\ \ge\ f(B\cup\{v\})-f(B),

and monotonicity :math:`f(A\cup\{v\})\ge f(A)` where claimed, in *exact integer
arithmetic*:

- kernels have non-negative integer entries (a positive scaling of a [0, 1] kernel:
  submodularity and monotonicity of :math:`f_{FL}` and :math:`f_{GC}` are invariant under
  it), either random symmetric matrices or Gram matrices :math:`GG^\top` of integer G;
- :math:`\lambda` is dyadic (p/q with q a power of two), so :math:`q f_{GC}` is an integer;
- for LogDet, :math:`\varepsilon=1/k` and :math:`M=kS+I`, so
  :math:`\det(S_{XX}+\varepsilon I)=\det M_{XX}/k^{|X|}` with :math:`\det M_{XX}` an integer
  (fraction-free Bareiss elimination); the powers of k cancel in the diminishing-returns
  inequality, which becomes :math:`D(A{+}v)D(B)\ge D(B{+}v)D(A)`, and monotonicity reads
  :math:`D(A{+}v)\ge kD(A)`.

The exact reference values come from plain Python loops over the definitions; the
backend functions are compared with them: exactly for FL and GC (integer and dyadic values
below :math:`2^{53}` make every float64 operation exact), and for LogDet within
:math:`n^3\kappa(M)u+nu|\log\det|` (first-order backward-error bound of an LU
factorisation with growth factor at most n on a symmetric positive definite matrix, plus the
rounding of the sum of n log-pivots; u = 2^-53).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache

import numpy as np

from theory.catalog.score import (
    PAPER,
    facility_location,
    graph_cut,
    log_determinant,
    subset_masks,
)
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

UNIT_ROUNDOFF = 2.0**-53
"""float64 unit roundoff u."""

GRAPH_CUT_SUBMODULAR = (0.0, 0.25, 0.5, 1.0, 2.0)
r"""Values of :math:`\lambda\ge0` at which graph cut is claimed submodular (dyadic)."""
GRAPH_CUT_MONOTONE = (0.0, 0.25, 0.5)
r"""Values of :math:`\lambda\le\tfrac12` at which graph cut is claimed monotone."""
LOG_DET_RIDGE_INVERSES = (10, 1)
r"""k with :math:`\varepsilon=1/k`: :math:`\varepsilon=0.1` and :math:`\varepsilon=1`."""


@lru_cache(maxsize=4)
def nested_triples(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""All (v, A, B) with :math:`A\subseteq B\subseteq V\setminus\{v\}`, sets as bit codes.

    Returns three int64 arrays of length :math:`n3^{n-1}`.
    """
    codes = np.arange(2**n)
    a, b = np.meshgrid(codes, codes, indexing="ij")
    nested = (a & ~b) == 0
    a, b = a[nested], b[nested]
    vs, as_, bs = [], [], []
    for v in range(n):
        free = (b >> v) & 1 == 0
        vs.append(np.full(int(free.sum()), v))
        as_.append(a[free])
        bs.append(b[free])
    return np.concatenate(vs), np.concatenate(as_), np.concatenate(bs)


def _members(code: int, n: int) -> list[int]:
    return [i for i in range(n) if (code >> i) & 1]


def reference_facility_location(kernel: np.ndarray) -> np.ndarray:
    """Exact :math:`f_{FL}` of every subset (bit-code order) of an integer kernel, as int64."""
    n = kernel.shape[0]
    rows = kernel.tolist()
    values = []
    for code in range(2**n):
        members = _members(code, n)
        values.append(sum(max(rows[i][j] for j in members) for i in range(n)) if members else 0)
    return np.array(values, dtype=np.int64)


def reference_graph_cut_parts(kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact :math:`\sum_{i\in A}\sum_jS_{ij}` and :math:`\sum_{i,j\in A}S_{ij}` per subset."""
    n = kernel.shape[0]
    rows = kernel.tolist()
    row_sums = [sum(row) for row in rows]
    cover, inside = [], []
    for code in range(2**n):
        members = _members(code, n)
        cover.append(sum(row_sums[i] for i in members))
        inside.append(sum(rows[i][j] for i in members for j in members))
    return np.array(cover, dtype=np.int64), np.array(inside, dtype=np.int64)


def bareiss_determinant(matrix: Sequence[Sequence[int]]) -> int:
    """Exact determinant of an integer matrix by fraction-free (Bareiss) elimination."""
    a = [list(row) for row in matrix]
    n, sign, previous = len(a), 1, 1
    if n == 0:
        return 1
    for k in range(n - 1):
        if a[k][k] == 0:
            pivot = next((i for i in range(k + 1, n) if a[i][k] != 0), None)
            if pivot is None:
                return 0
            a[k], a[pivot] = a[pivot], a[k]
            sign = -sign
        for i in range(k + 1, n):
            for j in range(k + 1, n):
                a[i][j] = (a[i][j] * a[k][k] - a[i][k] * a[k][j]) // previous
        previous = a[k][k]
    return sign * a[n - 1][n - 1]


def reference_minor_determinants(matrix: np.ndarray) -> list[int]:
    r"""Exact :math:`\det M_{XX}` of every subset X (bit-code order) of an integer matrix."""
    n = matrix.shape[0]
    rows = matrix.tolist()
    return [
        bareiss_determinant([[rows[i][j] for j in m] for i in m])
        for m in (_members(code, n) for code in range(2**n))
    ]


def _random_kernels(rng: np.random.Generator, n: int, count: int, psd_only: bool) -> list:
    """Integer kernels: random symmetric non-negative ones and Gram matrices G G^T."""
    kernels = []
    for index in range(count):
        if psd_only or index % 2 == 1:
            rank = int(rng.choice([2, 3, n]))
            g = rng.integers(0, 4, size=(n, rank))
            kernels.append(g @ g.T)
        else:
            upper = np.triu(rng.integers(0, 10, size=(n, n)))
            kernels.append(upper + np.triu(upper, 1).T)
    return kernels


def _exact_parts(
    gains: np.ndarray,
    triples: tuple[np.ndarray, np.ndarray, np.ndarray],
    label: str,
    *,
    submodular: bool = True,
    monotone: bool,
    scale: float = 1.0,
) -> dict[str, Evidence]:
    r"""Diminishing returns and/or monotonicity from exact integer gains g[v, X].

    ``gains`` has shape (n, 2^n), entry (v, X) = scale * (f(X+v) - f(X)) for v not in X;
    the slacks are exact integers divided by ``scale`` (a power of two: exact in float64).
    """
    parts = {}
    if submodular:
        v, a, b = triples
        parts[f"{label}: diminishing returns"] = checks.nonnegative(
            (gains[v, a] - gains[v, b]) / scale, inputs={"v": v, "A": a, "B": b}
        )
    if monotone:
        n = gains.shape[0]
        codes = np.arange(2**n)
        vv, xx = np.nonzero(((codes[None, :] >> np.arange(n)[:, None]) & 1) == 0)
        parts[f"{label}: monotone"] = checks.nonnegative(
            gains[vv, xx] / scale, inputs={"v": vv, "A": xx}
        )
    return parts


def _gain_table(values: np.ndarray, n: int) -> np.ndarray:
    """g[v, X] = values[X | 2^v] - values[X] (object or integer arrays)."""
    codes = np.arange(2**n)
    return np.stack([values[codes | (1 << v)] - values[codes] for v in range(n)])


@claim(
    "score.submodularity",
    paper=PAPER,
    source="Sec. 3 (instantiations FL, GC, LogDet; section and parametrisation not confirmed)",
    statement=(
        r"S=S^\top\ge0:\ f_{FL}(A)=\sum_{i\in V}\max_{j\in A}S_{ij}\ \text{monotone submodular};"
        r"\ f_{GC}(A)=\sum_{i\in A}\sum_{j\in V}S_{ij}-\lambda\sum_{i,j\in A}S_{ij}"
        r"\ \text{submodular for }\lambda\ge0,\ \text{monotone for }\lambda\le\tfrac12;"
        r"\ S\succeq0:\ f_{LD}(A)=\log\det(S_{AA}+\varepsilon I)\ \text{submodular}"
        r"\ \text{(parametrisation as in the spec; paper's numbering not confirmed)}"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "graph-cut-negative-lambda",
            r"f_{GC}\text{ is submodular for }\lambda=-\tfrac12\text{ (it is supermodular)}",
            {"graph_cut_submodular": (-0.5,)},
        ),
        Control(
            "graph-cut-monotone-lambda-1",
            r"f_{GC}\text{ is monotone for }\lambda=1",
            {"graph_cut_monotone": (1.0,)},
        ),
        Control(
            "log-det-monotone",
            r"f_{LD}\text{ is monotone (true only when }S+\varepsilon I\succeq I)",
            {"log_det_monotone": True},
        ),
    ],
)
def submodularity(
    ctx: Context,
    graph_cut_submodular: Sequence[float] = GRAPH_CUT_SUBMODULAR,
    graph_cut_monotone: Sequence[float] = GRAPH_CUT_MONOTONE,
    log_det_monotone: bool = False,
) -> Evidence:
    r"""Exact diminishing-returns and monotonicity tests on all nested pairs, plus the
    backend's set functions against the exact values.

    Instances: ``ctx.pick(3, 10)`` integer kernels per function (FL and GC: alternately a
    random symmetric matrix with entries 0..9 and a Gram matrix :math:`GG^\top`, G with
    entries 0..3 and rank 2, 3 or n; LogDet: Gram matrices, each at
    :math:`\varepsilon=0.1` and 1). The keyword arguments list the :math:`\lambda` at
    which graph cut is claimed submodular and monotone (dyadic, so that the test is exact),
    and whether LogDet is claimed monotone; the controls claim false variants.
    """
    rng = ctx.rng(0)
    n, count = 8, ctx.pick(3, 10)
    triples = nested_triples(n)
    masks_np = subset_masks(n)
    masks = ctx.asarray(masks_np)
    parts: dict[str, Evidence] = {}
    backend_fl, exact_fl, backend_gc, exact_gc = [], [], [], []
    for index, kernel in enumerate(_random_kernels(rng, n, count, psd_only=False)):
        values = reference_facility_location(kernel)
        parts.update(
            _exact_parts(_gain_table(values, n), triples, f"FL kernel {index}", monotone=True)
        )
        backend_fl.append(to_numpy(facility_location(ctx.asarray(kernel * 1.0), masks)))
        exact_fl.append(values)
        cover, inside = reference_graph_cut_parts(kernel)
        for lam in sorted({*graph_cut_submodular, *graph_cut_monotone}):
            ratio = Fraction(lam)
            if ratio.denominator & (ratio.denominator - 1):
                raise ValueError(f"graph-cut lambda must be dyadic for an exact test, got {lam}")
            scaled = ratio.denominator * cover - ratio.numerator * inside  # q f_GC, integer
            parts.update(
                _exact_parts(
                    _gain_table(scaled, n),
                    triples,
                    f"GC lambda={lam} kernel {index}",
                    submodular=lam in graph_cut_submodular,
                    monotone=lam in graph_cut_monotone,
                    scale=float(ratio.denominator),
                )
            )
            backend_gc.append(to_numpy(graph_cut(ctx.asarray(kernel * 1.0), masks, lam)))
            exact_gc.append(scaled / ratio.denominator)
    parts["backend FL = exact (float64 exact on integers)"] = checks.compare(
        np.concatenate(backend_fl), np.concatenate(exact_fl).astype(float), atol=0.0
    )
    parts["backend GC = exact (float64 exact on dyadic values)"] = checks.compare(
        np.concatenate(backend_gc), np.concatenate(exact_gc).astype(float), atol=0.0
    )

    backend_ld, exact_ld, tolerance_ld = [], [], []
    for index, kernel in enumerate(_random_kernels(rng, n, count, psd_only=True)):
        for k in LOG_DET_RIDGE_INVERSES:
            matrix = k * kernel + np.eye(n, dtype=np.int64)  # k (S + I/k)
            dets = reference_minor_determinants(matrix)
            if min(dets) <= 0:
                raise RuntimeError("a principal minor of k S + I is not positive")
            det_array = np.array(dets, dtype=object)
            label = f"LD eps=1/{k} kernel {index}"
            parts[f"{label}: diminishing returns"] = _log_det_returns(det_array, triples)
            if log_det_monotone:
                parts[f"{label}: monotone"] = _log_det_monotone(det_array, n, k)
            sizes = masks_np.sum(axis=1)
            reference = np.array([math.log(d) for d in dets], dtype=float) - sizes * math.log(k)
            backend_ld.append(to_numpy(log_determinant(ctx.asarray(kernel * 1.0), masks, 1 / k)))
            exact_ld.append(reference)
            condition = float(np.linalg.cond(matrix.astype(float)))
            tolerance_ld.append(
                n**3 * condition * UNIT_ROUNDOFF + n * UNIT_ROUNDOFF * np.abs(reference)
            )
    parts["backend LD = exact (LU backward error)"] = checks.compare(
        np.concatenate(backend_ld),
        np.concatenate(exact_ld),
        atol=np.concatenate(tolerance_ld)[:, None],
    )
    return checks.combine(parts)


def _signed_log_gap(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    r""":math:`\log L-\log R` for positive integers, with the exact sign (0 when L = R)."""
    gaps = []
    for lhs, rhs in zip(left.tolist(), right.tolist(), strict=True):
        if lhs == rhs:
            gaps.append(0.0)
            continue
        magnitude = abs(math.log(lhs) - math.log(rhs)) or 5e-324
        gaps.append(magnitude if lhs > rhs else -magnitude)
    return np.array(gaps)


def _log_det_returns(dets: np.ndarray, triples: tuple[np.ndarray, ...]) -> Evidence:
    r""":math:`D(A{+}v)D(B)\ge D(B{+}v)D(A)` exactly; the slack is the log ratio."""
    v, a, b = triples
    bit = np.left_shift(1, v)
    left = dets[a | bit] * dets[b]
    right = dets[b | bit] * dets[a]
    return checks.nonnegative(_signed_log_gap(left, right), inputs={"v": v, "A": a, "B": b})


def _log_det_monotone(dets: np.ndarray, n: int, k: int) -> Evidence:
    r""":math:`D(A{+}v)\ge kD(A)` exactly, i.e. :math:`f_{LD}(A\cup\{v\})\ge f_{LD}(A)`."""
    codes = np.arange(2**n)
    vv, xx = np.nonzero(((codes[None, :] >> np.arange(n)[:, None]) & 1) == 0)
    left = dets[xx | np.left_shift(1, vv)]
    right = dets[xx] * k
    return checks.nonnegative(_signed_log_gap(left, right), inputs={"v": vv, "A": xx})
