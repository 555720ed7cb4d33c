"""Neural collapse in deep linear networks (Dang et al., ICML 2023).

Hien Dang, Tho Tran, Stanley Osher, Hung Tran-The, Nhat Ho, Tan Nguyen, *Neural Collapse
in Deep Linear Networks: From Balanced to Imbalanced Data*, ICML 2023 (arXiv 2301.00437);
statements in ``shared/claims/neural_collapse.md``.

Modules, one topic each:

- ``model``: the deep linear unconstrained-features model, labels, validation;
- ``objectives``: MSE and cross-entropy objectives and their gradients;
- ``scalar``: the per-class scalar problem and the collapse thresholds;
- ``closed_form``: closed-form global minimisers (balanced, imbalanced, with bias,
  any target, M = 1, the M = 1 CE scale) and the balanced factorisation;
- ``cross_entropy``: candidate CE logit geometries and the reduced CE objective;
- ``metrics``: NC1-NC4 and the ETF, orthogonal-frame and GOF distances;
- ``references``: independent NumPy/SciPy/cvxpy references (L-BFGS, brentq, convex);
- ``instances``: the spec's problem instances and the shared L-BFGS reference runs;
- ``claims``, ``frame_claims``, ``cross_entropy_claims``: the registered claims.
"""

from theory.neural_collapse.closed_form import (
    MSEMinimiser,
    PlainUFMClosedForm,
    balanced_factorisation,
    class_betas,
    cross_entropy_etf_scale,
    minimiser_for_target,
    mse_bias_minimiser,
    mse_global_minimiser,
    plain_ufm_closed_form,
    scale_b,
)
from theory.neural_collapse.cross_entropy import (
    candidate_logits,
    mean_cross_entropy,
    reduced_cross_entropy_objective,
    schatten_coefficient,
)
from theory.neural_collapse.metrics import (
    between_class_covariance,
    class_means,
    collapse_metrics,
    etf_distance,
    feature_gram,
    frame_distance,
    gof_metrics,
    layerwise_metrics,
    nc1,
    nc2_classifier,
    nc2_features,
    nc3,
    nc4,
    normalised_distance,
    orthogonal_frame_distance,
    orthogonal_frame_target,
    simplex_etf_target,
    within_class_covariance,
)
from theory.neural_collapse.model import layer_features, one_hot_labels, product_matrix
from theory.neural_collapse.objectives import (
    Gradients,
    cross_entropy_gradients,
    cross_entropy_objective,
    gradients,
    mse_gradients,
    mse_objective,
    objective,
)
from theory.neural_collapse.scalar import (
    collapse_threshold,
    largest_stationary_root,
    root_existence_bound,
    scalar_minimiser,
    scalar_objective,
    stationarity,
)

__all__ = [
    "Gradients",
    "MSEMinimiser",
    "PlainUFMClosedForm",
    "balanced_factorisation",
    "between_class_covariance",
    "candidate_logits",
    "class_betas",
    "class_means",
    "collapse_metrics",
    "collapse_threshold",
    "cross_entropy_etf_scale",
    "cross_entropy_gradients",
    "cross_entropy_objective",
    "etf_distance",
    "feature_gram",
    "frame_distance",
    "gof_metrics",
    "gradients",
    "largest_stationary_root",
    "layer_features",
    "layerwise_metrics",
    "mean_cross_entropy",
    "minimiser_for_target",
    "mse_bias_minimiser",
    "mse_global_minimiser",
    "mse_gradients",
    "mse_objective",
    "nc1",
    "nc2_classifier",
    "nc2_features",
    "nc3",
    "nc4",
    "normalised_distance",
    "objective",
    "one_hot_labels",
    "orthogonal_frame_distance",
    "orthogonal_frame_target",
    "plain_ufm_closed_form",
    "product_matrix",
    "reduced_cross_entropy_objective",
    "root_existence_bound",
    "scalar_minimiser",
    "scalar_objective",
    "scale_b",
    "schatten_coefficient",
    "simplex_etf_target",
    "stationarity",
    "within_class_covariance",
]
