"""``lightning-causal demo``, run as a user runs it: both parts measured against exact truth."""

from __future__ import annotations

import json
from pathlib import Path

from tests.checks import run_cli as run


def test_demo_identification_part_measures_against_truth(tmp_path: Path) -> None:
    out = run("demo", "--part", "identify", "--out", str(tmp_path), "--rows", "20000", "--samples", "50000")
    assert out.returncode == 0, out.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    identified = [r for r in summary if r["identifiable"]]
    assert len(identified) == 5 and any(not r["identifiable"] for r in summary)
    for row in identified:
        assert row["tvd_idgen_samples"] < 0.03, row
    # on the front-door SCM the naive conditional is far off, ID-GEN is not
    front = next(r for r in identified if r["graph"] == "frontdoor")
    assert front["tvd_naive_conditional"] > 5 * front["tvd_idgen_samples"]
    assert (tmp_path / "napkin.png").exists() and (tmp_path / "napkin_effect.png").exists()


def test_demo_dcm_part_trains_queries_and_writes_pictures(tmp_path: Path) -> None:
    out = run("demo", "--part", "dcm", "--steps", "150", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr[-3000:]
    assert "MMD" in out.stdout and "Counterfactual" in out.stdout and "answering the factual" in out.stdout
    metrics = json.loads((tmp_path / "dcm" / "metrics.json").read_text())
    assert len(metrics["interventional"]) == 3 and metrics["counterfactual_mse"] >= 0
    for name in ("interventional.png", "counterfactual.png", "dcm.ckpt"):
        assert (tmp_path / "dcm" / name).stat().st_size > 1000


def test_demo_idgen_part_trains_stages_and_scores_against_the_truth(tmp_path: Path) -> None:
    out = run("demo", "--part", "idgen", "--idgen-steps", "40", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Stage 1 of 1: training P(Y | M) on D1" in out.stdout and "two exact samples" in out.stdout
    metrics = json.loads((tmp_path / "idgen" / "metrics.json").read_text())
    assert metrics["query"] == "P(Y | do(X))" and len(metrics["points"]) == 3
    assert all(p["mmd_floor"] >= 0 and p["mmd_idgen"] >= 0 for p in metrics["points"])
    assert (tmp_path / "idgen" / "interventional.png").stat().st_size > 1000
    assert (tmp_path / "idgen" / "run" / "idgen.ckpt").is_file()
    again = run("demo", "--part", "idgen", "--idgen-steps", "40", "--out", str(tmp_path))
    assert again.returncode == 0 and "Stage 0 of 1" in again.stdout  # a re-run trains again
