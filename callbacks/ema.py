"""Exponential moving average of the weights, with the usual warm-up of the decay.

Lightning's ``EMAWeightAveraging`` averages with a fixed decay from the first step, so after a
short run (a few hundred steps at decay 0.999) the average is still mostly the initial weights,
and it replaces the trained weights at the end of ``fit``. Here the decay grows as
``min(decay, (1 + n) / (10 + n))`` with n the number of updates (as in TensorFlow's
``ExponentialMovingAverage`` with ``num_updates`` and most diffusion code bases), so the average
follows the weights early and smooths them late. Sampling uses the average: Lightning swaps it in
for validation, writes it as the checkpoint's ``state_dict``, and copies it into the model when
training ends.
"""

from __future__ import annotations

from lightning.pytorch.callbacks import WeightAveraging
from torch import Tensor

__all__ = ["EMA"]


class EMA(WeightAveraging):
    """EMA of the model's parameters.

    Args:
        decay: the decay after warm-up (e.g. 0.999).
        use_buffers: also average buffers (the causal models' buffers are constants: keep False).
    """

    def __init__(self, decay: float = 0.999, use_buffers: bool = False) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        self.decay = decay

        def average(averaged: Tensor, current: Tensor, num_averaged: Tensor | int) -> Tensor:
            n = float(num_averaged)
            d = min(decay, (1.0 + n) / (10.0 + n))
            return averaged * d + current * (1.0 - d)

        super().__init__(use_buffers=use_buffers, avg_fn=average)

    def should_update(self, step_idx: int | None = None, epoch_idx: int | None = None) -> bool:
        return step_idx is not None
