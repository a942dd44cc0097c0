"""Sampling plans survive a JSON round trip."""

from __future__ import annotations

import json

import numpy as np

from lightning_causal.graph.named import NAMED_GRAPHS
from lightning_causal.plan import SamplingPlan, compile_plan
from lightning_causal.scm import DiscreteSCM


def test_plan_serialises_and_reloads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    g = NAMED_GRAPHS["napkin"].graph
    plan = compile_plan(g, "W1", "Y")
    path = plan.save(tmp_path / "plan.json")
    again = SamplingPlan.load(path)
    assert str(again) == str(plan)
    assert again.to_dict() == json.loads(path.read_text())
    joint = DiscreteSCM.random(g, seed=3).observational()
    a = plan.fit(joint).distribution({"W1": 1})
    b = again.fit(joint).distribution({"W1": 1})
    np.testing.assert_allclose(a.probs, b.probs, atol=1e-15)
