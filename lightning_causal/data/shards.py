"""Datasets as webdataset shards: POSIX tar files of samples, with a JSON manifest.

The format is webdataset's (https://github.com/webdataset/webdataset): every row is one sample,
stored as tar members that share a key, ``<key>.<field>``. A continuous variable ``X`` is the field
``X.npy`` (a float32 ``(dim,)`` array in NumPy's ``.npy`` format), a discrete one is ``X.cls`` (the
class code as ASCII digits, webdataset's convention for labels). An image is ``X.npy`` (its
``(C, H, W)`` array in the variable's dtype, uint8 or float32, lossless) or, for uint8 images, an
encoded file: ``X.png`` (lossless) or ``X.jpg`` (JPEG, quality :data:`JPEG_QUALITY`; a fifth of the
size of PNG on photographs), as the column's ``codec`` says. Keys are the row numbers, nine
digits, so the shards of a dataset list its rows in order. ``wds.WebDataset(urls).decode()``
reads them as they are; :func:`read_shards` reads a whole dataset (or one split) back into tensors,
and :class:`ShardRows` is a dataset folder as a :class:`~lightning_causal.data.RowSource`.

A dataset is a folder::

    manifest.json        {"format": "lightning-causal/shards/1", "rows": N, "columns": {...}, "shards": [...]}
    shard-000000.tar     rows 0 .. shard_rows - 1
    shard-000001.tar     ...

The manifest's ``columns`` give every variable's type (and its codec statistics where known: the
mean, std, min and max of a continuous variable over the training split, which a reader
standardises with instead of scanning the data); every shard entry gives its ``file`` and ``rows``,
and may give its ``split`` (``train`` when absent; ``lightning-causal prepare`` writes ``train-*``,
``val-*`` and ``test-*`` shards) and the ``sha256`` of the file. Every shard is written
atomically (a complete file or none) and the manifest last, so a folder with a manifest is a
complete dataset, and a writer interrupted half-way can keep the shards it finished. ID-GEN writes
its generated datasets this way; ``lightning-causal prepare`` converts a data set to it, and the
streaming data module reads it.
"""

from __future__ import annotations

import hashlib
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
    "IMAGE_CODECS",
    "JPEG_QUALITY",
    "SHARD_FORMAT",
    "ShardRows",
    "column_entries",
    "column_specs",
    "decode_field",
    "encode_field",
    "field_name",
    "file_sha256",
    "read_manifest",
    "read_shard",
    "read_shards",
    "shard_name",
    "shard_splits",
    "write_manifest",
    "write_shard",
]

SHARD_FORMAT = "lightning-causal/shards/1"
MANIFEST = "manifest.json"
IMAGE_CODECS = ("npy", "png", "jpg")
"""How an image is stored: a lossless ``.npy`` array, a PNG (lossless, uint8) or a JPEG (uint8)."""
JPEG_QUALITY = 95
"""The JPEG quality images are encoded with (``codec: jpg``)."""


def field_name(spec: VariableSpec, codec: str = "npy") -> str:
    """The tar member suffix of a variable: ``name.npy`` (continuous), ``name.cls`` (discrete), or an image's codec."""
    if spec.is_discrete:
        return f"{spec.name}.cls"
    if spec.is_image:
        check_codec(spec, codec)
        return f"{spec.name}.{codec}"
    return f"{spec.name}.npy"


def check_codec(spec: VariableSpec, codec: str) -> None:
    """Refuse a codec an image variable cannot be stored with (one line naming the variable)."""
    if codec not in IMAGE_CODECS:
        raise DataError(f"image variable {spec.name!r}: unknown codec {codec!r}; use {', '.join(IMAGE_CODECS)}")
    if codec != "npy" and spec.dtype != "uint8":
        raise DataError(
            f"image variable {spec.name!r} holds {spec.dtype} pixels, which {codec} cannot store; use codec npy "
            "or declare the image uint8"
        )
    if codec != "npy" and spec.channels not in (1, 3):
        raise DataError(f"image variable {spec.name!r} has {spec.channels} channels; {codec} stores 1 or 3, use npy")


def shard_name(index: int, split: str | None = None) -> str:
    """The file name of shard ``index`` (of ``split``: ``train-000000.tar``; a single-split dataset: ``shard-...``)."""
    return f"{split or 'shard'}-{index:06d}.tar"


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _npy(row: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, row, allow_pickle=False)
    return buffer.getvalue()


