"""The exact conditional generator for discrete variables: a conditional probability table.

Fitted from counts (sample data) or from an exact joint table, it samples exactly from the
empirical (or exact) conditional distribution, so a sampling network built from such tables can be
tested against the ID estimand without any training noise. Input configurations never seen in the
data fall back to the variable's marginal in the training data (a back-off that matters only off
the support, where ID's positivity assumption does not hold anyway).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from lightning_causal.errors import QueryError
from lightning_causal.generators.base import ConditionalGenerator

__all__ = ["MAX_TABLE_ENTRIES", "CategoricalTable"]

MAX_TABLE_ENTRIES = 20_000_000
"""The largest conditional probability table fitted (160 MB of float64)."""


class CategoricalTable(ConditionalGenerator):
    """P(variable | inputs) as a table with axes (inputs..., variable); numpy codes and RNG.

    Args:
        variable: the output variable.
        inputs: the conditioning variables, in the order of the table's axes.
        cardinalities: number of values of the output and of every input.
    """

    def __init__(self, variable: str, inputs: Sequence[str], cardinalities: Mapping[str, int]) -> None:
        self.variable = variable
        self.inputs = tuple(inputs)
        self.shape = tuple(int(cardinalities[v]) for v in (*self.inputs, variable))
        entries = math.prod(self.shape)
        if entries > MAX_TABLE_ENTRIES:
            sizes = " x ".join(str(k) for k in self.shape)
            raise QueryError(
                f"the exact table of {self._text()} would hold {sizes} = {entries:,} entries "
                f"({entries * 8 / 2**30:.1f} GiB), more than the limit of {MAX_TABLE_ENTRIES:,}; "
                "fit this plan on fewer categories or with a generative model"
            )
        self.probs: np.ndarray = np.full(self.shape, 1.0 / self.shape[-1])

    def fit_samples(self, target: np.ndarray, inputs: Mapping[str, np.ndarray]) -> CategoricalTable:
        """Counts of ``target`` for every input configuration (maximum likelihood)."""
        columns = [np.asarray(inputs[v], dtype=np.int64) for v in self.inputs] + [np.asarray(target, dtype=np.int64)]
        flat = np.ravel_multi_index(tuple(columns), self.shape) if columns[0].size else np.zeros(0, dtype=np.int64)
        counts = np.bincount(flat, minlength=int(np.prod(self.shape))).reshape(self.shape).astype(np.float64)
        return self.fit_joint(counts)

    def fit_joint(self, joint: np.ndarray) -> CategoricalTable:
        """From a (possibly unnormalised) joint table with axes (inputs..., variable)."""
        joint = np.asarray(joint, dtype=np.float64)
        if joint.shape != self.shape:
            raise QueryError(f"joint table for {self.variable} has shape {joint.shape}, expected {self.shape}")
        marginal = joint.reshape(-1, self.shape[-1]).sum(axis=0)
        total = marginal.sum()
        fallback = marginal / total if total > 0 else np.full(self.shape[-1], 1.0 / self.shape[-1])
        mass = joint.sum(axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.probs = np.where(mass > 0, joint / np.where(mass > 0, mass, 1.0), fallback)
        return self

    def sample(
        self, inputs: Mapping[str, np.ndarray], rng: np.random.Generator | None = None, n: int | None = None
    ) -> np.ndarray:
        """One draw per row of ``inputs`` (or ``n`` draws when there are no inputs)."""
        if self.inputs:
            index = tuple(np.asarray(inputs[v], dtype=np.int64) for v in self.inputs)
            rows = self.probs[index]
        else:
            if n is None:
                raise ValueError("n is needed to sample a table without inputs")
            rows = np.broadcast_to(self.probs, (n, self.shape[-1]))
        cdf = np.cumsum(rows, axis=-1)
        rng = np.random.default_rng(rng)
        u = rng.random(rows.shape[0]) * cdf[:, -1]
        return np.minimum((cdf < u[:, None]).sum(axis=-1), self.shape[-1] - 1).astype(np.int64)

    def _text(self) -> str:
        given = f" | {', '.join(self.inputs)}" if self.inputs else ""
        return f"P({self.variable}{given})"

    def __repr__(self) -> str:
        return f"CategoricalTable({self._text()}, shape={self.shape})"
