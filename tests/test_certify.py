"""Tests of the interval branch-and-bound certifier (``theorycheck.certify``).

True inequalities must be proved (touching zeros included, in bounded time), false
ones refuted with a counterexample that an independent high-precision evaluation
confirms, and an exhausted budget reported ``inconclusive``, never ``proved``.
"""

from __future__ import annotations

import math
import random
import time
from fractions import Fraction

import mpmath
import pytest

from theorycheck.certify import Budget, Certificate, available_engines, certify_nonnegative
from theorycheck.claim import Evidence

ENGINES = [
    pytest.param(name, marks=pytest.mark.skipif(name not in available_engines(), reason=name))
    for name in ("flint", "mpmath")
]

QUICK = Budget(max_boxes=5_000, max_depth=64, seconds=5.0)


def entropy_gap(x, m):
    """``(1+t)log(1+t) + (1-t)log(1-t) - t^2``: zero of order four at ``t = 0``."""
    t = x[0]
    return (1 + t) * m.log(1 + t) + (1 - t) * m.log(1 - t) - t**2


def assert_proved(cert: Certificate, max_boxes: int = 1_000) -> None:
    assert cert.status == "proved", cert.summary()
    assert cert.smallest_lower_bound >= 0
    assert cert.counterexample is None and cert.uncovered == []
    assert cert.boxes_examined <= max_boxes
    assert cert.seconds < 5


def assert_refuted(cert: Certificate, f_mp, box) -> None:
    """The counterexample lies in the box and f < 0 there at 60 digits (mpmath)."""
    assert cert.status == "refuted", cert.summary()
    example = cert.counterexample
    point = [Fraction(v) for v in example["x_exact"]]
    for c, (lo, hi) in zip(point, box, strict=True):
        assert Fraction(lo) <= c <= Fraction(hi)
    assert example["value"] < 0 and example["value_upper"] < 0
    if example["x_is_exact"]:
        assert [Fraction(v) for v in example["x"]] == point
    with mpmath.workdps(60):
        value = f_mp([mpmath.mpf(c.numerator) / c.denominator for c in point])
    assert value < 0


# ------------------------------------------------------------------ true inequalities


@pytest.mark.parametrize("engine", ENGINES)
def test_log1p_at_most_x_on_0_10(engine):
    cert = certify_nonnegative(
        lambda x, m: x[0] - m.log(1 + x[0]), [(0, 10)], engine=engine, budget=QUICK
    )
    assert_proved(cert, max_boxes=50)
    assert cert.engine == engine
    assert cert.smallest_lower_bound == 0  # the touching zero at the corner x = 0


@pytest.mark.parametrize("engine", ENGINES)
def test_one_minus_cos_at_most_half_square(engine):
    cert = certify_nonnegative(
        lambda x, m: x[0] ** 2 / 2 - (1 - m.cos(x[0])), [(-10, 10)], engine=engine, budget=QUICK
    )
    assert_proved(cert, max_boxes=500)


@pytest.mark.parametrize("engine", ENGINES)
def test_square_nonnegative_around_zero(engine):
    cert = certify_nonnegative(lambda x, m: x[0] * x[0], [(-1, 1)], engine=engine, budget=QUICK)
    assert_proved(cert, max_boxes=10)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("half_width", [0.5, 0.9, 0.99])
