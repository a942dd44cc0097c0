"""Running a wiring: ancestral sampling through any conditional generators.

:func:`run_wiring` walks a :class:`~lightning_causal.plan.Wiring` in its sampling order and asks
each node's generator for one draw per row, given the values of the node's sources (an input
of the wiring or an earlier node). It never looks at the values or at the RNG: exact tables (numpy) and
neural generators (torch, on any device) run through the same code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightning_causal.generators.base import ConditionalGenerator
from lightning_causal.plan.parts import INPUT, Wiring

__all__ = ["run_wiring"]


def run_wiring(
    wiring: Wiring,
    generators: Mapping[str, ConditionalGenerator],
    inputs: Mapping[str, Any],
    n: int,
    rng: Any,
) -> dict[str, Any]:
    """Ancestral sampling of ``n`` rows: returns ``{output variable: values}``.

    Args:
        wiring: the nodes in sampling order.
        generators: the fitted generator of every factor the nodes name.
        inputs: ``n`` values of every network input.
        n: rows to draw (needed by generators without inputs).
        rng: the random number generator the generators draw from.
    """
    produced: dict[str, Any] = {}
    for node in wiring.nodes:
        args = {v: (inputs[v] if src == INPUT else produced[src]) for v, src in node.sources}
        produced[node.name] = generators[node.factor].sample(args, rng, n=n)
    return {var: produced[name] for var, name in wiring.outputs}
