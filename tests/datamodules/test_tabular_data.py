"""TabularDataModule: type inference and declarations, the split and its statistics, loaders, errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

import lightning_causal.datamodules.tabular_data
from lightning_causal import DataError, GraphError
from lightning_causal.datamodules import TabularDataModule
from lightning_causal.variables import VariableSpec

N = 40


def write(tmp_path: Path, frame: pd.DataFrame, suffix: str = ".csv", name: str = "data") -> str:
    path = tmp_path / f"{name}{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, engine="pyarrow", index=False)
    return str(path)


def graph_file(tmp_path: Path, text: str = "directed: [[X, Y]]\n") -> str:
    path = tmp_path / "graph.yaml"
    path.write_text(text)
    return str(path)


def mixed_frame(n: int = N, seed: int = 0) -> pd.DataFrame:
    """One column per inferred type, a 3-vector and an extra column that is not a node."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "f": rng.normal(3.0, 2.0, n),
            "b": np.arange(n) % 2,
            "t": np.arange(n) % 3 == 0,
            "c": np.arange(n) % 4,
            "s": rng.choice(["red", "green", "blue"], n),
            "v_0": rng.normal(size=n),
            "v_1": rng.normal(size=n),
            "v_2": rng.normal(size=n),
            "unused": "ignored",
        }
    )


MIXED_GRAPH = "directed: [[f, b], [t, b], [b, c], [c, s], [s, v]]\nvariables:\n  v: {type: continuous, dim: 3}\n"


def split(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, val rows) as the module documents them: a seeded torch permutation, val first."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).numpy()
    n_val = round(val_fraction * n)
    return order[n_val:], order[:n_val]


# ---------------------------------------------------------------------------------------------- types


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_undeclared_columns_are_typed_by_their_contents(tmp_path: Path, suffix: str) -> None:
    frame = mixed_frame()
    dm = TabularDataModule(write(tmp_path, frame, suffix), graph_file(tmp_path, MIXED_GRAPH))
    kinds = {name: (spec.kind, spec.classes, spec.dim) for name, spec in dm.variables.items()}
    assert kinds == {
        "f": ("continuous", 2, 1),
        "b": ("binary", 2, 1),
        "t": ("binary", 2, 1),
        "c": ("categorical", 4, 1),
        "s": ("categorical", 3, 1),
        "v": ("continuous", 2, 3),
    }
    assert list(dm.variables) == list(dm.graph.nodes)
    assert dm.variables["s"].categories == ("blue", "green", "red")
    assert "unused" not in dm.train_tensors
    rows = dm.train_rows.numpy()
    labels = np.array(["blue", "green", "red"])
    assert (labels[dm.train_tensors["s"].numpy()] == frame["s"].to_numpy()[rows]).all()
    assert torch.equal(dm.train_tensors["c"], torch.as_tensor(frame["c"].to_numpy()[rows], dtype=torch.int64))
    assert torch.equal(dm.train_tensors["t"], torch.as_tensor(frame["t"].to_numpy()[rows], dtype=torch.int64))
    assert torch.allclose(dm.train_tensors["f"][:, 0], torch.as_tensor(frame["f"].to_numpy()[rows]).float())
    vector = frame[["v_0", "v_1", "v_2"]].to_numpy()[rows]
    assert torch.allclose(dm.train_tensors["v"], torch.as_tensor(vector).float())


def test_integers_are_categorical_only_below_max_categories(tmp_path: Path) -> None:
    frame = pd.DataFrame({"X": np.arange(N) % 25, "Y": np.arange(N) - 3, "Z": np.arange(N) % 2 + 1})
    path = write(tmp_path, frame)
    graph = graph_file(tmp_path, "directed: [[X, Y], [Y, Z]]\n")
    dm = TabularDataModule(path, graph)
    assert [dm.variables[n].kind for n in "XYZ"] == ["continuous", "continuous", "categorical"]
    assert dm.variables["Z"].classes == 3  # codes 1, 2 kept as they are
    wide = TabularDataModule(path, graph, max_categories=30)
    assert wide.variables["X"].kind == "categorical" and wide.variables["X"].classes == 25
    assert wide.variables["Y"].kind == "continuous"  # negative codes never make a categorical


