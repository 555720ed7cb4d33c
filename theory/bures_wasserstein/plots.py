r"""Figures of Bréchet et al. (ICML 2023): training curves and Hessian spectra.

``plot_bures_wasserstein(out_dir)`` writes two figures, PNG and SVG each:

1. ``bures_wasserstein_training``: layer-wise gradient descent of a depth-2 linear
   generator (n = m = 5, bottleneck k = 3) from the *same* eight small random
   balanced starts, once on the perturbed Bures-Wasserstein loss
   :math:`L^\tau` (τ = 1e-2) and once on the Frobenius loss
   :math:`\|WW^\top-\Sigma_0\|_F^2`: the gap to each loss's optimum over
   :math:`\mathcal M_{\le k}` (the closed forms of ``bw.perturbed`` and Eckart-Young),
   and the distance of :math:`WW^\top` to that optimum, against iterations (cf. the
   authors' training-curve figures; spec B.3, item 3). Gaps below the round-off of a
   loss value are not drawn.
2. ``bures_wasserstein_hessian_spectra``: every eigenvalue of the parameter-space
   Hessian at the balanced critical points :math:`J\subset[n]`, :math:`1\le|J|\le k`
   (n = 4, k = 2, N = 2), for :math:`L^\tau` (τ = 1e-2) and for the Frobenius loss,
   on a symmetric-log axis, with the index (number of negative eigenvalues) written
   above each point (spec B.3, item 1). The rank-1 points J = {1} have index 0 although
   they are saddles: for N >= 2 the escape direction needs a new rank, reachable
   only at second order in the layers (see ``bures_wasserstein.hessian_spectra``).

matplotlib is imported inside the function and used through ``Figure`` with an Agg
canvas (no global backend change); files are written atomically.
"""

from __future__ import annotations

import itertools
import pathlib
from typing import Any

import numpy as np

from theory.bures_wasserstein.critical_points import bounded_rank_optimum, critical_point
from theory.bures_wasserstein.deep_linear import balanced_layers, parameter_hessian
from theory.bures_wasserstein.dynamics import layer_gradient_descent
from theory.bures_wasserstein.gradients import FrobeniusObjective, PerturbedBuresObjective
from theory.bures_wasserstein.references import random_orthogonal, symmetric
from theorycheck.atomic import write_figures
from theorycheck.registry import plot

REFERENCE = "Bréchet et al. (2023)"


