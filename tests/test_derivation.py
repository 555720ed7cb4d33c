"""The derivation engine: chains of sympy equalities and certified inequalities."""

from __future__ import annotations

import sympy

from proofs_check.derivation import AtLeast, Derivation, Equal, piecewise_mismatches
from theorycheck.certify import Budget

x = sympy.Symbol("x", positive=True)
t = sympy.Symbol("t", real=True)


def test_true_chain_holds():
    chain = Derivation(
        (
            Equal("expand", (x + 1) ** 2, x**2 + 2 * x + 1),
            Equal(
                "log of a product",
                sympy.expand_log(sympy.log(2 * x), force=True),
                sympy.log(2) + sympy.log(x),
            ),
            AtLeast("log(1+x) <= x", lambda v, m: v[0] - m.log(1 + v[0]), [(0, 10)]),
        )
    )
    evidence = chain.check()
    assert evidence.holds and evidence.cases >= 3 and evidence.margin >= 0


def test_wrong_step_fails_at_that_step_with_its_residual():
    chain = Derivation(
        (
            Equal("expand", (x + 1) ** 2, x**2 + 2 * x + 1),
            Equal("wrong expansion", (x + 1) ** 2, x**2 + x + 1),
            Equal("still fine", x * x, x**2),
        )
    )
    evidence = chain.check()
    assert not evidence.holds and not evidence.inconclusive
    example = evidence.counterexample
    assert example["step"] == "wrong expansion"
    point = sympy.Rational(example["at"]["x"])
    assert sympy.Rational(example["residual"]) == point  # the residual (x+1)^2 - (x^2+x+1) = x
    assert example["symbolic_residual"] == "x"


def test_false_inequality_step_is_refuted_with_a_point():
    chain = Derivation((AtLeast("log(1+x) >= x", lambda v, m: m.log(1 + v[0]) - v[0], [(0, 1)]),))
    evidence = chain.check()
    assert not evidence.holds
    assert evidence.counterexample["step"] == "log(1+x) >= x"
    assert evidence.margin < 0


def test_unproved_identity_is_inconclusive_not_holding():
    # true for x > 0, but sympy's simplify does not reduce it; probes find no residual
    step = Equal("LambertW inverts x e^x", sympy.LambertW(x * sympy.exp(x)), x)
    evidence = step.check()
    assert evidence.inconclusive and not evidence.holds


def test_exhausted_certifier_budget_is_inconclusive():
    step = AtLeast(
        "(x - 1/3)^2 >= 0",
        lambda v, m: (v[0] - m.const("1/3")) * (v[0] - m.const("1/3")),
        [(0, 1)],
        budget=Budget(max_boxes=50),
    )
    evidence = Derivation((step,)).check()
    assert evidence.inconclusive and not evidence.holds


def test_piecewise_comparison_names_the_region_and_point():
    hinge = sympy.Max(0, 1 - t)
    derived = [
        (sympy.Interval(-sympy.oo, 1), 1 - t),
        (sympy.Interval.open(1, sympy.oo), sympy.S.Zero),
    ]
    cases, failures = piecewise_mismatches(hinge, derived, t)
    assert cases >= 2 and failures == []
    wrong = [(sympy.Interval(-sympy.oo, 1), 1 - 2 * t)]
    cases, failures = piecewise_mismatches(hinge, wrong, t)
    assert failures and sympy.Rational(failures[0]["residual"]) != 0


def test_repeated_labels_are_rejected():
    import pytest

    with pytest.raises(ValueError, match="labels repeat"):
        Derivation((Equal("a", x, x), Equal("a", x, x)))


def test_probes_outside_a_sides_domain_are_skipped_not_crashing():
    u = sympy.Symbol("u", real=True)
    # false identity whose residual is complex for u > 1 and real for u < 1
    step = Equal("log rule", sympy.log(1 - u), sympy.log(1 + u))
    evidence = step.check()
    assert not evidence.holds and not evidence.inconclusive
    assert sympy.Rational(evidence.counterexample["at"]["u"]) < 1
