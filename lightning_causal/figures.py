"""Matplotlib on the file-only backend, and figures written as PNG files atomically."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from lightning_causal.files import atomic_write

__all__ = ["pyplot", "save_png"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the file-only Agg backend (imported on first use: matplotlib is slow to load)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, path: str | Path, dpi: int = 110, tight: bool = True) -> Path:
    """Write ``fig`` to the PNG file ``path`` atomically (a reader never sees half a file) and close it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, **({"bbox_inches": "tight"} if tight else {}))
    pyplot().close(fig)
    return atomic_write(path, buffer.getvalue())
