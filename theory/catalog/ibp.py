r"""Interval bound propagation (IBP) through affine layers and ReLU networks.

Gowal et al., *On the Effectiveness of Interval Bound Propagation for Training
Verifiably Robust Models*, arXiv 1810.12715 (ICCV 2019 version), Sec. 3: claims
``ibp.affine-sound-tight``, ``ibp.network-sound``, ``ibp.elision-tighter`` and
``ibp.worst-case-ce`` of ``shared/claims/catalog.md`` §32.

A box :math:`[l,u]` has centre :math:`\mu=(u+l)/2` and radius :math:`r=(u-l)/2`.
Through :math:`z=Wx+b`: :math:`\mu'=W\mu+b`, :math:`r'=|W|r`, bounds
:math:`[\mu'-r',\mu'+r']`; through an elementwise monotone h: :math:`[h(l),h(u)]`.
The worst-case logits for label y are :math:`\hat z_y=l_y`, :math:`\hat z_j=u_j`.

Tolerances: a bound or a logit is a sum of at most ``in`` products plus a bias,
so its rounding error is below (in + 2) EPS times the sum of the magnitudes of the
terms; through L layers this compounds to about L (width + 2) EPS times
:math:`M=1+\max|\text{bound}|`. :func:`bound_allowance` takes 16 L (width + 2) EPS M.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.special

from theorycheck import checks
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim
from theorycheck.validate import finite, real_floating

PAPER = "ibp"
EPS = float(np.finfo(np.float64).eps)

Network = Sequence[tuple[Any, Any]]
"""Layers ``(W, b)`` with W of shape (out, in); ReLU between layers, none after the last."""


# --------------------------------------------------------------------------- math objects


def _box(lower: Any, upper: Any, func: str) -> tuple[Any, Any, Any]:
    lower, xp = real_floating(lower, "lower", func=func)
    upper, _ = real_floating(upper, "upper", func=func)
    if tuple(lower.shape) != tuple(upper.shape) or lower.ndim == 0:
        raise ValueError(
            f"{func}: lower and upper must have the same shape (..., n), "
            f"got {tuple(lower.shape)} and {tuple(upper.shape)}"
        )
    finite(lower, "lower", func=func, xp=xp)
    finite(upper, "upper", func=func, xp=xp)
    gap = float(xp.min(upper - lower))
    if gap < 0:
        raise ValueError(f"{func}: the box needs lower <= upper, has upper - lower = {gap}")
    return lower, upper, xp


def _affine(weight: Any, bias: Any, lower: Any, func: str) -> tuple[Any, Any]:
    weight, xp = real_floating(weight, "W", func=func)
    bias, _ = real_floating(bias, "b", func=func)
    if weight.ndim != 2 or bias.ndim != 1 or bias.shape[0] != weight.shape[0]:
        raise ValueError(
            f"{func}: W must have shape (out, in) and b shape (out,), "
            f"got {tuple(weight.shape)} and {tuple(bias.shape)}"
        )
    if weight.shape[1] != lower.shape[-1]:
        raise ValueError(f"{func}: W has {weight.shape[1]} inputs, the box {lower.shape[-1]}")
    finite(weight, "W", func=func, xp=xp)
    finite(bias, "b", func=func, xp=xp)
    return weight, bias


def interval_affine(lower: Any, upper: Any, weight: Any, bias: Any) -> tuple[Any, Any]:
    r"""Propagate a box through :math:`z=Wx+b`: :math:`[W\mu+b-|W|r,\ W\mu+b+|W|r]`.

    Parameters
    ----------
    lower, upper : array, shape (..., in)
        The box, ``lower <= upper``.
    weight : array, shape (out, in)
    bias : array, shape (out,)

    Returns
    -------
    (lower, upper) : arrays, shape (..., out)

    Raises
    ------
    ValueError
        For mismatched shapes, non-finite entries or an empty box.
    """
    lower, upper, xp = _box(lower, upper, "interval_affine")
    weight, bias = _affine(weight, bias, lower, "interval_affine")
    return _affine_bounds(lower, upper, weight, bias, xp)


def _affine_bounds(lower: Any, upper: Any, weight: Any, bias: Any, xp: Any) -> tuple[Any, Any]:
    centre = (upper + lower) / 2
    radius = (upper - lower) / 2
    mid = centre @ xp.matrix_transpose(weight) + bias
    spread = radius @ xp.matrix_transpose(xp.abs(weight))
    return mid - spread, mid + spread


def interval_relu(lower: Any, upper: Any) -> tuple[Any, Any]:
    r"""Propagate a box through the monotone ReLU: :math:`[\max(l,0),\max(u,0)]`."""
    lower, upper, xp = _box(lower, upper, "interval_relu")
    return xp.maximum(lower, 0.0), xp.maximum(upper, 0.0)


def ibp_bounds(
    network: Network,
    lower: Any,
    upper: Any,
    affine: Callable[..., tuple[Any, Any]] | None = None,
) -> tuple[Any, Any]:
    r"""Bounds of every logit of a ReLU MLP over the input box (Sec. 3, Eq. (6)).

    Parameters
    ----------
    network : sequence of (W, b)
        Layers, ReLU between them.
    lower, upper : array, shape (..., in)
        The input box (an :math:`\ell_\infty` ball is :math:`[x-\epsilon,x+\epsilon]`).
    affine : callable, optional
        The affine rule ``affine(lower, upper, W, b)``; :func:`interval_affine`
        by default (another rule is for negative controls).

    Returns
    -------
    (lower, upper) : arrays, shape (..., out)
    """
    affine = affine or interval_affine
    lower, upper, xp = _box(lower, upper, "ibp_bounds")
    for index, (weight, bias) in enumerate(network):
        lower, upper = affine(lower, upper, weight, bias)
        if index < len(network) - 1:  # ReLU is monotone: [relu(l), relu(u)]
            lower, upper = xp.maximum(lower, 0.0), xp.maximum(upper, 0.0)
    return lower, upper


def elided_margin_upper(network: Network, lower: Any, upper: Any, label: Any) -> Any:
    r"""Upper bounds of :math:`z_j-z_y` with the last layer merged into the specification.

    With :math:`c=e_j-e_y` and :math:`z_K=W_Kh+b_K`, the bound of :math:`c^\top z_K` is
    propagated through the single row :math:`c^\top W_K` (Sec. 3, "elision of the
    last layer"): :math:`(w_j-w_y)^\top\mu_h+b_j-b_y+|w_j-w_y|^\top r_h`, with
    :math:`[\mu_h\pm r_h]` the IBP box of the penultimate layer.

    Parameters
    ----------
    network : sequence of (W, b)
        At least two layers.
    lower, upper : array, shape (N, in)
    label : array of int, shape (N,)
        The true class y of each instance.

    Returns
    -------
    array, shape (N, out)
        Entry j is the bound for :math:`z_j-z_y` (0 at j = y).
    """
    if len(network) < 2:
        raise ValueError("elided_margin_upper: the network needs at least two layers")
    xp = array_namespace(lower)
    h_low, h_up = ibp_bounds(network[:-1], lower, upper)
    h_low, h_up = interval_relu(h_low, h_up)
    weight, bias = network[-1]
    outputs = weight.shape[0]
    one_hot = xp.astype(xp.arange(outputs)[None, :] == xp.reshape(label, (-1, 1)), weight.dtype)
    w_y = one_hot @ weight  # (N, in)
    b_y = one_hot @ bias  # (N,)
    merged = weight[None, :, :] - w_y[:, None, :]  # (N, out, in)
    centre = ((h_up + h_low) / 2)[:, :, None]
    radius = ((h_up - h_low) / 2)[:, :, None]
    return (
        (merged @ centre)[..., 0] + bias[None, :] - b_y[:, None] + (xp.abs(merged) @ radius)[..., 0]
    )


def worst_case_logits(lower: Any, upper: Any, label: Any) -> Any:
    r""":math:`\hat z_y=l_y`, :math:`\hat z_j=u_j` (j ≠ y): the logits of the worst-case
    cross-entropy (Sec. 3, Eq. (8)).

    Parameters
    ----------
    lower, upper : array, shape (N, K)
        Logit bounds.
    label : array of int, shape (N,)
    """
    lower, upper, xp = _box(lower, upper, "worst_case_logits")
    is_label = xp.arange(lower.shape[-1])[None, :] == xp.reshape(label, (-1, 1))
    return xp.where(is_label, lower, upper)


# --------------------------------------------------------------------------- references (NumPy)


def random_network(
    rng: np.random.Generator, widths: Sequence[int]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """A random MLP with He-scaled Gaussian weights and small biases."""
    return [
        (rng.standard_normal((o, i)) * np.sqrt(2 / i), 0.1 * rng.standard_normal(o))
        for i, o in zip(widths[:-1], widths[1:], strict=True)
    ]


def forward_numpy(network: Sequence[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """Logits of the MLP at points x (..., in), in NumPy."""
    h = x
    for index, (w, b) in enumerate(network):
        h = h @ w.T + b
        if index < len(network) - 1:
            h = np.maximum(h, 0.0)
    return h


def logit_gradients(network: Sequence[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """Jacobian of the logits at x (N, in): shape (N, out, in), NumPy."""
    jac = np.broadcast_to(np.eye(x.shape[-1]), (*x.shape[:-1], x.shape[-1], x.shape[-1]))
    h = x
    for index, (w, b) in enumerate(network):
        z = h @ w.T + b
        jac = np.einsum("oi,...ij->...oj", w, jac)
        if index < len(network) - 1:
            mask = (z > 0).astype(float)
            jac = mask[..., :, None] * jac
            h = np.maximum(z, 0.0)
    return jac


def attack(
    network: Sequence[tuple[np.ndarray, np.ndarray]],
    lower: np.ndarray,
    upper: np.ndarray,
    objective_gradient: Callable[[np.ndarray], np.ndarray],
    steps: int = 20,
) -> np.ndarray:
    """Projected signed-gradient ascent in the box from its centre (NumPy): points (N, in)."""
    x = (lower + upper) / 2
    step = (upper - lower) / 4
    for t in range(steps):
        x = np.clip(x + step * np.sign(objective_gradient(x)) / (1 + t / 4), lower, upper)
    return x


def _logit_objective(
    network: Sequence[tuple[np.ndarray, np.ndarray]], k: int, sign: float
) -> Callable[[np.ndarray], np.ndarray]:
    """Gradient of ``sign * z_k(x)`` for the attacks."""
    return lambda x: sign * logit_gradients(network, x)[:, k, :]


def _cross_entropy_objective(
    network: Sequence[tuple[np.ndarray, np.ndarray]], label: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    """Gradient of the cross-entropy CE(z(x), y) for the attacks."""

    def grad(x: np.ndarray) -> np.ndarray:
        z = forward_numpy(network, x)
        soft = scipy.special.softmax(z, axis=-1) - np.eye(z.shape[-1])[label]
        return np.einsum("no,noi->ni", soft, logit_gradients(network, x))

    return grad


def bound_allowance(network: Sequence[tuple[np.ndarray, np.ndarray]], *values: np.ndarray) -> float:
    """16 L (width + 2) EPS (1 + max|value|) (module docstring)."""
    width = max(max(w.shape) for w, _ in network)
    magnitude = max(float(np.max(np.abs(v))) for v in values)
    return 16 * len(network) * (width + 2) * EPS * (1 + magnitude)


def _on_backend(ctx: Context, fn: Callable[..., Any], *arrays: Any, **kw: Any) -> Any:
    moved = [ctx.asarray(a) if isinstance(a, np.ndarray) else a for a in arrays]
    out = fn(*moved, **kw)
    if isinstance(out, tuple):
        return tuple(np.asarray(to_numpy(o), dtype=float) for o in out)
    return np.asarray(to_numpy(out), dtype=float)


def _network_on(
    ctx: Context, network: Sequence[tuple[np.ndarray, np.ndarray]]
) -> list[tuple[Any, Any]]:
    return [(ctx.asarray(w), ctx.asarray(b)) for w, b in network]


def _instances(
    ctx: Context, stream: int
) -> list[tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray, np.ndarray, np.ndarray]]:
    """Random MLPs (2 or 3 layers, input dimension 2 to 6) with batches of l_inf balls."""
    rng = ctx.rng(stream)
    cases = []
    for trial in range(ctx.pick(6, 40)):
        depth = 2 + trial % 2
        widths = (
            [int(rng.integers(2, 7))] + [int(rng.integers(4, 9)) for _ in range(depth - 1)] + [4]
        )
        network = random_network(rng, widths)
        centre = rng.standard_normal((16, widths[0]))
        eps = 10.0 ** rng.uniform(-2, 0, (16, 1))
        cases.append((network, centre - eps, centre + eps, rng.integers(0, 4, 16)))
    return cases


def _box_points(
    rng: np.random.Generator, lower: np.ndarray, upper: np.ndarray, count: int
) -> np.ndarray:
    """Uniform points and random vertices of each box: shape (count, N, in)."""
    u = rng.random((count, *lower.shape))
    u[: count // 4] = np.round(u[: count // 4])  # vertices
    return lower + u * (upper - lower)


# --------------------------------------------------------------------------- ibp.affine-sound-tight


def signed_radius_affine(lower: Any, upper: Any, weight: Any, bias: Any) -> tuple[Any, Any]:
    r"""Control: :math:`r'=Wr` (the absolute value dropped)."""
    xp = array_namespace(lower)
    centre, radius = (upper + lower) / 2, (upper - lower) / 2
    mid = centre @ xp.matrix_transpose(weight) + bias
    spread = radius @ xp.matrix_transpose(weight)
    return mid - spread, mid + spread


def centre_only_affine(lower: Any, upper: Any, weight: Any, bias: Any) -> tuple[Any, Any]:
    r"""Control: only the centre is propagated (:math:`r'=0`)."""
    xp = array_namespace(lower)
    mid = ((upper + lower) / 2) @ xp.matrix_transpose(weight) + bias
    return mid, mid


@claim(
    "ibp.affine-sound-tight",
    paper=PAPER,
    source="Sec. 3, Eq. (6)",
    statement=(
        r"x\in[\mu-r,\mu+r]\Rightarrow Wx+b\in[W\mu+b-|W|r,\ W\mu+b+|W|r],\ "
        r"\text{bound } i \text{ attained at } x=\mu\pm\mathrm{sign}(W_i)\odot r"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control("signed-radius", r"r'=Wr", {"affine": signed_radius_affine}),
    ],
)
def affine_sound_tight(
    ctx: Context, affine: Callable[..., tuple[Any, Any]] = interval_affine
) -> Evidence:
    r"""The affine rule on the backend: sound on samples, attained at the sign vertices.

    Random W (out 1..8 x in 1..8, Gaussian, a quarter of entries set to 0), b and
    boxes (radii 1e-3 to 10, some of zero width). Parts: 256 uniform points and
    box vertices per box stay inside the bounds; for every output i the points
    :math:`\mu\pm\mathrm{sign}(W_i)\odot r` give exactly the upper and lower bound
    (equal up to rounding). Allowance: :func:`bound_allowance` with L = 1.
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}
    for trial in range(ctx.pick(8, 60)):
        out, inp = int(rng.integers(1, 9)), int(rng.integers(1, 9))
        weight = rng.standard_normal((out, inp)) * (rng.random((out, inp)) > 0.25)
        bias = rng.standard_normal(out)
        centre = rng.standard_normal((32, inp)) * 3
        radius = 10.0 ** rng.uniform(-3, 1, (32, inp)) * (rng.random((32, inp)) > 0.1)
        lower, upper = centre - radius, centre + radius
        low, up = _on_backend(ctx, affine, lower, upper, weight, bias)
        tol = bound_allowance([(weight, bias)], low, up)
        inputs = {"lower": lower, "upper": upper}
        points = _box_points(rng, lower, upper, 256)
        values = points @ weight.T + bias
        parts[f"trial {trial}: samples inside"] = checks.nonnegative(
            np.minimum(values - low, up - values).min(axis=0), tol=tol, inputs=inputs
        )
        sign = np.sign(weight)  # (out, in)
        top = centre[:, None, :] + sign[None] * radius[:, None, :]
        bottom = centre[:, None, :] - sign[None] * radius[:, None, :]
        parts[f"trial {trial}: upper bound attained"] = checks.compare(
            np.einsum("noi,oi->no", top, weight) + bias, up, atol=tol, inputs=inputs
        )
        parts[f"trial {trial}: lower bound attained"] = checks.compare(
            np.einsum("noi,oi->no", bottom, weight) + bias, low, atol=tol, inputs=inputs
        )
    return checks.combine(parts)


