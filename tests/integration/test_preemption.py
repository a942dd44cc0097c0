"""SIGUSR1 (SLURM's warning before a time limit, ``scancel -s USR1``) stops a run where it resumes exactly.

The DCM through ``lightning-causal fit``: the process stops after a step, ``last.ckpt`` holds that
step, the exit status is 3 (no SLURM job to requeue) and the line says how to resume; resumed, the
run ends with the weights, EMA and optimizer state of a run that was never stopped. ID-GEN: stopped
in a stage, between stages and while a dataset is generated, each resumed run ends bit-identical to
the uninterrupted one. (The requeue itself is tested on the local SLURM in test_slurm.py.)
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch

from lightning_causal import preemption
from lightning_causal.data.shards import read_manifest, shard_name
from lightning_causal.datamodules import LatentSCMDataModule
from lightning_causal.models import IDGEN
from lightning_causal.models.idgen import fit_idgen, stage_trainer_factory
from lightning_causal.preemption import Preempted
from lightning_causal.variables.spec import variables_to_dict
from tests.checks import run_cli

CONFIG = """
seed_everything: 0
trainer:
  accelerator: cpu
  devices: 1
  enable_progress_bar: false
  val_check_interval: 20
  check_val_every_n_epoch: null
  callbacks:
    - class_path: lightning_causal.callbacks.EMA
      init_args: {decay: 0.99}
    - class_path: lightning_causal.callbacks.LatestCheckpoint
      init_args: {every_n_train_steps: 20}
model:
  class_path: lightning_causal.models.DCM
  init_args:
    mechanisms: {hidden: 128}
    scheduler:
      class_path: lightning_causal.models.optim.WarmupCosine
      init_args: {warmup_steps: 10}
data:
  class_path: lightning_causal.datamodules.SCMDataModule
  init_args: {scm: triangle, variant: NA, n_train: 600, n_val: 64, n_test: 0, batch_size: 64}
