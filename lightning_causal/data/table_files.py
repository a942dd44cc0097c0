"""Values as table files: CSV or Parquet in and out, with image variables beside the table.

:class:`TableFile` reads a table whole and speaks about it in one line per problem, naming the file,
the column and the row (rows counted from 1 at the first data row and, for CSV, the file line): the
tabular data module reads training data through it, :func:`read_values` the factual rows of a
counterfactual query, with the variable types a model was trained with. :func:`write_values` writes
samples and counterfactuals in the same convention, atomically: a continuous vector ``v`` of dimension
3 in the columns ``v_0, v_1, v_2``, labels for categorical variables read from labels, and each image
variable ``x`` beside the table as ``<stem>.x.pt`` (its tensor) and ``<stem>.x.png`` (a grid).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from lightning_causal.errors import DataError, listing
from lightning_causal.files import atomic_write
from lightning_causal.image_files import read_images, save_grid, to_image_dtype
from lightning_causal.variables.spec import VariableSpec

__all__ = [
    "GRID_IMAGES",
    "OUTPUT_SUFFIXES",
    "TableFile",
    "image_output_paths",
    "is_text",
    "read_values",
    "show",
    "table_tensor",
    "write_frame",
    "write_values",
]

_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_FLOAT32_MAX = float(np.finfo(np.float32).max)
OUTPUT_SUFFIXES = (".csv", *_PARQUET_SUFFIXES)
"""The file names :func:`write_values` writes: CSV or Parquet."""
GRID_IMAGES = 64
"""How many images of a variable :func:`write_values` tiles into its PNG grid (the first ones)."""


def show(value: Any) -> str:
    """A cell's value as an error message shows it (its repr, cut at 40 characters)."""
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= 40 else text[:37] + "..."


def _show_number(value: float) -> str:
    return show(int(value)) if np.isfinite(value) and value == round(value) else show(value)


