"""Training an ID-GEN plan stage by stage: generated datasets as shards, one Lightning run per stage, resume.

:func:`fit_idgen` runs the plan of an :class:`~lightning_causal.models.IDGEN` model in a run folder:

1. stage 0 trains the factors of the observed data ``D0`` (one Lightning run, all factors' losses
   summed per step);
2. every later dataset of the plan (ID's line-7 update, IDC-GEN's joint samples) is generated from
   the trained earlier stages, with a progress bar, and written as webdataset shards with a
   manifest (:mod:`lightning_causal.datamodules.shards`); the carried columns are copied from
   random rows of its source, the others are drawn by the trained networks;
3. stage k trains the factors of the datasets generated from stage k - 1 (one Lightning run; a
   stage with several datasets draws one batch of each per step);
4. the last stage's checkpoint holds every stage's weights: it is copied to ``idgen.ckpt``, the
   trained plan, which ``IDGEN.load`` and ``lightning-causal sample`` read.

The run folder::

    idgen.json            the run's manifest: the query, a fingerprint of the settings, what is done
    plan.json             the ID-GEN plan (SamplingPlan.load reads it)
    stage0/checkpoints/   Lightning checkpoints of stage 0 (last.ckpt), final.ckpt when trained
    data/D1/              a generated dataset: shard-000000.tar ..., manifest.json
    stage1/ ...
    idgen.ckpt            the trained plan

Running again in the same folder resumes: trained stages are loaded, not retrained; finished
datasets are read, not regenerated (a dataset cut short keeps its finished shards); the stage in
progress resumes from its ``last.ckpt``, exactly (weights, optimizer, data order, noise). A folder
of a run with other settings (graph, data statistics, query, network, seed) is refused.

``plan.fit(data, generator="diffusion")`` runs the same loop (:class:`DiffusionKind`), and
``lightning-causal fit --config configs/idgen/frontdoor.yaml`` runs it from a config (the
trainer's settings apply to every stage: ``max_steps`` is per stage).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import Tensor
from tqdm import tqdm

from lightning_causal.callbacks.ema import EMA
from lightning_causal.callbacks.progress import StepProgressBar
from lightning_causal.datamodules.shards import (
    column_entries,
    read_manifest,
    read_shard,
    read_shards,
    shard_name,
    write_manifest,
    write_shard,
)
from lightning_causal.datamodules.tensor_dataset import tensor_loader, with_statistics, zipped_loader
from lightning_causal.errors import ConfigError, DataError, QueryError, listing
from lightning_causal.files import atomic_write
from lightning_causal.generators.base import ConditionalGenerator
from lightning_causal.launch.quiet import quiet
from lightning_causal.mechanisms import MechanismConfig, MechanismGenerator
from lightning_causal.models.idgen import IDGEN, TensorKind
from lightning_causal.plan.parts import Dataset
from lightning_causal.plan.sampling_plan import SamplingPlan
from lightning_causal.sampling.data import PlanData, TensorData
from lightning_causal.sampling.network import run_network
from lightning_causal.sampling.sampling_network import SamplingNetwork
from lightning_causal.variables.spec import VariableSpec, parse_variables

__all__ = ["RUN_FORMAT", "DiffusionKind", "StageData", "fit_idgen", "infer_variables", "stage_trainer_factory"]

RUN_FORMAT = "lightning-causal/idgen-run/1"
TrainerFactory = Callable[[int, Path], L.Trainer]
"""Makes the Trainer of stage ``k`` whose files go to the given folder."""


# ---------------------------------------------------------------------------- data of a stage
class StageData(L.LightningDataModule):
    """Batches of a stage's generated datasets: ``{dataset: {variable: tensor}}``, one batch of each per step.

    The last ``val_fraction`` of every dataset's rows validate (generated rows are independent
    draws, so a tail split is a random one).
    """

    def __init__(
        self, datasets: Mapping[str, Mapping[str, Tensor]], batch_size: int, seed: int, val_fraction: float = 0.05
    ) -> None:
        super().__init__()
        self.train_parts: dict[str, dict[str, Tensor]] = {}
        self.val_parts: dict[str, dict[str, Tensor]] = {}
        for name, tensors in datasets.items():
            n = len(next(iter(tensors.values())))
            n_val = int(n * val_fraction) if n >= 20 else 0
            self.train_parts[name] = {v: t[: n - n_val] for v, t in tensors.items()}
            if n_val:
                self.val_parts[name] = {v: t[n - n_val :] for v, t in tensors.items()}
        if len(self.val_parts) != len(self.train_parts):
            self.val_parts = {}
        self.batch_size = batch_size
        self.seed = seed

    def train_dataloader(self) -> Any:
        return zipped_loader(self.train_parts, self.batch_size, self.seed)

    def val_dataloader(self) -> Any:
        return zipped_loader(self.val_parts, self.batch_size, None) if self.val_parts else []


# ---------------------------------------------------------------------------- the run folder
def _fingerprint(model: IDGEN) -> str:
    keys = ("graph", "variables", "treatment", "outcome", "condition", "seed", "generated_size")
    settings = {k: model.hparams.get(k) for k in keys}
    settings["network"] = model.hparams.get("mechanisms")  # the key's name before 0.2: run folders keep their prints
    if model.hparams.get("generation_guidance") is not None:  # runs made before this setting keep their prints
        settings["generation_guidance"] = model.hparams["generation_guidance"]
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _rank() -> int:
    for key in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        if os.environ.get(key, "").isdigit():
            return int(os.environ[key])
    return 0


class RunFolder:
    """The run folder's manifest: what is trained and generated (see the module docstring)."""

    def __init__(self, root: Path, model: IDGEN) -> None:
        self.root = root
        self.path = root / "idgen.json"
        fingerprint = _fingerprint(model)
        if root.exists() and not root.is_dir():
            raise ConfigError(f"run folder {str(root)!r} is a file; give a folder")
        if self.path.is_file():
            try:
                state = json.loads(self.path.read_text())
            except ValueError:
                raise ConfigError(f"{str(self.path)!r} is damaged; delete the run folder to start again") from None
            if state.get("fingerprint") != fingerprint:
                raise ConfigError(
                    f"run folder {str(root)!r} holds a run of other settings ({state.get('query')}, fingerprint "
                    f"{state.get('fingerprint')}, this run {fingerprint}); give another folder or delete it"
                )
            self.state = state
        else:
            if root.is_dir() and any(root.iterdir()):
                raise ConfigError(
                    f"run folder {str(root)!r} is not empty and holds no ID-GEN run; give an empty or new folder"
                )
            self.state = {
                "format": RUN_FORMAT,
                "query": model.plan.query,
                "fingerprint": fingerprint,
                "stages": {},
                "datasets": {},
                "checkpoint": None,
            }
        self.writer = _rank() == 0
        if self.writer:
            root.mkdir(parents=True, exist_ok=True)
            model.plan.save(root / "plan.json")
            self.save()

    def save(self) -> None:
        if self.writer:
            atomic_write(self.path, json.dumps(self.state, indent=2) + "\n")

    def stage_dir(self, stage: int) -> Path:
        return self.root / f"stage{stage}"

    def data_dir(self, name: str) -> Path:
        return self.root / "data" / name

    def trained(self, stage: int) -> Path | None:
        entry = self.state["stages"].get(str(stage))
        path = self.root / entry["checkpoint"] if entry else None
        return path if path is not None and path.is_file() else None

    def mark_trained(self, stage: int, checkpoint: Path, steps: int) -> None:
        self.state["stages"][str(stage)] = {"checkpoint": str(checkpoint.relative_to(self.root)), "steps": steps}
        self.save()