def test_touching_zero_of_order_four_certified_quickly(engine, half_width):
    start = time.perf_counter()
    cert = certify_nonnegative(
        entropy_gap, [(-half_width, half_width)], engine=engine, budget=QUICK
    )
    assert_proved(cert, max_boxes=400)
    assert cert.smallest_lower_bound == 0
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("engine", ENGINES)
def test_touching_zero_of_order_five_at_a_corner(engine):
    # sin x - x + x^3/6 = x^5/120 - ...: every coefficient below order 5 vanishes at 0
    cert = certify_nonnegative(
        lambda x, m: m.sin(x[0]) - x[0] + x[0] ** 3 / 6, [(0, 3)], engine=engine, budget=QUICK
    )
    assert_proved(cert, max_boxes=100)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("name", "f", "box"),
    [
        ("exp >= 1 + x", lambda x, m: m.exp(x[0]) - 1 - x[0], [(-3, 3)]),
        ("expm1 >= x", lambda x, m: m.expm1(x[0]) - x[0], [(-2, 2)]),
        ("log1p <= x", lambda x, m: x[0] - m.log1p(x[0]), [(-0.5, 4)]),
        ("sqrt(1+x) <= 1 + x/2", lambda x, m: 1 + x[0] / 2 - m.sqrt(1 + x[0]), [(0, 3)]),
        ("(1+x)^1.5 >= 1 + 1.5x", lambda x, m: (1 + x[0]) ** 1.5 - 1 - 1.5 * x[0], [(0, 2)]),
        ("tan x >= x", lambda x, m: m.tan(x[0]) - x[0], [(0, 1.5)]),
        ("atan x <= x", lambda x, m: x[0] - m.atan(x[0]), [(0, 5)]),
        ("tanh x <= x", lambda x, m: x[0] - m.tanh(x[0]), [(0, 5)]),
        ("cosh x >= 1 + x^2/2", lambda x, m: m.cosh(x[0]) - 1 - x[0] ** 2 / 2, [(-2, 2)]),
        ("sinh x >= x", lambda x, m: m.sinh(x[0]) - x[0], [(0, 3)]),
        ("|x| >= x/2", lambda x, m: abs(x[0]) - x[0] / 2, [(-1, 1)]),
        ("x - 1/10 exact", lambda x, m: x[0] - m.const("0.1"), [("0.1", 1)]),
        ("pi > 3", lambda x, m: m.pi - 3 + 0 * x[0], [(0, 1)]),
    ],
)
def test_elementary_inequalities_proved(engine, name, f, box):
    assert_proved(certify_nonnegative(f, box, engine=engine, budget=QUICK), max_boxes=500)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("name", "f", "box"),
    [
        (
            "exp x + exp y >= 2 + x + y",
            lambda x, m: m.exp(x[0]) + m.exp(x[1]) - 2 - x[0] - x[1],
            [(-1, 1), (-1, 1)],
        ),
        ("x^2 + xy + y^2 >= 0", lambda x, m: x[0] ** 2 + x[0] * x[1] + x[1] ** 2, [(-1, 1)] * 2),
        (
            "log(1+x) + log(1+y) <= x + y",
            lambda x, m: x[0] + x[1] - m.log(1 + x[0]) - m.log(1 + x[1]),
            [(0, 2), (0, 3)],
        ),
        (
            "x^2 + y^2 + z^2 >= xy + yz",
            lambda x, m: x[0] ** 2 + x[1] ** 2 + x[2] ** 2 - x[0] * x[1] - x[1] * x[2],
            [(-1, 1)] * 3,
        ),
    ],
)
def test_several_variables_proved(engine, name, f, box):
    assert_proved(certify_nonnegative(f, box, engine=engine, budget=QUICK), max_boxes=500)


