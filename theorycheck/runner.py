"""Run a claim's check and its negative controls, and decide the verdict."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from theorycheck.claim import Claim, Control, Evidence
from theorycheck.context import Context


@dataclass
class Outcome:
    """The result of one call of a check: evidence, or the error it raised."""

    evidence: Evidence | None
    seconds: float
    error: str | None = None
    traceback: str | None = None

    @property
    def holds(self) -> bool:
        return self.evidence is not None and self.evidence.holds

    @property
    def inconclusive(self) -> bool:
        return self.evidence is not None and self.evidence.inconclusive


@dataclass
class ClaimResult:
    """A claim's outcome, its controls' outcomes and the verdict."""

    claim: Claim
    context: Context
    outcome: Outcome
    control_outcomes: list[tuple[Control, Outcome]] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return decide_verdict(self.outcome, [o for _, o in self.control_outcomes])

    @property
    def control_verdict(self) -> str:
        """``refuted`` when every control failed its check, else what went wrong."""
        outcomes = [o for _, o in self.control_outcomes]
        if any(o.error for o in outcomes):
            return "error"
        if any(o.holds for o in outcomes):
            return "held"
        if any(o.inconclusive for o in outcomes):
            return "inconclusive"
        return "refuted"

    @property
    def seconds(self) -> float:
        return self.outcome.seconds + sum(o.seconds for _, o in self.control_outcomes)


def decide_verdict(claim_outcome: Outcome, control_outcomes: Iterable[Outcome]) -> str:
    """``error`` > ``inconclusive`` > ``refuted`` > ``vacuous`` > ``verified``.

    A claim whose check fails is ``refuted`` whatever its controls did; a claim
    that holds while one of its controls also holds is ``vacuous``.
    """
    controls = list(control_outcomes)
    if claim_outcome.error:
        return "error"
    if claim_outcome.inconclusive:
        return "inconclusive"
    if not claim_outcome.holds:
        return "refuted"
    if any(o.error for o in controls):
        return "error"
    if any(o.holds for o in controls):
        return "vacuous"
    if any(o.inconclusive for o in controls):
        return "inconclusive"
    return "verified"


def call_check(claim: Claim, ctx: Context, control: Control | None = None) -> Outcome:
    """Run the check for the claim (``control=None``) or for one control."""
    ctx = ctx.for_label(claim.id)
    kwargs = dict(control.kwargs) if control is not None else {}
    start = time.perf_counter()
    try:
        evidence = claim.check(ctx, **kwargs)
    except Exception as exc:  # a crashing check is a verdict, not a crash of the run
        return Outcome(
            None,
            time.perf_counter() - start,
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(),
        )
    seconds = time.perf_counter() - start
    if not isinstance(evidence, Evidence):
        return Outcome(
            None, seconds, error=f"check returned {type(evidence).__name__}, not Evidence"
        )
    return Outcome(evidence, seconds)


def run_claim(claim: Claim, ctx: Context) -> ClaimResult:
    """Run a claim's check and every one of its controls."""
    outcome = call_check(claim, ctx)
    controls = [(control, call_check(claim, ctx, control)) for control in claim.controls]
    return ClaimResult(claim, ctx.for_label(claim.id), outcome, controls)


def run_claims(
    claims: Iterable[Claim],
    ctx: Context,
    progress: Callable[[ClaimResult], None] | None = None,
) -> list[ClaimResult]:
    """Run several claims in order; ``progress`` is called after each."""
    results = []
    for claim in claims:
        result = run_claim(claim, ctx)
        results.append(result)
        if progress is not None:
            progress(result)
    return results
