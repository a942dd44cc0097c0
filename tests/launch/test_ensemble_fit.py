"""Bootstrap ensembles from a config: `fit --ensemble.members K` trains every part, a task one, queries read them.

The DCM from its shipped tabular config and ID-GEN from its own, both a few steps: the parts land
in ``full/`` and ``member-<k>/`` with their seeds in ``ensemble.json``; a part trained alone (a SLURM
array task) is bit-identical to the same part trained in turn; a rerun trains nothing; an
unfinished ensemble is refused by ``sample --interval`` in one line naming its missing parts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from lightning_causal.errors import QueryError
from lightning_causal.models import load_ensemble
from tests.checks import TABLE_FIT, run_cli

ROOT = Path(__file__).resolve().parents[2]
DCM_FIT = (
    "fit",
    "--config",
    str(ROOT / "configs/dcm/tabular.yaml"),
    "--data.data",
    str(ROOT / "configs/tabular/smoking.csv"),
    "--data.graph",
    str(ROOT / "configs/tabular/smoking.yaml"),
    "--trainer.max_steps=4",
    "--trainer.val_check_interval=2",
    "--trainer.logger=false",
)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=False)["state_dict"]  # type: ignore[no-any-return]


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def dcm_ensemble(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DCM ensemble of 2 members trained in one command (seed 5)."""
    root = tmp_path_factory.mktemp("dcm") / "run"
    got = run_cli(*DCM_FIT, "--ensemble.members=2", "--ensemble.seed=5", f"--trainer.default_root_dir={root}")
    assert got.returncode == 0, got.stderr[-3000:]
    assert f"Ensemble in {root}: trained full, member-0, member-1; 3 of 3 parts (full + 2 members) finished" in (
        got.stdout
    )
    return root


def test_fit_with_an_ensemble_trains_the_model_and_every_member_in_its_folder(dcm_ensemble: Path) -> None:
    record = json.loads((dcm_ensemble / "ensemble.json").read_text())
    assert record == {"members": 2, "seed": 5, "parts": {"full": 5, "member-0": 6, "member-1": 7}}
    weights = {name: _weights(dcm_ensemble / name / "final.ckpt") for name in record["parts"]}
    # each part has its own initial weights and rows: no two parts end the same
    assert not _same(weights["full"], weights["member-0"]) and not _same(weights["member-0"], weights["member-1"])
    for name, seed in record["parts"].items():
        hparams = torch.load(dcm_ensemble / name / "final.ckpt", map_location="cpu", weights_only=False)
        assert hparams["hyper_parameters"]["seed"] == seed
        assert (dcm_ensemble / name / "checkpoints" / "last.ckpt").is_file()  # the config's LatestCheckpoint
    ensemble = load_ensemble(dcm_ensemble)
    assert ensemble.seeds == [6, 7] and len(ensemble.members) == 2


def test_a_rerun_trains_nothing_and_the_folder_answers_with_intervals(dcm_ensemble: Path, tmp_path: Path) -> None:
    before = _weights(dcm_ensemble / "member-1" / "final.ckpt")
    again = run_cli(*DCM_FIT, "--ensemble.members=2", "--ensemble.seed=5", f"--trainer.default_root_dir={dcm_ensemble}")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "nothing to train; kept full, member-0, member-1 (finished before)" in again.stdout
    assert _same(before, _weights(dcm_ensemble / "member-1" / "final.ckpt"))
    out = tmp_path / "s.csv"
    got = run_cli(
        "sample", "--ckpt", str(dcm_ensemble), "--do", "smoker=1", "--n", "100", "--interval", "0.9", "--out", str(out)
    )
    assert got.returncode == 0, got.stderr[-3000:]
    table = pd.read_csv(tmp_path / "s.intervals.csv").set_index("quantity")
    assert {"tar", "lung", "P(smoker=1)"} <= set(table.index) and (table["members"] == 2).all()
    assert table.loc["P(smoker=1)", "estimate"] == 1.0  # the intervention itself
    # an average effect (each member answers both interventions) and a quantile, from the same folder
    query = ("sample", "--ckpt", str(dcm_ensemble), "--do", "smoker=1", "--n", "100", "--interval", "0.9")
    effect = run_cli(*query, "--versus", "smoker=0", "--out", str(tmp_path / "e.csv"))
    assert effect.returncode == 0, effect.stderr[-3000:]
    assert "means of do(smoker) minus do(smoker), 90% bootstrap intervals (2 members)" in effect.stdout
    diff = pd.read_csv(tmp_path / "e.intervals.csv").set_index("quantity")
    assert diff.loc["P(smoker=1)", "estimate"] == 1.0 and diff.loc["P(smoker=0)", "estimate"] == -1.0
    median = run_cli(*query, "--statistic", "0.5", "--out", str(tmp_path / "m.csv"))
    assert median.returncode == 0, median.stderr[-3000:]
    quantiles = pd.read_csv(tmp_path / "m.intervals.csv")
    assert list(quantiles["quantity"]) == ["age", "tar", "lung"]  # continuous outcomes only
    for flags, line in [
        (("--statistic", "1.5"), "--statistic is '1.5'; give 'mean' or a quantile level between 0 and 1"),
        (("--versus", "smokr=0"), "--versus names unknown variable 'smokr'"),
    ]:
        bad = run_cli(*query, *flags, "--out", str(tmp_path / "b.csv"))
        assert bad.returncode != 0 and bad.stderr.strip().splitlines()[-1].startswith(f"error: {line}")


