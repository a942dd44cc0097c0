"""The data contract: rows of named variables, with every variable's spec and codec statistics.

Whatever a model trains on (an in-memory table, a structural model's samples, a generated dataset
written as shards, and next a streaming shard reader) it reads through :class:`RowSource`:

* ``variables``: ``{name: VariableSpec}``, continuous ones with the training rows' statistics;
* ``rows(split)``: the rows of a split (``"train"``, ``"val"``, ...) as ``{name: tensor}`` in data
  space: float32 ``(rows, dim)`` for a continuous variable, int64 codes ``(rows,)`` for a discrete
  one, ``(rows, C, H, W)`` uint8 or float32 pixels for an image.

The data modules satisfy it (:class:`~lightning_causal.datamodules.TensorDataModule` and every
module built on it), :class:`TensorRows` wraps rows held in memory, and
:class:`~lightning_causal.data.shards.ShardRows` reads a dataset written as shards. :func:`as_rows`
turns what a user passes (a source, or a dict of arrays or tensors) into a checked source: undeclared
variables are typed by the one rule of :mod:`lightning_causal.variables.inference`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor

from lightning_causal.errors import DataError, listing
from lightning_causal.variables.inference import MAX_CATEGORIES, infer_spec, with_statistics
from lightning_causal.variables.spec import VariableSpec

__all__ = ["RowSource", "TensorRows", "as_rows", "check_rows"]


@runtime_checkable
class RowSource(Protocol):
    """A source of rows: ``variables`` (specs with statistics) and ``rows(split)`` (see the module docstring)."""

    @property
    def variables(self) -> Mapping[str, VariableSpec]:
        """The spec of every variable, continuous ones with their statistics."""
        ...

    def rows(self, split: str = "train") -> dict[str, Tensor]:
        """The rows of ``split`` as ``{variable: tensor}``."""
        ...


class TensorRows:
    """Rows held in memory, ``{split: {variable: tensor}}``, with their variables' specs.

    Args:
        splits: the rows of each split (every split holds every variable, with one length per split).
        variables: the spec of every variable.
    """

    def __init__(self, splits: Mapping[str, Mapping[str, Tensor]], variables: Mapping[str, VariableSpec]) -> None:
        self.splits = {name: dict(rows) for name, rows in splits.items()}
        self.variables = dict(variables)

    def rows(self, split: str = "train") -> dict[str, Tensor]:
        """The rows of ``split``."""
        if split not in self.splits:
            raise DataError(f"the data has no split {split!r}; it has {listing(self.splits)}")
        return dict(self.splits[split])


def check_rows(rows: Mapping[str, Tensor], needed: Sequence[str], what: str = "the data") -> dict[str, Tensor]:
    """``rows`` restricted to ``needed``: every variable present, all with the same, non-zero number of rows."""
    missing = [v for v in needed if v not in rows]
    if missing:
        raise DataError(f"{what} has no variable {missing[0]!r}, which the model needs; it has {listing(rows, 20)}")
    lengths = {len(rows[v]) for v in needed}
    if len(lengths) > 1 or 0 in lengths:
        raise DataError(f"{what}: every variable needs the same, non-zero number of rows")
    return {v: rows[v] for v in needed}


def _declared(declared: Mapping[str, Any], names: Sequence[str]) -> dict[str, VariableSpec]:
    return {v: VariableSpec.from_config(v, declared[v]) for v in names if v in declared}


def _tensor(name: str, value: Any, spec: VariableSpec) -> Tensor:
    """A user's array as the tensor ``spec`` calls for, checked for values the model cannot train on."""
    array = value if isinstance(value, Tensor) else np.asarray(value)
    if not isinstance(array, Tensor) and array.dtype.kind in "OUS":
        raise DataError(
            f"column {name!r} holds labels (strings); give class codes 0..k-1, or read the table with "
            "TabularDataModule, which codes labels"
        )
    t = torch.as_tensor(array)
    if spec.is_image:
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise DataError(f"images {name!r} hold NaN or infinite values; give pixels in 0..1 (or uint8)")
        return t if t.dtype == torch.uint8 else t.float()
    if spec.kind == "continuous":
        t = t.float().reshape(len(t), -1)
        if not bool(torch.isfinite(t).all()):
            raise DataError(f"column {name!r} holds NaN or infinite values; drop or impute them")
        return t
    if t.is_floating_point() and not bool((t == t.round()).all()):
        raise DataError(f"column {name!r} of {spec.kind} variable {name!r} holds values that are not class codes")
    t = t.long().reshape(-1)
    if bool((t < 0).any()) or bool((t >= spec.classes).any()):
        raise DataError(f"column {name!r} holds class codes outside 0..{spec.classes - 1} of {spec.kind} {name!r}")
    return t


def as_rows(
    data: Any,
    needed: Sequence[str],
    declared: Mapping[str, Any] | None = None,
    max_categories: int = MAX_CATEGORIES,
) -> RowSource:
    """``data`` as a checked :class:`RowSource` holding the ``needed`` variables.

    ``data`` is a :class:`RowSource` (a data module: its own specs, ``declared`` ones win) or a dict
    ``{variable: array or tensor}`` whose undeclared variables are typed by the one rule of
    :func:`~lightning_causal.variables.inference.infer_spec`; continuous specs get the statistics of
    the rows. ``declared`` types are written as in a graph's ``variables:`` section.
    """
    declared = dict(declared or {})
    if isinstance(data, RowSource):
        rows = check_rows(data.rows("train"), needed, type(data).__name__)
        specs = {v: data.variables[v] for v in needed if v in data.variables} | _declared(declared, needed)
        missing = [v for v in needed if v not in specs]
        if missing:
            raise DataError(f"{type(data).__name__} gives no type for variable {missing[0]!r}; declare it")
        specs = {v: specs[v] for v in needed}
        return TensorRows({"train": rows}, with_statistics(specs, rows))
    if not isinstance(data, Mapping):
        raise DataError(
            f"data must be a data module or a dict of arrays or tensors (one per variable), got {type(data).__name__}"
        )
    present = {v: data[v] for v in needed if v in data}
    check_rows(present, needed)
    specs = _declared(declared, needed)
    for v in needed:
        if v not in specs:
            specs[v] = infer_spec(v, present[v], max_categories)
    rows = {v: _tensor(v, present[v], specs[v]) for v in needed}
    return TensorRows({"train": rows}, with_statistics(specs, rows))
