"""The demo's second part (``launch/dcm_demo.py``), run as a user runs it: a DCM trained, queried and drawn."""

from __future__ import annotations

import json
from pathlib import Path

from tests.checks import run_cli as run


def test_demo_dcm_part_trains_queries_and_writes_pictures(tmp_path: Path) -> None:
    out = run("demo", "--part", "dcm", "--steps", "150", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr[-3000:]
    assert "MMD" in out.stdout and "Counterfactual" in out.stdout and "answering the factual" in out.stdout
    metrics = json.loads((tmp_path / "dcm" / "metrics.json").read_text())
    assert len(metrics["interventional"]) == 3 and metrics["counterfactual_mse"] >= 0
    for name in ("interventional.png", "counterfactual.png", "dcm.ckpt"):
        assert (tmp_path / "dcm" / name).stat().st_size > 1000
