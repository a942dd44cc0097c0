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


def test_a_selecting_plan_round_trips_and_plans_written_before_conditioning_learn(tmp_path) -> None:  # type: ignore[no-untyped-def]
    g = NAMED_GRAPHS["conditional"].graph
    select = compile_plan(g, "X", "Y", "Z", conditioning="select")
    again = SamplingPlan.load(select.save(tmp_path / "select.json"))
    assert (again.conditioning, again.selected) == ("select", ("Z",)) and str(again) == str(select)
    assert "keeps the draws whose Z equals the given value" in str(select)
    old = compile_plan(g, "X", "Y", "Z", conditioning="learn").to_dict()
    del old["conditioning"], old["selected"]
    (tmp_path / "old.json").write_text(json.dumps(old))
    loaded = SamplingPlan.load(tmp_path / "old.json")
    assert (loaded.conditioning, loaded.selected) == ("learn", ()) and len(loaded.stages) == len(select.stages) + 1


def test_an_auto_plan_round_trips_with_its_selecting_twin(tmp_path) -> None:  # type: ignore[no-untyped-def]
    g = NAMED_GRAPHS["conditional"].graph
    auto = compile_plan(g, "X", "Y", "Z")
    again = SamplingPlan.load(auto.save(tmp_path / "auto.json"))
    assert again.conditioning == "auto" and again.selecting is not None
    assert again.resolve_conditioning({"X", "Y", "Z"}).to_dict() == auto.resolve_conditioning({"Z"}).to_dict()
    learned = again.resolve_conditioning({"X"})
    assert learned.conditioning == "learn" and learned.selecting is None and len(learned.stages) == len(auto.stages)


def test_a_composed_plan_round_trips_and_plans_written_before_composition_learn(tmp_path) -> None:  # type: ignore[no-untyped-def]
    g = NAMED_GRAPHS["frontdoor"].graph
    plan = compile_plan(g, "X", "Y")
    again = SamplingPlan.load(plan.save(tmp_path / "plan.json"))
    assert (again.marginals, again.composed) == ("compose", ("P(Y | Z)",)) and str(again) == str(plan)
    old = compile_plan(g, "X", "Y", marginals="learn").to_dict()
    del old["marginals"], old["composed"]
    (tmp_path / "old.json").write_text(json.dumps(old))
    loaded = SamplingPlan.load(tmp_path / "old.json")
    assert (loaded.marginals, loaded.composed, len(loaded.stages)) == ("learn", (), 2)
