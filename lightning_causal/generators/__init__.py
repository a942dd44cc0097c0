"""Conditional generators: the one interface the sampling network and the causal models talk to."""

from lightning_causal.generators.categorical import CategoricalTable

__all__ = ["CategoricalTable"]
