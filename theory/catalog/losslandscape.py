r"""Filter-normalised directions for loss-landscape plots.

Li, Xu, Taylor, Studer & Goldstein, *Visualizing the Loss Landscape of Neural Nets*,
NeurIPS 2018, Sec. 4: claim ``losslandscape.filter-norm-invariance`` of
``shared/claims/catalog.md`` §40.

A ReLU MLP with parameters :math:`\theta=((W_1,b_1),\dots,(W_L,b_L))` (``W_l`` of
shape (out, in), one row per neuron, i.e. per "filter"); a random direction d of
the same shape is filter-normalised as
:math:`\hat d_{l,j}=d_{l,j}\,\|\theta_{l,j}\|/\|d_{l,j}\|` for each row j of each
weight matrix, with the bias directions set to 0. The 1-D curve is
:math:`\alpha\mapsto L(\theta+\alpha\hat d)` and the 2-D surface
:math:`(\alpha,\beta)\mapsto L(\theta+\alpha\hat d_1+\beta\hat d_2)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from theorycheck import checks
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim
from theorycheck.validate import finite, real_floating

PAPER = "losslandscape"
EPS = float(np.finfo(np.float64).eps)

Params = Sequence[tuple[Any, Any]]
"""Layers ``(W, b)``, W of shape (out, in) and b of shape (out,)."""


def _validate_params(params: Params, func: str) -> Any:
    if len(params) == 0:
        raise ValueError(f"{func}: params must hold at least one layer (W, b)")
    xp = None
    previous = None
    for index, layer in enumerate(params):
        if len(layer) != 2:
            raise ValueError(f"{func}: layer {index} must be a pair (W, b)")
        weight, bias = layer
        weight, xp = real_floating(weight, f"W[{index}]", func=func)
        bias, _ = real_floating(bias, f"b[{index}]", func=func)
        if weight.ndim != 2 or bias.ndim != 1 or bias.shape[0] != weight.shape[0]:
            raise ValueError(
                f"{func}: layer {index} needs W of shape (out, in) and b of shape (out,), "
                f"got {tuple(weight.shape)} and {tuple(bias.shape)}"
            )
        if previous is not None and weight.shape[1] != previous:
            raise ValueError(
                f"{func}: W[{index}] has {weight.shape[1]} inputs, "
                f"the previous layer {previous} outputs"
            )
        finite(weight, f"W[{index}]", func=func, xp=xp)
        finite(bias, f"b[{index}]", func=func, xp=xp)
        previous = weight.shape[0]
    return xp


def filter_normalize(direction: Params, params: Params) -> list[tuple[Any, Any]]:
    r"""Filter-wise normalisation :math:`\hat d_{l,j}=d_{l,j}\|\theta_{l,j}\|/\|d_{l,j}\|` (Sec. 4).

    Parameters
    ----------
    direction, params : sequence of (W, b)
        A direction and the parameters, of the same shapes.

    Returns
    -------
    list of (W, b)
        The normalised direction; every bias direction is 0.

    Raises
    ------
    ValueError
        For mismatched shapes, non-finite entries, or a direction row of norm 0.
    """
    xp = _validate_params(params, "filter_normalize")
    _validate_params(direction, "filter_normalize")
    normalised = []
    for index, ((d, _), (w, b)) in enumerate(zip(direction, params, strict=True)):
        if tuple(d.shape) != tuple(w.shape):
            raise ValueError(
                f"filter_normalize: direction W[{index}] has shape {tuple(d.shape)}, "
                f"params W[{index}] {tuple(w.shape)}"
            )
        row_norm = xp.linalg.vector_norm(d, axis=1, keepdims=True)
        if float(xp.min(row_norm)) == 0:
            raise ValueError(f"filter_normalize: direction W[{index}] has a row of norm 0")
        scale = xp.linalg.vector_norm(w, axis=1, keepdims=True) / row_norm
        normalised.append((d * scale, xp.zeros_like(b)))
    return normalised


def layer_normalize(direction: Params, params: Params) -> list[tuple[Any, Any]]:
    r"""Layer-wise normalisation :math:`\hat d_l=d_l\|\theta_l\|_F/\|d_l\|_F` (biases 0).

    The coarser alternative that Sec. 4 compares against; arguments as
    :func:`filter_normalize`.
    """
    xp = _validate_params(params, "layer_normalize")
    _validate_params(direction, "layer_normalize")
    out = []
    for (d, _), (w, b) in zip(direction, params, strict=True):
        scale = xp.linalg.vector_norm(w) / xp.linalg.vector_norm(d)
        out.append((d * scale, xp.zeros_like(b)))
    return out


def mlp_forward(params: Params, x: Any, normalise_after: int | None = None) -> Any:
    r"""A ReLU MLP, optionally with a per-neuron normalisation after one layer.

    Parameters
    ----------
    params : sequence of (W, b)
        Layers; W may carry leading batch axes, shape (..., out, in), b (..., out),
        to evaluate many parameter points at once.
    x : array, shape (N, in)
        Inputs.
    normalise_after : int, optional
        Index l of a layer whose pre-activations are standardised per neuron over
        the N inputs, :math:`z_j\mapsto(z_j-\bar z_j)/\mathrm{sd}(z_j)`, a map that is
        invariant to :math:`z_j\mapsto a_jz_j+c_j`, :math:`a_j>0` (batch norm without
        affine parameters).

    Returns
    -------
    array, shape (..., N, out)
        The outputs of the last layer (no activation).
    """
    xp = array_namespace(x)
    h = x
    for index, (w, b) in enumerate(params):
        z = h @ xp.matrix_transpose(w) + b[..., None, :]
        if normalise_after is not None and index == normalise_after:
            centred = z - xp.mean(z, axis=-2, keepdims=True)
            z = centred / xp.sqrt(xp.mean(centred * centred, axis=-2, keepdims=True))
        h = z if index == len(params) - 1 else xp.maximum(z, 0.0)
    return h


def loss_surface(
    params: Params,
    directions: Sequence[Params],
    coefficients: Any,
    x: Any,
    y: Any,
    normalise_after: int | None = None,
) -> Any:
    r"""Mean squared error :math:`L(\theta+\sum_k c_k\hat d_k)` for many coefficient vectors.

    Parameters
    ----------
    params : sequence of (W, b)
    directions : sequence of directions (each a sequence of (W, b))
        Already normalised.
    coefficients : array, shape (A, K)
        One row of K coefficients per point of the curve (K = 1) or surface (K = 2).
    x, y : arrays, shapes (N, in) and (N, out)
        Data and regression targets.
    normalise_after : int, optional
        See :func:`mlp_forward`.

    Returns
    -------
    array, shape (A,)
    """
    xp = _validate_params(params, "loss_surface")
    if coefficients.ndim != 2 or coefficients.shape[1] != len(directions):
        raise ValueError(
            f"loss_surface: coefficients must have shape (A, {len(directions)}), "
            f"got {tuple(coefficients.shape)}"
        )
    moved = []
    for index, (w, b) in enumerate(params):
        w_new = w[None, ...]
        b_new = b[None, ...]
        for k, direction in enumerate(directions):
            dw, db = direction[index]
            c = coefficients[:, k]
            w_new = w_new + c[:, None, None] * dw[None, ...]
            b_new = b_new + c[:, None] * db[None, ...]
        moved.append((w_new, b_new))
    out = mlp_forward(moved, x, normalise_after)
    return xp.mean((out - y) ** 2, axis=(-2, -1))


# --------------------------------------------------------------------------- the claim


def raw_direction(direction: Params, params: Params) -> list[tuple[Any, Any]]:
    """Control: the direction as drawn, unnormalised."""
    return list(direction)


def _random_network(
    rng: np.random.Generator, widths: Sequence[int]
) -> list[tuple[np.ndarray, np.ndarray]]:
    return [
        (rng.standard_normal((o, i)) / np.sqrt(i), 0.1 * rng.standard_normal(o))
        for i, o in zip(widths[:-1], widths[1:], strict=True)
    ]


def _surface(
    ctx: Context,
    normalize: Callable[[Params, Params], list[tuple[Any, Any]]],
    params: list[tuple[np.ndarray, np.ndarray]],
    draws: list[list[tuple[np.ndarray, np.ndarray]]],
    grid: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    normalise_after: int | None,
) -> np.ndarray:
    on = [(ctx.asarray(w), ctx.asarray(b)) for w, b in params]
    directions = [
        normalize([(ctx.asarray(w), ctx.asarray(b)) for w, b in draw], on) for draw in draws
    ]
    values = loss_surface(
        on, directions, ctx.asarray(grid), ctx.asarray(x), ctx.asarray(y), normalise_after
    )
    return np.asarray(to_numpy(values), dtype=float)


@claim(
    "losslandscape.filter-norm-invariance",
    paper=PAPER,
    source="Sec. 4 (filter-wise normalization)",
    statement=(
        r"\hat d_{l,j}=d_{l,j}\frac{\|\theta_{l,j}\|}{\|d_{l,j}\|}\Rightarrow "
        r"L(\theta+\alpha\hat d)=L(\theta'+\alpha\hat d')\ \forall\alpha\ \text{for}\ "
        r"\theta'=(\ldots,a\theta_l,\theta_{l+1}/a,\ldots),\ a>0"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    notes=(
        "Per-neuron rescaling between two fully connected layers (row k of layer l by a_k, "
        "column k of layer l+1 by 1/a_k) preserves the function but is not undone by "
        "row-wise filter normalisation of layer l+1; the check reports that case in its "
        "details and does not count it against the claim (spec caveat)."
    ),
    controls=[
        Control(
            "raw-direction", r"\hat d=d\ \text{(no normalisation)}", {"normalize": raw_direction}
        ),
        Control(
            "layer-normalisation",
            r"\hat d_l=d_l\|\theta_l\|_F/\|d_l\|_F\ \text{under per-filter rescaling}",
            {"normalize": layer_normalize},
        ),
    ],
)
def filter_norm_invariance(
    ctx: Context,
    normalize: Callable[[Params, Params], list[tuple[Any, Any]]] = filter_normalize,
) -> Evidence:
    r"""Curves and surfaces of an MLP and of a function-preserving rescaling coincide.

    Random ReLU MLPs 5-8-8-3 on 32 random inputs with MSE against random targets;
    one random Gaussian draw d (two for surfaces) shared by the two networks and
    normalised by ``normalize`` for each. Parts:

    - whole-layer rescaling (layer l by a, layer l+1's weights by 1/a, a in
      {0.1, 0.5, 3, 10}, l in {0, 1}): the curves on 21 points of [-1, 1] coincide;
    - the same for the 2-D surfaces on a 7 x 7 grid of [-1, 1]^2;
    - with a per-neuron standardisation after layer 0, scaling row j of layer 0
      (weights and bias) by :math:`a_j\in[0.1,10]`: the curves coincide.

    Tolerance: the rescaled networks compute the same function up to rounding:
    each layer's pre-activation is a sum of at most 9 products with relative
    error (in + 3) EPS, plus one rounding of a times W; through 3 layers, the
    standardisation and the mean of squares, the loss carries a relative error
    below 3 (3 + 9 + 3) EPS times a condition factor of the ReLU network;
    rtol = 2**10 EPS (2.3e-13) leaves room for that factor, and raw directions
    move the loss by O(1) relative.
    """
    rng = ctx.rng(0)
    widths = (5, 8, 8, 3)
    alphas = np.linspace(-1, 1, 21)[:, None]
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 7), np.linspace(-1, 1, 7)), -1).reshape(-1, 2)
    rtol = 2.0**10 * EPS
    parts: dict[str, Evidence] = {}
    curves, rescaled_curves, surfaces, rescaled_surfaces, labels = [], [], [], [], []
    filter_curves, filter_rescaled, caveat = [], [], []
    for trial in range(ctx.pick(4, 20)):
        params = _random_network(rng, widths)
        x = rng.standard_normal((32, widths[0]))
        y = rng.standard_normal((32, widths[-1]))
        draw = [(rng.standard_normal(w.shape), rng.standard_normal(b.shape)) for w, b in params]
        draw2 = [(rng.standard_normal(w.shape), rng.standard_normal(b.shape)) for w, b in params]
        layer = trial % 2
        a = (0.1, 0.5, 3.0, 10.0)[trial % 4]
        rescaled = [(w.copy(), b.copy()) for w, b in params]
        rescaled[layer] = (a * params[layer][0], a * params[layer][1])
        rescaled[layer + 1] = (params[layer + 1][0] / a, params[layer + 1][1])
        curves.append(_surface(ctx, normalize, params, [draw], alphas, x, y, None))
        rescaled_curves.append(_surface(ctx, normalize, rescaled, [draw], alphas, x, y, None))
        surfaces.append(_surface(ctx, normalize, params, [draw, draw2], grid, x, y, None))
        rescaled_surfaces.append(
            _surface(ctx, normalize, rescaled, [draw, draw2], grid, x, y, None)
        )
        labels.append(f"layer {layer}, a = {a}")

        per_filter = rng.uniform(0.1, 10.0, widths[1])
        filtered = [(w.copy(), b.copy()) for w, b in params]
        filtered[0] = (per_filter[:, None] * params[0][0], per_filter * params[0][1])
        filter_curves.append(_surface(ctx, normalize, params, [draw], alphas, x, y, 0))
        filter_rescaled.append(_surface(ctx, normalize, filtered, [draw], alphas, x, y, 0))

        # the spec's caveat: per-neuron rescaling without normalisation
        neuron = [(w.copy(), b.copy()) for w, b in params]
        neuron[0] = (per_filter[:, None] * params[0][0], per_filter * params[0][1])
        neuron[1] = (params[1][0] / per_filter[None, :], params[1][1])
        base = _surface(ctx, filter_normalize, params, [draw], alphas, x, y, None)
        caveat.append(
            np.max(
                np.abs(_surface(ctx, filter_normalize, neuron, [draw], alphas, x, y, None) - base)
            )
        )
    inputs = {"case": np.array(labels)}
    parts["whole-layer rescaling: 1-D curves"] = checks.compare(
        np.array(rescaled_curves), np.array(curves), rtol=rtol, inputs=inputs
    )
    parts["whole-layer rescaling: 2-D surfaces"] = checks.compare(
        np.array(rescaled_surfaces), np.array(surfaces), rtol=rtol, inputs=inputs
    )
    parts["per-filter rescaling with normalisation: 1-D curves"] = checks.compare(
        np.array(filter_rescaled), np.array(filter_curves), rtol=rtol, inputs=inputs
    )
    evidence = checks.combine(parts)
    evidence.details["caveat: per-neuron rescaling without normalisation, max curve change"] = (
        float(np.max(caveat))
    )
    return evidence
