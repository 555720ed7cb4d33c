r"""I-Con: representation learning as matching neighbour distributions.

Alshammari et al., *I-Con: A Unifying Framework for Representation Learning*, ICLR 2025,
arXiv 2504.16929: claims ``icon.infonce-reduction``, ``icon.supcon-reduction`` and
``icon.debias-decomposition`` of ``shared/claims/catalog.md`` §14.

Master objective :math:`L=\sum_i\mathrm{KL}(p(\cdot|i)\,\|\,q(\cdot|i))` with a supervisory
neighbour distribution p and a learned one q. For embeddings :math:`f_i` with cosine
similarities :math:`s_{ij}` and temperature τ,
:math:`q(j|i)=\exp(s_{ij}/\tau)/\sum_{k\ne i}\exp(s_{ik}/\tau)` (:math:`q(i|i)=0`).

Tolerances: a log-probability is :math:`s/\tau` minus a log-sum-exp of N terms of size
at most :math:`1/\tau`, with an absolute error of a few EPS/τ; a KL sums N such
products with weights summing to 1. With τ >= 0.1 and N <= 64 every value is
below about 50 and its error below 1e-13; the spec's 1e-12 (absolute plus relative)
is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.special

from theorycheck import checks
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim
from theorycheck.validate import finite, on_simplex, real_floating

PAPER = "icon"
TOLERANCE = 1e-12


# --------------------------------------------------------------------------- math objects


def log_neighbour_distribution(embeddings: Any, temperature: float) -> Any:
    r""":math:`\log q(j|i)` for :math:`q(j|i)\propto\exp(s_{ij}/\tau)` over :math:`j\ne i`.

    Parameters
    ----------
    embeddings : array, shape (N, d)
        One embedding per row (N >= 2, no zero row); similarities are cosines.
    temperature : float
        τ > 0.

    Returns
    -------
    array, shape (N, N)
        Log-probabilities; the diagonal is :math:`-\infty` (:math:`q(i|i)=0`).

    Raises
    ------
    ValueError
        For a bad shape, non-finite entries, a zero embedding or τ <= 0.
    """
    f, xp = real_floating(embeddings, "embeddings", func="log_neighbour_distribution")
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(
            "log_neighbour_distribution: embeddings must have shape (N, d), N >= 2, "
            f"got {tuple(f.shape)}"
        )
    finite(f, "embeddings", func="log_neighbour_distribution", xp=xp)
    if not (isinstance(temperature, int | float) and temperature > 0):
        raise ValueError(
            f"log_neighbour_distribution: temperature must be positive, got {temperature!r}"
        )
    norms = xp.linalg.vector_norm(f, axis=1, keepdims=True)
    if float(xp.min(norms)) == 0:
        raise ValueError("log_neighbour_distribution: an embedding is zero (no cosine similarity)")
    unit = f / norms
    logits = (unit @ xp.matrix_transpose(unit)) / temperature
    diagonal = xp.eye(f.shape[0], dtype=xp.bool)
    logits = xp.where(diagonal, -xp.inf, logits)
    top = xp.max(logits, axis=1, keepdims=True)
    log_norm = top + xp.log(xp.sum(xp.exp(logits - top), axis=1, keepdims=True))
    return logits - log_norm


def log_softmax(logits: Any) -> Any:
    r""":math:`\log\mathrm{softmax}` along the last axis (e.g. prototype logits
    :math:`f_i^\top w_c`)."""
    z, xp = real_floating(logits, "logits", func="log_softmax")
    finite(z, "logits", func="log_softmax", xp=xp)
    top = xp.max(z, axis=-1, keepdims=True)
    return z - top - xp.log(xp.sum(xp.exp(z - top), axis=-1, keepdims=True))


def kl_divergence(p: Any, log_q: Any) -> Any:
    r""":math:`\mathrm{KL}(p\|q)=\sum_jp_j(\log p_j-\log q_j)` per row, with :math:`0\log0=0`.

    Parameters
    ----------
    p : array, shape (..., N)
        Rows on the simplex.
    log_q : array, shape (..., N)
        Log-probabilities (may be :math:`-\infty` where q = 0; then the KL is
        infinite if p puts mass there).

    Returns
    -------
    array, shape (...)
    """
    p, xp = real_floating(p, "p", func="kl_divergence")
    log_q, _ = real_floating(log_q, "log_q", func="kl_divergence")
    if tuple(p.shape) != tuple(log_q.shape):
        raise ValueError(
            "kl_divergence: p and log_q must have the same shape, got "
            f"{tuple(p.shape)} and {tuple(log_q.shape)}"
        )
    on_simplex(p, "p", func="kl_divergence")
    positive = p > 0
    safe_p = xp.where(positive, p, 1.0)
    terms = xp.where(positive, p * (xp.log(safe_p) - xp.where(positive, log_q, 0.0)), 0.0)
    return xp.sum(terms, axis=-1)


def reverse_kl_divergence(p: Any, log_q: Any) -> Any:
    r"""Control: :math:`\mathrm{KL}(q\|p)=\sum_jq_j(\log q_j-\log p_j)` (infinite for one-hot p)."""
    xp = array_namespace(p)
    q = xp.exp(log_q)
    positive = q > 0
    log_p = xp.where(p > 0, xp.log(xp.where(p > 0, p, 1.0)), -xp.inf)
    gap = xp.where(positive, log_q, 0.0) - xp.where(positive, log_p, 0.0)
    return xp.sum(xp.where(positive, q * gap, 0.0), axis=-1)


# --------------------------------------------------------------------------- helpers


def _on_backend(ctx: Context, fn: Callable[..., Any], *arrays: Any, **kw: Any) -> np.ndarray:
    moved = [ctx.asarray(a) if isinstance(a, np.ndarray) else a for a in arrays]
    return np.asarray(to_numpy(fn(*moved, **kw)), dtype=float)


def _two_views(rng: np.random.Generator, batch: int, dim: int) -> np.ndarray:
    """2B embeddings: B anchors and a noisy second view of each (rows i and i + B)."""
    anchors = rng.standard_normal((batch, dim))
    return np.concatenate([anchors, anchors + 0.5 * rng.standard_normal((batch, dim))])


def _reference_log_q(f: np.ndarray, temperature: float) -> np.ndarray:
    """:math:`\\log q(j|i)` in NumPy/SciPy (diagonal -inf)."""
    unit = f / np.linalg.norm(f, axis=1, keepdims=True)
    logits = unit @ unit.T / temperature
    np.fill_diagonal(logits, -np.inf)
    return logits - scipy.special.logsumexp(logits, axis=1, keepdims=True)


# --------------------------------------------------------------------------- infonce-reduction


def positive_target(positive: np.ndarray, size: int) -> np.ndarray:
    r""":math:`p(\cdot|i)=\delta_{i^+}`."""
    return np.eye(size)[positive]


def uniform_target(positive: np.ndarray, size: int) -> np.ndarray:
    r"""Control: p uniform over all :math:`j\ne i`."""
    return (1.0 - np.eye(size)) / (size - 1)


@claim(
    "icon.infonce-reduction",
    paper=PAPER,
    source="Sec. 3 (InfoNCE and cross-entropy as I-Con)",
    statement=(
        r"p(\cdot|i)=\delta_{i^+}:\ \mathrm{KL}(p\|q)=-\log q(i^+|i)=\mathrm{InfoNCE}_i;\ "
        r"p(c|i)=\mathbb 1[c=y_i],\ q(c|i)=\mathrm{softmax}_c(f_i^\top w_c):\ "
        r"\mathrm{KL}=\mathrm{CE}"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "uniform-target", r"p(\cdot|i)\ \text{uniform over}\ j\ne i", {"target": uniform_target}
        ),
        Control(
            "reverse-kl",
            r"\mathrm{KL}(q\|p)=\mathrm{InfoNCE}_i",
            {"divergence": reverse_kl_divergence},
        ),
    ],
)
def infonce_reduction(
    ctx: Context,
    target: Callable[[np.ndarray, int], np.ndarray] = positive_target,
    divergence: Callable[[Any, Any], Any] = kl_divergence,
) -> Evidence:
    r"""The I-Con loss with ``target`` and ``divergence`` (backend) against InfoNCE and CE.

    InfoNCE reference (NumPy/SciPy):
    :math:`-s_{ii^+}/\tau+\log\sum_{k\ne i}\exp(s_{ik}/\tau)`, for two-view batches of
    B in {2, 8, 32} anchors in dimension 16 and τ in {0.1, 0.5, 1}; cross-entropy
    reference :math:`-z_{y}+\log\sum_c e^{z_c}` with prototype logits
    :math:`z_c=f_i^\top w_c` (10 classes). Tolerance 1e-12 (module docstring).
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for batch in (2, 8, 32):
        f = _two_views(rng, batch, 16)
        size = 2 * batch
        positive = np.concatenate([np.arange(batch, size), np.arange(batch)])
        p = target(positive, size)
        for temperature in (0.1, 0.5, 1.0):
            log_q = _on_backend(ctx, log_neighbour_distribution, f, temperature)
            value = _on_backend(ctx, divergence, p, log_q)
            unit = f / np.linalg.norm(f, axis=1, keepdims=True)
            logits = unit @ unit.T / temperature
            np.fill_diagonal(logits, -np.inf)
            infonce = -logits[np.arange(size), positive] + scipy.special.logsumexp(logits, axis=1)
            parts[f"B={batch}, tau={temperature}: KL = InfoNCE"] = checks.compare(
                value, infonce, rtol=TOLERANCE, atol=TOLERANCE, inputs={"embeddings": f}
            )
    features = rng.standard_normal((64, 16))
    prototypes = rng.standard_normal((10, 16))
    labels = rng.integers(0, 10, 64)
    z = features @ prototypes.T
    cross_entropy = scipy.special.logsumexp(z, axis=1) - z[np.arange(64), labels]
    log_q = _on_backend(ctx, log_softmax, z)
    parts["prototypes: KL = CE"] = checks.compare(
        _on_backend(ctx, divergence, np.eye(10)[labels], log_q),
        cross_entropy,
        rtol=TOLERANCE,
        atol=TOLERANCE,
        inputs={"features": features, "labels": labels},
    )
    return checks.combine(parts)


