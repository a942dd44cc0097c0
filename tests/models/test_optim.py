"""The injected optimisation: the default fused AdamW, the warm-up/cosine schedule, and their use by CausalModule."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import lightning as L
import pytest
import torch

from lightning_causal import CausalGraph
from lightning_causal.data.loaders import tensor_loader
from lightning_causal.mechanisms import MechanismConfig
from lightning_causal.models import DCM, AdamW, WarmupCosine
from lightning_causal.variables import VariableSpec


def test_warmup_cosine_follows_its_formula() -> None:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=2.0)
    schedule = WarmupCosine(opt, warmup_steps=4, total_steps=24)
    assert [schedule.factor(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    for s in (4, 10, 14, 24, 40):
        expected = 0.5 * (1 + math.cos(math.pi * min(1.0, (s - 4) / 20)))
        assert schedule.factor(s) == pytest.approx(expected, abs=1e-6)
    flat = WarmupCosine(opt, warmup_steps=2, cosine_decay=False)
    assert flat.factor(100) == 1.0


def _fit(make: Callable[..., L.Trainer], model: DCM, steps: int) -> L.Trainer:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 1, generator=g)
    data = {"x": x, "y": 2 * x + 0.1 * torch.randn(64, 1, generator=g)}
    trainer = make(max_steps=steps)
    trainer.fit(model, tensor_loader(data, 16, 0))
    return trainer


GRAPH = CausalGraph(directed=[("x", "y")])
SPECS = {"x": VariableSpec("x"), "y": VariableSpec("y")}


def test_default_is_fused_adamw_at_1e_3_without_schedule(cpu_trainer: Callable[..., L.Trainer]) -> None:
    trainer = _fit(cpu_trainer, DCM(GRAPH, SPECS, MechanismConfig(hidden=8)), 2)
    (opt,) = trainer.optimizers
    assert isinstance(opt, AdamW) and opt.param_groups[0]["lr"] == 1e-3 and not trainer.lr_scheduler_configs


def test_injected_optimizer_and_schedule_get_the_run_length(cpu_trainer: Callable[..., L.Trainer]) -> None:
    model = DCM(
        GRAPH,
        SPECS,
        MechanismConfig(hidden=8),
        optimizer=partial(torch.optim.SGD, lr=0.01),
        scheduler=partial(WarmupCosine, warmup_steps=2),
    )
    trainer = _fit(cpu_trainer, model, 8)
    (opt,) = trainer.optimizers
    (config,) = trainer.lr_scheduler_configs
    assert isinstance(opt, torch.optim.SGD) and config.interval == "step"
    assert config.scheduler.total_steps == 8  # type: ignore[attr-defined]
    # after 8 steps of a 2-step warm-up and a cosine over the other 6, the rate is 0
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-9)
