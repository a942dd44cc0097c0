"""``lightning-causal fit | validate | test``: LightningCLI over the framework's models and data.

A config names the model and the data module by class path; the data module's graph and variable
types (with their training statistics) are linked into the model when both are instantiated, so
a config never repeats them::

    lightning-causal fit --config configs/dcm/triangle_na.yaml
    lightning-causal fit --config configs/dcm/triangle_na.yaml --trainer.max_steps 500
    lightning-causal fit --config configs/dcm/tabular.yaml --data.data my.csv --data.graph my_graph.yaml
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ProgressBar, TQDMProgressBar
from lightning.pytorch.cli import LightningCLI

from lightning_causal.callbacks.progress import StepProgressBar
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.variables.spec import variables_to_dict

__all__ = ["CausalCLI", "run_lightning"]


class CausalCLI(LightningCLI):
    """LightningCLI that links ``data.graph`` and ``data.variables`` into the model."""

    def add_arguments_to_parser(self, parser: Any) -> None:
        parser.link_arguments(
            "data.graph", "model.init_args.graph", compute_fn=CausalGraph.to_dict, apply_on="instantiate"
        )
        parser.link_arguments(
            "data.variables", "model.init_args.variables", compute_fn=variables_to_dict, apply_on="instantiate"
        )

    def _parse_ckpt_path(self) -> None:
        """Keep the model the config describes when ``--ckpt_path`` resumes a run.

        LightningCLI would re-parse the checkpoint's hyperparameters into the model's config; ours
        include the graph and the variable statistics linked in from the data module, which are
        not model options, and the parse fails. The checkpoint still restores the weights, the
        optimizer, the loops, the data loader's place and the callbacks' states.
        """

    def instantiate_trainer(self, **kwargs: Any) -> L.Trainer:
        """The Trainer, with Lightning's per-epoch default bar replaced by one bar over all steps.

        A bar the config names (any ``ProgressBar`` callback) is kept as it is.
        """
        # read before the Trainer exists: it appends its default callbacks to this very list
        chosen = self._get(self.config_init, "trainer", default={}).get("callbacks") or []
        named = any(isinstance(c, ProgressBar) for c in chosen)
        trainer = super().instantiate_trainer(**kwargs)
        if not named:
            callbacks = trainer.callbacks  # type: ignore[attr-defined]  # set by its callback connector
            for i, callback in enumerate(callbacks):
                if type(callback) is TQDMProgressBar:
                    callbacks[i] = StepProgressBar()
        return trainer


def run_lightning(argv: Sequence[str] | None) -> int:
    """Run LightningCLI on ``argv`` (``None``: on ``sys.argv``, as from the shell)."""
    CausalCLI(
        model_class=L.LightningModule,
        datamodule_class=L.LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        args=None if argv is None else list(argv),
        seed_everything_default=0,
        save_config_kwargs={"overwrite": True},
        parser_kwargs={"prog": "lightning-causal", "default_env": False},
    )
    return 0
