r"""Weighted least squares with projection DPPs and (generalised) volume sampling.

Nouy & Michel, *Weighted least-squares approximation with determinantal point processes
and generalized volume sampling*, arXiv 2023: claims ``volume_sampling.dpp-marginal``,
``volume_sampling.unbiased`` and ``volume_sampling.m-plus-1`` (spec ids
``volume-sampling.*``) of ``shared/claims/catalog.md`` §48.

Setting. A finite measure μ on N atoms; :math:`\varphi=(\varphi_1,\dots,\varphi_m)`
orthonormal in :math:`L^2(\mu)`; the optimal density :math:`\rho=\frac1m\sum_j\varphi_j^2`
(with respect to μ); weights :math:`w=1/\rho`; the projection kernel
:math:`K(x,y)=\sum_j\varphi_j(x)\varphi_j(y)`; the weighted least-squares estimate
:math:`\hat f=\arg\min_{v\in V_m}\sum_iw(x_i)(f(x_i)-v(x_i))^2`.

Every expectation is an exact finite sum over the ordered tuples of atoms
(:math:`N^n` of them), evaluated in float64; the determinants and solves run on the
backend. Tolerances: with :math:`B=D_\mu^{1/2}KD_\mu^{1/2}=QQ^\top` (Q with orthonormal
columns) every :math:`\mu`-weighted determinant is a determinant of a submatrix of B,
whose entries are at most 1; an LU determinant of an m x m such matrix is off by at
most about m m! EPS, and summing :math:`N^m\le2401` of them gives below 5e-11:
atol 1e-10. Solves (m <= 3) of the well-conditioned systems that carry
probability mass add a relative 1e-12.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim
from theorycheck.validate import finite, real_floating

PAPER = "volume-sampling"
TOLERANCE = 1e-10


# --------------------------------------------------------------------------- math objects


def _indices(phi: Any, tuples: Any, func: str) -> tuple[Any, Any]:
    phi, xp = real_floating(phi, "phi", func=func)
    if phi.ndim != 2 or phi.shape[1] > phi.shape[0]:
        raise ValueError(f"{func}: phi must have shape (N, m) with m <= N, got {tuple(phi.shape)}")
    finite(phi, "phi", func=func, xp=xp)
    if tuples.ndim != 2:
        raise ValueError(f"{func}: tuples must have shape (T, n), got {tuple(tuples.shape)}")
    if tuples.shape[0] and (int(xp.min(tuples)) < 0 or int(xp.max(tuples)) >= phi.shape[0]):
        raise ValueError(f"{func}: tuples must index atoms 0..{phi.shape[0] - 1}")
    return phi, xp


def _selector(tuples: Any, size: int, xp: Any, dtype: Any) -> Any:
    """One-hot rows (T, n, N) selecting the atoms of each tuple."""
    return xp.astype(tuples[..., None] == xp.arange(size)[None, None, :], dtype)


def projection_dpp_density(phi: Any, tuples: Any) -> Any:
    r"""Density :math:`\frac1{m!}\det[K(x_i,x_j)]_{i,j}` of the projection DPP with respect to
    :math:`\mu^{\otimes n}` at ordered tuples (n = m for the DPP; n > m gives 0).

    Parameters
    ----------
    phi : array, shape (N, m)
        :math:`\varphi_j(x)` at the N atoms (orthonormal in :math:`L^2(\mu)`).
    tuples : integer array, shape (T, n)
        Atom indices.

    Returns
    -------
    array, shape (T,)

    Raises
    ------
    ValueError
        For a bad shape, non-finite phi or indices out of range.
    """
    phi, xp = _indices(phi, tuples, "projection_dpp_density")
    kernel = phi @ xp.matrix_transpose(phi)
    pick = _selector(tuples, phi.shape[0], xp, phi.dtype)
    sub = pick @ kernel @ xp.matrix_transpose(pick)
    return xp.linalg.det(sub) / math.factorial(phi.shape[1])


def weighted_gram_determinant(phi: Any, weights: Any, tuples: Any) -> Any:
    r""":math:`\det G_w(x)`, :math:`G_w=\frac1n\sum_iw(x_i)\varphi(x_i)\varphi(x_i)^\top`,
    per tuple.

    Parameters
    ----------
    phi : array, shape (N, m)
    weights : array, shape (N,)
        :math:`w` at the atoms.
    tuples : integer array, shape (T, n)
    """
    phi, xp = _indices(phi, tuples, "weighted_gram_determinant")
    rows = _selector(tuples, phi.shape[0], xp, phi.dtype) @ phi  # (T, n, m)
    w = _selector(tuples, phi.shape[0], xp, phi.dtype) @ weights  # (T, n)
    gram = xp.matrix_transpose(rows) @ (w[..., None] * rows) / tuples.shape[1]
    return xp.linalg.det(gram)


def weighted_least_squares(phi: Any, weights: Any, values: Any, tuples: Any) -> Any:
    r"""Coefficients of :math:`\hat f=\arg\min_{v\in V_m}\sum_iw(x_i)(f(x_i)-v(x_i))^2` per tuple.

    The minimum-norm solution (pseudo-inverse) where the weighted Gram matrix is
    singular.

    Parameters
    ----------
    phi : array, shape (N, m)
    weights : array, shape (N,)
    values : array, shape (N,)
        f at the atoms.
    tuples : integer array, shape (T, n)

    Returns
    -------
    array, shape (T, m)
    """
    phi, xp = _indices(phi, tuples, "weighted_least_squares")
    pick = _selector(tuples, phi.shape[0], xp, phi.dtype)
    rows = pick @ phi  # (T, n, m)
    root_w = xp.sqrt(pick @ weights)[..., None]
    design = root_w * rows
    target = root_w * (pick @ values)[..., None]
    return (xp.linalg.pinv(design) @ target)[..., 0]


# --------------------------------------------------------------------------- setting


def random_setting(rng: np.random.Generator, atoms: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """A finite measure μ (N atoms, weights 0.05 to 1, normalised) and φ orthonormal in
    :math:`L^2(\\mu)`: :math:`\\varphi=D_\\mu^{-1/2}Q` with Q from the QR of a Gaussian matrix."""
    mu = rng.uniform(0.05, 1.0, atoms)
    mu /= mu.sum()
    q, _ = np.linalg.qr(rng.standard_normal((atoms, m)))
    return mu, q / np.sqrt(mu)[:, None]


def ordered_tuples(atoms: int, n: int) -> np.ndarray:
    """All :math:`N^n` ordered n-tuples of atom indices, shape (N^n, n)."""
    return np.array(list(itertools.product(range(atoms), repeat=n)), dtype=np.int64)


def _on_backend(ctx: Context, fn: Callable[..., Any], *arrays: np.ndarray) -> np.ndarray:
    return np.asarray(to_numpy(fn(*(ctx.asarray(a) for a in arrays))), dtype=float)


def _settings(ctx: Context) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    rng = ctx.rng(0)
    return [(atoms, m, *random_setting(rng, atoms, m)) for atoms, m in ((6, 2), (7, 3), (6, 3))]


# --------------------------------------------------------------------------- dpp-marginal


def factorial_normaliser(m: int) -> float:
    """The projection DPP's :math:`1/m!`."""
    return 1.0 / math.factorial(m)


