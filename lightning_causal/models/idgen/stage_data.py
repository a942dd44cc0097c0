"""The data of one ID-GEN stage when it is not the user's data module: generated datasets, or rows given as a dict.

Both hold some rows out for validation (the loss a stopping rule watches).

A stage that trains on several generated datasets draws one batch of each per step (a batch is
``{dataset: {variable: tensor}}``); the last ``val_fraction`` of every dataset's rows validate
(generated rows are independent draws, so a tail split is a random one). Loaders are the resumable
ones of :mod:`lightning_causal.data.loaders`, so a stage resumed mid-epoch sees the batches an
uninterrupted run would.

A generated dataset with image columns is not read into memory: :class:`StreamedStageData` streams
it from its shards (:mod:`lightning_causal.data.streaming`: split by rank and loader worker,
shuffled with a buffer, exact mid-epoch resume), with the same tail held out
(:func:`held_out`); datasets of numbers and classes beside it are batched from memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor

from lightning_causal.data.loaders import tensor_loader, zipped_loader
from lightning_causal.data.shards import read_manifest
from lightning_causal.data.streaming import ShardStream, StreamingLoader, ZippedLoaders
from lightning_causal.errors import DataError

__all__ = ["RowsData", "StageData", "StreamedStageData", "held_out", "shared_fraction", "validation_rows"]

VAL_FRACTION = 0.05
"""The share of a generated dataset's rows that validate (the last ones)."""


def validation_rows(rows: int, val_fraction: float = VAL_FRACTION) -> int:
    """How many of a generated dataset's ``rows`` validate: ``val_fraction`` of them, none below 20 rows."""
    return int(rows * val_fraction) if rows >= 20 else 0


def shared_fraction(rows: Iterable[int], val_fraction: float) -> float:
    """``val_fraction``, or 0 when one of a stage's datasets (of the given numbers of ``rows``) is too small to
    hold a row out: a stage validates on every dataset or on none, and then every row trains."""
    return val_fraction if all(validation_rows(n, val_fraction) for n in rows) else 0.0


def held_out(manifest: Mapping[str, Any], val_fraction: float = VAL_FRACTION) -> dict[str, Any]:
    """A generated dataset's manifest with its last rows as the split ``val`` and the others as ``train``.

    The split is that of :class:`StageData` (:func:`validation_rows`); a shard that holds both is
    listed in each split with its share of rows (``first``: where the share starts in the file).
    """
    total = int(manifest["rows"])
    train_rows = total - validation_rows(total, val_fraction)
    entries: list[dict[str, Any]] = []
    start = 0
    for shard in manifest["shards"]:
        rows = int(shard["rows"])
        kept = min(rows, max(0, train_rows - start))
        base = {k: v for k, v in shard.items() if k not in ("split", "first", "rows")}
        if kept:
            entries.append({**base, "rows": kept, "split": "train"})
        if rows > kept:
            entries.append({**base, "rows": rows - kept, "first": kept, "split": "val"})
        start += rows
    return {**manifest, "shards": entries}


class StageData(L.LightningDataModule):
    """Batches of a stage's generated datasets: ``{dataset: {variable: tensor}}``, one batch of each per step."""

    def __init__(
        self,
        datasets: Mapping[str, Mapping[str, Tensor]],
        batch_size: int,
        seed: int,
        val_fraction: float = VAL_FRACTION,
    ) -> None:
        super().__init__()
        self.train_parts: dict[str, dict[str, Tensor]] = {}
        self.val_parts: dict[str, dict[str, Tensor]] = {}
        val_fraction = shared_fraction((len(next(iter(t.values()))) for t in datasets.values()), val_fraction)
        for name, tensors in datasets.items():
            n = len(next(iter(tensors.values())))
            n_val = validation_rows(n, val_fraction)
            self.train_parts[name] = {v: t[: n - n_val] for v, t in tensors.items()}
            if n_val:
                self.val_parts[name] = {v: t[n - n_val :] for v, t in tensors.items()}
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


