r"""Fitted rates: the exponent of a quantity against a horizon, with bootstrap intervals.

For replicate curves :math:`R^{(r)}_T` on a grid of horizons, the exponent is the
least-squares slope of :math:`\log \bar R_T` on :math:`\log T`, with
:math:`\bar R_T` the mean over replicates. Its confidence interval is the
percentile interval of the slopes refitted on bootstrap resamples of the
replicates (all resamples in one array operation). A rate claim is verified when
the interval lies inside the claimed exponent's band; its control (a baseline with
another rate) must fall outside the band.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theorycheck.claim import Evidence

RATE_BAND = 0.07
"""Default half-width of the band around a claimed exponent (the specs' rate tests)."""


@dataclass(frozen=True)
class RateFit:
    """A fitted exponent and its bootstrap interval."""

    exponent: float
    low: float
    high: float
    intercept: float
    level: float
    resamples: int

    def __str__(self) -> str:
        return f"{self.exponent:.3f} [{self.low:.3f}, {self.high:.3f}]"


def _slopes(log_horizons: np.ndarray, log_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares slopes and intercepts of each row of ``log_values`` on ``log_horizons``."""
    x = log_horizons - log_horizons.mean()
    slope = (log_values * x).sum(axis=-1) / (x * x).sum()
    intercept = log_values.mean(axis=-1) - slope * log_horizons.mean()
    return slope, intercept


def fit_exponent(
    horizons: np.ndarray,
    curves: np.ndarray,
    *,
    resamples: int = 1000,
    level: float = 0.95,
    rng: np.random.Generator | None = None,
) -> RateFit:
    r"""Fit :math:`\log\bar R_T = a + s\log T` and a bootstrap interval for s.

    Parameters
    ----------
    horizons : ndarray, shape (H,)
        Positive horizons, at least two distinct.
    curves : ndarray, shape (R, H)
        Per-replicate values (their replicate mean must be positive).
    resamples : int
        Bootstrap resamples of the R replicates.
    level : float
        Coverage of the percentile interval.
    rng : numpy.random.Generator, optional
        Source of the resampling indices (default: seed 0).

    Raises
    ------
    ValueError
        For non-positive horizons or mean values, fewer than two horizons, or a
        shape mismatch.
    """
    horizons = np.asarray(horizons, dtype=float)
    curves = np.asarray(curves, dtype=float)
    if curves.ndim != 2 or horizons.ndim != 1 or curves.shape[1] != horizons.shape[0]:
        raise ValueError(
            f"curves must have shape (R, H) with H = len(horizons); got {curves.shape} "
            f"and {horizons.shape}"
        )
    if horizons.shape[0] < 2 or np.unique(horizons).shape[0] < 2:
        raise ValueError(f"need at least two distinct horizons, got {horizons.tolist()}")
    if np.any(horizons <= 0):
        raise ValueError(f"horizons must be positive, got {horizons.tolist()}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    mean = curves.mean(axis=0)
    if np.any(~np.isfinite(mean)) or np.any(mean <= 0):
        raise ValueError(
            f"the mean curve must be positive and finite to fit a log-log slope, got {mean}"
        )
    rng = rng or np.random.default_rng(0)
    log_t = np.log(horizons)
    slope, intercept = _slopes(log_t, np.log(mean)[None, :])
    indices = rng.integers(0, curves.shape[0], size=(resamples, curves.shape[0]))
    boot_means = curves[indices].mean(axis=1)  # (B, H)
    with np.errstate(divide="ignore", invalid="ignore"):
        boot_slopes, _ = _slopes(log_t, np.log(boot_means))
    boot_slopes = boot_slopes[np.isfinite(boot_slopes)]
    alpha = (1 - level) / 2
    low, high = np.quantile(boot_slopes, [alpha, 1 - alpha])
    return RateFit(float(slope[0]), float(low), float(high), float(intercept[0]), level, resamples)


def local_slopes(horizons: np.ndarray, curves: np.ndarray) -> np.ndarray:
    r"""Slopes :math:`\log(\bar R_{T_2}/\bar R_{T_1})/\log(T_2/T_1)` between neighbours."""
    mean = np.asarray(curves, dtype=float).mean(axis=0)
    horizons = np.asarray(horizons, dtype=float)
    return np.diff(np.log(mean)) / np.diff(np.log(horizons))


def exponent_within(fit: RateFit, exponent: float, band: float = RATE_BAND) -> Evidence:
    """Evidence that the interval of ``fit`` lies inside ``[exponent - band, exponent + band]``.

    The margin is the smaller distance from the interval's ends to the band's
    edges (negative when an end sticks out).
    """
    margin = min(fit.low - (exponent - band), (exponent + band) - fit.high)
    holds = margin >= 0
    return Evidence(
        holds=holds,
        margin=margin,
        cases=fit.resamples,
        tolerance=band,
        counterexample=None if holds else {"fitted": str(fit), "claimed": exponent, "band": band},
        details={"fitted": str(fit), "claimed": exponent, "band": band},
    )


def exponent_at_most(fit: RateFit, exponent: float, band: float = RATE_BAND) -> Evidence:
    """Evidence for a rate *bound* :math:`O(T^{s})`: the upper end of the interval of
    ``fit`` is at most ``exponent + band`` (a faster rate also satisfies the bound).

    The margin is ``exponent + band`` minus the upper end.
    """
    limit = exponent + band
    holds = fit.high <= limit
    return Evidence(
        holds=holds,
        margin=limit - fit.high,
        cases=fit.resamples,
        tolerance=band,
        counterexample=None if holds else {"fitted": str(fit), "bound": exponent, "band": band},
        details={"fitted": str(fit), "bound": exponent, "band": band},
    )
