r"""Circle loss (Sun et al., CVPR 2020): the circular boundary and the AM-Softmax reduction.

Decision boundary (Sec. 3.2-3.3). For K = L = 1, :math:`s_p<1+m` and :math:`s_n>-m`
the weights are linear, :math:`\alpha_p=1+m-s_p`, :math:`\alpha_n=s_n+m`, and

.. math::

    B(s_n,s_p) = \alpha_n(s_n-\Delta_n)-\alpha_p(s_p-\Delta_p)
               = (s_n+m)(s_n-m)+(s_p-1-m)(s_p-1+m)
               = s_n^2+(s_p-1)^2-2m^2 ,

so the boundary :math:`B=0` is the circle of centre :math:`(s_n,s_p)=(0,1)` and
radius :math:`\sqrt2m`. The check proves the middle identity with sympy, then
parametrises the candidate circle (centre and radius as functions of m) and proves
that B vanishes identically on it; in float64 the backend's
:func:`theory.catalog.circle.circle_loss` equals :math:`\log2` at points of the
candidate circle inside the region (the two exponents cancel).

The helpers :func:`probed_equal` and :func:`equal_chain` (refute a false identity by
exact probes before any simplification) are shared with the other catalog modules of
the losses group.

AM-Softmax (Eq. (1) with class-level labels): with one positive
:math:`s_p=\cos\theta_y` and :math:`s_n^j=\cos\theta_j`,
:math:`\exp(L_{uni})=1+\sum_je^{\gamma(s_n^j-s_p+m)}` equals
:math:`(e^{\gamma(s_p-m)}+\sum_je^{\gamma s_n^j})/e^{\gamma(s_p-m)}`, the exponential of
the CosFace loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy

from proofs_check.derivation import equal_chain, probed_equal
from theory.catalog.circle import PAPER, circle_loss, unified_loss
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

UNIT_ROUNDOFF = 2.0**-53
S_N = sympy.Symbol("s_n", real=True)
S_P = sympy.Symbol("s_p", real=True)
MARGIN = sympy.Symbol("m", positive=True)
THETA = sympy.Symbol("theta", real=True)
GAMMA = sympy.Symbol("gamma", positive=True)

Circle = Callable[[Any], tuple[tuple[Any, Any], Any]]
"""A candidate boundary: ``circle(m) -> ((centre_s_n, centre_s_p), radius)``."""


# --------------------------------------------------------------------------- decision-boundary


def paper_circle(m: Any) -> tuple[tuple[Any, Any], Any]:
    r"""Sec. 3.3: :math:`s_n^2+(s_p-1)^2=2m^2`, centre (0, 1), radius :math:`\sqrt2m`."""
    return (0, 1), sympy.sqrt(2) * m if isinstance(m, sympy.Basic) else math.sqrt(2) * m


def shifted_circle(m: Any) -> tuple[tuple[Any, Any], Any]:
    r"""Control: :math:`(s_n-m)^2+(s_p-1+m)^2=m^2`, centre (m, 1 - m), radius m."""
    return (m, 1 - m), m


def origin_circle(m: Any) -> tuple[tuple[Any, Any], Any]:
    r"""Control: :math:`s_n^2+s_p^2=2m^2`, centre (0, 0), radius :math:`\sqrt2m`."""
    return (0, 0), sympy.sqrt(2) * m if isinstance(m, sympy.Basic) else math.sqrt(2) * m


def boundary_function(s_n: Any, s_p: Any, m: Any) -> Any:
    r""":math:`B=\alpha_n(s_n-\Delta_n)-\alpha_p(s_p-\Delta_p)` with the region's linear weights."""
    return (s_n + m) * (s_n - m) - (1 + m - s_p) * (s_p - (1 - m))


