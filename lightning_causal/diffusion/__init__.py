"""Diffusion core: noise schedules, the DDPM loss, DDPM/DDIM sampling (one dispatcher: `denoise`), DDIM inversion."""

from lightning_causal.diffusion.loss import ddpm_loss
from lightning_causal.diffusion.samplers import (
    SAMPLERS,
    ddim_decode,
    ddim_encode,
    ddim_sample,
    ddpm_sample,
    denoise,
    step_indices,
)
from lightning_causal.diffusion.schedules import SCHEDULES, NoiseSchedule

__all__ = [
    "SAMPLERS",
    "SCHEDULES",
    "NoiseSchedule",
    "ddim_decode",
    "ddim_encode",
    "ddim_sample",
    "ddpm_loss",
    "ddpm_sample",
    "denoise",
    "step_indices",
]
