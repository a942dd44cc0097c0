"""Diffusion core: noise schedules, the DDPM loss, DDPM/DDIM sampling and DDIM inversion."""

from lightning_causal.diffusion.loss import ddpm_loss
from lightning_causal.diffusion.samplers import ddim_decode, ddim_encode, ddim_sample, ddpm_sample, step_indices
from lightning_causal.diffusion.schedules import SCHEDULES, NoiseSchedule

__all__ = [
    "SCHEDULES",
    "NoiseSchedule",
    "ddim_decode",
    "ddim_encode",
    "ddim_sample",
    "ddpm_loss",
    "ddpm_sample",
    "step_indices",
]