# ----------------------------------------------------------------- false inequalities


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("name", "f", "f_mp", "box"),
    [
        (
            "log(1+x) >= x",
            lambda x, m: m.log(1 + x[0]) - x[0],
            lambda x: mpmath.log(1 + x[0]) - x[0],
            [(0, 1)],
        ),
        ("x^2 >= 0.01", lambda x, m: x[0] ** 2 - 0.01, lambda x: x[0] ** 2 - 0.01, [(-1, 1)]),
        (
            "sin x <= x - x^3/5",
            lambda x, m: x[0] - x[0] ** 3 / 5 - m.sin(x[0]),
            lambda x: x[0] - x[0] ** 3 / 5 - mpmath.sin(x[0]),
            [(0, 1)],
        ),
        (
            "1 - cos x <= x^2/2.1",
            lambda x, m: x[0] ** 2 / 2.1 - 1 + m.cos(x[0]),
            lambda x: x[0] ** 2 / 2.1 - 1 + mpmath.cos(x[0]),
            [(-3, 3)],
        ),
        (
            "(1+t)log(1+t)+(1-t)log(1-t) >= 1.01 t^2",
            lambda x, m: entropy_gap(x, m) - 0.01 * x[0] ** 2,
            lambda x: (
                (1 + x[0]) * mpmath.log(1 + x[0])
                + (1 - x[0]) * mpmath.log(1 - x[0])
                - 1.01 * x[0] ** 2
            ),
            [(-0.5, 0.5)],
        ),
        (
            "sqrt(1+x) <= 1 + x/3",
            lambda x, m: 1 + x[0] / 3 - m.sqrt(1 + x[0]),
            lambda x: 1 + x[0] / 3 - mpmath.sqrt(1 + x[0]),
            [(0, 3)],
        ),
        (
            "xy <= 0.2",
            lambda x, m: 0.2 - x[0] * x[1],
            lambda x: 0.2 - x[0] * x[1],
            [(0, 1), (0, 1)],
        ),
        (
            "x^4 >= 1e-30 x^2 (violated only for |x| < 1e-15)",
            lambda x, m: x[0] ** 4 - 1e-30 * x[0] ** 2,
            lambda x: x[0] ** 4 - mpmath.mpf(1e-30) * x[0] ** 2,
            [(-1, 1)],
        ),
    ],
)
def test_false_inequalities_refuted(engine, name, f, f_mp, box):
    cert = certify_nonnegative(f, box, engine=engine, budget=QUICK)
    assert_refuted(cert, f_mp, box)
    evidence = cert.to_evidence()
    assert not evidence.holds and not evidence.inconclusive and evidence.margin < 0
    assert evidence.counterexample == cert.counterexample


@pytest.mark.parametrize("engine", ENGINES)
def test_float_constants_are_the_binary_numbers(engine):
    # 0.1 (a float) exceeds 1/10, so x - 0.1 < 0 at x = 1/10: a true refutation
    cert = certify_nonnegative(lambda x, m: x[0] - 0.1, [("1/10", 1)], engine=engine, budget=QUICK)
    assert_refuted(cert, lambda x: x[0] - mpmath.mpf(0.1), [(Fraction(1, 10), 1)])
    assert cert.counterexample["x_exact"] == ["1/10"]
    assert not cert.counterexample["x_is_exact"]


def _polynomial(coefficients):
    def f(x, m):
        total = 0
        for k, c in enumerate(coefficients):
            total = total + c * x[0] ** k
        return total

    return f


def _exact_polynomial(coefficients, x: Fraction) -> Fraction:
    return sum((Fraction(c) * x**k for k, c in enumerate(coefficients)), Fraction(0))


@pytest.mark.parametrize("engine", ENGINES)
def test_random_false_polynomials_never_proved(engine):
    """Polynomials made negative at a random point: refuted (checked exactly) or inconclusive."""
    rng = random.Random(20240611)
    outcomes = {"refuted": 0, "inconclusive": 0}
    for _ in range(25 if engine == "flint" else 12):
        degree = rng.randint(2, 6)
        coefficients = [rng.uniform(-2, 2) for _ in range(degree + 1)]
        x0 = rng.uniform(-1, 1)
        gap = 10.0 ** rng.randint(-12, -1)
        # shift so that p(x0) = -gap (up to one rounding of the constant term)
        coefficients[0] -= float(_exact_polynomial(coefficients, Fraction(x0))) + gap
        assert _exact_polynomial(coefficients, Fraction(x0)) < 0
        cert = certify_nonnegative(
            _polynomial(coefficients),
            [(-1, 1)],
            engine=engine,
            budget=Budget(max_boxes=400, max_depth=60, seconds=2),
        )
        assert cert.status != "proved", (coefficients, cert.summary())
        outcomes[cert.status] += 1
        if cert.refuted:
            point = Fraction(cert.counterexample["x_exact"][0])
            assert -1 <= point <= 1
            assert _exact_polynomial(coefficients, point) < 0
    assert outcomes["refuted"] >= outcomes["inconclusive"]


