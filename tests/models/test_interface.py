"""What a command hands a family: FitContext's Trainer factory and its record, and QueryLabels in refused queries.

Checks ``lightning_causal.models.interface``: ``FitContext.new_trainer`` makes real Trainers with the
command's factory and records them in order (``last_trainer`` is the command's own until one is made),
refuses without a factory, and the labels of ``QueryLabels`` (Python's names by default, the command
line's flags when a command passes them) are what a real DCM's and IDGEN's ``check_query`` name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch

from lightning_causal import CausalGraph
from lightning_causal.errors import QueryError
from lightning_causal.graph.named import NAMED_GRAPHS
from lightning_causal.models import DCM, IDGEN, FitContext, QueryLabels
from lightning_causal.variables import VariableSpec

CLI = QueryLabels(interventions="--do", shift="--shift", given="--given")
"""The labels the command line passes (its flags)."""


@pytest.fixture
def dcm(tiny_mechanisms: dict[str, Any]) -> DCM:
    graph = CausalGraph(directed=[("a", "b"), ("b", "c")])
    specs = {v: VariableSpec(v, mean=(0.0,), std=(1.0,)) for v in graph.nodes}
    return DCM(graph, specs, tiny_mechanisms, seed=0)


@pytest.fixture
def conditional_idgen(tiny_mechanisms: dict[str, Any]) -> IDGEN:
    """P(Y | do(X), Z) on X -> M -> Y -> Z with X <-> Y."""
    graph = CausalGraph(directed=[("X", "M"), ("M", "Y"), ("Y", "Z")], bidirected=[("X", "Y")])
    return IDGEN(graph, {"Z": "binary"}, "X", "Y", "Z", mechanisms=tiny_mechanisms)


def _refusal(call: Callable[[], None]) -> str:
    with pytest.raises(QueryError) as err:
        call()
    message = str(err.value)
    assert "\n" not in message, message
    return message


def test_new_trainer_makes_trainers_with_the_factory_and_records_them_in_order(
    cpu_trainer: Callable[..., L.Trainer], tmp_path: Path
) -> None:
    command = cpu_trainer(default_root_dir=str(tmp_path / "command"))
    asked: list[Path] = []

    def make(root: Path) -> L.Trainer:
        asked.append(root)
        return cpu_trainer(default_root_dir=str(root), max_steps=7)

    context = FitContext(trainer=command, make_trainer=make)
    assert context.trainers == [] and context.last_trainer is command  # none made: the command's own

    first = context.new_trainer(tmp_path / "stage0")
    assert isinstance(first, L.Trainer) and first is not command
    assert first.default_root_dir == str(tmp_path / "stage0") and first.max_steps == 7
    assert context.trainers == [first] and context.last_trainer is first

    second = context.new_trainer(tmp_path / "stage1")
    assert second is not first and second.default_root_dir == str(tmp_path / "stage1")
    assert context.trainers == [first, second] and context.last_trainer is second
    assert asked == [tmp_path / "stage0", tmp_path / "stage1"]


def test_a_context_without_a_trainer_factory_refuses_to_make_one(cpu_trainer: Callable[..., L.Trainer]) -> None:
    command = cpu_trainer()
    context = FitContext(trainer=command, datamodule=None, ckpt_path="last.ckpt")
    with pytest.raises(RuntimeError, match="gives no Trainer factory"):
        context.new_trainer(Path("anywhere"))
    assert context.trainers == [] and context.last_trainer is command
    assert context.ckpt_path == "last.ckpt"


def test_contexts_do_not_share_their_record_of_trainers(cpu_trainer: Callable[..., L.Trainer], tmp_path: Path) -> None:
    one = FitContext(trainer=cpu_trainer(), make_trainer=lambda root: cpu_trainer(default_root_dir=str(root)))
    other = FitContext(trainer=cpu_trainer())
    one.new_trainer(tmp_path)
    assert len(one.trainers) == 1 and other.trainers == []


def test_query_labels_default_to_the_python_names_and_are_frozen() -> None:
    labels = QueryLabels()
    assert (labels.interventions, labels.shift, labels.given) == ("interventions", "shift interventions", "given")
    with pytest.raises(dataclasses.FrozenInstanceError):
        labels.given = "--given"  # type: ignore[misc]


def test_a_dcm_refusing_a_condition_names_it_as_the_caller_does(dcm: DCM) -> None:
    assert _refusal(lambda: dcm.check_query({"a": 1.0}, {"b": 0.5})).startswith("given: a DCM answers")
    cli = _refusal(lambda: dcm.check_query({"a": 1.0}, {"b": 0.5}, CLI))
    assert cli.startswith("--given: a DCM answers interventional queries") and "ID-GEN" in cli
    dcm.check_query({"a": 1.0}, {}, CLI)  # an interventional query passes
    dcm.check_query({"a": lambda x: x + 1}, {}, CLI, counterfactual=True)  # a DCM answers shifts and counterfactuals


def test_an_idgen_refusing_its_treatment_names_the_callers_flags() -> None:
    model = IDGEN(NAMED_GRAPHS["frontdoor"].graph, treatment="X", outcome="Y", mechanisms={"hidden": 8})
    missing = _refusal(lambda: model.check_query({}, {}, CLI))
    assert missing == "--do must give a value to exactly the treatment variables (X): missing X"
    assert _refusal(lambda: model.check_query({}, {})).startswith("interventions must give a value")
    extra = _refusal(lambda: model.check_query({"X": 1.0, "Z": 0.0}, {}, CLI))
    assert extra.startswith("--do must give") and "'Z' is not a treatment variable" in extra
    shift = _refusal(lambda: model.check_query({"X": lambda x: x + 1}, {}, CLI))
    assert shift.startswith("--shift: ") and "hard interventions (--do)" in shift
    default_shift = _refusal(lambda: model.check_query({"X": lambda x: x + 1}, {}))
    assert default_shift.startswith("shift interventions: ") and "(interventions)" in default_shift
    model.check_query({"X": torch.tensor(0.5)}, {}, CLI)  # exactly the treatment passes


def test_an_idgen_of_a_conditional_query_names_the_missing_condition_by_its_label(conditional_idgen: IDGEN) -> None:
    cli = _refusal(lambda: conditional_idgen.check_query({"X": 1.0}, {}, CLI))
    assert cli == "--given must give a value to exactly the condition variables (Z): missing Z"
    python = _refusal(lambda: conditional_idgen.check_query({"X": 1.0}, {}))
    assert python == "given must give a value to exactly the condition variables (Z): missing Z"
    conditional_idgen.check_query({"X": 1.0}, {"Z": 1}, CLI)
    refused = _refusal(lambda: conditional_idgen.check_query({"X": 1.0}, {"Z": 1}, CLI, counterfactual=True))
    assert "counterfactuals need a DCM" in refused
