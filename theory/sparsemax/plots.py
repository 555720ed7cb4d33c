r"""Figures of sparsemax (Martins & Astudillo, ICML 2016): the two-class maps and losses.

``plot_sparsemax(out_dir)`` writes ``sparsemax_binary.png`` and ``.svg``, three panels:

1. :math:`\mathrm{sparsemax}_1` and :math:`\mathrm{softmax}_1` of the scores
   :math:`(t, 0)` over :math:`t\in[-3,3]`: the hard sigmoid
   :math:`\mathrm{clip}((t+1)/2, 0, 1)` against the sigmoid (cf. the paper's Figure 1, left);
2. :math:`\mathrm{sparsemax}_1(t_1, t_2, 0)` over a grid, the K = 3 map drawn flat,
   with its exact-0 and exact-1 regions outlined (the paper draws it as a surface);
3. the binary losses of the margin t: 0-1, hinge, logistic, the sparsemax loss
   computed by :func:`~theory.sparsemax.sparsemax_loss` at K = 2, and Zhang's (2004)
   modified Huber loss divided by 4, dashed on top: the two curves coincide.

matplotlib is imported inside the function (listing the claims stays fast) and used
through the object-oriented API with an Agg canvas, so no global pyplot state or
interactive backend is touched. Files are written atomically.
"""

from __future__ import annotations

import pathlib
from typing import Any

import numpy as np

from theory.sparsemax.losses import (
    hinge_loss,
    logistic_loss,
    modified_huber_loss,
    sparsemax_loss,
    zero_one_loss,
)
from theory.sparsemax.projection import softmax, sparsemax
from theorycheck.atomic import write_figures
from theorycheck.registry import plot

REFERENCE = "Martins & Astudillo (2016)"
STEM = "sparsemax_binary"


def _two_class(t: np.ndarray) -> np.ndarray:
    """Scores (t, 0), shape (len(t), 2): class 1 has margin t over class 2."""
    return np.stack([t, np.zeros_like(t)], axis=-1)


@plot("sparsemax")
def plot_sparsemax(out_dir: str | pathlib.Path) -> list[str]:
    """Draw the two-class sparsemax map, the K = 3 map and the binary losses.

    Parameters
    ----------
    out_dir : str or path
        Folder for the figures; created if missing.

    Returns
    -------
    list of str
        The written paths: ``<out_dir>/sparsemax_binary.png`` and ``.svg``.
    """
    t = np.linspace(-3.0, 3.0, 601)
    scores = _two_class(t)
    target = np.broadcast_to(np.array([1.0, 0.0]), scores.shape)

    def draw(figure: Any) -> str:
        left, middle, right = figure.subplots(1, 3)

        left.plot(t, sparsemax(scores)[:, 0], color="C3", lw=2, label=r"sparsemax$_1(t, 0)$")
        left.plot(t, softmax(scores)[:, 0], color="C0", lw=2, label=r"softmax$_1(t, 0)$")
        left.axvspan(-1.0, 1.0, color="0.92", zorder=0)
        left.set_xlabel("t")
        left.set_ylabel("probability of class 1")
        left.set_title(f"Two classes: hard sigmoid vs sigmoid\ncf. {REFERENCE}, Fig. 1")
        left.legend(loc="upper left", frameon=False)

        grid = np.linspace(-2.0, 2.0, 161)
        t1, t2 = np.meshgrid(grid, grid)
        three = np.stack([t1, t2, np.zeros_like(t1)], axis=-1)
        first = sparsemax(three)[..., 0]
        filled = middle.contourf(t1, t2, first, levels=np.linspace(0.0, 1.0, 11), cmap="viridis")
        middle.contour(t1, t2, first, levels=[1e-12, 1.0 - 1e-12], colors="white", linewidths=1)
        figure.colorbar(filled, ax=middle, label=r"sparsemax$_1(t_1, t_2, 0)$")
        middle.set_xlabel(r"$t_1$")
        middle.set_ylabel(r"$t_2$")
        middle.set_aspect("equal")
        middle.set_title(f"Three classes: exact zeros and ones (white)\ncf. {REFERENCE}, Fig. 1")

        right.plot(t, zero_one_loss(t), color="0.3", lw=1.5, label="0-1")
        right.plot(t, hinge_loss(t), color="C1", lw=1.5, label="hinge")
        right.plot(t, logistic_loss(t), color="C0", lw=1.5, label="logistic")
        right.plot(
            t, sparsemax_loss(scores, target), color="C3", lw=3, alpha=0.6, label="sparsemax loss"
        )
        right.plot(
            t,
            modified_huber_loss(t) / 4.0,
            color="k",
            lw=1.2,
            ls="--",
            label="modified Huber / 4 (Zhang 2004)",
        )
        right.set_xlim(-3.0, 3.0)
        right.set_ylim(0.0, 3.5)
        right.set_xlabel(r"margin $t = z_1 - z_2$ (gold class 1)")
        right.set_ylabel("loss")
        right.set_title(f"Binary losses: sparsemax = Huber/4\n{REFERENCE}, §3")
        right.legend(loc="upper right", frameon=False)

        return f"sparsemax: two-class maps and losses ({REFERENCE}, ICML)"

    return write_figures(out_dir, [(STEM, (13.5, 4.0), draw)])
