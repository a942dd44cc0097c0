"""Streaming shards: split by rank and worker, equal batches, exact resume, corrupt input counted, a real Trainer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from lightning_causal.data.prepare import TensorSource, prepare
from lightning_causal.data.streaming import ShardStream, StreamingLoader, shard_location
from lightning_causal.datamodules import StreamingDataModule
from lightning_causal.errors import DataError
from lightning_causal.variables.spec import VariableSpec
from tests.data.shard_damage import damage


def _rows(n: int) -> dict[str, torch.Tensor]:
    """Row i holds i in ``k`` (so a batch says which rows it has), a vector and a class."""
    g = torch.Generator().manual_seed(0)
    return {
        "k": torch.arange(n, dtype=torch.float32)[:, None],
        "v": torch.randn(n, 2, generator=g),
        "c": torch.randint(0, 3, (n,), generator=g),
    }


SPECS = {
    "k": VariableSpec("k", "continuous"),
    "v": VariableSpec("v", "continuous", dim=2),
    "c": VariableSpec("c", "categorical", classes=3),
}


def _dataset(folder: Path, train: int = 100, val: int = 20, shard_rows: int = 15) -> Path:
    source = TensorSource({"train": _rows(train), "val": _rows(val)}, SPECS, {"source": "test"})
    prepare(source, folder, shard_rows, progress=False)
    return folder


def _keys(batches: list[dict[str, Any]]) -> list[int]:
    return [int(k) for b in batches for k in b["k"].reshape(-1).tolist()]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _dataset(tmp_path_factory.mktemp("stream"))


def _loader(data: Path, workers: int = 0, rank: int = 0, world: int = 1, **kw: Any) -> StreamingLoader:
    stream = ShardStream(
        data, "train", kw.pop("batch_size", 8), seed=kw.pop("seed", 1), shuffle_buffer=kw.pop("buffer", 10)
    )
    stream.rank, stream.world = rank, world
    return StreamingLoader(stream, workers, **kw)


@pytest.mark.parametrize("workers", [0, 2])
def test_an_epoch_reads_each_row_at_most_once_in_batches_of_the_same_size(data: Path, workers: int) -> None:
    loader = _loader(data, workers)
    batches = list(loader)
    assert len(batches) == len(loader) == 100 // 8
    assert {len(b["k"]) for b in batches} == {8}
    keys = _keys(batches)
    if workers == 0:  # one slot reads every shard: nothing padded, nothing twice
        assert len(set(keys)) == len(keys)
    assert set(keys) <= set(range(100))
    assert batches[0]["c"].dtype == torch.long and batches[0]["v"].shape == (8, 2)
    again = list(_loader(data, workers))
    assert _keys(again) == keys  # the same seed: the same stream
    second = list(loader)  # the next epoch: another order
    assert _keys(second) != keys


def test_every_rank_gets_the_same_number_of_batches_and_the_ranks_share_no_row(data: Path) -> None:
    per_rank = [list(_loader(data, rank=r, world=3, batch_size=5)) for r in range(3)]
    assert [len(b) for b in per_rank] == [100 // 15] * 3  # 8 shards over 3 ranks: uneven, yet equal batches
    seen = [set(_keys(b)) for b in per_rank]
    assert not (seen[0] & seen[1]) and not (seen[1] & seen[2]) and not (seen[0] & seen[2])


def test_fewer_shards_than_slots_split_by_sample(tmp_path: Path) -> None:
    folder = _dataset(tmp_path, train=40, val=8, shard_rows=40)  # one shard, two ranks x two workers
    ranks = [_keys(list(_loader(folder, workers=2, rank=r, world=2, batch_size=5, buffer=0))) for r in range(2)]
    assert len(ranks[0]) == len(ranks[1]) == 20
    assert not set(ranks[0]) & set(ranks[1]) and set(ranks[0]) | set(ranks[1]) == set(range(40))


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("stop", [1, 5, 12])
def test_a_loader_given_a_mid_epoch_state_continues_exactly(data: Path, workers: int, stop: int) -> None:
    straight = _loader(data, workers)
    epochs = list(straight) + list(straight)  # two epochs, uninterrupted
    first = _loader(data, workers)
    head = []
    for batch in first:
        head.append(batch)
        if len(head) == stop:
            break
    state = first.state_dict()
    resumed = _loader(data, workers)
    resumed.load_state_dict(state)
    rest = list(resumed)  # the rest of the epoch (after its last batch: the whole next epoch)
    if stop < 12:
        assert state["epoch"] == 0 and state["batches"] == stop
        assert _keys(head + rest) == _keys(epochs[:12])
        assert _keys(list(resumed)) == _keys(epochs[12:])  # and the next epoch as a straight run has it
    else:
        assert state["epoch"] == 1 and state["batches"] == 0
        assert _keys(head) == _keys(epochs[:12]) and _keys(rest) == _keys(epochs[12:])


def test_a_resume_with_another_number_of_workers_is_refused(data: Path) -> None:
    first = _loader(data, 2)
    next(iter(first))
    resumed = _loader(data, 0)
    resumed.load_state_dict(first.state_dict())
    with pytest.raises(DataError, match=r"2 loader workers.*num_workers: 2"):
        next(iter(resumed))


@pytest.mark.parametrize(("how", "lost"), [("truncate", None), ("vanish", 15), ("corrupt", 1), ("missing", 1)])
def test_corrupt_input_is_skipped_counted_and_warned(tmp_path: Path, how: str, lost: int | None) -> None:
    folder = _dataset(tmp_path)
    damage(folder, "train-000002.tar", how)
    loader = _loader(folder, max_skipped=50)
    with pytest.warns(UserWarning, match="skipped"):
        batches = list(loader)
    assert len(batches) == 100 // 8  # padded by reading again: the epoch keeps its length
    assert loader.skipped == lost if lost is not None else 0 < loader.skipped < 15
    assert loader.reasons and "train-000002.tar" in loader.reasons[0]
    assert loader.state_dict()["skipped"] == loader.skipped


def test_past_the_limit_training_stops_with_one_line(tmp_path: Path) -> None:
    folder = _dataset(tmp_path)
    damage(folder, "train-000001.tar", "vanish")
    loader = _loader(folder, max_skipped=0.05)  # 5 of 100 rows
    with pytest.warns(UserWarning), pytest.raises(DataError) as err:
        list(loader)
    line = str(err.value)
    assert "\n" not in line and "past the limit of 5" in line and "train-000001.tar" in line


def test_a_worker_that_finds_no_readable_shard_fails_with_one_line(tmp_path: Path) -> None:
    folder = _dataset(tmp_path, train=30, shard_rows=30)
    (folder / "train-000000.tar").unlink()
    with pytest.raises(DataError, match="no shard of split 'train'") as err:  # raised in a worker process
        list(_loader(folder, workers=1, max_skipped=1000))
    assert "\n" not in str(err.value)


def _graph(folder: Path) -> Path:
    path = folder / "kvc.yaml"
    path.write_text("directed: [[k, v], [v, c]]\n")
    return path


def test_pipe_urls_and_templates_are_read(data: Path) -> None:
    assert shard_location("https://host/d/", "a.tar") == "https://host/d/a.tar"
    assert shard_location("pipe:cat /x/{file}", "a.tar") == "pipe:cat /x/a.tar"
    piped = StreamingDataModule(f"pipe:cat {data}/{{file}}", graph=str(_graph(data.parent)), batch_size=8)
    assert piped.variables["c"].classes == 3
    stream = ShardStream(f"pipe:cat {data}/{{file}}", "train", 8, seed=1, shuffle_buffer=10)
    assert _keys(list(StreamingLoader(stream))) == _keys(list(_loader(data)))
