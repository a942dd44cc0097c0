"""Hedges: the certificate that P_x(y) is not identifiable (Shpitser & Pearl 2006, Definition 4).

An R-rooted c-forest is a subgraph whose nodes form one c-component (joined by its bidirected
edges), in which every node has at most one child, and whose root set (the nodes without a child)
is R. Two R-rooted c-forests F' subset F form a hedge for P_x(y) when F meets X, F' does not, and
R is a subset of An(Y) in G_{bar X}. P_x(y) is identifiable iff no hedge exists for any
P_{x'}(y'), x' in x, y' in y (Theorem 4); here the hedge is always for the query itself.

Construction (from Tian & Pearl's c-factor identification, which is complete): let D = An(Y) in
G[V minus X] and take a c-component C of G[D]. Start from T = the c-component of G containing C
and repeat: A = An(C) in G[T]; if A = C, Q[C] is identifiable from Q[T]; if A = T (and T != C),
Q[C] is not, and (T, C) carry a hedge; otherwise T = the c-component of G[A] containing C.
T then meets X: if it did not, T would lie in D and be bidirected-connected to C, so T = C.
The forests: R = the sinks of G[C]; F' = C with a spanning tree of its bidirected edges and, for
each non-root, one directed edge towards R found by a backward search from R inside C; F extends
both to T (every node of T reaches C inside T because A = T).
"""

from __future__ import annotations

from dataclasses import dataclass

from lightning_causal.graph.bitgraph import BitGraph, iter_bits

__all__ = ["CForest", "Hedge", "find_hedge"]


@dataclass(frozen=True)
class CForest:
    """An R-rooted c-forest: nodes, its directed edges (one per non-root) and bidirected edges."""

    nodes: tuple[str, ...]
    directed: tuple[tuple[str, str], ...]
    bidirected: tuple[tuple[str, str], ...]

    @property
    def roots(self) -> tuple[str, ...]:
        has_child = {u for u, _ in self.directed}
        return tuple(n for n in self.nodes if n not in has_child)

    def __str__(self) -> str:
        edges = [f"{u} -> {v}" for u, v in self.directed] + [f"{u} <-> {v}" for u, v in self.bidirected]
        inner = "; ".join(edges) if edges else "no edges"
        return "{" + ", ".join(self.nodes) + "} (" + inner + ")"


@dataclass(frozen=True)
class Hedge:
    """Two R-rooted c-forests F' subset F forming a hedge for P_{treatment}(outcome)."""

    F: CForest
    F_prime: CForest
    treatment: tuple[str, ...]
    outcome: tuple[str, ...]

    @property
    def roots(self) -> tuple[str, ...]:
        return self.F_prime.roots

    def __str__(self) -> str:
        return f"F = {self.F}, F' = {self.F_prime}, roots R = {{{', '.join(self.roots)}}}"


def _forest(core: BitGraph, nodes: int, start_edges: dict[int, int], seed: int) -> dict[int, int]:
    """Give every node of ``nodes`` not yet in ``seed`` one child inside ``nodes`` (backward BFS)."""
    child = dict(start_edges)
    reached = seed
    frontier = list(iter_bits(seed))
    while frontier:
        nxt = []
        for c in frontier:
            for p in iter_bits(core.pa[c] & nodes & ~reached):
                child[p] = c
                reached |= 1 << p
                nxt.append(p)
        frontier = nxt
    assert reached == nodes, "every node of a c-forest must reach its roots"
    return child


def _spanning(core: BitGraph, nodes: int, start: list[tuple[int, int]], seed: int) -> list[tuple[int, int]]:
    """Extend a spanning tree of the bidirected edges on ``seed`` to one on ``nodes``."""
    edges = list(start)
    reached = seed
    frontier = list(iter_bits(seed))
    while frontier:
        nxt = []
        for a in frontier:
            for b in iter_bits(core.bi[a] & nodes & ~reached):
                edges.append((a, b))
                reached |= 1 << b
                nxt.append(b)
        frontier = nxt
    assert reached == nodes, "a c-forest must be one c-component"
    return edges


def _as_forest(core: BitGraph, nodes: int, child: dict[int, int], bidirected: list[tuple[int, int]]) -> CForest:
    names = core.names
    return CForest(
        nodes=core.names_of(nodes),
        directed=tuple((names[p], names[c]) for p, c in sorted(child.items())),
        bidirected=tuple((names[min(a, b)], names[max(a, b)]) for a, b in bidirected),
    )


def find_hedge(core: BitGraph, y: int, x: int) -> Hedge | None:
    """A hedge for P_x(y) in the whole graph, or None when P_x(y) is identifiable."""
    d = core.ancestors(y, core.all & ~x)
    for c in core.components(d):
        t = core.component_of(c, core.all)
        while True:
            a = core.ancestors(c, t)
            if a == c:
                break
            if a == t:
                return _hedge(core, c, t, y, x)
            t = core.component_of(c, a)
    return None


def _hedge(core: BitGraph, c: int, t: int, y: int, x: int) -> Hedge:
    roots = 0
    for i in iter_bits(c):
        if not core.ch[i] & c:
            roots |= 1 << i
    low = c & -c
    inner_bi = _spanning(core, c, [], low)
    inner_child = _forest(core, c, {}, roots)
    outer_bi = _spanning(core, t, inner_bi, c)
    outer_child = _forest(core, t, inner_child, c)
    return Hedge(
        F=_as_forest(core, t, outer_child, outer_bi),
        F_prime=_as_forest(core, c, inner_child, inner_bi),
        treatment=core.names_of(x),
        outcome=core.names_of(y),
    )
