"""The parts of an ID-GEN sampling plan: factors to train, datasets, and wirings.

A *wiring* is how a sampling network's nodes connect: which factor draws each node, and where each
of its inputs comes from (from outside the network, or from an earlier node). The plan's merged
wiring, fitted with a generator per factor, is the :class:`~lightning_causal.SamplingNetwork` users
sample from; a generated dataset is drawn through a wiring too.

Plain frozen data classes (and the names of the ways a conditional query is met, :data:`CONDITIONING`)
that import nothing from the project but its errors; the plan
(:mod:`lightning_causal.plan.sampling_plan`), its compiler, its text and JSON forms and the sampling
runner all read them.
"""

from __future__ import annotations

from dataclasses import dataclass

from lightning_causal.errors import QueryError

__all__ = [
    "CONDITIONING",
    "INPUT",
    "MARGINALS",
    "Dataset",
    "Factor",
    "Node",
    "Wiring",
    "check_conditioning",
    "check_marginals",
]

INPUT = "input"
"""The source of a node input that is fed from outside the wiring."""


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
    """A node of a wiring: draw ``variable`` from ``factor`` given its sources.

    ``sources`` pairs each factor input with ``"input"`` (fed from outside) or the name of the
    node that produces it.
    """

    name: str
    variable: str
    factor: str
    sources: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Wiring:
    """How a sampling network is wired: nodes in sampling order, its input variables and its outputs."""

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
    wiring: Wiring | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        generated = self.wiring.output_variables if self.wiring else ()
        return self.copied + generated


_MARGINALS = {
    "compose": "draw a generated dataset's marginal with the factors that generate it",
    "learn": "train a factor on the generated rows",
}
MARGINALS = tuple(_MARGINALS)
"""How an S1 marginal of an update's generated dataset is drawn (see ``plan/compile.py``)."""

_CONDITIONING = {
    "auto": "selection for discrete conditions, a learned stage otherwise",
    "learn": "IDC-GEN's learned stage",
    "select": "keep the joint draws that match",
}
CONDITIONING = tuple(_CONDITIONING)
"""How a conditional query's remaining conditions are met (see the module docstring)."""


def _check_choice(key: str, value: object, choices: dict[str, str]) -> str:
    """``value`` checked to be one of ``choices`` (each with what it does), else a one-line QueryError."""
    if value not in choices:
        named = [f"{c!r} ({meaning})" for c, meaning in choices.items()]
        raise QueryError(f"{key} is {value!r}; use {', '.join(named[:-1])} or {named[-1]}")
    return str(value)


def check_marginals(marginals: object) -> str:
    """``marginals`` checked to be one of :data:`MARGINALS`."""
    return _check_choice("marginals", marginals, _MARGINALS)


def check_conditioning(conditioning: object) -> str:
    """``conditioning`` checked to be one of :data:`CONDITIONING`."""
    return _check_choice("conditioning", conditioning, _CONDITIONING)
