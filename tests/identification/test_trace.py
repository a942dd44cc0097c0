"""The ID recursion traced line by line (``identification/trace.py``).

Which lines of Shpitser & Pearl's ID fire, with which sets, on the textbook graphs (back-door,
front-door, napkin, Verma), where line 5 fails on the bow and the instrumental graph, Tian's
reduced conditionals checked numerically against full conditionals of a brute-force joint, and
IDC's rule-2 moves checked against networkx d-separation. Every expected trace was derived by hand
from the algorithm's definition.
"""

from __future__ import annotations

import itertools
import random

import networkx as nx
import numpy as np
import pytest

from lightning_causal import CausalGraph
from lightning_causal.graph.bitgraph import BitGraph
from lightning_causal.graph.named import NamedGraph
from lightning_causal.identification.trace import IdFailure, IdStep, id_trace, idc_moves, reduced_conditionals
from lightning_causal.scm.random_graphs import random_admg


def _trace(graph: CausalGraph, treatment: list[str], outcome: list[str]) -> tuple[IdStep, BitGraph]:
    core = graph.core
    return id_trace(core, core.mask(outcome), core.mask(treatment)), core


def _names(core: BitGraph, mask: int) -> set[str]:
    return set(core.names_of(mask))


def _factors(core: BitGraph, step: IdStep) -> dict[str, set[str]]:
    return {core.names[i]: _names(core, cond) for i, cond in step.factors}


def _preorder(step: IdStep) -> list[IdStep]:
    """Reference traversal: the step, then its child, then its parts in order (recursively)."""
    out = [step]
    if step.child is not None:
        out += _preorder(step.child)
    for _, part in step.parts:
        out += _preorder(part)
    return out


# ---------------------------------------------------------------------------- textbook graphs
def test_backdoor_splits_into_two_c_factors_at_line_4(named_graphs: dict[str, NamedGraph]) -> None:
    trace, core = _trace(named_graphs["backdoor"].graph, ["X"], ["Y"])
    assert [s.line for s in trace.walk()] == [4, 2, 1, 6]
    assert trace.line == 4 and _names(core, trace.v) == {"Z", "X", "Y"}
    assert [_names(core, s_i) for s_i, _ in trace.parts] == [{"Z"}, {"Y"}]
    (_, z_part), (_, y_part) = trace.parts
    # ID({Z}, {X, Y}): An(Z) = {Z}, so line 2 keeps Z alone and line 1 returns P(Z)
    assert z_part.line == 2 and _names(core, z_part.keep) == {"Z"}
    assert z_part.child is not None and z_part.child.line == 1
    assert z_part.child.x == 0 and _names(core, z_part.child.v) == {"Z"}
    # ID({Y}, {Z, X}): {Y} is a c-component of G, line 6 gives P(Y | Z, X)
    assert y_part.line == 6 and _names(core, y_part.x) == {"Z", "X"} and _names(core, y_part.s) == {"Y"}
    assert _factors(core, y_part) == {"Y": {"Z", "X"}}


def test_frontdoor_takes_line_7_into_the_confounded_c_component(named_graphs: dict[str, NamedGraph]) -> None:
    trace, core = _trace(named_graphs["frontdoor"].graph, ["X"], ["Y"])
    assert [s.line for s in trace.walk()] == [4, 2, 6, 7, 2, 1]
    assert [_names(core, s_i) for s_i, _ in trace.parts] == [{"Z"}, {"Y"}]
    (_, z_part), (_, y_part) = trace.parts
    assert z_part.line == 2 and _names(core, z_part.keep) == {"X", "Z"}
    z_six = z_part.child
    assert z_six is not None and z_six.line == 6 and _factors(core, z_six) == {"Z": {"X"}}
    assert y_part.line == 7
    assert _names(core, y_part.s) == {"Y"} and _names(core, y_part.s_prime) == {"X", "Y"}
    assert _factors(core, y_part) == {"X": set(), "Y": {"X", "Z"}}
    child = y_part.child
    assert child is not None and child.line == 2
    assert _names(core, child.x) == {"X"} and _names(core, child.v) == {"X", "Y"} and _names(core, child.keep) == {"Y"}