def test_declared_types_in_the_graph_file_win(tmp_path: Path) -> None:
    frame = mixed_frame()
    text = (
        "directed: [[f, b], [t, b], [b, c], [c, s], [s, v]]\n"
        "variables:\n"
        "  v: {type: continuous, dim: 3}\n"
        "  b: {type: categorical, classes: 3}\n"
        "  c: continuous\n"
        "  s: {type: categorical, classes: 3, categories: [red, green, blue]}\n"
    )
    dm = TabularDataModule(write(tmp_path, frame), graph_file(tmp_path, text), val_fraction=0.0)
    assert dm.variables["b"].kind == "categorical" and dm.variables["b"].classes == 3
    assert dm.variables["c"].kind == "continuous" and dm.train_tensors["c"].dtype == torch.float32
    assert dm.variables["s"].categories == ("red", "green", "blue")
    order = {"red": 0, "green": 1, "blue": 2}
    rows = dm.train_rows.numpy()
    assert dm.train_tensors["s"].tolist() == [order[label] for label in frame["s"].to_numpy()[rows]]
    assert dm.train_tensors["v"].shape == (N, 3)
    assert dm.variables["v"].source_columns == ("v_0", "v_1", "v_2")


def test_the_variables_argument_overrides_and_extends_the_graph_file(tmp_path: Path) -> None:
    frame = mixed_frame().rename(columns={"v_0": "p", "v_1": "q", "v_2": "r"})
    text = "directed: [[f, b], [t, b], [b, c], [c, s], [s, v]]\nvariables:\n  c: {type: categorical, classes: 9}\n"
    variables = {
        "c": "categorical",  # classes from the data
        "v": {"type": "continuous", "dim": 3, "columns": ["p", "q", "r"]},
        "f": {"type": "continuous", "mean": [100.0], "std": [1.0]},  # statistics are recomputed
    }
    dm = TabularDataModule(write(tmp_path, frame), graph_file(tmp_path, text), variables=variables)
    assert dm.variables["c"].classes == 4
    assert dm.variables["v"].dim == 3 and dm.variables["v"].columns == ("p", "q", "r")
    rows = dm.train_rows.numpy()
    expected = frame[["p", "q", "r"]].to_numpy()[rows]
    assert torch.allclose(dm.train_tensors["v"], torch.as_tensor(expected).float())
    assert dm.variables["f"].mean == pytest.approx((frame["f"].to_numpy()[rows].mean(),))


# ---------------------------------------------------------------------------------------------- split


@pytest.mark.parametrize("val_fraction,seed", [(0.25, 0), (0.1, 7)])
def test_statistics_come_from_the_training_rows_only(tmp_path: Path, val_fraction: float, seed: int) -> None:
    frame = mixed_frame(n=200, seed=3)
    frame.loc[:9, "f"] += 50.0  # outliers: where they fall changes the statistics
    dm = TabularDataModule(
        write(tmp_path, frame), graph_file(tmp_path, MIXED_GRAPH), val_fraction=val_fraction, seed=seed
    )
    train, val = split(len(frame), val_fraction, seed)
    assert dm.train_rows.tolist() == train.tolist() and dm.val_rows.tolist() == val.tolist()
    assert sorted(train.tolist() + val.tolist()) == list(range(len(frame)))
    f = frame["f"].to_numpy()
    assert dm.variables["f"].mean == pytest.approx((f[train].mean(),), rel=1e-12)
    assert dm.variables["f"].std == pytest.approx((f[train].std(ddof=0),), rel=1e-12)
    assert dm.variables["f"].mean != pytest.approx((f.mean(),), rel=1e-6)
    vector = frame[["v_0", "v_1", "v_2"]].to_numpy()[train]
    assert dm.variables["v"].mean == pytest.approx(tuple(vector.mean(axis=0)), rel=1e-12)
    assert dm.variables["v"].std == pytest.approx(tuple(vector.std(axis=0)), rel=1e-12)
    assert torch.allclose(dm.val_tensors["f"][:, 0], torch.as_tensor(f[val]).float())
    assert all(spec.mean is None for spec in dm.variables.values() if spec.is_discrete)


def test_val_fraction_zero_keeps_every_row_for_training(tmp_path: Path) -> None:
    dm = TabularDataModule(write(tmp_path, mixed_frame()), graph_file(tmp_path, MIXED_GRAPH), val_fraction=0.0)
    assert len(dm.train_rows) == N and len(dm.val_rows) == 0
    assert all(len(t) == 0 for t in dm.val_tensors.values())
    assert list(dm.val_dataloader()) == []


