r"""Double gradient projection (Ru et al., arXiv 2402.11196, 2024), Sec. 3 (Method).

*Maintaining Adversarial Robustness in Continuous Learning*: claims of
``shared/claims/catalog.md`` §42.

A layer :math:`z=Wh` is updated by :math:`\Delta W=-\eta(I-VV^\top)G(I-UU^\top)`, where the
columns of U are an orthonormal basis of the old task's layer inputs h and those of V one of
the old task's back-propagated gradients :math:`\delta=\partial(a^\top f)/\partial z` at the
layer's output. Then :math:`\Delta Wh=0` on :math:`\operatorname{span}U` (outputs kept, the
GPM half) and :math:`\Delta W^\top\delta=0` on :math:`\operatorname{span}V` (input gradients
:math:`W^\top\delta` kept, the half that keeps the smoothed sample gradients of the defence).
The bases come from an SVD of the old activations, truncated by an energy threshold as in GPM
(Saha et al., ICLR 2021); the paper's exact threshold rule is not confirmed.

Claims:

- ``dgp.double-projection`` [unconfirmed numbering]: the exact statement for a linear layer
  and for linear networks with per-layer projections (every x in span U_1, every a in span
  V_L).
- ``dgp.relu-exact-on-samples`` [derived]: for a bias-free ReLU MLP with per-layer bases of
  the old samples' layer inputs and back-propagated loss gradients, the old outputs and the
  old loss's input gradients at those samples are kept *exactly* after any number of
  projected steps: each layer's pre-activations on the samples are unchanged, hence so are
  the ReLU patterns, and each back-propagated vector is unchanged layer by layer. The
  specification's "for deep ReLU networks only to first order in :math:`\eta`" is therefore
  conservative at the samples; off the samples (other x in span U_1) the change is of first
  order in :math:`\eta`, not second (the ``whole-span`` control).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from theorycheck import checks, validate
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "dgp"
"""Key of the paper in the seed catalog."""

EPS = float(np.finfo(np.float64).eps)
ORTHONORMALITY_TOL = 1e-8
r"""Largest accepted :math:`\max|B^\top B-I|` of a basis: about :math:`\sqrt{\epsilon}`, far
above the rounding of a QR or SVD basis (a few n EPS) and far below any basis that was
never orthonormalised."""
ACTIVATIONS = ("relu", "linear")


def _check_eta(eta: Any, func: str) -> float:
    if (
        not isinstance(eta, int | float)
        or isinstance(eta, bool)
        or not math.isfinite(eta)
        or not eta > 0
    ):
        raise ValueError(f"{func}: eta must be a finite number > 0, got {eta!r}")
    return float(eta)


def _check_activation(activation: Any, func: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"{func}: activation must be one of {ACTIVATIONS}, got {activation!r}")
    return activation


def _check_orthonormal(basis: Any, name: str, func: str, size: int) -> Any:
    """A finite (..., size, k) basis with orthonormal columns, else ``ValueError``."""
    basis = validate.finite_real_array(basis, name, func=func, min_ndim=2)
    xp = array_namespace(basis)
    if basis.shape[-2] != size:
        raise ValueError(
            f"{func}: {name} must have shape (..., {size}, k), got {tuple(basis.shape)}"
        )
    k = basis.shape[-1]
    gram = xp.matmul(xp.matrix_transpose(basis), basis)
    deviation = float(xp.max(xp.abs(gram - xp.eye(k, dtype=basis.dtype)))) if k else 0.0
    if deviation > ORTHONORMALITY_TOL:
        raise ValueError(
            f"{func}: {name} must have orthonormal columns, max|B^T B - I| = {deviation:.3g} "
            f"> {ORTHONORMALITY_TOL:g}"
        )
    return basis


def orthonormal_basis(samples: Any, *, energy: float = 1.0) -> Any:
    r"""Orthonormal basis of the span of old-task samples, by a thresholded SVD.

    With the samples as the rows of :math:`R=\sum_i\sigma_iu_iv_i^\top` (:math:`\sigma`
    decreasing), the basis is :math:`[v_1,\dots,v_k]` with k the smallest count such that
    :math:`\sum_{i\le k}\sigma_i^2\ge\text{energy}\sum_i\sigma_i^2` (GPM's criterion, Saha et
    al. 2021; the threshold DGP uses is not confirmed), and never more than the numerical
    rank: the singular values :math:`\sigma_i>\max(N,n)\,\epsilon\,\sigma_1` (the cutoff of
    ``numpy.linalg.matrix_rank``). With ``energy=1`` the basis spans the samples to rounding.

    Parameters
    ----------
    samples : array, shape (..., N, n)
        Old-task vectors (layer inputs, or back-propagated gradients) as rows; leading axes
        index independent instances.
    energy : float
        Fraction of :math:`\|R\|_F^2` to keep, in (0, 1].

    Returns
    -------
    array, shape (..., n, k)
        Orthonormal columns. Over a batch, k is the largest per-instance count, so every
        instance's basis spans at least its own selection.
    """
    func = "orthonormal_basis"
    samples = validate.finite_real_array(samples, "samples", func=func, min_ndim=2)
    if not isinstance(energy, int | float) or isinstance(energy, bool) or not 0 < energy <= 1:
        raise ValueError(f"{func}: energy must be a number in (0, 1], got {energy!r}")
    xp = array_namespace(samples)
    n_rows, n = samples.shape[-2], samples.shape[-1]
    if n_rows == 0 or n == 0:
        raise ValueError(f"{func}: samples must be non-empty, got shape {tuple(samples.shape)}")
    _, sigma, vh = xp.linalg.svd(samples, full_matrices=False)
    s = np.asarray(to_numpy(sigma), dtype=float).reshape(-1, sigma.shape[-1])
    if not np.all(s[:, 0] > 0):
        raise ValueError(f"{func}: samples contain an all-zero instance (no subspace to span)")
    rank = np.sum(s > max(n_rows, n) * EPS * s[:, :1], axis=1)
    cumulative = np.cumsum(s**2, axis=1)
    total = cumulative[:, -1:]
    # the slack n EPS total absorbs the rounding of the cumulative sum at energy = 1
    enough = cumulative >= energy * total - s.shape[1] * EPS * total
    k_energy = np.argmax(enough, axis=1) + 1
    k = int(np.max(np.minimum(rank, k_energy)))
    return xp.matrix_transpose(vh[..., :k, :])


def projected_update(
    gradient: Any, input_basis: Any, output_basis: Any | None = None, *, eta: float
) -> Any:
    r"""The double-projected update :math:`\Delta W=-\eta(I-VV^\top)G(I-UU^\top)`.

    Computed as :math:`P=G-(GU)U^\top`, :math:`\Delta W=-\eta(P-V(V^\top P))` (no projector
    matrix is formed). Without ``output_basis`` it is the one-sided (GPM) update
    :math:`-\eta G(I-UU^\top)`, which keeps the outputs on span U but not :math:`W^\top a`.

    Parameters
    ----------
    gradient : array, shape (..., m, n)
        G, the gradient of the new task's loss with respect to W (h in R^n, z in R^m).
    input_basis : array, shape (..., n, k)
        U, orthonormal columns spanning the old layer inputs.
    output_basis : array, shape (..., m, l), optional
        V, orthonormal columns spanning the old back-propagated output gradients.
    eta : float
        Step size, > 0.

    Returns
    -------
    array, shape (..., m, n)
    """
    func = "projected_update"
    eta = _check_eta(eta, func)
    gradient = validate.finite_real_array(gradient, "gradient", func=func, min_ndim=2)
    xp = array_namespace(gradient)
    m, n = gradient.shape[-2], gradient.shape[-1]
    u = _check_orthonormal(input_basis, "input_basis", func, n)
    projected = gradient - xp.matmul(xp.matmul(gradient, u), xp.matrix_transpose(u))
    if output_basis is not None:
        v = _check_orthonormal(output_basis, "output_basis", func, m)
        projected = projected - xp.matmul(v, xp.matmul(xp.matrix_transpose(v), projected))
    return -eta * projected


def _check_network(weights: Any, func: str) -> list[Any]:
    if isinstance(weights, str | bytes) or not isinstance(weights, Sequence) or not weights:
        raise ValueError(f"{func}: weights must be a non-empty sequence of matrices")
    checked = []
    for index, w in enumerate(weights):
        w = validate.finite_real_array(w, f"weights[{index}]", func=func, min_ndim=2)
        if checked and w.shape[-1] != checked[-1].shape[-2]:
            raise ValueError(
                f"{func}: weights[{index}] has shape {tuple(w.shape)}, which does not take the "
                f"{checked[-1].shape[-2]} outputs of weights[{index - 1}]"
            )
        checked.append(w)
    return checked


def mlp_forward(
    weights: Sequence[Any], x: Any, *, activation: str = "relu"
) -> tuple[list[Any], list[Any], Any]:
    r"""Forward pass of a bias-free MLP :math:`f(x)=W_L\sigma(W_{L-1}\cdots\sigma(W_1x))`.

    Parameters
    ----------
    weights : sequence of L arrays, shapes (..., n_l, n_{l-1})
        :math:`W_1,\dots,W_L`; leading axes index instances (broadcast with x's).
    x : array, shape (..., N, n_0)
        N input rows.
    activation : {"relu", "linear"}
        :math:`\sigma` of the hidden layers; the last layer is linear.

    Returns
    -------
    inputs : list of L arrays, shapes (..., N, n_{l-1})
        The layer inputs :math:`h_0=x,h_1,\dots,h_{L-1}`.
    preactivations : list of L arrays, shapes (..., N, n_l)
        :math:`z_l=W_lh_{l-1}`.
    output : array, shape (..., N, n_L)
        :math:`f(x)=z_L`.
    """
    func = "mlp_forward"
    activation = _check_activation(activation, func)
    weights = _check_network(weights, func)
    x = validate.finite_real_array(x, "x", func=func, min_ndim=2)
    if x.shape[-1] != weights[0].shape[-1]:
        raise ValueError(
            f"{func}: x must have {weights[0].shape[-1]} columns, got shape {tuple(x.shape)}"
        )
    xp = array_namespace(x)
    inputs, preactivations = [], []
    h = x
    for index, w in enumerate(weights):
        inputs.append(h)
        z = xp.matmul(h, xp.matrix_transpose(w))
        preactivations.append(z)
        last = index == len(weights) - 1
        h = z if last or activation == "linear" else xp.where(z > 0, z, xp.zeros_like(z))
    return inputs, preactivations, h


def mlp_backward(
    weights: Sequence[Any],
    preactivations: Sequence[Any] | None,
    cotangent: Any,
    *,
    activation: str = "relu",
) -> tuple[list[Any], Any]:
    r"""Back-propagation of output cotangents a through a bias-free MLP.

    :math:`\delta_L=a`, :math:`\delta_l=\sigma'(z_l)\odot W_{l+1}^\top\delta_{l+1}`, and the
    input gradient :math:`\nabla_x(a^\top f(x))=W_1^\top\delta_1` (row by row; for the loss
    input gradient pass :math:`a=\partial\ell/\partial f`). :math:`\mathrm{relu}'(0)=0`.

    Parameters
    ----------
    weights : sequence of L arrays, shapes (..., n_l, n_{l-1})
    preactivations : sequence of L arrays, shapes (..., N, n_l), or None
        :math:`z_l` from :func:`mlp_forward` at the same N rows; unused (may be None) for
        ``activation="linear"``, whose backward pass does not depend on x.
    cotangent : array, shape (..., N, n_L)
        One output cotangent per row.
    activation : {"relu", "linear"}

    Returns
    -------
    deltas : list of L arrays, shapes (..., N, n_l)
        :math:`\delta_l=\partial(a^\top f)/\partial z_l`.
    input_gradient : array, shape (..., N, n_0)
    """
    func = "mlp_backward"
    activation = _check_activation(activation, func)
    weights = _check_network(weights, func)
    cotangent = validate.finite_real_array(cotangent, "cotangent", func=func, min_ndim=2)
    if cotangent.shape[-1] != weights[-1].shape[-2]:
        raise ValueError(
            f"{func}: cotangent must have {weights[-1].shape[-2]} columns, got shape "
            f"{tuple(cotangent.shape)}"
        )
    if activation == "relu":
        if preactivations is None or len(preactivations) != len(weights):
            got = None if preactivations is None else len(preactivations)
            raise ValueError(
                f"{func}: need one preactivation per layer ({len(weights)}), got {got}"
            )
        for index, z in enumerate(preactivations):
            z = validate.finite_real_array(z, f"preactivations[{index}]", func=func, min_ndim=2)
            expected = (cotangent.shape[-2], weights[index].shape[-2])
            if tuple(z.shape[-2:]) != expected:
                raise ValueError(
                    f"{func}: preactivations[{index}] must have shape (..., {expected[0]}, "
                    f"{expected[1]}), got {tuple(z.shape)}"
                )
    xp = array_namespace(cotangent)
    deltas: list[Any] = [None] * len(weights)
    g = cotangent
    for index in range(len(weights) - 1, -1, -1):
        if index < len(weights) - 1 and activation == "relu":
            z = preactivations[index]
            g = xp.where(z > 0, g, xp.zeros_like(g))
        deltas[index] = g
        g = xp.matmul(g, weights[index])
    return deltas, g


def projected_training(
    weights: Sequence[Any],
    x: Any,
    y: Any,
    input_bases: Sequence[Any],
    output_bases: Sequence[Any] | None,
    *,
    eta: float,
    steps: int,
    activation: str = "relu",
) -> list[list[Any]]:
    r"""Full-batch gradient descent on a new task with per-layer projected updates.

    Loss :math:`L=\frac1{2N}\sum_i\|f(x_i)-y_i\|^2`; layer l's gradient
    :math:`G_l=\sum_i\delta_{l,i}h_{l-1,i}^\top` (cotangent :math:`(f(x_i)-y_i)/N`) is
    replaced by :func:`projected_update` with :math:`U_l` (and :math:`V_l`; ``None`` gives
    the one-sided update). The bases stay fixed over the steps, as in DGP within a task.

    Parameters
    ----------
    weights : sequence of L arrays, shapes (..., n_l, n_{l-1})
    x : array, shape (..., N, n_0)
    y : array, shape (..., N, n_L)
    input_bases : sequence of L arrays, shapes (..., n_{l-1}, k_l)
    output_bases : sequence of L arrays, shapes (..., n_l, j_l), or None
    eta : float
        Step size, > 0.
    steps : int
        Number of steps, >= 1.
    activation : {"relu", "linear"}

    Returns
    -------
    list of steps + 1 weight lists
        The iterates, the initial weights first.
    """
    func = "projected_training"
    eta = _check_eta(eta, func)
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"{func}: steps must be an integer >= 1, got {steps!r}")
    weights = _check_network(weights, func)
    y = validate.finite_real_array(y, "y", func=func, min_ndim=2)
    if y.shape[-1] != weights[-1].shape[-2]:
        raise ValueError(
            f"{func}: y must have {weights[-1].shape[-2]} columns, got shape {tuple(y.shape)}"
        )
    count = len(weights)
    if len(input_bases) != count or (output_bases is not None and len(output_bases) != count):
        raise ValueError(f"{func}: need one basis per layer ({count}) for each side")
    iterates = [list(weights)]
    current = list(weights)
    for _ in range(steps):
        inputs, preactivations, output = mlp_forward(current, x, activation=activation)
        xp = array_namespace(output)
        cotangent = (output - y) / output.shape[-2]
        deltas, _ = mlp_backward(current, preactivations, cotangent, activation=activation)
        updated = []
        for index, w in enumerate(current):
            gradient = xp.matmul(xp.matrix_transpose(deltas[index]), inputs[index])
            v = None if output_bases is None else output_bases[index]
            updated.append(w + projected_update(gradient, input_bases[index], v, eta=eta))
        current = updated
        iterates.append(current)
    return iterates


# --------------------------------------------------------------------------- instances


def _low_rank(rng: np.random.Generator, shape: tuple[int, ...], rank: int) -> np.ndarray:
    """Rows in a random rank-``rank`` subspace: (..., N, rank) @ (..., rank, n)."""
    *batch, rows, n = shape
    return rng.standard_normal((*batch, rows, rank)) @ rng.standard_normal((*batch, rank, n))


def _network(rng: np.random.Generator, batch: int, widths: Sequence[int]) -> list[np.ndarray]:
    """He-scaled Gaussian weights, W_l of shape (batch, widths[l+1], widths[l])."""
    return [
        rng.standard_normal((batch, n_out, n_in)) * math.sqrt(2.0 / n_in)
        for n_in, n_out in zip(widths[:-1], widths[1:], strict=True)
    ]


def _norm(x: np.ndarray) -> np.ndarray:
    """Euclidean norm along the last axis."""
    return np.linalg.norm(x, axis=-1)


def _weight_scale(iterates: list[list[Any]]) -> np.ndarray:
    r""":math:`\prod_l\max_t\|W_l^{(t)}\|_F` per instance (Frobenius >= spectral)."""
    scale = 1.0
    for layer in range(len(iterates[0])):
        norms = np.stack(
            [np.linalg.norm(np.asarray(to_numpy(it[layer])), axis=(-2, -1)) for it in iterates]
        )
        scale = scale * norms.max(axis=0)
    return np.asarray(scale)


def _network_tolerance(
    iterates: list[list[Any]], steps: int, width: int, vector_norm: np.ndarray
) -> np.ndarray:
    r"""Rounding allowance :math:`4(L+T)\,n\,\epsilon\prod_l\max_t\|W_l^{(t)}\|_F\|v\|`.

    First-order rounding model: each of the L layer products of the two passes compared
    and each of the T projected updates (whose residual on the old vectors is one basis
    projection, :math:`\lesssim n\epsilon\|\Delta W\|`, with
    :math:`\|\Delta W\|\le2\max_t\|W^{(t)}\|`) adds at most :math:`n\epsilon` times the
    product of the layer norms and :math:`\|v\|` (n = the largest width, which bounds the
    inner-product lengths and the numerical-rank cutoff :math:`\max(N,n)\epsilon\sigma_1` of
    the bases); the factor 4 covers the two passes and the factor 2.
    """
    layers = len(iterates[0])
    scale = _weight_scale(iterates)
    return 4 * (layers + steps) * width * EPS * scale[:, None] * vector_norm


def _loss(output: Any, y: Any) -> np.ndarray:
    """Per-instance loss (1/2N) sum ||f - y||^2, on the host."""
    diff = np.asarray(to_numpy(output)) - np.asarray(to_numpy(y))
    return 0.5 * np.mean(np.sum(diff**2, axis=-1), axis=-1)


def _slope(etas: Sequence[float], changes: Sequence[float]) -> float:
    """Least-squares slope of log(change) on log(eta)."""
    values = np.maximum(np.asarray(changes, dtype=float), np.finfo(float).tiny)
    return float(np.polyfit(np.log(np.asarray(etas)), np.log(values), 1)[0])


# --------------------------------------------------------------------------- claims


@claim(
    "dgp.double-projection",
    paper=PAPER,
    source="Sec. 3 (Method: double gradient projection)",
    statement=(
        r"\Delta W=-\eta(I-VV^\top)G(I-UU^\top)\Rightarrow\Delta Wx=0\ \forall x\in"
        r"\operatorname{span}U,\ \Delta W^\top a=0\ \forall a\in\operatorname{span}V;"
        r"\ \text{per layer in a linear network: }f(x),\ J^\top a\ \text{unchanged}"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "one-sided",
            r"\Delta W=-\eta G(I-UU^\top)\ \text{also keeps the input gradients }W^\top a",
            {"sides": "one"},
        )
    ],
)
def double_projection(ctx: Context, sides: str = "double") -> Evidence:
    r"""Exact preservation on a linear layer and on linear networks (float64, rounding only).

    Linear layer: 200 (quick) / 2000 (full) instances on an array axis, W in R^{6x8}; U from
    :func:`orthonormal_basis` (energy 0.95) of 12 old inputs with a decaying spectrum, V
    likewise of 12 old output gradients; Gaussian G, :math:`\eta=0.1`; 4 test vectors
    :math:`x=Uc` and :math:`a=Vc'`. Parts: :math:`|\Delta Wx|` and :math:`|\Delta W^\top a|`
    below :math:`4(n+m)\epsilon\,\eta\|G\|_F\|x\|` (the forming of :math:`P` and
    :math:`\Delta Wx` is a few inner products of length <= n + m, each with relative error
    n EPS, on vectors of size :math:`\eta\|G\|\|x\|`); and the update is not zero:
    :math:`\|\Delta W\|_F\ge10^{-6}\eta\|G\|_F` (rounding is 1e-15; a generic projected G
    keeps O(1) of its norm).

    Linear networks: 20 / 100 instances, widths 8-16-16-6; 4 old inputs in a random 3-dim
    subspace (U_l: the spans of their layer inputs, energy 1) and 3 old output gradients
    in a random 2-dim subspace (V_l: their back-propagated spans); 5 projected full-batch
    steps (:math:`\eta=0.01`) on a new regression task of 32 Gaussian samples. Parts, at 5
    *fresh* x in span U_1 and a in span V_L: :math:`f_T(x)=f_0(x)` and
    :math:`J_T^\top a=J_0^\top a` within :func:`_network_tolerance`; and the new-task loss
    decreased (the projected steps do move the network).

    ``sides="one"`` (the control) drops V from every update.
    """
    if sides not in ("double", "one"):
        raise ValueError(f"double_projection: sides must be 'double' or 'one', got {sides!r}")
    rng = ctx.rng(0)
    count, n, m, eta = ctx.pick(200, 2000), 8, 6, 0.1
    decay_in, decay_out = 0.6 ** np.arange(n), 0.6 ** np.arange(m)
    old_inputs = rng.standard_normal((count, 12, n)) * decay_in
    old_outputs = rng.standard_normal((count, 12, m)) * decay_out
    u = orthonormal_basis(ctx.asarray(old_inputs), energy=0.95)
    v = orthonormal_basis(ctx.asarray(old_outputs), energy=0.95)
    gradient = rng.standard_normal((count, m, n))
    x = np.asarray(to_numpy(u)) @ rng.standard_normal((count, u.shape[-1], 4))  # (count, n, 4)
    a = np.asarray(to_numpy(v)) @ rng.standard_normal((count, v.shape[-1], 4))  # (count, m, 4)
    update = projected_update(ctx.asarray(gradient), u, v if sides == "double" else None, eta=eta)
    xp = ctx.xp
    moved_x = np.asarray(to_numpy(xp.matmul(update, ctx.asarray(x))))
    moved_a = np.asarray(to_numpy(xp.matmul(xp.matrix_transpose(update), ctx.asarray(a))))
    g_norm = np.linalg.norm(gradient, axis=(-2, -1))
    layer_tol = 4 * (n + m) * EPS * eta * g_norm
    update_norm = np.linalg.norm(np.asarray(to_numpy(update)), axis=(-2, -1))
    parts = {
        "layer: Delta W x = 0 on span U": checks.compare(
            moved_x, 0.0, atol=layer_tol * _norm(np.swapaxes(x, -1, -2)).max(axis=-1)
        ),
        "layer: Delta W^T a = 0 on span V": checks.compare(
            moved_a, 0.0, atol=layer_tol * _norm(np.swapaxes(a, -1, -2)).max(axis=-1)
        ),
        "layer: update not zero": checks.nonnegative(update_norm - 1e-6 * eta * g_norm),
    }

    net_count, widths, steps, net_eta = ctx.pick(20, 100), (8, 16, 16, 6), 5, 0.01
    weights = [ctx.asarray(w) for w in _network(rng, net_count, widths)]
    basis_x = np.linalg.qr(rng.standard_normal((net_count, widths[0], 3)))[0]
    basis_a = np.linalg.qr(rng.standard_normal((net_count, widths[-1], 2)))[0]
    x_old = rng.standard_normal((net_count, 4, 3)) @ np.swapaxes(basis_x, -1, -2)
    a_old = rng.standard_normal((net_count, 3, 2)) @ np.swapaxes(basis_a, -1, -2)
    inputs, _, _ = mlp_forward(weights, ctx.asarray(x_old), activation="linear")
    deltas, _ = mlp_backward(weights, None, ctx.asarray(a_old), activation="linear")
    input_bases = [orthonormal_basis(h) for h in inputs]
    output_bases = [orthonormal_basis(d) for d in deltas]
    x_new = ctx.asarray(rng.standard_normal((net_count, 32, widths[0])))
    y_new = ctx.asarray(rng.standard_normal((net_count, 32, widths[-1])))
    iterates = projected_training(
        weights,
        x_new,
        y_new,
        input_bases,
        output_bases if sides == "double" else None,
        eta=net_eta,
        steps=steps,
        activation="linear",
    )
    u1 = np.asarray(to_numpy(input_bases[0]))
    v_last = np.asarray(to_numpy(output_bases[-1]))
    x_test = rng.standard_normal((net_count, 5, u1.shape[-1])) @ np.swapaxes(u1, -1, -2)
    a_test = rng.standard_normal((net_count, 5, v_last.shape[-1])) @ np.swapaxes(v_last, -1, -2)
    outputs, gradients = [], []
    for current in (iterates[0], iterates[-1]):
        _, pre, out = mlp_forward(current, ctx.asarray(x_test), activation="linear")
        _, grad = mlp_backward(current, None, ctx.asarray(a_test), activation="linear")
        outputs.append(np.asarray(to_numpy(out)))
        gradients.append(np.asarray(to_numpy(grad)))
    width = max(widths)
    out_tol = _network_tolerance(iterates, steps, width, _norm(x_test))[..., None]
    grad_tol = _network_tolerance(iterates, steps, width, _norm(a_test))[..., None]
    loss_before = _loss(mlp_forward(iterates[0], x_new, activation="linear")[2], y_new)
    loss_after = _loss(mlp_forward(iterates[-1], x_new, activation="linear")[2], y_new)
    parts |= {
        "linear net: f(x) unchanged on span U_1": checks.compare(
            outputs[1] - outputs[0], 0.0, atol=out_tol
        ),
        "linear net: J^T a unchanged on span V_L": checks.compare(
            gradients[1] - gradients[0], 0.0, atol=grad_tol
        ),
        "linear net: new-task loss decreases": checks.nonnegative(loss_before - loss_after),
    }
    evidence = checks.combine(parts)
    evidence.details["basis sizes (k, l)"] = (int(u.shape[-1]), int(v.shape[-1]))
    return evidence


@claim(
    "dgp.relu-exact-on-samples",
    paper=PAPER,
    source="Sec. 3 (per-layer double projection; derived here)",
    statement=(
        r"\text{bias-free ReLU MLP},\ U_l\supseteq\operatorname{span}\{h_{l-1}(x_i)\},\ "
        r"V_l\supseteq\operatorname{span}\{\delta_l(x_i)\}:\ f_T(x_i)=f_0(x_i),\ "
        r"\nabla_x\ell(f_T(x_i),y_i)=\nabla_x\ell(f_0(x_i),y_i)\ \text{exactly for all }\eta,T"
    ),
    method="numeric",
    provenance="derived",
    controls=[
        Control(
            "one-sided",
            r"\Delta W_l=-\eta G_l(I-U_lU_l^\top)\ \text{also keeps }\nabla_x\ell(x_i)",
            {"sides": "one"},
        ),
        Control(
            "whole-span",
            r"\text{as for linear networks, }f_T(x)=f_0(x)\ \forall x\in\operatorname{span}U_1",
            {"points": "held-out"},
        ),
    ],
)
def relu_exact_on_samples(ctx: Context, sides: str = "double", points: str = "basis") -> Evidence:
    r"""A bias-free ReLU MLP 8-24-24-6, 10 (quick) / 50 (full) instances on an array axis.

    Old task: 4 unit inputs in a random 3-dim subspace of R^8 with Gaussian targets,
    squared loss; U_l spans their layer inputs, V_l their back-propagated loss gradients
    :math:`\delta_l` (each sample with its own cotangent :math:`f_0(x_i)-y_i`), energy 1.
    New task: 32 Gaussian samples (norm about 1) and targets, 5 projected full-batch steps,
    for :math:`\eta\in\{0.01,0.005,0.0025,0.00125\}`. Parts, over all :math:`\eta` and
    instances: the outputs and the loss input gradients :math:`J^\top(f-y)` at the
    evaluation points agree before and after within :func:`_network_tolerance` (rounding
    only: the claim is that no :math:`O(\eta^2)` term exists there); the new-task loss
    decreased. ``details`` give, per :math:`\eta`, the median over instances of the largest
    change, and the log-log slopes against :math:`\eta` (about 1 for a first-order change,
    2 for a second-order one; meaningless at rounding level). The median, not the maximum:
    at held-out points a ReLU pattern may flip, a jump that no power of :math:`\eta` fits.

    Controls: ``sides="one"`` drops V (the input gradients change at first order);
    ``points="held-out"`` evaluates at fresh points of span U_1 with fresh targets instead
    of the basis samples (the hidden inputs :math:`\mathrm{relu}(W_1x)` leave
    :math:`\operatorname{span}U_2`, so the outputs change at first order).
    """
    if sides not in ("double", "one"):
        raise ValueError(f"relu_exact_on_samples: sides must be 'double' or 'one', got {sides!r}")
    if points not in ("basis", "held-out"):
        raise ValueError(
            f"relu_exact_on_samples: points must be 'basis' or 'held-out', got {points!r}"
        )
    rng = ctx.rng(0)
    count, widths, steps = ctx.pick(10, 50), (8, 24, 24, 6), 5
    etas = (0.01, 0.005, 0.0025, 0.00125)
    weights = [ctx.asarray(w) for w in _network(rng, count, widths)]
    x_old = _low_rank(rng, (count, 4, widths[0]), 3)
    x_old /= _norm(x_old)[..., None]  # unit rows: outputs and gradients of order 1
    y_old = rng.standard_normal((count, 4, widths[-1]))
    inputs, preacts, output = mlp_forward(weights, ctx.asarray(x_old))
    deltas, _ = mlp_backward(weights, preacts, output - ctx.asarray(y_old))
    input_bases = [orthonormal_basis(h) for h in inputs]
    output_bases = [orthonormal_basis(d) for d in deltas]
    if points == "basis":
        x_eval, y_eval = x_old, y_old
    else:
        u1 = np.asarray(to_numpy(input_bases[0]))
        x_eval = rng.standard_normal((count, 4, u1.shape[-1])) @ np.swapaxes(u1, -1, -2)
        x_eval /= _norm(x_eval)[..., None]
        y_eval = rng.standard_normal((count, 4, widths[-1]))
    x_new = ctx.asarray(rng.standard_normal((count, 32, widths[0])) / math.sqrt(widths[0]))
    y_new = ctx.asarray(rng.standard_normal((count, 32, widths[-1])))

    def observe(current: list[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        _, pre, out = mlp_forward(current, ctx.asarray(x_eval))
        cotangent = out - ctx.asarray(y_eval)
        _, grad = mlp_backward(current, pre, cotangent)
        return (
            np.asarray(to_numpy(out)),
            np.asarray(to_numpy(grad)),
            np.asarray(to_numpy(cotangent)),
        )

    out0, grad0, cot0 = observe(weights)
    out_changes, grad_changes, out_tols, grad_tols, decreases = [], [], [], [], []
    typical_out, typical_grad = [], []
    for eta in etas:
        iterates = projected_training(
            weights,
            x_new,
            y_new,
            input_bases,
            output_bases if sides == "double" else None,
            eta=eta,
            steps=steps,
        )
        out_t, grad_t, _ = observe(iterates[-1])
        out_changes.append(out_t - out0)
        grad_changes.append(grad_t - grad0)
        width = max(widths)
        out_tols.append(_network_tolerance(iterates, steps, width, _norm(x_eval))[..., None])
        grad_tols.append(_network_tolerance(iterates, steps, width, _norm(cot0))[..., None])
        decreases.append(
            _loss(mlp_forward(weights, x_new)[2], y_new)
            - _loss(mlp_forward(iterates[-1], x_new)[2], y_new)
        )
        typical_out.append(float(np.median(np.abs(out_t - out0).max(axis=(-2, -1)))))
        typical_grad.append(float(np.median(np.abs(grad_t - grad0).max(axis=(-2, -1)))))
    evidence = checks.combine(
        {
            "old outputs unchanged": checks.compare(
                np.concatenate(out_changes), 0.0, atol=np.concatenate(out_tols)
            ),
            "old loss input gradients unchanged": checks.compare(
                np.concatenate(grad_changes), 0.0, atol=np.concatenate(grad_tols)
            ),
            "new-task loss decreases": checks.nonnegative(np.concatenate(decreases)),
        }
    )
    evidence.details["etas"] = list(etas)
    evidence.details["median output change per eta"] = typical_out
    evidence.details["median gradient change per eta"] = typical_grad
    evidence.details["log-log slope (outputs)"] = _slope(etas, typical_out)
    evidence.details["log-log slope (gradients)"] = _slope(etas, typical_grad)
    evidence.details["basis sizes U_l"] = [int(b.shape[-1]) for b in input_bases]
    evidence.details["basis sizes V_l"] = [int(b.shape[-1]) for b in output_bases]
    return evidence
