"""Types inferred from values and codec statistics computed from them: one rule for tables and tensors.

A variable that is not declared is typed by its values (:func:`infer_spec`), whoever reads them
(a CSV or Parquet table, a dict of tensors given to ``plan.fit``):

* images: a 4-d array ``(rows, C, H, W)``, uint8 (0..255) or float (0..1);
* bool, or integers all in {0, 1}                 -> binary;
* integers all in ``0 .. max_categories - 1``      -> categorical with ``classes = max + 1`` (codes as they are);
* any other integers (negative, or ``max_categories`` and beyond) and every float -> continuous (its
  dimension from the array's shape: ``(rows,)`` or ``(rows, dim)``);
* strings                                          -> categorical; the reader sets ``categories`` (the
  sorted distinct labels) and codes every label by its index.

:func:`with_statistics` gives continuous specs the mean, population std (ddof 0) and range of the
training rows, the codec's standardisation and the samplers' clip range; a continuous variable whose
training rows do not vary is refused, since it cannot be standardised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from lightning_causal.errors import DataError
from lightning_causal.variables.spec import VariableSpec

__all__ = ["MAX_CATEGORIES", "infer_spec", "with_statistics"]

MAX_CATEGORIES = 20
"""An undeclared integer variable with codes below this is categorical; other integers are continuous."""


def infer_spec(name: str, values: Any, max_categories: int = MAX_CATEGORIES) -> VariableSpec:
    """The spec of an undeclared variable from its values (a NumPy array or a tensor; see the module docstring).

    A categorical spec inferred from strings has no ``categories`` yet: the reader that codes the labels sets them.
    """
    array = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    if array.ndim == 4:
        c, h, w = (int(d) for d in array.shape[1:])
        dtype = "uint8" if array.dtype == np.uint8 else "float"
        return VariableSpec(name, "image", channels=c, height=h, width=w, dtype=dtype)
    if array.dtype == np.bool_:
        return VariableSpec(name, "binary")
    if array.dtype.kind in "OUS":
        return VariableSpec(name, "categorical")
    dim = 1 if array.ndim <= 1 else int(np.prod(array.shape[1:]))
    if array.dtype.kind in "iu" and dim == 1:
        low = int(array.min()) if array.size else 0
        high = int(array.max()) if array.size else 1
        if low >= 0 and high <= 1:
            return VariableSpec(name, "binary")
        if low >= 0 and high < max_categories:
            return VariableSpec(name, "categorical", classes=high + 1)
    return VariableSpec(name, "continuous", dim=dim)


def _constant(name: str, dimension: int, value: float, rows: int) -> str:
    where = f"dimension {dimension} of " if dimension else ""
    return (
        f"{where}continuous variable {name!r} is constant ({value:g}) on the {rows} training rows (std 0); "
        "drop it from the graph or declare it discrete"
    )


def _moments(values: np.ndarray | torch.Tensor) -> tuple[list[float], list[float], list[float], list[float]]:
    """Mean, population std, min and max per dimension, in float64.

    NumPy arrays (a table read as float64) are reduced by NumPy and tensors by torch: the same
    arithmetic, but each library sums in its own order, and keeping each keeps the statistics (and
    the run folders fingerprinted with them) of earlier releases to the last bit.
    """
    if isinstance(values, np.ndarray):
        x = values.astype(np.float64).reshape(len(values), -1)
        return x.mean(0).tolist(), x.std(0).tolist(), x.min(0).tolist(), x.max(0).tolist()
    t = torch.as_tensor(values).double().reshape(len(values), -1)
    return t.mean(0).tolist(), t.std(0, correction=0).tolist(), t.amin(0).tolist(), t.amax(0).tolist()


def with_statistics(
    specs: Mapping[str, VariableSpec],
    tensors: Mapping[str, torch.Tensor | np.ndarray],
    constant: Callable[[str, int, float, int], str] = _constant,
) -> dict[str, VariableSpec]:
    """The specs, continuous ones with the mean, population std (ddof 0), min and max of ``tensors`` (training rows).

    Discrete and image specs are returned as they are (pixels have a fixed codec). A continuous
    variable with std 0 in a dimension (one row included) is refused with the :class:`DataError`
    line ``constant(name, dimension, value, rows)`` says.
    """
    out = {}
    for name, spec in specs.items():
        if spec.kind != "continuous":
            out[name] = spec
            continue
        values = tensors[name]
        if not len(values):
            raise DataError(constant(name, 0, float("nan"), 0))
        mean, std, low, high = _moments(values)
        flat = [k for k, s in enumerate(std) if s == 0]
        if flat:
            first = values[0].reshape(-1)[flat[0]]
            raise DataError(constant(name, flat[0], float(first), len(values)))
        out[name] = spec.with_statistics(mean, std, low, high)
    return out
