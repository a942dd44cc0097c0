"""BitGraph, the bitset kernel of identification, against networkx: bit helpers, masks, ancestors (also with
edges cut), descendants, c-components and m-separation in G_{bar X, underline Z}, on hand-made and seeded random
graphs."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest

from lightning_causal.graph.bitgraph import BitGraph, iter_bits, popcount

Edges = list[tuple[str, str]]


def _random_admg(rng: np.random.Generator, n: int, p_dir: float, p_bi: float) -> tuple[list[str], Edges, Edges]:
    """Nodes N0..N{n-1} in a topological order, each forward pair with a directed / bidirected edge at random."""
    names = [f"N{i}" for i in range(n)]
    directed = [(names[i], names[j]) for i, j in itertools.combinations(range(n), 2) if rng.random() < p_dir]
    bidirected = [(names[i], names[j]) for i, j in itertools.combinations(range(n), 2) if rng.random() < p_bi]
    return names, directed, bidirected


def _random_cases(seed: int, count: int) -> list[tuple[list[str], Edges, Edges]]:
    rng = np.random.default_rng(seed)
    return [
        _random_admg(rng, int(rng.integers(2, 9)), float(rng.uniform(0.1, 0.7)), float(rng.uniform(0.0, 0.5)))
        for _ in range(count)
    ]


def _subset(rng: np.random.Generator, names: list[str], p: float) -> set[str]:
    return {v for v in names if rng.random() < p}


# the napkin and a graph whose topological order differs from the order the names are written in
NAPKIN = (["W1", "W2", "X", "Y"], [("W1", "W2"), ("W2", "X"), ("X", "Y")], [("W1", "X"), ("W1", "Y")])
SHUFFLED = (["c", "a", "d", "b"], [("c", "a"), ("c", "d"), ("a", "b"), ("d", "b")], [("a", "d")])


# --------------------------------------------------------------------------------------------------- bit helpers
@pytest.mark.parametrize("mask", [0, 1, 2, 0b1011, 0b1000_0000, 2**70 + 5, (1 << 200) - 1])
def test_iter_bits_and_popcount_match_the_binary_digits(mask: int) -> None:
    digits = bin(mask)[2:][::-1]
    expected = [i for i, d in enumerate(digits) if d == "1"]
    assert list(iter_bits(mask)) == expected
    assert popcount(mask) == len(expected) == digits.count("1")


def test_iter_bits_on_random_masks_rebuilds_the_mask() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        mask = int(rng.integers(0, 2**62))
        bits = list(iter_bits(mask))
        assert bits == sorted(bits)
        assert sum(1 << i for i in bits) == mask


# ------------------------------------------------------------------------------------------------ construction
def test_the_napkin_by_hand() -> None:
    g = BitGraph(*NAPKIN)
    assert g.names == ("W1", "W2", "X", "Y") and g.n == 4 and g.all == 0b1111
    assert g.index == {"W1": 0, "W2": 1, "X": 2, "Y": 3}
    assert g.pa == [0b0000, 0b0001, 0b0010, 0b0100]
    assert g.ch == [0b0010, 0b0100, 0b1000, 0b0000]
    assert g.bi == [0b1100, 0b0000, 0b0001, 0b0001]


def test_mask_and_names_of_round_trip_in_topological_order() -> None:
    g = BitGraph(*SHUFFLED)
    assert g.mask([]) == 0
    assert g.mask(["b", "c"]) == 0b1001
    assert g.names_of(g.mask(["b", "a", "c"])) == ("c", "a", "b")
    for r in range(5):
        for subset in itertools.combinations(g.names, r):
            assert g.names_of(g.mask(subset)) == tuple(v for v in g.names if v in subset)


def test_an_unknown_name_is_a_key_error() -> None:
    g = BitGraph(*NAPKIN)
    with pytest.raises(KeyError):
        g.mask(["Q"])
    with pytest.raises(KeyError):
        BitGraph(["A"], [("A", "B")], [])


def test_parents_children_and_spouses_match_the_edge_lists() -> None:
    for names, directed, bidirected in _random_cases(seed=1, count=30):
        g = BitGraph(names, directed, bidirected)
        for v in names:
            i = g.index[v]
            assert set(g.names_of(g.pa[i])) == {a for a, b in directed if b == v}
            assert set(g.names_of(g.ch[i])) == {b for a, b in directed if a == v}
            assert set(g.names_of(g.bi[i])) == {a for a, b in bidirected if b == v} | {
                b for a, b in bidirected if a == v
            }


# ------------------------------------------------------------------------------------------------ ancestral sets
def _dag(names: list[str], directed: Edges, within: set[str], cut: set[str] = frozenset()) -> nx.DiGraph:  # type: ignore[assignment]
    """G[within] with every directed edge into ``cut`` removed."""
    dag = nx.DiGraph()
    dag.add_nodes_from(v for v in names if v in within)
    dag.add_edges_from((a, b) for a, b in directed if a in within and b in within and b not in cut)
    return dag


def test_ancestors_and_descendants_on_the_napkin_by_hand() -> None:
    g = BitGraph(*NAPKIN)
    m = g.mask
    assert g.names_of(g.ancestors(m(["X"]), g.all)) == ("W1", "W2", "X")
    assert g.names_of(g.ancestors(m(["Y"]), m(["W1", "X", "Y"]))) == ("X", "Y")  # W2 is outside: the chain breaks
    assert g.names_of(g.descendants(m(["W2"]), g.all)) == ("W2", "X", "Y")
    assert g.names_of(g.ancestors_cut(m(["Y"]), g.all, m(["X"]))) == ("X", "Y")
    assert g.ancestors(0, g.all) == 0 and g.descendants(0, g.all) == 0


def test_ancestors_and_descendants_match_networkx_on_random_subgraphs() -> None:
    rng = np.random.default_rng(2)
    for names, directed, bidirected in _random_cases(seed=3, count=60):
        g = BitGraph(names, directed, bidirected)
        within = _subset(rng, names, 0.8) or {names[-1]}
        targets = _subset(rng, sorted(within), 0.3) or {sorted(within)[0]}
        dag = _dag(names, directed, within)
        expected_an = set(targets).union(*(nx.ancestors(dag, t) for t in targets))
        expected_de = set(targets).union(*(nx.descendants(dag, t) for t in targets))
        assert set(g.names_of(g.ancestors(g.mask(targets), g.mask(within)))) == expected_an
        assert set(g.names_of(g.descendants(g.mask(targets), g.mask(within)))) == expected_de


def test_ancestors_with_edges_into_a_cut_removed_match_networkx() -> None:
    rng = np.random.default_rng(4)
    for names, directed, bidirected in _random_cases(seed=5, count=60):
        g = BitGraph(names, directed, bidirected)
        within = _subset(rng, names, 0.85) or set(names)
        targets = _subset(rng, sorted(within), 0.3) or {sorted(within)[-1]}
        cut = _subset(rng, names, 0.3)
        dag = _dag(names, directed, within, cut)
        expected = set(targets).union(*(nx.ancestors(dag, t) for t in targets))
        got = g.ancestors_cut(g.mask(targets), g.mask(within), g.mask(cut))
        assert set(g.names_of(got)) == expected
        if not cut:
            assert got == g.ancestors(g.mask(targets), g.mask(within))


# --------------------------------------------------------------------------------------------------- c-components
def _districts(names: list[str], bidirected: Edges, within: set[str]) -> list[set[str]]:
    conf = nx.Graph()
    conf.add_nodes_from(v for v in names if v in within)
    conf.add_edges_from((a, b) for a, b in bidirected if a in within and b in within)
    return [set(c) for c in nx.connected_components(conf)]


def test_components_on_the_napkin_by_hand() -> None:
    g = BitGraph(*NAPKIN)
    assert [g.names_of(c) for c in g.components(g.all)] == [("W1", "X", "Y"), ("W2",)]
    assert [g.names_of(c) for c in g.components(g.mask(["X", "Y", "W2"]))] == [("W2",), ("X",), ("Y",)]
    assert g.names_of(g.component_of(g.mask(["Y"]), g.all)) == ("W1", "X", "Y")
    assert g.components(0) == []


def test_components_match_networkx_and_are_ordered_by_their_first_node() -> None:
    rng = np.random.default_rng(6)
    for names, directed, bidirected in _random_cases(seed=7, count=60):
        g = BitGraph(names, directed, bidirected)
        within = _subset(rng, names, 0.8) or set(names)
        got = [set(g.names_of(c)) for c in g.components(g.mask(within))]
        expected = _districts(names, bidirected, within)
        assert sorted(map(sorted, got)) == sorted(map(sorted, expected))
        firsts = [min(g.index[v] for v in c) for c in got]
        assert firsts == sorted(firsts)
        seed = _subset(rng, sorted(within), 0.3)
        union = set().union(*(c for c in expected if c & seed))
        assert set(g.names_of(g.component_of(g.mask(seed), g.mask(within)))) == union


# -------------------------------------------------------------------------------------------------- m-separation
def _latent_dag(names: list[str], directed: Edges, bidirected: Edges, cut_into: set[str], cut_out_of: set[str]):  # type: ignore[no-untyped-def]
    """G_{bar cut_into, underline cut_out_of} with every bidirected edge as an explicit latent parent."""
    dag = nx.DiGraph()
    dag.add_nodes_from(names)
    dag.add_edges_from((a, b) for a, b in directed if b not in cut_into and a not in cut_out_of)
    for k, (a, b) in enumerate(bidirected):
        if a not in cut_into and b not in cut_into:
            dag.add_edge(f"_U{k}", a)
            dag.add_edge(f"_U{k}", b)
    return dag


def test_m_separation_on_the_napkin_by_hand() -> None:
    g = BitGraph(*NAPKIN)
    m = g.mask
    assert not g.d_separated(m(["W2"]), m(["Y"]), 0)  # W2 -> X -> Y
    assert not g.d_separated(m(["W2"]), m(["Y"]), m(["X", "W1"]))  # W2 -> X <-> W1 <-> Y: both colliders given
    assert not g.d_separated(m(["W2"]), m(["Y"]), m(["X"]))  # W2 <- W1 <-> Y stays open
    assert g.d_separated(m(["W2"]), m(["Y"]), m(["W1"]), cut_into=m(["X"]))  # G_{bar X}: W2 <- W1 <-> Y, blocked
    assert not g.d_separated(m(["W2"]), m(["Y"]), 0, cut_into=m(["X"]))  # ... and open when W1 is not given
    assert g.d_separated(m(["W1"]), m(["X"]), 0, cut_into=m(["X"]))  # X keeps only X -> Y: W1 <-> Y <- X closed
    assert not g.d_separated(m(["X"]), m(["Y"]), m(["W1"]), cut_out_of=m(["X"]))  # X <-> W1 <-> Y, W1 given
    assert not g.d_separated(m(["X"]), m(["Y"]), 0, cut_out_of=m(["X"]))  # X <- W2 <- W1 <-> Y
    assert g.d_separated(m(["X"]), m(["Y"]), m(["W2"]), cut_out_of=m(["X"]), cut_into=m(["W1"]))  # only X <- W2


def test_m_separation_matches_networkx_on_random_graphs() -> None:
    rng = np.random.default_rng(8)
    checked = 0
    for names, directed, bidirected in _random_cases(seed=9, count=80):
        if len(names) < 3:
            continue
        g = BitGraph(names, directed, bidirected)
        dag = _latent_dag(names, directed, bidirected, set(), set())
        order = list(rng.permutation(names))
        xs, ys = {order[0]}, set(order[1 : 1 + int(rng.integers(1, 3))])
        given = _subset(rng, order[1 + len(ys) :], 0.5)
        assert g.d_separated(g.mask(xs), g.mask(ys), g.mask(given)) == nx.is_d_separator(dag, xs, ys, given)
        checked += 1
    assert checked > 50


def test_m_separation_in_the_do_calculus_graphs_matches_networkx() -> None:
    """Rule 2 and rule 3 tests: Y vs Z given X and W in G_{bar X, underline Z} and in G_{bar X, bar Z}."""
    rng = np.random.default_rng(10)
    checked = 0
    for names, directed, bidirected in _random_cases(seed=11, count=120):
        if len(names) < 3:
            continue
        g = BitGraph(names, directed, bidirected)
        order = list(rng.permutation(names))
        ys, zs = {order[0]}, {order[1]}
        rest = order[2:]
        xs = _subset(rng, rest, 0.4)
        ws = _subset(rng, [v for v in rest if v not in xs], 0.4)
        given = xs | ws
        m = g.mask
        rule2 = _latent_dag(names, directed, bidirected, cut_into=xs, cut_out_of=zs)
        assert g.d_separated(m(ys), m(zs), m(given), cut_into=m(xs), cut_out_of=m(zs)) == nx.is_d_separator(
            rule2, ys, zs, given
        )
        rule3 = _latent_dag(names, directed, bidirected, cut_into=xs | zs, cut_out_of=set())
        assert g.d_separated(m(ys), m(zs), m(given), cut_into=m(xs | zs)) == nx.is_d_separator(rule3, ys, zs, given)
        checked += 1
    assert checked > 80


def test_cutting_edges_only_ever_separates_more() -> None:
    rng = np.random.default_rng(12)
    for names, directed, bidirected in _random_cases(seed=13, count=60):
        if len(names) < 3:
            continue
        g = BitGraph(names, directed, bidirected)
        order = list(rng.permutation(names))
        xs, ys, given = {order[0]}, {order[1]}, _subset(rng, order[2:], 0.4)
        cut = g.mask(_subset(rng, names, 0.3))
        if g.d_separated(g.mask(xs), g.mask(ys), g.mask(given)):
            # removing the edges into nodes that are not conditioned on cannot open a path
            assert g.d_separated(g.mask(xs), g.mask(ys), g.mask(given), cut_into=cut & ~g.mask(given))


def test_a_collider_cut_off_from_the_conditioning_set_by_cut_out_of_stays_closed() -> None:
    # x -> v <- y, v -> z -> w; in G_{underline z} v's only descendant is z, so conditioning on w leaves v closed
    names, directed = ["x", "y", "v", "z", "w"], [("x", "v"), ("y", "v"), ("v", "z"), ("z", "w")]
    assert nx.is_d_separator(_latent_dag(names, directed, [], set(), {"z"}), {"x"}, {"y"}, {"w"})  # the oracle
    g = BitGraph(names, directed, [])
    assert g.d_separated(g.mask(["x"]), g.mask(["y"]), g.mask(["w"]), cut_out_of=g.mask(["z"]))


@pytest.mark.parametrize(("anywhere", "seeds", "least"), [(False, (14, 15, 150), 80), (True, (21, 22, 200), 100)])
def test_m_separation_matches_networkx_on_random_graphs_with_cuts(
    anywhere: bool, seeds: tuple[int, int, int], least: int
) -> None:
    """Random cuts into and out of nodes; ``anywhere``: out of ancestors of the conditioning set too, else
    only out of the others."""
    rng = np.random.default_rng(seeds[0])
    checked = 0
    for names, directed, bidirected in _random_cases(seed=seeds[1], count=seeds[2]):
        if len(names) < 4:
            continue
        g = BitGraph(names, directed, bidirected)
        order = list(rng.permutation(names))
        xs, ys = {order[0]}, {order[1]}
        given = _subset(rng, order[2:], 0.4)
        cut_into = _subset(rng, names, 0.25)
        if anywhere:
            cut_out_of = _subset(rng, names, 0.3)
        else:
            full = _latent_dag(names, directed, bidirected, cut_into, set())
            anc_given = set(given).union(*(nx.ancestors(full, v) for v in given))
            cut_out_of = _subset(rng, [v for v in names if v not in anc_given], 0.3)
        dag = _latent_dag(names, directed, bidirected, cut_into, cut_out_of)
        m = g.mask
        got = g.d_separated(m(xs), m(ys), m(given), cut_into=m(cut_into), cut_out_of=m(cut_out_of))
        assert got == nx.is_d_separator(dag, xs, ys, given), (names, directed, bidirected, given, cut_out_of)
        checked += 1
    assert checked > least
