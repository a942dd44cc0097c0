"""Stop a Trainer at a step boundary on SIGUSR1, with ``last.ckpt`` holding that step.

:class:`Preemption` asks at the end of every optimizer step whether any rank has received the
preemption signal (:mod:`lightning_causal.preemption`; one all-reduce of one number where several
ranks train). When one has, every rank stops after the same step: the latest checkpoint is written
(through the Trainer's :class:`~lightning_causal.callbacks.LatestCheckpoint`, atomically) and
:class:`~lightning_causal.preemption.Preempted` is raised, which ``lightning-causal fit`` turns into
a requeue of the SLURM job. Resuming from that checkpoint continues exactly: it is written where the
periodic ``last.ckpt`` is (after the step, before any validation of that step), so weights, EMA,
optimizer, scheduler, data position and noise are those an uninterrupted run has there.

``lightning-causal fit`` adds this callback to every Trainer it builds (the config need not name it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback, Checkpoint, ModelCheckpoint

from lightning_causal.callbacks.checkpoints import LatestCheckpoint, _AtomicCheckpoint
from lightning_causal.preemption import received_anywhere, stop, watch

__all__ = ["Preemption", "place_after_step_callbacks"]


class Preemption(Callback):
    """Stop every rank after the step in which any received SIGUSR1, ``last.ckpt`` written.

    Callbacks run in their list's order (checkpoint callbacks last): this one must come after
    those that update state at the end of a step (the EMA), or the checkpoint would miss that
    step's update. :func:`place_after_step_callbacks` puts it there; the CLI and ID-GEN's stages do.

    Args:
        check_every_n_steps: steps between two checks (each check is one small all-reduce with
            several ranks; with one rank it only reads a flag).
    """

    def __init__(self, check_every_n_steps: int = 1) -> None:
        if check_every_n_steps < 1:
            raise ValueError(f"check_every_n_steps must be >= 1, got {check_every_n_steps}")
        self.check_every_n_steps = check_every_n_steps

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        watch()  # before Lightning registers its handlers: it then leaves SIGUSR1 to this one

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        if trainer.global_step % self.check_every_n_steps or not received_anywhere():
            return
        path = _save_latest(trainer)
        raise stop(f"at step {trainer.global_step}", path, trainer.global_step)


def place_after_step_callbacks(callbacks: list[Callback]) -> None:
    """Order a Trainer's ``callbacks``: the others, then every :class:`Preemption`, then the checkpoint callbacks."""
    stops: list[Callback] = [c for c in callbacks if isinstance(c, Preemption)]
    checkpoints: list[Callback] = [c for c in callbacks if isinstance(c, Checkpoint)]
    others: list[Callback] = [c for c in callbacks if not isinstance(c, Preemption | Checkpoint)]
    callbacks[:] = others + stops + checkpoints


def _save_latest(trainer: L.Trainer) -> Path:
    """Write the latest state where the Trainer keeps ``last.ckpt`` (its own atomic file otherwise); its path."""
    callbacks = [c for c in trainer.checkpoint_callbacks if isinstance(c, ModelCheckpoint)]
    latest: _AtomicCheckpoint | None = next((c for c in callbacks if isinstance(c, LatestCheckpoint)), None)
    latest = latest or next((c for c in callbacks if c.save_last and isinstance(c, _AtomicCheckpoint)), None)
    if latest is not None and latest.dirpath is not None:
        if latest._last_global_step_saved != trainer.global_step or not Path(latest.last_model_path).is_file():
            latest._save_last_checkpoint(trainer, latest._monitor_candidates(trainer))
        return Path(latest.last_model_path)
    fallback = LatestCheckpoint(dirpath=Path(trainer.default_root_dir) / "checkpoints")
    path = Path(fallback.dirpath or ".") / "last.ckpt"
    fallback._save_checkpoint(trainer, str(path))
    return path
