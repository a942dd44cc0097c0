"""The classic graphs of the identification literature, each with its textbook query."""

from __future__ import annotations

from dataclasses import dataclass, field

from lightning_causal.errors import GraphError
from lightning_causal.graph.causal_graph import CausalGraph

__all__ = ["NAMED_GRAPHS", "NamedGraph", "named_graph"]


@dataclass(frozen=True)
class NamedGraph:
    """A named graph with a query worth asking of it."""

    name: str
    description: str
    directed: tuple[tuple[str, str], ...]
    bidirected: tuple[tuple[str, str], ...] = ()
    treatment: tuple[str, ...] = ("X",)
    outcome: tuple[str, ...] = ("Y",)
    condition: tuple[str, ...] = field(default=())

    @property
    def graph(self) -> CausalGraph:
        return CausalGraph(directed=self.directed, bidirected=self.bidirected)


NAMED_GRAPHS: dict[str, NamedGraph] = {
    g.name: g
    for g in (
        NamedGraph(
            "backdoor",
            "Z confounds X and Y and is observed: adjust for Z",
            directed=(("Z", "X"), ("Z", "Y"), ("X", "Y")),
        ),
        NamedGraph(
            "frontdoor",
            "X and Y share a latent cause; the mediator Z carries the whole effect",
            directed=(("X", "Z"), ("Z", "Y")),
            bidirected=(("X", "Y"),),
        ),
        NamedGraph(
            "instrumental",
            "instrument Z -> X -> Y with X <-> Y: not identifiable without parametric assumptions",
            directed=(("Z", "X"), ("X", "Y")),
            bidirected=(("X", "Y"),),
        ),
        NamedGraph(
            "bow",
            "the bow arc X -> Y with X <-> Y: the smallest hedge",
            directed=(("X", "Y"),),
            bidirected=(("X", "Y"),),
        ),
        NamedGraph(
            "napkin",
            "Pearl's napkin: identifiable only through a line-7 (c-component) step",
            directed=(("W1", "W2"), ("W2", "X"), ("X", "Y")),
            bidirected=(("W1", "X"), ("W1", "Y")),
        ),
        NamedGraph(
            "verma",
            "Verma's graph: V1 -> V2 -> V3 -> V4 with V1 <-> V3 and V2 <-> V4",
            directed=(("V1", "V2"), ("V2", "V3"), ("V3", "V4")),
            bidirected=(("V1", "V3"), ("V2", "V4")),
            treatment=("V3",),
            outcome=("V4",),
        ),
        NamedGraph(
            "conditional",
            "front-door with a proxy Z of the outcome: P(Y | do(X), Z) needs IDC (Z cannot be moved by rule 2)",
            directed=(("X", "M"), ("M", "Y"), ("Y", "Z")),
            bidirected=(("X", "Y"),),
            condition=("Z",),
        ),
        NamedGraph(
            "deep",
            "two nested line-7 updates: a stress test for ID-GEN's dataset updates",
            directed=(("A", "B"), ("B", "C"), ("C", "X"), ("X", "Y"), ("A", "C")),
            bidirected=(("A", "X"), ("A", "Y"), ("B", "Y"), ("C", "Y")),
        ),
    )
}


def named_graph(name: str) -> NamedGraph:
    """Look up a named graph (``backdoor``, ``frontdoor``, ``napkin``, ...)."""
    try:
        return NAMED_GRAPHS[name]
    except KeyError:
        raise GraphError(f"no built-in graph named {name!r}; choose one of {', '.join(NAMED_GRAPHS)}") from None