def test_the_split_depends_on_the_seed(tmp_path: Path) -> None:
    path, graph = write(tmp_path, mixed_frame()), graph_file(tmp_path, MIXED_GRAPH)
    a, b = TabularDataModule(path, graph, seed=1), TabularDataModule(path, graph, seed=2)
    assert set(a.val_rows.tolist()) != set(b.val_rows.tolist())
    assert torch.equal(a.train_rows, TabularDataModule(path, graph, seed=1).train_rows)


# ---------------------------------------------------------------------------------------------- loaders


def _epoch(loader: DataLoader[dict[str, torch.Tensor]]) -> list[dict[str, torch.Tensor]]:
    return list(loader)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_training_batches_cover_every_row_once_per_epoch(tmp_path: Path, num_workers: int) -> None:
    frame = mixed_frame(n=103)
    dm = TabularDataModule(
        write(tmp_path, frame), graph_file(tmp_path, MIXED_GRAPH), batch_size=16, num_workers=num_workers
    )
    loader = dm.train_dataloader()
    assert isinstance(loader, DataLoader)
    rows = dm.train_rows.numpy()
    first, second = _epoch(loader), _epoch(loader)
    for batches in (first, second):
        assert [len(b["f"]) for b in batches] == [16] * 5 + [len(rows) - 80]  # drop_last=False
        for batch in batches:
            assert set(batch) == set(dm.graph.nodes)
            assert batch["f"].dtype == torch.float32 and batch["f"].shape[1:] == (1,)
            assert batch["v"].dtype == torch.float32 and batch["v"].shape[1:] == (3,)
            for name in ("b", "t", "c", "s"):
                assert batch[name].dtype == torch.int64 and batch[name].dim() == 1
        seen = torch.cat([b["f"][:, 0] for b in batches])
        assert sorted(seen.tolist()) == sorted(dm.train_tensors["f"][:, 0].tolist())
        # rows stay whole: each f value comes with its own s code
        pairs = {(f, s) for b in batches for f, s in zip(b["f"][:, 0].tolist(), b["s"].tolist(), strict=True)}
        assert pairs == set(zip(dm.train_tensors["f"][:, 0].tolist(), dm.train_tensors["s"].tolist(), strict=True))
    assert not torch.equal(first[0]["f"], second[0]["f"])  # reshuffled each epoch
    again = TabularDataModule(write(tmp_path, frame), graph_file(tmp_path, MIXED_GRAPH), batch_size=16)
    assert torch.equal(_epoch(again.train_dataloader())[0]["f"], first[0]["f"])  # seeded


def test_validation_batches_keep_split_order(tmp_path: Path) -> None:
    dm = TabularDataModule(
        write(tmp_path, mixed_frame(n=100)), graph_file(tmp_path, MIXED_GRAPH), val_fraction=0.3, batch_size=8
    )
    batches = _epoch(dm.val_dataloader())
    assert [len(b["c"]) for b in batches] == [8, 8, 8, 6]
    assert torch.equal(torch.cat([b["v"] for b in batches]), dm.val_tensors["v"])


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_csv_and_parquet_give_identical_tensors(tmp_path: Path, suffix: str) -> None:
    frame = mixed_frame(n=60, seed=5)
    graph = graph_file(tmp_path, MIXED_GRAPH)
    csv = TabularDataModule(write(tmp_path, frame, ".csv"), graph, val_fraction=0.2)
    parquet = TabularDataModule(write(tmp_path, frame, suffix), graph, val_fraction=0.2)
    assert csv.variables == parquet.variables
    for name in csv.graph.nodes:
        assert torch.equal(csv.train_tensors[name], parquet.train_tensors[name])
        assert torch.equal(csv.val_tensors[name], parquet.val_tensors[name])


def test_compressed_csv_reads_like_plain_csv(tmp_path: Path) -> None:
    frame = mixed_frame()
    plain = write(tmp_path, frame)
    packed = tmp_path / "data.csv.gz"
    frame.to_csv(packed, index=False)
    graph = graph_file(tmp_path, MIXED_GRAPH)
    a, b = TabularDataModule(plain, graph), TabularDataModule(str(packed), graph)
    assert all(torch.equal(a.train_tensors[n], b.train_tensors[n]) for n in a.graph.nodes)


