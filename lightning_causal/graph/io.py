"""Reading and writing causal graphs: YAML, JSON and Graphviz DOT.

File format (YAML shown; JSON has the same keys)::

    nodes: [W1, W2, X, Y]      # optional; needed only for isolated nodes
    directed:                  # cause -> effect
      - [W1, W2]
      - W2 -> X                # the "A -> B" string form is accepted too
      - [X, Y]
    bidirected:                # latent confounders
      - [W1, X]
      - W1 <-> Y
    variables:                 # optional: the type of each variable (default continuous)
      W2: {type: categorical, classes: 3}
      Y: binary
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightning_causal.errors import GraphError
from lightning_causal.figures import FIGURE_SUFFIXES
from lightning_causal.files import atomic_write
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.graph.drawing import draw_graph

__all__ = [
    "graph_to_dot",
    "graph_to_yaml",
    "load_graph",
    "load_graph_spec",
    "resolve_graph_spec",
    "save_graph",
]


def load_graph_spec(path: str | Path) -> tuple[CausalGraph, dict[str, Any]]:
    """A graph file with its optional ``variables`` section (node name -> type, see ``variables.py``)."""
    graph = load_graph(path)
    data = _read_mapping(Path(path))
    return graph, dict(data.get("variables") or {})


def resolve_graph_spec(graph: CausalGraph | str | Path | Mapping[str, Any]) -> tuple[CausalGraph, dict[str, Any]]:
    """A graph given as a :class:`CausalGraph`, a file path or its dict form, with its declared variables."""
    if isinstance(graph, CausalGraph):
        return graph, {}
    if isinstance(graph, str | Path):
        return load_graph_spec(graph)
    data = dict(graph)
    declared = dict(data.pop("variables", None) or {})
    return CausalGraph.from_dict(data), declared


def load_graph(path: str | Path) -> CausalGraph:
    """Read a graph from a YAML (``.yaml``/``.yml``) or JSON (``.json``) file."""
    path = Path(path)
    return CausalGraph.from_dict(_read_mapping(path), source=str(path))


def _read_mapping(path: Path) -> Any:
    if path.is_dir():
        raise GraphError(f"graph file {str(path)!r} is a folder; give a .yaml, .yml or .json file")
    if not path.is_file():
        raise GraphError(f"graph file {str(path)!r} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise GraphError(
            f"graph file {str(path)!r} is not UTF-8 text (byte {err.start}); save it as UTF-8 YAML or JSON"
        ) from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            data = json.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            raise GraphError(f"graph file {str(path)!r}: unknown suffix {suffix!r}; use .yaml, .yml or .json")
    except (json.JSONDecodeError, ValueError) as err:
        if isinstance(err, GraphError):
            raise
        raise GraphError(f"graph file {str(path)!r} is not valid {suffix[1:].upper()}: {err}") from None
    except Exception as err:  # yaml.YAMLError without importing yaml at module level
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise GraphError(f"graph file {str(path)!r} is not valid YAML: {first}") from None
    if data is None:
        raise GraphError(f"graph file {str(path)!r} is empty")
    return data


def graph_to_yaml(graph: CausalGraph) -> str:
    """YAML text, one edge per line in flow style."""
    import yaml

    def flow(pairs: list[list[str]]) -> str:
        if not pairs:
            return " []\n"
        return "\n" + "".join(f"  - {yaml.safe_dump(p, default_flow_style=True).strip()}\n" for p in pairs)

    d = graph.to_dict()
    return (
        f"nodes: {yaml.safe_dump(d['nodes'], default_flow_style=True).strip()}\n"
        f"directed:{flow(d['directed'])}"
        f"bidirected:{flow(d['bidirected'])}"
    )


def _dot_id(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def graph_to_dot(graph: CausalGraph, name: str = "G") -> str:
    """Graphviz DOT; bidirected edges dashed, two-headed and not used for ranking."""
    lines = [f"digraph {_dot_id(name)} {{", "  rankdir=TB;", "  node [shape=circle];"]
    lines += [f"  {_dot_id(n)};" for n in graph.nodes]
    lines += [f"  {_dot_id(u)} -> {_dot_id(v)};" for u, v in graph.directed]
    lines += [
        f"  {_dot_id(u)} -> {_dot_id(v)} [dir=both, style=dashed, constraint=false];" for u, v in graph.bidirected
    ]
    lines.append("}")
    return "\n".join(lines) + "\n"


def save_graph(graph: CausalGraph, path: str | Path) -> Path:
    """Write ``graph`` by suffix: ``.yaml``/``.yml``, ``.json``, ``.dot``/``.gv`` or ``.png``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return atomic_write(path, graph_to_yaml(graph))
    if suffix == ".json":
        return atomic_write(path, json.dumps(graph.to_dict(), indent=2) + "\n")
    if suffix in (".dot", ".gv"):
        return atomic_write(path, graph_to_dot(graph))
    if suffix in FIGURE_SUFFIXES:
        return draw_graph(graph, path)
    raise GraphError(f"cannot save a graph as {str(path)!r}: use .yaml, .yml, .json, .dot, .png, .pdf or .svg")
