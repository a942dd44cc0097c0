"""W&B through ``lightning-causal fit``: an offline run in the run folder, read back from wandb's own files.

What a run holds (the resolved config, losses per node, validation loss, learning rate, throughput,
peak memory), that a resumed fit appends to the same W&B run, that an ID-GEN fit is one run with a
section per stage, and that nothing secret from the environment lands in any file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lightning_causal.callbacks import WandbRun
from tests.wandb_files import history, read_records, run_files

pytest.importorskip("wandb")

SECRET = "not-to-be-logged-" + "7" * 30  # 40+ characters: wandb checks an API key's length even offline

DCM = """
seed_everything: 0
trainer:
  accelerator: cpu
  enable_progress_bar: false
  log_every_n_steps: 10
  val_check_interval: 30
  check_val_every_n_epoch: null
  logger:
    class_path: lightning_causal.callbacks.WandbRun
  callbacks:
    - class_path: lightning_causal.callbacks.LatestCheckpoint
      init_args: {every_n_train_steps: 30}
model:
  class_path: lightning_causal.models.DCM
  init_args:
    mechanisms: {hidden: 16}
data:
  class_path: lightning_causal.datamodules.SCMDataModule
  init_args: {scm: triangle, variant: NA, n_train: 256, n_val: 64, n_test: 0, batch_size: 32}
"""

IDGEN = """
seed_everything: 0
trainer:
  accelerator: cpu
  enable_progress_bar: false
  log_every_n_steps: 5
  max_steps: 20
  logger:
    class_path: lightning_causal.callbacks.WandbRun
    init_args: {project: frontdoor-tests}
model:
  class_path: lightning_causal.models.IDGEN
  init_args:
    treatment: X
    outcome: Y
    marginals: learn  # two stages: stage 1 learns P(Y | Z) on the generated D1
    mechanisms: {hidden: 16, depth: 1}
data:
  class_path: lightning_causal.datamodules.LatentSCMDataModule
  init_args: {scm: frontdoor, n_train: 256, n_val: 32, batch_size: 32}
"""


def _fit(tmp: Path, config: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp / "config.yaml"
    path.write_text(config)
    exe = shutil.which("lightning-causal")
    cmd = [exe] if exe else [sys.executable, "-m", "lightning_causal.launch.cli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "SLURM_"))}
    env |= {"WANDB_API_KEY": SECRET, "MY_DATABASE_PASSWORD": SECRET}
    result = subprocess.run(
        [*cmd, "fit", "--config", str(path), f"--trainer.default_root_dir={tmp / 'run'}", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _run_ids(path: Path) -> list[str]:
    return [r.run.run_id for r in read_records(path) if r.WhichOneof("record_type") == "run"]


def _config(path: Path) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for record in read_records(path):
        if record.WhichOneof("record_type") == "config":
            for item in record.config.update:
                values[item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
    return values


def _nothing_secret(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"a secret from the environment is in {path}"


def test_a_fit_is_an_offline_run_in_the_run_folder_and_a_resumed_fit_continues_it(tmp_path: Path) -> None:
    _fit(tmp_path, DCM, "--trainer.max_steps=60")
    root = tmp_path / "run"
    (first,) = run_files(root)
    assert first.parent.name.startswith("offline-run-")  # offline unless turned on: nothing left the machine
    run_id = json.loads((root / "wandb_run.json").read_text())["id"]
    assert _run_ids(first) == [run_id]
    config = _config(first)
    assert config["config"]["trainer"]["max_steps"] == 60  # the resolved config of the command
    assert config["config"]["model"]["class_path"] == "lightning_causal.models.DCM"
    assert set(config["graph"]["nodes"]) == {"x1", "x2", "x3"}  # the model's hyperparameters
    rows = history(first)
    keys = set().union(*rows)
    expected = {"train/loss", "train/loss_x2", "train/loss_x3", "val/loss", "train/lr", "perf/rows_per_s"}
    assert expected | {"perf/peak_memory_mb"} <= keys, keys
    rates = [r["perf/rows_per_s"] for r in rows if "perf/rows_per_s" in r]
    assert all(rate > 0 for rate in rates) and len(rates) == 6  # every 10 of 60 steps
    steps = [r["trainer/global_step"] for r in rows]

    (root / "checkpoints" / "last.ckpt").rename(root / "checkpoints" / "at60.ckpt")
    _fit(tmp_path, DCM, "--trainer.max_steps=90", f"--ckpt_path={root / 'checkpoints' / 'at60.ckpt'}")
    files = run_files(root)
    assert len(files) == 2 and files[0] == first  # the first part is kept as it was
    assert _run_ids(files[1]) == [run_id]  # the same W&B run, continued
    resumed = [r["trainer/global_step"] for r in history(files[1])]
    assert min(resumed) > max(steps) and max(resumed) == 89
    _nothing_secret(root)


def test_an_idgen_fit_is_one_run_with_a_section_per_stage(tmp_path: Path) -> None:
    _fit(tmp_path, IDGEN)
    root = tmp_path / "run"
    (path,) = run_files(root)  # one W&B run for all stages, in the run folder (not in a stage's)
    assert not list(root.glob("stage*/wandb"))
    keys = set().union(*history(path))
    assert {"stage0/train/loss", "stage1/train/loss", "stage1/perf/rows_per_s"} <= keys, keys
    assert json.loads((root / "wandb_run.json").read_text())["project"] == "frontdoor-tests"
    _nothing_secret(root)


def test_disabled_by_the_environment_and_bound_by_hand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert WandbRun()._wandb_init["mode"] == "disabled"
    monkeypatch.delenv("WANDB_MODE")
    logger = WandbRun(save_dir=str(tmp_path / "mine"), offline=False)
    assert logger._wandb_init["mode"] == "online"
    logger.bind(tmp_path / "elsewhere", section="stage2")  # a folder given by hand is kept
    assert logger.save_dir == str(tmp_path / "mine") and logger.section == "stage2"
    again = WandbRun(save_dir=str(tmp_path / "mine"))
    assert again.version == logger.version  # the folder's run id, read back
