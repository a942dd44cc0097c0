"""Graph files: YAML/JSON round trips, string edges, DOT export, one-line errors for bad files."""

from __future__ import annotations

import json

import pytest

from lightning_causal import CausalGraph, GraphError
from lightning_causal.graph import graph_to_dot, load_graph, save_graph


def test_yaml_json_roundtrip_and_string_edges(tmp_path, napkin: CausalGraph) -> None:  # type: ignore[no-untyped-def]
    for suffix in (".yaml", ".json"):
        path = save_graph(napkin, tmp_path / f"napkin{suffix}")
        assert load_graph(path) == napkin
    (tmp_path / "g.yaml").write_text(
        "directed:\n  - A -> B\n  - [B, C]\nbidirected:\n  - A <-> C\nnodes: [A, B, C, D]\n"
    )
    g = load_graph(tmp_path / "g.yaml")
    assert g.directed == (("A", "B"), ("B", "C")) and g.bidirected == (("A", "C"),) and "D" in g
    assert json.loads(napkin.to_json())["bidirected"] == [["W1", "X"], ["W1", "Y"]]


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


def test_missing_file_and_unknown_suffix(tmp_path, napkin: CausalGraph) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GraphError, match="does not exist"):
        load_graph(tmp_path / "nope.yaml")
    (tmp_path / "g.txt").write_text("x")
    with pytest.raises(GraphError, match="unknown suffix"):
        load_graph(tmp_path / "g.txt")
    with pytest.raises(GraphError, match="cannot save"):
        save_graph(napkin, tmp_path / "g.xml")


def test_dot_export_marks_confounders(napkin: CausalGraph) -> None:
    dot = graph_to_dot(napkin)
    assert '"W1" -> "W2";' in dot
    assert '"W1" -> "X" [dir=both, style=dashed, constraint=false];' in dot
    assert dot.startswith('digraph "G" {') and dot.rstrip().endswith("}")
