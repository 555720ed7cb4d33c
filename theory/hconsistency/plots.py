r"""Figures of the comp-sum H-consistency bounds (Mao, Mohri & Zhong, ICML 2023).

``plot_hconsistency(out_dir)`` writes, as PNG and SVG:

- ``hconsistency_transformations``: left, the error transformations
  :math:`\mathcal T_\tau(t)` of every comp-sum loss on one axis at n = 10 (sum-exp,
  :math:`\tau=1/2`, logistic, GCE with q in {0.3, 0.5, 0.7}, MAE); right, the inverses
  :math:`\Gamma_\tau(v)` on log-log axes, slope 1/2 for :math:`\tau<2` and 1 for MAE
  (spec §8, figures 1 and 3);
- ``hconsistency_regret_clouds``: per loss, the (surrogate regret, 0-1 regret) pairs
  of random instances (n = 10; the instances of "How to check" (a)) below the bound
  curve :math:`\Gamma_\tau`, with the tight two-class instances on the curve and the
  per-bin maximum of the cloud (its empirical upper envelope).

The numbers come from :mod:`theory.hconsistency` (NumPy); random instances from a
fixed :class:`numpy.random.SeedSequence`, so the figures are reproducible.
matplotlib is imported inside the function and used through the object-oriented
API with an Agg canvas (no global backend change); files are written atomically.
"""

from __future__ import annotations

import pathlib

import numpy as np

from theory.hconsistency.losses import conditional_surrogate_regret, zero_one_regret
from theory.hconsistency.references import (
    equal_scores_instance,
    random_instances,
    tight_binary_instance,
)
from theory.hconsistency.transformations import (
    error_transformation,
    error_transformation_at_one,
    inverse_error_transformation,
)
from theorycheck.atomic import write_figures
from theorycheck.registry import plot

REFERENCE = "Mao, Mohri & Zhong, ICML 2023"
NUM_CLASSES = 10
LOSSES = (
    ("sum-exponential (τ=0)", 0.0),
    ("τ=0.5", 0.5),
    ("logistic / cross-entropy (τ=1)", 1.0),
    ("GCE q=0.3", 1.3),
    ("GCE q=0.5", 1.5),
    ("GCE q=0.7", 1.7),
    ("MAE (τ=2)", 2.0),
)
"""The comp-sum losses drawn, with their tau."""
SEED = 20230723


def _transformations_figure(figure) -> str:
    left, right = figure.subplots(1, 2)
    t = np.linspace(0.0, 1.0, 801)
    v = np.logspace(-6, 0, 400)
    for index, (name, tau) in enumerate(LOSSES):
        color = f"C{index}"
        left.plot(t, error_transformation(t, tau, NUM_CLASSES), color=color, lw=1.8, label=name)
        top = error_transformation_at_one(tau, NUM_CLASSES)
        below = v[v < top]
        right.loglog(
            below, inverse_error_transformation(below, tau, NUM_CLASSES), color=color, lw=1.8
        )
    guide = np.array([1e-6, 1e-3])
    right.loglog(guide, 0.5 * np.sqrt(guide), color="0.4", ls=":", lw=1, label="slope 1/2")
    right.loglog(guide, 3 * guide, color="0.4", ls="--", lw=1, label="slope 1")
    left.set_xlabel(r"conditional 0-1 regret $t=\max_y p_y-p_{\mathsf{h}}$")
    left.set_ylabel(r"error transformation $\mathcal{T}_\tau(t)$")
    left.set_title(
        f"Error transformations, n = {NUM_CLASSES}\nlower bounds on the surrogate regret"
    )
    left.legend(loc="upper left", frameon=False, fontsize=8)
    left.set_xlim(0.0, 1.0)
    left.set_ylim(0.0, 1.05)
    right.set_xlabel(r"surrogate regret $v$")
    right.set_ylabel(r"$\Gamma_\tau(v)=\mathcal{T}_\tau^{-1}(v)$")
    right.set_title(r"Inverses $\Gamma_\tau$ (log-log): $\sqrt{v}$ for $\tau<2$, $nv$ for MAE")
    right.legend(loc="lower right", frameon=False, fontsize=8)
    title = f"Comp-sum error transformations ({REFERENCE})"
    figure.suptitle(title, fontsize=10)
    return title


