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
