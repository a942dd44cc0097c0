"""The datasets a trained ID-GEN stage generates for the next one, written as webdataset shards.

Every dataset of the plan other than the observed ``D0`` (ID's line-7 update, IDC-GEN's samples of
the joint network) is drawn from the trained earlier stages by
:func:`~lightning_causal.sampling.data.generate_rows`, the one place a plan's datasets are
generated, shard by shard into the dataset's folder (:mod:`lightning_causal.data.shards`), with a
progress bar. Each shard has its own seed (from the model's seed, the dataset and the shard's
index), so the shards an interrupted run finished are kept and a resumed run writes the rows an
uninterrupted one would (for one shard size: another ``shard_rows`` draws other rows); the
manifest is written last, so a folder with a manifest is a finished dataset.

On several ranks (a process group after the first stage's DDP run) every rank draws its own shards
(shard i on rank i mod world size) on its own device, rank 0 writes the manifest once every shard
exists, and every rank reads the dataset back: the rows are those one process would draw. No rank
waits without a limit: :data:`WAIT_TIMEOUT` seconds without a new shard (or without the manifest)
stop the run with a line naming the shard and the rank that draws it. After the preemption signal
(:mod:`lightning_causal.preemption`) a rank stops before its next shard; the finished ones are kept.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor
from tqdm import tqdm

from lightning_causal.data.shards import (
    read_manifest,
    read_shards,
    shard_name,
    write_manifest,
    write_shard,
)
from lightning_causal.errors import DataError
from lightning_causal.generators.base import ConditionalGenerator
from lightning_causal.mechanisms import MechanismGenerator
from lightning_causal.plan.parts import Dataset
from lightning_causal.preemption import received, stop
from lightning_causal.sampling.data import TensorData, generate_rows

if TYPE_CHECKING:
    from lightning_causal.models.idgen.module import IDGEN

__all__ = [
    "GENERATED_ROWS",
    "IMAGE_SHARD_ROWS",
    "WAIT_TIMEOUT",
    "generate_dataset",
    "generated_rows",
    "shard_ranks",
    "shard_seed",
    "wait_for_dataset",
]

WAIT_TIMEOUT = 1800.0
"""Seconds a rank waits for another rank's next shard (or rank 0's manifest) before it stops with an error."""

IMAGE_SHARD_ROWS = 1000
"""Rows per shard of a generated dataset with image columns (each shard is one step of the progress bar)."""

GENERATED_ROWS = 5
"""Rows of a generated dataset of numbers and classes per observed data row, when ``generated_size`` is left out.