def test_a_part_trained_alone_is_the_part_trained_in_turn(dcm_ensemble: Path, tmp_path: Path) -> None:
    root = tmp_path / "run"
    common = (*DCM_FIT, "--ensemble.members=2", "--ensemble.seed=5", f"--trainer.default_root_dir={root}")
    alone = run_cli(*common, "--ensemble.task=2")  # SLURM array task 2: member-1 only
    assert alone.returncode == 0, alone.stderr[-3000:]
    assert "trained member-1; 1 of 3 parts (full + 2 members) finished; 2 part(s) still to train" in alone.stdout
    assert not (root / "full").exists() and not (root / "member-0").exists()
    assert _same(_weights(root / "member-1" / "final.ckpt"), _weights(dcm_ensemble / "member-1" / "final.ckpt"))
    with pytest.raises(QueryError, match="has 1: train one with lightning-causal fit"):
        load_ensemble(root)
    (root / "member-0" / "checkpoints").mkdir(parents=True)  # a part that started and did not finish
    with pytest.raises(QueryError, match="member-0 not trained yet"):
        load_ensemble(root)


def test_an_ensemble_refuses_a_checkpoint_to_resume_from(dcm_ensemble: Path) -> None:
    got = run_cli(
        *DCM_FIT,
        "--ensemble.members=2",
        f"--trainer.default_root_dir={dcm_ensemble}",
        f"--ckpt_path={dcm_ensemble / 'full' / 'checkpoints' / 'last.ckpt'}",
    )
    assert got.returncode != 0
    lines = got.stderr.strip().splitlines()
    assert (
        lines[-1].startswith("error: ckpt_path is ")
        and "an ensemble resumes every part from its own folder" in lines[-1]
    )


def test_an_idgen_ensemble_from_its_config_answers_a_conditional_query_with_intervals(tmp_path: Path) -> None:
    root = tmp_path / "run"
    got = run_cli(
        *TABLE_FIT,
        "--trainer.max_steps=3",
        "--trainer.val_check_interval=3",
        "--trainer.logger=false",
        "--ensemble.members=2",
        f"--trainer.default_root_dir={root}",
    )
    assert got.returncode == 0, got.stderr[-3000:]
    for part in ("full", "member-0", "member-1"):
        assert (root / part / "idgen.ckpt").is_file() and (root / part / "stage0" / "final.ckpt").is_file()
    assert "3 of 3 parts (full + 2 members) finished" in got.stdout
    out = tmp_path / "y.csv"
    query = ("--do", "X=0.8", "--given", "Z=1", "--n", "60", "--interval", "0.9", "--out", str(out))
    sample = run_cli("sample", "--ckpt", str(root), *query)
    assert sample.returncode == 0, sample.stderr[-3000:]
    table = pd.read_csv(tmp_path / "y.intervals.csv").set_index("quantity")
    assert list(table.index) == ["Y"] and table.loc["Y", "low"] <= table.loc["Y", "high"]
