"""The ID and IDC recursions (Shpitser & Pearl 2006), run symbolically into a trace.

ID's branching depends only on (y, x, G), never on P, so the recursion is run once on the graph
and recorded as a tree of :class:`IdStep`. The estimand (``estimand.py``) and the ID-GEN sampling
plan (``plan.py``) are two readings of the same trace, so they cannot disagree about which lines
were taken. Sets are bit masks over the graph's topological order (see ``_bitgraph.py``); every
graph the recursion visits is an induced subgraph G[v] of the input graph.

ID(y, x, P, G), lines as numbered by Shpitser & Pearl (AAAI 2006), G = G[v]:

1. if x = {}: return sum_{v minus y} P(v)
2. if v != An(y)_G: return ID(y, x cap An(y), sum_{v minus An(y)} P, G[An(y)])
3. w = (v minus x) minus An(y)_{G_bar x}; if w: return ID(y, x cup w, P, G)
4. if C(G minus x) = {S_1..S_k}, k > 1: return sum_{v minus (y cup x)} prod_i ID(s_i, v minus s_i, P, G)
   otherwise C(G minus x) = {S}
5. if C(G) = {G}: FAIL(G, S) (a hedge)
6. if S in C(G): return sum_{s minus y} prod_{V_i in S} P(v_i | v_pi^(i-1))
7. if S subset S' in C(G):
   return ID(y, x cap s', prod_{V_i in S'} P(V_i | V_pi^(i-1) cap S', v_pi^(i-1) minus S'), G[S'])

The conditionals P(v_i | v_pi^(i-1)) of lines 6 and 7 are reduced exactly with Tian & Pearl's
lemma (2002): P(v_i | v_pi^(i-1)) = P(v_i | pa(T_i) minus {v_i}), where T_i is the c-component of
G[v_pi^(i)] that contains V_i and pa(T) = T cup Pa(T). This shrinks the estimand and the inputs of
every generative model ID-GEN trains, and changes no value.

IDC(y, x, z, P, G) (Shpitser & Pearl, UAI 2006):

1. if some Z in z has (y indep Z | x, z minus {Z}) in G_{bar x, underline Z}: return IDC(y, x cup {z}, z minus {z})
2. else: P' = ID(y cup z, x); return P' / sum_y P'
"""

from __future__ import annotations

import sys

from lightning_causal.graph.bitgraph import BitGraph

__all__ = ["IdFailure", "IdStep", "id_trace", "idc_moves", "reduced_conditionals"]


class IdStep:
    """One call of ID and the line it returned from.

    Attributes:
        line: 1, 2, 3, 4, 6 or 7.
        y, x, v: the call's outcome, intervention and vertex masks.
        keep: line 2, the ancestral set An(y).
        w: line 3, the variables added to x.
        parts: line 4, ``(s_i, step)`` for every c-component of G[v minus x].
        s: lines 6 and 7, the single c-component of G[v minus x].
        s_prime: line 7, the c-component of G[v] that strictly contains s.
        factors: lines 6 (over s) and 7 (over s'), ``(i, cond)`` for each target node ``i`` in
            topological order, the conditional being P(v_i | cond) of the current distribution.
        child: lines 2, 3 and 7, the recursive call.
    """

    __slots__ = ("child", "factors", "keep", "line", "parts", "s", "s_prime", "v", "w", "x", "y")

    def __init__(self, line: int, y: int, x: int, v: int) -> None:
        self.line = line
        self.y = y
        self.x = x
        self.v = v
        self.keep = 0
        self.w = 0
        self.s = 0
        self.s_prime = 0
        self.parts: tuple[tuple[int, IdStep], ...] = ()
        self.factors: tuple[tuple[int, int], ...] = ()
        self.child: IdStep | None = None

    def walk(self):  # type: ignore[no-untyped-def]
        """Yield this step and every step below it, depth first."""
        stack = [self]
        while stack:
            step = stack.pop()
            yield step
            if step.child is not None:
                stack.append(step.child)
            stack.extend(part for _, part in reversed(step.parts))


class IdFailure(Exception):  # noqa: N818 - a control-flow signal, not a user error
    """Line 5 fired: G[v] is a single c-component, and so is its part s = v minus x."""

    def __init__(self, y: int, x: int, v: int, s: int) -> None:
        super().__init__("ID line 5")
        self.y, self.x, self.v, self.s = y, x, v, s


