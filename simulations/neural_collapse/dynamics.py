r"""Gradient descent on the deep linear UFM from small random initialisations, vectorised.

Dang et al. (ICML 2023), the synthetic experiments of ``shared/claims/neural_collapse.md``
(B.4): full-batch gradient descent with heavy-ball momentum (the authors use SGD with
momentum 0.9, learning rate 0.1 and initialisation N(0, 0.1^2)) on the MSE objective of
:mod:`theory.neural_collapse.objectives`, tracking NC1-NC4 and the distance to the
closed-form global minimiser over the iterations.

Replicates live on a leading array axis: every weight ``W_i`` has shape
``(R, d_{i+1}, d_i)`` and H ``(R, d_1, N)``; one iteration updates all replicates at
once. Each replicate's initialisation is drawn by NumPy from its own
:class:`numpy.random.SeedSequence` and moved to the namespace under test, so a
replicate's numbers do not depend on how many others run beside it or on the backend.

:func:`gradient_descent` is a plain function of ``(config, xp, seeds)`` returning
arrays, ready for a sweep engine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from theory.neural_collapse.closed_form import mse_bias_minimiser, mse_global_minimiser
from theory.neural_collapse.metrics import collapse_metrics
from theory.neural_collapse.model import (
    check_class_sizes,
    check_penalty,
    check_weight_decays,
    one_hot_labels,
    product_matrix,
)
from theory.neural_collapse.objectives import objective, unchecked_gradients


@dataclass(frozen=True)
class DynamicsConfig:
    r"""One gradient-descent experiment.

    Attributes
    ----------
    class_sizes : tuple of int
        :math:`n_1,\dots,n_K`.
    weight_decays : tuple of float
        :math:`\lambda_{W_1},\dots,\lambda_{W_M}` (M = depth).
    feature_decay : float
        :math:`\lambda_H`.
    width : int
        Hidden widths :math:`d_1=\dots=d_M` (>= K).
    bias : bool
        Unregularised last-layer bias (target geometry: simplex ETF; else orthogonal frame).
    init_scale : float
        Standard deviation of the Gaussian initialisation (0.1 in the authors' scripts).
    learning_rate : float
    momentum : float
        Heavy-ball momentum in [0, 1).
    iterations : int
    records : int
        Number of log-spaced iterations (plus iteration 0) at which metrics are recorded.
    metric_geometry : {"etf", "orthogonal"} or None
        Target of NC2/NC3; None: the ETF with a bias, the orthogonal frame without.
    """

    class_sizes: tuple[int, ...]
    weight_decays: tuple[float, ...]
    feature_decay: float
    width: int = 8
    bias: bool = False
    init_scale: float = 0.1
    learning_rate: float = 0.1
    momentum: float = 0.9
    iterations: int = 2000
    records: int = 25
    metric_geometry: str | None = None

    def __post_init__(self) -> None:
        func = "DynamicsConfig"
        object.__setattr__(self, "class_sizes", check_class_sizes(self.class_sizes, func=func))
        object.__setattr__(self, "weight_decays",
                           check_weight_decays(self.weight_decays, func=func))
        check_penalty(self.feature_decay, "feature decay lambda_H", func=func)
        for name in ("width", "iterations", "records"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{func}: {name} must be a positive integer, got {value!r}")
        if self.width < len(self.class_sizes):
            raise ValueError(
                f"{func}: width {self.width} is below the number of classes "
                f"{len(self.class_sizes)} (the rank would be capped, pitfall P-B6)"
            )
        check_penalty(self.init_scale, "init_scale", func=func)
        check_penalty(self.learning_rate, "learning_rate", func=func)
        if not (isinstance(self.momentum, int | float) and 0.0 <= self.momentum < 1.0):
            raise ValueError(f"{func}: momentum must be in [0, 1), got {self.momentum!r}")
        if self.metric_geometry not in (None, "etf", "orthogonal"):
            raise ValueError(
                f"{func}: metric_geometry must be 'etf', 'orthogonal' or None, "
                f"got {self.metric_geometry!r}"
            )

    @property
    def depth(self) -> int:
        return len(self.weight_decays)

    @property
    def geometry(self) -> str:
        """The NC2/NC3 target: ``metric_geometry``, else ``"etf"`` with a bias and
        ``"orthogonal"`` without."""
        if self.metric_geometry is not None:
            return self.metric_geometry
        return "etf" if self.bias else "orthogonal"

    def record_iterations(self) -> np.ndarray:
        """Iteration 0 and ``records`` log-spaced iterations up to ``iterations``."""
        spaced = np.geomspace(1, self.iterations, self.records)
        return np.unique(np.concatenate([[0], np.round(spaced).astype(int)]))


def _draw(seeds: Sequence[np.random.SeedSequence], shape: tuple[int, ...], scale: float):
    """One Gaussian array per replicate from its own seed, stacked: (R, *shape), NumPy."""
    return np.stack([scale * np.random.default_rng(s).standard_normal(shape) for s in seeds])


def initial_point(
    config: DynamicsConfig, xp: ModuleType, seeds: Sequence[np.random.SeedSequence]
) -> tuple[list[Any], Any, Any]:
    """Initial ``(weights, features, bias)`` with a leading replicate axis, on ``xp``.

    Every replicate's seed gets one child per parameter block (independent streams),
    derived as ``SeedSequence(entropy, spawn_key + (block,))``: unlike
    ``SeedSequence.spawn``, this does not advance the parent, so the same seeds give the
    same draws on every call.
    """
    if not seeds:
        raise ValueError("initial_point: need at least one seed (one per replicate)")
    children = [
        [np.random.SeedSequence(s.entropy, spawn_key=(*s.spawn_key, block))
         for block in range(config.depth + 2)]
        for s in seeds
    ]
    dims = [config.width] * config.depth + [len(config.class_sizes)]
    weights = [
        xp.asarray(_draw([c[i] for c in children], (dims[i + 1], dims[i]), config.init_scale))
        for i in range(config.depth)
    ]
    features = xp.asarray(
        _draw([c[config.depth] for c in children], (config.width, sum(config.class_sizes)),
              config.init_scale)
    )
    bias = None
    if config.bias:
        bias = xp.asarray(_draw([c[config.depth + 1] for c in children],
                                (len(config.class_sizes),), config.init_scale))
    return weights, features, bias


def gradient_descent(
    config: DynamicsConfig,
    xp: ModuleType,
    seeds: Sequence[np.random.SeedSequence],
) -> dict[str, Any]:
    r"""Run heavy-ball gradient descent on R replicates at once and record the NC metrics.

    Parameters
    ----------
    config : DynamicsConfig
    xp : array namespace
    seeds : sequence of R SeedSequence
        One per replicate (e.g. ``ctx.seed_sequence(stream).spawn(R)``).

    Returns
    -------
    dict of arrays (on ``xp``)
        ``iteration`` (T,); per replicate and recorded iteration (R, T): ``objective``,
        ``objective_gap`` :math:`(f-f^*)/f^*`, ``nc1``, ``nc2_classifier``,
        ``nc2_features``, ``nc3``, ``nc4`` (against the orthogonal frame without bias, the
        ETF with one), ``gram_distance``
        :math:`\|WW^\top-(WW^\top)^*\|_F/\|(WW^\top)^*\|_F` and, with a bias,
        ``bias_error`` :math:`\max_k|b_k-n_k/N|`; final class norms (R, K)
        ``classifier_norms`` :math:`\|w_k\|^2` and ``feature_norms``
        :math:`\|\bar h_k\|^2`; ``diverged`` (R,), True where the objective became
        non-finite (reported, never dropped); ``closed_form_objective`` (0-d); the final
        iterate ``final_product`` :math:`W_M\cdots W_1` (R, K, d_1), ``final_weight_i``
        (i = 1..M), ``final_features`` (R, d_1, N) and, with a bias, ``final_bias`` (R, K).
    """
    sizes, decays, lam_h = config.class_sizes, config.weight_decays, config.feature_decay
    targets = one_hot_labels(sizes, xp)
    weights, features, bias = initial_point(config, xp, seeds)
    objective("mse", weights, features, targets, decays, lam_h, bias)  # validates shapes
    if config.bias:
        closed = mse_bias_minimiser(sizes, decays, lam_h, xp=xp)
    else:
        closed = mse_global_minimiser(sizes, decays, lam_h, xp=xp)
    target_gram = closed.classifier_gram
    target_norm = math.sqrt(float(xp.sum(target_gram * target_gram)))
    record_at = set(int(t) for t in config.record_iterations())
    averaging = one_hot_labels(sizes, xp).mT / xp.asarray(np.asarray(sizes, dtype=float))

    velocity_w = [xp.zeros_like(w) for w in weights]
    velocity_h = xp.zeros_like(features)
    velocity_b = None if bias is None else xp.zeros_like(bias)
    rows: dict[str, list[Any]] = {}

    def record() -> None:
        value = objective("mse", weights, features, targets, decays, lam_h, bias)
        rows.setdefault("objective", []).append(value)
        rows.setdefault("objective_gap", []).append((value - closed.objective) / closed.objective)
        finite = xp.isfinite(value)
        safe_features = xp.where(finite[:, None, None], features, xp.zeros_like(features))
        safe_weights = [xp.where(finite[:, None, None], w, xp.zeros_like(w)) for w in weights]
        metrics = collapse_metrics(safe_weights, safe_features, sizes, bias, config.geometry)
        for name, metric in metrics.items():
            missing = xp.full_like(metric, math.nan)
            rows.setdefault(name, []).append(xp.where(finite, metric, missing))
        product = product_matrix(weights)
        gram = product @ product.mT
        difference = gram - target_gram
        distance = xp.sqrt(xp.sum(difference * difference, axis=(-2, -1))) / target_norm
        rows.setdefault("gram_distance", []).append(distance)
        if bias is not None:
            error = xp.max(xp.abs(bias - closed.bias), axis=-1)
            rows.setdefault("bias_error", []).append(error)

    for step in range(config.iterations + 1):
        if step in record_at:
            record()
        if step == config.iterations:
            break
        grads = unchecked_gradients("mse", weights, features, targets, decays, lam_h, bias)
        for i in range(config.depth):
            step_w = config.learning_rate * grads.weights[i]
            velocity_w[i] = config.momentum * velocity_w[i] - step_w
            weights[i] = weights[i] + velocity_w[i]
        velocity_h = config.momentum * velocity_h - config.learning_rate * grads.features
        features = features + velocity_h
        if bias is not None:
            velocity_b = config.momentum * velocity_b - config.learning_rate * grads.bias
            bias = bias + velocity_b

    out = {name: xp.stack(values, axis=-1) for name, values in rows.items()}
    out["iteration"] = xp.asarray(np.asarray(sorted(record_at), dtype=np.int64))
    product = product_matrix(weights)
    out["final_product"] = product
    out["final_features"] = features
    for index, weight in enumerate(weights, start=1):
        out[f"final_weight_{index}"] = weight
    if bias is not None:
        out["final_bias"] = bias
    out["classifier_norms"] = xp.sum(product * product, axis=-1)
    means = features @ averaging
    out["feature_norms"] = xp.sum(means * means, axis=-2)
    out["diverged"] = xp.any(xp.logical_not(xp.isfinite(out["objective"])), axis=-1)
    out["closed_form_objective"] = xp.asarray(closed.objective)
    return out
