"""The plan's plain parts: a factor's text, a wiring's output variables, a dataset's columns, frozen values."""

from __future__ import annotations

import dataclasses

import pytest

from lightning_causal.plan.parts import INPUT, Dataset, Factor, Node, Wiring


def _wiring() -> Wiring:
    """Two inputs (X, W), a hidden node n0 (M) and two outputs, Y then Z, listed out of node order."""
    return Wiring(
        nodes=(
            Node("n0", "M", "f0", (("X", INPUT),)),
            Node("n1", "Z", "f1", (("M", "n0"),)),
            Node("n2", "Y", "f2", (("M", "n0"), ("W", INPUT))),
        ),
        inputs=("X", "W"),
        outputs=(("Y", "n2"), ("Z", "n1")),
    )


def test_a_factor_prints_as_its_conditional_probability() -> None:
    given = Factor("f2", "Y", ("W1", "W2", "X"), "D0", 0, "S6")
    alone = Factor("f0", "W1", (), "D0", 0, "S1")
    assert str(given) == "P(Y | W1, W2, X)"
    assert str(alone) == "P(W1)"
    assert str(Factor("f9", "Y", ("X",), "D3", 2, "IDC-GEN")) == "P(Y | X)"


def test_a_factor_keeps_the_order_of_its_inputs_in_its_text() -> None:
    assert str(Factor("f", "Y", ("Z", "A"), "D0", 0, "")) == "P(Y | Z, A)"


def test_a_network_input_is_marked_by_the_input_source() -> None:
    assert INPUT == "input"
    node = _wiring().nodes[0]
    assert node.sources == (("X", "input"),)


def test_output_variables_follow_the_order_of_the_outputs_not_of_the_nodes() -> None:
    assert _wiring().output_variables == ("Y", "Z")


def test_a_wiring_without_outputs_has_no_output_variables() -> None:
    assert Wiring(nodes=(), inputs=("X",), outputs=()).output_variables == ()


def test_the_observed_dataset_has_no_source_copies_nothing_and_has_no_columns_of_its_own() -> None:
    d0 = Dataset("D0", "observational data")
    assert d0.source is None and d0.copied == () and d0.wiring is None
    assert d0.columns == ()


def test_a_generated_dataset_has_its_copied_columns_first_then_the_wiring_outputs() -> None:
    d1 = Dataset("D1", "S7 update", source="D0", copied=("X", "W"), wiring=_wiring())
    assert d1.columns == ("X", "W", "Y", "Z")


def test_a_dataset_without_a_wiring_has_only_its_copied_columns() -> None:
    assert Dataset("D2", "copy", source="D0", copied=("A", "B")).columns == ("A", "B")


def test_a_dataset_that_copies_nothing_has_only_the_wiring_outputs() -> None:
    assert Dataset("D1", "generated", source="D0", wiring=_wiring()).columns == ("Y", "Z")


@pytest.mark.parametrize(
    "value,field",
    [
        (Factor("f0", "Y", (), "D0", 0, "S1"), "stage"),
        (Node("n0", "Y", "f0", ()), "factor"),
        (_wiring(), "inputs"),
        (Dataset("D0", "observational data"), "copied"),
    ],
    ids=["factor", "node", "wiring", "dataset"],
)
def test_every_part_is_frozen(value: object, field: str) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, field, "changed")


def test_equal_parts_compare_equal_and_hash_alike() -> None:
    a = Dataset("D1", "S7 update", source="D0", copied=("X",), wiring=_wiring())
    b = Dataset("D1", "S7 update", source="D0", copied=("X",), wiring=_wiring())
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != dataclasses.replace(a, copied=("W",))
    f = Factor("f0", "Y", ("X",), "D0", 0, "S6")
    assert f != dataclasses.replace(f, inputs=("W",))
    assert f == Factor("f0", "Y", ("X",), "D0", 0, "S6")
