"""H-consistency bounds for comp-sum losses (Mao, Mohri & Zhong, ICML 2023).

``losses`` holds the comp-sum family (sum-exponential, cross-entropy, GCE, MAE),
conditional risks, their closed-form infima and the conditional 0-1 regret;
``transformations`` the error transformations, their inverses, the square-root
bounds and the bounded-score gaps; ``adversarial`` the smooth adversarial comp-sum
loss; ``references`` independent NumPy/SciPy references and the adversarial search;
``symbolic`` sympy forms and their translation for the interval certifier; the
claim modules register the claims of ``shared/claims/hconsistency.md``.
"""

from theory.hconsistency.losses import (
    NAMED_TAUS,
    comp_sum_loss,
    comp_sum_losses,
    comp_sum_outer,
    conditional_risk_infimum,
    conditional_surrogate_regret,
    conditional_surrogate_risk,
    gce_tau,
    log_softmax,
    loss_of_softmax_probability,
    predicted_label,
    softmax,
    zero_one_regret,
    zero_one_regret_complement,
)
from theory.hconsistency.transformations import (
    bounded_conditional_infimum,
    bounded_softmax_extremes,
    error_transformation,
    error_transformation_at_one,
    inverse_error_transformation,
    minimizability_gap,
    pointwise_slack,
    quadratic_minorant_coefficient,
    square_root_bound,
)

__all__ = [
    "NAMED_TAUS",
    "bounded_conditional_infimum",
    "bounded_softmax_extremes",
    "comp_sum_loss",
    "comp_sum_losses",
    "comp_sum_outer",
    "conditional_risk_infimum",
    "conditional_surrogate_regret",
    "conditional_surrogate_risk",
    "error_transformation",
    "error_transformation_at_one",
    "gce_tau",
    "inverse_error_transformation",
    "log_softmax",
    "loss_of_softmax_probability",
    "minimizability_gap",
    "pointwise_slack",
    "predicted_label",
    "quadratic_minorant_coefficient",
    "softmax",
    "square_root_bound",
    "zero_one_regret",
    "zero_one_regret_complement",
]
