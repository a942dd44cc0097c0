"""Torch values and a ``torch.Generator``: the value space of trained generators.

Values are torch tensors (``(n, dim)`` floats for a continuous variable, ``(n,)`` int64 codes for a
discrete one, ``(n, C, H, W)`` images) on one device; the RNG is a ``torch.Generator`` there. Fixed
values are checked against the variables' specs as interventions are everywhere
(:func:`~lightning_causal.variables.hard_value`). This module imports torch, so the sampling package
loads it on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from lightning_causal.errors import QueryError
from lightning_causal.randomness import torch_rng
from lightning_causal.sampling.data import PlanData
from lightning_causal.sampling.value_space import ValueSpace
from lightning_causal.variables.interventions import hard_value
from lightning_causal.variables.spec import VariableSpec

__all__ = ["TensorValueSpace"]


class TensorValueSpace(ValueSpace):
    """Torch values and a ``torch.Generator`` on ``device``, checked against ``variables``.

    Args:
        variables: the spec of every variable a value may be fixed for.
        device: where fixed values and the RNG live.
    """

    def __init__(self, variables: Mapping[str, VariableSpec], device: torch.device | str = "cpu") -> None:
        self.variables = dict(variables)
        self.device = torch.device(device)

    def rng(self, seed: Any) -> torch.Generator:
        """``seed`` itself if it is a ``torch.Generator``, else one on the device seeded with it (0 for None)."""
        return torch_rng(seed, self.device, what="seed")

    def constants(self, values: Mapping[str, Any], n: int, data: PlanData) -> dict[str, Tensor]:
        """Each value as ``n`` rows in data space on the device (:func:`~lightning_causal.variables.hard_value`)."""
        out = {}
        for name, value in values.items():
            spec = self.variables.get(name)
            if spec is None:
                raise QueryError(f"unknown variable {name!r}; the model has {', '.join(self.variables)}")
            out[name] = hard_value(spec, value, n, self.device)
        return out
