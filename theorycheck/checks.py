"""Check helpers that every family reuses.

Each helper turns arrays of results into :class:`~theorycheck.claim.Evidence`:
the worst case, its signed margin (``>= 0`` exactly when the statement holds), the
number of cases and a counterexample built from the inputs of the worst case.
Arrays may come from any backend; the leading axis indexes the instances.

- :func:`compare`: an identity against a reference, with relative and absolute
  tolerance;
- :func:`nonnegative`: an inequality ``slack >= -tol`` over samples;
- :func:`agree`: an equivalence of two boolean predicates;
- :func:`exact`: an exact (symbolic or rational) outcome;
- :func:`combine`: all of several sub-checks;
- :func:`solve_each`: a reference value from a cvxpy problem per instance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from theorycheck.backend import to_numpy
from theorycheck.claim import Evidence

Inputs = Mapping[str, Any] | None


def _per_instance(values: np.ndarray) -> np.ndarray:
    """Minimum over all axes but the first (a scalar counts as one instance)."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 0:
        return values.reshape(1)
    if values.ndim == 1:
        return values
    return values.reshape(values.shape[0], -1).min(axis=1)


def _counterexample(index: int, inputs: Inputs, extra: Mapping[str, Any]) -> dict[str, Any]:
    example: dict[str, Any] = {"instance": int(index)}
    for key, value in (inputs or {}).items():
        arr = np.asarray(to_numpy(value)) if not np.isscalar(value) else np.asarray(value)
        example[key] = arr[index] if arr.ndim >= 1 and arr.shape[0] > index else arr
    for key, value in extra.items():
        example[key] = value
    return example


def _from_margins(
    margins: np.ndarray,
    tolerance: float | None,
    inputs: Inputs,
    extra_at: Callable[[int], Mapping[str, Any]],
    details: dict[str, Any],
) -> Evidence:
    margins = np.where(np.isnan(margins), -np.inf, margins)
    worst = int(np.argmin(margins))
    holds = bool(margins[worst] >= 0)
    example = None if holds else _counterexample(worst, inputs, extra_at(worst))
    return Evidence(
        holds=holds,
        margin=float(margins[worst]),
        cases=int(margins.shape[0]),
        tolerance=tolerance,
        counterexample=example,
        details=details,
    )


def compare(
    actual: Any,
    expected: Any,
    *,
    rtol: float = 0.0,
    atol: Any = 0.0,
    inputs: Inputs = None,
) -> Evidence:
    r"""Check ``|actual - expected| <= atol + rtol |expected|`` elementwise.

    Parameters
    ----------
    actual, expected : array_like, shape (N, ...) or broadcastable
        Values under test and the reference; axis 0 indexes the N instances.
    rtol : float
        Relative tolerance.
    atol : float or array_like broadcastable to ``expected``
        Absolute tolerance, per instance if an array. Justify both by float64
        error analysis at the call site.
    inputs : mapping of str to array (N, ...), optional
        The inputs of each instance; the worst failing one is the counterexample.

    Returns
    -------
    Evidence
        ``margin`` is :math:`\min(\mathrm{atol}+\mathrm{rtol}|e| - |a-e|)`; NaN counts as
        failing. ``details`` holds the maximum absolute and relative errors.
    """
    a = np.asarray(to_numpy(actual), dtype=float)
    e = np.asarray(to_numpy(expected), dtype=float)
    a, e = np.broadcast_arrays(a, e)
    error = np.abs(a - e)
    atol = np.asarray(atol, dtype=float)
    if atol.ndim:
        atol = atol.reshape(atol.shape + (1,) * (e.ndim - atol.ndim))
    allowed = atol + rtol * np.abs(e)
    margins = _per_instance(allowed - error)
    finite = np.isfinite(error)
    max_abs = float(np.max(error[finite])) if finite.any() else float("nan")
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        rel = error / np.maximum(np.abs(e), np.finfo(float).tiny)
    max_rel = float(np.max(rel[finite])) if finite.any() else float("nan")
    details = {"max_abs_error": max_abs, "max_rel_error": max_rel}
    if not finite.all():
        details["non_finite"] = int((~finite).sum())

    def extra(i: int) -> dict[str, Any]:
        if a.ndim == 0:
            return {"actual": a, "expected": e}
        return {"actual": a[i], "expected": e[i]}

    tolerance = max(float(np.max(atol)), rtol) or None
    return _from_margins(margins, tolerance, inputs, extra, details)


def nonnegative(slack: Any, *, tol: float = 0.0, inputs: Inputs = None) -> Evidence:
    """Check an inequality written as ``slack >= -tol`` on every instance.

    Parameters
    ----------
    slack : array_like, shape (N, ...)
        The signed slack of the inequality (``rhs - lhs`` for ``lhs <= rhs``).
    tol : float
        Rounding allowance, from the float64 error of computing ``slack``.
    inputs : mapping of str to array (N, ...), optional
        Instance inputs for the counterexample.
    """
    s = np.asarray(to_numpy(slack), dtype=float)
    margins = _per_instance(s + tol)
    details = {"min_slack": float(np.nanmin(s)) if s.size else float("nan")}

    def extra(i: int) -> dict[str, Any]:
        return {"slack": s if s.ndim == 0 else s[i]}

    return _from_margins(margins, tol or None, inputs, extra, details)


