"""The one interface every conditional model implements.

A :class:`ConditionalGenerator` models P(variable | inputs). Targets and inputs are in data space
(a continuous variable is a float tensor (batch, dim), a discrete one an int64 tensor (batch,) of
codes), and inputs come as a dict keyed by variable name, so the sampling network of DCM or of an
ID-GEN plan can call any generator the same way. Invertible generators also map a target to a
latent that plays the exogenous noise (``encode``) and back (``decode``), which is what
counterfactual abduction needs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

import torch
from torch import Tensor

__all__ = ["ConditionalGenerator"]


class ConditionalGenerator(ABC):
    """P(``variable`` | ``inputs``)."""

    variable: str
    inputs: tuple[str, ...]
    invertible: bool = False

    @abstractmethod
    def loss(self, targets: Tensor, inputs: Mapping[str, Tensor], generator: torch.Generator | None = None) -> Tensor:
        """The training loss on a batch (a scalar)."""

    @abstractmethod
    def sample(
        self, inputs: Mapping[str, Tensor], generator: torch.Generator | None = None, n: int | None = None
    ) -> Tensor:
        """One draw per row of ``inputs`` (``n`` draws when there are no inputs)."""

    def encode(self, targets: Tensor, inputs: Mapping[str, Tensor], generator: torch.Generator | None = None) -> Tensor:
        """Abduction: the latent (exogenous noise) of ``targets`` given ``inputs``."""
        raise NotImplementedError(f"the generator of {self.variable} is not invertible")

    def decode(self, latents: Tensor, inputs: Mapping[str, Tensor]) -> Tensor:
        """Prediction: the value that ``latents`` produce under ``inputs``."""
        raise NotImplementedError(f"the generator of {self.variable} is not invertible")
