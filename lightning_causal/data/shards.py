"""Datasets as webdataset shards: POSIX tar files of samples, with a JSON manifest.

The format is webdataset's (https://github.com/webdataset/webdataset): every row is one sample,
stored as tar members that share a key, ``<key>.<field>``. A continuous variable ``X`` is the field
``X.npy`` (a float32 ``(dim,)`` array in NumPy's ``.npy`` format), a discrete one is ``X.cls`` (the
class code as ASCII digits, webdataset's convention for labels), an image is ``X.npy`` too (its
``(C, H, W)`` array in the variable's dtype, uint8 or float32, lossless). Keys are the row numbers, nine
digits, so the shards of a dataset list its rows in order. ``wds.WebDataset(urls).decode()``
reads them as they are; :func:`read_shards` reads a whole dataset back into tensors, and
:class:`ShardRows` is a dataset folder as a :class:`~lightning_causal.data.RowSource`.

A dataset is a folder::

    manifest.json        {"format": "lightning-causal/shards/1", "rows": N, "columns": {...}, "shards": [...]}
    shard-000000.tar     rows 0 .. shard_rows - 1
    shard-000001.tar     ...

Every shard is written atomically (a complete file or none) and the manifest last, so a folder
with a manifest is a complete dataset, and a writer interrupted half-way can keep the shards it
finished. ID-GEN writes its generated datasets this way; the streaming data modules read the same
format.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from lightning_causal.errors import DataError
from lightning_causal.files import atomic_write
from lightning_causal.variables.spec import VariableSpec

__all__ = [
    "SHARD_FORMAT",
    "ShardRows",
    "column_entries",
    "column_specs",
    "field_name",
    "read_manifest",
    "read_shard",
    "read_shards",
    "shard_name",
    "write_manifest",
    "write_shard",
]

SHARD_FORMAT = "lightning-causal/shards/1"
MANIFEST = "manifest.json"


def field_name(spec: VariableSpec) -> str:
    """The tar member suffix of a variable: ``name.npy`` (continuous) or ``name.cls`` (discrete)."""
    return f"{spec.name}.cls" if spec.is_discrete else f"{spec.name}.npy"


def shard_name(index: int) -> str:
    """The file name of shard ``index``."""
    return f"shard-{index:06d}.tar"


def _npy(row: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, row, allow_pickle=False)
    return buffer.getvalue()


def write_shard(
    path: str | Path, columns: Mapping[str, Tensor], variables: Mapping[str, VariableSpec], first_row: int
) -> int:
    """Write the rows of ``columns`` as webdataset samples (keys from ``first_row``), atomically.

    Returns the number of rows written.
    """
    names = list(columns)
    arrays = {}
    for name in names:
        value = columns[name].detach().cpu()
        spec = variables[name]
        if spec.is_discrete:
            arrays[name] = value.long().numpy()
        elif spec.is_image:
            arrays[name] = (value.to(torch.uint8) if spec.dtype == "uint8" else value.float()).numpy()
        else:
            arrays[name] = value.float().reshape(len(value), -1).numpy()
    n = len(arrays[names[0]]) if names else 0
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for i in range(n):
            key = f"{first_row + i:09d}"
            for name in names:
                spec = variables[name]
                data = str(int(arrays[name][i])).encode() if spec.is_discrete else _npy(arrays[name][i])
                info = tarfile.TarInfo(f"{key}.{field_name(spec)}")
                info.size = len(data)
                info.mode = 0o444
                tar.addfile(info, io.BytesIO(data))
    atomic_write(path, buffer.getvalue())
    return n


def column_entries(variables: Mapping[str, VariableSpec]) -> dict[str, dict[str, Any]]:
    """The manifest's ``columns``: per variable its field suffix, type, and classes or dimension."""
    columns = {}
    for name, spec in variables.items():
        entry: dict[str, Any] = {"field": field_name(spec).split(".", 1)[1], "type": spec.kind}
        if spec.is_discrete:
            entry["classes"] = spec.classes
        elif spec.is_image:
            entry["shape"] = list(spec.image_shape)
            entry["dtype"] = spec.dtype
        else:
            entry["dim"] = spec.dim
        columns[name] = entry
    return columns


def column_specs(columns: Mapping[str, Mapping[str, Any]]) -> dict[str, VariableSpec]:
    """The specs a manifest's ``columns`` describe (the inverse of :func:`column_entries`; no statistics)."""
    specs = {}
    for name, entry in columns.items():
        kind = entry.get("type")
        if kind == "image":
            c, h, w = entry["shape"]
            specs[name] = VariableSpec(name, "image", channels=c, height=h, width=w, dtype=entry.get("dtype"))
        elif kind in ("categorical", "binary"):
            specs[name] = VariableSpec(name, kind, classes=int(entry.get("classes", 2)))
        else:
            specs[name] = VariableSpec(name, "continuous", dim=int(entry.get("dim", 1)))
    return specs


