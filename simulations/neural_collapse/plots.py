r"""Figures of the neural-collapse family (Dang et al., ICML 2023).

``plot_neural_collapse(out_dir)`` writes three figures, each as PNG and SVG:

1. ``neural_collapse_dynamics``: NC1, NC2, NC3 and the distance of :math:`WW^\top` to the
   closed form against the iteration, for gradient descent with momentum from the
   authors' small initialisation N(0, 0.1^2) at depths M = 1, 2, 3 (median and range over
   8 replicates): M = 1, 2 collapse to the closed form, M = 3 stalls at a rank-deficient
   critical point (pitfall P-B2);
2. ``neural_collapse_norms``: :math:`\|\bar h_k\|^2` and :math:`\|w_k\|^2` against the class
   size :math:`n_k` at fixed N, the closed-form curves and L-BFGS optima of the full
   objective on instances with that N (M = 1: the non-monotone hump between
   :math:`N^2\lambda_W\lambda_H` and :math:`4N^2\lambda_W\lambda_H`; M = 2: the jump at the
   threshold and the local-minimum branch of the largest stationary root);
3. ``neural_collapse_threshold_map``: the thresholds :math:`\beta^*_M` and
   :math:`\beta^{\rm root}_M` against the depth, with the three regimes, and the minority
   collapse sweep (gradient descent, M = 1) against the imbalance ratio with the closed
   form.

matplotlib is imported inside the function and used through the object-oriented API
with an Agg canvas (no global backend change); files are written atomically.
"""

from __future__ import annotations

import pathlib
from typing import Any

import numpy as np

from simulations.neural_collapse.claims import SWEEP_LAMBDA
from simulations.neural_collapse.dynamics import DynamicsConfig, gradient_descent
from simulations.neural_collapse.sweep import SweepConfig, minority_collapse_sweep
from theory.neural_collapse.closed_form import scale_b
from theory.neural_collapse.instances import Instance, measured
from theory.neural_collapse.references import multistart
from theory.neural_collapse.scalar import (
    collapse_threshold,
    largest_stationary_root,
    root_existence_bound,
    scalar_minimiser,
)
from theorycheck.atomic import write_figures
from theorycheck.backend import namespace
from theorycheck.registry import plot

REFERENCE = "Dang et al., ICML 2023"


def _norm_curves(depth: int, total: int, lam: float, sizes: np.ndarray, branch: str = "global"):
    """Closed-form ||w||^2 and ||hbar||^2 of a class of size n at fixed N (NumPy)."""
    xp = namespace("numpy")
    beta = scale_b(total, (lam,) * depth, lam) / sizes
    if branch == "global":
        x = np.asarray(scalar_minimiser(xp.asarray(beta), depth))
    else:
        x = np.asarray(largest_stationary_root(xp.asarray(beta), depth))
    sigma_squared = total * lam * x**depth
    return sigma_squared, sigma_squared / (sigma_squared + total * lam) ** 2


def _dynamics_figure(figure) -> None:
    xp = namespace("numpy")
    seeds = np.random.SeedSequence(2023).spawn(8)
    axes = figure.subplots(1, 4)
    panels = (
        ("nc1", "NC1"),
        ("nc2_classifier", "NC2 (classifier, orthogonal frame)"),
        ("nc3", "NC3 (orthogonal frame)"),
        ("gram_distance", r"$\|WW^\top-(WW^\top)^*\|_F/\|(WW^\top)^*\|_F$"),
    )
    for depth, colour in zip((1, 2, 3), ("C0", "C1", "C3"), strict=True):
        config = DynamicsConfig((5,) * 4, (1e-2,) * depth, 1e-2, iterations=3000, records=40)
        result = gradient_descent(config, xp, seeds)
        iterations = np.maximum(np.asarray(result["iteration"]), 1)
        for axis, (key, label) in zip(axes, panels, strict=True):
            values = np.maximum(np.asarray(result[key]), 1e-18)
            axis.plot(
                iterations,
                np.median(values, axis=0),
                color=colour,
                lw=1.8,
                label=f"M = {depth}" + (" (stalls: P-B2)" if depth == 3 else ""),
            )
            axis.fill_between(
                iterations, values.min(axis=0), values.max(axis=0), color=colour, alpha=0.2, lw=0
            )
            axis.set_title(label, fontsize=9)
    for axis in axes:
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("iteration")
        axis.axhline(1e-6, color="0.5", lw=0.8, ls=":")
    axes[0].legend(frameon=False, fontsize=8)
    figure.suptitle(
        "Gradient descent (momentum 0.9, lr 0.1) from N(0, 0.1²): K = 4, n = 5, d = 8, "
        "λ = 1e-2; median and range over 8 replicates; dotted: the checks' 1e-6",
        fontsize=10,
    )


