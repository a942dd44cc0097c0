"""Training resumed from a checkpoint ends with exactly the weights of an uninterrupted run.

Mid-epoch, end-of-epoch and mid-validation kills, a real Trainer and the shipped data module: the resumed
run must replay the same batches (the loader's saved state), the same diffusion noise (the model's
saved generator) and the same EMA average (the callback's saved state).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from lightning_causal.callbacks import EMA, LatestCheckpoint
from lightning_causal.data.loaders import tensor_loader
from lightning_causal.datamodules import SCMDataModule
from lightning_causal.mechanisms import MechanismConfig
from lightning_causal.models import DCM, WarmupCosine

STEPS = 30  # 600 rows in batches of 64: 10 batches an epoch, the last one short


def _fit(
    make: Callable[..., L.Trainer], root: Path, ckpt_path: Path | None = None, every: int | None = None
) -> dict[str, torch.Tensor]:
    L.seed_everything(0, verbose=False)  # the initial weights
    data = SCMDataModule("triangle", "NA", n_train=600, n_val=50, n_test=0, batch_size=64, seed=3)
    model = DCM(
        data.graph,
        data.variables,
        MechanismConfig(hidden=16),
        seed=5,
        scheduler=partial(WarmupCosine, warmup_steps=4),
    )
    callbacks: list[L.Callback] = [EMA(decay=0.9)]
    if every:
        callbacks.append(ModelCheckpoint(dirpath=root, every_n_train_steps=every, save_top_k=-1, filename="{step}"))
    trainer = make(
        max_steps=STEPS,
        enable_checkpointing=every is not None,
        limit_val_batches=0,
        callbacks=callbacks,
        default_root_dir=root,
    )
    trainer.fit(model, data, ckpt_path=ckpt_path)
    assert trainer.global_step == STEPS
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.fixture(scope="module")
def straight(
    tmp_path_factory: pytest.TempPathFactory, cpu_trainer: Callable[..., L.Trainer]
) -> tuple[dict[str, torch.Tensor], Path]:
    root = tmp_path_factory.mktemp("straight")
    return _fit(cpu_trainer, root, every=7), root  # checkpoints at steps 7, 14, 21, 28 (all mid-epoch)


@pytest.mark.parametrize("step", [7, 21])
def test_resume_mid_epoch_is_exact(
    straight: tuple[dict[str, torch.Tensor], Path], step: int, tmp_path: Path, cpu_trainer: Callable[..., L.Trainer]
) -> None:
    weights, root = straight
    resumed = _fit(cpu_trainer, tmp_path, ckpt_path=root / f"step={step}.ckpt")
    for name, value in weights.items():
        assert torch.equal(resumed[name], value), name


def test_resume_at_an_epoch_end_is_exact(tmp_path: Path, cpu_trainer: Callable[..., L.Trainer]) -> None:
    weights = _fit(cpu_trainer, tmp_path / "a", every=10)  # step 10 ends the first epoch
    resumed = _fit(cpu_trainer, tmp_path / "b", ckpt_path=tmp_path / "a" / "step=10.ckpt")
    for name, value in weights.items():
        assert torch.equal(resumed[name], value), name


def test_uninterrupted_runs_are_reproducible(
    straight: tuple[dict[str, torch.Tensor], Path], tmp_path: Path, cpu_trainer: Callable[..., L.Trainer]
) -> None:
    weights, _ = straight
    again = _fit(cpu_trainer, tmp_path)
    assert all(torch.equal(again[k], v) for k, v in weights.items())


def test_loader_state_replays_the_rest_of_the_epoch() -> None:
    tensors = {"x": torch.arange(20.0).unsqueeze(1)}

    def rows(batches: object) -> list[list[float]]:
        return [b["x"].flatten().tolist() for b in batches]  # type: ignore[attr-defined]

    loader = tensor_loader(tensors, batch_size=4, shuffle_seed=0)
    rows(loader)  # epoch 0
    it = iter(loader)  # epoch 1
    head = [next(it)["x"].flatten().tolist() for _ in range(2)]
    state = loader.state_dict()
    tail = rows(it)
    assert state["batches"] == 2 and len(tail) == 3

    resumed = tensor_loader(tensors, batch_size=4, shuffle_seed=0)
    resumed.load_state_dict(state)
    assert rows(resumed) == tail  # the same permutation, without the two batches already served
    assert sorted(x for batch in head + tail for x in batch) == list(range(20))

    ended = loader.state_dict()  # after the last batch of epoch 1: resume at epoch 2
    assert ended["batches"] == 0
    nxt = tensor_loader(tensors, batch_size=4, shuffle_seed=0)
    nxt.load_state_dict(ended)
    assert rows(nxt) == rows(loader)


class _CrashInValidation(L.Callback):
    """Raises in the middle of the validation run at ``step`` (a process killed there, as far as files go)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_validation_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int
    ) -> None:  # type: ignore[no-untyped-def]
        if trainer.global_step == self.step and batch_idx == 1:
            raise RuntimeError("killed during validation")


def _fit_validating(
    make: Callable[..., L.Trainer], root: Path, ckpt_path: Path | None = None, crash_at: int | None = None
) -> dict[str, torch.Tensor]:
    L.seed_everything(0, verbose=False)
    data = SCMDataModule("triangle", "NA", n_train=600, n_val=200, n_test=0, batch_size=64, seed=3)
    model = DCM(data.graph, data.variables, MechanismConfig(hidden=16), seed=5)
    callbacks: list[L.Callback] = [EMA(decay=0.9), LatestCheckpoint(dirpath=root, every_n_train_steps=7)]
    if crash_at is not None:
        callbacks.append(_CrashInValidation(crash_at))
    trainer = make(
        max_steps=STEPS,
        enable_checkpointing=True,
        val_check_interval=7,
        check_val_every_n_epoch=None,
        callbacks=callbacks,
        default_root_dir=root,
    )
    trainer.fit(model, data, ckpt_path=ckpt_path)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_a_run_killed_mid_validation_resumes_exactly_from_its_latest_checkpoint(
    tmp_path: Path, cpu_trainer: Callable[..., L.Trainer]
) -> None:
    weights = _fit_validating(cpu_trainer, tmp_path / "whole")
    with pytest.raises(RuntimeError, match="killed during validation"):
        _fit_validating(cpu_trainer, tmp_path / "killed", crash_at=14)
    last = tmp_path / "killed" / "last.ckpt"
    assert torch.load(last, weights_only=True)["global_step"] == 14  # written before the step's validation
    resumed = _fit_validating(cpu_trainer, tmp_path / "killed", ckpt_path=last)
    for name, value in weights.items():
        assert torch.equal(resumed[name], value), name
