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
import importlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint, ProgressBar, TQDMProgressBar
from lightning.pytorch.cli import LightningCLI

from lightning_causal.callbacks.image_samples import ImageSamples, image_variables
from lightning_causal.callbacks.plateau import stop_reason
from lightning_causal.callbacks.preemption import Preemption, place_after_step_callbacks
from lightning_causal.callbacks.progress import StepProgressBar
from lightning_causal.callbacks.run_stats import RunStats
from lightning_causal.callbacks.wandb_run import WandbRun
from lightning_causal.errors import ConfigError, TrainingError
from lightning_causal.files import atomic_write
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.launch.settings import check_settings
from lightning_causal.models.base import CausalModule
from lightning_causal.models.checkpoints import read_checkpoint
from lightning_causal.models.ensemble import (
    bootstrap_data,
    ensemble_parts,
    finished_checkpoint,
    fresh_model,
    save_final,
    write_ensemble_record,
)
from lightning_causal.models.interface import FitContext
from lightning_causal.preemption import PREEMPTED_FILE, Preempted, job_key, requeue
from lightning_causal.ranks import global_rank, sum_over_ranks
from lightning_causal.variables.spec import variables_to_dict

__all__ = ["CausalCLI", "run_lightning"]


class CausalCLI(LightningCLI):
    """LightningCLI that links ``data.graph`` and ``data.variables`` into the model and lets the model's
    family say how it trains (:meth:`~lightning_causal.models.CausalModule.fit_in`)."""

    def add_arguments_to_parser(self, parser: Any) -> None:
        parser.link_arguments(
            "data.graph", "model.init_args.graph", compute_fn=CausalGraph.to_dict, apply_on="instantiate"
        )
        parser.link_arguments(
            "data.variables", "model.init_args.variables", compute_fn=variables_to_dict, apply_on="instantiate"
        )
        parser.add_argument(
            "--ensemble.members",
            type=int,
            default=0,
            help="fit: train the model on all rows (<root>/full) and on this many bootstrap resamples of the "
            "training rows (<root>/member-<k>), for intervals (sample --interval); 0: one model",
        )
        parser.add_argument(
            "--ensemble.seed",
            type=int | None,
            default=None,
            help="the seed of the model on all rows; member k resamples and trains with seed + k + 1 "
            "(default: the model's seed, i.e. seed_everything)",
        )
        parser.add_argument(
            "--ensemble.task",
            type=int | None,
            default=None,
            help="train one part only: 0 the model on all rows, k in 1..members bootstrap member k-1 "
            "(a SLURM job array trains the parts in parallel: ARRAY=ensemble sbatch --array=0-K slurm/train.sbatch); "
            "default: all, in turn",
        )

    def before_instantiate_classes(self) -> None:
        """Check the training settings before the data, the model or the Trainer is built."""
        config = self.config[self.subcommand] if self.subcommand else self.config
        check_settings(config)
        _seed_the_model(config)
        ckpt_path = config.get("ckpt_path") if hasattr(config, "get") else None
        family = _family_class(config)
        trainer: Any = config.get("trainer") if hasattr(config, "get") else None
        root = trainer.get("default_root_dir") if trainer is not None and hasattr(trainer, "get") else None
        if self.subcommand == "fit" and _ensemble(config) is not None:
            if ckpt_path is not None:
                raise ConfigError(
                    f"ckpt_path is {ckpt_path!r} with ensemble.members set: an ensemble resumes every part from "
                    "its own folder; run the same command again without --ckpt_path"
                )
        elif self.subcommand == "fit" and ckpt_path is None:
            ckpt_path = requeued_checkpoint(Path(root or "."))
            if ckpt_path is not None:
                config["ckpt_path"] = ckpt_path
        if family is not None and self.subcommand == "fit":
            family.check_fit(ckpt_path, root)
        if ckpt_path not in (None, "last", "best", "hpc", "registry"):
            checkpoint = check_checkpoint(Path(ckpt_path))
            if self.subcommand == "fit":  # compared with the model once it exists (_check_resume)
                self._resume = (f"ckpt_path {str(ckpt_path)!r}", checkpoint)

    def _parse_ckpt_path(self) -> None:
        """Keep the model the config describes when ``--ckpt_path`` resumes a run.

        LightningCLI would re-parse the checkpoint's hyperparameters into the model's config; ours
        include the graph and the variable statistics linked in from the data module, which are
        not model options, and the parse fails. The checkpoint still restores the weights, the
        optimizer, the loops, the data loader's place and the callbacks' states.
        """

    _context: FitContext | None = None
    _ensemble_line: str | None = None  # what an ensemble fit trained, said when it ends
    _resume: tuple[str, Any] | None = None  # fit --ckpt_path: its label and the checkpoint read by check_checkpoint
    _callback_templates: list[Any] | None = None

    def _run_subcommand(self, subcommand: str) -> None:
        """Run the subcommand; a diverged run's error also says which checkpoint (and step) is kept; a preempted
        run is requeued (see :meth:`_preempted`)."""
        try:
            super()._run_subcommand(subcommand)  # type: ignore[misc]
        except TrainingError as err:
            trainer = self._context.last_trainer if self._context is not None else self.trainer
            raise TrainingError(f"{err}. {checkpoint_note(trainer)}", err.step) from err
        except Preempted as stop:
            self._preempted(stop)
            raise

    def _preempted(self, stop: Preempted) -> None:
        """After a stop on SIGUSR1: note the checkpoint for the requeued job, requeue it, and say so in ``stop.report``.

        A run of the command's own Trainer resumes from the checkpoint the stop wrote (the requeued job
        finds it in ``preempted.json``); a family that trains several Trainers (ID-GEN) resumes its run
        folder by itself. Rank 0 requeues (or any rank that stopped on its own signal, e.g. mid-generation).
        """
        root = Path(self.trainer.default_root_dir)
        own = self._context is None or not self._context.trainers
        resume_from = stop.checkpoint if own else None
        rank_zero = global_rank() == 0
        job = job_key()
        if rank_zero and job is not None:
            record = {"job": job, "checkpoint": str(resume_from) if resume_from else None, "step": stop.step}
            atomic_write(root / PREEMPTED_FILE, json.dumps(record, indent=2) + "\n")
        held = f"{stop.checkpoint} holds step {stop.step}" if stop.checkpoint else "the finished parts are kept"
        if job is not None and (rank_zero or not stop.agreed):
            # said before the requeue: SLURM ends this job's processes as soon as it is requeued
            print(f"{stop} (SIGUSR1): {held}; requeuing SLURM job {job}, which resumes from there", flush=True)
            stop.requeued, why = requeue()
            if stop.requeued:
                stop.report = ""  # said already
                return
            failed = f"not requeued ({why}); "
        else:
            failed = ""
        if resume_from is not None:
            then = f"{failed}resume with the same command and --ckpt_path {resume_from}"
        else:
            then = f"{failed}run the same command again to resume"
        stop.report = f"{stop} (SIGUSR1): {held}; {then}"

    def fit(self, model: L.LightningModule, **kwargs: Any) -> None:
        """Train as the model's family says (one Lightning run, or ID-GEN's stages in its run folder)."""
        self._context = FitContext(
            trainer=self.trainer,
            datamodule=kwargs.get("datamodule"),
            ckpt_path=kwargs.get("ckpt_path"),
            make_trainer=self._fresh_trainer,
        )
        ensemble = _ensemble(self.config[self.subcommand])
        if ensemble is not None and isinstance(model, CausalModule):
            self._fit_ensemble(model, kwargs.get("datamodule"), *ensemble)
        elif isinstance(model, CausalModule):
            model.fit_in(self._context)
        else:
            self.trainer.fit(model, **kwargs)

    def _fit_ensemble(
        self, model: CausalModule, datamodule: Any, members: int, seed: int | None, task: int | None
    ) -> None:
        """Train the model on all rows and on ``members`` bootstrap resamples, each part in its own folder.

        Part folders under ``trainer.default_root_dir``: ``full/`` (the model of the config's settings
        seeded ``seed``, on all rows) and ``member-<k>/`` (seeded ``seed + k + 1``, on rows resampled
        with that seed); a part's seed sets its initial weights, training noise and batches. Each part
        trains as its family says (one Lightning run, or ID-GEN's stages) with the command's settings,
        on every rank of the command; a finished part (its ``final.ckpt`` or run checkpoint) is kept,
        an interrupted one resumes from its ``last.ckpt`` (ID-GEN: from its run folder).
        """
        root = Path(self.trainer.default_root_dir)
        seed = model.noise_seed if seed is None else seed
        parts = ensemble_parts(members, seed)
        if self.trainer.is_global_zero:
            write_ensemble_record(root, members, seed)
        chosen = parts if task is None else [parts[task]]
        trained, kept = [], []
        for name, part_seed in chosen:
            folder = root / name
            if finished_checkpoint(folder) is not None:
                kept.append(name)
                continue
            L.seed_everything(part_seed, verbose=False)
            module = model if part_seed == model.noise_seed else fresh_model(model, part_seed)
            data = datamodule if name == "full" else bootstrap_data(datamodule, part_seed)
            if self.trainer.is_global_zero:
                print(f"Ensemble part {name} (seed {part_seed}) in {folder}", flush=True)
            last = folder / "checkpoints" / "last.ckpt"
            self._context = FitContext(
                trainer=self._fresh_trainer(folder),
                datamodule=data,
                ckpt_path=str(last) if last.is_file() else None,
                make_trainer=self._fresh_trainer,
            )
            module.fit_in(self._context)
            if not self._context.trainers:  # one Lightning run: its final weights are the part's model
                save_final(self._context.trainer, folder)
            trained.append(name)
        done = sum(finished_checkpoint(root / name) is not None for name, _ in parts)
        said = f"trained {', '.join(trained)}" if trained else "nothing to train"
        said += f"; kept {', '.join(kept)} (finished before)" if kept else ""
        then = (
            f"query it: lightning-causal sample --ckpt {root} --do ... --interval 0.9"
            if done == len(parts)
            else f"{len(parts) - done} part(s) still to train (--ensemble.task 0..{members}, or without it)"
        )
        self._ensemble_line = (
            f"Ensemble in {root}: {said}; {done} of {len(parts)} parts (full + {members} members) finished; {then}"
        )

    def _fresh_trainer(self, root: Path) -> L.Trainer:
        """A Trainer of the config's settings with fresh copies of its callbacks, writing to ``root``.

        Its metrics go to the command's W&B run, in a section named after ``root`` (``stage1/...``).
        """
        trainer = self.instantiate_trainer(
            default_root_dir=str(root), callbacks=copy.deepcopy(self._callback_templates)
        )
        for logger in trainer.loggers:
            if isinstance(logger, WandbRun):
                logger.bind(self.trainer.default_root_dir, section=root.name)
        return trainer

    def before_fit(self) -> None:
        """The resolved config goes to the W&B run (its ``config``)."""
        for logger in self.trainer.loggers:
            if isinstance(logger, WandbRun):
                logger.log_config(self.config[self.subcommand].as_dict())

    def validate(self, model: L.LightningModule, **kwargs: Any) -> None:
        """``trainer.validate``, where the model's family runs it as one Lightning run."""
        if isinstance(model, CausalModule):
            model.check_command("validate")
        self.trainer.validate(model, **kwargs)

    def test(self, model: L.LightningModule, **kwargs: Any) -> None:
        """``trainer.test``, where the model's family runs it as one Lightning run."""
        if isinstance(model, CausalModule):
            model.check_command("test")
        self.trainer.test(model, **kwargs)

    def after_fit(self) -> None:
        """Say at which step training ended and which step the saved checkpoints hold (or the family's line)."""
        skipped = skipped_count(getattr(self, "datamodule", None))  # every rank: summed over them
        if not self.trainer.is_global_zero:
            return
        (Path(self.trainer.default_root_dir) / PREEMPTED_FILE).unlink(missing_ok=True)  # finished: nothing to resume
        if self._ensemble_line is not None:
            print(self._ensemble_line)
            return
        model = self.model
        summary = model.fit_summary(self._context) if isinstance(model, CausalModule) and self._context else None
        stopped = stop_reason(self.trainer)
        why = f" ({stopped})" if stopped else ""
        line = summary or f"Training ended at step {self.trainer.global_step}{why}. {checkpoint_note(self.trainer)}"
        print(line + skipped_note(getattr(self, "datamodule", None), skipped))

    def _check_resume(self) -> None:
        """A ``fit --ckpt_path`` of another model is refused once the model exists, before the Trainer does."""
        if self._resume is not None and isinstance(getattr(self, "model", None), CausalModule):
            source, checkpoint = self._resume
            self._resume = None  # the checkpoint read up front is compared once, then let go
            self.model.check_resume(checkpoint, source)

    def instantiate_trainer(self, **kwargs: Any) -> L.Trainer:
        """The Trainer, with Lightning's per-epoch default bar replaced by one bar over all steps.

        A bar the config names (any ``ProgressBar`` callback) is kept as it is.
        """
        if self._callback_templates is None:
            self._check_resume()
        # read before the Trainer exists: it appends its default callbacks to this very list
        chosen = self._get(self.config_init, "trainer", default={}).get("callbacks") or []
        if self._callback_templates is None:  # fresh copies for the Trainers a family makes (ID-GEN's stages)
            self._callback_templates = copy.deepcopy(list(chosen))
        chosen = kwargs.get("callbacks", chosen)
        named = any(isinstance(c, ProgressBar) for c in chosen)
        kinds: list[type[L.Callback]] = [RunStats, Preemption]  # logs' figures; SIGUSR1 stops resumably
        if image_variables(getattr(self, "model", None)):
            kinds.append(ImageSamples)  # grids of sampled images in the logs
        added = [kind() for kind in kinds if not any(isinstance(c, kind) for c in chosen)]
        if added:
            kwargs["callbacks"] = [*chosen, *added]
        trainer = super().instantiate_trainer(**kwargs)
        for logger in trainer.loggers:  # W&B writes into the run folder and keeps its run id there
            if isinstance(logger, WandbRun):
                logger.bind(trainer.default_root_dir)
        callbacks = trainer.callbacks  # type: ignore[attr-defined]  # set by its callback connector
        if not named:
            for i, callback in enumerate(callbacks):
                if type(callback) is TQDMProgressBar:
                    callbacks[i] = StepProgressBar()
        place_after_step_callbacks(callbacks)
        return trainer


