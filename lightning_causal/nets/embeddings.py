"""Sinusoidal time-step embeddings (Vaswani et al. 2017, Sec. 3.5; as used by Ho et al. 2020)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["sinusoidal_embedding"]


def sinusoidal_embedding(t: Tensor, dim: int, max_period: float = 10_000.0) -> Tensor:
    """``[sin(t w_k), cos(t w_k)]`` with ``w_k = max_period^(-k / (dim/2))``; shape ``t.shape + (dim,)``."""
    if dim % 2:
        raise ValueError(f"the time embedding dimension must be even, got {dim}")
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.to(torch.float32).unsqueeze(-1) * freqs
    return torch.cat([torch.sin(args), torch.cos(args)], dim=-1)
