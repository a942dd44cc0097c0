"""The named graphs: lookup by name (an unknown name is one GraphError listing the choices), every graph is a
valid ADMG whose query fits it, and every edge a description spells out (``A -> B``, ``A <-> B``) is in the graph."""

from __future__ import annotations

import dataclasses
import re

import networkx as nx
import pytest

from lightning_causal import CausalGraph
from lightning_causal.errors import GraphError
from lightning_causal.graph.named import NAMED_GRAPHS, NamedGraph, named_graph

EXPECTED_NAMES = ["backdoor", "frontdoor", "instrumental", "bow", "napkin", "verma", "conditional", "deep"]


def _edges_in_text(text: str) -> tuple[set[tuple[str, str]], set[frozenset[str]]]:
    """The directed and bidirected edges written as chains like ``V1 -> V2 -> V3`` or ``X <-> Y`` in ``text``."""
    directed: set[tuple[str, str]] = set()
    bidirected: set[frozenset[str]] = set()
    for chain in re.finditer(r"\w+(?:\s*<?->\s*\w+)+", text):
        tokens = re.split(r"\s*(<->|->)\s*", chain.group(0))
        for a, arrow, b in zip(tokens[0::2], tokens[1::2], tokens[2::2], strict=False):
            if arrow == "->":
                directed.add((a, b))
            else:
                bidirected.add(frozenset((a, b)))
    return directed, bidirected


def test_the_edge_reader_reads_chains() -> None:
    directed, bidirected = _edges_in_text("instrument Z -> X -> Y with X <-> Y, and A<->B")
    assert directed == {("Z", "X"), ("X", "Y")}
    assert bidirected == {frozenset("XY"), frozenset("AB")}


def test_the_catalogue_holds_the_classic_graphs_under_their_own_names() -> None:
    assert list(NAMED_GRAPHS) == EXPECTED_NAMES
    for key, named in NAMED_GRAPHS.items():
        assert isinstance(named, NamedGraph) and named.name == key and named.description


def test_the_fixture_holds_the_same_catalogue(named_graphs: dict[str, NamedGraph]) -> None:
    assert named_graphs == NAMED_GRAPHS and named_graphs is not NAMED_GRAPHS


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_lookup_by_name_returns_the_catalogue_entry(name: str) -> None:
    assert named_graph(name) is NAMED_GRAPHS[name]


@pytest.mark.parametrize("name", ["Napkin", "front-door", "", "unknown"])
def test_an_unknown_name_is_one_graph_error_listing_the_choices(name: str) -> None:
    with pytest.raises(GraphError, match=rf"^no built-in graph named {re.escape(repr(name))}; choose one of ") as err:
        named_graph(name)
    message = str(err.value)
    assert "\n" not in message
    assert message.endswith(", ".join(EXPECTED_NAMES))
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no KeyError traceback behind it


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_every_graph_is_acyclic_and_holds_exactly_its_edges(name: str) -> None:
    named = NAMED_GRAPHS[name]
    graph = named.graph
    assert isinstance(graph, CausalGraph)
    dag = nx.DiGraph(named.directed)
    assert nx.is_directed_acyclic_graph(dag)
    assert set(graph.directed) == set(named.directed)
    assert {frozenset(e) for e in graph.bidirected} == {frozenset(e) for e in named.bidirected}
    endpoints = {v for edge in (*named.directed, *named.bidirected) for v in edge}
    assert set(graph.nodes) == endpoints


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_every_query_names_distinct_variables_of_its_graph(name: str) -> None:
    named = NAMED_GRAPHS[name]
    nodes = set(named.graph.nodes)
    roles = [named.treatment, named.outcome, named.condition]
    assert named.treatment and named.outcome
    for role in roles:
        assert set(role) <= nodes
    together = [v for role in roles for v in role]
    assert len(together) == len(set(together))


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_every_edge_a_description_spells_out_is_in_the_graph(name: str) -> None:
    named = NAMED_GRAPHS[name]
    directed, bidirected = _edges_in_text(named.description)
    assert directed <= set(named.directed)
    assert bidirected <= {frozenset(e) for e in named.bidirected}


def test_the_descriptions_of_verma_and_the_bow_name_all_their_edges() -> None:
    for name in ("verma", "bow", "instrumental"):
        named = NAMED_GRAPHS[name]
        directed, bidirected = _edges_in_text(named.description)
        assert directed == set(named.directed), name
        assert bidirected == {frozenset(e) for e in named.bidirected}, name


def test_the_napkin_by_hand(napkin: CausalGraph) -> None:
    named = named_graph("napkin")
    assert named.graph == napkin
    assert napkin.parents("X") == ("W2",) and napkin.parents("W2") == ("W1",) and napkin.parents("Y") == ("X",)
    assert set(napkin.spouses("W1")) == {"X", "Y"}
    assert (named.treatment, named.outcome, named.condition) == (("X",), ("Y",), ())


def test_the_conditional_query_conditions_on_a_child_of_the_outcome() -> None:
    named = named_graph("conditional")
    assert named.condition == ("Z",)
    assert named.graph.parents("Z") == named.outcome


def test_the_backdoor_confounder_is_observed_and_the_frontdoor_one_latent() -> None:
    backdoor, frontdoor = named_graph("backdoor"), named_graph("frontdoor")
    assert backdoor.bidirected == () and {("Z", "X"), ("Z", "Y")} <= set(backdoor.directed)
    assert frontdoor.bidirected == (("X", "Y"),) and ("X", "Y") not in frontdoor.directed


def test_defaults_ask_for_the_effect_of_x_on_y() -> None:
    named = NamedGraph("tiny", "X -> Y", directed=(("X", "Y"),))
    assert (named.bidirected, named.treatment, named.outcome, named.condition) == ((), ("X",), ("Y",), ())
    assert named.graph.directed == (("X", "Y"),)


def test_a_named_graph_is_frozen_and_builds_an_equal_graph_each_time() -> None:
    named = named_graph("frontdoor")
    with pytest.raises(dataclasses.FrozenInstanceError):
        named.name = "other"  # type: ignore[misc]
    assert named.graph == named.graph
    assert hash(named) == hash(dataclasses.replace(named))
