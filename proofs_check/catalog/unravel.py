r"""Unraveling the Hessian (2024): the running-mean update and its exact worst case, a
**fragment**.

Claim ``unravel.mean-update`` (``shared/claims/catalog.md`` §65, [unconfirmed numbering]);
notation of :mod:`theory.catalog.unravel`: :math:`L_k=\frac1k\sum_{i\le k}\ell_i`,
:math:`H_k=\frac1k\sum_{i\le k}\nabla^2\ell_i`. Statement:
:math:`L_{k+1}-L_k=(\ell_{k+1}-L_k)/(k+1)`, so :math:`0\le\ell\le M` gives
:math:`|L_{k+1}-L_k|\le M/(k+1)`, and
:math:`\|H_{k+1}-H_k\|_2\le2\max_i\|\nabla^2\ell_i\|_2/(k+1)`.

A rate claim is checked together with its sharpness: the bounds hold **and** are
attained, so that :math:`1/(k+1)` is the exact worst-case rate. Without the attainment
the spec's negative control (a "1/√k rate") could not be refuted, since
:math:`M/(k+1)\le M/\sqrt k` is a true but loose bound; with it, the control's rate is
refuted by the worst case :math:`M/(k+1)\ne M/\sqrt k`. The check takes the candidate
rate r(k) (a function of a sympy symbol or a NumPy integer array) and the Hessian
constant C as keyword arguments defaulting to the statement (r(k) = 1/(k+1), C = 2).

Tolerances use u = 2^-53 (float64 unit roundoff); each is derived in the docstring of
the check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sympy

from proofs_check.derivation import Derivation, Equal
from theory.catalog.unravel import (
    PAPER,
    mean_update,
    running_mean_hessians,
    running_mean_losses,
    welsch_hessians,
    welsch_losses,
)
from theorycheck import checks
from theorycheck.backend import to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

UNIT_ROUNDOFF = 2.0**-53
"""float64 unit roundoff u = 1.1e-16."""

K = sympy.Symbol("k", positive=True, integer=True)
BOUND = sympy.Symbol("M", positive=True)
HESSIAN_BOUND = sympy.Symbol("B", positive=True)
NEW = sympy.Symbol("ell", nonnegative=True)
"""The new sample's loss :math:`\\ell_{k+1}`."""
TOTAL = sympy.Symbol("S", nonnegative=True)
"""The sum :math:`S_k=\\sum_{i\\le k}\\ell_i` of the first k losses."""


def paper_rate(k: Any) -> Any:
    r"""The statement's rate :math:`r(k)=1/(k+1)`."""
    return 1 / (k + 1)


def sqrt_rate(k: Any) -> Any:
    r"""Control: the rate :math:`r(k)=1/\sqrt k`."""
    return 1 / (sympy.sqrt(k) if isinstance(k, sympy.Basic) else np.sqrt(k))


def _host(x: Any) -> np.ndarray:
    return np.asarray(to_numpy(x), dtype=float)


def _symbolic(rate: Callable[[Any], Any], constant: int) -> Evidence:
    mean_k, mean_next = TOTAL / K, (TOTAL + NEW) / (K + 1)
    change = mean_next - mean_k
    steps = [
        Equal("L_{k+1} - L_k = (ell_{k+1} - L_k)/(k+1)", change, (NEW - mean_k) / (K + 1)),
        # Delta L is affine in (ell, S): increasing in ell, decreasing in S, on the box
        # ell in [0, M], S in [0, k M]; its extremes sit at two corners
        Equal("d(Delta L)/d ell = 1/(k+1) > 0", sympy.diff(change, NEW), 1 / (K + 1)),
        Equal("d(Delta L)/dS = -1/(k(k+1)) < 0", sympy.diff(change, TOTAL), -1 / (K * (K + 1))),
        Equal(
            "max Delta L = Delta L(ell = M, S = 0) = M r(k)",
            change.subs({NEW: BOUND, TOTAL: 0}),
            BOUND * rate(K),
        ),
        Equal(
            "-min Delta L = -Delta L(ell = 0, S = k M) = M r(k)",
            -change.subs({NEW: 0, TOTAL: K * BOUND}),
            BOUND * rate(K),
        ),
        # Delta H = sum_i c_i A_i with c_{k+1} = 1/(k+1), c_i = -1/(k(k+1)) (i <= k):
        # ||Delta H|| <= B sum |c_i| (triangle inequality), with equality at
        # A_i = -B I (i <= k), A_{k+1} = B I
        Equal(
            "B sum_i |c_i| = C B r(k)",
            HESSIAN_BOUND * (1 / (K + 1) + K / (K * (K + 1))),
            constant * HESSIAN_BOUND * rate(K),
        ),
        Equal(
            "Delta H at A_i = -B, A_{k+1} = B equals C B r(k)",
            (HESSIAN_BOUND - (-K * HESSIAN_BOUND) / K) / (K + 1),
            constant * HESSIAN_BOUND * rate(K),
        ),
    ]
    return Derivation(tuple(steps)).check()


