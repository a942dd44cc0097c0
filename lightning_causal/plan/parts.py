"""The parts of an ID-GEN sampling plan: factors to train, datasets, and sampling networks.

Plain frozen data classes with no imports from the rest of the project; the plan
(:mod:`lightning_causal.plan.sampling_plan`), its compiler, its text and JSON forms and the sampling
runner all read them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["INPUT", "Dataset", "Factor", "Network", "Node"]

INPUT = "input"
"""The source of a node input that is fed from outside the network."""


@dataclass(frozen=True)
class Factor:
    """One conditional generative model to train: ``variable`` given ``inputs`` on ``dataset``."""

    name: str
    variable: str
    inputs: tuple[str, ...]
    dataset: str
    stage: int
    origin: str

    def __str__(self) -> str:
        given = f" | {', '.join(self.inputs)}" if self.inputs else ""
        return f"P({self.variable}{given})"


@dataclass(frozen=True)
class Node:
    """A node of a sampling network: draw ``variable`` from ``factor`` given its sources.

    ``sources`` pairs each factor input with ``"input"`` (fed from outside) or the name of the
    node that produces it.
    """

    name: str
    variable: str
    factor: str
    sources: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Network:
    """A sampling network: nodes in sampling order, its input variables and its outputs."""

    nodes: tuple[Node, ...]
    inputs: tuple[str, ...]
    outputs: tuple[tuple[str, str], ...]  # (variable, node name)

    @property
    def output_variables(self) -> tuple[str, ...]:
        return tuple(v for v, _ in self.outputs)


@dataclass(frozen=True)
class Dataset:
    """A training dataset. ``D0`` is observed; the others are generated from ``source``."""

    name: str
    origin: str
    source: str | None = None
    copied: tuple[str, ...] = ()
    network: Network | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        generated = self.network.output_variables if self.network else ()
        return self.copied + generated
