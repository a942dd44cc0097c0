"""Lightning callbacks: EMA weights, ground-truth metrics, a step-counting progress bar, latest and best
checkpoints, image grids, a stopping rule on the validation loss, a clean stop on SIGUSR1, run
statistics, torch.compile and the W&B logger."""

from lightning_causal.callbacks.checkpoints import BestCheckpoint, LatestCheckpoint
from lightning_causal.callbacks.compile import Compile
from lightning_causal.callbacks.ema import EMA
from lightning_causal.callbacks.ground_truth import GroundTruthMetrics
from lightning_causal.callbacks.image_samples import ImageSamples
from lightning_causal.callbacks.plateau import StopOnPlateau
from lightning_causal.callbacks.preemption import Preemption
from lightning_causal.callbacks.progress import StepProgressBar
from lightning_causal.callbacks.run_stats import RunStats
from lightning_causal.callbacks.wandb_run import WandbRun

__all__ = [
    "EMA",
    "BestCheckpoint",
    "Compile",
    "GroundTruthMetrics",
    "ImageSamples",
    "LatestCheckpoint",
    "Preemption",
    "RunStats",
    "StepProgressBar",
    "StopOnPlateau",
    "WandbRun",
]
