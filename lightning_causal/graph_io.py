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
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning_causal.errors import GraphError

if TYPE_CHECKING:
    from lightning_causal.graph import CausalGraph

__all__ = [
    "atomic_write",
    "graph_from_dict",
    "graph_to_dot",
    "graph_to_yaml",
    "load_graph",
    "load_graph_spec",
    "save_graph",
]

_KEYS = ("nodes", "directed", "bidirected", "variables")


def _parse_edge(item: Any, kind: str, source: str, position: int) -> tuple[Any, Any]:
    arrow = "->" if kind == "directed" else "<->"
    if isinstance(item, str):
        if kind == "directed" and "<->" in item:
            raise GraphError(f"{source}: directed edge {position} is {item!r}; move it under 'bidirected'")
        parts = [p.strip() for p in item.split(arrow)]
        if len(parts) != 2 or not all(parts):
            raise GraphError(f"{source}: {kind} edge {position} is {item!r}; write it as 'A {arrow} B' or [A, B]")
        return parts[0], parts[1]
    if isinstance(item, list | tuple) and len(item) == 2:
        return item[0], item[1]
    raise GraphError(f"{source}: {kind} edge {position} is {item!r}; write it as [A, B] or 'A {arrow} B'")


def graph_from_dict(data: Mapping[str, Any], source: str = "graph") -> CausalGraph:
    """Build a :class:`CausalGraph` from ``{"nodes": ..., "directed": ..., "bidirected": ...}``."""
    from lightning_causal.graph import CausalGraph

    if not isinstance(data, Mapping):
        raise GraphError(f"{source}: expected a mapping with keys {', '.join(_KEYS)}, got {type(data).__name__}")
    unknown = [k for k in data if k not in _KEYS]
    if unknown:
        raise GraphError(f"{source}: unknown key {unknown[0]!r}; a graph has the keys {', '.join(_KEYS)}")
    edges: dict[str, list[tuple[Any, Any]]] = {}
    for kind in ("directed", "bidirected"):
        raw = data.get(kind) or []
        if not isinstance(raw, list):
            raise GraphError(f"{source}: '{kind}' must be a list of edges, got {type(raw).__name__}")
        edges[kind] = [_parse_edge(item, kind, source, i) for i, item in enumerate(raw)]
    nodes = data.get("nodes")
    if nodes is not None and not isinstance(nodes, list):
        raise GraphError(f"{source}: 'nodes' must be a list of names, got {type(nodes).__name__}")
    variables = data.get("variables")
    if variables is not None and not isinstance(variables, Mapping):
        raise GraphError(f"{source}: 'variables' must map node names to types, got {type(variables).__name__}")
    try:
        graph = CausalGraph(directed=edges["directed"], bidirected=edges["bidirected"], nodes=nodes)
    except GraphError as err:
        if source == "graph":
            raise
        raise GraphError(f"{source}: {err}") from None
    for name in variables or {}:
        if name not in graph:
            raise GraphError(f"{source}: 'variables' names {name!r}, which no edge or 'nodes' entry declares")
    return graph


def load_graph_spec(path: str | Path) -> tuple[CausalGraph, dict[str, Any]]:
    """A graph file with its optional ``variables`` section (node name -> type, see ``variables.py``)."""
    graph = load_graph(path)
    data = _read_mapping(Path(path))
    return graph, dict(data.get("variables") or {})


def load_graph(path: str | Path) -> CausalGraph:
    """Read a graph from a YAML (``.yaml``/``.yml``) or JSON (``.json``) file."""
    path = Path(path)
    return graph_from_dict(_read_mapping(path), source=str(path))


def _read_mapping(path: Path) -> Any:
    if not path.is_file():
        raise GraphError(f"graph file {str(path)!r} does not exist")
    text = path.read_text()
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


def atomic_write(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename: never half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


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
    if suffix == ".png":
        return graph.draw(path)
    raise GraphError(f"cannot save a graph as {str(path)!r}: use .yaml, .yml, .json, .dot or .png")
