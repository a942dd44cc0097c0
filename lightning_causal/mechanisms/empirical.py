"""Kept training rows, resampled: the empirical distribution as a mechanism without parameters.

DCM (Chao et al. 2023) models root nodes by their empirical distribution, and ID-GEN resamples the
rows of a factor without inputs (a marginal such as ID's line-7 root P(W1)) and draws the free inputs
of its sampling network from observed rows. :class:`EmpiricalRows` is that one piece: it keeps up to
``max_rows`` rows per variable, either the first rows seen (:meth:`EmpiricalRows.observe`, batch by
batch) or a random subset of a whole dataset (:meth:`EmpiricalRows.keep`), draws rows with
replacement (:meth:`EmpiricalRows.draw`), and travels with checkpoints (:meth:`EmpiricalRows.state_dict`).
Rows are kept on the CPU.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from lightning_causal.errors import NotTrainedError

__all__ = ["EmpiricalRows"]


class EmpiricalRows:
    """Up to ``max_rows`` training rows per variable.

    Args:
        max_rows: the most rows kept per variable.
    """

    def __init__(self, max_rows: int = 10_000) -> None:
        self.max_rows = max_rows
        self.store: dict[str, Tensor] = {}

    def __contains__(self, name: object) -> bool:
        return name in self.store and len(self.store[name]) > 0  # type: ignore[index]

    def observe(self, values: Mapping[str, Tensor], names: Sequence[str]) -> None:
        """Append rows of a batch to each of ``names`` until it holds ``max_rows`` (the first rows seen)."""
        for name in names:
            have = self.store.get(name)
            room = self.max_rows - (0 if have is None else len(have))
            if room <= 0:
                continue
            rows = values[name][:room].detach().to("cpu")
            self.store[name] = rows if have is None else torch.cat([have, rows])

    def keep(self, values: Mapping[str, Tensor], names: Sequence[str], rng: torch.Generator) -> None:
        """Keep, for each of ``names``, the same ``max_rows`` rows of ``values`` drawn without replacement.

        One permutation serves all ``names``, so rows kept together stay joint (replacing what was kept).
        """
        if not names:
            return
        n = len(values[names[0]])
        pick = torch.randperm(n, generator=rng)[: self.max_rows]
        for name in names:
            self.store[name] = values[name][pick].detach().cpu().clone()

    def draw(self, name: str, n: int, rng: torch.Generator | None, what: str | None = None) -> Tensor:
        """``n`` rows of ``name`` drawn with replacement (indices drawn on ``rng``'s device), on the CPU.

        ``what`` names the mechanism in the error raised when no rows are kept (default: the variable).
        """
        store = self.store.get(name)
        if store is None or not len(store):
            raise NotTrainedError(
                f"{what or f'variable {name!r}'} has no training rows to resample: train the model first or load "
                "a checkpoint of a trained one"
            )
        pick = torch.randint(0, len(store), (n,), generator=rng, device=rng.device if rng is not None else None)
        return store[pick.cpu()]

    def draw_joint(
        self, names: Sequence[str], n: int, rng: torch.Generator | None, what: str | None = None
    ) -> dict[str, Tensor]:
        """``n`` rows of all ``names`` drawn together: row ``i`` of every name comes from the same kept row.

        Kept rows are aligned across names (:meth:`observe` and :meth:`keep` keep the same rows of each),
        so the draw keeps the data's joint distribution of ``names`` (correlated roots stay correlated).
        """
        if not names:
            return {}
        first = names[0]
        store = self.store.get(first)
        if store is None or not len(store):
            self.draw(first, n, rng, what)  # raises the error that names what has no rows
        sizes = {len(self.store[name]) if name in self.store else 0 for name in names}
        if len(sizes) != 1:
            raise NotTrainedError(
                f"the kept rows of {', '.join(names)} are not aligned ({sorted(sizes)} rows); train the model again"
            )
        size = sizes.pop()
        pick = torch.randint(0, size, (n,), generator=rng, device=rng.device if rng is not None else None).cpu()
        return {name: self.store[name][pick] for name in names}

    def state_dict(self) -> dict[str, Any]:
        """The kept rows, ``{variable: tensor}``."""
        return dict(self.store)

    def load_state_dict(self, state: Mapping[str, Tensor]) -> None:
        """Restore rows saved by :meth:`state_dict`."""
        self.store = dict(state)
