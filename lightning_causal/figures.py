"""Matplotlib on the file-only backend, and figures written atomically in the format their suffix names."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from lightning_causal.files import atomic_write, check_output_path

__all__ = ["FIGURE_SUFFIXES", "pyplot", "save_figure"]

FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the file-only Agg backend (imported on first use: matplotlib is slow to load)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | Path, dpi: int = 110, tight: bool = True) -> Path:
    """Write ``fig`` to ``path`` (PNG, PDF or SVG by its suffix) atomically, and close it.

    A reader never sees half a file; another suffix is refused before anything is drawn to disk.
    """
    try:
        path = check_output_path(path, FIGURE_SUFFIXES, "figure")
        buffer = io.BytesIO()
        fmt = path.suffix.lower().lstrip(".")
        fig.savefig(buffer, format=fmt, dpi=dpi, **({"bbox_inches": "tight"} if tight else {}))
    finally:
        pyplot().close(fig)  # also when the path is refused: a long run must not collect open figures
    return atomic_write(path, buffer.getvalue())
