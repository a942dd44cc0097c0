"""How one family of generators represents values and randomness, as the sampling network needs it.

Exact tables take NumPy arrays of class codes and a ``numpy.random.Generator``; neural generators take
torch tensors on a device and a ``torch.Generator``. The sampling network passes values and the RNG
through untouched; it asks a :class:`ValueSpace` for the two things it makes itself: the RNG a query
draws from (:meth:`ValueSpace.rng`) and the network inputs a user fixes, interventions and conditions
(:meth:`ValueSpace.constants`). :class:`NumpyValueSpace` is the exact tables' space; the torch one is
:class:`~lightning_causal.sampling.tensor_space.TensorValueSpace`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np

from lightning_causal.errors import QueryError, listing
from lightning_causal.sampling.data import PlanData
from lightning_causal.values import check_value

__all__ = ["NumpyValueSpace", "ValueSpace"]


class ValueSpace(ABC):
    """The values and RNG of one family of generators."""

    @abstractmethod
    def rng(self, seed: Any) -> Any:
        """The random number generator the generators draw from, seeded with ``seed`` (or ``seed`` itself)."""

    @abstractmethod
    def constants(self, values: Mapping[str, Any], n: int, data: PlanData) -> dict[str, Any]:
        """``n`` rows of each fixed value (an intervention or a condition), checked against ``data``."""

    @staticmethod
    def concat(parts: list[Any]) -> Any:
        """The rows of ``parts`` (values of one variable) one after the other (NumPy arrays or torch tensors)."""
        if _is_torch(parts[0]):
            import torch  # only spaces of torch values pass tensors

            return torch.cat(parts)
        return np.concatenate(parts)

    @staticmethod
    def take(values: Any, index: np.ndarray) -> Any:
        """The rows ``index`` (an int array) of ``values`` (a NumPy array or a torch tensor)."""
        if _is_torch(values):
            import torch

            return values[torch.as_tensor(index, device=values.device)]
        return values[index]

    @staticmethod
    def equal_rows(values: Any, target: Any) -> np.ndarray:
        """Per row, whether ``values`` equals ``target`` (same shape) in every coordinate, as a NumPy bool array."""
        same = values == target
        same = same.reshape(len(same), -1).all(1)
        return same.cpu().numpy() if _is_torch(same) else np.asarray(same)


def _is_torch(values: Any) -> bool:
    return type(values).__module__.startswith("torch")


class NumpyValueSpace(ValueSpace):
    """Class codes as int64 NumPy arrays and a ``numpy.random.Generator`` (exact tables)."""

    def rng(self, seed: Any) -> np.random.Generator:
        """``numpy.random.default_rng(seed)``."""
        return np.random.default_rng(seed)

    def constants(self, values: Mapping[str, Any], n: int, data: PlanData) -> dict[str, np.ndarray]:
        """Each value checked as a class code of its variable, repeated ``n`` times."""
        cards = data.cardinalities
        unknown = [v for v in values if v not in cards]
        if unknown:
            raise QueryError(f"unknown variable {unknown[0]!r}; the data have {listing(cards)}")
        return {v: np.full(n, check_value(v, value, cards[v]), dtype=np.int64) for v, value in values.items()}
