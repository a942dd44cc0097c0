"""EncodedLayout: each variable's block of columns in order plus a zero column, encoding all at once or by
names into the same columns (computed here by hand), decoding that inverts encoding for every kind."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from lightning_causal.variables import EncodedLayout, VariableSpec

SPECS = {
    "v": VariableSpec("v", "continuous", dim=2, mean=(1.0, -2.0), std=(2.0, 0.5)),
    "img": VariableSpec("img", "image", channels=1, height=2, width=2),
    "c": VariableSpec("c", "categorical", classes=3),
    "b": VariableSpec("b", "binary"),
    "f": VariableSpec("f", "image", channels=1, height=1, width=2, dtype="float"),
    "s": VariableSpec("s", "continuous"),
}
ORDER = ["v", "img", "c", "b", "f", "s"]
# the blocks by hand: v 0-1, img 2-5, c 6-8, b 9, f 10-11, s 12; the zero column is 13
BLOCKS = {"v": (0, 2), "img": (2, 6), "c": (6, 9), "b": (9, 10), "f": (10, 12), "s": (12, 13)}


def _values(n: int = 8, seed: int = 0) -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "v": torch.randn(n, 2, generator=g) * 3,
        "img": torch.randint(0, 256, (n, 1, 2, 2), generator=g, dtype=torch.uint8),
        "c": torch.randint(0, 3, (n,), generator=g),
        "b": torch.randint(0, 2, (n,), generator=g),
        "f": torch.rand(n, 1, 1, 2, generator=g),
        "s": torch.randn(n, 1, generator=g),
    }


def _by_hand(values: dict[str, Tensor]) -> dict[str, Tensor]:
    """Each variable's encoded block, from the documented codecs."""
    n = len(values["v"])
    return {
        "v": (values["v"] - torch.tensor([1.0, -2.0])) / torch.tensor([2.0, 0.5]),
        "img": values["img"].float().reshape(n, 4) / 255 * 2 - 1,
        "c": torch.eye(3)[values["c"]],
        "b": values["b"].float().unsqueeze(1) * 2 - 1,
        "f": values["f"].reshape(n, 2) * 2 - 1,
        "s": values["s"],
    }


@pytest.fixture
def layout() -> EncodedLayout:
    return EncodedLayout(SPECS, ORDER)


def test_blocks_sit_side_by_side_in_order_with_the_zero_column_last(layout: EncodedLayout) -> None:
    assert layout.order == tuple(ORDER)
    assert layout.slices == BLOCKS
    assert layout.width == 13 and layout.pad == 13


def test_columns_follow_the_names_in_the_order_asked(layout: EncodedLayout) -> None:
    assert layout.columns(["s", "v"]) == [12, 0, 1]
    assert layout.columns(["c"]) == [6, 7, 8]
    assert layout.columns([]) == []
    assert layout.columns(ORDER) == list(range(13))


def test_encoding_everything_gives_the_codecs_blocks_and_a_zero_column(layout: EncodedLayout) -> None:
    values = _values()
    encoded = layout.encode(values)
    assert encoded.shape == (8, 14) and encoded.dtype == torch.float32
    for name, block in _by_hand(values).items():
        a, b = BLOCKS[name]
        torch.testing.assert_close(encoded[:, a:b], block, msg=name)
    assert torch.equal(encoded[:, 13], torch.zeros(8))


def test_encoding_by_names_gives_the_same_columns_as_encoding_all(layout: EncodedLayout) -> None:
    values = _values()
    whole = layout.encode(values)
    by_names = layout.encode(values, ORDER)
    torch.testing.assert_close(by_names, whole)
    # built up level by level in one matrix, as the samplers do
    out = torch.zeros(8, 14)
    for group in (["v"], ["img", "c"], ["b", "f", "s"]):
        returned = layout.encode(values, group, out)
        assert returned is out
    torch.testing.assert_close(out, whole)