def write_manifest(
    folder: str | Path,
    variables: Mapping[str, VariableSpec],
    shards: Sequence[tuple[str, int]],
    **extra: Any,
) -> Path:
    """Write the manifest of a finished dataset: its columns and its shards ``(file name, rows)``."""
    manifest = {
        "format": SHARD_FORMAT,
        "rows": sum(rows for _, rows in shards),
        "columns": column_entries(variables),
        "shards": [{"file": name, "rows": rows} for name, rows in shards],
        **extra,
    }
    return atomic_write(Path(folder) / MANIFEST, json.dumps(manifest, indent=2) + "\n")


def read_manifest(folder: str | Path) -> dict[str, Any] | None:
    """The manifest of a dataset folder, or ``None`` when the dataset is not (completely) written."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise DataError(
            f"dataset manifest {str(path)!r} cannot be read ({err}); delete the folder to regenerate"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != SHARD_FORMAT:
        raise DataError(f"{str(path)!r} is not a {SHARD_FORMAT} manifest; delete the folder to regenerate")
    return manifest


def read_shards(folder: str | Path) -> dict[str, Tensor]:
    """A whole dataset as ``{variable: tensor}`` (float32 ``(rows, dim)``, int64 ``(rows,)`` or images
    ``(rows, C, H, W)``), rows in order."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        raise DataError(f"{str(folder)!r} holds no finished dataset (no {MANIFEST}); generate it first")
    columns: dict[str, Any] = manifest["columns"]
    parts = [read_shard(folder / shard["file"], columns, shard["rows"]) for shard in manifest["shards"]]
    return {name: torch.cat([part[name] for part in parts]) for name in columns}


def read_shard(path: Path, columns: Mapping[str, Any], rows: int) -> dict[str, Tensor]:
    """One shard's ``rows`` rows of the ``columns`` (manifest entries, see :func:`column_entries`) as tensors."""
    if not path.is_file():
        raise DataError(f"shard {str(path)!r} listed in the manifest is missing; delete the folder to regenerate")
    values: dict[str, list[Any]] = {name: [] for name in columns}
    seen = 0
    with tarfile.open(path, mode="r") as tar:
        for member in tar:
            _, _, field = member.name.partition(".")
            name, _, suffix = field.rpartition(".")
            if name not in columns:
                continue
            handle = tar.extractfile(member)
            assert handle is not None
            data = handle.read()
            if suffix == "cls":
                values[name].append(int(data))
            else:
                values[name].append(np.load(io.BytesIO(data), allow_pickle=False))
            seen += 1
    if seen != rows * len(columns):
        raise DataError(
            f"shard {str(path)!r} holds {seen // max(1, len(columns))} rows, the manifest says {rows}; "
            "delete the folder to regenerate"
        )
    out: dict[str, Tensor] = {}
    for name, entry in columns.items():
        if entry["field"] == "cls":
            out[name] = torch.tensor(values[name], dtype=torch.long)
        elif entry.get("type") == "image":
            dtype = np.uint8 if entry.get("dtype") == "uint8" else np.float32
            stacked = np.stack(values[name]).astype(dtype) if values[name] else np.zeros((0, *entry["shape"]), dtype)
            out[name] = torch.from_numpy(stacked.reshape(len(values[name]), *entry["shape"]))
        else:
            out[name] = torch.from_numpy(np.stack(values[name]).astype(np.float32).reshape(len(values[name]), -1))
    return out


class ShardRows:
    """A finished dataset folder as a :class:`~lightning_causal.data.RowSource` (its rows are the ``train`` split).

    Args:
        folder: the dataset folder (shards and ``manifest.json``).
        variables: the variables' specs (default: read off the manifest's column types, without statistics).
    """

    def __init__(self, folder: str | Path, variables: Mapping[str, VariableSpec] | None = None) -> None:
        self.folder = Path(folder)
        manifest = read_manifest(self.folder)
        if manifest is None:
            raise DataError(f"{str(self.folder)!r} holds no finished dataset (no {MANIFEST}); generate it first")
        self.manifest = manifest
        self.variables = dict(variables) if variables is not None else column_specs(manifest["columns"])

    def rows(self, split: str = "train") -> dict[str, Tensor]:
        """Every row of the dataset (its one split, ``train``)."""
        if split != "train":
            raise DataError(f"the dataset {str(self.folder)!r} has one split, 'train'; asked for {split!r}")
        return read_shards(self.folder)
