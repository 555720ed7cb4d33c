r"""Interval branch-and-bound certifier: prove ``f(x) >= 0`` for every ``x`` in a box.

A claim such as :math:`\log(1 + x) \le x` on :math:`[0, 10]` becomes the statement
``f(x) = x - log(1 + x) >= 0`` on a box, which :func:`certify_nonnegative` either
*proves* (every point of the box is covered by a sub-box on which a rigorous
enclosure of ``f`` is non-negative), *refutes* (a point where ``f`` is certainly
negative), or reports *inconclusive* when its budget runs out. An inconclusive run
never counts as a pass.

Writing ``f``
-------------
``f(x, m)`` is written once, as a Python function of a sequence ``x`` of scalars and
a math namespace ``m`` (``m.log``, ``m.exp``, ``m.sqrt``, ``m.pow``, ``m.sin``,
``m.cos``, ``m.tan``, ``m.atan``, ``m.sinh``, ``m.cosh``, ``m.tanh``, ``m.log1p``,
``m.expm1``, ``m.pi``, ``m.const``). The certifier calls it with three kinds of
scalars: interval enclosures of a box (python-flint ``arb`` balls, or ``mpmath.iv``
intervals in the fallback), exact points (to certify a counterexample), and Taylor
jets (truncated multivariate Taylor series whose coefficients are exact rationals
where possible and intervals otherwise). Python ``int`` and ``float`` constants are
used exactly (a float is the binary number it denotes); write a decimal constant
that must be exact as ``m.const("0.1")``.

Algorithm
---------
Boxes wait in a priority queue (the box whose enclosure has the lowest lower bound
first, so that counterexamples surface early). For a box ``B``:

1. *Natural enclosure*: evaluate ``f`` on the interval enclosure of ``B``. If its
   lower end is certainly ``>= 0``, ``B`` is certified.
2. *Point test*: evaluate ``f`` at the split point ``s`` of ``B`` (an exact dyadic
   rational). If ``f(s) < 0`` certainly, ``s`` is a counterexample: refuted.
3. *Monotonicity*: the gradient enclosure over ``B`` (from the jet of ``f`` over
   ``B``) is examined; if ``df/dx_i`` has a certain sign on ``B``, the minimum of
   ``f`` over ``B`` lies on the face ``x_i = lo_i`` (or ``hi_i``), and ``B`` is
   replaced by that face (a face of dimension zero is a point, evaluated exactly).
4. *Taylor forms*: for expansion points ``c`` (the split point and box corners),
   with ``d = x - c``,

   .. math:: f(x) \in \sum_{|\alpha| < k} \frac{D^\alpha f(c)}{\alpha!} d^\alpha
             + \sum_{|\alpha| = k} \frac{D^\alpha f(B)}{\alpha!} d^\alpha ,

   the Lagrange form of the remainder, for every order ``k`` up to
   ``taylor_order``. The coefficients at ``c`` are computed in exact rational
   arithmetic where the elementary functions allow it (``log 1 = 0``,
   ``exp 0 = 1``, ``sin 0 = 0``, ...), so that at a *touching zero* (``f(c) = 0``,
   ``f'(c) = 0``, ...) the vanishing coefficients are exactly zero, and the
   remainder term, with an even power of ``d`` or ``d`` of one sign at a corner,
   has lower bound exactly zero. Each term's range is bounded from the exact range
   of the monomial ``d^\alpha``; for ``k = 2`` in several dimensions a diagonal
   dominance bound of the quadratic form is also tried. If some order gives a
   lower bound certainly ``>= 0``, ``B`` is certified.
5. Otherwise bisect the widest side at its *simplest dyadic point* in the middle
   half of the side (the multiple of the largest power of two there). Zeros at
   simple numbers such as ``0`` or ``1`` land on box corners after a few
   splits, where steps 3 and 4 prove them; boxes still shrink by at least a
   quarter per split.

A budget (boxes examined, bisection depth, wall-clock seconds) ends the search with
status ``inconclusive`` and the boxes left uncovered. Every decision uses a certain
interval comparison (``arb >= 0`` is true only when every point of the ball is);
floats and rationals enter exactly or as enclosing balls, so ``proved`` is never
reported for a statement that the arithmetic did not prove.

Limits: a touching zero is certified when it sits at a dyadic rational that the
splits reach and the Taylor coefficients that vanish there evaluate to exact zeros.
A zero at a non-dyadic point (``(x - 1/3) * (x - 1/3)``), a vanishing coefficient
known only up to rounding (``2**x - 1 - x log 2`` at 0, where ``f'(0) = log 2 -
log 2``), or a non-smooth corner (``sqrt(x) - x`` at 0 with ``arb``) ends
``inconclusive``. An ``arb`` ball's radius has a 30-bit mantissa, so a ball around a
box overshoots it slightly; each side is therefore enclosed twice, once exact at
each end, and the enclosures of ``f`` are intersected. ``x ** 2`` on a ball is
ball arithmetic (loose around 0); ``m.pow(x, 2)`` gives the exact range.

The engine is python-flint ``arb`` when it is installed and ``mpmath.iv`` otherwise
(``engine="flint"`` or ``"mpmath"`` forces one). The flint engine sets the global
``flint.ctx.prec`` for the duration of a call; calls are not thread safe.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any

from theorycheck.claim import Evidence

__all__ = [
    "Budget",
    "Certificate",
    "available_engines",
    "certify_nonnegative",
]

STATUSES = ("proved", "refuted", "inconclusive")
"""Outcomes of a certification run."""

ENGINES = ("flint", "mpmath")
"""Interval engines, in order of preference."""

_ZERO = Fraction(0)
_ONE = Fraction(1)
_HALF = Fraction(1, 2)
_MAX_CORNER_DIMENSION = 2
_CACHE_LIMIT = 4096


class _NotSmooth(ArithmeticError):
    """A jet operation is not differentiable (or not supported) on its argument."""


# --------------------------------------------------------------------------- budget


@dataclass(frozen=True)
class Budget:
    """Limits on a certification run; exhausting any of them gives ``inconclusive``.

    Parameters
    ----------
    max_boxes : int
        Most boxes examined (each natural, point and Taylor test of one box counts
        once).
    max_depth : int
        Most bisections from the initial box to a sub-box; a box at this depth that
        cannot be certified is left uncovered.
    seconds : float
        Wall-clock limit, checked before each box.
    """

    max_boxes: int = 20_000
    max_depth: int = 64
    seconds: float = 60.0

    def __post_init__(self) -> None:
        if not isinstance(self.max_boxes, int) or self.max_boxes < 1:
            raise ValueError(f"max_boxes must be a positive integer, got {self.max_boxes!r}")
        if not isinstance(self.max_depth, int) or self.max_depth < 0:
            raise ValueError(f"max_depth must be a non-negative integer, got {self.max_depth!r}")
        if not (isinstance(self.seconds, int | float) and self.seconds > 0):
            raise ValueError(f"seconds must be a positive number, got {self.seconds!r}")


# ---------------------------------------------------------------------- certificate


@dataclass
class Certificate:
    """The outcome of :func:`certify_nonnegative`.

    Attributes
    ----------
    status : str
        ``"proved"``, ``"refuted"`` or ``"inconclusive"``.
    boxes_examined : int
        Boxes (and faces) examined.
    max_depth : int
        Deepest bisection level examined.
    smallest_lower_bound : float
        A certified lower bound of ``f`` over every certified box (rounded down to a
        float); ``inf`` when no box was certified. For ``proved`` it bounds ``f`` on
        the whole box.
    seconds : float
        Wall-clock time of the run.
    engine : str
        ``"flint"`` or ``"mpmath"``.
    dimension : int
        Number of variables.
    counterexample : dict or None
        For ``refuted``: ``x`` (the point, as floats), ``x_exact`` (the exact
        rational coordinates as strings; ``x`` equals them when ``x_is_exact``),
        ``value`` (``f(x)``, the midpoint of its enclosure) and ``value_upper``
        (a certified upper bound of ``f(x)``, negative).
    uncovered : list
        For ``inconclusive``: the boxes neither certified nor refuted, each a tuple
        of ``(lo, hi)`` float pairs rounded outwards.
    uncovered_lower_bound : float
        A certified lower bound of ``f`` over the uncovered boxes (``-inf`` when
        unknown, ``inf`` when there are none).
    reason : str
        Why an inconclusive run stopped: ``"max_boxes"``, ``"seconds"``,
        ``"max_depth"`` or ``"undecided-point"``; empty otherwise.
    details : dict
        Settings of the run (precision, Taylor order, budget).
    """

    status: str
    boxes_examined: int
    max_depth: int
    smallest_lower_bound: float
    seconds: float
    engine: str
    dimension: int
    counterexample: dict[str, Any] | None = None
    uncovered: list[tuple[tuple[float, float], ...]] = field(default_factory=list)
    uncovered_lower_bound: float = math.inf
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {STATUSES}")

    @property
    def proved(self) -> bool:
        """Whether ``f >= 0`` was proved on the whole box."""
        return self.status == "proved"

    @property
    def refuted(self) -> bool:
        """Whether a point with ``f < 0`` (certainly) was found."""
        return self.status == "refuted"

    @property
    def inconclusive(self) -> bool:
        """Whether the budget ran out (or a point could not be decided)."""
        return self.status == "inconclusive"

    def summary(self) -> str:
        """One line: status, boxes, depth, bound or counterexample, seconds."""
        text = (
            f"{self.status} ({self.engine}): {self.boxes_examined} boxes, depth "
            f"{self.max_depth}, {self.seconds:.3g} s"
        )
        if self.proved:
            text += f", f >= {self.smallest_lower_bound:.6g}"
        elif self.refuted and self.counterexample is not None:
            text += f", f({self.counterexample['x']}) = {self.counterexample['value']:.6g}"
        else:
            text += f", {len(self.uncovered)} boxes uncovered ({self.reason})"
        return text

    def to_evidence(self) -> Evidence:
        """This certificate as :class:`~theorycheck.claim.Evidence`.

        ``holds`` only for ``proved``; ``inconclusive=True`` for an exhausted
        budget; the margin is the certified lower bound (proved), the certified
        upper bound of ``f`` at the counterexample (refuted, negative), or the lower
        bound over the uncovered boxes (inconclusive).
        """
        if self.proved:
            margin = self.smallest_lower_bound
        elif self.refuted and self.counterexample is not None:
            margin = self.counterexample["value_upper"]
        else:
            margin = self.uncovered_lower_bound
        if math.isnan(margin):
            margin = -math.inf
        details = {
            "status": self.status,
            "engine": self.engine,
            "boxes": self.boxes_examined,
            "depth": self.max_depth,
            "seconds": self.seconds,
            "smallest_lower_bound": self.smallest_lower_bound,
        }
        if self.inconclusive:
            details["reason"] = self.reason
            details["uncovered"] = len(self.uncovered)
        details.update(self.details)
        return Evidence(
            holds=self.proved,
            margin=margin,
            cases=self.boxes_examined,
            counterexample=self.counterexample,
            details=details,
            inconclusive=self.inconclusive,
        )


# -------------------------------------------------------------------------- engines


def _float_down_fraction(value: Fraction) -> float:
    """Largest float that is ``<= value`` (within one ulp)."""
    result = float(value)
    if Fraction(result) > value:
        result = math.nextafter(result, -math.inf)
    return result


def _float_up_fraction(value: Fraction) -> float:
    """Smallest float that is ``>= value`` (within one ulp)."""
    result = float(value)
    if Fraction(result) < value:
        result = math.nextafter(result, math.inf)
    return result


class _FlintEngine:
    """Ball arithmetic with python-flint ``arb``."""

    name = "flint"

    def __init__(self, precision: int) -> None:
        import flint

        self._arb = flint.arb
        self._fmpq = flint.fmpq
        self._ctx = flint.ctx
        self.precision = precision
        self._cache: dict[Fraction, Any] = {}

    @contextmanager
    def activate(self) -> Iterator[None]:
        """Set the working precision for the duration of a run."""
        old = self._ctx.prec
        self._ctx.prec = self.precision
        try:
            yield
        finally:
            self._ctx.prec = old

    def is_scalar(self, value: Any) -> bool:
        return isinstance(value, self._arb)

    def from_fraction(self, value: Fraction) -> Any:
        cached = self._cache.get(value)
        if cached is None:
            cached = self._arb(self._fmpq(value.numerator, value.denominator))
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[value] = cached
        return cached

    def hulls(self, lo: Fraction, hi: Fraction) -> tuple[Any, ...]:
        """Balls containing ``[lo, hi]``: one exact at ``lo``, one exact at ``hi``.

        An ``arb`` radius has a 30-bit mantissa and python-flint rounds it up, so a
        ball centred on the box sticks out at both ends (by ~2^-29 of the width):
        fatal at a domain boundary (``sqrt`` at 0). Shifting the non-negative part
        of a ball around ``[0, hi - lo]`` keeps one end exact.
        """
        if lo == hi:
            return (self.from_fraction(lo),)
        width = self._arb(0).union(self.from_fraction(hi - lo)).nonnegative_part()
        return (self.from_fraction(lo) + width, self.from_fraction(hi) - width)

    def intersect(self, a: Any, b: Any) -> Any:
        try:
            return a.intersection(b)
        except ValueError:
            return a if self.float_down(a) >= self.float_down(b) else b

    def lift(self, value: Any) -> Any:
        if isinstance(value, self._arb):
            return value
        return self.from_fraction(_exact(value))

    def lower(self, x: Any) -> Any:
        return x.lower()

    def upper(self, x: Any) -> Any:
        return x.upper()

    def is_finite(self, x: Any) -> bool:
        return bool(x.is_finite())

    def nonneg(self, x: Any) -> bool:
        return bool(x >= 0)

    def nonpos(self, x: Any) -> bool:
        return bool(x <= 0)

    def negative(self, x: Any) -> bool:
        return bool(x < 0)

    def positive(self, x: Any) -> bool:
        return bool(x > 0)

    def min_lower(self, values: Sequence[Any]) -> Any:
        result = values[0]
        for value in values[1:]:
            result = result.min(value)
        return result.lower()

    def abs_upper(self, x: Any) -> Any:
        return x.abs_upper()

    def float_down(self, x: Any) -> float:
        if x.is_nan():
            return math.nan
        low = x.lower()
        if not low.is_finite():
            return -math.inf
        result = float(low)
        if self._arb(result) > low:
            result = math.nextafter(result, -math.inf)
        return result

    def float_up(self, x: Any) -> float:
        if x.is_nan():
            return math.nan
        high = x.upper()
        if not high.is_finite():
            return math.inf
        result = float(high)
        if self._arb(result) < high:
            result = math.nextafter(result, math.inf)
        return result

    def float_mid(self, x: Any) -> float:
        return float(x.mid())

    def apply(self, name: str, x: Any) -> Any:
        return getattr(x, name)()

    def power(self, x: Any, exponent: Any) -> Any:
        if isinstance(exponent, int):
            return self._int_power(x, exponent)
        return x ** self.lift(exponent)

    def _int_power(self, x: Any, n: int) -> Any:
        """``x ** n`` with the exact range of an even power of a ball around 0."""
        if n < 0:
            return 1 / self._int_power(x, -n)
        if n == 0:
            return self._arb(1)
        if x.is_exact() or not x.contains(0):
            return _repeated_power(x, n)
        if n % 2 == 0:
            top = _repeated_power(x.abs_upper(), n)
            return self._arb(0).union(top).nonnegative_part()
        return _repeated_power(x.lower(), n).union(_repeated_power(x.upper(), n))

    def pi(self) -> Any:
        return self._arb.pi()


def _repeated_power(x: Any, n: int) -> Any:
    """``x ** n`` for ``n >= 1`` by binary powering (multiplications only)."""
    result = None
    base = x
    while n:
        if n & 1:
            result = base if result is None else result * base
        n >>= 1
        if n:
            base = base * base
    return result


class _MpmathEngine:
    """Endpoint interval arithmetic with ``mpmath.iv`` (the fallback engine)."""

    name = "mpmath"

    def __init__(self, precision: int) -> None:
        from mpmath import iv, libmp

        self._iv = iv
        self._libmp = libmp
        self._type = type(iv.mpf(0))
        self.precision = precision
        self._cache: dict[Fraction, Any] = {}

    @contextmanager
    def activate(self) -> Iterator[None]:
        old = self._iv.prec
        self._iv.prec = self.precision
        try:
            yield
        finally:
            self._iv.prec = old

    def is_scalar(self, value: Any) -> bool:
        return isinstance(value, self._type)

    def _make(self, lo: Any, hi: Any) -> Any:
        return self._iv.make_mpf((lo, hi))

    def from_fraction(self, value: Fraction) -> Any:
        cached = self._cache.get(value)
        if cached is None:
            cached = self._iv.mpf(value.numerator) / self._iv.mpf(value.denominator)
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[value] = cached
        return cached

    def hulls(self, lo: Fraction, hi: Fraction) -> tuple[Any, ...]:
        """The interval ``[lo, hi]`` (endpoints rounded outwards)."""
        return (self._make(self.from_fraction(lo)._mpi_[0], self.from_fraction(hi)._mpi_[1]),)

    def intersect(self, a: Any, b: Any) -> Any:
        lib = self._libmp
        lo = a._mpi_[0] if lib.mpf_lt(b._mpi_[0], a._mpi_[0]) else b._mpi_[0]
        hi = a._mpi_[1] if lib.mpf_lt(a._mpi_[1], b._mpi_[1]) else b._mpi_[1]
        return self._make(lo, hi)

    def lift(self, value: Any) -> Any:
        if isinstance(value, self._type):
            return value
        return self.from_fraction(_exact(value))

    def lower(self, x: Any) -> Any:
        return self._make(x._mpi_[0], x._mpi_[0])

    def upper(self, x: Any) -> Any:
        return self._make(x._mpi_[1], x._mpi_[1])

    def _finite_raw(self, raw: Any) -> bool:
        lib = self._libmp
        return raw not in (lib.finf, lib.fninf, lib.fnan)

    def is_finite(self, x: Any) -> bool:
        return self._finite_raw(x._mpi_[0]) and self._finite_raw(x._mpi_[1])

    def nonneg(self, x: Any) -> bool:
        return (x >= 0) is True

    def nonpos(self, x: Any) -> bool:
        return (x <= 0) is True

    def negative(self, x: Any) -> bool:
        return (x < 0) is True

    def positive(self, x: Any) -> bool:
        return (x > 0) is True

    def min_lower(self, values: Sequence[Any]) -> Any:
        lows = [v._mpi_[0] for v in values]
        if any(low == self._libmp.fnan for low in lows):
            return self._make(self._libmp.fninf, self._libmp.fninf)
        best = lows[0]
        for low in lows[1:]:
            if self._libmp.mpf_lt(low, best):
                best = low
        return self._make(best, best)

    def abs_upper(self, x: Any) -> Any:
        lib = self._libmp
        a, b = (lib.mpf_abs(v) for v in x._mpi_)
        top = b if lib.mpf_lt(a, b) else a
        return self._make(top, top)

    def float_down(self, x: Any) -> float:
        return float(self._libmp.to_float(x._mpi_[0], rnd="f"))

    def float_up(self, x: Any) -> float:
        return float(self._libmp.to_float(x._mpi_[1], rnd="c"))

    def float_mid(self, x: Any) -> float:
        return float(x.mid)

    def apply(self, name: str, x: Any) -> Any:
        if name in ("atan", "tanh", "sinh"):
            return self._increasing(name, x)
        if name == "cosh":
            return self._cosh(x)
        return getattr(self._iv, name)(x)

    def _increasing(self, name: str, x: Any) -> Any:
        """An increasing function on the endpoints, rounded outwards."""
        lib = self._libmp
        if name == "atan":
            fn = lib.mpf_atan
        elif name == "tanh":
            fn = lib.mpf_tanh
        else:

            def fn(v: Any, prec: int, rnd: str) -> Any:
                return lib.mpf_cosh_sinh(v, prec, rnd)[1]

        lo, hi = x._mpi_
        return self._make(fn(lo, self.precision, "f"), fn(hi, self.precision, "c"))

    def _cosh(self, x: Any) -> Any:
        lib = self._libmp
        lo, hi = x._mpi_
        if lib.mpf_le(lo, lib.fzero) and lib.mpf_le(lib.fzero, hi):
            nearest = lib.fzero
        elif lib.mpf_lt(lib.fzero, lo):
            nearest = lo
        else:
            nearest = hi
        far = lo if lib.mpf_lt(lib.mpf_abs(hi), lib.mpf_abs(lo)) else hi
        bottom = lib.mpf_cosh_sinh(nearest, self.precision, "f")[0]
        top = lib.mpf_cosh_sinh(far, self.precision, "c")[0]
        return self._make(bottom, top)

    def power(self, x: Any, exponent: Any) -> Any:
        if isinstance(exponent, int):
            return x**exponent
        return x ** self.lift(exponent)

    def pi(self) -> Any:
        return +self._iv.pi


_Engine = _FlintEngine | _MpmathEngine


def available_engines() -> tuple[str, ...]:
    """The interval engines importable here, in order of preference."""
    found = []
    for name, module in (("flint", "flint"), ("mpmath", "mpmath")):
        try:
            __import__(module)
        except ImportError:
            continue
        found.append(name)
    return tuple(found)


def _make_engine(name: str, precision: int) -> _Engine:
    """The engine ``name`` (``"auto"``: flint if installed, else mpmath)."""
    if name not in ("auto", *ENGINES):
        raise ValueError(f"engine must be 'auto', 'flint' or 'mpmath', got {name!r}")
    if not isinstance(precision, int) or precision < 24:
        raise ValueError(f"precision must be an integer number of bits >= 24, got {precision!r}")
    choices = ENGINES if name == "auto" else (name,)
    for choice in choices:
        try:
            return _FlintEngine(precision) if choice == "flint" else _MpmathEngine(precision)
        except ImportError:
            continue
    raise ValueError(
        f"engine {name!r} is not available: install python-flint (extra 'certified') or mpmath"
    )


# ---------------------------------------------------------------- exact/mixed numbers


def _exact(value: Any) -> Fraction:
    """An exact rational from an int, finite float, Fraction or decimal string."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, bool):
        return Fraction(int(value))
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"non-finite number {value!r}")
        return Fraction(value)
    if isinstance(value, str):
        try:
            return Fraction(value.strip())
        except (ValueError, ZeroDivisionError) as error:
            raise ValueError(f"cannot read {value!r} as an exact number") from error
    try:
        return Fraction(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"cannot use {value!r} ({type(value).__name__}) as a number") from error


