"""Every shipped YAML under configs/ parses (and the training configs instantiate)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightning_causal.graph.io import load_graph, load_graph_spec
from lightning_causal.graph.named import NAMED_GRAPHS

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("graphs/*.yaml")), ids=lambda p: p.stem)
def test_graph_configs_load_and_match_the_built_in_graphs(path: Path) -> None:
    graph = load_graph(path)
    assert graph == NAMED_GRAPHS[path.stem].graph


def test_every_built_in_graph_is_shipped() -> None:
    assert {p.stem for p in CONFIGS.glob("graphs/*.yaml")} == set(NAMED_GRAPHS)


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("tabular/*.yaml")), ids=lambda p: p.stem)
def test_tabular_graphs_load(path: Path) -> None:
    graph, variables = load_graph_spec(path)
    assert graph.nodes and set(variables) <= set(graph.nodes)


TRAINING_CONFIGS = sorted([*CONFIGS.glob("dcm/*.yaml"), *CONFIGS.glob("idgen/*.yaml")])


@pytest.mark.parametrize("path", TRAINING_CONFIGS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_training_configs_instantiate(path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from lightning_causal.launch.lightning_cli import CausalCLI

    monkeypatch.chdir(ROOT)  # configs name data files relative to the repository
    cli = CausalCLI(
        model_class=__import__("lightning").LightningModule,
        datamodule_class=__import__("lightning").LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        args=["--config", str(path), "--trainer.default_root_dir", str(tmp_path)],
        run=False,
        seed_everything_default=0,
    )
    assert cli.model.graph == cli.datamodule.graph
    assert cli.model.variables.keys() == cli.datamodule.variables.keys()
    assert cli.trainer.max_steps > 0
