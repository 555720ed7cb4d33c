"""Input validation at the public edge: one clear ``ValueError`` naming the value.

Every helper takes the array namespace explicitly or infers it, so content code
can validate on any backend.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

from theorycheck.backend import array_namespace


def real_floating(x: Any, name: str, *, func: str) -> tuple[Any, ModuleType]:
    """Return ``(x, xp)`` after checking that x is a real floating array.

    Raises
    ------
    ValueError
        If x is not an array of a supported namespace or has a non-float dtype.
    """
    try:
        xp = array_namespace(x)
    except TypeError:
        raise ValueError(
            f"{func}: {name} must be an array (numpy, cupy or array-api-strict), "
            f"got {type(x).__name__}"
        ) from None
    if not xp.isdtype(x.dtype, "real floating"):
        raise ValueError(f"{func}: {name} must have a real floating dtype, got {x.dtype}")
    return x, xp


def finite(x: Any, name: str, *, func: str, xp: ModuleType | None = None) -> None:
    """Raise ``ValueError`` if x holds NaN or infinity, naming the first bad entry."""
    xp = xp or array_namespace(x)
    ok = xp.isfinite(x)
    if not bool(xp.all(ok)):
        if x.ndim == 0:
            raise ValueError(f"{func}: {name} must be finite, got {float(x)}")
        index = tuple(int(i[0]) for i in xp.nonzero(xp.logical_not(ok)))
        raise ValueError(f"{func}: {name} must be finite, got {float(x[index])} at index {index}")


def axis(x: Any, axis_value: int, name: str, *, func: str) -> int:
    """Normalise an axis; raise if it is out of range or the axis is empty."""
    if not isinstance(axis_value, int) or isinstance(axis_value, bool):
        raise ValueError(f"{func}: axis must be an integer, got {axis_value!r}")
    if x.ndim == 0:
        raise ValueError(f"{func}: {name} must have at least one axis, got a 0-d array")
    if not -x.ndim <= axis_value < x.ndim:
        raise ValueError(
            f"{func}: axis {axis_value} is out of range for {name} with {x.ndim} dimensions"
        )
    normalised = axis_value % x.ndim
    if x.shape[normalised] == 0:
        raise ValueError(f"{func}: {name} has an empty axis {axis_value} (shape {tuple(x.shape)})")
    return normalised


def same_shape(a: Any, b: Any, names: tuple[str, str], *, func: str) -> None:
    """Raise if two arrays differ in shape."""
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"{func}: {names[0]} and {names[1]} must have the same shape, "
            f"got {tuple(a.shape)} and {tuple(b.shape)}"
        )


def on_simplex(q: Any, name: str, *, func: str, axis: int = -1, atol: float = 1e-9) -> None:
    """Raise unless every slice of q along ``axis`` is a probability vector.

    ``atol`` allows the rounding of a float64 sum of up to ~1e6 terms.
    """
    xp = array_namespace(q)
    minimum = float(xp.min(q))
    if minimum < -atol:
        raise ValueError(f"{func}: {name} must be non-negative, has entry {minimum}")
    sums = xp.sum(q, axis=axis)
    worst = float(xp.max(xp.abs(sums - 1.0)))
    if worst > atol:
        raise ValueError(f"{func}: {name} must sum to 1 along axis {axis}, off by {worst:.3g}")


def finite_real_array(x: Any, name: str, *, func: str, min_ndim: int = 0) -> Any:
    """Return x after checking that it is a finite real floating array with at least
    ``min_ndim`` axes."""
    x, xp = real_floating(x, name, func=func)
    if x.ndim < min_ndim:
        raise ValueError(
            f"{func}: {name} must have at least {min_ndim} axes, got shape {tuple(x.shape)}"
        )
    finite(x, name, func=func, xp=xp)
    return x


def positive_number(value: Any, name: str, *, func: str) -> float:
    """Return ``float(value)`` after checking that it is a finite real number > 0
    (``bool`` is refused)."""
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not value > 0
    ):
        raise ValueError(f"{func}: {name} must be a finite number > 0, got {value!r}")
    return float(value)
