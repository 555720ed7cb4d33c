r"""AnyLoss (Han, Moniz & Chawla, 2024): the gradient of the soft F1 loss [derived].

With :math:`TP=\sum y_iA_i`, :math:`FN=\sum y_i(1-A_i)`, :math:`FP=\sum(1-y_i)A_i` and
:math:`\#\mathrm{pos}=\sum y_i`, the denominator of :math:`\mathcal L_{F1}=1-2TP/(2TP+FN+FP)`
is :math:`D=TP+FP+\#\mathrm{pos}` (since :math:`TP+FN=\#\mathrm{pos}`), with
:math:`\partial D/\partial A_i=1`; hence

.. math:: \frac{\partial\mathcal L_{F1}}{\partial A_i}=-\frac{2y_iD-2TP}{D^2},\qquad
          \frac{dA}{dp}=L\,A(1-A).

sympy checks both for n = 4 and two label patterns; central differences check the
backend's :func:`theory.catalog.anyloss.f1_loss_from_amplified` and
:func:`~theory.catalog.anyloss.f1_loss`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sympy

from proofs_check.derivation import Equal
from theory.catalog.anyloss import PAPER, f1_loss, f1_loss_from_amplified
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

UNIT_ROUNDOFF = 2.0**-53
Gradient = Callable[[np.ndarray, np.ndarray, int], Any]
"""A candidate ``dF1/dA_i(y, a, i)`` for labels y (n,) and amplified values a (n,), float or
sympy object arrays."""

LABEL_PATTERNS = ((1, 1, 0, 0), (1, 0, 0, 0))


def paper_f1_gradient(y: np.ndarray, a: np.ndarray, i: int) -> Any:
    r""":math:`-(2y_iD-2TP)/D^2` with :math:`D=TP+FP+\#\mathrm{pos}`."""
    tp = (y * a).sum()
    fp = ((1 - y) * a).sum()
    d = tp + fp + y.sum()
    return -(2 * y[i] * d - 2 * tp) / d**2


def constant_denominator_gradient(y: np.ndarray, a: np.ndarray, i: int) -> Any:
    r"""Control: the denominator treated as constant, :math:`-2y_i/D`."""
    tp = (y * a).sum()
    fp = ((1 - y) * a).sum()
    return -2 * y[i] / (tp + fp + y.sum())


@claim(
    "anyloss.f1-gradient",
    paper=PAPER,
    source="Sec. 3 (F1 loss), gradient derived",
    statement=(
        r"\mathcal L_{F1}=1-\frac{2TP}{2TP+FN+FP},\ D=TP+FP+\#\mathrm{pos}:\ "
        r"\frac{\partial\mathcal L_{F1}}{\partial A_i}=-\frac{2y_iD-2TP}{D^2},\ A'(p)=LA(1-A)"
    ),
    method="symbolic",
    provenance="derived",
    controls=[
        Control(
            "constant-denominator",
            r"\partial\mathcal L_{F1}/\partial A_i=-2y_i/D",
            {"gradient": constant_denominator_gradient},
        )
    ],
)
def f1_gradient(ctx: Context, gradient: Gradient = paper_f1_gradient) -> Evidence:
    r"""sympy (n = 4) and central differences on the backend.

    Float parts: (1) in A, random y (a positive label per row) and A in (0, 1),
    n in {4, 20}; :math:`|\partial^2\mathcal L/\partial A_i^2|=4|y_iD-TP|/D^3\le4` (D >= 1),
    so a central difference with h = 1e-6 errs by at most 2h, plus rounding
    :math:`8nu/h`; (2) in p, through :math:`A(p)` with L = 5 and p in [0.3, 0.7]:
    :math:`|d^2\mathcal L/dp^2|\le L^2(1/(4D^2)+0.4/D)\le0.65L^2`, error
    :math:`\le0.33L^2h` plus the same rounding.
    """
    steps = []
    a = np.array(sympy.symbols("A1:5", positive=True), dtype=object)
    for pattern in LABEL_PATTERNS:
        y = np.array(pattern, dtype=int)
        tp, fn, fp = (y * a).sum(), (y * (1 - a)).sum(), ((1 - y) * a).sum()
        loss = 1 - 2 * tp / (2 * tp + fn + fp)
        label = "y=" + "".join(map(str, pattern))
        steps.append(
            Equal(
                f"{label}: 2TP + FN + FP = TP + FP + #pos", 2 * tp + fn + fp, tp + fp + int(y.sum())
            )
        )
        for i in (0, 2):
            steps.append(
                Equal(
                    f"{label}: dF1/dA_{i + 1} = candidate",
                    sympy.cancel(sympy.diff(loss, a[i]) - gradient(y, a, i)),
                    0,
                )
            )
    p = sympy.Symbol("p", real=True)
    scale = sympy.Symbol("L", positive=True)
    amplified = 1 / (1 + sympy.exp(-scale * (p - sympy.Rational(1, 2))))
    steps.append(
        Equal("A'(p) = L A (1 - A)", sympy.diff(amplified, p), scale * amplified * (1 - amplified))
    )
    # one failing step refutes the chain; stop there instead of simplifying the rest
    results: dict[str, Evidence] = {}
    for item in steps:
        results[item.label] = evidence = item.check()
        if not evidence.holds:
            break
    parts: dict[str, Evidence] = {"sympy": checks.combine(results)}

    rng = ctx.rng(0)
    step = 1e-6
    for size in (4, 20):
        count = ctx.pick(100, 2000)
        y = (rng.random((count, size)) < 0.4).astype(float)
        y[:, 0] = 1.0
        values = rng.uniform(0.05, 0.95, (count, size))
        probabilities = rng.uniform(0.3, 0.7, (count, size))
        for i in (0, 1, size - 1):
            bump = np.zeros(size)
            bump[i] = step
            up = np.asarray(
                to_numpy(f1_loss_from_amplified(ctx.asarray(y), ctx.asarray(values + bump)))
            )
            down = np.asarray(
                to_numpy(f1_loss_from_amplified(ctx.asarray(y), ctx.asarray(values - bump)))
            )
            expected = np.array([float(gradient(y[k], values[k], i)) for k in range(count)])
            parts[f"float n={size}: dF1/dA_{i + 1} = candidate"] = checks.compare(
                (up - down) / (2 * step),
                expected,
                atol=2 * step + 8 * size * UNIT_ROUNDOFF / step,
                inputs={"y": y, "A": values},
            )
            scale_value = 5.0
            up = np.asarray(
                to_numpy(f1_loss(ctx.asarray(y), ctx.asarray(probabilities + bump), scale_value))
            )
            down = np.asarray(
                to_numpy(f1_loss(ctx.asarray(y), ctx.asarray(probabilities - bump), scale_value))
            )
            amplified_values = 0.5 * (1 + np.tanh(0.5 * scale_value * (probabilities - 0.5)))
            slope = scale_value * amplified_values[:, i] * (1 - amplified_values[:, i])
            expected = (
                np.array([float(gradient(y[k], amplified_values[k], i)) for k in range(count)])
                * slope
            )
            parts[f"float n={size}, L=5: dF1/dp_{i + 1} = candidate * L A (1 - A)"] = (
                checks.compare(
                    (up - down) / (2 * step),
                    expected,
                    atol=0.33 * scale_value**2 * step + 8 * size * UNIT_ROUNDOFF / step,
                    inputs={"y": y, "p": probabilities},
                )
            )
    return checks.combine(parts)
