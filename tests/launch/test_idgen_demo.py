"""The demo's third part (``launch/idgen_demo.py``), run as a user runs it: ID-GEN trained stage by stage."""

from __future__ import annotations

import json
from pathlib import Path

from tests.checks import run_cli as run


def test_demo_idgen_part_trains_stages_and_scores_against_the_truth(tmp_path: Path) -> None:
    out = run("demo", "--part", "idgen", "--idgen-steps", "40", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr[-3000:]
    # one stage: P(Y | M) of the front-door is composed from the observational factors (marginals 'compose')
    assert "Stage 0 of 0: training P(M | X), P(X), P(Y | X, M) on D0" in out.stdout, out.stdout[-3000:]
    assert "Trained 1 stage of 40 steps" in out.stdout and "two exact samples" in out.stdout
    metrics = json.loads((tmp_path / "idgen" / "metrics.json").read_text())
    assert metrics["query"] == "P(Y | do(X))" and len(metrics["points"]) == 3
    assert all(p["mmd_floor"] >= 0 and p["mmd_idgen"] >= 0 for p in metrics["points"])
    assert (tmp_path / "idgen" / "interventional.png").stat().st_size > 1000
    assert (tmp_path / "idgen" / "run" / "idgen.ckpt").is_file()
    again = run("demo", "--part", "idgen", "--idgen-steps", "40", "--out", str(tmp_path))
    assert again.returncode == 0 and "Stage 0 of 0" in again.stdout  # a re-run trains again
