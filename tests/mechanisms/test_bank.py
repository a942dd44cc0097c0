"""MechanismBank, what every bank shares: its entries, their positions, targets and inputs, index tensors
and positions, and ``padded_index``, whose padding is the layout's zero column."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
import torch
from torch import Tensor

from lightning_causal.mechanisms import ClassifierBank, DiffusionBank, MechanismBank, MechanismConfig
from lightning_causal.mechanisms.bank import padded_index
from lightning_causal.variables import EncodedLayout, VariableSpec

SPECS = {
    "u": VariableSpec("u", "continuous", dim=2, mean=(1.0, -1.0), std=(2.0, 0.5)),
    "c": VariableSpec("c", "categorical", classes=3),
    "b": VariableSpec("b", "binary"),
    "v": VariableSpec("v", "continuous", dim=3),
    "y": VariableSpec("y", "continuous"),
}
ORDER = ["u", "c", "b", "v", "y"]
# columns by hand: u 0-1, c 2-4, b 5, v 6-8, y 9; the zero column is 10


def _values(n: int = 6) -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "u": torch.randn(n, 2, generator=g),
        "c": torch.randint(0, 3, (n,), generator=g),
        "b": torch.randint(0, 2, (n,), generator=g),
        "v": torch.randn(n, 3, generator=g),
        "y": torch.randn(n, 1, generator=g),
    }


@pytest.fixture
def layout() -> EncodedLayout:
    return EncodedLayout(SPECS, ORDER)


@pytest.fixture
def config(tiny_mechanisms: dict[str, Any]) -> MechanismConfig:
    return MechanismConfig.of(tiny_mechanisms)


def test_padded_index_pads_every_row_to_the_longest_with_the_pad() -> None:
    out = padded_index([[3, 1], [], [0, 4, 2]], pad=9)
    assert out.dtype == torch.long
    assert out.tolist() == [[3, 1, 9], [9, 9, 9], [0, 4, 2]]


def test_padded_index_of_no_rows_or_only_empty_rows_has_zero_width() -> None:
    assert padded_index([], pad=5).shape == (0, 0)
    assert padded_index([[], []], pad=5).shape == (2, 0)


def test_padding_with_the_layouts_pad_gathers_zeros(layout: EncodedLayout) -> None:
    assert layout.pad == layout.width == 10
    values = _values()
    encoded = layout.encode(values)
    index = padded_index([layout.columns(["b"]), layout.columns(["u", "y"]), []], layout.pad)
    gathered = EncodedLayout.gather(encoded, index)
    assert gathered.shape == (3, 6, 3)
    b = values["b"].float() * 2 - 1  # binary codes as -1 / +1, by hand
    u = (values["u"] - torch.tensor([1.0, -1.0])) / torch.tensor([2.0, 0.5])
    zeros = torch.zeros(6)
    torch.testing.assert_close(gathered[0], torch.stack([b, zeros, zeros], 1))
    torch.testing.assert_close(gathered[1], torch.cat([u, values["y"]], 1))
    assert torch.equal(gathered[2], torch.zeros(6, 3))


def test_entries_positions_targets_and_inputs_follow_the_arguments(
    layout: EncodedLayout, config: MechanismConfig
) -> None:
    bank = ClassifierBank(["c", "b"], {"c": ["u"], "b": ("u", "c"), "v": ["b"]}, layout, SPECS, config)
    assert bank.entries == ("c", "b")
    assert bank.position == {"c": 0, "b": 1}
    assert bank.targets == {"c": "c", "b": "b"}  # by default an entry models its own variable
    assert bank.inputs == {"c": ("u",), "b": ("u", "c")}  # only the bank's entries, as tuples


def test_targets_map_entries_to_variables_and_default_to_the_entry(
    layout: EncodedLayout, config: MechanismConfig
) -> None:
    # two factors of one variable with different inputs, as an ID-GEN dataset has them
    bank = DiffusionBank(
        ["f1", "f2", "y"], {"f1": ["u"], "f2": ["u", "c"], "y": []}, layout, SPECS, config, {"f1": "v", "f2": "v"}
    )
    assert bank.targets == {"f1": "v", "f2": "v", "y": "y"}
    # each entry reads its target's columns and its inputs' columns, padded with the zero column
    assert bank.target.tolist() == [[6, 7, 8], [6, 7, 8], [9, 10, 10]]
    assert bank.cond.tolist() == [[0, 1, 10, 10, 10], [0, 1, 2, 3, 4], [10, 10, 10, 10, 10]]


def test_index_gives_positions_in_the_order_asked(layout: EncodedLayout, config: MechanismConfig) -> None:
    bank = ClassifierBank(["c", "b"], {"c": ["u"], "b": ["u"]}, layout, SPECS, config)
    index = bank.index(["b", "c", "b"], torch.device("cpu"))
    assert index.dtype == torch.long and index.tolist() == [1, 0, 1]
    with pytest.raises(KeyError):
        bank.index(["u"], torch.device("cpu"))


def test_positions_lists_all_positions_for_none_and_the_given_ones_otherwise(
    layout: EncodedLayout, config: MechanismConfig
) -> None:
    bank = DiffusionBank(["v", "y", "u"], {"v": [], "y": ["v"], "u": ["y"]}, layout, SPECS, config)
    assert bank.positions(None) == [0, 1, 2]
    assert bank.positions(torch.tensor([2, 0])) == [2, 0]
    assert bank.positions(torch.tensor([], dtype=torch.long)) == []


def test_a_bank_is_a_module_whose_index_tables_move_with_it(layout: EncodedLayout, config: MechanismConfig) -> None:
    bank = DiffusionBank(["v"], {"v": ["u"]}, layout, SPECS, config)
    assert isinstance(bank, MechanismBank) and isinstance(bank, torch.nn.Module)
    buffers = dict(bank.named_buffers())
    assert {"target", "cond", "mask"} <= set(buffers)
    doubled = bank.to(torch.float64)
    assert doubled.target.dtype == torch.long and doubled.mask.dtype == torch.float64


def test_a_bank_that_lacks_one_of_the_three_calls_cannot_be_built(
    layout: EncodedLayout, config: MechanismConfig
) -> None:
    class NoAbduction(MechanismBank):
        """Implements two of the three calls."""

        def batch_loss(
            self,
            encoded: Tensor,
            values: Mapping[str, Tensor],
            rng: torch.Generator | None,
            index: Tensor | None = None,
        ) -> Tensor:
            return encoded.new_zeros(len(self.positions(index)))

        def generate(self, encoded: Tensor, names: Sequence[str], *args: Any, **kwargs: Any) -> dict[str, Tensor]:
            return {}

    with pytest.raises(TypeError):
        NoAbduction(["y"], {"y": []}, layout, SPECS, config)
