"""Shared fixtures: a CPU Trainer, the tiny configurations tests train with, the named graphs.

Every test module takes what it shares from here (fixtures) or from the helper modules
``tests/checks.py`` (independent oracles) and ``tests/slurm_cluster.py`` (a real local SLURM); no
test module imports another. Tiny means seconds on a 2-core CPU: a few steps, widths of 8 to 16,
T = 10 for vectors, 8x8 images with a two-level UNet.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from lightning_causal import CausalGraph
from lightning_causal.graph.named import NAMED_GRAPHS, NamedGraph

TINY_MECHANISMS: dict[str, Any] = {"hidden": 16, "timesteps": 10}
"""Mechanisms small enough to train in a few steps: 16 hidden units, T = 10 (``mechanisms:`` keys)."""

TINY_IMAGE: dict[str, Any] = {
    "base": 8,
    "mults": (1, 2),
    "res_blocks": 1,
    "attention": (4,),
    "dropout": 0.0,
    "groups": 4,
    "cond_dim": 16,
    "timesteps": 100,
    "beta_end": 0.2,
    "sample_steps": 4,
}
"""An image mechanism for 8x8 images: a two-level UNet of 8 and 16 channels, T = 100, 4 DDIM steps."""


@pytest.fixture(scope="session")
def cpu_trainer() -> Callable[..., Any]:
    """Makes a quiet CPU Trainer: no logger, bar, summary, checkpoints or sanity validation unless asked.

    ``cpu_trainer(max_steps=20)``; any other Trainer argument overrides the defaults.
    """
    import lightning as L

    def make(**settings: Any) -> L.Trainer:
        defaults: dict[str, Any] = {
            "accelerator": "cpu",
            "devices": 1,
            "logger": False,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "enable_checkpointing": False,
            "num_sanity_val_steps": 0,
        }
        return L.Trainer(**{**defaults, **settings})

    return make


@pytest.fixture(scope="session")
def tiny_mechanisms() -> dict[str, Any]:
    """:data:`TINY_MECHANISMS` with :data:`TINY_IMAGE` under ``image`` (shared: spread it, never change it)."""
    return {**TINY_MECHANISMS, "image": dict(TINY_IMAGE)}


@pytest.fixture(scope="session")
def tiny_image() -> dict[str, Any]:
    """:data:`TINY_IMAGE` (shared: spread it, ``{**tiny_image, "base": 16}``, never change it)."""
    return dict(TINY_IMAGE)


@pytest.fixture(scope="session")
def named_graphs() -> dict[str, NamedGraph]:
    """The classic graphs with their textbook queries (``backdoor``, ``frontdoor``, ``napkin``, ``verma``, ...)."""
    return dict(NAMED_GRAPHS)


@pytest.fixture(scope="session")
def napkin() -> CausalGraph:
    """The napkin: W1 -> W2 -> X -> Y with W1 <-> X and W1 <-> Y."""
    return NAMED_GRAPHS["napkin"].graph


# W&B stays off in tests that train the shipped configs (their logger is WandbRun, offline): starting a
# W&B run costs seconds per fit. tests/callbacks/test_wandb_run.py runs W&B offline and reads its files.
os.environ.setdefault("WANDB_MODE", "disabled")