# --------------------------------------------------------------------------- supcon-reduction


def supcon_out(log_q: np.ndarray, positives: np.ndarray) -> np.ndarray:
    r""":math:`\mathrm{SupCon}_{out}(i)=-\frac1{|P(i)|}\sum_{a\in P(i)}\log q(a|i)` (NumPy)."""
    return -np.where(positives, log_q, 0.0).sum(axis=1) / positives.sum(axis=1)


def supcon_in(log_q: np.ndarray, positives: np.ndarray) -> np.ndarray:
    r"""Control:
    :math:`\mathrm{SupCon}_{in}(i)=-\log\big(\frac1{|P(i)|}\sum_{a\in P(i)}q(a|i)\big)`."""
    return -np.log(np.where(positives, np.exp(log_q), 0.0).sum(axis=1) / positives.sum(axis=1))


@claim(
    "icon.supcon-reduction",
    paper=PAPER,
    source="Sec. 3 (SupCon as I-Con)",
    statement=(
        r"p(\cdot|i)=\mathrm{Unif}(P(i)):\ "
        r"\mathrm{KL}(p\|q)=-\log|P(i)|+\mathrm{SupCon}_{out}(i),\ "
        r"\mathrm{SupCon}_{out}(i)=-\frac1{|P(i)|}\sum_{a\in P(i)}\log q(a|i)"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "supcon-in",
            r"\mathrm{KL}(p\|q)=-\log|P(i)|+\mathrm{SupCon}_{in}(i)",
            {"supcon": supcon_in},
        )
    ],
)
def supcon_reduction(
    ctx: Context, supcon: Callable[[np.ndarray, np.ndarray], np.ndarray] = supcon_out
) -> Evidence:
    r"""KL to the uniform law on the positives (backend) against
    :math:`-\log|P(i)|+` ``supcon`` (NumPy), on random embeddings (N = 12, 40, in
    dimension 8) with 2 to 4 classes (so :math:`|P(i)|\ge2`), τ in {0.1, 1}.
    Tolerance 1e-12. (SupCon_in <= SupCon_out by Jensen, strictly unless q is
    constant on P(i), so the control differs by a visible gap.)"""
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for size, classes in ((12, 3), (40, 4), (40, 2)):
        f = rng.standard_normal((size, 8))
        labels = np.arange(size) % classes
        positives = (labels[:, None] == labels[None, :]) & ~np.eye(size, dtype=bool)
        p = positives / positives.sum(axis=1, keepdims=True)
        for temperature in (0.1, 1.0):
            log_q = _on_backend(ctx, log_neighbour_distribution, f, temperature)
            expected = -np.log(positives.sum(axis=1)) + supcon(
                _reference_log_q(f, temperature), positives
            )
            parts[f"N={size}, {classes} classes, tau={temperature}"] = checks.compare(
                _on_backend(ctx, kl_divergence, p, log_q),
                expected,
                rtol=TOLERANCE,
                atol=TOLERANCE,
                inputs={"embeddings": f},
            )
    return checks.combine(parts)


