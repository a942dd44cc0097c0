"""Networks: batched MLP denoisers and classifiers, time embeddings, the image UNet and condition encoder."""

from lightning_causal.nets.batched_mlp import CONDITIONING, BatchedLinear, BatchedMLP, SeparateMLPs
from lightning_causal.nets.embeddings import sinusoidal_embedding
from lightning_causal.nets.unet import AttentionBlock, ConditionEncoder, ResidualBlock, UNet

__all__ = [
    "CONDITIONING",
    "AttentionBlock",
    "BatchedLinear",
    "BatchedMLP",
    "ConditionEncoder",
    "ResidualBlock",
    "SeparateMLPs",
    "UNet",
    "sinusoidal_embedding",
]
