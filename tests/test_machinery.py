"""The claim machinery: verdicts, evidence, checks, registry, contexts and reports."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from conftest import register_toy_claims

from theorycheck import checks, validate
from theorycheck.claim import CONTENT_PACKAGE_OF_METHOD, Claim, Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import all_claims, select
from theorycheck.report import write_claims_report
from theorycheck.runner import decide_verdict, run_claim

# ----------------------------------------------------------------------------- verdicts


def test_true_claim_with_refuted_control_is_verified(isolated_registry, ctx):
    register_toy_claims(isolated_registry)
    result = run_claim(isolated_registry.get_claim("toy.square"), ctx)
    assert result.verdict == "verified"
    assert result.control_verdict == "refuted"
    assert result.outcome.evidence.margin >= 0


def test_false_claim_is_refuted_with_a_reproducible_counterexample(isolated_registry, ctx):
    register_toy_claims(isolated_registry)
    claim = isolated_registry.get_claim("toy.false-bound")
    first = run_claim(claim, ctx)
    second = run_claim(claim, ctx)
    assert first.verdict == "refuted"
    example = first.outcome.evidence.counterexample
    assert example["x"] > 1.0  # the failing input itself
    assert first.outcome.evidence.margin == pytest.approx(1.0 - example["x"])
    assert second.outcome.evidence.counterexample["x"] == example["x"]  # same seed, same numbers


def test_check_that_cannot_fail_is_vacuous(isolated_registry, ctx):
    register_toy_claims(isolated_registry)
    result = run_claim(isolated_registry.get_claim("toy.weak"), ctx)
    assert result.verdict == "vacuous"
    assert result.control_verdict == "held"


def test_crashing_check_is_an_error_verdict(isolated_registry, ctx):
    def crash(ctx, flag: bool = True) -> Evidence:
        raise RuntimeError("solver exploded")

    isolated_registry.claim(
        "toy.crash",
        paper="toy2026",
        source="-",
        statement="s",
        method="numeric",
        provenance="derived",
        controls=[Control("c", "c", {"flag": False})],
    )(crash)
    result = run_claim(isolated_registry.get_claim("toy.crash"), ctx)
    assert result.verdict == "error"
    assert "solver exploded" in result.outcome.error


def test_verdict_order():
    from theorycheck.runner import Outcome

    holds = Outcome(Evidence(True, 0.0, 1), 0.0)
    fails = Outcome(Evidence(False, -1.0, 1), 0.0)
    unsure = Outcome(Evidence(True, 0.0, 1, inconclusive=True), 0.0)
    broken = Outcome(None, 0.0, error="boom")
    assert decide_verdict(holds, [fails]) == "verified"
    assert decide_verdict(holds, [fails, holds]) == "vacuous"
    assert decide_verdict(fails, [holds]) == "refuted"
    assert decide_verdict(unsure, [fails]) == "inconclusive"
    assert decide_verdict(broken, [fails]) == "error"
    assert unsure.evidence.holds is False  # inconclusive never counts as holding


def test_claim_definition_is_validated():
    def check(ctx):
        return Evidence(True, 0.0, 1)

    base = dict(
        paper="p",
        source="s",
        statement="t",
        method="numeric",
        provenance="derived",
        check=check,
        controls=(Control("c", "c"),),
        module="m",
    )
    with pytest.raises(ValueError, match="family.short-name"):
        Claim(id="nofamily", **base)
    with pytest.raises(ValueError, match="method"):
        Claim(id="a.b", **{**base, "method": "vibes"})
    with pytest.raises(ValueError, match="provenance"):
        Claim(id="a.b", **{**base, "provenance": "rumour"})
    with pytest.raises(ValueError, match="negative control"):
        Claim(id="a.b", **{**base, "controls": ()})


def test_duplicate_ids_are_rejected(isolated_registry):
    register_toy_claims(isolated_registry)

    def other(ctx):
        return Evidence(True, 0.0, 1)

    with pytest.raises(ValueError, match="registered twice"):
        isolated_registry.claim(
            "toy.square",
            paper="p",
            source="s",
            statement="t",
            method="numeric",
            provenance="derived",
            controls=[Control("c", "c")],
        )(other)


# ----------------------------------------------------------------------------- checks


def test_compare_reports_worst_instance_and_nan():
    expected = np.zeros((4, 3))
    actual = expected.copy()
    actual[2, 1] = 1e-3
    actual[3, 0] = np.nan
    evidence = checks.compare(actual, expected, atol=1e-6, inputs={"z": np.arange(4)})
    assert not evidence.holds
    assert evidence.counterexample["z"] == 3  # NaN is the worst case
    assert evidence.details["non_finite"] == 1
    ok = checks.compare(actual[:2], expected[:2], atol=1e-6)
    assert ok.holds and ok.margin == pytest.approx(1e-6)


def test_compare_per_instance_tolerance():
    evidence = checks.compare([1.0, 2.0], [1.0 + 5e-7, 2.0], atol=np.array([1e-6, 0.0]))
    assert evidence.holds


def test_nonnegative_and_agree_and_combine():
    slack = np.array([0.5, -1e-13, 0.2])
    assert checks.nonnegative(slack, tol=1e-12).holds
    bad = checks.nonnegative(slack, tol=1e-14, inputs={"i": np.arange(3)})
    assert not bad.holds and bad.counterexample["i"] == 1
    eq = checks.agree([True, False], [True, True], inputs={"k": np.array([7, 8])})
    assert not eq.holds and eq.counterexample["k"] == 8 and eq.details["disagreements"] == 1
    both = checks.combine({"a": checks.exact(True), "b": bad})
    assert not both.holds and both.counterexample["part"] == "b" and both.cases == 4


def test_solve_each_matches_a_closed_form():
    import cvxpy as cp

    def nearest_nonnegative(shape):
        z = cp.Parameter(shape)
        x = cp.Variable(shape)
        problem = cp.Problem(cp.Minimize(cp.sum_squares(x - z)), [x >= 0])
        return problem, (z,), lambda: x.value

    z = np.array([[1.0, -2.0], [-0.5, 3.0]])
    solved = checks.solve_each(nearest_nonnegative, z, tol_gap_abs=1e-12, tol_gap_rel=1e-12)
    assert checks.compare(solved, np.clip(z, 0, None), atol=1e-6).holds


# ----------------------------------------------------------------------------- context


def test_seeds_are_reproducible_and_independent_per_label():
    a = Context.create(seed=3, label="x").rng(0).standard_normal(4)
    b = Context.create(seed=3, label="x").rng(0).standard_normal(4)
    c = Context.create(seed=3, label="y").rng(0).standard_normal(4)
    d = Context.create(seed=3, label="x").rng(1).standard_normal(4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, d)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"backend": "tpu"}, "unknown backend"),
        ({"scale": "huge"}, "unknown scale"),
        ({"seed": -1}, "non-negative"),
    ],
)
def test_context_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Context.create(**kwargs)


# ----------------------------------------------------------------------------- registry


def test_selection_by_glob_family_method_and_paper(isolated_registry):
    register_toy_claims(isolated_registry)
    claims = isolated_registry.registered_claims()
    assert [c.id for c in select(claims, "toy.*")] == ["toy.false-bound", "toy.square", "toy.weak"]
    assert [c.id for c in select(claims, "toy")] == ["toy.false-bound", "toy.square", "toy.weak"]
    assert [c.id for c in select(claims, "*square")] == ["toy.square"]
    assert len(select(claims, paper="toy2026", method="numeric")) == 3
    with pytest.raises(ValueError, match="no claim matches id 'nothing.*'"):
        select(claims, "nothing.*")
    with pytest.raises(ValueError, match="unknown method"):
        select(claims, method="astrology")


def test_every_registered_claim_is_well_formed_and_lives_where_its_method_says():
    claims = all_claims()
    assert claims, "no claims registered"
    for claim in claims:
        package = CONTENT_PACKAGE_OF_METHOD[claim.method]
        assert claim.module.startswith(f"{package}."), (claim.id, claim.module)
        assert claim.family in claim.module.split("."), (claim.id, claim.module)
        assert claim.controls and all(c.description for c in claim.controls)


# ----------------------------------------------------------------------------- report


def test_report_files_have_one_row_per_claim(isolated_registry, ctx, tmp_path):
    register_toy_claims(isolated_registry)
    results = [
        run_claim(c, ctx) for c in isolated_registry.registered_claims() if c.family == "toy"
    ]
    paths = write_claims_report(results, tmp_path)
    assert sorted(p.name for p in paths) == ["claims.csv", "claims.json", "claims.md"]
    rows = list(csv.DictReader(open(tmp_path / "claims.csv")))
    assert {r["id"]: r["verdict"] for r in rows} == {
        "toy.false-bound": "refuted",
        "toy.square": "verified",
        "toy.weak": "vacuous",
    }
    assert all("numpy, scale quick, seed 0" in r["obtained"] for r in rows)
    payload = json.loads((tmp_path / "claims.json").read_text())
    assert payload["totals"]["verified"] == 1 and payload["totals"]["vacuous"] == 1
    refuted = next(r for r in payload["claims"] if r["id"] == "toy.false-bound")
    assert "x=" in refuted["counterexample"] and math.isfinite(refuted["margin"])
    markdown = (tmp_path / "claims.md").read_text()
    assert "| toy.square | toy2026 | Eq. (1) | derived |" in markdown
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary files left behind


def test_coverage_and_index_pages(isolated_registry, ctx, tmp_path):
    from theorycheck.coverage import coverage, coverage_totals
    from theorycheck.report import result_row, write_coverage, write_index

    register_toy_claims(isolated_registry)
    claims = [c for c in isolated_registry.registered_claims() if c.family == "toy"]
    results = [run_claim(c, ctx) for c in claims]
    papers = [{"number": 1, "key": "toy2026", "title": "Toy <paper>", "status": "checkable"}]
    rows = coverage(papers, claims, {r.claim.id: r.verdict for r in results})
    paths = write_coverage(rows, coverage_totals(rows), tmp_path)
    assert "| 1 | Toy <paper> () | toy2026 | checkable | checked | 3 | 1 |" in paths[0].read_text()
    figure = tmp_path / "figures" / "toy.png"
    figure.parent.mkdir()
    figure.write_bytes(b"\x89PNG")
    index = write_index(tmp_path, [result_row(r) for r in results], rows, [figure]).read_text()
    assert "Toy &lt;paper&gt;" in index and 'src="figures/toy.png"' in index
    assert index.count("<tr>") == 1 + 3 + 1 + 1  # two headers, three claims, one paper


def test_validate_helpers_name_the_value(xp):
    x = xp.asarray(np.array([[1.0, 2.0]]))
    assert validate.finite_real_array(x, "x", func="f", min_ndim=2) is x
    with pytest.raises(ValueError, match=r"^f: x must have at least 3 axes, got shape \(1, 2\)"):
        validate.finite_real_array(x, "x", func="f", min_ndim=3)
    with pytest.raises(ValueError, match=r"^f: x must be finite, got nan at index \(0, 1\)"):
        validate.finite_real_array(xp.asarray(np.array([[1.0, np.nan]])), "x", func="f")
    with pytest.raises(ValueError, match="must have a real floating dtype"):
        validate.finite_real_array(xp.asarray(np.array([1, 2])), "x", func="f")
    assert validate.positive_number(2, "eta", func="f") == 2.0
    for bad in (0, -1.0, math.inf, math.nan, True, "1"):
        with pytest.raises(ValueError, match=r"^f: eta must be a finite number > 0, got"):
            validate.positive_number(bad, "eta", func="f")


def test_write_figures_saves_png_and_svg_reproducibly(tmp_path):
    from theorycheck.atomic import write_figures

    def draw(figure):
        figure.subplots().plot([0, 1], [1, 0])
        return "a line"

    first = write_figures(tmp_path / "a", [("line", (2.0, 2.0), draw)])
    second = write_figures(tmp_path / "b", [("line", (2.0, 2.0), draw)])
    assert [p.rsplit("/", 1)[-1] for p in first] == ["line.png", "line.svg"]
    svg = [open(p, "rb").read() for p in (first[1], second[1])]
    assert svg[0] == svg[1] and b"a line" in svg[0]
    assert sorted(f.name for f in (tmp_path / "a").iterdir()) == ["line.png", "line.svg"]
