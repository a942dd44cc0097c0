"""Damage a shard of a dataset the ways a stream meets in practice: truncated, vanished, a corrupt or missing member."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

__all__ = ["damage"]


def damage(folder: Path, file: str, how: str) -> None:
    """``how``: ``truncate`` (half the file), ``vanish`` (deleted), ``corrupt`` (the second member's bytes) or
    ``missing`` (the second member left out)."""
    path = folder / file
    if how == "truncate":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif how == "vanish":
        path.unlink()
    else:  # rewrite one member: a corrupt value or a missing variable
        members = []
        with tarfile.open(path) as tar:
            for m in tar:
                members.append((m, tar.extractfile(m).read()))  # type: ignore[union-attr]
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for k, (m, payload) in enumerate(members):
                if k == 1 and how == "missing":
                    continue
                if k == 1 and how == "corrupt":
                    payload = b"not an npy file"
                info = tarfile.TarInfo(m.name)
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
        path.write_bytes(buffer.getvalue())
