r"""Dispersive loss (*Diffuse and Disperse: Image Generation with Representation
Regularization*, arXiv 2025), a **fragment**.

Claim ``dispersive.infonce-split`` of ``shared/claims/catalog.md`` §66 [unconfirmed
numbering]. With a dissimilarity D (the squared :math:`\ell_2` distance) and temperature
:math:`\tau`, InfoNCE splits into an alignment term and a log-partition,

.. math::

    -\log\frac{e^{-D(z_i,z_i^+)/\tau}}{\sum_je^{-D(z_i,z_j^+)/\tau}}
    =\frac{D(z_i,z_i^+)}\tau+\log\sum_je^{-D(z_i,z_j^+)/\tau},

and the dispersive loss keeps only the second term, as a log-mean over the batch itself
(no positive pairs):

.. math::

    \mathcal L_{\mathrm{Disp}}(Z)=\log\frac1{N^2}\sum_{i,j}e^{-D(z_i,z_j)/\tau}.

Claims: the split; :math:`\mathcal L_{\mathrm{Disp}}` is the log-mean over anchors of the
second term with :math:`z^+=z`, minus :math:`\log N`; it is translation-invariant
(:math:`Z\mapsto Z+\mathbf1c^\top`); it decreases when all pairwise distances increase.
This is a **fragment**: the paper's image-generation results are not checked, and the
exact reduction of the loss (a mean over all :math:`N^2` pairs, self-pairs included, as
written here, or per anchor) is not confirmed; the four properties hold for both.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.special
import sympy

from theorycheck import checks, validate
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "dispersive"
"""Key of the paper in the seed catalog."""

DISTANCES = ("squared-l2", "negative-cosine")
r"""Dissimilarities D: the squared :math:`\ell_2` distance (the statement's) and the negative
cosine similarity (the paper's other InfoNCE variant, not translation-invariant)."""

UNIT_ROUNDOFF = 2.0**-53
"""float64 unit roundoff u = 1.1e-16."""


# --------------------------------------------------------------------------- math


def _points(x: Any, name: str, func: str) -> Any:
    x = validate.finite_real_array(x, name, func=func, min_ndim=2)
    if x.shape[-2] == 0 or x.shape[-1] == 0:
        raise ValueError(
            f"{func}: {name} must have shape (..., N, d) with N, d >= 1, got {x.shape}"
        )
    return x


def _distance_name(distance: Any, func: str) -> str:
    if distance not in DISTANCES:
        raise ValueError(f"{func}: distance must be one of {DISTANCES}, got {distance!r}")
    return distance


def _logsumexp(x: Any, axis: int) -> Any:
    """A max-shifted log-sum-exp along one axis (any array-API namespace)."""
    xp = array_namespace(x)
    top = xp.max(x, axis=axis, keepdims=True)
    return xp.squeeze(top, axis=axis) + xp.log(xp.sum(xp.exp(x - top), axis=axis))


def pairwise_distances(left: Any, right: Any, *, distance: str = "squared-l2") -> Any:
    r"""The matrix :math:`D(u_i,v_j)` of a dissimilarity between two point sets.

    Parameters
    ----------
    left : array, shape (..., N, d)
        Points :math:`u_i`.
    right : array, shape (..., M, d)
        Points :math:`v_j`.
    distance : {"squared-l2", "negative-cosine"}
        :math:`\|u-v\|^2` (computed from the differences, so that it is exactly
        translation-invariant up to the rounding of the shift) or
        :math:`-u^\top v/(\|u\|\|v\|)` (points must be non-zero).

    Returns
    -------
    array, shape (..., N, M)
    """
    func = "pairwise_distances"
    left, right = _points(left, "left", func), _points(right, "right", func)
    if left.shape[-1] != right.shape[-1]:
        raise ValueError(
            f"{func}: left and right must have the same dimension d, "
            f"got {tuple(left.shape)} and {tuple(right.shape)}"
        )
    distance = _distance_name(distance, func)
    xp = array_namespace(left, right)
    if distance == "squared-l2":
        difference = left[..., :, None, :] - right[..., None, :, :]
        return xp.sum(difference * difference, axis=-1)
    norms_l = xp.sqrt(xp.sum(left * left, axis=-1))
    norms_r = xp.sqrt(xp.sum(right * right, axis=-1))
    for name, norms in (("left", norms_l), ("right", norms_r)):
        if not bool(xp.all(norms > 0)):
            index = tuple(int(i[0]) for i in xp.nonzero(norms == 0))
            raise ValueError(
                f"{func}: the negative cosine needs non-zero points, {name} has a zero "
                f"point at {index}"
            )
    inner = xp.sum(left[..., :, None, :] * right[..., None, :, :], axis=-1)
    return -inner / (norms_l[..., :, None] * norms_r[..., None, :])


def infonce_split(
    anchors: Any, positives: Any, *, tau: float, distance: str = "squared-l2"
) -> tuple[Any, Any]:
    r"""The two terms of InfoNCE for each anchor: :math:`D(z_i,z_i^+)/\tau` and
    :math:`\log\sum_je^{-D(z_i,z_j^+)/\tau}` (the positives of the other anchors are the
    negatives).

    Parameters
    ----------
    anchors : array, shape (..., N, d)
        :math:`z_i`.
    positives : array, shape (..., N, d)
        :math:`z_i^+`.
    tau : float
        Temperature :math:`\tau>0`.
    distance : {"squared-l2", "negative-cosine"}

    Returns
    -------
    alignment : array, shape (..., N)
        :math:`D(z_i,z_i^+)/\tau`.
    log_partition : array, shape (..., N)
        :math:`\log\sum_je^{-D(z_i,z_j^+)/\tau}`.
    """
    func = "infonce_split"
    tau = validate.positive_number(tau, "tau", func=func)
    anchors, positives = _points(anchors, "anchors", func), _points(positives, "positives", func)
    validate.same_shape(anchors, positives, ("anchors", "positives"), func=func)
    scaled = pairwise_distances(anchors, positives, distance=distance) / tau
    xp = array_namespace(scaled)
    n = scaled.shape[-1]
    eye = xp.eye(n, dtype=scaled.dtype)
    return xp.sum(scaled * eye, axis=-1), _logsumexp(-scaled, axis=-1)


def dispersive_loss(z: Any, *, tau: float, distance: str = "squared-l2") -> Any:
    r"""The dispersive loss :math:`\log\frac1{N^2}\sum_{i,j}e^{-D(z_i,z_j)/\tau}` of a batch.

    Parameters
    ----------
    z : array, shape (..., N, d)
        Intermediate representations of a batch (flattened).
    tau : float
        Temperature :math:`\tau>0`.
    distance : {"squared-l2", "negative-cosine"}

    Returns
    -------
    array, shape (...)
    """
    func = "dispersive_loss"
    tau = validate.positive_number(tau, "tau", func=func)
    z = _points(z, "z", func)
    scaled = pairwise_distances(z, z, distance=distance) / tau
    xp = array_namespace(scaled)
    n = scaled.shape[-1]
    flat = xp.reshape(scaled, (*scaled.shape[:-2], n * n))
    return _logsumexp(-flat, axis=-1) - 2 * math.log(n)


# --------------------------------------------------------------------------- claim


def paper_split(alignment: Any, log_partition: Any) -> Any:
    r"""The statement: InfoNCE = :math:`D(z_i,z_i^+)/\tau+\log\sum_je^{-D(z_i,z_j^+)/\tau}`."""
    return alignment + log_partition


def sign_flipped_split(alignment: Any, log_partition: Any) -> Any:
    r"""Control: InfoNCE = :math:`-D(z_i,z_i^+)/\tau+\log\sum_je^{-D(z_i,z_j^+)/\tau}`."""
    return -alignment + log_partition


def dispersive_regulariser(z: Any, *, tau: float) -> Any:
    """The statement's regulariser: :func:`dispersive_loss` with the squared distance."""
    return dispersive_loss(z, tau=tau)


def cosine_dispersive(z: Any, *, tau: float) -> Any:
    """Control: :func:`dispersive_loss` with the negative cosine similarity."""
    return dispersive_loss(z, tau=tau, distance="negative-cosine")


def batch_infonce(z: Any, *, tau: float) -> Any:
    """Control: full InfoNCE (alignment term kept) on a batch whose first half are the
    anchors and second half their positives, averaged over anchors."""
    xp = array_namespace(z)
    half = z.shape[-2] // 2
    alignment, log_partition = infonce_split(z[..., :half, :], z[..., half:, :], tau=tau)
    return xp.mean(alignment + log_partition, axis=-1)


A, B, C, TAU = sympy.symbols("a b c tau", positive=True)


def _sympy_parts(split: Callable[[Any, Any], Any]) -> dict[str, Evidence]:
    """The split identity and the sign of the dispersive loss's partial derivatives."""
    partition = sympy.exp(-A / TAU) + sympy.exp(-B / TAU) + sympy.exp(-C / TAU)
    infonce = -sympy.log(sympy.exp(-A / TAU) / partition)
    residual = sympy.simplify(sympy.expand_log(infonce - split(A / TAU, sympy.log(partition))))
    parts = {
        "sympy: -log softmax = D+/tau + log sum_j exp(-D_j/tau)": checks.exact(
            residual == 0,
            residual=None,
            counterexample={"residual": str(residual)},
        )
    }
    slope = sympy.diff(sympy.log(partition / 3), A)
    closed = -sympy.exp(-A / TAU) / (TAU * partition)
    parts["sympy: d log-mean / dD_ij = -exp(-D_ij/tau)/(tau sum) < 0"] = checks.exact(
        sympy.simplify(slope - closed) == 0 and bool(closed.is_negative),
        counterexample={"slope": str(slope)},
    )
    return parts


def _instances(
    rng: np.random.Generator, count: int, n: int, d: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Anchors and positives (positives near their anchors) ~ N(0, I/d), tau in [0.5, 2]."""
    z = rng.standard_normal((count, n, d)) / math.sqrt(d)
    positives = z + 0.5 * rng.standard_normal((count, n, d)) / math.sqrt(d)
    tau = rng.uniform(0.5, 2.0, count)
    return z, positives, tau


def _per_instance(ctx: Context, fn: Callable[..., Any], tau: np.ndarray, *arrays: Any) -> Any:
    """Evaluate ``fn(*arrays, tau=tau_r)`` for each temperature of a (small) set of
    distinct values, returning host arrays stacked over instances."""
    out = None
    for value in np.unique(tau):
        rows = tau == value
        result = fn(*(ctx.asarray(a[rows]) for a in arrays), tau=float(value))
        result = (
            tuple(np.asarray(to_numpy(r), dtype=float) for r in result)
            if isinstance(result, tuple)
            else np.asarray(to_numpy(result), dtype=float)
        )
        if out is None:
            out = (
                tuple(np.empty((tau.size, *r.shape[1:])) for r in result)
                if isinstance(result, tuple)
                else np.empty((tau.size, *result.shape[1:]))
            )
        if isinstance(result, tuple):
            for target, r in zip(out, result, strict=True):
                target[rows] = r
        else:
            out[rows] = result
    return out


TEMPERATURES = (0.5, 0.75, 1.0, 1.5, 2.0)
"""Temperatures of the instances (a few values, so that the backend runs one batch each)."""


@claim(
    "dispersive.infonce-split",
    paper=PAPER,
    source="Sec. 3 (InfoNCE-based dispersive loss; fragment, numbering not confirmed)",
    statement=(
        r"\text{fragment: }D=\|\cdot\|^2:\ \mathrm{InfoNCE}_i=\frac{D(z_i,z_i^+)}\tau+"
        r"\log\sum_je^{-D(z_i,z_j^+)/\tau};\ \mathcal L_{\mathrm{Disp}}=\log\frac1{N^2}"
        r"\sum_{i,j}e^{-D(z_i,z_j)/\tau}\ \text{(second term as a log-mean; reduction not "
        r"confirmed) is translation-invariant and decreases when all pairwise distances increase}"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "split-sign",
            r"\mathrm{InfoNCE}_i=-D(z_i,z_i^+)/\tau+\log\sum_je^{-D(z_i,z_j^+)/\tau}",
            {"split": sign_flipped_split},
        ),
        Control(
            "negative-cosine",
            r"\text{with }D=-\cos(z_i,z_j)\ \text{the dispersive loss is translation-invariant}",
            {"regulariser": cosine_dispersive},
        ),
        Control(
            "keep-alignment-term",
            r"\text{the full InfoNCE (alignment term kept) also decreases when all pairwise "
            r"distances increase}",
            {"regulariser": batch_infonce},
        ),
    ],
)
def infonce_split_claim(
    ctx: Context,
    split: Callable[[Any, Any], Any] = paper_split,
    regulariser: Callable[..., Any] = dispersive_regulariser,
) -> Evidence:
    r"""sympy for the split, float64 on random batches for the rest.

    Parts:

    - sympy (three-term partition, positive symbols): :math:`-\log(e^{-a/\tau}/\sum)` minus the
      candidate split simplifies to 0; :math:`\partial_{D_{ij}}\log\mathrm{mean}\,e^{-D/\tau}
      =-e^{-D_{ij}/\tau}/(\tau\sum)<0` (strictly decreasing in every distance);
    - the split on the backend (``infonce_split``, then the candidate) against a naive
      NumPy evaluation of :math:`-\log(e^{-D_{ii}/\tau}/\sum_je^{-D_{ij}/\tau})`;
    - ``dispersive_loss`` on the backend against the log-mean over anchors of the second
      term with :math:`z^+=z`, minus :math:`\log N` (from ``infonce_split``), and against a
      naive NumPy :math:`\log\mathrm{mean}_{ij}e^{-D_{ij}/\tau}`;
    - translation: the regulariser at :math:`Z+\mathbf1c^\top`, :math:`c\sim N(0,3^2I)`,
      equals its value at Z;
    - monotonicity: appending two coordinates :math:`y\sim N(0,I_2)` to every point
      (:math:`D'_{ij}=D_{ij}+\|y_i-y_j\|^2>D_{ij}`, i != j), and scaling Z by
      :math:`s\in[1.1,2]` (:math:`D'=s^2D`), strictly decreases the regulariser: by more
      than the tolerance.

    Tolerances (u = 2^-53, x = D/tau): a distance from d differences errs by
    :math:`(d+2)uD`, an exponential adds :math:`u(1+(d+4)|x|)`, a sum of :math:`n` positive
    terms :math:`nu`, a logarithm u of its value; both sides of the float identities stay
    within :math:`8u((d+4)(1+\max|x|)+n+|\text{value}|)` (n = N for the split, N^2 for the
    loss). Translation: the shift rounds each coordinate by :math:`u s`,
    :math:`s=\max|z|+\max|c|`, so each distance moves by at most :math:`4d(d+6)us^2`, and
    the losses here are :math:`2/\tau`-Lipschitz in the max-norm of D: tol
    :math:`8u(d(d+6)s^2/\tau+N^2+(d+4)(1+\max|x|)+|L|)`. Monotonicity uses the loss
    tolerance at both points. With :math:`D/\tau\le` about 40 here, every pair weight
    exceeds :math:`e^{-40}/N^2`, far above these tolerances.
    """
    parts = _sympy_parts(split)
    rng = ctx.rng(0)
    u = UNIT_ROUNDOFF
    count = ctx.pick(60, 400)
    configs = ctx.pick(((8, 4), (16, 8)), ((4, 2), (8, 4), (16, 8), (32, 16)))
    for n, d in configs:
        z, positives, _ = _instances(rng, count, n, d)
        tau = rng.choice(TEMPERATURES, count)
        label = f"N={n}, d={d}"
        inputs = {"z": z, "tau": tau}

        # the split against a naive -log softmax
        alignment, log_partition = _per_instance(ctx, infonce_split, tau, z, positives)
        scaled = np.sum((z[:, :, None, :] - positives[:, None, :, :]) ** 2, axis=-1)
        scaled /= tau[:, None, None]
        weights = np.exp(-scaled)
        naive = -np.log(np.diagonal(weights, axis1=-2, axis2=-1) / weights.sum(axis=-1))
        top = scaled.max(axis=-1)
        atol = 8 * u * ((d + 4) * (1 + top) + n + np.abs(naive))
        parts[f"{label}: split = -log softmax"] = checks.compare(
            np.asarray(split(alignment, log_partition), dtype=float),
            naive,
            atol=atol,
            inputs={"z": z, "positives": positives, "tau": tau},
        )

        # the dispersive loss: the second term as a log-mean, and a naive reference
        loss = _per_instance(ctx, dispersive_loss, tau, z)
        _, own_partition = _per_instance(ctx, infonce_split, tau, z, z)
        as_log_mean = scipy.special.logsumexp(own_partition - math.log(n), axis=-1) - math.log(n)
        self_scaled = np.sum((z[:, :, None, :] - z[:, None, :, :]) ** 2, axis=-1)
        self_scaled /= tau[:, None, None]
        naive_loss = np.log(np.mean(np.exp(-self_scaled), axis=(-2, -1)))
        loss_atol = 8 * u * ((d + 4) * (1 + self_scaled.max(axis=(-2, -1))) + n * n)
        loss_atol = loss_atol + 8 * u * np.abs(naive_loss)
        parts[f"{label}: L_Disp = log-mean of the second term (z+ = z) - log N"] = checks.compare(
            loss, as_log_mean, atol=loss_atol, inputs=inputs
        )
        parts[f"{label}: L_Disp = log mean_ij exp(-D_ij/tau) (naive)"] = checks.compare(
            loss, naive_loss, atol=loss_atol, inputs=inputs
        )

        # translation invariance of the regulariser
        shift = 3.0 * rng.standard_normal((count, 1, d))
        before = _per_instance(ctx, regulariser, tau, z)
        after = _per_instance(ctx, regulariser, tau, z + shift)
        size = np.abs(z).max(axis=(-2, -1)) + np.abs(shift).max(axis=(-2, -1))
        shift_tol = 8 * u * (d * (d + 6) * size**2 / tau + n * n + np.abs(before))
        shift_tol = shift_tol + 8 * u * (d + 4) * (1 + self_scaled.max(axis=(-2, -1)))
        parts[f"{label}: translation invariance"] = checks.compare(
            after, before, atol=shift_tol, inputs={**inputs, "c": shift[:, 0, :]}
        )

        # strict decrease when every pairwise distance increases
        extra = rng.standard_normal((count, n, 2))
        grown = np.concatenate([z, extra], axis=-1)
        scale = rng.uniform(1.1, 2.0, (count, 1, 1))
        for how, moved in (("appended coordinates", grown), ("scaled by s > 1", scale * z)):
            value = _per_instance(ctx, regulariser, tau, moved)
            moved_scaled = np.sum((moved[:, :, None, :] - moved[:, None, :, :]) ** 2, axis=-1)
            top_moved = moved_scaled.max(axis=(-2, -1)) / tau
            tol = 8 * u * ((d + 6) * (2 + self_scaled.max(axis=(-2, -1)) + top_moved) + 2 * n * n)
            tol = tol + 8 * u * (np.abs(before) + np.abs(value))
            parts[f"{label}: strictly decreases ({how})"] = checks.nonnegative(
                before - value - tol, inputs=inputs
            )
    return checks.combine(parts)
