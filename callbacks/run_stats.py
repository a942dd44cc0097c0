"""What a run's logs need beside its losses: throughput, peak memory and the learning rate.

:class:`RunStats` times the optimizer steps between two logs (Lightning's ``log_every_n_steps``)
and logs (from rank 0; rates are for all ranks together):

* ``perf/rows_per_s``: training rows per second;
* ``perf/images_per_s``: images per second (rows/s times the number of image variables), when any;
* ``perf/peak_memory_mb``: the peak memory of this rank: the accelerator's allocated memory on a GPU,
  the process's peak resident memory on a CPU;
* ``train/lr``: the learning rate of each optimizer's first parameter group (``train/lr_<i>`` for more).

The time between two logs includes data loading, the step and every callback; validation runs are
left out. ``lightning-causal fit`` adds this callback to every Trainer it builds.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

__all__ = ["RunStats", "peak_memory_mb"]


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory in MiB: allocated on a CUDA device, the peak resident set of this process otherwise."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


def _rows(batch: Any) -> int:
    if isinstance(batch, Mapping) and batch:
        return _rows(next(iter(batch.values())))
    if isinstance(batch, list | tuple) and batch:
        return _rows(batch[0])
    if isinstance(batch, torch.Tensor) and batch.dim() > 0:
        return int(batch.shape[0])
    return 0


class RunStats(Callback):
    """Log rows/s, images/s, peak memory and the learning rate every ``log_every_n_steps`` (module docstring)."""

    def __init__(self) -> None:
        self._rows = 0
        self._since: float | None = None
        self._paused = 0.0

    def _images(self, pl_module: L.LightningModule) -> int:
        variables = getattr(pl_module, "variables", None)
        if not isinstance(variables, Mapping):
            return 0
        return sum(1 for spec in variables.values() if getattr(spec, "is_image", False))

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, *_: Any) -> None:
        if self._since is None:
            self._since = time.perf_counter()
        self._rows += _rows(batch)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._paused = time.perf_counter()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._since is not None:
            self._since += time.perf_counter() - self._paused

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *_: Any) -> None:
        if self._since is None or trainer.global_step % max(1, int(getattr(trainer, "log_every_n_steps", 50))):
            return
        elapsed = max(time.perf_counter() - self._since, 1e-9)
        rows_per_s = self._rows / elapsed * trainer.world_size  # every rank's share of the global batch
        values = {"perf/rows_per_s": rows_per_s, "perf/peak_memory_mb": peak_memory_mb(pl_module.device)}
        images = self._images(pl_module)
        if images:
            values["perf/images_per_s"] = rows_per_s * images
        for i, optimizer in enumerate(trainer.optimizers):
            values["train/lr" if i == 0 else f"train/lr_{i}"] = float(optimizer.param_groups[0]["lr"])
        pl_module.log_dict(values, on_step=True, on_epoch=False, rank_zero_only=True)
        self._rows, self._since = 0, time.perf_counter()
