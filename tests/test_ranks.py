"""``global_rank``: the launcher's rank before any process group exists."""

from __future__ import annotations

import pytest

from lightning_causal.ranks import global_rank


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