def test_encoding_some_names_leaves_the_other_columns_alone(layout: EncodedLayout) -> None:
    values = _values()
    fresh = layout.encode({"c": values["c"], "s": values["s"]}, ["c", "s"])
    assert fresh.shape == (8, 14)
    hand = _by_hand(values)
    torch.testing.assert_close(fresh[:, 6:9], hand["c"])
    torch.testing.assert_close(fresh[:, 12:13], hand["s"])
    assert torch.equal(fresh[:, :6], torch.zeros(8, 6)) and torch.equal(fresh[:, 9:12], torch.zeros(8, 3))
    # rewriting one variable in place leaves the rest of an existing encoding as it was
    whole = layout.encode(values)
    before = whole.clone()
    moved = {"b": 1 - values["b"]}
    layout.encode(moved, ["b"], whole)
    assert torch.equal(whole[:, 9], -before[:, 9])
    assert torch.equal(whole[:, :9], before[:, :9]) and torch.equal(whole[:, 10:], before[:, 10:])


def test_decoding_inverts_encoding_for_every_kind(layout: EncodedLayout) -> None:
    values = _values()
    encoded = layout.encode(values)
    for name in ORDER:
        a, b = BLOCKS[name]
        back = layout.decode(name, encoded[:, a:b])
        expected = values[name]
        assert back.dtype == expected.dtype, name
        if expected.is_floating_point():
            torch.testing.assert_close(back, expected, msg=name)
        else:
            assert torch.equal(back, expected), name


def test_decoding_ignores_columns_past_the_variables_block(layout: EncodedLayout) -> None:
    values = _values()
    encoded = layout.encode(values)
    torch.testing.assert_close(layout.decode("v", encoded[:, 0:]), values["v"])
    assert torch.equal(layout.decode("c", encoded[:, 6:]), values["c"])


def test_decoding_model_outputs_gives_the_nearest_value_of_each_kind(layout: EncodedLayout) -> None:
    # category by argmax, bit by sign, pixels clamped to their range (and rounded for uint8)
    assert layout.decode("c", torch.tensor([[0.1, 0.7, -0.3], [2.0, 0.0, 0.0]])).tolist() == [1, 0]
    assert layout.decode("b", torch.tensor([[0.2], [-0.01]])).tolist() == [1, 0]
    pixels = layout.decode("img", torch.tensor([[-3.0, 1.5, 0.0, 0.5]]))
    assert pixels.dtype == torch.uint8 and pixels.flatten().tolist() == [0, 255, 128, 191]
    assert layout.decode("f", torch.tensor([[-2.0, 0.5]])).flatten().tolist() == [0.0, 0.75]


def test_gather_picks_index_rows_as_a_node_axis(layout: EncodedLayout) -> None:
    encoded = layout.encode(_values())
    index = torch.tensor([[12, 0, 13], [9, 13, 13]])
    gathered = EncodedLayout.gather(encoded, index)
    assert gathered.shape == (2, 8, 3)
    assert torch.equal(gathered[0], encoded[:, [12, 0, 13]])
    assert torch.equal(gathered[1, :, 1:], torch.zeros(8, 2))  # the zero column pads


def test_the_statistics_are_buffers_that_move_with_the_layout(layout: EncodedLayout) -> None:
    assert layout.shift[:2].tolist() == [1.0, -2.0] and layout.scale[:2].tolist() == [2.0, 0.5]
    assert layout.shift[2:6].tolist() == [0.5] * 4 and layout.scale[2:6].tolist() == [0.5] * 4
    assert set(dict(layout.named_buffers())) >= {"shift", "scale"}
    assert set(layout.state_dict()) == {"shift", "scale"}  # the padded copies are not saved
    doubled = layout.to(torch.float64)
    assert doubled.shift.dtype == torch.float64


def test_a_layout_over_some_of_the_variables_uses_only_those(layout: EncodedLayout) -> None:
    small = EncodedLayout(SPECS, ["s", "c"])
    assert small.slices == {"s": (0, 1), "c": (1, 4)} and small.pad == 4
    values = _values()
    encoded = small.encode(values)  # extra variables in the values are ignored
    hand = _by_hand(values)
    torch.testing.assert_close(encoded, torch.cat([hand["s"], hand["c"], torch.zeros(8, 1)], 1))