@claim(
    "circle.decision-boundary",
    paper=PAPER,
    source="Sec. 3.2-3.3",
    statement=(
        r"K=L=1,\ s_p<1+m,\ s_n>-m:\ \alpha_n(s_n-\Delta_n)=\alpha_p(s_p-\Delta_p)"
        r"\iff s_n^2+(s_p-1)^2=2m^2"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "shifted-circle",
            r"(s_n-m)^2+(s_p-1+m)^2=m^2",
            {"circle": shifted_circle},
        ),
        Control("origin-circle", r"s_n^2+s_p^2=2m^2", {"circle": origin_circle}),
    ],
)
def decision_boundary(ctx: Context, circle: Circle = paper_circle) -> Evidence:
    r"""sympy on the region's linear weights; the backend's circle loss on the candidate circle.

    Steps: B equals :math:`s_n^2+(s_p-1)^2-2m^2` identically; B vanishes at
    :math:`(c_n+r\cos\theta,\ c_p+r\sin\theta)` for every :math:`\theta` (candidate
    centre c and radius r). Float part: :math:`m\in\{0.1,0.25,0.4\}`,
    :math:`\gamma\in\{1,32,256\}`, points of the candidate circle with
    :math:`s_p<1+m`, :math:`s_n>-m`; ``circle_loss`` at K = L = 1 must equal
    :math:`\log 2`. Tolerance: the point is rounded (u(1 + 2m) per coordinate, moving
    B by at most :math:`|\nabla B|` times that, :math:`\le2(1+2m)^2u`), and the two
    exponents are formed with a few roundings of magnitude :math:`\gamma(1+2m)^2`;
    softplus has slope 1/2 at 0: atol :math:`16\gamma u(1+2m)^2+4u`.
    """
    (centre_n, centre_p), radius = circle(MARGIN)
    on_circle = {
        S_N: centre_n + radius * sympy.cos(THETA),
        S_P: centre_p + radius * sympy.sin(THETA),
    }
    steps = (
        (
            "B = s_n^2 + (s_p - 1)^2 - 2 m^2 on the region",
            sympy.expand(boundary_function(S_N, S_P, MARGIN)),
            S_N**2 + (S_P - 1) ** 2 - 2 * MARGIN**2,
        ),
        (
            "B = 0 on the candidate circle, every theta",
            sympy.expand(boundary_function(S_N, S_P, MARGIN).subs(on_circle)),
            0,
        ),
    )
    parts: dict[str, Evidence] = {"sympy": equal_chain(steps)}

    rng = ctx.rng(0)
    count = ctx.pick(400, 10_000)
    for m in (0.1, 0.25, 0.4):
        (c_n, c_p), r = circle(m)
        theta = rng.uniform(0, 2 * math.pi, count)
        s_n = c_n + r * np.cos(theta)
        s_p = c_p + r * np.sin(theta)
        inside = (s_p < 1 + m) & (s_n > -m)
        s_n, s_p = s_n[inside][:, None], s_p[inside][:, None]
        for gamma in (1.0, 32.0, 256.0):
            loss = np.asarray(
                to_numpy(circle_loss(ctx.asarray(s_p), ctx.asarray(s_n), gamma, m)), dtype=float
            )
            parts[f"float m={m}, gamma={gamma:g}: circle loss = log 2 on the circle"] = (
                checks.compare(
                    loss,
                    math.log(2.0),
                    atol=16 * gamma * UNIT_ROUNDOFF * (1 + 2 * m) ** 2 + 4 * UNIT_ROUNDOFF,
                    inputs={"s_n": s_n[:, 0], "s_p": s_p[:, 0]},
                )
            )
    return checks.combine(parts)


# --------------------------------------------------------------------------- reduces-to-amsoftmax

AMSoftmax = Callable[[Any, Sequence[Any], Any, Any, Any], Any]
"""A candidate loss ``loss(theta_y, thetas, gamma, m, lib)`` of the target angle and the other
classes' angles; ``lib`` is sympy or numpy (for cos, exp, log)."""

NEGATIVES = 3
"""Negative classes of the float part."""
SYMBOLIC_NEGATIVES = 2
"""Negative classes of the sympy part (two show the sum; more only cost time)."""


def cosface_loss(theta_y: Any, thetas: Sequence[Any], gamma: Any, m: Any, lib: Any) -> Any:
    r"""AM-Softmax/CosFace, the candidate of the paper.

    :math:`-\log\frac{e^{\gamma(\cos\theta_y-m)}}{e^{\gamma(\cos\theta_y-m)}+\sum_je^{\gamma\cos\theta_j}}`.
    """
    target = lib.exp(gamma * (lib.cos(theta_y) - m))
    return -lib.log(target / (target + sum(lib.exp(gamma * lib.cos(t)) for t in thetas)))


