r"""The per-class scalar problem of the bias-free MSE UFM and its collapse thresholds.

``shared/claims/neural_collapse.md``, ``nc.mse_scalar`` and ``nc.collapse_threshold``. With
:math:`b:=MN(N\lambda_H\prod_i\lambda_{W_i})^{1/M}` and :math:`\beta_k:=b/n_k`, the
objective at a collapsed, balanced configuration is
:math:`\sum_k\frac{n_k}{2N}\psi_{\beta_k}(x_k)` with

.. math::

    \psi_\beta(x)=\frac1{1+x^M}+\beta x,\qquad x\ge0,

and the product's singular value :math:`\sigma_k^2=N\lambda_Hx_k^M`. Interior
stationary points solve :math:`\varphi(x):=Mx^{M-1}/(1+x^M)^2=\beta`.

- :func:`collapse_threshold`: :math:`\beta^*_1=1`, :math:`\beta^*_M=(M-1)^{(M-1)/M}/M`;
  x = 0 is the global minimiser iff :math:`\beta\ge\beta^*_M` (unique iff >).
- :func:`root_existence_bound`: :math:`\beta^{\rm root}_M=\max\varphi=
  \big(\tfrac{M-1}{M+1}\big)^{(M-1)/M}\tfrac{(M+1)^2}{4M}` (M >= 2; 1 for M = 1): a
  positive stationary point exists iff :math:`\beta\le\beta^{\rm root}_M`. For
  :math:`\beta^*<\beta\le\beta^{\rm root}` it is only a local minimum (the pitfall of the
  authors' root finder, which keeps the largest root whenever one exists).
- :func:`largest_stationary_root` and :func:`scalar_minimiser`: vectorised bisection on
  the decreasing branch :math:`x\ge x_{\rm peak}=((M-1)/(M+1))^{1/M}` of
  :math:`\varphi`, where the root lies in :math:`[x_{\rm peak},(M/\beta)^{1/(M+1)}]`
  (since :math:`\varphi(x)<Mx^{-M-1}`).

Every function takes :math:`\beta` as an array of any shape on any array-API namespace.
"""

from __future__ import annotations

import math
from typing import Any

from theory.neural_collapse.model import check_depth
from theorycheck import validate

BISECTION_STEPS = 100
r"""Halvings of the bracket :math:`[x_{\rm peak},(M/\beta)^{1/(M+1)}]`, whose width is below
:math:`2^{20}` for :math:`\beta\ge10^{-6}`: after 100 halvings the root is known to
:math:`2^{-80}` absolutely, below the float spacing of any root that matters (the checks
compare to 1e-12 relative and 1e-14 absolute)."""


def collapse_threshold(depth: int) -> float:
    r""":math:`\beta^*_M`: class k collapses (:math:`w_k=0,\bar h_k=0`) at every global
    minimiser iff :math:`\beta_k>\beta^*_M` (``nc.collapse_threshold``).

    :math:`\beta^*_1=1`; :math:`\beta^*_M=(M-1)^{(M-1)/M}/M` for M >= 2 (0.5, 0.529134,
    0.569877, ... for M = 2, 3, 4, ...). At :math:`\beta=\beta^*` the point
    :math:`x=(M-1)^{1/M}` ties with x = 0 (:math:`\psi=1` at both).
    """
    depth = check_depth(depth, func="collapse_threshold")
    if depth == 1:
        return 1.0
    return (depth - 1) ** ((depth - 1) / depth) / depth


def root_existence_bound(depth: int) -> float:
    r""":math:`\beta^{\rm root}_M=\max_{x\ge0}Mx^{M-1}/(1+x^M)^2`, NOT the collapse threshold.

    Equal to :math:`((M-1)/(M+1))^{(M-1)/M}(M+1)^2/(4M)` for M >= 2 (0.649519, 0.839947,
    ... for M = 2, 3) and 1 for M = 1, where it coincides with :math:`\beta^*_1`.
    """
    depth = check_depth(depth, func="root_existence_bound")
    if depth == 1:
        return 1.0
    ratio = (depth - 1) / (depth + 1)
    return ratio ** ((depth - 1) / depth) * (depth + 1) ** 2 / (4 * depth)


