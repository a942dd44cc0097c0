"""Lightning callbacks: EMA weights, evaluation against ground truth, a step-counting progress bar."""

from callbacks.ema import EMA
from callbacks.ground_truth import GroundTruthMetrics
from callbacks.progress import StepProgressBar

__all__ = ["EMA", "GroundTruthMetrics", "StepProgressBar"]
