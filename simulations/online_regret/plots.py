r"""Figures of the online-regret family: rates on log-log axes, claim against baseline.

``plot_online_regret(out_dir)`` writes ``online_regret_rates.png`` and ``.svg``, six
panels, each curve the replicate mean of a small Monte Carlo run (R = 8 to 16, quick
horizons; the claims run the same simulations at larger scale):

1. SEA-1 (Chen et al. 2023): optimistic OMD against plain OGD in noisy self-play, at
   σ = 0 (O(1) against √T) and σ = 1 (both √T);
2. SEA-2: strongly convex quadratics, optimistic OMD (logarithmic) against OGD (√T);
3. ADAM-1 (Reddi et al. 2018): Adam (linear), AMSGrad, SGD and AdaBound (theory
   version, O(√T) after its Adam-like phase) against the code version (linear);
4. CP-1 (Bhatnagar et al. 2023): strongly adaptive regret SAR(T, k) against k for
   SAOCP (√k) and the fixed-step baselines (≈ k);
5. CP-1: coverage error against T for SF-OGD, SAOCP, ACI and split conformal;
6. learning-rate schedules under drift (Fahrbach et al. 2023): the greedy schedule
   :math:`\eta_t` from the exact recursion for γ ∈ {0, 0.001, 0.01, 0.03} and the
   continuous-time closed form :math:`(\gamma/\sigma)\coth(\gamma t/\sigma + c_0)`.

Every fitted curve carries its exponent (least squares of the log mean on log T) and a
shaded band: the claimed exponent ± 0.07 through the curve's first point. matplotlib
is imported inside the function, used through ``Figure`` with an Agg canvas (no global
backend change); files are written atomically.
"""

from __future__ import annotations

import math
import pathlib
from collections.abc import Callable
from typing import Any

import numpy as np

from simulations.online_regret.adam_adabound import reddi_regret
from simulations.online_regret.conformal import (
    _simulate_coverage,
    _simulate_sar,
    conformal_config,
    sar_config,
)
from simulations.online_regret.harness import BAND, log_grid
from simulations.online_regret.lr_shift import schedule_steps
from simulations.online_regret.oomd_sea import bilinear_regret, quadratic_regret
from theorycheck.atomic import write_figures
from theorycheck.backend import namespace, to_numpy
from theorycheck.registry import plot
from theorycheck.study import replicate_seeds

STEM = "online_regret_rates"


def _mean(arrays: dict[str, Any], key: str) -> tuple[np.ndarray, np.ndarray]:
    axis = "k" if "k" in arrays else "T"
    return (
        np.asarray(to_numpy(arrays[axis]), dtype=float),
        np.asarray(to_numpy(arrays[key]), dtype=float).mean(axis=0),
    )


def _rate_curve(
    axes: Any, x: np.ndarray, y: np.ndarray, label: str, claimed: float | None, color: str
):
    """Draw a mean curve with its fitted exponent, and the claimed exponent's band."""
    slope = float(np.polyfit(np.log(x), np.log(y), 1)[0])
    axes.loglog(x, y, "o-", color=color, ms=3, lw=1.5, label=f"{label}: slope {slope:.2f}")
    if claimed is not None:
        ratio = x / x[0]
        axes.fill_between(
            x,
            y[0] * ratio ** (claimed - BAND),
            y[0] * ratio ** (claimed + BAND),
            color=color,
            alpha=0.15,
            lw=0,
        )


def _panel(axes: Any, title: str, xlabel: str, ylabel: str) -> None:
    axes.set_title(title, fontsize=9)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.legend(fontsize=7, frameon=False)
    axes.grid(True, which="both", alpha=0.2)


def _draw_sea(axes: Any, xp: Any, seeds: list) -> None:
    horizons = log_grid(2, 3.75, 0.25)
    curves: list[tuple[str, Callable[[], dict], float, str]] = [
        (
            "optimistic, σ=0",
            lambda: bilinear_regret(
                seeds, xp, algorithm="optimistic", sigma=0.0, variation=0.0, horizons=horizons
            ),
            0.0,
            "C0",
        ),
        (
            "OGD, σ=0",
            lambda: bilinear_regret(
                seeds, xp, algorithm="ogd", sigma=0.0, variation=0.0, horizons=horizons
            ),
            0.5,
            "C3",
        ),
        (
            "optimistic, σ=1",
            lambda: bilinear_regret(
                seeds, xp, algorithm="optimistic", sigma=1.0, variation=0.0, horizons=horizons
            ),
            0.5,
            "C2",
        ),
        (
            "OGD, σ=1",
            lambda: bilinear_regret(
                seeds, xp, algorithm="ogd", sigma=1.0, variation=0.0, horizons=horizons
            ),
            0.5,
            "C1",
        ),
    ]
    for label, run, claimed, color in curves:
        _rate_curve(axes, *_mean(run(), "regret"), label, claimed, color)
    _panel(axes, "SEA-1 self-play: optimistic OMD vs OGD\nChen et al. (2023)", "T", "regret")


