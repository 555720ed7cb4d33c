"""Executors for study cells: in-process, a process pool, or a Dask cluster.

Every executor is a :class:`concurrent.futures.Executor` (Dask's through
``distributed.Client.get_executor()``), so the study runner is written once.

Specs accepted by :func:`make_executor` and the CLI's ``--executor``:

- ``local``: run each cell in this process when submitted (the default);
- ``processes:N``: a :class:`~concurrent.futures.ProcessPoolExecutor` of N workers;
- ``dask-local``: a ``distributed.LocalCluster`` on this machine;
- ``dask://HOST:PORT``: an existing Dask scheduler.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any


class LocalExecutor(cf.Executor):
    """Runs each submitted call immediately, in this process; returns done futures."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # the runner decides what a failure means
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            future.set_exception(exc)
        return future


_PROCESSES = re.compile(r"^processes:(\d+)$")
_DASK = re.compile(r"^dask://[^\s/]+:\d+$")


def validate_spec(spec: str) -> str:
    """Return the spec unchanged, or raise ``ValueError`` naming it."""
    if spec in ("local", "dask-local") or _DASK.match(spec):
        return spec
    match = _PROCESSES.match(spec)
    if match and int(match.group(1)) >= 1:
        return spec
    raise ValueError(
        f"unknown executor {spec!r}; use local, processes:N (N >= 1), dask-local or dask://HOST:PORT"
    )


@contextlib.contextmanager
def make_executor(spec: str = "local") -> Iterator[cf.Executor]:
    """Open the executor a spec names; close it (and any cluster it started) on exit.

    Raises
    ------
    ValueError
        For an unknown spec, or Dask specs without ``distributed`` installed.
    """
    validate_spec(spec)
    if spec == "local":
        yield LocalExecutor()
        return
    match = _PROCESSES.match(spec)
    if match:
        with cf.ProcessPoolExecutor(max_workers=int(match.group(1))) as pool:
            yield pool
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ValueError(
            f"executor {spec!r} needs dask.distributed: pip install 'theorycheck[distributed]'"
        ) from None
    if spec == "dask-local":
        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
            with Client(cluster) as client:
                yield client.get_executor()
        return
    with Client(spec.removeprefix("dask://"), timeout="10s") as client:
        yield client.get_executor()
