"""Covariate adjustment: the sets Z with P(y | do(x)) = sum_z P(y | x, z) P(z), found or checked, and why none exists.

Potential-outcome methods (DIME, IWDD, a CATE learner) model P(outcomes | covariates, treatment)
and average it over the covariates: right exactly when the covariates are a valid adjustment set.
This module decides that on an ADMG (bidirected edges for latent confounders) with the generalised
adjustment criterion (Shpitser, VanderWeele & Robins, UAI 2010; Perkovic et al., JMLR 2018), which
is complete: Z is valid for (X, Y) if and only if

1. no node of Z is *forbidden*: a descendant of a node on a proper causal path from X to Y
   (a mediator, or anything it causes), or X itself; and
2. Z m-separates X from Y in the *proper back-door graph*: G with the first edge of every proper
   causal path from X to Y removed (what is left between X and Y is non-causal).

When any valid set exists, the canonical one, An(X u Y) minus X, Y and the forbidden nodes, is
valid (Perkovic et al., Theorem 4.4 for ADMGs), so :func:`adjustment_set` returns it and otherwise
reports one path that no set blocks: from the canonical set's failure, the open path itself (for
example ``A <-> Y1``, or ``A <- C <-> Y1`` where C is observed but adjusting for it opens the
collider). :func:`check_adjustment` checks a set the user gives and names the forbidden covariate or
the open path. Pure Python on the graph, like the rest of the package.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from lightning_causal.errors import NotIdentifiableError, QueryError

if TYPE_CHECKING:
    from lightning_causal.graph.causal_graph import CausalGraph

__all__ = [
    "NotAdjustableError",
    "adjustment_set",
    "causal_nodes",
    "check_adjustment",
    "forbidden_nodes",
    "open_path",
    "path_text",
]

MAX_EXPANSIONS = 200_000
"""How many partial paths the search for a simple open path may extend (the reachability test is exact)."""


class NotAdjustableError(QueryError):
    """No (or not the given) set of covariates adjusts for the confounding between treatment and outcomes.

    Attributes:
        path: the open non-causal path, as node names (``()`` when a covariate is forbidden instead).
        forbidden: the forbidden covariates given (``()`` when a path is open instead).
    """

    def __init__(self, message: str, path: tuple[str, ...] = (), forbidden: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.path = path
        self.forbidden = forbidden


def _names(graph: CausalGraph, value: str | Iterable[str], role: str) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else tuple(value)
    for name in names:
        if name not in graph:
            raise QueryError(f"unknown variable {name!r} in the {role}; the graph has {', '.join(graph.nodes[:12])}")
    return names


def causal_nodes(graph: CausalGraph, treatment: Iterable[str], outcome: Iterable[str]) -> frozenset[str]:
    """The nodes other than the treatment on proper causal (directed) paths from the treatment to the outcomes."""
    x, y = set(treatment), set(outcome)
    cut = graph.do(x)  # no edge into X: a directed path from X never comes back through X
    return frozenset((set(cut.descendants(x)) - x) & set(cut.ancestors(y)))


def forbidden_nodes(graph: CausalGraph, treatment: Iterable[str], outcome: Iterable[str]) -> frozenset[str]:
    """The nodes no adjustment set may hold: the treatment, and descendants of nodes on proper causal paths."""
    x = set(treatment)
    causal = causal_nodes(graph, x, outcome)
    return frozenset(x | (set(graph.descendants(causal)) if causal else set()))


def _back_door_edges(graph: CausalGraph, treatment: set[str], causal: frozenset[str]) -> list[tuple[str, str, str]]:
    """The proper back-door graph's edges as ``(u, v, kind)`` both ways: ``"->"`` (u -> v), ``"<-"``, ``"<->"``."""
    edges: list[tuple[str, str, str]] = []
    for u, v in graph.directed:
        if u in treatment and v in causal:
            continue  # the first edge of a proper causal path
        edges += [(u, v, "->"), (v, u, "<-")]
    for u, v in graph.bidirected:
        edges += [(u, v, "<->"), (v, u, "<->")]
    return edges


def open_path(
    graph: CausalGraph, treatment: Iterable[str], outcome: Iterable[str], given: Iterable[str] = ()
) -> tuple[str, ...] | None:
    """A non-causal path from the treatment to an outcome that ``given`` leaves open (m-connecting in the
    proper back-door graph), as the nodes along it; None when every such path is blocked.

    A collider on the path is open when it or a descendant is in ``given``; any other node when it is
    not in ``given``. The path is simple and passes through no other treatment or outcome node.
    """
    found = _open_path(graph, treatment, outcome, given)
    return found[0] if found is not None else None


