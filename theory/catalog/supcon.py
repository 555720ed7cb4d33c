r"""Supervised contrastive learning (Khosla et al., *Supervised Contrastive Learning*,
NeurIPS 2020).

A multiview batch of M normalised embeddings :math:`z_i` with labels :math:`y_i`;
:math:`A(i)=\{a\ne i\}`, :math:`P(i)=\{p\in A(i):y_p=y_i\}`, :math:`N(i)=A(i)\setminus P(i)`,
and :math:`P_{ia}=e^{z_i\cdot z_a/\tau}/\sum_{a'\in A(i)}e^{z_i\cdot z_{a'}/\tau}`:

.. math::

    \mathcal L^{sup}_{out}=\sum_i\frac{-1}{|P(i)|}\sum_{p\in P(i)}\log P_{ip},\qquad
    \mathcal L^{sup}_{in}=\sum_i-\log\Big(\frac1{|P(i)|}\sum_{p\in P(i)}P_{ip}\Big),

:math:`\mathcal L_{in}\le\mathcal L_{out}` by Jensen, :math:`|P(i)|=1` gives NT-Xent
(SimCLR), and
:math:`\partial\mathcal L_{out,i}/\partial z_i
=\frac1\tau[\sum_pz_p(P_{ip}-1/|P(i)|)+\sum_nz_nP_{in}]`.
The functions return the per-anchor losses (the paper's sum is their sum); leading
axes of z are independent batches with the same labels. All three claims are
checked here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import logsumexp

from theorycheck import checks, validate
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "supcon"
"""Key of the paper in the seed catalog."""

UNIT_ROUNDOFF = 2.0**-53


# --------------------------------------------------------------------------- math objects


def _batch(z: Any, labels: Any, tau: float, func: str) -> tuple[Any, Any, Any]:
    """Validate z (..., M, d), labels (M,), tau; return (xp, log P_ia with -inf on the
    diagonal, positive mask)."""
    z, xp = validate.real_floating(z, "z", func=func)
    validate.finite(z, "z", func=func, xp=xp)
    if z.ndim < 2 or z.shape[-2] < 2:
        raise ValueError(f"{func}: z must have shape (..., M, d) with M >= 2, got {tuple(z.shape)}")
    size = z.shape[-2]
    if not xp.isdtype(getattr(labels, "dtype", xp.float64), "integral"):
        raise ValueError(f"{func}: labels must be an integer array, got {type(labels).__name__}")
    if tuple(labels.shape) != (size,):
        raise ValueError(f"{func}: labels must have shape ({size},), got {tuple(labels.shape)}")
    if not isinstance(tau, int | float) or isinstance(tau, bool) or not 0 < tau < math.inf:
        raise ValueError(f"{func}: tau must be a finite number > 0, got {tau!r}")
    eye = xp.eye(size, dtype=xp.bool)
    positive = xp.logical_and(labels[:, None] == labels[None, :], xp.logical_not(eye))
    if not bool(xp.all(xp.any(positive, axis=-1))):
        raise ValueError(f"{func}: every anchor needs a positive (a second view with its label)")
    logits = (z @ xp.matrix_transpose(z)) / tau
    logits = xp.where(eye, -xp.inf, logits)
    top = xp.max(logits, axis=-1, keepdims=True)
    log_partition = top + xp.log(xp.sum(xp.exp(logits - top), axis=-1, keepdims=True))
    return xp, logits - log_partition, positive


def supcon_out(z: Any, labels: Any, tau: float) -> Any:
    r"""Per-anchor :math:`\mathcal L_{out,i}=-\frac1{|P(i)|}\sum_{p\in P(i)}\log P_{ip}`.

    Parameters
    ----------
    z : array, shape (..., M, d)
        Embeddings (the paper normalises them; any real vectors are accepted).
    labels : array of int, shape (M,)
        Every label at least twice (each anchor has a positive).
    tau : float
        Temperature > 0.

    Returns
    -------
    array, shape (..., M)
    """
    xp, log_p, positive = _batch(z, labels, tau, "supcon_out")
    count = xp.sum(xp.astype(positive, z.dtype), axis=-1)
    return -xp.sum(xp.where(positive, log_p, xp.zeros_like(log_p)), axis=-1) / count


def supcon_in(z: Any, labels: Any, tau: float) -> Any:
    r"""Per-anchor :math:`\mathcal L_{in,i}=-\log(\frac1{|P(i)|}\sum_{p\in P(i)}P_{ip})`.

    Shapes as :func:`supcon_out`.
    """
    xp, log_p, positive = _batch(z, labels, tau, "supcon_in")
    count = xp.sum(xp.astype(positive, z.dtype), axis=-1)
    masked = xp.where(positive, log_p, -xp.inf)
    top = xp.max(masked, axis=-1, keepdims=True)
    log_sum = top[..., 0] + xp.log(xp.sum(xp.exp(masked - top), axis=-1))
    return xp.log(count) - log_sum


def random_views(
    rng: np.random.Generator, classes: int, per_class: int, dim: int
) -> tuple[np.ndarray, np.ndarray]:
    """Unit embeddings: ``per_class`` noisy views of each of ``classes`` class centres."""
    centres = rng.standard_normal((classes, dim))
    z = np.repeat(centres, per_class, axis=0) + 0.8 * rng.standard_normal(
        (classes * per_class, dim)
    )
    return z / np.linalg.norm(z, axis=1, keepdims=True), np.repeat(np.arange(classes), per_class)


def _tolerance(size: int, tau: float) -> float:
    """8 M u (1 + 2/tau): two log-sum-exps of M logits bounded by 1/tau (unit vectors)."""
    return 8 * size * UNIT_ROUNDOFF * (1 + 2 / tau)


# --------------------------------------------------------------------------- in-le-out


@claim(
    "supcon.in-le-out",
    paper=PAPER,
    source="Sec. 3.2, Eq. (2)-(3) and the Jensen remark",
    statement=r"\mathcal L^{sup}_{in}\le\mathcal L^{sup}_{out}\ \text{(Jensen)}",
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "reversed", r"\mathcal L^{sup}_{out}\le\mathcal L^{sup}_{in}", {"in_is_smaller": False}
        )
    ],
)
def in_le_out(ctx: Context, in_is_smaller: bool = True) -> Evidence:
    r"""Per anchor and summed, on random multiview batches on the backend.

    Classes 2 to 5 with 2 to 6 views each (|P(i)| from 1 to 5), d = 16,
    :math:`\tau\in\{0.1,0.5\}`. Tolerance :func:`_tolerance` per anchor (M times it
    for the sums). With |P(i)| >= 2 and unequal positives the inequality is strict.
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    sign = 1.0 if in_is_smaller else -1.0
    for classes, views in ((2, 2), (3, 4), (5, 6)):
        for tau in (0.1, 0.5):
            batches = [random_views(rng, classes, views, 16) for _ in range(ctx.pick(20, 300))]
            z = np.stack([b[0] for b in batches])
            labels = batches[0][1]
            zb, lb = ctx.asarray(z), ctx.asarray(labels)
            out = np.asarray(to_numpy(supcon_out(zb, lb, tau)), dtype=float)
            inner = np.asarray(to_numpy(supcon_in(zb, lb, tau)), dtype=float)
            tol = _tolerance(classes * views, tau)
            label = f"{classes} classes x {views} views, tau={tau}"
            parts[f"{label}: per anchor"] = checks.nonnegative(
                sign * (out - inner) + tol, inputs={"z": z}
            )
            parts[f"{label}: sums"] = checks.nonnegative(
                sign * (out.sum(axis=1) - inner.sum(axis=1)) + classes * views * tol,
                inputs={"z": z},
            )
    return checks.combine(parts)