def _near_touching(x0: float, a: float, b: float, gap: float) -> list[float]:
    """Float coefficients of ``a (x - x0)^2 + b (x - x0)^4 - gap``."""
    coefficients = [0.0] * 5
    for k in range(3):
        coefficients[k] += a * math.comb(2, k) * (-x0) ** (2 - k)
    for k in range(5):
        coefficients[k] += b * math.comb(4, k) * (-x0) ** (4 - k)
    coefficients[0] -= gap
    return coefficients


@pytest.mark.parametrize("engine", ENGINES)
def test_random_nearly_touching_false_polynomials_never_proved(engine):
    """Negative only within ~sqrt(gap) of a random point: a near miss of a touching zero."""
    rng = random.Random(5)
    checked = 0
    for _ in range(15 if engine == "flint" else 8):
        x0 = rng.uniform(-1, 1)
        coefficients = _near_touching(
            x0, rng.uniform(0.1, 3), rng.uniform(0, 3), 10.0 ** rng.randint(-11, -3)
        )
        if _exact_polynomial(coefficients, Fraction(x0)) >= 0:
            continue  # float rounding of the coefficients made it true
        checked += 1
        cert = certify_nonnegative(
            _polynomial(coefficients),
            [(-1, 1)],
            engine=engine,
            budget=Budget(max_boxes=400, max_depth=60, seconds=2),
        )
        assert cert.status != "proved", (coefficients, cert.summary())
        if cert.refuted:
            point = Fraction(cert.counterexample["x_exact"][0])
            assert _exact_polynomial(coefficients, point) < 0
    assert checked >= 5


@pytest.mark.parametrize("engine", ENGINES)
def test_random_true_polynomials_proved_and_bound_is_a_lower_bound(engine):
    """``(x - a)^2 (x - b)^2 + c >= 0`` with ``c >= 0``; the bound never exceeds a sample."""
    rng = random.Random(7)
    for _ in range(8):
        a = rng.choice([-1, -0.5, 0, 0.25, 0.5])  # dyadic touching points when c = 0
        b = rng.uniform(-2, 2)
        c = rng.choice([0.0, 1e-3, 0.5])

        def f(x, m, a=a, b=b, c=c):
            return (x[0] - a) ** 2 * (x[0] - b) ** 2 + c

        cert = certify_nonnegative(f, [(-1, 1)], engine=engine, budget=QUICK)
        assert_proved(cert, max_boxes=2_000)
        samples = [Fraction(k, 64) for k in range(-64, 65)]
        smallest = min((s - Fraction(a)) ** 2 * (s - Fraction(b)) ** 2 for s in samples)
        assert cert.smallest_lower_bound <= float(smallest + Fraction(c))


@pytest.mark.parametrize("engine", ENGINES)
def test_taylor_and_natural_bounds_never_exceed_sampled_values(engine):
    """Soundness of the enclosures themselves, on random sub-boxes, against mpmath samples."""
    from theorycheck import certify as internals

    def f(x, m):
        t = x[0]
        return m.sin(3 * t) * m.cos(t) + m.atan(t) - m.tanh(t / 2) + entropy_gap(x, m)

    def f_mp(t):
        gap = (1 + t) * mpmath.log(1 + t) + (1 - t) * mpmath.log(1 - t) - t**2
        return mpmath.sin(3 * t) * mpmath.cos(t) + mpmath.atan(t) - mpmath.tanh(t / 2) + gap

    rng = random.Random(3)
    chosen = internals._make_engine(engine, 80)
    with chosen.activate():
        problem = internals._Problem(f, 1, chosen, 6)
        for _ in range(25):
            lo = Fraction(rng.uniform(-0.95, 0.9)).limit_denominator(2**20)
            hi = min(Fraction(95, 100), lo + Fraction(rng.choice([1e-3, 1e-2, 0.1, 0.5])))
            sides = ((lo, hi),)
            samples = [lo + (hi - lo) * Fraction(k, 40) for k in range(41)]
            with mpmath.workdps(40):
                smallest = min(f_mp(mpmath.mpf(s.numerator) / s.denominator) for s in samples)
            bounds = [problem.enclose(sides)]
            jet = problem.jet_over(sides)
            for center in (internals._split_point(lo, hi), lo, hi):
                bounds.append(problem.taylor_lower(sides, (center,), jet))
            for bound in bounds:
                if bound is not None:
                    assert chosen.float_down(bound) <= smallest