def _open_path(
    graph: CausalGraph, treatment: Iterable[str], outcome: Iterable[str], given: Iterable[str]
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """:func:`open_path`'s nodes and the kind of every edge along it (``"->"``, ``"<-"``, ``"<->"``)."""
    x, y, z = set(treatment), set(outcome), set(given)
    causal = causal_nodes(graph, x, y)
    neighbours: dict[str, list[tuple[str, str]]] = {n: [] for n in graph.nodes}
    for u, v, kind in _back_door_edges(graph, x, causal):
        neighbours[u].append((v, kind))
    open_collider = set(graph.ancestors(z)) if z else set()

    def passes(node: str, arrived: str, leaving: str) -> bool:
        into = arrived in ("->", "<->")  # the edge we came by points into node
        out_into = leaving in ("<-", "<->")  # the edge we leave by points into node
        if into and out_into:
            return node in open_collider
        return node not in z

    # exact reachability over (node, how we arrived): is any outcome m-connected to the treatment?
    start = [(v, kind) for s in x for v, kind in neighbours[s] if v not in x]
    seen = set(start)
    frontier = list(start)
    reached = False
    while frontier and not reached:
        node, arrived = frontier.pop()
        if node in y:
            reached = True
            break
        for nxt, kind in neighbours[node]:
            if nxt in x or (nxt, kind) in seen or not passes(node, arrived, kind):
                continue
            seen.add((nxt, kind))
            frontier.append((nxt, kind))
    if not reached:
        return None
    # a simple open path to show (breadth first: a shortest one)
    paths: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
        ((s, v), (kind,)) for s in sorted(x) for v, kind in neighbours[s] if v not in x
    ]
    expansions = 0
    while paths and expansions < MAX_EXPANSIONS:
        following: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        for path, kinds in paths:
            node = path[-1]
            if node in y:
                return path, kinds
            for nxt, kind in neighbours[node]:
                expansions += 1
                if nxt in path or nxt in x or not passes(node, kinds[-1], kind):
                    continue
                following.append(((*path, nxt), (*kinds, kind)))
        paths = following
    return None  # pragma: no cover - a walk exists, so a path does; only a huge graph gets here


def path_text(path: tuple[str, ...], kinds: tuple[str, ...]) -> str:
    """A path as text with its edges: ``A <- C <-> Y1``."""
    return " ".join([path[0], *(f"{kind} {node}" for kind, node in zip(kinds, path[1:], strict=True))])


def check_adjustment(
    graph: CausalGraph, treatment: str | Iterable[str], outcome: str | Iterable[str], covariates: Iterable[str]
) -> tuple[str, ...]:
    """``covariates``, checked to be a valid adjustment set for the effect of ``treatment`` on ``outcome``.

    Raises:
        NotAdjustableError: a covariate is forbidden (a mediator or its descendant, or the treatment), or
            a non-causal path stays open given the covariates; one line naming which.
    """
    x = _names(graph, treatment, "treatment")
    y = _names(graph, outcome, "outcomes")
    z = _names(graph, covariates, "covariates")
    forbidden = forbidden_nodes(graph, x, y)
    bad = tuple(v for v in z if v in forbidden or v in y)
    if bad:
        what = "an outcome" if bad[0] in y else ("the treatment" if bad[0] in x else "caused by the treatment")
        raise NotAdjustableError(
            f"covariate {bad[0]!r} is {what} (on or after a causal path from {', '.join(x)} to "
            f"{', '.join(y)}): adjusting for it biases the effect; leave it out of the covariates",
            forbidden=bad,
        )
    found = _open_path(graph, x, y, z)
    if found is not None:
        given = f"given {{{', '.join(z)}}}" if z else "with no covariates"
        raise NotAdjustableError(
            f"the path {path_text(*found)} between the treatment and the outcomes stays open {given}: "
            "these covariates do not adjust for the confounding; add covariates that block it",
            path=found[0],
        )
    return z


def adjustment_set(graph: CausalGraph, treatment: str | Iterable[str], outcome: str | Iterable[str]) -> tuple[str, ...]:
    """A valid adjustment set for the effect of ``treatment`` on ``outcome``: the canonical one, in graph order.

    Every observed ancestor of the treatment or the outcomes that is not forbidden (so also the
    causes of the outcomes alone, which make the estimate more precise).

    Raises:
        NotAdjustableError: no set of the graph's variables adjusts; one line naming a path that stays
            open given the canonical set (and whether ID identifies the effect some other way).
    """
    x = _names(graph, treatment, "treatment")
    y = _names(graph, outcome, "outcomes")
    forbidden = forbidden_nodes(graph, x, y)
    mine = set(x) | set(y)
    ancestors = graph.ancestors(mine)
    canonical = tuple(v for v in graph.nodes if v in ancestors and v not in mine and v not in forbidden)
    found = _open_path(graph, x, y, canonical)
    if found is None:
        return canonical
    from lightning_causal.identification.api import identify

    try:
        identify(graph, x, y)
        other = "ID identifies the effect another way (e.g. the front door): use ID-GEN"
    except NotIdentifiableError:
        other = "the effect is not identifiable at all in this graph"
    given = f"given {{{', '.join(canonical)}}}" if canonical else "with no covariates"
    raise NotAdjustableError(
        f"no set of covariates adjusts for the effect of {', '.join(x)} on {', '.join(y)}: the path "
        f"{path_text(*found)} stays open {given} (the widest set that may be adjusted for); {other}",
        path=found[0],
    )
