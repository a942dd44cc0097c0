"""Hedges (``identification/hedge.py``): the certificate that P_x(y) is not identifiable.

The forests found on small textbook graphs are compared with hedges worked out by hand; every
hedge found is validated against Definition 4 of Shpitser & Pearl (2006) with ``tests/checks.py``'s
``assert_hedge``; and on random small graphs, "no hedge" must agree with an exhaustive search
written here over every candidate pair of node sets F' subset F and root set R.
"""

from __future__ import annotations

import dataclasses
import itertools
import random

import networkx as nx
import pytest

from lightning_causal import CausalGraph
from lightning_causal.graph.named import NamedGraph
from lightning_causal.identification.hedge import CForest, Hedge, find_hedge
from lightning_causal.scm.random_graphs import random_admg
from tests.checks import an_do, assert_hedge


def _find(graph: CausalGraph, treatment: list[str], outcome: list[str]) -> Hedge | None:
    core = graph.core
    return find_hedge(core, core.mask(outcome), core.mask(treatment))


# ---------------------------------------------------------------------------- exhaustive search
def _one_c_component(graph: CausalGraph, nodes: set[str]) -> bool:
    conf = nx.Graph()
    conf.add_nodes_from(nodes)
    conf.add_edges_from((a, b) for a, b in graph.bidirected if a in nodes and b in nodes)
    return nx.is_connected(conf)


def _all_reach(graph: CausalGraph, nodes: set[str], roots: set[str]) -> bool:
    """Every node of ``nodes`` has a directed path inside G[nodes] to ``roots`` (so a forest rooted there exists)."""
    sub = graph.dag.subgraph(nodes)
    reached = set(roots)
    for r in roots:
        reached |= nx.ancestors(sub, r)
    return reached == nodes


def _some_hedge_exists(graph: CausalGraph, treatment: list[str], outcome: list[str]) -> bool:
    """Definition 4, exhaustively: R subset F' subset F, both R-rooted c-forests, F meets X, F' does not."""
    x = set(treatment)
    allowed_roots = an_do(graph, treatment, outcome)
    nodes = list(graph.nodes)
    for k in range(2, len(nodes) + 1):
        for f in map(set, itertools.combinations(nodes, k)):
            if not f & x or not _one_c_component(graph, f):
                continue
            outside_x = sorted(f - x)
            for k2 in range(1, len(outside_x) + 1):
                for fp in map(set, itertools.combinations(outside_x, k2)):
                    if not _one_c_component(graph, fp):
                        continue
                    for k3 in range(1, len(fp) + 1):
                        for r in map(set, itertools.combinations(sorted(fp), k3)):
                            if r <= allowed_roots and _all_reach(graph, fp, r) and _all_reach(graph, f, r):
                                return True
    return False


# ---------------------------------------------------------------------------- textbook hedges
def test_the_bow_is_its_own_hedge(named_graphs: dict[str, NamedGraph]) -> None:
    graph = named_graphs["bow"].graph
    hedge = _find(graph, ["X"], ["Y"])
    assert hedge is not None
    f = CForest(nodes=("X", "Y"), directed=(("X", "Y"),), bidirected=(("X", "Y"),))
    f_prime = CForest(nodes=("Y",), directed=(), bidirected=())
    assert (hedge.F, hedge.F_prime) == (f, f_prime)
    assert hedge.roots == ("Y",) and hedge.treatment == ("X",) and hedge.outcome == ("Y",)
    assert str(hedge) == "F = {X, Y} (X -> Y; X <-> Y), F' = {Y} (no edges), roots R = {Y}"
    assert_hedge(graph, hedge, ["X"], ["Y"])


def test_the_instrument_is_not_part_of_the_hedge(named_graphs: dict[str, NamedGraph]) -> None:
    graph = named_graphs["instrumental"].graph
    hedge = _find(graph, ["X"], ["Y"])
    assert hedge is not None
    assert set(hedge.F.nodes) == {"X", "Y"} and hedge.F_prime.nodes == ("Y",)
    assert_hedge(graph, hedge, ["X"], ["Y"])


def test_a_descendant_of_y_in_the_same_c_component_is_left_out() -> None:
    """X -> Y -> W, X <-> Y <-> W: the c-component {X, Y, W} shrinks to An(Y) = {X, Y} before the hedge."""
    graph = CausalGraph(directed=[("X", "Y"), ("Y", "W")], bidirected=[("X", "Y"), ("Y", "W")])
    hedge = _find(graph, ["X"], ["Y"])
    assert hedge is not None
    assert set(hedge.F.nodes) == {"X", "Y"} and hedge.F_prime.nodes == ("Y",)
    assert_hedge(graph, hedge, ["X"], ["Y"])


