"""Reading a W&B run's transaction log (``run-<id>.wandb``), as ``wandb sync`` does, for tests.

wandb 0.31 no longer ships a Python reader for the file; its format is stable and small: a 7-byte
header (``:W&B``, magic 0xBEE1, version 0), then LevelDB log records in 32 KiB blocks (a 7-byte
record header: CRC-32, length, type FULL/FIRST/MIDDLE/LAST) whose payloads are
``wandb_internal_pb2.Record`` protobuf messages (the library's own classes parse them).
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wandb.proto import wandb_internal_pb2

__all__ = ["history", "read_records", "run_files"]

_BLOCK = 32 * 1024
_HEADER = 7
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def read_records(path: Path) -> Iterator[Any]:
    """Every record of a ``.wandb`` file, in order (CRC-checked)."""
    data = path.read_bytes()
    magic, bee, version = struct.unpack("<4sHB", data[:_HEADER])
    assert magic == b":W&B" and bee == 0xBEE1 and version == 0, f"{path} is not a W&B transaction log"
    pos, pending = _HEADER, b""
    while pos + _HEADER <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < _HEADER:  # a block's tail too short for a header is padding
            pos += left
            continue
        checksum, length, kind = struct.unpack("<IHB", data[pos : pos + _HEADER])
        if kind == 0 and length == 0:  # zero padding to the block's end
            pos += left
            continue
        payload = data[pos + _HEADER : pos + _HEADER + length]
        assert zlib.crc32(payload, zlib.crc32(bytes([kind]))) & 0xFFFFFFFF == checksum, f"bad CRC at {pos}"
        pos += _HEADER + length
        pending = payload if kind in (_FULL, _FIRST) else pending + payload
        if kind in (_FULL, _LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            yield record
            pending = b""


def run_files(root: Path) -> list[Path]:
    """The transaction logs of every W&B run (or resumption of one) under a run folder, oldest first."""
    return sorted(root.glob("wandb/*run-*/run-*.wandb"), key=lambda p: p.parent.name.split("-", 2)[-1])


def history(path: Path) -> list[dict[str, Any]]:
    """The rows logged to the run's history (``wandb.log``), values decoded from JSON."""
    rows = []
    for record in read_records(path):
        if record.WhichOneof("record_type") == "history":
            rows.append({(i.key or "/".join(i.nested_key)): json.loads(i.value_json) for i in record.history.item})
    return rows
