"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def atomic_write(
    path: str | os.PathLike[str], write: Callable[[Any], None], mode: str = "w"
) -> Path:
    """Write through ``write(handle)`` into a temporary file, then rename it over ``path``.

    The temporary file lives in the destination folder, so the final
    ``os.replace`` is atomic on POSIX file systems. On any error the temporary
    file is removed and the destination is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(
            fd, mode, **({"encoding": "utf-8", "newline": ""} if "b" not in mode else {})
        ) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; reports are for everyone to read
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Atomically write a text file (UTF-8)."""
    return atomic_write(path, lambda handle: handle.write(text))


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Atomically write a binary file."""
    return atomic_write(path, lambda handle: handle.write(data), mode="wb")


def atomic_savefig(figure: Any, path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Atomically save a matplotlib figure; the format follows the suffix."""
    path = Path(path)
    fmt = kwargs.pop("format", path.suffix.lstrip(".") or "png")
    return atomic_write(
        path, lambda handle: figure.savefig(handle, format=fmt, **kwargs), mode="wb"
    )


def save_png_and_svg(
    figure: Any, out_dir: str | os.PathLike[str], stem: str, title: str, dpi: int = 150
) -> list[str]:
    """Save a figure as ``<stem>.png`` and ``<stem>.svg`` atomically; return both paths.

    The title goes into both files' metadata; the SVG carries no date, so a figure
    that did not change is byte-identical when regenerated.
    """
    out = Path(out_dir)
    return [
        str(atomic_savefig(figure, out / f"{stem}.png", dpi=dpi, metadata={"Title": title})),
        str(atomic_savefig(figure, out / f"{stem}.svg", metadata={"Title": title, "Date": None})),
    ]


FigureDrawer = Callable[[Any], str]
"""Draws on an empty ``matplotlib.figure.Figure`` and returns the figure's title."""


def write_figures(
    out_dir: str | os.PathLike[str],
    figures: Iterable[tuple[str, tuple[float, float], FigureDrawer]],
    *,
    font_size: float = 9,
    dpi: int = 150,
) -> list[str]:
    """Draw and save figures as PNG and SVG: ``(stem, (width, height), draw)`` each.

    Every figure gets its own Agg canvas (no global backend is touched) and constrained
    layout; a fixed SVG hash salt keeps an unchanged figure byte-identical. The folder is
    created if missing. Returns the written paths, two per figure.
    """
    import matplotlib as mpl
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    with mpl.rc_context({"svg.hashsalt": "theorycheck", "font.size": font_size}):
        for stem, size, draw in figures:
            figure = Figure(figsize=size, layout="constrained")
            FigureCanvasAgg(figure)
            title = draw(figure)
            written += save_png_and_svg(figure, out, stem, title, dpi=dpi)
    return written
