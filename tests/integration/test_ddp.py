"""DCM trains under real DDP (gloo, two CPU processes): no unused parameters, ranks stay in sync."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import lightning as L
import pytest
import torch

from lightning_causal.datamodules import SCMDataModule
from lightning_causal.mechanisms import MechanismConfig
from lightning_causal.models import DCM


class _Checksum(L.Callback):
    def __init__(self, folder: str) -> None:
        self.folder = folder

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        total = sum(float(p.detach().double().sum()) for p in pl_module.parameters())
        Path(self.folder, f"rank{trainer.global_rank}.json").write_text(
            json.dumps({"checksum": total, "steps": trainer.global_step, "world": trainer.world_size})
        )


def test_ddp_over_gloo_keeps_ranks_in_sync(tmp_path: Path, cpu_trainer: Callable[..., L.Trainer]) -> None:
    data = SCMDataModule("diamond", "NL", n_train=512, n_val=64, n_test=0, batch_size=64)
    model = DCM(data.graph, data.variables, MechanismConfig(hidden=16, timesteps=20))
    trainer = cpu_trainer(
        devices=2,
        strategy="ddp_spawn",
        max_steps=8,
        limit_val_batches=0,
        callbacks=[_Checksum(str(tmp_path))],
        default_root_dir=tmp_path,
    )
    trainer.fit(model, data)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["world"] == 2 and ranks[0]["steps"] == 8
    assert ranks[0]["checksum"] == pytest.approx(ranks[1]["checksum"], rel=1e-6), "DDP keeps the replicas identical"
    assert torch.isfinite(torch.tensor(ranks[0]["checksum"]))