"""


def _args(root: Path, steps: int) -> list[str]:
    config = root.parent / f"{root.name}.yaml"
    config.write_text(CONFIG)
    return ["fit", "--config", str(config), f"--trainer.max_steps={steps}", f"--trainer.default_root_dir={root}"]


def _last(root: Path) -> dict[str, Any]:
    (path,) = root.rglob("last.ckpt")
    return torch.load(path, map_location="cpu", weights_only=False)


def _same_state(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["global_step"] == b["global_step"]
    for name, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][name]), name
    moments = zip(a["optimizer_states"][0]["state"].values(), b["optimizer_states"][0]["state"].values(), strict=True)
    for x, y in moments:
        for key in x:
            assert torch.equal(torch.as_tensor(x[key]), torch.as_tensor(y[key])), key
    assert a["lr_schedulers"] == b["lr_schedulers"]
    assert "current_model_state" in a, "state_dict holds the EMA weights, current_model_state the trained ones"
    for name, value in a["current_model_state"].items():
        assert torch.equal(value, b["current_model_state"][name]), name


def test_sigusr1_stops_the_dcm_at_a_step_and_it_resumes_exactly(tmp_path: Path) -> None:
    steps = 600
    exe = shutil.which("lightning-causal")
    cmd = [exe] if exe else [sys.executable, "-m", "lightning_causal.launch.cli"]
    stopped = tmp_path / "stopped"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    proc = subprocess.Popen([*cmd, *_args(stopped, steps)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not list(stopped.rglob("last.ckpt")):
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before the signal"
    proc.send_signal(signal.SIGUSR1)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err.decode()[-2000:]
    held = _last(stopped)
    step = held["global_step"]
    assert 20 <= step < steps, step
    line = err.decode().strip().splitlines()[-1]
    assert line.startswith(f"preempted at step {step} (SIGUSR1):") and "--ckpt_path" in line, line
    (path,) = stopped.rglob("last.ckpt")
    resumed = run_cli(*_args(stopped, steps), f"--ckpt_path={path}")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    whole = run_cli(*_args(tmp_path / "whole", steps))  # the run that is never stopped
    assert whole.returncode == 0, whole.stderr[-2000:]
    _same_state(_last(stopped), _last(tmp_path / "whole"))


# ---------------------------------------------------------------- ID-GEN, in this process


class _Signal(L.Callback):
    """Sends this process SIGUSR1 at an optimizer step or when training ends (a real signal, as SLURM sends)."""

    def __init__(self, step: int | None) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: L.Trainer, *_: Any) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGUSR1)

    def on_train_end(self, trainer: L.Trainer, *_: Any) -> None:
        if self.step is None:
            os.kill(os.getpid(), signal.SIGUSR1)


def _factory(signal_at: tuple[int, int | None] | None = None) -> Any:
    base = stage_trainer_factory(30, progress=False, checkpoint_every=10, ema=0.99, accelerator="cpu")

    def make(stage: int, root: Path) -> L.Trainer:
        trainer = base(stage, root)
        if signal_at is not None and stage == signal_at[0]:
            trainer.callbacks.append(_Signal(signal_at[1]))  # type: ignore[attr-defined]
        return trainer

    return make


def _model(dm: LatentSCMDataModule, mechanisms: dict[str, Any]) -> IDGEN:
    scm = dm.scm
    variables = variables_to_dict(dm.variables)
    return IDGEN(
        dm.graph,
        variables=variables,
        treatment=scm.treatment,
        outcome=scm.outcome,
        mechanisms=mechanisms,
        marginals="learn",  # two stages and a generated dataset between them, to stop in each
        generated_size=len(dm.train_tensors[scm.outcome[0]]),  # as many rows as the data: shards of a known count
    )


@pytest.fixture(scope="module")
def frontdoor_whole(tmp_path_factory: pytest.TempPathFactory) -> tuple[LatentSCMDataModule, IDGEN]:
    dm = LatentSCMDataModule("frontdoor", n_train=1200, n_val=100, batch_size=128, seed=0)
    from tests.conftest import TINY_IMAGE, TINY_MECHANISMS

    mechanisms = {**TINY_MECHANISMS, "image": dict(TINY_IMAGE)}
    root = tmp_path_factory.mktemp("whole")
    return dm, fit_idgen(_model(dm, mechanisms), dm, root, _factory(), shard_rows=200, progress=False)


def _resume_and_compare(dm: LatentSCMDataModule, root: Path, whole: IDGEN, mechanisms: dict[str, Any]) -> None:
    preemption.clear()
    resumed = fit_idgen(_model(dm, mechanisms), dm, root, _factory(), shard_rows=200, progress=False)
    for (name, a), (_, b) in zip(whole.state_dict().items(), resumed.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_idgen_stopped_in_a_stage_resumes_from_that_step(
    frontdoor_whole: tuple[LatentSCMDataModule, IDGEN], tmp_path: Path, tiny_mechanisms: dict[str, Any]
) -> None:
    dm, whole = frontdoor_whole
    with pytest.raises(Preempted) as stopped:
        fit_idgen(_model(dm, tiny_mechanisms), dm, tmp_path, _factory((1, 14)), shard_rows=200, progress=False)
    assert stopped.value.where == "in stage 1 at step 15" and stopped.value.step == 15
    last = torch.load(tmp_path / "stage1" / "checkpoints" / "last.ckpt", weights_only=False)
    assert last["global_step"] == 15  # the stop's own checkpoint, not the periodic one of step 10
    assert not preemption.received()  # handled: a later run starts unpreempted
    _resume_and_compare(dm, tmp_path, whole, tiny_mechanisms)


def test_idgen_stopped_between_stages_keeps_the_trained_stage(
    frontdoor_whole: tuple[LatentSCMDataModule, IDGEN], tmp_path: Path, tiny_mechanisms: dict[str, Any]
) -> None:
    dm, whole = frontdoor_whole
    with pytest.raises(Preempted, match="before stage 1 of 1"):
        fit_idgen(_model(dm, tiny_mechanisms), dm, tmp_path, _factory((0, None)), shard_rows=200, progress=False)
    assert (tmp_path / "stage0" / "final.ckpt").is_file() and not (tmp_path / "data" / "D1").exists()
    _resume_and_compare(dm, tmp_path, whole, tiny_mechanisms)


def test_idgen_stopped_while_generating_keeps_the_finished_shards(
    frontdoor_whole: tuple[LatentSCMDataModule, IDGEN], tmp_path: Path, tiny_mechanisms: dict[str, Any]
) -> None:
    dm, whole = frontdoor_whole
    folder = tmp_path / "data" / "D1"
    done = threading.Event()

    def signal_after_the_first_shard() -> None:
        while not done.is_set():
            if (folder / shard_name(0)).is_file():
                os.kill(os.getpid(), signal.SIGUSR1)
                return
            time.sleep(0.001)

    watcher = threading.Thread(target=signal_after_the_first_shard, daemon=True)
    watcher.start()
    try:
        with pytest.raises(Preempted, match=r"while generating D1 \(\d of 6 shards\)"):
            fit_idgen(_model(dm, tiny_mechanisms), dm, tmp_path, _factory(), shard_rows=200, progress=False)
    finally:
        done.set()
        watcher.join()
    assert read_manifest(folder) is None  # not finished: no manifest
    kept = sorted(folder.glob("shard-*.tar"))
    assert 1 <= len(kept) < 6 and not list(folder.glob(".*"))  # whole shards only, no temporary files
    mtimes = {p: p.stat().st_mtime_ns for p in kept}
    _resume_and_compare(dm, tmp_path, whole, tiny_mechanisms)
    assert {p: p.stat().st_mtime_ns for p in kept} == mtimes  # the finished shards were kept, not redrawn
