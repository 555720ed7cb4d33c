r"""Expressive losses for verified robustness: convex combinations of adversarial and IBP bounds.

De Palma et al., *Expressive Losses for Verified Robustness via Convex Combinations*,
ICLR 2024: claims ``expressive.endpoints-monotone`` and ``expressive.cc-le-mtl``
([derived]) of ``shared/claims/catalog.md`` §53.

With margin lower bounds :math:`z_{adv}\ge z_{IBP}` (componentwise, over the classes
j ≠ y) and :math:`\ell(z)=\log(1+\sum_{j\ne y}e^{-z_j})`:

- CC-IBP: :math:`\ell((1-\alpha)z_{adv}+\alpha z_{IBP})`,
- MTL-IBP: :math:`(1-\alpha)\ell(z_{adv})+\alpha\ell(z_{IBP})`,
- Exp-IBP: :math:`\ell(z_{adv})^{1-\alpha}\ell(z_{IBP})^\alpha`.

Tolerances: :math:`\ell` is a log of a sum of K - 1 <= 9 exponentials, relative error
below (K + 2) EPS; a combination adds a few roundings. For losses up to
:math:`L=\max\ell` the allowance is 16 K EPS (1 + L).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from theorycheck import checks
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim
from theorycheck.validate import finite, real_floating

PAPER = "expressive"
EPS = float(np.finfo(np.float64).eps)


def margin_loss(margins: Any) -> Any:
    r""":math:`\ell(z)=\log(1+\sum_{j\ne y}e^{-z_j})`, the cross-entropy in terms of the margins
    :math:`z_j=f_y-f_j` (j ≠ y) along the last axis.

    Raises
    ------
    ValueError
        For an empty last axis or non-finite margins.
    """
    z, xp = real_floating(margins, "margins", func="margin_loss")
    if z.ndim == 0 or z.shape[-1] == 0:
        raise ValueError(f"margin_loss: margins must have shape (..., K-1), got {tuple(z.shape)}")
    finite(z, "margins", func="margin_loss", xp=xp)
    top = xp.clip(xp.max(-z, axis=-1), min=0.0)
    return top + xp.log(xp.exp(-top) + xp.sum(xp.exp(-z - top[..., None]), axis=-1))


def _alpha(alpha: Any, xp: Any) -> Any:
    alpha = xp.asarray(alpha, dtype=xp.float64)
    if float(xp.min(alpha)) < 0 or float(xp.max(alpha)) > 1:
        raise ValueError(
            "expressive losses: alpha must lie in [0, 1], got "
            f"{float(xp.min(alpha))} .. {float(xp.max(alpha))}"
        )
    return alpha


def cc_ibp_loss(z_adv: Any, z_ibp: Any, alpha: Any) -> Any:
    r"""CC-IBP :math:`\ell((1-\alpha)z_{adv}+\alpha z_{IBP})`; α broadcasts against the
    leading axes."""
    xp = array_namespace(z_adv, z_ibp)
    a = _alpha(alpha, xp)[..., None]
    return margin_loss((1.0 - a) * z_adv + a * z_ibp)


def mtl_ibp_loss(z_adv: Any, z_ibp: Any, alpha: Any) -> Any:
    r"""MTL-IBP :math:`(1-\alpha)\ell(z_{adv})+\alpha\ell(z_{IBP})`."""
    xp = array_namespace(z_adv, z_ibp)
    a = _alpha(alpha, xp)
    return (1.0 - a) * margin_loss(z_adv) + a * margin_loss(z_ibp)


def exp_ibp_loss(z_adv: Any, z_ibp: Any, alpha: Any) -> Any:
    r"""Exp-IBP :math:`\ell(z_{adv})^{1-\alpha}\ell(z_{IBP})^\alpha`."""
    xp = array_namespace(z_adv, z_ibp)
    a = _alpha(alpha, xp)
    return margin_loss(z_adv) ** (1.0 - a) * margin_loss(z_ibp) ** a


def swapped_exp_ibp_loss(z_adv: Any, z_ibp: Any, alpha: Any) -> Any:
    r"""Control: :math:`\ell(z_{adv})^{\alpha}\ell(z_{IBP})^{1-\alpha}` (exponents swapped)."""
    return exp_ibp_loss(z_ibp, z_adv, alpha)


PAPER_LOSSES: Mapping[str, Callable[[Any, Any, Any], Any]] = {
    "CC-IBP": cc_ibp_loss,
    "MTL-IBP": mtl_ibp_loss,
    "Exp-IBP": exp_ibp_loss,
}


def _margins(
    rng: np.random.Generator, count: int, classes: int, ordered: bool
) -> tuple[np.ndarray, np.ndarray]:
    z_ibp = rng.uniform(-5, 5, (count, classes - 1))
    if ordered:
        return z_ibp + rng.exponential(1.0, z_ibp.shape) * (rng.random(z_ibp.shape) < 0.8), z_ibp
    return rng.uniform(-5, 5, (count, classes - 1)), z_ibp


def _on_backend(ctx: Context, fn: Callable[..., Any], *arrays: np.ndarray) -> np.ndarray:
    return np.asarray(to_numpy(fn(*(ctx.asarray(a) for a in arrays))), dtype=float)


@claim(
    "expressive.endpoints-monotone",
    paper=PAPER,
    source="Sec. 3 (expressive losses), Def. 3.1",
    statement=(
        r"z_{adv}\ge z_{IBP}:\ \text{CC-, MTL-, Exp-IBP equal}\ \ell(z_{adv})"
        r"\ \text{at}\ \alpha=0,\ "
        r"\ell(z_{IBP})\ \text{at}\ \alpha=1,\ \text{and are non-decreasing in}\ \alpha"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "swapped-exp-weights",
            r"\text{Exp-IBP}=\ell(z_{adv})^\alpha\ell(z_{IBP})^{1-\alpha}",
            {"losses": {**PAPER_LOSSES, "Exp-IBP": swapped_exp_ibp_loss}},
        )
    ],
)
def endpoints_monotone(
    ctx: Context, losses: Mapping[str, Callable[[Any, Any, Any], Any]] = PAPER_LOSSES
) -> Evidence:
    r"""Each loss (backend) on 21 values of α in [0, 1], random margins with
    :math:`z_{adv}\ge z_{IBP}` (K in {2, 5, 10}, margins in [-5, 5], 20 % of the pairs
    equal): the endpoints and non-decreasing steps, within the module's allowance."""
    rng = ctx.rng(0)
    alphas = np.linspace(0.0, 1.0, 21)
    parts: dict[str, Evidence] = {}
    for classes in (2, 5, 10):
        z_adv, z_ibp = _margins(rng, ctx.pick(200, 2000), classes, ordered=True)
        adv, ibp = _on_backend(ctx, margin_loss, z_adv), _on_backend(ctx, margin_loss, z_ibp)
        tol = 16 * classes * EPS * (1 + max(adv.max(), ibp.max()))
        inputs = {"z_adv": z_adv, "z_ibp": z_ibp}
        for name, loss in losses.items():
            count = z_adv.shape[0]
            values = _on_backend(
                ctx,
                loss,
                np.repeat(z_adv, alphas.size, axis=0),
                np.repeat(z_ibp, alphas.size, axis=0),
                np.tile(alphas, count),
            ).reshape(count, alphas.size)
            parts[f"K={classes} {name}: alpha=0 gives l(z_adv)"] = checks.compare(
                values[:, 0], adv, atol=tol, inputs=inputs
            )
            parts[f"K={classes} {name}: alpha=1 gives l(z_IBP)"] = checks.compare(
                values[:, -1], ibp, atol=tol, inputs=inputs
            )
            parts[f"K={classes} {name}: non-decreasing"] = checks.nonnegative(
                np.diff(values, axis=1), tol=tol, inputs=inputs
            )
    return checks.combine(parts)


