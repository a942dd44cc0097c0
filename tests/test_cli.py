"""The ``lightning-causal`` console script, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lightning_causal.plan import SamplingPlan


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lightning-causal")
    cmd = [exe, *args] if exe else [sys.executable, "-m", "lightning_causal.launch.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=300)


def test_identify_prints_verdict_estimand_trace_and_plan(tmp_path: Path) -> None:
    graph = tmp_path / "g.yaml"
    graph.write_text("directed:\n  - X -> Z\n  - Z -> Y\nbidirected:\n  - X <-> Y\n")
    out = run(
        "identify",
        "--graph",
        str(graph),
        "--treatment",
        "X",
        "--outcome",
        "Y",
        "--draw",
        str(tmp_path / "g.png"),
        "--plan-out",
        str(tmp_path / "plan.json"),
        "--latex",
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "Verdict: identifiable" in text
    assert "P(Y | do(X)) = Σ_{Z} P(Z | X) [Σ_{X'} P(X') P(Y | X', Z)]" in text
    assert "line 4" in text and "line 7" in text and "Factors to train:" in text and "LaTeX:" in text
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
    plan = SamplingPlan.load(tmp_path / "plan.json")
    assert plan.query == "P(Y | do(X))" and len(plan.factors) == 4


def test_identify_conditional_and_json() -> None:
    out = run("identify", "--graph", "conditional", "-x", "X", "-y", "Y", "-z", "Z", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["identifiable"] and data["query"] == "P(Y | do(X), Z)"
    assert data["plan"]["datasets"][-1]["origin"].startswith("IDC-GEN")


def test_not_identifiable_exits_1_and_names_the_hedge() -> None:
    out = run("identify", "--graph", "instrumental", "-x", "X", "-y", "Y")
    assert out.returncode == 1
    assert "NOT identifiable" in out.stdout and "line 5" in out.stdout and "Hedge F' = {Y}" in out.stdout


@pytest.mark.parametrize(
    "args,message",
    [
        (["--graph", "missing.yaml", "-x", "X", "-y", "Y"], "error: graph file 'missing.yaml' does not exist"),
        (["--graph", "napkin", "-x", "Q", "-y", "Y"], "error: unknown variable 'Q' in treatment"),
        (["--graph", "nonsense", "-x", "X", "-y", "Y"], "is neither a graph file nor a built-in graph"),
        (["--graph", "napkin", "-x", "X", "-y", "X"], "in both the treatment and the outcome"),
    ],
)
def test_user_errors_are_one_line(args: list[str], message: str) -> None:
    out = run("identify", *args)
    assert out.returncode == 2
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


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
