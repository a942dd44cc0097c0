"""StepProgressBar: one bar over the run's optimizer steps, under a real Trainer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from tests.toys import Line


class _LineWithValidation(Line):
    def validation_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        self.log("val/loss", ((self.w - 3.0) ** 2).sum(), prog_bar=True)


def test_step_progress_bar_is_one_bar_over_all_steps(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, cpu_trainer: Callable[..., L.Trainer]
) -> None:
    from lightning_causal.callbacks import StepProgressBar

    loader = DataLoader(TensorDataset(torch.zeros(16, 1)), batch_size=4)  # 4 steps per epoch
    trainer = cpu_trainer(
        max_steps=40,
        callbacks=[StepProgressBar(refresh_rate=5)],
        enable_progress_bar=True,
        num_sanity_val_steps=2,  # the sanity check runs, and the bar must not show it
        val_check_interval=8,
        check_val_every_n_epoch=None,
        default_root_dir=tmp_path,
    )
    trainer.fit(_LineWithValidation(), loader, loader)
    err = capsys.readouterr().out  # Lightning's bars write to stdout
    assert "Training" in err and "40/40" in err
    assert "Epoch" not in err and "Validation" not in err and "Sanity" not in err
    assert "/4 " not in err  # never a per-epoch total
    assert "val/loss" in err  # validation shows in the postfix
