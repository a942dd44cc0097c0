"""Training an ID-GEN plan stage by stage: one Lightning run per stage, generated datasets between, resume.

:func:`fit_idgen` runs the plan of an :class:`~lightning_causal.models.IDGEN` model in a run folder
(:mod:`~lightning_causal.models.idgen.run_folder`):

1. stage 0 trains the factors of the observed data ``D0`` (one Lightning run, all factors' losses
   summed per step, the data module's own loaders);
2. every later dataset of the plan is generated from the trained earlier stages and written as shards
   (:mod:`~lightning_causal.models.idgen.generation`);
3. stage k trains the factors of the datasets generated from stage k - 1 (one Lightning run; a
   stage with several datasets draws one batch of each per step, :mod:`~lightning_causal.models.idgen.stage_data`;
   a dataset with image columns streams from its shards, only its other columns and the images
   copied or resampled from it in memory: :func:`memory_columns`);
4. where the network's free inputs are discrete and a fixed input is an image, the free-input model
   P(w | x) trains on ``D0`` (:mod:`~lightning_causal.models.idgen.free_inputs`; step ``free_inputs``,
   one more Lightning run, every stage frozen, at most ``FREE_INPUT_STEPS`` steps);
5. the last checkpoint holds every stage's weights: it is copied to ``idgen.ckpt``, the
   trained plan, which ``IDGEN.load`` and ``lightning-causal sample`` read.

Running again in the same folder resumes: trained stages are loaded, not retrained; finished
datasets are read, not regenerated (a dataset cut short keeps its finished shards); the stage in
progress resumes from its ``last.ckpt``, exactly (weights, optimizer, data order, noise).
``IDGEN.fit_in`` runs this loop from ``lightning-causal fit`` (the config's Trainer settings apply to
every stage: ``max_steps`` is per stage), and the ``"diffusion"`` learner from ``plan.fit``.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import Tensor

from lightning_causal.callbacks.checkpoints import LatestCheckpoint
from lightning_causal.callbacks.ema import EMA
from lightning_causal.callbacks.plateau import StopOnPlateau, stop_reason
from lightning_causal.callbacks.preemption import Preemption
from lightning_causal.callbacks.progress import StepProgressBar
from lightning_causal.data.rows import RowSource
from lightning_causal.errors import DataError
from lightning_causal.files import atomic_write
from lightning_causal.models.checkpoints import read_checkpoint
from lightning_causal.models.idgen.free_inputs import FREE_INPUT_STEPS, FREE_INPUTS
from lightning_causal.models.idgen.generation import generate_dataset, generated_rows
from lightning_causal.models.idgen.run_folder import RunFolder
from lightning_causal.models.idgen.stage_data import RowsData, StageData, StreamedStageData
from lightning_causal.preemption import Preempted, received_anywhere, stop, watch
from lightning_causal.ranks import global_rank

if TYPE_CHECKING:
    from lightning_causal.models.idgen.module import IDGEN

__all__ = ["TrainerFactory", "fit_idgen", "stage_trainer_factory", "write_checkpoint"]

TrainerFactory = Callable[[int, Path], L.Trainer]
"""Makes the Trainer of stage ``k`` whose files go to the given folder."""


def _load_weights(model: IDGEN, path: Path) -> None:
    checkpoint = read_checkpoint(path)
    model.on_load_checkpoint(checkpoint)  # first: it renames the keys of release-0.1 checkpoints
    model.load_state_dict(checkpoint["state_dict"])


def memory_columns(model: IDGEN, dataset: str = "D0") -> list[str]:
    """The columns of a dataset of the plan (the observed ``D0`` or a generated one) that ID-GEN holds in memory:
    every column of numbers and classes, and the images it copies or draws from rows.

    Generated datasets copy their ``copied`` columns from rows of their source, resampled factors and
    the network's free inputs (from ``D0``) are drawn from kept rows; every other image column is only
    trained on, so it is streamed and never decoded outside the loaders.
    """
    need: set[str] = set()
    for other in model.plan.datasets:
        if other.source == dataset:
            need.update(other.copied)
    if dataset == "D0" and model.plan.arbitrary:
        need.update(model.plan.arbitrary)
        need.update(model.plan.wiring.inputs)
    if dataset in model.factor_mechanisms:
        need.update(model.dataset_mechanisms(dataset).resampled_targets())
    columns = model.columns if dataset == "D0" else next(d for d in model.plan.datasets if d.name == dataset).columns
    return [v for v in columns if not model.variables[v].is_image or v in need]


def _observed(data: Any, model: IDGEN) -> tuple[dict[str, Tensor], L.LightningDataModule | None]:
    """The observed rows, and the data module whose loaders train stage 0 (None: batches of the rows)."""
    if isinstance(data, RowSource):
        if getattr(data, "streams", False):  # a streaming module: only what must be in memory is read
            rows = data.rows("train", columns=memory_columns(model))  # type: ignore[call-arg]
            return rows, data if isinstance(data, L.LightningDataModule) else None
        return data.rows("train"), data if isinstance(data, L.LightningDataModule) else None
    if isinstance(data, L.LightningDataModule):
        raise DataError(
            f"ID-GEN copies observed rows into the datasets it generates, and {type(data).__name__} gives none: "
            "a data module for ID-GEN has variables and rows(split) (lightning_causal.data.RowSource), as "
            "TabularDataModule and LatentSCMDataModule do"
        )
    if isinstance(data, Mapping):
        return {k: torch.as_tensor(v) for k, v in data.items()}, None
    raise DataError(f"data must be a data module or a dict of tensors, got {type(data).__name__}")


def fit_idgen(
    model: IDGEN,
    data: Any,
    run_dir: str | Path,
    trainer: TrainerFactory | None = None,
    batch_size: int = 256,
    shard_rows: int = 10_000,
    progress: bool = True,
    max_steps: int = 2000,
) -> IDGEN:
    """Train every stage of ``model``'s plan in ``run_dir`` (resuming what is there); see the module docstring.

    Args:
        model: the model to train (its plan, settings and seed).
        data: the observed data: a :class:`~lightning_causal.data.RowSource` (a data module: its
            loaders train stage 0) or a dict ``{variable: tensor}``.
        run_dir: the run folder (created; an earlier run of the same settings is resumed).
        trainer: makes each stage's Trainer (default: :func:`stage_trainer_factory` with ``max_steps``).
        batch_size: rows per batch of the generated datasets (and of ``data`` given as a dict).
        shard_rows: rows per shard of the generated datasets.
        progress: show progress bars.
        max_steps: steps per stage of the default Trainer.
    """
    root = Path(run_dir)
    run = RunFolder(root, model)
    observed, datamodule = _observed(data, model)
    have = set(observed) | set(getattr(datamodule, "variables", None) or ())
    missing = [v for v in model.columns if v not in have]
    if missing:
        raise DataError(f"the data has no column {missing[0]!r}, which the plan of {model.plan.query} needs")
    factory = trainer or stage_trainer_factory(max_steps, progress=progress)
    tensors: dict[str, dict[str, Tensor]] = {"D0": observed}
    device = torch.device("cpu")
    steps = model.training_steps
    last_done = run.last_trained(steps)
    if last_done is not None:
        path = run.trained(last_done)
        assert path is not None
        _load_weights(model, path)
        if progress:
            done = f"stages 0..{last_done}" if isinstance(last_done, int) else f"every stage and {last_done}"
            print(f"Resuming {root}: {done} are trained ({path})", flush=True)
    seed = model.noise_seed
    datasets = {d.name: d for d in model.plan.datasets}

    streamed: dict[str, Path] = {}  # generated datasets with images: trained on from their shards

    def data_of(name: str) -> dict[str, Tensor]:
        """A dataset's rows: in memory, read from its finished shards, or generated (from its source's rows).

        Of a dataset with image columns only :func:`memory_columns` are read; it trains from its shards.
        """
        if name not in tensors:
            ds = datasets[name]
            assert ds.source is not None
            source = data_of(ds.source)
            folder = run.data_dir(name)
            rows = generated_rows(model, ds, len(next(iter(tensors["D0"].values()))))
            images = any(model.variables[v].is_image for v in ds.columns)
            held = memory_columns(model, name) if images else None
            tensors[name] = generate_dataset(
                model, ds, source, folder, rows, shard_rows, device, progress, columns=held
            )
            if images:
                streamed[name] = folder
            if run.writer:
                run.mark_generated(name, folder)
        return tensors[name]

    watch()
    for stage in steps:
        if run.trained(stage) is not None:
            continue
        if received_anywhere():  # every rank at the same boundary: the run folder holds every finished part
            raise stop(f"before stage {stage} of {model.stage_count - 1}")
        names = model.stage_datasets(stage)
        for name in names:
            data_of(name)
        model.train_stage(stage)
        free = stage == FREE_INPUTS
        if not free:
            for name in names:
                model.keep_rows(name, tensors[name], seed)
        stage_root = run.stage_dir(stage)
        if not free and not any(model.dataset_mechanisms(n).trained for n in names):
            # only resampled marginals: nothing to optimise, the kept rows are the whole stage
            final = stage_root / "final.ckpt"
            write_checkpoint(model, final)
            run.mark_trained(stage, final, 0)
            continue
        stage_trainer = factory(stage if isinstance(stage, int) else model.stage_count, stage_root)
        _pin_checkpoints(stage_trainer, stage_root / "checkpoints")
        if free and stage_trainer.fit_loop.max_steps > FREE_INPUT_STEPS:
            stage_trainer.fit_loop.epoch_loop.max_steps = FREE_INPUT_STEPS  # a small classifier needs fewer steps
        if names == ["D0"] and datamodule is not None:
            stage_data: L.LightningDataModule = datamodule
        elif names == ["D0"]:
            stage_data = RowsData(observed, batch_size, seed)
        elif any(n in streamed for n in names):
            stage_data = StreamedStageData(
                {n: streamed.get(n) or tensors[n] for n in names},
                batch_size,
                seed + stage,  # type: ignore[operator]
                num_workers=int(getattr(datamodule, "num_workers", 0) or 0),
                shuffle_buffer=int(getattr(datamodule, "shuffle_buffer", 1000)),
            )
        else:
            stage_data = StageData({n: tensors[n] for n in names}, batch_size, seed + stage)  # type: ignore[operator]
        last = stage_root / "checkpoints" / "last.ckpt"
        if progress:
            if free:
                assert model.free_inputs is not None
                given = ", ".join(model.free_inputs.fixed)
                trained = ", ".join(f"P({w} | {given})" for w in model.free_inputs.free)
                print(f"Free inputs: training {trained} on D0 (drawn to go with x in queries)", flush=True)
            else:
                factors = [model.plan.factor(f) for n in names for f in model.dataset_mechanisms(n).factors]
                trained = ", ".join(map(str, factors))
                print(f"Stage {stage} of {model.stage_count - 1}: training {trained} on {', '.join(names)}", flush=True)
        # the other stages are frozen, but an EMA callback rewrites every weight (a*d + a*(1-d) rounds):
        # their exact values are put back after the run
        held: dict[str, torch.nn.Module] = {
            n: model.dataset_mechanisms(n) for n in model.factor_mechanisms if free or n not in names
        }
        if not free and model.free_inputs is not None:
            held[FREE_INPUTS] = model.free_inputs
        frozen = {n: {k: v.detach().clone() for k, v in m.state_dict().items()} for n, m in held.items()}
        try:
            stage_trainer.fit(model, datamodule=stage_data, ckpt_path=str(last) if last.is_file() else None)
        except Preempted as halt:
            halt.where = f"in stage {stage} {halt.where}"
            raise
        for n, weights in frozen.items():
            held[n].load_state_dict(weights)
        if free and model.free_inputs is not None:
            model.free_inputs.trained.fill_(True)
        device = stage_trainer.strategy.root_device
        final = stage_root / "final.ckpt"
        _save_weights(stage_trainer, final)
        run.mark_trained(stage, final, int(stage_trainer.global_step), stop_reason(stage_trainer))
    final_stage = run.trained(steps[-1])
    assert final_stage is not None
    target = root / "idgen.ckpt"
    if run.writer:
        tmp = root / ".idgen.ckpt.tmp"
        checkpoint = read_checkpoint(final_stage, mmap=True)  # the weights are only copied, not read
        saved = checkpoint.get(model.CHECKPOINT_HYPER_PARAMS_KEY)
        mechanisms = model.hparams.get("mechanisms")
        if isinstance(saved, dict) and saved.get("mechanisms") != mechanisms:
            # only settings that sampling reads can differ here (the fingerprint and the architecture check
            # hold the rest): the trained plan answers with this config's (e.g. a new guidance or eta)
            saved["mechanisms"] = mechanisms
            torch.save(checkpoint, tmp)
        else:
            shutil.copyfile(final_stage, tmp)
        os.replace(tmp, target)
        run.state["checkpoint"] = target.name
        run.save()
    model.to("cpu")
    return model


def _pin_checkpoints(trainer: L.Trainer, folder: Path) -> None:
    """Every checkpoint callback writes to the stage's folder (so a rerun finds ``last.ckpt``); one keeps ``last``."""
    callbacks = [c for c in trainer.checkpoint_callbacks if isinstance(c, ModelCheckpoint)]
    for callback in callbacks:
        callback.dirpath = str(folder)
    if callbacks and not any(c.save_last for c in callbacks):
        callbacks[0].save_last = True


