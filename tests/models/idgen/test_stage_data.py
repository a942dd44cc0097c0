"""The data modules of an ID-GEN stage: generated datasets side by side (StageData) and plain rows (RowsData).

Checks ``lightning_causal.models.idgen.stage_data``: StageData holds out the tail of every dataset for
validation (none when one is too small), gives one batch of every dataset per training step (under a
real Trainer too), keeps each row's columns together and shuffles by its seed; RowsData gives shuffled
batches of all rows, the same for the same seed; StreamedStageData does as StageData with datasets
streamed from real shards beside ones in memory, and resumes mid-epoch exactly. Every row's values
name the row (b = 2 a), so the oracle is the row numbers.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
from torch import Tensor

from lightning_causal.data.shards import shard_name, write_manifest, write_shard
from lightning_causal.models.idgen.stage_data import RowsData, StageData, StreamedStageData, held_out
from lightning_causal.variables.spec import VariableSpec


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


# ---------------------------------------------------------------------------- datasets streamed from shards
def _written(folder: Path, first: int, n: int, shard_rows: int) -> Path:
    """``_rows(first, n)`` written as a generated dataset's shards (``shard_rows`` rows each) and manifest."""
    rows = _rows(first, n)
    specs = {"a": VariableSpec("a", "continuous"), "b": VariableSpec("b", "categorical", classes=4000)}
    shards = []
    for index, start in enumerate(range(0, n, shard_rows)):
        part = {v: t[start : start + shard_rows] for v, t in rows.items()}
        write_shard(folder / shard_name(index), part, specs, start)
        shards.append((shard_name(index), len(part["a"])))
    write_manifest(folder, specs, shards)
    return folder


def test_held_out_splits_the_last_rows_off_inside_a_shard() -> None:
    shards = [{"file": "s0", "rows": 16}, {"file": "s1", "rows": 16}, {"file": "s2", "rows": 8}]
    manifest = {"rows": 40, "shards": shards}
    split = held_out(manifest, 0.05)["shards"]  # 2 rows validate: the last two of s2
    assert split == [
        {"file": "s0", "rows": 16, "split": "train"},
        {"file": "s1", "rows": 16, "split": "train"},
        {"file": "s2", "rows": 6, "split": "train"},
        {"file": "s2", "rows": 2, "first": 6, "split": "val"},
    ]
    whole = held_out(manifest, 0.25)["shards"]  # 10 rows: s2 and the last two of s1
    assert [(e["file"], e["rows"], e.get("first", 0), e["split"]) for e in whole] == [
        ("s0", 16, 0, "train"),
        ("s1", 14, 0, "train"),
        ("s1", 2, 14, "val"),
        ("s2", 8, 0, "val"),
    ]


def test_a_streamed_dataset_trains_on_its_rows_and_validates_its_tail_beside_one_in_memory(tmp_path: Path) -> None:
    data = StreamedStageData({"D1": _written(tmp_path, 0, 40, 16), "D2": _rows(1000, 60)}, batch_size=8, seed=0)
    train = data.train_dataloader()
    assert len(train) == 8  # the longest: 57 rows of D2 in memory, in batches of 8
    batches = list(train)
    assert all(set(b) == {"D1", "D2"} and len(b["D1"]["a"]) == 8 for b in batches)
    d1 = _epoch(batches, "D1")
    # 38 training rows: 4 batches an epoch (the rest dropped, others in each epoch), cycled beside D2
    assert set(d1) <= set(range(38)) and len(d1) == 64 and len(set(d1[:32])) == 32
    assert sorted(_epoch(batches, "D2")) == list(range(1000, 1057))
    val = list(data.val_dataloader())
    assert len(val) == 1 and set(_numbers(val[0]["D1"])) == {38, 39} and _numbers(val[0]["D2"]) == [1057, 1058, 1059]
    again = next(iter(data.val_dataloader()))
    assert again["D1"]["a"].tolist() == val[0]["D1"]["a"].tolist()  # the same every time


def test_a_stage_whose_smallest_dataset_holds_nothing_out_trains_on_every_row(tmp_path: Path) -> None:
    data = StreamedStageData({"D1": _written(tmp_path, 0, 64, 16), "small": _rows(500, 19)}, batch_size=8, seed=0)
    assert data.val_dataloader() == []
    assert set(_epoch(list(data.train_dataloader()), "D1")) == set(range(64))


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("stop", [3, 9, 11])
def test_zipped_streams_resume_mid_epoch_exactly(tmp_path: Path, workers: int, stop: int) -> None:
    folder = _written(tmp_path, 0, 100, 10)

    def data() -> StreamedStageData:  # D1 streamed, 95 training rows (11 batches); D2 in memory, 4 batches
        return StreamedStageData({"D1": folder, "D2": _rows(1000, 30)}, batch_size=8, seed=3, num_workers=workers)

    straight = data().train_dataloader()
    assert straight.lead == "D1" and len(straight) == 11
    run = [b for _ in range(2) for b in straight]  # two epochs: D2 runs through 5 and a half of its own
    first = data().train_dataloader()
    head = [b for _, b in zip(range(stop), first, strict=False)]
    resumed = data().train_dataloader()
    resumed.load_state_dict(first.state_dict())
    rest = list(resumed) + (list(resumed) if stop < 11 else [])
    for name in ("D1", "D2"):
        assert _epoch(head + rest, name) == _epoch(run, name)


def test_a_zipped_loader_mid_epoch_can_be_copied_and_closed(tmp_path: Path) -> None:
    # an EMA callback deep-copies the model, and with it the trainer it points at and that trainer's loaders
    loader = StreamedStageData({"D1": _written(tmp_path, 0, 40, 16), "D2": _rows(1000, 60)}, 8, 0).train_dataloader()
    head = [b for _, b in zip(range(2), loader, strict=False)]
    copied = copy.deepcopy(loader)
    assert copied.state_dict()["D1"] == loader.state_dict()["D1"] and len(head) == 2
    assert copied.state_dict()["D2"]["batches"] == loader.state_dict()["D2"]["batches"] == 2
    loader.close()
    assert loader.state_dict()["D1"]["batches"] == 2  # closing keeps the position