@claim(
    "expressive.cc-le-mtl",
    paper=PAPER,
    source="Sec. 3 (relations between the expressive losses)",
    statement=(
        r"\text{CC-IBP}\le\text{MTL-IBP}\ (\ell\ \text{convex}),\ "
        r"\text{Exp-IBP}\le\text{MTL-IBP}\ (\text{weighted AM-GM})"
    ),
    method="numeric",
    provenance="derived",
    controls=[
        Control(
            "mtl-le-cc", r"\text{MTL-IBP}\le\text{CC-IBP}", {"orderings": (("MTL-IBP", "CC-IBP"),)}
        )
    ],
)
def cc_le_mtl(
    ctx: Context,
    orderings: tuple[tuple[str, str], ...] = (("CC-IBP", "MTL-IBP"), ("Exp-IBP", "MTL-IBP")),
) -> Evidence:
    r"""For each (smaller, larger) pair of ``orderings``: smaller <= larger on the backend,
    for random margins in any order (K in {2, 5, 10}) and random α in [0, 1], within the
    module's allowance."""
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for classes in (2, 5, 10):
        z_adv, z_ibp = _margins(rng, ctx.pick(500, 5000), classes, ordered=False)
        alpha = rng.random(z_adv.shape[0])
        alpha[:10] = 0.0
        alpha[10:20] = 1.0
        adv, ibp = _on_backend(ctx, margin_loss, z_adv), _on_backend(ctx, margin_loss, z_ibp)
        tol = 16 * classes * EPS * (1 + max(adv.max(), ibp.max()))
        values = {
            name: _on_backend(ctx, loss, z_adv, z_ibp, alpha) for name, loss in PAPER_LOSSES.items()
        }
        for smaller, larger in orderings:
            parts[f"K={classes}: {smaller} <= {larger}"] = checks.nonnegative(
                values[larger] - values[smaller],
                tol=tol,
                inputs={"z_adv": z_adv, "z_ibp": z_ibp, "alpha": alpha},
            )
    return checks.combine(parts)
