"""The values and RNG ID-GEN's trained factors take in the sampling network.

* :class:`TensorKind`: what the sampling network needs of a generator family whose values are
  torch tensors (``(n, dim)`` floats for continuous variables, ``(n,)`` int64 codes for discrete
  ones) on one device and whose RNG is a ``torch.Generator``: fixed values checked against the
  variables' specs, and the RNG made from a seed. Training is not its business: the trained
  module (:class:`~lightning_causal.models.IDGEN`) or the ``"diffusion"`` kind does it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from lightning_causal.errors import QueryError
from lightning_causal.generators.base import ConditionalGenerator
from lightning_causal.plan.parts import Factor
from lightning_causal.randomness import torch_rng
from lightning_causal.sampling.data import PlanData
from lightning_causal.sampling.kinds import GeneratorKind
from lightning_causal.variables.interventions import hard_value
from lightning_causal.variables.spec import VariableSpec

__all__ = ["TensorKind"]


class TensorKind(GeneratorKind):
    """Torch values and a ``torch.Generator`` on ``device``, checked against ``variables``.

    Args:
        variables: the spec of every variable a value may be fixed for.
        device: where fixed values and the RNG live.
    """

    name = "tensor"

    def __init__(self, variables: Mapping[str, VariableSpec], device: torch.device | str = "cpu") -> None:
        self.variables = dict(variables)
        self.device = torch.device(device)

    def observe(self, data: Any, needed: Sequence[str], cardinalities: Mapping[str, int] | None) -> PlanData:
        raise QueryError("TensorKind samples trained networks; fit plans with generator='diffusion'")

    def fit(self, factors: Sequence[Factor], data: PlanData) -> dict[str, ConditionalGenerator]:
        raise QueryError("TensorKind samples trained networks; fit plans with generator='diffusion'")

    def rng(self, seed: Any) -> torch.Generator:
        return torch_rng(seed, self.device, what="seed")

    def constants(self, values: Mapping[str, Any], n: int, data: PlanData) -> dict[str, Tensor]:
        out = {}
        for name, value in values.items():
            spec = self.variables.get(name)
            if spec is None:
                raise QueryError(f"unknown variable {name!r}; the model has {', '.join(self.variables)}")
            out[name] = hard_value(spec, value, n, self.device)
        return out
