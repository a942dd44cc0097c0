"""``ImageSamples``: grids of sampled images in the W&B run (offline, read back from wandb's files)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import lightning as L
import pytest

from lightning_causal.callbacks import ImageSamples, WandbRun
from lightning_causal.callbacks.image_samples import image_variables
from tests.training_models import image_dcm, vector_dcm
from tests.wandb_files import history, run_files


def test_a_grid_per_image_variable_after_each_validation(
    tmp_path: Path, cpu_trainer: Callable[..., L.Trainer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WANDB_MODE", raising=False)
    model, data = image_dcm()
    assert image_variables(model) == ["X"]
    samples = ImageSamples(n=4)
    logger = WandbRun(save_dir=str(tmp_path))
    trainer = cpu_trainer(
        max_steps=4, val_check_interval=2, check_val_every_n_epoch=None, logger=logger, callbacks=[samples]
    )
    trainer.fit(model, data)
    logger.experiment.finish()
    assert samples.logged == 2
    (path,) = run_files(tmp_path)
    grids = [row for row in history(path) if "samples/X/_type" in row]  # wandb flattens the image's fields
    assert len(grids) == 2 and grids[0]["samples/X/_type"] == "images/separated"
    assert grids[0]["samples/X/width"] == grids[0]["samples/X/height"] == 2 * 8 + 3  # 2 x 2 tiles of 8x8, frames
    assert len(list((path.parent / "files" / "media" / "images").glob("samples/X_*.png"))) == 2


def test_nothing_without_images_or_a_logger_that_takes_them(cpu_trainer: Callable[..., L.Trainer]) -> None:
    model, data = vector_dcm()
    assert image_variables(model) == [] and image_variables(None) == []
    samples = ImageSamples()
    cpu_trainer(max_steps=2, val_check_interval=1, check_val_every_n_epoch=None, callbacks=[samples]).fit(model, data)
    assert samples.logged == 0
    with pytest.raises(ValueError, match="n and every_n_validations"):
        ImageSamples(n=0)