def test_napkin_adds_w1_w2_at_line_3_then_takes_line_7(napkin: CausalGraph) -> None:
    trace, core = _trace(napkin, ["X"], ["Y"])
    assert [s.line for s in trace.walk()] == [3, 7, 2, 6]
    assert _names(core, trace.w) == {"W1", "W2"}
    seven = trace.child
    assert seven is not None and _names(core, seven.x) == {"W1", "W2", "X"}
    assert _names(core, seven.s) == {"Y"} and _names(core, seven.s_prime) == {"W1", "X", "Y"}
    assert _factors(core, seven) == {"W1": set(), "X": {"W1", "W2"}, "Y": {"W1", "W2", "X"}}
    two = seven.child
    assert two is not None and _names(core, two.x) == {"W1", "X"} and _names(core, two.v) == {"W1", "X", "Y"}
    assert _names(core, two.keep) == {"X", "Y"}
    six = two.child
    assert six is not None and _names(core, six.x) == {"X"} and _factors(core, six) == {"Y": {"X"}}


def test_verma_trace_ends_in_line_1_inside_the_c_component_of_v4(named_graphs: dict[str, NamedGraph]) -> None:
    trace, core = _trace(named_graphs["verma"].graph, ["V3"], ["V4"])
    assert [s.line for s in trace.walk()] == [3, 7, 2, 1]
    assert _names(core, trace.w) == {"V1", "V2"}
    seven = trace.child
    assert seven is not None and _names(core, seven.s_prime) == {"V2", "V4"}
    assert _factors(core, seven) == {"V2": {"V1"}, "V4": {"V1", "V2", "V3"}}
    last = seven.child.child  # type: ignore[union-attr]
    assert last is not None and last.line == 1 and last.x == 0 and _names(core, last.v) == {"V4"}


def test_bow_fails_at_line_5_in_the_first_call(named_graphs: dict[str, NamedGraph]) -> None:
    core = named_graphs["bow"].graph.core
    with pytest.raises(IdFailure) as info:
        id_trace(core, core.mask(["Y"]), core.mask(["X"]))
    failure = info.value
    assert _names(core, failure.y) == {"Y"} and _names(core, failure.x) == {"X"}
    assert _names(core, failure.v) == {"X", "Y"} and _names(core, failure.s) == {"Y"}


def test_instrumental_fails_at_line_5_after_line_7_drops_the_instrument(named_graphs: dict[str, NamedGraph]) -> None:
    """Line 3 adds Z to x, line 7 recurses into G[{X, Y}], which is the bow: line 5 fires there."""
    core = named_graphs["instrumental"].graph.core
    with pytest.raises(IdFailure) as info:
        id_trace(core, core.mask(["Y"]), core.mask(["X"]))
    failure = info.value
    assert _names(core, failure.v) == {"X", "Y"}  # a recursive call, not the whole graph {Z, X, Y}
    assert _names(core, failure.x) == {"X"} and _names(core, failure.s) == {"Y"}


def test_line_1_when_nothing_is_intervened(named_graphs: dict[str, NamedGraph]) -> None:
    core = named_graphs["frontdoor"].graph.core
    step = id_trace(core, core.mask(["Y"]), 0)
    assert step.line == 1 and step.v == core.all and step.child is None and step.parts == ()


def test_line_2_drops_the_descendants_of_the_outcome() -> None:
    core = CausalGraph(directed=[("X", "Y"), ("Y", "W")]).core
    step = id_trace(core, core.mask(["Y"]), core.mask(["X"]))
    assert [s.line for s in step.walk()] == [2, 6]
    assert _names(core, step.keep) == {"X", "Y"}
    assert step.child is not None and _names(core, step.child.v) == {"X", "Y"}
    assert _factors(core, step.child) == {"Y": {"X"}}


def test_an_explicit_vertex_set_restricts_the_recursion_to_the_induced_subgraph(
    named_graphs: dict[str, NamedGraph],
) -> None:
    """In G[{X, Y}] of the front-door there is no directed edge, so Y's ancestors are just {Y}."""
    core = named_graphs["frontdoor"].graph.core
    v = core.mask(["X", "Y"])
    step = id_trace(core, core.mask(["Y"]), core.mask(["X"]), v)
    assert step.v == v and [s.line for s in step.walk()] == [2, 1]
    assert _names(core, step.keep) == {"Y"}


