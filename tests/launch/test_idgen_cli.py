"""ID-GEN from the shell: one config trains every stage, a rerun resumes, ``sample`` answers from the checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import torch

from tests.checks import TABLE_FIT, run_cli


def test_a_conditional_query_on_a_table_trains_resumes_and_samples_from_the_shell(tmp_path: Path) -> None:
    run = tmp_path / "run"
    fit = [
        *TABLE_FIT,
        "--trainer.max_steps=12",
        "--trainer.val_check_interval=6",
        f"--trainer.default_root_dir={run}",
    ]
    first = run_cli(*fit, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    # Z is binary: the joint network of (Y, Z) is trained and a query keeps the draws whose Z matches; the
    # front-door's P(Y | M) is composed from the observational factors: one stage, no generated dataset
    assert "Trained the ID-GEN plan of P(Y | do(X), Z) in 1 stage of 12 steps" in first.stdout
    assert "Stage 0 of 0: training" in first.stdout and (run / "stage0" / "final.ckpt").is_file()
    assert not (run / "stage1").exists() and not (run / "data").exists()

    again = run_cli(*fit, cwd=tmp_path)  # resumes: nothing is trained again
    assert again.returncode == 0, again.stderr[-3000:]
    assert "stages 0..0 are trained" in again.stdout and "Stage 0 of 0" not in again.stdout

    out = tmp_path / "y.csv"
    sample = run_cli("sample", "--ckpt", str(run), "--do", "X=0.8", "--given", "Z=1", "--n", "40", "--out", str(out))
    assert sample.returncode == 0, sample.stderr[-3000:]
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["Y"] and len(frame) == 40
    same = tmp_path / "same.csv"
    query = ("--do", "X=0.8", "--given", "Z=1", "--n", "40")
    run_cli("sample", "--ckpt", str(run / "idgen.ckpt"), *query, "--out", str(same))
    assert pd.read_csv(same).equals(frame)  # the default seed makes samples reproducible


def test_seed_everything_seeds_the_model_and_a_data_seed_of_its_own_trains_with_a_logger(tmp_path: Path) -> None:
    run = tmp_path / "run"
    fit = run_cli(
        *TABLE_FIT,
        "--data.init_args.seed=5",
        "--seed_everything=3",
        "--trainer.max_steps=4",
        "--trainer.val_check_interval=2",
        f"--trainer.default_root_dir={run}",
        cwd=tmp_path,
    )
    assert fit.returncode == 0, fit.stderr[-3000:]  # the model's seed 3 and the data's 5 do not clash in the logger
    ckpt = torch.load(run / "idgen.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["hyper_parameters"]["seed"] == 3
    assert json.loads((run / "wandb_run.json").read_text())["id"]  # the config's logger (W&B) ran


def test_conditioning_learn_from_the_config_trains_idc_gens_stage(tmp_path: Path) -> None:
    run = tmp_path / "run"
    fit = run_cli(
        *TABLE_FIT,
        "--model.init_args.conditioning=learn",
        "--model.init_args.marginals=learn",  # ID-GEN as published: P(Y | M) learned on D1, then IDC-GEN's stage
        "--trainer.max_steps=3",
        "--trainer.val_check_interval=3",
        f"--trainer.default_root_dir={run}",
        cwd=tmp_path,
    )
    assert fit.returncode == 0, fit.stderr[-3000:]
    assert "Trained the ID-GEN plan of P(Y | do(X), Z) in 3 stages of 3, 3, 3 steps" in fit.stdout
    assert (run / "data" / "D2" / "manifest.json").is_file()
    bad = run_cli(*TABLE_FIT, "--model.init_args.conditioning=sample", f"--trainer.default_root_dir={run}-bad")
    assert bad.returncode != 0 and "conditioning is 'sample'; use 'auto'" in bad.stderr
    assert "Traceback" not in bad.stderr
