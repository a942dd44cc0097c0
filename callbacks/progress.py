"""One progress bar over the whole run, counted in optimizer steps.

Lightning's default bar restarts at every epoch; a DCM run on 5000 rows has hundreds of short
epochs (training is budgeted in steps, ``max_steps``), so the default prints hundreds of bars and
a validation bar at every check. This bar counts ``trainer.global_step`` up to the run's total
(``max_steps``, or what ``max_epochs`` implies), starts where a resumed run left off, and keeps
validation silent: its loss shows in the bar's postfix.
"""

from __future__ import annotations

import sys
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.callbacks.progress.tqdm_progress import Tqdm

__all__ = ["StepProgressBar"]


class StepProgressBar(TQDMProgressBar):
    """A :class:`~lightning.pytorch.callbacks.TQDMProgressBar` over optimizer steps, not epochs.

    Args:
        refresh_rate: redraw every this many steps.
        leave: keep the finished bar on screen.
    """

    def __init__(self, refresh_rate: int = 50, leave: bool = True) -> None:
        # leave=False for the parent: it would otherwise close and reopen the bar at every epoch end
        super().__init__(refresh_rate=refresh_rate, leave=False)
        self._keep = leave

    def init_train_tqdm(self) -> Tqdm:
        trainer = self.trainer
        total = trainer.estimated_stepping_batches
        return Tqdm(
            desc="Training",
            total=int(total) if total != float("inf") else None,
            initial=trainer.global_step,  # a resumed run starts where it left off
            position=2 * self.process_position,
            disable=self.is_disabled,
            leave=self._keep,
            dynamic_ncols=True,
            file=sys.stdout,
            smoothing=0,
            bar_format=self.BAR_FORMAT,
        )

    def init_validation_tqdm(self) -> Tqdm:
        return Tqdm(disable=True)

    def init_sanity_tqdm(self) -> Tqdm:
        return Tqdm(disable=True)

    def on_train_epoch_start(self, *_: Any) -> None:
        pass  # one bar for the whole run: never reset per epoch

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *_: Any) -> None:
        bar = self.train_progress_bar
        step = trainer.global_step
        if not bar.disable and (step % self.refresh_rate == 0 or step == bar.total):
            bar.n = step
            bar.set_postfix(self.get_metrics(trainer, pl_module))

    def on_train_end(self, *_: Any) -> None:
        bar = self.train_progress_bar
        if not bar.disable and bar.total is not None:
            bar.n = min(bar.n, bar.total)
        bar.close()
