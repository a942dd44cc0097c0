"""Converting a data set into webdataset shards once, so that training streams it: ``lightning-causal prepare``.

A :class:`ConversionSource` says what a data set holds (its variables, with the training split's
codec statistics, and the rows of each split); :func:`prepare` writes it as a dataset folder of
:mod:`lightning_causal.data.shards` with one shard series per split (``train-000000.tar``,
``val-000000.tar``, ``test-...``) and a manifest that training reads instead of scanning the data:
rows, variables and their types, statistics, image codecs, every shard's rows and SHA-256, the
splits, the source and the rows skipped.

Sources (:func:`make_source`): ``table`` (a CSV/Parquet file and a graph, read as ``fit`` reads
it), ``celeba`` (the official layout, :mod:`lightning_causal.data.celeba`), ``napkin-digits`` and
every built-in structural model (their rows drawn with ``rows`` and ``seed``).

Conversion is resumable and never leaves a half-written shard under its final name: every shard
is written atomically and then marked done by a small record beside it (``.train-000000.json``:
its rows, checksum and skipped rows); a rerun after a crash or a kill skips the shards with a
record and writes the rest; the manifest comes last, and its presence means the folder is
complete. The settings of a conversion are written first (``prepare.json``): a rerun with other
settings into the same folder is refused. Shards are written by ``workers`` processes (forked, so
the source's rows are shared, not copied), with a progress bar over rows.

A source row that cannot be read (a corrupt or missing image file) is skipped with a warning and
listed in the manifest's ``skipped`` (its key and the reason), never silently lost; keys are
the rows' positions in the source (train, then val, then test), so the keys of a split are
unique and say which source row each sample is.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import Tensor

from lightning_causal.data.shards import (
    check_codec,
    file_sha256,
    read_manifest,
    shard_name,
    write_manifest,
    write_shard,
)
from lightning_causal.errors import ConfigError
from lightning_causal.files import atomic_write
from lightning_causal.variables.spec import VariableSpec

__all__ = [
    "SETTINGS",
    "ConversionSource",
    "ShardTask",
    "TensorSource",
    "plan_shards",
    "prepare",
]

SETTINGS = "prepare.json"
"""The settings of a conversion, written before its first shard (a rerun must match them)."""
SPLITS = ("train", "val", "test")
"""The split names a converted dataset uses (CelebA's ``valid`` becomes ``val``)."""
SKIPPED_LISTED = 1000
"""At most this many skipped rows are listed in the manifest (all are counted)."""


class ConversionSource(ABC):
    """A data set to convert: its variables (with statistics), the rows of each split, and what it is.

    Subclasses read rows in :meth:`columns`, which runs in worker processes: it must not rely on
    state that forking does not carry (open files are reopened per call).
    """

    variables: dict[str, VariableSpec]
    graph: Any = None  # a CausalGraph, written into the manifest where the source has one

    @abstractmethod
    def split_sizes(self) -> dict[str, int]:
        """Rows per split, in the order the keys run (``train``, then ``val``, then ``test``)."""

    @abstractmethod
    def columns(self, split: str, start: int, stop: int) -> tuple[dict[str, Tensor], list[int], list[str]]:
        """Rows ``start .. stop - 1`` of ``split``: ``(columns, kept positions, problems)``.

        ``columns`` holds the rows that could be read, ``kept`` their positions (in ``start .. stop - 1``),
        ``problems`` one line per row that could not (naming the file and what is wrong).
        """

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """What was converted and how (JSON values): a rerun into the same folder must give the same."""

    def codecs(self) -> dict[str, str]:
        """Image codecs by variable (default ``png``: lossless)."""
        return {v: "png" for v, s in self.variables.items() if s.is_image and s.dtype == "uint8"}


class TensorSource(ConversionSource):
    """Rows held in memory, ``{split: {variable: tensor}}`` (a structural model's draws, a table read whole)."""

    def __init__(
        self,
        splits: Mapping[str, Mapping[str, Tensor]],
        variables: Mapping[str, VariableSpec],
        settings: Mapping[str, Any],
        graph: Any = None,
        codec: str | None = None,
    ) -> None:
        self.splits = {name: dict(rows) for name, rows in splits.items() if rows and len(next(iter(rows.values())))}
        self.variables = dict(variables)
        self._settings = dict(settings)
        self.graph = graph
        self.codec = codec

    def split_sizes(self) -> dict[str, int]:
        return {name: len(next(iter(rows.values()))) for name, rows in self.splits.items()}

    def columns(self, split: str, start: int, stop: int) -> tuple[dict[str, Tensor], list[int], list[str]]:
        rows = self.splits[split]
        return {v: rows[v][start:stop] for v in self.variables}, list(range(start, stop)), []

    def settings(self) -> dict[str, Any]:
        return {**self._settings, "codec": self.codec}

    def codecs(self) -> dict[str, str]:
        if self.codec is None:
            return super().codecs()
        return {v: self.codec for v, s in self.variables.items() if s.is_image}


@dataclass(frozen=True)
class ShardTask:
    """One shard to write: rows ``start .. stop - 1`` of ``split``, keys from ``key``."""

    split: str
    index: int
    start: int
    stop: int
    key: int

    @property
    def file(self) -> str:
        """The shard's file name."""
        return shard_name(self.index, self.split)

    @property
    def record(self) -> str:
        """The file name of the record that marks the shard done."""
        return f".{self.file}.json"


def plan_shards(sizes: Mapping[str, int], shard_rows: int) -> list[ShardTask]:
    """The shards of a conversion: each split cut into runs of ``shard_rows`` rows, keys running across splits."""
    tasks = []
    key = 0
    for split, rows in sizes.items():
        for index, start in enumerate(range(0, rows, shard_rows)):
            stop = min(start + shard_rows, rows)
            tasks.append(ShardTask(split, index, start, stop, key + start))
        key += rows
    return tasks


_SOURCE: ConversionSource | None = None  # the source a worker process converts (set before forking)


def _write_task(task: ShardTask, out: str) -> dict[str, Any]:
    """Write one shard and its record; returns the record."""
    assert _SOURCE is not None
    source = _SOURCE
    columns, kept, problems = source.columns(task.split, task.start, task.stop)
    folder = Path(out)
    path = folder / task.file
    keys = [task.key + (k - task.start) for k in kept]
    variables = {v: source.variables[v] for v in columns}
    # every row of a shard skipped: an empty archive keeps the series whole
    rows = write_shard(path, columns, variables, task.key, source.codecs(), keys=keys)
    record = {
        "file": task.file,
        "rows": rows,
        "split": task.split,
        "sha256": file_sha256(path),
        "skipped": [{"key": task.key + (p - task.start), "reason": r} for p, r in _problems(task, kept, problems)],
    }
    atomic_write(folder / task.record, json.dumps(record) + "\n")
    return record


def _problems(task: ShardTask, kept: list[int], problems: list[str]) -> Iterator[tuple[int, str]]:
    """The positions of the rows not kept, paired with their reasons."""
    missing = sorted(set(range(task.start, task.stop)) - set(kept))
    yield from zip(missing, problems + ["unreadable"] * len(missing), strict=False)


def _settings_check(out: Path, settings: dict[str, Any]) -> None:
    path = out / SETTINGS
    if path.is_file():
        try:
            before = json.loads(path.read_text())
        except (OSError, ValueError):
            before = None
        if before != settings:
            changed = sorted(k for k in set(settings) | set(before or {}) if (before or {}).get(k) != settings.get(k))
            raise ConfigError(
                f"{str(out)!r} holds a conversion with other settings ({', '.join(changed) or 'unreadable'} differ); "
                "give a new --out folder, or delete this one to convert again"
            )
    else:
        if out.exists() and any(p.name != SETTINGS for p in out.iterdir()):
            raise ConfigError(f"--out {str(out)!r} is not empty and holds no conversion; give a new or empty folder")
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(settings, indent=2, sort_keys=True) + "\n")