@claim(
    "unravel.mean-update",
    paper=PAPER,
    source="running-mean update of the loss and Hessian (fragment; section not confirmed)",
    statement=(
        r"\text{fragment: }L_{k+1}-L_k=\frac{\ell_{k+1}-L_k}{k+1};\ 0\le\ell\le M\Rightarrow"
        r"|L_{k+1}-L_k|\le\frac M{k+1};\ \|H_{k+1}-H_k\|_2\le\frac{2\max_i\|\nabla^2\ell_i"
        r"\|_2}{k+1}\ \text{(both attained: the exact worst-case rate)}"
    ),
    method="symbolic",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "sqrt-rate",
            r"|L_{k+1}-L_k|\ \text{and}\ \|H_{k+1}-H_k\|_2\ \text{decay at the rate }1/\sqrt k",
            {"rate": sqrt_rate},
        ),
        Control(
            "hessian-constant-one",
            r"\|H_{k+1}-H_k\|_2\le\max_i\|\nabla^2\ell_i\|_2/(k+1)"
            r"\ \text{(the constant of a convex loss)}",
            {"hessian_constant": 1},
        ),
    ],
)
def mean_update_rate(
    ctx: Context, rate: Callable[[Any], Any] = paper_rate, hessian_constant: int = 2
) -> Evidence:
    r"""sympy for the identity and the exact worst cases; the backend's running means for
    the float parts.

    sympy (k a positive integer, M, B > 0): the update identity; :math:`\Delta L` is affine
    in :math:`(\ell_{k+1},S_k)` with the stated partial derivatives, so on the box
    :math:`\ell\in[0,M]^{k+1}` its maximum :math:`M/(k+1)` and minimum :math:`-M/(k+1)` sit
    at :math:`(\ell_{k+1},S_k)=(M,0)` and :math:`(0,kM)`; each must equal
    :math:`M\,r(k)`. :math:`\Delta H=\sum_ic_i\nabla^2\ell_i` with
    :math:`\sum_i|c_i|=2/(k+1)`, attained at :math:`\nabla^2\ell_i=-BI` (i <= k),
    :math:`\nabla^2\ell_{k+1}=BI`; both must equal :math:`C\,B\,r(k)`.

    Float parts (K = 200 samples, 20 sequences quick; 2000 and 100 full), on the backend:

    - the update: ``mean_update`` against differences of ``running_mean_losses`` (and of
      ``running_mean_hessians``, entrywise) on Welsch's loss of a linear model
      (:func:`~theory.catalog.unravel.welsch_losses`, p = 3, :math:`M\in[0.5,3]`). A
      sequential sum of k terms in [0, M] errs by at most :math:`(k-1)u\,kM`, so
      :math:`\hat L_k` by :math:`kuM`; the two differences then differ by at most
      :math:`(2k+5)uM`: atol :math:`4(k+1)uM` (B in place of M for the Hessian entries,
      :math:`|(\nabla^2\ell_i)_{jl}|\le\|\nabla^2\ell_i\|_2\le B`);
    - the bounds on the same sequences: :math:`|\Delta L_k|\le M\,r(k)` and
      :math:`\|\Delta H_k\|_2\le C\max_{i\le k+1}\|\nabla^2\ell_i\|_2\,r(k)` up to the
      entrywise error above times p (a spectral norm is at most p times the largest entry)
      plus the SVD's :math:`pu\|\Delta H\|`: tol :math:`8p(k+1)uB_{k+1}`;
    - attainment, at about 30 log-spaced k: the extremal sequences :math:`(0,\dots,0,M)` and
      :math:`(-BI,\dots,-BI,BI)` give :math:`|\Delta L_k|=M\,r(k)` and
      :math:`\|\Delta H_k\|_2=C\,B\,r(k)` within the same tolerances.
    """
    parts: dict[str, Evidence] = {"sympy": _symbolic(rate, hessian_constant)}

    rng = ctx.rng(0)
    count, samples, dim = ctx.pick(20, 100), ctx.pick(200, 2000), 3
    bound = rng.uniform(0.5, 3.0, count)
    theta = rng.standard_normal((count, dim))
    features = rng.standard_normal((count, samples, dim))
    targets = 2.0 * rng.standard_normal((count, samples))
    # Welsch's loss is M times the loss with M = 1: one batched call for all sequences
    unit = {"theta": ctx.asarray(theta), "features": ctx.asarray(features)}
    unit["targets"] = ctx.asarray(targets)
    losses = bound[:, None] * _host(welsch_losses(**unit, bound=1.0))
    hessians = bound[:, None, None, None] * _host(welsch_hessians(**unit, bound=1.0))
    k = np.arange(1, samples)  # L_k -> L_{k+1}, k = 1, ..., K - 1
    means = _host(running_mean_losses(ctx.asarray(losses)))
    change = np.diff(means, axis=-1)
    update = _host(
        mean_update(ctx.asarray(means[:, :-1]), ctx.asarray(losses[:, 1:]), ctx.asarray(k))
    )
    atol_l = 4 * (k + 1) * UNIT_ROUNDOFF * bound[:, None]
    inputs = {"bound": bound, "theta": theta}
    parts["float: running-mean difference = update (losses)"] = checks.compare(
        change, update, atol=atol_l, inputs=inputs
    )
    h_means = _host(running_mean_hessians(ctx.asarray(hessians)))
    h_change = np.diff(h_means, axis=-3)
    h_update = _host(
        mean_update(
            ctx.asarray(h_means[:, :-1]),
            ctx.asarray(hessians[:, 1:]),
            ctx.asarray(k[:, None, None]),
        )
    )
    norms = np.linalg.norm(hessians, ord=2, axis=(-2, -1))  # (count, K)
    running_max = np.maximum.accumulate(norms, axis=-1)[:, 1:]  # max_{i <= k+1}
    atol_h = 4 * (k + 1) * UNIT_ROUNDOFF * running_max
    parts["float: running-mean difference = update (Hessians)"] = checks.compare(
        h_change, h_update, atol=atol_h[..., None, None], inputs=inputs
    )
    rate_k = np.asarray(rate(k), dtype=float)
    parts["float: |Delta L_k| <= M r(k)"] = checks.nonnegative(
        bound[:, None] * rate_k - np.abs(change) + atol_l, inputs=inputs
    )
    h_norm = np.linalg.norm(h_change, ord=2, axis=(-2, -1))
    tol_h = 8 * dim * (k + 1) * UNIT_ROUNDOFF * running_max
    parts["float: ||Delta H_k|| <= C max ||Hess|| r(k)"] = checks.nonnegative(
        hessian_constant * running_max * rate_k - h_norm + tol_h, inputs=inputs
    )

    # extremal sequences for about 30 values of k (1 to K - 1, log-spaced):
    # ell_i = M [i = k + 1]; A_i = -B I for i <= k and B I after
    k_ext = np.unique(np.geomspace(1, samples - 1, 30).astype(int))
    rate_ext = np.asarray(rate(k_ext), dtype=float)
    rows, index = np.arange(k_ext.size), np.arange(1, samples + 1)[None, :]
    m_b = float(bound[0])
    extremal = m_b * (index == (k_ext + 1)[:, None])  # (len(k_ext), K)
    ext_change = np.diff(_host(running_mean_losses(ctx.asarray(extremal))), axis=-1)
    parts["float: (0, ..., 0, M) attains M r(k)"] = checks.compare(
        np.abs(ext_change[rows, k_ext - 1]),
        m_b * rate_ext,
        atol=4 * (k_ext + 1) * UNIT_ROUNDOFF * m_b,
        inputs={"k": k_ext},
    )
    signs = np.where(index <= k_ext[:, None], -m_b, m_b)  # (len(k_ext), K)
    ext_h = signs[:, :, None, None] * np.eye(dim)
    ext_h_change = np.diff(_host(running_mean_hessians(ctx.asarray(ext_h))), axis=-3)
    parts["float: (-BI, ..., -BI, BI) attains C B r(k)"] = checks.compare(
        np.linalg.norm(ext_h_change[rows, k_ext - 1], ord=2, axis=(-2, -1)),
        hessian_constant * m_b * rate_ext,
        atol=8 * dim * (k_ext + 1) * UNIT_ROUNDOFF * m_b,
        inputs={"k": k_ext},
    )
    return checks.combine(parts)
