"""TensorDataModule: rows(split) returns the in-memory splits and refuses an unknown one in one line naming it,
the module satisfies the RowSource contract, training batches are shuffled reproducibly by the seed and
validation batches come in row order."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from lightning_causal.data import RowSource, as_rows
from lightning_causal.datamodules.tensor_data import TensorDataModule
from lightning_causal.errors import DataError
from lightning_causal.variables import VariableSpec


def _split(start: int, n: int) -> dict[str, Tensor]:
    """Rows numbered from ``start``: ``i`` holds the number, ``v`` (i, 2 i) and ``c`` i mod 3."""
    i = torch.arange(start, start + n)
    return {"i": i.float().unsqueeze(1), "v": torch.stack([i, 2 * i], 1).float(), "c": i % 3}


class Rows(TensorDataModule):
    """A data module with 23 training rows, 7 validation rows and, when asked, 5 test rows."""

    def __init__(self, seed: int = 0, batch_size: int = 5, test: bool = False) -> None:
        super().__init__()
        self.train_tensors = _split(0, 23)
        self.val_tensors = _split(100, 7)
        if test:
            self.test_tensors = _split(200, 5)
        self.variables = {
            "i": VariableSpec("i", "continuous"),
            "v": VariableSpec("v", "continuous", dim=2),
            "c": VariableSpec("c", "categorical", classes=3),
        }
        self.batch_size, self.seed, self.num_workers = batch_size, seed, 0


def _order(batches: list[dict[str, Tensor]]) -> list[int]:
    return [int(x) for b in batches for x in b["i"][:, 0].tolist()]


def test_rows_returns_each_split() -> None:
    data = Rows(test=True)
    for split, start, n in (("train", 0, 23), ("val", 100, 7), ("test", 200, 5)):
        rows = data.rows(split)
        assert set(rows) == {"i", "v", "c"}
        assert rows["i"][:, 0].tolist() == list(range(start, start + n)), split
    assert data.rows()["i"].shape == (23, 1)  # train by default


def test_rows_gives_a_new_mapping_each_time() -> None:
    data = Rows()
    rows = data.rows("train")
    rows.pop("v")
    rows["extra"] = torch.zeros(23)
    assert set(data.rows("train")) == {"i", "v", "c"}


@pytest.mark.parametrize("split", ["test", "validation", "variables", ""])
def test_an_unknown_split_is_refused_naming_it(split: str) -> None:
    with pytest.raises(DataError) as err:
        Rows().rows(split)
    message = str(err.value)
    assert message.startswith(f"Rows has no split {split!r}") and "\n" not in message


def test_the_error_for_an_unknown_split_lists_the_splits_the_module_has() -> None:
    with pytest.raises(DataError) as err:
        Rows(test=True).rows("holdout")
    assert "test" in str(err.value)


def test_the_module_is_a_row_source_that_as_rows_reads() -> None:
    data = Rows()
    assert isinstance(data, RowSource)
    source = as_rows(data, ["i", "c"])
    rows = source.rows("train")
    assert set(rows) == {"i", "c"} and torch.equal(rows["c"], data.train_tensors["c"])
    spec = source.variables["i"]
    values = torch.arange(23, dtype=torch.float64)
    assert spec.mean is not None and spec.std is not None
    assert spec.mean[0] == pytest.approx(float(values.mean()))  # statistics of the training rows, by torch
    assert spec.std[0] == pytest.approx(float(values.std(unbiased=False)))


def test_training_batches_cover_every_row_shuffled_and_reproducible_by_seed() -> None:
    data = Rows(seed=3)
    loader = data.train_dataloader()
    first, second = list(loader), list(loader)
    assert [len(b["i"]) for b in first] == [5, 5, 5, 5, 3]
    for epoch in (first, second):
        assert sorted(_order(epoch)) == list(range(23))
        assert _order(epoch) != list(range(23))
        for batch in epoch:  # rows stay whole
            i = batch["i"][:, 0]
            assert torch.equal(batch["v"], torch.stack([i, 2 * i], 1)) and torch.equal(batch["c"], i.long() % 3)
    assert _order(first) != _order(second)  # reshuffled every epoch
    again = Rows(seed=3).train_dataloader()
    assert _order(list(again)) == _order(first) and _order(list(again)) == _order(second)
    assert _order(list(Rows(seed=4).train_dataloader())) != _order(first)


def test_validation_batches_come_in_row_order() -> None:
    data = Rows(seed=3, batch_size=3)
    batches = list(data.val_dataloader())
    assert [len(b["i"]) for b in batches] == [3, 3, 1]
    assert _order(batches) == list(range(100, 107))
    assert _order(list(data.val_dataloader())) == _order(batches)


def test_the_training_loader_resumes_where_its_state_was_taken() -> None:
    data = Rows(seed=1)
    loader = data.train_dataloader()
    iterator = iter(loader)
    next(iterator)
    state = loader.state_dict()  # type: ignore[attr-defined]
    rest = list(iterator)
    resumed = Rows(seed=1).train_dataloader()
    resumed.load_state_dict(state)  # type: ignore[attr-defined]
    assert _order(list(resumed)) == _order(rest)
