"""`sbatch slurm/train.sbatch CONFIG` on a real SLURM cluster (two simulated nodes on this machine).

The job trains the shipped DCM config with DDP over gloo, one task per simulated node: ranks come
from SLURM through Lightning's SLURMEnvironment, and both ranks must take part. A job array trains
one seed per task, each in its own folder. The one-node-several-GPUs template (no GPU here) is
checked to run the same body with one task per GPU.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.checks import free_port
from tests.slurm_cluster import local_slurm, slurm_available, wait_for_job

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


def test_the_gpu_template_runs_the_same_job_with_one_task_per_gpu() -> None:
    text = (ROOT / "slurm/train_gpus.sbatch").read_text()
    lines = [line.removeprefix("#SBATCH --") for line in text.splitlines() if line.startswith("#SBATCH --")]
    headers = dict(line.split("=", 1) for line in lines if "=" in line)
    assert headers["ntasks-per-node"] == headers["gpus-per-node"] and headers["nodes"] == "1"
    assert headers["signal"] == "SIGUSR1@90" and "requeue" in lines and "time" in headers
    assert subprocess.run(["bash", "-n", str(ROOT / "slurm/train_gpus.sbatch")]).returncode == 0
    assert 'slurm/train.sbatch" "$@"' in text  # the same body as the multi-node template
