"""The seed catalog: every seed paper, its triage, and the claims that check it.

``papers.toml`` holds one row per paper of the seed list, in seed order. A claim's
``paper`` field is a key of this catalog.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

STATUSES = ("covered", "checkable", "checkable-fragment", "empirical-only", "not-checkable")


@cache
def load_papers() -> tuple[dict[str, Any], ...]:
    """The catalog rows (dicts with number, key, title, venue, year, triage, status, spec_ids)."""
    text = resources.files(__package__).joinpath("papers.toml").read_text(encoding="utf-8")
    return tuple(tomllib.loads(text)["paper"])


def paper_keys() -> frozenset[str]:
    """Every paper key of the catalog."""
    return frozenset(row["key"] for row in load_papers())


def paper(key: str) -> dict[str, Any]:
    """The catalog row of a paper key; ``KeyError`` naming it if unknown."""
    for row in load_papers():
        if row["key"] == key:
            return row
    raise KeyError(f"unknown paper key {key!r}")
