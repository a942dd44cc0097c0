"""`sbatch slurm/train.sbatch CONFIG` on a real SLURM cluster (two simulated nodes on this machine).

The job trains the shipped DCM config with DDP over gloo, one task per simulated node: ranks come
from SLURM through Lightning's SLURMEnvironment, and both ranks must take part. A job array trains
one seed per task, each in its own folder. The one-node-several-GPUs template (no GPU here) is
checked to run the same body with one task per GPU.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.checks import free_port
from tests.slurm_cluster import job_state, local_slurm, slurm_available, wait_for_job

ROOT = Path(__file__).resolve().parents[2]


def _sbatch(env: dict[str, str], tmp: Path, *args: str) -> str:
    cmd = ["sbatch", "--parsable", "--chdir", str(ROOT), "--output", str(tmp / "job-%j.out"), *args]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().split(";")[0]


@pytest.mark.skipif(slurm_available() is not None, reason=f"{slurm_available()}")
def test_two_node_ddp_job_trains_the_shipped_config(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with local_slurm(tmp_path / "cluster", nodes=2) as env:
        env = {
            **env,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",  # this venv's lightning-causal
            "MASTER_ADDR": "127.0.0.1",  # the simulated node names do not resolve
            "MASTER_PORT": str(free_port()),
        }
        job = _sbatch(
            env,
            tmp_path,
            "--nodes=2",
            "--ntasks-per-node=1",
            "--overcommit",
            "slurm/train.sbatch",
            "configs/dcm/triangle_na.yaml",
            "--trainer.accelerator=cpu",
            "--trainer.max_steps=30",
            "--trainer.val_check_interval=10",
            f"--trainer.default_root_dir={out}",
            "--trainer.enable_progress_bar=false",
            "--data.n_train=512",
            "--data.n_val=128",
            "--data.batch_size=64",
        )
        state = wait_for_job(job, env, timeout=420)
        log = (tmp_path / f"job-{job}.out").read_text()
        assert state.get("JobState") == "COMPLETED", f"{state.get('JobState')}: {log[-3000:]}"
    assert "2 node(s) x 1 task(s)" in log
    assert "GLOBAL_RANK: 0, MEMBER: 1/2" in log and "GLOBAL_RANK: 1, MEMBER: 2/2" in log, log[-3000:]
    ckpt = sorted(out.rglob("last.ckpt"))
    assert ckpt, f"no checkpoint under {out}: {log[-2000:]}"
    saved = torch.load(ckpt[0], map_location="cpu", weights_only=False)
    assert saved["global_step"] == 30


def test_a_missing_config_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(ROOT / "slurm/train.sbatch"), "nope.yaml"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2 and "nope.yaml" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.skipif(slurm_available() is not None, reason=f"{slurm_available()}")
def test_a_job_array_trains_one_seed_per_task_each_in_its_own_folder(tmp_path: Path) -> None:
    root = tmp_path / "seeds"
    with local_slurm(tmp_path / "cluster", nodes=2) as env:
        env = {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}", "RUN_ROOT": str(root)}
        job = _sbatch(
            env,
            tmp_path,
            "--array=0-1",
            "--output",
            str(tmp_path / "job-%A_%a.out"),
            "slurm/train.sbatch",
            "configs/dcm/triangle_na.yaml",
            "--trainer.accelerator=cpu",
            "--trainer.max_steps=4",
            "--trainer.enable_progress_bar=false",
            "--data.n_train=128",
            "--data.n_val=32",
        )
        states = [wait_for_job(f"{job}_{task}", env, timeout=300) for task in (0, 1)]
    logs = "".join(p.read_text() for p in sorted(tmp_path.glob("job-*_*.out")))
    assert [s.get("JobState") for s in states] == ["COMPLETED", "COMPLETED"], logs[-3000:]
    assert "seed 0" in logs and "seed 1" in logs
    weights = []
    for seed in (0, 1):
        (ckpt,) = (root / f"seed{seed}").rglob("last.ckpt")
        saved = torch.load(ckpt, map_location="cpu", weights_only=False)
        assert saved["global_step"] == 4
        weights.append(torch.cat([v.flatten().float() for v in saved["state_dict"].values()]))
    assert not torch.equal(weights[0], weights[1])  # seeded apart


@pytest.mark.slow
@pytest.mark.skipif(slurm_available() is not None, reason=f"{slurm_available()}")
def test_an_ensemble_array_trains_its_parts_in_parallel_into_one_folder(tmp_path: Path) -> None:
    from lightning_causal.models import load_ensemble

    root = tmp_path / "ensemble"
    with local_slurm(tmp_path / "cluster", nodes=2) as env:
        env = {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}", "ARRAY": "ensemble"}
        job = _sbatch(
            env,
            tmp_path,
            "--array=0-2",
            "--output",
            str(tmp_path / "job-%A_%a.out"),
            "slurm/train.sbatch",
            "configs/dcm/triangle_na.yaml",
            "--ensemble.members=2",
            "--trainer.accelerator=cpu",
            "--trainer.max_steps=4",
            "--trainer.enable_progress_bar=false",
            "--trainer.logger=false",
            f"--trainer.default_root_dir={root}",
            "--data.n_train=128",
            "--data.n_val=32",
        )
        states = [wait_for_job(f"{job}_{task}", env, timeout=300) for task in (0, 1, 2)]
    logs = "".join(p.read_text() for p in sorted(tmp_path.glob("job-*_*.out")))
    assert [s.get("JobState") for s in states] == ["COMPLETED"] * 3, logs[-3000:]
    assert all(f"ensemble part {k}" in logs for k in (0, 1, 2))
    assert all((root / part / "final.ckpt").is_file() for part in ("full", "member-0", "member-1"))
    ensemble = load_ensemble(root)
    assert ensemble.seeds == [1, 2] and len(ensemble.members) == 2


def test_the_gpu_template_runs_the_same_job_with_one_task_per_gpu() -> None:
    text = (ROOT / "slurm/train_gpus.sbatch").read_text()
    lines = [line.removeprefix("#SBATCH --") for line in text.splitlines() if line.startswith("#SBATCH --")]
    headers = dict(line.split("=", 1) for line in lines if "=" in line)
    assert headers["ntasks-per-node"] == headers["gpus-per-node"] and headers["nodes"] == "1"
    assert headers["signal"] == "SIGUSR1@90" and "requeue" in lines and "time" in headers
    assert subprocess.run(["bash", "-n", str(ROOT / "slurm/train_gpus.sbatch")]).returncode == 0
    assert 'slurm/train.sbatch" "$@"' in text  # the same body as the multi-node template


# ---------------------------------------------------------------- preemption and requeue

DCM_CONFIG = """
seed_everything: 0
trainer:
  accelerator: cpu
  enable_progress_bar: false
  max_steps: 400
  val_check_interval: 50
  check_val_every_n_epoch: null
  callbacks:
    - class_path: lightning_causal.callbacks.EMA
      init_args: {decay: 0.99}
    - class_path: lightning_causal.callbacks.LatestCheckpoint
      init_args: {every_n_train_steps: 10}
