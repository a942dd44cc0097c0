"""Callbacks under a real Trainer: EMA with decay warm-up."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from lightning_causal.callbacks import EMA
from torch.utils.data import DataLoader, TensorDataset


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


def test_ground_truth_metrics_are_logged_during_fit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from lightning_causal.callbacks import GroundTruthMetrics
    from lightning_causal.datamodules.scm import SCMDataModule

    from lightning_causal.models import DCM, DCMNetworkConfig

    data = SCMDataModule("chain", "NL", n_train=500, n_val=100, n_test=10, batch_size=100)
    model = DCM(data.graph, data.variables, DCMNetworkConfig(hidden=16, timesteps=20))
    trainer = L.Trainer(
        max_steps=10,
        val_check_interval=5,
        check_val_every_n_epoch=None,
        callbacks=[GroundTruthMetrics(samples=50)],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(model, data)
    logged = trainer.callback_metrics
    for key in ("truth/obs_mmd", "truth/int_mmd", "truth/cf_mse"):
        assert key in logged and torch.isfinite(logged[key]) and logged[key] >= 0


class _LineWithValidation(Line):
    def validation_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        self.log("val/loss", ((self.w - 3.0) ** 2).sum(), prog_bar=True)


def test_step_progress_bar_is_one_bar_over_all_steps(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    from lightning_causal.callbacks import StepProgressBar

    loader = DataLoader(TensorDataset(torch.zeros(16, 1)), batch_size=4)  # 4 steps per epoch
    trainer = L.Trainer(
        max_steps=40,
        callbacks=[StepProgressBar(refresh_rate=5)],
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
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
