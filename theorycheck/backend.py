"""Array backends through array-api-compat.

Numeric code in ``theory/`` and ``simulations/`` is written once against an array
namespace ``xp``. Three are known:

- ``numpy`` (default);
- ``array-api-strict``: a CPU stand-in that rejects anything outside the array API
  standard, so that a check passing here also runs on a GPU backend;
- ``cupy``: a GPU, when importable.

Random numbers are drawn with NumPy from a :class:`numpy.random.SeedSequence` and
moved to the target namespace, so that the same seed gives the same numbers on
every backend.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import numpy as np

BACKENDS = ("numpy", "array-api-strict", "cupy")


class BackendUnavailable(RuntimeError):
    """The backend exists but cannot be imported here (cupy without a GPU)."""


def namespace(name: str = "numpy") -> ModuleType:
    """Return the array-api-compatible namespace of a backend.

    Parameters
    ----------
    name : {"numpy", "array-api-strict", "cupy"}

    Raises
    ------
    ValueError
        For an unknown backend name.
    BackendUnavailable
        When the backend's package does not import.
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name == "numpy":
        import array_api_compat.numpy as xp

        return xp
    if name == "array-api-strict":
        try:
            return importlib.import_module("array_api_strict")
        except ImportError as exc:  # pragma: no cover - a dev dependency
            raise BackendUnavailable("backend 'array-api-strict' needs array-api-strict") from exc
    try:
        importlib.import_module("cupy")
        import array_api_compat.cupy as xp
    except Exception as exc:  # ImportError, or a CUDA error on a machine with no GPU
        raise BackendUnavailable(f"backend 'cupy' is not available here: {exc}") from exc
    return xp


def available_backends() -> list[str]:
    """The backends that import on this machine."""
    names = []
    for name in BACKENDS:
        try:
            namespace(name)
        except BackendUnavailable:
            continue
        names.append(name)
    return names


def array_namespace(*arrays: Any) -> ModuleType:
    """The namespace of the given arrays (``array_api_compat.array_namespace``)."""
    from array_api_compat import array_namespace as _array_namespace

    return _array_namespace(*arrays)


def to_numpy(x: Any) -> np.ndarray:
    """Copy an array of any backend to a NumPy array (float64 stays float64)."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "get") and type(x).__module__.startswith("cupy"):
        return x.get()
    try:
        return np.from_dlpack(x)
    except (TypeError, AttributeError, RuntimeError, BufferError):
        return np.asarray(x)


def backend_name(xp: ModuleType) -> str:
    """The :data:`BACKENDS` name of a namespace."""
    name = xp.__name__
    if "strict" in name:
        return "array-api-strict"
    if "cupy" in name:
        return "cupy"
    return "numpy"
