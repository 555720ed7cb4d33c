"""Generative deep linear networks trained with the Bures-Wasserstein loss.

Bréchet, Papagiannouli, An & Montúfar, ICML 2023 (spec
``shared/claims/bures_wasserstein.md``). ``matrices``: symmetric matrix functions and
input checks; ``distance``: the distance, its equivalent forms and the transport
map; ``gradients``: gradients, Hessians, the perturbed and Frobenius objectives;
``deep_linear``: layers, balanced factorisation, end-to-end dynamics, parameter
Hessian; ``critical_points``: critical points on the rank strata; ``constants``: the
convergence constants; ``dynamics``: layer-wise gradient flow and descent, the
authors' ``init_close``; ``references``: independent NumPy/SciPy/cvxpy references;
``claims`` and ``critical_claims``: the registered claims; ``plots``: the figures.
The dynamics claims live in ``simulations.bures_wasserstein``; the POT peer checks in
``tests/test_bures_wasserstein.py`` (POT is optional).
"""

from theory.bures_wasserstein.critical_points import (
    bounded_rank_optimum,
    critical_point,
    critical_value,
    swap_curve,
    swap_curve_value,
    target_eigensystem,
)
from theory.bures_wasserstein.deep_linear import (
    balanced_layers,
    balancedness_defect,
    deep_linear_loss,
    end_to_end,
    end_to_end_velocity,
    layer_gradients,
    layer_hvp,
    parameter_hessian,
)
from theory.bures_wasserstein.distance import (
    bures_commuting_formula,
    bures_distance,
    bures_loss,
    bures_procrustes,
    bures_product_of_roots,
    bures_wasserstein_squared,
    transport_cost,
    transport_map,
    transport_map_target_form,
)
from theory.bures_wasserstein.dynamics import (
    init_close,
    layer_gradient_descent,
    layer_gradient_flow,
)
from theory.bures_wasserstein.gradients import (
    FrobeniusObjective,
    PerturbedBuresObjective,
    bures_gradient_sigma,
    bures_hvp,
    bures_loss_gradient,
    bures_riemannian_gradient,
    frobenius_gradient,
    frobenius_hvp,
    frobenius_loss,
    perturbed_bures_gradient,
    perturbed_bures_hvp,
    perturbed_bures_loss,
    sigma_hessian,
)

__all__ = [
    "FrobeniusObjective",
    "PerturbedBuresObjective",
    "balanced_layers",
    "balancedness_defect",
    "bounded_rank_optimum",
    "bures_commuting_formula",
    "bures_distance",
    "bures_gradient_sigma",
    "bures_hvp",
    "bures_loss",
    "bures_loss_gradient",
    "bures_procrustes",
    "bures_product_of_roots",
    "bures_riemannian_gradient",
    "bures_wasserstein_squared",
    "critical_point",
    "critical_value",
    "deep_linear_loss",
    "end_to_end",
    "end_to_end_velocity",
    "frobenius_gradient",
    "frobenius_hvp",
    "frobenius_loss",
    "init_close",
    "layer_gradient_descent",
    "layer_gradient_flow",
    "layer_gradients",
    "layer_hvp",
    "parameter_hessian",
    "perturbed_bures_gradient",
    "perturbed_bures_hvp",
    "perturbed_bures_loss",
    "sigma_hessian",
    "swap_curve",
    "swap_curve_value",
    "target_eigensystem",
    "transport_cost",
    "transport_map",
    "transport_map_target_form",
]
