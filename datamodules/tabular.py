"""Tabular data: a CSV or Parquet file whose columns are the nodes of a causal graph.

One row is one sample; the column named after a node holds that variable, and a continuous vector
``v`` of dimension 3 spreads over the columns ``v_0, v_1, v_2`` (or the ``columns`` it declares).
Columns that are not graph nodes are ignored. For example, ``data.csv``::

    age,smoker,stage,region,v_0,v_1,v_2,comment
    54.2,1,2,north,0.1,0.3,-1.2,first visit
    61.0,0,0,south,0.4,-0.2,0.8,

with ``graph.yaml``::

    directed: [[age, stage], [smoker, stage], [region, stage], [stage, v]]
    variables:
      v: {type: continuous, dim: 3}

Types declared in the graph's ``variables:`` section win, and the ``variables`` argument overrides
them per variable (``"categorical"`` alone is accepted here: its classes come from the data). An
undeclared column is typed by its contents:

* bool, or integers all in {0, 1}           -> binary;
* integers all in ``0 .. max_categories-1``  -> categorical with ``classes = max + 1`` (codes as they are);
* any other number                          -> continuous (dim 1);
* strings                                   -> categorical, ``categories`` = the sorted distinct labels
  and codes = the index into them.

So above, ``age`` is continuous, ``smoker`` binary, ``stage`` categorical with 3 classes, ``region``
categorical with ``categories = ("north", "south")``. Missing values are an error: drop or impute them
first.

An image variable must be declared, e.g. ``x: {type: image, channels: 3, height: 32, width: 32}``; its
column holds one file per row (PNG, JPEG, or a ``.npy`` / ``.pt`` array; see
:mod:`lightning_causal.images`), relative paths resolved against the table's folder. The files are read
into one ``(rows, C, H, W)`` tensor, uint8 or float as the spec's ``dtype`` says, with a progress bar on a
terminal from :data:`~lightning_causal.images.PROGRESS_MIN` files on; every image must have the declared
size (nothing is resized). Image variables carry no statistics.

Rows are split into train and validation with a seeded permutation, and the standardisation statistics
of continuous variables (mean and population std per dimension) come from the training rows only. Errors
name rows counted from 1 at the first data row (and, for CSV, the file line).
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

from lightning_causal.datamodules.tensor_dataset import TensorDataModule
from lightning_causal.errors import DataError, QueryError, listing
from lightning_causal.files import atomic_write
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.graph.io import load_graph_spec
from lightning_causal.images import ARRAY_SUFFIXES, IMAGE_SUFFIXES, read_images, save_grid, to_image_dtype
from lightning_causal.variables.spec import VariableSpec

__all__ = ["GRID_IMAGES", "OUTPUT_SUFFIXES", "TabularDataModule", "image_output_paths", "read_values", "write_values"]

_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_FLOAT32_MAX = float(np.finfo(np.float32).max)
OUTPUT_SUFFIXES = (".csv", *_PARQUET_SUFFIXES)
"""The file names :func:`write_values` writes: CSV or Parquet."""
GRID_IMAGES = 64
"""How many images of a variable :func:`write_values` tiles into its PNG grid (the first ones)."""


def _show(value: Any) -> str:
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= 40 else text[:37] + "..."


def _show_number(value: float) -> str:
    return _show(int(value)) if np.isfinite(value) and value == round(value) else _show(value)


class _Table:
    """The file's frame, and error messages that name the file and its rows."""

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
                    f"column {column!r} of continuous variable {node!r} holds {_show(series.iloc[first])} at "
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
            return f"data file {self.name}: column {column!r} holds {_show(cells[i])} at {self.row(i)}"

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
        if _is_text(series):
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
            shown = _show(codes[first]) if labels is None else f"{_show(labels[first])} (code {codes[first]})"
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
                    f"column {column!r} holds {_show(labels[first])} at {self.row(first)}, which is not one of "
                    f"the declared categories of {node!r} ({listing(spec.categories, 20)}); "
                    "add it to 'categories' or fix the value"
                )
            return np.array([index[label] for label in labels], dtype=np.int64), spec.categories
        if spec.kind == "binary":
            raise self.error(
                f"column {column!r} of binary variable {node!r} holds the label {_show(labels[0])} at "
                f"{self.row(0)}; a binary column holds 0/1 or True/False, or declare 'categories' with two labels"
            )
        categories, codes = np.unique(labels, return_inverse=True)
        if len(categories) < 2:
            raise self.error(
                f"column {column!r} holds the single label {_show(categories[0])}; a variable needs two values "
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
                f"column {node!r} holds numbers but {_show(series.iloc[first])} at {self.row(first)}, which is not "
                f"a number; fix the value, or declare {node!r} categorical in the graph's variables section"
            )


def _is_text(series: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return False
    dtype = series.dtype
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
    )