# --------------------------------------------------------------------------- ibp.network-sound


@claim(
    "ibp.network-sound",
    paper=PAPER,
    source="Sec. 3, Eqs. (5)-(6)",
    statement=(
        r"\|x-x_0\|_\infty\le\epsilon\Rightarrow \underline z_K\le z_K(x)\le\overline z_K"
        r"\ \text{(IBP through a ReLU MLP)}"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control("signed-radius", r"r'=Wr\ \text{in every layer}", {"affine": signed_radius_affine}),
        Control("centre-only", r"\text{propagate the centre only}", {"affine": centre_only_affine}),
    ],
)
def network_sound(
    ctx: Context, affine: Callable[..., tuple[Any, Any]] = interval_affine
) -> Evidence:
    r"""IBP logit bounds (backend) contain the logits at samples and at attacks.

    Random 2- and 3-layer ReLU MLPs (input dimension 2 to 6, 4 logits), 16
    :math:`\ell_\infty` balls each (ε from 1e-2 to 1). Points: 128 uniform points and
    vertices per ball, and for every logit a 20-step signed-gradient attack
    maximising and one minimising it (NumPy). Every logit must lie in its bounds,
    up to :func:`bound_allowance`.
    """
    rng = ctx.rng(1)
    parts: dict[str, Evidence] = {}
    for index, (network, lower, upper, _) in enumerate(_instances(ctx, 0)):
        low, up = _on_backend(
            ctx, ibp_bounds, _network_on(ctx, network), lower, upper, affine=affine
        )
        points = [_box_points(rng, lower, upper, 128)]
        for k in range(4):
            for sign in (1.0, -1.0):
                points.append(
                    attack(network, lower, upper, _logit_objective(network, k, sign))[None]
                )
        values = forward_numpy(network, np.concatenate(points))
        tol = bound_allowance(network, low, up)
        parts[f"network {index}: logits inside IBP bounds"] = checks.nonnegative(
            np.minimum(values - low, up - values).min(axis=0),
            tol=tol,
            inputs={"lower": lower, "upper": upper},
        )
    return checks.combine(parts)


