"""Networks: batched MLP denoisers and classifiers, time embeddings."""

from lightning_causal.nets.batched_mlp import CONDITIONING, BatchedLinear, BatchedMLP
from lightning_causal.nets.embeddings import sinusoidal_embedding

__all__ = ["CONDITIONING", "BatchedLinear", "BatchedMLP", "sinusoidal_embedding"]