model:
  class_path: lightning_causal.models.DCM
  init_args:
    mechanisms: {hidden: 32}
data:
  class_path: lightning_causal.datamodules.SCMDataModule
  init_args: {scm: triangle, variant: NA, n_train: 1024, n_val: 128, n_test: 0, batch_size: 64}
"""

IDGEN_CONFIG = """
seed_everything: 0
trainer:
  accelerator: cpu
  enable_progress_bar: false
  max_steps: 150
  val_check_interval: 50
  check_val_every_n_epoch: null
  callbacks:
    - class_path: lightning_causal.callbacks.EMA
      init_args: {decay: 0.99}
    - class_path: lightning_causal.callbacks.LatestCheckpoint
      init_args: {every_n_train_steps: 10}
model:
  class_path: lightning_causal.models.IDGEN
  init_args:
    treatment: X
    outcome: Y
    marginals: learn  # two stages with a generated dataset between them
    mechanisms: {hidden: 16, depth: 1}
data:
  class_path: lightning_causal.datamodules.LatentSCMDataModule
  init_args: {scm: frontdoor, n_train: 1024, n_val: 128, batch_size: 64}
"""

CELEBA_OVERLAY = """
# on top of configs/celeba/idgen_cpu.yaml: a tiny UNet, a checkpoint every 10 steps, no W&B
trainer:
  enable_progress_bar: false
  max_steps: 80
  val_check_interval: 40
  logger: false
  callbacks:
    - class_path: lightning_causal.callbacks.EMA
      init_args: {decay: 0.99}
    - class_path: lightning_causal.callbacks.LatestCheckpoint
      init_args: {every_n_train_steps: 10}