def test_the_docstring_example_reads_as_documented(tmp_path: Path) -> None:
    doc = lightning_causal.datamodules.tabular_data.__doc__ or ""
    blocks = re.findall(r"::\n\n((?:    .*\n)+)", doc)
    (tmp_path / "data.csv").write_text("".join(line[4:] + "\n" for line in blocks[0].splitlines()))
    (tmp_path / "graph.yaml").write_text("".join(line[4:] + "\n" for line in blocks[1].splitlines()))
    dm = TabularDataModule(str(tmp_path / "data.csv"), str(tmp_path / "graph.yaml"))
    spec = dm.variables
    assert (spec["age"].kind, spec["smoker"].kind, spec["v"].dim) == ("continuous", "binary", 3)
    assert (spec["stage"].kind, spec["stage"].classes) == ("categorical", 3)
    assert spec["region"].categories == ("north", "south")


# ---------------------------------------------------------------------------------------------- errors

Case = Callable[[Path], tuple[str, str, dict[str, Any]]]
XY = pd.DataFrame({"X": [0.5, 1.5, 2.5, 3.5, 4.5], "Y": [0, 1, 2, 1, 0]})


def _with(column: str, values: list[Any], graph: str = "directed: [[X, Y]]\n", **kwargs: Any) -> Case:
    def case(tmp_path: Path) -> tuple[str, str, dict[str, Any]]:
        frame = XY.copy()
        frame[column] = pd.Series(values, dtype=object if any(isinstance(v, str) for v in values) else None)
        return write(tmp_path, frame), graph_file(tmp_path, graph), kwargs

    return case


def _raw(name: str, content: bytes) -> Case:
    def case(tmp_path: Path) -> tuple[str, str, dict[str, Any]]:
        (tmp_path / name).write_bytes(content)
        return str(tmp_path / name), graph_file(tmp_path), {}

    return case


def _declared(y: str, values: list[Any]) -> Case:
    return _with("Y", values, f"directed: [[X, Y]]\nvariables:\n  Y: {y}\n")


def _empty_parquet(tmp_path: Path) -> tuple[str, str, dict[str, Any]]:
    return write(tmp_path, XY.iloc[:0], ".parquet"), graph_file(tmp_path), {}


def _nan_parquet(tmp_path: Path) -> tuple[str, str, dict[str, Any]]:
    frame = XY.assign(X=[0.5, np.nan, 2.5, 3.5, 4.5])
    return write(tmp_path, frame, ".parquet"), graph_file(tmp_path), {}


