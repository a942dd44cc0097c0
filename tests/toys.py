"""Small shared pieces of test code: a one-parameter LightningModule and synthetic digit strokes.

A helper module, not a test module: tests import from here (and from ``checks.py``), never from each other.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import lightning as L
import torch

__all__ = ["Line", "synthetic_strokes", "write_idx"]


class Line(L.LightningModule):
    """w -> 3 by SGD on (w - 3)^2; its trajectory of w is recorded after every batch."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.trajectory: list[float] = []

    def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        (x,) = batch
        return ((self.w - 3.0) ** 2).sum() + 0 * x.sum()

    def on_train_batch_end(self, *args) -> None:  # type: ignore[no-untyped-def]
        self.trajectory.append(self.w.item())

    def configure_optimizers(self):  # type: ignore[no-untyped-def]
        return torch.optim.SGD(self.parameters(), lr=0.1)


def synthetic_strokes(per_digit: int = 3, side: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A tiny stroke bank that needs no scikit-learn: random blobs, ``per_digit`` of each digit."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(10).repeat_interleave(per_digit)
    images = torch.zeros(len(labels), side, side, dtype=torch.uint8)
    inner = (torch.rand(len(labels), side - 4, side - 4, generator=g) > 0.5).to(torch.uint8) * 255
    images[:, 2:-2, 2:-2] = inner
    images[:, side // 2, 2:-2] = 255  # never blank
    return images, labels


def write_idx(path: Path, data: torch.Tensor, magic: int | None = None) -> None:
    """``data`` (uint8) in the IDX format: big-endian magic, one int32 per dimension, then the bytes."""
    magic = (0x08 << 8 | data.dim()) if magic is None else magic
    raw = struct.pack(">i", magic) + b"".join(struct.pack(">i", d) for d in data.shape) + data.numpy().tobytes()
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
