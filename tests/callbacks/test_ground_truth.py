"""GroundTruthMetrics logs the evaluation protocol's scores during a real fit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import lightning as L
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
