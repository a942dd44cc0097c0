"""Streaming a shard dataset: split by rank and worker, shuffled with a buffer, decoded by type, resumable.

A dataset written by ``lightning-causal prepare`` (or any folder of :mod:`lightning_causal.data.shards`)
is read shard by shard from a local folder or from any location webdataset opens: ``http(s)://``
URLs, and ``pipe:`` commands for object stores, written as a template with ``{file}`` where the
file name goes (``pipe:aws s3 cp s3://bucket/celeba64/{file} -``). The manifest (read the same way)
says which shards a split has and how many rows each holds, so nothing scans the data (an entry
with ``first`` holds the samples ``first .. first + rows - 1`` of its file: one file can serve two
splits, as a generated dataset's tail validates).

The stream of one epoch is a function of the seed, the epoch, the number of ranks and the number
of loader workers only:

* **split**: the epoch's shards are permuted (seeded with ``seed`` and the epoch); with at least as
  many shards as reading slots (ranks x workers), slot ``s`` reads shards ``s, s + slots, ...``;
  with fewer, every slot reads every shard and keeps the samples at positions ``s, s + slots, ...``;
* **equal batches on every rank**: each rank yields ``rows // (ranks x batch_size)`` batches an
  epoch (at least one), so no rank waits on another at the epoch's end; the rows past that are
  dropped for this epoch (a different permutation drops others the next), and a slot whose shards
  hold fewer samples than its share (uneven shards, skipped samples) reads its own shards again in
  a new order (padding: a few samples seen twice in that epoch, never on two ranks, never a hang);
* **shuffle**: a buffer of ``shuffle_buffer`` samples per slot, seeded per slot and epoch (none for
  validation);
* **decode**: ``cls`` fields as int64 codes, ``npy`` as arrays, ``png`` / ``jpg`` as uint8
  ``(C, H, W)`` images at the size the manifest gives (no resizing here: ``prepare`` sized them).

Corrupt input is skipped and counted, never fatal and never silent: a sample that does not decode,
lacks a variable or has another shape than the manifest says; a shard that is truncated, missing
or vanishes mid-epoch (the rows the manifest promised and the stream did not deliver). Each is a
warning; :class:`StreamingLoader` sums them over workers and epochs (``skipped``: a corrupt sample
counts in every epoch that meets it), and past ``max_skipped`` in one epoch (a count, or a share of
the split's rows when below 1) training stops with one line.

Exact resume: every batch carries, from its worker, how many shuffled samples that worker has
consumed. :class:`StreamingLoader` keeps them in its ``state_dict`` (Lightning saves it in every
checkpoint); a loader given that state replays each worker's stream up to its position without
decoding (reading raw bytes only) and continues, and rotates the workers so the next batch comes
from the worker that owed it. A run stopped and resumed mid-epoch sees exactly the batches of an
uninterrupted run, as long as the number of ranks and workers is the same.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from lightning_causal.data.shards import MANIFEST, SHARD_FORMAT, decode_field, shard_splits
from lightning_causal.errors import DataError, listing

__all__ = [
    "STREAM_KEY",
    "ShardStream",
    "StreamingLoader",
    "ZippedLoaders",
    "read_stream_manifest",
    "shard_location",
    "skipped_limit",
]

STREAM_KEY = "__stream__"
"""The batch entry a worker reports its position in (removed by :class:`StreamingLoader`)."""
REASONS_KEPT = 20
"""How many reasons for skipped samples a loader keeps (for the error line and the log)."""


def shard_location(data: str | Path, file: str) -> str:
    """Where the file ``file`` of a dataset at ``data`` is: a path, a URL, or a ``pipe:`` command."""
    text = str(data)
    if "{file}" in text:
        return text.replace("{file}", file)
    if "://" in text or text.startswith("pipe:"):
        return text.rstrip("/") + "/" + file
    return str(Path(text) / file)


def read_stream_manifest(data: str | Path) -> dict[str, Any]:
    """The manifest of a dataset at ``data`` (a folder, a URL prefix or a ``{file}`` template), checked."""
    import json

    location = shard_location(data, MANIFEST)
    try:
        if "://" in location or location.startswith("pipe:"):
            from webdataset.gopen import gopen

            with gopen(location) as handle:
                manifest = json.loads(handle.read())
        else:
            manifest = json.loads(Path(location).read_text())
    except FileNotFoundError:
        raise DataError(
            f"no {MANIFEST} at {location!r}: convert the data first (lightning-causal prepare ... --out DIR)"
        ) from None
    except Exception as err:
        raise DataError(f"the manifest at {location!r} cannot be read ({type(err).__name__}: {err})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != SHARD_FORMAT:
        raise DataError(
            f"{location!r} is not a {SHARD_FORMAT} manifest; convert the data with lightning-causal prepare"
        )
    return manifest


@dataclass
class _Counts:
    """What a worker skipped, and why (the first few reasons)."""

    skipped: int = 0
    reasons: list[str] = field(default_factory=list)

    def add(self, reason: str, count: int = 1) -> None:
        self.skipped += count
        if len(self.reasons) < REASONS_KEPT:
            self.reasons.append(reason)
        warnings.warn(f"skipped {count} sample{'s' if count > 1 else ''}: {reason}", stacklevel=3)


class ShardStream(IterableDataset[dict[str, Any]]):
    """The batches of one split of a shard dataset, for one rank (see the module docstring).

    Args:
        data: the dataset's location (a folder, a URL prefix or a ``{file}`` template).
        split: the split to read (``train``, ``val``, ``test``).
        batch_size: rows per batch.
        seed: seeds the shard permutation and the shuffle buffers.
        shuffle_buffer: samples in each slot's shuffle buffer (0: the shards' order).
        manifest: the manifest, when already read.
        columns: the variables to decode (default: every column of the manifest).
        training: True: a new shard order every epoch and ``rows // (ranks x batch)`` batches; False
            (validation): the same order every time, no shuffle, and ``ceil(rows / (ranks x batch))``
            batches (the last ones padded by reading again).
    """

    def __init__(
        self,
        data: str | Path,
        split: str,
        batch_size: int,
        seed: int = 0,
        shuffle_buffer: int = 1000,
        manifest: Mapping[str, Any] | None = None,
        columns: Sequence[str] | None = None,
        training: bool = True,
    ) -> None:
        super().__init__()
        self.data = str(data)
        self.manifest = dict(manifest) if manifest is not None else read_stream_manifest(data)
        splits = shard_splits(self.manifest)
        if split not in splits:
            raise DataError(f"the dataset at {self.data!r} has no split {split!r}; it has {listing(splits)}")
        self.split = split
        self.shards = [
            (shard_location(self.data, s["file"]), int(s["rows"]), int(s.get("first", 0))) for s in splits[split]
        ]
        self.rows = sum(rows for _, rows, _ in self.shards)
        if self.rows == 0:
            raise DataError(f"split {split!r} of the dataset at {self.data!r} has no rows")
        available: dict[str, dict[str, Any]] = dict(self.manifest["columns"])
        wanted = list(available) if columns is None else list(columns)
        missing = [v for v in wanted if v not in available]
        if missing:
            raise DataError(
                f"the dataset at {self.data!r} has no column {missing[0]!r}; it has {listing(available, 20)}"
            )
        self.columns = {v: available[v] for v in wanted}
        self.batch_size = batch_size
        self.seed = seed
        self.training = training
        self.shuffle_buffer = shuffle_buffer if training else 0
        # set by the loader before each epoch's workers start
        self.epoch = 0
        self.rank, self.world = 0, 1
        self.resume: list[int] = []  # per worker: shuffled samples consumed before the stop
        self.start_batch = 0  # batches of the epoch already served (the workers rotate by it)

    # ------------------------------------------------------------------ sizes
    def batches_per_rank(self) -> int:
        """Batches every rank yields in an epoch: the rows over ranks x batch size (rounded up for validation)."""
        per_step = self.world * self.batch_size
        return max(1, self.rows // per_step if self.training else -(-self.rows // per_step))

    def __len__(self) -> int:
        return self.batches_per_rank()

    # ------------------------------------------------------------------ the stream
    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = get_worker_info()
        workers, local = (info.num_workers, info.id) if info is not None else (1, 0)
        worker = (local + self.start_batch) % workers  # the original worker this process plays after a resume
        total = self.batches_per_rank()
        mine = len(range(worker, total, workers)) - len(range(worker, self.start_batch, workers))
        if mine <= 0:
            return
        slot, slots = self.rank * workers + worker, self.world * workers
        start = self.resume[worker] if worker < len(self.resume) else 0
        counts = _Counts()
        position = 0
        batch: list[dict[str, Any]] = []
        for sample in self._shuffled(slot, slots, counts):
            position += 1
            if position <= start:
                continue  # consumed before the resume: replayed, not decoded
            row = self._decode(sample, counts)
            if row is None:
                continue
            batch.append(row)
            if len(batch) == self.batch_size:
                out = self._collate(batch)
                out[STREAM_KEY] = torch.tensor([worker, position, counts.skipped], dtype=torch.long)
                out[STREAM_KEY + "reasons"] = list(counts.reasons)
                counts.reasons.clear()
                yield out
                batch = []
                mine -= 1
                if mine == 0:
                    return

    def every_row(self) -> tuple[dict[str, Tensor], int]:
        """Every readable row of the split, in the shards' order, and the number of samples skipped."""
        counts = _Counts()
        rows: list[dict[str, Any]] = []
        for url, expected, first in self.shards:
            got = 0
            for sample in self._read_shard(url, counts, first, expected):
                got += 1
                row = self._decode(sample, counts)
                if row is not None:
                    rows.append(row)
            if got < expected:
                counts.add(
                    f"shard {url!r} delivered {got} of the {expected} samples the manifest lists", expected - got
                )
        if not rows:
            raise DataError(f"no row of split {self.split!r} at {self.data!r} could be read; check the location")
        return self._collate(rows), counts.skipped

    def _shuffled(self, slot: int, slots: int, counts: _Counts) -> Iterator[dict[str, Any]]:
        """The slot's raw samples (read over and over if needed), through its seeded shuffle buffer.

        The buffer is emptied at the end of every pass over the slot's shards, so a pass's samples all
        come out before the next pass's: an epoch repeats a sample only when its share runs short.
        """
        rng = random.Random(f"{self.seed}/{self.epoch}/{slot}")
        buffer: list[dict[str, Any]] = []
        for sample in self._raw(slot, slots, counts):
            if sample is None:  # the end of a pass: flush
                rng.shuffle(buffer)
                yield from buffer
                buffer = []
            elif self.shuffle_buffer <= 1:
                yield sample
            elif len(buffer) < self.shuffle_buffer:
                buffer.append(sample)
            else:
                k = rng.randrange(len(buffer))
                buffer[k], sample = sample, buffer[k]
                yield sample

    def _raw(self, slot: int, slots: int, counts: _Counts) -> Iterator[dict[str, Any] | None]:
        """Undecoded samples of this slot's share of the split, pass after pass (each in a new shard order).

        ``None`` marks the end of a pass.
        """
        cycle = 0
        delivered_any = False
        epoch = self.epoch if self.training else 0
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch * 7919)
        order = (
            torch.randperm(len(self.shards), generator=g).tolist() if self.training else list(range(len(self.shards)))
        )
        if len(self.shards) >= slots:
            share = [(self.shards[i], 0, 1) for i in order[slot::slots]]
        elif self.rows >= slots:
            share = [(self.shards[i], slot, slots) for i in order]
        else:  # fewer rows than slots: every slot reads them all
            share = [(self.shards[i], 0, 1) for i in order]
        while True:
            picks = share
            if cycle and self.training:  # a pass after the first (padding): the slot's own share, in a new order
                g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch * 7919 + cycle * 104_729 + slot)
                picks = [share[i] for i in torch.randperm(len(share), generator=g).tolist()]
            for (url, rows, first), offset, stride in picks:
                expected = len(range(offset, rows, stride))
                got = 0
                for index, sample in enumerate(self._read_shard(url, counts, first, rows)):
                    if index % stride != offset:
                        continue
                    got += 1
                    delivered_any = True
                    yield sample
                if got < expected:
                    counts.add(
                        f"shard {url!r} delivered {got} of the {expected} samples the manifest lists", expected - got
                    )
            yield None
            cycle += 1
            if not delivered_any:
                raise DataError(f"no shard of split {self.split!r} at {self.data!r} could be read; check the location")

    def _read_shard(self, url: str, counts: _Counts, first: int, rows: int) -> Iterator[dict[str, Any]]:
        """The samples ``first .. first + rows - 1`` of the shard at ``url`` (undecoded)."""
        from webdataset.tariterators import group_by_keys, tar_file_expander, url_opener

        def handler(err: Exception) -> bool:
            counts.add(f"shard {url!r}: {type(err).__name__}: {str(err.args[0]) if err.args else err}"[:300], 0)
            return False  # the rest of this shard is lost (counted against the manifest's rows)

        streams = url_opener([{"url": url}], handler=handler)
        files = tar_file_expander(streams, handler=handler)
        for index, sample in enumerate(group_by_keys(files, lcase=False, handler=handler)):
            if index >= first + rows:
                return
            if index >= first:
                yield sample

    def _decode(self, sample: Mapping[str, Any], counts: _Counts) -> dict[str, Any] | None:
        row: dict[str, Any] = {}
        where = f"sample {sample.get('__key__')!r} of {sample.get('__url__')!r}"
        for name, entry in self.columns.items():
            suffix = f"{name}.{entry['field']}"
            if suffix not in sample:
                counts.add(f"{where} has no {suffix}")
                return None
            try:
                value = decode_field(sample[suffix], entry["field"], entry.get("shape", [None])[0])
            except Exception as err:
                counts.add(f"{where}: {suffix} does not decode ({type(err).__name__})")
                return None
            if entry.get("type") == "image" and tuple(np.shape(value)) != tuple(entry["shape"]):
                counts.add(f"{where}: {suffix} is {tuple(np.shape(value))}, the manifest says {tuple(entry['shape'])}")
                return None
            if entry["field"] == "cls" and not 0 <= int(value) < int(entry.get("classes", 2)):
                counts.add(f"{where}: {suffix} is {value}, outside 0..{int(entry.get('classes', 2)) - 1}")
                return None
            row[name] = value
        return row

    def _collate(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, entry in self.columns.items():
            values = [r[name] for r in rows]
            if entry["field"] == "cls":
                out[name] = torch.tensor(values, dtype=torch.long)
            elif entry.get("type") == "image":
                dtype = np.uint8 if entry.get("dtype") == "uint8" else np.float32
                out[name] = torch.from_numpy(np.stack(values).astype(dtype, copy=False))
            else:
                out[name] = torch.from_numpy(np.stack(values).astype(np.float32).reshape(len(values), -1))
        return out


class StreamingLoader(DataLoader[dict[str, Any]]):
    """A ``DataLoader`` over a :class:`ShardStream` with a ``state_dict`` for exact mid-epoch resume.

    Yields ``{variable: tensor}`` batches; counts skipped samples over its workers (``skipped``,
    ``reasons``) and stops with a :class:`~lightning_causal.errors.DataError` past ``max_skipped``.
    """

    def __init__(self, stream: ShardStream, num_workers: int = 0, max_skipped: float = 0.01) -> None:
        super().__init__(stream, batch_size=None, num_workers=num_workers, persistent_workers=False)
        self.stream = stream
        self.max_skipped = max_skipped
        self.epoch = 0
        self.served = 0
        self.positions: list[int] = []
        self.worker_skipped: dict[int, int] = {}
        self.skipped_before = 0  # skipped in earlier epochs (and before a resume)
        self.reasons: list[str] = []
        self._resume: dict[str, Any] | None = None

    @property
    def skipped(self) -> int:
        """Samples skipped so far, all epochs (a corrupt sample counts once per epoch), all workers of this rank."""
        return self.skipped_before + sum(self.worker_skipped.values())

    def limit(self) -> int:
        """The number of skipped samples in one epoch past which training stops."""
        return skipped_limit(self.max_skipped, self.stream.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:  # type: ignore[override]
        import torch.distributed as dist

        stream = self.stream
        if dist.is_available() and dist.is_initialized():
            stream.rank, stream.world = dist.get_rank(), dist.get_world_size()
        workers = max(1, self.num_workers)
        if self._resume is not None:
            state, self._resume = self._resume, None
            self.epoch = int(state["epoch"])
            self.served = int(state["batches"])
            self.positions = list(state["positions"]) or [0] * workers
            self.skipped_before = int(state.get("skipped", 0))
            self.reasons = list(state.get("reasons", []))
            if len(self.positions) != workers:
                raise DataError(
                    f"the checkpoint's data stream was read by {len(self.positions)} loader workers, this run has "
                    f"{workers}; resume with num_workers: {len(self.positions) if len(self.positions) > 1 else 0}"
                )
        else:
            if (self.served or self.positions) and self.stream.training:  # the last epoch ended: the next one
                self.epoch += 1
                self.skipped_before = self.skipped
            self.served = 0
            self.positions = [0] * workers
        self.worker_skipped = {}
        stream.epoch, stream.resume, stream.start_batch = self.epoch, list(self.positions), self.served
        return self._batches(super().__iter__())

    def _batches(self, iterator: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for batch in _one_line_errors(iterator):
            worker, position, skipped = (int(v) for v in batch.pop(STREAM_KEY))
            for reason in batch.pop(STREAM_KEY + "reasons"):
                if len(self.reasons) < REASONS_KEPT:
                    self.reasons.append(reason)
            self.positions[worker] = position
            self.worker_skipped[worker] = skipped
            self.served += 1
            this_epoch = sum(self.worker_skipped.values())
            if this_epoch > self.limit():
                first = self.reasons[0] if self.reasons else "no reason kept"
                raise DataError(
                    f"{this_epoch} samples of split {self.stream.split!r} at {self.stream.data!r} were skipped in "
                    f"one epoch (corrupt or missing), past the limit of {self.limit()} (max_skipped); "
                    f"the first: {first}"
                )
            yield batch

    def state_dict(self) -> dict[str, Any]:
        """The position in the stream: epoch, batches served, each worker's samples consumed, skipped counts."""
        if self._resume is not None:
            return dict(self._resume)
        done = self.served >= len(self.stream)
        return {
            "epoch": self.epoch + 1 if done else self.epoch,
            "batches": 0 if done else self.served,
            "positions": [] if done else list(self.positions),
            "skipped": self.skipped,
            "reasons": list(self.reasons),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict`'s position at the next iteration."""
        self._resume = dict(state_dict)


class ZippedLoaders:
    """Several resumable loaders side by side: each step one batch of each, ``{name: batch}``.

    An epoch is one of the longest loader (the first of the longest); a shorter loader that runs out
    starts its next epoch and goes on, across this loader's epochs (as
    :class:`~lightning_causal.data.loaders.ZippedDataset` cycles shorter datasets). ``state_dict``
    holds every loader's position, so a run resumed mid-epoch draws the batches of an uninterrupted
    one. With ``restart`` (validation) every epoch starts every loader afresh.

    Args:
        loaders: ``{name: loader}``, each sized, with ``state_dict`` / ``load_state_dict`` (a
            :class:`StreamingLoader`, a :class:`~lightning_causal.data.loaders.ResumableLoader`).
        restart: start every loader again at every epoch.
    """

    def __init__(self, loaders: Mapping[str, Any], restart: bool = False) -> None:
        if not loaders:
            raise ValueError("zip at least one loader")
        self.loaders = dict(loaders)
        self.lead = max(self.loaders, key=lambda name: len(self.loaders[name]))
        self.restart = restart
        self._iterators: dict[str, Iterator[Any]] = {}

    def __len__(self) -> int:
        return len(self.loaders[self.lead])

    @property
    def skipped(self) -> int:
        """Samples the streaming loaders skipped so far (corrupt or missing)."""
        return sum(int(getattr(loader, "skipped", 0)) for loader in self.loaders.values())

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self.restart:
            self._iterators = {}
        self._iterators[self.lead] = iter(self.loaders[self.lead])
        return self._steps()

    def _steps(self) -> Iterator[dict[str, Any]]:
        for first in self._iterators[self.lead]:
            batch: dict[str, Any] = {}
            for name, loader in self.loaders.items():
                if name == self.lead:
                    batch[name] = first
                    continue
                try:
                    batch[name] = next(self._iterators[name])
                except (KeyError, StopIteration):  # not started, or its epoch is over: its next one
                    self._iterators[name] = iter(loader)
                    batch[name] = next(self._iterators[name])
            yield batch

    def close(self) -> None:
        """Let go of the loaders' iterators (and the worker processes a shorter one keeps between epochs)."""
        self._iterators = {}

    def __getstate__(self) -> dict[str, Any]:  # a copy (an EMA's copy of a model that points at its trainer) has
        return {**self.__dict__, "_iterators": {}}  # the positions, not the running iterators

    def state_dict(self) -> dict[str, Any]:
        """Every loader's position."""
        return {name: loader.state_dict() for name, loader in self.loaders.items()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume every loader from :meth:`state_dict`'s positions at the next iteration."""
        if set(state_dict) != set(self.loaders):
            raise DataError(
                f"the checkpoint's data positions are of the datasets {listing(state_dict)}, this run reads "
                f"{listing(self.loaders)}; resume with the settings of the run that wrote it"
            )
        for name, loader in self.loaders.items():
            loader.load_state_dict(state_dict[name])
        self._iterators = {}


def skipped_limit(max_skipped: float, rows: int) -> int:
    """Samples that may be skipped: ``max_skipped`` itself, or that share of ``rows`` when below 1."""
    return int(max_skipped * rows) if max_skipped < 1 else int(max_skipped)


def _one_line_errors(iterator: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The batches of a loader; a DataError raised in a worker comes back as its own one line."""
    try:
        yield from iterator
    except Exception as err:
        text = str(err)
        if "Original Traceback" in text:  # PyTorch re-raised a worker's exception with its traceback as text
            last = [line for line in text.strip().splitlines() if line.strip()][-1]
            if isinstance(err, DataError) or "DataError: " in last:
                raise DataError(last.split("DataError: ", 1)[-1].strip()) from None
        raise
