"""Training never ends green with non-finite weights: the guard of CausalModule under a real Trainer."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.optim.lr_scheduler import LambdaLR

from lightning_causal import CausalGraph, QueryError, TrainingError
from lightning_causal.data.loaders import tensor_loader
from lightning_causal.mechanisms import MechanismConfig
from lightning_causal.models import DCM
from lightning_causal.variables import VariableSpec
from tests.checks import run_cli

GRAPH = CausalGraph(directed=[("x", "y"), ("x", "z")])
SPECS = {v: VariableSpec(v, mean=(0.0,), std=(1.0,)) for v in GRAPH.nodes}


def _data(n: int = 64, nan_row: int | None = None) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 1, generator=g)
    y = 2 * x + 0.1 * torch.randn(n, 1, generator=g)
    if nan_row is not None:
        y[nan_row] = float("nan")
    return {"x": x, "y": y, "z": -x}


def _checkpointing(make: Callable[..., L.Trainer], root: Path, steps: int) -> L.Trainer:
    """A Trainer that writes ``last.ckpt`` after every step."""
    callbacks = [ModelCheckpoint(dirpath=root, every_n_train_steps=1, save_last=True, save_top_k=0)]
    return make(max_steps=steps, default_root_dir=root, enable_checkpointing=True, callbacks=callbacks)


def test_a_nan_loss_at_the_first_step_names_the_step_and_the_node(
    tmp_path: Path, cpu_trainer: Callable[..., L.Trainer]
) -> None:
    model = DCM(GRAPH, SPECS, MechanismConfig(hidden=8, timesteps=10))
    with pytest.raises(
        TrainingError, match="diverged at step 1: the training loss is nan; non-finite losses of y"
    ) as err:
        _checkpointing(cpu_trainer, tmp_path, 5).fit(model, tensor_loader(_data(16, nan_row=3), 16, 0))
    assert err.value.step == 1 and not list(tmp_path.glob("*.ckpt"))  # nothing was saved


def test_weights_going_non_finite_mid_run_stop_training_and_keep_the_last_good_checkpoint(
    tmp_path: Path, cpu_trainer: Callable[..., L.Trainer]
) -> None:
    # five good steps, then a learning rate that sends the weights to infinity
    model = DCM(
        GRAPH,
        SPECS,
        MechanismConfig(hidden=8, timesteps=10),
        optimizer=partial(torch.optim.SGD, lr=0.01),
        scheduler=partial(LambdaLR, lr_lambda=lambda step: 1.0 if step < 5 else float("inf")),
    )
    with pytest.raises(
        TrainingError, match="diverged at step 6: the weights are NaN or infinite when the checkpoint"
    ) as err:
        _checkpointing(cpu_trainer, tmp_path, 50).fit(model, tensor_loader(_data(), 16, 0))
    assert err.value.step == 6
    saved = torch.load(tmp_path / "last.ckpt", map_location="cpu", weights_only=False)
    assert saved["global_step"] == err.value.step - 1  # the step before, not overwritten
    with pytest.raises(QueryError, match="weights hold NaN or infinite values"):
        model.sample(4)
    kept = DCM.load_from_checkpoint(tmp_path / "last.ckpt")
    assert kept.nonfinite_parameters() == [] and model.nonfinite_parameters()
    kept.sample(4)  # the kept checkpoint answers queries


def test_the_command_line_stops_a_diverging_fit_with_one_line_naming_the_kept_checkpoint(tmp_path: Path) -> None:
    result = run_cli(
        "fit",
        "--config",
        str(Path(__file__).resolve().parents[2] / "configs/dcm/triangle_na.yaml"),
        "--trainer.max_steps=40",
        f"--trainer.default_root_dir={tmp_path}",
        "--trainer.enable_progress_bar=false",
        "--trainer.val_check_interval=2",
        "--data.n_train=400",
        "--data.n_val=50",
        "--model.optimizer=torch.optim.SGD",
        "--model.optimizer.init_args.lr=0.001",
        "--model.scheduler=torch.optim.lr_scheduler.ExponentialLR",
        "--model.scheduler.init_args.gamma=10000",  # the rate grows 10^4-fold a step: divergence within a few
        "--trainer.gradient_clip_val=0",  # unclipped: the loss goes non-finite before the rate overflows a float
    )
    # Lightning's own notes (model summary, warnings) come first; the run ends on one error line, no traceback
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert last.startswith("error: training diverged at step") and "lower the learning rate" in last, last
    # the kept checkpoint (here best.ckpt: last.ckpt is written every 1000 steps) is named with its step, before the NaN
    kept = re.search(r"(best|last)\.ckpt holds step (\d+)", last)
    assert kept is not None and int(kept.group(2)) < int(last.split("at step ")[1].split(":")[0]), last


def test_weights_gone_non_finite_in_the_last_step_fail_the_run_without_any_checkpoint(
    tmp_path: Path, cpu_trainer: Callable[..., L.Trainer]
) -> None:
    model = DCM(
        GRAPH,
        SPECS,
        MechanismConfig(hidden=8, timesteps=10),
        optimizer=partial(torch.optim.SGD, lr=0.01),
        scheduler=partial(LambdaLR, lr_lambda=lambda step: 1.0 if step < 2 else float("inf")),
    )
    trainer = cpu_trainer(max_steps=3)
    with pytest.raises(TrainingError, match="diverged at step 3: the weights are NaN or infinite at the end"):
        trainer.fit(model, tensor_loader(_data(), 16, 0))