A generated dataset is a Monte Carlo sample of the earlier stages' models, and the next stage learns
from it: its size adds a second sampling error to the data's own, which more rows shrink at the cost
of drawing them only (the steps of the next stage do not depend on it); at 5 rows per data row it
adds a fifth of the data's variance. Measured on the front-door model (BENCHMARKS.md, "The stopping
rule"): 10,000 data rows, 10,000 generated rows 0.0014 MMD, 50,000 generated rows 0.0010,
against a floor of 0.0006."""


def generated_rows(model: IDGEN, dataset: Dataset, observed_rows: int) -> int:
    """The rows of a generated dataset: ``generated_size`` where given; otherwise :data:`GENERATED_ROWS` times the
    observed data's rows (whatever dataset it is generated from: nested datasets do not compound), or as many
    as them for a dataset with image columns (slow to draw)."""
    wanted = model.hparams["generated_size"]
    if wanted:
        return int(wanted)
    images = any(model.variables[v].is_image for v in dataset.columns if v in model.variables)
    return observed_rows if images else GENERATED_ROWS * observed_rows


def shard_seed(seed: int, dataset: str, shard: int) -> int:
    """The seed of one shard of a generated dataset."""
    digest = hashlib.sha256(f"{seed}/{dataset}/{shard}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def generate_dataset(
    model: IDGEN,
    dataset: Dataset,
    source: Mapping[str, Tensor],
    folder: Path,
    rows: int,
    shard_rows: int,
    device: torch.device,
    progress: bool = True,
    timeout: float = WAIT_TIMEOUT,
    columns: Sequence[str] | None = None,
) -> dict[str, Tensor]:
    """Generate ``dataset`` of the plan from the trained factors, as shards in ``folder``; returns its rows
    (of ``columns`` only, when given: a dataset whose images are streamed keeps the others on disk).

    Carried columns are copied from random rows of ``source``; the others are drawn by the dataset's
    network. A finished dataset (one with a manifest) is read, not generated again. A dataset with
    image columns has at most :data:`IMAGE_SHARD_ROWS` rows per shard.
    """
    assert dataset.wiring is not None
    if read_manifest(folder) is not None:
        return read_shards(folder, columns=columns)
    guidance = model.hparams.get("generation_guidance")
    generators: dict[str, ConditionalGenerator] = {
        f.name: MechanismGenerator(
            model.dataset_mechanisms(f.dataset),
            f.name,
            steps=model.hparams["sample_steps"],
            eta=0.0,  # deterministic DDIM whatever the queries' eta: the run folder's data do not depend on it
            guidance=guidance,
        )
        for f in model.plan.factors
        if f.dataset in model.factor_mechanisms
    }
    variables = {v: model.variables[v] for v in dataset.columns}
    if any(spec.is_image for spec in variables.values()):  # image rows are slow to draw: finer shards and progress
        shard_rows = min(shard_rows, IMAGE_SHARD_ROWS)
    count = (rows + shard_rows - 1) // shard_rows
    sizes = [min(shard_rows, rows - index * shard_rows) for index in range(count)]
    rank, world = shard_ranks()
    source_rows = TensorData(dict(source))
    model.to(device)
    was_training = model.training
    model.eval()
    folder.mkdir(parents=True, exist_ok=True)
    mine = range(rank, count, world)  # each rank its own shards; a shard's rows depend on its seed only
    total = sum(sizes[i] for i in mine)
    what = f"Generating {dataset.name}" + (f" (rank {rank} of {world})" if world > 1 else "")
    bar = tqdm(total=total, desc=what, unit="rows", disable=not progress, file=sys.stdout)
    try:
        for index in mine:
            path = folder / shard_name(index)
            if not path.is_file():  # else finished by an earlier, interrupted run
                if received():  # preempted: the finished shards are kept, a rerun draws the rest
                    done = _done(folder, count)
                    raise stop(f"while generating {dataset.name} ({done} of {count} shards)", agreed=False)
                rng = torch.Generator(device=device).manual_seed(shard_seed(model.noise_seed, dataset.name, index))
                with torch.no_grad():
                    values = generate_rows(source_rows, dataset.wiring, dataset.copied, generators, sizes[index], rng)
                write_shard(path, {v: values[v].detach().cpu() for v in variables}, variables, index * shard_rows)
            bar.update(sizes[index])
    finally:
        bar.close()
        model.train(was_training)
    shards = [(shard_name(index), sizes[index]) for index in range(count)]
    if world > 1:
        _wait_for_shards(folder, dataset.name, shards, world, timeout)
    if rank == 0:
        write_manifest(folder, variables, shards, dataset=dataset.name, origin=dataset.origin)
    return wait_for_dataset(folder, timeout, columns)


def shard_ranks() -> tuple[int, int]:
    """This rank and the number of ranks that draw a generated dataset: the process group's, else (0, 1)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _done(folder: Path, count: int) -> int:
    return sum((folder / shard_name(index)).is_file() for index in range(count))


def _wait_for_shards(folder: Path, name: str, shards: list[tuple[str, int]], world: int, timeout: float) -> None:
    """Wait until every shard exists (other ranks draw theirs); ``timeout`` s without a new shard is an error."""
    last, done, since = -1, 0, time.monotonic()
    while True:
        done = _done(folder, len(shards))
        if done == len(shards):
            return
        if done != last:
            last, since = done, time.monotonic()
        if received():
            raise stop(f"while generating {name} ({done} of {len(shards)} shards)", agreed=False)
        if time.monotonic() - since > timeout:
            missing = next(i for i in range(len(shards)) if not (folder / shard_name(i)).is_file())
            raise DataError(
                f"waited {timeout:.0f} s without a new shard of {name} in {str(folder)!r}: shard {missing} "
                f"(rank {missing % world} draws it) and {len(shards) - done - 1} more are missing; is that rank alive?"
            )
        time.sleep(0.2)


def wait_for_dataset(
    folder: Path, timeout: float = WAIT_TIMEOUT, columns: Sequence[str] | None = None
) -> dict[str, Tensor]:
    """The rows of a generated dataset (of ``columns`` when given), once rank 0 has written its manifest (at
    most ``timeout`` seconds)."""
    start = time.monotonic()
    while read_manifest(folder) is None:
        if received():
            raise stop(f"while waiting for the manifest of {str(folder)!r}", agreed=False)
        if time.monotonic() - start > timeout:
            raise DataError(
                f"waited {timeout:.0f} s for rank 0 to write the manifest of {str(folder)!r}; is rank 0 alive?"
            )
        time.sleep(0.2)
    return read_shards(folder, columns=columns)
