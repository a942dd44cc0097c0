"""The options a cluster config turns on, run for real on CPU: bf16-mixed (vector and image nodes) and
gradient clipping in the shipped configs (``torch.compile``: test_compile.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
import yaml

from tests.training_models import Losses, image_dcm, vector_dcm

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("make", [vector_dcm, image_dcm], ids=["vector", "image"])
def test_bf16_mixed_trains_with_float32_weights(make: Callable[[], Any], cpu_trainer: Callable[..., L.Trainer]) -> None:
    model, data = make()
    losses = Losses()
    cpu_trainer(max_steps=12, precision="bf16-mixed", callbacks=[losses], limit_val_batches=0).fit(model, data)
    assert len(losses.losses) == 12 and all(torch.isfinite(torch.tensor(losses.losses)))
    assert all(p.dtype == torch.float32 for p in model.parameters())  # autocast: bf16 compute, fp32 master weights
    first = sum(losses.losses[:4]) / 4
    assert sum(losses.losses[-4:]) / 4 < first * 1.5  # trains, does not blow up


def test_the_shipped_configs_clip_gradients() -> None:
    for path in sorted((ROOT / "configs").glob("*/*.yaml")):
        config = yaml.safe_load(path.read_text())
        if isinstance(config, dict) and "trainer" in config:
            assert config["trainer"].get("gradient_clip_val", 0) > 0, path.name
