"""Counterfactual mean squared error over every descendant of the intervened node.

The counterfactual metric of the DCM benchmarks (Chao et al. 2023, "Interventional and Counterfactual Inference
with Diffusion Models", arXiv 2302.00860): for a factual sample, its counterfactual under do(x_i = a) is computed
once by the model (abduction, then action and prediction) and once from the true exogenous noise; the score is
the squared error between the two, averaged over samples.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torchmetrics import Metric

from lightning_causal.errors import DataError

__all__ = ["CounterfactualMSE"]


class CounterfactualMSE(Metric):
    """Mean squared error between predicted and true counterfactuals, over samples AND all descendant dimensions.

    Following the DCM protocol (Chao et al. 2023, arXiv 2302.00860), ``predicted`` holds the model's
    counterfactuals and ``target`` those computed from the true noise, both stacked over ALL descendants of the
    intervened node (:func:`lightning_causal.metrics.stack_variables`). The metric is

        sum over batches of ||predicted - target||_F^2 / (number of scalar entries),

    i.e. the mean over samples and over every dimension of every descendant. Note: the DCM reference code scores
    only the first descendant; this metric deliberately averages all of them, so its numbers are not comparable
    to the paper's tables on graphs where the intervened node has several descendants.

    The states are a float64 sum and an integer count reduced by ``sum``, so the value under DDP equals the value
    on the pooled data.

    Args:
        **kwargs: passed to :class:`torchmetrics.Metric`.
    """

    higher_is_better = False
    full_state_update = False
    is_differentiable = False

    sum_squared_error: Tensor
    count: Tensor

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("sum_squared_error", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, predicted: Tensor, target: Tensor) -> None:
        """Add a batch: model counterfactuals and true counterfactuals, both shaped (n, d) (or (n,) for d = 1)."""
        if predicted.shape != target.shape:
            raise DataError(
                f"predicted counterfactuals have shape {tuple(predicted.shape)} but the true ones have "
                f"{tuple(target.shape)}; stack the same descendants in the same order on both sides"
            )
        if predicted.ndim not in (1, 2):
            raise DataError(f"counterfactuals must have shape (n, d) or (n,), got {tuple(predicted.shape)}")
        error = predicted.detach().to(torch.float64) - target.detach().to(torch.float64)
        self.sum_squared_error += error.square().sum()
        self.count += error.numel()

    def compute(self) -> Tensor:
        """The mean squared error of everything seen since the last ``reset`` (on all ranks), a 0-d float64 tensor."""
        if int(self.count) == 0:
            raise DataError("CounterfactualMSE.compute() was called before any non-empty update; feed it samples first")
        return self.sum_squared_error / self.count
