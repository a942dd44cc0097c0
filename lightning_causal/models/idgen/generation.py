"""The datasets a trained ID-GEN stage generates for the next one, written as webdataset shards.

Every dataset of the plan other than the observed ``D0`` (ID's line-7 update, IDC-GEN's samples of
the joint network) is drawn from the trained earlier stages by
:func:`~lightning_causal.sampling.data.generate_rows`, the one place a plan's datasets are
generated, shard by shard into the dataset's folder (:mod:`lightning_causal.data.shards`), with a
progress bar. Each shard has its own seed (from the model's seed, the dataset and the shard's
index), so the shards an interrupted run finished are kept and a resumed run writes the rows an
uninterrupted one would (for one shard size: another ``shard_rows`` draws other rows); the
manifest is written last, so a folder with a manifest is a finished dataset.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor
from tqdm import tqdm

from lightning_causal.data.shards import (
    column_entries,
    read_manifest,
    read_shard,
    read_shards,
    shard_name,
    write_manifest,
    write_shard,
)
from lightning_causal.errors import DataError
from lightning_causal.generators.base import ConditionalGenerator
from lightning_causal.mechanisms import MechanismGenerator
from lightning_causal.plan.parts import Dataset
from lightning_causal.sampling.data import TensorData, generate_rows

if TYPE_CHECKING:
    from lightning_causal.models.idgen.module import IDGEN

__all__ = ["IMAGE_SHARD_ROWS", "generate_dataset", "shard_seed", "wait_for_dataset"]

IMAGE_SHARD_ROWS = 1000
"""Rows per shard of a generated dataset with image columns (each shard is one step of the progress bar)."""


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
) -> dict[str, Tensor]:
    """Generate ``dataset`` of the plan from the trained factors, as shards in ``folder``; returns its rows.

    Carried columns are copied from random rows of ``source``; the others are drawn by the dataset's
    network. A finished dataset (one with a manifest) is read, not generated again. A dataset with
    image columns has at most :data:`IMAGE_SHARD_ROWS` rows per shard.
    """
    assert dataset.wiring is not None
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
    source_rows = TensorData(dict(source))
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
                rng = torch.Generator(device=device).manual_seed(shard_seed(model.noise_seed, dataset.name, index))
                with torch.no_grad():
                    values = generate_rows(source_rows, dataset.wiring, dataset.copied, generators, n, rng)
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


def wait_for_dataset(folder: Path, timeout: float = 24 * 3600) -> dict[str, Tensor]:
    """The rows of a dataset another rank generates, once its manifest exists (at most ``timeout`` seconds)."""
    start = time.monotonic()
    while read_manifest(folder) is None:
        if time.monotonic() - start > timeout:
            raise DataError(f"waited {timeout:.0f} s for rank 0 to generate {str(folder)!r}")
        time.sleep(1.0)
    return read_shards(folder)