def agree(
    left: Any, right: Any, *, inputs: Inputs = None, names: Sequence[str] = ("left", "right")
) -> Evidence:
    """Check that two boolean predicates agree on every instance (an equivalence).

    The margin is 0 when they agree everywhere and -1 otherwise (a boolean outcome
    has no finer slack); ``details`` counts the disagreements.
    """
    lhs = np.asarray(to_numpy(left), dtype=bool)
    rhs = np.asarray(to_numpy(right), dtype=bool)
    lhs, rhs = np.broadcast_arrays(lhs, rhs)
    same = lhs == rhs
    margins = _per_instance(np.where(same, 0.0, -1.0))
    details = {"disagreements": int((~same).sum())}

    def extra(i: int) -> dict[str, Any]:
        return {names[0]: lhs[i], names[1]: rhs[i]}

    return _from_margins(margins, None, inputs, extra, details)


def exact(
    holds: bool,
    *,
    cases: int = 1,
    residual: float | None = None,
    counterexample: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
) -> Evidence:
    """Evidence of an exact outcome (sympy, rational arithmetic).

    The margin is 0 when it holds, else ``-|residual|`` (or -1 without one).
    """
    margin = 0.0 if holds else -(abs(float(residual)) if residual is not None else 1.0)
    return Evidence(
        holds=holds,
        margin=margin,
        cases=cases,
        tolerance=0.0,
        counterexample=None if holds else dict(counterexample or {}),
        details=dict(details or {}),
    )


def combine(parts: Mapping[str, Evidence]) -> Evidence:
    """All of several sub-checks: holds when every part holds.

    The margin is the smallest part margin, cases add up, and the counterexample
    is the first failing part's, labelled with that part's name; each part's
    summary and details are kept under its name.
    """
    if not parts:
        raise ValueError("combine needs at least one part")
    failing = [(name, ev) for name, ev in parts.items() if not ev.holds]
    counterexample = None
    if failing:
        name, ev = failing[0]
        counterexample = {"part": name, **(ev.counterexample or {})}
    details: dict[str, Any] = {
        name: {"summary": ev.summary(), **ev.details} if ev.details else ev.summary()
        for name, ev in parts.items()
    }
    return Evidence(
        holds=not failing,
        margin=min(ev.margin for ev in parts.values()),
        cases=sum(ev.cases for ev in parts.values()),
        tolerance=None,
        counterexample=counterexample,
        details=details,
        # undecided only when no part fails outright: one refutation refutes the whole
        inconclusive=any(ev.inconclusive for ev in parts.values())
        and all(ev.holds or ev.inconclusive for ev in parts.values()),
    )


def solve_each(
    make_problem: Callable[[tuple[int, ...]], tuple[Any, Sequence[Any], Callable[[], Any]]],
    *instances: Any,
    solver: str = "CLARABEL",
    **solve_options: Any,
) -> np.ndarray:
    """Solve one cvxpy problem per instance and stack the results.

    Parameters
    ----------
    make_problem : callable
        ``make_problem(shape) -> (problem, parameters, result)`` builds a
        DPP-compliant problem for instances of the given shape (the shape of the
        first input's row), its cvxpy Parameters in the order of ``instances``,
        and a function returning the quantity to compare after a solve. The
        problem is built once per shape and re-solved with new parameter values.
    *instances : array_like, shape (N, ...)
        Inputs; row i of each goes into the corresponding parameter.
    solver : str
        The cvxpy solver; CLARABEL (interior point, gap 1e-8) by default, since
        first-order solvers (OSQP, SCS) stop near 1e-4.
    **solve_options
        Passed to ``problem.solve``.

    Returns
    -------
    ndarray, shape (N, ...)
        The solver's result per instance.

    Raises
    ------
    RuntimeError
        When the solver does not report an optimal solution for an instance.
    """
    arrays = [np.asarray(to_numpy(x), dtype=float) for x in instances]
    built: dict[tuple[int, ...], tuple[Any, Sequence[Any], Callable[[], Any]]] = {}
    results = []
    for i in range(arrays[0].shape[0]):
        shape = arrays[0][i].shape
        if shape not in built:
            built[shape] = make_problem(shape)
        problem, parameters, result = built[shape]
        for parameter, array in zip(parameters, arrays, strict=True):
            parameter.value = array[i]
        problem.solve(solver=solver, **solve_options)
        if problem.status not in ("optimal",):
            raise RuntimeError(f"solver status {problem.status!r} on instance {i}")
        results.append(np.asarray(result(), dtype=float))
    return np.stack(results)