def _optimum_points(depth: int, total: int, lam: float, groups) -> tuple[np.ndarray, ...]:
    """L-BFGS optima (best of 6) on instances with N = total: (n, ||w||^2, ||hbar||^2)."""
    sizes, classifier, features = [], [], []
    for index, class_sizes in enumerate(groups):
        instance = Instance(
            f"figure-{depth}-{index}",
            tuple(class_sizes),
            (lam,) * depth,
            lam,
            width=len(class_sizes) + 1,
        )
        runs = multistart(instance.problem(), np.random.SeedSequence([depth, index]), 6)
        seen = measured(instance, runs[0])
        sizes.extend(class_sizes)
        classifier.extend(np.diag(seen["classifier_gram"]))
        features.extend(np.diag(seen["feature_gram"]))
    return np.array(sizes), np.array(classifier), np.array(features)


def _norms_figure(figure) -> None:
    axes = figure.subplots(1, 2)
    total = 100
    settings = (
        (1, np.sqrt(10.0) / total, ((60, 25, 15), (40, 30, 20, 10), (45, 35, 12, 8))),
        (2, 0.0175, ((60, 25, 15), (40, 30, 20, 10), (50, 30, 14, 6))),
    )
    for axis, (depth, lam, groups) in zip(axes, settings, strict=True):
        grid = np.linspace(1.0, 80.0, 800)
        w2, h2 = _norm_curves(depth, total, lam, grid)
        twin = axis.twinx()
        axis.plot(grid, h2, color="C0", lw=2, label=r"closed form $\|\bar h_k\|^2$")
        twin.plot(grid, w2, color="C1", lw=2, label=r"closed form $\|w_k\|^2$")
        if depth >= 2:
            w_local, h_local = _norm_curves(depth, total, lam, grid, branch="largest-root")
            axis.plot(
                grid, h_local, color="C0", lw=1, ls="--", label="largest stationary root (local)"
            )
        n, w_seen, h_seen = _optimum_points(depth, total, lam, groups)
        axis.plot(n, h_seen, "o", color="C0", mfc="none", ms=7, label="L-BFGS optimum")
        twin.plot(n, w_seen, "s", color="C1", mfc="none", ms=7)
        beta_star = collapse_threshold(depth)
        b = scale_b(total, (lam,) * depth, lam)
        axis.axvline(b / beta_star, color="0.3", lw=1, ls=":")
        axis.text(
            b / beta_star, axis.get_ylim()[1] * 0.95, r" $\beta_k=\beta^*_M$", fontsize=8, va="top"
        )
        if depth == 1:
            peak = 4 * total**2 * lam * lam
            axis.axvline(peak, color="0.6", lw=1, ls="-.")
            axis.text(
                peak, axis.get_ylim()[1] * 0.85, r" $4N^2\lambda_W\lambda_H$", fontsize=8, va="top"
            )
        else:
            beta_root = root_existence_bound(depth)
            axis.axvline(b / beta_root, color="0.6", lw=1, ls="-.")
            axis.text(
                b / beta_root,
                axis.get_ylim()[1] * 0.6,
                r"$\beta_k=\beta^{\rm root}_M$ ",
                fontsize=8,
                va="top",
                ha="right",
            )
        axis.set_xlabel(r"class size $n_k$ (N = 100 fixed)")
        axis.set_ylabel(r"$\|\bar h_k\|^2$", color="C0")
        twin.set_ylabel(r"$\|w_k\|^2$", color="C1")
        axis.set_title(f"M = {depth}, λ_W = λ_H = {lam:.4g}", fontsize=10)
        axis.legend(loc="center right", frameon=False, fontsize=8)
    figure.suptitle(
        f"Class-mean and classifier norms against class size: closed form and L-BFGS on "
        f"the full objective ({REFERENCE})",
        fontsize=10,
    )


