"""Every shipped YAML under configs/ parses (and the training configs instantiate)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

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
    # the latest state (to resume) in every config; the best validation loss (to query) where a single run validates
    from lightning_causal.callbacks import BestCheckpoint, LatestCheckpoint

    kinds = {type(c) for c in cli.trainer.checkpoint_callbacks}
    assert LatestCheckpoint in kinds
    assert (BestCheckpoint in kinds) == (path.parent.name == "dcm")


def _cli(path: Path, tmp_path: Path, *extra: str) -> Any:
    from lightning_causal.launch.lightning_cli import CausalCLI

    return CausalCLI(
        model_class=__import__("lightning").LightningModule,
        datamodule_class=__import__("lightning").LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        args=["--config", str(path), "--trainer.default_root_dir", str(tmp_path), *extra],
        run=False,
        seed_everything_default=0,
    )


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


@pytest.mark.parametrize("config", ["dcm/tabular.yaml", "idgen/tabular.yaml"])
def test_seed_everything_seeds_the_model_unless_the_model_has_its_own_seed(
    config: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(ROOT)
    path = CONFIGS / config
    default, other = _cli(path, tmp_path).model, _cli(path, tmp_path, "--seed_everything", "3").model
    assert default.hparams["seed"] == 0 and other.hparams["seed"] == 3
    assert not _same_weights(default, other)  # other initial weights
    assert _same_weights(default, _cli(path, tmp_path).model)  # the same seed: the same weights
    own = _cli(path, tmp_path, "--seed_everything", "3", "--model.init_args.seed", "7").model
    assert own.hparams["seed"] == 7  # a model seed given in the config is kept
