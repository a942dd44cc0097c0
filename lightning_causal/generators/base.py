"""The one protocol every conditional model implements.

A :class:`ConditionalGenerator` models P(``variable`` | ``inputs``). The sampling network of an
ID-GEN plan, the DCM and the models to come (DIME, IWDD) talk to generators only through this
protocol, so an exact table and a diffusion model are interchangeable and the merge logic can be
tested exactly without training anything.

* ``sample(inputs, rng, n)``: one draw per row of ``inputs`` (``n`` draws when there are none),
  from the explicit random number generator ``rng``;
* ``loss(targets, inputs, rng)``: the training loss on a batch, for generators trained by
  gradient descent (exact tables are fitted from counts and have none);
* ``encode`` / ``decode``: abduction of a latent that plays the exogenous noise, and the value a
  latent produces under new inputs, for invertible generators (``invertible = True``): what
  counterfactuals need.

Values are in data space, keyed by variable name. Each family keeps its own array type and RNG:
exact tables (:class:`~lightning_causal.generators.CategoricalTable`) take numpy arrays of codes
and a ``numpy.random.Generator``; neural generators take torch tensors (a float ``(batch, dim)``
tensor for a continuous variable, int64 codes ``(batch,)`` for a discrete one) and a
``torch.Generator`` on their device. The sampling network passes values and the RNG through
untouched, so it runs any family on any device. This module imports no torch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

__all__ = ["ConditionalGenerator"]


class ConditionalGenerator(ABC):
    """P(``variable`` | ``inputs``).

    Attributes:
        variable: the output variable.
        inputs: the conditioning variables, in a fixed order.
        invertible: whether :meth:`encode` and :meth:`decode` are available.
    """

    variable: str
    inputs: tuple[str, ...]
    invertible: bool = False

    @abstractmethod
    def sample(self, inputs: Mapping[str, Any], rng: Any = None, n: int | None = None) -> Any:
        """One draw per row of ``inputs`` (``n`` draws when there are no inputs), using ``rng``."""

    def loss(self, targets: Any, inputs: Mapping[str, Any], rng: Any = None) -> Any:
        """The training loss on a batch (a scalar), for generators trained by gradient descent."""
        raise NotImplementedError(f"the generator of {self.variable} is fitted, not trained by a loss")

    def encode(self, targets: Any, inputs: Mapping[str, Any], rng: Any = None) -> Any:
        """Abduction: the latent (exogenous noise) of ``targets`` given ``inputs``."""
        raise NotImplementedError(f"the generator of {self.variable} is not invertible")

    def decode(self, latents: Any, inputs: Mapping[str, Any]) -> Any:
        """Prediction: the value that ``latents`` produce under ``inputs``."""
        raise NotImplementedError(f"the generator of {self.variable} is not invertible")
