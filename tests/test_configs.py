"""Every shipped YAML under configs/ parses."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightning_causal import CausalGraph
from lightning_causal.named_graphs import NAMED_GRAPHS

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("graphs/*.yaml")), ids=lambda p: p.stem)
def test_graph_configs_load_and_match_the_built_in_graphs(path: Path) -> None:
    graph = CausalGraph.load(path)
    assert graph == NAMED_GRAPHS[path.stem].graph


def test_every_built_in_graph_is_shipped() -> None:
    assert {p.stem for p in CONFIGS.glob("graphs/*.yaml")} == set(NAMED_GRAPHS)
