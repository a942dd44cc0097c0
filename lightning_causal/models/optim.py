"""Optimizers and learning-rate schedules injected into the models (LightningCLI's way).

Every model family takes ``optimizer`` and ``scheduler`` callables (``OptimizerCallable`` /
``LRSchedulerCallable``): from Python ``optimizer=partial(AdamW, lr=3e-4)``, from a config::

    model:
      init_args:
        optimizer:
          class_path: lightning_causal.models.optim.AdamW
          init_args: {lr: 0.001}
        scheduler:
          class_path: lightning_causal.models.optim.WarmupCosine
          init_args: {warmup_steps: 100}

Any ``torch.optim`` optimizer and scheduler works the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch.optim.lr_scheduler import LambdaLR

from lightning_causal.errors import ConfigError

__all__ = ["AdamW", "WarmupCosine"]


class AdamW(torch.optim.AdamW):
    """``torch.optim.AdamW`` with the fused kernel (one launch for all parameters) where this build has it.

    Args:
        params: the parameters (or parameter groups).
        lr: learning rate.
        weight_decay: decoupled weight decay.
        **kwargs: the other ``torch.optim.AdamW`` options.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, weight_decay: float = 0.0, **kwargs: Any) -> None:
        if not (isinstance(lr, int | float) and math.isfinite(lr) and lr > 0):
            raise ConfigError(f"optimizer lr is {lr!r}; give a finite learning rate > 0")
        if not (isinstance(weight_decay, int | float) and math.isfinite(weight_decay) and weight_decay >= 0):
            raise ConfigError(f"optimizer weight_decay is {weight_decay!r}; give a finite number >= 0")
        params = list(params)
        try:
            super().__init__(params, lr=lr, weight_decay=weight_decay, fused=True, **kwargs)
        except (RuntimeError, TypeError, ValueError):  # pragma: no cover - older torch or unsupported device
            super().__init__(params, lr=lr, weight_decay=weight_decay, **kwargs)


class WarmupCosine(LambdaLR):
    """A linear warm-up over ``warmup_steps`` optimizer steps, then (``cosine_decay``) a cosine to zero.

    The multiplier of the learning rate at step s is ``(s + 1) / warmup_steps`` during warm-up, then
    ``0.5 (1 + cos(pi p))`` with p the share of the remaining steps done (Loshchilov & Hutter 2017,
    SGDR, eq. 5 without restarts), or 1 without ``cosine_decay``. The run's length is read from the
    Trainer when the model configures its optimizers (``total_steps`` stays ``None`` until then).

    Args:
        optimizer: the optimizer.
        warmup_steps: linear warm-up, in optimizer steps.
        cosine_decay: decay to zero over the run after the warm-up.
        total_steps: the run's optimizer steps (default: set by the model from the Trainer).
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        warmup_steps: int = 0,
        cosine_decay: bool = True,
        total_steps: int | None = None,
    ) -> None:
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
            raise ConfigError(f"scheduler warmup_steps is {warmup_steps!r}; give a whole number >= 0")
        self.warmup_steps = int(warmup_steps)
        self.cosine_decay = bool(cosine_decay)
        self.total_steps = total_steps
        super().__init__(optimizer, self.factor)

    def factor(self, step: int) -> float:
        """The learning-rate multiplier at optimizer step ``step``."""
        warmup = self.warmup_steps
        if step < warmup:
            return (step + 1) / warmup
        if not self.cosine_decay:
            return 1.0
        total = max(1, int(self.total_steps or 1))
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        # float32, as torch.cos computes it: keeps runs bit-identical across versions of this code
        return 0.5 * (1.0 + torch.cos(torch.tensor(progress * math.pi)).item())
