"""CausalGraph: validation, queries, surgery and m-separation."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from lightning_causal import CausalGraph, GraphError
from lightning_causal.scm.random_graphs import random_admg


def test_nodes_default_to_edge_order_and_isolated_nodes_come_from_nodes() -> None:
    g = CausalGraph(directed=[("B", "A")], bidirected=[("A", "C")])
    assert g.nodes == ("B", "A", "C")
    h = CausalGraph(directed=[("A", "B")], nodes=["Z", "A", "B"])
    assert h.nodes == ("Z", "A", "B") and h.parents("Z") == () and len(h) == 3


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (
            {"directed": [("A", "B"), ("B", "C"), ("C", "A")]},
            r"directed cycle (A -> B -> C -> A|B -> C -> A -> B|C -> A -> B -> C)",
        ),
        ({"directed": [("A", "A")]}, "self-loop A -> A"),
        ({"directed": [("A", "B")], "nodes": ["A"]}, "names unknown node 'B'"),
        ({"directed": [("A", "B"), ("A", "B")]}, "duplicate directed edge A -> B"),
        ({"bidirected": [("A", "B"), ("B", "A")]}, "duplicate bidirected edge B <-> A"),
        ({"bidirected": [("A", "A")]}, "bidirected self-loop A <-> A"),
        ({"directed": [("A", 3)]}, "must be strings, got 3"),
        ({"directed": [("A", "")]}, "must be non-empty"),
        ({"directed": [("A", "B", "C")]}, "exactly two ends"),
        ({"nodes": ["A", "A"]}, "listed twice"),
        ({"nodes": "AB"}, "list of names"),
    ],
)
def test_bad_graphs_get_one_clear_error(kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(GraphError, match=message) as err:
        CausalGraph(**kwargs)
    assert "\n" not in str(err.value)


def test_queries_on_the_napkin(napkin: CausalGraph) -> None:
    g = napkin
    assert g.parents("X") == ("W2",)
    assert g.children("W1") == ("W2",)
    assert g.spouses("W1") == ("X", "Y")
    assert g.ancestors("X") == {"W1", "W2", "X"}
    assert g.ancestors(["Y"]) == set(g.nodes)
    assert g.descendants("W2") == {"W2", "X", "Y"}
    assert g.proper_descendants("W2") == ("X", "Y") and g.proper_descendants("Y") == ()
    declared = CausalGraph(directed=[("a", "c"), ("a", "b")], nodes=["c", "a", "b"])
    assert declared.proper_descendants("a") == ("c", "b")  # declaration order
    assert g.topological_order() == ("W1", "W2", "X", "Y")
    assert set(g.c_components()) == {frozenset({"W1", "X", "Y"}), frozenset({"W2"})}
    assert g.district("Y") == {"W1", "X", "Y"}
    with pytest.raises(GraphError, match="unknown node 'Q'"):
        g.parents("Q")


def test_surgery_returns_new_graphs_and_leaves_the_original(napkin: CausalGraph) -> None:
    g = napkin
    cut = g.do("X")
    assert ("W2", "X") not in cut.directed and all("X" not in e for e in cut.bidirected)
    assert ("X", "Y") in cut.directed and ("W1", "Y") in cut.bidirected
    out = g.cut_outgoing("W2")
    assert ("W2", "X") not in out.directed and ("W1", "W2") in out.directed
    sub = g.subgraph(["W1", "X", "Y"])
    assert sub.nodes == ("W1", "X", "Y") and sub.directed == (("X", "Y"),) and len(sub.bidirected) == 2
    assert g.remove_nodes("W2") == sub
    assert g == napkin and ("W2", "X") in g.directed  # unchanged
    assert hash(g.do("X")) == hash(cut) and g.do("X") == cut


def _explicit_latent_dag(g: CausalGraph) -> nx.DiGraph:
    dag = nx.DiGraph(g.dag)
    for k, (a, b) in enumerate(g.bidirected):
        dag.add_edge(f"_U{k}", a)
        dag.add_edge(f"_U{k}", b)
    return dag


def test_m_separation_agrees_with_networkx_on_explicit_latents() -> None:
    rng = random.Random(3)
    checked = 0
    for _ in range(150):
        g = random_admg(rng.randint(3, 8), rng, p_directed=rng.uniform(0.1, 0.6), p_bidirected=rng.uniform(0.0, 0.4))
        dag = _explicit_latent_dag(g)
        names = list(g.nodes)
        rng.shuffle(names)
        x, y = names[0], names[1]
        given = [v for v in names[2:] if rng.random() < 0.4]
        assert g.d_separated(x, y, given) == nx.is_d_separator(dag, {x}, {y}, set(given))
        checked += 1
    assert checked == 150