ERRORS: list[Any] = [
    pytest.param(lambda p: (str(p / "nope.csv"), graph_file(p), {}), "nope.csv' does not exist", id="no-file"),
    pytest.param(_raw("data.txt", b"X,Y\n1,0\n"), "unknown suffix '.txt'; use .csv", id="suffix"),
    pytest.param(_raw("data.csv", b""), "is empty", id="empty-csv"),
    pytest.param(_raw("data.csv", b"X,Y\n"), "has no rows", id="header-only"),
    pytest.param(_empty_parquet, "data.parquet' has no rows", id="empty-parquet"),
    pytest.param(_raw("data.parquet", b"not parquet"), "cannot be read as Parquet", id="bad-parquet"),
    pytest.param(_raw("data.csv", b"X,Y\n1,0\n1,0,5,6\n"), "cannot be read as CSV", id="ragged-csv"),
    pytest.param(
        _with("X", [0.5] * 5, "directed: [[X, Q]]\n"),
        "node 'Q' needs column 'Q', which the file lacks (its columns: X, Y)",
        id="missing-column",
    ),
    pytest.param(
        _with("X", [0.5] * 5, "directed: [[X, Y]]\nvariables:\n  X: {type: continuous, dim: 2}\n"),
        "node 'X' needs column 'X_0'",
        id="missing-vector-column",
    ),
    pytest.param(
        lambda p: (write(p, XY.rename(columns={"X": "X_0"}).assign(X_1=1.0)), graph_file(p), {}),
        "for a vector declare X: {type: continuous, dim: 2}",
        id="vector-hint",
    ),
    pytest.param(
        _with("X", ["0.5", "1.5", "abc", "3.5", "4.5"], "directed: [[X, Y]]\nvariables:\n  X: continuous\n"),
        "column 'X' of continuous variable 'X' holds 'abc' at row 3 (line 4), which is not a number",
        id="not-a-number",
    ),
    pytest.param(
        _with("X", [0.5, 1.5, None, 3.5, None]),
        "column 'X' has 2 missing values, the first at row 3 (line 4); drop those rows or impute",
        id="nan-csv",
    ),
    pytest.param(_nan_parquet, "column 'X' has 1 missing value, the first at row 2;", id="nan-parquet"),
    pytest.param(_with("X", [0.5, 1.5, np.inf, 3.5, 4.5]), "holds inf at row 3 (line 4)", id="infinite"),
    pytest.param(
        _declared("{type: categorical, classes: 2}", [0, 1, 2, 1, 4]),
        "holds 2 at row 3 (line 4), but 'Y' declares classes: 2, fewer than the codes seen; raise classes to "
        "at least 5",
        id="too-few-classes",
    ),
    pytest.param(
        _declared("{type: categorical, classes: 2}", ["a", "b", "c", "a", "b"]),
        "holds 'c' (code 2) at row 3 (line 4), but 'Y' declares classes: 2",
        id="too-few-classes-labels",
    ),
    pytest.param(
        _declared("{type: categorical, classes: 3}", [0, 1, -1, 1, 0]),
        "holds -1 at row 3 (line 4), a negative class code",
        id="negative-categorical",
    ),
    pytest.param(_declared("binary", [0, -1, 0, 1, 0]), "binary variable 'Y' holds -1 at row 2", id="negative-binary"),
    pytest.param(
        _declared("{type: categorical, classes: 3}", [0, 1, 1.5, 1, 0]),
        "holds 1.5 at row 3 (line 4), which is not an integer class code",
        id="fractional-code",
    ),
    pytest.param(
        _declared("binary", [0, 1, 2, 1, 0]), "holds 2 at row 3 (line 4), a value other than 0/1", id="binary"
    ),
    pytest.param(
        _declared("binary", ["no", "yes", "no", "no", "yes"]),
        "binary variable 'Y' holds the label 'no' at row 1",
        id="binary-labels",
    ),
    pytest.param(
        _declared("{type: categorical, categories: [lo, hi]}", ["lo", "hi", "mid", "lo", "hi"]),
        "holds 'mid' at row 3 (line 4), which is not one of the declared categories of 'Y' (lo, hi)",
        id="unknown-label",
    ),
    pytest.param(
        _with("X", [0.5] * 5),
        "column 'X' of continuous variable 'X' is constant (0.5) on the 5 training rows (std 0)",
        id="constant",
    ),
    pytest.param(
        _with("X", [1.0, 1.0, 1.0, 1.0, 9.0], val_fraction=0.2, seed=0),
        "is constant",
        id="constant-on-train-split",
    ),
    pytest.param(
        _with("X", [f"{k}.5" for k in range(4)] + ["oops"], max_categories=3),
        "column 'X' holds numbers but 'oops' at row 5 (line 6), which is not a number",
        id="numeric-typo",
    ),
    pytest.param(_with("Y", ["a"] * 5), "column 'Y' holds the single label 'a'", id="single-label"),
    pytest.param(
        _with("X", [0.5] * 5, variables={"Q": "binary"}),
        "the variables argument names 'Q', which is not a node of graph file",
        id="unknown-variable",
    ),
    pytest.param(
        _with("X", [0.5] * 5, variables={"Y": "ordinal"}),
        "the variables argument: variable 'Y': unknown type 'ordinal'",
        id="bad-type",
    ),
    pytest.param(
        _with("X", [0.5] * 5, variables={"X": {"type": "continuous", "dim": 2, "columns": ["X"]}}),
        "variable 'X' lists 1 columns for a continuous variable of dim 2",
        id="column-count",
    ),
    pytest.param(_with("X", [0.5] * 5, val_fraction=1.0), "val_fraction must be in [0, 1)", id="val-fraction"),
]


@pytest.mark.parametrize("case,fragment", ERRORS)
def test_bad_data_raises_one_line_data_error(tmp_path: Path, case: Case, fragment: str) -> None:
    data, graph, kwargs = case(tmp_path)
    with pytest.raises(DataError) as err:
        TabularDataModule(data, graph, **kwargs)
    message = str(err.value)
    assert fragment in message
    assert "\n" not in message
    if "val_fraction" not in kwargs and "variables" not in kwargs:
        assert Path(data).name in message


