r"""Shared harness of the online-regret studies (``shared/claims/online_regret.md``, §0).

- **Validation** at the public edge: horizons, algorithm names, step sizes and levels
  give a ``ValueError`` that names the offending value.
- **Random streams**: :class:`ReplicateStream` draws the numbers of each replicate in
  fixed-length blocks of time through :func:`theorycheck.study.replicate_draws`, from a
  :class:`numpy.random.SeedSequence` per replicate, stream and block. A replicate's
  numbers therefore depend neither on the batch it runs in nor on the horizon.
- **Recording**: :class:`Recorder` keeps the (R,) metrics of a run at the horizons of
  the grid (anytime algorithms run once to the largest horizon).
- **Running a study from a check**: :func:`run_config` runs one configuration of a
  registered study through :func:`theorycheck.study.run_study` (no cache) and returns
  its curves as NumPy arrays.
- **The test types of §0**, each returning :class:`~theorycheck.claim.Evidence`:

  1. :func:`two_sided`: the bootstrap interval of the fitted exponent intersects
     :math:`[s^*-0.07, s^*+0.07]`;
  2. :func:`one_sided`: its upper end is at most :math:`s^* + 0.07` (a bound);
     :func:`bounded_ratio` tests the other half: the slope of :math:`\log(R_T/B_T)`;
  3. :func:`logarithmic_fit`: :math:`R_T = a + b\log T` with a bootstrap interval of
     ``b`` (the decision is composed by the claim: ``b > 0``, flat top decade, and the
     scaling of ``b`` in a named parameter).

  A claim passes when its interval meets the band; the specification asks a negative
  control to fail *decisively*: its interval must exclude the claimed exponent by at
  least 0.15 (``EXCLUSION``). A failure inside the grey zone between the band and the
  exclusion distance is reported as *inconclusive*, which never counts as a pass and
  never as a refuted control, so a control that only just misses the band cannot make
  a claim ``verified``.
- :func:`decide` evaluates the parts of a check in order and stops at the first part
  that fails decisively (the verdict cannot change after it), which keeps negative
  controls cheap.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from theorycheck.claim import Evidence
from theorycheck.context import Context
from theorycheck.rates import RATE_BAND, RateFit, fit_exponent
from theorycheck.study import replicate_draws, run_study

BAND = RATE_BAND
"""Half-width of the band around a claimed exponent (spec §0, test types 1 and 2)."""

EXCLUSION = 0.15
"""Distance by which a negative control's interval must exclude the claimed exponent."""

BLOCK = 512
"""Steps of random numbers drawn per replicate at once (fixed: never depends on R)."""


# ------------------------------------------------------------------------------ validation


def check_horizons(horizons: Any, *, where: str) -> list[int]:
    """Return the horizons as a sorted list of distinct positive integers.

    Parameters
    ----------
    horizons : sequence of int or float
        Horizons T of the grid; floats must be whole numbers (the CLI passes floats).
    where : str
        Name of the caller, for the error message.

    Raises
    ------
    ValueError
        For an empty grid, a non-integer, or a horizon < 1, naming the value.
    """
    if isinstance(horizons, str | bytes) or not isinstance(horizons, Sequence) or not horizons:
        raise ValueError(
            f"{where}: horizons must be a non-empty list of integers, got {horizons!r}"
        )
    values = []
    for value in horizons:
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise ValueError(f"{where}: horizon {value!r} is not a number")
        if not math.isfinite(float(value)) or float(value) != int(value):
            raise ValueError(f"{where}: horizon {value!r} is not a whole number")
        if int(value) < 1:
            raise ValueError(f"{where}: horizons must be positive, got {value!r}")
        values.append(int(value))
    return sorted(set(values))