def _is_exact(value: Any) -> bool:
    return type(value) is Fraction


def _is_zero(value: Any) -> bool:
    return type(value) is Fraction and not value


def _add(engine: _Engine, x: Any, y: Any) -> Any:
    if type(x) is Fraction:
        if type(y) is Fraction:
            return x + y
        if not x:
            return y
    elif type(y) is Fraction and not y:
        return x
    return engine.lift(x) + engine.lift(y)


def _sub(engine: _Engine, x: Any, y: Any) -> Any:
    if type(x) is Fraction and type(y) is Fraction:
        return x - y
    if _is_zero(y):
        return x
    return engine.lift(x) - engine.lift(y)


def _mul(engine: _Engine, x: Any, y: Any) -> Any:
    if type(x) is Fraction:
        if type(y) is Fraction:
            return x * y
        if not x:
            return _ZERO
        if x == 1:
            return y
    elif type(y) is Fraction:
        if not y:
            return _ZERO
        if y == 1:
            return x
    return engine.lift(x) * engine.lift(y)


def _div(engine: _Engine, x: Any, y: Any) -> Any:
    if type(x) is Fraction and type(y) is Fraction:
        if not y:
            raise _NotSmooth("division by exact zero")
        return x / y
    if _is_zero(x):
        return _ZERO
    if type(y) is Fraction and y.denominator == 1 and y:
        return engine.lift(x) / int(y)
    return engine.lift(x) / engine.lift(y)


