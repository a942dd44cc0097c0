"""Random acyclic directed mixed graphs, for tests and benchmarks."""

from __future__ import annotations

import random

from lightning_causal.graph.causal_graph import CausalGraph

__all__ = ["random_admg"]


def random_admg(
    n: int,
    seed: int | random.Random | None = None,
    p_directed: float | None = None,
    p_bidirected: float | None = None,
    expected_parents: float = 2.0,
    expected_confounders: float = 1.0,
    window: int | None = None,
    prefix: str = "V",
) -> CausalGraph:
    """A random ADMG over ``V0 .. V{n-1}`` (in that topological order).

    Each pair ``i < j`` gets a directed edge ``Vi -> Vj`` with probability ``p_directed`` and a
    bidirected edge with probability ``p_bidirected``. When a probability is not given it is set so
    that a node has ``expected_parents`` parents and ``expected_confounders`` bidirected edges on
    average; ``window`` restricts both kinds of edge to pairs at most that far apart (local
    structure, as large real graphs have).
    """
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)
    span = min(window, n - 1) if window else n - 1
    # node j may have min(j, span) parents: their mean over the nodes sets the edge probability; a
    # bidirected edge counts for both its ends
    candidates = max(sum(min(j, span) for j in range(n)) / max(n, 1), 1e-9)
    if p_directed is None:
        p_directed = min(1.0, expected_parents / candidates)
    if p_bidirected is None:
        p_bidirected = min(1.0, expected_confounders / (2 * candidates))
    names = [f"{prefix}{i}" for i in range(n)]
    directed = []
    bidirected = []
    for j in range(n):
        for i in range(max(0, j - span), j):
            if rng.random() < p_directed:
                directed.append((names[i], names[j]))
            if rng.random() < p_bidirected:
                bidirected.append((names[i], names[j]))
    return CausalGraph(directed=directed, bidirected=bidirected, nodes=names)