# ---------------------------------------------------------------------------- generation
def _shard_seed(seed: int, dataset: str, shard: int) -> int:
    digest = hashlib.sha256(f"{seed}/{dataset}/{shard}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


IMAGE_SHARD_ROWS = 1000
"""Rows per shard of a generated dataset with image columns (each shard is one step of the progress bar)."""


def generate_dataset(
    model: IDGEN,
    dataset: Dataset,
    source: Mapping[str, Tensor],
    folder: Path,
    rows: int,
    shard_rows: int,
    device: torch.device,
    progress: bool = True,
) -> dict[str, Tensor]:
    """Generate ``dataset`` of the plan from the trained factors, as shards in ``folder``; returns its tensors.

    Carried columns are copied from random rows of ``source``; the others are drawn by the
    dataset's network. Each shard has its own seed, so shards already written are kept. A dataset
    with image columns has at most :data:`IMAGE_SHARD_ROWS` rows per shard.
    """
    assert dataset.network is not None
    if read_manifest(folder) is not None:
        return read_shards(folder)
    guidance = model.hparams.get("generation_guidance")
    generators: dict[str, ConditionalGenerator] = {
        f.name: MechanismGenerator(
            model.dataset_mechanisms(f.dataset), f.name, steps=model.hparams["sample_steps"], guidance=guidance
        )
        for f in model.plan.factors
        if f.dataset in model.factor_mechanisms
    }
    columns = dataset.columns
    variables = {v: model.variables[v] for v in columns}
    if any(spec.is_image for spec in variables.values()):  # image rows are slow to draw: finer shards and progress
        shard_rows = min(shard_rows, IMAGE_SHARD_ROWS)
    count = (rows + shard_rows - 1) // shard_rows
    shards: list[tuple[str, int]] = []
    parts: list[dict[str, Tensor]] = []  # the rows in memory: written shards are not read back
    size = len(next(iter(source.values())))
    model.to(device)
    was_training = model.training
    model.eval()
    folder.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=rows, desc=f"Generating {dataset.name}", unit="rows", disable=not progress, file=sys.stdout)
    try:
        for index in range(count):
            n = min(shard_rows, rows - index * shard_rows)
            path = folder / shard_name(index)
            if path.is_file():  # finished by an earlier, interrupted run
                parts.append(read_shard(path, column_entries(variables), n))
            else:
                rng = torch.Generator(device=device).manual_seed(_shard_seed(model.noise_seed, dataset.name, index))
                pick = torch.randint(0, size, (n,), generator=rng, device=device).cpu()
                values = {v: source[v][pick].to(device) for v in dataset.copied}
                with torch.no_grad():
                    values.update(run_network(dataset.network, generators, values, n, rng))
                part = {v: values[v].detach().cpu() for v in columns}
                write_shard(path, part, variables, index * shard_rows)
                parts.append(part)
            shards.append((path.name, n))
            bar.update(n)
    finally:
        bar.close()
        model.train(was_training)
    write_manifest(folder, variables, shards, dataset=dataset.name, origin=dataset.origin)
    return {v: torch.cat([part[v] for part in parts]) for v in columns}