def encode_field(value: Any, suffix: str) -> bytes:
    """One row's value as the bytes of a tar member with ``suffix`` (``cls``, ``npy``, ``png`` or ``jpg``)."""
    if suffix == "cls":
        return str(int(value)).encode()
    if suffix == "npy":
        return _npy(np.asarray(value))
    from PIL import Image

    pixels = np.asarray(value, dtype=np.uint8)  # (C, H, W)
    image = Image.fromarray(pixels[0] if pixels.shape[0] == 1 else np.ascontiguousarray(pixels.transpose(1, 2, 0)))
    buffer = io.BytesIO()
    if suffix == "png":
        image.save(buffer, format="PNG", compress_level=1)
    else:
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def decode_field(data: bytes, suffix: str, channels: int | None = None) -> Any:
    """The value of a tar member's bytes: an int (``cls``), an array (``npy``), or ``(C, H, W)`` uint8 pixels.

    Raises ``ValueError`` (or PIL's errors) for bytes that do not decode; readers decide to skip or fail.
    """
    if suffix == "cls":
        return int(data)
    if suffix == "npy":
        return np.load(io.BytesIO(data), allow_pickle=False)
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        mode = "L" if channels == 1 else "RGB"
        pixels = np.asarray(image.convert(mode) if image.mode != mode else image)
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


def write_shard(
    path: str | Path,
    columns: Mapping[str, Tensor],
    variables: Mapping[str, VariableSpec],
    first_row: int,
    codecs: Mapping[str, str] | None = None,
    keys: Sequence[int] | None = None,
) -> int:
    """Write the rows of ``columns`` as webdataset samples (keys from ``first_row``), atomically.

    ``codecs`` gives image variables their codec (default ``npy``); ``keys`` gives every row its key
    instead (rows skipped by a conversion leave gaps). Returns the number of rows written.
    """
    codecs = dict(codecs or {})
    names = list(columns)
    suffixes = {name: field_name(variables[name], codecs.get(name, "npy")).rsplit(".", 1)[1] for name in names}
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
            key = f"{first_row + i if keys is None else keys[i]:09d}"
            for name in names:
                data = encode_field(arrays[name][i], suffixes[name])
                info = tarfile.TarInfo(f"{key}.{name}.{suffixes[name]}")
                info.size = len(data)
                info.mode = 0o444
                tar.addfile(info, io.BytesIO(data))
    atomic_write(path, buffer.getvalue())
    return n


_STATISTICS = ("mean", "std", "low", "high")


