"""The empirical distribution of a DCM's root nodes: training rows kept, resampled when sampling.

DCM (Chao et al. 2023) models root nodes by their empirical distribution: a root's value is drawn
with replacement from the rows seen in training. The rows are kept on the CPU, at most
``max_rows`` per root, and travel with the checkpoint (:meth:`EmpiricalRoots.state_dict`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from lightning_causal.errors import NotTrainedError

__all__ = ["EmpiricalRoots"]


class EmpiricalRoots:
    """Training rows of the roots ``names`` (up to ``max_rows`` each)."""

    def __init__(self, names: Sequence[str], max_rows: int = 10_000) -> None:
        self.names = tuple(names)
        self.max_rows = max_rows
        self.store: dict[str, Tensor] = {}

    def observe(self, values: Mapping[str, Tensor]) -> None:
        """Keep root rows of a batch until each root holds ``max_rows``."""
        for name in self.names:
            have = self.store.get(name)
            room = self.max_rows - (0 if have is None else len(have))
            if room <= 0:
                continue
            rows = values[name][:room].detach().to("cpu")
            self.store[name] = rows if have is None else torch.cat([have, rows])

    def draw(self, name: str, n: int, rng: torch.Generator | None) -> Tensor:
        """``n`` rows of root ``name``, drawn with replacement from the kept training rows."""
        store = self.store.get(name)
        if store is None or not len(store):
            raise NotTrainedError(
                f"root {name!r} has no training rows to sample from: train the model first, load a "
                "checkpoint of a trained one (or build it with roots='model')"
            )
        pick = torch.randint(0, len(store), (n,), generator=rng)
        return store[pick]

    def state_dict(self) -> dict[str, Any]:
        return dict(self.store)

    def load_state_dict(self, state: Mapping[str, Tensor]) -> None:
        self.store = dict(state)
