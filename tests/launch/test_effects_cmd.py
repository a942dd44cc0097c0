"""``lightning-causal effects`` on a DCM trained from the shell on DIME's multi-outcome table.

The oracle of the tables is the draws file itself, re-read with pandas (the summary's means, class
probabilities, effects and risks are recomputed from it); the oracle of the answer is the process's
exact effect of A on Y1, ``1 + 0.5 x3``: 2 at x3 = 2, 0 at x3 = -2.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from lightning_causal.errors import QueryError
from tests.checks import run_cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lightning_causal.scm.potential_outcomes import MultiOutcomeProcess

    folder = tmp_path_factory.mktemp("effects")
    process = MultiOutcomeProcess()
    process.table(2000, seed=0).to_csv(folder / "table.csv", index=False)
    graph = {
        "directed": [f"{u} -> {v}" for u, v in process.graph.directed],
        "variables": {"A": {"type": "binary"}, "Y2": {"type": "binary"}, "Y3": {"type": "categorical", "classes": 3}},
    }
    (folder / "graph.yaml").write_text(yaml.safe_dump(graph))
    fit = run_cli(
        "fit", "--config", str(ROOT / "configs/dcm/tabular.yaml"), f"--data.data={folder / 'table.csv'}",
        f"--data.graph={folder / 'graph.yaml'}", "--trainer.max_steps=600", "--trainer.val_check_interval=300",
        "--trainer.logger=false", "--trainer.enable_progress_bar=false", f"--trainer.default_root_dir={folder / 'run'}",
    )  # fmt: skip
    assert fit.returncode == 0, fit.stderr[-3000:]
    rows = pd.DataFrame({"X1": [0.0, 0.0, 1.0], "X2": [0.0, 0.0, -1.0], "X3": [2.0, -2.0, 0.0]})
    rows.assign(X4=0.0, X5=0.0, Y1=9.9).to_csv(folder / "rows.csv", index=False)  # a factual column is ignored
    return folder


def test_draws_summary_risks_and_plots_from_the_shell(trained: Path, tmp_path: Path) -> None:
    result = run_cli(
        "effects", "--ckpt", str(trained / "run/checkpoints/last.ckpt"), "--rows", str(trained / "rows.csv"),
        "--do", "A=1", "--against", "A=0", "--n", "3000", "--out", str(tmp_path / "draws.csv"),
        "--summary", str(tmp_path / "summary.csv"), "--risk", "Y1 > 1 & Y2 == 1", "--risk", "Y3 == 2",
        "--plot", str(tmp_path / "plots"), "--plot-rows", "2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "3000 draws of Y1, Y2, Y3 for each of 3 rows under do(A=1)" in result.stdout
    draws = pd.read_csv(tmp_path / "draws.csv")
    assert list(draws.columns) == ["row", "draw", "Y1", "Y2", "Y3"] and len(draws) == 9000
    summary = pd.read_csv(tmp_path / "summary.csv")
    by_row = draws.groupby("row")
    assert summary["Y1_mean"].round(5).tolist() == by_row["Y1"].mean().round(5).tolist()
    assert summary["Y2_p1"].round(5).tolist() == by_row["Y2"].mean().round(5).tolist()
    assert (summary[["Y3_p0", "Y3_p1", "Y3_p2"]].sum(axis=1).round(6) == 1).all()
    event = ((draws["Y1"] > 1) & (draws["Y2"] == 1)).groupby(draws["row"]).mean()
    assert summary["risk_1"].round(5).tolist() == event.round(5).tolist()
    assert (summary["risk_2"] == summary["Y3_p2"]).all()
    assert (summary["Y1_q05"] < summary["Y1_q50"]).all() and (summary["Y1_q50"] < summary["Y1_q95"]).all()
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["row00000.png", "row00001.png"]
    # the answer: the effect of A on Y1 is 1 + 0.5 x3, so larger at x3 = 2 than at x3 = -2 (by 2 exactly)
    effect = summary["Y1_effect"].tolist()
    assert effect[0] - effect[1] > 0.5, effect


def test_the_python_answer_is_reproducible_and_refuses_bad_queries(trained: Path) -> None:
    from lightning_causal.data.table_files import read_values
    from lightning_causal.models import DCM

    model = DCM.load(trained / "run/checkpoints/last.ckpt")
    covariates = model.effect_inputs({"A": 1})
    assert covariates == ("X1", "X2", "X3", "X4", "X5")
    rows = read_values(trained / "rows.csv", {c: model.variables[c] for c in covariates})
    a = model.effects(rows, {"A": 1}, 50, seed=3)
    assert a["Y1"].shape == (3, 50) and a["Y3"].shape == (3, 50) and a["Y2"].dtype == torch.long
    assert torch.equal(model.effects(rows, {"A": 1}, 50, seed=3)["Y1"], a["Y1"])
    assert set(model.effects(rows, {"A": 1}, 5, outcomes=["Y2"])) == {"Y2"}
    for call, fragment in [
        (lambda: model.effects({"X1": rows["X1"]}, {"A": 1}, 5), "no column 'X2', a covariate of the effect of A"),
        (lambda: model.effects(rows, {"A": 1}, 5, outcomes=["X1"]), "outcome 'X1' is not caused by A"),
        (lambda: model.effects(rows, {}, 5), "needs an intervention"),
        (lambda: model.effects(rows, {"A": 1}, 0), "0"),
    ]:
        with pytest.raises(QueryError, match=fragment):
            call()


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--against", "Y1=0", "--summary", "s.csv"], "--against sets Y1 and --do sets A"),
        (["--level", "1.5"], "--level is 1.5"),
        (["--risk", "Y1 >> 2", "--summary", "s.csv"], "cannot read"),
        (["--risk", "Q > 1", "--summary", "s.csv"], "'Q' is not an outcome"),
        (["--against", "A=0"], "reported in --summary"),
        (["--summary", "s.txt"], "--summary"),
    ],
)
def test_bad_options_are_one_line(trained: Path, tmp_path: Path, extra: list[str], fragment: str) -> None:
    base = ["effects", "--ckpt", str(trained / "run/checkpoints/last.ckpt"), "--rows", str(trained / "rows.csv")]
    result = run_cli(*base, "--do", "A=1", "--n", "5", "--out", str(tmp_path / "d.csv"), *extra, cwd=tmp_path)
    assert result.returncode == 2 and fragment in result.stderr, result.stderr[-2000:]
    assert result.stderr.strip().count("\n") == 0


def test_rows_without_a_covariate_are_one_line(trained: Path, tmp_path: Path) -> None:
    pd.DataFrame({"X1": [0.0]}).to_csv(tmp_path / "thin.csv", index=False)
    result = run_cli(
        "effects", "--ckpt", str(trained / "run/checkpoints/last.ckpt"), "--rows", str(tmp_path / "thin.csv"),
        "--do", "A=1", "--out", str(tmp_path / "d.csv"),
    )  # fmt: skip
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert "X2" in result.stderr, result.stderr
