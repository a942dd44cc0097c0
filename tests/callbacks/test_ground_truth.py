"""GroundTruthMetrics logs the evaluation protocol's scores during a real fit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import lightning as L
import pytest
import torch


def test_ground_truth_metrics_are_logged_during_fit(tmp_path: Path, cpu_trainer: Callable[..., L.Trainer]) -> None:
    from lightning_causal.callbacks import GroundTruthMetrics
    from lightning_causal.datamodules import SCMDataModule
    from lightning_causal.mechanisms import MechanismConfig
    from lightning_causal.models import DCM

    data = SCMDataModule("chain", "NL", n_train=500, n_val=100, n_test=10, batch_size=100)
    model = DCM(data.graph, data.variables, MechanismConfig(hidden=16, timesteps=20))
    trainer = cpu_trainer(
        max_steps=10,
        val_check_interval=5,
        check_val_every_n_epoch=None,
        callbacks=[GroundTruthMetrics(samples=50)],
        default_root_dir=tmp_path,
    )
    trainer.fit(model, data)
    logged = trainer.callback_metrics
    for key in ("truth/obs_mmd", "truth/int_mmd", "truth/cf_mse"):
        assert key in logged and torch.isfinite(logged[key]) and logged[key] >= 0


def test_generated_against_exact_histograms_go_to_the_w_and_b_run(
    tmp_path: Path, cpu_trainer: Callable[..., L.Trainer], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lightning_causal.callbacks import GroundTruthMetrics, WandbRun
    from lightning_causal.datamodules import SCMDataModule
    from lightning_causal.mechanisms import MechanismConfig
    from lightning_causal.models import DCM
    from tests.wandb_files import history, run_files

    monkeypatch.delenv("WANDB_MODE", raising=False)
    data = SCMDataModule("chain", "NL", n_train=300, n_val=50, n_test=10, batch_size=100)
    model = DCM(data.graph, data.variables, MechanismConfig(hidden=16, timesteps=20))
    logger = WandbRun(save_dir=str(tmp_path))
    trainer = cpu_trainer(
        max_steps=4,
        val_check_interval=2,
        check_val_every_n_epoch=None,
        callbacks=[GroundTruthMetrics(samples=50)],
        default_root_dir=tmp_path,
        logger=logger,
    )
    trainer.fit(model, data)
    logger.experiment.finish()
    assert sorted(p.name for p in (tmp_path / "plots").glob("*.png")) == [
        "interventional_step2.png",
        "interventional_step4.png",
    ]
    (path,) = run_files(tmp_path)
    figures = [row for row in history(path) if row.get("truth/interventional/_type") == "images/separated"]
    assert len(figures) == 2 and any("truth/int_mmd" in row for row in history(path))
