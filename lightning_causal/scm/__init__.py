"""Ground-truth structural causal models: exact distributions to measure against."""

from lightning_causal.scm.discrete import DiscreteSCM, Latent

__all__ = ["DiscreteSCM", "Latent"]