# --------------------------------------------------------------------------- reduces-to-simclr

Reference = Callable[[np.ndarray, np.ndarray, float], np.ndarray]


def nt_xent(z: np.ndarray, partner: np.ndarray, tau: float) -> np.ndarray:
    r"""NT-Xent (SimCLR) per anchor, NumPy.

    :math:`-\log\frac{e^{z_i\cdot z_{j(i)}/\tau}}{\sum_{a\ne i}e^{z_i\cdot z_a/\tau}}`.
    """
    logits = np.einsum("...id,...jd->...ij", z, z) / tau
    size = z.shape[-2]
    logits = np.where(np.eye(size, dtype=bool), -np.inf, logits)
    positive = np.take_along_axis(
        logits, np.broadcast_to(partner[:, None], logits.shape[:-1] + (1,)), axis=-1
    )[..., 0]
    return logsumexp(logits, axis=-1) - positive


def decoupled_nt_xent(z: np.ndarray, partner: np.ndarray, tau: float) -> np.ndarray:
    r"""Control: the decoupled form, the positive removed from the denominator."""
    logits = np.einsum("...id,...jd->...ij", z, z) / tau
    size = z.shape[-2]
    mask = np.eye(size, dtype=bool) | (np.arange(size)[None, :] == partner[:, None])
    positive = np.take_along_axis(
        logits, np.broadcast_to(partner[:, None], logits.shape[:-1] + (1,)), axis=-1
    )[..., 0]
    return logsumexp(np.where(mask, -np.inf, logits), axis=-1) - positive


@claim(
    "supcon.reduces-to-simclr",
    paper=PAPER,
    source="Sec. 3.2 (|P(i)| = 1)",
    statement=r"|P(i)|=1:\ \mathcal L^{sup}_{out}=\mathcal L^{sup}_{in}=\text{NT-Xent}",
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "decoupled-denominator",
            r"|P(i)|=1:\ \mathcal L^{sup}=-\log\frac{e^{z_i\cdot z_j/\tau}}"
            r"{\sum_{a\ne i,j}e^{z_i\cdot z_a/\tau}}",
            {"reference": decoupled_nt_xent},
        )
    ],
)
def reduces_to_simclr(ctx: Context, reference: Reference = nt_xent) -> Evidence:
    r"""Two views of distinct labels (every |P(i)| = 1): both SupCon losses on the backend
    against the reference (NumPy, scipy's ``logsumexp``), tolerance :func:`_tolerance`."""
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for classes in (2, 8, 32):
        for tau in (0.1, 0.5):
            batches = [random_views(rng, classes, 2, 16) for _ in range(ctx.pick(10, 200))]
            z = np.stack([b[0] for b in batches])
            labels = batches[0][1]
            partner = np.arange(2 * classes) ^ 1
            expected = reference(z, partner, tau)
            zb, lb = ctx.asarray(z), ctx.asarray(labels)
            tol = _tolerance(2 * classes, tau)
            for name, loss in (("out", supcon_out), ("in", supcon_in)):
                parts[f"{classes} pairs, tau={tau}: L_{name} = reference"] = checks.compare(
                    np.asarray(to_numpy(loss(zb, lb, tau)), dtype=float),
                    expected,
                    atol=tol,
                    inputs={"z": z},
                )
    return checks.combine(parts)


