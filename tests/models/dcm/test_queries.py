"""DCM queries on an untrained DCM built here (the properties checked hold for any weights): intervened nodes
take the given values, a shift adds to what the mechanism produces, counterfactuals keep the factual values
of non-descendants and give back the factual world under do(factual value), and bad interventions are
one-line QueryErrors naming the variable."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import Tensor

from lightning_causal.errors import NotTrainedError, QueryError
from lightning_causal.mechanisms import MechanismConfig
from lightning_causal.models.dcm import DCMMechanisms, queries
from tests.models.dcm.common import MIXED, MIXED_VARS, mixed_batch

# MIXED: a (2-d) -> b (3 classes), a -> c (1-d), b -> d (3-d), c -> d, c -> e (binary)
N = 40


@pytest.fixture
def mechanisms(tiny_mechanisms: dict[str, Any]) -> DCMMechanisms:
    torch.manual_seed(0)
    net = DCMMechanisms(MIXED, MIXED_VARS, MechanismConfig.of(tiny_mechanisms))
    net.observe(mixed_batch(64, seed=1))  # the root a is resampled from these rows
    return net


def _rng(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _one_line_query_error(make: Any, *fragments: str) -> str:
    with pytest.raises(QueryError) as err:
        make()
    message = str(err.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def test_samples_hold_every_node_in_its_type_on_the_cpu(mechanisms: DCMMechanisms) -> None:
    out = queries.sample(mechanisms, N, rng=_rng(0))
    assert set(out) == set(MIXED.nodes)
    assert out["a"].shape == (N, 2) and out["c"].shape == (N, 1) and out["d"].shape == (N, 3)
    assert out["b"].shape == (N,) and out["b"].dtype == torch.int64 and bool((out["b"] < 3).all())
    assert out["e"].shape == (N,) and set(out["e"].tolist()) <= {0, 1}
    assert all(v.device.type == "cpu" for v in out.values())
    kept = {tuple(row) for row in mechanisms.rows.store["a"].tolist()}
    assert {tuple(row) for row in out["a"].tolist()} <= kept  # the root is drawn from the kept rows


def test_sampling_is_reproducible_from_the_generator(mechanisms: DCMMechanisms) -> None:
    a = queries.sample(mechanisms, N, rng=_rng(3))
    b = queries.sample(mechanisms, N, rng=_rng(3))
    c = queries.sample(mechanisms, N, rng=_rng(4))
    assert all(torch.equal(a[m], b[m]) for m in MIXED.nodes)
    assert not torch.equal(a["d"], c["d"])


def test_intervened_nodes_take_the_given_values(mechanisms: DCMMechanisms) -> None:
    per_row = torch.arange(N * 3, dtype=torch.float32).reshape(N, 3)
    out = queries.sample(mechanisms, N, {"a": [2.0, -1.0], "b": 2, "c": 0.5, "d": per_row}, rng=_rng(0))
    assert torch.equal(out["a"], torch.tensor([2.0, -1.0]).expand(N, 2))
    assert torch.equal(out["b"], torch.full((N,), 2))
    assert torch.equal(out["c"], torch.full((N, 1), 0.5))
    assert torch.equal(out["d"], per_row)


def test_intervening_on_the_root_needs_no_kept_rows(tiny_mechanisms: dict[str, Any]) -> None:
    fresh = DCMMechanisms(MIXED, MIXED_VARS, MechanismConfig.of(tiny_mechanisms))
    with pytest.raises(NotTrainedError, match="root 'a' has no training rows"):
        queries.sample(fresh, 4, rng=_rng(0))
    out = queries.sample(fresh, 4, {"a": [0.0, 1.0]}, rng=_rng(0))
    assert out["d"].shape == (4, 3)


def test_the_parents_value_reaches_the_child(mechanisms: DCMMechanisms) -> None:
    # the same draws for every node, only c's value differs: b (not c's descendant) is unchanged, d | b, c moves
    low = queries.sample(mechanisms, N, {"a": [0.0, 0.0], "c": -3.0}, rng=_rng(5))
    high = queries.sample(mechanisms, N, {"a": [0.0, 0.0], "c": 3.0}, rng=_rng(5))
    assert torch.equal(low["b"], high["b"])  # b is not c's descendant
    assert not torch.equal(low["d"], high["d"])


@pytest.mark.parametrize("node,shift", [("c", lambda v: v + 1.0), ("b", lambda v: (v + 1) % 3)])
def test_a_shift_intervention_applies_to_what_the_mechanism_produces(
    mechanisms: DCMMechanisms, node: str, shift: Any
) -> None:
    plain = queries.sample(mechanisms, N, rng=_rng(7))
    shifted = queries.sample(mechanisms, N, {node: shift}, rng=_rng(7))
    assert torch.equal(shifted[node], shift(plain[node]))
    # the other nodes of its level and above are drawn as without the shift; its child d follows the new value
    for other in ("a", "b", "c"):
        if other != node:
            assert torch.equal(shifted[other], plain[other]), other
    assert not torch.equal(shifted["d"], plain["d"])


def test_parse_interventions_splits_hard_values_from_shifts(mechanisms: DCMMechanisms) -> None:
    def twice(v: Tensor) -> Tensor:
        return v * 2

    hard, shift = queries.parse_interventions(mechanisms, {"a": 1.0, "b": [0, 1, 2], "c": twice}, 3)
    assert set(hard) == {"a", "b"} and shift == {"c": twice}
    assert torch.equal(hard["a"], torch.ones(3, 2)) and torch.equal(hard["b"], torch.tensor([0, 1, 2]))
    assert queries.parse_interventions(mechanisms, None, 3) == ({}, {})


def _factual(n: int = 12) -> dict[str, Tensor]:
    return mixed_batch(n, seed=4)


def test_counterfactual_non_descendants_keep_their_factual_values(mechanisms: DCMMechanisms) -> None:
    factual = _factual()
    on_c = queries.counterfactual(mechanisms, factual, {"c": 2.5}, rng=_rng(0))
    for name in ("a", "b"):  # not descendants of c
        assert torch.equal(on_c[name], factual[name]), name
    assert torch.equal(on_c["c"], torch.full((12, 1), 2.5))
    assert not torch.equal(on_c["d"], factual["d"])
    on_b = queries.counterfactual(mechanisms, factual, {"b": (factual["b"] + 1) % 3}, rng=_rng(0))
    for name in ("a", "c", "e"):  # not descendants of b
        assert torch.equal(on_b[name], factual[name]), name
    assert torch.equal(on_b["b"], (factual["b"] + 1) % 3)


def test_a_counterfactual_shift_on_a_leaf_adds_to_its_factual_value_only(mechanisms: DCMMechanisms) -> None:
    factual = _factual()
    out = queries.counterfactual(mechanisms, factual, {"d": lambda v: v + 1.0}, rng=_rng(0))
    assert torch.equal(out["d"], factual["d"] + 1.0)
    for name in ("a", "b", "c", "e"):
        assert torch.equal(out[name], factual[name]), name


def test_do_of_the_factual_value_gives_back_the_factual_world(mechanisms: DCMMechanisms) -> None:
    factual = _factual()
    out = queries.counterfactual(mechanisms, factual, {"c": factual["c"]}, rng=_rng(0))
    # d and e are abducted and decoded under the same parents: e exactly (Gumbel posterior), d up to inversion
    assert torch.equal(out["e"], factual["e"])
    torch.testing.assert_close(out["d"], factual["d"], atol=1e-3, rtol=0)
    assert torch.equal(out["a"], factual["a"]) and torch.equal(out["b"], factual["b"])


def test_counterfactual_values_are_on_the_cpu_in_their_types(mechanisms: DCMMechanisms) -> None:
    factual = _factual()
    factual["c"] = factual["c"][:, 0]  # a one-dimensional variable may come as (n,)
    out = queries.counterfactual(mechanisms, factual, {"a": [0.0, 0.0]}, rng=_rng(0))
    assert out["c"].shape == (12, 1) and out["b"].dtype == torch.int64 and out["d"].shape == (12, 3)
    assert all(v.device.type == "cpu" for v in out.values())


@pytest.mark.parametrize(
    "interventions,fragments",
    [
        ({"zz": 1.0}, ("unknown variable 'zz' in interventions", "the graph has a, ")),
        ({"b": 3}, ("intervention on b is out of range", "codes 0..2")),
        ({"b": 1.5}, ("intervention on b must be a class code 0..2",)),
        ({"d": [1.0, 2.0]}, ("intervention on d has shape (2,)", "a vector of 3 values")),
        ({"c": float("nan")}, ("intervention on c holds NaN",)),
        ({"c": lambda v: 1.0}, ("the shift intervention on c must return a tensor of shape (5, 1)",)),
        ({"d": lambda v: v[:, :2]}, ("the shift intervention on d", "got (5, 2)")),
    ],
)
def test_a_bad_intervention_on_sampling_names_the_variable(
    mechanisms: DCMMechanisms, interventions: dict[str, Any], fragments: tuple[str, ...]
) -> None:
    _one_line_query_error(lambda: queries.sample(mechanisms, 5, interventions, rng=_rng(0)), *fragments)


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_a_bad_number_of_samples_is_refused(mechanisms: DCMMechanisms, n: Any) -> None:
    _one_line_query_error(lambda: queries.sample(mechanisms, n), "the number of samples must be a whole number >= 1")


def test_a_bad_number_of_steps_is_refused(mechanisms: DCMMechanisms) -> None:
    _one_line_query_error(lambda: queries.sample(mechanisms, 3, steps=0), "the number of DDIM steps")


def test_bad_counterfactual_queries_name_the_variable(mechanisms: DCMMechanisms) -> None:
    factual = _factual(4)
    _one_line_query_error(
        lambda: queries.counterfactual(mechanisms, factual, {}), "a counterfactual needs at least one intervention"
    )
    _one_line_query_error(
        lambda: queries.counterfactual(mechanisms, {k: v for k, v in factual.items() if k != "c"}, {"a": 0.0}),
        "the factual values lack variable 'c'",
    )
    short = {**factual, "d": factual["d"][:3]}
    _one_line_query_error(
        lambda: queries.counterfactual(mechanisms, short, {"a": 0.0}), "factual 'd' has 3 rows, but 'a' has 4"
    )
    broken = {**factual, "c": torch.tensor([[0.0], [float("nan")], [1.0], [2.0]])}
    _one_line_query_error(lambda: queries.counterfactual(mechanisms, broken, {"a": 0.0}), "factual 'c' holds NaN")
    _one_line_query_error(
        lambda: queries.counterfactual(mechanisms, factual, {"e": 2}), "intervention on e is out of range"
    )
    _one_line_query_error(
        lambda: queries.counterfactual(mechanisms, factual, {"zz": 0.0}), "unknown variable 'zz' in interventions"
    )


def test_roots_of_one_sample_come_from_one_training_row(tiny_mechanisms: dict[str, Any]) -> None:
    from lightning_causal.graph import CausalGraph
    from lightning_causal.variables.spec import VariableSpec

    # age and smoking years: two roots of the graph, strongly correlated in the data
    graph = CausalGraph([("age", "risk"), ("years", "risk"), ("smoker", "risk")])
    specs = {
        "age": VariableSpec("age", "continuous"),
        "years": VariableSpec("years", "continuous"),
        "smoker": VariableSpec("smoker", "binary"),
        "risk": VariableSpec("risk", "continuous"),
    }
    net = DCMMechanisms(graph, specs, MechanismConfig.of(tiny_mechanisms))
    g = _rng(0)
    age = 40 + 10 * torch.randn(500, 1, generator=g)
    years = (age - 20) * 0.8 + torch.randn(500, 1, generator=g)
    smoker = (age[:, 0] > 45).long()
    net.observe({"age": age, "years": years, "smoker": smoker, "risk": torch.zeros(500, 1)})
    data = torch.corrcoef(torch.cat([age, years], 1).T)[0, 1]
    out = queries.sample(net, 4000, rng=_rng(1))
    drawn = torch.corrcoef(torch.cat([out["age"], out["years"]], 1).T)[0, 1]
    assert data > 0.99 and abs(float(drawn - data)) < 0.01  # independent draws would give about 0
    assert torch.equal(out["smoker"], (out["age"][:, 0] > 45).long())  # a discrete root too
    fixed = queries.sample(net, 500, {"age": 70.0}, rng=_rng(2))  # an intervened root: the others still joint
    assert torch.equal(fixed["smoker"] == 1, torch.isin(fixed["years"][:, 0], years[smoker == 1, 0]))
