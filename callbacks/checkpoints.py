"""Two checkpoints, two meanings: ``last.ckpt``, the latest training state, and ``best.ckpt``, the lowest val loss.

Lightning's :class:`~lightning.pytorch.callbacks.ModelCheckpoint` with ``monitor`` and ``save_last``
writes ``last.ckpt`` only at a step where it also writes a top-k checkpoint (Lightning 2.6): a run
whose validation loss was best early keeps a ``last.ckpt`` from then, and resuming from it restarts
thousands of steps back. The shipped configs keep the two apart:

* :class:`LatestCheckpoint` writes ``last.ckpt`` every ``every_n_train_steps`` steps and when
  training ends, whatever the validation loss: the state to resume from;
* :class:`BestCheckpoint` keeps ``best.ckpt``, the weights of the lowest ``val/loss``: the model to
  query.

Both write to ``<trainer.default_root_dir>/checkpoints/`` unless given a folder (the same folder in
a resumed or requeued run; Lightning's default would be a new ``lightning_logs/version_<n>``), and
both write atomically on a local file system (the checkpoint goes to a temporary file in the same
folder, is flushed to disk and renamed over the old one), so a process killed while saving leaves
the previous checkpoint whole, never a truncated one.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint

__all__ = ["BestCheckpoint", "LatestCheckpoint"]


def _is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


class _AtomicCheckpoint(ModelCheckpoint):
    """A :class:`ModelCheckpoint` whose local files are replaced atomically, by default in ``<root>/checkpoints``."""

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Without a ``dirpath``: the run folder's ``checkpoints/`` (Lightning's default, the logger's folder,
        changes with every resumed run: ``version_0``, ``version_1``, ...)."""
        if self.dirpath is None:
            self.dirpath = str(Path(trainer.default_root_dir) / "checkpoints")
        super().setup(trainer, pl_module, stage)

    def _save_checkpoint(self, trainer: L.Trainer, filepath: str) -> None:
        if not _is_local(filepath):
            super()._save_checkpoint(trainer, filepath)
            return
        target = Path(filepath.removeprefix("file://"))
        temporary = target.with_name(f".{target.name}.partial")
        super()._save_checkpoint(trainer, str(temporary))
        if trainer.is_global_zero:
            with open(temporary, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(temporary, target)
        trainer.strategy.barrier("checkpoint renamed")
        self._last_checkpoint_saved = filepath


class LatestCheckpoint(_AtomicCheckpoint):
    """``last.ckpt``: the latest training state, for resuming (``fit --ckpt_path .../last.ckpt``).

    Written every ``every_n_train_steps`` optimizer steps (or every ``train_time_interval``) and once
    more when training ends, so it always holds the step training reached; no other file is kept.

    Args:
        dirpath: the folder (default: ``checkpoints/`` in the Trainer's ``default_root_dir``).
        every_n_train_steps: steps between two saves.
        train_time_interval: a time between two saves instead of a number of steps.
    """

    def __init__(
        self,
        dirpath: str | Path | None = None,
        every_n_train_steps: int | None = 500,
        train_time_interval: timedelta | None = None,
    ) -> None:
        super().__init__(
            dirpath=dirpath,
            save_last=True,
            save_top_k=0,
            every_n_train_steps=None if train_time_interval is not None else every_n_train_steps,
            train_time_interval=train_time_interval,
        )

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """After a validation at a step this callback saved at (before the validation ran), save again.

        Lightning resumes such a step without validating it again, so what the validation changed
        (a stopping rule's counters, the best score so far) must be in the checkpoint.
        """
        if trainer.sanity_checking or trainer.state.fn != "fit":
            return
        if self._last_global_step_saved == trainer.global_step and trainer.global_step > 0:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        else:
            super().on_validation_end(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Save the step training ended at, unless the last periodic save already holds it."""
        if self._last_global_step_saved != trainer.global_step and not trainer.sanity_checking:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))


class BestCheckpoint(_AtomicCheckpoint):
    """``best.ckpt``: the weights of the lowest ``monitor`` value (default ``val/loss``), for querying.

    Args:
        dirpath: the folder (default: ``checkpoints/`` in the Trainer's ``default_root_dir``).
        monitor: the logged value to minimise.
        filename: the file's name without ``.ckpt``.
    """

    def __init__(self, dirpath: str | Path | None = None, monitor: str = "val/loss", filename: str = "best") -> None:
        super().__init__(
            dirpath=dirpath,
            monitor=monitor,
            mode="min",
            filename=filename,
            save_top_k=1,
            save_last=False,
            auto_insert_metric_name=False,
            enable_version_counter=False,
        )
