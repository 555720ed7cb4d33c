r"""Machine-checked derivations: chains of equalities (sympy) and inequalities (certifier).

A :class:`Derivation` is the chain of steps of a paper's proof. Each step is

- :class:`Equal`: ``lhs == rhs`` as sympy expressions. It holds when the difference
  simplifies to zero under the symbols' assumptions; given a ``variable`` and a
  ``region`` (a sympy set), the two sides are compared piece by piece on the
  region, which is how piecewise closed forms (kinks, supports) are checked. When
  sympy cannot simplify the difference to zero, the step is probed at rational
  points: a non-zero residual there refutes it; a residual that vanishes at every
  probe without a proof leaves the step ``inconclusive``, never ``holds``.
- :class:`AtLeast`: ``f(x) >= 0`` on a box, proved by
  :func:`theorycheck.certify.certify_nonnegative` (``inconclusive`` when its
  budget runs out).

:meth:`Derivation.check` runs every step and returns one
:class:`~theorycheck.claim.Evidence`; the first failing step names itself in the
counterexample with its residual. A derivation is registered as a claim with the
usual decorator; its negative control is the same chain with a plausible wrong
step.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy

from theorycheck import checks
from theorycheck.certify import Budget, certify_nonnegative
from theorycheck.claim import Evidence

# ----------------------------------------------------------------- piecewise comparison


def as_piecewise(expr: sympy.Expr) -> sympy.Expr:
    """Rewrite Min, Max, Abs and Heaviside as a (folded) Piecewise."""
    return sympy.piecewise_fold(sympy.sympify(expr).rewrite(sympy.Piecewise))


def pieces_on(expr: sympy.Expr, region: sympy.Set) -> list[tuple[sympy.Expr, sympy.Set]]:
    """The pieces of ``expr`` on a region: ``(expression, subset)`` pairs."""
    expr = as_piecewise(expr)
    if isinstance(expr, sympy.Piecewise):
        return [(e, s) for e, s in expr.as_expr_set_pairs(region) if s is not sympy.S.EmptySet]
    return [(expr, region)]


def components(subset: sympy.Set) -> list[sympy.Set]:
    """The intervals and points of a union (or the set itself)."""
    return list(subset.args) if isinstance(subset, sympy.Union) else [subset]


def _sample_points(interval: sympy.Interval) -> list[sympy.Rational]:
    """Rational points inside an interval of positive length (several, in case of roots)."""
    lo, hi = interval.inf, interval.sup
    if lo.is_infinite and hi.is_infinite:
        return [sympy.Integer(n) for n in (0, 1, -1, 2, -2, 3)]
    if lo.is_infinite:
        return [hi - sympy.Rational(n, 2) for n in (1, 2, 3, 5, 7, 11)]
    if hi.is_infinite:
        return [lo + sympy.Rational(n, 2) for n in (1, 2, 3, 5, 7, 11)]
    return [lo + (hi - lo) * sympy.Rational(n, 13) for n in (6, 3, 9, 1, 12, 5)]


def piecewise_mismatches(
    candidate: sympy.Expr,
    derived: Sequence[tuple[sympy.Set, sympy.Expr]],
    symbol: sympy.Symbol,
) -> tuple[int, list[dict[str, str]]]:
    """Compare a (piecewise) candidate with a derived closed form region by region.

    Parameters
    ----------
    candidate : sympy expression
        A ``Piecewise`` (or Min/Max/Abs expression) in ``symbol``.
    derived : sequence of (Set, expression)
        The derived closed form on each region.
    symbol : sympy.Symbol
        The variable.

    Returns
    -------
    cases : int
        Number of (region, sub-interval or point) pairs examined.
    failures : list of dict
        Per failing sub-interval: the region, the sub-interval, a rational point
        where the two differ, both values there and the residual.
    """
    cases, failures = 0, []
    for region, expected in derived:
        for expr, subset in pieces_on(candidate, region):
            for part in components(subset):
                cases += 1
                if isinstance(part, sympy.FiniteSet):
                    points = list(part)
                elif sympy.simplify(expr - expected) == 0:
                    continue
                else:
                    points = _sample_points(part)
                bad = None
                for point in points:
                    residual = sympy.simplify((expr - expected).subs(symbol, point))
                    if residual != 0:
                        bad = (point, residual)
                        break
                if bad is None and isinstance(part, sympy.FiniteSet):
                    continue
                point, residual = bad if bad is not None else (points[0], sympy.nan)
                failures.append(
                    {
                        "region": str(region),
                        "piece_on": str(part),
                        str(symbol): str(point),
                        "candidate": str(expr.subs(symbol, point)),
                        "derived": str(expected.subs(symbol, point)),
                        "residual": str(residual),
                    }
                )
    return cases, failures


# ---------------------------------------------------------------------------- steps


def _probe_value(symbol: sympy.Symbol, rng: random.Random) -> sympy.Rational:
    """A random rational respecting the symbol's sign assumptions."""
    value = sympy.Rational(rng.randint(1, 29), rng.randint(1, 29))  # about half below 1
    if symbol.is_integer:
        value = sympy.Integer(rng.randint(1, 9))
    if symbol.is_positive or symbol.is_nonnegative:
        return value
    if symbol.is_negative or symbol.is_nonpositive:
        return -value
    return value if rng.random() < 0.5 else -value


