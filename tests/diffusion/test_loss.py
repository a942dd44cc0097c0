"""The DDPM loss: padded features stay out of it."""

from __future__ import annotations

import torch

from lightning_causal.diffusion import (
    NoiseSchedule,
    ddpm_loss,
)


def test_loss_mask_keeps_padded_features_out() -> None:
    s = NoiseSchedule(10)
    x0 = torch.zeros(2, 5, 3)
    mask = torch.tensor([[[1.0, 1.0, 0.0]], [[1.0, 0.0, 0.0]]])
    seen = {}

    def eps(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        seen["x"] = x
        return torch.zeros_like(x)

    loss = ddpm_loss(eps, s, x0, torch.Generator().manual_seed(0), mask)
    assert loss.shape == (2, 5)
    assert (seen["x"] * (1 - mask) == 0).all(), "padded features must stay zero in x_t"
