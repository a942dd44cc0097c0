"""Sampling plans print as a readable table."""

from __future__ import annotations

from lightning_causal.graph.named import NAMED_GRAPHS
from lightning_causal.plan import compile_plan


def test_plan_prints_as_a_table() -> None:
    text = str(compile_plan(NAMED_GRAPHS["frontdoor"].graph, "X", "Y", marginals="learn"))
    assert "Factors to train:" in text and "Sampling network" in text
    assert "P(Y | X, Z)" in text and "D1" in text
    composed = str(compile_plan(NAMED_GRAPHS["frontdoor"].graph, "X", "Y"))
    assert "P(Y | X, Z)" in composed and "D1" not in composed
    assert "(P(Y | Z) of the generated data is drawn by the factors that generate it" in composed
