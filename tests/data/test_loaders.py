"""Batch-fetching datasets and resumable loaders: whole batches fetched with one index, zipped datasets that
cycle the shorter ones, seeded shuffles, and a loader given a mid-epoch state that yields exactly the
batches the uninterrupted epoch had left."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import torch
from torch import Tensor

from lightning_causal.data import ResumableLoader, TensorDictDataset, ZippedDataset, tensor_loader, zipped_loader
from lightning_causal.data.loaders import collate_tensor_dict


def _table(n: int = 10) -> dict[str, Tensor]:
    """Row i holds i in ``i``, (i, -i) in ``v`` and i mod 3 in ``c``: every batch says which rows it holds."""
    i = torch.arange(n)
    return {"i": i, "v": torch.stack([i, -i], 1).float(), "c": i % 3}


def _rows(batches: Sequence[dict[str, Tensor]]) -> list[list[int]]:
    return [b["i"].tolist() for b in batches]


def _assert_joint(batch: dict[str, Tensor]) -> None:
    i = batch["i"]
    assert torch.equal(batch["v"], torch.stack([i, -i], 1).float()) and torch.equal(batch["c"], i % 3)


def test_a_dataset_needs_variables_of_one_length() -> None:
    with pytest.raises(ValueError, match="at least one variable"):
        TensorDictDataset({})
    with pytest.raises(ValueError, match="the same number of rows"):
        TensorDictDataset({"a": torch.zeros(3), "b": torch.zeros(4)})


def test_items_and_batches_of_a_dataset() -> None:
    data = TensorDictDataset(_table())
    assert len(data) == 10
    row = data[4]
    assert row["i"].item() == 4 and row["v"].tolist() == [4.0, -4.0]
    batch = data.__getitems__([7, 2, 2])
    assert batch["i"].tolist() == [7, 2, 2] and batch["v"].shape == (3, 2)
    _assert_joint(batch)


class _NoSingleRows(TensorDictDataset):
    """A dataset that refuses to be read row by row: a loader over it must fetch whole batches."""

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        raise AssertionError("a row was fetched on its own")


def test_a_loader_fetches_each_batch_with_one_index() -> None:
    loader = ResumableLoader(_NoSingleRows(_table()), batch_size=4, collate_fn=collate_tensor_dict)
    batches = list(loader)
    assert _rows(batches) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_collate_stacks_rows_and_passes_a_fetched_batch_through() -> None:
    data = TensorDictDataset(_table())
    stacked = collate_tensor_dict([data[1], data[5]])
    assert stacked["i"].tolist() == [1, 5] and stacked["v"].shape == (2, 2)
    fetched = data.__getitems__([3, 4])
    assert collate_tensor_dict(fetched)["i"] is fetched["i"]


def test_an_unshuffled_loader_gives_rows_in_order_and_drop_last_drops_the_short_batch() -> None:
    assert _rows(list(tensor_loader(_table(), 4))) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert _rows(list(tensor_loader(_table(), 4, drop_last=True))) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    for batch in tensor_loader(_table(), 4):
        _assert_joint(batch)


def test_zipped_items_cycle_the_shorter_datasets() -> None:
    data = ZippedDataset({"long": _table(5), "short": {"j": torch.tensor([10, 11])}})
    assert len(data) == 5
    assert [int(data[k]["short"]["j"]) for k in range(5)] == [10, 11, 10, 11, 10]
    batch = data.__getitems__([4, 3, 0])
    assert batch["long"]["i"].tolist() == [4, 3, 0] and batch["short"]["j"].tolist() == [10, 11, 10]
    with pytest.raises(ValueError, match="at least one dataset"):
        ZippedDataset({})


def test_zipped_batches_follow_the_longest_dataset_and_index_the_others_modulo_their_length() -> None:
    datasets = {"a": _table(7), "b": {"j": torch.arange(3) * 100}}
    plain = list(zipped_loader(datasets, 3))
    assert [b["a"]["i"].tolist() for b in plain] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b["b"]["j"].tolist() for b in plain] == [[0, 100, 200], [0, 100, 200], [0]]
    shuffled = list(zipped_loader(datasets, 3, shuffle_seed=1))
    assert sorted(i for b in shuffled for i in b["a"]["i"].tolist()) == list(range(7))
    for batch in shuffled:
        _assert_joint(batch["a"])
        assert torch.equal(batch["b"]["j"], (batch["a"]["i"] % 3) * 100)


def test_seeded_shuffles_are_reproducible_and_every_epoch_is_a_permutation() -> None:
    first = tensor_loader(_table(20), 6, shuffle_seed=3)
    again = tensor_loader(_table(20), 6, shuffle_seed=3)
    other = tensor_loader(_table(20), 6, shuffle_seed=4)
    epochs = [_rows(list(first)) for _ in range(2)]
    assert epochs == [_rows(list(again)) for _ in range(2)]
    assert epochs[0] != _rows(list(other))
    assert epochs[0] != epochs[1]  # reshuffled every epoch
    for epoch in epochs:
        assert [len(b) for b in epoch] == [6, 6, 6, 2]
        assert sorted(i for b in epoch for i in b) == list(range(20))
        assert [i for b in epoch for i in b] != list(range(20))


def _take(loader: ResumableLoader, count: int) -> tuple[Any, list[dict[str, Tensor]]]:
    """The loader's iterator after ``count`` batches, and those batches."""
    iterator = iter(loader)
    return iterator, [next(iterator) for _ in range(count)]