def write_checkpoint(model: IDGEN, path: Path) -> Path:
    """A weights-only Lightning checkpoint of ``model`` written without a Trainer (atomically, by rank 0)."""
    checkpoint: dict[str, Any] = {
        "epoch": 0,
        "global_step": 0,
        "pytorch-lightning_version": L.__version__,
        "state_dict": model.state_dict(),
        model.CHECKPOINT_HYPER_PARAMS_KEY: dict(model.hparams),
    }
    model.on_save_checkpoint(checkpoint)
    if global_rank() == 0:
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        atomic_write(path, buffer.getvalue())
    return path


def _save_weights(trainer: L.Trainer, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    trainer.save_checkpoint(tmp, weights_only=True)
    if trainer.is_global_zero:
        os.replace(tmp, path)
    trainer.strategy.barrier("idgen-stage-saved")


def stage_trainer_factory(
    max_steps: int,
    progress: bool = True,
    accelerator: str = "auto",
    devices: int | str = 1,
    ema: float | None = 0.999,
    checkpoint_every: int | None = None,
    patience: int | None = None,
    min_steps: int = 0,
    val_every: int | None = None,
    **trainer_kwargs: Any,
) -> TrainerFactory:
    """The default Trainer of each stage: at most ``max_steps`` steps, ``last.ckpt`` every ``checkpoint_every`` steps
    (default: a tenth of the run), EMA of the weights.

    With ``patience``, a stage also stops when its validation loss has had no new best for
    ``patience`` validations (:class:`~lightning_causal.callbacks.StopOnPlateau`, not before
    ``min_steps``); without, every stage takes ``max_steps`` steps. Validation runs every
    ``val_every`` steps (default: with ``patience``, the smaller of 250 and a tenth of the run;
    without, at every checkpoint).
    """
    every = checkpoint_every or max(1, max_steps // 10)
    check = val_every or (min(every, 250) if patience is not None else every)
    StopOnPlateau(patience if patience is not None else 1, min_steps)  # checks the settings now, once

    def make(stage: int, root: Path) -> L.Trainer:
        callbacks: list[Any] = [LatestCheckpoint(dirpath=root / "checkpoints", every_n_train_steps=every)]
        if ema is not None:
            callbacks.append(EMA(decay=ema))
        if patience is not None:
            callbacks.append(StopOnPlateau(patience, min_steps))
        if progress:
            callbacks.append(StepProgressBar())
        callbacks.append(Preemption())  # after the EMA: the stop's checkpoint holds this step's average
        settings = {"val_check_interval": min(check, max_steps), "check_val_every_n_epoch": None, **trainer_kwargs}
        return L.Trainer(
            max_steps=max_steps,
            accelerator=accelerator,
            devices=devices,
            logger=False,
            default_root_dir=root,
            callbacks=callbacks,
            enable_progress_bar=progress,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            **settings,
        )

    return make
