"""The model-family registry: built-in and newly defined families are found by name, and load_model finds checkpoints.

Checks ``lightning_causal.models.families``: defining a ``CausalModule`` subclass with a ``family`` name
registers it (and nothing else does), an unknown name is one ``QueryError`` line listing the known
families, and ``load_model`` reads a ``.ckpt`` file or a run folder holding ``<family>.ckpt``.
Families defined here are registered in a copy of the registry that is put back after each test.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor, nn

import lightning_causal.models
from lightning_causal.errors import ConfigError, QueryError
from lightning_causal.graph.named import NAMED_GRAPHS
from lightning_causal.models import DCM, IDGEN, CausalModule, families, load_model, model_family
from lightning_causal.models.families import register_family


@pytest.fixture
def registry() -> Iterator[dict[str, Any]]:
    """The registry's dict swapped for a copy while the test runs; afterwards no family the test defined is left."""
    module = importlib.import_module("lightning_causal.models.families")  # the package exports the function
    before = dict(module._FAMILIES)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "_FAMILIES", dict(before))
        yield module._FAMILIES
    assert families() == before  # what the test registered is gone


def _toy_class() -> type[CausalModule]:
    """A new family "toy": one weight vector fitted to a target (defining it registers it)."""

    class ToyModel(CausalModule):
        family = "toy"

        def __init__(self, width: int = 3, seed: int = 0) -> None:
            super().__init__(seed=seed)
            self.save_hyperparameters()
            self.weight = nn.Parameter(torch.zeros(width))

        @property
        def loss_names(self) -> Sequence[str]:
            return ["weight"]

        def model_step(self, batch: Mapping[str, Tensor], rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
            loss = ((self.weight - batch["y"]) ** 2).mean()
            return loss, loss[None]

    return ToyModel


def _save(model: CausalModule, path: Path, cpu_trainer: Callable[..., Any]) -> Path:
    trainer = cpu_trainer()
    trainer.strategy.connect(model)
    trainer.save_checkpoint(path)
    return path


def test_the_built_in_families_are_registered_under_their_names() -> None:
    found = families()
    assert found["dcm"] is DCM and found["idgen"] is IDGEN
    assert model_family("dcm") is DCM and model_family("idgen") is IDGEN


def test_a_new_causal_module_with_a_family_name_is_found_by_name(registry: dict[str, Any]) -> None:
    toy = _toy_class()
    assert model_family("toy") is toy
    assert families()["toy"] is toy and lightning_causal.models.families()["toy"] is toy
    assert lightning_causal.models.ToyModel is toy  # a config's class_path finds it by class name
    assert families()["dcm"] is DCM  # the others stay


def test_a_subclass_without_its_own_family_name_registers_nothing(registry: dict[str, Any]) -> None:
    before = dict(families())

    class Unnamed(CausalModule):  # no family: a base for families, not one
        pass

    class TunedDCM(DCM):  # inherits "dcm" but does not name a family of its own
        pass

    assert families() == before and model_family("dcm") is DCM
    assert Unnamed not in families().values() and TunedDCM not in families().values()


def test_a_family_needs_a_non_empty_name(registry: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="needs a non-empty name, got ''") as err:
        register_family("", DCM)
    assert "\n" not in str(err.value)


def test_an_unknown_family_is_one_line_listing_the_known_ones() -> None:
    with pytest.raises(QueryError, match=r"unknown model family 'dime'; the families are dcm, idgen$") as err:
        model_family("dime")
    assert "\n" not in str(err.value)


def test_a_family_no_package_defines_is_imported_from_where_its_checkpoint_says() -> None:
    with pytest.raises(
        QueryError, match=r"^model family 'toy' is defined in module 'no_such_models', which cannot"
    ) as err:
        model_family("toy", "no_such_models:Toy")
    assert "PYTHONPATH" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(QueryError, match="unknown model family 'toy'"):  # the module imports but defines no "toy"
        model_family("toy", "lightning_causal.models.optim:AdamW")


def test_load_model_finds_the_trained_plan_in_an_idgen_run_folder(
    tmp_path: Path, cpu_trainer: Callable[..., Any], tiny_mechanisms: dict[str, Any]
) -> None:
    model = IDGEN(NAMED_GRAPHS["frontdoor"].graph, treatment="X", outcome="Y", mechanisms=tiny_mechanisms, seed=5)
    _save(model, tmp_path / "idgen.ckpt", cpu_trainer)
    (tmp_path / "plan.json").write_text("{}")  # other files of a run folder are not read
    loaded = load_model(tmp_path)
    assert type(loaded) is IDGEN and loaded.plan.query == "P(Y | do(X))"
    saved = model.state_dict()
    assert set(loaded.state_dict()) == set(saved)
    for name, value in loaded.state_dict().items():
        assert torch.equal(value, saved[name]), name


def test_load_model_finds_any_familys_checkpoint_in_a_folder(
    registry: dict[str, Any], tmp_path: Path, cpu_trainer: Callable[..., Any]
) -> None:
    toy = _toy_class()
    model = toy(width=4, seed=2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([1.0, -2.0, 3.5, 0.25]))
    _save(model, tmp_path / "toy.ckpt", cpu_trainer)
    loaded = load_model(tmp_path)
    assert type(loaded) is toy and loaded.hparams["width"] == 4
    assert torch.equal(loaded.weight.detach(), torch.tensor([1.0, -2.0, 3.5, 0.25]))
    assert type(load_model(tmp_path / "toy.ckpt")) is toy  # the file itself too


def test_load_model_refuses_a_folder_without_a_family_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "last.ckpt").write_bytes(b"")  # a checkpoint under another name is not looked for
    with pytest.raises(QueryError, match=r"is a folder; pass the \.ckpt file") as err:
        load_model(tmp_path)
    assert str(tmp_path) in str(err.value) and "\n" not in str(err.value)


def test_load_model_refuses_a_missing_file_and_a_file_that_is_no_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(QueryError, match=r"none\.ckpt' does not exist") as err:
        load_model(tmp_path / "none.ckpt")
    assert "\n" not in str(err.value)
    text = tmp_path / "notes.ckpt"
    text.write_text("not a checkpoint\nsecond line\n")
    with pytest.raises(QueryError, match=r"notes\.ckpt' cannot be loaded as a model checkpoint") as err:
        load_model(text)
    assert "\n" not in str(err.value)
