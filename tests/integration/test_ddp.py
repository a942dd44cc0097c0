"""DCM and ID-GEN train under real DDP (gloo, two CPU processes): ranks stay in sync, one rank's
divergence stops every rank in the same step, ID-GEN under torchrun agrees with one process and its
generated datasets are the same drawn by one rank or two."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
from typing import Any

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
from typing import Any

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
    model = IDGEN(
        data.graph,
        variables_to_dict(data.variables),
        treatment="X",
        outcome="Y",
        mechanisms={"hidden": 16},
        marginals="learn",  # D1 is generated for stage 1's learned P(Y | Z)
    )
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


IDGEN_CONFIG = """
seed_everything: 0
trainer:
  accelerator: cpu
  enable_progress_bar: false
  max_steps: 300
  val_check_interval: 100
  check_val_every_n_epoch: null
  logger: false
  callbacks:
    - class_path: lightning_causal.callbacks.EMA
      init_args: {decay: 0.99}
model:
  class_path: lightning_causal.models.IDGEN
  init_args:
    treatment: X
    outcome: Y
    marginals: learn  # ID-GEN as published: D1 generated by both ranks, stage 1 trained on it
    mechanisms: {hidden: 32, depth: 2}
data:
  class_path: lightning_causal.datamodules.LatentSCMDataModule
  init_args: {scm: frontdoor, n_train: 2001, n_val: 128}
"""


@pytest.mark.slow
def test_idgen_under_torchrun_on_two_processes_agrees_with_one_process(tmp_path: Path) -> None:
    """``torchrun --nproc_per_node 2 ... fit`` of an ID-GEN plan with a generated stage, 2001 rows (the ranks'
    shares differ by one row) and the global batch of the one-process run (2 x 32 = 64).

    The two runs differ in the diffusion noise each rank draws and in how rows meet in a batch, as two
    seeds of one run differ, so their answers agree up to a seed's variation: measured on this config,
    the means of Y under do(X = -1, 0, 1) moved by up to 0.07 between seeds 0 and 1 of one process (the
    sampling error of a mean of 4000 draws is 0.016); the tolerance is twice that, 0.15 (Y's sd is 1).
    """
    from lightning_causal.models import IDGEN

    config = tmp_path / "idgen.yaml"
    config.write_text(IDGEN_CONFIG)
    fit = ["fit", "--config", str(config)]
    cli = ["-m", "lightning_causal.launch.cli"]
    port = str(free_port())
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", port]
    two = subprocess.run(
        [
            *torchrun,
            *cli,
            *fit,
            "--trainer.devices=2",
            "--data.init_args.batch_size=32",
            f"--trainer.default_root_dir={tmp_path / 'two'}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert two.returncode == 0, two.stderr[-3000:]
    assert "(rank 0 of 2)" in two.stdout  # the generated dataset was drawn with both ranks
    one = subprocess.run(
        [
            sys.executable,
            *cli,
            *fit,
            "--data.init_args.batch_size=64",
            f"--trainer.default_root_dir={tmp_path / 'one'}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert one.returncode == 0, one.stderr[-3000:]
    steps = [json.loads((tmp_path / r / "idgen.json").read_text())["stages"] for r in ("one", "two")]
    assert steps[0] == steps[1] == {str(s): {"checkpoint": f"stage{s}/final.ckpt", "steps": 300} for s in (0, 1)}
    models = [IDGEN.load(tmp_path / r / "idgen.ckpt") for r in ("one", "two")]
    for x in (-1.0, 0.0, 1.0):
        y_one, y_two = (m.sample(4000, {"X": x}, seed=0)["Y"] for m in models)
        assert abs(float(y_one.mean() - y_two.mean())) < 0.15, x
        assert abs(float(y_one.std() - y_two.std())) < 0.15, x


class _Batches(L.Callback):
    """Writes, per rank, the rows of every training batch (their first column's values) by epoch."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.seen: dict[int, list[float]] = {}

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, idx: int) -> None:
        first = batch[sorted(batch)[0]]
        self.seen.setdefault(trainer.current_epoch, []).extend(first.reshape(len(first), -1)[:, 0].tolist())

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        Path(self.folder, f"batches{trainer.global_rank}.json").write_text(json.dumps(self.seen))
        skipped = getattr(trainer.datamodule, "skipped", None)
        Path(self.folder, f"skipped{trainer.global_rank}.json").write_text(json.dumps(skipped))


def test_a_stream_of_uneven_shards_gives_every_rank_the_same_batches_and_no_row_twice(
    tmp_path: Path, cpu_trainer: Callable[..., L.Trainer]
) -> None:
    from lightning_causal.data.prepare import prepare
    from lightning_causal.datamodules import StreamingDataModule
    from lightning_causal.datamodules.sources import make_source
    from tests.data.shard_damage import damage

    prepare(make_source("triangle", rows=300, val_rows=30, seed=1), tmp_path / "data", 64, progress=False)  # 5 shards
    for shard in ("train-000000.tar", "train-000003.tar"):
        damage(tmp_path / "data", shard, "corrupt")  # a sample each that does not decode
    data = StreamingDataModule(str(tmp_path / "data"), batch_size=32, num_workers=1, shuffle_buffer=40, max_skipped=9)
    model = DCM(data.graph, data.variables, MechanismConfig(hidden=16, timesteps=10))
    trainer = cpu_trainer(
        devices=2,
        strategy="ddp_spawn",
        max_epochs=2,  # an epoch ends when the loaders do: unequal ranks would hang or fail here
        limit_val_batches=0,
        callbacks=[_Batches(str(tmp_path))],
        default_root_dir=tmp_path,
    )
    trainer.fit(model, data)
    skipped = [json.loads((tmp_path / f"skipped{r}.json").read_text()) for r in (0, 1)]
    assert sum(skipped) >= 2 and trainer.callback_metrics["data/skipped"] == sum(skipped)  # logged: every rank's
    ranks = [json.loads((tmp_path / f"batches{r}.json").read_text()) for r in (0, 1)]
    for epoch in ("0", "1"):
        a, b = ranks[0][epoch], ranks[1][epoch]
        assert len(a) == len(b) == 4 * 32  # 300 // (2 x 32) batches on each rank
        assert not set(a) & set(b)  # the ranks read different shards
