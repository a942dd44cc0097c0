"""What every bank of node or factor models shares: its entries, their positions, the variable each models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

__all__ = ["EntryBank"]


class EntryBank(nn.Module):
    """The entries of a bank, in bank order, the positions of named entries, and the variable each
    entry models (its own name for the DCM's nodes; ``targets`` for ID-GEN's factors)."""

    def __init__(self, nodes: Sequence[str], targets: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.nodes = tuple(nodes)
        self.position = {n: k for k, n in enumerate(self.nodes)}
        self.targets = {n: (targets or {}).get(n, n) for n in self.nodes}

    def index(self, names: Sequence[str], device: torch.device) -> Tensor:
        """The bank positions of ``names`` as an index tensor."""
        return torch.tensor([self.position[m] for m in names], device=device)
