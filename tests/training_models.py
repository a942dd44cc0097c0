"""Small DCMs and their data for the tests of training options and callbacks (shared, never trained here)."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from lightning_causal import CausalGraph
from lightning_causal.datamodules import SCMDataModule, TensorDataModule
from lightning_causal.models import DCM
from lightning_causal.variables import VariableSpec
from tests.conftest import TINY_IMAGE

__all__ = ["Images", "Kill", "Losses", "image_dcm", "vector_dcm"]


class Losses(L.Callback):
    def __init__(self) -> None:
        self.losses: list[float] = []

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, *_: Any) -> None:
        self.losses.append(float(outputs["loss"] if isinstance(outputs, dict) else outputs))


class Kill(L.Callback):
    """Stops the run with an error after ``step`` optimizer steps (a crash, as far as the run folder knows)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: L.Trainer, *_: Any) -> None:
        if trainer.global_step == self.step:
            raise RuntimeError("killed")


def vector_dcm(seed: int = 0) -> tuple[DCM, SCMDataModule]:
    data = SCMDataModule("triangle", "NL", n_train=256, n_val=0, n_test=0, batch_size=64)
    return DCM(data.graph, data.variables, {"hidden": 32, "timesteps": 20}, seed=seed), data


class Images(TensorDataModule):
    """Z -> X with X an 8x8 one-channel image (brighter for Z = 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.graph = CausalGraph([("Z", "X")])
        self.variables = {
            "Z": VariableSpec("Z", "binary"),
            "X": VariableSpec("X", "image", channels=1, height=8, width=8, dtype="float"),
        }
        rng = torch.Generator().manual_seed(0)
        z = torch.randint(0, 2, (64,), generator=rng)
        x = z.float()[:, None, None, None] + 0.1 * torch.randn(64, 1, 8, 8, generator=rng)
        self.train_tensors = self.val_tensors = {"Z": z, "X": x}
        self.batch_size, self.seed, self.num_workers = 16, 0, 0


def image_dcm() -> tuple[DCM, TensorDataModule]:
    data = Images()
    variables = data.variables
    image = {**TINY_IMAGE, "sample_steps": 5}
    return DCM(data.graph, variables, {"hidden": 16, "timesteps": 20, "image": image}), data
