"""Bootstrap ensembles of trained models (a DCM, or any CausalModule trained by one Lightning run).

:func:`fit_bootstrap` trains the model on a data module's training rows and on ``members``
bootstrap resamples of them (the validation rows stay as they are), one after the other, each in
its own folder of ``run_dir`` (``full/``, ``member-<k>/``) with its ``last.ckpt`` to resume from
and a ``final.ckpt`` once trained (a rerun loads it and trains nothing). It returns an
:class:`~lightning_causal.sampling.EnsembleNetwork`, whose ``interval``, ``difference`` and
``counterfactual`` give percentile-bootstrap intervals::

    ensemble = fit_bootstrap(lambda: DCM(data.graph, data.variables), data, members=20,
                             trainer=lambda folder: L.Trainer(max_steps=2000, default_root_dir=folder))
    ensemble.interval({"x1": 0.5})["x3"]          # the mean of x3 under do(x1 = 0.5), with its interval
    ensemble.counterfactual(rows, {"x1": 0.5})     # the mean counterfactual of each variable over rows

The command line trains the same folders from a config's ``ensemble:`` section (``lightning-causal
fit --config run.yaml --ensemble.members 20``), any family alike (an ID-GEN part is a run folder with
its ``idgen.ckpt``); :func:`load_ensemble` reads such a folder back for queries.
"""

from __future__ import annotations

import copy
import inspect
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L

from lightning_causal.errors import DataError, QueryError
from lightning_causal.files import atomic_write
from lightning_causal.models.base import CausalModule
from lightning_causal.models.families import families, load_model
from lightning_causal.sampling.ensemble import EnsembleNetwork, bootstrap_rows, check_members

__all__ = [
    "ENSEMBLE_FILE",
    "bootstrap_data",
    "ensemble_parts",
    "finished_checkpoint",
    "fit_bootstrap",
    "fresh_model",
    "load_ensemble",
    "save_final",
    "write_ensemble_record",
]

ENSEMBLE_FILE = "ensemble.json"
"""The record of an ensemble folder: its number of members and the seed of every part."""


def ensemble_parts(members: int, seed: int) -> list[tuple[str, int]]:
    """The folders and seeds of an ensemble: ``("full", seed)``, then ``("member-<k>", seed + k + 1)``."""
    check_members(members)
    return [("full", seed), *((f"member-{k}", seed + k + 1) for k in range(members))]


def fresh_model(model: CausalModule, seed: int) -> CausalModule:
    """A new, untrained model of ``model``'s settings (its hyperparameters) seeded ``seed``: its initial weights,
    training noise and generated datasets follow the seed, as for any model of the family."""
    params = inspect.signature(type(model).__init__).parameters
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    settings = {k: v for k, v in model.hparams.items() if open_ended or k in params}  # not e.g. "family"
    return type(model)(**{**settings, "seed": seed})


def write_ensemble_record(root: Path, members: int, seed: int) -> None:
    """``ensemble.json`` in ``root``: what :func:`load_ensemble` reads back (the seeds of the members)."""
    parts = dict(ensemble_parts(members, seed))
    record = {"members": members, "seed": seed, "parts": parts}
    root.mkdir(parents=True, exist_ok=True)
    atomic_write(root / ENSEMBLE_FILE, json.dumps(record, indent=2) + "\n")


def finished_checkpoint(folder: Path) -> Path | None:
    """The trained model of one ensemble part: its ``final.ckpt``, or a family's run checkpoint (``idgen.ckpt``)."""
    for path in (folder / "final.ckpt", *(folder / f"{name}.ckpt" for name in families())):
        if path.is_file():
            return path
    return None


def save_final(trainer: L.Trainer, folder: Path) -> Path:
    """Save the model a finished Lightning run holds as ``folder/final.ckpt`` (weights only; the EMA average,
    where an EMA callback runs), atomically: a part without it is not finished."""
    final = folder / "final.ckpt"
    partial = folder / ".final.ckpt.partial"
    trainer.save_checkpoint(partial, weights_only=True)
    if trainer.is_global_zero:
        os.replace(partial, final)
    trainer.strategy.barrier("ensemble part saved")
    return final


