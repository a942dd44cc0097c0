"""``lightning-causal fit | validate | test``: LightningCLI over the framework's models and data.

A config names the model and the data module by class path; the data module's graph and variable
types (with their training statistics) are linked into the model when both are instantiated, so
a config never repeats them::

    lightning-causal fit --config configs/dcm/triangle_na.yaml
    lightning-causal fit --config configs/dcm/triangle_na.yaml --trainer.max_steps 500
    lightning-causal fit --config configs/dcm/tabular.yaml --data.data my.csv --data.graph my_graph.yaml
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, ProgressBar, TQDMProgressBar
from lightning.pytorch.cli import LightningCLI

from lightning_causal.callbacks.progress import StepProgressBar
from lightning_causal.errors import ConfigError, TrainingError
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.launch.settings import check_settings
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

    def before_instantiate_classes(self) -> None:
        """Check the training settings before the data, the model or the Trainer is built."""
        config = self.config[self.subcommand] if self.subcommand else self.config
        check_settings(config)
        _seed_the_model(config)
        ckpt_path = config.get("ckpt_path") if hasattr(config, "get") else None
        model = config.get("model") if hasattr(config, "get") else None
        if str(getattr(model, "class_path", "") or "").endswith(".IDGEN") and self.subcommand == "fit":
            check_idgen_run(config, ckpt_path)
        if ckpt_path not in (None, "last", "best", "hpc", "registry"):
            check_checkpoint(Path(ckpt_path))

    def _parse_ckpt_path(self) -> None:
        """Keep the model the config describes when ``--ckpt_path`` resumes a run.

        LightningCLI would re-parse the checkpoint's hyperparameters into the model's config; ours
        include the graph and the variable statistics linked in from the data module, which are
        not model options, and the parse fails. The checkpoint still restores the weights, the
        optimizer, the loops, the data loader's place and the callbacks' states.
        """

    def _run_subcommand(self, subcommand: str) -> None:
        """Run the subcommand; a diverged run's error also says which checkpoint (and step) is kept."""
        try:
            super()._run_subcommand(subcommand)  # type: ignore[misc]
        except TrainingError as err:
            trainer = self._stage_trainers[-1] if self._stage_trainers else self.trainer
            raise TrainingError(f"{err}. {checkpoint_note(trainer)}", err.step) from err

    _stage_trainers: tuple[L.Trainer, ...] = ()
    _callback_templates: list[Any] | None = None

    def fit(self, model: L.LightningModule, **kwargs: Any) -> None:
        """``trainer.fit``; an ID-GEN model trains its plan stage by stage in the run folder instead.

        The run folder is ``trainer.default_root_dir``; every stage gets a Trainer of the config's
        settings (``max_steps`` per stage) and fresh copies of its callbacks.
        """
        from lightning_causal.launch.idgen import fit_idgen

        if not _is_idgen(model):
            self.trainer.fit(model, **kwargs)
            return
        if kwargs.get("ckpt_path"):
            raise ConfigError(
                "an ID-GEN run resumes from its run folder (trainer.default_root_dir), not from --ckpt_path: "
                "run the same command again without it"
            )
        environment = getattr(self.trainer.strategy, "cluster_environment", None)
        if self.trainer.world_size > 1 and not getattr(environment, "creates_processes_externally", False):
            raise ConfigError(
                f"an ID-GEN run on {self.trainer.world_size} processes needs them started outside Lightning "
                "(srun, e.g. sbatch slurm/train.sbatch, or torchrun): each stage is its own Lightning run, and "
                "Lightning would start new processes for every stage; or train on one device (trainer.devices=1)"
            )
        self._stage_trainers = ()

        def stage_trainer(stage: int, root: Path) -> L.Trainer:
            callbacks = copy.deepcopy(self._callback_templates or [])
            trainer = self.instantiate_trainer(default_root_dir=str(root), callbacks=callbacks)
            self._stage_trainers = (*self._stage_trainers, trainer)
            return trainer

        datamodule = kwargs.get("datamodule")
        batch_size = int(getattr(datamodule, "batch_size", 256) or 256)
        root = Path(self.trainer.default_root_dir)
        fit_idgen(model, datamodule, root, stage_trainer, batch_size=batch_size, progress=self.trainer.is_global_zero)

    def validate(self, model: L.LightningModule, **kwargs: Any) -> None:
        """``trainer.validate``; an ID-GEN model validates each stage while ``fit`` trains it."""
        _refuse_idgen(model, "validate")
        self.trainer.validate(model, **kwargs)

    def test(self, model: L.LightningModule, **kwargs: Any) -> None:
        """``trainer.test``; an ID-GEN model is scored by sampling its answer (see benchmarks/idgen_suite.py)."""
        _refuse_idgen(model, "test")
        self.trainer.test(model, **kwargs)

    def after_fit(self) -> None:
        """Say at which step training ended and which step the saved checkpoints hold."""
        if not self.trainer.is_global_zero:
            return
        if _is_idgen(self.model):
            root = Path(self.trainer.default_root_dir)
            stages = self.model.stage_count  # type: ignore[attr-defined]
            print(
                f"Trained the ID-GEN plan of {self.model.plan.query} in {stages} stage{'s' * (stages != 1)} "  # type: ignore[attr-defined]
                f"(run folder {root}). The trained plan is {root / 'idgen.ckpt'}: "
                f"lightning-causal sample --ckpt {root / 'idgen.ckpt'} --do ... --n ... --out samples.csv"
            )
            return
        print(f"Training ended at step {self.trainer.global_step}. {checkpoint_note(self.trainer)}")

    def instantiate_trainer(self, **kwargs: Any) -> L.Trainer:
        """The Trainer, with Lightning's per-epoch default bar replaced by one bar over all steps.

        A bar the config names (any ``ProgressBar`` callback) is kept as it is.
        """
        # read before the Trainer exists: it appends its default callbacks to this very list
        chosen = self._get(self.config_init, "trainer", default={}).get("callbacks") or []
        if self._callback_templates is None:  # fresh copies for the Trainers of ID-GEN's stages
            self._callback_templates = copy.deepcopy(list(chosen))
        chosen = kwargs.get("callbacks", chosen)
        named = any(isinstance(c, ProgressBar) for c in chosen)
        trainer = super().instantiate_trainer(**kwargs)
        if not named:
            callbacks = trainer.callbacks  # type: ignore[attr-defined]  # set by its callback connector
            for i, callback in enumerate(callbacks):
                if type(callback) is TQDMProgressBar:
                    callbacks[i] = StepProgressBar()
        return trainer


