"""Random acyclic directed mixed graphs (``scm/random_graphs.py``).

Names and order, acyclicity by construction, the edge probabilities and the locality window are
checked against counts worked out by hand (complete and empty graphs, binomial edge counts), seeds
must reproduce graphs, and the default edge probabilities are checked against the docstring's
promise: on average ``expected_parents`` parents and ``expected_confounders`` bidirected edges
per node.
"""

from __future__ import annotations

import math
import random

import pytest

from lightning_causal import CausalGraph
from lightning_causal.scm.random_graphs import random_admg


def _index(name: str, prefix: str = "V") -> int:
    return int(name[len(prefix) :])


def _signature(graph: CausalGraph) -> tuple[object, ...]:
    return graph.nodes, graph.directed, graph.bidirected


def test_nodes_are_named_in_topological_order() -> None:
    graph = random_admg(12, seed=0, p_directed=0.5, p_bidirected=0.3)
    assert graph.nodes == tuple(f"V{i}" for i in range(12))
    assert graph.topological_order() == graph.nodes
    other = random_admg(3, seed=0, prefix="X_")
    assert other.nodes == ("X_0", "X_1", "X_2")


def test_every_edge_points_forward_in_the_order() -> None:
    rng = random.Random(1)
    for _ in range(20):
        graph = random_admg(rng.randint(2, 15), rng, p_directed=rng.random(), p_bidirected=rng.random())
        assert all(_index(u) < _index(v) for u, v in graph.directed)
        assert all(_index(u) < _index(v) for u, v in graph.bidirected)


def test_probability_one_gives_every_pair_and_zero_gives_none() -> None:
    full = random_admg(7, seed=3, p_directed=1.0, p_bidirected=1.0)
    assert len(full.directed) == len(full.bidirected) == 7 * 6 // 2
    empty = random_admg(7, seed=3, p_directed=0.0, p_bidirected=0.0)
    assert empty.directed == () and empty.bidirected == () and len(empty) == 7


def test_a_single_node_graph() -> None:
    graph = random_admg(1, seed=0)
    assert graph.nodes == ("V0",) and graph.directed == () and graph.bidirected == ()


def test_the_window_limits_how_far_apart_the_ends_of_an_edge_are() -> None:
    n, w = 12, 3
    full = random_admg(n, seed=0, p_directed=1.0, p_bidirected=1.0, window=w)
    expected = sum(min(j, w) for j in range(n))  # node j has min(j, w) earlier neighbours in reach
    assert len(full.directed) == len(full.bidirected) == expected
    sparse = random_admg(40, seed=2, p_directed=0.5, p_bidirected=0.5, window=w)
    assert all(_index(v) - _index(u) <= w for u, v in sparse.directed + sparse.bidirected)


def test_edge_counts_follow_the_given_probabilities() -> None:
    n, p, q = 60, 0.1, 0.05
    pairs = n * (n - 1) // 2
    for seed in range(3):
        graph = random_admg(n, seed=seed, p_directed=p, p_bidirected=q)
        assert abs(len(graph.directed) - pairs * p) < 5 * math.sqrt(pairs * p * (1 - p))
        assert abs(len(graph.bidirected) - pairs * q) < 5 * math.sqrt(pairs * q * (1 - q))


def test_large_expected_counts_saturate_at_probability_one() -> None:
    graph = random_admg(5, seed=0, expected_parents=10.0, expected_confounders=10.0)
    assert len(graph.directed) == len(graph.bidirected) == 10


def test_the_same_seed_gives_the_same_graph() -> None:
    assert _signature(random_admg(15, seed=42)) == _signature(random_admg(15, seed=42))
    assert _signature(random_admg(15, seed=random.Random(42))) == _signature(random_admg(15, seed=42))
    assert _signature(random_admg(15, seed=42)) != _signature(random_admg(15, seed=43))


def test_a_random_generator_is_advanced_so_consecutive_graphs_differ() -> None:
    rng = random.Random(9)
    first, second = random_admg(15, rng), random_admg(15, rng)
    assert _signature(first) != _signature(second)


# ---------------------------------------------------------------------------- the default probabilities
def _mean_parents(graphs: list[CausalGraph]) -> float:
    return sum(len(g.directed) for g in graphs) / sum(len(g) for g in graphs)


def _mean_confounders(graphs: list[CausalGraph]) -> float:
    """Bidirected edges per node: each edge touches two nodes."""
    return sum(2 * len(g.bidirected) for g in graphs) / sum(len(g) for g in graphs)


def test_default_confounders_per_node_without_a_window() -> None:
    graphs = [random_admg(300, seed=s) for s in range(4)]
    assert _mean_confounders(graphs) == pytest.approx(1.0, abs=0.15)


def test_default_parents_per_node_with_a_window() -> None:
    graphs = [random_admg(400, seed=s, window=10, expected_parents=2.0) for s in range(2)]
    assert _mean_parents(graphs) == pytest.approx(2.0, abs=0.15)


def test_default_parents_per_node_without_a_window() -> None:
    graphs = [random_admg(300, seed=s, expected_parents=2.0) for s in range(4)]
    assert _mean_parents(graphs) == pytest.approx(2.0, abs=0.15)


def test_default_confounders_per_node_with_a_window() -> None:
    graphs = [random_admg(400, seed=s, window=10, expected_confounders=1.0) for s in range(2)]
    assert _mean_confounders(graphs) == pytest.approx(1.0, abs=0.15)
