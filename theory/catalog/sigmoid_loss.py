r"""The sigmoid loss of SigLIP (Zhai et al., *Sigmoid Loss for Language Image
Pre-Training*, ICCV 2023).

For a batch of |B| unit-norm image embeddings :math:`x_i` and text embeddings
:math:`y_j`, logits :math:`u_{ij}=t\,x_i\cdot y_j+b` with :math:`t=e^{t'}`
(initialised at :math:`t'=\log10`, b = -10) and labels :math:`z_{ii}=1`,
:math:`z_{ij}=-1` (i != j):

.. math::

    L = -\frac1{|B|}\sum_{i,j}\log\sigma(z_{ij}u_{ij})
      = \frac1{|B|}\sum_{i,j}\mathrm{softplus}(-z_{ij}u_{ij}),\qquad
    \frac{\partial L}{\partial b} = -\frac1{|B|}\sum_{i,j}z_{ij}\,\sigma(-z_{ij}u_{ij}).

A plain sum over the (i, j) cells, so the loss of a batch split into device chunks
is the sum of the chunks' cell sums; the softmax InfoNCE loss
:math:`-\tfrac1{|B|}\sum_i\log\mathrm{softmax}(u_{i\cdot})_i` needs each row's
log-sum-exp and is not block-additive, but is invariant to a per-row constant.
The functions take the logit matrix u (n, n) on any array-API namespace.
``sigmoid_loss.no-shift-invariance`` and ``sigmoid_loss.chunked`` are checked here;
``sigmoid_loss.def`` is derived in :mod:`proofs_check.catalog.sigmoid_loss`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from theorycheck import checks, validate
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "sigmoid-loss"
"""Key of the paper in the seed catalog."""

UNIT_ROUNDOFF = 2.0**-53
INITIAL_LOG_TEMPERATURE = math.log(10.0)
INITIAL_BIAS = -10.0


# --------------------------------------------------------------------------- math objects


def _square_logits(u: Any, func: str) -> Any:
    u, xp = validate.real_floating(u, "u", func=func)
    validate.finite(u, "u", func=func, xp=xp)
    if u.ndim != 2 or u.shape[0] != u.shape[1] or u.shape[0] == 0:
        raise ValueError(
            f"{func}: u must be a non-empty square (n, n) logit matrix, got {tuple(u.shape)}"
        )
    return xp


def _softplus(v: Any, xp: Any) -> Any:
    return xp.clip(v, min=0.0) + xp.log1p(xp.exp(-xp.abs(v)))


def pair_logits(x: Any, y: Any, t_prime: float, b: float) -> Any:
    r"""Logits :math:`u_{ij}=e^{t'}x_i\cdot y_j+b` of unit-norm embeddings.

    Parameters
    ----------
    x, y : array, shape (n, d)
        Image and text embeddings; every row of unit Euclidean norm (within 1e-9).
    t_prime : float
        Log-temperature :math:`t'` (t = exp(t')).
    b : float
        Bias.
    """
    x, xp = validate.real_floating(x, "x", func="pair_logits")
    validate.real_floating(y, "y", func="pair_logits")
    validate.same_shape(x, y, ("x", "y"), func="pair_logits")
    if x.ndim != 2:
        raise ValueError(f"pair_logits: x and y must be (n, d) matrices, got {tuple(x.shape)}")
    for array, name in ((x, "x"), (y, "y")):
        validate.finite(array, name, func="pair_logits", xp=xp)
        worst = float(xp.max(xp.abs(xp.sum(array * array, axis=1) - 1.0)))
        if worst > 1e-9:
            raise ValueError(f"pair_logits: rows of {name} must have unit norm, off by {worst:.3g}")
    for name, value in (("t_prime", t_prime), ("b", b)):
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            raise ValueError(f"pair_logits: {name} must be a finite number, got {value!r}")
    return math.exp(t_prime) * (x @ xp.matrix_transpose(y)) + b


def _labels(n: int, xp: Any, dtype: Any) -> Any:
    return 2.0 * xp.eye(n, dtype=dtype) - 1.0


def sigmoid_loss(u: Any) -> Any:
    r"""The sigmoid loss of a logit matrix.

    :math:`\frac1n\sum_{i,j}\mathrm{softplus}(-z_{ij}u_{ij})`, :math:`z=2I-\mathbf 1\mathbf 1^\top`.

    Parameters
    ----------
    u : array, shape (n, n)
        Logits :math:`u_{ij}` (image i, text j).

    Returns
    -------
    array, shape ()
    """
    xp = _square_logits(u, "sigmoid_loss")
    return xp.sum(_softplus(-_labels(u.shape[0], xp, u.dtype) * u, xp)) / u.shape[0]


def infonce_loss(u: Any) -> Any:
    r"""Softmax InfoNCE (image to text).

    :math:`-\frac1n\sum_i\log\mathrm{softmax}(u_{i\cdot})_i`.
    """
    xp = _square_logits(u, "infonce_loss")
    top = xp.max(u, axis=1, keepdims=True)
    log_partition = top[:, 0] + xp.log(xp.sum(xp.exp(u - top), axis=1))
    diagonal = xp.sum(u * xp.eye(u.shape[0], dtype=u.dtype), axis=1)
    return xp.sum(log_partition - diagonal) / u.shape[0]


def sigmoid_block_sum(u_block: Any, positive: Any) -> Any:
    r"""Cell sum :math:`\sum\mathrm{softplus}(-z u)` of one block (z = +1 on ``positive``)."""
    xp = validate.real_floating(u_block, "u_block", func="sigmoid_block_sum")[1]
    one = xp.ones_like(u_block)
    z = xp.where(positive, one, -one)
    return xp.sum(_softplus(-z * u_block, xp))


def infonce_block_sum(u_block: Any, positive: Any) -> Any:
    r"""A block's InfoNCE rows.

    :math:`\sum_i[\log\sum_{j\in\text{block}}e^{u_{ij}}-\sum_j[\text{pos}]u_{ij}]`.
    """
    xp = validate.real_floating(u_block, "u_block", func="infonce_block_sum")[1]
    top = xp.max(u_block, axis=1, keepdims=True)
    log_partition = top[:, 0] + xp.log(xp.sum(xp.exp(u_block - top), axis=1))
    return xp.sum(log_partition) - xp.sum(xp.where(positive, u_block, xp.zeros_like(u_block)))


def chunked_loss(u: Any, chunks: int, block_sum: Callable[[Any, Any], Any]) -> Any:
    r"""The paper's chunked evaluation: the sum of ``block_sum`` over a chunks x chunks grid, / n.

    Parameters
    ----------
    u : array, shape (n, n)
    chunks : int
        Number of device chunks along each axis, 1 <= chunks <= n.
    block_sum : callable
        ``block_sum(u_block, positive_block)``, with the positive mask of the block's
        global indices (i == j).
    """
    xp = _square_logits(u, "chunked_loss")
    n = u.shape[0]
    if not isinstance(chunks, int) or isinstance(chunks, bool) or not 1 <= chunks <= n:
        raise ValueError(f"chunked_loss: chunks must be an integer in [1, {n}], got {chunks!r}")
    edges = [round(k * n / chunks) for k in range(chunks + 1)]
    index = xp.arange(n)
    total = 0.0
    for a in range(chunks):
        rows = slice(edges[a], edges[a + 1])
        for c in range(chunks):
            cols = slice(edges[c], edges[c + 1])
            positive = index[rows][:, None] == index[cols][None, :]
            total = total + block_sum(u[rows, cols], positive)
    return total / n


def random_embeddings(rng: np.random.Generator, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit-norm image and text embeddings, the text a noisy copy of the image (so the
    diagonal pairs are the positives)."""
    x = rng.standard_normal((n, d))
    y = x + rng.standard_normal((n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True), y / np.linalg.norm(
        y, axis=1, keepdims=True
    )


LOSSES: dict[str, tuple[Callable[[Any], Any], Callable[[Any, Any], Any]]] = {
    "sigmoid": (sigmoid_loss, sigmoid_block_sum),
    "infonce": (infonce_loss, infonce_block_sum),
}
"""The losses by name: (full loss of u, block sum)."""


def _logit_instances(ctx: Context) -> list[np.ndarray]:
    rng = ctx.rng(0)
    batches = []
    for n in ctx.pick((4, 8, 12), (4, 8, 12, 32, 64)):
        for _ in range(ctx.pick(1, 20)):
            x, y = random_embeddings(rng, n, 16)
            t_prime = INITIAL_LOG_TEMPERATURE + rng.uniform(-1, 1)
            b = INITIAL_BIAS + rng.uniform(-5, 5)
            batches.append(np.exp(t_prime) * x @ y.T + b)
    return batches


def _loss_tolerance(u: np.ndarray) -> float:
    """8 n^2 u (1 + max|u|) / n: n^2 softplus or log-sum-exp terms of size <= 1 + max|u|."""
    n = u.shape[0]
    return 8 * n * UNIT_ROUNDOFF * (1 + float(np.max(np.abs(u))))


# --------------------------------------------------------------------------- no-shift-invariance


@claim(
    "sigmoid_loss.no-shift-invariance",
    paper=PAPER,
    source="Sec. 3 (the role of the bias b)",
    statement=(
        r"\mathrm{InfoNCE}(u+c\mathbf 1^\top)=\mathrm{InfoNCE}(u)\ \forall c\in\mathbb R^{|B|};\ "
        r"L_{\mathrm{sigmoid}}(u+c\mathbf 1^\top)\ne L_{\mathrm{sigmoid}}(u),\ "
        r"\text{in particular }L_{\mathrm{sigmoid}}\text{ depends on }b"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "sigmoid-invariant-to-b",
            r"L_{\mathrm{sigmoid}}(u+c\mathbf 1^\top)=L_{\mathrm{sigmoid}}(u) (invariant to b)",
            {"invariant": ("infonce", "sigmoid"), "variant": ()},
        )
    ],
)
def no_shift_invariance(
    ctx: Context, invariant: Sequence[str] = ("infonce",), variant: Sequence[str] = ("sigmoid",)
) -> Evidence:
    r"""Per-row constants and a global one (a change of b) on random batches, on the backend.

    Logits of random unit embeddings at the initialisation (t' = log 10 +- 1,
    b = -10 +- 5), n in {4, 8, 12}. Each loss named in ``invariant`` must be
    unchanged by :math:`u\mapsto u+c\mathbf 1^\top` (c with entries in [-5, 5], and
    c = 3 * 1) up to rounding (:func:`_loss_tolerance` of both matrices); each loss
    in ``variant`` must change by more than that.
    """
    rng = ctx.rng(1)
    parts: dict[str, Evidence] = {}
    for index, u in enumerate(_logit_instances(ctx)):
        n = u.shape[0]
        shifts = {"per-row c": rng.uniform(-5, 5, (n, 1)), "b + 3": np.full((n, 1), 3.0)}
        for shift_name, shift in shifts.items():
            moved = u + shift
            tol = _loss_tolerance(u) + _loss_tolerance(moved)
            for name in (*invariant, *variant):
                loss = LOSSES[name][0]
                before = float(to_numpy(loss(ctx.asarray(u))))
                after = float(to_numpy(loss(ctx.asarray(moved))))
                inputs = {"u": u[None], "shift": shift.T}
                label = f"batch {index} (n={n}), {shift_name}: {name}"
                if name in invariant:
                    parts[f"{label} unchanged"] = checks.compare(
                        np.array([after]), np.array([before]), atol=tol, inputs=inputs
                    )
                else:
                    parts[f"{label} changed"] = checks.nonnegative(
                        np.array([abs(after - before) - tol]), inputs=inputs
                    )
    return checks.combine(parts)


# --------------------------------------------------------------------------- chunked


@claim(
    "sigmoid_loss.chunked",
    paper=PAPER,
    source="Sec. 3.3 (efficient chunked implementation)",
    statement=(
        r"L_{\mathrm{sigmoid}}=\frac1{|B|}\sum_{\text{blocks }(a,c)}\sum_{(i,j)\in a\times c}"
        r"\mathrm{softplus}(-z_{ij}u_{ij})\ \text{(exact; InfoNCE is not block-additive)}"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "infonce-block-additive",
            r"\mathrm{InfoNCE}=\frac1{|B|}\sum_{\text{blocks}}\text{(block-wise InfoNCE rows)}",
            {"loss": "infonce"},
        )
    ],
)
def chunked(ctx: Context, loss: str = "sigmoid") -> Evidence:
    r"""Chunked evaluation (2, 3 and 4 chunks per axis) against the full loss, on the backend.

    The same cells are summed in another order, so the two agree up to the rounding
    of the sums: :func:`_loss_tolerance` (n^2 terms of size at most 1 + max|u|).
    """
    full, block_sum = LOSSES[loss]
    parts: dict[str, Evidence] = {}
    for index, u in enumerate(_logit_instances(ctx)):
        whole = float(to_numpy(full(ctx.asarray(u))))
        for chunks in (2, 3, 4):
            split = float(to_numpy(chunked_loss(ctx.asarray(u), chunks, block_sum)))
            parts[f"batch {index} (n={u.shape[0]}), {chunks} chunks"] = checks.compare(
                np.array([split]),
                np.array([whole]),
                atol=2 * _loss_tolerance(u),
                inputs={"u": u[None]},
            )
    return checks.combine(parts)


__all__ = [
    "PAPER",
    "chunked_loss",
    "infonce_block_sum",
    "infonce_loss",
    "pair_logits",
    "random_embeddings",
    "sigmoid_block_sum",
    "sigmoid_loss",
]
