r"""Projections of return distributions (Zanger, Böhmer & Spaan, *Diverse Projection
Ensembles for Distributional RL*, ICLR 2024).

Claims ``pdrl.categorical-mean``, ``pdrl.cramer-orthogonal`` and ``pdrl.quantile-w1`` of
``shared/claims/catalog.md`` §101: standard facts about the two projections the
ensemble mixes. For a support :math:`z_1<\dots<z_K`,

- the categorical projection :math:`\Pi_C` splits each atom x linearly between its
  neighbours,
  :math:`h_k(x)=\max(0,\min(\frac{x-z_{k-1}}{z_k-z_{k-1}},\frac{z_{k+1}-x}{z_{k+1}-z_k}))`
  (atoms clipped to :math:`[z_1,z_K]`);
- the quantile projection :math:`\Pi_Q` puts mass 1/K on :math:`F^{-1}((2i-1)/(2K))`;
- :math:`\ell_p^p(\mu,\nu)=\int|F_\mu-F_\nu|^p` (p = 1: :math:`W_1`; p = 2: Cramér).

The paper's contraction modulus of the ensemble Bellman operator is not checked.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.stats

from theorycheck import checks, validate
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "pdrl"
"""Key of the paper in the seed catalog."""

EPS = float(np.finfo(np.float64).eps)


def _law(x: Any, p: Any, func: str, names: tuple[str, str] = ("atoms", "probs")) -> Any:
    x, xp = validate.real_floating(x, names[0], func=func)
    p, _ = validate.real_floating(p, names[1], func=func)
    validate.axis(x, -1, names[0], func=func)
    validate.same_shape(x, p, names, func=func)
    validate.finite(x, names[0], func=func, xp=xp)
    validate.on_simplex(p, names[1], func=func)
    return xp


def _support(z: Any, func: str) -> Any:
    z, xp = validate.real_floating(z, "support", func=func)
    if z.ndim < 1 or z.shape[-1] < 2:
        raise ValueError(f"{func}: support must have >= 2 points, got shape {tuple(z.shape)}")
    validate.finite(z, "support", func=func, xp=xp)
    if not bool(xp.all(z[..., 1:] > z[..., :-1])):
        raise ValueError(f"{func}: support must be strictly increasing, got {to_numpy(z)}")
    return xp


def categorical_projection(atoms: Any, probs: Any, support: Any) -> Any:
    r"""The categorical (Cramér) projection onto a support.

    Parameters
    ----------
    atoms, probs : array, shape (..., m)
        A discrete law; atoms outside :math:`[z_1,z_K]` are clipped to the ends.
    support : array, shape (K,) or (..., K)
        Strictly increasing :math:`z_1<\dots<z_K` (per instance if batched).

    Returns
    -------
    array, shape (..., K)
        The probabilities on the support.
    """
    func = "categorical_projection"
    xp = _law(atoms, probs, func)
    _support(support, func)
    z = support[..., None, :]  # (..., 1, K)
    x = xp.clip(atoms[..., None], min=z[..., :1], max=z[..., -1:])  # (..., m, 1)
    gaps = z[..., 1:] - z[..., :-1]
    rising = xp.clip((x - z[..., :-1]) / gaps, min=0.0, max=1.0)  # k = 1..K-1
    falling = xp.clip((z[..., 1:] - x) / gaps, min=0.0, max=1.0)  # k = 0..K-2
    ones = xp.ones_like(rising[..., :1])
    left = xp.concat([ones, rising], axis=-1)
    right = xp.concat([falling, ones], axis=-1)
    hat = xp.minimum(left, right)  # (..., m, K)
    return xp.sum(probs[..., None] * hat, axis=-2)


def nearest_projection(atoms: Any, probs: Any, support: Any) -> Any:
    """Control projection: each atom's mass moves to its nearest support point."""
    func = "nearest_projection"
    xp = _law(atoms, probs, func)
    _support(support, func)
    dist = xp.abs(atoms[..., None] - support[..., None, :])
    nearest = dist == xp.min(dist, axis=-1, keepdims=True)
    weights = xp.astype(nearest, atoms.dtype)
    weights = weights / xp.sum(weights, axis=-1, keepdims=True)
    return xp.sum(probs[..., None] * weights, axis=-2)