def _wait_for(folder: Path, timeout: float = 24 * 3600) -> dict[str, Tensor]:
    """Other ranks wait for rank 0 to finish a dataset."""
    start = time.monotonic()
    while read_manifest(folder) is None:
        if time.monotonic() - start > timeout:
            raise DataError(f"waited {timeout:.0f} s for rank 0 to generate {str(folder)!r}")
        time.sleep(1.0)
    return read_shards(folder)


# ---------------------------------------------------------------------------- the stage loop
def _load_weights(model: IDGEN, path: Path) -> None:
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(checkpoint["state_dict"])
    model.on_load_checkpoint(checkpoint)


def _observed(data: Any) -> tuple[dict[str, Tensor], L.LightningDataModule | None]:
    if isinstance(data, L.LightningDataModule):
        tensors = getattr(data, "train_tensors", None)
        if not isinstance(tensors, Mapping):
            raise DataError(
                f"ID-GEN needs the observed rows in memory to copy them into generated datasets; "
                f"{type(data).__name__} has no train_tensors (use TabularDataModule or LatentSCMDataModule)"
            )
        return dict(tensors), data
    if isinstance(data, Mapping):
        return {k: torch.as_tensor(v) for k, v in data.items()}, None
    raise DataError(f"data must be a LightningDataModule or a dict of tensors, got {type(data).__name__}")


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
        data: the observed data: a data module with ``train_tensors`` (its loaders train stage 0)
            or a dict ``{variable: tensor}``.
        run_dir: the run folder (created; an earlier run of the same settings is resumed).
        trainer: makes each stage's Trainer (default: :func:`stage_trainer_factory` with ``max_steps``).
        batch_size: rows per batch of the generated datasets (and of ``data`` given as a dict).
        shard_rows: rows per shard of the generated datasets.
        progress: show progress bars.
        max_steps: steps per stage of the default Trainer.
    """
    root = Path(run_dir)
    run = RunFolder(root, model)
    observed, datamodule = _observed(data)
    missing = [v for v in model.columns if v not in observed]
    if missing:
        raise DataError(f"the data has no column {missing[0]!r}, which the plan of {model.plan.query} needs")
    factory = trainer or stage_trainer_factory(max_steps, progress=progress)
    tensors: dict[str, dict[str, Tensor]] = {"D0": observed}
    device = torch.device("cpu")
    last_done = max((k for k in range(model.stage_count) if run.trained(k)), default=None)
    if last_done is not None:
        path = run.trained(last_done)
        assert path is not None
        _load_weights(model, path)
        if progress:
            print(f"Resuming {root}: stages 0..{last_done} are trained ({path})", flush=True)
    seed = model.noise_seed
    rows_wanted = model.hparams["generated_size"]
    datasets = {d.name: d for d in model.plan.datasets}

    def data_of(name: str) -> dict[str, Tensor]:
        """A dataset's rows: in memory, read from its finished shards, or generated (from its source's rows)."""
        if name not in tensors:
            ds = datasets[name]
            assert ds.source is not None
            source = data_of(ds.source)
            folder = run.data_dir(name)
            if run.writer:
                rows = rows_wanted or len(next(iter(source.values())))
                tensors[name] = generate_dataset(model, ds, source, folder, rows, shard_rows, device, progress)
                run.state["datasets"][name] = str(folder.relative_to(root))
                run.save()
            else:
                tensors[name] = _wait_for(folder)
        return tensors[name]

    for stage in range(model.stage_count):
        if run.trained(stage) is not None:
            continue
        names = model.stage_datasets(stage)
        for name in names:
            data_of(name)
        model.train_stage(stage)
        for name in names:
            model.keep_rows(name, tensors[name], seed)
        stage_root = run.stage_dir(stage)
        if not any(model.dataset_mechanisms(n).trained for n in names):
            # only resampled marginals: nothing to optimise, the kept rows are the whole stage
            final = stage_root / "final.ckpt"
            write_checkpoint(model, final)
            run.mark_trained(stage, final, 0)
            continue
        stage_trainer = factory(stage, stage_root)
        _pin_checkpoints(stage_trainer, stage_root / "checkpoints")
        if names == ["D0"] and datamodule is not None:
            stage_data: L.LightningDataModule = datamodule
        elif names == ["D0"]:
            stage_data = _DictData(observed, batch_size, seed)
        else:
            stage_data = StageData({n: tensors[n] for n in names}, batch_size, seed + stage)
        last = stage_root / "checkpoints" / "last.ckpt"
        if progress:
            trained = ", ".join(str(model.plan.factor(f)) for n in names for f in model.dataset_mechanisms(n).factors)
            print(f"Stage {stage} of {model.stage_count - 1}: training {trained} on {', '.join(names)}", flush=True)
        # the other stages are frozen, but an EMA callback rewrites every weight (a*d + a*(1-d) rounds):
        # their exact values are put back after the run
        frozen = {
            n: {k: v.detach().clone() for k, v in model.dataset_mechanisms(n).state_dict().items()}
            for n in model.factor_mechanisms
            if n not in names
        }
        stage_trainer.fit(model, datamodule=stage_data, ckpt_path=str(last) if last.is_file() else None)
        for n, weights in frozen.items():
            model.dataset_mechanisms(n).load_state_dict(weights)
        device = stage_trainer.strategy.root_device
        final = stage_root / "final.ckpt"
        _save_weights(stage_trainer, final)
        run.mark_trained(stage, final, int(stage_trainer.global_step))
    final_stage = run.trained(model.stage_count - 1)
    assert final_stage is not None
    target = root / "idgen.ckpt"
    if run.writer:
        tmp = root / ".idgen.ckpt.tmp"
        shutil.copyfile(final_stage, tmp)
        os.replace(tmp, target)
        run.state["checkpoint"] = target.name
        run.save()
    model.to("cpu")
    return model


class _DictData(L.LightningDataModule):
    def __init__(self, tensors: Mapping[str, Tensor], batch_size: int, seed: int) -> None:
        super().__init__()
        self.tensors, self.batch_size, self.seed = dict(tensors), batch_size, seed

    def train_dataloader(self) -> Any:
        return tensor_loader(self.tensors, self.batch_size, self.seed)


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
    if _rank() == 0:
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
    **trainer_kwargs: Any,
) -> TrainerFactory:
    """The default Trainer of each stage: ``max_steps`` steps, validation and ``last.ckpt`` every ``checkpoint_every``
    steps (default: a tenth of the run), EMA of the weights."""

    def make(stage: int, root: Path) -> L.Trainer:
        every = checkpoint_every or max(1, max_steps // 10)
        callbacks: list[Any] = [
            ModelCheckpoint(dirpath=root / "checkpoints", save_last=True, save_top_k=0, every_n_train_steps=every)
        ]
        if ema is not None:
            callbacks.append(EMA(decay=ema))
        if progress:
            callbacks.append(StepProgressBar())
        settings = {"val_check_interval": min(every, max_steps), "check_val_every_n_epoch": None, **trainer_kwargs}
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


# ---------------------------------------------------------------------------- plan.fit(generator="diffusion")
def infer_variables(
    data: Mapping[str, Tensor], names: Sequence[str], declared: Mapping[str, Any] | None = None
) -> dict[str, VariableSpec]:
    """Specs of ``names`` from tensors: ``(n, C, H, W)`` tensors images (uint8 or float 0..1), other
    floats continuous (dim from the shape), integers categorical (binary for 0/1).

    Continuous specs carry the data's mean, std and range; ``declared`` types win.
    """
    declared = dict(declared or {})
    specs = parse_variables({v: declared[v] for v in names if v in declared}, names)
    out = {}
    for name in names:
        value = data[name]
        if name in declared:
            spec = specs[name]
        elif value.dim() == 4:
            c, h, w = (int(d) for d in value.shape[1:])
            dtype = "uint8" if value.dtype == torch.uint8 else "float"
            spec = VariableSpec(name, "image", channels=c, height=h, width=w, dtype=dtype)
        elif value.is_floating_point():
            spec = VariableSpec(name, "continuous", dim=1 if value.dim() == 1 else int(value.shape[1]))
        else:
            high = int(value.max()) if len(value) else 1
            spec = VariableSpec(name, "binary") if high <= 1 else VariableSpec(name, "categorical", classes=high + 1)
        if spec.kind == "continuous" and not bool((value.double().reshape(len(value), -1).std(0) > 0).all()):
            raise DataError(f"column {name!r} is constant; a continuous variable needs varying values")
        out[name] = spec
    return with_statistics(out, data)


def _as_tensors(data: Any, needed: Sequence[str]) -> dict[str, Tensor]:
    if not isinstance(data, Mapping):
        raise QueryError(f"data must be a dict of arrays or tensors (one per variable), got {type(data).__name__}")
    missing = [v for v in needed if v not in data]
    if missing:
        raise QueryError(f"the data has no variable {missing[0]!r}, which the plan needs; it has {listing(data)}")
    out = {}
    for v in needed:
        t = torch.as_tensor(data[v])
        if t.dim() == 4:  # images (n, C, H, W), uint8 or float 0..1
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                raise DataError(f"images {v!r} hold NaN or infinite values; give pixels in 0..1 (or uint8)")
            t = t if t.dtype == torch.uint8 else t.float()
        elif t.is_floating_point():
            t = t.float()
            if t.dim() == 1:
                t = t.unsqueeze(1)
            if not bool(torch.isfinite(t).all()):
                raise DataError(f"column {v!r} holds NaN or infinite values; drop or impute them")
        else:
            t = t.long().reshape(-1)
            if bool((t < 0).any()):
                raise DataError(f"column {v!r} holds negative class codes; codes run from 0")
        out[v] = t
    lengths = {len(t) for t in out.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise DataError("the data's columns need the same, non-zero number of rows")
    return out


class DiffusionKind(TensorKind):
    """ID-GEN with generative models: conditional diffusion for continuous variables, Gumbel-max for discrete ones.

    ``plan.fit(data, generator="diffusion")`` uses the defaults; give an instance for other settings::

        network = plan.fit(data, generator=DiffusionKind(max_steps=5000, run_dir="runs/napkin"))

    Args:
        max_steps: optimizer steps per stage.
        batch_size: rows per batch.
        mechanisms: the architecture of the factors' mechanisms (:class:`MechanismConfig` or its fields).
        variables: declared types (e.g. ``{"M": {"type": "categorical", "classes": 4}}``); others
            are inferred: float columns continuous, integer columns categorical (binary for 0/1).
            Data given as a data module (with ``train_tensors``) bring their own ``variables``.
        run_dir: the run folder (resumable); default: a temporary folder removed afterwards.
        lr: the learning rate (AdamW).
        progress: show progress bars.
        generation_guidance: the guidance weight of image factors drawing generated datasets
            (see :class:`~lightning_causal.models.IDGEN`; default: ``mechanisms.image.guidance``).
        trainer_kwargs: more Trainer arguments (e.g. ``accelerator="gpu"``).
    """

    name = "diffusion"

    def __init__(
        self,
        max_steps: int = 2000,
        batch_size: int = 256,
        mechanisms: MechanismConfig | Mapping[str, Any] | None = None,
        variables: Mapping[str, Any] | None = None,
        run_dir: str | Path | None = None,
        lr: float = 1e-3,
        progress: bool = True,
        generation_guidance: float | None = None,
        **trainer_kwargs: Any,
    ) -> None:
        super().__init__({}, "cpu")
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.mechanisms = mechanisms
        self.declared = dict(variables or {})
        self.run_dir = run_dir
        self.lr = lr
        self.progress = progress
        self.generation_guidance = generation_guidance
        self.trainer_kwargs = trainer_kwargs

    def observe(self, data: Any, needed: Sequence[str], cardinalities: Mapping[str, int] | None) -> PlanData:
        declared = dict(self.declared)
        if isinstance(data, L.LightningDataModule):  # a data module's rows and its variable types
            declared = {**dict(getattr(data, "variables", None) or {}), **declared}
            data = getattr(data, "train_tensors", None)
            if not isinstance(data, Mapping):
                raise DataError("the data module has no train_tensors; pass a dict of tensors instead")
        tensors = _as_tensors(data, needed)
        self.variables = infer_variables(tensors, needed, declared)
        return TensorData(tensors, {v: s.classes for v, s in self.variables.items() if s.is_discrete})

    def fit_plan(
        self,
        plan: SamplingPlan,
        data: Any,
        seed: Any = 0,
        generated_size: int | None = None,
        cardinalities: Mapping[str, int] | None = None,
    ) -> SamplingNetwork:
        from functools import partial

        from lightning_causal.models.optim import AdamW
        from lightning_causal.sampling.kinds import plan_columns

        observed = self.observe(data, plan_columns(plan), cardinalities)
        assert isinstance(observed, TensorData)
        mechanisms = dict(self.mechanisms) if isinstance(self.mechanisms, Mapping) else self.mechanisms
        model = IDGEN(
            plan.graph,
            variables={v: s for v, s in self.variables.items()},  # type: ignore[misc]
            treatment=plan.treatment,
            outcome=plan.outcome,
            condition=plan.condition,
            mechanisms=mechanisms,
            optimizer=partial(AdamW, lr=self.lr),
            seed=int(seed),
            generated_size=generated_size,
            generation_guidance=self.generation_guidance,
        )
        factory = stage_trainer_factory(self.max_steps, progress=self.progress, **self.trainer_kwargs)
        with quiet(), tempfile.TemporaryDirectory(prefix="idgen-") as scratch:
            folder = self.run_dir if self.run_dir is not None else scratch
            fit_idgen(model, observed.columns, folder, factory, self.batch_size, progress=self.progress)
        model.eval()
        return model.sampling_network()
