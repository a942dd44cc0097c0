"""The DDPM epsilon-prediction loss (Ho et al. 2020, eq. 14, "L_simple")."""

from __future__ import annotations

import torch
from torch import Tensor

from lightning_causal.diffusion.samplers import EpsFn
from lightning_causal.diffusion.schedules import NoiseSchedule

__all__ = ["ddpm_loss"]


def ddpm_loss(
    eps_fn: EpsFn,
    schedule: NoiseSchedule,
    x0: Tensor,
    rng: torch.Generator | None = None,
    mask: Tensor | None = None,
) -> Tensor:
    """Per-sample ``|| eps - eps_theta(sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, t) ||^2`` averaged over features.

    ``t`` ~ Uniform{0..T-1} and ``eps`` ~ N(0, I), independently for every leading index (so each
    node of a batched network draws its own steps). ``mask`` (broadcastable to ``x0``) marks the
    real features when several variables of different widths are padded into one tensor.
    Returns a tensor of shape ``x0.shape[:-1]``.
    """
    t = torch.randint(0, schedule.timesteps, x0.shape[:-1], generator=rng, device=x0.device)
    noise = torch.randn(x0.shape, generator=rng, device=x0.device, dtype=x0.dtype)
    if mask is not None:  # padded features stay exactly zero, in training as in sampling
        mask = mask.to(x0.dtype).expand_as(x0)
        noise = noise * mask
    x_t = schedule.q_sample(x0, t, noise)
    err = (eps_fn(x_t, t) - noise) ** 2
    if mask is None:
        return err.mean(dim=-1)
    return (err * mask).sum(dim=-1) / mask.sum(dim=-1).clamp(min=1)