def test_a_hedge_with_two_roots() -> None:
    graph = CausalGraph(directed=[("X", "Y1"), ("X", "Y2")], bidirected=[("X", "Y1"), ("Y1", "Y2")])
    hedge = _find(graph, ["X"], ["Y1", "Y2"])
    assert hedge is not None
    assert set(hedge.roots) == {"Y1", "Y2"} and set(hedge.F.roots) == {"Y1", "Y2"}
    assert set(hedge.F_prime.nodes) == {"Y1", "Y2"} and hedge.F_prime.directed == ()
    assert {frozenset(e) for e in hedge.F_prime.bidirected} == {frozenset({"Y1", "Y2"})}
    assert set(hedge.F.nodes) == {"X", "Y1", "Y2"} and len(hedge.F.directed) == 1
    assert_hedge(graph, hedge, ["X"], ["Y1", "Y2"])


def test_the_deep_graph_query_is_blocked_by_a_hedge(named_graphs: dict[str, NamedGraph]) -> None:
    g = named_graphs["deep"]
    hedge = _find(g.graph, list(g.treatment), list(g.outcome))
    assert hedge is not None
    assert_hedge(g.graph, hedge, g.treatment, g.outcome)


@pytest.mark.parametrize("name", ["backdoor", "frontdoor", "napkin", "verma"])
def test_identifiable_textbook_queries_have_no_hedge(name: str, named_graphs: dict[str, NamedGraph]) -> None:
    g = named_graphs[name]
    assert _find(g.graph, list(g.treatment), list(g.outcome)) is None
    assert not _some_hedge_exists(g.graph, list(g.treatment), list(g.outcome))


# ---------------------------------------------------------------------------- random graphs
def test_find_hedge_agrees_with_an_exhaustive_search_on_random_graphs() -> None:
    rng = random.Random(3)
    verdicts = {"hedge": 0, "none": 0}
    for _ in range(150):
        n = rng.randint(2, 5)
        graph = random_admg(n, rng, p_directed=rng.uniform(0.2, 0.7), p_bidirected=rng.uniform(0.1, 0.6))
        names = list(graph.nodes)
        treatment = rng.sample(names, rng.randint(1, min(2, n - 1)))
        rest = [v for v in names if v not in treatment]
        outcome = rng.sample(rest, rng.randint(1, min(2, len(rest))))
        hedge = _find(graph, treatment, outcome)
        exists = _some_hedge_exists(graph, treatment, outcome)
        assert (hedge is not None) == exists, (graph, treatment, outcome)
        if hedge is not None:
            assert set(hedge.treatment) == set(treatment) and set(hedge.outcome) == set(outcome)
            assert_hedge(graph, hedge, treatment, outcome)
            verdicts["hedge"] += 1
        else:
            verdicts["none"] += 1
    assert verdicts["hedge"] >= 20 and verdicts["none"] >= 20, verdicts


# ---------------------------------------------------------------------------- the dataclasses
def test_c_forest_roots_are_the_nodes_without_a_child() -> None:
    forest = CForest(nodes=("A", "B", "C", "D"), directed=(("A", "C"), ("B", "C")), bidirected=(("A", "B"),))
    assert forest.roots == ("C", "D")
    assert str(forest) == "{A, B, C, D} (A -> C; B -> C; A <-> B)"
    assert str(CForest(nodes=("A",), directed=(), bidirected=())) == "{A} (no edges)"


def test_hedge_roots_and_text_come_from_its_forests() -> None:
    f = CForest(nodes=("X", "M", "Y"), directed=(("X", "M"), ("M", "Y")), bidirected=(("X", "Y"), ("M", "Y")))
    fp = CForest(nodes=("M", "Y"), directed=(("M", "Y"),), bidirected=(("M", "Y"),))
    hedge = Hedge(F=f, F_prime=fp, treatment=("X",), outcome=("Y",))
    assert hedge.roots == ("Y",)
    assert (
        str(hedge) == "F = {X, M, Y} (X -> M; M -> Y; X <-> Y; M <-> Y), F' = {M, Y} (M -> Y; M <-> Y), roots R = {Y}"
    )


def test_forests_and_hedges_are_immutable() -> None:
    forest = CForest(nodes=("A",), directed=(), bidirected=())
    with pytest.raises(dataclasses.FrozenInstanceError):
        forest.nodes = ("B",)  # type: ignore[misc]
    hedge = Hedge(F=forest, F_prime=forest, treatment=(), outcome=())
    with pytest.raises(dataclasses.FrozenInstanceError):
        hedge.treatment = ("A",)  # type: ignore[misc]
