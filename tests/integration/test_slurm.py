"""`sbatch slurm/train.sbatch CONFIG` on a real SLURM cluster (two simulated nodes on this machine).

The job trains the shipped DCM config with DDP over gloo, one task per simulated node: ranks come
from SLURM through Lightning's SLURMEnvironment, and both ranks must take part.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.slurm_cluster import local_slurm, slurm_available, wait_for_job

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
            "MASTER_PORT": str(_free_port()),
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
