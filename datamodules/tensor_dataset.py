"""A map-style dataset over a dict of tensors that returns whole batches at once.

``DataLoader`` calls ``__getitems__`` with the list of indices of a batch (PyTorch >= 2.2), so a
batch is one tensor index per variable instead of ``batch_size`` Python-level item fetches, while
samplers (including the ``DistributedSampler`` that Lightning injects under DDP) work unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

__all__ = ["TensorDictDataset", "collate_tensor_dict", "tensor_loader"]


class TensorDictDataset(Dataset[dict[str, torch.Tensor]]):
    """Rows of ``{name: tensor}`` with a shared first (row) dimension."""

    def __init__(self, tensors: Mapping[str, torch.Tensor]) -> None:
        if not tensors:
            raise ValueError("a dataset needs at least one variable")
        lengths = {name: len(t) for name, t in tensors.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"all variables need the same number of rows, got {lengths}")
        self.tensors = dict(tensors)
        self._length = next(iter(lengths.values()))

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {name: t[index] for name, t in self.tensors.items()}

    def __getitems__(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        rows = torch.as_tensor(indices, dtype=torch.long)
        return {name: t[rows] for name, t in self.tensors.items()}


def collate_tensor_dict(batch: Any) -> dict[str, torch.Tensor]:
    """Collate for :class:`TensorDictDataset`: a batch from ``__getitems__`` passes through."""
    if isinstance(batch, Mapping):
        return dict(batch)
    return {name: torch.stack([row[name] for row in batch]) for name in batch[0]}


def tensor_loader(
    tensors: Mapping[str, torch.Tensor],
    batch_size: int,
    shuffle_seed: int | None = None,
    num_workers: int = 0,
    drop_last: bool = False,
) -> DataLoader[dict[str, torch.Tensor]]:
    """Batches ``{name: tensor}`` of a :class:`TensorDictDataset`; shuffled reproducibly when a seed is given."""
    return DataLoader(
        TensorDictDataset(tensors),
        batch_size=batch_size,
        shuffle=shuffle_seed is not None,
        generator=torch.Generator().manual_seed(shuffle_seed) if shuffle_seed is not None else None,
        collate_fn=collate_tensor_dict,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        drop_last=drop_last,
    )