class TableFile:
    """A CSV or Parquet table read whole, and error messages that name the file, its columns and its rows.

    Args:
        path: the ``.csv`` (optionally compressed: ``.csv.gz``, ...), ``.parquet`` or ``.pq`` file.
    """

    def __init__(self, path: str) -> None:
        self.name = repr(path)
        file = Path(path)
        self.folder = file.parent
        lower = file.name.lower()
        self.is_csv = lower.endswith(_CSV_SUFFIXES)
        if not file.is_file():
            raise DataError(f"data file {self.name} does not exist; check the path given as 'data'")
        if not self.is_csv and not lower.endswith(_PARQUET_SUFFIXES):
            raise DataError(
                f"data file {self.name}: unknown suffix {file.suffix!r}; "
                f"use {', '.join(_CSV_SUFFIXES + _PARQUET_SUFFIXES)}"
            )
        try:
            frame = pd.read_csv(file) if self.is_csv else pd.read_parquet(file)
        except pd.errors.EmptyDataError:
            raise DataError(f"data file {self.name} is empty; write a header row and at least one data row") from None
        except Exception as err:  # parser errors from pandas or pyarrow
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            kind = "CSV" if self.is_csv else "Parquet"
            raise DataError(f"data file {self.name} cannot be read as {kind}: {first}") from None
        if len(frame) == 0:
            raise DataError(f"data file {self.name} has no rows; it needs at least one data row")
        frame.columns = [str(c) for c in frame.columns]
        self.frame = frame

    def row(self, position: int) -> str:
        return f"row {position + 1}" + (f" (line {position + 2})" if self.is_csv else "")

    def error(self, message: str) -> DataError:
        return DataError(f"data file {self.name}: {message}")

    def column(self, node: str, column: str, allow_missing: bool = False) -> pd.Series:
        """A column the node needs, checked for missing values (unless ``allow_missing``)."""
        if column not in self.frame.columns:
            names = [str(c) for c in self.frame.columns]
            hint = ""
            if f"{node}_0" in names and column == node:
                dim = next(k for k in range(1, len(names) + 1) if f"{node}_{k}" not in names)
                hint = f"; for a vector declare {node}: {{type: continuous, dim: {dim}}}"
            raise self.error(
                f"node {node!r} needs column {column!r}, which the file lacks (its columns: {listing(names, 20)}); "
                f"rename a column or declare the node's 'columns' in the graph's variables section{hint}"
            )
        series = self.frame[column]
        if allow_missing:
            return series
        missing = series.isna().to_numpy()
        if missing.any():
            first = int(np.flatnonzero(missing)[0])
            count = int(missing.sum())
            raise self.error(
                f"column {column!r} has {count} missing value{'s' if count > 1 else ''}, the first at "
                f"{self.row(first)}; drop those rows or impute the values before training"
            )
        return series

    def numbers(self, node: str, column: str, series: pd.Series) -> np.ndarray:
        """The column as finite float64 values (for a continuous variable)."""
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            values = series.to_numpy(dtype=np.float64)
        else:
            coerced = pd.to_numeric(series, errors="coerce")
            bad = coerced.isna().to_numpy()
            if bad.any():
                first = int(np.flatnonzero(bad)[0])
                raise self.error(
                    f"column {column!r} of continuous variable {node!r} holds {show(series.iloc[first])} at "
                    f"{self.row(first)}, which is not a number; fix the value or declare {node!r} categorical"
                )
            values = coerced.to_numpy(dtype=np.float64)
        infinite = ~np.isfinite(values)
        if infinite.any():
            first = int(np.flatnonzero(infinite)[0])
            raise self.error(
                f"column {column!r} holds {values[first]} at {self.row(first)}; drop or clip infinite values"
            )
        beyond = np.abs(values) > _FLOAT32_MAX
        if beyond.any():
            first = int(np.flatnonzero(beyond)[0])
            raise self.error(
                f"column {column!r} holds {values[first]:.4g} at {self.row(first)}, beyond the float32 range "
                f"(±{_FLOAT32_MAX:.3g}) the model trains in; rescale the column (e.g. a log) or drop the row"
            )
        return values

    def images(self, spec: VariableSpec, column: str, series: pd.Series) -> torch.Tensor:
        """The image files the column names, read into ``(rows, C, H, W)`` in the spec's dtype."""
        cells = [None if pd.isna(cell) else str(cell).strip() for cell in series.tolist()]
        empty = [i for i, cell in enumerate(cells) if not cell]
        if empty:
            count = len(empty)
            raise self.error(
                f"column {column!r} of image variable {spec.name!r} has no file at {self.row(empty[0])}"
                f"{f' ({count} empty cells)' if count > 1 else ''}; give every row an image path or drop those rows"
            )
        paths = [self.folder / Path(cell).expanduser() for cell in cells if cell]

        def describe(i: int) -> str:
            return f"data file {self.name}: column {column!r} holds {show(cells[i])} at {self.row(i)}"

        return read_images(paths, spec, describe=describe)

    def discrete(
        self, spec: VariableSpec, column: str, series: pd.Series, infer_classes: bool
    ) -> tuple[np.ndarray, VariableSpec]:
        """Class codes of a discrete variable, and its spec completed from the data.

        Strings are coded by their index in the declared ``categories``, else in their sorted labels.
        ``infer_classes`` (a categorical without declared classes) sets ``classes`` from the codes seen.
        """
        node = spec.name
        labels: np.ndarray | None = None
        categories: tuple[str, ...] | None
        if is_text(series):
            labels = series.astype(str).to_numpy()
            codes, categories = self._label_codes(spec, column, labels)
        else:
            codes, categories = self._number_codes(spec, column, series), spec.categories
        if infer_classes:
            classes = len(categories) if categories is not None else int(codes.max()) + 1
            return codes, replace(spec, classes=max(classes, 2), categories=categories)
        spec = replace(spec, categories=categories)
        limit = 2 if spec.kind == "binary" else spec.classes
        out = codes >= limit
        if out.any():
            first = int(np.flatnonzero(out)[0])
            shown = show(codes[first]) if labels is None else f"{show(labels[first])} (code {codes[first]})"
            where = f"column {column!r} holds {shown} at {self.row(first)}"
            if spec.kind == "binary":
                raise self.error(
                    f"{where}, a value other than 0/1 for binary {node!r}; recode it or declare it categorical"
                )
            raise self.error(
                f"{where}, but {node!r} declares classes: {spec.classes}, fewer than the codes seen; "
                f"raise classes to at least {int(codes.max()) + 1} or fix the value"
            )
        return codes, spec

    def _label_codes(self, spec: VariableSpec, column: str, labels: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
        node = spec.name
        if spec.categories is not None:
            index = {label: k for k, label in enumerate(spec.categories)}
            unknown = np.array([label not in index for label in labels])
            if unknown.any():
                first = int(np.flatnonzero(unknown)[0])
                raise self.error(
                    f"column {column!r} holds {show(labels[first])} at {self.row(first)}, which is not one of "
                    f"the declared categories of {node!r} ({listing(spec.categories, 20)}); "
                    "add it to 'categories' or fix the value"
                )
            return np.array([index[label] for label in labels], dtype=np.int64), spec.categories
        if spec.kind == "binary":
            raise self.error(
                f"column {column!r} of binary variable {node!r} holds the label {show(labels[0])} at "
                f"{self.row(0)}; a binary column holds 0/1 or True/False, or declare 'categories' with two labels"
            )
        categories, codes = np.unique(labels, return_inverse=True)
        if len(categories) < 2:
            raise self.error(
                f"column {column!r} holds the single label {show(categories[0])}; a variable needs two values "
                "to be modelled: drop the node from the graph or add rows"
            )
        return codes.astype(np.int64).reshape(-1), tuple(str(c) for c in categories)

    def _number_codes(self, spec: VariableSpec, column: str, series: pd.Series) -> np.ndarray:
        node = spec.name
        if not (pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series)):
            raise self.error(f"column {column!r} has dtype {series.dtype}; convert it to numbers or string labels")
        values = series.to_numpy(dtype=np.float64)
        for bad, what in (
            (~np.isfinite(values) | (values != np.round(values)), "which is not an integer class code"),
            (values < 0, "a negative class code (codes run from 0 to classes - 1)"),
        ):
            if bad.any():
                first = int(np.flatnonzero(bad)[0])
                raise self.error(
                    f"column {column!r} of {spec.kind} variable {node!r} holds {_show_number(values[first])} at "
                    f"{self.row(first)}, {what}; fix the value or declare {node!r} continuous"
                )
        return values.astype(np.int64)

    def check_labels(self, node: str, series: pd.Series, max_categories: int) -> None:
        """An undeclared text column that is mostly numbers holds a typo, not many categories."""
        if series.nunique() <= max_categories:
            return
        numbers = pd.to_numeric(series, errors="coerce").notna().to_numpy()
        if numbers.mean() >= 0.5:
            first = int(np.flatnonzero(~numbers)[0])
            raise self.error(
                f"column {node!r} holds numbers but {show(series.iloc[first])} at {self.row(first)}, which is not "
                f"a number; fix the value, or declare {node!r} categorical in the graph's variables section"
            )


