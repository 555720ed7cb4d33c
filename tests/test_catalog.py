"""The seed catalog: every seed paper has a row, every claim a known paper."""

from __future__ import annotations

from pathlib import Path

import pytest

from theory.catalog import STATUSES, load_papers, paper, paper_keys
from theorycheck import all_claims
from theorycheck.claim import Claim, Control, Evidence
from theorycheck.coverage import coverage, coverage_totals, paper_catalog

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


def test_rows_are_the_seed_list_in_order():
    rows = load_papers()
    assert [r["number"] for r in rows] == list(range(1, 120))
    assert len(paper_keys()) == 119  # keys are unique
    assert all(r["status"] in STATUSES and r["title"] for r in rows)


@pytest.mark.skipif(
    not SEEDS.is_dir(), reason="the seed list lives in ../shared/seeds beside the clone"
)
def test_every_seed_title_has_a_row_in_seed_order():
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt")))
    positions = [text.find(row["title"]) for row in load_papers()]
    assert all(p >= 0 for p in positions), [
        r["title"] for r, p in zip(load_papers(), positions, strict=True) if p < 0
    ]
    assert positions == sorted(positions)


def test_every_claim_names_a_catalog_paper():
    keys = paper_keys()
    unknown = [(c.id, c.paper) for c in all_claims() if c.paper not in keys]
    assert not unknown


def test_catalog_is_published_through_the_entry_point():
    assert [r["key"] for r in paper_catalog()] == [r["key"] for r in load_papers()]


def test_coverage_marks_only_papers_with_claims_as_checked():
    papers = [
        {"number": 1, "key": "a", "title": "A", "status": "checkable"},
        {
            "number": 2,
            "key": "b",
            "title": "B",
            "status": "empirical-only",
            "closest_fragment": "none",
        },
        {"number": 3, "key": "c", "title": "C", "status": "checkable"},
    ]

    def check(ctx):
        return Evidence(True, 0.0, 1)

    claims = [
        Claim("a.one", "a", "Eq. 1", "s", "numeric", "derived", check, (Control("c", "c"),), "m"),
        Claim("a.two", "a", "Eq. 2", "s", "numeric", "derived", check, (Control("c", "c"),), "m"),
    ]
    rows = coverage(papers, claims, {"a.one": "verified", "a.two": "refuted"})
    assert [(r["verdict"], r["claims"], r["verified"]) for r in rows] == [
        ("checked", 2, 1),
        ("empirical-only", 0, 0),
        ("not yet checked", 0, 0),
    ]
    assert "closest fragment: none" in rows[1]["reason"]
    assert coverage_totals(rows) == {
        "checked": 1,
        "empirical-only": 1,
        "not yet checked": 1,
        "with a verified claim": 1,
        "papers": 3,
    }
    stray = Claim("z.x", "nope", "s", "s", "numeric", "derived", check, (Control("c", "c"),), "m")
    with pytest.raises(ValueError, match="names paper 'nope', not in the catalog"):
        coverage(papers, [stray])


def test_unknown_paper_key_is_named():
    with pytest.raises(KeyError, match="unknown paper key 'nope'"):
        paper("nope")
