"""Sparsemax and the sparsemax loss (Martins & Astudillo, ICML 2016).

``projection`` holds sparsemax, its threshold and softmax; ``jacobian`` the
Jacobian and its product with a vector; ``losses`` the sparsemax loss and the
binary losses it reduces to; ``claims`` the registered claims.
"""

from theory.sparsemax.jacobian import softmax_jacobian, sparsemax_jacobian, sparsemax_jvp
from theory.sparsemax.losses import (
    hard_sigmoid,
    hinge_loss,
    logistic_loss,
    modified_huber_loss,
    one_hot,
    softmax_loss,
    sparse_plus,
    sparsemax_binary_loss,
    sparsemax_loss,
    sparsemax_loss_grad,
    zero_one_loss,
)
from theory.sparsemax.projection import (
    log_sum_exp,
    softmax,
    sparsemax,
    sparsemax_support,
    sparsemax_threshold,
)

__all__ = [
    "hard_sigmoid",
    "hinge_loss",
    "log_sum_exp",
    "logistic_loss",
    "modified_huber_loss",
    "one_hot",
    "softmax",
    "softmax_jacobian",
    "softmax_loss",
    "sparse_plus",
    "sparsemax",
    "sparsemax_binary_loss",
    "sparsemax_jacobian",
    "sparsemax_jvp",
    "sparsemax_loss",
    "sparsemax_loss_grad",
    "sparsemax_support",
    "sparsemax_threshold",
    "zero_one_loss",
]