def _peek(path: Path) -> Any:
    """A checkpoint's contents with its tensors memory-mapped, not read: cheap even for large ones."""
    return torch.load(path, map_location="cpu", weights_only=False, mmap=True)


def check_checkpoint(path: Path) -> None:
    """``--ckpt_path`` must be a checkpoint file that loads; checked before anything is built."""
    if not path.is_file():
        raise ConfigError(
            f"ckpt_path {str(path)!r} {'is a folder' if path.is_dir() else 'does not exist'}; give a .ckpt file"
        )
    try:
        state = _peek(path)
    except Exception as err:  # torch's unpickler raises many types for a file that is no checkpoint
        raise ConfigError(
            f"ckpt_path {str(path)!r} is not a checkpoint ({type(err).__name__}); give a .ckpt that fit wrote"
        ) from None
    if not isinstance(state, dict) or "state_dict" not in state:
        raise ConfigError(
            f"ckpt_path {str(path)!r} is not a Lightning checkpoint (no state_dict); give a .ckpt that fit wrote"
        )


def _is_idgen(model: object) -> bool:
    from lightning_causal.models.idgen import IDGEN

    return isinstance(model, IDGEN)


def _refuse_idgen(model: L.LightningModule, command: str) -> None:
    if _is_idgen(model):
        raise ConfigError(
            f"lightning-causal {command} runs one Lightning run; an ID-GEN model has one per stage, each validated "
            "while fit trains it (val/loss in the stage's logs): sample its answer with lightning-causal sample"
        )


def check_idgen_run(config: Any, ckpt_path: Any) -> None:
    """An ID-GEN fit resumes from its run folder: no ``--ckpt_path``, and the folder must not be a file."""
    if ckpt_path:
        raise ConfigError(
            "an ID-GEN run resumes from its run folder (trainer.default_root_dir), not from --ckpt_path: "
            "run the same command again without it"
        )
    trainer: Any = config.get("trainer") if hasattr(config, "get") else None
    root = trainer.get("default_root_dir") if trainer is not None and hasattr(trainer, "get") else None
    if root and Path(root).exists() and not Path(root).is_dir():
        raise ConfigError(f"trainer.default_root_dir {str(root)!r} is a file; give the run folder (a folder)")


def _seed_the_model(config: Any) -> None:
    """The model's own ``seed`` follows ``seed_everything`` where the config leaves it at its default 0.

    The models seed their initial weights, training noise and generated datasets from their own
    ``seed`` (not from the global RNG), so without this ``seed_everything: 1`` would train the
    same run as ``seed_everything: 0``. A ``model.init_args.seed`` other than 0 is kept.
    """
    seed = config.get("seed_everything") if hasattr(config, "get") else None
    model = config.get("model") if hasattr(config, "get") else None
    init = getattr(model, "init_args", None)
    if isinstance(seed, bool) or not isinstance(seed, int) or init is None or not hasattr(init, "get"):
        return
    if init.get("seed", None) == 0:
        init["seed"] = seed


def checkpoint_note(trainer: L.Trainer) -> str:
    """Which step ``last.ckpt`` (and the best checkpoint) hold, read from the files themselves."""
    notes: list[str] = []
    for callback in trainer.checkpoint_callbacks:
        if not isinstance(callback, ModelCheckpoint):
            continue
        for label, path in (("last checkpoint", callback.last_model_path), ("best", callback.best_model_path)):
            if path and Path(path).is_file() and all(path not in n for n in notes):
                step = _peek(Path(path)).get("global_step")
                notes.append(f"{label} {path} holds step {step}")
    return ("; ".join(notes) + ".") if notes else "No checkpoint was written."


def run_lightning(argv: Sequence[str] | None) -> int:
    """Run LightningCLI on ``argv`` (``None``: on ``sys.argv``, as from the shell)."""
    # "Seed set to 0" on stderr is noise, and would stand in front of a one-line error
    logging.getLogger("lightning.fabric.utilities.seed").setLevel(logging.WARNING)
    CausalCLI(
        model_class=L.LightningModule,
        datamodule_class=L.LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        args=None if argv is None else list(argv),
        seed_everything_default=0,
        save_config_kwargs={"overwrite": True},
        parser_kwargs={"prog": "lightning-causal", "default_env": False, "exit_on_error": False},
    )
    return 0
