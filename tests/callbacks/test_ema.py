"""EMA with decay warm-up, under a real Trainer."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from lightning_causal.callbacks import EMA


class Line(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.trajectory: list[float] = []

    def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        (x,) = batch
        return ((self.w - 3.0) ** 2).sum() + 0 * x.sum()

    def on_train_batch_end(self, *args) -> None:  # type: ignore[no-untyped-def]
        self.trajectory.append(self.w.item())

    def configure_optimizers(self):  # type: ignore[no-untyped-def]
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _fit(steps: int, decay: float) -> tuple[Line, EMA]:
    model = Line()
    ema = EMA(decay=decay)
    loader = DataLoader(TensorDataset(torch.zeros(16, 1)), batch_size=4)
    L.Trainer(
        max_steps=steps,
        callbacks=[ema],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    ).fit(model, loader)
    return model, ema


def test_ema_follows_the_weights_early_thanks_to_the_warm_up() -> None:
    model, _ = _fit(steps=30, decay=0.999)
    final = model.w.item()  # the averaged weight replaces the trained one when fit ends
    assert 1.5 < final < model.trajectory[-1] + 1e-6  # near the trajectory's end, not the init (0)


def test_ema_matches_the_formula() -> None:
    model, _ = _fit(steps=8, decay=0.5)
    avg = model.trajectory[0]
    for n, w in enumerate(model.trajectory[1:], start=1):
        d = min(0.5, (1 + n) / (10 + n))
        avg = avg * d + w * (1 - d)
    assert model.w.item() == pytest.approx(avg, rel=1e-5)


def test_bad_decay() -> None:
    with pytest.raises(ValueError, match="decay"):
        EMA(decay=1.0)


class _LineWithValidation(Line):
    def validation_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        self.log("val/loss", ((self.w - 3.0) ** 2).sum(), prog_bar=True)
