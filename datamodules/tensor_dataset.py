"""A map-style dataset over a dict of tensors that returns whole batches at once, and its loader.

``DataLoader`` calls ``__getitems__`` with the list of indices of a batch (PyTorch >= 2.2), so a
batch is one tensor index per variable instead of ``batch_size`` Python-level item fetches, while
samplers (including the ``DistributedSampler`` that Lightning injects under DDP) work unchanged.

:class:`ResumableLoader` makes a run resume exactly from a checkpoint taken in the middle of an
epoch: Lightning saves its ``state_dict`` (the shuffle generator's state at the start of the epoch
and the number of batches handed out) and restores it, and the resumed epoch replays the same
permutation and skips the batches already trained on.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import lightning
import torch
from torch.utils.data import DataLoader, Dataset

from lightning_causal.variables.spec import VariableSpec

__all__ = [
    "ResumableLoader",
    "TensorDataModule",
    "TensorDictDataset",
    "ZippedDataset",
    "collate_tensor_dict",
    "tensor_loader",
    "with_statistics",
    "zipped_loader",
]


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


class ZippedDataset(Dataset[dict[str, dict[str, torch.Tensor]]]):
    """Several datasets side by side: item i is ``{dataset: its row i mod its length}``.

    Its length is the longest dataset's, so an epoch sees every row of that one once and cycles the
    shorter ones; a shuffled index permutes the rows of every dataset. A stage of ID-GEN that
    trains factors on several datasets draws one batch of each per step this way.
    """

    def __init__(self, datasets: Mapping[str, Mapping[str, torch.Tensor]]) -> None:
        if not datasets:
            raise ValueError("zip at least one dataset")
        self.parts = {name: TensorDictDataset(tensors) for name, tensors in datasets.items()}
        self._length = max(len(part) for part in self.parts.values())

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: int) -> dict[str, dict[str, torch.Tensor]]:
        return {name: part[index % len(part)] for name, part in self.parts.items()}

    def __getitems__(self, indices: Sequence[int]) -> dict[str, dict[str, torch.Tensor]]:
        rows = torch.as_tensor(indices, dtype=torch.long)
        return {name: part.__getitems__(rows % len(part)) for name, part in self.parts.items()}  # type: ignore[arg-type]


def collate_tensor_dict(batch: Any) -> dict[str, torch.Tensor]:
    """Collate for :class:`TensorDictDataset`: a batch from ``__getitems__`` passes through."""
    if isinstance(batch, Mapping):
        return dict(batch)
    return {name: torch.stack([row[name] for row in batch]) for name in batch[0]}


class ResumableLoader(DataLoader[Any]):
    """A ``DataLoader`` with the ``state_dict`` / ``load_state_dict`` pair Lightning checkpoints.

    The state is the shuffle generator's state when the current epoch's iterator was created (it
    draws the epoch's permutation from it) and how many batches of the epoch were handed out. A
    loader given that state replays the epoch's permutation and skips those batches, so training
    resumed from a mid-epoch checkpoint sees exactly the batches an uninterrupted run would. A
    state saved after the last batch of an epoch resumes at the start of the next one.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._served = 0
        self._epoch_state: torch.Tensor | None = None
        self._resume: dict[str, Any] | None = None

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        return self._batches()

    def _batches(self) -> Iterator[Any]:
        skip = 0
        if self._resume is not None:
            state, self._resume = self._resume, None
            if self.generator is not None and state.get("generator") is not None:
                self.generator.set_state(state["generator"])
            skip = int(state.get("batches", 0))
        self._epoch_state = self._shuffle_state()
        self._served = 0
        iterator = super().__iter__()
        for _ in range(skip):
            next(iterator)
            self._served += 1
        for batch in iterator:
            self._served += 1
            yield batch

    def state_dict(self) -> dict[str, Any]:
        try:
            length = len(self)
        except TypeError:
            length = None
        if length is not None and self._served >= length:  # the epoch is over: resume at the next one
            return {"generator": self._shuffle_state(), "batches": 0}
        return {"generator": self._epoch_state, "batches": self._served}

    def _shuffle_state(self) -> torch.Tensor | None:
        return self.generator.get_state().clone() if self.generator is not None else None

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._resume = dict(state_dict)


def tensor_loader(
    tensors: Mapping[str, torch.Tensor],
    batch_size: int,
    shuffle_seed: int | None = None,
    num_workers: int = 0,
    drop_last: bool = False,
) -> ResumableLoader:
    """Batches ``{name: tensor}`` of a :class:`TensorDictDataset`; shuffled reproducibly when a seed is given.

    The loader is a :class:`ResumableLoader`: a run resumed from any checkpoint continues with the
    batches an uninterrupted run would have drawn.
    """
    return _resumable(TensorDictDataset(tensors), batch_size, shuffle_seed, num_workers, drop_last)


def zipped_loader(
    datasets: Mapping[str, Mapping[str, torch.Tensor]],
    batch_size: int,
    shuffle_seed: int | None = None,
    num_workers: int = 0,
) -> ResumableLoader:
    """Batches ``{dataset: {name: tensor}}`` of a :class:`ZippedDataset`, resumable like :func:`tensor_loader`."""
    return _resumable(ZippedDataset(datasets), batch_size, shuffle_seed, num_workers, False)


def _resumable(
    dataset: Dataset[Any], batch_size: int, shuffle_seed: int | None, num_workers: int, drop_last: bool
) -> ResumableLoader:
    return ResumableLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle_seed is not None,
        generator=torch.Generator().manual_seed(shuffle_seed) if shuffle_seed is not None else None,
        collate_fn=collate_tensor_dict,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        drop_last=drop_last,
    )


def with_statistics(specs: Mapping[str, VariableSpec], tensors: Mapping[str, torch.Tensor]) -> dict[str, VariableSpec]:
    """The specs, continuous ones with the mean, population std (ddof 0) and range of ``tensors`` (training rows).

    One row gives std 1. Discrete and image specs are returned as they are (pixels have a fixed codec).
    """
    out = {}
    for name, spec in specs.items():
        if spec.is_discrete or spec.is_image:
            out[name] = spec
            continue
        x = tensors[name].double().reshape(len(tensors[name]), -1)
        std = x.std(dim=0, correction=0) if len(x) > 1 else torch.ones(x.shape[1], dtype=x.dtype)
        out[name] = spec.with_statistics(x.mean(0).tolist(), std.tolist(), x.amin(0).tolist(), x.amax(0).tolist())
    return out


class TensorDataModule(lightning.LightningDataModule):
    """A data module whose splits are in memory: ``train_tensors`` and ``val_tensors``, ``{variable: tensor}``.

    Subclasses set those two and ``batch_size``, ``seed`` and ``num_workers``; training batches are
    shuffled reproducibly (seeded with ``seed``) and resumable, validation batches come in row order.
    """

    train_tensors: dict[str, torch.Tensor]
    val_tensors: dict[str, torch.Tensor]
    batch_size: int
    seed: int
    num_workers: int

    def train_dataloader(self) -> DataLoader[dict[str, torch.Tensor]]:
        """Shuffled training batches ``{variable: tensor}``; the order is seeded with ``seed``."""
        return tensor_loader(self.train_tensors, self.batch_size, self.seed, self.num_workers)

    def val_dataloader(self) -> DataLoader[dict[str, torch.Tensor]]:
        """Validation batches in row order."""
        return tensor_loader(self.val_tensors, self.batch_size, None, self.num_workers)