def _neg(x: Any) -> Any:
    return -x


def _exact_sqrt(value: Fraction) -> Fraction | None:
    if value < 0:
        return None
    num, den = math.isqrt(value.numerator), math.isqrt(value.denominator)
    if num * num == value.numerator and den * den == value.denominator:
        return Fraction(num, den)
    return None


_EXACT_VALUES: dict[str, tuple[Fraction, Fraction]] = {
    "exp": (_ZERO, _ONE),
    "log": (_ONE, _ZERO),
    "log1p": (_ZERO, _ZERO),
    "expm1": (_ZERO, _ZERO),
    "sin": (_ZERO, _ZERO),
    "cos": (_ZERO, _ONE),
    "tan": (_ZERO, _ZERO),
    "atan": (_ZERO, _ZERO),
    "sinh": (_ZERO, _ZERO),
    "cosh": (_ZERO, _ONE),
    "tanh": (_ZERO, _ZERO),
}
"""Elementary functions at the one rational argument where their value is rational."""


def _elementary(engine: _Engine, name: str, x: Any) -> Any:
    """``name(x)``: exact where it is rational, an enclosure otherwise."""
    if type(x) is Fraction:
        if name == "sqrt":
            root = _exact_sqrt(x)
            if root is not None:
                return root
        elif x == _EXACT_VALUES[name][0]:
            return _EXACT_VALUES[name][1]
    return engine.apply(name, engine.lift(x))


