"""This process's rank, as its launcher set it, before any Trainer or process group exists.

srun sets ``SLURM_PROCID``, torchrun ``RANK``; a process started alone is rank 0. ID-GEN and the
commands need it outside any Trainer: one rank writes the run folder's files and requeues a job.
"""

from __future__ import annotations

import os

__all__ = ["global_rank"]


def _first_int(keys: tuple[str, ...], default: int) -> int:
    for key in keys:
        if os.environ.get(key, "").isdigit():
            return int(os.environ[key])
    return default


def global_rank() -> int:
    """This process's rank (torchrun's ``RANK``, SLURM's ``SLURM_PROCID``); 0 alone."""
    return _first_int(("RANK", "SLURM_PROCID", "LOCAL_RANK"), 0)
