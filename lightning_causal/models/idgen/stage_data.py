"""The data of one ID-GEN stage when it is not the user's data module: generated datasets, or rows given as a dict.

Both hold some rows out for validation (the loss a stopping rule watches).

A stage that trains on several generated datasets draws one batch of each per step (a batch is
``{dataset: {variable: tensor}}``); the last ``val_fraction`` of every dataset's rows validate
(generated rows are independent draws, so a tail split is a random one). Loaders are the resumable
ones of :mod:`lightning_causal.data.loaders`, so a stage resumed mid-epoch sees the batches an
uninterrupted run would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
from torch import Tensor

from lightning_causal.data.loaders import tensor_loader, zipped_loader

__all__ = ["RowsData", "StageData"]


class StageData(L.LightningDataModule):
    """Batches of a stage's generated datasets: ``{dataset: {variable: tensor}}``, one batch of each per step."""

    def __init__(
        self, datasets: Mapping[str, Mapping[str, Tensor]], batch_size: int, seed: int, val_fraction: float = 0.05
    ) -> None:
        super().__init__()
        self.train_parts: dict[str, dict[str, Tensor]] = {}
        self.val_parts: dict[str, dict[str, Tensor]] = {}
        for name, tensors in datasets.items():
            n = len(next(iter(tensors.values())))
            n_val = int(n * val_fraction) if n >= 20 else 0
            self.train_parts[name] = {v: t[: n - n_val] for v, t in tensors.items()}
            if n_val:
                self.val_parts[name] = {v: t[n - n_val :] for v, t in tensors.items()}
        if len(self.val_parts) != len(self.train_parts):
            self.val_parts = {}
        self.batch_size = batch_size
        self.seed = seed

    def train_dataloader(self) -> Any:
        """Shuffled batches of every dataset, side by side."""
        return zipped_loader(self.train_parts, self.batch_size, self.seed)

    def val_dataloader(self) -> Any:
        """The validation tails in row order (none when a dataset is too small to hold one out)."""
        return zipped_loader(self.val_parts, self.batch_size, None) if self.val_parts else []


class RowsData(L.LightningDataModule):
    """Batches of rows given as ``{variable: tensor}`` (stage 0 when no data module is given).

    ``val_fraction`` of the rows (chosen by a permutation seeded with ``seed``: given rows may be
    sorted) validate, when there are at least 200; the others train.
    """

    def __init__(self, tensors: Mapping[str, Tensor], batch_size: int, seed: int, val_fraction: float = 0.05) -> None:
        super().__init__()
        n = len(next(iter(tensors.values())))
        n_val = int(n * val_fraction) if n >= 200 else 0
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        held, kept = order[:n_val].sort().values, order[n_val:].sort().values
        self.tensors = {v: t[kept] for v, t in tensors.items()} if n_val else dict(tensors)
        self.val_tensors = {v: t[held] for v, t in tensors.items()} if n_val else {}
        self.batch_size, self.seed = batch_size, seed

    def train_dataloader(self) -> Any:
        """Shuffled batches ``{variable: tensor}``."""
        return tensor_loader(self.tensors, self.batch_size, self.seed)

    def val_dataloader(self) -> Any:
        """The held-out rows in order (none for fewer than 200 rows)."""
        return tensor_loader(self.val_tensors, self.batch_size, None) if self.val_tensors else []