def _threshold_figure(figure) -> None:
    left, right = figure.subplots(1, 2)
    depths = np.arange(1, 10)
    star = np.array([collapse_threshold(int(m)) for m in depths])
    root = np.array([root_existence_bound(int(m)) for m in depths])
    top = 1.8
    left.fill_between(
        depths, 0, star, color="C2", alpha=0.25, label="class alive at the global minimum"
    )
    left.fill_between(
        depths,
        star,
        root,
        color="C1",
        alpha=0.35,
        label="collapsed globally; alive only at a local minimum",
    )
    left.fill_between(
        depths, root, top, color="C3", alpha=0.2, label="collapsed; no positive stationary point"
    )
    left.plot(depths, star, "o-", color="k", lw=1.5, label=r"$\beta^*_M$ (collapse threshold)")
    left.plot(depths, root, "s--", color="0.4", lw=1.2, label=r"$\beta^{\rm root}_M$")
    left.plot([2], [0.6], "*", color="C3", ms=12, label="worked example (M = 2, β = 0.6)")
    left.set_xlabel("depth M")
    left.set_ylabel(r"$\beta_k=b/n_k$")
    left.set_ylim(0, top)
    left.set_title("Threshold map of the per-class problem", fontsize=10)
    left.legend(loc="upper left", frameon=False, fontsize=7)

    config = SweepConfig(
        major_size=20,
        minor_sizes=tuple(range(1, 21)),
        weight_decays=(SWEEP_LAMBDA,),
        feature_decay=SWEEP_LAMBDA,
        iterations=4000,
    )
    result = minority_collapse_sweep(config, namespace("numpy"), np.random.SeedSequence(7).spawn(8))
    ratio = result["imbalance_ratio"]
    order = np.argsort(ratio)
    right.plot(
        ratio[order],
        result["closed_minor"][order],
        "-",
        color="C0",
        lw=2,
        label=r"closed form $\|w_{\rm min}\|^2$",
    )
    for column in result["minor_norm"].T:
        right.plot(ratio, column, ".", color="C0", alpha=0.4, ms=5)
    right.plot(
        ratio[order],
        result["closed_major"][order],
        "-",
        color="C1",
        lw=2,
        label=r"closed form $\|w_{\rm maj}\|^2$",
    )
    for column in result["major_norm"].T:
        right.plot(ratio, column, ".", color="C1", alpha=0.4, ms=5)
    collapsed = ratio[~result["predicted_alive"]]
    if collapsed.size:
        right.axvspan(
            collapsed.min(),
            ratio.max() * 1.05,
            color="C3",
            alpha=0.1,
            label=r"$n_{\rm min}\leq N^2\lambda_W\lambda_H$ (predicted collapse)",
        )
    right.set_xscale("log")
    right.set_xlabel(r"imbalance ratio $n_{\rm maj}/n_{\rm min}$")
    right.set_ylabel(r"final $\|w_k\|^2$ (dots: 8 GD replicates)")
    right.set_title("Minority collapse under gradient descent, M = 1", fontsize=10)
    right.legend(frameon=False, fontsize=8)
    figure.suptitle(f"Collapse thresholds ({REFERENCE})", fontsize=10)


@plot("neural_collapse")
def plot_neural_collapse(out_dir: str | pathlib.Path) -> list[str]:
    """Draw the dynamics, the norms against class size and the threshold map.

    Parameters
    ----------
    out_dir : str or path
        Folder for the figures; created if missing.

    Returns
    -------
    list of str
        The six written paths (three figures, PNG and SVG).
    """
    makers = (
        ("neural_collapse_dynamics", _dynamics_figure, (16.0, 4.2)),
        ("neural_collapse_norms", _norms_figure, (13.0, 4.8)),
        ("neural_collapse_threshold_map", _threshold_figure, (13.0, 4.8)),
    )

    def titled(stem: str, make: Any) -> Any:
        def draw(figure: Any) -> str:
            make(figure)
            return f"{stem} ({REFERENCE})"

        return draw

    return write_figures(out_dir, [(stem, size, titled(stem, make)) for stem, make, size in makers])
