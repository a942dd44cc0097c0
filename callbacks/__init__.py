"""Lightning callbacks: EMA weights, ground-truth metrics, a step-counting progress bar, latest and best checkpoints."""

from lightning_causal.callbacks.checkpoints import BestCheckpoint, LatestCheckpoint
from lightning_causal.callbacks.ema import EMA
from lightning_causal.callbacks.ground_truth import GroundTruthMetrics
from lightning_causal.callbacks.progress import StepProgressBar

__all__ = ["EMA", "BestCheckpoint", "GroundTruthMetrics", "LatestCheckpoint", "StepProgressBar"]