def _draw_quadratic(axes: Any, xp: Any, seeds: list) -> None:
    horizons = log_grid(2, 4, 0.25)
    for algorithm, claimed, color in (("optimistic", None, "C0"), ("ogd", 0.5, "C3")):
        arrays = quadratic_regret(
            seeds, xp, algorithm=algorithm, sigma=1.0, dimension=5, horizons=horizons
        )
        _rate_curve(axes, *_mean(arrays, "regret"), f"{algorithm}, σ=1", claimed, color)
    _panel(axes, "SEA-2 strongly convex: log T vs √T\nChen et al. (2023)", "T", "regret")


def _draw_reddi(axes: Any, xp: Any, seeds: list) -> None:
    horizons = log_grid(2.5, 4, 0.25)
    for algorithm, claimed, color in (
        ("adam", 1.0, "C3"),
        ("adabound-code", 1.0, "C1"),
        ("adabound", None, "C0"),
        ("sgd", 0.5, "C7"),
        ("amsgrad", 0.5, "C2"),
    ):
        arrays = reddi_regret(seeds, xp, algorithm=algorithm, big_c=3.0, horizons=horizons)
        _rate_curve(axes, *_mean(arrays, "regret"), algorithm, claimed, color)
    _panel(
        axes,
        "ADAM-1 (C = 3): Adam vs AMSGrad, AdaBound\nReddi et al. (2018), Luo et al. (2019)",
        "T",
        "regret",
    )


def _draw_sar(axes: Any, xp: Any, seeds: list) -> None:
    windows = [2**j for j in range(4, 9)]
    for algorithm, step, claimed, color in (
        ("saocp", 0.0, 0.5, "C0"),
        ("sfogd", 0.0, None, "C2"),
        ("aci-radius", 0.001, 1.0, "C1"),
        ("split", 0.0, 1.0, "C3"),
    ):
        arrays = _simulate_sar(sar_config(algorithm, 4096, windows, step=step), seeds, xp)
        _rate_curve(axes, *_mean(arrays, "sar"), algorithm, claimed, color)
    _panel(
        axes,
        "CP-1: strongly adaptive regret\nBhatnagar et al. (2023)",
        "window k",
        "SAR(T = 4096, k)",
    )


def _draw_coverage(axes: Any, xp: Any, seeds: list) -> None:
    horizons = log_grid(2.5, 3.5, 0.25)
    for algorithm, step, claimed, color in (
        ("sfogd", 0.0, -0.5, "C2"),
        ("saocp", 0.0, None, "C0"),
        ("aci", 0.005, -1.0, "C1"),
        ("split", 0.0, 0.0, "C3"),
    ):
        arrays = _simulate_coverage(
            conformal_config("piecewise", algorithm, horizons, step=step), seeds, xp
        )
        _rate_curve(axes, *_mean(arrays, "coverage_error"), algorithm, claimed, color)
    _panel(
        axes, "CP-1: coverage error |mean err - α|\nBhatnagar et al. (2023)", "T", "coverage error"
    )


def _draw_schedules(axes: Any) -> None:
    d, sigma, horizon = 10, 1.0, 20000
    initial = float(d)  # m_0 = E||theta*_1||^2 with theta_1 = 0
    t = np.arange(1, horizon + 1, dtype=float)
    for gamma, color in ((0.0, "C0"), (0.001, "C1"), (0.01, "C2"), (0.03, "C3")):
        steps = schedule_steps("greedy", horizon, dimension=d, sigma=sigma, gamma=gamma, scale=0.0)
        axes.loglog(t, steps, color=color, lw=1.5, label=f"greedy, γ={gamma:g}")
        if gamma > 0:
            c0 = math.atanh(d * gamma * sigma / initial)  # arcoth(m_0 / (d gamma sigma))
            closed = (gamma / sigma) / np.tanh(gamma * t / sigma + c0)
        else:
            closed = 1.0 / (d * sigma**2 / initial + t)
        axes.loglog(t, closed, color="k", lw=0.8, ls="--")
    axes.plot(
        [],
        [],
        color="k",
        lw=0.8,
        ls="--",
        label=r"closed form $(\gamma/\sigma)\coth(\gamma t/\sigma+c_0)$",
    )
    _panel(
        axes,
        "SGD schedules under drift (d = 10, σ = 1)\nFahrbach et al. (2023)",
        "t",
        r"step $\eta_t$",
    )


@plot("online_regret")
def plot_online_regret(out_dir: str | pathlib.Path) -> list[str]:
    """Draw the six panels (see the module docstring) and write PNG and SVG.

    Parameters
    ----------
    out_dir : str or path
        Folder for the figures; created if missing.

    Returns
    -------
    list of str
        ``<out_dir>/online_regret_rates.png`` and ``.svg``.
    """
    xp = namespace("numpy")
    seeds = replicate_seeds(0, "online_regret.plots", 0, 8)

    def draw(figure: Any) -> str:
        panels = figure.subplots(2, 3)
        _draw_sea(panels[0, 0], xp, seeds)
        _draw_quadratic(panels[0, 1], xp, seeds)
        _draw_reddi(panels[0, 2], xp, seeds)
        _draw_sar(panels[1, 0], xp, seeds)
        _draw_coverage(panels[1, 1], xp, seeds)
        _draw_schedules(panels[1, 2])
        title = "online regret: fitted exponents (legend) and claimed bands (shaded, ±0.07)"
        figure.suptitle(title, fontsize=10)
        return title

    return write_figures(out_dir, [(STEM, (15.0, 8.5), draw)], font_size=8, dpi=130)