# --------------------------------------------------------------------------- budgets


@pytest.mark.parametrize("engine", ENGINES)
def test_without_taylor_forms_a_touching_zero_exhausts_the_budget(engine):
    cert = certify_nonnegative(
        lambda x, m: x[0] - m.log(1 + x[0]),
        [(0, 10)],
        engine=engine,
        taylor=False,
        budget=Budget(max_boxes=150),
    )
    assert cert.status == "inconclusive" and cert.reason == "max_boxes"
    assert cert.boxes_examined == 150
    assert cert.uncovered and cert.counterexample is None
    assert any(lo == 0 for ((lo, _),) in cert.uncovered)  # the touching corner
    for ((lo, hi),) in cert.uncovered:
        assert 0 <= lo < hi <= 10
    assert cert.uncovered_lower_bound < 0
    evidence = cert.to_evidence()
    assert isinstance(evidence, Evidence)
    assert evidence.inconclusive and not evidence.holds
    assert evidence.details["uncovered"] == len(cert.uncovered)


@pytest.mark.parametrize("engine", ENGINES)
def test_zero_at_a_non_dyadic_point_is_inconclusive_at_max_depth(engine):
    third = Fraction(1, 3)

    def f(x, m):
        shifted = x[0] - m.const(third)
        return shifted * shifted  # touches zero at 1/3, which no split point reaches

    cert = certify_nonnegative(f, [(0, 1)], engine=engine, budget=Budget(max_depth=20))
    assert cert.status == "inconclusive" and cert.reason == "max_depth"
    assert cert.max_depth == 20
    ((lo, hi),) = cert.uncovered[0]
    assert len(cert.uncovered) <= 2 and lo <= 1 / 3 <= hi and hi - lo < 1e-5


@pytest.mark.parametrize("engine", ENGINES)
def test_inexact_taylor_coefficients_at_a_touching_zero_are_inconclusive(engine):
    # 2^x - 1 - x ln 2 touches 0 at x = 0, but f'(0) = ln 2 - ln 2 is only known to be
    # within rounding of zero: the certifier must not claim a proof.
    cert = certify_nonnegative(
        lambda x, m: 2 ** x[0] - 1 - x[0] * m.log(2),
        [(-1, 1)],
        engine=engine,
        budget=Budget(max_boxes=300, seconds=3),
    )
    assert cert.status == "inconclusive"


def test_time_budget_ends_inconclusive():
    cert = certify_nonnegative(
        entropy_gap, [(-0.9, 0.9)], budget=Budget(seconds=1e-9), engine="auto"
    )
    assert cert.status == "inconclusive" and cert.reason == "seconds"
    assert cert.uncovered == [((-0.9, 0.9),)]
    assert cert.uncovered_lower_bound == -math.inf
    assert cert.to_evidence().margin == -math.inf


# -------------------------------------------------------------- certificate and API


def test_certificate_fields_and_evidence_of_a_proof():
    cert = certify_nonnegative(entropy_gap, [(-0.9, 0.9)])
    assert cert.proved and not cert.refuted and not cert.inconclusive
    assert cert.dimension == 1 and cert.engine in available_engines()
    assert cert.boxes_examined >= 1 and cert.max_depth >= 1 and cert.seconds > 0
    assert cert.details["taylor_order"] == 6
    evidence = cert.to_evidence()
    assert evidence.holds and not evidence.inconclusive
    assert evidence.margin == cert.smallest_lower_bound == 0
    assert evidence.cases == cert.boxes_examined
    assert "proved" in cert.summary()


