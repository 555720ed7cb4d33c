r"""Problem instances of the spec and the shared L-BFGS reference runs on them.

``shared/claims/neural_collapse.md``: the golden table of ``nc.mse_scalar``, the worked
example of ``nc.collapse_threshold`` and the balanced settings of the other claims.

Sample-count invariance (derived, checked by ``neural_collapse.mse_scalar``): replacing
:math:`(n_k,\lambda_H)` by :math:`(n_k/s,\,s\lambda_H)` leaves :math:`N\lambda_H`,
:math:`N/n_k`, hence :math:`\beta_k`, :math:`x_k`, :math:`\sigma_k^2`,
:math:`W\bar H`, :math:`\bar H^\top\bar H` and the minimum
:math:`\sum_k\frac{n_k}{2N}\psi_{\beta_k}(x_k)` unchanged. The quick scale optimises
the full per-sample problem on the instance divided by s (16 samples instead of 400);
the full scale uses the spec's sizes.

Reference runs (:func:`reference_runs`) are seeded from one family-level stream, so
that every claim examining an instance sees the same runs (and they are computed once
per process).
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from theory.neural_collapse.model import class_index, one_hot_labels
from theory.neural_collapse.references import INIT_SCALES, FlatUFM, OptimisationRun, multistart
from theorycheck.context import Context

REFERENCE_LABEL = "neural_collapse.reference-runs"
"""Seed label of the shared L-BFGS reference runs."""


@dataclass(frozen=True)
class Instance:
    r"""One UFM problem.

    Attributes
    ----------
    name : str
    class_sizes : tuple of int
    weight_decays : tuple of float
        :math:`\lambda_{W_1},\dots,\lambda_{W_M}`.
    feature_decay : float
        :math:`\lambda_H`.
    width : int
        Every hidden width :math:`d_1=\dots=d_M` (>= K: pitfall P-B6).
    loss : {"mse", "ce"}
    bias : bool
    multimodal : bool
        Known to have several basins (near a collapse threshold): twice the restarts.
    """

    name: str
    class_sizes: tuple[int, ...]
    weight_decays: tuple[float, ...]
    feature_decay: float
    width: int = 8
    loss: str = "mse"
    bias: bool = False
    multimodal: bool = False

    @property
    def depth(self) -> int:
        return len(self.weight_decays)

    @property
    def num_samples(self) -> int:
        return sum(self.class_sizes)

    def scaled(self, factor: int) -> Instance:
        """The instance with :math:`(n_k/s, s\\lambda_H)` (sizes must divide by s)."""
        if factor == 1:
            return self
        if any(n % factor for n in self.class_sizes):
            raise ValueError(f"class sizes {self.class_sizes} do not divide by {factor}")
        return replace(
            self,
            name=f"{self.name}/{factor}",
            class_sizes=tuple(n // factor for n in self.class_sizes),
            feature_decay=self.feature_decay * factor,
        )

    def problem(self) -> FlatUFM:
        return FlatUFM(
            self.loss,
            one_hot_labels(self.class_sizes),
            (self.width,) * self.depth,
            self.weight_decays,
            self.feature_decay,
            self.bias,
        )

    def describe(self) -> dict[str, Any]:
        return {
            "instance": self.name,
            "n": list(self.class_sizes),
            "lambda_W": list(self.weight_decays),
            "lambda_H": self.feature_decay,
            "d": self.width,
            "loss": self.loss,
            "bias": self.bias,
        }


@dataclass(frozen=True)
class GoldenRow:
    """A row of the golden table of ``nc.mse_scalar`` (values as printed, 7 decimals)."""

    instance: Instance
    sigma_squared: tuple[float, ...]
    logits_diagonal: tuple[float, ...]
    feature_norm_squared: tuple[float, ...]


_IMBALANCED = (200, 100, 50, 50)

GOLDEN_TABLE: tuple[GoldenRow, ...] = (
    GoldenRow(
        Instance("table-1", _IMBALANCED, (1e-3,), 1e-3),
        (13.7421356, 9.6, 6.6710678, 6.6710678),
        (0.9717157, 0.96, 0.9434315, 0.9434315),
        (0.0687107, 0.096, 0.1334214, 0.1334214),
    ),
    GoldenRow(
        Instance("table-2", _IMBALANCED, (2e-3, 2e-3), 1e-3),
        (21.0093283, 13.0360456, 8.0121569, 8.0121569),
        (0.9813166, 0.9702293, 0.9524498, 0.9524498),
        (0.0458359, 0.0722109, 0.1132230, 0.1132230),
    ),
    GoldenRow(
        Instance("table-3", _IMBALANCED, (1e-3,) * 3, 2e-3),
        (88.2400033, 51.9783534, 30.4149200, 30.4149200),
        (0.9910153, 0.9848423, 0.9743712, 0.9743712),
        (0.0111300, 0.0186600, 0.0312149, 0.0312149),
    ),
    GoldenRow(
        Instance("table-4", (100,) * 4, (1e-3,) * 3, 1e-3),
        (31.0208466,) * 4,
        (0.9872696,) * 4,
        (0.0314208,) * 4,
    ),
    GoldenRow(
        Instance("table-5", _IMBALANCED, (1e-3, 3e-3, 2e-3), 1e-3),
        (33.3790909, 19.6021045, 11.4088283, 11.4088283),
        (0.9881584, 0.9800021, 0.9661270, 0.9661270),
        (0.0292536, 0.0489949, 0.0818140, 0.0818140),
    ),
)
GOLDEN_PRINTED_ULP = 1e-7
"""The golden values are printed with 7 decimals: they are exact to half of 1e-7."""

WORKED_LAMBDA = (3.515625e-6) ** (1.0 / 3.0)
r""":math:`\lambda_W=\lambda_H=\lambda` with :math:`b=2\cdot400(400\lambda^3)^{1/2}=30` exactly
(the spec prints 0.0152055), so :math:`\beta=(0.15,0.3,0.6,0.6)`."""

WORKED_EXAMPLE = Instance(
    "worked-example", _IMBALANCED, (WORKED_LAMBDA,) * 2, WORKED_LAMBDA, multimodal=True
)
"""``nc.collapse_threshold``: M = 2, the minority classes have :math:`\\beta=0.6`, between
:math:`\\beta^*_2=0.5` and :math:`\\beta^{\\rm root}_2=0.6495`: collapsed at the global
minimum (0.3445919), alive at a local one (0.3558075)."""

WORKED_GLOBAL = {"sigma_squared": (25.786364, 12.851701, 0.0, 0.0), "objective": 0.3445919}
WORKED_LOCAL = {"sigma_squared_minority": 3.77242, "objective": 0.3558075}
WORKED_PRINTED_ULP = 1e-6
"""The worked example is printed with 6 (sigma^2) or 7 (objective) decimals."""


# --------------------------------------------------------------------------- reference runs


def reference_seed(ctx: Context, instance: Instance) -> np.random.SeedSequence:
    """The family-level seed of an instance's reference runs (shared by the claims)."""
    return ctx.for_label(REFERENCE_LABEL).seed_sequence(zlib.crc32(instance.name.encode()))