def _declared(name: str, config: Any, source: str) -> tuple[VariableSpec, bool]:
    """The declared spec, and whether its classes come from the data (a categorical without ``classes``)."""
    if config == "categorical":
        config = {"type": "categorical"}
    infer_classes = False
    kind = config.get("type", config.get("kind")) if isinstance(config, Mapping) else None
    if isinstance(config, Mapping) and kind == "categorical" and "classes" not in config:
        categories = config.get("categories")
        config = {**config, "classes": len(categories) if categories else 2}
        infer_classes = not categories
    try:
        spec = VariableSpec.from_config(name, config)
    except QueryError as err:
        raise DataError(f"{source}: {err}") from None
    wanted = spec.dim if spec.kind == "continuous" else 1
    if len(spec.source_columns) != wanted:
        raise DataError(
            f"{source}: variable {name!r} lists {len(spec.source_columns)} columns for a {spec.kind} variable "
            f"of dim {wanted}; give one column per dimension"
        )
    return spec, infer_classes


def _image_hint(table: _Table, node: str, series: pd.Series) -> None:
    """An undeclared column of image file names: say how to declare the image variable."""
    cells = series.astype(str).str.strip().str.lower()
    if not cells.str.endswith(IMAGE_SUFFIXES + ARRAY_SUFFIXES).all():
        return
    first = str(series.iloc[0]).strip()
    shape = "channels: 3, height: H, width: W"
    try:
        from PIL import Image

        with Image.open(table.folder / first) as img:
            channels = {"L": 1, "LA": 1, "I": 1, "I;16": 1, "F": 1, "RGBA": 4}.get(img.mode, 3)
            shape = f"channels: {channels}, height: {img.size[1]}, width: {img.size[0]}"
    except Exception:  # not readable here: the generic hint
        pass
    raise table.error(
        f"column {node!r} holds image files ({_show(first)}, ...); declare {node}: {{type: image, {shape}}} "
        "in the graph's variables section"
    )


def _infer(name: str, series: pd.Series, max_categories: int) -> VariableSpec:
    """The spec of an undeclared column (see the module docstring)."""
    if pd.api.types.is_bool_dtype(series):
        return VariableSpec(name, "binary")
    if pd.api.types.is_integer_dtype(series):
        values = series.to_numpy(dtype=np.int64)
        low, high = int(values.min()), int(values.max())
        if low >= 0 and high <= 1:
            return VariableSpec(name, "binary")
        if low >= 0 and high < max_categories:
            return VariableSpec(name, "categorical", classes=high + 1)
        return VariableSpec(name, "continuous")
    if _is_text(series):
        return VariableSpec(name, "categorical")  # classes and categories are set from the labels
    return VariableSpec(name, "continuous")


