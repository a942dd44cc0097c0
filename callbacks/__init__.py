"""Lightning callbacks: EMA weights, evaluation against ground truth."""

from callbacks.ema import EMA
from callbacks.ground_truth import GroundTruthMetrics

__all__ = ["EMA", "GroundTruthMetrics"]
