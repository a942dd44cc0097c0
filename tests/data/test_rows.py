"""The data contract: in-memory rows, data modules and shard folders are row sources; user data is checked and typed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lightning_causal.data import RowSource, ShardRows, TensorRows, as_rows, check_rows, write_manifest, write_shard
from lightning_causal.datamodules import LatentSCMDataModule
from lightning_causal.errors import DataError
from lightning_causal.variables import VariableSpec


def test_tensor_rows_hold_splits_and_refuse_an_unknown_one() -> None:
    rows = TensorRows({"train": {"x": torch.zeros(3, 1)}}, {"x": VariableSpec("x")})
    assert isinstance(rows, RowSource)
    assert set(rows.rows("train")) == {"x"} and rows.rows() is not rows.splits["train"]  # a copy
    with pytest.raises(DataError, match="no split 'val'; it has train"):
        rows.rows("val")


def test_data_modules_and_shard_folders_are_row_sources(tmp_path: Path) -> None:
    dm = LatentSCMDataModule("frontdoor", n_train=50, n_val=10)
    assert isinstance(dm, RowSource) and torch.equal(dm.rows("val")["Y"], dm.val_tensors["Y"])
    specs = {"M": VariableSpec("M", "categorical", classes=4), "Y": VariableSpec("Y", dim=2)}
    part = {"M": torch.tensor([0, 3, 1]), "Y": torch.randn(3, 2, generator=torch.Generator().manual_seed(0))}
    write_shard(tmp_path / "shard-000000.tar", part, specs, 0)
    write_manifest(tmp_path, specs, [("shard-000000.tar", 3)])
    shards = ShardRows(tmp_path)
    assert isinstance(shards, RowSource)
    assert (shards.variables["M"].kind, shards.variables["M"].classes, shards.variables["Y"].dim) == (
        "categorical",
        4,
        2,
    )
    assert torch.equal(shards.rows()["M"], part["M"]) and torch.allclose(shards.rows()["Y"], part["Y"])
    with pytest.raises(DataError, match="no finished dataset"):
        ShardRows(tmp_path / "nothing")


def test_a_dict_of_arrays_is_typed_converted_and_given_statistics() -> None:
    g = np.random.default_rng(0)
    data = {
        "a": g.normal(size=100),  # float64 vector of one dimension
        "b": g.integers(0, 3, size=100),  # codes 0..2
        "c": g.integers(0, 50, size=100),  # a count: continuous by the one rule
        "d": g.normal(size=(100, 2)).astype(np.float32),
    }
    source = as_rows(data, ["a", "b", "c", "d"])
    rows, specs = source.rows(), source.variables
    assert list(specs) == ["a", "b", "c", "d"]
    assert rows["a"].shape == (100, 1) and rows["a"].dtype == torch.float32
    assert rows["b"].dtype == torch.int64 and (specs["b"].kind, specs["b"].classes) == ("categorical", 3)
    assert specs["c"].kind == "continuous" and rows["c"].shape == (100, 1)
    assert specs["d"].dim == 2 and specs["d"].mean == pytest.approx(tuple(rows["d"].double().mean(0).tolist()))


def test_declared_types_win_and_a_data_module_brings_its_own() -> None:
    codes = np.array([0, 1, 1, 0] * 5)
    source = as_rows({"x": codes, "y": np.linspace(0, 1, 20)}, ["x", "y"], {"x": {"type": "categorical", "classes": 4}})
    assert (source.variables["x"].kind, source.variables["x"].classes) == ("categorical", 4)
    dm = LatentSCMDataModule("napkin_mixed", n_train=60, n_val=5)
    from_module = as_rows(dm, ["W2", "X", "Y"])
    assert (
        from_module.variables["W2"] == dm.variables["W2"] and from_module.variables["Y"].mean == dm.variables["Y"].mean
    )
    assert torch.equal(from_module.rows()["X"], dm.train_tensors["X"])


@pytest.mark.parametrize(
    "data,fragment",
    [
        ({"x": np.zeros(5)}, "'x' is constant"),
        ({"x": np.array([0.0, np.nan, 1.0])}, "'x' holds NaN"),
        ({"x": np.array(["a", "b"], dtype=object)}, "labels"),
        ({"y": np.zeros(5)}, "no variable 'x'"),
        ([[1.0]], "dict of arrays"),
    ],
)
def test_bad_user_data_is_one_line_naming_the_variable(data: object, fragment: str) -> None:
    with pytest.raises(DataError, match=fragment) as raised:
        as_rows(data, ["x"])
    assert "\n" not in str(raised.value)


def test_declared_class_codes_out_of_range_are_refused() -> None:
    with pytest.raises(DataError, match=r"outside 0\.\.1"):
        as_rows({"x": np.array([0, 1, 2])}, ["x"], {"x": "binary"})


def test_check_rows_wants_every_variable_with_one_length() -> None:
    rows = {"a": torch.zeros(3), "b": torch.zeros(4)}
    assert set(check_rows(rows, ["a"])) == {"a"}
    with pytest.raises(DataError, match="same, non-zero number of rows"):
        check_rows(rows, ["a", "b"])
    with pytest.raises(DataError, match="the table has no variable 'c'"):
        check_rows(rows, ["c"], "the table")