# --------------------------------------------------------------------------- debias-decomposition


def debiased_part(z: np.ndarray, p: np.ndarray, alpha: float) -> np.ndarray:
    r""":math:`-(1-\alpha)\sum_jp_j\log q_j-\frac\alpha N\sum_j\log q_j`, q = softmax(z) (NumPy)."""
    log_q = z - scipy.special.logsumexp(z, axis=-1, keepdims=True)
    return -(1 - alpha) * (p * log_q).sum(axis=-1) - alpha * log_q.mean(axis=-1)


CandidateLoss = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""``candidate(z, p, alpha)`` on logits and targets (..., N) and weights alpha (...)."""


def rescaled_temperature_infonce(z: np.ndarray, p: np.ndarray, alpha: float) -> np.ndarray:
    r"""Control: InfoNCE at the rescaled temperature :math:`\tau/(1-\alpha)`:
    :math:`-\sum_jp_j\log\mathrm{softmax}((1-\alpha)z)_j`."""
    scaled = (1 - alpha[..., None]) * z
    log_q = scaled - scipy.special.logsumexp(scaled, axis=-1, keepdims=True)
    return -(p * log_q).sum(axis=-1)


def _entropy(p: np.ndarray) -> np.ndarray:
    return -np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0).sum(axis=-1)


@claim(
    "icon.debias-decomposition",
    paper=PAPER,
    source="Sec. 4 (debiasing)",
    statement=(
        r"\tilde p=(1-\alpha)p+\tfrac\alpha N:\ \mathrm{KL}(\tilde p\|q)=-H(\tilde p)-(1-\alpha)"
        r"\sum_jp_j\log q_j-\tfrac\alpha N\sum_j\log q_j;\ \nabla_z\mathrm{KL}=q-\tilde p"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "rescaled-temperature",
            r"\mathrm{KL}(\tilde p\|q)=\mathrm{InfoNCE}_{\tau/(1-\alpha)}+\text{const}",
            {"candidate": rescaled_temperature_infonce},
        )
    ],
)
def debias_decomposition(
    ctx: Context,
    candidate: Callable[[np.ndarray, np.ndarray, float], np.ndarray] = debiased_part,
) -> Evidence:
    r"""The decomposition on the backend, and ``candidate`` as its parameter-dependent part.

    q = softmax(z) over N in {4, 16, 64} candidates (random logits of scale 3),
    p one-hot (InfoNCE) or random, α in (0, 1). Parts:

    - :func:`kl_divergence` of :math:`\tilde p` and :func:`log_softmax` (backend)
      equals :math:`-H(\tilde p)+` :func:`debiased_part` (1e-12);
    - for one-hot p it equals
      :math:`(1-\alpha)\mathrm{CE}+\alpha\,\mathrm{mean}_j(-\log q_j)-H(\tilde p)`;
    - ``candidate`` differs from the KL by a constant: at two logit vectors
      :math:`z,z'` with the same p, the differences agree (1e-12);
    - the gradient in z, by central differences (h = 1e-6) of the backend KL,
      equals :math:`q-\tilde p`, and so does that of ``candidate``: tolerance
      1e-6, the truncation :math:`h^2\|\nabla^3\|/6<10^{-12}` plus rounding
      :math:`\epsilon|\mathrm{KL}|/h<10^{-8}`.
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for size in (4, 16, 64):
        count = ctx.pick(40, 400)
        z = 3 * rng.standard_normal((count, size))
        z2 = 3 * rng.standard_normal((count, size))
        labels = rng.integers(0, size, count)
        one_hot = np.eye(size)[labels]
        general = rng.dirichlet(np.ones(size), count)
        alpha = rng.uniform(0.01, 0.99, (count, 1))
        q = scipy.special.softmax(z, axis=-1)
        for name, p in (("one-hot", one_hot), ("general", general)):
            tilde = (1 - alpha) * p + alpha / size
            inputs = {"z": z, "p": p, "alpha": alpha[:, 0]}
            kl = _on_backend(ctx, kl_divergence, tilde, _on_backend(ctx, log_softmax, z))
            kl2 = _on_backend(ctx, kl_divergence, tilde, _on_backend(ctx, log_softmax, z2))
            parts[f"N={size}, {name}: KL = -H + decomposition"] = checks.compare(
                kl,
                -_entropy(tilde) + debiased_part(z, p, alpha[:, 0]),
                rtol=TOLERANCE,
                atol=TOLERANCE,
                inputs=inputs,
            )
            if name == "one-hot":
                ce = scipy.special.logsumexp(z, axis=-1) - z[np.arange(count), labels]
                mean_nll = (scipy.special.logsumexp(z, axis=-1, keepdims=True) - z).mean(axis=-1)
                a = alpha[:, 0]
                parts[f"N={size}: one-hot form"] = checks.compare(
                    kl,
                    (1 - a) * ce + a * mean_nll - _entropy(tilde),
                    rtol=TOLERANCE,
                    atol=TOLERANCE,
                    inputs=inputs,
                )
            value = candidate(z, p, alpha[:, 0])
            value2 = candidate(z2, p, alpha[:, 0])
            parts[f"N={size}, {name}: candidate = KL + const"] = checks.compare(
                value - value2, kl - kl2, rtol=TOLERANCE, atol=TOLERANCE, inputs=inputs
            )
            if size <= 16:
                step = 1e-6 * np.eye(size)
                plus = z[:, None, :] + step
                minus = z[:, None, :] - step
                tiled = np.repeat(tilde[:, None, :], size, axis=1)
                fd_kl = (
                    _on_backend(ctx, kl_divergence, tiled, _on_backend(ctx, log_softmax, plus))
                    - _on_backend(ctx, kl_divergence, tiled, _on_backend(ctx, log_softmax, minus))
                ) / 2e-6
                rep_p = np.repeat(p[:, None, :], size, axis=1)
                rep_a = np.repeat(alpha, size, axis=1)
                fd_candidate = (
                    candidate(plus, rep_p, rep_a) - candidate(minus, rep_p, rep_a)
                ) / 2e-6
                parts[f"N={size}, {name}: grad KL = q - p~"] = checks.compare(
                    fd_kl, q - tilde, atol=1e-6, inputs=inputs
                )
                parts[f"N={size}, {name}: grad candidate = q - p~"] = checks.compare(
                    fd_candidate, q - tilde, atol=1e-6, inputs=inputs
                )
    return checks.combine(parts)