def reduced_conditionals(core: BitGraph, targets: int, v: int) -> tuple[tuple[int, int], ...]:
    """For each i in ``targets``: the Tian-reduced conditioning set of P(v_i | v_pi^(i-1)) in G[v]."""
    pa, bi = core.pa, core.bi
    out = []
    t = targets
    while t:
        low = t & -t
        i = low.bit_length() - 1
        t ^= low
        prefix = v & ((low << 1) - 1)
        # T_i: the c-component of G[prefix] containing i (inlined BitGraph.component_of)
        comp = low
        frontier = low
        while frontier:
            nxt = 0
            while frontier:
                b = frontier & -frontier
                nxt |= bi[b.bit_length() - 1]
                frontier ^= b
            frontier = nxt & prefix & ~comp
            comp |= frontier
        parents = 0
        c = comp
        while c:
            b = c & -c
            parents |= pa[b.bit_length() - 1]
            c ^= b
        out.append((i, ((comp | parents) & prefix) & ~low))
    return tuple(out)


def id_trace(core: BitGraph, y: int, x: int, v: int | None = None) -> IdStep:
    """Run ID(y, x) on G[v] (default: the whole graph) and return its trace.

    Raises:
        IdFailure: when line 5 fires in some recursive call (then P_x(y) is not identifiable).
    """
    if v is None:
        v = core.all
    ancestors = core.ancestors
    ancestors_cut = core.ancestors_cut
    components = core.components
    component_of = core.component_of

    def rec(y: int, x: int, v: int) -> IdStep:
        # line 1
        if not x:
            return IdStep(1, y, x, v)
        # line 2
        anc = ancestors(y, v)
        if anc != v:
            step = IdStep(2, y, x, v)
            step.keep = anc
            step.child = rec(y, x & anc, anc)
            return step
        # line 3
        w = v & ~x & ~ancestors_cut(y, v, x)
        if w:
            step = IdStep(3, y, x, v)
            step.w = w
            step.child = rec(y, x | w, v)
            return step
        # line 4
        rest = v & ~x
        comps = components(rest)
        if len(comps) > 1:
            step = IdStep(4, y, x, v)
            step.parts = tuple((s_i, rec(s_i, v & ~s_i, v)) for s_i in comps)
            return step
        s = rest
        s_prime = component_of(s, v)
        # line 5
        if s_prime == v:
            raise IdFailure(y, x, v, s)
        # line 6
        if s_prime == s:
            step = IdStep(6, y, x, v)
            step.s = s
            step.factors = reduced_conditionals(core, s, v)
            return step
        # line 7
        step = IdStep(7, y, x, v)
        step.s = s
        step.s_prime = s_prime
        step.factors = reduced_conditionals(core, s_prime, v)
        step.child = rec(y, x & s_prime, s_prime)
        return step

    # Each line 2 and 7 shrinks v and each line 3 grows x, so depth stays below 3 * |v| + 2.
    limit = sys.getrecursionlimit()
    need = 3 * core.n + 100
    if need > limit:
        sys.setrecursionlimit(need)
    try:
        return rec(y, x, v)
    finally:
        if need > limit:
            sys.setrecursionlimit(limit)


def idc_moves(core: BitGraph, y: int, x: int, z: int) -> tuple[int, int, tuple[int, ...]]:
    """IDC line 1, repeated: move every condition that rule 2 of the do-calculus allows into x.

    Returns the new treatment mask, the remaining condition mask and the moved node indices in the
    order they were moved. IDC line 2 is then ``id_trace(core, y | z, x)`` followed by
    conditioning on z.
    """
    moved: list[int] = []
    changed = True
    while changed and z:
        changed = False
        rest = z
        while rest:
            low = rest & -rest
            rest ^= low
            # (Y indep Z | X, Z minus {Z}) in G_{bar X, underline Z}
            if core.d_separated(y, low, x | (z & ~low), cut_into=x, cut_out_of=low):
                x |= low
                z &= ~low
                moved.append(low.bit_length() - 1)
                changed = True
                break
    return x, z, tuple(moved)