def _reduce(expr: sympy.Expr) -> sympy.Expr:
    """Zero when sympy can show it: cheap rational normal form first, then ``simplify``."""
    for reduce in (sympy.cancel, sympy.simplify):
        expr = reduce(expr)
        if expr == 0:
            return sympy.S.Zero
    return expr


@dataclass(frozen=True)
class Equal:
    """A step ``lhs == rhs``, optionally piece by piece on a region of one variable.

    Parameters
    ----------
    label : str
        What the step does, as the paper would say it ("solve the KKT system").
    lhs, rhs : sympy expression
    variable : sympy.Symbol, optional
        With ``region``: compare the two sides as piecewise functions of it.
    region : sympy.Set, optional
        The region of ``variable`` on which the step is claimed.
    probes : int
        Rational probe points tried when simplification does not reach zero.
    """

    label: str
    lhs: Any
    rhs: Any
    variable: sympy.Symbol | None = None
    region: sympy.Set | None = None
    probes: int = 24

    def check(self) -> Evidence:
        lhs, rhs = sympy.sympify(self.lhs), sympy.sympify(self.rhs)
        if self.variable is not None and self.region is not None:
            cases, failures = piecewise_mismatches(lhs, [(self.region, rhs)], self.variable)
            residual = None
            if failures:
                try:
                    residual = float(sympy.sympify(failures[0]["residual"]))
                except (TypeError, ValueError):
                    residual = None
            return checks.exact(
                not failures,
                cases=cases,
                residual=residual,
                counterexample=failures[0] if failures else None,
            )
        difference = _reduce(lhs - rhs)
        if difference == 0:
            return checks.exact(True, cases=1, details={"residual": "0"})
        rng = random.Random(f"{self.label}|{sympy.srepr(difference)}")
        symbols = sorted(difference.free_symbols, key=lambda s: s.name)
        for _ in range(self.probes):
            point = {s: _probe_value(s, rng) for s in symbols}
            value = difference.subs(point)
            value = sympy.nsimplify(value) if value.is_number and not value.is_Rational else value
            numeric = sympy.N(value, 50)
            if not (numeric.is_number and numeric.is_finite) or not numeric.is_extended_real:
                continue  # outside the domain of a side (e.g. a log of a negative number)
            if abs(numeric) > sympy.Float("1e-40"):
                return checks.exact(
                    False,
                    cases=1,
                    residual=float(numeric),
                    counterexample={
                        "at": {str(k): str(v) for k, v in point.items()},
                        "residual": str(value if value.is_Rational else sympy.N(value, 17)),
                        "symbolic_residual": str(difference),
                    },
                )
        return Evidence(
            holds=False,
            margin=0.0,
            cases=self.probes,
            inconclusive=True,
            details={"step": self.label, "unsimplified_residual": str(difference)},
        )


