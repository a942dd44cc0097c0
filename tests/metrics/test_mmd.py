"""MMD (function and torchmetric) and stack_variables against independent numpy code."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from lightning_causal import DataError
from lightning_causal.metrics import MMD, median_heuristic_gamma, mmd, stack_variables

# ----------------------------------------------------------------------------------------------------------------
# independent numpy reference (Gretton et al. 2012, eq. 5, written out with broadcasting)


def np_squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1)


def np_median_gamma(z: np.ndarray) -> float:
    d2 = np_squared_distances(z, z)
    i, j = np.triu_indices(len(z), k=1)
    pairs = d2[i, j]
    return float(1.0 / np.median(pairs[pairs > 0]))


def np_mmd(x: np.ndarray, y: np.ndarray, gamma: float) -> float:
    n, m = len(x), len(y)
    k_xx = np.exp(-gamma * np_squared_distances(x, x)).sum() / n**2
    k_yy = np.exp(-gamma * np_squared_distances(y, y)).sum() / m**2
    k_xy = np.exp(-gamma * np_squared_distances(x, y)).sum() / (n * m)
    return float(k_xx + k_yy - 2 * k_xy)


def samples(seed: int, n: int, m: int, d: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = 1.3 * torch.randn(m, d, generator=g, dtype=torch.float64) + 0.4
    return x, y


# ----------------------------------------------------------------------------------------------------------------
# functional mmd and the median heuristic


@pytest.mark.parametrize("seed,n,m,d", [(0, 40, 40, 3), (1, 25, 60, 1), (2, 70, 33, 5)])
def test_mmd_matches_numpy(seed: int, n: int, m: int, d: int) -> None:
    x, y = samples(seed, n, m, d)
    gamma = np_median_gamma(np.concatenate([x.numpy(), y.numpy()]))
    expected = np_mmd(x.numpy(), y.numpy(), gamma)
    assert expected > 1e-3  # the two samples differ, so the check is not 0 == 0
    assert median_heuristic_gamma(torch.cat([x, y])) == pytest.approx(gamma, rel=1e-12)
    assert abs(mmd(x, y).item() - expected) < 1e-10
    # a fixed gamma is used as given
    assert abs(mmd(x, y, gamma=0.37).item() - np_mmd(x.numpy(), y.numpy(), 0.37)) < 1e-10


def test_mmd_float32_and_1d_inputs() -> None:
    x, y = samples(3, 30, 20, 1)
    expected = np_mmd(x.numpy(), y.numpy(), np_median_gamma(np.concatenate([x.numpy(), y.numpy()])))
    assert abs(mmd(x[:, 0], y[:, 0]).item() - expected) < 1e-10
    value = mmd(x.float(), y.float())
    assert value.dtype == torch.float64
    assert abs(value.item() - expected) < 1e-5  # float32 inputs carry float32 rounding only


def test_mmd_identical_symmetric_and_shift() -> None:
    x, y = samples(4, 50, 50, 2)
    assert mmd(x, x).item() == 0.0
    assert mmd(x, y).item() == pytest.approx(mmd(y, x).item(), abs=1e-14)
    gamma = 0.5
    base = mmd(x, x + 0.1, gamma=gamma).item()
    values = [mmd(x, x + shift, gamma=gamma).item() for shift in (0.1, 0.5, 1.0, 2.0)]
    assert values[0] == base
    assert all(a < b for a, b in itertools.pairwise(values)), values
    # with the pooled median heuristic the value also grows with the shift
    assert mmd(x, x + 0.2).item() < mmd(x, x + 3.0).item()


def test_median_heuristic_ignores_ties_and_zero_pairs() -> None:
    # rows 0 and 1 coincide; pairs (0,1)=0 (ignored), (0,2)=1, (0,3)=4, (1,2)=1, (1,3)=4, (2,3)=1 -> median 1
    z = torch.tensor([[0.0], [0.0], [1.0], [2.0]])
    assert median_heuristic_gamma(z) == 1.0
    # an odd number of distances: 1, 9, 4 -> median 4
    z = torch.tensor([[0.0], [1.0], [3.0]])
    assert median_heuristic_gamma(z) == pytest.approx(1 / 4)
    # an even number: 1, 9, 49, 4, 36, 16 -> the mean of the two middle ones, (9 + 16) / 2 (numpy's convention)
    z = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    assert median_heuristic_gamma(z) == pytest.approx(1 / 12.5)
    rng = np.random.default_rng(5)
    z_np = rng.normal(size=(41, 4))
    z_np[10] = z_np[3]  # a duplicated row
    assert median_heuristic_gamma(torch.from_numpy(z_np)) == pytest.approx(np_median_gamma(z_np), rel=1e-12)


def test_mmd_errors() -> None:
    with pytest.raises(ValueError, match="no positive distance"):
        median_heuristic_gamma(torch.ones(5, 2))
    with pytest.raises(ValueError, match="no positive distance"):
        mmd(torch.ones(3, 2), torch.ones(4, 2))
    with pytest.raises(DataError, match="3 features per sample but y has 2"):
        mmd(torch.zeros(4, 3), torch.zeros(4, 2))
    with pytest.raises(DataError, match="x is empty"):
        mmd(torch.zeros(0, 2), torch.zeros(4, 2))
    with pytest.raises(DataError, match="gamma must be a positive"):
        mmd(torch.zeros(4, 2), torch.ones(4, 2), gamma=-1.0)


# ----------------------------------------------------------------------------------------------------------------
# the MMD metric


def test_mmd_metric_accumulates_and_resets() -> None:
    x, y = samples(6, 90, 75, 3)
    metric = MMD()
    for gen, tgt in zip(x.split([10, 45, 35]), y.split([30, 30, 15]), strict=True):
        metric.update(gen, tgt)
    assert abs(metric.compute().item() - mmd(x, y).item()) < 1e-12
    metric.reset()
    metric.update(x[:20], y[:25])
    assert abs(metric.compute().item() - mmd(x[:20], y[:25]).item()) < 1e-12
    metric.reset()
    with pytest.warns(UserWarning, match="before the ``update``"), pytest.raises(DataError, match="before any update"):
        metric.compute()


def test_mmd_metric_fixed_gamma_and_errors() -> None:
    x, y = samples(7, 30, 30, 2)
    metric = MMD(gamma=0.8)
    metric.update(x, y)
    assert abs(metric.compute().item() - np_mmd(x.numpy(), y.numpy(), 0.8)) < 1e-10
    with pytest.raises(DataError, match="generated has 2 features per sample but target has 3"):
        metric.update(x, torch.zeros(5, 3))
    with pytest.raises(DataError, match="earlier ones had 2"):
        metric.update(torch.zeros(5, 3), torch.zeros(5, 3))
    with pytest.raises(DataError, match="gamma must be"):
        MMD(gamma=0.0)


# ----------------------------------------------------------------------------------------------------------------
# stack_variables


def test_stack_variables() -> None:
    g = torch.Generator().manual_seed(10)
    values = {
        "x": torch.randn(6, 3, generator=g),
        "c": torch.randint(0, 4, (6,), generator=g),
        "unused": torch.zeros(6, 2),
    }
    stacked = stack_variables(values, ["x", "c"])
    assert stacked.shape == (6, 4)
    assert stacked.dtype == torch.float32
    assert torch.equal(stacked[:, :3], values["x"])
    assert torch.equal(stacked[:, 3], values["c"].float())
    # order follows names; codes alone give the default float dtype
    assert torch.equal(stack_variables(values, ["c", "x"])[:, 0], values["c"].float())
    assert stack_variables({"c": values["c"]}, ["c"]).dtype == torch.get_default_dtype()
    with pytest.raises(DataError, match="no samples for variable 'z'"):
        stack_variables(values, ["x", "z"])
    with pytest.raises(DataError, match="'y' has 5 samples but 'x' has 6"):
        stack_variables({"x": values["x"], "y": torch.zeros(5)}, ["x", "y"])
