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


@pytest.fixture(scope="module")
def ensemble_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """A DCM bootstrap ensemble (2 members, a few steps) written by fit_bootstrap, and its data."""
    import lightning as L

    from lightning_causal.datamodules import SCMDataModule
    from lightning_causal.models import DCM, fit_bootstrap

    root = tmp_path_factory.mktemp("ensemble")
    data = SCMDataModule("triangle", "NA", n_train=300, n_val=50, n_test=20, batch_size=64, seed=0)

    def trainer(folder: Path) -> L.Trainer:
        return L.Trainer(max_steps=3, default_root_dir=folder, logger=False, enable_progress_bar=False)

    fit_bootstrap(lambda: DCM(data.graph, data.variables, {"hidden": 8}), data, 2, trainer, root, seed=0)
    return root, data


def test_sample_and_counterfactual_with_intervals_from_an_ensemble_folder(
    ensemble_folder: tuple[Path, object], tmp_path: Path
) -> None:
    from lightning_causal.data.table_files import write_values
    from lightning_causal.models import DCM
    from lightning_causal.sampling import EnsembleNetwork

    root, data = ensemble_folder
    out = tmp_path / "s.csv"
    got = run("sample", "--ckpt", str(root), "--do", "x1=0.5", "--n", "200", "--interval", "0.8", "--out", str(out))
    assert got.returncode == 0, got.stderr[-2000:]
    assert "80% bootstrap intervals (2 members)" in got.stdout and "  x3: " in got.stdout
    table = pd.read_csv(tmp_path / "s.intervals.csv")
    assert list(table["quantity"]) == ["x1", "x2", "x3"] and (table["low"] <= table["high"]).all()
    # the same numbers as the Python API on the same folder
    models = [DCM.load(root / d / "final.ckpt") for d in ("full", "member-0", "member-1")]
    api = EnsembleNetwork(models[0], models[1:], []).interval({"x1": 0.5}, level=0.8, n=200, seed=0)
    assert table.set_index("quantity")["high"]["x3"] == pytest.approx(api["x3"].high, rel=1e-6)
    factual = tmp_path / "rows.csv"
    write_values(factual, data.test_tensors, data.variables)  # type: ignore[attr-defined]
    cf = run(
        "counterfactual",
        "--ckpt",
        str(root),
        "--factual",
        str(factual),
        "--do",
        "x1=0.5",
        "--interval",
        "0.9",
        "--out",
        str(tmp_path / "cf.csv"),
    )
    assert cf.returncode == 0, cf.stderr[-2000:]
    assert "mean counterfactuals of the factual rows, 90% bootstrap intervals" in cf.stdout
    assert (tmp_path / "cf.intervals.csv").is_file()


def test_an_interval_from_a_single_model_is_refused_in_one_line(checkpoint: Path, tmp_path: Path) -> None:
    got = run("sample", "--ckpt", str(checkpoint), "--n", "5", "--interval", "0.9", "--out", str(tmp_path / "s.csv"))
    assert got.returncode != 0 and "--interval: intervals need an ensemble folder" in got.stderr
    assert "Traceback" not in got.stderr and not (tmp_path / "s.csv").exists()
    bad = run("sample", "--ckpt", str(checkpoint), "--n", "5", "--interval", "90", "--out", str(tmp_path / "s.csv"))
    assert bad.returncode != 0 and "--interval is 90.0; give the interval's coverage between 0 and 1" in bad.stderr