def _target(rng: np.random.Generator, eigenvalues: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    omega = random_orthogonal(rng, 1, len(eigenvalues))[0]
    return symmetric((omega * eigenvalues) @ omega.T), omega


def training_curves(iterations: int = 1000, seed: int = 0) -> dict[str, np.ndarray]:
    """Losses and distances to the optimum of GD on both losses from the same starts.

    Returns a dict with ``bw_gap``, ``frobenius_gap``, ``bw_distance``,
    ``frobenius_distance`` (each (iterations + 1, starts)) and the settings.
    """
    rng = np.random.default_rng(seed)
    n, k, depth, starts, tau = 5, 3, 2, 8, 1e-2
    eigenvalues = np.array([3.0, 2.2, 1.6, 0.9, 0.5])
    sigma0, _ = _target(rng, eigenvalues)
    w0 = (
        0.3 * rng.standard_normal((starts, n, k)) @ rng.standard_normal((starts, k, n)) / np.sqrt(k)
    )
    layers = balanced_layers(w0, depth, k)
    out: dict[str, np.ndarray] = {}
    floor = 64 * n * np.finfo(float).eps * (1 + np.trace(sigma0))  # rounding of a loss value
    for name, objective, step, shift in (
        ("bw", PerturbedBuresObjective(sigma0, tau), 0.05, tau),
        ("frobenius", FrobeniusObjective(sigma0), 0.01, 0.0),
    ):
        optimum, value = bounded_rank_optimum(sigma0, k, shift)
        if name == "frobenius":  # Eckart-Young: min ||WW^T - Sigma_0||_F^2 = sum_{i>k} lambda_i^2
            value = np.sum(eigenvalues[k:] ** 2)
        run = layer_gradient_descent([x.copy() for x in layers], objective, step, iterations)
        weights = np.asarray(run.weights)
        gram = weights @ np.swapaxes(weights, -1, -2)
        gap = np.asarray(run.loss) - float(value)
        out[f"{name}_gap"] = np.where(gap > floor, gap, np.nan)  # below: round-off only
        out[f"{name}_distance"] = np.linalg.norm(gram - optimum, axis=(-2, -1))
        out[f"{name}_step"] = np.array(step)
    out["tau"] = np.array(tau)
    return out


def hessian_spectra(seed: int = 0) -> list[dict[str, object]]:
    """Eigenvalues of the parameter Hessian at every balanced critical point (n=4, k=2, N=2)."""
    rng = np.random.default_rng(seed)
    n, k, depth, tau = 4, 2, 2, 1e-2
    eigenvalues = np.array([4.0, 2.5, 1.5, 0.8])
    sigma0, omega = _target(rng, eigenvalues)
    bw, frobenius = PerturbedBuresObjective(sigma0, tau), FrobeniusObjective(sigma0)
    rows = []
    for r in range(1, k + 1):
        for subset in itertools.combinations(range(n), r):
            v = random_orthogonal(rng, 1, n)[0][:, :r]
            row: dict[str, object] = {"J": subset}
            for name, objective, shift in (("bw", bw, tau), ("frobenius", frobenius, 0.0)):
                point = critical_point(eigenvalues, omega, subset, v, shift)
                layers = balanced_layers(point, depth, k)
                hessian = parameter_hessian(layers, objective.gradient, objective.hvp)
                row[name] = np.linalg.eigvalsh(np.asarray(hessian))
            rows.append(row)
    return rows


@plot("bures_wasserstein")
def plot_bures_wasserstein(out_dir: str | pathlib.Path) -> list[str]:
    """Draw the training curves and the Hessian spectra at the critical points.

    Parameters
    ----------
    out_dir : str or path
        Folder for the figures; created if missing.

    Returns
    -------
    list of str
        The four written paths (two figures, PNG and SVG).
    """
    curves = training_curves()
    spectra = hessian_spectra()

    def draw_training(figure: Any) -> str:
        gap_bw, gap_f, distance = figure.subplots(1, 3)
        steps = np.arange(curves["bw_gap"].shape[0])
        for axis, key, color, title in (
            (
                gap_bw,
                "bw_gap",
                "C3",
                rf"perturbed BW $L^\tau$ ($\tau$={float(curves['tau']):g}), "
                rf"step {float(curves['bw_step']):g}",
            ),
            (
                gap_f,
                "frobenius_gap",
                "C0",
                rf"Frobenius $\|WW^\top-\Sigma_0\|_F^2$, "
                rf"step {float(curves['frobenius_step']):g}",
            ),
        ):
            axis.semilogy(steps, curves[key], color=color, lw=0.9, alpha=0.7)
            axis.set_xlabel("iteration")
            axis.set_ylabel(r"$L - L_{\mathrm{OPT}}$ (closed form; cut at round-off)")
            axis.set_title(title)
        for key, color, label in (
            ("bw_distance", "C3", r"BW: $\|WW^\top - \Omega_k(\Lambda_k-\tau)\Omega_k^\top\|_F$"),
            (
                "frobenius_distance",
                "C0",
                r"Frobenius: $\|WW^\top - \Omega_k\Lambda_k\Omega_k^\top\|_F$",
            ),
        ):
            lines = distance.semilogy(steps, curves[key], color=color, lw=0.9, alpha=0.7)
            lines[0].set_label(label)
        distance.set_xlabel("iteration")
        distance.set_ylabel("distance to the optimum")
        distance.set_title("same 8 balanced starts, N = 2, n = 5, k = 3")
        distance.legend(loc="upper right", frameon=False)
        title = f"Training curves, Bures-Wasserstein vs Frobenius loss ({REFERENCE}, ICML)"
        figure.suptitle(title)
        return title

    def draw_spectra(figure: Any) -> str:
        axes = figure.subplots(1, 2, sharey=True)
        labels = ["{" + ",".join(str(i + 1) for i in row["J"]) + "}" for row in spectra]
        for axis, key, color, name in (
            (axes[0], "bw", "C3", r"perturbed BW $L^{N}_{\tau}$, $\tau$ = 0.01"),
            (axes[1], "frobenius", "C0", r"Frobenius $L^N_F$"),
        ):
            for x, row in enumerate(spectra):
                values = np.asarray(row[key])
                size = np.max(np.abs(values))
                negative = values < -1e-8 * size
                axis.scatter(
                    np.full(values.shape, x), values, s=12, color=np.where(negative, "k", color)
                )
                axis.annotate(
                    f"index {int(negative.sum())}", (x, size * 1.6), ha="center", fontsize=7
                )
            axis.set_yscale("symlog", linthresh=1e-2)
            axis.axhline(0.0, color="0.6", lw=0.6)
            axis.set_xticks(range(len(spectra)), labels)
            axis.annotate(
                "rank 1 < k: index 0,\nyet a (non-strict) saddle",
                (0, -0.5),
                ha="left",
                fontsize=7,
                color="0.3",
            )
            axis.set_xlabel("critical point J (eigenvectors kept; top-k = {1,2})")
            axis.set_title(name)
        axes[0].set_ylabel("Hessian eigenvalues (negative in black)")
        title = f"Hessian spectra at balanced critical points, n = 4, k = 2, N = 2 ({REFERENCE})"
        figure.suptitle(title)
        return title

    return write_figures(
        out_dir,
        [
            ("bures_wasserstein_training", (13.5, 4.0), draw_training),
            ("bures_wasserstein_hessian_spectra", (12.0, 4.2), draw_spectra),
        ],
    )
