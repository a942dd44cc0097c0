"""One rule types undeclared variables, for tables and tensors alike; statistics come from the training rows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lightning_causal.errors import DataError
from lightning_causal.variables import VariableSpec
from lightning_causal.variables.inference import MAX_CATEGORIES, infer_spec, with_statistics


@pytest.mark.parametrize(
    "values,kind,classes,dim",
    [
        (np.array([True, False, True]), "binary", 2, 1),
        (np.array([0, 1, 1, 0]), "binary", 2, 1),
        (np.array([0, 2, 5, 1]), "categorical", 6, 1),
        (np.arange(MAX_CATEGORIES), "categorical", MAX_CATEGORIES, 1),
        (np.arange(MAX_CATEGORIES + 1), "continuous", 2, 1),  # a code at max_categories: a count, not classes
        (np.array([-1, 0, 1]), "continuous", 2, 1),  # negative integers are numbers
        (np.array([0.0, 1.0, 2.0]), "continuous", 2, 1),  # floats are continuous whatever their values
        (np.zeros((4, 3), dtype=np.float32), "continuous", 2, 3),
        (np.zeros((4, 2), dtype=np.int64), "continuous", 2, 2),  # integer vectors are vectors
        (np.array(["a", "b"], dtype=object), "categorical", 2, 1),
        (torch.tensor([0, 1, 3]), "categorical", 4, 1),  # tensors follow the same rule
        (torch.tensor([0, 1, 30]), "continuous", 2, 1),
    ],
)
def test_the_one_rule(values: object, kind: str, classes: int, dim: int) -> None:
    spec = infer_spec("v", values)
    assert (spec.kind, spec.classes, spec.dim) == (kind, classes, dim)


def test_four_dimensional_arrays_are_images_in_their_dtype() -> None:
    spec = infer_spec("img", torch.zeros(2, 3, 8, 6, dtype=torch.uint8))
    assert (spec.kind, spec.image_shape, spec.dtype) == ("image", (3, 8, 6), "uint8")
    assert infer_spec("img", torch.zeros(2, 1, 4, 4)).dtype == "float"


def test_max_categories_moves_the_boundary() -> None:
    codes = np.array([0, 4, 9])
    assert infer_spec("v", codes, max_categories=10).kind == "categorical"
    assert infer_spec("v", codes, max_categories=9).kind == "continuous"


def test_statistics_are_the_training_rows_mean_population_std_and_range() -> None:
    x = torch.tensor([[1.0, 10.0], [3.0, 30.0], [5.0, 20.0]])
    specs = {"x": VariableSpec("x", dim=2), "c": VariableSpec("c", "categorical", classes=3)}
    out = with_statistics(specs, {"x": x, "c": torch.tensor([0, 1, 2])})
    assert out["c"] is specs["c"]  # discrete specs carry no statistics
    expected_std = np.std(x.numpy().astype(np.float64), axis=0)  # ddof 0
    assert out["x"].mean == pytest.approx((3.0, 20.0)) and out["x"].std == pytest.approx(tuple(expected_std))
    assert (out["x"].low, out["x"].high) == ((1.0, 10.0), (5.0, 30.0))


def test_a_constant_continuous_variable_is_refused_naming_it_and_its_dimension() -> None:
    x = torch.tensor([[1.0, 2.0], [3.0, 2.0]])
    with pytest.raises(DataError, match="dimension 1 of continuous variable 'x' is constant") as raised:
        with_statistics({"x": VariableSpec("x", dim=2)}, {"x": x})
    assert "\n" not in str(raised.value)
    with pytest.raises(DataError, match="on the 1 training rows"):  # one row does not vary either
        with_statistics({"y": VariableSpec("y")}, {"y": torch.tensor([[4.0]])})
    # the message is the caller's to word (a table names its file and column)
    with pytest.raises(DataError, match=r"^custom y 0 4 1$"):
        with_statistics(
            {"y": VariableSpec("y")},
            {"y": torch.tensor([[4.0]])},
            lambda name, k, value, rows: f"custom {name} {k} {value:g} {rows}",
        )


def test_tables_keep_numpy_reductions_and_tensors_torch_ones_to_the_last_bit() -> None:
    # each library's summation order is kept: a 0.1 table's statistics (and run folders) stay as they were
    values = np.random.default_rng(3).normal(size=(997, 1)) * 1e3 + 0.1
    spec = {"x": VariableSpec("x")}
    table = with_statistics(spec, {"x": values})["x"]
    assert table.mean == (float(values.mean(0)[0]),) and table.std == (float(values.std(0)[0]),)
    tensor = torch.from_numpy(values)
    rows = with_statistics(spec, {"x": tensor})["x"]
    assert rows.mean == (float(tensor.mean(0)[0]),) and rows.std == (float(tensor.std(0, correction=0)[0]),)