# --------------------------------------------------------------------------- ibp.elision-tighter


@claim(
    "ibp.elision-tighter",
    paper=PAPER,
    source="Sec. 3 (elision of the last layer)",
    statement=(
        r"c=e_j-e_y:\ \overline{c^\top z_K}\big|_{c^\top W_K}\le\overline z_j-\underline z_y,"
        r"\ \text{strictly in generic cases}"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "naive-tighter",
            r"\overline z_j-\underline z_y\le\overline{c^\top z_K}\big|_{c^\top W_K}",
            {"elided_tighter": False},
        )
    ],
)
def elision_tighter(ctx: Context, elided_tighter: bool = True) -> Evidence:
    r"""Merged-row bound against the naive :math:`u_j-l_y`, and its soundness.

    Per instance and class j ≠ y: with ``elided_tighter`` the elided bound
    (:func:`elided_margin_upper`, backend) must not exceed :math:`u_j-l_y`
    (:func:`ibp_bounds`), else the reverse; the improvement is strict exactly where
    some penultimate unit has a box of positive width and weights :math:`w_{j,k}`,
    :math:`w_{y,k}` of the same sign (where
    :math:`|w_{j,k}-w_{y,k}|<|w_{j,k}|+|w_{y,k}|`): the two predicates must agree
    (strict meaning above 1e3 times the allowance); and the elided bound is sound:
    it exceeds :math:`z_j-z_y` at samples and attacks.
    """
    rng = ctx.rng(1)
    slack, strict, expected_strict, sound = [], [], [], []
    for network, lower, upper, label in _instances(ctx, 0):
        on = _network_on(ctx, network)
        low, up = _on_backend(ctx, ibp_bounds, on, lower, upper)
        elided = _on_backend(ctx, elided_margin_upper, on, lower, upper, ctx.asarray(label))
        naive = up - low[np.arange(label.size), label][:, None]
        others = np.arange(4)[None, :] != label[:, None]
        tol = bound_allowance(network, low, up, elided)
        gain = naive - elided
        slack.append(np.where(others, gain if elided_tighter else -gain, np.inf).min(axis=1) + tol)
        h_low, h_up = (
            np.maximum(v, 0.0) for v in _on_backend(ctx, ibp_bounds, on[:-1], lower, upper)
        )
        w_last = network[-1][0]
        same_sign = np.sign(w_last)[None, :, :] * np.sign(w_last[label])[:, None, :] > 0
        wide = (h_up - h_low > 0)[:, None, :]
        expected = np.any(same_sign & wide, axis=2)
        strict.append(gain[others] > 1e3 * tol)
        expected_strict.append(expected[others])
        points = np.concatenate([_box_points(rng, lower, upper, 64)])
        z = forward_numpy(network, points)
        margins = z - np.take_along_axis(
            z, np.broadcast_to(label[None, :, None], (z.shape[0], label.size, 1)), axis=2
        )
        sound.append((elided - margins).min(axis=0)[others] + tol)
    parts = {
        "elided vs naive": checks.nonnegative(np.concatenate(slack)),
        "strict exactly when a same-sign unit is active": checks.agree(
            np.concatenate(strict), np.concatenate(expected_strict), names=("strict", "predicted")
        ),
        "elided bound is sound": checks.nonnegative(np.concatenate(sound)),
    }
    evidence = checks.combine(parts)
    evidence.details["strict improvements"] = (
        f"{int(np.concatenate(strict).sum())} of {np.concatenate(strict).size}"
    )
    return evidence


