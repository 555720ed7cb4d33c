r"""SL@K (2025): exponential weights make the top-K threshold cancel.

With :math:`\sigma_w(x)=e^{x/\tau_w}`,

.. math:: w_i=\frac{e^{(f_i-\beta)/\tau_w}}{\sum_{i'\in P}e^{(f_{i'}-\beta)/\tau_w}}
          =\frac{e^{f_i/\tau_w}}{\sum_{i'}e^{f_{i'}/\tau_w}}=\mathrm{softmax}_{i\in P}(f/\tau_w),

so :math:`\partial w_i/\partial\beta=0` and the top-K truncation disappears; with the
default sigmoid weights :math:`\sigma((f_i-\beta)/\tau_w)` it does not cancel. sympy
checks both for |P| = 3; the backend's :func:`theory.catalog.slk.slk_weights` is then
evaluated at several thresholds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sympy

from proofs_check.derivation import Equal, probed_equal
from theory.catalog.slk import PAPER, slk_weights
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

UNIT_ROUNDOFF = 2.0**-53
POSITIVES = 3
SCORES = sympy.symbols(f"f1:{POSITIVES + 1}", real=True)
BETA = sympy.Symbol("beta", real=True)
TAU_W = sympy.Symbol("tau_w", positive=True)

WeightFunction = Callable[[Any], Any]
"""The unnormalised weight :math:`\\sigma_w(x)` as a sympy expression of
:math:`x=(f_i-\\beta)/\\tau_w`."""

SYMBOLIC_WEIGHTS: dict[str, WeightFunction] = {
    "exp": sympy.exp,
    "sigmoid": lambda x: 1 / (1 + sympy.exp(-x)),
}


def _weight(kind: str, i: int) -> sympy.Expr:
    sigma = SYMBOLIC_WEIGHTS[kind]
    raw = [sigma((f - BETA) / TAU_W) for f in SCORES]
    return raw[i] / sum(raw)


@claim(
    "slk.exp-weights-cancel-beta",
    paper=PAPER,
    source="official code optim_SLatK.py (docstring: exponential weights eliminate beta)",
    statement=(
        r"\sigma_w(x)=e^{x/\tau_w}:\ w_i=\frac{\sigma_w(f_i-\beta)}"
        r"{\sum_{i'\in P}\sigma_w(f_{i'}-\beta)}"
        r"=\mathrm{softmax}_{i\in P}(f/\tau_w),\ \partial w_i/\partial\beta=0;\ "
        r"\text{sigmoid weights depend on }\beta"
    ),
    method="symbolic",
    provenance="confirmed",
    controls=[
        Control(
            "sigmoid-independent",
            r"sigmoid weights \sigma((f_i-\beta)/\tau_w) are \beta-independent",
            {"kind": "sigmoid"},
        )
    ],
)
def exp_weights_cancel_beta(ctx: Context, kind: str = "exp") -> Evidence:
    r"""sympy (|P| = 3): the weights of ``kind`` equal the softmax, which is free of beta (so
    :math:`\partial w_i/\partial\beta=0`);
    the sigmoid weights do move (a probe must refute their independence). Float: the
    backend's weights of ``kind`` at five thresholds in [-3, 3] against
    :math:`\mathrm{softmax}(f/\tau_w)` (rtol 16u: a normalised exponential of a shifted
    argument).
    """
    parts: dict[str, Evidence] = {}
    softmax_first = sympy.exp(SCORES[0] / TAU_W) / sum(sympy.exp(f / TAU_W) for f in SCORES)
    parts["sympy: w_1 = softmax_1(f / tau_w)"] = probed_equal(
        f"{kind} weights: w_1 = softmax_1(f / tau_w)",
        sympy.powsimp(sympy.expand(_weight(kind, 0))),
        softmax_first,
    )
    # w_1 equals a closed form free of beta (when the step above holds), so d w_1/d beta = 0
    parts["sympy: the closed form is free of beta"] = checks.exact(
        BETA not in softmax_first.free_symbols,
        counterexample={"closed_form": str(softmax_first)},
    )
    # a single rational point shows the dependence: f = (0, 1, 2), tau_w = 1, beta = 0 and 1
    point = {SCORES[0]: 0, SCORES[1]: 1, SCORES[2]: 2, TAU_W: 1}
    sigmoid = _weight("sigmoid", 0).subs(point)
    moved = Equal(
        "sigmoid weights: w_1(beta = 0) = w_1(beta = 1)",
        sigmoid.subs(BETA, 0),
        sigmoid.subs(BETA, 1),
    ).check()
    parts["sympy: sigmoid weights depend on beta (probe refutes independence)"] = checks.exact(
        not moved.holds and not moved.inconclusive,
        counterexample={"independence_evidence": moved.summary()},
    )

    rng = ctx.rng(0)
    count, tau_w = ctx.pick(300, 5000), 0.3
    f = rng.normal(0, 1, (count, 5))
    expected = np.exp(f / tau_w - np.max(f / tau_w, axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    for beta in (-3.0, -1.0, 0.0, 1.0, 3.0):
        weights = np.asarray(
            to_numpy(slk_weights(ctx.asarray(f), ctx.asarray(np.full(count, beta)), tau_w, kind)),
            dtype=float,
        )
        parts[f"float: {kind} weights at beta = {beta} = softmax(f / tau_w)"] = checks.compare(
            weights,
            expected,
            rtol=16 * UNIT_ROUNDOFF * (1 + np.max(np.abs(f)) / tau_w),
            inputs={"f": f},
        )
    return checks.combine(parts)
