"""Exact evaluation of networks of conditional probability tables (variable elimination).

When a plan is fitted with exact categorical tables, the distribution a network samples from can be
computed exactly: :func:`wiring_joint` multiplies each node's table in, in the network's order,
and sums out every node value that no later node reads and that is not an output. This is what
lets the ID-GEN merge logic be tested against the ID estimand to 1e-9, with no sampling noise.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from lightning_causal.distribution import DiscreteDistribution
from lightning_causal.errors import QueryError
from lightning_causal.generators.categorical import CategoricalTable
from lightning_causal.plan.parts import INPUT, Wiring

__all__ = ["MAX_EXACT_ENTRIES", "wiring_joint"]

MAX_EXACT_ENTRIES = 20_000_000
"""The largest intermediate table variable elimination builds."""


def wiring_joint(
    wiring: Wiring,
    tables: Mapping[str, CategoricalTable],
    inputs: DiscreteDistribution,
    keep_inputs: tuple[str, ...] | None = None,
) -> DiscreteDistribution:
    """The exact joint of (kept inputs, outputs) when the inputs follow ``inputs``.

    Variable elimination in the network's order: multiply each node's table in, then sum out every
    node value that no later node reads and that is not an output.
    """
    keep_inputs = inputs.variables if keep_inputs is None else keep_inputs
    axes: list[str] = [f"in:{v}" for v in inputs.variables]
    table = inputs.probs
    last_use: dict[str, int] = {}
    for k, node in enumerate(wiring.nodes):
        for v, src in node.sources:
            last_use[f"in:{v}" if src == INPUT else src] = k
    outputs = {name for _, name in wiring.outputs}
    keep = {f"in:{v}" for v in keep_inputs} | outputs
    for k, node in enumerate(wiring.nodes):
        gen = tables[node.factor]
        if not isinstance(gen, CategoricalTable):
            raise QueryError(
                f"exact evaluation needs conditional probability tables, but factor {node.factor} is a "
                f"{type(gen).__name__}; fit the plan with learner='categorical' or draw samples instead"
            )
        node_axes = [*(f"in:{v}" if src == INPUT else src for v, src in node.sources), node.name]
        letters = {a: chr(65 + i) if i < 26 else chr(71 + i) for i, a in enumerate(dict.fromkeys(axes + node_axes))}
        result_axes = [*axes, node.name]
        dropped = [a for a in result_axes if last_use.get(a, -1) <= k and a not in keep]
        result_axes = [a for a in result_axes if a not in dropped]
        size = int(np.prod([_size(a, axes, table, node_axes, gen.probs) for a in result_axes]))
        if size > MAX_EXACT_ENTRIES:
            raise QueryError(
                f"exact evaluation of this network needs a table of {size:,} entries; fit on samples instead"
            )
        spec = (
            "".join(letters[a] for a in axes)
            + ","
            + "".join(letters[a] for a in node_axes)
            + "->"
            + "".join(letters[a] for a in result_axes)
        )
        table = np.einsum(spec, table, gen.probs)
        axes = result_axes
    # sum out inputs that were only needed along the way
    drop = tuple(i for i, a in enumerate(axes) if a not in keep)
    if drop:
        table = table.sum(axis=drop)
        axes = [a for a in axes if a in keep]
    names = {name: var for var, name in wiring.outputs}
    variables = [names[a] if a in names else a[3:] for a in axes]
    return DiscreteDistribution(variables, table)


def _size(axis: str, axes: list[str], table: np.ndarray, node_axes: list[str], probs: np.ndarray) -> int:
    if axis in axes:
        return int(table.shape[axes.index(axis)])
    return int(probs.shape[node_axes.index(axis)])
