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

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from lightning_causal.data.table_files import TableFile, is_text, show, table_tensor
from lightning_causal.datamodules.tensor_data import TensorDataModule
from lightning_causal.errors import DataError, QueryError, listing
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.graph.io import load_graph_spec
from lightning_causal.image_files import ARRAY_SUFFIXES, IMAGE_SUFFIXES
from lightning_causal.variables.inference import MAX_CATEGORIES, infer_spec, with_statistics
from lightning_causal.variables.spec import VariableSpec

__all__ = ["TabularDataModule"]


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


def _image_hint(table: TableFile, node: str, series: pd.Series) -> None:
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
        f"column {node!r} holds image files ({show(first)}, ...); declare {node}: {{type: image, {shape}}} "
        "in the graph's variables section"
    )


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
        max_categories: int = MAX_CATEGORIES,
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

        table = TableFile(data)
        rows = len(table.frame)
        values: dict[str, np.ndarray | torch.Tensor] = {}
        specs: dict[str, VariableSpec] = {}
        for node in nodes:
            spec, infer_classes = declared.get(node, (None, False))
            if spec is None:
                series = table.column(node, node)
                spec = infer_spec(node, _column_values(series), max_categories)
                if is_text(series):
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

        def constant(node: str, k: int, value: float, count: int) -> str:
            column = specs[node].source_columns[k]
            return (
                f"data file {table.name}: column {column!r} of continuous variable {node!r} is constant "
                f"({show(value)}) on the {count} training rows (std 0); drop the node from the graph or "
                "declare it discrete"
            )

        # statistics of the training rows, as read (float64), by the one rule of variables.inference
        continuous = {n: np.asarray(values[n])[train] for n, s in specs.items() if s.kind == "continuous"}
        specs = {n: with_statistics({n: s}, continuous, constant)[n] for n, s in specs.items()}

        self.graph: CausalGraph = causal_graph
        self.variables: dict[str, VariableSpec] = specs
        self.train_tensors = {n: table_tensor(_take(v, train)) for n, v in values.items()}
        self.val_tensors = {n: table_tensor(_take(v, val)) for n, v in values.items()}


def _column_values(series: pd.Series) -> np.ndarray:
    """A column as the array :func:`~lightning_causal.variables.inference.infer_spec` types: bools, integers,
    labels (objects) or floats."""
    if pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=bool)
    if pd.api.types.is_integer_dtype(series):
        return series.to_numpy(dtype=np.int64)
    if is_text(series):
        return series.to_numpy(dtype=object)
    return series.to_numpy(dtype=np.float64)


def _take(values: np.ndarray | torch.Tensor, rows: np.ndarray) -> np.ndarray | torch.Tensor:
    if isinstance(values, torch.Tensor):
        return values[torch.from_numpy(rows).long()]
    return values[rows]
