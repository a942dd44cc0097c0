"""What a command hands a model family: how to train it and how to name query arguments in errors.

The command line never tests which family it has; it calls the hooks of
:class:`~lightning_causal.models.CausalModule` with these two records:

* :class:`FitContext`: the Trainer built from the config, the data, the checkpoint to resume from,
  and a factory of fresh Trainers with the same settings, for families that train in stages (ID-GEN
  runs one Lightning run per stage in its run folder);
* :class:`QueryLabels`: how the caller calls the interventions, shifts and conditions (``--do``,
  ``--shift``, ``--given`` on the command line), so that a refused query names what the user typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L

__all__ = ["FitContext", "QueryLabels"]


@dataclass
class FitContext:
    """How a command asks a family to train.

    Attributes:
        trainer: the Trainer the command built (its ``default_root_dir`` is the run's folder).
        datamodule: the training data.
        ckpt_path: the checkpoint to resume from, as the command was given it (or None).
        make_trainer: a fresh Trainer with the command's settings and fresh copies of its callbacks,
            writing to the given folder.
        trainers: every Trainer that ran, in order (the command reports the last one's checkpoints).
    """

    trainer: L.Trainer
    datamodule: Any = None
    ckpt_path: str | None = None
    make_trainer: Callable[[Path], L.Trainer] | None = None
    trainers: list[L.Trainer] = field(default_factory=list)

    def new_trainer(self, root: Path) -> L.Trainer:
        """A fresh Trainer writing to ``root`` (recorded in :attr:`trainers`)."""
        if self.make_trainer is None:
            raise RuntimeError("this command gives no Trainer factory; train with one Lightning run")
        trainer = self.make_trainer(root)
        self.trainers.append(trainer)
        return trainer

    @property
    def last_trainer(self) -> L.Trainer:
        """The Trainer that ran last (the command's own when none was made)."""
        return self.trainers[-1] if self.trainers else self.trainer


@dataclass(frozen=True)
class QueryLabels:
    """The names of a query's arguments in error messages (Python's by default; the CLI's flags there)."""

    interventions: str = "interventions"
    shift: str = "shift interventions"
    given: str = "given"
