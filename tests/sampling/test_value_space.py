"""NumpyValueSpace: the numpy RNG made from a seed (or passed through) and fixed values as checked class codes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from lightning_causal import DiscreteDistribution, QueryError
from lightning_causal.sampling import ArrayData, ExactData, NumpyValueSpace, PlanData, ValueSpace


def _data() -> ArrayData:
    return ArrayData({"X": np.array([0, 2, 1]), "Z": np.array([1, 0, 1])}, {"X": 3, "Z": 2})


def test_rng_from_an_int_is_the_numpy_generator_of_that_seed() -> None:
    rng = NumpyValueSpace().rng(123)
    assert isinstance(rng, np.random.Generator)
    np.testing.assert_array_equal(rng.random(5), np.random.default_rng(123).random(5))


def test_rng_from_a_generator_is_that_generator() -> None:
    given = np.random.default_rng(0)
    assert NumpyValueSpace().rng(given) is given


def test_rng_from_none_is_a_fresh_generator() -> None:
    assert isinstance(NumpyValueSpace().rng(None), np.random.Generator)


def test_constants_repeat_each_value_n_times_as_int64_codes() -> None:
    out = NumpyValueSpace().constants({"X": 2, "Z": np.int32(1)}, 4, _data())
    assert set(out) == {"X", "Z"}
    for name, value in (("X", 2), ("Z", 1)):
        assert out[name].dtype == np.int64
        np.testing.assert_array_equal(out[name], np.full(4, value))


def test_constants_read_the_cardinalities_of_an_exact_distribution_too() -> None:
    data = ExactData(DiscreteDistribution(("X", "Y"), np.full((4, 2), 1 / 8)))
    np.testing.assert_array_equal(NumpyValueSpace().constants({"X": 3}, 2, data)["X"], [3, 3])
    with pytest.raises(QueryError, match=r"value 4 for X is out of range: X takes values 0\.\.3"):
        NumpyValueSpace().constants({"X": 4}, 2, data)


def test_no_values_give_no_constants() -> None:
    assert NumpyValueSpace().constants({}, 3, _data()) == {}


@pytest.mark.parametrize(
    "value,fragment",
    [
        (3, "value 3 for X is out of range: X takes values 0..2"),
        (-1, "value -1 for X is out of range"),
        (1.0, "value 1.0 for X must be an integer in 0..2"),
        (True, "value True for X must be an integer in 0..2"),
        ("1", "value '1' for X must be an integer"),
    ],
)
def test_a_value_that_is_not_a_class_code_of_its_variable_is_refused_naming_it(value: Any, fragment: str) -> None:
    with pytest.raises(QueryError, match=re.escape(fragment)) as err:
        NumpyValueSpace().constants({"X": value}, 2, _data())
    assert "\n" not in str(err.value)


def test_a_variable_the_data_lack_is_refused_naming_it() -> None:
    with pytest.raises(QueryError, match="'Q'"):
        NumpyValueSpace().constants({"Q": 0}, 2, _data())


def test_a_value_space_must_give_both_an_rng_and_constants() -> None:
    class RngOnly(ValueSpace):
        def rng(self, seed: Any) -> Any:
            return seed

    class Both(RngOnly):
        def constants(self, values: Mapping[str, Any], n: int, data: PlanData) -> dict[str, Any]:
            return {}

    with pytest.raises(TypeError, match="constants"):
        RngOnly()  # type: ignore[abstract]
    assert Both().rng(5) == 5
