"""The data modules of an ID-GEN stage: generated datasets side by side (StageData) and plain rows (RowsData).

Checks ``lightning_causal.models.idgen.stage_data``: StageData holds out the tail of every dataset for
validation (none when one is too small), gives one batch of every dataset per training step (under a
real Trainer too), keeps each row's columns together and shuffles by its seed; RowsData gives shuffled
batches of all rows, the same for the same seed. Every row's values name the row (b = 2 a), so the
oracle is the row numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import lightning as L
import pytest
import torch
from torch import Tensor

from lightning_causal.models.idgen.stage_data import RowsData, StageData


def _rows(first: int, n: int) -> dict[str, Tensor]:
    """``n`` rows numbered from ``first``: a = number (as a column), b = 2 * number."""
    a = torch.arange(first, first + n)
    return {"a": a[:, None].float(), "b": 2 * a}


def _numbers(batch: Mapping[str, Tensor]) -> list[int]:
    """The row numbers of a batch, after checking its columns stayed together."""
    a = batch["a"][:, 0].long()
    assert torch.equal(batch["b"], 2 * a), "a row's columns were separated"
    return a.tolist()


def _epoch(loader: Any, name: str | None = None) -> list[int]:
    return [n for batch in loader for n in _numbers(batch[name] if name else batch)]


class Recorder(L.LightningModule):
    """Records the datasets and sizes of every training and validation batch; learns nothing of note."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.train_batches: list[dict[str, list[int]]] = []
        self.val_batches: list[dict[str, list[int]]] = []

    def training_step(self, batch: Mapping[str, Mapping[str, Tensor]], batch_idx: int) -> Tensor:
        self.train_batches.append({name: _numbers(part) for name, part in batch.items()})
        return (self.w**2).sum() + self.w.sum() * 0

    def validation_step(self, batch: Mapping[str, Mapping[str, Tensor]], batch_idx: int) -> None:
        self.val_batches.append({name: _numbers(part) for name, part in batch.items()})

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_each_dataset_keeps_its_tail_for_validation() -> None:
    data = StageData({"D1": _rows(0, 40), "D2": _rows(1000, 60)}, batch_size=16, seed=0, val_fraction=0.05)
    # 5% of 40 rows is 2, of 60 rows 3: the last rows of each validate, the others train
    assert _numbers(data.train_parts["D1"]) == list(range(38)) and _numbers(data.val_parts["D1"]) == [38, 39]
    assert _numbers(data.train_parts["D2"]) == list(range(1000, 1057))
    assert _numbers(data.val_parts["D2"]) == [1057, 1058, 1059]
    # validation batches are in row order; the shorter dataset cycles beside the longer
    val = list(data.val_dataloader())
    assert len(val) == 1 and _numbers(val[0]["D2"]) == [1057, 1058, 1059] and _numbers(val[0]["D1"]) == [38, 39, 38]


def test_a_training_step_gets_one_batch_of_every_dataset() -> None:
    data = StageData({"D1": _rows(0, 40), "D2": _rows(1000, 60)}, batch_size=16, seed=0)
    batches = list(data.train_dataloader())
    assert len(batches) == 4  # the longest dataset's 57 training rows in batches of 16
    assert all(set(batch) == {"D1", "D2"} for batch in batches)
    assert [len(batch["D2"]["b"]) for batch in batches] == [16, 16, 16, 9]
    assert sorted(_epoch(batches, "D2")) == list(range(1000, 1057))  # every row of the longest once per epoch
    d1 = _epoch(batches, "D1")
    assert set(d1) == set(range(38)) and len(d1) == 57  # the shorter one cycles, never into its validation rows
    assert _epoch(batches, "D2") != list(range(1000, 1057))  # shuffled


def test_a_real_trainer_sees_every_dataset_in_every_step_and_validates_the_tails(
    cpu_trainer: Callable[..., L.Trainer],
) -> None:
    data = StageData({"D1": _rows(0, 40), "D2": _rows(1000, 60)}, batch_size=8, seed=0)
    model = Recorder()
    cpu_trainer(max_steps=3, val_check_interval=3, check_val_every_n_epoch=None).fit(model, datamodule=data)
    assert len(model.train_batches) == 3
    assert all(set(b) == {"D1", "D2"} and len(b["D1"]) == len(b["D2"]) == 8 for b in model.train_batches)
    assert model.val_batches == [{"D1": [38, 39, 38], "D2": [1057, 1058, 1059]}]


def test_no_validation_when_a_dataset_is_too_small_to_hold_rows_out() -> None:
    data = StageData({"small": _rows(0, 19), "big": _rows(1000, 100)}, batch_size=16, seed=0)
    assert data.val_parts == {} and data.val_dataloader() == []
    assert _numbers(data.train_parts["small"]) == list(range(19))  # fewer than 20 rows: all train


def test_a_validation_share_that_rounds_to_no_row_holds_none_out() -> None:
    data = StageData({"D1": _rows(0, 50)}, batch_size=16, seed=0, val_fraction=0.01)  # 0.5 of a row
    assert data.val_parts == {} and _numbers(data.train_parts["D1"]) == list(range(50))


@pytest.mark.xfail(
    reason="StageData drops validation for every dataset when one is too small, but the larger datasets' tails "
    "stay cut from their training rows: those rows are neither trained on nor validated",
    strict=True,
)
def test_when_nothing_validates_every_row_trains() -> None:
    data = StageData({"small": _rows(0, 19), "big": _rows(1000, 100)}, batch_size=16, seed=0)
    assert data.val_dataloader() == []
    assert _numbers(data.train_parts["big"]) == list(range(1000, 1100))


def test_stage_batches_are_shuffled_by_the_seed() -> None:
    datasets = {"D1": _rows(0, 40), "D2": _rows(1000, 60)}

    def order(seed: int) -> list[int]:
        return _epoch(StageData(datasets, batch_size=16, seed=seed).train_dataloader(), "D2")

    assert order(3) == order(3) and order(3) != order(4)


def test_rows_data_gives_every_row_once_per_epoch_shuffled_by_its_seed() -> None:
    rows = _rows(0, 50)
    first = RowsData(rows, batch_size=16, seed=7)
    assert first.batch_size == 16 and first.seed == 7
    loader = first.train_dataloader()
    epoch1, epoch2 = _epoch(loader), _epoch(loader)
    assert sorted(epoch1) == list(range(50)) and sorted(epoch2) == list(range(50))
    assert [len(batch["a"]) for batch in loader] == [16, 16, 16, 2]
    assert epoch1 != list(range(50)) and epoch2 != epoch1  # shuffled, anew every epoch

    replay = RowsData(rows, batch_size=16, seed=7).train_dataloader()
    assert _epoch(replay) == epoch1 and _epoch(replay) == epoch2  # the same seed: the same batches
    assert _epoch(RowsData(rows, batch_size=16, seed=8).train_dataloader()) != epoch1