def test_constant_on_train_split_case_really_splits_off_the_outlier() -> None:
    train, val = split(5, 0.2, 0)
    assert val.tolist() == [4] and 4 not in train.tolist()  # the 9.0 row is validation data


def test_graph_file_variables_naming_a_non_node_are_a_graph_error(tmp_path: Path) -> None:
    data = write(tmp_path, XY)
    with pytest.raises(GraphError, match="'variables' names 'Q'"):
        TabularDataModule(data, graph_file(tmp_path, "directed: [[X, Y]]\nvariables:\n  Q: binary\n"))


def test_specs_are_plain_variable_specs(tmp_path: Path) -> None:
    dm = TabularDataModule(write(tmp_path, mixed_frame()), graph_file(tmp_path, MIXED_GRAPH))
    assert all(isinstance(spec, VariableSpec) for spec in dm.variables.values())
    assert dm.hparams["data"].endswith("data.csv") and dm.hparams["batch_size"] == 256


# ---------------------------------------------------------------------------------------------- images

IMAGE_GRAPH = "directed: [[Z, X], [X, Y]]\nvariables:\n  X: {type: image, channels: 3, height: 8, width: 8}\n"


def image_table(tmp_path: Path, rows: int = 6, suffix: str = ".csv") -> tuple[str, str, list[np.ndarray]]:
    """A table whose column X names tiny 8x8 RGB PNGs in imgs/ (relative paths), with Z and Y beside it."""
    from PIL import Image

    (tmp_path / "imgs").mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (8, 8, 3), dtype=np.uint8) for _ in range(rows)]
    for k, image in enumerate(images):
        Image.fromarray(image).save(tmp_path / "imgs" / f"{k}.png")
    frame = pd.DataFrame(
        {"Z": rng.normal(size=rows), "X": [f"imgs/{k}.png" for k in range(rows)], "Y": rng.normal(size=rows)}
    )
    return write(tmp_path, frame, suffix), graph_file(tmp_path, IMAGE_GRAPH), images


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_an_image_column_loads_the_files_it_names(tmp_path: Path, suffix: str) -> None:
    data, graph, images = image_table(tmp_path, suffix=suffix)
    dm = TabularDataModule(data, graph, val_fraction=0.34, seed=1)
    spec = dm.variables["X"]
    assert spec.is_image and spec.image_shape == (3, 8, 8) and spec.mean is None and spec.std is None
    assert dm.variables["Z"].mean is not None and dm.variables["Y"].kind == "continuous"
    for rows, tensors in ((dm.train_rows, dm.train_tensors), (dm.val_rows, dm.val_tensors)):
        x = tensors["X"]
        assert x.dtype == torch.uint8 and x.shape == (len(rows), 3, 8, 8)
        want = torch.stack([torch.from_numpy(images[int(r)]).permute(2, 0, 1) for r in rows])
        assert torch.equal(x, want)
    batch = next(iter(dm.train_dataloader()))
    assert batch["X"].shape[1:] == (3, 8, 8) and batch["X"].dtype == torch.uint8


def test_a_float_image_variable_and_absolute_paths(tmp_path: Path) -> None:
    data, _, images = image_table(tmp_path)
    frame = pd.read_csv(data)
    frame["X"] = [str(tmp_path / p) for p in frame["X"]]
    frame.to_csv(data, index=False)
    dm = TabularDataModule(
        data,
        graph_file(tmp_path, "directed: [[Z, X], [X, Y]]\n"),
        variables={"X": {"type": "image", "channels": 3, "height": 8, "width": 8, "dtype": "float"}},
        val_fraction=0.0,
    )
    x = dm.train_tensors["X"]
    assert x.dtype == torch.float32
    want = torch.stack([torch.from_numpy(images[int(r)]).permute(2, 0, 1).float() / 255 for r in dm.train_rows])
    torch.testing.assert_close(x, want)


def _image_case(change: Callable[[Path, pd.DataFrame], None], graph: str = IMAGE_GRAPH) -> Case:
    def case(tmp_path: Path) -> tuple[str, str, dict[str, Any]]:
        data, _, _ = image_table(tmp_path)
        frame = pd.read_csv(data)
        change(tmp_path, frame)
        frame.to_csv(data, index=False)
        return data, graph_file(tmp_path, graph), {}

    return case


