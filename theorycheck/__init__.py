"""theorycheck: executable, falsifiable checks of ML-theory claims.

The machinery names no paper; content packages (``theory``, ``proofs_check``,
``simulations``) register their claims on import.
"""

from theorycheck.claim import (
    METHODS,
    PROVENANCES,
    SCALES,
    VERDICTS,
    Claim,
    Control,
    Evidence,
)
from theorycheck.context import Context
from theorycheck.registry import all_claims, claim, get_claim, plot, select
from theorycheck.runner import ClaimResult, run_claim, run_claims

__version__ = "0.1.0"

__all__ = [
    "METHODS",
    "PROVENANCES",
    "SCALES",
    "VERDICTS",
    "Claim",
    "ClaimResult",
    "Context",
    "Control",
    "Evidence",
    "all_claims",
    "claim",
    "get_claim",
    "plot",
    "run_claim",
    "run_claims",
    "select",
]