def arcface_loss(theta_y: Any, thetas: Sequence[Any], gamma: Any, m: Any, lib: Any) -> Any:
    r"""Control: ArcFace, the margin inside the cosine, :math:`e^{\gamma\cos(\theta_y+m)}`."""
    target = lib.exp(gamma * lib.cos(theta_y + m))
    return -lib.log(target / (target + sum(lib.exp(gamma * lib.cos(t)) for t in thetas)))


@claim(
    "circle.reduces-to-amsoftmax",
    paper=PAPER,
    source="Sec. 3.1 (Eq. (1) with class-level labels)",
    statement=(
        r"K=1,\ s_p=\cos\theta_y,\ s_n^j=\cos\theta_j:\ L_{uni}=-\log\frac{e^{\gamma(s_p-m)}}"
        r"{e^{\gamma(s_p-m)}+\sum_{j\ne y}e^{\gamma s_n^j}}"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    notes=(
        "A margin on the negatives, e^{gamma(s_n^j + m)} with s_p unshifted, gives the same "
        "loss and is therefore not a valid control."
    ),
    controls=[
        Control(
            "arcface-margin",
            r"L_{uni}=-\log\frac{e^{\gamma\cos(\theta_y+m)}}{e^{\gamma\cos(\theta_y+m)}+\sum_je^{\gamma\cos\theta_j}}",
            {"loss": arcface_loss},
        )
    ],
)
def reduces_to_amsoftmax(ctx: Context, loss: AMSoftmax = cosface_loss) -> Evidence:
    r"""sympy: :math:`e^{L_{uni}}=e^{\text{candidate}}` for two negatives; float on the backend.

    The logarithm is injective, so equal exponentials prove equal losses. Float
    part: ``unified_loss`` with K = 1 on the backend against the candidate in NumPy
    at random angles in :math:`[0,\pi]`, :math:`\gamma\in\{1,16,64\}`, m in [0, 0.5];
    both are log-sum-exps of exponents bounded by :math:`\gamma(2+m)`: atol
    :math:`8u(\gamma(2+m)+\log(L+1)+2)`.
    """
    theta_y = sympy.Symbol("theta_y", real=True)
    thetas = sympy.symbols(f"theta_1:{SYMBOLIC_NEGATIVES + 1}", real=True)
    unified = sympy.log(
        1 + sum(sympy.exp(GAMMA * (sympy.cos(t) - sympy.cos(theta_y) + MARGIN)) for t in thetas)
    )
    candidate = loss(theta_y, thetas, GAMMA, MARGIN, sympy)
    difference = sympy.exp(unified) - sympy.powsimp(sympy.expand(sympy.exp(candidate)))
    # over a common denominator, expanded and with exponentials merged: 0 for the paper
    difference = sympy.powsimp(sympy.expand(sympy.together(sympy.expand(difference))))
    parts: dict[str, Evidence] = {
        "sympy": probed_equal("exp(L_uni) - exp(candidate) = 0", difference, 0)
    }

    rng = ctx.rng(0)
    count = ctx.pick(300, 5000)
    for gamma in (1.0, 16.0, 64.0):
        angle_y = rng.uniform(0, math.pi, count)
        angles = rng.uniform(0, math.pi, (count, NEGATIVES))
        m = float(rng.uniform(0, 0.5))
        expected = np.asarray(loss(angle_y, list(angles.T), gamma, m, np), dtype=float)
        actual = np.asarray(
            to_numpy(
                unified_loss(
                    ctx.asarray(np.cos(angle_y)[:, None]), ctx.asarray(np.cos(angles)), gamma, m
                )
            ),
            dtype=float,
        )
        parts[f"float gamma={gamma:g}, m={m:.3f}: L_uni = candidate"] = checks.compare(
            actual,
            expected,
            atol=8 * UNIT_ROUNDOFF * (gamma * (2 + m) + math.log(NEGATIVES + 1) + 2),
            inputs={"theta_y": angle_y, "thetas": angles},
        )
    return checks.combine(parts)
