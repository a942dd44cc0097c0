"""CausalGraph: validation, queries, surgery, m-separation and file formats."""

from __future__ import annotations

import json
import random

import networkx as nx
import pytest

from lightning_causal import CausalGraph, GraphError
from lightning_causal.graph import draw_graph, graph_to_dot, load_graph, save_graph
from lightning_causal.scm.random_graphs import random_admg

NAPKIN = CausalGraph(directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")], bidirected=[("W1", "X"), ("W1", "Y")])


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


def test_queries_on_the_napkin() -> None:
    g = NAPKIN
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


def test_surgery_returns_new_graphs_and_leaves_the_original() -> None:
    g = NAPKIN
    cut = g.do("X")
    assert ("W2", "X") not in cut.directed and all("X" not in e for e in cut.bidirected)
    assert ("X", "Y") in cut.directed and ("W1", "Y") in cut.bidirected
    out = g.cut_outgoing("W2")
    assert ("W2", "X") not in out.directed and ("W1", "W2") in out.directed
    sub = g.subgraph(["W1", "X", "Y"])
    assert sub.nodes == ("W1", "X", "Y") and sub.directed == (("X", "Y"),) and len(sub.bidirected) == 2
    assert g.remove_nodes("W2") == sub
    assert g == NAPKIN and ("W2", "X") in g.directed  # unchanged
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


def test_yaml_json_roundtrip_and_string_edges(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for suffix in (".yaml", ".json"):
        path = save_graph(NAPKIN, tmp_path / f"napkin{suffix}")
        assert load_graph(path) == NAPKIN
    (tmp_path / "g.yaml").write_text(
        "directed:\n  - A -> B\n  - [B, C]\nbidirected:\n  - A <-> C\nnodes: [A, B, C, D]\n"
    )
    g = load_graph(tmp_path / "g.yaml")
    assert g.directed == (("A", "B"), ("B", "C")) and g.bidirected == (("A", "C"),) and "D" in g
    assert json.loads(NAPKIN.to_json())["bidirected"] == [["W1", "X"], ["W1", "Y"]]


@pytest.mark.parametrize(
    "text,message",
    [
        ("directed: [[A, B]]\nedges: []\n", "unknown key 'edges'"),
        ("directed:\n  - A <-> B\n", "move it under 'bidirected'"),
        ("directed:\n  - A => B\n", "write it as 'A -> B'"),
        ("directed: [[A, B], [B, A]]\n", "directed cycle"),
        ("directed: [A, B\n", "not valid YAML"),
        ("", "is empty"),
        ("directed: 5\n", "must be a list"),
    ],
)
def test_bad_graph_files(tmp_path, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "g.yaml"
    path.write_text(text)
    with pytest.raises(GraphError, match=message) as err:
        load_graph(path)
    assert "g.yaml" in str(err.value)


def test_missing_file_and_unknown_suffix(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GraphError, match="does not exist"):
        load_graph(tmp_path / "nope.yaml")
    (tmp_path / "g.txt").write_text("x")
    with pytest.raises(GraphError, match="unknown suffix"):
        load_graph(tmp_path / "g.txt")
    with pytest.raises(GraphError, match="cannot save"):
        save_graph(NAPKIN, tmp_path / "g.xml")


def test_dot_export_marks_confounders() -> None:
    dot = graph_to_dot(NAPKIN)
    assert '"W1" -> "W2";' in dot
    assert '"W1" -> "X" [dir=both, style=dashed, constraint=false];' in dot
    assert dot.startswith('digraph "G" {') and dot.rstrip().endswith("}")


def test_draw_writes_a_png(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import matplotlib.image

    path = draw_graph(NAPKIN, tmp_path / "napkin.png", title="napkin")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100
    # some pixels are the dashed confounder colour (#c1121f)
    red = (image[..., 0] > 0.6) & (image[..., 1] < 0.2) & (image[..., 2] < 0.25)
    assert red.sum() > 20
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file left behind"