@functools.lru_cache(maxsize=128)
def _cached_runs(
    instance: Instance, restarts: int, seed: int, init_scales: tuple[float, ...], polish: bool
) -> tuple[OptimisationRun, ...]:
    ctx = Context.create("numpy", seed=seed)
    sequence = reference_seed(ctx, instance)
    return tuple(
        multistart(instance.problem(), sequence, restarts, init_scales, polish=polish)
    )


def restarts_for(ctx: Context, instance: Instance) -> int:
    """4 restarts quick, 6 full; twice as many on a multimodal instance."""
    return ctx.pick(4, 6) * (2 if instance.multimodal else 1)


def reference_runs(
    ctx: Context,
    instance: Instance,
    restarts: int | None = None,
    init_scales: tuple[float, ...] = INIT_SCALES,
    polish: bool = True,
) -> tuple[OptimisationRun, ...]:
    """L-BFGS (+ Newton polish unless ``polish=False``) from random starts, lowest
    objective first.

    At least 4 restarts (:func:`restarts_for` by default) with initialisation scales
    cycling through 1, 0.3, 3 (pitfall P-B2 and its converse, see
    :data:`~theory.neural_collapse.references.INIT_SCALES`).
    """
    count = restarts_for(ctx, instance) if restarts is None else restarts
    return _cached_runs(instance, count, ctx.seed, tuple(init_scales), polish)


def measured(instance: Instance, run: OptimisationRun) -> dict[str, Any]:
    r"""Rotation-invariant quantities of a run (NumPy, independent of the library code).

    Returns
    -------
    dict
        ``classifier_gram`` :math:`WW^\top`, ``feature_gram`` :math:`\bar H^\top\bar H`,
        ``class_logits`` :math:`W\bar H`, ``layer_singular_values`` (M, K) sorted in
        decreasing order, ``global_mean`` :math:`h_G`, ``bias``, ``within_class``
        :math:`\max\|h_{k,i}-\bar h_k\|`, ``objective`` and the raw ``weights``,
        ``features``.
    """
    problem = instance.problem()
    weights, features, bias = problem.unpack(run.parameters)
    product = problem.product(run.parameters)
    sizes = np.asarray(instance.class_sizes, dtype=float)
    labels = class_index(instance.class_sizes)
    means = np.stack([features[:, labels == k].mean(axis=1) for k in range(len(sizes))], axis=1)
    count = len(instance.class_sizes)
    layer_values = np.stack(
        [np.linalg.svd(w, compute_uv=False)[:count] for w in weights]
    )
    return {
        "classifier_gram": product @ product.T,
        "feature_gram": means.T @ means,
        "class_logits": product @ means,
        "layer_singular_values": layer_values,
        "global_mean": features.mean(axis=1),
        "bias": bias,
        "within_class": float(np.max(np.linalg.norm(features - means[:, labels], axis=0))),
        "objective": run.objective,
        "weights": weights,
        "features": features,
        "product": product,
    }
