r"""PamC: parameter-free meta-node approximation of block contrastive sums (2022), fragment.

*Efficient block contrastive learning via parameter-free meta-node approximation* (PamC,
2022); claim ``pamc.metanode-identity`` of ``shared/claims/catalog.md`` §99 [unconfirmed
numbering]. This is a **fragment**: PamC replaces the negative pairs of a node-level
contrastive loss by pairs of *meta-nodes* (cluster aggregates), which makes the loss
linear in the number of nodes; the checked ingredient is the algebra that justifies it.
The paper's loss, its clustering results and the section that states the aggregation (and
whether it uses sums or means, and which temperature) are not confirmed.

Notation: embeddings :math:`Z\in\mathbb R^{N\times d}` (rows :math:`z_i`), assignments
:math:`C\in\mathbb R^{N\times K}` (one-hot for hard blocks :math:`A_k=\{i:C_{ik}=1\}`, or
soft), meta-nodes :math:`M=Z^\top C\in\mathbb R^{d\times K}` and masses
:math:`m_k=\sum_iC_{ik}`. The block sum of a similarity s is
:math:`S_{kl}=\sum_{i,j}C_{ik}C_{jl}\,s(z_i,z_j)`.

- Dot product, :math:`s=z_i^\top z_j`: :math:`S_{kl}=M_{:k}^\top M_{:l}` exactly, i.e.
  :math:`\sum_{i\in A}\sum_{j\in B}z_i^\top z_j=(\sum_{i\in A}z_i)^\top(\sum_{j\in B}z_j)`;
  the cost drops from :math:`O(N^2d)` to :math:`O(NKd)`.
- Exponential, :math:`s=e^{z_i^\top z_j/\tau}`: the meta-node value
  :math:`m_km_l\exp(M_{:k}^\top M_{:l}/(\tau m_km_l))` (hard blocks:
  :math:`|A||B|e^{\mathrm{mean}_{i\in A,j\in B}z_i^\top z_j/\tau}`) is only a lower bound
  (Jensen, :math:`C\ge0`), with equality exactly when :math:`z_i^\top z_j` is constant on the
  block's support.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from theorycheck import checks, validate
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "pamc"
"""Key of the paper in the seed catalog."""

UNIT_ROUNDOFF = 2.0**-53
"""float64 unit roundoff u."""
SIMILARITIES = ("dot", "exp")


def _gamma(k: Any) -> Any:
    r""":math:`\gamma_k=ku/(1-ku)`, the relative error bound of a k-term float64 sum of products."""
    return k * UNIT_ROUNDOFF / (1 - k * UNIT_ROUNDOFF)


def _check_inputs(z: Any, assignment: Any, similarity: str, temperature: Any, func: str) -> Any:
    z = validate.finite_real_array(z, "z", func=func, min_ndim=2)
    assignment = validate.finite_real_array(assignment, "assignment", func=func, min_ndim=2)
    if z.shape[-2] != assignment.shape[-2] or z.shape[-2] == 0:
        raise ValueError(
            f"{func}: z (..., N, d) and assignment (..., N, K) need the same N >= 1, got "
            f"shapes {tuple(z.shape)} and {tuple(assignment.shape)}"
        )
    if similarity not in SIMILARITIES:
        raise ValueError(f"{func}: similarity must be one of {SIMILARITIES}, got {similarity!r}")
    temperature = validate.positive_number(temperature, "temperature", func=func)
    if similarity == "exp":
        xp = array_namespace(assignment)
        if float(xp.min(assignment)) < 0:
            raise ValueError(
                f"{func}: the exponential similarity needs assignment >= 0, has entry "
                f"{float(xp.min(assignment))}"
            )
    return z, assignment, temperature


def block_similarity(
    z: Any, assignment: Any, *, similarity: str = "dot", temperature: float = 1.0
) -> Any:
    r"""The node-level block sums :math:`S_{kl}=\sum_{i,j}C_{ik}C_{jl}\,s(z_i,z_j)`, O(N^2 d).

    Parameters
    ----------
    z : array, shape (..., N, d)
        Node embeddings :math:`z_i`.
    assignment : array, shape (..., N, K)
        Block assignments C (one-hot rows for hard blocks; soft rows allowed; >= 0 for
        ``"exp"``).
    similarity : {"dot", "exp"}
        :math:`z_i^\top z_j` or :math:`\exp(z_i^\top z_j/\tau)`.
    temperature : float
        :math:`\tau>0` (``"exp"`` only).

    Returns
    -------
    array, shape (..., K, K)
    """
    func = "block_similarity"
    z, assignment, temperature = _check_inputs(z, assignment, similarity, temperature, func)
    xp = array_namespace(z, assignment)
    pairwise = z @ xp.matrix_transpose(z)
    if similarity == "exp":
        pairwise = xp.exp(pairwise / temperature)
    return xp.matrix_transpose(assignment) @ pairwise @ assignment


def metanode_similarity(
    z: Any, assignment: Any, *, similarity: str = "dot", temperature: float = 1.0
) -> Any:
    r"""The meta-node values, O(N K d): :math:`M^\top M` (dot) or
    :math:`m_km_l\exp(M_{:k}^\top M_{:l}/(\tau m_km_l))` (exp), :math:`M=Z^\top C`.

    Exact for ``"dot"``; for ``"exp"`` the Jensen lower bound of :func:`block_similarity`
    (PamC's meta-node approximation).

    Parameters
    ----------
    z, assignment, similarity, temperature
        As in :func:`block_similarity`; for ``"exp"`` every block needs mass
        :math:`m_k>0`.

    Returns
    -------
    array, shape (..., K, K)
    """
    func = "metanode_similarity"
    z, assignment, temperature = _check_inputs(z, assignment, similarity, temperature, func)
    xp = array_namespace(z, assignment)
    meta = xp.matrix_transpose(z) @ assignment  # (..., d, K)
    inner = xp.matrix_transpose(meta) @ meta
    if similarity == "dot":
        return inner
    mass = xp.sum(assignment, axis=-2)  # (..., K)
    if float(xp.min(mass)) <= 0:
        raise ValueError(
            f"{func}: every block needs a positive mass for 'exp', got {float(xp.min(mass))}"
        )
    weight = mass[..., :, None] * mass[..., None, :]
    return weight * xp.exp(inner / (temperature * weight))


def _mean_metanode(
    z: Any, assignment: Any, *, similarity: str = "dot", temperature: float = 1.0
) -> Any:
    r"""Control: meta-nodes as block *means*, :math:`\bar z_A^\top\bar z_B` (no
    :math:`|A||B|` factor; exp: :math:`e^{\bar z_A^\top\bar z_B/\tau}`)."""
    xp = array_namespace(z, assignment)
    mass = xp.sum(assignment, axis=-2)
    meta = (xp.matrix_transpose(z) @ assignment) / mass[..., None, :]
    inner = xp.matrix_transpose(meta) @ meta
    return inner if similarity == "dot" else xp.exp(inner / temperature)


# --------------------------------------------------------------------------- instances


def _random_instances(rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
    """Groups of same-shaped instances: hard and soft assignments, generic embeddings,
    and hard ones whose blocks are partly collapsed (all members equal), so that the
    exponential case has blocks with constant similarity (equality) and without."""
    groups = []
    for kind in ("hard", "soft", "collapsed"):
        n, d, k = {"hard": (40, 5, 4), "soft": (30, 4, 3), "collapsed": (24, 3, 4)}[kind]
        z = rng.standard_normal((count, n, d)) / np.sqrt(d)
        if kind == "soft":
            logits = 2 * rng.standard_normal((count, n, k))
            c = np.exp(logits)
            c /= c.sum(axis=-1, keepdims=True)
        else:
            labels = np.concatenate(
                [np.tile(np.arange(k), (count, 1)), rng.integers(0, k, (count, n - k))], axis=1
            )
            c = (labels[..., None] == np.arange(k)).astype(float)
            if kind == "collapsed":
                centres = rng.standard_normal((count, k, d)) / np.sqrt(d)
                collapse = np.zeros((count, k), dtype=bool)
                collapse[:, :2] = True  # blocks 0 and 1 collapsed, 2 and 3 generic
                member = np.take_along_axis(centres, labels[..., None], axis=1)
                keep = np.take_along_axis(collapse, labels, axis=1)[..., None]
                z = np.where(keep, member, z)
        groups.append({"kind": kind, "z": z, "c": c, "tau": 0.5 if kind == "soft" else 1.0})
    return groups


def _exact_instances(rng: np.random.Generator, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Dyadic instances on which every float64 sum and product is exact: integer
    embeddings in [-4, 4] and assignments in {0, 1/4, ..., 1}."""
    out = []
    for index in range(count):
        n, d, k = 7, 3, 3
        z = rng.integers(-4, 5, (n, d)).astype(float)
        if index % 2:
            c = rng.integers(0, 5, (n, k)) / 4.0
        else:
            c = np.eye(k)[np.concatenate([np.arange(k), rng.integers(0, k, n - k)])]
        out.append((z, c))
    return out


def _exact_block_sums(z: np.ndarray, c: np.ndarray) -> list[list[Fraction]]:
    r""":math:`\sum_{i,j}C_{ik}C_{jl}z_i^\top z_j` in rational arithmetic, term by term."""
    n, d = z.shape
    k = c.shape[1]
    zf = [[Fraction(float(v)) for v in row] for row in z]
    cf = [[Fraction(float(v)) for v in row] for row in c]
    dots = [
        [sum((zf[i][m] * zf[j][m] for m in range(d)), Fraction(0)) for j in range(n)]
        for i in range(n)
    ]
    return [
        [
            sum((cf[i][a] * cf[j][b] * dots[i][j] for i in range(n) for j in range(n)), Fraction(0))
            for b in range(k)
        ]
        for a in range(k)
    ]


@lru_cache(maxsize=4)
def _exact_reference(ctx: Context) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    instances = _exact_instances(ctx.rng(1), 4)
    sums = np.array(
        [[[float(v) for v in row] for row in _exact_block_sums(z, c)] for z, c in instances]
    )
    return instances, sums


def _float(ctx: Context, fn: Callable[..., Any], *arrays: np.ndarray, **kwargs: Any) -> np.ndarray:
    return np.asarray(to_numpy(fn(*(ctx.asarray(a) for a in arrays), **kwargs)), dtype=float)


# --------------------------------------------------------------------------- the claim


@claim(
    "pamc.metanode-identity",
    paper=PAPER,
    source="meta-node approximation (fragment; section and form not confirmed)",
    statement=(
        r"\text{fragment: }\sum_{i\in A}\sum_{j\in B}z_i^\top z_j="
        r"(\textstyle\sum_{i\in A}z_i)^\top(\sum_{j\in B}z_j);\ "
        r"\sum_{ij}C_{ik}C_{jl}z_i^\top z_j=(Z^\top C)_{:k}^\top(Z^\top C)_{:l};"
        r"\ \text{exp: only }\sum_{i\in A,j\in B}e^{z_i^\top z_j}\ge|A||B|e^{\mathrm{mean}}"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    notes="Fragment: the aggregation algebra of the meta-node approximation, not PamC's loss.",
    controls=[
        Control(
            "exp-exact",
            r"\sum_{i\in A,j\in B}e^{z_i^\top z_j/\tau}=|A||B|e^{\mathrm{mean}_{A\times B}"
            r"z_i^\top z_j/\tau}\ \text{exactly}",
            {"exponential_exact": True},
        ),
        Control(
            "mean-metanodes",
            r"\sum_{i\in A}\sum_{j\in B}z_i^\top z_j=\bar z_A^\top\bar z_B"
            r"\ \text{(meta-nodes as block means)}",
            {"metanode": _mean_metanode},
        ),
    ],
)
def metanode_identity(
    ctx: Context,
    metanode: Callable[..., Any] = metanode_similarity,
    exponential_exact: bool = False,
) -> Evidence:
    r"""Exact dyadic instances, float64 with a rounding bound, and the exponential gap.

    Parts:

    - exact: 4 instances with integer :math:`z\in[-4,4]^{7\times3}` and C one-hot or in
      multiples of 1/4; every product and partial sum is a dyadic rational far below
      :math:`2^{53}`, so float64 evaluates both sides exactly: ``metanode`` on the backend
      must equal the rational term-by-term double sum with tolerance 0;
    - float64, dot: 8 (quick) / 100 (full) instances per kind (hard N=40, soft N=30,
      collapsed N=24): ``metanode`` against :func:`block_similarity` with
      atol :math:`2\gamma_{d+2N}\,(|C|^\top|Z||Z|^\top|C|)_{kl}` (each side is two or three
      matrix products of inner sizes d, N, N; the bound :math:`|fl(AB)-AB|\le\gamma_k|A||B|`
      holds for any summation order);
    - exp, lower bound: block sum minus ``metanode`` :math:`\ge-\mathrm{tol}`;
    - exp, equality only on constant blocks: "block sum - meta-node <= tol" must agree
      with "the similarity is constant on the block's support" (the candidate's
      prediction; every block when ``exponential_exact``). tol = relative
      :math:`\gamma_{2N+d+4}(1+2\max(|a|,|s|_{\max}/\tau, W/(\tau m_km_l)))` of each side
      (a the meta-node exponent; an abs. error in an exponent is a rel. error of the exp).
    """
    parts: dict[str, Evidence] = {}
    instances, exact_sums = _exact_reference(ctx)
    meta_exact = np.stack([_float(ctx, metanode, z, c) for z, c in instances])
    parts["exact: dyadic instances, dot"] = checks.compare(meta_exact, exact_sums, atol=0.0)

    for group in _random_instances(ctx.rng(0), ctx.pick(8, 100)):
        kind, z, c, tau = group["kind"], group["z"], group["c"], group["tau"]
        n, d = z.shape[-2:]
        inputs = {"z": z, "assignment": c}
        abs_c, abs_z = np.abs(c), np.abs(z)
        scale = np.swapaxes(abs_c, -1, -2) @ abs_z @ np.swapaxes(abs_z, -1, -2) @ abs_c
        lhs = _float(ctx, block_similarity, z, c)
        parts[f"{kind}: dot, meta-node = block sum"] = checks.compare(
            _float(ctx, metanode, z, c),
            lhs,
            atol=2 * _gamma(d + 2 * n) * scale,
            inputs=inputs,
        )

        block_exp = _float(ctx, block_similarity, z, c, similarity="exp", temperature=tau)
        meta_exp = _float(ctx, metanode, z, c, similarity="exp", temperature=tau)
        dots = z @ np.swapaxes(z, -1, -2)
        mass = c.sum(axis=-2)
        weight = mass[..., :, None] * mass[..., None, :]
        exponent = (np.swapaxes(c, -1, -2) @ dots @ c) / (tau * weight)
        largest = np.maximum(
            np.maximum(np.abs(exponent), np.abs(dots).max(axis=(-2, -1))[..., None, None] / tau),
            scale / (tau * weight),
        )
        tol = _gamma(2 * n + d + 4) * (1 + 2 * largest) * (np.abs(block_exp) + np.abs(meta_exp))
        gap = block_exp - meta_exp
        parts[f"{kind}: exp, meta-node <= block sum"] = checks.nonnegative(gap + tol, inputs=inputs)
        support = (c[..., :, :, None, None] > 0) & (c[..., None, None, :, :] > 0)  # i,k,j,l
        support = np.transpose(support, (0, 2, 4, 1, 3))  # (count, k, l, i, j)
        values = dots[:, None, None, :, :]
        high = np.where(support, values, -np.inf).max(axis=(-2, -1))
        low = np.where(support, values, np.inf).min(axis=(-2, -1))
        size = (abs_z @ np.swapaxes(abs_z, -1, -2)).max(axis=(-2, -1))[..., None, None]
        constant = high - low <= 2 * _gamma(d) * size  # equal up to the rounding of z_i^T z_j
        predicted = np.ones_like(constant) if exponential_exact else constant
        parts[f"{kind}: exp, equality iff constant on the block"] = checks.agree(
            np.abs(gap) <= tol, predicted, inputs=inputs, names=("equal", "predicted")
        )
    return checks.combine(parts)
