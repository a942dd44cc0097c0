"""TensorValueSpace: a torch.Generator from an int, None or a Generator; fixed values as n rows per variable kind."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from lightning_causal import QueryError
from lightning_causal.sampling import TensorData
from lightning_causal.sampling.tensor_space import TensorValueSpace
from lightning_causal.variables.spec import VariableSpec

SPECS = {
    "A": VariableSpec("A", "continuous", dim=2),
    "S": VariableSpec("S", "continuous"),
    "C": VariableSpec("C", "categorical", classes=4),
    "B": VariableSpec("B", "binary"),
    "I": VariableSpec("I", "image", channels=3, height=4, width=5),
}
DATA = TensorData({"C": torch.tensor([0, 3, 1])}, {"C": 4})


def _space() -> TensorValueSpace:
    return TensorValueSpace(SPECS)


def test_the_lazy_package_attribute_is_the_class() -> None:
    import lightning_causal.sampling as sampling

    assert sampling.TensorValueSpace is TensorValueSpace


@pytest.mark.parametrize("seed", [5, np.int64(5)])
def test_rng_from_an_int_is_a_generator_seeded_with_it(seed: int) -> None:
    rng = _space().rng(seed)
    assert isinstance(rng, torch.Generator) and rng.device == torch.device("cpu")
    assert torch.equal(torch.rand(4, generator=rng), torch.rand(4, generator=torch.Generator().manual_seed(5)))


def test_rng_from_none_is_seeded_with_zero() -> None:
    assert torch.equal(
        torch.rand(4, generator=_space().rng(None)), torch.rand(4, generator=torch.Generator().manual_seed(0))
    )


def test_rng_from_a_generator_is_that_generator() -> None:
    given = torch.Generator().manual_seed(9)
    assert _space().rng(given) is given


@pytest.mark.parametrize("seed", [1.5, "3", True])
def test_a_seed_that_is_neither_an_int_nor_a_generator_is_refused(seed: object) -> None:
    with pytest.raises(QueryError, match=r"seed must be a torch\.Generator or an int seed") as err:
        _space().rng(seed)
    assert "\n" not in str(err.value)


def test_the_device_is_kept_as_a_torch_device() -> None:
    assert _space().device == torch.device("cpu")
    assert TensorValueSpace(SPECS, device=torch.device("cpu")).device.type == "cpu"


def test_a_continuous_value_becomes_n_float_rows_of_its_dimension() -> None:
    out = _space().constants({"A": [1.0, -2.0], "S": 0.25}, 3, DATA)
    assert out["A"].dtype == torch.float32 and out["A"].shape == (3, 2)
    assert torch.equal(out["A"], torch.tensor([[1.0, -2.0]] * 3))
    assert torch.equal(out["S"], torch.full((3, 1), 0.25))
    rows = _space().constants({"A": torch.arange(6.0).reshape(3, 2)}, 3, DATA)["A"]
    assert torch.equal(rows, torch.arange(6.0).reshape(3, 2))  # one value per row is kept per row


def test_a_discrete_value_becomes_n_int64_codes() -> None:
    out = _space().constants({"C": 3, "B": 1}, 4, DATA)
    assert out["C"].dtype == torch.int64 and torch.equal(out["C"], torch.full((4,), 3))
    assert torch.equal(out["B"], torch.ones(4, dtype=torch.int64))
    per_row = _space().constants({"C": torch.tensor([0, 1, 2, 3])}, 4, DATA)["C"]
    assert torch.equal(per_row, torch.tensor([0, 1, 2, 3]))


def test_an_image_becomes_n_copies_of_it() -> None:
    image = torch.arange(60, dtype=torch.uint8).reshape(3, 4, 5)
    out = _space().constants({"I": image}, 2, DATA)["I"]
    assert out.shape == (2, 3, 4, 5) and out.dtype == torch.uint8
    assert torch.equal(out[0], image) and torch.equal(out[1], image)


def test_the_values_are_fresh_tensors_not_views_of_the_given_value() -> None:
    value = torch.tensor([[1.0, 2.0]])
    out = _space().constants({"A": value}, 2, DATA)["A"]
    out[0, 0] = 99.0
    assert value[0, 0] == 1.0 and out[1, 0] == 1.0


@pytest.mark.parametrize(
    "name,value,fragment",
    [
        ("C", 4, "intervention on C is out of range: C takes codes 0..3"),
        ("B", 2, "intervention on B is out of range"),
        ("C", 1.5, "intervention on C must be a class code 0..3"),
        ("A", [1.0, 2.0, 3.0], "intervention on A has shape"),
        ("S", float("nan"), "intervention on S holds NaN"),
    ],
)
def test_a_value_that_does_not_fit_its_variable_is_refused_naming_it(name: str, value: object, fragment: str) -> None:
    with pytest.raises(QueryError, match=re.escape(fragment)) as err:
        _space().constants({name: value}, 3, DATA)
    assert "\n" not in str(err.value)


def test_an_unknown_variable_is_refused_naming_it_and_the_known_ones() -> None:
    with pytest.raises(QueryError, match=r"unknown variable 'Q'; the model has A, S, C, B, I") as err:
        _space().constants({"C": 1, "Q": 0}, 2, DATA)
    assert "\n" not in str(err.value)


def test_the_space_keeps_its_own_copy_of_the_variables() -> None:
    specs = {"C": SPECS["C"]}
    space = TensorValueSpace(specs)
    specs["Q"] = VariableSpec("Q", "binary")
    with pytest.raises(QueryError, match="unknown variable 'Q'; the model has C"):
        space.constants({"Q": 0}, 1, DATA)
