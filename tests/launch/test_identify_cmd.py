"""``lightning-causal identify`` and one-line user errors, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightning_causal.plan import SamplingPlan
from tests.checks import run_cli as run


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
    # one stage: the front-door's P(Y | Z) is composed from P(X') and P(Y | X', Z), not learned from D1
    assert plan.query == "P(Y | do(X))" and len(plan.factors) == 3 and plan.composed and not plan.datasets[1:]
    assert "marginals 'compose'" in text and "D1" not in text
    learned = run(
        "identify",
        "--graph",
        str(graph),
        "-x",
        "X",
        "-y",
        "Y",
        "--marginals",
        "learn",
        "--plan-out",
        str(tmp_path / "l.json"),
    )
    assert learned.returncode == 0, learned.stderr
    assert "P(Y | Z)     D1    S1: marginal of the current data" in learned.stdout
    plan = SamplingPlan.load(tmp_path / "l.json")
    assert plan.marginals == "learn" and len(plan.factors) == 4 and [d.name for d in plan.datasets] == ["D0", "D1"]


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


def test_identify_names_the_covariate_adjustment_or_the_path_none_blocks() -> None:
    backdoor = run("identify", "--graph", "backdoor", "-x", "X", "-y", "Y")
    assert backdoor.returncode == 0 and "Covariate adjustment: {Z}" in backdoor.stdout
    front = run("identify", "--graph", "frontdoor", "-x", "X", "-y", "Y", "--json")
    assert front.returncode == 0
    adjustment = json.loads(front.stdout)["adjustment"]
    assert adjustment["open_path"] == ["X", "Y"] and "use ID-GEN" in adjustment["message"]
    conditional = run("identify", "--graph", "conditional", "-x", "X", "-y", "Y", "-z", "Z", "--json")
    assert json.loads(conditional.stdout)["adjustment"] is None  # adjustment answers do-queries only
