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
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L

from lightning_causal.errors import DataError
from lightning_causal.models.base import CausalModule
from lightning_causal.sampling.ensemble import EnsembleNetwork, bootstrap_rows, check_members

__all__ = ["bootstrap_data", "fit_bootstrap"]


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
    check_members(members)
    make = trainer or _default_trainer
    seeds = [seed + k + 1 for k in range(members)]
    with tempfile.TemporaryDirectory(prefix="bootstrap-") as scratch:
        root = Path(run_dir) if run_dir is not None else Path(scratch)
        full = _train(model, data, make, root / "full", seed)
        fitted = [_train(model, bootstrap_data(data, s), make, root / f"member-{k}", s) for k, s in enumerate(seeds)]
    return EnsembleNetwork(full, fitted, seeds)


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
    partial = folder / ".final.ckpt.partial"
    run.save_checkpoint(partial, weights_only=True)  # the EMA average, where an EMA callback runs
    if run.is_global_zero:
        os.replace(partial, final)
    run.strategy.barrier("bootstrap member saved")
    return module.eval()


def _default_trainer(folder: Path) -> L.Trainer:
    return L.Trainer(
        max_steps=2000, default_root_dir=folder, logger=False, enable_progress_bar=False, enable_model_summary=False
    )