def scalar_objective(x: Any, beta: Any, depth: int) -> Any:
    r""":math:`\psi_\beta(x)=1/(1+x^M)+\beta x` (elementwise, broadcasting x and beta)."""
    depth = check_depth(depth, func="scalar_objective")
    return 1.0 / (1.0 + x**depth) + beta * x


def stationarity(x: Any, depth: int) -> Any:
    r""":math:`\varphi(x)=Mx^{M-1}/(1+x^M)^2`; interior minimisers of :math:`\psi_\beta` solve
    :math:`\varphi(x)=\beta`."""
    depth = check_depth(depth, func="stationarity")
    return depth * x ** (depth - 1) / (1.0 + x**depth) ** 2


def _checked_beta(beta: Any, func: str) -> tuple[Any, Any]:
    beta, xp = validate.real_floating(beta, "beta", func=func)
    validate.finite(beta, "beta", func=func, xp=xp)
    if beta.ndim and beta.shape[0] == 0:
        return beta, xp
    if not bool(xp.all(beta > 0)):
        raise ValueError(f"{func}: beta must be positive, got minimum {float(xp.min(beta))}")
    return beta, xp


def largest_stationary_root(beta: Any, depth: int) -> Any:
    r"""The largest root of :math:`\varphi(x)=\beta` (NaN where there is none).

    This is the authors' routine ("take the largest root"); it is a local minimiser
    of :math:`\psi_\beta` that is global only for :math:`\beta\le\beta^*_M`.

    Parameters
    ----------
    beta : array, any shape, positive
    depth : int, M >= 1

    Returns
    -------
    array, shape of beta
        x with :math:`\varphi(x)=\beta`, :math:`x\ge x_{\rm peak}`; NaN where
        :math:`\beta>\beta^{\rm root}_M`.
    """
    depth = check_depth(depth, func="largest_stationary_root")
    beta, xp = _checked_beta(beta, "largest_stationary_root")
    peak = ((depth - 1) / (depth + 1)) ** (1.0 / depth)
    lower = xp.full_like(beta, peak)
    upper = (depth / beta) ** (1.0 / (depth + 1))
    upper = xp.maximum(upper, lower)
    for _ in range(BISECTION_STEPS):
        middle = 0.5 * (lower + upper)
        above = stationarity(middle, depth) > beta  # phi decreasing on the branch
        lower = xp.where(above, middle, lower)
        upper = xp.where(above, upper, middle)
    root = 0.5 * (lower + upper)
    exists = beta <= root_existence_bound(depth)
    return xp.where(exists, root, xp.full_like(root, math.nan))


def scalar_minimiser(beta: Any, depth: int) -> Any:
    r"""The global minimiser :math:`x_k\ge0` of :math:`\psi_\beta` (``nc.mse_scalar``).

    The largest stationary root when it exists and :math:`\psi<1=\psi(0)` there,
    else 0 (collapse). At :math:`\beta=\beta^*` exactly both are optimal; rounding
    decides (pitfall P-B3: keep test points away from the threshold).

    Parameters
    ----------
    beta : array, any shape, positive
    depth : int, M >= 1

    Returns
    -------
    array, shape of beta, non-negative
    """
    depth = check_depth(depth, func="scalar_minimiser")
    beta, xp = _checked_beta(beta, "scalar_minimiser")
    root = largest_stationary_root(beta, depth)
    has_root = xp.isfinite(root)
    safe = xp.where(has_root, root, xp.zeros_like(root))
    better = has_root & (scalar_objective(safe, beta, depth) < 1.0)
    return xp.where(better, safe, xp.zeros_like(safe))
