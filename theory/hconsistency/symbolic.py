r"""Sympy forms of the comp-sum objects and their translation for the interval certifier.

The exact counterparts of :mod:`theory.hconsistency.losses` and
:mod:`~theory.hconsistency.transformations` for rational :math:`\tau` (spec
``shared/claims/hconsistency.md``, §2-4), used by the symbolic and certified claims:

- :func:`phi_expr` (:math:`\varphi_\tau(s)`), :func:`outer_expr` (:math:`\Phi^\tau(u)`),
  :func:`infimum_expr` (:math:`\mathcal C^*_\tau(p)`), :func:`transformation_expr`
  (:math:`\mathcal T_\tau(t)`, with n a number or a symbol);
- :func:`certifiable`: a sympy expression as the ``f(x, m)`` that
  :func:`theorycheck.certify.certify_nonnegative` takes (Add, Mul, Pow with integer,
  rational or symbolic exponents, exp, log, rationals kept exact), so that a
  derivative computed by sympy is certified without being retyped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import sympy

Certifiable = Callable[[Sequence[Any], Any], Any]


def as_rational(tau: Any) -> sympy.Rational:
    """``tau`` as an exact sympy number (floats by their shortest decimal: 1.5 -> 3/2)."""
    if isinstance(tau, float):
        return sympy.Rational(repr(tau))
    return sympy.nsimplify(tau) if not isinstance(tau, sympy.Basic) else tau


def phi_expr(s: sympy.Expr, tau: Any) -> sympy.Expr:
    r"""The softmax form :math:`\varphi_\tau(s)`.

    :math:`-\log s` at tau = 1, else :math:`(s^{\tau-1}-1)/(1-\tau)`.
    """
    tau = as_rational(tau)
    if tau == 1:
        return -sympy.log(s)
    return (s ** (tau - 1) - 1) / (1 - tau)


def outer_expr(u: sympy.Expr, tau: Any) -> sympy.Expr:
    r"""The outer function :math:`\Phi^\tau(u)`.

    :math:`\log(1+u)` at tau = 1, else :math:`((1+u)^{1-\tau}-1)/(1-\tau)`.
    """
    tau = as_rational(tau)
    if tau == 1:
        return sympy.log(1 + u)
    return ((1 + u) ** (1 - tau) - 1) / (1 - tau)


def infimum_expr(p: Sequence[sympy.Expr], tau: Any) -> sympy.Expr:
    r""":math:`\mathcal C^*_\tau(p)` of ``hcons.cstar.closed_form`` (a list of components).

    For :math:`\tau\ge2` the :math:`\max` is ``sympy.Max``.
    """
    tau = as_rational(tau)
    if tau == 1:
        return -sum(q * sympy.log(q) for q in p)
    if tau >= 2:
        return (1 - sympy.Max(*p)) / (tau - 1)
    a = 1 / (2 - tau)
    return (sum(q**a for q in p) ** (2 - tau) - 1) / (1 - tau)


def transformation_expr(t: sympy.Expr, tau: Any, n: Any) -> sympy.Expr:
    r""":math:`\mathcal T_\tau(t)` of ``hcons.main.general_form`` (n a number or a symbol)."""
    tau = as_rational(tau)
    if tau == 1:
        return (1 + t) / 2 * sympy.log(1 + t) + (1 - t) / 2 * sympy.log(1 - t)
    if tau >= 2:
        return t / ((tau - 1) * n ** (tau - 1))
    a = 1 / (2 - tau)
    mean = ((1 + t) ** a + (1 - t) ** a) / 2
    if tau < 1:
        return 2 ** (1 - tau) / (1 - tau) * (1 - mean ** (2 - tau))
    return (mean ** (2 - tau) - 1) / ((tau - 1) * n ** (tau - 1))


# --------------------------------------------------------------------------- certifier bridge


def certifiable(expr: sympy.Expr, symbols: Sequence[sympy.Symbol]) -> Certifiable:
    r"""Translate a sympy expression into ``f(x, m)`` for the interval certifier.

    Parameters
    ----------
    expr : sympy expression
        Built from the symbols with +, *, powers, ``exp`` and ``log`` (``sqrt`` is a
        power); rational constants stay exact (``m.const``), ``E`` and ``pi`` are
        enclosed.
    symbols : sequence of sympy.Symbol
        The variables, in the order of the certifier's box.

    Returns
    -------
    callable
        ``f(x, m)`` with ``x[i]`` standing for ``symbols[i]``.

    Raises
    ------
    TypeError
        For a sympy node with no interval counterpart (``Max``, ``Abs``, ...).
    """
    index = {symbol: i for i, symbol in enumerate(symbols)}
    unknown = expr.free_symbols - set(index)
    if unknown:
        raise TypeError(f"certifiable: free symbols {sorted(map(str, unknown))} not in {symbols}")
    return _build(sympy.sympify(expr), index)


def _build(expr: sympy.Expr, index: dict[sympy.Symbol, int]) -> Certifiable:
    if expr in index:
        position = index[expr]
        return lambda x, m: x[position]
    if expr.is_Integer:
        integer = int(expr)
        return lambda x, m: integer
    if expr.is_Rational:
        fraction = Fraction(int(expr.p), int(expr.q))
        return lambda x, m: m.const(fraction)
    if expr is sympy.E:
        return lambda x, m: m.exp(1)
    if expr is sympy.pi:
        return lambda x, m: m.pi
    if isinstance(expr, sympy.Add | sympy.Mul):
        parts = [_build(arg, index) for arg in expr.args]
        is_sum = isinstance(expr, sympy.Add)

        def combine(x: Sequence[Any], m: Any) -> Any:
            total = parts[0](x, m)
            for part in parts[1:]:
                total = total + part(x, m) if is_sum else total * part(x, m)
            return total

        return combine
    if isinstance(expr, sympy.Pow):
        base = _build(expr.base, index)
        exponent = expr.exp
        if exponent.is_Integer:
            power = int(exponent)
            return lambda x, m: m.pow(base(x, m), power)
        if exponent.is_Rational:
            rational = Fraction(int(exponent.p), int(exponent.q))
            return lambda x, m: m.pow(base(x, m), rational)
        symbolic = _build(exponent, index)
        return lambda x, m: m.exp(symbolic(x, m) * m.log(base(x, m)))
    if isinstance(expr, sympy.exp):
        argument = _build(expr.args[0], index)
        return lambda x, m: m.exp(argument(x, m))
    if isinstance(expr, sympy.log) and len(expr.args) == 1:
        argument = _build(expr.args[0], index)
        return lambda x, m: m.log(argument(x, m))
    raise TypeError(f"certifiable: no interval counterpart for {expr!r} ({type(expr).__name__})")


__all__ = [
    "Certifiable",
    "as_rational",
    "certifiable",
    "infimum_expr",
    "outer_expr",
    "phi_expr",
    "transformation_expr",
]