model:
  init_args:
    mechanisms:
      hidden: 16
      image: {base: 8, groups: 4, mults: [1, 2], res_blocks: 1, attention: [], sample_steps: 4}
data:
  init_args: {data: SHARDS, batch_size: 4, num_workers: 1, shuffle_buffer: 50}  # 180 rows: 22 batches an epoch
"""


def _submit(env: dict[str, str], tmp: Path, config: Path, root: Path, name: str, overlay: Path | None = None) -> str:
    job_env = {**env, "MASTER_PORT": str(free_port())}  # each job its own rendezvous
    return _sbatch(
        job_env,
        tmp,
        f"--job-name={name}",
        "--output",
        str(tmp / f"{name}-%j.out"),
        "--nodes=2",
        "--ntasks-per-node=1",
        "--overcommit",
        "slurm/train.sbatch",
        str(config),
        *(["--config", str(overlay)] if overlay is not None else []),
        f"--trainer.default_root_dir={root}",
    )


def _step(path: Path) -> int:
    try:
        return int(torch.load(path, map_location="cpu", weights_only=False)["global_step"])
    except Exception:  # being replaced at this moment
        return -1


@pytest.mark.slow
@pytest.mark.skipif(slurm_available() is not None, reason=f"{slurm_available()}")
@pytest.mark.parametrize("family", ["dcm", "idgen", "celeba"])
def test_a_preempted_job_requeues_and_resumes_exactly(tmp_path: Path, family: str) -> None:
    """``scancel -s USR1`` mid-training (ID-GEN: in its second stage, after all ranks drew the generated
    dataset): the job stops at a step, writes that step, requeues, and the requeued job resumes from it
    and ends with the weights of the same job never preempted (run alongside, on the same two nodes).
    ``celeba``: the shipped CelebA config on shards ``prepare`` wrote from a fixture in the official layout
    (its one stage streams the faces: the job stops mid-epoch and resumes at the same sample)."""
    overlay = None
    if family == "celeba":
        from lightning_causal.data.prepare import prepare
        from lightning_causal.datamodules.sources import make_source
        from tests.data.celeba_fixture import write_celeba

        shards = tmp_path / "celeba16"
        celeba = write_celeba(tmp_path / "celeba", n=300, seed=2)
        prepare(make_source("celeba", root=celeba, attributes=["Male", "Young"], size=16), shards, 40, progress=False)
        config = ROOT / "configs/celeba/idgen_cpu.yaml"
        overlay = tmp_path / "overlay.yaml"
        overlay.write_text(CELEBA_OVERLAY.replace("SHARDS", str(shards)))
    else:
        config = tmp_path / f"{family}.yaml"
        config.write_text(DCM_CONFIG if family == "dcm" else IDGEN_CONFIG)
    watched = {"dcm": "checkpoints", "idgen": "stage1/checkpoints", "celeba": "stage0/checkpoints"}[family]
    steps = {"dcm": 400, "idgen": 150, "celeba": 80}[family]
    with local_slurm(tmp_path / "cluster", nodes=2) as env:
        env = {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}", "MASTER_ADDR": "127.0.0.1"}
        whole = _submit(env, tmp_path, config, tmp_path / "whole", "whole", overlay)
        stopped = _submit(env, tmp_path, config, tmp_path / "stopped", "stopped", overlay)
        deadline = time.monotonic() + 300
        while _step(tmp_path / "stopped" / watched / "last.ckpt") < 10:
            assert time.monotonic() < deadline, (tmp_path / f"stopped-{stopped}.out").read_text()[-3000:]
            assert job_state(stopped, env).get("JobState") in {"PENDING", "RUNNING", "CONFIGURING"}
            time.sleep(0.2)
        signalled = subprocess.run(["scancel", "-s", "USR1", stopped], env=env, capture_output=True, text=True)
        assert signalled.returncode == 0, signalled.stderr
        states = {job: wait_for_job(job, env, timeout=420) for job in (stopped, whole)}
    log = (tmp_path / f"stopped-{stopped}.out").read_text()
    assert [s.get("JobState") for s in states.values()] == ["COMPLETED", "COMPLETED"], log[-4000:]
    assert states[stopped].get("Restarts") == "1" and states[whole].get("Restarts") == "0", log[-4000:]
    stops = re.findall(r"preempted (.*?at step (\d+)) \(SIGUSR1\): .*requeuing SLURM job (\d+)", log)
    assert len(stops) == 1 and stops[0][2] == stopped, log[-4000:]
    step = int(stops[0][1])
    assert 10 <= step < steps, log[-4000:]
    if family == "celeba":
        assert step % 22, f"stopped at step {step}, an epoch's end: this test checks a stop mid-epoch"
    if family == "dcm":
        assert f"Requeued job {stopped} (restart 1): resuming from" in log and f"(step {step})" in log, log[-4000:]
        finals = [
            torch.load(r / "checkpoints/last.ckpt", weights_only=False)
            for r in (tmp_path / "stopped", tmp_path / "whole")
        ]
        assert finals[0]["global_step"] == finals[1]["global_step"] == 400
        pairs = [(f["state_dict"], f["current_model_state"]) for f in finals]
    else:
        assert stops[0][0].startswith("in stage 1" if family == "idgen" else "in stage 0"), stops
        if family == "idgen":
            assert "Resuming" in log and "stages 0..0 are trained" in log, log[-4000:]
        finals = [torch.load(r / "idgen.ckpt", weights_only=False) for r in (tmp_path / "stopped", tmp_path / "whole")]
        resumed = torch.load(tmp_path / "stopped" / watched / "last.ckpt", weights_only=False)
        assert resumed["global_step"] == steps
        pairs = [(f["state_dict"],) for f in finals]
    for a, b in zip(*pairs, strict=True):
        for name, value in a.items():
            assert torch.equal(value, b[name]), name


@pytest.mark.slow
@pytest.mark.skipif(slurm_available() is not None, reason=f"{slurm_available()}")
def test_a_job_reaching_its_time_limit_is_warned_stops_and_requeues(tmp_path: Path) -> None:
    """``--time=2 --signal=USR1@50``: SLURM warns the tasks 50 s before the limit (its timer is coarse: 50 to
    110 s before, so 10 to 70 s after the start); the job stops at a step, requeues and the restarted job
    resumes from that step. (That the resumed run is exact is the test above; the job is cancelled once
    it resumed.)"""
    config = tmp_path / "long.yaml"
    config.write_text(DCM_CONFIG.replace("max_steps: 400", "max_steps: 1000000"))
    with local_slurm(tmp_path / "cluster", nodes=2) as env:
        env = {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}", "MASTER_ADDR": "127.0.0.1"}
        job = _sbatch(
            {**env, "MASTER_PORT": str(free_port())},
            tmp_path,
            "--nodes=2",
            "--ntasks-per-node=1",
            "--overcommit",
            "--time=2",
            "--signal=USR1@50",
            "slurm/train.sbatch",
            str(config),
            f"--trainer.default_root_dir={tmp_path / 'run'}",
        )
        log_path = tmp_path / f"job-{job}.out"
        deadline = time.monotonic() + 300
        while "Requeued job" not in (log_path.read_text() if log_path.is_file() else ""):
            state = job_state(job, env)
            ended = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL"}
            assert time.monotonic() < deadline and state.get("JobState") not in ended, f"{state.get('JobState')}: " + (
                log_path.read_text()[-3000:] if log_path.is_file() else "no log"
            )
            time.sleep(1.0)
        subprocess.run(["scancel", job], env=env, capture_output=True)
        wait_for_job(job, env, timeout=120)
    log = log_path.read_text()
    stopped = re.search(r"preempted at step (\d+) \(SIGUSR1\): .* requeuing SLURM job (\d+)", log)
    assert stopped is not None and stopped.group(2) == job, log[-3000:]
    assert f"Requeued job {job} (restart 1): resuming from" in log and f"(step {stopped.group(1)})" in log, log[-3000:]
