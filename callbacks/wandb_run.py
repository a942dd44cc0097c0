"""Weights & Biases for lightning-causal runs: offline by default, one W&B run per run folder, resumed with it.

:class:`WandbRun` is Lightning's :class:`~lightning.pytorch.loggers.WandbLogger` with the habits a
run folder needs:

* **offline unless turned on**: the run is written under ``<run folder>/wandb/`` and never leaves
  the machine; ``--trainer.logger.init_args.offline false`` (with ``wandb login`` or
  ``WANDB_API_KEY``) streams it to W&B, and ``wandb sync <run folder>/wandb/offline-run-*`` uploads
  an offline run later;
* **one run per run folder**: its id is kept in ``<run folder>/wandb_run.json``, so a resumed or
  requeued job appends to the same W&B run instead of starting another;
* **stages as sections**: ID-GEN trains each stage with its own Trainer and the same logger; the
  metrics of stage k are logged as ``stage<k>/...`` (``stage1/train/loss``) in that one run;
* **what a run is**: the resolved config (``config``), the model's hyperparameters, every logged
  metric (losses per node or factor, validation loss, learning rate, throughput, peak memory).

Where the logger sits in a Trainer it learns the run folder from the command
(``lightning-causal fit``), or from ``save_dir`` when built by hand.
"""

from __future__ import annotations

import json
import os
import secrets
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import WandbLogger

from lightning_causal.files import atomic_write
from lightning_causal.ranks import global_rank

__all__ = ["RUN_ID_FILE", "WandbRun"]

RUN_ID_FILE = "wandb_run.json"
"""In the run folder: the W&B run's id (and project), so that every resumed job continues that run."""


def _new_id() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(8))


class WandbRun(WandbLogger):
    """A W&B logger, offline by default, that keeps one W&B run per run folder (see the module docstring).

    Args:
        project: the W&B project.
        name: the run's display name (default: W&B's).
        offline: write the run locally only (the default); False streams it to W&B.
        save_dir: the run folder (default: the Trainer's ``default_root_dir``, set by ``lightning-causal fit``).
        id: a W&B run id to continue (default: the run folder's, or a new one).
        **kwargs: passed to ``wandb.init`` (``group``, ``tags``, ``entity``, ``notes``, ...).
    """

    def __init__(
        self,
        project: str = "lightning-causal",
        name: str | None = None,
        offline: bool = True,
        save_dir: str | None = None,
        id: str | None = None,
        **kwargs: Any,
    ) -> None:
        # the mode goes to wandb.init, not into this process's environment (Lightning's offline=True sets
        # WANDB_MODE for every process started later); WANDB_MODE=disabled switches W&B off everywhere
        mode = "disabled" if os.environ.get("WANDB_MODE") == "disabled" else "offline" if offline else "online"
        if kwargs.get("mode") is None:  # the CLI passes wandb.init's own defaults (None) explicitly
            kwargs["mode"] = mode
        super().__init__(name=name, project=project, save_dir=save_dir or ".", id=id, **kwargs)
        self.offline = offline
        self.section = ""
        self._given_id = id
        self._given_dir = save_dir
        if save_dir is not None:
            self.bind(Path(save_dir))

    def bind(self, root: str | Path, section: str = "") -> None:
        """Write to the run folder ``root`` (its ``wandb/`` folder and run id) and prefix metrics with ``section``.

        Once the W&B run has started (an earlier stage of the same command) only the section changes.
        """
        self.section = section
        if self._experiment is not None:
            return
        root = Path(self._given_dir or root)
        record_path = root / RUN_ID_FILE
        run_id = self._given_id
        if run_id is None and record_path.is_file():
            try:
                run_id = json.loads(record_path.read_text()).get("id")
            except (OSError, ValueError, AttributeError):
                run_id = None
        run_id = run_id or _new_id()
        if global_rank() == 0:
            (root / "wandb").mkdir(parents=True, exist_ok=True)  # wandb writes into an existing folder only
            record = {"id": run_id, "project": self._wandb_init.get("project")}
            atomic_write(record_path, json.dumps(record, indent=2) + "\n")
        self._wandb_init["dir"] = self._save_dir = str(root)
        self._wandb_init["id"] = self._id = run_id

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        if self.section:
            metrics = {f"{self.section}/{key}": value for key, value in metrics.items()}
        super().log_metrics(metrics, step)

    def log_config(self, config: Mapping[str, Any]) -> None:
        """The resolved config of the command, as the W&B run's ``config``."""
        self.log_hyperparams({"config": dict(config)})