def test_walk_visits_every_step_once_depth_first(named_graphs: dict[str, NamedGraph]) -> None:
    for name in ("backdoor", "frontdoor", "napkin", "verma", "conditional"):
        g = named_graphs[name]
        trace, _ = _trace(g.graph, list(g.treatment), list(g.outcome))
        walked = list(trace.walk())
        assert [id(s) for s in walked] == [id(s) for s in _preorder(trace)]
        assert len({id(s) for s in walked}) == len(walked)


def test_every_step_is_a_call_on_an_induced_subgraph_with_x_and_y_inside_v() -> None:
    rng = random.Random(11)
    seen_lines: set[int] = set()
    for _ in range(60):
        graph = random_admg(rng.randint(3, 7), rng, p_directed=0.4, p_bidirected=0.3)
        core = graph.core
        names = list(graph.nodes)
        x = core.mask(rng.sample(names, 1))
        y = core.mask(rng.sample([n for n in names if not core.mask([n]) & x], 1))
        try:
            trace = id_trace(core, y, x)
        except IdFailure as failure:
            assert failure.s == failure.v & ~failure.x and failure.y & ~failure.v == 0
            continue
        for step in trace.walk():
            seen_lines.add(step.line)
            assert step.y & ~step.v == 0 and step.x & ~step.v == 0 and step.y & step.x == 0
            if step.line == 2:
                assert step.keep & ~step.v == 0 and step.keep != step.v
            if step.line == 7:
                assert step.s & ~step.s_prime == 0 and step.s != step.s_prime and step.s_prime != step.v
    assert seen_lines == {1, 2, 3, 4, 6, 7}


# ---------------------------------------------------------------------------- Tian's lemma
def _networkx_reduced(graph: CausalGraph, target: str, within: set[str]) -> set[str]:
    """(T_i cup Pa(T_i)) cap prefix minus V_i, with T_i the c-component of G[prefix] holding V_i."""
    order = [n for n in graph.topological_order() if n in within]
    prefix = order[: order.index(target) + 1]
    conf = nx.Graph()
    conf.add_nodes_from(prefix)
    conf.add_edges_from((a, b) for a, b in graph.bidirected if a in prefix and b in prefix)
    component = nx.node_connected_component(conf, target)
    parents = {u for u, v in graph.directed if v in component}
    return ((component | parents) & set(prefix)) - {target}


def test_reduced_conditionals_match_a_networkx_computation() -> None:
    rng = random.Random(5)
    for _ in range(40):
        graph = random_admg(rng.randint(2, 8), rng, p_directed=0.4, p_bidirected=0.35)
        core = graph.core
        v_names = set(rng.sample(list(graph.nodes), rng.randint(1, len(graph))))
        v = core.mask(v_names)
        got = {core.names[i]: _names(core, cond) for i, cond in reduced_conditionals(core, v, v)}
        assert got == {t: _networkx_reduced(graph, t, v_names) for t in v_names}


def _random_joint(graph: CausalGraph, seed: int) -> np.ndarray:
    """P(V) of a binary SCM with one binary latent per bidirected edge, by summing over every configuration."""
    rng = np.random.default_rng(seed)
    nodes = list(graph.topological_order())
    latents = list(graph.bidirected)
    prior = [rng.dirichlet([1.0, 1.0]) for _ in latents]
    parents = {v: [u for u, w in graph.directed if w == v] for v in nodes}
    own = {v: [k for k, e in enumerate(latents) if v in e] for v in nodes}
    cpt = {v: rng.dirichlet([0.7, 0.7], size=2 ** (len(parents[v]) + len(own[v]))) for v in nodes}
    joint = np.zeros([2] * len(nodes))
    for u in itertools.product(range(2), repeat=len(latents)):
        pu = float(np.prod([prior[k][u[k]] for k in range(len(latents))]))
        for values in itertools.product(range(2), repeat=len(nodes)):
            val = dict(zip(nodes, values, strict=True))
            p = pu
            for v in nodes:
                bits = [val[q] for q in parents[v]] + [u[k] for k in own[v]]
                p *= cpt[v][int("".join(map(str, bits)) or "0", 2)][val[v]]
            joint[values] += p
    return joint