def check_choice(value: Any, choices: Iterable[str], name: str, *, where: str) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError`` naming it."""
    options = tuple(choices)
    if value not in options:
        raise ValueError(f"{where}: unknown {name} {value!r}; choose one of {', '.join(options)}")
    return value


def check_positive(value: Any, name: str, *, where: str) -> float:
    """Return ``value`` as a float if it is finite and > 0, else raise ``ValueError``."""
    number = _number(value, name, where)
    if not number > 0:
        raise ValueError(f"{where}: {name} must be positive, got {value!r}")
    return number


def check_nonnegative(value: Any, name: str, *, where: str) -> float:
    """Return ``value`` as a float if it is finite and >= 0, else raise ``ValueError``."""
    number = _number(value, name, where)
    if number < 0:
        raise ValueError(f"{where}: {name} must be non-negative, got {value!r}")
    return number


def check_open_unit(value: Any, name: str, *, where: str) -> float:
    """Return ``value`` as a float if it lies in (0, 1), else raise ``ValueError``."""
    number = _number(value, name, where)
    if not 0 < number < 1:
        raise ValueError(f"{where}: {name} must lie in (0, 1), got {value!r}")
    return number


def check_count(value: Any, name: str, *, where: str, minimum: int = 1) -> int:
    """Return ``value`` if it is an integer >= ``minimum``, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{where}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _number(value: Any, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{where}: {name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{where}: {name} must be finite, got {value!r}")
    return number


def log_grid(first: float, last: float, step: float = 0.5) -> list[int]:
    """Horizons ``round(10**k)`` for k = first, first + step, ..., last (spec §0)."""
    count = int(round((last - first) / step)) + 1
    return sorted({int(round(10.0 ** (first + i * step))) for i in range(count)})


# ------------------------------------------------------------------------------ streams


class ReplicateStream:
    """Random numbers of every replicate, step by step, drawn in blocks of :data:`BLOCK`.

    Block ``b`` of stream ``s`` of the replicate with SeedSequence ``q`` comes from
    ``SeedSequence(q.entropy, spawn_key=(*q.spawn_key, s, b))`` through
    :func:`theorycheck.study.replicate_draws`, so the numbers of a replicate do not
    depend on the batch or on the horizon.

    Parameters
    ----------
    seeds : sequence of SeedSequence
        One per replicate (R of them).
    xp : module
        Array namespace of the results.
    draw : callable
        ``draw(generator, steps) -> ndarray`` of shape ``(steps, *shape)``.
    stream : int
        Index of this stream among the streams of one simulation.
    """

    def __init__(
        self,
        seeds: Sequence[np.random.SeedSequence],
        xp: ModuleType,
        draw: Callable[[np.random.Generator, int], np.ndarray],
        stream: int,
    ) -> None:
        self.seeds = list(seeds)
        self.xp = xp
        self.draw = draw
        self.stream = stream
        self._block: Any = None
        self._block_index = -1

    def _seeds_of_block(self, block: int) -> list[np.random.SeedSequence]:
        return [
            np.random.SeedSequence(s.entropy, spawn_key=(*s.spawn_key, self.stream, block))
            for s in self.seeds
        ]

    def at(self, t: int) -> Any:
        """The (R, *shape) numbers of step ``t`` (1-based)."""
        block, offset = divmod(t - 1, BLOCK)
        if block != self._block_index:
            self._block = replicate_draws(
                self._seeds_of_block(block), lambda g: self.draw(g, BLOCK), self.xp
            )
            self._block_index = block
        return self._block[:, offset, ...]


def normal_stream(
    seeds: Sequence[np.random.SeedSequence], xp: ModuleType, stream: int, shape: tuple = ()
) -> ReplicateStream:
    """Standard normal numbers of shape ``shape`` per replicate and step."""
    return ReplicateStream(seeds, xp, lambda g, n: g.standard_normal((n, *shape)), stream)


def uniform_stream(
    seeds: Sequence[np.random.SeedSequence], xp: ModuleType, stream: int, shape: tuple = ()
) -> ReplicateStream:
    """Uniform numbers on [0, 1) of shape ``shape`` per replicate and step."""
    return ReplicateStream(seeds, xp, lambda g, n: g.random((n, *shape)), stream)


def initial_draws(
    seeds: Sequence[np.random.SeedSequence],
    xp: ModuleType,
    draw: Callable[[np.random.Generator], np.ndarray],
    stream: int = 99,
) -> Any:
    """One draw per replicate (initial points, calibration sets), from its own stream."""
    spawned = [np.random.SeedSequence(s.entropy, spawn_key=(*s.spawn_key, stream)) for s in seeds]
    return replicate_draws(spawned, draw, xp)


class Recorder:
    """Per-replicate metrics at the horizons of a grid.

    ``recorder.due(t)`` says whether step ``t`` is a horizon; ``recorder.record(**m)``
    stores (R,) arrays; ``recorder.curves()`` stacks them to (R, H).
    """

    def __init__(self, horizons: Sequence[int], xp: ModuleType) -> None:
        self.horizons = list(horizons)
        self._due = set(self.horizons)
        self.xp = xp
        self._rows: dict[str, list[Any]] = {}

    def due(self, t: int) -> bool:
        return t in self._due

    def record(self, **metrics: Any) -> None:
        for name, value in metrics.items():
            self._rows.setdefault(name, []).append(value)

    def curves(self) -> dict[str, Any]:
        """``{"T": (H,), metric: (R, H)}`` on the recorder's namespace."""
        out = {"T": self.xp.asarray(self.horizons)}
        for name, rows in self._rows.items():
            out[name] = self.xp.stack(rows, axis=1)
        return out


def clip(x: Any, low: float, high: float, xp: ModuleType) -> Any:
    """Elementwise projection onto [low, high] (``xp.clip`` of array-api-compat is slow)."""
    return xp.minimum(xp.maximum(x, low), high)


def row_sum(x: Any, xp: ModuleType) -> Any:
    """Sum over the last axis of an (R, d) array, shape (R,).

    Written as a matrix-vector product with a vector of ones: reductions over a short
    last axis are several times slower than a BLAS matrix-vector product in NumPy.
    """
    return xp.matmul(x, xp.ones((x.shape[-1],), dtype=x.dtype))


def vector_norm(x: Any, xp: ModuleType) -> Any:
    """Euclidean norm over the last axis, shape (R, 1) for x of shape (R, d)."""
    return xp.sqrt(row_sum(x * x, xp))[:, None]


def project_to_ball(x: Any, radius: float, xp: ModuleType) -> Any:
    r"""Euclidean projection :math:`\Pi_X(x)` of each row onto the ball of given radius."""
    norm = vector_norm(x, xp)
    return x * (radius / xp.maximum(norm, radius))


# ------------------------------------------------------------------------------ runs


@dataclass
class Curves:
    """The curves of one configuration of a study, as NumPy arrays."""

    horizons: np.ndarray
    metrics: dict[str, np.ndarray]
    seconds: float

    def __getitem__(self, name: str) -> np.ndarray:
        return self.metrics[name]

    def window(self, low: float, high: float | None = None) -> tuple[np.ndarray, dict]:
        """Horizons in ``[low, high]`` and every metric restricted to them."""
        keep = (self.horizons >= low) & (self.horizons <= (high or np.inf))
        return self.horizons[keep], {k: v[:, keep] for k, v in self.metrics.items()}


def run_config(
    ctx: Context, study_name: str, config: Mapping[str, Any], replicates: tuple[int, int]
) -> Curves:
    """Run one configuration of a registered study, uncached, and return its curves.

    Parameters
    ----------
    ctx : Context
        Backend, scale and root seed of the check.
    study_name : str
        A registered study.
    config : mapping
        One configuration (it replaces the study's grid).
    replicates : (int, int)
        Replicates at quick and at full scale.
    """
    from theorycheck.registry import get_study

    study = get_study(study_name)
    result = run_study(
        study,
        replicates=ctx.pick(*replicates),
        seed=ctx.seed,
        backend=ctx.backend,
        grid=[dict(config)],
    )
    frame = result.frame
    skip = set(config) | {"replicate", study.axis}
    metrics = {}
    horizons = None
    for column in frame.columns:
        if column in skip:
            continue
        table = frame.pivot(index="replicate", columns=study.axis, values=column)
        horizons = table.columns.to_numpy(dtype=float)
        metrics[column] = table.to_numpy(dtype=float)
    seconds = sum(cell["seconds"] for cell in result.manifest["cells"])
    assert horizons is not None
    return Curves(horizons, metrics, float(seconds))


class ConfigRuns:
    """The runs of one check call: each configuration of a study simulated at most once.

    ``runs(config)`` returns its :class:`Curves` through :func:`run_config`; a check
    that looks at one configuration in several parts simulates it once (within the
    call; nothing is cached across calls or on disk).
    """

    def __init__(self, ctx: Context, study_name: str, replicates: tuple[int, int]) -> None:
        self.ctx, self.study_name, self.replicates = ctx, study_name, replicates
        self._done: dict[str, Curves] = {}

    def __call__(self, config: Mapping[str, Any]) -> Curves:
        key = repr(sorted((k, repr(v)) for k, v in config.items()))
        if key not in self._done:
            self._done[key] = run_config(self.ctx, self.study_name, config, self.replicates)
        return self._done[key]


# ------------------------------------------------------------------------------ tests


def fit(horizons: np.ndarray, curves: np.ndarray, ctx: Context, stream: int) -> RateFit:
    """:func:`theorycheck.rates.fit_exponent` with the bootstrap drawn from ``ctx``."""
    return fit_exponent(horizons, curves, rng=ctx.rng(stream))


def _interval_evidence(
    fit_: RateFit,
    *,
    holds: bool,
    margin: float,
    decisive: bool,
    description: str,
    details: Mapping[str, Any],
) -> Evidence:
    info = {"fitted": str(fit_), "test": description, **details}
    return Evidence(
        holds=holds,
        margin=margin,
        cases=fit_.resamples,
        tolerance=None,
        counterexample=None if holds else {"fitted": str(fit_), "test": description},
        details=info,
        inconclusive=not holds and not decisive,
    )


def two_sided(
    fit_: RateFit,
    exponent: float,
    *,
    band: float = BAND,
    exclusion: float = EXCLUSION,
    details: Mapping[str, Any] | None = None,
) -> Evidence:
    r"""Test type 1: the interval of ``fit_`` meets :math:`[s^* - b, s^* + b]`.

    The margin is ``band`` minus the distance from the interval to ``exponent``.
    A failing interval at distance < ``exclusion`` is inconclusive (grey zone).
    """
    distance = max(fit_.low - exponent, exponent - fit_.high, 0.0)
    return _interval_evidence(
        fit_,
        holds=distance <= band,
        margin=band - distance,
        decisive=distance >= exclusion,
        description=f"two-sided: interval meets {exponent:g} +- {band:g}",
        details={"claimed": exponent, "band": band, **(details or {})},
    )


def one_sided(
    fit_: RateFit,
    exponent: float,
    *,
    band: float = BAND,
    exclusion: float = EXCLUSION,
    details: Mapping[str, Any] | None = None,
) -> Evidence:
    r"""Test type 2: the upper end of the interval is at most :math:`s^* + b`.

    A failing interval whose lower end is below :math:`s^* +` ``exclusion`` is
    inconclusive (grey zone).
    """
    limit = exponent + band
    return _interval_evidence(
        fit_,
        holds=fit_.high <= limit,
        margin=limit - fit_.high,
        decisive=fit_.low >= exponent + exclusion,
        description=f"one-sided: upper end <= {exponent:g} + {band:g}",
        details={"bound exponent": exponent, "band": band, **(details or {})},
    )


def bounded_ratio(
    fit_: RateFit,
    *,
    slope_limit: float = 0.05,
    exclusion: float = EXCLUSION,
    details: Mapping[str, Any] | None = None,
) -> Evidence:
    r"""Test type 2, second half: the ratio :math:`R_T/B_T` to a bound is bounded.

    ``fit_`` is the fit of the ratio curves. The spec asks that "the slope of
    :math:`\log(R_T/B_T)` against :math:`\log T` be <= 0.05": the point estimate is
    tested; a failure is decisive (the ratio diverges) when the whole interval lies at
    or above ``exclusion``, else inconclusive.
    """
    return _interval_evidence(
        fit_,
        holds=fit_.exponent <= slope_limit,
        margin=slope_limit - fit_.exponent,
        decisive=fit_.low >= exclusion,
        description=f"bounded ratio: slope of log(R/B) <= {slope_limit:g}",
        details=dict(details or {}),
    )


def upper_bound_exponent(
    horizons: np.ndarray,
    curves: np.ndarray,
    exponent: float,
    ctx: Context,
    stream: int,
    *,
    band: float = BAND,
    details: Mapping[str, Any] | None = None,
) -> Evidence:
    r"""Test type 2 for a bound :math:`R_T\le cT^{s^*}` on a regret that may be <= 0.

    A regret whose mean is confidently non-positive at the largest horizon (the
    upper end of its bootstrap interval is <= 0) satisfies every non-negative bound
    there; the evidence then holds and reports :math:`\max_T \bar R_T/T^{s^*}`. A
    positive mean curve goes to :func:`one_sided`; a mean that changes sign without
    being confidently non-positive at the end is inconclusive.
    """
    mean = curves.mean(axis=0)
    scaled = float(np.max(mean / horizons**exponent))
    info = {f"max mean R_T / T^{exponent:g}": scaled, **(details or {})}
    if np.all(mean > 0):
        return one_sided(fit(horizons, curves, ctx, stream), exponent, band=band, details=info)
    rng = ctx.rng(stream)
    final = curves[:, -1]
    boot = final[rng.integers(0, final.shape[0], (1000, final.shape[0]))].mean(axis=1)
    upper = float(np.quantile(boot, 0.975))
    holds = upper <= 0
    return Evidence(
        holds=holds,
        margin=-upper,
        cases=1000,
        counterexample=None if holds else {"mean regret": mean.round(3).tolist()},
        details={"upper end of the mean regret at the largest T": upper, **info},
        inconclusive=not holds,
    )


def vanishing(fit_: RateFit, *, details: Mapping[str, Any] | None = None) -> Evidence:
    """A quantity tends to 0: the whole interval of its log-log slope is below 0.

    There is no claimed exponent, hence no grey zone: a control fails when the upper
    end of its interval is at or above 0.
    """
    return _interval_evidence(
        fit_,
        holds=fit_.high < 0,
        margin=-fit_.high,
        decisive=True,
        description="vanishing: upper end of the slope interval < 0",
        details=dict(details or {}),
    )


@dataclass(frozen=True)
class LogFit:
    r"""A fit :math:`\bar R_T = a + b \log T` and the bootstrap interval of b."""

    a: float
    b: float
    low: float
    high: float
    boot: np.ndarray

    def __str__(self) -> str:
        return f"b = {self.b:.4g} [{self.low:.4g}, {self.high:.4g}]"


def logarithmic_fit(
    horizons: np.ndarray,
    curves: np.ndarray,
    rng: np.random.Generator,
    *,
    resamples: int = 1000,
    indices: np.ndarray | None = None,
) -> LogFit:
    r"""Least squares of the replicate mean on :math:`\log T`, bootstrap over replicates.

    ``indices`` (B, R) fixes the resamples, so that fits of several configurations
    share them (common random numbers across configurations).
    """
    log_t = np.log(np.asarray(horizons, dtype=float))
    centred = log_t - log_t.mean()
    curves = np.asarray(curves, dtype=float)
    if indices is None:
        indices = rng.integers(0, curves.shape[0], size=(resamples, curves.shape[0]))
    means = curves.mean(axis=0)
    b = float((means * centred).sum() / (centred * centred).sum())
    a = float(means.mean() - b * log_t.mean())
    boot_means = curves[indices].mean(axis=1)
    boot = (boot_means * centred).sum(axis=1) / (centred * centred).sum()
    low, high = np.quantile(boot, [0.025, 0.975])
    return LogFit(a, b, float(low), float(high), boot)


def decide(parts: Iterable[tuple[str, Callable[[], Evidence]]]) -> Evidence:
    """All of several parts, evaluated in order; stop at the first decisive failure.

    Returns evidence that holds when every part holds; a failure is decisive when
    some part failed decisively, else (only grey-zone failures) inconclusive. The
    details list every evaluated part and the parts left unevaluated.
    """
    evaluated: dict[str, Evidence] = {}
    pending = list(parts)
    skipped: list[str] = []
    for index, (name, make) in enumerate(pending):
        evidence = make()
        evaluated[name] = evidence
        if not evidence.holds and not evidence.inconclusive:
            skipped = [n for n, _ in pending[index + 1 :]]
            break
    failing = [(n, e) for n, e in evaluated.items() if not e.holds]
    decisive = any(not e.inconclusive for _, e in failing)
    details: dict[str, Any] = {}
    for name, evidence in evaluated.items():
        details[name] = evidence.summary()
        for key, value in evidence.details.items():
            details[f"{name} | {key}"] = value
    if skipped:
        details["not evaluated (a part already failed)"] = ", ".join(skipped)
    counterexample = None
    if failing:
        name, evidence = next(((n, e) for n, e in failing if not e.inconclusive), failing[0])
        counterexample = {"part": name, **(evidence.counterexample or {})}
    return Evidence(
        holds=not failing,
        margin=min(e.margin for e in evaluated.values()),
        cases=sum(e.cases for e in evaluated.values()),
        tolerance=None,
        counterexample=counterexample,
        details=details,
        inconclusive=bool(failing) and not decisive,
    )
