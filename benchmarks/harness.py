"""What the benchmark scripts share: a Lightning Trainer that trains and says nothing.

The scripts run as ``python benchmarks/NAME.py``, which puts this folder on ``sys.path``, so they
import it as ``from harness import quiet_trainer``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightning as L

__all__ = ["quiet_trainer"]


def quiet_trainer(steps: int, callbacks: Sequence[L.Callback] = (), **settings: Any) -> L.Trainer:
    """A CPU Trainer for ``steps`` optimizer steps: no logger, checkpoints, summary, progress bar or validation
    (``settings``: more Trainer arguments)."""
    return L.Trainer(
        max_steps=steps,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=False,
        limit_val_batches=0,
        callbacks=list(callbacks),
        **settings,
    )
