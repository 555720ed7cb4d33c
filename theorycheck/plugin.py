"""pytest plugin: the registered claims of a content folder become test items.

``pytest theory`` imports each module of the content packages under the given
paths and collects, per registered claim, one item for the claim
(``sparsemax.jvp[claim]``) and one per negative control
(``sparsemax.jvp[control:sqrt-support]``); ``-k huber`` selects by id. The claim
item passes when its check holds; a control item passes when the same check
refutes the false variant. A failing item prints the evidence and the
counterexample. A ``contested`` claim whose paper statement fails is reported as
an expected failure (xfail) with the counterexample, never as a pass.

Options: ``--backend`` (numpy, array-api-strict, cupy), ``--scale`` (quick,
full), ``--claim-seed``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from theorycheck.backend import BACKENDS, BackendUnavailable
from theorycheck.claim import SCALES, Claim, Control
from theorycheck.context import Context
from theorycheck.registry import content_packages, registered_claims
from theorycheck.runner import Outcome, call_check


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("theorycheck", "theorycheck claims")
    group.addoption(
        "--backend",
        default="numpy",
        choices=BACKENDS,
        help="array backend the claims run on (default numpy)",
    )
    group.addoption(
        "--scale", default="quick", choices=SCALES, help="sample sizes: quick (default) or full"
    )
    group.addoption("--claim-seed", type=int, default=0, help="root seed of the claims (default 0)")


def pytest_configure(config: pytest.Config) -> None:
    try:
        context = Context.create(
            config.getoption("--backend"),
            config.getoption("--scale"),
            config.getoption("--claim-seed"),
        )
    except (BackendUnavailable, ValueError) as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_CONTEXT] = context
    config.addinivalue_line("markers", "theorycheck: a registered claim or one of its controls")


_CONTEXT = pytest.StashKey[Context]()


def _module_name(path: Path) -> str | None:
    """Dotted module name of a file inside a content package, else None."""
    parts = [path.stem]
    folder = path.parent
    while (folder / "__init__.py").exists():
        parts.append(folder.name)
        folder = folder.parent
    if len(parts) < 2 or parts[-1] not in content_packages():
        return None
    return ".".join(reversed(parts))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix != ".py" or file_path.name.startswith(("test_", "conftest", "__init__")):
        return None
    name = _module_name(file_path)
    if name is None:
        return None
    importlib.import_module(name)
    if not any(c.module == name for c in registered_claims()):
        return None
    return ClaimModule.from_parent(parent, path=file_path, module_name=name)


class ClaimModule(pytest.File):
    """A content module that registers claims."""

    def __init__(self, *, module_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.module_name = module_name

    def collect(self):
        for claim in registered_claims():
            if claim.module != self.module_name:
                continue
            yield ClaimItem.from_parent(self, name=f"{claim.id}[claim]", claim=claim, control=None)
            for control in claim.controls:
                yield ClaimItem.from_parent(
                    self, name=f"{claim.id}[control:{control.name}]", claim=claim, control=control
                )


class ClaimCheckFailed(Exception):
    """Raised by a claim item whose outcome is not the expected one."""


class ClaimItem(pytest.Item):
    """One check run: the claim itself, or one of its negative controls."""

    def __init__(self, *, claim: Claim, control: Control | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.claim = claim
        self.control = control
        self.outcome: Outcome | None = None
        self.add_marker(pytest.mark.theorycheck)

    def runtest(self) -> None:
        ctx = self.config.stash[_CONTEXT]
        self.outcome = outcome = call_check(self.claim, ctx, self.control)
        if outcome.error:
            raise ClaimCheckFailed("the check raised an error")
        evidence = outcome.evidence
        assert evidence is not None
        if evidence.inconclusive:
            raise ClaimCheckFailed("inconclusive: the check could neither prove nor refute")
        if self.control is None:
            if evidence.holds:
                return
            if self.claim.provenance == "contested":
                pytest.xfail(
                    f"contested claim fails as the discrepancy predicts: {evidence.summary()}"
                )
            raise ClaimCheckFailed("the claim failed its check")
        if evidence.holds:
            raise ClaimCheckFailed("the negative control held: the check is vacuous")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if not isinstance(excinfo.value, ClaimCheckFailed):
            return super().repr_failure(excinfo)
        lines = [f"{self.name}: {excinfo.value}", f"statement: {self.claim.statement}"]
        if self.control is not None:
            lines.append(f"control ({self.control.name}): {self.control.description}")
        outcome = self.outcome
        if outcome is not None and outcome.error:
            lines += [f"error: {outcome.error}", outcome.traceback or ""]
        elif outcome is not None and outcome.evidence is not None:
            lines.append(f"evidence: {outcome.evidence.summary()}")
            for key, value in outcome.evidence.details.items():
                lines.append(f"  {key}: {value}")
        return "\n".join(lines)

    def reportinfo(self) -> tuple[Path, None, str]:
        kind = "claim" if self.control is None else f"control {self.control.name}"
        return self.path, None, f"{self.claim.id} ({kind})"
