"""The context a check runs in: backend, scale and reproducible random numbers."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from theorycheck.backend import namespace
from theorycheck.claim import SCALES


@dataclass(frozen=True)
class Context:
    """Everything a check may depend on besides its own code.

    Attributes
    ----------
    xp : module
        The array namespace under test.
    backend : str
        Its name (``numpy``, ``array-api-strict``, ``cupy``).
    scale : {"quick", "full"}
        ``quick`` for tests and CI, ``full`` for reports.
    seed : int
        Root seed; each claim and each stream derive their own
        :class:`numpy.random.SeedSequence` from it.
    label : str
        The claim id (or any label) mixed into the seed, so that claims draw
        independent numbers and adding a claim changes no other claim's draws.
    """

    xp: ModuleType
    backend: str = "numpy"
    scale: str = "quick"
    seed: int = 0
    label: str = ""

    @classmethod
    def create(
        cls, backend: str = "numpy", scale: str = "quick", seed: int = 0, label: str = ""
    ) -> Context:
        """Build a context, validating the backend, scale and seed."""
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        return cls(xp=namespace(backend), backend=backend, scale=scale, seed=seed, label=label)

    def for_label(self, label: str) -> Context:
        """The same context with another label (one per claim)."""
        return Context(self.xp, self.backend, self.scale, self.seed, label)

    def pick(self, quick: Any, full: Any) -> Any:
        """``quick`` or ``full`` by the scale (sample counts, horizons, grids)."""
        return quick if self.scale == "quick" else full

    def seed_sequence(self, *stream: int) -> np.random.SeedSequence:
        """The SeedSequence of this label and stream: reproducible and independent."""
        return np.random.SeedSequence(
            self.seed, spawn_key=(zlib.crc32(self.label.encode()), *stream)
        )

    def rng(self, *stream: int) -> np.random.Generator:
        """A NumPy generator for the given stream (references are drawn in NumPy)."""
        return np.random.default_rng(self.seed_sequence(*stream))

    def asarray(self, x: Any) -> Any:
        """Move NumPy data to the backend under test (float64 kept)."""
        return self.xp.asarray(np.asarray(x))
