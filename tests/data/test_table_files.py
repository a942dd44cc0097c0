"""Table files: TableFile's one-line errors name the file, the column and the row; write_values and read_values
round-trip every kind (vectors, labelled categories, bits, images beside the table as .pt and .png); the
output suffixes and the names of the image files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from lightning_causal.data import OUTPUT_SUFFIXES, TableFile, read_values, write_values
from lightning_causal.data.table_files import image_output_paths
from lightning_causal.errors import DataError
from lightning_causal.variables import VariableSpec

N = 6
SPECS = {
    "v": VariableSpec("v", "continuous", dim=3),
    "s": VariableSpec("s", "continuous"),
    "c": VariableSpec("c", "categorical", classes=3, categories=("low", "mid", "high")),
    "k": VariableSpec("k", "categorical", classes=4),
    "b": VariableSpec("b", "binary"),
}


def _values() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "v": torch.randn(N, 3, generator=g),
        "s": torch.randn(N, 1, generator=g) * 100,
        "c": torch.tensor([0, 2, 1, 1, 0, 2]),
        "k": torch.tensor([3, 0, 1, 2, 3, 3]),
        "b": torch.tensor([1, 0, 0, 1, 1, 0]),
    }


def _one_line(err: pytest.ExceptionInfo[DataError], *fragments: str) -> str:
    message = str(err.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def _csv(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_output_suffixes_are_csv_and_parquet() -> None:
    assert OUTPUT_SUFFIXES == (".csv", ".parquet", ".pq")


@pytest.mark.parametrize("suffix", OUTPUT_SUFFIXES)
def test_values_of_every_tabular_kind_round_trip(tmp_path: Path, suffix: str) -> None:
    values = _values()
    path = tmp_path / f"out{suffix}"
    assert write_values(path, values, SPECS) == [path]
    back = read_values(path, SPECS)
    assert set(back) == set(SPECS)
    assert back["v"].dtype == torch.float32 and back["v"].shape == (N, 3)
    assert torch.equal(back["v"], values["v"]) and torch.equal(back["s"], values["s"])  # float32 text is exact
    for name in ("c", "k", "b"):
        assert back[name].dtype == torch.int64 and torch.equal(back[name], values[name]), name


def test_written_columns_follow_the_training_data_convention(tmp_path: Path) -> None:
    values = _values()
    path = tmp_path / "out.csv"
    write_values(path, values, SPECS)
    frame = pd.read_csv(path)
    assert list(frame.columns) == ["v_0", "v_1", "v_2", "s", "c", "k", "b"]
    assert frame["c"].tolist() == ["low", "high", "mid", "mid", "low", "high"]  # labels, not codes
    assert frame["k"].tolist() == [3, 0, 1, 2, 3, 3] and frame["b"].tolist() == [1, 0, 0, 1, 1, 0]
    np.testing.assert_allclose(frame[["v_0", "v_1", "v_2"]].to_numpy(), values["v"].numpy(), rtol=1e-6)


def test_variables_without_values_are_left_out_and_declared_columns_are_used(tmp_path: Path) -> None:
    specs = {"w": VariableSpec("w", "continuous", dim=2, columns=("left", "right")), "b": SPECS["b"]}
    path = tmp_path / "out.csv"
    write_values(path, {"w": torch.tensor([[1.0, 2.0], [3.0, 4.0]]), "ignored": torch.zeros(2)}, specs)
    frame = pd.read_csv(path)
    assert list(frame.columns) == ["left", "right"]
    assert frame.to_numpy().tolist() == [[1.0, 2.0], [3.0, 4.0]]


@pytest.mark.parametrize("name", ["out.txt", "out.csv.gz", "out"])
def test_writing_to_another_suffix_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(DataError) as err:
        write_values(tmp_path / name, _values(), SPECS)
    _one_line(err, name, "use a .csv, .parquet or .pq file name")
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("dtype", ["uint8", "float"])
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_an_image_variable_is_written_beside_the_table_and_read_back(tmp_path: Path, dtype: str, suffix: str) -> None:
    spec = VariableSpec("img", "image", channels=3, height=8, width=8, dtype=dtype)
    specs = {"s": SPECS["s"], "img": spec}
    g = torch.Generator().manual_seed(1)
    if dtype == "uint8":
        images = torch.randint(0, 256, (5, 3, 8, 8), generator=g, dtype=torch.uint8)
    else:
        images = torch.rand(5, 3, 8, 8, generator=g)
    values = {"s": torch.arange(5.0).unsqueeze(1), "img": images}
    path = tmp_path / f"samples{suffix}"
    written = write_values(path, values, specs)
    tensor_file, grid_file = tmp_path / "samples.img.pt", tmp_path / "samples.img.png"
    assert written == [path, tensor_file, grid_file]
    saved = torch.load(tensor_file, weights_only=True)
    assert saved.dtype == images.dtype and torch.equal(saved, images)
    with Image.open(grid_file) as grid:
        # ceil(sqrt(5)) = 3 images per row, 2 rows, tiles of 8 pixels with 1 pixel of padding around each
        assert grid.size == (3 * 9 + 1, 2 * 9 + 1) and grid.mode == "RGB"
        tile = np.asarray(grid)[1:9, 1:9]
    expected = images[0] if dtype == "uint8" else (images[0] * 255).round().to(torch.uint8)
    assert np.array_equal(tile, expected.permute(1, 2, 0).numpy())
    back = read_values(path, specs)
    assert torch.equal(back["img"], images) and torch.equal(back["s"], values["s"])


def test_float_images_are_clamped_to_the_pixel_range_when_written(tmp_path: Path) -> None:
    spec = VariableSpec("x", "image", channels=1, height=2, width=2, dtype="float")
    wild = torch.tensor([[[[1.5, -0.25], [float("nan"), 0.5]]]])
    write_values(tmp_path / "s.csv", {"x": wild}, {"x": spec})
    saved = torch.load(tmp_path / "s.x.pt", weights_only=True)
    assert saved.tolist() == [[[[1.0, 0.0], [0.0, 0.5]]]]
    assert not (tmp_path / "s.csv").exists()  # only images: no table


@pytest.mark.parametrize(
    "path,variable,expected",
    [
        ("samples.csv", "x", ("samples.x.pt", "samples.x.png")),
        ("out/run.parquet", "img", ("out/run.img.pt", "out/run.img.png")),
        ("cf.pq", "x", ("cf.x.pt", "cf.x.png")),
        ("data.csv.gz", "x", ("data.x.pt", "data.x.png")),
        ("TABLE.CSV", "x", ("TABLE.x.pt", "TABLE.x.png")),
        ("notes.txt", "x", ("notes.x.pt", "notes.x.png")),
        ("samples.csv", "a b/c:d", ("samples.a_b_c_d.pt", "samples.a_b_c_d.png")),
        ("samples.csv", "x.y-z_1", ("samples.x.y-z_1.pt", "samples.x.y-z_1.png")),
    ],
)
def test_image_output_paths_sit_beside_the_table(path: str, variable: str, expected: tuple[str, str]) -> None:
    tensor_file, grid_file = image_output_paths(path, variable)
    assert (tensor_file, grid_file) == (Path(expected[0]), Path(expected[1]))


def test_a_saved_image_tensor_of_the_wrong_shape_is_named(tmp_path: Path) -> None:
    spec = VariableSpec("x", "image", channels=1, height=2, width=2)
    path = _csv(tmp_path, "s\n1\n2\n3\n", "samples.csv")
    torch.save(torch.zeros(2, 1, 2, 2, dtype=torch.uint8), tmp_path / "samples.x.pt")
    with pytest.raises(DataError) as err:
        read_values(path, {"x": spec})
    _one_line(
        err, "samples.x.pt", "holds (2, 1, 2, 2)", "variable 'x' needs one image per table row, shape (3, 1, 2, 2)"
    )


def test_a_saved_image_file_that_is_no_tensor_is_named(tmp_path: Path) -> None:
    spec = VariableSpec("x", "image", channels=1, height=2, width=2)
    path = _csv(tmp_path, "s\n1\n", "samples.csv")
    (tmp_path / "samples.x.pt").write_bytes(b"not a tensor")
    with pytest.raises(DataError) as err:
        read_values(path, {"x": spec})
    _one_line(err, "samples.x.pt", "cannot be read", "torch.save")


# ---------------------------------------------------------------- TableFile and its errors


def test_rows_are_counted_from_one_with_the_csv_line(tmp_path: Path) -> None:
    csv = TableFile(str(_csv(tmp_path, "a\n1\n")))
    assert csv.row(0) == "row 1 (line 2)" and csv.row(9) == "row 10 (line 11)"
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "t.parquet")
    assert TableFile(str(tmp_path / "t.parquet")).row(0) == "row 1"


def test_a_table_file_reads_the_whole_table_with_text_column_names(tmp_path: Path) -> None:
    table = TableFile(str(_csv(tmp_path, "1,b\n2,x\n3,y\n")))
    assert list(table.frame.columns) == ["1", "b"] and len(table.frame) == 2
    assert table.name == repr(str(tmp_path / "data.csv"))


@pytest.mark.parametrize(
    "name,content,fragment",
    [
        ("missing.csv", None, "does not exist"),
        ("data.json", "{}", "unknown suffix '.json'"),
        ("data.csv", "", "is empty"),
        ("data.csv", "a,b\n", "has no rows"),
        ("data.parquet", "not parquet", "cannot be read as Parquet"),
    ],
)
def test_a_file_that_cannot_be_a_table_is_named(tmp_path: Path, name: str, content: str | None, fragment: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataError) as err:
        TableFile(str(path))
    _one_line(err, f"data file {str(path)!r}", fragment)


def test_a_missing_column_is_named_with_the_columns_the_file_has(tmp_path: Path) -> None:
    table = TableFile(str(_csv(tmp_path, "a,b\n1,2\n")))
    with pytest.raises(DataError) as err:
        table.column("q", "q")
    _one_line(err, "data.csv", "node 'q' needs column 'q'", "its columns: a, b")


def test_missing_values_name_the_column_the_count_and_the_first_row(tmp_path: Path) -> None:
    table = TableFile(str(_csv(tmp_path, "a,b\n1,\n2,3\n,\n4,\n")))
    with pytest.raises(DataError) as err:
        table.column("b", "b")
    _one_line(err, "data.csv", "column 'b' has 3 missing values, the first at row 1 (line 2)")
    assert table.column("b", "b", allow_missing=True).isna().sum() == 3


@pytest.mark.parametrize(
    "cell,fragment",
    [
        ("abc", "column 'x' of continuous variable 'x' holds 'abc' at row 2 (line 3), which is not a number"),
        ("inf", "column 'x' holds inf at row 2 (line 3); drop or clip infinite values"),
        ("1e39", "column 'x' holds 1e+39 at row 2 (line 3), beyond the float32 range"),
    ],
)
def test_a_bad_number_names_the_file_column_and_row(tmp_path: Path, cell: str, fragment: str) -> None:
    path = _csv(tmp_path, f"x\n0.5\n{cell}\n1.5\n")
    with pytest.raises(DataError) as err:
        read_values(path, {"x": VariableSpec("x", "continuous")})
    _one_line(err, f"data file {str(path)!r}", fragment)


def test_parquet_rows_are_named_without_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame({"x": [0.5, 1.5, np.inf]}).to_parquet(path)
    with pytest.raises(DataError) as err:
        read_values(path, {"x": VariableSpec("x", "continuous")})
    message = _one_line(err, "t.parquet", "holds inf at row 3;")
    assert "line" not in message


@pytest.mark.parametrize(
    "spec,cells,fragment",
    [
        (
            VariableSpec("y", "categorical", classes=3),
            "0,1,1.5",
            "holds 1.5 at row 3 (line 4), which is not an integer",
        ),
        (VariableSpec("y", "categorical", classes=3), "0,-2,1", "holds -2 at row 2 (line 3), a negative class code"),
        (
            VariableSpec("y", "categorical", classes=3),
            "0,3,1",
            "holds 3 at row 2 (line 3), but 'y' declares classes: 3",
        ),
        (VariableSpec("y", "binary"), "0,1,2", "holds 2 at row 3 (line 4), a value other than 0/1 for binary 'y'"),
        (
            VariableSpec("y", "categorical", classes=2, categories=("no", "yes")),
            "no,maybe,yes",
            "holds 'maybe' at row 2 (line 3), which is not one of the declared categories of 'y' (no, yes)",
        ),
    ],
)
def test_a_bad_class_code_or_label_names_the_file_column_and_row(
    tmp_path: Path, spec: VariableSpec, cells: str, fragment: str
) -> None:
    path = _csv(tmp_path, "y\n" + cells.replace(",", "\n") + "\n")
    with pytest.raises(DataError) as err:
        read_values(path, {"y": spec})
    _one_line(err, "data.csv", "column 'y'", fragment)


def test_labels_are_coded_by_the_declared_categories(tmp_path: Path) -> None:
    spec = VariableSpec("y", "categorical", classes=3, categories=("low", "mid", "high"))
    path = _csv(tmp_path, "y\nhigh\nlow\nmid\nhigh\n")
    assert read_values(path, {"y": spec})["y"].tolist() == [2, 0, 1, 2]


def test_a_typo_in_a_mostly_numeric_text_column_is_named(tmp_path: Path) -> None:
    table = TableFile(str(_csv(tmp_path, "x\n" + "\n".join(["0.5", "1.5", "2.5", "oops", "3.5"]) + "\n")))
    with pytest.raises(DataError) as err:
        table.check_labels("x", table.frame["x"], max_categories=2)
    _one_line(err, "data.csv", "column 'x' holds numbers but 'oops' at row 4 (line 5), which is not a number")
    table.check_labels("x", table.frame["x"], max_categories=10)  # few distinct values: labels are fine
