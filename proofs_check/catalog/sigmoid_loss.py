r"""SigLIP (Zhai et al., ICCV 2023): the sigmoid loss, its softplus form and its bias gradient.

With :math:`v=z_{ij}u_{ij}`, :math:`-\log\sigma(v)=\log(1+e^{-v})=\mathrm{softplus}(-v)`, so
:math:`L=\frac1{|B|}\sum_{ij}\mathrm{softplus}(-z_{ij}u_{ij})`, and since
:math:`\partial u_{ij}/\partial b=1`,
:math:`\partial L/\partial b=-\frac1{|B|}\sum_{ij}z_{ij}\sigma(-z_{ij}u_{ij})`. sympy
checks both for |B| = 2 (four cells, symbolic dot products, t and b); central
differences check the backend's :func:`theory.catalog.sigmoid_loss.sigmoid_loss` in b,
at the paper's initialisation (t' = log 10, b = -10) and around it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sympy

from proofs_check.derivation import Equal, probed_equal
from theory.catalog.sigmoid_loss import (
    INITIAL_BIAS,
    INITIAL_LOG_TEMPERATURE,
    PAPER,
    pair_logits,
    random_embeddings,
    sigmoid_loss,
)
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

UNIT_ROUNDOFF = 2.0**-53
BATCH = 2
"""|B| of the symbolic part."""

BiasGradient = Callable[[Any, Any, int, Any], Any]
"""A candidate ``dL/db(u, z, n, lib)`` from the logits u and labels z (n x n arrays, float or
sympy object arrays); ``lib`` supplies ``exp``."""


def paper_bias_gradient(u: Any, z: Any, n: int, lib: Any) -> Any:
    r""":math:`\partial L/\partial b=-\frac1{|B|}\sum_{ij}z_{ij}\sigma(-z_{ij}u_{ij})`."""
    return -(z / (1 + lib.exp(z * u))).sum() / n


def sign_slip_bias_gradient(u: Any, z: Any, n: int, lib: Any) -> Any:
    r"""Control: the sign of the sigmoid's argument slipped.

    :math:`-\frac1{|B|}\sum_{ij}z_{ij}\sigma(z_{ij}u_{ij})`.
    """
    return -(z / (1 + lib.exp(-z * u))).sum() / n


_EXP = np.frompyfunc(sympy.exp, 1, 1)


class _SympyLib:
    """``exp`` elementwise on object arrays of sympy expressions."""

    exp = staticmethod(_EXP)


@claim(
    "sigmoid_loss.def",
    paper=PAPER,
    source="Sec. 3, Algorithm 1",
    statement=(
        r"L=-\frac1{|B|}\sum_{i,j}\log\sigma(z_{ij}(t\,x_i\cdot y_j+b))=\frac1{|B|}\sum_{i,j}"
        r"\mathrm{softplus}(-z_{ij}u_{ij}),\ \frac{\partial L}{\partial b}=-\frac1{|B|}\sum_{i,j}"
        r"z_{ij}\sigma(-z_{ij}u_{ij}),\ t=e^{t'},\ t'_0=\log10,\ b_0=-10"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "sigmoid-sign-slip",
            r"\partial L/\partial b=-\frac1{|B|}\sum z_{ij}\sigma(z_{ij}u_{ij})",
            {"bias_gradient": sign_slip_bias_gradient},
        )
    ],
)
def definition(ctx: Context, bias_gradient: BiasGradient = paper_bias_gradient) -> Evidence:
    r"""sympy for |B| = 2; central differences in b of the backend's loss.

    Steps: :math:`-\log\sigma(v)=\mathrm{softplus}(-v)` for real v; the derivative in b
    of the softplus form with symbolic dot products :math:`c_{ij}`, t and b equals the
    candidate. Float: unit embeddings (n in {4, 16}, d = 16), t' = log 10 and b = -10
    (the initialisation), then t', b drawn around them; h = 1e-6 (relative to 1 + |b|).
    :math:`L''(b)=\frac1n\sum\sigma(1-\sigma)\le n/4`, so a central difference errs by at
    most :math:`hn/8`; rounding adds :math:`8n(1+\max|u|)u/h` (the loss's rounding,
    :func:`theory.catalog.sigmoid_loss._loss_tolerance`, over h).
    """
    v = sympy.Symbol("v", real=True)
    t = sympy.Symbol("t", positive=True)
    b = sympy.Symbol("b", real=True)
    dots = np.array(sympy.symbols(f"c1:{BATCH * BATCH + 1}", real=True), dtype=object).reshape(
        BATCH, BATCH
    )
    z = 2 * np.eye(BATCH, dtype=int) - 1
    u = t * dots + b
    softplus_form = (
        sum(sympy.log(1 + sympy.exp(-zz * uu)) for zz, uu in zip(z.flat, u.flat, strict=True))
        / BATCH
    )
    steps = {
        "-log sigma(v) = softplus(-v)": Equal(
            "-log sigma(v) = softplus(-v)",
            sympy.expand_log(-sympy.log(1 / (1 + sympy.exp(-v))), force=True),
            sympy.log(1 + sympy.exp(-v)),
        ).check(),
        "|B| = 2: dL/db = candidate": probed_equal(
            "|B| = 2: dL/db = candidate",
            sympy.diff(softplus_form, b),
            bias_gradient(u, z, BATCH, _SympyLib),
        ),
    }
    parts: dict[str, Evidence] = {"sympy": checks.combine(steps)}

    rng = ctx.rng(0)
    for n in (4, 16):
        x, y = random_embeddings(rng, n, 16)
        settings = [(INITIAL_LOG_TEMPERATURE, INITIAL_BIAS)] + [
            (INITIAL_LOG_TEMPERATURE + rng.uniform(-1, 2), INITIAL_BIAS + rng.uniform(-8, 8))
            for _ in range(ctx.pick(4, 40))
        ]
        xb, yb = ctx.asarray(x), ctx.asarray(y)
        labels = 2 * np.eye(n) - 1
        differences, expected, tolerance = [], [], []
        for t_prime, bias in settings:
            step = 1e-6 * (1 + abs(bias))
            up = float(to_numpy(sigmoid_loss(pair_logits(xb, yb, t_prime, bias + step))))
            down = float(to_numpy(sigmoid_loss(pair_logits(xb, yb, t_prime, bias - step))))
            logits = np.exp(t_prime) * x @ y.T + bias
            differences.append((up - down) / (2 * step))
            expected.append(float(bias_gradient(logits, labels, n, np)))
            rounding = 8 * n * UNIT_ROUNDOFF * (1 + np.max(np.abs(logits)))
            tolerance.append(step * n / 8 + 2 * rounding / step)
        parts[f"float n={n}: central difference in b = candidate"] = checks.compare(
            np.array(differences),
            np.array(expected),
            atol=np.array(tolerance),
            inputs={
                "t_prime": np.array([s[0] for s in settings]),
                "b": np.array([s[1] for s in settings]),
            },
        )
    return checks.combine(parts)
