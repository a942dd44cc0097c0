"""``Preemption`` in a plain Trainer: a real SIGUSR1 stops training after the step, with that step saved."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch

from lightning_causal import preemption
from lightning_causal.callbacks import EMA, LatestCheckpoint, Preemption, StepProgressBar
from lightning_causal.callbacks.preemption import place_after_step_callbacks
from lightning_causal.preemption import Preempted
from tests.training_models import vector_dcm


class _SignalAt(L.Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: L.Trainer, *_: Any) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGUSR1)


def test_the_stop_comes_after_the_step_callbacks_and_before_the_checkpoints() -> None:
    stop, ema, bar, latest = Preemption(), EMA(), StepProgressBar(), LatestCheckpoint()
    callbacks: list[L.Callback] = [stop, latest, ema, bar]
    place_after_step_callbacks(callbacks)
    assert callbacks == [ema, bar, stop, latest]
    with pytest.raises(ValueError, match="check_every_n_steps"):
        Preemption(check_every_n_steps=0)


@pytest.mark.parametrize("latest", [True, False], ids=["latest-checkpoint", "no-checkpoint-callback"])
def test_sigusr1_stops_after_the_step_with_that_step_saved(
    tmp_path: Path, cpu_trainer: Callable[..., L.Trainer], latest: bool
) -> None:
    preemption.clear()
    model, data = vector_dcm()
    callbacks: list[L.Callback] = [_SignalAt(7), Preemption()]
    if latest:
        callbacks.append(LatestCheckpoint(every_n_train_steps=5))
    trainer = cpu_trainer(
        max_steps=50, callbacks=callbacks, default_root_dir=tmp_path, limit_val_batches=0, enable_checkpointing=True
    )
    with pytest.raises(Preempted) as stopped:
        trainer.fit(model, data)
    assert stopped.value.step == 7 and stopped.value.where == "at step 7"  # the signal came before the check
    path = tmp_path / "checkpoints" / "last.ckpt"
    assert stopped.value.checkpoint == path and torch.load(path, weights_only=True)["global_step"] == 7
    assert not preemption.received()
