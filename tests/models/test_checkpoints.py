"""Checkpoints name their family, release-0.1 checkpoints still load and sample the same, another model's is refused."""

from __future__ import annotations

import argparse
import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch

from lightning_causal import CausalGraph
from lightning_causal.errors import ConfigError, QueryError
from lightning_causal.models import DCM, IDGEN
from lightning_causal.models.checkpoints import (
    FAMILY_KEY,
    checkpoint_class,
    checkpoint_family,
    checkpoint_mismatch,
    migrate_checkpoint,
)
from lightning_causal.models.families import load_model
from lightning_causal.variables import VariableSpec

GRAPH = CausalGraph(directed=[("a", "b"), ("b", "c")])
SPECS = {"a": VariableSpec("a"), "b": VariableSpec("b", "binary"), "c": VariableSpec("c", dim=2)}


def _as_release_01(checkpoint: dict) -> dict:
    """The checkpoint as release 0.1 wrote it: the old module and hyperparameter names, no family key."""
    old = {"banks.diffusion": "diffusion", "banks.classifier": "classifiers", "banks.image": "images"}

    def rename(key: str) -> str:
        key = re.sub(r"^node_mechanisms\.", "network.", key)
        key = re.sub(r"^factor_mechanisms\.", "factor_networks.", key)
        for new, before in old.items():
            key = key.replace(f".{new}.", f".{before}.")
        return key

    checkpoint["state_dict"] = {rename(k): v for k, v in checkpoint["state_dict"].items()}
    checkpoint["hyper_parameters"]["network"] = checkpoint["hyper_parameters"].pop("mechanisms")
    checkpoint.pop(FAMILY_KEY)
    checkpoint.pop("lightning_causal_class")
    return checkpoint


def _trained_dcm(make: Callable[..., L.Trainer], tmp_path: Path) -> Path:
    model = DCM(GRAPH, SPECS, {"hidden": 8, "timesteps": 10}, seed=1)
    batch = {"a": torch.randn(64, 1), "b": torch.randint(0, 2, (64,)), "c": torch.randn(64, 2)}
    model.node_mechanisms.observe(batch)
    trainer = make(max_steps=1)
    trainer.strategy.connect(model)
    path = tmp_path / "dcm.ckpt"
    trainer.save_checkpoint(path)
    return path


def test_a_checkpoint_names_its_family_and_loads_as_its_class(
    tmp_path: Path, cpu_trainer: Callable[..., L.Trainer]
) -> None:
    path = _trained_dcm(cpu_trainer, tmp_path)
    checkpoint = torch.load(path, weights_only=False)
    assert checkpoint[FAMILY_KEY] == "dcm" and checkpoint_family(checkpoint) == "dcm"
    assert checkpoint_class(checkpoint) == "lightning_causal.models.dcm.module:DCM"
    assert isinstance(load_model(path), DCM) and isinstance(DCM.load(path), DCM)
    with pytest.raises(QueryError, match="holds a DCM model, not a IDGEN"):
        IDGEN.load(path)


