"""Monte Carlo studies: a grid of configurations x replicates, run in cached cells.

A study is a function ``simulate(config, seeds, xp) -> dict`` that runs a *batch*
of replicates at once, replicates on the leading array axis (never a Python loop
over them), and returns

- the axis of the curves under the study's ``axis`` name (a 1-D array of H
  horizons, iterations, ...), and
- per-replicate results: arrays of shape (R, H) (curves) or (R,) (scalars).

:func:`run_study` splits each configuration's replicates into batches (cells),
sends the cells to any :class:`concurrent.futures.Executor` (in-process, a process
pool, Dask), caches each finished cell on disk under a hash of its configuration,
replicate range, root seed, backend and code version (written atomically, so an
interrupted study resumes where it stopped and never reads half a file), never
caches a failure, shows progress, and returns a tidy :class:`pandas.DataFrame`
(one row per configuration x replicate x horizon) with a manifest.

Seeds: replicate r of study S draws from
``SeedSequence(seed, spawn_key=(crc32(S), r))``: distinct per replicate,
independent of the batching and of the executor, identical across
configurations (common random numbers for comparisons).
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import platform
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from theorycheck.atomic import atomic_write, atomic_write_bytes, atomic_write_text
from theorycheck.backend import namespace, to_numpy

Simulate = Callable[
    [Mapping[str, Any], Sequence[np.random.SeedSequence], ModuleType], Mapping[str, Any]
]


class StudyError(RuntimeError):
    """Some cells of a study failed; the finished ones are cached."""


@dataclass(frozen=True)
class Study:
    """A registered Monte Carlo study.

    Attributes
    ----------
    name : str
        ``family.short-name`` (``online_regret.oomd-sea``).
    simulate : callable
        ``simulate(config, seeds, xp) -> {axis: (H,), metric: (R, H) or (R,)}``.
    grid : tuple of dict
        The configurations (JSON-serialisable values).
    replicates : int
        Replicates per configuration, unless the caller overrides it.
    batch_size : int
        Replicates per cell.
    axis : str
        Name of the curves' axis (``"T"``).
    description : str
        One line for ``theorycheck study --list`` and the manifest.
    version : str
        Bump to invalidate cached cells when results would change without a
        change of the function's source (its source is hashed too).
    claimed_exponent : callable, optional
        ``claimed_exponent(config, metric) -> (exponent, band) or None``: the
        rate a claim states for this curve, shown beside the fitted one.
    """

    name: str
    simulate: Simulate
    grid: tuple[Mapping[str, Any], ...]
    replicates: int = 64
    batch_size: int = 64
    axis: str = "T"
    description: str = ""
    version: str = "1"
    claimed_exponent: Callable[[Mapping[str, Any], str], tuple[float, float] | None] | None = None

    def __post_init__(self) -> None:
        validate_grid(self.name, self.grid)
        for label in ("replicates", "batch_size"):
            value = getattr(self, label)
            if not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"study {self.name}: {label} must be a positive integer, got {value!r}"
                )

    @property
    def code_hash(self) -> str:
        """Hash of the simulate function's source and the study's version."""
        try:
            source = inspect.getsource(self.simulate)
        except (OSError, TypeError):
            source = self.simulate.__qualname__
        return hashlib.sha256(f"{self.version}\n{source}".encode()).hexdigest()[:16]


def validate_grid(name: str, grid: Sequence[Mapping[str, Any]]) -> None:
    """Raise ``ValueError`` unless the grid is a non-empty list of JSON-able mappings."""
    if not grid:
        raise ValueError(f"study {name}: the grid is empty")
    for config in grid:
        if not isinstance(config, Mapping):
            raise ValueError(f"study {name}: a configuration is not a mapping: {config!r}")
        _json(config)  # raises for values that cannot be hashed into a cache key


def _json(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    except TypeError as exc:
        raise ValueError(f"configuration {value!r} is not JSON-serialisable: {exc}") from None


def replicate_seeds(seed: int, name: str, start: int, stop: int) -> list[np.random.SeedSequence]:
    """The SeedSequences of replicates ``start .. stop-1`` of study ``name``."""
    key = zlib.crc32(name.encode())
    return [np.random.SeedSequence(seed, spawn_key=(key, r)) for r in range(start, stop)]


def replicate_draws(
    seeds: Sequence[np.random.SeedSequence],
    draw: Callable[[np.random.Generator], np.ndarray],
    xp: ModuleType,
) -> Any:
    """Stack one draw per replicate, ``draw(generator)``, on a leading axis of ``xp``.

    Only the random numbers are drawn replicate by replicate (so that a replicate's
    numbers do not depend on the batching); the algorithm itself then runs on the
    whole batch.
    """
    return xp.asarray(np.stack([draw(np.random.default_rng(s)) for s in seeds]))


# ------------------------------------------------------------------------------ cells


@dataclass(frozen=True, eq=False)  # identity hashing: configurations hold lists
class Cell:
    """One batch of replicates of one configuration."""

    config_index: int
    config: Mapping[str, Any]
    start: int
    stop: int

    def key(self, study: Study, seed: int, backend: str) -> str:
        payload = _json(
            {
                "study": study.name,
                "config": self.config,
                "replicates": [self.start, self.stop],
                "seed": seed,
                "backend": backend,
                "code": study.code_hash,
            }
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:24]


def run_cell(name: str, config: Mapping[str, Any], start: int, stop: int, seed: int, backend: str):
    """Run one cell (in any process: the study is looked up by name) -> NumPy arrays."""
    from theorycheck.registry import get_study

    study = get_study(name)
    xp = namespace(backend)
    began = time.perf_counter()
    raw = study.simulate(config, replicate_seeds(seed, name, start, stop), xp)
    arrays = {key: np.asarray(to_numpy(value)) for key, value in raw.items()}
    _validate_output(study, arrays, stop - start)
    arrays["__seconds__"] = np.asarray(time.perf_counter() - began)
    return arrays


def _validate_output(study: Study, arrays: Mapping[str, np.ndarray], count: int) -> None:
    if study.axis not in arrays or arrays[study.axis].ndim != 1:
        raise ValueError(f"study {study.name}: simulate must return a 1-D '{study.axis}' array")
    horizon = arrays[study.axis].shape[0]
    for key, value in arrays.items():
        if key == study.axis:
            continue
        if value.shape not in ((count,), (count, horizon)):
            raise ValueError(
                f"study {study.name}: result {key!r} has shape {value.shape}, "
                f"expected ({count},) or ({count}, {horizon})"
            )


def _save_cell(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    atomic_write(path, lambda handle: np.savez(handle, **arrays), mode="wb")


def _load_cell(path: Path) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError, KeyError):
        return None  # unreadable: recompute it


# ----------------------------------------------------------------------------- runner


@dataclass
class StudyResult:
    """The tidy table of a study and its manifest."""

    frame: Any
    manifest: dict[str, Any]
    cells_computed: int = 0
    cells_cached: int = 0
    paths: list[Path] = field(default_factory=list)


def plan_cells(study: Study, grid: Sequence[Mapping[str, Any]], replicates: int) -> list[Cell]:
    """Cells of every configuration: replicate ranges of at most ``batch_size``."""
    cells = []
    for index, config in enumerate(grid):
        for start in range(0, replicates, study.batch_size):
            cells.append(Cell(index, config, start, min(start + study.batch_size, replicates)))
    return cells


def _tidy(study: Study, cells: Sequence[Cell], results: Mapping[Cell, Mapping[str, np.ndarray]]):
    import pandas as pd

    frames = []
    for cell in cells:
        arrays = results[cell]
        horizon = arrays[study.axis]
        count = cell.stop - cell.start
        columns: dict[str, Any] = {}
        for key, value in cell.config.items():
            if isinstance(value, list | tuple | dict):
                continue  # lists (like the horizons) are in the manifest, not the rows
            columns[key] = np.repeat(np.asarray([value]), count * horizon.shape[0])
        columns["replicate"] = np.repeat(np.arange(cell.start, cell.stop), horizon.shape[0])
        columns[study.axis] = np.tile(horizon, count)
        for key, value in arrays.items():
            if key in (study.axis, "__seconds__"):
                continue
            columns[key] = (
                value.reshape(-1) if value.ndim == 2 else np.repeat(value, horizon.shape[0])
            )
        frames.append(pd.DataFrame(columns))
    return pd.concat(frames, ignore_index=True)


def _versions(backend: str) -> dict[str, str]:
    import importlib.metadata as metadata

    names = ["theorycheck", "numpy", "scipy", "pandas"]
    names += {"cupy": ["cupy"], "array-api-strict": ["array-api-strict"]}.get(backend, [])
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def run_study(
    study: Study,
    *,
    replicates: int | None = None,
    seed: int = 0,
    backend: str = "numpy",
    executor: Executor | None = None,
    cache_dir: str | Path | None = None,
    grid: Sequence[Mapping[str, Any]] | None = None,
    progress: bool = False,
) -> StudyResult:
    """Run (or resume) a study and return its tidy table and manifest.

    Parameters
    ----------
    study : Study
    replicates : int, optional
        Replicates per configuration (default: the study's).
    seed : int
        Root seed.
    backend : str
        Array backend of the cells.
    executor : concurrent.futures.Executor, optional
        Where cells run (default: in this process, one after another).
    cache_dir : path, optional
        Folder of finished cells; ``None`` caches nothing.
    grid : sequence of dict, optional
        Configurations replacing the study's grid (e.g. other horizons).
    progress : bool
        Show a tqdm progress bar on stderr.

    Raises
    ------
    ValueError
        For a bad replicate count, seed or grid.
    StudyError
        When cells failed; the finished ones stay cached and a rerun resumes.
    """
    from theorycheck.executors import LocalExecutor

    replicates = study.replicates if replicates is None else replicates
    if not isinstance(replicates, int) or replicates < 1:
        raise ValueError(f"replicates must be a positive integer, got {replicates!r}")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    namespace(backend)  # fail early on an unknown or unavailable backend
    grid = tuple(study.grid if grid is None else grid)
    validate_grid(study.name, grid)
    cells = plan_cells(study, grid, replicates)
    folder = Path(cache_dir) / study.name if cache_dir is not None else None
    results: dict[Cell, dict[str, np.ndarray]] = {}
    pending = []
    for cell in cells:
        cached = _load_cell(folder / f"{cell.key(study, seed, backend)}.npz") if folder else None
        if cached is not None:
            results[cell] = cached
        else:
            pending.append(cell)
    cached_count = len(results)

    from tqdm import tqdm

    executor = executor or LocalExecutor()
    failures: list[tuple[Cell, BaseException]] = []

    def submit(cell: Cell):
        return executor.submit(
            run_cell, study.name, cell.config, cell.start, cell.stop, seed, backend
        )

    def finish(cell: Cell, future) -> None:
        try:
            arrays = future.result()
        except Exception as exc:  # never cached; reported below
            failures.append((cell, exc))
            return
        results[cell] = arrays
        if folder is not None:
            _save_cell(folder / f"{cell.key(study, seed, backend)}.npz", arrays)

    bar = tqdm(
        total=len(cells),
        initial=cached_count,
        desc=study.name,
        unit="cell",
        disable=not progress,
        leave=False,
    )
    with bar:
        if isinstance(executor, LocalExecutor):  # one after another: each saved as it ends
            for cell in pending:
                finish(cell, submit(cell))
                bar.update(1)
        else:
            futures = {submit(cell): cell for cell in pending}
            for future in as_completed(futures):
                finish(futures[future], future)
                bar.update(1)
    if failures:
        cell, exc = min(failures, key=lambda f: (f[0].config_index, f[0].start))
        raise StudyError(
            f"study {study.name}: {len(failures)} of {len(cells)} cells failed; first: "
            f"configuration {cell.config_index} replicates {cell.start}-{cell.stop - 1}: "
            f"{type(exc).__name__}: {exc}"
        )
    frame = _tidy(study, cells, results)
    manifest = {
        "study": study.name,
        "description": study.description,
        "grid": list(grid),
        "replicates": replicates,
        "batch_size": study.batch_size,
        "seed": seed,
        "seeds": "SeedSequence(seed, spawn_key=(crc32(study), replicate))",
        "backend": backend,
        "code_hash": study.code_hash,
        "versions": _versions(backend),
        "cells": [
            {
                "config": c.config_index,
                "replicates": [c.start, c.stop],
                "key": c.key(study, seed, backend),
                "seconds": float(results[c]["__seconds__"]),
                "cached": c not in pending,
            }
            for c in cells
        ],
    }
    return StudyResult(frame, manifest, len(pending), cached_count)


def write_study(result: StudyResult, out_dir: str | Path) -> list[Path]:
    """Write ``<study>.parquet`` (CSV without pyarrow) and ``<study>.manifest.json``."""
    out = Path(out_dir)
    name = result.manifest["study"]
    try:
        buffer = io.BytesIO()
        result.frame.to_parquet(buffer, index=False)
        table = atomic_write_bytes(out / f"{name}.parquet", buffer.getvalue())
    except ImportError:
        table = atomic_write_text(out / f"{name}.csv", result.frame.to_csv(index=False))
    manifest = atomic_write_text(
        out / f"{name}.manifest.json", json.dumps(result.manifest, indent=1, default=str) + "\n"
    )
    result.paths = [table, manifest]
    return result.paths


def exponent_table(study: Study, result: StudyResult) -> list[dict[str, Any]]:
    """Fitted log-log exponents of every positive curve, per configuration.

    Each row: the configuration (its scalar values), the metric, the exponent and
    its 95% bootstrap interval (:func:`theorycheck.rates.fit_exponent`), and the
    claimed exponent with the decision "inside"/"outside" its band, where the
    study states one.
    """
    from theorycheck.rates import fit_exponent

    frame, axis = result.frame, study.axis
    keys = [k for k in result.manifest["grid"][0] if k in frame.columns]
    metrics = [c for c in frame.columns if c not in (*keys, "replicate", axis)]
    rows = []
    groups = frame.groupby(keys, sort=False) if keys else [((), frame)]
    for values, part in groups:
        config = dict(zip(keys, values if isinstance(values, tuple) else (values,), strict=True))
        for metric in metrics:
            table = part.pivot(index="replicate", columns=axis, values=metric)
            curves = table.to_numpy(dtype=float)
            if table.shape[1] < 2 or not (curves.mean(axis=0) > 0).all():
                continue
            fit = fit_exponent(table.columns.to_numpy(dtype=float), curves)
            claimed = study.claimed_exponent(config, metric) if study.claimed_exponent else None
            decision = "-"
            if claimed is not None:
                exponent, band = claimed
                inside = exponent - band <= fit.low and fit.high <= exponent + band
                decision = f"{exponent:g}+-{band:g}: {'inside' if inside else 'outside'}"
            rows.append(
                {
                    "configuration": " ".join(f"{k}={v}" for k, v in config.items()),
                    "metric": metric,
                    "exponent": fit.exponent,
                    "low": fit.low,
                    "high": fit.high,
                    "claimed": decision,
                }
            )
    return rows
