"""Exact conditional probability tables (``generators/categorical.py``).

Fitting from samples must give the frequencies counted by hand, input configurations never seen
fall back to the variable's marginal in the data, fitting from a joint normalises each row, the
size limit is a one-line error raised before anything is allocated, and sampled frequencies match
the table within a few standard errors with reproducible seeds.
"""

from __future__ import annotations

import numpy as np
import pytest

from lightning_causal import QueryError
from lightning_causal.generators import CategoricalTable
from lightning_causal.generators.categorical import MAX_TABLE_ENTRIES


def test_a_new_table_is_uniform_with_axes_inputs_then_variable() -> None:
    table = CategoricalTable("Y", ["A", "B"], {"A": 2, "B": 3, "Y": 4})
    assert table.shape == (2, 3, 4) and table.inputs == ("A", "B")
    np.testing.assert_array_equal(table.probs, np.full((2, 3, 4), 0.25))
    assert repr(table) == "CategoricalTable(P(Y | A, B), shape=(2, 3, 4))"
    assert repr(CategoricalTable("Y", [], {"Y": 2})) == "CategoricalTable(P(Y), shape=(2,))"


def test_fit_samples_gives_the_counted_frequencies_and_the_marginal_where_unseen() -> None:
    x = np.array([0, 0, 0, 1, 1, 1, 1])
    y = np.array([0, 1, 1, 2, 2, 2, 0])
    table = CategoricalTable("Y", ["X"], {"X": 3, "Y": 3})
    assert table.fit_samples(y, {"X": x}) is table
    expected = [
        [1 / 3, 2 / 3, 0.0],  # X = 0: Y counts 1, 2, 0
        [1 / 4, 0.0, 3 / 4],  # X = 1: Y counts 1, 0, 3
        [2 / 7, 2 / 7, 3 / 7],  # X = 2 never seen: Y's marginal in the data
    ]
    np.testing.assert_allclose(table.probs, expected, atol=1e-15)


def test_the_axes_follow_the_order_of_the_inputs() -> None:
    a = np.array([0, 0, 1, 1, 1])
    b = np.array([0, 2, 2, 2, 1])
    y = np.array([1, 0, 1, 0, 0])
    table = CategoricalTable("Y", ["B", "A"], {"A": 2, "B": 3, "Y": 2})
    table.fit_samples(y, {"A": a, "B": b})
    assert table.probs.shape == (3, 2, 2)
    np.testing.assert_allclose(table.probs[2, 1], [0.5, 0.5])  # B = 2, A = 1: Y = 1 and Y = 0
    np.testing.assert_allclose(table.probs[0, 0], [0.0, 1.0])  # B = 0, A = 0: Y = 1
    np.testing.assert_allclose(table.probs[0, 1], [0.6, 0.4])  # unseen: marginal, Y = 0 three times in five


def test_a_table_without_inputs_is_the_marginal() -> None:
    table = CategoricalTable("Y", [], {"Y": 3}).fit_samples(np.array([2, 2, 0, 2]), {})
    np.testing.assert_allclose(table.probs, [0.25, 0.0, 0.75])


def test_no_samples_leave_the_table_uniform() -> None:
    table = CategoricalTable("Y", ["X"], {"X": 2, "Y": 4})
    table.fit_samples(np.array([], dtype=np.int64), {"X": np.array([], dtype=np.int64)})
    np.testing.assert_allclose(table.probs, np.full((2, 4), 0.25))


def test_fit_joint_normalises_rows_and_falls_back_on_empty_rows() -> None:
    joint = np.array([[2.0, 6.0], [0.0, 0.0], [1.0, 1.0]])  # axes (X, Y), unnormalised
    table = CategoricalTable("Y", ["X"], {"X": 3, "Y": 2}).fit_joint(joint)
    np.testing.assert_allclose(table.probs, [[0.25, 0.75], [0.3, 0.7], [0.5, 0.5]])  # marginal: (3, 7) / 10
    uniform = CategoricalTable("Y", ["X"], {"X": 3, "Y": 2}).fit_joint(np.zeros((3, 2)))
    np.testing.assert_allclose(uniform.probs, np.full((3, 2), 0.5))


def test_fit_joint_rejects_a_table_of_the_wrong_shape() -> None:
    table = CategoricalTable("Y", ["X"], {"X": 3, "Y": 2})
    with pytest.raises(QueryError, match=r"joint table for Y has shape \(2, 2\), expected \(3, 2\)") as info:
        table.fit_joint(np.ones((2, 2)))
    assert "\n" not in str(info.value)


def test_a_table_over_the_size_limit_is_refused_before_allocation() -> None:
    cards = {"A": 5000, "B": 5000, "Y": 2}
    assert MAX_TABLE_ENTRIES < 5000 * 5000 * 2
    with pytest.raises(QueryError, match=r"the exact table of P\(Y \| A, B\) would hold 5000 x 5000 x 2") as info:
        CategoricalTable("Y", ["A", "B"], cards)
    message = str(info.value)
    assert "50,000,000 entries" in message and f"{MAX_TABLE_ENTRIES:,}" in message and "\n" not in message
    CategoricalTable("Y", ["A"], {"A": 1000, "Y": 10})  # well under the limit


def test_sampling_frequencies_match_the_table_row_by_row() -> None:
    table = CategoricalTable("Y", ["X"], {"X": 2, "Y": 3}).fit_joint(np.array([[1.0, 2.0, 7.0], [5.0, 0.0, 5.0]]))
    n = 30_000
    x = np.repeat([0, 1], n)
    y = table.sample({"X": x}, rng=np.random.default_rng(0))
    assert y.shape == (2 * n,) and y.dtype == np.int64
    for xv, probs in enumerate([[0.1, 0.2, 0.7], [0.5, 0.0, 0.5]]):
        freq = np.bincount(y[x == xv], minlength=3) / n
        tolerance = 5 * np.sqrt(np.array(probs) * (1 - np.array(probs)) / n)
        assert (np.abs(freq - probs) <= tolerance).all(), freq
    assert not (y[x == 1] == 1).any()  # probability zero is never drawn


def test_sampling_without_inputs_needs_a_count() -> None:
    table = CategoricalTable("Y", [], {"Y": 2}).fit_joint(np.array([1.0, 3.0]))
    draws = table.sample({}, rng=np.random.default_rng(1), n=40_000)
    assert draws.shape == (40_000,)
    assert abs(draws.mean() - 0.75) < 5 * np.sqrt(0.75 * 0.25 / 40_000)
    with pytest.raises(ValueError, match="n is needed"):
        table.sample({}, rng=np.random.default_rng(1))


def test_sampling_is_reproducible_from_the_seed() -> None:
    table = CategoricalTable("Y", ["X"], {"X": 3, "Y": 4}).fit_joint(np.arange(1.0, 13.0).reshape(3, 4))
    x = np.random.default_rng(5).integers(0, 3, size=300)
    a = table.sample({"X": x}, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, table.sample({"X": x}, rng=np.random.default_rng(7)))
    assert not np.array_equal(a, table.sample({"X": x}, rng=np.random.default_rng(8)))