def requeued_checkpoint(root: Path) -> str | None:
    """The checkpoint a preempted run of this SLURM job left in ``root`` (``preempted.json``), when it exists."""
    job = job_key()
    record_path = root / PREEMPTED_FILE
    if job is None or not record_path.is_file():
        return None
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError):
        return None
    checkpoint = record.get("checkpoint") if isinstance(record, dict) else None
    if record.get("job") != job or not checkpoint or not Path(checkpoint).is_file():
        return None
    if global_rank() == 0:
        restart = os.environ.get("SLURM_RESTART_COUNT", "?")
        step = record.get("step")
        print(f"Requeued job {job} (restart {restart}): resuming from {checkpoint} (step {step})", flush=True)
    return str(checkpoint)


def _peek(path: Path) -> Any:
    """A checkpoint's contents with its tensors memory-mapped, not read: cheap even for large ones."""
    return read_checkpoint(path, mmap=True)


def check_checkpoint(path: Path) -> dict[str, Any]:
    """``--ckpt_path`` must be a checkpoint file that loads; checked before anything is built. Returns its contents
    (tensors memory-mapped)."""
    if not path.is_file():
        raise ConfigError(
            f"ckpt_path {str(path)!r} {'is a folder' if path.is_dir() else 'does not exist'}; give a .ckpt file"
        )
    try:
        state = _peek(path)
    except ConfigError:
        raise
    except Exception as err:  # torch's unpickler raises many types for a file that is no checkpoint
        raise ConfigError(
            f"ckpt_path {str(path)!r} is not a checkpoint ({type(err).__name__}); give a .ckpt that fit wrote"
        ) from None
    if not isinstance(state, dict) or "state_dict" not in state:
        raise ConfigError(
            f"ckpt_path {str(path)!r} is not a Lightning checkpoint (no state_dict); give a .ckpt that fit wrote"
        )
    return state


