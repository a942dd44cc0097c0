"""fit_bootstrap: a DCM trained on its rows and on bootstrap resamples, with intervals and resumable member folders."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch

from lightning_causal.datamodules import SCMDataModule
from lightning_causal.models import DCM, bootstrap_data, fit_bootstrap


def test_a_dcm_ensemble_gives_intervals_of_interventions_and_counterfactuals(tmp_path: Path) -> None:
    data = SCMDataModule("triangle", "NA", n_train=300, n_val=50, n_test=20, batch_size=64, seed=0)
    resampled = bootstrap_data(data, seed=1)
    assert resampled.val_tensors is data.val_tensors and not torch.equal(
        resampled.train_tensors["x1"], data.train_tensors["x1"]
    )

    def trainer(folder: Path) -> L.Trainer:
        return L.Trainer(
            max_steps=3, default_root_dir=folder, logger=False, enable_progress_bar=False, enable_model_summary=False
        )

    ensemble = fit_bootstrap(lambda: DCM(data.graph, data.variables, {"hidden": 8}), data, 2, trainer, tmp_path, seed=0)
    assert [(tmp_path / d / "final.ckpt").is_file() for d in ("full", "member-0", "member-1")] == [True] * 3
    interval = ensemble.interval({"x1": 0.5}, n=100)
    assert set(interval) == {"x1", "x2", "x3"} and interval["x1"].estimate == pytest.approx(0.5)
    cf = ensemble.counterfactual(data.test_tensors, {"x1": 0.5})
    assert cf["x3"].members == 2 and cf["x3"].low <= cf["x3"].high
    written = (tmp_path / "member-1" / "final.ckpt").stat().st_mtime_ns
    again = fit_bootstrap(lambda: DCM(data.graph, data.variables, {"hidden": 8}), data, 2, trainer, tmp_path, seed=0)
    assert (tmp_path / "member-1" / "final.ckpt").stat().st_mtime_ns == written
    assert again.interval({"x1": 0.5}, n=100) == interval
