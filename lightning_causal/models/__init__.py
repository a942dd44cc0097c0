"""LightningModules: CausalDiffusion (DCM) and the networks and queries behind it."""

from lightning_causal.models.causal_diffusion import CausalDiffusion
from lightning_causal.models.dcm_network import DCMNetwork

__all__ = ["CausalDiffusion", "DCMNetwork"]