def quantile_projection(atoms: Any, probs: Any, k: int) -> Any:
    r"""Atoms :math:`F^{-1}((2i-1)/(2K))`, i = 1..K, of the quantile projection (mass 1/K each).

    :math:`F^{-1}(\tau)=\min\{x: F(x)\ge\tau\}`.

    Parameters
    ----------
    atoms, probs : array, shape (..., m)
    k : int
        Number of atoms K >= 1.

    Returns
    -------
    array, shape (..., K)
    """
    func = "quantile_projection"
    xp = _law(atoms, probs, func)
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"{func}: k must be a positive integer, got {k!r}")
    order = xp.argsort(atoms, axis=-1)
    xs = xp.take_along_axis(atoms, order, axis=-1)
    cdf = xp.cumulative_sum(xp.take_along_axis(probs, order, axis=-1), axis=-1)
    levels = (2 * xp.arange(1, k + 1, dtype=atoms.dtype) - 1) / (2 * k)
    # index of the first sorted atom with F >= tau (the count of atoms with F < tau)
    below = xp.sum(xp.astype(cdf[..., None, :] < levels[:, None] - 1e-12, xp.int64), axis=-1)
    below = xp.clip(below, max=atoms.shape[-1] - 1)
    return xp.take_along_axis(xs, below, axis=-1)


def cdf_distance(x: Any, p: Any, y: Any, q: Any, power: float) -> Any:
    r""":math:`\int|F_\mu(t)-F_\nu(t)|^{\mathrm{power}}dt` between discrete laws (exact).

    Parameters
    ----------
    x, p : array, shape (..., m)
        Atoms and probabilities of :math:`\mu`.
    y, q : array, shape (..., l)
        Atoms and probabilities of :math:`\nu`.
    power : float
        1 gives :math:`W_1`, 2 the squared Cramér (:math:`\ell_2^2`) distance.
    """
    func = "cdf_distance"
    xp = _law(x, p, func, ("x", "p"))
    _law(y, q, func, ("y", "q"))
    if not isinstance(power, int | float) or isinstance(power, bool) or not power >= 1:
        raise ValueError(f"{func}: power must be a number >= 1, got {power!r}")
    t = xp.sort(xp.concat([x, y], axis=-1), axis=-1)
    f_mu = xp.sum(p[..., None, :] * xp.astype(x[..., None, :] <= t[..., :, None], p.dtype), axis=-1)
    f_nu = xp.sum(q[..., None, :] * xp.astype(y[..., None, :] <= t[..., :, None], q.dtype), axis=-1)
    widths = t[..., 1:] - t[..., :-1]
    return xp.sum(xp.abs(f_mu - f_nu)[..., :-1] ** power * widths, axis=-1)


def _random_laws(
    rng: np.random.Generator, count: int, m: int, low: float, high: float
) -> tuple[np.ndarray, np.ndarray]:
    return rng.uniform(low, high, (count, m)), rng.dirichlet(np.ones(m), count)


def _grid(rng: np.random.Generator, k: int) -> np.ndarray:
    return np.sort(rng.uniform(-5, 5, k))


@claim(
    "pdrl.categorical-mean",
    paper=PAPER,
    source="Sec. 3 (categorical projection), a standard fact used by the paper",
    statement=(
        r"\mathrm{supp}\,\mu\subseteq[z_1,z_K]\Rightarrow"
        r"\mathbb E_{\Pi_C\mu}Z=\mathbb E_\mu Z"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "atoms-outside-support",
            r"\Pi_C preserves the mean for atoms in [z_1-(z_K-z_1),\,z_K+(z_K-z_1)]",
            {"spread": 3.0},
        )
    ],
)
def categorical_mean(ctx: Context, spread: float = 1.0) -> Evidence:
    r"""Random laws on 7 atoms, random non-uniform supports of 11 points.

    Atoms are drawn uniformly on the support's range scaled by ``spread`` about its
    centre (1: inside). Tolerance: the mean is a sum of 77 terms of size <= 5, error
    <= 77 x 4 EPS x 5 ~ 7e-13; atol 1e-12.
    """
    rng = ctx.rng(0)
    count, m, k = ctx.pick(200, 2000), 7, 11
    supports = np.stack([_grid(rng, k) for _ in range(count)])
    lo, hi = supports[:, 0], supports[:, -1]
    centre, half = (lo + hi) / 2, spread * (hi - lo) / 2
    atoms = centre[:, None] + half[:, None] * rng.uniform(-1, 1, (count, m))
    probs = rng.dirichlet(np.ones(m), count)
    proj = to_numpy(categorical_projection(*(ctx.asarray(t) for t in (atoms, probs, supports))))
    means = (proj * supports).sum(axis=1)
    return checks.compare(means, (atoms * probs).sum(axis=1), atol=1e-12, inputs={"atoms": atoms})


PROJECTIONS = {"categorical": categorical_projection, "nearest": nearest_projection}


