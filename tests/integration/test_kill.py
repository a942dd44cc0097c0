"""A fit killed with SIGKILL (during training or in the middle of writing a checkpoint) leaves a
checkpoint that loads, and ``fit --ckpt_path`` resumes from it to the end."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.checks import run_cli

ROOT = Path(__file__).resolve().parents[2]


CONFIG = """
seed_everything: 0
trainer:
  accelerator: cpu
  devices: 1
  enable_progress_bar: false
  limit_val_batches: 0
  callbacks:
    - class_path: lightning.pytorch.callbacks.ModelCheckpoint
      init_args: {every_n_train_steps: 1, save_last: true, save_top_k: 0}
model:
  class_path: lightning_causal.models.DCM
  init_args:
    mechanisms: {hidden: 256}  # a larger checkpoint: writes take a while, so kills land inside them
data:
  class_path: lightning_causal.datamodules.SCMDataModule
  init_args: {scm: triangle, variant: NA, n_train: 2000, n_val: 0, n_test: 0}
"""


def _fit_args(root: Path, steps: int) -> list[str]:
    config = root / "kill.yaml"
    config.write_text(CONFIG)
    return ["fit", "--config", str(config), f"--trainer.max_steps={steps}", f"--trainer.default_root_dir={root}"]


@pytest.mark.parametrize("after", [1, 25])
def test_kill_9_leaves_a_checkpoint_that_loads_and_resumes(tmp_path: Path, after: int) -> None:
    exe = shutil.which("lightning-causal")
    cmd = [exe] if exe else [sys.executable, "-m", "lightning_causal.launch.cli"]
    proc = subprocess.Popen([*cmd, *_fit_args(tmp_path, 400)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    last: list[Path] = []
    while time.monotonic() < deadline and proc.poll() is None:
        last = sorted(tmp_path.rglob("last*.ckpt"))
        if last and torch.load(last[0], map_location="cpu", weights_only=False)["global_step"] >= after:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the fit ended before it could be killed"
    time.sleep(0.02 * after)  # land somewhere in the next steps' saves
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    ckpts = sorted(tmp_path.rglob("last*.ckpt"))
    assert ckpts, "a checkpoint was written before the kill"
    saved = torch.load(ckpts[-1], map_location="cpu", weights_only=False)  # never half-written
    assert saved["global_step"] >= after
    resumed = run_cli(*_fit_args(tmp_path, saved["global_step"] + 5), f"--ckpt_path={ckpts[-1]}")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    final = torch.load(sorted(tmp_path.rglob("last*.ckpt"))[-1], map_location="cpu", weights_only=False)
    assert final["global_step"] == saved["global_step"] + 5