def is_text(series: pd.Series) -> bool:
    """Whether a column holds labels (strings, objects or a pandas categorical), not numbers."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return False
    dtype = series.dtype
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
    )


def table_tensor(values: np.ndarray | torch.Tensor) -> torch.Tensor:
    """A column read from a table as a tensor: int64 codes kept, other numbers float32, images as they are."""
    if isinstance(values, torch.Tensor):  # images, kept in their dtype
        return values.contiguous()
    if values.dtype == np.int64:
        return torch.from_numpy(np.ascontiguousarray(values))
    return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))


def read_values(path: str | Path, variables: Mapping[str, VariableSpec]) -> dict[str, torch.Tensor]:
    """Rows of a CSV/Parquet file as ``{variable: tensor}``, read with known variable types.

    Used for the factual rows of counterfactual queries: the columns follow the same convention
    as the training data (``v_0 .. v_{d-1}`` for vectors, labels or codes for discrete variables,
    image file paths relative to the file's folder for images), and labels are coded with the
    ``categories`` the model was trained with. An image variable without its column is read from
    the tensor file :func:`write_values` writes beside the table (``<stem>.<variable>.pt``), so the
    output of ``lightning-causal sample`` reads back as factual rows.
    """
    table = TableFile(str(path))
    out: dict[str, torch.Tensor] = {}
    for node, spec in variables.items():
        if spec.is_image:
            column = spec.source_columns[0]
            tensor_file = image_output_paths(path, node)[0]
            if column not in table.frame.columns and tensor_file.is_file():
                out[node] = _saved_images(tensor_file, spec, len(table.frame))
            else:
                out[node] = table.images(spec, column, table.column(node, column, allow_missing=True))
        elif spec.kind == "continuous":
            columns = [table.numbers(node, c, table.column(node, c)) for c in spec.source_columns]
            out[node] = table_tensor(np.stack(columns, axis=1))
        else:
            column = spec.source_columns[0]
            codes, _ = table.discrete(spec, column, table.column(node, column), infer_classes=False)
            out[node] = table_tensor(codes)
    return out


def _saved_images(path: Path, spec: VariableSpec, rows: int) -> torch.Tensor:
    """The ``(rows, C, H, W)`` images of a tensor file written by :func:`write_values`."""
    shown = repr(str(path))
    try:
        images = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a file that is no tensor
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise DataError(f"image tensor file {shown} cannot be read ({first}); write it with torch.save") from None
    c, h, w = spec.image_shape
    if not isinstance(images, torch.Tensor) or tuple(images.shape) != (rows, c, h, w):
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise DataError(
            f"image tensor file {shown} holds {shape}, but variable {spec.name!r} needs one image per table row, "
            f"shape ({rows}, {c}, {h}, {w}); write the matching images or give the column {spec.source_columns[0]!r}"
        )
    return to_image_dtype(images, spec, f"image tensor file {shown}", DataError).contiguous()


def image_output_paths(path: str | Path, variable: str) -> tuple[Path, Path]:
    """The tensor file and the PNG grid :func:`write_values` writes an image variable to, beside ``path``.

    ``samples.csv`` and variable ``x`` give ``samples.x.pt`` and ``samples.x.png``; characters of the
    variable name other than letters, digits, ``_``, ``-`` and ``.`` become ``_``.
    """
    path = Path(path)
    stem = path.name
    for suffix in (*OUTPUT_SUFFIXES, *_CSV_SUFFIXES):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    else:
        stem = path.stem
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", variable)
    return path.with_name(f"{stem}.{safe}.pt"), path.with_name(f"{stem}.{safe}.png")


def write_values(
    path: str | Path, values: Mapping[str, torch.Tensor], variables: Mapping[str, VariableSpec]
) -> list[Path]:
    """Write ``{variable: tensor}`` in the training-data convention, atomically; returns the files written.

    Non-image variables go to the table ``path``, CSV or Parquet by its suffix (no table is written when
    every variable given is an image). Each image variable ``x`` goes beside it (:func:`image_output_paths`):
    ``<stem>.x.pt``, its ``(n, C, H, W)`` tensor in the spec's dtype (uint8 0..255 or float 0..1; read it
    with ``torch.load``), and ``<stem>.x.png``, a grid of its first :data:`GRID_IMAGES` images.
    """
    path = Path(path)
    lower = path.name.lower()
    if not lower.endswith(OUTPUT_SUFFIXES):
        raise DataError(f"cannot write {str(path)!r}: use a .csv, .parquet or .pq file name")
    columns: dict[str, Any] = {}
    images: dict[str, torch.Tensor] = {}
    for node, spec in variables.items():
        if node not in values:
            continue
        v = values[node].detach().cpu()
        if spec.is_image:
            images[node] = _output_images(v, spec)
        elif spec.kind == "continuous":
            v = v.reshape(len(v), -1)
            for k, column in enumerate(spec.source_columns):
                columns[column] = v[:, k].numpy()
        elif spec.categories is not None:
            columns[spec.source_columns[0]] = np.asarray(spec.categories, dtype=object)[v.long().numpy()]
        else:
            columns[spec.source_columns[0]] = v.long().numpy()
    written: list[Path] = []
    if columns or not images:
        written.append(write_frame(path, pd.DataFrame(columns)))
    for node, v in images.items():
        tensor_file, grid_file = image_output_paths(path, node)
        buffer = io.BytesIO()
        torch.save(v.contiguous().clone(), buffer)
        written.append(atomic_write(tensor_file, buffer.getvalue()))
        if len(v):
            written.append(save_grid(grid_file, v[:GRID_IMAGES]))
    return written


def write_frame(path: str | Path, frame: pd.DataFrame) -> Path:
    """Write a table as CSV or Parquet by the suffix of ``path``, atomically (no index column)."""
    path = Path(path)
    lower = path.name.lower()
    if not lower.endswith(OUTPUT_SUFFIXES):
        raise DataError(f"cannot write {str(path)!r}: use a .csv, .parquet or .pq file name")
    if lower.endswith(_PARQUET_SUFFIXES):
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return atomic_write(path, buffer.getvalue())
    return atomic_write(path, frame.to_csv(index=False))


def _output_images(values: torch.Tensor, spec: VariableSpec) -> torch.Tensor:
    """Sampled images in the spec's dtype; float samples are clamped to [0, 1] first."""
    if values.is_floating_point():
        values = torch.nan_to_num(values.float(), nan=0.0).clamp(0.0, 1.0)
    return to_image_dtype(values, spec, f"the values of image variable {spec.name!r}", DataError)