def test_strictly_positive_function_has_a_positive_certified_bound():
    cert = certify_nonnegative(lambda x, m: m.exp(x[0]) - 0.5, [(0, 1)])
    assert cert.proved
    assert 0 < cert.smallest_lower_bound <= 0.5


@pytest.mark.parametrize("engine", ENGINES)
def test_power_helper(engine):
    # m.pow gives the exact range of an even power of an interval around 0
    square = certify_nonnegative(
        lambda x, m: m.pow(x[0], 2), [(-1, 1)], engine=engine, taylor=False
    )
    assert square.proved and square.boxes_examined == 1
    odd = certify_nonnegative(
        lambda x, m: m.pow(x[0], 3) + 1, [(-1, 1)], engine=engine, budget=QUICK
    )
    assert odd.proved
    roots = certify_nonnegative(
        lambda x, m: m.pow(x[0], Fraction(1, 2)) - m.pow(x[0], 0.25) * m.pow(x[0], -1) * x[0],
        [(1, 4)],
        engine=engine,
        budget=QUICK,
    )
    assert roots.proved
    false = certify_nonnegative(lambda x, m: m.pow(x[0], 3), [(-1, 1)], engine=engine, budget=QUICK)
    assert false.refuted


def test_auto_engine_falls_back_to_mpmath(monkeypatch):
    import theorycheck.certify as certify

    class Missing:
        def __init__(self, precision):
            raise ImportError("python-flint is not installed")

    monkeypatch.setattr(certify, "_FlintEngine", Missing)
    cert = certify_nonnegative(lambda x, m: x[0] - m.log(1 + x[0]), [(0, 10)])
    assert cert.proved and cert.engine == "mpmath"
    with pytest.raises(ValueError, match="not available"):
        certify_nonnegative(lambda x, m: x[0], [(0, 1)], engine="flint")


def test_working_precision_is_restored():
    flint = pytest.importorskip("flint")
    before = flint.ctx.prec
    certify_nonnegative(entropy_gap, [(-0.5, 0.5)], engine="flint", precision=120)
    assert flint.ctx.prec == before
    before_iv = mpmath.iv.prec
    certify_nonnegative(entropy_gap, [(-0.5, 0.5)], engine="mpmath", precision=120)
    assert mpmath.iv.prec == before_iv


def test_fallback_engine_is_selectable():
    cert = certify_nonnegative(lambda x, m: x[0] - m.log(1 + x[0]), [(0, 10)], engine="mpmath")
    assert cert.proved and cert.engine == "mpmath"
    refuted = certify_nonnegative(lambda x, m: m.log(1 + x[0]) - x[0], [(0, 10)], engine="mpmath")
    assert refuted.refuted and refuted.engine == "mpmath"


@pytest.mark.parametrize(
    ("box", "match"),
    [
        ([], "non-empty"),
        ([(1, 0)], "lo > hi"),
        ([(0, float("nan"))], "non-finite"),
        ([(0, "one")], "exact number"),
        ([(0, 1, 2)], "pair"),
        ("0,1", "non-empty"),
    ],
)
def test_bad_boxes_rejected(box, match):
    with pytest.raises(ValueError, match=match):
        certify_nonnegative(lambda x, m: x[0], box)


def test_bad_arguments_rejected():
    with pytest.raises(ValueError, match="engine"):
        certify_nonnegative(lambda x, m: x[0], [(0, 1)], engine="numpy")
    with pytest.raises(ValueError, match="taylor_order"):
        certify_nonnegative(lambda x, m: x[0], [(0, 1)], taylor_order=0)
    with pytest.raises(ValueError, match="max_boxes"):
        Budget(max_boxes=0)
    with pytest.raises(ValueError, match="seconds"):
        Budget(seconds=-1)
    with pytest.raises(TypeError, match="callable"):
        certify_nonnegative("x >= 0", [(0, 1)])
    with pytest.raises(ValueError, match="status"):
        Certificate("maybe", 0, 0, 0.0, 0.0, "flint", 1)