def load_ensemble(path: str | Path) -> EnsembleNetwork:
    """The ensemble a folder holds (``full/`` and ``member-<k>/``, as ``fit --ensemble.members K``,
    :func:`fit_bootstrap` or ``plan.fit_ensemble(..., learner=DiffusionLearner(run_dir=...))`` write it),
    ready for intervals: ``load_ensemble("outputs/run").interval({"X": 1})``.

    Raises:
        QueryError: a folder with fewer than 2 trained members, naming what is missing.
    """
    root = Path(path)
    members = sorted(
        (p for p in root.glob("member-*") if p.is_dir() and p.name.removeprefix("member-").isdigit()),
        key=lambda p: int(p.name.removeprefix("member-")),
    )
    how = (
        "train one with lightning-causal fit --config ... --ensemble.members 20, lightning_causal.models."
        "fit_bootstrap(..., run_dir=...) or plan.fit_ensemble(..., learner=DiffusionLearner(run_dir=...))"
    )
    if not root.is_dir() or len(members) < 2:
        raise QueryError(
            f"intervals need an ensemble folder with member-<k>/ folders (2 or more), and {str(root)!r} has "
            f"{len(members)}: {how}"
        )
    full = root / "full"
    parts = [full, *members] if full.is_dir() else members
    trained = {p.name: finished_checkpoint(p) for p in parts}
    unfinished = [name for name, path in trained.items() if path is None]
    if unfinished:
        raise QueryError(
            f"ensemble {str(root)!r}: {', '.join(unfinished)} not trained yet (no final.ckpt or run checkpoint); "
            "finish them with the same fit command (--ensemble.task k trains one part)"
        )
    model = load_model(trained.get("full") or root)
    record = root / ENSEMBLE_FILE
    seeds: list[int] = []
    if record.is_file():
        parts = json.loads(record.read_text()).get("parts", {})
        seeds = [int(parts[p.name]) for p in members if p.name in parts]
    fitted = [load_model(trained[p.name]).eval() for p in members]  # type: ignore[arg-type]
    return EnsembleNetwork(model.eval(), fitted, seeds if len(seeds) == len(fitted) else [])


def bootstrap_data(data: Any, seed: int) -> Any:
    """A copy of an in-memory data module whose training rows are a bootstrap resample (seeded) of its own."""
    rows = getattr(data, "train_tensors", None)
    if not isinstance(rows, dict):
        raise DataError(
            f"{type(data).__name__} keeps no training rows in memory (train_tensors): bootstrap members resample "
            "them; use a TensorDataModule (TabularDataModule, SCMDataModule, ...)"
        )
    twin = copy.copy(data)
    twin.train_tensors = bootstrap_rows(rows, seed)
    return twin


def fit_bootstrap(
    model: Callable[[], CausalModule],
    data: Any,
    members: int = 20,
    trainer: Callable[[Path], L.Trainer] | None = None,
    run_dir: str | Path | None = None,
    seed: int = 0,
) -> EnsembleNetwork:
    """Train ``model()`` on ``data`` and on ``members`` bootstrap resamples of its training rows (module docstring).

    Args:
        model: makes a fresh untrained model (called once per member).
        data: an in-memory data module (``train_tensors``).
        members: bootstrap members (2 or more; 20 or more for a 90% interval).
        trainer: makes the Trainer of one member, given its folder (default: 2000 steps, no logger).
        run_dir: where the members' folders go (default: a temporary folder, removed afterwards).
        seed: member ``k`` resamples with ``seed + k + 1`` and is seeded so for training.
    """
    parts = ensemble_parts(members, seed)
    make = trainer or _default_trainer
    with tempfile.TemporaryDirectory(prefix="bootstrap-") as scratch:
        root = Path(run_dir) if run_dir is not None else Path(scratch)
        write_ensemble_record(root, members, seed)
        fitted = [
            _train(model, data if name == "full" else bootstrap_data(data, s), make, root / name, s)
            for name, s in parts
        ]
    return EnsembleNetwork(fitted[0], fitted[1:], [s for _, s in parts[1:]])


def _train(
    model: Callable[[], CausalModule], data: Any, make: Callable[[Path], L.Trainer], folder: Path, seed: int
) -> Any:
    final = folder / "final.ckpt"
    if final.is_file():
        return CausalModule.load(final).eval()
    module = model()
    L.seed_everything(seed, verbose=False)
    run = make(folder)
    last = folder / "checkpoints" / "last.ckpt"
    run.fit(module, datamodule=data, ckpt_path=str(last) if last.is_file() else None)
    save_final(run, folder)
    return module.eval()


def _default_trainer(folder: Path) -> L.Trainer:
    return L.Trainer(
        max_steps=2000, default_root_dir=folder, logger=False, enable_progress_bar=False, enable_model_summary=False
    )
