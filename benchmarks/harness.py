"""Helpers shared by the benchmark scripts: argument types, interleaved timing, JSON output.

The scripts run as ``python benchmarks/bench_<topic>.py`` (this folder is then on
``sys.path``), so they import these helpers as ``from harness import ...``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from theorycheck.atomic import atomic_write_text


def positive_int(text: str) -> int:
    """An argparse type: a positive integer, or a one-line error naming the value."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def time_interleaved(cases: dict[str, Callable[[], object]], repeat: int) -> dict[str, list[float]]:
    """Seconds of each case over ``repeat`` rounds, after one warm-up call each.

    The cases alternate within every round, so a change in machine load hits all
    of them alike; compare medians.
    """
    for run in cases.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, run in cases.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return times


def write_json(path: Path, payload: dict) -> None:
    """Write the results as JSON, atomically."""
    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")
