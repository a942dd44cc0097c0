"""CounterfactualMSE against independent numpy code: every descendant scored, shapes checked."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lightning_causal import DataError
from lightning_causal.metrics import CounterfactualMSE

# ----------------------------------------------------------------------------------------------------------------
# counterfactual MSE


def test_counterfactual_mse_matches_numpy_over_updates() -> None:
    rng = np.random.default_rng(8)
    metric = CounterfactualMSE()
    squared: list[np.ndarray] = []
    for n in (7, 19, 1, 33):
        predicted, target = rng.normal(size=(n, 4)), rng.normal(size=(n, 4))
        metric.update(torch.from_numpy(predicted), torch.from_numpy(target).float())
        squared.append((predicted - target.astype(np.float32).astype(np.float64)) ** 2)
    expected = np.concatenate(squared).mean()
    assert abs(metric.compute().item() - expected) < 1e-10
    # another metric, other dimensions per batch: still the mean over every scalar entry
    metric = CounterfactualMSE()
    flat: list[np.ndarray] = []
    for n, d in ((5, 1), (12, 3), (8, 6)):
        predicted, target = rng.normal(size=(n, d)), rng.normal(size=(n, d))
        metric.update(torch.from_numpy(predicted), torch.from_numpy(target))
        flat.append(((predicted - target) ** 2).ravel())
    assert abs(metric.compute().item() - np.concatenate(flat).mean()) < 1e-10
    metric.reset()
    with (
        pytest.warns(UserWarning, match="before the ``update``"),
        pytest.raises(DataError, match="before any non-empty update"),
    ):
        metric.compute()


def test_counterfactual_mse_scores_every_descendant() -> None:
    # only the second descendant is wrong: a metric that scores the first one alone (the DCM reference code)
    # would report 0 here
    target = torch.randn(50, 3, generator=torch.Generator().manual_seed(9))
    predicted = target.clone()
    predicted[:, 1] += 2.0
    metric = CounterfactualMSE()
    metric.update(predicted, target)
    assert metric.compute().item() == pytest.approx(4.0 / 3.0)


def test_counterfactual_mse_shape_mismatch() -> None:
    with pytest.raises(DataError, match=r"shape \(4, 2\) but the true ones have \(4, 3\)"):
        CounterfactualMSE().update(torch.zeros(4, 2), torch.zeros(4, 3))