def _set_cell(value: Any) -> Callable[[Path, pd.DataFrame], None]:
    def change(tmp_path: Path, frame: pd.DataFrame) -> None:
        frame.loc[2, "X"] = value

    return change


def _wrong_size(tmp_path: Path, frame: pd.DataFrame) -> None:
    from PIL import Image

    Image.new("RGB", (10, 8)).save(tmp_path / "imgs" / "2.png")


def _unreadable(tmp_path: Path, frame: pd.DataFrame) -> None:
    (tmp_path / "imgs" / "2.png").write_bytes(b"not an image")


IMAGE_ERRORS: list[Any] = [
    pytest.param(
        _image_case(_set_cell("imgs/nope.png")),
        "column 'X' holds 'imgs/nope.png' at row 3 (line 4): image file '",
        id="missing-file",
    ),
    pytest.param(_image_case(_set_cell("imgs/nope.png")), "nope.png' for variable 'X' does not exist", id="names-path"),
    pytest.param(
        _image_case(_wrong_size),
        "holds 'imgs/2.png' at row 3 (line 4): image file '",
        id="wrong-size",
    ),
    pytest.param(
        _image_case(_wrong_size),
        "is 10x8 pixels (width x height), but variable 'X' takes 8x8 images; resize",
        id="size",
    ),
    pytest.param(_image_case(_unreadable), "2.png' cannot be read as an image", id="unreadable"),
    pytest.param(
        _image_case(_set_cell(None)),
        "column 'X' of image variable 'X' has no file at row 3 (line 4); give every row an image path",
        id="empty-cell",
    ),
    pytest.param(
        _image_case(_set_cell("imgs/0.png"), "directed: [[Z, X], [X, Y]]\n"),
        "column 'X' holds image files ('imgs/0.png', ...); declare X: {type: image, channels: 3, height: 8, width: 8}",
        id="undeclared",
    ),
]


@pytest.mark.parametrize("case,fragment", IMAGE_ERRORS)
def test_bad_image_cells_raise_one_line_data_errors(tmp_path: Path, case: Case, fragment: str) -> None:
    data, graph, kwargs = case(tmp_path)
    with pytest.raises(DataError) as err:
        TabularDataModule(data, graph, **kwargs)
    message = str(err.value)
    assert fragment in message and "\n" not in message and "data.csv" in message


def test_written_images_go_beside_the_table_and_read_back(tmp_path: Path) -> None:
    from PIL import Image

    from lightning_causal.data.table_files import image_output_paths, read_values, write_values

    data, graph, _ = image_table(tmp_path)
    dm = TabularDataModule(data, graph, val_fraction=0.0)
    out = tmp_path / "out" / "samples.csv"
    written = write_values(out, dm.train_tensors, dm.variables)
    tensor_file, grid_file = image_output_paths(out, "X")
    assert (tensor_file.name, grid_file.name) == ("samples.X.pt", "samples.X.png")
    assert written == [out, tensor_file, grid_file]
    assert list(pd.read_csv(out).columns) == ["Z", "Y"]
    saved = torch.load(tensor_file, weights_only=True)
    assert saved.dtype == torch.uint8 and torch.equal(saved, dm.train_tensors["X"])
    with Image.open(grid_file) as grid:
        assert grid.size == (3 * 9 + 1, 2 * 9 + 1)  # 6 images: 3 per row, 1 pixel of padding
    back = read_values(out, dm.variables)  # the image column is missing: the tensor file beside it is read
    assert torch.equal(back["X"], dm.train_tensors["X"])
    assert torch.equal(read_values(data, dm.variables)["X"][dm.train_rows], dm.train_tensors["X"])


def test_only_images_write_no_table(tmp_path: Path) -> None:
    from lightning_causal.data import write_values

    spec = VariableSpec("X", "image", channels=1, height=4, width=4, dtype="float")
    out = tmp_path / "s.parquet"
    written = write_values(out, {"X": torch.rand(100, 1, 4, 4)}, {"X": spec})
    assert [p.name for p in written] == ["s.X.pt", "s.X.png"] and not out.exists()
    saved = torch.load(tmp_path / "s.X.pt", weights_only=True)
    assert saved.shape == (100, 1, 4, 4) and saved.dtype == torch.float32
    from PIL import Image

    with Image.open(tmp_path / "s.X.png") as grid:
        assert grid.size == (8 * 5 + 1, 8 * 5 + 1) and grid.mode == "L"  # the first 64 images, 8 per row