def _real_power(engine: _Engine, base: Any, exponent: Any) -> Any:
    """``base ** exponent`` for a non-integer exponent (exact for perfect squares)."""
    if type(base) is Fraction and type(exponent) is Fraction:
        if base == 1:
            return _ONE
        if exponent.denominator == 2:
            root = _exact_sqrt(base)
            if root is not None:
                return root**exponent.numerator
    if type(exponent) is Fraction and exponent.denominator == 2:
        root = engine.apply("sqrt", engine.lift(base))
        return engine.power(root, exponent.numerator)
    return engine.power(engine.lift(base), engine.lift(exponent))


# ------------------------------------------------------ univariate Taylor coefficients


def _factorial_scaled(engine: _Engine, values: Sequence[Any]) -> list[Any]:
    """``values[k] / k!``."""
    return [_div(engine, value, Fraction(math.factorial(k))) for k, value in enumerate(values)]


def _inverse_powers(engine: _Engine, u0: Any, order: int) -> list[Any]:
    """``[1, 1/u0, 1/u0^2, ...]`` up to ``order``."""
    inverse = _div(engine, _ONE, u0)
    powers = [_ONE]
    for _ in range(order):
        powers.append(_mul(engine, powers[-1], inverse))
    return powers


def _log_coefficients(engine: _Engine, value: Any, w0: Any, order: int) -> list[Any]:
    """Taylor coefficients of ``log(w0 + t)`` with constant term ``value``."""
    inverse = _inverse_powers(engine, w0, order)
    coefficients = [value]
    for k in range(1, order + 1):
        term = _div(engine, inverse[k], Fraction(k))
        coefficients.append(term if k % 2 else _neg(term))
    return coefficients


def _cyclic(engine: _Engine, cycle: Sequence[Any], order: int) -> list[Any]:
    return _factorial_scaled(engine, [cycle[k % len(cycle)] for k in range(order + 1)])


def _riccati(engine: _Engine, v0: Any, sign: int, order: int) -> list[Any]:
    """Coefficients of ``v`` with ``v' = 1 + sign * v^2`` (tan: +1, tanh: -1)."""
    v = [v0]
    for k in range(order):
        square = _ZERO
        for j in range(k + 1):
            square = _add(engine, square, _mul(engine, v[j], v[k - j]))
        if sign < 0:
            square = _neg(square)
        total = _add(engine, _ONE, square) if k == 0 else square
        v.append(_div(engine, total, Fraction(k + 1)))
    return v


def _atan_coefficients(engine: _Engine, u0: Any, order: int) -> list[Any]:
    """Coefficients of ``atan(u0 + t)``: integrate ``1 / (1 + (u0 + t)^2)``."""
    p0 = _add(engine, _ONE, _mul(engine, u0, u0))
    p1 = _mul(engine, Fraction(2), u0)
    w: list[Any] = []
    for k in range(order):
        total = _ONE if k == 0 else _ZERO
        if k >= 1:
            total = _sub(engine, total, _mul(engine, p1, w[k - 1]))
        if k >= 2:
            total = _sub(engine, total, w[k - 2])
        w.append(_div(engine, total, p0))
    return [_elementary(engine, "atan", u0)] + [
        _div(engine, w[k], Fraction(k + 1)) for k in range(order)
    ]


def _binomial(engine: _Engine, exponent: Any, k: int) -> Any:
    """``binom(exponent, k)`` for a real exponent."""
    result: Any = _ONE
    for i in range(k):
        factor = _sub(engine, exponent, Fraction(i))
        result = _div(engine, _mul(engine, result, factor), Fraction(i + 1))
    return result


def _power_coefficients(engine: _Engine, u0: Any, exponent: Any, order: int) -> list[Any]:
    """Coefficients of ``(u0 + t) ** exponent`` for a non-integer exponent."""
    if _is_zero(u0):
        raise _NotSmooth("fractional power at zero")
    if not _is_exact(u0):
        # u0^(p-k) directly: [0, w]^(-1/2) = [w^(-1/2), inf] keeps its sign, where
        # u0^p * u0^(-k) would multiply 0 by inf.
        return [
            _mul(
                engine,
                _binomial(engine, exponent, k),
                _real_power(engine, u0, _sub(engine, exponent, Fraction(k))),
            )
            for k in range(order + 1)
        ]
    base = _real_power(engine, u0, exponent)
    inverse = _inverse_powers(engine, u0, order)
    return [
        _mul(engine, _mul(engine, _binomial(engine, exponent, k), base), inverse[k])
        for k in range(order + 1)
    ]


def _coefficients(engine: _Engine, name: str, u0: Any, order: int, exponent: Any = None) -> list:
    """Taylor coefficients ``phi^(k)(u0) / k!``, ``k = 0..order``, of an elementary ``phi``.

    Exact rationals where the derivatives are rational at a rational ``u0``,
    enclosures otherwise (``u0`` may itself be an enclosure of a box).
    """
    if name == "inv":
        inverse = _inverse_powers(engine, u0, order + 1)
        return [inverse[k + 1] if k % 2 == 0 else _neg(inverse[k + 1]) for k in range(order + 1)]
    if name == "pow":
        return _power_coefficients(engine, u0, exponent, order)
    if name == "sqrt":
        return _power_coefficients(engine, u0, _HALF, order)
    if name == "log":
        return _log_coefficients(engine, _elementary(engine, "log", u0), u0, order)
    if name == "log1p":
        w0 = _add(engine, _ONE, u0)
        return _log_coefficients(engine, _elementary(engine, "log1p", u0), w0, order)
    if name in ("exp", "expm1"):
        e0 = _elementary(engine, "exp", u0)
        values = _factorial_scaled(engine, [e0] * (order + 1))
        values[0] = _elementary(engine, name, u0)
        return values
    if name in ("sin", "cos"):
        s, c = _elementary(engine, "sin", u0), _elementary(engine, "cos", u0)
        cycle = [s, c, _neg(s), _neg(c)] if name == "sin" else [c, _neg(s), _neg(c), s]
        return _cyclic(engine, cycle, order)
    if name in ("sinh", "cosh"):
        sh, ch = _elementary(engine, "sinh", u0), _elementary(engine, "cosh", u0)
        return _cyclic(engine, [sh, ch] if name == "sinh" else [ch, sh], order)
    if name == "tan":
        return _riccati(engine, _elementary(engine, "tan", u0), +1, order)
    if name == "tanh":
        return _riccati(engine, _elementary(engine, "tanh", u0), -1, order)
    if name == "atan":
        return _atan_coefficients(engine, u0, order)
    raise _NotSmooth(f"no Taylor coefficients for {name!r}")


