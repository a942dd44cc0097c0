"""One node of a :class:`DCMNetwork` seen through the :class:`ConditionalGenerator` protocol.

DCM evaluates its node models in banks for speed; other parts of the framework (ID-GEN's sampling
network, user code) talk to one conditional model at a time. :class:`NodeGenerator` is that view:
it shares the bank's parameters, so training the network trains the view and the other way round,
and its loss is the bank's loss for that node.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from lightning_causal.errors import QueryError
from lightning_causal.generators.base import ConditionalGenerator
from lightning_causal.models.dcm.network import DCMNetwork

__all__ = ["NodeGenerator"]


class NodeGenerator(ConditionalGenerator):
    """P(node | parents) of a DCM network: diffusion for continuous nodes, Gumbel-max for discrete ones.

    Args:
        network: the DCM network.
        name: a modelled node (roots with an empirical distribution have no generator).
    """

    invertible = True

    def __init__(self, network: DCMNetwork, name: str) -> None:
        if name not in network.modelled:
            raise QueryError(f"node {name!r} has no trained generator (roots take the empirical distribution)")
        self.network = network
        self.variable = name
        self.inputs = network.parents[name]

    def _encoded(self, inputs: Mapping[str, Tensor], n: int | None) -> Tensor:
        missing = [p for p in self.inputs if p not in inputs]
        if missing:
            raise QueryError(f"the generator of {self.variable} needs its parent {missing[0]!r}")
        if not self.inputs:
            if n is None:
                raise QueryError(f"the generator of {self.variable} has no inputs: give n")
            return torch.zeros(n, self.network.layout.width + 1, device=self.network.device)
        return self.network.encode(inputs, self.inputs)

    def loss(self, targets: Tensor, inputs: Mapping[str, Tensor], rng: torch.Generator | None = None) -> Tensor:
        net = self.network
        encoded = net.encode({**inputs, self.variable: targets}, (*self.inputs, self.variable))
        if net.diffusion is not None and self.variable in net.diffusion.position:
            return net.diffusion.loss(encoded, net.diffusion.index([self.variable], encoded.device), rng)[0]
        assert net.classifiers is not None
        index = net.classifiers.index([self.variable], encoded.device)
        return net.classifiers.loss(encoded, targets.to(encoded.device).long().unsqueeze(0), index)[0]

    def sample(self, inputs: Mapping[str, Tensor], rng: torch.Generator | None = None, n: int | None = None) -> Tensor:
        with torch.no_grad():
            encoded = self._encoded(inputs, n)
            return self.network.generate([self.variable], encoded, rng, "ddim", None, 0.0)[self.variable].cpu()

    def encode(self, targets: Tensor, inputs: Mapping[str, Tensor], rng: torch.Generator | None = None) -> Tensor:
        values = {**inputs, self.variable: targets}
        return self.network.abduct(_complete(self.network, values), [self.variable], rng)[self.variable]

    def decode(self, latents: Tensor, inputs: Mapping[str, Tensor]) -> Tensor:
        with torch.no_grad():
            encoded = self._encoded(inputs, len(latents))
            return self.network.generate(
                [self.variable], encoded, None, "ddim", None, 0.0, latents={self.variable: latents}
            )[self.variable].cpu()


def _complete(network: DCMNetwork, values: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Fill the variables abduction does not read with zeros, so the full encoding can be built."""
    n = len(next(iter(values.values())))
    out = dict(values)
    for name, spec in network.variables.items():
        if name not in out:
            if spec.is_image:
                out[name] = torch.zeros(n, *spec.image_shape)
            else:
                out[name] = torch.zeros(n, spec.dim) if spec.kind == "continuous" else torch.zeros(n, dtype=torch.long)
    return out
