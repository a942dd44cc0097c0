"""DCM trains under real DDP (gloo, two CPU processes): no unused parameters, ranks stay in sync, and one rank's
divergence stops every rank in the same step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import lightning as L
import pytest
import torch

from lightning_causal.datamodules import SCMDataModule
from lightning_causal.mechanisms import MechanismConfig
from lightning_causal.models import DCM
from tests.checks import free_port


class _Checksum(L.Callback):
    def __init__(self, folder: str) -> None:
        self.folder = folder

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        total = sum(float(p.detach().double().sum()) for p in pl_module.parameters())
        Path(self.folder, f"rank{trainer.global_rank}.json").write_text(
            json.dumps({"checksum": total, "steps": trainer.global_step, "world": trainer.world_size})
        )


def test_ddp_over_gloo_keeps_ranks_in_sync(tmp_path: Path, cpu_trainer: Callable[..., L.Trainer]) -> None:
    data = SCMDataModule("diamond", "NL", n_train=512, n_val=64, n_test=0, batch_size=64)
    model = DCM(data.graph, data.variables, MechanismConfig(hidden=16, timesteps=20))
    trainer = cpu_trainer(
        devices=2,
        strategy="ddp_spawn",
        max_steps=8,
        limit_val_batches=0,
        callbacks=[_Checksum(str(tmp_path))],
        default_root_dir=tmp_path,
    )
    trainer.fit(model, data)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["world"] == 2 and ranks[0]["steps"] == 8
    assert ranks[0]["checksum"] == pytest.approx(ranks[1]["checksum"], rel=1e-6), "DDP keeps the replicas identical"
    assert torch.isfinite(torch.tensor(ranks[0]["checksum"]))


RANK_SCRIPT = """
import sys
from pathlib import Path

import lightning as L
import torch

from lightning_causal.errors import TrainingError
from lightning_causal.models import CausalModule


class DivergesOnRankOne(CausalModule):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    @property
    def loss_names(self):
        return ["w"]

    def model_step(self, batch, rng):
        loss = ((self.w - 1) ** 2).sum()
        if self.global_rank == 1 and self.global_step == 2:  # rank 1's loss turns NaN at step 3
            loss = loss * float("nan")
        return loss, loss[None]


trainer = L.Trainer(
    accelerator="cpu", devices=2, strategy="ddp", max_steps=8, limit_val_batches=0, logger=False,
    enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
)
try:
    trainer.fit(DivergesOnRankOne(), torch.utils.data.DataLoader([{"x": torch.zeros(1)}] * 64, batch_size=4))
except TrainingError as err:
    Path(sys.argv[1], f"rank{trainer.global_rank}.err").write_text(str(err))
    sys.exit(2)
"""


def test_one_ranks_divergence_stops_every_rank_in_the_same_step_naming_the_rank(tmp_path: Path) -> None:
    """Two processes started apart, as srun starts them: each must stop by itself (a launcher kills no one here)."""
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()), "WORLD_SIZE": "2"}
    ranks = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path)],
            env={**env, "LOCAL_RANK": str(r), "NODE_RANK": "0", "RANK": str(r)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for r in (0, 1)
    ]
    outputs = []
    for process in ranks:
        try:
            outputs.append(process.communicate(timeout=180)[0])
        except subprocess.TimeoutExpired:
            for p in ranks:
                p.kill()
            raise AssertionError("a rank still waits on a collective the other never joined") from None
    for rank, process in enumerate(ranks):
        assert process.returncode == 2, outputs[rank][-2000:]
        text = (tmp_path / f"rank{rank}.err").read_text()
        assert text.startswith("training diverged at step 3: the training loss went non-finite on rank 1 of 2"), text
    assert "(here, rank 1: nan)" in (tmp_path / "rank1.err").read_text()
    assert "here" not in (tmp_path / "rank0.err").read_text()


GENERATE_SCRIPT = """
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from lightning_causal.models import IDGEN
from lightning_causal.models.idgen import generate_dataset

dist.init_process_group("gloo")  # as after a stage's DDP run
checkpoint, source, folder = sys.argv[1:4]
model = IDGEN.load(checkpoint)
(dataset,) = [d for d in model.plan.datasets if d.name == "D1"]
rows = generate_dataset(model, dataset, torch.load(source), Path(folder), 1000, 150, torch.device("cpu"), False)
torch.save(rows, Path(folder).parent / f"rows{dist.get_rank()}.pt")
dist.destroy_process_group()
"""


def test_a_generated_dataset_is_the_same_drawn_by_one_rank_or_two(tmp_path: Path) -> None:
    """Every rank draws its own shards (shard i on rank i mod 2), rank 0 writes the manifest once all exist,
    and every rank reads the whole dataset: byte for byte the shards one process draws."""
    from lightning_causal.data.shards import read_manifest
    from lightning_causal.datamodules import LatentSCMDataModule
    from lightning_causal.models import IDGEN
    from lightning_causal.models.idgen import fit_idgen, generate_dataset, stage_trainer_factory
    from lightning_causal.variables.spec import variables_to_dict

    data = LatentSCMDataModule("frontdoor", n_train=600, n_val=50, batch_size=64, seed=0)
    model = IDGEN(data.graph, variables_to_dict(data.variables), treatment="X", outcome="Y", mechanisms={"hidden": 16})
    factory = stage_trainer_factory(5, progress=False, accelerator="cpu")
    model = fit_idgen(model, data, tmp_path / "run", factory, shard_rows=150, progress=False)
    source = data.train_tensors
    torch.save(source, tmp_path / "source.pt")
    (dataset,) = [d for d in model.plan.datasets if d.name == "D1"]
    one = generate_dataset(model, dataset, source, tmp_path / "one" / "D1", 1000, 150, torch.device("cpu"), False)

    script = tmp_path / "generate.py"
    script.write_text(GENERATE_SCRIPT)
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()), "WORLD_SIZE": "2"}
    folder = tmp_path / "two" / "D1"
    args = [sys.executable, str(script), str(tmp_path / "run" / "idgen.ckpt"), str(tmp_path / "source.pt"), str(folder)]
    ranks = [
        subprocess.Popen(args, env={**env, "RANK": str(r), "LOCAL_RANK": str(r)}, stderr=subprocess.PIPE)
        for r in (0, 1)
    ]
    for process in ranks:
        _, err = process.communicate(timeout=180)
        assert process.returncode == 0, err.decode()[-2000:]
    shards = sorted(p.name for p in (tmp_path / "one" / "D1").glob("shard-*.tar"))
    assert len(shards) == 7 and shards == sorted(p.name for p in folder.glob("shard-*.tar"))
    for name in shards:
        assert (folder / name).read_bytes() == (tmp_path / "one" / "D1" / name).read_bytes(), name
    assert read_manifest(folder) == read_manifest(tmp_path / "one" / "D1")
    for rank in (0, 1):
        rows = torch.load(tmp_path / "two" / f"rows{rank}.pt")
        assert set(rows) == set(one) and all(torch.equal(rows[v], one[v]) for v in one)