def test_a_release_01_dcm_checkpoint_loads_with_the_same_weights_and_samples(
    tmp_path: Path, cpu_trainer: Callable[..., L.Trainer]
) -> None:
    path = _trained_dcm(cpu_trainer, tmp_path)
    new = load_model(path)
    old_path = tmp_path / "old.ckpt"
    torch.save(_as_release_01(torch.load(path, weights_only=False)), old_path)
    assert any(k.startswith("network.diffusion.") for k in torch.load(old_path, weights_only=False)["state_dict"])
    old = load_model(old_path)
    assert isinstance(old, DCM)
    for (name, a), (_, b) in zip(new.state_dict().items(), old.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    torch.testing.assert_close(old.sample(50, {"a": 0.5}, seed=3), new.sample(50, {"a": 0.5}, seed=3), rtol=0, atol=0)


def test_migration_renames_idgen_factor_banks_and_leaves_new_checkpoints_alone() -> None:
    old = {
        "hyper_parameters": {"network": {"hidden": 8}, "family": "idgen"},
        "state_dict": {
            "factor_networks.D1.classifiers.valid": 1,
            "factor_networks.D0.layout.shift": 2,
            "factor_networks.D0.images.denoisers.0.w": 3,
        },
    }
    assert migrate_checkpoint(old) and checkpoint_family(old) == "idgen"
    assert old["hyper_parameters"] == {
        "mechanisms": {"hidden": 8},
        "family": "idgen",
        "conditioning": "learn",
        "marginals": "learn",
    }
    assert set(old["state_dict"]) == {
        "factor_mechanisms.D1.banks.classifier.valid",
        "factor_mechanisms.D0.layout.shift",
        "factor_mechanisms.D0.banks.image.denoisers.0.w",
    }
    assert not migrate_checkpoint(old)  # already new


def test_a_file_that_is_no_model_checkpoint_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "x.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1)}}, path)
    with pytest.raises(QueryError, match="not written by a lightning-causal model"):
        load_model(path)
    with pytest.raises(QueryError, match="does not exist"):
        load_model(tmp_path / "none.ckpt")


_HPARAMS: dict[str, Any] = {
    "graph": {"nodes": ["X", "Z", "Y"], "directed": [["X", "Z"], ["Z", "Y"]], "bidirected": [["X", "Y"]]},
    "variables": {
        "X": {"type": "binary", "dim": 1, "classes": 2},
        "Z": {"type": "continuous", "dim": 1, "mean": [0.0]},
    },
    "treatment": ["X"],
    "mechanisms": {"hidden": 64, "depth": 2},
}


def _saved(**changes: Any) -> dict[str, Any]:
    hparams = {**copy.deepcopy(_HPARAMS), **changes}
    return {FAMILY_KEY: "idgen", "hyper_parameters": hparams, "state_dict": {}}


@pytest.mark.parametrize(
    ("saved", "words"),
    [
        ({FAMILY_KEY: "dcm", "hyper_parameters": _HPARAMS, "state_dict": {}}, "a dcm model, not a idgen model"),
        (_saved(graph={"nodes": ["a", "b"], "directed": [["a", "b"]]}), "the nodes a, b, not this run's X, Z, Y"),
        (_saved(graph={**_HPARAMS["graph"], "directed": [["X", "Z"], ["Z", "Y"], ["X", "Y"]]}), "the edge X -> Y"),
        (_saved(graph={**_HPARAMS["graph"], "bidirected": []}), "without the edge X <-> Y"),
        (_saved(variables={**_HPARAMS["variables"], "X": {"type": "categorical", "dim": 1, "classes": 3}}), "'X'"),
        (_saved(treatment=["Z"]), "treatment ['Z'], where this run has ['X']"),
        (_saved(mechanisms={"hidden": 8, "depth": 2}), "hidden 8 (here 64)"),
    ],
)
def test_a_checkpoint_of_another_model_is_told_apart_in_words(saved: dict[str, Any], words: str) -> None:
    problem = checkpoint_mismatch(saved, "idgen", _HPARAMS)
    assert problem is not None and words in problem, problem


def test_the_same_model_with_other_statistics_and_a_reversed_confounder_is_the_same_model() -> None:
    moved = copy.deepcopy(_HPARAMS["variables"])
    moved["Z"]["mean"] = [3.0]  # new data move the statistics, not the model
    graph = {**_HPARAMS["graph"], "bidirected": [["Y", "X"]]}
    assert checkpoint_mismatch(_saved(variables=moved, graph=graph), "idgen", _HPARAMS) is None


def test_image_settings_only_sampling_reads_are_not_the_architecture() -> None:
    image = {"base": 16, "mults": [1, 2], "guidance": 0.0, "eta": 0.0}
    here = {**_HPARAMS, "mechanisms": {"hidden": 64, "image": {**image, "guidance": 0.25, "eta": 1.0}}}
    assert checkpoint_mismatch(_saved(mechanisms={"hidden": 64, "image": image}), "idgen", here) is None
    wider = _saved(mechanisms={"hidden": 64, "image": {**image, "base": 32}})
    problem = checkpoint_mismatch(wider, "idgen", here)
    assert problem is not None and "base" in problem and "guidance" not in problem and "eta" not in problem


def test_resuming_a_dcm_from_another_graphs_checkpoint_is_refused_before_any_weight_loads(
    tmp_path: Path, cpu_trainer: Callable[..., L.Trainer]
) -> None:
    path = _trained_dcm(cpu_trainer, tmp_path)
    other = DCM(CausalGraph(directed=[("a", "b")]), {"a": VariableSpec("a"), "b": VariableSpec("b")})
    with pytest.raises(ConfigError, match=r"^the checkpoint holds the nodes a, b, c, not this run's a, b;"):
        other.check_resume(torch.load(path, weights_only=False))


def test_checkpoints_are_read_weights_only_and_other_objects_only_when_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lightning_causal.models.checkpoints import TRUST_ENV, read_checkpoint

    plain = tmp_path / "plain.ckpt"
    torch.save({"state_dict": {"w": torch.ones(2)}, "hyper_parameters": {"graph": {"nodes": ["a"]}}}, plain)
    assert torch.equal(read_checkpoint(plain)["state_dict"]["w"], torch.ones(2))
    odd = tmp_path / "odd.ckpt"
    torch.save({"state_dict": {}, "extra": argparse.Namespace(a=1)}, odd)
    monkeypatch.delenv(TRUST_ENV, raising=False)
    with pytest.raises(ConfigError, match=r"holds argparse.Namespace, .*set LIGHTNING_CAUSAL_TRUST_CHECKPOINTS=1"):
        read_checkpoint(odd)
    monkeypatch.setenv(TRUST_ENV, "1")
    assert read_checkpoint(odd)["extra"].a == 1
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(Exception) as err:  # not a checkpoint: the caller's own message, not "trust it"
        read_checkpoint(garbage)
    assert not isinstance(err.value, ConfigError)


def test_an_idgen_checkpoint_from_before_conditioning_and_marginals_loads_with_its_learned_stages(
    tmp_path: Path, tiny_mechanisms: dict[str, Any]
) -> None:
    from lightning_causal.models.idgen.stages import write_checkpoint

    graph = CausalGraph(directed=[("X", "M"), ("M", "Y"), ("Y", "Z")], bidirected=[("X", "Y")])
    model = IDGEN(
        graph, {"Z": "binary"}, "X", "Y", "Z", conditioning="learn", marginals="learn", mechanisms=tiny_mechanisms
    )
    path = write_checkpoint(model, tmp_path / "old.ckpt")
    checkpoint = torch.load(path, weights_only=False)
    del checkpoint["hyper_parameters"]["conditioning"]  # as written before either choice existed
    del checkpoint["hyper_parameters"]["marginals"]
    torch.save(checkpoint, path)
    loaded = load_model(path)
    assert isinstance(loaded, IDGEN) and loaded.plan.conditioning == "learn" and loaded.stage_count == 3
    assert loaded.plan.marginals == "learn" and loaded.hparams["marginals"] == "learn"
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
