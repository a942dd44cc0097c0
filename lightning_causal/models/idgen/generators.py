"""ID-GEN's trained factors as conditional generators, and the values and RNG they take.

* :class:`FactorGenerator`: one factor of a :class:`~lightning_causal.models.idgen.FactorNetwork`
  through the :class:`~lightning_causal.generators.ConditionalGenerator` protocol, so the plan's
  sampling network (:func:`~lightning_causal.sampling.run_network`) runs trained models exactly as
  it runs exact tables;
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
from lightning_causal.models.idgen.factors import FactorNetwork
from lightning_causal.plan.parts import Factor
from lightning_causal.randomness import torch_rng
from lightning_causal.sampling.data import PlanData
from lightning_causal.sampling.kinds import GeneratorKind
from lightning_causal.variables.interventions import hard_value
from lightning_causal.variables.spec import VariableSpec

__all__ = ["FactorGenerator", "TensorKind"]


class FactorGenerator(ConditionalGenerator):
    """P(variable | inputs) of one trained factor (it shares the network's weights).

    Args:
        network: the factor network of the factor's dataset.
        name: the factor's name in the plan.
        sampler, steps, eta: how diffusion factors sample (DDIM with ``steps`` steps, or DDPM).
        guidance: the classifier-free guidance weight of image factors (default: the config's).
    """

    def __init__(
        self,
        network: FactorNetwork,
        name: str,
        sampler: str = "ddim",
        steps: int | None = None,
        eta: float = 0.0,
        guidance: float | None = None,
    ) -> None:
        factor = network.factors[name]
        self.network = network
        self.name = name
        self.variable = factor.variable
        self.inputs = factor.inputs
        self.sampler, self.steps, self.eta, self.guidance = sampler, steps, eta, guidance

    def sample(self, inputs: Mapping[str, Tensor], rng: torch.Generator | None = None, n: int | None = None) -> Tensor:
        missing = [v for v in self.inputs if v not in inputs]
        if missing:
            raise QueryError(f"the generator of {self.variable} needs its input {missing[0]!r}")
        if self.inputs:
            n = len(inputs[self.inputs[0]])
        elif n is None:
            raise QueryError(f"the generator of {self.variable} has no inputs: give n")
        return self.network.generate(self.name, inputs, n, rng, self.sampler, self.steps, self.eta, self.guidance)

    def loss(self, targets: Tensor, inputs: Mapping[str, Tensor], rng: torch.Generator | None = None) -> Tensor:
        net = self.network
        values = {**inputs, self.variable: targets}
        encoded = net.layout.encode(values, (*self.inputs, self.variable))
        if net.diffusion is not None and self.name in net.diffusion.position:
            return net.diffusion.loss(encoded, net.diffusion.index([self.name], encoded.device), rng)[0]
        if net.classifiers is not None and self.name in net.classifiers.position:
            index = net.classifiers.index([self.name], encoded.device)
            return net.classifiers.loss(encoded, targets.to(encoded.device).long().unsqueeze(0), index)[0]
        if net.images is not None and self.name in net.images.position:
            return net.images.loss(encoded, net.images.index([self.name], encoded.device), rng)[0]
        return super().loss(targets, inputs, rng)  # an empirical factor has no loss

    def __repr__(self) -> str:
        return f"FactorGenerator({self.network.factors[self.name]})"


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
