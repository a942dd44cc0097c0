"""CausalGraph: an immutable acyclic directed mixed graph (ADMG) over networkx.

Directed edges ``A -> B`` are direct causal effects; bidirected edges ``A <-> B`` stand for a
latent confounder of A and B (a semi-Markovian model, Shpitser & Pearl 2006). Every operation
returns a new graph; nothing mutates a graph in place.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx

from lightning_causal.errors import GraphError, listing
from lightning_causal.graph.bitgraph import BitGraph

__all__ = ["CausalGraph", "NodesLike"]

NodesLike = str | Iterable[str]


def _as_names(nodes: NodesLike, what: str) -> tuple[str, ...]:
    if isinstance(nodes, str):
        return (nodes,)
    try:
        names = tuple(nodes)
    except TypeError:
        raise GraphError(f"{what} must be a node name or a list of node names, got {nodes!r}") from None
    for name in names:
        if not isinstance(name, str):
            raise GraphError(f"{what} must hold node names (strings), got {name!r}")
    return names


def _check_name(name: object, where: str) -> str:
    if not isinstance(name, str):
        raise GraphError(f"node names must be strings, got {name!r} ({type(name).__name__}) in {where}; quote it")
    if not name.strip():
        raise GraphError(f"node names must be non-empty, got {name!r} in {where}")
    return name


def _check_pair(edge: object, kind: str) -> tuple[str, str]:
    arrow = "->" if kind == "directed" else "<->"
    if isinstance(edge, str) or not isinstance(edge, Iterable):
        raise GraphError(f"{kind} edge {edge!r} must be a pair (source, target), e.g. ('A', 'B')")
    pair = tuple(edge)
    if len(pair) != 2:
        raise GraphError(f"{kind} edge {edge!r} must have exactly two ends, e.g. ('A', 'B')")
    where = f"{kind} edge {pair[0]!r} {arrow} {pair[1]!r}"
    return _check_name(pair[0], where), _check_name(pair[1], where)


class CausalGraph:
    """An immutable acyclic directed mixed graph.

    Args:
        directed: ``(cause, effect)`` pairs.
        bidirected: ``(a, b)`` pairs, one per latent confounder of ``a`` and ``b``.
        nodes: all node names, in the order to report them. Defaults to the nodes the edges name,
            in order of first appearance; give it to add isolated nodes. When given, every edge
            must name nodes from it.

    Raises:
        GraphError: for a directed cycle (named), a self-loop, an edge to an unknown node, a
            duplicate edge, a bidirected self-loop, or a non-string or empty name.

    Example:
        >>> g = CausalGraph(directed=[("X", "Z"), ("Z", "Y")], bidirected=[("X", "Y")])
        >>> g.c_components()
        (frozenset({'X', 'Y'}), frozenset({'Z'}))
    """

    __slots__ = ("_bidirected", "_core", "_dag", "_directed", "_hash", "_nodes", "_order")

    def __init__(
        self,
        directed: Iterable[tuple[str, str]] = (),
        bidirected: Iterable[tuple[str, str]] = (),
        nodes: Iterable[str] | None = None,
    ) -> None:
        directed_edges = tuple(_check_pair(e, "directed") for e in directed)
        bidirected_edges = tuple(_check_pair(e, "bidirected") for e in bidirected)

        if nodes is not None:
            if isinstance(nodes, str):
                raise GraphError(f"nodes must be a list of names, got the string {nodes!r}")
            declared = tuple(_check_name(n, "nodes") for n in nodes)
            seen: set[str] = set()
            for name in declared:
                if name in seen:
                    raise GraphError(f"node {name!r} is listed twice in nodes")
                seen.add(name)
            for kind, arrow, edges in (
                ("directed", "->", directed_edges),
                ("bidirected", "<->", bidirected_edges),
            ):
                for u, v in edges:
                    for end in (u, v):
                        if end not in seen:
                            raise GraphError(
                                f"{kind} edge {u} {arrow} {v} names unknown node {end!r}; "
                                "add it to nodes or fix the edge"
                            )
            node_order = declared
        else:
            order: dict[str, None] = {}
            for u, v in directed_edges + bidirected_edges:
                order.setdefault(u)
                order.setdefault(v)
            node_order = tuple(order)

        seen_directed: set[tuple[str, str]] = set()
        for u, v in directed_edges:
            if u == v:
                raise GraphError(f"self-loop {u} -> {u}: a variable cannot cause itself")
            if (u, v) in seen_directed:
                raise GraphError(f"duplicate directed edge {u} -> {v}; list each edge once")
            seen_directed.add((u, v))
        seen_bidirected: set[frozenset[str]] = set()
        for u, v in bidirected_edges:
            if u == v:
                raise GraphError(f"bidirected self-loop {u} <-> {u}: a latent confounder needs two distinct nodes")
            key = frozenset((u, v))
            if key in seen_bidirected:
                raise GraphError(f"duplicate bidirected edge {u} <-> {v}; list each confounder once")
            seen_bidirected.add(key)

        dag = nx.DiGraph()
        dag.add_nodes_from(node_order)
        dag.add_edges_from(directed_edges)
        try:
            cycle = nx.find_cycle(dag)
        except nx.NetworkXNoCycle:
            pass
        else:
            path = " -> ".join([str(u) for u, _ in cycle] + [str(cycle[0][0])])
            raise GraphError(f"directed cycle {path}: a causal graph must be acyclic; remove one of these edges")

        self._nodes = node_order
        self._directed = directed_edges
        self._bidirected = bidirected_edges
        self._dag = nx.freeze(dag)
        position = {name: i for i, name in enumerate(node_order)}
        self._order: tuple[str, ...] = tuple(nx.lexicographical_topological_sort(dag, key=position.__getitem__))
        self._core: BitGraph | None = None
        self._hash: int | None = None

    # ------------------------------------------------------------------ basic views
    @property
    def nodes(self) -> tuple[str, ...]:
        """All node names, in declaration order."""
        return self._nodes

    @property
    def directed(self) -> tuple[tuple[str, str], ...]:
        """The directed edges ``(cause, effect)``."""
        return self._directed

    @property
    def bidirected(self) -> tuple[tuple[str, str], ...]:
        """The bidirected edges (latent confounders)."""
        return self._bidirected

    @property
    def dag(self) -> nx.DiGraph:
        """The directed part as a frozen ``networkx.DiGraph``."""
        return self._dag

    def confounding_graph(self) -> nx.Graph:
        """The bidirected part as an undirected ``networkx.Graph`` (a copy)."""
        g = nx.Graph()
        g.add_nodes_from(self._nodes)
        g.add_edges_from(self._bidirected)
        return g

    @property
    def core(self) -> BitGraph:
        """The bitset kernel the algorithms run on (built once, on first use)."""
        if self._core is None:
            self._core = BitGraph(self._order, self._directed, self._bidirected)
        return self._core

    def __contains__(self, node: object) -> bool:
        return node in self._dag

    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._nodes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CausalGraph):
            return NotImplemented
        return (
            set(self._nodes) == set(other._nodes)
            and set(self._directed) == set(other._directed)
            and {frozenset(e) for e in self._bidirected} == {frozenset(e) for e in other._bidirected}
        )

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(
                (
                    frozenset(self._nodes),
                    frozenset(self._directed),
                    frozenset(frozenset(e) for e in self._bidirected),
                )
            )
        return self._hash

    def __repr__(self) -> str:
        parts = [f"{u} -> {v}" for u, v in self._directed]
        parts += [f"{u} <-> {v}" for u, v in self._bidirected]
        edged = {n for e in self._directed + self._bidirected for n in e}
        parts += [n for n in self._nodes if n not in edged]
        return f"CausalGraph({', '.join(parts)})"

    # ------------------------------------------------------------------ queries
    def _check_nodes(self, nodes: NodesLike, what: str = "nodes") -> tuple[str, ...]:
        names = _as_names(nodes, what)
        for name in names:
            if name not in self._dag:
                raise GraphError(f"unknown node {name!r} in {what}; the graph has {listing(self._nodes, 12)}")
        return names

    def _sorted(self, names: Iterable[str]) -> tuple[str, ...]:
        core = self.core
        return core.names_of(core.mask(names))

    def parents(self, node: str) -> tuple[str, ...]:
        """Direct causes of ``node``, in topological order."""
        (name,) = self._check_nodes(node)
        return self._sorted(self._dag.predecessors(name))

    def children(self, node: str) -> tuple[str, ...]:
        """Direct effects of ``node``, in topological order."""
        (name,) = self._check_nodes(node)
        return self._sorted(self._dag.successors(name))

    def spouses(self, node: str) -> tuple[str, ...]:
        """Nodes sharing a latent confounder with ``node`` (its bidirected neighbours)."""
        (name,) = self._check_nodes(node)
        core = self.core
        return core.names_of(core.bi[core.index[name]])

    def ancestors(self, nodes: NodesLike) -> frozenset[str]:
        """An(nodes): the given nodes and every node with a directed path into them.

        Follows Shpitser & Pearl's convention: a node is its own ancestor.
        """
        core = self.core
        mask = core.mask(self._check_nodes(nodes))
        return frozenset(core.names_of(core.ancestors(mask, core.all)))

    def descendants(self, nodes: NodesLike) -> frozenset[str]:
        """De(nodes): the given nodes and every node reachable from them by a directed path."""
        core = self.core
        mask = core.mask(self._check_nodes(nodes))
        return frozenset(core.names_of(core.descendants(mask, core.all)))

    def proper_descendants(self, node: str) -> tuple[str, ...]:
        """De(node) without ``node`` itself, in declaration order: what an intervention on it can change."""
        (name,) = self._check_nodes(node)
        reached = self.descendants(name)
        return tuple(n for n in self._nodes if n in reached and n != name)

    def topological_order(self) -> tuple[str, ...]:
        """A topological order of the directed edges; ties broken by declaration order."""
        return self._order

    def levels(self) -> tuple[tuple[str, ...], ...]:
        """Nodes grouped by the length of their longest directed path from a root, in topological order.

        Every node's parents sit in earlier levels, so a level can be sampled at once; drawings
        put level k on row k.
        """
        depth: dict[str, int] = {}
        for node in self._order:
            depth[node] = 1 + max((depth[p] for p in self.parents(node)), default=-1)
        levels: list[list[str]] = [[] for _ in range(1 + max(depth.values(), default=-1))]
        for node in self._order:
            levels[depth[node]].append(node)
        return tuple(tuple(level) for level in levels)

    def c_components(self) -> tuple[frozenset[str], ...]:
        """C(G): the c-components (districts), the classes of nodes joined by bidirected paths."""
        core = self.core
        return tuple(frozenset(core.names_of(c)) for c in core.components(core.all))

    def district(self, node: str) -> frozenset[str]:
        """The c-component that contains ``node``."""
        core = self.core
        (name,) = self._check_nodes(node)
        return frozenset(core.names_of(core.component_of(1 << core.index[name], core.all)))

    def d_separated(self, xs: NodesLike, ys: NodesLike, given: NodesLike = ()) -> bool:
        """Whether ``xs`` and ``ys`` are m-separated by ``given`` (d-separation for ADMGs)."""
        core = self.core
        x = core.mask(self._check_nodes(xs, "xs"))
        y = core.mask(self._check_nodes(ys, "ys"))
        z = core.mask(self._check_nodes(given, "given"))
        return core.d_separated(x, y, z)

    # ------------------------------------------------------------------ new graphs
    def subgraph(self, nodes: NodesLike) -> CausalGraph:
        """G[nodes]: the induced subgraph, directed and bidirected edges with both ends inside."""
        keep = set(self._check_nodes(nodes))
        return CausalGraph(
            directed=[(u, v) for u, v in self._directed if u in keep and v in keep],
            bidirected=[(u, v) for u, v in self._bidirected if u in keep and v in keep],
            nodes=[n for n in self._nodes if n in keep],
        )

    def remove_nodes(self, nodes: NodesLike) -> CausalGraph:
        """G \\ nodes: the subgraph induced by the other nodes."""
        drop = set(self._check_nodes(nodes))
        return self.subgraph([n for n in self._nodes if n not in drop])

    def do(self, nodes: NodesLike) -> CausalGraph:
        """G_{bar X}: remove every edge into ``nodes`` (directed ones ending there, bidirected ones touching them)."""
        cut = set(self._check_nodes(nodes))
        return CausalGraph(
            directed=[(u, v) for u, v in self._directed if v not in cut],
            bidirected=[(u, v) for u, v in self._bidirected if u not in cut and v not in cut],
            nodes=self._nodes,
        )

    def cut_outgoing(self, nodes: NodesLike) -> CausalGraph:
        """G_{underline Z}: remove every directed edge out of ``nodes``."""
        cut = set(self._check_nodes(nodes))
        return CausalGraph(
            directed=[(u, v) for u, v in self._directed if u not in cut],
            bidirected=self._bidirected,
            nodes=self._nodes,
        )

    # ------------------------------------------------------------------ input / output
    def to_dict(self) -> dict[str, Any]:
        """A plain dict with ``nodes``, ``directed`` and ``bidirected`` lists (YAML/JSON ready)."""
        return {
            "nodes": list(self._nodes),
            "directed": [list(e) for e in self._directed],
            "bidirected": [list(e) for e in self._bidirected],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "graph") -> CausalGraph:
        """Build from ``{"nodes": ..., "directed": ..., "bidirected": ...}`` as :meth:`to_dict` writes it.

        Edges may also be ``"A -> B"`` / ``"A <-> B"`` strings; a ``variables`` key (the types of
        the variables, read by the data modules) is accepted and must name nodes of the graph.
        ``source`` (a file name) prefixes the error messages.
        """
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
            graph = cls(directed=edges["directed"], bidirected=edges["bidirected"], nodes=nodes)
        except GraphError as err:
            if source == "graph":
                raise
            raise GraphError(f"{source}: {err}") from None
        for name in variables or {}:
            if name not in graph:
                raise GraphError(f"{source}: 'variables' names {name!r}, which no edge or 'nodes' entry declares")
        return graph

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


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