def prepare(
    source: ConversionSource,
    out: str | Path,
    shard_rows: int = 10_000,
    workers: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Convert ``source`` into a shard folder ``out`` (resuming an interrupted conversion); returns the manifest.

    Args:
        source: the data set (see :func:`make_source`).
        out: the dataset folder to write (created; a finished one is returned as it is).
        shard_rows: rows per shard.
        workers: processes writing shards (0 or 1: this process).
        progress: show a progress bar over rows.
    """
    global _SOURCE
    if isinstance(shard_rows, bool) or not isinstance(shard_rows, int) or shard_rows < 1:
        raise ConfigError(f"--shard-rows must be a positive int, got {shard_rows!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ConfigError(f"--workers must be an int >= 0, got {workers!r}")
    for name, codec in source.codecs().items():
        check_codec(source.variables[name], codec)
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"--out {str(folder)!r} is a file; give a folder")
    sizes = source.split_sizes()
    settings = {**source.settings(), "shard_rows": shard_rows, "splits": sizes}
    _settings_check(folder, settings)
    manifest = read_manifest(folder)
    if manifest is not None:
        return manifest
    tasks = plan_shards(sizes, shard_rows)
    records: dict[str, dict[str, Any]] = {}
    pending = []
    for task in tasks:
        done = _read_record(folder, task)
        if done is not None:
            records[task.file] = done
        else:
            pending.append(task)
    from tqdm import tqdm

    total = sum(t.stop - t.start for t in tasks)
    bar = tqdm(total=total, desc=f"Preparing {folder.name}", unit="rows", disable=not progress, file=sys.stdout)
    bar.update(sum(t.stop - t.start for t in tasks if t.file in records))
    _SOURCE = source
    try:
        if workers <= 1 or len(pending) <= 1:
            for task in pending:
                records[task.file] = _finish(_write_task(task, str(folder)), bar, task)
        else:
            context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
            with ProcessPoolExecutor(max_workers=min(workers, len(pending)), mp_context=context) as pool:
                futures = {task.file: pool.submit(_write_task, task, str(folder)) for task in pending}
                for task in pending:
                    records[task.file] = _finish(futures[task.file].result(), bar, task)
    finally:
        _SOURCE = None
        bar.close()
    entries = [records[t.file] for t in tasks]
    skipped = [s for e in entries for s in e.pop("skipped")]
    extra: dict[str, Any] = {
        "splits": {split: sum(e["rows"] for e in entries if e["split"] == split) for split in sizes},
        "source": source.settings(),
        "skipped_rows": len(skipped),
        "skipped": skipped[:SKIPPED_LISTED],
    }
    if source.graph is not None:
        import yaml

        from lightning_causal.graph.io import graph_to_yaml

        extra["graph"] = yaml.safe_load(graph_to_yaml(source.graph))
    write_manifest(folder, source.variables, entries, codecs=source.codecs(), **extra)
    for task in tasks:
        (folder / task.record).unlink(missing_ok=True)
    manifest = read_manifest(folder)
    assert manifest is not None
    return manifest


def _finish(record: dict[str, Any], bar: Any, task: ShardTask) -> dict[str, Any]:
    for problem in record["skipped"]:
        warnings.warn(f"skipped row {problem['key']}: {problem['reason']}", stacklevel=2)
    bar.update(task.stop - task.start)
    return record


def _read_record(folder: Path, task: ShardTask) -> dict[str, Any] | None:
    """The record of a finished shard (both files present and the checksum matching), else None."""
    record_path, shard = folder / task.record, folder / task.file
    if not (record_path.is_file() and shard.is_file()):
        return None
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("sha256") != file_sha256(shard):
        return None
    return record


def cpu_workers() -> int:
    """The default number of worker processes: the CPUs this process may use, at most 8."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        count = os.cpu_count() or 1
    return max(1, min(count, 8))
