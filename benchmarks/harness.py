"""Helpers shared by the benchmark scripts: arguments, interleaved timing, JSON output.

The scripts run as ``python benchmarks/bench_<topic>.py`` (this folder is then on
``sys.path``), so they import these helpers as ``from harness import ...``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from theorycheck.atomic import atomic_write_text


def positive_int(text: str) -> int:
    """An argparse type: a positive integer, or a one-line error naming the value."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def benchmark_parser(
    description: str, *, repeat: int, seed: bool = True
) -> argparse.ArgumentParser:
    """A parser with the options every script has: ``--repeat``, ``--seed`` (unless
    ``seed`` is False) and ``--json``; the script adds its own sizes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--repeat", type=positive_int, default=repeat, help=f"timed repeats ({repeat})"
    )
    if seed:
        parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs (0)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    return parser


def time_interleaved(
    cases: dict[str, Callable[..., object]],
    repeat: int,
    inputs: Sequence[tuple] = ((),),
) -> dict[str, list[float]]:
    """Seconds of each case over ``repeat`` rounds, after one warm-up call each.

    Every case is called with each tuple of ``inputs`` as its arguments (default: no
    arguments); the cases alternate within every round and input, so a change in
    machine load hits all of them alike; compare medians.
    """
    for arguments in inputs:
        for run in cases.values():
            run(*arguments)
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat):
        for arguments in inputs:
            for name, run in cases.items():
                start = time.perf_counter()
                run(*arguments)
                times[name].append(time.perf_counter() - start)
    return times


def write_json(path: Path, payload: dict) -> None:
    """Write the results as JSON, atomically, with the NumPy and Python versions and
    the machine added."""
    environment = {
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    atomic_write_text(path, json.dumps({**payload, **environment}, indent=2) + "\n")