class TabularDataModule(TensorDataModule):
    """Train and validation batches ``{node: tensor}`` from a CSV or Parquet file and a graph file.

    The file is read, typed, checked and split in ``__init__`` (tabular data is small), so ``graph`` and
    ``variables`` are ready to be linked into a model when the command line instantiates it.

    Args:
        data: path of a ``.csv`` (optionally compressed: ``.csv.gz``, ...), ``.parquet`` or ``.pq`` file
            with one column per graph node (``name_0 .. name_{dim-1}`` for a continuous vector).
        graph: path of the causal graph (YAML or JSON); its optional ``variables:`` section declares types.
        variables: types that override or extend the graph file's ``variables:`` section, per variable,
            e.g. ``{"Y": "binary", "Z": {"type": "categorical", "classes": 4}}``.
        val_fraction: share of rows held out for validation, in [0, 1); 0 leaves validation empty.
        batch_size: rows per batch.
        seed: seed of the train/validation split and of the training shuffle.
        num_workers: DataLoader worker processes.
        max_categories: an undeclared integer column with values in ``0 .. max_categories-1`` is
            categorical (binary for 0/1); other integers are continuous.

    After construction (described in prose: an Attributes section would replace the Args in ``--help``):
    ``self.graph`` is the :class:`CausalGraph`; ``self.variables`` maps each node, in graph order, to
    its :class:`VariableSpec` (continuous ones carry the training mean/std); ``self.train_tensors`` and
    ``self.val_tensors`` map nodes to the rows of each split (float32 ``(rows, dim)`` for a continuous
    variable, int64 class codes ``(rows,)`` for a discrete one, ``(rows, C, H, W)`` uint8 or float32
    pixels for an image); ``self.train_rows`` and
    ``self.val_rows`` are the file rows (0-based positions) of each split, in split order.

    Raises:
        DataError: for a missing or unreadable file, no rows, a node without its column, a missing,
            non-numeric or infinite value, a class code out of range, a constant continuous column, or an
            image file that is missing, unreadable or of another size than declared.
        GraphError: for a malformed graph file.
    """

    def __init__(
        self,
        data: str,
        graph: str,
        variables: dict[str, Any] | None = None,
        val_fraction: float = 0.1,
        batch_size: int = 256,
        seed: int = 0,
        num_workers: int = 0,
        max_categories: int = 20,
    ) -> None:
        super().__init__()
        # graph and variables are stored resolved by the model; the rest is kept from the logger, where the
        # "seed" would clash with the model's (the CLI's config.yaml records them)
        self.save_hyperparameters(ignore=["graph", "variables"], logger=False)
        if not 0.0 <= val_fraction < 1.0:
            raise DataError(f"val_fraction must be in [0, 1), got {val_fraction}")
        if max_categories < 2:
            raise DataError(f"max_categories must be at least 2, got {max_categories}")
        self.batch_size = batch_size
        self.seed = seed
        self.num_workers = num_workers

        causal_graph, file_variables = load_graph_spec(graph)
        if not causal_graph.nodes:
            raise DataError(f"graph file {graph!r} has no nodes; declare at least one variable")
        nodes = list(causal_graph.nodes)
        for name in variables or {}:
            if name not in causal_graph:
                raise DataError(
                    f"the variables argument names {name!r}, which is not a node of graph file {graph!r} "
                    f"({listing(nodes, 20)}); fix the name or add the node to the graph"
                )
        declared = {n: _declared(n, c, f"graph file {graph!r}") for n, c in file_variables.items()}
        declared |= {n: _declared(n, c, "the variables argument") for n, c in (variables or {}).items()}

        table = _Table(data)
        rows = len(table.frame)
        values: dict[str, np.ndarray | torch.Tensor] = {}
        specs: dict[str, VariableSpec] = {}
        for node in nodes:
            spec, infer_classes = declared.get(node, (None, False))
            if spec is None:
                series = table.column(node, node)
                spec = _infer(node, series, max_categories)
                if _is_text(series):
                    _image_hint(table, node, series)
                    table.check_labels(node, series, max_categories)
                infer_classes = spec.kind == "categorical"
            if spec.is_image:
                column = spec.source_columns[0]
                values[node] = table.images(spec, column, table.column(node, column, allow_missing=True))
            elif spec.kind == "continuous":
                columns = [table.numbers(node, c, table.column(node, c)) for c in spec.source_columns]
                values[node] = np.stack(columns, axis=1)
            else:
                column = spec.source_columns[0]
                values[node], spec = table.discrete(spec, column, table.column(node, column), infer_classes)
            specs[node] = spec

        # Split with a seeded permutation: the first n_val rows of it validate, the rest train.
        n_val = min(round(val_fraction * rows), rows - 1)
        order = torch.randperm(rows, generator=torch.Generator().manual_seed(seed))
        self.val_rows, self.train_rows = order[:n_val], order[n_val:]
        train, val = self.train_rows.numpy(), self.val_rows.numpy()

        for node, spec in specs.items():
            if spec.kind != "continuous":
                continue
            x = np.asarray(values[node])[train]
            mean, std = x.mean(axis=0), x.std(axis=0)  # population std (ddof=0)
            for k, column in enumerate(spec.source_columns):
                if not std[k] > 0:
                    raise table.error(
                        f"column {column!r} of continuous variable {node!r} is constant ({_show(x[0, k])}) on the "
                        f"{len(train)} training rows (std 0); drop the node from the graph or declare it discrete"
                    )
            specs[node] = spec.with_statistics(mean, std, x.min(axis=0), x.max(axis=0))

        self.graph: CausalGraph = causal_graph
        self.variables: dict[str, VariableSpec] = specs
        self.train_tensors = {n: _tensor(_take(v, train)) for n, v in values.items()}
        self.val_tensors = {n: _tensor(_take(v, val)) for n, v in values.items()}


def _take(values: np.ndarray | torch.Tensor, rows: np.ndarray) -> np.ndarray | torch.Tensor:
    if isinstance(values, torch.Tensor):
        return values[torch.from_numpy(rows).long()]
    return values[rows]


def _tensor(values: np.ndarray | torch.Tensor) -> torch.Tensor:
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
    table = _Table(str(path))
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
            out[node] = _tensor(np.stack(columns, axis=1))
        else:
            column = spec.source_columns[0]
            codes, _ = table.discrete(spec, column, table.column(node, column), infer_classes=False)
            out[node] = _tensor(codes)
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
        frame = pd.DataFrame(columns)
        if lower.endswith(_PARQUET_SUFFIXES):
            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            written.append(atomic_write(path, buffer.getvalue()))
        else:
            written.append(atomic_write(path, frame.to_csv(index=False)))
    for node, v in images.items():
        tensor_file, grid_file = image_output_paths(path, node)
        buffer = io.BytesIO()
        torch.save(v.contiguous().clone(), buffer)
        written.append(atomic_write(tensor_file, buffer.getvalue()))
        if len(v):
            written.append(save_grid(grid_file, v[:GRID_IMAGES]))
    return written


def _output_images(values: torch.Tensor, spec: VariableSpec) -> torch.Tensor:
    """Sampled images in the spec's dtype; float samples are clamped to [0, 1] first."""
    if values.is_floating_point():
        values = torch.nan_to_num(values.float(), nan=0.0).clamp(0.0, 1.0)
    return to_image_dtype(values, spec, f"the values of image variable {spec.name!r}", DataError)
