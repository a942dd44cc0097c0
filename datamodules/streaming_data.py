"""One streaming data module for any shard dataset: local folders, URLs, object stores through ``pipe:``.

:class:`StreamingDataModule` trains on a dataset written by ``lightning-causal prepare`` without
reading it into memory: its loaders are :class:`~lightning_causal.data.streaming.StreamingLoader`
over :class:`~lightning_causal.data.streaming.ShardStream` (split by rank and worker, shuffled with a
buffer, decoded by type, equal batches on every rank, exact mid-epoch resume, corrupt samples
skipped and counted; see :mod:`lightning_causal.data.streaming`). The variables and their codec
statistics come from the manifest; the graph from the manifest (structural models, tables) or
from a graph file (which also declares types, as for :class:`TabularDataModule`).

Example (a config's ``data:`` section)::

    data:
      class_path: lightning_causal.datamodules.StreamingDataModule
      init_args: {data: shards/celeba64, graph: configs/idgen/celeba_graph.yaml, batch_size: 128, num_workers: 4}
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
from torch import Tensor

from lightning_causal.data.shards import column_specs, shard_splits
from lightning_causal.data.streaming import ShardStream, StreamingLoader, read_stream_manifest, skipped_limit
from lightning_causal.errors import DataError, listing
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.variables.spec import VariableSpec

__all__ = ["StreamingDataModule"]

# Lightning warns that an IterableDataset with __len__ may be inaccurate under several workers; a
# ShardStream's length is exact by construction (every rank and worker yields its computed share)
warnings.filterwarnings("ignore", message=r".*Your `IterableDataset` has `__len__` defined.*")


class StreamingDataModule(L.LightningDataModule):
    """Batches ``{node: tensor}`` streamed from a shard dataset (see the module docstring).

    Args:
        data: the dataset: a folder, a URL prefix (``https://host/celeba64``) or a template with
            ``{file}`` (``pipe:aws s3 cp s3://bucket/celeba64/{file} -``).
        graph: the causal graph file (YAML/JSON; its ``variables:`` section may declare types);
            default: the graph the manifest carries.
        batch_size: rows per batch (per rank).
        seed: seeds the shard order and the shuffle buffers.
        shuffle_buffer: samples per shuffle buffer (per worker).
        num_workers: loader worker processes (a resumed run needs the same number).
        max_skipped: corrupt or missing samples tolerated in one epoch before training stops: a
            count, or a share of the split's rows when below 1.
        train_split: the split that trains.
        val_split: the split that validates (none when the dataset does not have it).

    After construction: ``self.graph``, ``self.variables`` (specs of the graph's nodes with the
    manifest's statistics), ``self.manifest``; ``self.skipped`` counts the samples skipped in
    training so far (logged as ``data/skipped``).
    """

    streams = True
    """Rows are streamed, not held: ``rows`` reads them (ID-GEN asks it for the columns it keeps only)."""

    def __init__(
        self,
        data: str,
        graph: str | None = None,
        batch_size: int = 256,
        seed: int = 0,
        shuffle_buffer: int = 1000,
        num_workers: int = 0,
        max_skipped: float = 0.01,
        train_split: str = "train",
        val_split: str = "val",
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["graph"], logger=False)
        for arg, value, least in (
            ("batch_size", batch_size, 1),
            ("num_workers", num_workers, 0),
            ("shuffle_buffer", shuffle_buffer, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise DataError(f"StreamingDataModule: {arg} must be an int >= {least}, got {value!r}")
        if not max_skipped >= 0:
            raise DataError(f"StreamingDataModule: max_skipped must be >= 0, got {max_skipped!r}")
        self.data = str(data)
        self.manifest = read_stream_manifest(data)
        specs = column_specs(self.manifest["columns"])
        if graph is not None:
            from lightning_causal.graph.io import load_graph_spec

            causal_graph, declared = load_graph_spec(graph)
            for name, config in declared.items():
                if name in specs and not specs[name].is_image:
                    specs[name] = _declared(name, config, specs[name], graph)
        elif isinstance(self.manifest.get("graph"), dict):
            from lightning_causal.graph.io import resolve_graph_spec

            causal_graph, _ = resolve_graph_spec(self.manifest["graph"])
        else:
            raise DataError(f"the dataset at {self.data!r} carries no graph; give graph: a graph file")
        missing = [v for v in causal_graph.nodes if v not in specs]
        if missing:
            raise DataError(
                f"graph node {missing[0]!r} is not a column of the dataset at {self.data!r} "
                f"({listing(specs, 20)}); rename the node or convert the data with it"
            )
        splits = shard_splits(self.manifest)
        if train_split not in splits:
            raise DataError(f"the dataset at {self.data!r} has no split {train_split!r}; it has {listing(splits)}")
        self.graph: CausalGraph = causal_graph
        self.variables: dict[str, VariableSpec] = {v: specs[v] for v in causal_graph.nodes}
        self.batch_size, self.seed, self.num_workers = batch_size, seed, num_workers
        self.shuffle_buffer, self.max_skipped = shuffle_buffer, max_skipped
        self.train_split = train_split
        self.val_split = val_split if val_split in splits else None
        self._train: StreamingLoader | None = None

    def _stream(self, split: str, training: bool, columns: Sequence[str] | None = None) -> ShardStream:
        return ShardStream(
            self.data,
            split,
            self.batch_size,
            self.seed,
            self.shuffle_buffer,
            manifest=self.manifest,
            columns=list(self.variables) if columns is None else list(columns),
            training=training,
        )

    def train_dataloader(self) -> StreamingLoader:
        """Shuffled, rank- and worker-split batches of the training split (resumable)."""
        self._train = StreamingLoader(self._stream(self.train_split, True), self.num_workers, self.max_skipped)
        return self._train

    def val_dataloader(self) -> Any:
        """The validation split in a fixed order (none when the dataset has no such split)."""
        if self.val_split is None:
            return []
        return StreamingLoader(self._stream(self.val_split, False), self.num_workers, self.max_skipped)

    @property
    def skipped(self) -> int:
        """Training samples skipped so far (corrupt or missing)."""
        return self._train.skipped if self._train is not None else 0

    def rows(self, split: str = "train", columns: Sequence[str] | None = None) -> dict[str, Tensor]:
        """Every row of ``split`` in memory (the data contract's ``rows``), of ``columns`` only when given.

        Only the named columns are decoded: ID-GEN keeps the rows of the variables its network copies or
        resamples this way, without decoding the images it streams.
        """
        splits = shard_splits(self.manifest)
        if split not in splits:
            raise DataError(f"the dataset at {self.data!r} has no split {split!r}; it has {listing(splits)}")
        unknown = [v for v in columns or () if v not in self.variables]
        if unknown:
            raise DataError(
                f"the dataset at {self.data!r} has no variable {unknown[0]!r}; it has {listing(self.variables)}"
            )
        stream = self._stream(split, False, columns)
        rows, skipped = stream.every_row()
        limit = skipped_limit(self.max_skipped, stream.rows)
        if skipped > limit:
            raise DataError(
                f"{skipped} samples of split {split!r} at {self.data!r} could not be read, past the limit of {limit} "
                "(max_skipped); see the warnings for which"
            )
        return rows


def _declared(name: str, config: Any, found: VariableSpec, graph: str | Path) -> VariableSpec:
    """A graph file's declaration of a stored column: only labels (``categories``) may be added."""
    if isinstance(config, dict) and config.get("categories") and found.is_discrete:
        categories = tuple(str(c) for c in config["categories"])
        if len(categories) != found.classes:
            raise DataError(
                f"graph file {str(graph)!r} gives {name!r} {len(categories)} categories; the data has {found.classes}"
            )
        return VariableSpec(name, found.kind, classes=found.classes, categories=categories)
    return found
