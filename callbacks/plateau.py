"""A stopping rule: end a run (or an ID-GEN stage) when its validation loss has stopped improving.

A fixed number of steps is either too few for a hard dataset or wasted on an easy one.
:class:`StopOnPlateau` watches ``val/loss`` (the diffusion and classifier losses on the validation
rows, with the EMA weights where an :class:`~lightning_causal.callbacks.EMA` runs, and with the
same noise at every validation, so two values differ only because the weights did) and stops when
``patience`` validations in a row brought no new best lower by more than ``min_delta``, but never
before ``min_steps``; the Trainer's ``max_steps`` stays the cap. It is Lightning's
:class:`~lightning.pytorch.callbacks.EarlyStopping` with that floor: its counters are in every
checkpoint, so a resumed or requeued run stops where an uninterrupted one would.

Use it from a config (``trainer.callbacks``), where ID-GEN's stages get a fresh copy each::

    - class_path: lightning_causal.callbacks.StopOnPlateau
      init_args: {patience: 6, min_steps: 1000}

or from Python: ``DiffusionLearner(patience=6)``, ``stage_trainer_factory(..., patience=6)``.
Without validation rows (``val/loss`` never logged) it never stops a run.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import EarlyStopping
from torch import Tensor

from lightning_causal.errors import ConfigError

__all__ = ["StopOnPlateau", "stop_reason"]


def _whole(name: str, value: Any, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(f"StopOnPlateau: {name} is {value!r}; give a whole number >= {least}")
    return value


class StopOnPlateau(EarlyStopping):
    """Stops training once ``monitor`` has had no new best for ``patience`` validations (see the module docstring).

    Args:
        patience: validations in a row without a new best before the run stops.
        min_steps: no stop before this optimizer step.
        min_delta: how much lower than the best a value must be to count as a new best.
        monitor: the logged value to watch (lower is better).

    Attributes:
        stopped_step: the step at which it stopped the run (None: it did not).
    """

    def __init__(
        self, patience: int = 6, min_steps: int = 0, min_delta: float = 0.0, monitor: str = "val/loss"
    ) -> None:
        patience = _whole("patience", patience, 1)
        self.min_steps = _whole("min_steps", min_steps, 0)
        if isinstance(min_delta, bool) or not isinstance(min_delta, int | float) or not 0 <= min_delta < float("inf"):
            raise ConfigError(f"StopOnPlateau: min_delta is {min_delta!r}; give a number >= 0")
        super().__init__(
            monitor=monitor,
            patience=patience,
            min_delta=float(min_delta),
            mode="min",
            strict=False,  # no validation rows: no stop (max_steps ends the run)
            check_finite=True,
            check_on_train_epoch_end=False,  # decide after each validation, not at epoch ends
        )
        self.stopped_step: int | None = None
        self.checked_step: int | None = None  # the step of the last validation counted
        self._step = 0

    def _run_early_stopping_check(self, trainer: L.Trainer) -> None:
        self._step = int(trainer.global_step)
        if self._step == self.checked_step:
            return  # this step's validation again (a run resumed from the checkpoint written after it)
        super()._run_early_stopping_check(trainer)
        if self.monitor in trainer.callback_metrics:
            self.checked_step = self._step

    def _evaluate_stopping_criteria(self, current: Tensor) -> tuple[bool, str | None]:
        stop, reason = super()._evaluate_stopping_criteria(current)
        if stop and self._step < self.min_steps and bool(torch.isfinite(current)):
            return False, None  # a plateau before min_steps: keep counting, stop at the first check after it
        if stop:
            self.stopped_step = self._step
        return stop, reason

    def summary(self) -> str | None:
        """Why it stopped the run (``val/loss had no new best in 6 validations (best 0.4321)``); None: it did not."""
        if self.stopped_step is None:
            return None
        return f"{self.monitor} had no new best in {self.patience} validations (best {float(self.best_score):.4g})"

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "stopped_step": self.stopped_step, "checked_step": self.checked_step}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        self.stopped_step = state.pop("stopped_step", None)
        self.checked_step = state.pop("checked_step", None)
        super().load_state_dict(state)


def stop_reason(trainer: L.Trainer) -> str | None:
    """Why a :class:`StopOnPlateau` among ``trainer``'s callbacks stopped its run (None: none did)."""
    reasons = (c.summary() for c in trainer.callbacks if isinstance(c, StopOnPlateau))  # type: ignore[attr-defined]
    return next((r for r in reasons if r), None)