# --------------------------------------------------------------------- Taylor jets


@lru_cache(maxsize=64)
def _monomials(nvars: int, order: int) -> tuple[tuple[int, ...], ...]:
    """Exponent tuples of total degree ``<= order``, sorted by degree."""
    found = [
        alpha
        for degree in range(order + 1)
        for alpha in itertools.product(range(degree + 1), repeat=nvars)
        if sum(alpha) == degree
    ]
    return tuple(found)


@lru_cache(maxsize=64)
def _product_table(nvars: int, order: int) -> tuple[tuple[int, int, int], ...]:
    """Index triples ``(i, j, k)`` with ``monomial_i * monomial_j = monomial_k``."""
    monomials = _monomials(nvars, order)
    index = {alpha: k for k, alpha in enumerate(monomials)}
    table = []
    for i, a in enumerate(monomials):
        for j, b in enumerate(monomials):
            product = tuple(x + y for x, y in zip(a, b, strict=True))
            if sum(product) <= order:
                table.append((i, j, index[product]))
    return tuple(table)


class _JetSpace:
    """Truncated Taylor polynomials in ``nvars`` variables up to total degree ``order``."""

    def __init__(self, engine: _Engine, nvars: int, order: int, over_box: bool) -> None:
        self.engine = engine
        self.nvars = nvars
        self.order = order
        self.over_box = over_box
        self.monomials = _monomials(nvars, order)
        self.degrees = tuple(sum(alpha) for alpha in self.monomials)
        self.table = _product_table(nvars, order)
        self.size = len(self.monomials)
        self.unit_index = tuple(
            self.monomials.index(tuple(int(i == j) for j in range(nvars))) if order >= 1 else -1
            for i in range(nvars)
        )

    def constant(self, value: Any) -> list[Any]:
        coefficients = [_ZERO] * self.size
        coefficients[0] = value
        return coefficients

    def variable(self, base: Any, index: int) -> _Jet:
        coefficients = self.constant(base)
        if self.order >= 1:
            coefficients[self.unit_index[index]] = _ONE
        return _Jet(self, coefficients)

    def multiply(self, a: Sequence[Any], b: Sequence[Any]) -> list[Any]:
        engine = self.engine
        out: list[Any] = [_ZERO] * self.size
        for i, j, k in self.table:
            x = a[i]
            if type(x) is Fraction and not x:
                continue
            y = b[j]
            if type(y) is Fraction and not y:
                continue
            out[k] = _add(engine, out[k], _mul(engine, x, y))
        return out

    def compose(self, u: Sequence[Any], phi: Sequence[Any]) -> list[Any]:
        """``sum_k phi[k] (u - u[0])^k`` by Horner's rule."""
        shifted = list(u)
        shifted[0] = _ZERO
        out = self.constant(phi[self.order])
        for k in range(self.order - 1, -1, -1):
            out = self.multiply(out, shifted)
            out[0] = _add(self.engine, out[0], phi[k])
        return out


class _Jet:
    """A truncated multivariate Taylor polynomial of ``f`` about a point or a box."""

    __slots__ = ("space", "coefficients")

    def __init__(self, space: _JetSpace, coefficients: list[Any]) -> None:
        self.space = space
        self.coefficients = coefficients

    # conversions ------------------------------------------------------------
    def _constant(self, other: Any) -> Any:
        """A constant operand as an exact Fraction or an engine scalar."""
        if self.space.engine.is_scalar(other):
            return other
        if isinstance(other, int | float | Fraction):
            return _exact(other)
        raise TypeError(f"unsupported operand {other!r} ({type(other).__name__}) for a jet")

    def _new(self, coefficients: list[Any]) -> _Jet:
        return _Jet(self.space, coefficients)

    def _scale(self, factor: Any) -> _Jet:
        engine = self.space.engine
        return self._new([_mul(engine, c, factor) for c in self.coefficients])

    def apply(self, name: str, exponent: Any = None) -> _Jet:
        space = self.space
        phi = _coefficients(space.engine, name, self.coefficients[0], space.order, exponent)
        return self._new(space.compose(self.coefficients, phi))

    # arithmetic -------------------------------------------------------------
    def __add__(self, other: Any) -> _Jet:
        engine = self.space.engine
        if isinstance(other, _Jet):
            pairs = zip(self.coefficients, other.coefficients, strict=True)
            return self._new([_add(engine, a, b) for a, b in pairs])
        coefficients = list(self.coefficients)
        coefficients[0] = _add(engine, coefficients[0], self._constant(other))
        return self._new(coefficients)

    __radd__ = __add__

    def __neg__(self) -> _Jet:
        return self._new([_neg(c) for c in self.coefficients])

    def __pos__(self) -> _Jet:
        return self

    def __sub__(self, other: Any) -> _Jet:
        if isinstance(other, _Jet):
            return self + (-other)
        return self + _neg(self._constant(other))

    def __rsub__(self, other: Any) -> _Jet:
        return (-self) + other

    def __mul__(self, other: Any) -> _Jet:
        if isinstance(other, _Jet):
            return self._new(self.space.multiply(self.coefficients, other.coefficients))
        return self._scale(self._constant(other))

    __rmul__ = __mul__

    def reciprocal(self) -> _Jet:
        return self.apply("inv")

    def __truediv__(self, other: Any) -> _Jet:
        if isinstance(other, _Jet):
            return self * other.reciprocal()
        divisor = self._constant(other)
        engine = self.space.engine
        return self._new([_div(engine, c, divisor) for c in self.coefficients])

    def __rtruediv__(self, other: Any) -> _Jet:
        return self.reciprocal() * other

    def __pow__(self, exponent: Any) -> _Jet:
        if isinstance(exponent, _Jet):
            return (exponent * self.apply("log")).apply("exp")
        value = self._constant(exponent)
        if type(value) is Fraction and value.denominator == 1:
            return self._integer_power(int(value))
        return self.apply("pow", value)

    def __rpow__(self, base: Any) -> _Jet:
        log_base = _elementary(self.space.engine, "log", self._constant(base))
        return (self * log_base).apply("exp")

    def _integer_power(self, n: int) -> _Jet:
        if n < 0:
            return self._integer_power(-n).reciprocal()
        result = self._new(self.space.constant(_ONE))
        base = self
        while n:
            if n & 1:
                result = result * base
            n >>= 1
            if n:
                base = base * base
        return result

    def __abs__(self) -> _Jet:
        """``abs``: a value alone at order 0; otherwise only where the sign is fixed.

        Over a box, a sign that holds on the whole box (zero allowed) fixes the
        branch there; at a point the sign must be strict, so that the point's
        branch is the branch that the box jet chose.
        """
        value = self.coefficients[0]
        space = self.space
        if space.order == 0:
            return self._new([abs(value)])
        if type(value) is Fraction:
            up, down = value > 0, value < 0
        elif space.over_box:
            up, down = space.engine.nonneg(value), space.engine.nonpos(value)
        else:
            up, down = space.engine.positive(value), space.engine.negative(value)
        if up:
            return self
        if down:
            return -self
        raise _NotSmooth("abs is not differentiable where its argument may vanish")


# --------------------------------------------------------------------- namespaces