@pytest.mark.parametrize("done", [0, 1, 3])
@pytest.mark.parametrize("seed", [None, 5])
def test_a_loader_given_a_mid_epoch_state_yields_exactly_the_remaining_batches(done: int, seed: int | None) -> None:
    original = tensor_loader(_table(22), 4, shuffle_seed=seed)
    list(original)  # a first epoch, so the state is not the seed's
    iterator, _ = _take(original, done)
    state = original.state_dict()
    assert state["batches"] == done
    rest = list(iterator)
    following = list(original)  # the epoch after

    resumed = tensor_loader(_table(22), 4, shuffle_seed=None if seed is None else 99)  # the state carries the order
    resumed.load_state_dict(state)
    assert _rows(list(resumed)) == _rows(rest)
    assert _rows(list(resumed)) == _rows(following)  # and then the uninterrupted run's next epoch


def test_a_state_taken_after_the_last_batch_resumes_at_the_next_epoch() -> None:
    original = tensor_loader(_table(10), 4, shuffle_seed=0)
    list(original)
    state = original.state_dict()
    assert state["batches"] == 0
    following = list(original)
    resumed = tensor_loader(_table(10), 4, shuffle_seed=0)
    resumed.load_state_dict(state)
    assert _rows(list(resumed)) == _rows(following)


def test_a_zipped_loader_resumes_mid_epoch_too() -> None:
    datasets = {"a": _table(9), "b": {"j": torch.arange(4)}}
    original = zipped_loader(datasets, 2, shuffle_seed=7)
    iterator, _ = _take(original, 2)
    state = original.state_dict()
    rest = list(iterator)
    resumed = zipped_loader(datasets, 2, shuffle_seed=7)
    resumed.load_state_dict(state)
    got = list(resumed)
    assert [b["a"]["i"].tolist() for b in got] == [b["a"]["i"].tolist() for b in rest]
    assert [b["b"]["j"].tolist() for b in got] == [b["b"]["j"].tolist() for b in rest]


def test_a_loaded_state_is_used_once() -> None:
    original = tensor_loader(_table(12), 4, shuffle_seed=2)
    iterator, _ = _take(original, 1)
    state = original.state_dict()
    rest, following = list(iterator), list(original)
    resumed = tensor_loader(_table(12), 4, shuffle_seed=2)
    resumed.load_state_dict(state)
    assert len(list(resumed)) == len(rest) == 2
    assert _rows(list(resumed)) == _rows(following)  # a whole epoch again


def test_a_state_loaded_but_not_yet_used_is_the_state_the_loader_reports() -> None:
    original = tensor_loader(_table(10), 3, shuffle_seed=0)
    list(original)
    iterator, _ = _take(original, 1)
    state = original.state_dict()
    rest = list(iterator)
    resumed = tensor_loader(_table(10), 3, shuffle_seed=0)
    resumed.load_state_dict(state)
    again = tensor_loader(_table(10), 3, shuffle_seed=0)
    again.load_state_dict(resumed.state_dict())  # saved again before any batch was drawn
    assert _rows(list(again)) == _rows(rest)