def column_entries(
    variables: Mapping[str, VariableSpec], codecs: Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """The manifest's ``columns``: per variable its field suffix, type, classes or dimension, and statistics."""
    codecs = dict(codecs or {})
    columns = {}
    for name, spec in variables.items():
        field = field_name(spec, codecs.get(name, "npy")).rsplit(".", 1)[1]
        entry: dict[str, Any] = {"field": field, "type": spec.kind}
        if spec.is_discrete:
            entry["classes"] = spec.classes
            if spec.categories:
                entry["categories"] = list(spec.categories)
        elif spec.is_image:
            entry["shape"] = list(spec.image_shape)
            entry["dtype"] = spec.dtype
        else:
            entry["dim"] = spec.dim
            for key in _STATISTICS:
                value = getattr(spec, key)
                if value is not None:
                    entry[key] = [float(v) for v in value]
        columns[name] = entry
    return columns


def column_specs(columns: Mapping[str, Mapping[str, Any]]) -> dict[str, VariableSpec]:
    """The specs a manifest's ``columns`` describe (the inverse of :func:`column_entries`, statistics included)."""
    specs = {}
    for name, entry in columns.items():
        kind = entry.get("type")
        if kind == "image":
            c, h, w = entry["shape"]
            specs[name] = VariableSpec(name, "image", channels=c, height=h, width=w, dtype=entry.get("dtype"))
        elif kind in ("categorical", "binary"):
            categories = entry.get("categories")
            specs[name] = VariableSpec(
                name, kind, classes=int(entry.get("classes", 2)), categories=tuple(categories) if categories else None
            )
        else:
            stats = {key: tuple(float(v) for v in entry[key]) if key in entry else None for key in _STATISTICS}
            specs[name] = VariableSpec(
                name,
                "continuous",
                dim=int(entry.get("dim", 1)),
                mean=stats["mean"],
                std=stats["std"],
                low=stats["low"],
                high=stats["high"],
            )
    return specs


def write_manifest(
    folder: str | Path,
    variables: Mapping[str, VariableSpec],
    shards: Sequence[tuple[str, int] | Mapping[str, Any]],
    codecs: Mapping[str, str] | None = None,
    **extra: Any,
) -> Path:
    """Write the manifest of a finished dataset: its columns and its shards.

    A shard is ``(file name, rows)`` or an entry ``{"file", "rows"[, "split", "sha256", ...]}``.
    """
    entries: list[dict[str, Any]] = [
        dict(s) if isinstance(s, Mapping) else {"file": s[0], "rows": s[1]} for s in shards
    ]
    manifest = {
        "format": SHARD_FORMAT,
        "rows": sum(int(e["rows"]) for e in entries),
        "columns": column_entries(variables, codecs),
        "shards": entries,
        **extra,
    }
    return atomic_write(Path(folder) / MANIFEST, json.dumps(manifest, indent=2) + "\n")


def shard_splits(manifest: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """A manifest's shard entries by split, in file order (entries without a split are ``train``)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for entry in manifest["shards"]:
        out.setdefault(str(entry.get("split", "train")), []).append(dict(entry))
    return out


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


def read_shards(
    folder: str | Path, split: str | None = None, columns: Sequence[str] | None = None
) -> dict[str, Tensor]:
    """A whole dataset (or its ``split``) as ``{variable: tensor}`` (float32 ``(rows, dim)``, int64 ``(rows,)``
    or images ``(rows, C, H, W)``), rows in order; only the named ``columns`` when given (the others are
    not decoded)."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        raise DataError(f"{str(folder)!r} holds no finished dataset (no {MANIFEST}); generate it first")
    columns_of: dict[str, Any] = manifest["columns"]
    unknown = [c for c in columns or () if c not in columns_of]
    if unknown:
        raise DataError(f"the dataset {str(folder)!r} has no column {unknown[0]!r}; it has {', '.join(columns_of)}")
    columns_in: dict[str, Any] = columns_of if columns is None else {c: columns_of[c] for c in columns}
    shards = manifest["shards"]
    if split is not None:
        splits = shard_splits(manifest)
        if split not in splits:
            raise DataError(f"the dataset {str(folder)!r} has no split {split!r}; it has {', '.join(splits)}")
        shards = splits[split]
    parts = [read_shard(folder / shard["file"], columns_in, shard["rows"]) for shard in shards]
    if not parts:
        return {name: read_shard_empty(entry) for name, entry in columns_in.items()}
    return {name: torch.cat([part[name] for part in parts]) for name in columns_in}


def read_shard_empty(entry: Mapping[str, Any]) -> Tensor:
    """No rows of a column (a dataset without shards)."""
    if entry["field"] == "cls":
        return torch.zeros(0, dtype=torch.long)
    if entry.get("type") == "image":
        return torch.zeros((0, *entry["shape"]), dtype=torch.uint8 if entry.get("dtype") == "uint8" else torch.float32)
    return torch.zeros(0, int(entry.get("dim", 1)))


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
            try:
                values[name].append(decode_field(data, suffix, columns[name].get("shape", [None])[0]))
            except Exception as err:  # a damaged member of a finished dataset: never read silently
                raise DataError(
                    f"shard {str(path)!r}: member {member.name!r} does not decode ({type(err).__name__}); "
                    "delete the folder to regenerate"
                ) from None
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
    """A finished dataset folder as a :class:`~lightning_causal.data.RowSource`, read whole into memory.

    Args:
        folder: the dataset folder (shards and ``manifest.json``).
        variables: the variables' specs (default: the manifest's column types, with its statistics where given).
    """

    def __init__(self, folder: str | Path, variables: Mapping[str, VariableSpec] | None = None) -> None:
        self.folder = Path(folder)
        manifest = read_manifest(self.folder)
        if manifest is None:
            raise DataError(f"{str(self.folder)!r} holds no finished dataset (no {MANIFEST}); generate it first")
        self.manifest = manifest
        self.variables = dict(variables) if variables is not None else column_specs(manifest["columns"])

    def rows(self, split: str = "train") -> dict[str, Tensor]:
        """Every row of ``split`` (a generated dataset has one, ``train``)."""
        return read_shards(self.folder, split)