class _ScalarMath:
    """The math namespace ``m`` for interval (and exact point) evaluation."""

    def __init__(self, engine: _Engine) -> None:
        self._engine = engine

    def _unary(self, name: str, x: Any) -> Any:
        if isinstance(x, _Jet):
            return x.apply(name)
        return self._engine.apply(name, self._engine.lift(x))

    def const(self, value: Any) -> Any:
        """An exact constant (``"0.1"``, ``"1/3"``, a Fraction) as an enclosure."""
        return self._engine.from_fraction(_exact(value))

    @property
    def pi(self) -> Any:
        """An enclosure of pi."""
        return self._engine.pi()

    def pow(self, x: Any, exponent: Any) -> Any:
        """``x ** exponent``; an even integer power of an interval around 0 is tight."""
        if isinstance(x, _Jet):
            return x**exponent
        if isinstance(exponent, int) and not isinstance(exponent, bool):
            return self._engine.power(self._engine.lift(x), exponent)
        value = self._engine.lift(exponent) if self._engine.is_scalar(exponent) else exponent
        if not self._engine.is_scalar(value):
            value = _exact(value)
            if value.denominator == 1:
                return self._engine.power(self._engine.lift(x), int(value))
        return self._engine.power(self._engine.lift(x), value)

    def exp(self, x: Any) -> Any:
        """Exponential."""
        return self._unary("exp", x)

    def log(self, x: Any) -> Any:
        """Natural logarithm."""
        return self._unary("log", x)

    def log1p(self, x: Any) -> Any:
        """``log(1 + x)``."""
        return self._unary("log1p", x)

    def expm1(self, x: Any) -> Any:
        """``exp(x) - 1``."""
        return self._unary("expm1", x)

    def sqrt(self, x: Any) -> Any:
        """Square root."""
        return self._unary("sqrt", x)

    def sin(self, x: Any) -> Any:
        """Sine."""
        return self._unary("sin", x)

    def cos(self, x: Any) -> Any:
        """Cosine."""
        return self._unary("cos", x)

    def tan(self, x: Any) -> Any:
        """Tangent."""
        return self._unary("tan", x)

    def atan(self, x: Any) -> Any:
        """Arc tangent."""
        return self._unary("atan", x)

    def sinh(self, x: Any) -> Any:
        """Hyperbolic sine."""
        return self._unary("sinh", x)

    def cosh(self, x: Any) -> Any:
        """Hyperbolic cosine."""
        return self._unary("cosh", x)

    def tanh(self, x: Any) -> Any:
        """Hyperbolic tangent."""
        return self._unary("tanh", x)


class _JetMath(_ScalarMath):
    """The math namespace ``m`` for Taylor jets (constants stay exact)."""

    def _unary(self, name: str, x: Any) -> Any:
        if isinstance(x, _Jet):
            return x.apply(name)
        value = x if self._engine.is_scalar(x) else _exact(x)
        return _elementary(self._engine, name, value)

    def const(self, value: Any) -> Any:
        return _exact(value)

    def pow(self, x: Any, exponent: Any) -> Any:
        if isinstance(x, _Jet):
            return x**exponent
        base = x if self._engine.is_scalar(x) else _exact(x)
        power = exponent if self._engine.is_scalar(exponent) else _exact(exponent)
        if _is_exact(power) and power.denominator == 1:
            if _is_exact(base):
                return base ** int(power)
            return self._engine.power(base, int(power))
        return _real_power(self._engine, base, power)


# ---------------------------------------------------------------------- box helpers

_Box = tuple[tuple[Fraction, Fraction], ...]


def _parse_box(box: Sequence[Sequence[Any]]) -> _Box:
    """Exact ``(lo, hi)`` sides from floats, ints, Fractions or decimal strings."""
    if isinstance(box, str) or not isinstance(box, Sequence) or len(box) == 0:
        raise ValueError(f"box must be a non-empty sequence of (lo, hi) pairs, got {box!r}")
    sides = []
    for i, side in enumerate(box):
        if isinstance(side, str) or not isinstance(side, Sequence) or len(side) != 2:
            raise ValueError(f"box side {i} must be a (lo, hi) pair, got {side!r}")
        try:
            lo, hi = _exact(side[0]), _exact(side[1])
        except (TypeError, ValueError) as error:
            raise ValueError(f"box side {i} {side!r}: {error}") from error
        if lo > hi:
            raise ValueError(f"box side {i} has lo > hi: {side!r}")
        sides.append((lo, hi))
    return tuple(sides)


def _split_point(lo: Fraction, hi: Fraction) -> Fraction:
    """The simplest dyadic rational in the middle half of ``[lo, hi]``.

    The multiple of the largest power of two that meets ``[lo + w/4, hi - w/4]``
    (``w = hi - lo``): zero if it is there, else unique. Zeros of ``f`` at simple
    numbers become box corners; each part keeps at most three quarters of ``w``.
    """
    if lo == hi:
        return lo
    width = hi - lo
    a, b = lo + width / 4, hi - width / 4
    if a <= 0 <= b:
        return _ZERO
    magnitude = max(abs(a), abs(b))
    exponent = magnitude.numerator.bit_length() - magnitude.denominator.bit_length() + 1
    step = Fraction(2) ** exponent
    while True:
        multiple = math.ceil(a / step)
        if multiple * step <= b:
            return multiple * step
        step /= 2


def _split_points(sides: _Box) -> tuple[Fraction, ...]:
    return tuple(_split_point(lo, hi) for lo, hi in sides)


def _free_dims(sides: _Box) -> list[int]:
    return [i for i, (lo, hi) in enumerate(sides) if lo < hi]


def _bisect(sides: _Box, point: Sequence[Fraction]) -> tuple[_Box, _Box]:
    """Split the widest side at its split point."""
    widest = max(_free_dims(sides), key=lambda i: sides[i][1] - sides[i][0])
    lo, hi = sides[widest]
    cut = point[widest]
    left = sides[:widest] + ((lo, cut),) + sides[widest + 1 :]
    right = sides[:widest] + ((cut, hi),) + sides[widest + 1 :]
    return left, right


def _corners(sides: _Box) -> list[tuple[Fraction, ...]]:
    """Box corners used as Taylor expansion points (all of them in <= 2 dimensions)."""
    free = _free_dims(sides)
    if len(free) <= _MAX_CORNER_DIMENSION:
        choices = [(lo, hi) if lo < hi else (lo,) for lo, hi in sides]
        return [tuple(c) for c in itertools.product(*choices)]
    return [tuple(lo for lo, _ in sides), tuple(hi for _, hi in sides)]


def _power_range(lo: Fraction, hi: Fraction, k: int) -> tuple[Fraction, Fraction]:
    """Exact range of ``d ** k`` for ``d`` in ``[lo, hi]``."""
    if k == 0:
        return _ONE, _ONE
    a, b = lo**k, hi**k
    if k % 2 == 1 or lo >= 0:
        return a, b
    if hi <= 0:
        return b, a
    return _ZERO, max(a, b)


def _monomial_range(
    alpha: Sequence[int], offsets: Sequence[tuple[Fraction, Fraction]]
) -> tuple[Fraction, Fraction]:
    """Exact range of ``d ** alpha`` over the box of offsets ``d``."""
    low, high = _ONE, _ONE
    for k, (lo, hi) in zip(alpha, offsets, strict=True):
        if k == 0:
            continue
        a, b = _power_range(lo, hi, k)
        products = (low * a, low * b, high * a, high * b)
        low, high = min(products), max(products)
    return low, high


def _outward_floats(sides: _Box) -> tuple[tuple[float, float], ...]:
    return tuple((_float_down_fraction(lo), _float_up_fraction(hi)) for lo, hi in sides)


# --------------------------------------------------------------------------- search


@dataclass
class _Outcome:
    """What examining one box found."""

    kind: str  # "certified", "refuted", "face", "split", "undecided-point"
    lower: Any = None
    face: _Box | None = None
    point: tuple[Fraction, ...] | None = None
    value: Any = None


_EVALUATION_ERRORS = (ArithmeticError, ValueError)
_JET_ERRORS = (ArithmeticError, ValueError, TypeError)


