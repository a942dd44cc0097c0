"""EMA with decay warm-up, under a real Trainer."""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from lightning_causal.callbacks import EMA
from tests.toys import Line


def _fit(make: Callable[..., L.Trainer], steps: int, decay: float) -> tuple[Line, EMA]:
    model = Line()
    ema = EMA(decay=decay)
    loader = DataLoader(TensorDataset(torch.zeros(16, 1)), batch_size=4)
    make(max_steps=steps, callbacks=[ema]).fit(model, loader)
    return model, ema


def test_ema_follows_the_weights_early_thanks_to_the_warm_up(cpu_trainer: Callable[..., L.Trainer]) -> None:
    model, _ = _fit(cpu_trainer, steps=30, decay=0.999)
    final = model.w.item()  # the averaged weight replaces the trained one when fit ends
    assert 1.5 < final < model.trajectory[-1] + 1e-6  # near the trajectory's end, not the init (0)


def test_ema_matches_the_formula(cpu_trainer: Callable[..., L.Trainer]) -> None:
    model, _ = _fit(cpu_trainer, steps=8, decay=0.5)
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
