"""Writing files so that nothing is ever half-written: a temporary file beside the target, then a rename.

The result has the permissions a plain ``open(path, "w")`` would give: those of the file it
replaces, or ``0o666`` less the process umask for a new file (``mkstemp`` alone would leave 0600).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from lightning_causal.errors import ConfigError, listing

__all__ = ["atomic_write", "check_output_path"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_output_path(path: str | Path, suffixes: tuple[str, ...] = (), what: str = "output") -> Path:
    """``path`` as an output file: not a folder, its suffix one of ``suffixes`` (any when empty).

    Commands call it before their work starts, so a bad ``--out`` is refused at once, not after
    minutes of sampling. Raises :class:`ConfigError` naming the path and what to give.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{what} {str(path)!r} is a folder; give a file name")
    if suffixes and not path.name.lower().endswith(tuple(s.lower() for s in suffixes)):
        raise ConfigError(f"{what} {str(path)!r}: unknown suffix {path.suffix!r}; use {listing(suffixes)}")
    for folder in path.parents:  # the nearest existing folder above must be a folder
        if folder.exists():
            if not folder.is_dir():
                raise ConfigError(f"{what} {str(path)!r}: {str(folder)!r} is a file, not a folder")
            break
    return path


def atomic_write(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename: never half-written."""
    path = check_output_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
