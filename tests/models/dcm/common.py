"""The mixed-type graph the DCM tests share: two vectors, a category, a scalar and a bit."""

from __future__ import annotations

import torch

from lightning_causal import CausalGraph
from lightning_causal.variables import VariableSpec


def mixed_batch(n: int = 32, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "a": torch.randn(n, 2, generator=g),
        "b": torch.randint(0, 3, (n,), generator=g),
        "c": torch.randn(n, 1, generator=g),
        "d": torch.randn(n, 3, generator=g),
        "e": torch.randint(0, 2, (n,), generator=g),
    }


MIXED_VARS = {
    "a": VariableSpec("a", "continuous", dim=2, mean=(0.5, -1.0), std=(2.0, 0.5)),
    "b": VariableSpec("b", "categorical", classes=3),
    "c": VariableSpec("c", "continuous"),
    "d": VariableSpec("d", "continuous", dim=3),
    "e": VariableSpec("e", "binary"),
}

MIXED = CausalGraph(directed=[("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("c", "e")])