def test_reduced_conditionals_equal_the_full_conditionals_numerically(napkin: CausalGraph) -> None:
    """Tian & Pearl (2002): P(v_i | v_pi^(i-1)) = P(v_i | reduced set), on brute-force joints with latents."""
    graphs = [napkin, CausalGraph(directed=[("A", "B"), ("B", "C"), ("C", "D")], bidirected=[("A", "C"), ("B", "D")])]
    rng = random.Random(2)
    graphs += [random_admg(5, rng, p_directed=0.5, p_bidirected=0.4) for _ in range(4)]
    for k, graph in enumerate(graphs):
        core = graph.core
        nodes = list(graph.topological_order())
        assert nodes == list(core.names)
        joint = _random_joint(graph, seed=k)
        for i, cond in reduced_conditionals(core, core.all, core.all):
            before = joint.sum(axis=tuple(range(i + 1, len(nodes))))  # P(v_0 .. v_i)
            full = before / before.sum(axis=-1, keepdims=True)  # P(v_i | v_0 .. v_{i-1})
            drop = tuple(j for j in range(i) if not (cond >> j) & 1)
            marg = before.sum(axis=drop, keepdims=True)
            reduced = marg / marg.sum(axis=-1, keepdims=True)
            np.testing.assert_allclose(np.broadcast_to(reduced, full.shape), full, atol=1e-10)


# ---------------------------------------------------------------------------- IDC's rule 2
def _rule_2_holds(graph: CausalGraph, y: set[str], z: str, x: set[str], rest: set[str]) -> bool:
    """(Y indep Z | X, rest) in G_{bar X, underline Z}, with explicit latents, by networkx."""
    dag = nx.DiGraph()
    dag.add_nodes_from(graph.nodes)
    dag.add_edges_from((a, b) for a, b in graph.directed if b not in x and a != z)
    for k, (a, b) in enumerate(graph.bidirected):
        u = f"_U{k}"
        dag.add_node(u)
        dag.add_edges_from((u, end) for end in (a, b) if end not in x)
    return nx.is_d_separator(dag, y, {z}, x | rest)


def test_idc_moves_a_condition_that_only_a_back_door_through_x_connects() -> None:
    graph = CausalGraph(directed=[("X", "Z"), ("Z", "Y"), ("X", "Y")], bidirected=[("X", "Z")])
    core = graph.core
    x, z, moved = idc_moves(core, core.mask(["Y"]), core.mask(["X"]), core.mask(["Z"]))
    assert _names(core, x) == {"X", "Z"} and z == 0 and [core.names[i] for i in moved] == ["Z"]


def test_idc_keeps_a_descendant_of_the_outcome(named_graphs: dict[str, NamedGraph]) -> None:
    core = named_graphs["conditional"].graph.core
    x0, z0 = core.mask(["X"]), core.mask(["Z"])
    assert idc_moves(core, core.mask(["Y"]), x0, z0) == (x0, z0, ())


def test_idc_moves_every_independent_cause_of_the_outcome() -> None:
    core = CausalGraph(directed=[("X", "Y"), ("Z1", "Y"), ("Z2", "Y")]).core
    x, z, moved = idc_moves(core, core.mask(["Y"]), core.mask(["X"]), core.mask(["Z1", "Z2"]))
    assert _names(core, x) == {"X", "Z1", "Z2"} and z == 0
    assert sorted(core.names[i] for i in moved) == ["Z1", "Z2"]


def test_idc_moves_agree_with_networkx_d_separation() -> None:
    """Each move satisfies rule 2 when it is made; no condition left behind satisfies it at the end."""
    rng = random.Random(8)
    moved_some = kept_some = 0
    for _ in range(80):
        graph = random_admg(rng.randint(3, 7), rng, p_directed=0.45, p_bidirected=0.3)
        core = graph.core
        names = list(graph.nodes)
        rng.shuffle(names)
        x_names, y_names, z_names = {names[0]}, {names[1]}, set(names[2 : 2 + rng.randint(1, 2)])
        x, z, moved = idc_moves(core, core.mask(y_names), core.mask(x_names), core.mask(z_names))
        treat, cond = set(x_names), set(z_names)
        for i in moved:
            name = core.names[i]
            assert name in cond
            assert _rule_2_holds(graph, y_names, name, treat, cond - {name})
            treat.add(name)
            cond.discard(name)
        assert _names(core, x) == treat and _names(core, z) == cond
        for name in cond:
            assert not _rule_2_holds(graph, y_names, name, treat, cond - {name})
        moved_some += bool(moved)
        kept_some += bool(cond)
    assert moved_some >= 10 and kept_some >= 10