class _Problem:
    """``f`` with its engine: enclosures, point values, jets and Taylor bounds."""

    def __init__(
        self,
        f: Callable[[Sequence[Any], Any], Any],
        dimension: int,
        engine: _Engine,
        taylor_order: int,
    ) -> None:
        self.f = f
        self.dimension = dimension
        self.engine = engine
        self.order = taylor_order
        self.scalar_math = _ScalarMath(engine)
        self.jet_math = _JetMath(engine)
        self.box_jets = _JetSpace(engine, dimension, taylor_order, True) if taylor_order else None
        self.jets = _JetSpace(engine, dimension, taylor_order, False) if taylor_order else None
        self.point_space = _JetSpace(engine, dimension, 0, False)

    # evaluations ------------------------------------------------------------
    def _scalar(self, xs: list[Any]) -> Any:
        try:
            value = self.f(xs, self.scalar_math)
        except _EVALUATION_ERRORS:
            return None
        return self.engine.lift(value)

    def _variants(self, sides: _Box) -> list[list[Any]]:
        """Enclosures of the box's sides, one list per variant of the engine's hulls."""
        hulls = [self.engine.hulls(lo, hi) for lo, hi in sides]
        count = max(len(h) for h in hulls)
        return [[h[min(v, len(h) - 1)] for h in hulls] for v in range(count)]

    def enclose(self, sides: _Box) -> Any:
        """Enclosure of ``f`` over the box (None if every evaluation failed).

        Each variant of the side enclosures gives an enclosure of the range of
        ``f``; their intersection is one too.
        """
        engine = self.engine
        best = None
        for xs in self._variants(sides):
            value = self._scalar(xs)
            if value is None or not engine.is_finite(value):
                continue
            best = value if best is None else engine.intersect(best, value)
            if engine.nonneg(best):
                break
        return best

    def value_at(self, point: Sequence[Fraction]) -> Any:
        """Enclosure of ``f`` at an exact point."""
        return self._scalar([self.engine.from_fraction(c) for c in point])

    def _jet(self, space: _JetSpace, bases: Sequence[Any]) -> _Jet | None:
        xs = [space.variable(base, i) for i, base in enumerate(bases)]
        try:
            value = self.f(xs, self.jet_math)
        except _JET_ERRORS:
            return None
        if isinstance(value, _Jet):
            return value
        try:
            return _Jet(space, space.constant(xs[0]._constant(value)))
        except TypeError:
            return None

    def exact_value_at(self, point: Sequence[Fraction]) -> Any:
        """``f`` at a point with exact rational arithmetic where possible."""
        jet = self._jet(self.point_space, point)
        return None if jet is None else self.engine.lift(jet.coefficients[0])

    def jet_over(self, sides: _Box) -> _Jet | None:
        """Jet of ``f`` over the box: its coefficients enclose the derivatives there."""
        fallback = None
        for xs in self._variants(sides):
            bases = [lo if lo == hi else x for (lo, hi), x in zip(sides, xs, strict=True)]
            jet = self._jet(self.box_jets, bases)
            if jet is None:
                continue
            if all(_is_exact(c) or self.engine.is_finite(c) for c in jet.coefficients):
                return jet
            fallback = fallback or jet
        return fallback

    def jet_at(self, point: Sequence[Fraction]) -> _Jet | None:
        return self._jet(self.jets, point)

    # Taylor tests -----------------------------------------------------------
    def monotone_face(self, sides: _Box, jet_box: _Jet) -> _Box | None:
        """The face holding the minimum where partial derivatives have a sign."""
        engine = self.engine
        face = list(sides)
        moved = False
        for i in _free_dims(sides):
            slope = jet_box.coefficients[self.jets.unit_index[i]]
            lo, hi = sides[i]
            if _is_exact(slope):
                up, down = slope >= 0, slope <= 0
            else:
                up, down = engine.nonneg(slope), engine.nonpos(slope)
            if up:
                face[i] = (lo, lo)
            elif down:
                face[i] = (hi, hi)
            else:
                continue
            moved = True
        return tuple(face) if moved else None

    def _term_lower(self, coefficient: Any, bounds: tuple[Fraction, Fraction]) -> Any:
        """A lower bound of ``coefficient * d^alpha`` over the monomial's range."""
        low, high = bounds
        if not low and not high:
            return _ZERO
        if _is_exact(coefficient):
            return min(coefficient * low, coefficient * high)
        engine = self.engine
        if not engine.is_finite(coefficient):
            raise _NotSmooth("non-finite Taylor coefficient")
        c_lo, c_hi = engine.lower(coefficient), engine.upper(coefficient)
        q_lo, q_hi = engine.from_fraction(low), engine.from_fraction(high)
        return engine.min_lower([c_lo * q_lo, c_lo * q_hi, c_hi * q_lo, c_hi * q_hi])

    def _quadratic_lower(self, jet_box: _Jet, offsets: Sequence[tuple[Fraction, Fraction]]) -> Any:
        """Diagonal dominance bound of the degree-2 remainder: ``|d_i d_j| <= (d_i^2+d_j^2)/2``."""
        engine = self.engine
        space = self.jets
        slack: list[Any] = [_ZERO] * self.dimension
        diagonal: list[Any] = [_ZERO] * self.dimension
        for alpha, coefficient in zip(space.monomials, jet_box.coefficients, strict=True):
            if sum(alpha) != 2:
                continue
            if not _is_exact(coefficient) and not engine.is_finite(coefficient):
                raise _NotSmooth("non-finite Taylor coefficient")
            used = [i for i, k in enumerate(alpha) if k]
            if len(used) == 1:
                i = used[0]
                low = coefficient if _is_exact(coefficient) else engine.lower(coefficient)
                diagonal[i] = low
            else:
                size = abs(coefficient) if _is_exact(coefficient) else engine.abs_upper(coefficient)
                half = _mul(engine, size, _HALF)
                for i in used:
                    slack[i] = _add(engine, slack[i], half)
        total: Any = _ZERO
        for i, (lo, hi) in enumerate(offsets):
            kappa = _sub(engine, diagonal[i], slack[i])
            total = _add(engine, total, self._term_lower(kappa, _power_range(lo, hi, 2)))
        return total

    def taylor_lower(self, sides: _Box, center: Sequence[Fraction], jet_box: _Jet) -> Any:
        """Best lower bound of ``f`` on the box from Taylor forms about ``center``."""
        jet_center = self.jet_at(center)
        if jet_center is None:
            return None
        engine = self.engine
        space = self.jets
        offsets = [(lo - c, hi - c) for (lo, hi), c in zip(sides, center, strict=True)]
        ranges = [_monomial_range(alpha, offsets) for alpha in space.monomials]
        best, best_float = None, -math.inf
        prefix: Any = _ZERO  # sum of the centre terms of degree < order
        for order in range(1, space.order + 1):
            for k in range(space.size):
                if space.degrees[k] == order - 1:
                    term = self._term_lower(jet_center.coefficients[k], ranges[k])
                    prefix = _add(engine, prefix, term)
            remainder: Any = _ZERO
            for k in range(space.size):
                if space.degrees[k] == order:
                    term = self._term_lower(jet_box.coefficients[k], ranges[k])
                    remainder = _add(engine, remainder, term)
            candidates = [remainder]
            if order == 2 and self.dimension > 1:
                candidates.append(self._quadratic_lower(jet_box, offsets))
            for candidate in candidates:
                bound = engine.lift(_add(engine, prefix, candidate))
                value = engine.float_down(bound)
                if best is None or value > best_float:
                    best, best_float = bound, value
                if engine.nonneg(bound):
                    return bound
        return best

    def taylor_certify(self, sides: _Box, split: Sequence[Fraction]) -> _Outcome | None:
        """Monotonicity and Taylor forms; None if neither decides the box."""
        jet_box = self.jet_over(sides)
        if jet_box is None:
            return None
        face = self.monotone_face(sides, jet_box)
        if face is not None:
            return _Outcome("face", face=face)
        centers = [tuple(split)]
        centers += [c for c in _corners(sides) if c != centers[0]]
        for center in centers:
            try:
                bound = self.taylor_lower(sides, center, jet_box)
            except _JET_ERRORS:
                continue
            if bound is not None and self.engine.nonneg(bound):
                return _Outcome("certified", lower=bound)
        return None

    # one box ----------------------------------------------------------------
    def examine(self, sides: _Box) -> tuple[_Outcome, Any]:
        """Decide one box; also returns its natural enclosure (or None)."""
        engine = self.engine
        natural = self.enclose(sides)
        if natural is not None and engine.nonneg(natural):
            return _Outcome("certified", lower=natural), natural
        split = _split_points(sides)
        value = self.value_at(split)
        if value is not None and engine.negative(value):
            return _Outcome("refuted", point=split, value=value), natural
        if not _free_dims(sides):
            exact = self.exact_value_at(split)
            if exact is not None and engine.nonneg(exact):
                return _Outcome("certified", lower=exact), natural
            if exact is not None and engine.negative(exact):
                return _Outcome("refuted", point=split, value=exact), natural
            return _Outcome("undecided-point"), natural
        if self.jets is not None:
            outcome = self.taylor_certify(sides, split)
            if outcome is not None:
                return outcome, natural
        return _Outcome("split", point=split), natural


