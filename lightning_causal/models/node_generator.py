"""One node of a :class:`DCMNetwork` seen through the :class:`ConditionalGenerator` interface.

DCM evaluates its node models in banks for speed; other parts of the framework (ID-GEN's sampling
network, user code) talk to one conditional model at a time. ``network.generator(name)`` returns
this view: it shares the bank's parameters, so training the network trains the view and the
other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from lightning_causal.diffusion import ddpm_loss
from lightning_causal.errors import QueryError
from lightning_causal.generators.base import ConditionalGenerator

if TYPE_CHECKING:
    from lightning_causal.models.dcm_network import DCMNetwork

__all__ = ["NodeGenerator"]


class NodeGenerator(ConditionalGenerator):
    """P(node | parents) of a DCM network: diffusion for continuous nodes, Gumbel-max for discrete ones."""

    invertible = True

    def __init__(self, network: DCMNetwork, name: str) -> None:
        if name not in network.modelled:
            raise QueryError(f"node {name!r} has no trained generator (roots take the empirical distribution)")
        self.network = network
        self.variable = name
        self.inputs = network.parents[name]
        self.diffusion = name in network.diffusion_nodes
        self.index = torch.tensor([network.bank_position[name]], device=network.device)

    def _encoded(self, inputs: Mapping[str, Tensor], n: int | None) -> Tensor:
        missing = [p for p in self.inputs if p not in inputs]
        if missing:
            raise QueryError(f"the generator of {self.variable} needs its parent {missing[0]!r}")
        if not self.inputs:
            if n is None:
                raise QueryError(f"the generator of {self.variable} has no inputs: give n")
            return torch.zeros(n, self.network.width + 1, device=self.network.device)
        return self.network.encode(inputs, self.inputs)

    def loss(self, targets: Tensor, inputs: Mapping[str, Tensor], generator: torch.Generator | None = None) -> Tensor:
        net = self.network
        values = {**inputs, self.variable: targets}
        encoded = net.encode(values, (*self.inputs, self.variable))
        if self.diffusion:
            cond = net.gather(encoded, net.diff_cond[self.index])
            x0 = net.gather(encoded, net.diff_target[self.index])
            mask = net.diff_mask[self.index]
            return ddpm_loss(lambda x, t: net.eps(x, t, cond, self.index), net.schedule, x0, generator, mask).mean()
        logits = net.logits(encoded, self.index)[0]
        return torch.nn.functional.cross_entropy(logits, targets.to(logits.device).long())

    def sample(
        self, inputs: Mapping[str, Tensor], generator: torch.Generator | None = None, n: int | None = None
    ) -> Tensor:
        with torch.no_grad():
            return self.network.generate([self.variable], self._encoded(inputs, n), generator, "ddim", None, 0.0)[
                self.variable
            ].cpu()

    def encode(self, targets: Tensor, inputs: Mapping[str, Tensor], generator: torch.Generator | None = None) -> Tensor:
        values = {**inputs, self.variable: targets}
        return self.network.abduct(_complete(self.network, values), [self.variable], generator)[self.variable]

    def decode(self, latents: Tensor, inputs: Mapping[str, Tensor]) -> Tensor:
        with torch.no_grad():
            n = len(latents)
            encoded = self._encoded(inputs, n)
            return self.network.generate(
                [self.variable], encoded, None, "ddim", None, 0.0, latents={self.variable: latents}
            )[self.variable].cpu()


def _complete(network: DCMNetwork, values: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Fill the variables abduction does not read with zeros, so the full encoding can be built."""
    n = len(next(iter(values.values())))
    out = dict(values)
    for name, spec in network.variables.items():
        if name not in out:
            out[name] = torch.zeros(n, spec.dim) if spec.kind == "continuous" else torch.zeros(n, dtype=torch.long)
    return out
