"""The DCM command line, run as a user runs it: fit from a config, then sample and counterfactual."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest
import torch

from tests.checks import run_cli as run

ROOT = Path(__file__).resolve().parents[2]


def _fit(root: Path, steps: int, *extra: str) -> subprocess.CompletedProcess[str]:
    """``lightning-causal fit`` on the shipped triangle config, shrunk to a test's size."""
    return run(
        "fit",
        "--config",
        str(ROOT / "configs/dcm/triangle_na.yaml"),
        f"--trainer.max_steps={steps}",
        "--trainer.val_check_interval=20",
        f"--trainer.default_root_dir={root}",
        "--trainer.enable_progress_bar=false",
        "--data.n_train=1000",
        "--data.n_val=200",
        *extra,
    )


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fit")
    result = _fit(out, steps=60)
    assert result.returncode == 0, result.stderr[-3000:]
    ckpts = sorted(out.rglob("last.ckpt"))
    assert ckpts, "fit must write a checkpoint"
    assert sorted(out.rglob("config.yaml")), "LightningCLI saves the resolved config"
    return ckpts[0]


def test_sample_writes_csv_with_the_intervention(checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "samples.csv"
    result = run("sample", "--ckpt", str(checkpoint), "--n", "50", "--do", "x1=0.5", "--out", str(out))
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["x1", "x2", "x3"] and len(frame) == 50
    assert (frame["x1"] == 0.5).all()
    again = tmp_path / "again.parquet"
    assert run("sample", "--ckpt", str(checkpoint), "--n", "50", "--do", "x1=0.5", "--out", str(again)).returncode == 0
    pd.testing.assert_frame_equal(pd.read_parquet(again), frame, check_dtype=False)  # same seed, same samples


def test_counterfactual_reads_factual_rows(checkpoint: Path, tmp_path: Path) -> None:
    factual = tmp_path / "factual.csv"
    pd.DataFrame({"x1": [0.1, -0.3, 1.2], "x2": [0.5, 0.2, -0.1], "x3": [1.0, 0.3, 0.2]}).to_csv(factual, index=False)
    out = tmp_path / "cf.csv"
    result = run(
        "counterfactual", "--ckpt", str(checkpoint), "--factual", str(factual), "--shift", "x3=2", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    cf = pd.read_csv(out)
    assert cf["x3"].tolist() == pytest.approx([3.0, 2.3, 2.2])  # a shift of the last node is exact
    assert cf["x1"].tolist() == pytest.approx([0.1, -0.3, 1.2])


@pytest.mark.parametrize(
    "args,message",
    [
        (["--do", "q=1"], "unknown variable 'q'"),
        (["--do", "x1"], "write NAME=VALUE"),
        (["--do", "x1=abc"], "give a number"),
        (["--do", "x1=1", "--shift", "x1=1"], "both --do and --shift"),
    ],
)
def test_query_errors_are_one_line(checkpoint: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = run("sample", "--ckpt", str(checkpoint), *args, "--out", str(tmp_path / "x.csv"))
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_checkpoint(tmp_path: Path) -> None:
    result = run("sample", "--ckpt", str(tmp_path / "nope.ckpt"), "--out", str(tmp_path / "x.csv"))
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_tabular_config_trains_on_the_shipped_example(tmp_path: Path) -> None:
    result = run(
        "fit",
        "--config",
        str(ROOT / "configs/dcm/tabular.yaml"),
        "--trainer.max_steps",
        "20",
        "--trainer.val_check_interval",
        "10",
        "--trainer.default_root_dir",
        str(tmp_path),
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # one progress bar over the run's steps, not one per epoch
    assert "Training" in result.stdout and "20/20" in result.stdout and "Epoch 1" not in result.stdout
    ckpt = sorted(tmp_path.rglob("last.ckpt"))[0]
    out = tmp_path / "s.csv"
    assert run("sample", "--ckpt", str(ckpt), "--n", "20", "--do", "genotype=C", "--out", str(out)).returncode == 0
    frame = pd.read_csv(out)
    assert set(frame["genotype"]) == {"C"} and set(frame["smoker"]) <= {0, 1}


def test_fit_resumes_from_a_checkpoint(checkpoint: Path, tmp_path: Path) -> None:
    result = _fit(tmp_path, 70, "--ckpt_path", str(checkpoint))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Restored all states from the checkpoint" in result.stdout + result.stderr
    resumed = torch.load(sorted(tmp_path.rglob("last.ckpt"))[0], map_location="cpu", weights_only=False)
    assert resumed["global_step"] == 70  # 60 from the first run, 10 more