@dataclass(frozen=True)
class AtLeast:
    """A step ``f(x) >= 0`` on a box, proved by the interval certifier.

    Parameters
    ----------
    label : str
        The inequality in words or LaTeX.
    function : callable
        ``f(x, m)`` as :func:`theorycheck.certify.certify_nonnegative` takes it.
    box : sequence of (lo, hi)
    budget : Budget, optional
    """

    label: str
    function: Callable[[Sequence[Any], Any], Any]
    box: Sequence[tuple[Any, Any]]
    budget: Budget = field(default_factory=lambda: Budget(max_boxes=20_000, seconds=20.0))

    def check(self) -> Evidence:
        certificate = certify_nonnegative(self.function, self.box, budget=self.budget)
        return certificate.to_evidence()


PROBE_DIGITS = 30
"""Digits of the quick probes of :func:`probed_equal`."""
PROBE_GAP = sympy.Float("1e-20")
"""A probe refutes when |lhs - rhs| exceeds this times the summands' magnitude."""


def probed_equal(label: str, lhs: Any, rhs: Any, probes: int = 3) -> Evidence:
    r"""Probe ``lhs == rhs`` at rational points first, then prove it with :class:`Equal`.

    :class:`~proofs_check.derivation.Equal` simplifies before it probes, which costs
    seconds on a false identity of exponentials and cosines. A false identity is
    refuted here instead: both sides are evaluated to 30 digits at random rational
    points (positive where the symbol is), and a gap above 1e-20 times the sum of the
    magnitudes of the summands of both sides (the evaluation's roundoff is near 1e-30
    of that) is a counterexample. Otherwise :class:`Equal` decides.
    """
    lhs, rhs = sympy.sympify(lhs), sympy.sympify(rhs)
    symbols = sorted((lhs - rhs).free_symbols, key=lambda s: s.name)
    terms = sympy.Add.make_args(lhs) + sympy.Add.make_args(rhs)
    rng = random.Random(label)
    for _ in range(probes):
        point = {}
        for symbol in symbols:
            value = sympy.Rational(rng.randint(1, 60), rng.randint(1, 12))
            point[symbol] = value if symbol.is_positive or rng.random() < 0.5 else -value
        left = sympy.N(lhs.xreplace(point), PROBE_DIGITS)
        right = sympy.N(rhs.xreplace(point), PROBE_DIGITS)
        if not (left.is_real and right.is_real and left.is_finite and right.is_finite):
            continue
        # the roundoff of a 30-digit evaluation is relative to the size of the summands
        scale = sum(abs(sympy.N(term.xreplace(point), 15)) for term in terms)
        if not (scale.is_real and scale.is_finite):
            continue
        if abs(left - right) > PROBE_GAP * scale:
            return checks.exact(
                False,
                residual=float(left - right),
                counterexample={
                    "step": label,
                    "at": {str(k): str(v) for k, v in point.items()},
                    "lhs": str(sympy.N(left, 17)),
                    "rhs": str(sympy.N(right, 17)),
                },
            )
    return Equal(label, lhs, rhs).check()


def equal_chain(steps: Sequence[tuple[str, Any, Any]]) -> Evidence:
    """:func:`probed_equal` on each ``(label, lhs, rhs)`` in order, stopping at the first
    refuted step (one refutation refutes the chain; the rest would only cost time)."""
    results: dict[str, Evidence] = {}
    for label, lhs, rhs in steps:
        results[label] = evidence = probed_equal(label, lhs, rhs)
        if not evidence.holds:
            break
    return checks.combine(results)


Step = Equal | AtLeast


@dataclass(frozen=True)
class Derivation:
    """A chain of steps; it holds when every step holds.

    Parameters
    ----------
    steps : sequence of Equal or AtLeast
    """

    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError("a derivation needs at least one step")
        labels = [s.label for s in self.steps]
        if len(set(labels)) != len(labels):
            raise ValueError(f"derivation step labels repeat: {labels}")

    def check(self) -> Evidence:
        """Check every step; the counterexample names the first failing step."""
        evidence = checks.combine({step.label: step.check() for step in self.steps})
        if evidence.counterexample is not None:
            example = dict(evidence.counterexample)
            evidence.counterexample = {"step": example.pop("part"), **example}
        return evidence
