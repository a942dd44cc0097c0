"""Query values: an assignment names exactly the expected variables, a value is an in-range integer code,
a count is a whole number from 1 to MAX_COUNT; anything else is one QueryError that says what to give."""

from __future__ import annotations

import numpy as np
import pytest

from lightning_causal.errors import QueryError
from lightning_causal.values import MAX_COUNT, check_assignment, check_count, check_value


def _one_line_error(excinfo: pytest.ExceptionInfo[QueryError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------------------------------- assignments
@pytest.mark.parametrize(
    "values,expected",
    [
        ({"X": 0}, ("X",)),
        ({"B": 1, "A": 0}, ("A", "B")),  # order does not matter
        ({}, ()),
    ],
)
def test_an_assignment_that_names_exactly_the_expected_variables_passes(
    values: dict[str, int], expected: tuple[str, ...]
) -> None:
    assert check_assignment(values, expected, "sample", "treatment") is None


def test_an_extra_variable_is_named_first_in_alphabetical_order() -> None:
    with pytest.raises(QueryError, match=r"'W' is not a treatment variable$") as err:
        check_assignment({"X": 0, "Z": 1, "W": 1}, ("X",), "sample", "treatment")
    message = _one_line_error(err)
    assert message.startswith("sample must give a value to exactly the treatment variables (X): ")


def test_missing_variables_are_listed_in_the_expected_order() -> None:
    with pytest.raises(QueryError, match=r"\(C, A, B\): missing C, B$") as err:
        check_assignment({"A": 0}, ("C", "A", "B"), "evaluate", "condition")
    assert "exactly the condition variables" in _one_line_error(err)


def test_an_extra_variable_is_reported_before_missing_ones() -> None:
    with pytest.raises(QueryError, match=r"'Q' is not a treatment variable") as err:
        check_assignment({"Q": 0}, ("X", "Y"), "sample", "treatment")
    assert "missing" not in _one_line_error(err)


def test_an_assignment_where_none_is_expected_says_none() -> None:
    with pytest.raises(QueryError, match=r"the condition variables \(none\): 'Z' is not a condition variable") as err:
        check_assignment({"Z": 1}, (), "sample", "condition")
    _one_line_error(err)


# --------------------------------------------------------------------------------------------------- values
@pytest.mark.parametrize("value", [0, 1, 4, np.int64(2), np.uint8(4), np.int32(0)])
def test_an_integer_code_in_range_comes_back_as_a_python_int(value: int) -> None:
    got = check_value("X", value, 5)
    assert got == int(value) and type(got) is int


@pytest.mark.parametrize("value", [True, False, 1.0, 0.5, "1", None, np.float32(1.0), np.bool_(True)])
def test_a_value_that_is_not_an_integer_is_refused(value: object) -> None:
    with pytest.raises(QueryError, match=r"for X must be an integer in 0\.\.2$") as err:
        check_value("X", value, 3)
    assert _one_line_error(err).startswith(f"value {value!r} for X")


@pytest.mark.parametrize("value", [-1, 3, 100, np.int64(-5)])
def test_a_value_out_of_range_names_the_range(value: int) -> None:
    with pytest.raises(QueryError, match=r"is out of range: Y takes values 0\.\.2$") as err:
        check_value("Y", value, 3)
    assert _one_line_error(err).startswith(f"value {int(value)} for Y")


def test_the_edges_of_the_range_are_inside() -> None:
    assert check_value("B", 0, 2) == 0 and check_value("B", 1, 2) == 1
    with pytest.raises(QueryError):
        check_value("B", 2, 2)


# --------------------------------------------------------------------------------------------------- counts
def test_max_count_is_a_hundred_million() -> None:
    assert MAX_COUNT == 10**8


@pytest.mark.parametrize("n", [1, 2, 1000, MAX_COUNT, np.int64(7), np.uint16(9)])
def test_a_count_from_one_to_the_limit_comes_back_as_a_python_int(n: int) -> None:
    got = check_count(n)
    assert got == int(n) and type(got) is int


@pytest.mark.parametrize("n", [0, -1, -(10**9), True, False, 1.0, 2.5, "10", None, np.float64(3.0)])
def test_a_count_that_is_not_a_whole_number_from_one_is_refused(n: object) -> None:
    with pytest.raises(QueryError, match=r"^the number of samples must be a whole number >= 1, got ") as err:
        check_count(n)
    assert _one_line_error(err).endswith(f"got {n!r}")


def test_a_count_past_the_limit_says_to_split_it() -> None:
    with pytest.raises(QueryError, match=r"is 100,000,001, more than the limit of 100,000,000 per call") as err:
        check_count(MAX_COUNT + 1)
    assert "split it into several calls" in _one_line_error(err)
    with pytest.raises(QueryError, match=r"is 5,000,000,000,"):
        check_count(np.int64(5 * 10**9))


def test_the_count_error_names_what_was_counted() -> None:
    with pytest.raises(QueryError, match=r"^steps must be a whole number >= 1, got 0$"):
        check_count(0, what="steps")
    with pytest.raises(QueryError, match=r"^steps is 200,000,000,"):
        check_count(2 * MAX_COUNT, what="steps")
