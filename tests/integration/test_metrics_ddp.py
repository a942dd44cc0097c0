"""MMD and CounterfactualMSE under real DDP (gloo, two processes) equal their values on the pooled data."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from lightning_causal.metrics import MMD, CounterfactualMSE, mmd
from tests.checks import free_port


def samples(seed: int, n: int, m: int, d: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = 1.3 * torch.randn(m, d, generator=g, dtype=torch.float64) + 0.4
    return x, y


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
