"""DCMMechanisms: the bank set of a DAG's nodes refuses bidirected edges and nodes without a type in one
GraphError line, resamples its roots under roots="empirical" and models them under roots="model", and
its order, levels, parents and inputs are the graph's (checked here with networkx)."""

from __future__ import annotations

from typing import Any

import networkx as nx
import pytest
import torch

from lightning_causal import CausalGraph
from lightning_causal.errors import GraphError
from lightning_causal.graph.named import NamedGraph
from lightning_causal.mechanisms import ClassifierBank, DiffusionBank, MechanismConfig
from lightning_causal.models.dcm import DCMMechanisms
from lightning_causal.variables import VariableSpec
from tests.models.dcm.common import MIXED, MIXED_VARS, mixed_batch


def _config(tiny_mechanisms: dict[str, Any], **changes: Any) -> MechanismConfig:
    return MechanismConfig.of({**tiny_mechanisms, **changes})


def _dag(graph: CausalGraph) -> nx.DiGraph:
    dag = nx.DiGraph()
    dag.add_nodes_from(graph.nodes)
    dag.add_edges_from(graph.directed)
    return dag


def test_a_graph_with_a_bidirected_edge_is_refused_naming_the_edge(napkin: CausalGraph) -> None:
    variables = {n: VariableSpec(n, "continuous") for n in napkin.nodes}
    with pytest.raises(GraphError) as err:
        DCMMechanisms(napkin, variables)
    message = str(err.value)
    assert "\n" not in message
    assert "DCM assumes no latent confounders" in message and "use ID-GEN" in message
    named = [f"{u} <-> {v}" for u, v in napkin.bidirected]
    assert any(edge in message for edge in named), message


def test_a_node_without_a_variable_type_is_named() -> None:
    variables = {n: spec for n, spec in MIXED_VARS.items() if n != "d"}
    with pytest.raises(GraphError, match=r"no variable type for node 'd'; give one for every node") as err:
        DCMMechanisms(MIXED, variables)
    assert "\n" not in str(err.value)


def test_empirical_roots_are_resampled_and_the_other_nodes_are_trained(tiny_mechanisms: dict[str, Any]) -> None:
    mechanisms = DCMMechanisms(MIXED, MIXED_VARS, _config(tiny_mechanisms, roots="empirical"))
    assert mechanisms.resampled == ("a",)
    assert mechanisms.bank("a") is None
    assert set(mechanisms.trained) == {"b", "c", "d", "e"}
    # continuous nodes in the diffusion bank, discrete ones in the classifier bank, in that order
    assert isinstance(mechanisms.bank("c"), DiffusionBank) and isinstance(mechanisms.bank("d"), DiffusionBank)
    assert isinstance(mechanisms.bank("b"), ClassifierBank) and isinstance(mechanisms.bank("e"), ClassifierBank)
    assert mechanisms.trained[:2] == ["c", "d"] and set(mechanisms.trained[2:]) == {"b", "e"}
    assert mechanisms.loss_vector(mixed_batch(16), torch.Generator().manual_seed(0)).shape == (4,)


def test_model_roots_are_trained_like_every_other_node(tiny_mechanisms: dict[str, Any]) -> None:
    mechanisms = DCMMechanisms(MIXED, MIXED_VARS, _config(tiny_mechanisms, roots="model"))
    assert mechanisms.resampled == ()
    assert set(mechanisms.trained) == set(MIXED.nodes)
    assert isinstance(mechanisms.bank("a"), DiffusionBank)
    assert mechanisms.inputs["a"] == ()
    losses = mechanisms.loss_vector(mixed_batch(16), torch.Generator().manual_seed(0))
    assert losses.shape == (5,) and bool(torch.isfinite(losses).all())


def test_every_root_of_a_graph_with_several_is_resampled(tiny_mechanisms: dict[str, Any]) -> None:
    graph = CausalGraph(directed=[("r1", "y"), ("r2", "y"), ("r3", "z"), ("y", "z")])
    variables = {n: VariableSpec(n, "continuous") for n in graph.nodes}
    mechanisms = DCMMechanisms(graph, variables, _config(tiny_mechanisms))
    assert set(mechanisms.resampled) == {"r1", "r2", "r3"}
    assert mechanisms.trained == ["y", "z"]
    # the roots' rows are kept from the batches observed, jointly
    batch = {n: torch.arange(6.0).unsqueeze(1) * (k + 1) for k, n in enumerate(graph.nodes)}
    mechanisms.observe(batch)
    assert set(mechanisms.rows.store) == {"r1", "r2", "r3"}


def test_without_a_config_the_defaults_are_used() -> None:
    graph = CausalGraph(directed=[("x", "y")])
    mechanisms = DCMMechanisms(graph, {n: VariableSpec(n, "continuous") for n in graph.nodes})
    assert mechanisms.config == MechanismConfig()
    assert mechanisms.resampled == ("x",)


def test_order_levels_parents_and_inputs_are_the_graphs(
    named_graphs: dict[str, NamedGraph], tiny_mechanisms: dict[str, Any]
) -> None:
    graphs = [CausalGraph(directed=named.graph.directed, nodes=named.graph.nodes) for named in named_graphs.values()]
    graphs.append(MIXED)
    for graph in graphs:
        dag = _dag(graph)
        variables = {n: VariableSpec(n, "continuous") for n in graph.nodes}
        mechanisms = DCMMechanisms(graph, variables, _config(tiny_mechanisms))
        order = list(mechanisms.order)
        assert sorted(order) == sorted(graph.nodes)
        assert all(order.index(u) < order.index(v) for u, v in dag.edges), order
        assert mechanisms.entries == tuple(order) and mechanisms.layout.order == tuple(order)
        for node in graph.nodes:
            assert set(mechanisms.parents[node]) == set(dag.predecessors(node))
            assert mechanisms.inputs[node] == tuple(mechanisms.parents[node])
        # level k holds the nodes whose longest directed path from a root has k edges
        depth = {
            n: max((len(p) - 1 for r in graph.nodes for p in nx.all_simple_paths(dag, r, n)), default=0)
            for n in graph.nodes
        }
        assert [sorted(level) for level in mechanisms.levels] == [
            sorted(n for n in graph.nodes if depth[n] == k) for k in range(max(depth.values()) + 1)
        ]
        roots = {n for n in graph.nodes if dag.in_degree(n) == 0}
        assert set(mechanisms.resampled) == roots == set(mechanisms.levels[0])
        assert mechanisms.graph is graph


def test_mixed_levels_by_hand() -> None:
    mechanisms = DCMMechanisms(MIXED, MIXED_VARS, MechanismConfig(hidden=8, timesteps=10))
    assert [sorted(level) for level in mechanisms.levels] == [["a"], ["b", "c"], ["d", "e"]]
    assert mechanisms.parents == {"a": (), "b": ("a",), "c": ("a",), "d": ("b", "c"), "e": ("c",)}
