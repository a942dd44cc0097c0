"""EmpiricalRows: the first rows observed up to ``max_rows``, a random subset kept jointly with one
permutation, draws with replacement from the kept rows, a one-line NotTrainedError without rows, and the
state that travels with checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lightning_causal.errors import NotTrainedError, QueryError
from lightning_causal.mechanisms import EmpiricalRows


def test_observe_keeps_the_first_rows_seen_up_to_max_rows() -> None:
    rows = EmpiricalRows(max_rows=5)
    rows.observe({"a": torch.arange(3), "b": torch.arange(3) * 10}, ["a"])
    rows.observe({"a": torch.arange(100, 104)}, ["a"])
    assert rows.store["a"].tolist() == [0, 1, 2, 100, 101]
    rows.observe({"a": torch.arange(200, 210)}, ["a"])  # full: nothing more is kept
    assert rows.store["a"].tolist() == [0, 1, 2, 100, 101]
    assert "b" not in rows.store  # only the names asked for


def test_observe_fills_each_name_on_its_own() -> None:
    rows = EmpiricalRows(max_rows=4)
    rows.observe({"a": torch.arange(3)}, ["a"])
    rows.observe({"a": torch.arange(10, 13), "b": torch.arange(20, 23)}, ["a", "b"])
    assert rows.store["a"].tolist() == [0, 1, 2, 10]
    assert rows.store["b"].tolist() == [20, 21, 22]


def test_observed_rows_are_detached_copies_on_the_cpu() -> None:
    rows = EmpiricalRows(max_rows=10)
    x = torch.randn(4, 2, requires_grad=True)
    rows.observe({"x": x * 2}, ["x"])
    kept = rows.store["x"]
    assert not kept.requires_grad and kept.device.type == "cpu"
    torch.testing.assert_close(kept, (x * 2).detach())


def test_keep_uses_one_permutation_for_all_names_so_rows_stay_joint() -> None:
    n = 50
    a = torch.arange(n)
    values = {"a": a, "b": torch.stack([a * 10, -a], 1).float(), "c": a % 7}
    rows = EmpiricalRows(max_rows=20)
    rows.keep(values, ["a", "b", "c"], torch.Generator().manual_seed(0))
    kept = rows.store["a"]
    assert len(kept) == 20 and len(set(kept.tolist())) == 20  # without replacement
    assert set(kept.tolist()) <= set(range(n))
    assert kept.tolist() != list(range(20))  # a random subset, not the first rows
    assert torch.equal(rows.store["b"], torch.stack([kept * 10, -kept], 1).float())
    assert torch.equal(rows.store["c"], kept % 7)


def test_keep_is_reproducible_from_the_generator_and_replaces_what_was_kept() -> None:
    values = {"a": torch.arange(40)}
    first, second, other = EmpiricalRows(8), EmpiricalRows(8), EmpiricalRows(8)
    first.keep(values, ["a"], torch.Generator().manual_seed(3))
    second.observe({"a": torch.arange(100, 108)}, ["a"])
    second.keep(values, ["a"], torch.Generator().manual_seed(3))
    other.keep(values, ["a"], torch.Generator().manual_seed(4))
    assert torch.equal(first.store["a"], second.store["a"])
    assert not torch.equal(first.store["a"], other.store["a"])


def test_keep_caps_at_max_rows_and_keeps_all_of_a_smaller_dataset() -> None:
    small = EmpiricalRows(max_rows=100)
    small.keep({"a": torch.arange(30)}, ["a"], torch.Generator().manual_seed(0))
    assert sorted(small.store["a"].tolist()) == list(range(30))
    capped = EmpiricalRows(max_rows=1)
    capped.keep({"a": torch.arange(30)}, ["a"], torch.Generator().manual_seed(0))
    assert len(capped.store["a"]) == 1


def test_keep_of_no_names_keeps_nothing() -> None:
    rows = EmpiricalRows()
    rows.keep({"a": torch.arange(5)}, [], torch.Generator().manual_seed(0))
    assert rows.store == {}


def test_keep_copies_so_later_changes_to_the_data_do_not_reach_the_kept_rows() -> None:
    data = torch.arange(10.0)
    rows = EmpiricalRows(max_rows=10)
    rows.keep({"a": data}, ["a"], torch.Generator().manual_seed(0))
    before = rows.store["a"].clone()
    data.add_(100)
    assert torch.equal(rows.store["a"], before)


def test_draw_takes_kept_rows_with_replacement() -> None:
    rows = EmpiricalRows(max_rows=10)
    kept = torch.tensor([[1.0, -1.0], [2.0, -2.0], [3.0, -3.0]])
    rows.observe({"v": kept}, ["v"])
    n = 6000
    drawn = rows.draw("v", n, torch.Generator().manual_seed(0))
    assert drawn.shape == (n, 2) and drawn.device.type == "cpu"
    assert torch.equal(drawn[:, 1], -drawn[:, 0])  # whole rows
    counts = torch.bincount(drawn[:, 0].long() - 1, minlength=3).float()
    assert set(drawn[:, 0].tolist()) == {1.0, 2.0, 3.0}
    sigma = (n * (1 / 3) * (2 / 3)) ** 0.5
    assert bool(((counts - n / 3).abs() < 4 * sigma).all()), counts.tolist()


def test_draws_are_reproducible_from_the_generator() -> None:
    rows = EmpiricalRows()
    rows.observe({"a": torch.arange(100)}, ["a"])
    a = rows.draw("a", 50, torch.Generator().manual_seed(1))
    b = rows.draw("a", 50, torch.Generator().manual_seed(1))
    c = rows.draw("a", 50, torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert rows.draw("a", 7, None).shape == (7,)


@pytest.mark.parametrize(
    "what,fragment", [(None, "variable 'z' has no training rows"), ("root 'z'", "root 'z' has no")]
)
def test_drawing_without_rows_names_what_has_none(what: str | None, fragment: str) -> None:
    rows = EmpiricalRows()
    rows.observe({"z": torch.zeros(0, 1)}, ["z"])  # an empty batch keeps nothing to draw from
    with pytest.raises(NotTrainedError) as err:
        rows.draw("z", 3, None, what)
    message = str(err.value)
    assert message.startswith(fragment) and "train the model first" in message and "\n" not in message
    assert issubclass(NotTrainedError, QueryError) and issubclass(NotTrainedError, RuntimeError)
    with pytest.raises(NotTrainedError, match="variable 'never' has no training rows"):
        EmpiricalRows().draw("never", 1, None)


def test_contains_means_rows_to_draw_from() -> None:
    rows = EmpiricalRows()
    rows.observe({"a": torch.arange(3), "e": torch.zeros(0)}, ["a", "e"])
    assert "a" in rows and "e" not in rows and "b" not in rows


def test_the_state_dict_round_trips_into_a_fresh_store() -> None:
    rows = EmpiricalRows(max_rows=16)
    rows.keep({"a": torch.arange(40), "b": torch.randn(40, 3)}, ["a", "b"], torch.Generator().manual_seed(0))
    state = rows.state_dict()
    assert set(state) == {"a", "b"} and torch.equal(state["a"], rows.store["a"])
    loaded = EmpiricalRows(max_rows=16)
    loaded.load_state_dict(state)
    for name in ("a", "b"):
        assert torch.equal(
            loaded.draw(name, 20, torch.Generator().manual_seed(5)),
            rows.draw(name, 20, torch.Generator().manual_seed(5)),
        )
    state.pop("a")  # the state is a copy of the mapping, not the store itself
    assert "a" in rows


def test_a_saved_state_survives_torch_save(tmp_path: Path) -> None:
    rows = EmpiricalRows(max_rows=5)
    rows.observe({"a": torch.arange(5.0)}, ["a"])
    path = tmp_path / "rows.pt"
    torch.save(rows.state_dict(), path)
    loaded = EmpiricalRows()
    loaded.load_state_dict(torch.load(path, weights_only=True))
    assert torch.equal(loaded.store["a"], torch.arange(5.0))


def test_draw_joint_takes_every_name_from_the_same_kept_row() -> None:
    rows = EmpiricalRows(max_rows=50)
    age = torch.arange(30, dtype=torch.float32)[:, None]
    rows.observe({"age": age, "years": 2 * age, "smoker": torch.arange(30) % 2}, ["age", "years", "smoker"])
    drawn = rows.draw_joint(["age", "years", "smoker"], 500, torch.Generator().manual_seed(0))
    assert torch.equal(drawn["years"], 2 * drawn["age"])  # one row each: the relation between them holds
    assert torch.equal(drawn["smoker"], drawn["age"][:, 0].long() % 2)
    assert len(set(drawn["age"][:, 0].tolist())) > 20  # with replacement, across the kept rows
    again = rows.draw_joint(["age", "years", "smoker"], 500, torch.Generator().manual_seed(0))
    assert torch.equal(again["age"], drawn["age"])
    assert rows.draw_joint([], 5, None) == {}
    with pytest.raises(NotTrainedError, match="root 'x' has no training rows"):
        rows.draw_joint(["x", "age"], 3, None, "root 'x'")
    rows.observe({"late": torch.arange(5)}, ["late"])  # kept from another batch: not aligned with age
    with pytest.raises(NotTrainedError, match="not aligned"):
        rows.draw_joint(["age", "late"], 3, None)
