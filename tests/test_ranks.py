"""``global_rank``: the launcher's rank before any process group exists; ``sum_over_ranks`` over real gloo."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightning_causal.ranks import global_rank, sum_over_ranks


def test_the_rank_comes_from_torchrun_then_slurm(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    assert global_rank() == 0
    monkeypatch.setenv("SLURM_PROCID", "3")
    assert global_rank() == 3
    monkeypatch.setenv("RANK", "5")  # torchrun inside an allocation: its rank wins
    assert global_rank() == 5
    monkeypatch.setenv("RANK", "")
    assert global_rank() == 3


def _sum_on(rank: int, port: int, folder: str) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    Path(folder, f"{rank}.txt").write_text(str(sum_over_ranks(10 * rank + 3)))
    dist.destroy_process_group()


def test_sum_over_ranks_adds_every_ranks_count_over_gloo_and_is_the_value_alone(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    from tests.checks import free_port

    assert sum_over_ranks(7) == 7  # no process group
    mp.spawn(_sum_on, args=(free_port(), str(tmp_path)), nprocs=2)
    assert [int((tmp_path / f"{r}.txt").read_text()) for r in (0, 1)] == [16, 16]  # 3 + 13 on both ranks