class StreamedStageData(L.LightningDataModule):
    """Batches ``{dataset: {variable: tensor}}`` of a stage whose datasets stream from shards or are held in memory.

    Args:
        datasets: ``{name: folder}`` for a dataset streamed from its shards (every column), or
            ``{name: {variable: tensor}}`` for one in memory.
        batch_size: rows per batch of each dataset (per rank).
        seed: seeds the shuffles (dataset ``i`` of the stage: ``seed + i``).
        num_workers: loader worker processes of each streamed dataset.
        shuffle_buffer: samples in each worker's shuffle buffer.
        val_fraction: the share of each dataset's rows that validate (its last ones, :func:`held_out`).
    """

    def __init__(
        self,
        datasets: Mapping[str, Path | Mapping[str, Tensor]],
        batch_size: int,
        seed: int,
        num_workers: int = 0,
        shuffle_buffer: int = 1000,
        val_fraction: float = VAL_FRACTION,
    ) -> None:
        super().__init__()
        self.batch_size, self.seed = batch_size, seed
        self.num_workers, self.shuffle_buffer = num_workers, shuffle_buffer
        self.streamed: dict[str, tuple[Path, dict[str, Any]]] = {}
        self.held: dict[str, tuple[dict[str, Tensor], dict[str, Tensor]]] = {}
        manifests: dict[str, Any] = {}
        for name, data in datasets.items():
            if not isinstance(data, Mapping):
                manifests[name] = read_manifest(data)
                if manifests[name] is None:
                    raise DataError(f"{str(data)!r} holds no finished dataset (no manifest.json); generate it first")
        sizes = [
            int(manifests[n]["rows"]) if n in manifests else len(next(iter(d.values())))  # type: ignore[union-attr]
            for n, d in datasets.items()
        ]
        val_fraction = shared_fraction(sizes, val_fraction)
        for name, data in datasets.items():
            if isinstance(data, Mapping):
                n = len(next(iter(data.values())))
                cut = n - validation_rows(n, val_fraction)
                self.held[name] = ({v: t[:cut] for v, t in data.items()}, {v: t[cut:] for v, t in data.items()})
            else:
                self.streamed[name] = (Path(data), held_out(manifests[name], val_fraction))
        self.names = list(datasets)
        self._train: ZippedLoaders | None = None

    def _loaders(self, training: bool) -> dict[str, Any] | None:
        split = "train" if training else "val"
        loaders: dict[str, Any] = {}
        for index, name in enumerate(self.names):
            seed = self.seed + index
            if name in self.held:
                rows = self.held[name][0 if training else 1]
                if not len(next(iter(rows.values()))):
                    return None
                loaders[name] = tensor_loader(rows, self.batch_size, seed if training else None)
                continue
            folder, manifest = self.streamed[name]
            if not any(s["split"] == split for s in manifest["shards"]):
                return None
            stream = ShardStream(folder, split, self.batch_size, seed, self.shuffle_buffer, manifest, training=training)
            loaders[name] = StreamingLoader(stream, self.num_workers, max_skipped=0)
        return loaders

    def train_dataloader(self) -> Any:
        """Shuffled batches of every dataset, side by side (resumable mid-epoch)."""
        loaders = self._loaders(True)
        assert loaders is not None
        self._train = ZippedLoaders(loaders)
        return self._train

    def val_dataloader(self) -> Any:
        """The held-out tails in order (none when a dataset is too small to hold one out)."""
        loaders = self._loaders(False)
        return ZippedLoaders(loaders, restart=True) if loaders else []

    def teardown(self, stage: str) -> None:
        """The stage is over: stop the loaders' iterators (and their workers)."""
        if self._train is not None:
            self._train.close()

    @property
    def skipped(self) -> int:
        """Samples of the generated shards that could not be read (a damaged shard stops the stage)."""
        return self._train.skipped if self._train is not None else 0