def _cloud(rng: np.random.Generator, tau: float) -> tuple[np.ndarray, np.ndarray]:
    p, h = random_instances(rng, 4000, NUM_CLASSES)
    return conditional_surrogate_regret(p, h, tau), zero_one_regret(p, h)


def _clouds_figure(figure) -> str:
    axes = figure.subplots(2, 4).ravel()
    seeds = np.random.SeedSequence(SEED).spawn(len(LOSSES))
    t_tight = np.linspace(0.02, 0.98, 25)
    for index, ((name, tau), axis, seed) in enumerate(zip(LOSSES, axes, seeds, strict=False)):
        color = f"C{index}"
        regret, zero_one = _cloud(np.random.default_rng(seed), tau)
        top = error_transformation_at_one(tau, NUM_CLASSES)
        x_max = 1.3 * top
        shown = regret <= x_max
        axis.scatter(
            regret[shown], zero_one[shown], s=3, alpha=0.25, color=color, lw=0, rasterized=True
        )
        edges = np.linspace(0.0, x_max, 41)
        bins = np.digitize(regret[shown], edges) - 1
        envelope = [
            zero_one[shown][bins == b].max() if np.any(bins == b) else np.nan for b in range(40)
        ]
        axis.step(
            edges[1:], envelope, where="pre", color="0.25", lw=0.8, label="cloud maximum per bin"
        )
        v = np.linspace(0.0, x_max, 400)
        axis.plot(
            v,
            inverse_error_transformation(v, tau, NUM_CLASSES),
            color="k",
            lw=1.6,
            label=r"bound $\Gamma_\tau(v)$",
        )
        pairs = [tight_binary_instance(float(t), NUM_CLASSES) for t in t_tight]
        p = np.stack([q for q, _ in pairs])
        h = np.stack([g for _, g in pairs])
        axis.plot(
            conditional_surrogate_regret(p, h, tau),
            zero_one_regret(p, h),
            "o",
            ms=3,
            mfc="none",
            color="C3",
            label="tight two-class instances",
        )
        if tau > 1.0:
            t_equal = np.linspace(0.0, 1.0 / (NUM_CLASSES - 1), 6)[1:]
            pairs = [equal_scores_instance(float(t), NUM_CLASSES) for t in t_equal]
            p = np.stack([q for q, _ in pairs])
            h = np.stack([g for _, g in pairs])
            axis.plot(
                conditional_surrogate_regret(p, h, tau),
                zero_one_regret(p, h),
                "s",
                ms=3,
                mfc="none",
                color="C2",
                label="all-equal-score instances",
            )
        axis.set_xlim(0.0, x_max)
        axis.set_ylim(0.0, 1.02)
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("surrogate regret", fontsize=8)
        if index % 4 == 0:
            axis.set_ylabel("0-1 regret", fontsize=8)
    last = axes[-1]
    last.axis("off")
    handles, labels = axes[-2].get_legend_handles_labels()
    last.legend(handles, labels, loc="upper left", frameon=False, fontsize=8)
    last.text(
        0.0,
        0.35,
        f"n = {NUM_CLASSES}; 4000 random instances per loss\n"
        "(Dirichlet p, Gaussian scores, ties).\n"
        "Every point lies below its bound curve.\n"
        "τ ≤ 1: the two-class instances attain it;\n"
        "MAE: the equal-score instances attain it\n"
        "for t ≤ 1/(n-1) only; GCE at n ≥ 3: a gap\n"
        "remains (hconsistency.tight-gce_not_attained).",
        fontsize=8,
        va="center",
    )
    title = (
        f"Conditional regrets of random instances under their H-consistency bounds ({REFERENCE})"
    )
    figure.suptitle(title, fontsize=10)
    return title


@plot("hconsistency")
def plot_hconsistency(out_dir: str | pathlib.Path) -> list[str]:
    """Draw the transformations figure and the regret-cloud figure.

    Parameters
    ----------
    out_dir : str or path
        Folder for the figures; created if missing.

    Returns
    -------
    list of str
        ``hconsistency_transformations.{png,svg}`` and ``hconsistency_regret_clouds.{png,svg}``.
    """
    return write_figures(
        out_dir,
        [
            ("hconsistency_transformations", (11.0, 4.2), _transformations_figure),
            ("hconsistency_regret_clouds", (13.0, 6.4), _clouds_figure),
        ],
    )
