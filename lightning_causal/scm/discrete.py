"""Discrete structural causal models with explicit latent confounders, and their exact distributions.

Every bidirected edge ``A <-> B`` of the graph becomes a latent root ``U`` with children A and B.
Each observed variable has a conditional probability table given its observed parents and its
latents. Observational, interventional and conditional interventional distributions are computed
exactly by summing the product of all tables over every unobserved configuration (in the
mutilated model for interventions), with ``numpy.einsum``: the brute-force truth that estimands
and sampling networks are tested against.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lightning_causal.distribution import DiscreteDistribution
from lightning_causal.errors import QueryError
from lightning_causal.graph.causal_graph import CausalGraph

__all__ = ["DiscreteSCM", "Latent"]

_LETTERS = string.ascii_letters


@dataclass(frozen=True)
class Latent:
    """A latent confounder: its name, its two observed children and its prior over 0..k-1."""

    name: str
    children: tuple[str, str]
    prior: np.ndarray


class DiscreteSCM:
    """A discrete SCM over ``graph`` with one latent variable per bidirected edge.

    Args:
        graph: the causal graph.
        cardinalities: number of values of each observed variable.
        latents: the latent confounders (one per bidirected edge).
        tables: for each observed variable, its table with axes (observed parents in the graph's
            order, then its latents in ``latents`` order, then the variable itself).

    Use :meth:`random` to draw one.
    """

    def __init__(
        self,
        graph: CausalGraph,
        cardinalities: Mapping[str, int],
        latents: Sequence[Latent],
        tables: Mapping[str, np.ndarray],
    ) -> None:
        self.graph = graph
        self.cardinalities = dict(cardinalities)
        self.latents = tuple(latents)
        self.tables = {k: np.asarray(v, dtype=np.float64) for k, v in tables.items()}
        self._parents = {v: graph.parents(v) for v in graph.nodes}
        self._latents_of = {v: tuple(u.name for u in self.latents if v in u.children) for v in graph.nodes}
        if len(graph.nodes) + len(self.latents) > len(_LETTERS):
            raise QueryError(f"exact enumeration supports at most {len(_LETTERS)} observed plus latent variables")

    @classmethod
    def random(
        cls,
        graph: CausalGraph,
        seed: int | np.random.Generator | None = None,
        cardinality: tuple[int, int] = (2, 3),
        latent_cardinality: tuple[int, int] = (2, 3),
        concentration: float = 1.0,
    ) -> DiscreteSCM:
        """Random tables: each row ~ Dirichlet(concentration); sizes uniform in the given ranges."""
        rng = np.random.default_rng(seed)
        cards = {v: int(rng.integers(cardinality[0], cardinality[1] + 1)) for v in graph.nodes}
        latents = []
        for k, (a, b) in enumerate(graph.bidirected):
            size = int(rng.integers(latent_cardinality[0], latent_cardinality[1] + 1))
            latents.append(Latent(f"U{k}_{a}_{b}", (a, b), rng.dirichlet([concentration] * size)))
        tables = {}
        for v in graph.nodes:
            shape = [cards[p] for p in graph.parents(v)]
            shape += [len(u.prior) for u in latents if v in u.children]
            rows = rng.dirichlet([concentration] * cards[v], size=int(np.prod(shape, dtype=int)))
            tables[v] = rows.reshape([*shape, cards[v]])
        return cls(graph, cards, latents, tables)

    # ------------------------------------------------------------------ exact distributions
    def _joint(self, interventions: Mapping[str, int]) -> DiscreteDistribution:
        letters = {}
        names = list(self.graph.nodes) + [u.name for u in self.latents]
        for k, name in enumerate(names):
            letters[name] = _LETTERS[k]
        operands: list[np.ndarray] = []
        subscripts: list[str] = []
        for u in self.latents:
            operands.append(u.prior)
            subscripts.append(letters[u.name])
        for v in self.graph.nodes:
            if v in interventions:  # mutilated model: v is set, its mechanism removed
                point = np.zeros(self.cardinalities[v])
                point[interventions[v]] = 1.0
                operands.append(point)
                subscripts.append(letters[v])
                continue
            axes = self._parents[v] + self._latents_of[v] + (v,)
            operands.append(self.tables[v])
            subscripts.append("".join(letters[a] for a in axes))
        out = "".join(letters[v] for v in self.graph.nodes)
        table = np.einsum(",".join(subscripts) + "->" + out, *operands, optimize="greedy")
        return DiscreteDistribution(self.graph.nodes, table)

    def observational(self) -> DiscreteDistribution:
        """The exact joint P(V) of the observed variables."""
        return self._joint({})

    def _check(self, interventions: Mapping[str, int]) -> None:
        """Every intervened variable exists and takes a code in range."""
        for name, value in interventions.items():
            if name not in self.cardinalities:
                raise QueryError(f"unknown variable {name!r} in interventions")
            if not 0 <= int(value) < self.cardinalities[name]:
                raise QueryError(f"value {value} for {name} is out of range 0..{self.cardinalities[name] - 1}")

    def interventional(
        self,
        outcome: Sequence[str],
        interventions: Mapping[str, int],
        given: Mapping[str, int] | None = None,
    ) -> DiscreteDistribution:
        """The exact P(outcome | do(interventions), given) in the mutilated model."""
        self._check(interventions)
        joint = self._joint({k: int(v) for k, v in interventions.items()})
        if given:
            joint = joint.condition(given)
        return joint.marginal(tuple(outcome))

    def sample(
        self,
        n: int,
        seed: int | np.random.Generator | None = None,
        interventions: Mapping[str, int] | None = None,
    ) -> dict[str, np.ndarray]:
        """``n`` draws of the observed variables (latents drawn and discarded), ancestrally."""
        rng = np.random.default_rng(seed)
        interventions = dict(interventions or {})
        self._check(interventions)
        values: dict[str, np.ndarray] = {}
        for u in self.latents:
            values[u.name] = _draw(np.broadcast_to(u.prior, (n, len(u.prior))), rng)
        for v in self.graph.topological_order():
            if v in interventions:
                values[v] = np.full(n, int(interventions[v]), dtype=np.int64)
                continue
            table = self.tables[v]
            index = tuple(values[a] for a in self._parents[v] + self._latents_of[v])
            values[v] = _draw(table[index] if index else np.broadcast_to(table, (n, table.shape[-1])), rng)
        return {v: values[v] for v in self.graph.nodes}


def _draw(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per row of ``probs``."""
    cdf = np.cumsum(probs, axis=-1)
    u = rng.random(probs.shape[0]) * cdf[:, -1]
    return np.minimum((cdf < u[:, None]).sum(axis=-1), probs.shape[-1] - 1).astype(np.int64)
