"""One entry of a :class:`~lightning_causal.mechanisms.BankSet` seen through the ConditionalGenerator protocol.

Families evaluate their mechanisms in banks for speed; other parts of the framework (ID-GEN's
sampling network, user code) talk to one conditional model at a time. :class:`MechanismGenerator`
is that view: it shares the bank's parameters, so training the set trains the view and the other way
round; its loss is the bank's loss for that entry, its samples the bank's draws, and for trained
entries it is invertible (abduction by DDIM inversion or the Gumbel posterior, prediction by decoding).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from lightning_causal.errors import QueryError
from lightning_causal.generators.base import ConditionalGenerator
from lightning_causal.mechanisms.bank_set import BankSet

__all__ = ["MechanismGenerator"]


class MechanismGenerator(ConditionalGenerator):
    """P(target | inputs) of one entry of a bank set (a DCM node, an ID-GEN factor).

    Args:
        mechanisms: the bank set holding the entry.
        entry: the entry's name.
        sampler, steps, eta: how diffusion mechanisms sample (DDIM with ``steps`` steps, or DDPM).
        guidance: the classifier-free guidance weight of image mechanisms (default: the config's).
        description: how errors name the entry (default: ``P(target | inputs)``).
    """

    def __init__(
        self,
        mechanisms: BankSet,
        entry: str,
        sampler: str = "ddim",
        steps: int | None = None,
        eta: float | None = None,
        guidance: float | None = None,
        description: str | None = None,
    ) -> None:
        self.mechanisms = mechanisms
        self.entry = entry
        self.variable = mechanisms.targets[entry]
        self.inputs = mechanisms.inputs[entry]
        self.invertible = entry not in mechanisms.resampled
        self.sampler, self.steps, self.eta, self.guidance = sampler, steps, eta, guidance
        given = f" | {', '.join(self.inputs)}" if self.inputs else ""
        self.description = description or f"P({self.variable}{given})"

    def _encoded(self, inputs: Mapping[str, Tensor], n: int | None) -> Tensor:
        missing = [p for p in self.inputs if p not in inputs]
        if missing:
            raise QueryError(f"the generator of {self.variable} needs its input {missing[0]!r}")
        if not self.inputs:
            if n is None:
                raise QueryError(f"the generator of {self.variable} has no inputs: give n")
            return self.mechanisms.blank(n)
        return self.mechanisms.encode(inputs, self.inputs)

    def sample(self, inputs: Mapping[str, Tensor], rng: torch.Generator | None = None, n: int | None = None) -> Tensor:
        """One draw per row of ``inputs`` (``n`` draws when the entry has none), on the mechanisms' device."""
        encoded = self._encoded(inputs, n)
        return self.mechanisms.generate(
            [self.entry],
            encoded,
            rng,
            self.sampler,
            self.steps,
            self.eta,
            self.guidance,
            describe={self.entry: f"the factor {self.description}"},
        )[self.entry]

    def loss(self, targets: Tensor, inputs: Mapping[str, Tensor], rng: torch.Generator | None = None) -> Tensor:
        """The entry's training loss on a batch (DDPM or cross-entropy)."""
        if not self.invertible:
            return super().loss(targets, inputs, rng)  # a resampled entry has no loss
        return self.mechanisms.entry_loss(self.entry, {**inputs, self.variable: targets}, rng)

    def encode(self, targets: Tensor, inputs: Mapping[str, Tensor], rng: torch.Generator | None = None) -> Tensor:
        """Abduction: the latent of ``targets`` given ``inputs``."""
        if not self.invertible:
            return super().encode(targets, inputs, rng)
        values = {**inputs, self.variable: targets}
        encoded = self.mechanisms.encode(values, (*self.inputs, self.variable))
        return self.mechanisms.abduct(values, [self.entry], rng, self.steps, encoded=encoded)[self.entry]

    def decode(self, latents: Tensor, inputs: Mapping[str, Tensor]) -> Tensor:
        """Prediction: the value ``latents`` produce under ``inputs`` (deterministic)."""
        if not self.invertible:
            return super().decode(latents, inputs)
        encoded = self._encoded(inputs, len(latents))
        return self.mechanisms.generate(
            [self.entry], encoded, None, "ddim", self.steps, 0.0, latents={self.entry: latents}
        )[self.entry]

    def __repr__(self) -> str:
        return f"MechanismGenerator({self.description})"
