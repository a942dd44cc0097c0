"""MMD, CounterfactualMSE and stack_variables, checked against independent numpy code and under real DDP (gloo)."""

from __future__ import annotations

import datetime
import itertools
import json
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from lightning_causal import DataError
from lightning_causal.metrics import MMD, CounterfactualMSE, median_heuristic_gamma, mmd, stack_variables

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


# ----------------------------------------------------------------------------------------------------------------
# real DDP: two CPU processes over gloo


def ddp_data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The fixed data set of the DDP test: generated/target samples and predicted/true counterfactuals."""
    g = torch.Generator().manual_seed(11)
    generated = torch.randn(100, 3, generator=g)
    target = torch.randn(80, 3, generator=g) + 0.5
    predicted = torch.randn(100, 2, generator=g)
    true = torch.randn(100, 2, generator=g)
    return generated, target, predicted, true


def ddp_worker(rank: int, world_size: int, port: int, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=world_size,
        timeout=datetime.timedelta(seconds=60),
    )
    try:
        generated, target, predicted, true = ddp_data()
        # uneven shards (rank 0: 30 generated / 50 target / 40 counterfactuals), fed in two batches each
        gen_cut, tgt_cut, cf_cut = 30, 50, 40
        gen_part = generated[:gen_cut] if rank == 0 else generated[gen_cut:]
        tgt_part = target[:tgt_cut] if rank == 0 else target[tgt_cut:]
        pred_part = predicted[:cf_cut] if rank == 0 else predicted[cf_cut:]
        true_part = true[:cf_cut] if rank == 0 else true[cf_cut:]
        mmd_metric, cf_metric = MMD(), CounterfactualMSE()
        for gen, tgt, pred, tru in zip(
            gen_part.chunk(2), tgt_part.chunk(2), pred_part.chunk(2), true_part.chunk(2), strict=True
        ):
            mmd_metric.update(gen, tgt)
            cf_metric.update(pred, tru)
        result = {"mmd": mmd_metric.compute().item(), "cf_mse": cf_metric.compute().item()}
        Path(out_dir, f"rank{rank}.json").write_text(json.dumps(result))
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="torch.distributed gloo missing")
def test_metrics_sync_over_ddp(tmp_path: Path) -> None:
    world_size = 2
    mp.spawn(ddp_worker, args=(world_size, free_port(), str(tmp_path)), nprocs=world_size, join=True)
    generated, target, predicted, true = ddp_data()
    expected_mmd = mmd(generated, target).item()
    expected_cf = float(((predicted.double() - true.double()) ** 2).mean())
    # the full-data value differs from either rank's local value, so a missing sync would fail
    assert abs(mmd(generated[:30], target[:50]).item() - expected_mmd) > 1e-4
    for rank in range(world_size):
        result = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert abs(result["mmd"] - expected_mmd) < 1e-10, (rank, result)
        assert abs(result["cf_mse"] - expected_cf) < 1e-10, (rank, result)