def _family_class(config: Any) -> type[CausalModule] | None:
    """The model class a parsed config names, when it is a family's (None for anything else or a bad path)."""
    model = config.get("model") if hasattr(config, "get") else None
    class_path = str(getattr(model, "class_path", "") or "")
    module, _, name = class_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        return None  # the parser reports it
    return cls if isinstance(cls, type) and issubclass(cls, CausalModule) else None


def _ensemble(config: Any) -> tuple[int, int | None, int | None] | None:
    """``(members, seed, task)`` of a parsed config's ``ensemble`` section, or None without one (members 0)."""
    section: Any = config.get("ensemble") if hasattr(config, "get") else None
    if section is None or not hasattr(section, "get") or not section.get("members", 0):
        return None
    return int(section.get("members")), section.get("seed"), section.get("task")


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


def skipped_count(datamodule: Any) -> int | None:
    """The samples a streaming data module skipped in training, summed over the ranks (None: it does not stream).

    Every rank calls it (a collective under DDP): each rank's loaders count what they skipped.
    """
    skipped = getattr(datamodule, "skipped", None)
    return sum_over_ranks(skipped) if isinstance(skipped, int) else None


def skipped_note(datamodule: Any, skipped: int | None = None) -> str:
    """`` N corrupt or missing samples were skipped ...`` for a streaming data module that skipped any, else ``""``.

    ``skipped``: the count over every rank (:func:`skipped_count`); default: this rank's.
    """
    if skipped is None:
        skipped = getattr(datamodule, "skipped", None)
    if not isinstance(skipped, int) or skipped <= 0:
        return ""
    loader = getattr(datamodule, "_train", None)
    reasons = getattr(loader, "reasons", None) or []
    first = f"; the first: {reasons[0]}" if reasons else ""
    note = "corrupt or missing (each epoch that met them; logged as data/skipped)"
    return f" {skipped} samples were skipped, {note}{first}"


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
