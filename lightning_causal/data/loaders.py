"""Map-style datasets over dicts of tensors that return whole batches at once, and their resumable loaders.

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

import torch
from torch.utils.data import DataLoader, Dataset

__all__ = [
    "ResumableLoader",
    "TensorDictDataset",
    "ZippedDataset",
    "collate_tensor_dict",
    "tensor_loader",
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
        if self._resume is not None:  # loaded and not iterated yet: the state it was given
            return dict(self._resume)
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
