r"""DIoU and CIoU losses (Zheng et al., *Distance-IoU Loss*, AAAI 2020, arXiv 1911.08287).

Math objects, written once against the array API, and the numeric claims
``diou.range`` and ``diou.giou-degeneracy`` of ``shared/claims/catalog.md`` §37.
The CIoU claims (symbolic and certified) are in :mod:`proofs_check.catalog.ciou`.

Notation (the paper's): axis-aligned boxes :math:`B` (prediction) and
:math:`B^{gt}`, given here by their corners ``(x1, y1, x2, y2)`` with
``x2 > x1`` and ``y2 > y1``; :math:`C` is the smallest enclosing box, :math:`c` its
diagonal, :math:`\rho` the distance between the centres;

.. math::
    L_{IoU}=1-IoU,\quad L_{GIoU}=1-IoU+\frac{|C\setminus(B\cup B^{gt})|}{|C|},\quad
    L_{DIoU}=1-IoU+\frac{\rho^2}{c^2},\quad L_{CIoU}=L_{DIoU}+\alpha v,

with :math:`v=\frac4{\pi^2}(\arctan\frac{w^{gt}}{h^{gt}}-\arctan\frac wh)^2` and
:math:`\alpha=v/((1-IoU)+v)`.

Tolerances (float64, :data:`EPS` = 2.2e-16). An overlap or enclosure width is a
difference of coordinates of size at most R = max|coordinate|, so it carries an
absolute error <= EPS R, relative to a width of at least s = the smallest side:
EPS R/s. Areas, IoU and :math:`\rho^2/c^2` add a dozen further roundings of
relative size EPS on values in [0, 2]. :func:`loss_allowance` takes
64 EPS (1 + R/s), a factor of about 3 over that count.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim
from theorycheck.validate import finite, real_floating

PAPER = "diou"
EPS = float(np.finfo(np.float64).eps)
"""float64 machine epsilon, 2.2e-16."""


# --------------------------------------------------------------------------- math objects


def _validated_pair(box: Any, target: Any, func: str) -> tuple[Any, Any, Any]:
    box, xp = real_floating(box, "box", func=func)
    target, _ = real_floating(target, "target", func=func)
    for name, value in (("box", box), ("target", target)):
        if value.ndim == 0 or value.shape[-1] != 4:
            raise ValueError(
                f"{func}: {name} must have shape (..., 4) as (x1, y1, x2, y2), "
                f"got shape {tuple(value.shape)}"
            )
        finite(value, name, func=func, xp=xp)
        width = value[..., 2] - value[..., 0]
        height = value[..., 3] - value[..., 1]
        smallest = float(xp.min(xp.minimum(width, height)))
        if smallest <= 0:
            raise ValueError(
                f"{func}: {name} must have x2 > x1 and y2 > y1, got a side of length {smallest}"
            )
    return box, target, xp


def _sides(b: Any) -> tuple[Any, Any]:
    return b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]


def _intersection_union(b: Any, g: Any, xp: Any) -> tuple[Any, Any]:
    """Intersection and union areas of two boxes (broadcast over leading axes)."""
    overlap_w = xp.clip(
        xp.minimum(b[..., 2], g[..., 2]) - xp.maximum(b[..., 0], g[..., 0]), min=0.0
    )
    overlap_h = xp.clip(
        xp.minimum(b[..., 3], g[..., 3]) - xp.maximum(b[..., 1], g[..., 1]), min=0.0
    )
    inter = overlap_w * overlap_h
    w, h = _sides(b)
    wg, hg = _sides(g)
    return inter, w * h + wg * hg - inter


def _enclosing(b: Any, g: Any, xp: Any) -> tuple[Any, Any]:
    """Width and height of the smallest enclosing box C."""
    return (
        xp.maximum(b[..., 2], g[..., 2]) - xp.minimum(b[..., 0], g[..., 0]),
        xp.maximum(b[..., 3], g[..., 3]) - xp.minimum(b[..., 1], g[..., 1]),
    )


def iou(box: Any, target: Any) -> Any:
    r"""Intersection over union :math:`|B\cap B^{gt}|/|B\cup B^{gt}|`.

    Parameters
    ----------
    box, target : array, shape (..., 4)
        Corners ``(x1, y1, x2, y2)`` of :math:`B` and :math:`B^{gt}`, finite, with
        positive width and height; leading axes broadcast.

    Returns
    -------
    array, shape (...)

    Raises
    ------
    ValueError
        For a wrong last axis, a non-finite corner or a side that is not positive.
    """
    b, g, xp = _validated_pair(box, target, "iou")
    inter, union = _intersection_union(b, g, xp)
    return inter / union


def iou_loss(box: Any, target: Any) -> Any:
    r""":math:`L_{IoU}=1-IoU` (Zheng et al. 2020, Eq. (1)); same arguments as :func:`iou`."""
    return 1.0 - iou(box, target)


def giou_loss(box: Any, target: Any) -> Any:
    r""":math:`L_{GIoU}=1-IoU+|C\setminus(B\cup B^{gt})|/|C|` (Rezatofighi et al. 2019).

    Same arguments as :func:`iou`.
    """
    b, g, xp = _validated_pair(box, target, "giou_loss")
    inter, union = _intersection_union(b, g, xp)
    cw, ch = _enclosing(b, g, xp)
    enclosing = cw * ch
    return 1.0 - inter / union + (enclosing - union) / enclosing


def centre_distance_penalty(box: Any, target: Any) -> Any:
    r"""The DIoU penalty :math:`\rho^2(b,b^{gt})/c^2` (Zheng et al. 2020, Eq. (6)).

    Same arguments as :func:`iou`.
    """
    b, g, xp = _validated_pair(box, target, "centre_distance_penalty")
    return _centre_penalty(b, g, xp)


def _centre_penalty(b: Any, g: Any, xp: Any) -> Any:
    dx = (b[..., 0] + b[..., 2]) - (g[..., 0] + g[..., 2])
    dy = (b[..., 1] + b[..., 3]) - (g[..., 1] + g[..., 3])
    cw, ch = _enclosing(b, g, xp)
    # centres are half the corner sums: rho^2 = (dx^2 + dy^2)/4
    return (dx * dx + dy * dy) / (4.0 * (cw * cw + ch * ch))


def diou_loss(box: Any, target: Any) -> Any:
    r""":math:`L_{DIoU}=1-IoU+\rho^2(b,b^{gt})/c^2` (Zheng et al. 2020, Eq. (7)).

    Same arguments as :func:`iou`.
    """
    b, g, xp = _validated_pair(box, target, "diou_loss")
    inter, union = _intersection_union(b, g, xp)
    return 1.0 - inter / union + _centre_penalty(b, g, xp)


def aspect_penalty(box: Any, target: Any) -> Any:
    r"""CIoU's aspect-ratio term
    :math:`v=\frac4{\pi^2}(\arctan\frac{w^{gt}}{h^{gt}}-\arctan\frac wh)^2`.

    Zheng et al. 2020, Eq. (9). Same arguments as :func:`iou`.
    """
    b, g, xp = _validated_pair(box, target, "aspect_penalty")
    return _aspect(b, g, xp)


def _aspect(b: Any, g: Any, xp: Any) -> Any:
    w, h = _sides(b)
    wg, hg = _sides(g)
    gap = xp.atan(wg / hg) - xp.atan(w / h)
    return (4.0 / math.pi**2) * gap * gap


def ciou_alpha(box: Any, target: Any) -> Any:
    r"""CIoU's trade-off weight :math:`\alpha=v/((1-IoU)+v)` (Zheng et al. 2020, Eq. (10)).

    Same arguments as :func:`iou`; undefined (NaN) where :math:`B=B^{gt}`.
    """
    b, g, xp = _validated_pair(box, target, "ciou_alpha")
    inter, union = _intersection_union(b, g, xp)
    v = _aspect(b, g, xp)
    return v / ((1.0 - inter / union) + v)


def ciou_loss(box: Any, target: Any) -> Any:
    r""":math:`L_{CIoU}=1-IoU+\rho^2/c^2+\alpha v` (Zheng et al. 2020, Eq. (8)).

    Same arguments as :func:`iou`; α is taken as 0 where v = 0.
    """
    b, g, xp = _validated_pair(box, target, "ciou_loss")
    inter, union = _intersection_union(b, g, xp)
    v = _aspect(b, g, xp)
    distance = 1.0 - inter / union
    safe = xp.where(v > 0, distance + v, xp.ones_like(v))
    alpha = xp.where(v > 0, v / safe, xp.zeros_like(v))
    return distance + _centre_penalty(b, g, xp) + alpha * v


# --------------------------------------------------------------------------- references


def diou_loss_exact(box: np.ndarray, target: np.ndarray) -> list[Fraction]:
    r""":math:`L_{DIoU}` in exact rational arithmetic, from the centre/size form.

    Every float is the rational it denotes (:class:`fractions.Fraction`), so the
    result is the exact loss of the given float boxes. Rows of ``(N, 4)`` arrays.
    """
    values = []
    for row_b, row_g in zip(np.asarray(box), np.asarray(target), strict=True):
        x1, y1, x2, y2 = (Fraction(float(v)) for v in row_b)
        u1, v1, u2, v2 = (Fraction(float(v)) for v in row_g)
        centre = ((x1 + x2) / 2, (y1 + y2) / 2)
        centre_gt = ((u1 + u2) / 2, (v1 + v2) / 2)
        half = ((x2 - x1) / 2, (y2 - y1) / 2)
        half_gt = ((u2 - u1) / 2, (v2 - v1) / 2)
        overlap = []
        enclosure = []
        for axis in range(2):
            distance = abs(centre[axis] - centre_gt[axis])
            reach = half[axis] + half_gt[axis]
            overlap.append(
                max(Fraction(0), min(reach - distance, 2 * half[axis], 2 * half_gt[axis]))
            )
            enclosure.append(max(distance + reach, 2 * half[axis], 2 * half_gt[axis]))
        inter = overlap[0] * overlap[1]
        union = 4 * half[0] * half[1] + 4 * half_gt[0] * half_gt[1] - inter
        rho2 = (centre[0] - centre_gt[0]) ** 2 + (centre[1] - centre_gt[1]) ** 2
        c2 = enclosure[0] ** 2 + enclosure[1] ** 2
        values.append(1 - inter / union + rho2 / c2)
    return values


def loss_allowance(*boxes: np.ndarray) -> np.ndarray:
    r"""Rounding allowance :math:`64\,\epsilon\,(1+R/s)` per instance (module docstring).

    R is the largest coordinate magnitude and s the smallest side over the boxes.
    """
    stacked = np.stack([np.asarray(b, dtype=float) for b in boxes])
    magnitude = np.abs(stacked).max(axis=(0, 2))
    sides = np.concatenate([stacked[..., 2] - stacked[..., 0], stacked[..., 3] - stacked[..., 1]])
    return 64.0 * EPS * (1.0 + magnitude / sides.min(axis=0))


def boxes_from_centres(centre: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Corner form ``(x1, y1, x2, y2)`` of boxes given by centres and (w, h), shape (N, 4)."""
    return np.concatenate([centre - size / 2, centre + size / 2], axis=-1)


