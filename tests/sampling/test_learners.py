"""Learners: a new family of generators joins through the registry, without touching the runner or the plan.

The learner defined here keeps exact conditional tables as torch tensors and draws with a
``torch.Generator`` (its value space): the same plans, fitted through ``plan.fit(learner="torch-table")``,
must sample the exact interventional distribution, which shows that the fitting loop, the generated
datasets and the sampling network are independent of the generator family and its array type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest
import torch

from lightning_causal import CausalGraph, DiscreteDistribution, QueryError, compile_plan
from lightning_causal.generators import CategoricalTable, ConditionalGenerator
from lightning_causal.plan import Factor
from lightning_causal.sampling import (
    Learner,
    PlanData,
    TensorData,
    ValueSpace,
    available_learners,
    learner_for,
    register_learner,
    run_wiring,
)
from lightning_causal.scm import DiscreteSCM
from tests.checks import strong_napkin_scm


class TorchTable(ConditionalGenerator):
    """P(variable | inputs) as a torch tensor, drawn with torch.multinomial."""

    def __init__(self, table: CategoricalTable) -> None:
        self.variable, self.inputs = table.variable, table.inputs
        self.probs = torch.as_tensor(table.probs, dtype=torch.float64)

    def sample(self, inputs: Mapping[str, Any], rng: Any = None, n: int | None = None) -> torch.Tensor:
        if self.inputs:
            rows = self.probs[tuple(inputs[v].long() for v in self.inputs)]
        else:
            assert n is not None
            rows = self.probs.expand(n, -1)
        return torch.multinomial(rows, 1, generator=rng).squeeze(1)


class LongTensors(ValueSpace):
    """Class codes as int64 tensors and a CPU ``torch.Generator``."""

    def rng(self, seed: Any) -> torch.Generator:
        return torch.Generator().manual_seed(int(seed or 0))

    def constants(self, values: Mapping[str, Any], n: int, data: PlanData) -> dict[str, torch.Tensor]:
        return {v: torch.full((n,), int(value), dtype=torch.long) for v, value in values.items()}


class TorchTableLearner(Learner):
    name = "torch-table"
    space = LongTensors()

    def observe(self, data: Any, needed: Sequence[str], cardinalities: Mapping[str, int] | None) -> PlanData:
        columns = {v: torch.as_tensor(np.asarray(data[v]), dtype=torch.long) for v in needed}
        cards = dict(cardinalities or {v: int(c.max()) + 1 for v, c in columns.items()})
        return TensorData(columns, cards)

    def fit(self, factors: Sequence[Factor], data: PlanData) -> dict[str, ConditionalGenerator]:
        assert isinstance(data, TensorData)
        numpy_columns = {v: c.numpy() for v, c in data.columns.items()}
        out: dict[str, ConditionalGenerator] = {}
        for f in factors:
            table = CategoricalTable(f.variable, f.inputs, data.cardinalities)
            out[f.name] = TorchTable(table.fit_samples(numpy_columns[f.variable], numpy_columns))
        return out


register_learner("torch-table", TorchTableLearner)
FRONT_DOOR = CausalGraph(directed=[("X", "M"), ("M", "Y")], bidirected=[("X", "Y")])


@pytest.mark.parametrize(
    "scm",
    [strong_napkin_scm(), DiscreteSCM.random(FRONT_DOOR, seed=3)],
    ids=["napkin", "frontdoor"],
)
def test_a_registered_learner_fits_and_samples_any_plan(scm: DiscreteSCM) -> None:
    plan = compile_plan(scm.graph, "X", "Y")
    data = scm.sample(40_000, seed=1)
    network = plan.fit(data, learner="torch-table", seed=0)
    assert isinstance(network.space, LongTensors) and "torch-table" in available_learners()
    for x in range(scm.cardinalities["X"]):
        samples = network.sample(60_000, {"X": x}, seed=2)
        assert samples["Y"].dtype == torch.long
        got = DiscreteDistribution.from_samples({"Y": samples["Y"].numpy()}, cardinalities=scm.cardinalities)
        truth = scm.interventional(["Y"], {"X": x})
        assert got.tvd(truth) < 0.02
        # the same answer as exact tables fitted on the same data (both are the empirical plan)
        exact = plan.fit(data).distribution({"X": x})
        assert got.tvd(exact) < 0.015


def test_learners_are_given_by_name_or_instance_and_unknown_names_are_refused() -> None:
    assert isinstance(learner_for("torch-table"), TorchTableLearner)
    learner = TorchTableLearner()
    assert learner_for(learner) is learner
    with pytest.raises(QueryError, match="unknown learner 'nope'; available: 'categorical', 'diffusion'"):
        learner_for("nope")
    with pytest.raises(QueryError, match=r"plan.fit\(generator=...\) is plan.fit\(learner=...\)"):
        compile_plan(FRONT_DOOR, "X", "Y").fit({}, generator="categorical")


def test_run_wiring_passes_torch_values_and_the_rng_through() -> None:
    plan = compile_plan(strong_napkin_scm().graph, "X", "Y")
    data = strong_napkin_scm().sample(5000, seed=0)
    network = plan.fit(data, learner="torch-table")
    inputs = {"X": torch.ones(7, dtype=torch.long), "W2": torch.zeros(7, dtype=torch.long)}
    a = run_wiring(plan.wiring, network.generators, inputs, 7, torch.Generator().manual_seed(5))
    b = run_wiring(plan.wiring, network.generators, inputs, 7, torch.Generator().manual_seed(5))
    assert set(a) == {"Y"} and torch.equal(a["Y"], b["Y"])