@claim(
    "pdrl.cramer-orthogonal",
    paper=PAPER,
    source="Sec. 3 (categorical projection as the Cramér projection), standard fact",
    statement=(
        r"\ell_2^2(\mu,\nu)=\ell_2^2(\mu,\Pi_C\mu)+\ell_2^2(\Pi_C\mu,\nu)\ "
        r"\text{for }\nu\text{ on }\{z_k\}"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "nearest-point-projection",
            r"Pythagoras holds for the nearest-support-point projection",
            {"projection": "nearest"},
        )
    ],
)
def cramer_orthogonal(ctx: Context, projection: str = "categorical") -> Evidence:
    r"""Random :math:`\mu` (7 atoms inside the support), random :math:`\nu` on a random
    9-point support; :func:`cdf_distance` with power 2 on the backend, after checking
    it (power 1) against ``scipy.stats.wasserstein_distance``.

    Tolerance: each distance sums ~20 terms of size <= 10; atol 1e-12 (100 x 20 EPS x
    10 would be 4e-12 in the worst case; observed errors are ~1e-15), relative to
    the scale it is loose enough and far below the controls' gaps.
    """
    project = PROJECTIONS[projection]
    rng = ctx.rng(0)
    count, m, k = ctx.pick(100, 1000), 7, 9
    z = np.stack([_grid(rng, k) for _ in range(count)])
    x = z[:, :1] + (z[:, -1:] - z[:, :1]) * rng.uniform(0, 1, (count, m))
    p = rng.dirichlet(np.ones(m), count)
    q = rng.dirichlet(np.ones(k), count)
    xa, pa, za, qa = (ctx.asarray(t) for t in (x, p, z, q))
    proj = project(xa, pa, za)
    lhs = to_numpy(cdf_distance(xa, pa, za, qa, 2))
    rhs = to_numpy(cdf_distance(xa, pa, za, proj, 2)) + to_numpy(cdf_distance(za, proj, za, qa, 2))
    w1 = to_numpy(cdf_distance(xa, pa, za, qa, 1))
    w1_ref = [scipy.stats.wasserstein_distance(x[i], z[i], p[i], q[i]) for i in range(count)]
    return checks.combine(
        {
            "cdf_distance(power=1) = scipy W1": checks.compare(w1, w1_ref, atol=1e-12),
            "Pythagoras": checks.compare(lhs, rhs, atol=4e-12),
        }
    )


@claim(
    "pdrl.quantile-w1",
    paper=PAPER,
    source="Sec. 3 (quantile projection), standard fact",
    statement=(
        r"\Pi_Q\mu=\tfrac1K\sum_i\delta_{F_\mu^{-1}((2i-1)/(2K))}\in"
        r"\arg\min_{\nu=\frac1K\sum_i\delta_{\theta_i}}W_1(\mu,\nu)"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "preserves-mean",
            r"\mathbb E_{\Pi_Q\mu}Z=\mathbb E_\mu Z",
            {"property": "preserves-mean"},
        )
    ],
)
def quantile_w1(ctx: Context, property: str = "minimises-w1") -> Evidence:  # noqa: A002
    r"""Random :math:`\mu` on 8 atoms, K = 5.

    ``minimises-w1`` (the claim): :math:`W_1(\mu,\Pi_Q\mu)\le W_1(\mu,\nu)` for 20
    random equal-weight laws :math:`\nu` (atoms in the range of :math:`\mu`) and 20
    perturbations :math:`\theta_i+\delta_i` (:math:`|\delta_i|\le0.3`) per instance, slack
    tolerance 1e-12 (sums of ~13 terms of size <= 10). ``preserves-mean`` (control):
    the means agree to atol 1e-12.
    """
    rng = ctx.rng(0)
    count, m, k = ctx.pick(60, 600), 8, 5
    equal = np.full(k, 1 / k)
    x = rng.uniform(-5, 5, (count, m))
    p = rng.dirichlet(np.ones(m), count)
    theta = to_numpy(quantile_projection(ctx.asarray(x), ctx.asarray(p), k))  # (count, K)
    means, ref_means = theta.mean(axis=1), (x * p).sum(axis=1)
    if property == "minimises-w1":
        others = np.concatenate(
            [
                theta[:, None, :],
                rng.uniform(-5, 5, (count, 20, k)),
                theta[:, None, :] + rng.uniform(-0.3, 0.3, (count, 20, k)),
            ],
            axis=1,
        )  # (count, 41, K); index 0 is the quantile projection itself
        tile = (count, 41)
        values = to_numpy(
            cdf_distance(
                ctx.asarray(np.broadcast_to(x[:, None], (*tile, m)).copy()),
                ctx.asarray(np.broadcast_to(p[:, None], (*tile, m)).copy()),
                ctx.asarray(others),
                ctx.asarray(np.broadcast_to(equal, (*tile, k)).copy()),
                1,
            )
        )
        slacks = values[:, 1:] - values[:, :1]
    if property == "minimises-w1":
        return checks.nonnegative(np.array(slacks), tol=1e-12)
    if property == "preserves-mean":
        return checks.compare(means, ref_means, atol=1e-12)
    raise ValueError(f"property must be 'minimises-w1' or 'preserves-mean', got {property!r}")
