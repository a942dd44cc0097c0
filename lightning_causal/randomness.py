"""Explicit randomness: every random draw takes a ``torch.Generator`` made from a seed here."""

from __future__ import annotations

import numpy as np
import torch

from lightning_causal.errors import QueryError

__all__ = ["RngLike", "torch_rng"]

RngLike = torch.Generator | int | None
"""A ``torch.Generator``, an integer seed, or ``None`` (seed 0)."""


def torch_rng(rng: RngLike, device: torch.device | str | None = None, what: str = "rng") -> torch.Generator:
    """``rng`` itself if it is a generator, else a generator on ``device`` seeded with it (0 for ``None``)."""
    if isinstance(rng, torch.Generator):
        return rng
    if rng is not None and (isinstance(rng, bool) or not isinstance(rng, int | np.integer)):
        raise QueryError(f"{what} must be a torch.Generator or an int seed, got {rng!r}")
    if rng is not None and not -(2**63) <= int(rng) < 2**64:
        raise QueryError(f"{what} {int(rng)} is out of range; give an int seed in [-2**63, 2**64)")
    generator = torch.Generator(device=device) if device is not None else torch.Generator()
    return generator.manual_seed(0 if rng is None else int(rng))
