"""This process's rank, as its launcher set it, before any Trainer or process group exists.

srun sets ``SLURM_PROCID``, torchrun ``RANK``; a process started alone is rank 0. ID-GEN and the
commands need it outside any Trainer: one rank writes the run folder's files and requeues a job.
"""

from __future__ import annotations

import os

__all__ = ["global_rank", "sum_over_ranks"]


def _first_int(keys: tuple[str, ...], default: int) -> int:
    for key in keys:
        if os.environ.get(key, "").isdigit():
            return int(os.environ[key])
    return default


def global_rank() -> int:
    """This process's rank (torchrun's ``RANK``, SLURM's ``SLURM_PROCID``); 0 alone."""
    return _first_int(("RANK", "SLURM_PROCID", "LOCAL_RANK"), 0)


def sum_over_ranks(value: int) -> int:
    """``value`` summed over the ranks of the process group (every rank must call it), or itself alone."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return value
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else None
    total = torch.tensor([value], dtype=torch.long, device=device)
    dist.all_reduce(total)
    return int(total.item())
