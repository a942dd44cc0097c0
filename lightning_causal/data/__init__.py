"""The data contract and the formats rows travel in: in memory, as webdataset shards, as table files.

* ``rows.py``: :class:`RowSource` (the contract: ``variables`` with statistics, ``rows(split)``),
  :class:`TensorRows` (rows in memory) and :func:`as_rows` (a user's data, checked and typed);
* ``loaders.py``: batch-fetching datasets over dicts of tensors and their resumable loaders;
* ``shards.py``: datasets as webdataset shards with a manifest (:class:`ShardRows` reads one back);
* ``table_files.py``: CSV/Parquet tables in (:class:`TableFile`, :func:`read_values`) and out
  (:func:`write_values`), image variables beside them.

Type inference and statistics follow the one rule of :mod:`lightning_causal.variables.inference`.
"""

from lightning_causal.data.loaders import (
    ResumableLoader,
    TensorDictDataset,
    ZippedDataset,
    tensor_loader,
    zipped_loader,
)
from lightning_causal.data.rows import RowSource, TensorRows, as_rows, check_rows
from lightning_causal.data.shards import ShardRows, read_shards, write_manifest, write_shard
from lightning_causal.data.table_files import OUTPUT_SUFFIXES, TableFile, read_values, write_values

__all__ = [
    "OUTPUT_SUFFIXES",
    "ResumableLoader",
    "RowSource",
    "ShardRows",
    "TableFile",
    "TensorDictDataset",
    "TensorRows",
    "ZippedDataset",
    "as_rows",
    "check_rows",
    "read_shards",
    "read_values",
    "tensor_loader",
    "write_manifest",
    "write_shard",
    "write_values",
    "zipped_loader",
]
