"""The latest and the best checkpoint: two files, two meanings, each written whole.

Checks ``lightning_causal.callbacks.checkpoints`` with a real Trainer on a module whose validation
loss is best early by construction (its weight climbs by a fixed step; the loss is the distance to
a point it passes early): ``last.ckpt`` holds the step training reached, ``best.ckpt`` the best
step, resuming from ``last.ckpt`` continues where training stopped and ends as an uninterrupted run
does, and processes killed (SIGKILL) while saving never leave a ``last.ckpt`` that does not load.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_causal.callbacks import BestCheckpoint, LatestCheckpoint

TARGET = 0.5  # the validation loss is (w - TARGET)^2; w climbs by LR per step, so the best step is TARGET / LR
LR = 0.1


class Climber(L.LightningModule):
    """One weight that climbs by ``LR`` each step (loss -w with SGD), and ballast that makes checkpoints large."""

    def __init__(self, ballast: int = 1) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.register_buffer("ballast", torch.zeros(ballast))

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return -self.w * batch[0].mean()

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val/loss", (self.w.detach() - TARGET) ** 2)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=LR)


def _data() -> DataLoader[Any]:
    return DataLoader(TensorDataset(torch.ones(8, 1)), batch_size=1)  # 8 steps per epoch


def _fit(
    cpu_trainer: Callable[..., L.Trainer], root: Path, max_steps: int, ckpt_path: str | None = None, ballast: int = 1
) -> tuple[Climber, L.Trainer]:
    model = Climber(ballast)
    trainer = cpu_trainer(
        max_steps=max_steps,
        val_check_interval=5,
        check_val_every_n_epoch=None,
        enable_checkpointing=True,
        default_root_dir=root,
        callbacks=[BestCheckpoint(dirpath=root), LatestCheckpoint(dirpath=root, every_n_train_steps=10)],
    )
    trainer.fit(model, train_dataloaders=_data(), val_dataloaders=_data(), ckpt_path=ckpt_path)
    return model, trainer


def _step(path: Path) -> int:
    return int(torch.load(path, map_location="cpu", weights_only=False)["global_step"])


def test_last_holds_the_step_training_reached_and_best_the_lowest_validation_loss(
    tmp_path: Path, cpu_trainer: Callable[..., L.Trainer]
) -> None:
    model, _ = _fit(cpu_trainer, tmp_path, max_steps=23)  # validation at 5, 10, 15, 20; best at step 5
    assert _step(tmp_path / "last.ckpt") == 23  # not a multiple of every_n_train_steps: saved when training ended
    assert _step(tmp_path / "best.ckpt") == 5
    best = torch.load(tmp_path / "best.ckpt", weights_only=False)["state_dict"]["w"]
    assert float(best) == pytest.approx(TARGET)
    assert float(model.w) == pytest.approx(23 * LR)
    assert sorted(p.name for p in tmp_path.glob("*.ckpt")) == ["best.ckpt", "last.ckpt"]  # no other file kept
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_resuming_from_last_continues_where_training_stopped_and_ends_as_an_uninterrupted_run(
    tmp_path: Path, cpu_trainer: Callable[..., L.Trainer]
) -> None:
    _fit(cpu_trainer, tmp_path / "a", max_steps=23)
    resumed, trainer = _fit(cpu_trainer, tmp_path / "a", max_steps=40, ckpt_path=str(tmp_path / "a" / "last.ckpt"))
    whole, _ = _fit(cpu_trainer, tmp_path / "b", max_steps=40)
    assert trainer.global_step == 40 and _step(tmp_path / "a" / "last.ckpt") == 40
    assert torch.equal(resumed.w, whole.w)
    assert _step(tmp_path / "a" / "best.ckpt") == 5  # the best stays the best of both runs


def _train_until_killed(root: str) -> None:
    torch.set_num_threads(1)
    last = Path(root) / "last.ckpt"
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=100_000,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[LatestCheckpoint(dirpath=root, every_n_train_steps=1)],
    )
    model = Climber(ballast=2_000_000)  # 8 MB per checkpoint, saved every step
    trainer.fit(model, train_dataloaders=_data(), ckpt_path=str(last) if last.exists() else None)


def _mtime(path: Path) -> int:
    return path.stat().st_mtime_ns if path.exists() else 0


@pytest.mark.slow
def test_a_process_killed_while_saving_leaves_a_last_checkpoint_that_loads_and_resumes(
    tmp_path: Path, cpu_trainer: Callable[..., L.Trainer]
) -> None:
    context = multiprocessing.get_context("fork")  # the parent's imports are shared: a kill costs no start-up
    rng = random.Random(0)
    last = tmp_path / "last.ckpt"
    steps = []
    for kill in range(20):
        before = _mtime(last)
        process = context.Process(target=_train_until_killed, args=(str(tmp_path),))
        process.start()
        deadline = time.monotonic() + 60
        while _mtime(last) == before and time.monotonic() < deadline:  # until this process has saved once
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.2))  # saving takes most of each step: the kill lands in a save or near one
        os.kill(process.pid, signal.SIGKILL)
        process.join()
        assert process.exitcode == -signal.SIGKILL, f"kill {kill}: the trainer ended before it was killed"
        steps.append(_step(last))  # loads, whole; the next process resumes from it
    assert steps == sorted(steps) and steps[-1] > steps[0]  # every process went on from the one before
    _, trainer = _fit(cpu_trainer, tmp_path, max_steps=steps[-1] + 3, ckpt_path=str(last), ballast=2_000_000)
    assert trainer.global_step == steps[-1] + 3