def reciprocal_normaliser(m: int) -> float:
    """Control: :math:`1/m` instead of :math:`1/m!`."""
    return 1.0 / m


@claim(
    "volume_sampling.dpp-marginal",
    paper=PAPER,
    source="Sec. 3 (projection DPP)",
    statement=(
        r"x\sim\mathrm{DPP}(K),\ K=\sum_j\varphi_j\otimes\varphi_j:\ |x|=m,\ "
        r"p(x_1..x_m)=\tfrac1{m!}\det[K(x_i,x_j)]\ \text{w.r.t.}\ \mu^{\otimes m},\ "
        r"x_i\sim\rho\,d\mu,\ \rho=\tfrac1m\sum_j\varphi_j^2"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "normaliser-1-over-m",
            r"p=\tfrac1m\det[K(x_i,x_j)]",
            {"normaliser": reciprocal_normaliser},
        )
    ],
)
def dpp_marginal(
    ctx: Context, normaliser: Callable[[int], float] = factorial_normaliser
) -> Evidence:
    r"""Enumerate the ordered m-tuples of finite settings (N, m) in {(6, 2), (7, 3), (6, 3)}.

    With the density :math:`c_m\det[K]` (:math:`c_m` = ``normaliser``; the backend
    computes :func:`projection_dpp_density`, rescaled by :math:`c_m\,m!`): the total
    mass :math:`\sum_x c_m\det[K_x]\prod_i\mu(x_i)` is 1; the law of every coordinate
    :math:`x_k` is :math:`\rho\,\mu`; and the density vanishes on every ordered
    (m+1)-tuple (K has rank m: no (m+1)-th point). Tolerance 1e-10 (module docstring).
    """
    parts: dict[str, Evidence] = {}
    for atoms, m, mu, phi in _settings(ctx):
        tuples = ordered_tuples(atoms, m)
        scale = normaliser(m) * math.factorial(m)
        mass = (
            _on_backend(ctx, projection_dpp_density, phi, tuples)
            * scale
            * np.prod(mu[tuples], axis=1)
        )
        rho = (phi**2).sum(axis=1) / m
        label = f"N={atoms}, m={m}"
        parts[f"{label}: total mass 1"] = checks.compare(mass.sum(), 1.0, atol=TOLERANCE)
        marginals = np.stack([np.bincount(tuples[:, k], mass, atoms) for k in range(m)])
        parts[f"{label}: every marginal is rho mu"] = checks.compare(
            marginals, np.broadcast_to(rho * mu, marginals.shape), atol=TOLERANCE
        )
        larger = ordered_tuples(atoms, m + 1)
        extra = _on_backend(ctx, projection_dpp_density, phi, larger) * np.prod(mu[larger], axis=1)
        parts[f"{label}: no (m+1)-th point"] = checks.compare(extra, 0.0, atol=TOLERANCE)
    return checks.combine(parts)


# --------------------------------------------------------------------------- unbiased


