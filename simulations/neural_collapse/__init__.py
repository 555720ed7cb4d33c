"""Gradient-descent studies of the deep linear UFM (Dang et al., ICML 2023).

``dynamics`` runs vectorised heavy-ball gradient descent and records NC1-NC4 and the
distance to the closed form; ``sweep`` runs it across imbalance ratios; ``claims`` holds
the Monte Carlo claims; ``plots`` the family's figures.
"""

from simulations.neural_collapse.dynamics import DynamicsConfig, gradient_descent, initial_point
from simulations.neural_collapse.sweep import SweepConfig, minority_collapse_sweep

__all__ = [
    "DynamicsConfig",
    "SweepConfig",
    "gradient_descent",
    "initial_point",
    "minority_collapse_sweep",
]
