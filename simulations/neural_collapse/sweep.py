r"""Minority collapse across imbalance ratios: gradient descent against the threshold.

Dang et al. (ICML 2023), ``nc.collapse_threshold`` and ``nc.imbalanced_GOF``: class k
collapses (:math:`w_k=0`, :math:`\bar h_k=0`) at the global minimum iff
:math:`\beta_k=b/n_k>\beta^*_M`. The sweep keeps ``num_major`` classes of size
``major_size`` and shrinks ``num_minor`` classes to each of ``minor_sizes`` (imbalance
ratio ``major_size / minor_size``); for each it runs :func:`~simulations.neural_collapse.
dynamics.gradient_descent` on all replicates at once and records the final class norms
next to the closed form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from simulations.neural_collapse.dynamics import DynamicsConfig, gradient_descent
from theory.neural_collapse.closed_form import class_betas, mse_global_minimiser
from theory.neural_collapse.model import check_class_sizes
from theory.neural_collapse.scalar import collapse_threshold, root_existence_bound
from theorycheck.backend import to_numpy


@dataclass(frozen=True)
class SweepConfig:
    r"""An imbalance sweep.

    Attributes
    ----------
    major_size : int
        Size of each majority class.
    minor_sizes : tuple of int
        Sizes of the minority classes, one sweep point each.
    num_major, num_minor : int
        How many majority and minority classes.
    weight_decays : tuple of float
    feature_decay : float
    width, init_scale, learning_rate, momentum, iterations
        Passed to :class:`~simulations.neural_collapse.dynamics.DynamicsConfig`.
    """

    major_size: int
    minor_sizes: tuple[int, ...]
    weight_decays: tuple[float, ...]
    feature_decay: float
    num_major: int = 2
    num_minor: int = 2
    width: int = 6
    init_scale: float = 0.1
    learning_rate: float = 0.1
    momentum: float = 0.9
    iterations: int = 3000

    def __post_init__(self) -> None:
        check_class_sizes([self.major_size], func="SweepConfig (major_size)",
                          minimum_classes=1)
        if isinstance(self.minor_sizes, str | bytes) or not self.minor_sizes:
            raise ValueError(f"SweepConfig: minor_sizes must be a non-empty sequence of "
                             f"positive integers, got {self.minor_sizes!r}")
        check_class_sizes(self.minor_sizes, func="SweepConfig (minor_sizes)",
                          minimum_classes=1)
        for name in ("num_major", "num_minor"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"SweepConfig: {name} must be a positive integer, got {value!r}")

    def class_sizes(self, minor_size: int) -> tuple[int, ...]:
        return (self.major_size,) * self.num_major + (minor_size,) * self.num_minor

    def dynamics(self, minor_size: int) -> DynamicsConfig:
        return DynamicsConfig(
            self.class_sizes(minor_size), self.weight_decays, self.feature_decay,
            width=self.width, init_scale=self.init_scale, learning_rate=self.learning_rate,
            momentum=self.momentum, iterations=self.iterations, records=1,
        )


def minority_collapse_sweep(
    config: SweepConfig, xp: ModuleType, seeds: Sequence[np.random.SeedSequence]
) -> dict[str, np.ndarray]:
    r"""Final minority and majority norms after gradient descent, per sweep point.

    Parameters
    ----------
    config : SweepConfig
    xp : array namespace
    seeds : sequence of R SeedSequence
        One per replicate; the same replicates (common random numbers) at every point.

    Returns
    -------
    dict of NumPy arrays
        ``minor_size``, ``imbalance_ratio``, ``beta_minor`` (:math:`b/n_{\rm min}`),
        ``beta_star`` and ``beta_root`` (scalars), ``predicted_alive`` (S,),
        ``closed_minor`` and ``closed_major`` (S,) the closed-form :math:`\|w_k\|^2`;
        ``minor_norm`` and ``major_norm`` (S, R) the largest final :math:`\|w_k\|^2` over
        the minority (majority) classes; ``minor_feature_norm`` (S, R); ``objective_gap``
        (S, R); ``diverged`` (S, R).
    """
    depth = len(config.weight_decays)
    rows: dict[str, list[Any]] = {}
    for minor in config.minor_sizes:
        sizes = config.class_sizes(minor)
        result = gradient_descent(config.dynamics(minor), xp, seeds)
        norms = np.asarray(to_numpy(result["classifier_norms"]))
        feature_norms = np.asarray(to_numpy(result["feature_norms"]))
        closed = mse_global_minimiser(sizes, config.weight_decays, config.feature_decay)
        betas = class_betas(sizes, config.weight_decays, config.feature_decay)
        major, minor_slice = slice(0, config.num_major), slice(config.num_major, None)
        rows.setdefault("minor_size", []).append(minor)
        rows.setdefault("imbalance_ratio", []).append(config.major_size / minor)
        rows.setdefault("beta_minor", []).append(betas[-1])
        rows.setdefault("predicted_alive", []).append(bool(closed.sigma_squared[-1] > 0))
        rows.setdefault("closed_minor", []).append(float(closed.sigma_squared[-1]))
        rows.setdefault("closed_major", []).append(float(closed.sigma_squared[0]))
        rows.setdefault("minor_norm", []).append(norms[:, minor_slice].max(axis=1))
        rows.setdefault("major_norm", []).append(norms[:, major].max(axis=1))
        rows.setdefault("minor_feature_norm", []).append(feature_norms[:, minor_slice].max(axis=1))
        rows.setdefault("objective_gap", []).append(
            np.asarray(to_numpy(result["objective_gap"]))[:, -1]
        )
        rows.setdefault("diverged", []).append(np.asarray(to_numpy(result["diverged"])))
    out = {name: np.asarray(values) for name, values in rows.items()}
    out["beta_star"] = np.asarray(collapse_threshold(depth))
    out["beta_root"] = np.asarray(root_existence_bound(depth))
    return out