# --------------------------------------------------------------------------- gradient

Gradient = Callable[[np.ndarray, np.ndarray, float, int], np.ndarray]


def _probabilities(z: np.ndarray, tau: float, i: int) -> np.ndarray:
    logits = z @ z[i] / tau
    logits[i] = -np.inf
    return np.exp(logits - logsumexp(logits))


def paper_gradient(z: np.ndarray, labels: np.ndarray, tau: float, i: int) -> np.ndarray:
    r""":math:`\frac1\tau[\sum_pz_p(P_{ip}-1/|P(i)|)+\sum_nz_nP_{in}]` (NumPy, one anchor)."""
    p = _probabilities(z, tau, i)
    positive = (labels == labels[i]) & (np.arange(len(labels)) != i)
    coefficient = p - positive / positive.sum()
    return coefficient @ z / tau


def unnormalised_gradient(z: np.ndarray, labels: np.ndarray, tau: float, i: int) -> np.ndarray:
    r"""Control: :math:`\frac1\tau[\sum_pz_p(P_{ip}-1)+\sum_nz_nP_{in}]` (the 1/|P(i)| dropped)."""
    p = _probabilities(z, tau, i)
    positive = (labels == labels[i]) & (np.arange(len(labels)) != i)
    return (p - positive) @ z / tau


FD_STEP = 1e-6


@claim(
    "supcon.gradient",
    paper=PAPER,
    source="Sec. 3.2 and supplementary (gradient of L_out)",
    statement=(
        r"\frac{\partial\mathcal L_{out,i}}{\partial z_i}=\frac1\tau\Big[\sum_{p\in P(i)}z_p"
        r"\Big(P_{ip}-\frac1{|P(i)|}\Big)+\sum_{n\in N(i)}z_nP_{in}\Big]"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "without-one-over-P",
            r"\partial\mathcal L_{out,i}/\partial z_i"
            r"=\frac1\tau[\sum_pz_p(P_{ip}-1)+\sum_nz_nP_{in}]",
            {"gradient": unnormalised_gradient},
        )
    ],
)
def gradient(ctx: Context, gradient: Gradient = paper_gradient) -> Evidence:
    r"""Central differences of the backend's per-anchor :math:`\mathcal L_{out,i}` in :math:`z_i`.

    Batches of 3 classes x 3 views (|P(i)| = 2), d = 8, :math:`\tau\in\{0.2,1\}`, the
    gradient before the normalisation of z (z_i moves freely). The Hessian of
    :math:`\mathcal L_{out,i}` in :math:`z_i` is the covariance of :math:`z_a/\tau` under
    :math:`P_{i\cdot}`, at most :math:`\max\|z_a\|^2/\tau^2=1/\tau^2`, so a central
    difference with step h errs by at most :math:`h/(2\tau^2)`; rounding adds
    :math:`4u(1+|\mathcal L|)/h`.
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for tau in (0.2, 1.0):
        for trial in range(ctx.pick(3, 20)):
            z, labels = random_views(rng, 3, 3, 8)
            size, dim = z.shape
            bumps = FD_STEP * np.eye(size * dim).reshape(size * dim, size, dim)
            points = np.concatenate([z + bumps, z - bumps])
            values = np.asarray(
                to_numpy(supcon_out(ctx.asarray(points), ctx.asarray(labels), tau)), dtype=float
            )
            half = size * dim
            loss = np.asarray(
                to_numpy(supcon_out(ctx.asarray(z), ctx.asarray(labels), tau)), dtype=float
            )
            # entry (i, k): the change of anchor i's own loss when z_i moves along e_k
            own = (values[:half] - values[half:]).reshape(size, dim, size)[
                np.arange(size), :, np.arange(size)
            ]
            differences = own / (2 * FD_STEP)
            expected = np.stack([gradient(z, labels, tau, i) for i in range(size)])
            atol = FD_STEP / (2 * tau**2) + 4 * UNIT_ROUNDOFF * (1 + np.abs(loss)) / FD_STEP
            parts[f"tau={tau} #{trial}: d L_out,i / d z_i = candidate"] = checks.compare(
                differences,
                expected,
                atol=atol,
                inputs={"z": np.broadcast_to(z, (size, size, dim))},
            )
    return checks.combine(parts)


__all__ = ["PAPER", "random_views", "supcon_in", "supcon_out"]
