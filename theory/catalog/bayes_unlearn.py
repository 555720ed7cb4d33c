r"""Bayes error of two Gaussian classes under poisoning (2025), fragment.

*Towards Provably Unlearnable Examples via Bayes Error Optimisation* (2025); claim
``bayes_unlearn.gaussian-be`` (spec entry ``bayes-unlearn.gaussian-be`` of
``shared/claims/catalog.md`` §102) [unconfirmed numbering]. This is a **fragment only**:
the paper crafts unlearnable examples by maximising the Bayes error of the poisoned data
and proves guarantees for it; the checked ingredient is the textbook Gaussian case that
motivates it, as the spec restates it. Where in the paper this case appears, its notation
and its constants are not confirmed; the paper's optimisation procedure and its theorems
are not checked.

Setting (spec): equal priors, classes :math:`N(-\mu,\sigma^2)` (y = 0) and
:math:`N(\mu,\sigma^2)` (y = 1), :math:`\mu,\sigma>0`. The Bayes error is
:math:`\mathrm{BE}=\frac12\int\min(p_0,p_1)\,dx=\Phi(-\mu/\sigma)` (in general
:math:`\Phi(-\|\mu_1-\mu_0\|_\Sigma/2)`). The poisoning moves each class mean toward the
other by at most :math:`\varepsilon\le\mu`, which shrinks the gap and raises BE. Mixing a
fraction :math:`\lambda` of clean data into each class gives the mixtures
:math:`p_y^\lambda=(1-\lambda)p_y^{\text{poisoned}}+\lambda p_y^{\text{clean}}`; for the
symmetric shift :math:`\pm(\mu-\varepsilon)` each term of :math:`p_1^\lambda(x)-
p_0^\lambda(x)` is positive exactly for x > 0, so the Bayes rule stays
:math:`\mathrm{sign}(x)` and (derived here)
:math:`\mathrm{BE}_\lambda=(1-\lambda)\Phi(-(\mu-\varepsilon)/\sigma)+\lambda\Phi(-\mu/\sigma)`,
strictly between the clean and the poisoned value for :math:`0<\lambda<1`.

The closed forms are scalar formulas evaluated with NumPy/SciPy (``scipy.special.ndtr``);
the reference is :func:`bayes_error_quadrature`, adaptive quadrature of
:math:`\frac12\min(p_0,p_1)` with its kinks (the density crossings) as break points.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.integrate
import scipy.optimize
import scipy.special

from theorycheck import checks, validate
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "bayes-unlearn"
"""Key of the paper in the seed catalog."""

EPS = float(np.finfo(np.float64).eps)
QUAD_TOL = 1e-13
"""Absolute and relative accuracy requested from ``scipy.integrate.quad``."""
TAIL_WIDTH = 15.0
r"""Integration range: the components' means :math:`\pm15\sigma`; the mass left out is
below :math:`2\Phi(-15)<10^{-50}`."""
CROSSING_GRID = 4001
"""Grid points on which sign changes of :math:`p_1-p_0` are located (then refined)."""


# --------------------------------------------------------------------------- validation


def _parameter(value: Any, name: str, func: str) -> np.ndarray:
    """A finite real number, sequence or array, as a float64 NumPy array."""
    if isinstance(value, bool):
        raise ValueError(f"{func}: {name} must be a real number or array, got {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"{func}: {name} must be finite, got {value!r}")
        return np.asarray(float(value))
    if isinstance(value, list | tuple):
        try:
            value = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{func}: {name} must be numeric, got {value!r}") from None
    value = validate.finite_real_array(value, name, func=func)
    return np.asarray(to_numpy(value), dtype=float)


def _positive(value: Any, name: str, func: str) -> np.ndarray:
    array = _parameter(value, name, func)
    if not bool(np.all(array > 0)):
        raise ValueError(f"{func}: {name} must be > 0, has entry {float(np.min(array))}")
    return array


def _in_unit_interval(value: Any, name: str, func: str) -> np.ndarray:
    array = _parameter(value, name, func)
    if not bool(np.all((array >= 0) & (array <= 1))):
        bad = array[(array < 0) | (array > 1)] if array.ndim else array
        raise ValueError(f"{func}: {name} must lie in [0, 1], got {float(np.ravel(bad)[0])}")
    return array


def _shift(mu: np.ndarray, epsilon: Any, func: str) -> np.ndarray:
    epsilon = _parameter(epsilon, "epsilon", func)
    if not bool(np.all(epsilon >= 0)):
        raise ValueError(f"{func}: epsilon must be >= 0, has entry {float(np.min(epsilon))}")
    epsilon_b, mu_b = np.broadcast_arrays(epsilon, mu)
    crossing = epsilon_b > mu_b
    if bool(np.any(crossing)):
        index = tuple(int(i[0]) for i in np.nonzero(crossing)) if crossing.ndim else ()
        raise ValueError(
            f"{func}: epsilon must be <= mu (the means must not cross), got epsilon "
            f"{float(epsilon_b[index])} > mu {float(mu_b[index])}"
        )
    return epsilon


# --------------------------------------------------------------------------- closed forms


def gaussian_bayes_error(mu: Any, sigma: Any) -> np.ndarray:
    r"""Bayes error of :math:`N(-\mu,\sigma^2)` vs :math:`N(\mu,\sigma^2)`, equal priors.

    :math:`\mathrm{BE}=\Phi(-\mu/\sigma)` (spec §102; the 1-D case of
    :math:`\Phi(-\|\mu_1-\mu_0\|_\Sigma/2)`).

    Parameters
    ----------
    mu : float or array, shape (...)
        Half the distance between the class means, > 0.
    sigma : float or array, broadcastable with mu
        Shared standard deviation, > 0.

    Returns
    -------
    ndarray, shape (...)
    """
    func = "gaussian_bayes_error"
    mu = _positive(mu, "mu", func)
    sigma = _positive(sigma, "sigma", func)
    return scipy.special.ndtr(-mu / sigma)


def poisoned_bayes_error(mu: Any, sigma: Any, epsilon: Any) -> np.ndarray:
    r"""Bayes error after each class mean moves :math:`\varepsilon` toward the other.

    Classes :math:`N(\mp(\mu-\varepsilon),\sigma^2)`:
    :math:`\Phi(-(\mu-\varepsilon)/\sigma)`.

    Parameters
    ----------
    mu, sigma : float or array, shape (...)
        As in :func:`gaussian_bayes_error`.
    epsilon : float or array, shape (...)
        The shift of each mean, :math:`0\le\varepsilon\le\mu`.

    Returns
    -------
    ndarray, shape (...)
    """
    func = "poisoned_bayes_error"
    mu = _positive(mu, "mu", func)
    sigma = _positive(sigma, "sigma", func)
    epsilon = _shift(mu, epsilon, func)
    return scipy.special.ndtr(-(mu - epsilon) / sigma)


def mixed_bayes_error(mu: Any, sigma: Any, epsilon: Any, clean_fraction: Any) -> np.ndarray:
    r"""Bayes error of the poisoned classes mixed with a fraction of clean data (derived).

    Class y has density :math:`(1-\lambda)\varphi_\sigma(x\mp(\mu-\varepsilon))+
    \lambda\varphi_\sigma(x\mp\mu)`; its Bayes rule is :math:`\mathrm{sign}(x)`, so
    :math:`\mathrm{BE}_\lambda=(1-\lambda)\Phi(-(\mu-\varepsilon)/\sigma)+
    \lambda\Phi(-\mu/\sigma)`.

    Parameters
    ----------
    mu, sigma, epsilon : float or array, shape (...)
        As in :func:`poisoned_bayes_error`.
    clean_fraction : float or array, shape (...)
        :math:`\lambda\in[0,1]`.

    Returns
    -------
    ndarray, shape (...)
    """
    func = "mixed_bayes_error"
    mu = _positive(mu, "mu", func)
    sigma = _positive(sigma, "sigma", func)
    epsilon = _shift(mu, epsilon, func)
    lam = _in_unit_interval(clean_fraction, "clean_fraction", func)
    return (1 - lam) * scipy.special.ndtr(-(mu - epsilon) / sigma) + lam * scipy.special.ndtr(
        -mu / sigma
    )


def _no_half_bayes_error(mu: Any, sigma: Any) -> np.ndarray:
    r"""Control: :math:`\Phi(-\|\mu_1-\mu_0\|/\sigma)=\Phi(-2\mu/\sigma)` (the 1/2 dropped)."""
    return scipy.special.ndtr(-2 * np.asarray(mu) / np.asarray(sigma))


def _mixture_at_mean(mu: Any, sigma: Any, epsilon: Any, clean_fraction: Any) -> np.ndarray:
    r"""Control: the mixture treated as one Gaussian at the mixed mean,
    :math:`\Phi(-(\mu-(1-\lambda)\varepsilon)/\sigma)`."""
    mu, sigma, epsilon, lam = (np.asarray(v) for v in (mu, sigma, epsilon, clean_fraction))
    return scipy.special.ndtr(-(mu - (1 - lam) * epsilon) / sigma)


# --------------------------------------------------------------------------- quadrature


def _mixture_density(x: float, means: np.ndarray, weights: np.ndarray, sigma: float) -> float:
    total = 0.0
    for mean, weight in zip(means.tolist(), weights.tolist(), strict=True):
        total += weight * math.exp(-0.5 * ((x - mean) / sigma) ** 2)
    return total / (sigma * math.sqrt(2 * math.pi))


def _components(means: Any, weights: Any, label: str, func: str) -> tuple[np.ndarray, np.ndarray]:
    means = _parameter(means, f"means{label}", func)
    weights = _parameter(weights, f"weights{label}", func)
    if means.ndim != 1 or means.shape != weights.shape or means.size == 0:
        raise ValueError(
            f"{func}: means{label} and weights{label} must be 1-D of the same non-zero "
            f"length, got shapes {means.shape} and {weights.shape}"
        )
    if bool(np.any(weights < 0)) or abs(float(weights.sum()) - 1.0) > 1e-12:
        raise ValueError(
            f"{func}: weights{label} must be non-negative and sum to 1, got {weights.tolist()}"
        )
    return means, weights


def bayes_error_quadrature(
    means0: Any, weights0: Any, means1: Any, weights1: Any, sigma: float
) -> tuple[float, float]:
    r"""Bayes error :math:`\frac12\int\min(p_0,p_1)\,dx` of two Gaussian mixtures, by quadrature.

    :math:`p_y=\sum_cw_{y,c}\varphi_\sigma(x-m_{y,c})`, equal priors. The integrand is
    piecewise smooth with kinks where :math:`p_0=p_1`: the sign changes of
    :math:`p_1-p_0` on a 4001-point grid are refined by ``brentq`` (xtol 1e-15) and passed
    to ``scipy.integrate.quad`` as break points (QAGP, accuracy :data:`QUAD_TOL`) on the
    components' means :math:`\pm15\sigma`.

    Parameters
    ----------
    means0, weights0 : array, shape (C0,)
        Components of class 0 (weights non-negative, summing to 1).
    means1, weights1 : array, shape (C1,)
        Components of class 1.
    sigma : float
        Shared standard deviation of every component, > 0.

    Returns
    -------
    value : float
    abserr : float
        quad's estimate of the absolute error.
    """
    func = "bayes_error_quadrature"
    means0, weights0 = _components(means0, weights0, "0", func)
    means1, weights1 = _components(means1, weights1, "1", func)
    sigma = validate.positive_number(sigma, "sigma", func=func)
    low = min(means0.min(), means1.min()) - TAIL_WIDTH * sigma
    high = max(means0.max(), means1.max()) + TAIL_WIDTH * sigma

    def difference(x: Any) -> Any:
        x = np.asarray(x, dtype=float)[..., None]
        z0 = np.exp(-0.5 * ((x - means0) / sigma) ** 2) @ weights0
        z1 = np.exp(-0.5 * ((x - means1) / sigma) ** 2) @ weights1
        return z1 - z0

    grid = np.linspace(low, high, CROSSING_GRID)
    values = difference(grid)
    changes = np.nonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0)[0]
    points = [
        scipy.optimize.brentq(lambda x: float(difference(x)), grid[i], grid[i + 1], xtol=1e-15)
        for i in changes
    ]

    def integrand(x: float) -> float:
        return 0.5 * min(
            _mixture_density(x, means0, weights0, sigma),
            _mixture_density(x, means1, weights1, sigma),
        )

    value, abserr = scipy.integrate.quad(
        integrand,
        low,
        high,
        points=points or None,
        limit=200,
        epsabs=QUAD_TOL,
        epsrel=QUAD_TOL,
    )
    return float(value), float(abserr)


# --------------------------------------------------------------------------- the claim


@lru_cache(maxsize=4)
def _instances(ctx: Context) -> dict[str, np.ndarray]:
    r"""Random settings and their quadrature references (shared by the claim and controls).

    :math:`\mu\sim U(0.2,2.5)`, :math:`\sigma\sim U(0.5,2)`,
    :math:`\varepsilon\sim\mu\,U(0.05,1)`, :math:`\lambda\sim U(0.05,0.95)`; an asymmetric
    shift :math:`(a,b)\sim\varepsilon\,U(0.05,1)^2` of the two means as well.
    """
    rng = ctx.rng(0)
    count = ctx.pick(12, 200)
    mu = rng.uniform(0.2, 2.5, count)
    sigma = rng.uniform(0.5, 2.0, count)
    epsilon = mu * rng.uniform(0.05, 1.0, count)
    lam = rng.uniform(0.05, 0.95, count)
    shift = epsilon[:, None] * rng.uniform(0.05, 1.0, (count, 2))
    references: dict[str, list[tuple[float, float]]] = {
        k: [] for k in ("clean", "poisoned", "mixed", "asym_poisoned", "asym_mixed")
    }
    one = np.ones(1)
    for m, s, e, w, (a, b) in zip(mu, sigma, epsilon, lam, shift, strict=True):
        s = float(s)
        mix = np.array([1 - w, w])
        references["clean"].append(bayes_error_quadrature([-m], one, [m], one, s))
        references["poisoned"].append(bayes_error_quadrature([-(m - e)], one, [m - e], one, s))
        references["mixed"].append(bayes_error_quadrature([-(m - e), -m], mix, [m - e, m], mix, s))
        references["asym_poisoned"].append(bayes_error_quadrature([-m + a], one, [m - b], one, s))
        references["asym_mixed"].append(
            bayes_error_quadrature([-m + a, -m], mix, [m - b, m], mix, s)
        )
    data = {"mu": mu, "sigma": sigma, "epsilon": epsilon, "lam": lam, "a": shift[:, 0]}
    data["b"] = shift[:, 1]
    for key, pairs in references.items():
        data[key] = np.array([v for v, _ in pairs])
        data[f"{key}_err"] = np.array([e for _, e in pairs])
    return data


def _allowance(*errors: np.ndarray) -> np.ndarray:
    r"""Quadrature tolerance: :data:`QUAD_TOL` plus 10 x quad's error estimate per
    reference (the estimate is heuristic, hence the factor), plus 8u for ndtr."""
    return sum(QUAD_TOL + 10 * e for e in errors) + 8 * EPS


@claim(
    "bayes_unlearn.gaussian-be",
    paper=PAPER,
    source="Gaussian Bayes error (fragment only; location and notation not confirmed)",
    statement=(
        r"\text{fragment: }N(\pm\mu,\sigma^2),\ \pi=\tfrac12:\ \mathrm{BE}=\Phi(-\mu/\sigma);"
        r"\ \text{means moved }\le\varepsilon\text{ toward each other: BE increases;}"
        r"\ \text{mixing in a fraction }\lambda\text{ of clean data: }\mathrm{BE}_{\text{clean}}"
        r"<\mathrm{BE}_\lambda<\mathrm{BE}_\varepsilon"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    notes=(
        "Fragment only: the textbook Gaussian case of the spec, not the paper's theorems; "
        "the mixture closed form is derived here."
    ),
    controls=[
        Control(
            "no-half",
            r"\mathrm{BE}=\Phi(-\|\mu_1-\mu_0\|/\sigma)=\Phi(-2\mu/\sigma)",
            {"bayes_error": _no_half_bayes_error},
        ),
        Control(
            "mixture-at-mean",
            r"\mathrm{BE}_\lambda=\Phi(-(\mu-(1-\lambda)\varepsilon)/\sigma)"
            r"\ \text{(the mixture as one Gaussian at its mean)}",
            {"mixed": _mixture_at_mean},
        ),
    ],
)
def gaussian_be(
    ctx: Context,
    bayes_error: Callable[..., Any] = gaussian_bayes_error,
    mixed: Callable[..., Any] = mixed_bayes_error,
) -> Evidence:
    r"""Closed forms against quadrature, and the orderings on the quadrature values.

    12 (quick) / 200 (full) random settings (see :func:`_instances`). Parts:

    - ``bayes_error`` equals the quadrature of :math:`\frac12\min(p_0,p_1)` for the clean
      classes, for the symmetric shift (``bayes_error`` at :math:`\mu-\varepsilon`) and for
      the asymmetric shift (at half the new gap, :math:`\mu-(a+b)/2`, by translation
      invariance);
    - ``mixed`` equals the quadrature of the symmetric mixture;
    - strict orderings of the quadrature values: poisoned > clean (symmetric and
      asymmetric shifts), and clean < mixed < poisoned (symmetric and asymmetric mixtures),
      each by more than the tolerance.

    Tolerance per comparison: :data:`QUAD_TOL` + 10 x quad's error estimate of each
    reference involved + 8u (``ndtr``); quad's estimates are ~1e-14 here.
    """
    data = _instances(ctx)
    mu, sigma, epsilon, lam = data["mu"], data["sigma"], data["epsilon"], data["lam"]
    a, b = data["a"], data["b"]
    inputs = {"mu": mu, "sigma": sigma, "epsilon": epsilon, "clean_fraction": lam, "a": a, "b": b}
    err = {k: data[f"{k}_err"] for k in ("clean", "poisoned", "mixed", "asym_poisoned")}
    err["asym_mixed"] = data["asym_mixed_err"]
    candidate = {
        "clean": bayes_error(mu, sigma),
        "poisoned": bayes_error(mu - epsilon, sigma),
        "asym_poisoned": bayes_error(mu - (a + b) / 2, sigma),
        "mixed": mixed(mu, sigma, epsilon, lam),
    }
    parts: dict[str, Evidence] = {}
    labels = {
        "clean": "BE = Phi(-mu / sigma) (clean)",
        "poisoned": "BE after the symmetric eps-shift",
        "asym_poisoned": "BE after an asymmetric shift (a, b <= eps)",
        "mixed": "BE of the symmetric mixture with clean data",
    }
    for key, label in labels.items():
        parts[f"{label} = quadrature"] = checks.compare(
            np.asarray(candidate[key], dtype=float),
            data[key],
            atol=_allowance(err[key]),
            inputs=inputs,
        )
    orderings = {
        "poisoned > clean (symmetric)": ("poisoned", "clean"),
        "poisoned > clean (asymmetric)": ("asym_poisoned", "clean"),
        "mixed < poisoned (symmetric)": ("poisoned", "mixed"),
        "mixed > clean (symmetric)": ("mixed", "clean"),
        "mixed < poisoned (asymmetric)": ("asym_poisoned", "asym_mixed"),
        "mixed > clean (asymmetric)": ("asym_mixed", "clean"),
    }
    for label, (high, low) in orderings.items():
        parts[label] = checks.nonnegative(
            data[high] - data[low] - _allowance(err[high], err[low]), inputs=inputs
        )
    return checks.combine(parts)