# --------------------------------------------------------------------------- ibp.worst-case-ce


def upper_label_logits(lower: Any, upper: Any, label: Any) -> Any:
    r"""Control: :math:`\hat z_y=u_y` (the label's upper bound), :math:`\hat z_j=u_j`."""
    return upper


def _cross_entropy(z: np.ndarray, label: np.ndarray) -> np.ndarray:
    picked = np.take_along_axis(z, np.broadcast_to(label[..., None], (*z.shape[:-1], 1)), axis=-1)[
        ..., 0
    ]
    return scipy.special.logsumexp(z, axis=-1) - picked


@claim(
    "ibp.worst-case-ce",
    paper=PAPER,
    source="Sec. 3, Eq. (8)",
    statement=(
        r"\hat z_y=\underline z_y,\ \hat z_j=\overline z_j\ (j\ne y)\Rightarrow "
        r"CE(\hat z,y)\ge\max_{\|x-x_0\|_\infty\le\epsilon}CE(z(x),y)"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control("label-upper-bound", r"\hat z_y=\overline z_y", {"logits": upper_label_logits})
    ],
)
def worst_case_ce(
    ctx: Context, logits: Callable[[Any, Any, Any], Any] = worst_case_logits
) -> Evidence:
    r"""CE at the candidate logits (backend) dominates CE at samples and CE attacks.

    Same instances as ``ibp.network-sound``; points: 128 uniform points and
    vertices per ball plus a 20-step signed-gradient ascent on CE (NumPy). CE is
    decreasing in :math:`z_y` and increasing in each :math:`z_j`, so the paper's
    :math:`\hat z` bounds it. Allowance: :func:`bound_allowance` (CE is
    1-Lipschitz in each logit in the max-norm, up to a factor 2).
    """
    rng = ctx.rng(1)
    parts: dict[str, Evidence] = {}
    for index, (network, lower, upper, label) in enumerate(_instances(ctx, 0)):
        low, up = _on_backend(ctx, ibp_bounds, _network_on(ctx, network), lower, upper)
        worst = _on_backend(ctx, logits, low, up, ctx.asarray(label))
        bound = _cross_entropy(worst, label)

        grad = _cross_entropy_objective(network, label)
        points = np.concatenate(
            [_box_points(rng, lower, upper, 128), attack(network, lower, upper, grad)[None]]
        )
        attained = _cross_entropy(
            forward_numpy(network, points), np.broadcast_to(label, points.shape[:2])
        ).max(axis=0)
        parts[f"network {index}: CE(z_hat) >= max CE"] = checks.nonnegative(
            bound - attained,
            tol=2 * bound_allowance(network, low, up),
            inputs={"lower": lower, "upper": upper, "label": label},
        )
    return checks.combine(parts)
