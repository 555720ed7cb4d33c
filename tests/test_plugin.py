"""The pytest plugin: claims of a content folder become items named by claim id."""

from __future__ import annotations

import subprocess
import sys

TOY_CONTENT = """
import numpy as np
from theorycheck import checks
from theorycheck.claim import Control
from theorycheck.registry import claim


@claim("toyfam.true-identity", paper="toy2026", source="Eq. (1)", statement="x^2 = x x",
       method="numeric", provenance="derived",
       controls=[Control("cube", "x^3 = x x", {"exponent": 3.0})])
def true_identity(ctx, exponent=2.0):
    x = ctx.rng(0).uniform(-2, 2, 50)
    return checks.compare(x ** exponent, x * x, atol=1e-12, inputs={"x": x})


@claim("toyfam.false-bound", paper="toy2026", source="Lemma 2", statement="x <= 1 on [0, 2]",
       method="numeric", provenance="confirmed",
       controls=[Control("half", "x <= 1/2", {"constant": 0.5})])
def false_bound(ctx, constant=1.0):
    x = ctx.rng(0).uniform(0, 2, 50)
    return checks.nonnegative(constant - x, inputs={"x": x})


@claim("toyfam.disputed", paper="toy2026", source="Thm 3", statement="x <= 1 (contested)",
       method="numeric", provenance="contested",
       controls=[Control("tiny", "x <= -1", {"constant": -1.0})])
def disputed(ctx, constant=1.0):
    x = ctx.rng(0).uniform(0, 2, 50)
    return checks.nonnegative(constant - x, inputs={"x": x})
"""


def _toy_package(pytester):
    pytester.makepyfile(**{"toycontent/__init__.py": "", "toycontent/toyfam.py": TOY_CONTENT})
    pytester.syspathinsert()


def test_claims_and_controls_become_items(pytester, monkeypatch):
    monkeypatch.setenv("THEORYCHECK_CONTENT", "toycontent")
    _toy_package(pytester)
    result = pytester.runpytest_subprocess("toycontent", "--collect-only", "-q")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "toycontent/toyfam.py::toyfam.disputed[[]claim[]]",
            "toycontent/toyfam.py::toyfam.false-bound[[]claim[]]",
            "toycontent/toyfam.py::toyfam.false-bound[[]control:half[]]",
            "toycontent/toyfam.py::toyfam.true-identity[[]claim[]]",
            "toycontent/toyfam.py::toyfam.true-identity[[]control:cube[]]",
            "6 tests collected*",
        ]
    )


def test_outcomes_failure_report_and_selection(pytester, monkeypatch):
    monkeypatch.setenv("THEORYCHECK_CONTENT", "toycontent")
    _toy_package(pytester)
    result = pytester.runpytest_subprocess("toycontent", "-rxX")
    # true identity + its control pass; the false bound fails, its control passes;
    # the contested claim fails as predicted (xfail), its control passes
    result.assert_outcomes(passed=4, failed=1, xfailed=1)
    result.stdout.fnmatch_lines(
        [
            "*toyfam.false-bound[[]claim[]]: the claim failed its check*",
            "*evidence: fails: worst margin * counterexample instance=*, x=*",
        ]
    )
    selected = pytester.runpytest_subprocess("toycontent", "-k", "identity")
    selected.assert_outcomes(passed=2)


def test_backend_and_scale_options(pytester, monkeypatch):
    monkeypatch.setenv("THEORYCHECK_CONTENT", "toycontent")
    _toy_package(pytester)
    strict = pytester.runpytest_subprocess(
        "toycontent", "-k", "identity", "--backend", "array-api-strict", "--scale", "full"
    )
    strict.assert_outcomes(passed=2)
    bad = pytester.runpytest_subprocess("toycontent", "--scale", "galactic")
    assert bad.ret != 0
    bad.stderr.fnmatch_lines(["*invalid choice: 'galactic'*"])


def test_sparsemax_claims_are_collected_with_their_ids():
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "theory", "--collect-only", "-q", "-k", "closed_form"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert "theory/sparsemax/claims.py::sparsemax.closed_form[claim]" in out
    assert "sparsemax.closed_form[control:denominator-K]" in out