@lru_cache(maxsize=8)
def _enumeration(atoms: int, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    tuples = ordered_tuples(atoms, n)
    distinct = np.array([len(set(t)) for t in tuples.tolist()])
    return tuples, distinct >= m


@claim(
    "volume_sampling.unbiased",
    paper=PAPER,
    source="Sec. 4 (generalised volume sampling), unbiasedness",
    statement=(
        r"x\sim\propto\det G_w(x)\prod_i\rho(x_i)\,d\mu^{\otimes n},\ n\ge m\Rightarrow"
        r"\mathbb E[\hat f]=P_{V_m}f"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    notes=(
        "The exact normalisation of the generalised volume-sampling density is not confirmed; "
        "the check normalises by enumeration (the claim does not depend on it)."
    ),
    controls=[
        Control(
            "iid-optimal-density", r"x_i\overset{iid}\sim\rho\,d\mu,\ n=m", {"sampling": "iid"}
        ),
    ],
)
def unbiased(ctx: Context, sampling: str = "volume") -> Evidence:
    r"""Enumerate ordered n-tuples, n in {m, m+1}, and average the weighted LS coefficients.

    Law of the tuple: ``"volume"``: :math:`\propto\det G_w(x)\prod_i\rho(x_i)\mu(x_i)`
    (:func:`weighted_gram_determinant` on the backend; tuples with fewer than m
    distinct atoms have :math:`\det G_w=0` exactly and are given weight 0), or
    ``"iid"``: :math:`\prod_i\rho(x_i)\mu(x_i)` (n = m only; singular Gram matrices get
    the minimum-norm solution). For 3 random f per setting, the expected coefficients
    of :func:`weighted_least_squares` (backend) must equal those of the projection
    :math:`P_{V_m}f`, :math:`c^\ast=\varphi^\top D_\mu f`. Tolerance 1e-10.
    """
    parts: dict[str, Evidence] = {}
    rng = ctx.rng(1)
    for atoms, m, mu, phi in _settings(ctx):
        rho = (phi**2).sum(axis=1) / m
        weights = 1.0 / rho
        for n in (m, m + 1) if sampling == "volume" else (m,):
            tuples, generic = _enumeration(atoms, n, m)
            base = np.prod((rho * mu)[tuples], axis=1)
            if sampling == "volume":
                law = (
                    _on_backend(ctx, weighted_gram_determinant, phi, weights, tuples)
                    * base
                    * generic
                )
            else:
                law = base
            law = law / law.sum()
            for trial in range(3):
                f = rng.standard_normal(atoms)
                coefficients = _on_backend(ctx, weighted_least_squares, phi, weights, f, tuples)
                parts[f"N={atoms}, m={m}, n={n}, f {trial}: E[f_hat] = P f"] = checks.compare(
                    law @ coefficients, phi.T @ (mu * f), atol=TOLERANCE, inputs=None
                )
    return checks.combine(parts)


# --------------------------------------------------------------------------- m-plus-1


@claim(
    "volume_sampling.m-plus-1",
    paper=PAPER,
    source="Sec. 2 (background: volume sampling, Dereziński-Warmuth)",
    statement=(
        r"n=m,\ x\sim\mathrm{DPP}(K):\ "
        r"\mathbb E\|f-\hat f\|^2_{L^2(\mu)}=(m+1)\|f-P_{V_m}f\|^2_{L^2(\mu)}"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control("factor-m", r"\mathbb E\|f-\hat f\|^2=m\|f-P_{V_m}f\|^2", {"factor": lambda m: m}),
        Control("factor-2", r"\mathbb E\|f-\hat f\|^2=2\|f-P_{V_m}f\|^2", {"factor": lambda m: 2}),
    ],
)
def m_plus_1(ctx: Context, factor: Callable[[int], float] = lambda m: m + 1) -> Evidence:
    r"""Enumerate the DPP's m-tuples (:func:`projection_dpp_density` times
    :math:`\prod\mu`); :math:`\hat f` interpolates f at them
    (:func:`weighted_least_squares`, any weights); the expected
    :math:`L^2(\mu)` error must be ``factor(m)`` times the projection error, for 3
    random f per setting (relative tolerance 1e-10, on errors of order 1)."""
    parts: dict[str, Evidence] = {}
    rng = ctx.rng(2)
    for atoms, m, mu, phi in _settings(ctx):
        tuples, generic = _enumeration(atoms, m, m)
        law = (
            _on_backend(ctx, projection_dpp_density, phi, tuples)
            * np.prod(mu[tuples], axis=1)
            * generic
        )
        weights = np.ones(atoms)
        for trial in range(3):
            f = rng.standard_normal(atoms)
            coefficients = _on_backend(ctx, weighted_least_squares, phi, weights, f, tuples)
            residual = f[None, :] - coefficients @ phi.T
            expected_error = law @ (residual**2 @ mu)
            projection_error = (f - phi @ (phi.T @ (mu * f))) ** 2 @ mu
            parts[f"N={atoms}, m={m}, f {trial}"] = checks.compare(
                expected_error, factor(m) * projection_error, rtol=TOLERANCE, atol=TOLERANCE
            )
    return checks.combine(parts)