def random_box_pairs(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Box pairs in four regimes (a quarter each): generic in [-10, 10]^2 (sizes 0.1 to 5),
    one box inside the other, identical, and far apart (distance 10 to 1e6)."""
    centre = rng.uniform(-10, 10, (count, 2))
    size = np.exp(rng.uniform(np.log(0.1), np.log(5.0), (count, 2)))
    other_centre = rng.uniform(-10, 10, (count, 2))
    other_size = np.exp(rng.uniform(np.log(0.1), np.log(5.0), (count, 2)))
    regime = rng.integers(0, 4, count)[:, None]
    # inside: the other box is shrunk and placed so that it stays inside
    inner_size = size * rng.uniform(0.1, 0.9, (count, 2))
    slack = (size - inner_size) / 2
    inner_centre = centre + rng.uniform(-1, 1, (count, 2)) * slack
    # far apart: a random direction, distance 10 to 1e6
    angle = rng.uniform(0, 2 * np.pi, count)
    distance = 10.0 ** rng.uniform(1, 6, count)
    far_centre = centre + distance[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    other_centre = np.select(
        [regime == 0, regime == 1, regime == 2], [other_centre, inner_centre, centre], far_centre
    )
    other_size = np.select(
        [regime == 0, regime == 1, regime == 2], [other_size, inner_size, size], other_size
    )
    box = boxes_from_centres(centre, size)
    target = boxes_from_centres(other_centre, other_size)
    swap = rng.random(count) < 0.5
    return np.where(swap[:, None], target, box), np.where(swap[:, None], box, target)


def _exact_area(row: np.ndarray) -> Fraction:
    """Area of a box (x1, y1, x2, y2) in exact rational arithmetic."""
    x1, y1, x2, y2 = (Fraction(float(v)) for v in row)
    return (x2 - x1) * (y2 - y1)


def _on_backend(ctx: Context, fn: Callable[..., Any], *arrays: np.ndarray) -> np.ndarray:
    return np.asarray(to_numpy(fn(*(ctx.asarray(a) for a in arrays))), dtype=float)


@lru_cache(maxsize=4)
def _range_data(ctx: Context) -> dict[str, Any]:
    """Box pairs and exact references of :func:`diou_range` (they do not depend on the
    candidate, so the claim and its controls share them)."""
    rng = ctx.rng(0)
    count = ctx.pick(400, 4000)
    box, target = random_box_pairs(rng, count)
    identical = np.all(box == target, axis=1)
    # near-identical pairs: one corner moved by 1e-3 of the side
    near = box.copy()
    near[:, 2] += 1e-3 * (box[:, 2] - box[:, 0])
    box, target = np.concatenate([box, near]), np.concatenate([target, box])
    identical = np.concatenate([identical, np.zeros(count, dtype=bool)])
    exact_values = diou_loss_exact(box, target)
    shift = rng.uniform(-10, 10, (box.shape[0], 1, 2))
    scale = 2.0 ** rng.integers(-3, 4, (box.shape[0], 1))
    far_target = boxes_from_centres(np.zeros((1, 2)), np.array([[2.0, 1.0]]))
    separations = [Fraction(10) ** k for k in range(1, 7)]
    far = np.concatenate(
        [
            boxes_from_centres(float(t) * np.array([[0.6, 0.8]]), np.array([[1.0, 3.0]]))
            for t in separations
        ]
    )
    return {
        "box": box,
        "target": target,
        "identical": identical,
        "exact": exact_values,
        "reference": np.array([float(v) for v in exact_values]),
        "shift": shift,
        "scale": scale,
        "far_target": far_target,
        "far": far,
        "separations": separations,
        "far_exact": diou_loss_exact(far, np.repeat(far_target, len(separations), axis=0)),
    }


# --------------------------------------------------------------------------- diou.range


@claim(
    "diou.range",
    paper=PAPER,
    source="Sec. 3.1 (DIoU loss)",
    statement=(
        r"0\le L_{DIoU}<2;\ L_{DIoU}=0\iff B=B^{gt};\ L_{DIoU}\ \text{invariant to common "
        r"translation and scaling};\ L_{DIoU}\to2\ \text{as the boxes move apart}"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control("at-most-one", r"L_{DIoU}\le1", {"upper": Fraction(1)}),
        Control("giou-equals-diou", r"L_{GIoU}=L_{DIoU}", {"loss": giou_loss}),
    ],
)
def diou_range(
    ctx: Context,
    loss: Callable[[Any, Any], Any] = diou_loss,
    upper: Fraction = Fraction(2),
) -> Evidence:
    r"""The range, the zero set, the invariances and the far-apart limit of :math:`L_{DIoU}`.

    ``loss`` runs on the backend; the reference is :func:`diou_loss_exact` (exact
    rationals). Parts: ``loss`` equals the exact :math:`L_{DIoU}` (allowance
    :func:`loss_allowance`); :math:`0\le L<` ``upper`` exactly for every pair (and
    for the floats, with the allowance); ``loss`` is 0 exactly on identical boxes
    and above 1e-9 on every other pair (the smallest exact loss of a non-identical
    pair here exceeds 1e-6, far above the allowance); translation by up to 10 and
    scaling by 1/8 to 8 (powers of two, exact) change the value by at most twice
    the allowance; along a ray of separations t = 10 .. 1e6 the exact
    :math:`2-L` decreases and stays below the derived bound
    :math:`(2t(W+H)+W^2+H^2)/t^2` with W, H the sums of the half sides, so
    :math:`L\to2`.
    """
    data = _range_data(ctx)
    box, target, identical = data["box"], data["target"], data["identical"]
    exact_values, reference = data["exact"], data["reference"]
    inputs = {"box": box, "target": target}
    allowance = loss_allowance(box, target)
    parts: dict[str, Evidence] = {}

    values = _on_backend(ctx, loss, box, target)
    parts["loss = exact L_DIoU"] = checks.compare(values, reference, atol=allowance, inputs=inputs)

    outside = [i for i, v in enumerate(exact_values) if not (Fraction(0) <= v < Fraction(upper))]
    parts[f"exact: 0 <= L < {upper}"] = checks.exact(
        not outside,
        cases=len(exact_values),
        residual=float(exact_values[outside[0]] - upper) if outside else None,
        counterexample={
            "box": box[outside[0]],
            "target": target[outside[0]],
            "L": str(exact_values[outside[0]]),
        }
        if outside
        else None,
    )
    parts["float: L >= 0"] = checks.nonnegative(values + allowance, inputs=inputs)
    parts[f"float: L < {upper}"] = checks.nonnegative(
        float(upper) - values - allowance, inputs=inputs
    )
    parts["L = 0 iff B = B^gt"] = checks.agree(
        values <= 1e-9, identical, inputs=inputs, names=("loss_zero", "identical")
    )

    shift, scale = data["shift"], data["scale"]
    moved = [(b.reshape(-1, 2, 2) + shift).reshape(-1, 4) * scale for b in (box, target)]
    parts["invariant to translation and scaling"] = checks.compare(
        _on_backend(ctx, loss, *moved),
        values,
        atol=allowance + loss_allowance(*moved),
        inputs={**inputs, "shift": shift[:, 0], "scale": scale[:, 0]},
    )

    g, far, separations, far_exact = (
        data["far_target"],
        data["far"],
        data["separations"],
        data["far_exact"],
    )
    half_sums = (Fraction(3, 2), Fraction(2))  # W = (2 + 1)/2, H = (1 + 3)/2
    failures = []
    for i, (t, value) in enumerate(zip(separations, far_exact, strict=True)):
        gap = Fraction(upper) - value
        bound = (2 * t * sum(half_sums) + half_sums[0] ** 2 + half_sums[1] ** 2) / t**2
        previous = Fraction(upper) - far_exact[i - 1] if i else None
        if not (0 < gap <= bound) or (previous is not None and not gap < previous):
            failures.append({"t": str(t), "upper-L": str(gap), "bound": str(bound)})
    parts["far apart: L -> upper"] = checks.exact(
        not failures, cases=len(separations), counterexample=failures[0] if failures else None
    )
    parts["far apart: float loss"] = checks.compare(
        _on_backend(ctx, loss, far, np.repeat(g, len(separations), axis=0)),
        [float(v) for v in far_exact],
        atol=loss_allowance(far, np.repeat(g, len(separations), axis=0)),
        inputs={"box": far},
    )
    return checks.combine(parts)


# --------------------------------------------------------------------------- diou.giou-degeneracy


def containment_pairs(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs where one box contains the other and the centres differ.

    The outer box has sides 1 to 10 and a centre in [-10, 10]^2; the inner box has
    10 % to 90 % of its sides and is moved off-centre by a random 5 % to 100 % of the
    room it has along each axis, so that the centres differ by at least 5e-3.
    Half of the pairs have the prediction inside, half the target.
    """
    centre = rng.uniform(-10, 10, (count, 2))
    size = rng.uniform(1.0, 10.0, (count, 2))
    inner_size = size * rng.uniform(0.1, 0.9, (count, 2))
    room = (size - inner_size) / 2
    offset = rng.uniform(0.05, 1.0, (count, 2)) * rng.choice([-1.0, 1.0], (count, 2)) * room
    outer = boxes_from_centres(centre, size)
    inner = boxes_from_centres(centre + offset, inner_size)
    swap = rng.random(count) < 0.5
    return np.where(swap[:, None], inner, outer), np.where(swap[:, None], outer, inner)


@claim(
    "diou.giou-degeneracy",
    paper=PAPER,
    source="Sec. 3 (analysis of GIoU), Fig. 2",
    statement=(
        r"B\subseteq B^{gt}\ \text{or}\ B^{gt}\subseteq B\Rightarrow L_{GIoU}=L_{IoU};\ "
        r"\text{and}\ L_{DIoU}>L_{IoU}\ \text{whenever the centres differ}"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "giou-strictly-above",
            r"L_{GIoU}>L_{IoU}\ \text{whenever the centres differ}",
            {"strictly_above": giou_loss},
        )
    ],
)
def giou_degeneracy(
    ctx: Context, strictly_above: Callable[[Any, Any], Any] = diou_loss
) -> Evidence:
    r"""On containment pairs with distinct centres: GIoU's penalty vanishes, DIoU's does not.

    Parts, on the backend: :math:`L_{GIoU}=L_{IoU}` within :func:`loss_allowance`
    (C is the larger box, so :math:`|C|-|B\cup B^{gt}|` is a rounding residue);
    ``strictly_above`` :math:`-L_{IoU}` exceeds the allowance (the DIoU penalty
    is at least :math:`\rho^2/c^2\ge(5\cdot10^{-3}\cdot0.05)^2/200\approx3\cdot10^{-10}`
    here, above the allowance of about 1e-13); and, exactly, the DIoU penalty of
    every pair is positive (:func:`diou_loss_exact` minus the exact IoU loss).
    """
    box, target = containment_pairs(ctx.rng(0), ctx.pick(500, 5000))
    inputs = {"box": box, "target": target}
    allowance = loss_allowance(box, target)
    base = _on_backend(ctx, iou_loss, box, target)
    parts = {
        "L_GIoU = L_IoU on containment": checks.compare(
            _on_backend(ctx, giou_loss, box, target), base, atol=allowance, inputs=inputs
        ),
        "candidate > L_IoU (beyond rounding)": checks.nonnegative(
            _on_backend(ctx, strictly_above, box, target) - base - allowance, inputs=inputs
        ),
    }
    penalties = []
    for row_b, row_g, value in zip(box, target, diou_loss_exact(box, target), strict=True):
        inner, outer = (
            (row_b, row_g) if row_b[2] - row_b[0] < row_g[2] - row_g[0] else (row_g, row_b)
        )
        penalties.append(value - (1 - _exact_area(inner) / _exact_area(outer)))
    bad = [i for i, p in enumerate(penalties) if not p > 0]  # exact rationals
    parts["exact: DIoU penalty > 0"] = checks.exact(
        not bad,
        cases=len(penalties),
        counterexample={"box": box[bad[0]], "target": target[bad[0]]} if bad else None,
    )
    return checks.combine(parts)
