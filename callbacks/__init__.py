"""Lightning callbacks: EMA weights, evaluation against ground truth, a step-counting progress bar."""

from lightning_causal.callbacks.ema import EMA
from lightning_causal.callbacks.ground_truth import GroundTruthMetrics
from lightning_causal.callbacks.progress import StepProgressBar

__all__ = ["EMA", "GroundTruthMetrics", "StepProgressBar"]
