"""A bitset kernel of an acyclic directed mixed graph, for the identification algorithms.

Node ``i`` is the ``i``-th node of one fixed topological order, and a set of nodes is a Python
``int`` whose bit ``i`` is set when node ``i`` belongs to it. Set algebra is then a handful of
machine-word operations, "the predecessors of ``i`` in the order" is ``(1 << i) - 1``, and every
induced subgraph is just a mask: ID and IDC only ever work on induced subgraphs of the input graph,
so none of them is ever materialised. This is what keeps identification fast at hundreds of nodes.
Pure Python, no third-party import.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

__all__ = ["BitGraph", "iter_bits", "popcount"]


def iter_bits(mask: int) -> Iterator[int]:
    """Yield the indices of the set bits of ``mask`` in increasing order."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def popcount(mask: int) -> int:
    """Number of set bits."""
    return mask.bit_count()


class BitGraph:
    """Parents, children and bidirected neighbours of every node, as bit masks.

    Args:
        order: the node names in a topological order of the directed edges.
        directed: ``(parent, child)`` pairs.
        bidirected: ``(a, b)`` pairs (latent confounders).
    """

    __slots__ = ("all", "bi", "ch", "index", "n", "names", "pa")

    def __init__(
        self,
        order: Sequence[str],
        directed: Iterable[tuple[str, str]],
        bidirected: Iterable[tuple[str, str]],
    ) -> None:
        self.names: tuple[str, ...] = tuple(order)
        self.n = len(self.names)
        self.index: dict[str, int] = {name: i for i, name in enumerate(self.names)}
        self.all = (1 << self.n) - 1
        self.pa = [0] * self.n
        self.ch = [0] * self.n
        self.bi = [0] * self.n
        index = self.index
        for u, v in directed:
            i, j = index[u], index[v]
            self.pa[j] |= 1 << i
            self.ch[i] |= 1 << j
        for u, v in bidirected:
            i, j = index[u], index[v]
            self.bi[i] |= 1 << j
            self.bi[j] |= 1 << i

    # ------------------------------------------------------------------ conversions
    def mask(self, names: Iterable[str]) -> int:
        m = 0
        index = self.index
        for name in names:
            m |= 1 << index[name]
        return m

    def names_of(self, mask: int) -> tuple[str, ...]:
        """The names in ``mask``, in topological order."""
        names = self.names
        out = []
        while mask:
            low = mask & -mask
            out.append(names[low.bit_length() - 1])
            mask ^= low
        return tuple(out)

    # ------------------------------------------------------------------ ancestral sets
    def ancestors(self, targets: int, within: int) -> int:
        """An(targets) in G[within], the targets included (Shpitser & Pearl's convention)."""
        pa = self.pa
        anc = targets
        frontier = targets
        while frontier:
            nxt = 0
            while frontier:
                low = frontier & -frontier
                nxt |= pa[low.bit_length() - 1]
                frontier ^= low
            frontier = nxt & within & ~anc
            anc |= frontier
        return anc

    def ancestors_cut(self, targets: int, within: int, cut: int, cut_out: int = 0) -> int:
        """An(targets) in G[within] with every edge into ``cut`` removed (the graph G_{bar cut}), and every
        directed edge out of ``cut_out`` (G_{underline cut_out})."""
        pa = self.pa
        keep = ~cut_out
        anc = targets
        frontier = targets & ~cut
        while frontier:
            nxt = 0
            while frontier:
                low = frontier & -frontier
                nxt |= pa[low.bit_length() - 1] & keep
                frontier ^= low
            new = nxt & within & ~anc
            anc |= new
            frontier = new & ~cut
        return anc

    def descendants(self, sources: int, within: int) -> int:
        """De(sources) in G[within], the sources included."""
        ch = self.ch
        de = sources
        frontier = sources
        while frontier:
            nxt = 0
            while frontier:
                low = frontier & -frontier
                nxt |= ch[low.bit_length() - 1]
                frontier ^= low
            frontier = nxt & within & ~de
            de |= frontier
        return de

    # ------------------------------------------------------------------ c-components
    def component_of(self, seed: int, within: int) -> int:
        """The union of the c-components of G[within] that meet ``seed``."""
        bi = self.bi
        comp = seed
        frontier = seed
        while frontier:
            nxt = 0
            while frontier:
                low = frontier & -frontier
                nxt |= bi[low.bit_length() - 1]
                frontier ^= low
            frontier = nxt & within & ~comp
            comp |= frontier
        return comp

    def components(self, within: int) -> list[int]:
        """C(G[within]): the c-components (districts), ordered by their first node."""
        out = []
        rest = within
        while rest:
            comp = self.component_of(rest & -rest, within)
            out.append(comp)
            rest &= ~comp
        return out

    # ------------------------------------------------------------------ m-separation
    def d_separated(
        self,
        xs: int,
        ys: int,
        given: int,
        cut_into: int = 0,
        cut_out_of: int = 0,
    ) -> bool:
        """Whether ``xs`` and ``ys`` are m-separated by ``given``.

        The graph is G with every edge into ``cut_into`` removed (directed edges ending there and
        every bidirected edge touching it) and every directed edge out of ``cut_out_of`` removed,
        i.e. G_{bar X, underline Z} of the do-calculus. Reachability ("Bayes ball") over states
        (node, arrived through an arrowhead?): a node is a collider on a path exactly when both of
        its path edges carry an arrowhead into it; bidirected edges carry arrowheads at both ends.
        """
        pa, ch, bi = self.pa, self.ch, self.bi
        # Ancestors of the conditioning set in the modified graph (colliders must be in it).
        anc_given = self.ancestors_cut(given, self.all, cut_into, cut_out_of) if given else 0
        # parents of v in the modified graph: none if v in cut_into; drop parents in cut_out_of
        seen_head = 0  # arrived at v through an arrowhead into v
        seen_tail = 0  # arrived at v through a tail at v (from one of its children)
        stack: list[tuple[int, bool]] = [(i, False) for i in iter_bits(xs)]
        while stack:
            v, head = stack.pop()
            bit = 1 << v
            if head:
                if seen_head & bit:
                    continue
                seen_head |= bit
            else:
                if seen_tail & bit:
                    continue
                seen_tail |= bit
            if bit & ys:
                return False
            in_given = bool(bit & given)
            parents = 0 if bit & cut_into else pa[v] & ~cut_out_of
            children = 0 if bit & cut_out_of else ch[v] & ~cut_into
            spouses = 0 if bit & cut_into else bi[v] & ~cut_into
            if head:
                if not in_given:  # non-collider: continue out through a tail at v
                    for c in iter_bits(children):
                        stack.append((c, True))
                if bit & anc_given:  # collider that is opened by the conditioning set
                    for p in iter_bits(parents):
                        stack.append((p, False))
                    for s in iter_bits(spouses):
                        stack.append((s, True))
            elif not in_given:  # arrived through a tail: v is a non-collider whatever comes next
                for p in iter_bits(parents):
                    stack.append((p, False))
                for c in iter_bits(children):
                    stack.append((c, True))
                for s in iter_bits(spouses):
                    stack.append((s, True))
        return True
