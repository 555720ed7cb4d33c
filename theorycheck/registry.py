"""The registry of claims and figures.

Content modules register claims with the :func:`claim` decorator when they are
imported. The machinery names no paper: :func:`load_content` imports the content
packages, found through the ``theorycheck.content`` entry points (the installed
distribution declares ``theory``, ``proofs_check`` and ``simulations``), and
:func:`all_claims` returns what they registered.
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.metadata
import os
import pkgutil
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from theorycheck.claim import METHODS, Claim, Control

_CLAIMS: dict[str, Claim] = {}
_PLOTS: dict[str, Callable[..., list[str]]] = {}
_STUDIES: dict[str, Any] = {}
_LOADED = False

DEFAULT_CONTENT_PACKAGES = ("theory", "proofs_check", "simulations")
ENTRY_POINT_GROUP = "theorycheck.content"
ENVIRONMENT_VARIABLE = "THEORYCHECK_CONTENT"
"""Comma-separated extra content packages (a researcher's own claims)."""


def claim(
    id: str,
    *,
    paper: str,
    source: str,
    statement: str,
    method: str,
    provenance: str,
    controls: Sequence[Control],
    notes: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as the check of a claim.

    The function is called as ``check(ctx)`` for the claim and as
    ``check(ctx, **control.kwargs)`` for each negative control, and returns
    :class:`~theorycheck.claim.Evidence`. It is returned unchanged.
    """

    def register(check: Callable[..., Any]) -> Callable[..., Any]:
        entry = Claim(
            id=id,
            paper=paper,
            source=source,
            statement=statement,
            method=method,
            provenance=provenance,
            check=check,
            controls=tuple(controls),
            module=check.__module__,
            notes=notes,
        )
        previous = _CLAIMS.get(id)
        if previous is not None and (previous.module, previous.check.__qualname__) != (
            entry.module,
            check.__qualname__,
        ):
            raise ValueError(
                f"claim id {id!r} registered twice: {previous.module} and {entry.module}"
            )
        _CLAIMS[id] = entry
        return check

    return register


def plot(name: str) -> Callable[[Callable[..., list[str]]], Callable[..., list[str]]]:
    """Register a figure maker: ``fn(out_dir) -> list of written paths``."""

    def register(fn: Callable[..., list[str]]) -> Callable[..., list[str]]:
        _PLOTS[name] = fn
        return fn

    return register


def study(name: str, *, grid: Sequence[dict[str, Any]], **options: Any) -> Callable[..., Any]:
    """Register ``simulate(config, seeds, xp)`` as a Monte Carlo study.

    ``options`` are the other fields of :class:`theorycheck.study.Study`
    (replicates, batch_size, axis, description, version, claimed_exponent).
    The function is returned unchanged.
    """
    from theorycheck.study import Study

    def register(simulate: Callable[..., Any]) -> Callable[..., Any]:
        _STUDIES[name] = Study(name=name, simulate=simulate, grid=tuple(grid), **options)
        return simulate

    return register


def content_packages() -> list[str]:
    """Names of the content packages.

    The ``theorycheck.content`` entry points (or the default three when the
    distribution's metadata is absent), plus the packages named in the
    ``THEORYCHECK_CONTENT`` environment variable.
    """
    try:
        points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        names = sorted({point.value for point in points})
    except Exception:  # pragma: no cover - broken metadata
        names = []
    names = names or list(DEFAULT_CONTENT_PACKAGES)
    extra = [n.strip() for n in os.environ.get(ENVIRONMENT_VARIABLE, "").split(",") if n.strip()]
    return names + [n for n in extra if n not in names]


def load_content(packages: Iterable[str] | None = None) -> None:
    """Import every module of the content packages so that they register."""
    global _LOADED
    if _LOADED and packages is None:
        return
    for package_name in packages or content_packages():
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, prefix=package_name + "."):
            leaf = info.name.rsplit(".", 1)[-1]
            if leaf.startswith(("test_", "conftest")):
                continue
            importlib.import_module(info.name)
    if packages is None:
        _LOADED = True


def all_claims() -> list[Claim]:
    """Every registered claim of the content packages, sorted by id."""
    load_content()
    return sorted(_CLAIMS.values(), key=lambda c: c.id)


def registered_claims() -> list[Claim]:
    """The claims registered so far, without importing anything."""
    return sorted(_CLAIMS.values(), key=lambda c: c.id)


def get_claim(claim_id: str) -> Claim:
    """The claim with this id; ``KeyError`` naming it if there is none."""
    load_content()
    try:
        return _CLAIMS[claim_id]
    except KeyError:
        raise KeyError(f"unknown claim id {claim_id!r}") from None


def all_plots() -> dict[str, Callable[..., list[str]]]:
    """Every registered figure maker, by name."""
    load_content()
    return dict(sorted(_PLOTS.items()))


def all_studies() -> dict[str, Any]:
    """Every registered study, by name."""
    load_content()
    return dict(sorted(_STUDIES.items()))


def get_study(name: str) -> Any:
    """The study of this name; ``ValueError`` naming it (and the known ones) if unknown."""
    studies = all_studies()
    if name not in studies:
        known = ", ".join(studies) or "none registered"
        raise ValueError(f"unknown study {name!r}; known studies: {known}")
    return studies[name]


def select(
    claims: Iterable[Claim],
    pattern: str | None = None,
    *,
    method: str | None = None,
    family: str | None = None,
    paper: str | None = None,
) -> list[Claim]:
    """Select claims by id glob (or family name), method, family and paper.

    Raises
    ------
    ValueError
        For an unknown method, or when the selection is empty (naming the filter).
    """
    if method is not None and method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    chosen = list(claims)
    if pattern:
        chosen = [c for c in chosen if fnmatch.fnmatchcase(c.id, pattern) or c.family == pattern]
    if method:
        chosen = [c for c in chosen if c.method == method]
    if family:
        chosen = [c for c in chosen if c.family == family]
    if paper:
        chosen = [c for c in chosen if c.paper == paper]
    if not chosen:
        filters = [
            f"{label} {value!r}"
            for label, value in (
                ("id", pattern),
                ("method", method),
                ("family", family),
                ("paper", paper),
            )
            if value
        ]
        raise ValueError("no claim matches " + (" and ".join(filters) or "the selection"))
    return chosen
