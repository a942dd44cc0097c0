"""``RunStats``: rows/s, images/s, peak memory and the learning rate in a real Trainer's logs (CSVLogger)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import lightning as L
import pandas as pd
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger

from lightning_causal.callbacks import RunStats
from lightning_causal.callbacks.run_stats import peak_memory_mb
from tests.training_models import image_dcm, vector_dcm


def _logged(
    tmp_path: Path, model: L.LightningModule, data: L.LightningDataModule, cpu_trainer: Callable[..., L.Trainer]
) -> pd.DataFrame:
    logger = CSVLogger(tmp_path, name="run", version=0)
    trainer = cpu_trainer(max_steps=12, log_every_n_steps=4, limit_val_batches=0, logger=logger, callbacks=[RunStats()])
    trainer.fit(model, data)
    return pd.read_csv(tmp_path / "run" / "version_0" / "metrics.csv")


def test_rows_per_second_memory_and_lr_are_logged_every_n_steps(
    tmp_path: Path, cpu_trainer: Callable[..., L.Trainer]
) -> None:
    model, data = vector_dcm()
    frame = _logged(tmp_path, model, data, cpu_trainer)
    rows = frame.dropna(subset=["perf/rows_per_s"])
    assert list(rows["step"]) == [3, 7, 11]  # global steps 4, 8, 12 (logged at step - 1)
    assert (rows["perf/rows_per_s"] > 0).all() and (rows["perf/peak_memory_mb"] > 10).all()
    assert rows["train/lr"].tolist() == pytest.approx([1e-3] * 3)  # the default AdamW, no schedule
    assert "perf/images_per_s" not in frame  # no image variable


def test_images_per_second_with_an_image_variable(tmp_path: Path, cpu_trainer: Callable[..., L.Trainer]) -> None:
    model, data = image_dcm()
    rows = _logged(tmp_path, model, data, cpu_trainer).dropna(subset=["perf/images_per_s"])
    assert len(rows) == 3
    torch.testing.assert_close(
        torch.tensor(rows["perf/images_per_s"].tolist()), torch.tensor(rows["perf/rows_per_s"].tolist())
    )  # one image per row


def test_peak_memory_reads_the_process_on_cpu() -> None:
    before = peak_memory_mb(torch.device("cpu"))
    block = torch.ones(64 * 2**20 // 4)  # 64 MiB
    assert peak_memory_mb(torch.device("cpu")) >= before and float(block[0]) == 1.0
