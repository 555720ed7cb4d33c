"""Claims, their negative controls, the evidence a check returns, and verdicts.

A :class:`Claim` is one statement of a paper (a closed form, identity, inequality,
equivalence or rate) with a *check*: a function that examines the statement and
returns :class:`Evidence`. Every claim carries at least one :class:`Control`, a
plausible but false variant of the statement that the *same* check, called with
the control's keyword arguments, must refute. A check that cannot fail proves
nothing; the control shows that this one can.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

METHODS = ("symbolic", "certified", "numeric", "solver", "monte-carlo")
"""How a check examines its claim, from the most to the least exact."""

PROVENANCES = ("confirmed", "unconfirmed-numbering", "derived", "contested")
"""How a claim relates to its paper (see ``shared/claims/README.md``)."""

SCALES = ("quick", "full")
"""Sample sizes: ``quick`` for tests and CI, ``full`` for reports."""

VERDICTS = ("verified", "refuted", "vacuous", "inconclusive", "error")
"""Verdicts: ``verified`` (claim holds, every control refuted), ``refuted`` (the
claim fails, with a counterexample), ``vacuous`` (a control held too: the check is
too weak, a defect), ``inconclusive`` (a certifier ran out of budget: never a
pass), ``error`` (a check crashed)."""

CONTENT_PACKAGE_OF_METHOD = {
    "symbolic": "proofs_check",
    "certified": "proofs_check",
    "numeric": "theory",
    "solver": "theory",
    "monte-carlo": "simulations",
}
"""Where a claim of each method lives, so that a report row leads to its code."""

_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9][a-z0-9_\-]*$")


@dataclass
class Evidence:
    """What a check found.

    Attributes
    ----------
    holds : bool
        Whether the examined statement held on every case.
    margin : float
        Worst signed slack over the cases, scaled so that ``margin >= 0`` exactly
        when the statement holds (for an identity: tolerance minus error).
    cases : int
        Number of cases examined (instances, grid points, boxes, regions).
    tolerance : float or None
        The tolerance the comparison used, if any.
    counterexample : dict or None
        The inputs of the worst failing case, enough to reproduce it.
    details : dict
        Free-form figures for the report (maximum errors, suprema, ...).
    inconclusive : bool
        True when the check could neither prove nor refute (a certifier budget
        ran out). An inconclusive check never counts as holding.
    """

    holds: bool
    margin: float
    cases: int
    tolerance: float | None = None
    counterexample: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)
    inconclusive: bool = False

    def __post_init__(self) -> None:
        self.holds = bool(self.holds) and not self.inconclusive
        self.margin = float(self.margin)
        self.cases = int(self.cases)

    def summary(self) -> str:
        """One line: outcome, margin, cases and the counterexample if any."""
        outcome = "inconclusive" if self.inconclusive else ("holds" if self.holds else "fails")
        text = f"{outcome}: worst margin {format_number(self.margin)} over {self.cases} cases"
        if self.tolerance is not None:
            text += f" (tolerance {self.tolerance:.1e})"
        if self.counterexample:
            text += f"; counterexample {format_mapping(self.counterexample)}"
        return text


@dataclass(frozen=True)
class Control:
    """A negative control: a plausible but false variant of a claim.

    Parameters
    ----------
    name : str
        Short slug, used in test ids (``sparsemax.jvp[control:sqrt-support]``).
    description : str
        The false statement, in words or LaTeX.
    kwargs : Mapping
        Keyword arguments that turn the claim's check into a check of the
        false variant (for example ``{"jvp": jvp_divided_by_sqrt_support}``).
    """

    name: str
    description: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Claim:
    """One checkable statement of a paper.

    Attributes
    ----------
    id : str
        ``family.short-name``, exactly as in ``shared/claims/<family>.md``.
    paper : str
        Key of the paper in the seed catalog.
    source : str
        Where the paper states it (``Prop. 1``, ``Eq. (12)``).
    statement : str
        The statement, one line of LaTeX or plain text.
    method : str
        One of :data:`METHODS`.
    provenance : str
        One of :data:`PROVENANCES`.
    check : callable
        ``check(ctx, **kwargs) -> Evidence``; called with no keyword arguments
        for the claim and with a control's ``kwargs`` for that control.
    controls : tuple of Control
        At least one negative control.
    module : str
        Dotted name of the module that defines the check.
    """

    id: str
    paper: str
    source: str
    statement: str
    method: str
    provenance: str
    check: Callable[..., Evidence]
    controls: tuple[Control, ...]
    module: str
    notes: str = ""

    def __post_init__(self) -> None:
        if not _ID_PATTERN.match(self.id):
            raise ValueError(f"claim id {self.id!r} is not of the form 'family.short-name'")
        if self.method not in METHODS:
            raise ValueError(f"claim {self.id}: method {self.method!r} is not one of {METHODS}")
        if self.provenance not in PROVENANCES:
            raise ValueError(
                f"claim {self.id}: provenance {self.provenance!r} is not one of {PROVENANCES}"
            )
        if not self.controls:
            raise ValueError(f"claim {self.id}: a claim needs at least one negative control")
        names = [c.name for c in self.controls]
        if len(set(names)) != len(names):
            raise ValueError(f"claim {self.id}: control names repeat: {names}")
        for label in ("paper", "source", "statement"):
            if not getattr(self, label):
                raise ValueError(f"claim {self.id}: empty {label}")

    @property
    def family(self) -> str:
        """The paper family: the part of the id before the dot."""
        return self.id.split(".", 1)[0]

    @property
    def control(self) -> tuple[Control, ...]:
        """The negative controls (alias of :attr:`controls`)."""
        return self.controls


def format_number(value: float) -> str:
    """Compact, honest rendering of a float for tables (no rounding to zero)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:.4g}"
    return f"{value:.3e}"


def format_mapping(mapping: Mapping[str, Any], limit: int = 400) -> str:
    """Render a counterexample as ``key=value`` pairs, arrays as lists."""
    parts = []
    for key, value in mapping.items():
        if hasattr(value, "tolist"):
            value = value.tolist()
        if isinstance(value, float):
            value = repr(value)
        parts.append(f"{key}={value}")
    text = ", ".join(str(p) for p in parts)
    return text if len(text) <= limit else text[: limit - 3] + "..."