class _Search:
    """The branch-and-bound loop and its bookkeeping."""

    def __init__(self, problem: _Problem, sides: _Box, budget: Budget) -> None:
        self.problem = problem
        self.engine = problem.engine
        self.budget = budget
        self.queue: list[tuple[float, int, int, _Box]] = [(-math.inf, 0, 0, sides)]
        self.counter = itertools.count(1)
        self.examined = 0
        self.deepest = 0
        self.smallest = math.inf
        self.uncovered: list[tuple[_Box, float]] = []
        self.reason = ""

    def _push(self, key: float, depth: int, sides: _Box) -> None:
        heapq.heappush(self.queue, (key, next(self.counter), depth, sides))

    def _leave(self, sides: _Box, bound: float, reason: str) -> None:
        self.uncovered.append((sides, bound))
        self.reason = self.reason or reason

    def run(self, start: float) -> tuple[str, dict[str, Any] | None]:
        """Process boxes until none is left, a counterexample, or the budget ends."""
        while self.queue:
            if self.examined >= self.budget.max_boxes:
                self.reason = "max_boxes"
                break
            if time.perf_counter() - start > self.budget.seconds:
                self.reason = "seconds"
                break
            key, _, depth, sides = heapq.heappop(self.queue)
            self.examined += 1
            self.deepest = max(self.deepest, depth)
            outcome, natural = self.problem.examine(sides)
            own = key if natural is None else max(key, self._float_down(natural))
            if outcome.kind == "refuted":
                return "refuted", self._counterexample(outcome)
            if outcome.kind == "certified":
                self.smallest = min(self.smallest, self._float_down(outcome.lower))
            elif outcome.kind == "face":
                self._push(own, depth, outcome.face)
            elif outcome.kind == "undecided-point":
                self._leave(sides, own, "undecided-point")
            elif depth >= self.budget.max_depth:
                self._leave(sides, own, "max_depth")
            else:
                for child in _bisect(sides, outcome.point):
                    self._push(own, depth + 1, child)
        for key, _, _, sides in self.queue:
            self.uncovered.append((sides, key))
        return ("inconclusive" if self.uncovered else "proved"), None

    def _float_down(self, value: Any) -> float:
        result = self.engine.float_down(self.engine.lift(value))
        return -math.inf if math.isnan(result) else result

    def _counterexample(self, outcome: _Outcome) -> dict[str, Any]:
        point = outcome.point
        floats = [float(c) for c in point]
        return {
            "x": floats,
            "x_exact": [str(c) for c in point],
            "x_is_exact": all(Fraction(v) == c for v, c in zip(floats, point, strict=True)),
            "value": self.engine.float_mid(outcome.value),
            "value_upper": self.engine.float_up(outcome.value),
        }


def certify_nonnegative(
    f: Callable[[Sequence[Any], Any], Any],
    box: Sequence[Sequence[Any]],
    *,
    budget: Budget | None = None,
    taylor: bool = True,
    taylor_order: int | None = None,
    engine: str = "auto",
    precision: int = 80,
) -> Certificate:
    r"""Prove ``f(x) >= 0`` for every ``x`` in ``box``, or refute it, by interval B&B.

    Parameters
    ----------
    f : callable
        ``f(x, m)``: ``x`` a sequence of scalars (one per side of the box), ``m`` the
        math namespace (``m.log``, ``m.exp``, ``m.sqrt``, ``m.pow``, ``m.sin``,
        ``m.cos``, ``m.tan``, ``m.atan``, ``m.sinh``, ``m.cosh``, ``m.tanh``,
        ``m.log1p``, ``m.expm1``, ``m.pi``, ``m.const``). Use only arithmetic
        (``+ - * / **``), ``abs`` and ``m``: no ``math``/``numpy`` functions and no
        branching on the value of ``x``. Example, :math:`\log(1 + x) \le x`:
        ``lambda x, m: x[0] - m.log(1 + x[0])``.
    box : sequence of (lo, hi)
        The box, one pair per variable; ints, floats (used exactly), Fractions or
        decimal strings (``"0.1"``, ``"1/3"``, exact rationals).
    budget : Budget, optional
        Limits on boxes, depth and seconds (default :class:`Budget()`).
    taylor : bool
        Use the jet-based tests (monotonicity and Taylor forms, needed for touching
        zeros); ``False`` leaves natural enclosures and point tests only.
    taylor_order : int, optional
        Highest Taylor order tried (default 6 in one dimension, 2 otherwise).
    engine : {"auto", "flint", "mpmath"}
        Interval engine; ``"auto"`` prefers python-flint ``arb``.
    precision : int
        Working precision in bits.

    Returns
    -------
    Certificate
        ``proved`` (with a certified lower bound), ``refuted`` (with a point where
        ``f < 0`` certainly) or ``inconclusive`` (with the uncovered boxes).

    Examples
    --------
    >>> cert = certify_nonnegative(lambda x, m: x[0] - m.log(1 + x[0]), [(0, 10)])
    >>> cert.status
    'proved'
    """
    if not callable(f):
        raise TypeError(f"f must be callable f(x, m), got {f!r}")
    sides = _parse_box(box)
    budget = Budget() if budget is None else budget
    if not isinstance(budget, Budget):
        raise TypeError(f"budget must be a Budget, got {budget!r}")
    if taylor_order is None:
        taylor_order = 6 if len(sides) == 1 else 2
    if not isinstance(taylor_order, int) or taylor_order < 1:
        raise ValueError(f"taylor_order must be a positive integer, got {taylor_order!r}")
    chosen = _make_engine(engine, precision)
    start = time.perf_counter()
    with chosen.activate():
        problem = _Problem(f, len(sides), chosen, taylor_order if taylor else 0)
        search = _Search(problem, sides, budget)
        status, counterexample = search.run(start)
        uncovered = [_outward_floats(s) for s, _ in search.uncovered]
        uncovered_bound = min((b for _, b in search.uncovered), default=math.inf)
    return Certificate(
        status=status,
        boxes_examined=search.examined,
        max_depth=search.deepest,
        smallest_lower_bound=search.smallest,
        seconds=time.perf_counter() - start,
        engine=chosen.name,
        dimension=len(sides),
        counterexample=counterexample,
        uncovered=uncovered if status == "inconclusive" else [],
        uncovered_lower_bound=uncovered_bound if status == "inconclusive" else math.inf,
        reason=search.reason if status == "inconclusive" else "",
        details={
            "precision": precision,
            "taylor_order": taylor_order if taylor else 0,
            "budget": {
                "max_boxes": budget.max_boxes,
                "max_depth": budget.max_depth,
                "seconds": budget.seconds,
            },
        },
    )
