"""One codec per variable kind, and the side-by-side layout the DCM banks read."""

from __future__ import annotations

import pytest
import torch

from lightning_causal import QueryError
from lightning_causal.variables import EncodedLayout, VariableSpec, codec_for
from lightning_causal.variables.codecs import BinaryCodec, CategoricalCodec, ContinuousCodec

SPECS = {
    "v": VariableSpec("v", "continuous", dim=2, mean=(1.0, -2.0), std=(2.0, 0.5)),
    "c": VariableSpec("c", "categorical", classes=3),
    "b": VariableSpec("b", "binary"),
}


def values(n: int = 50) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "v": torch.randn(n, 2, generator=g) * 3,
        "c": torch.randint(0, 3, (n,), generator=g),
        "b": torch.randint(0, 2, (n,), generator=g),
    }


def test_each_kind_has_its_codec_and_decoding_inverts_encoding() -> None:
    data = values()
    kinds = {name: type(codec_for(spec)) for name, spec in SPECS.items()}
    assert kinds == {"v": ContinuousCodec, "c": CategoricalCodec, "b": BinaryCodec}
    for name, spec in SPECS.items():
        codec = codec_for(spec)
        encoded = codec.encode(data[name])
        assert encoded.shape == (50, spec.encoded_dim) and encoded.dtype == torch.float32
        decoded = codec.decode(encoded)
        torch.testing.assert_close(decoded, data[name].reshape(decoded.shape).to(decoded.dtype))


def test_encodings_are_the_documented_ones() -> None:
    data = values()
    torch.testing.assert_close(
        codec_for(SPECS["v"]).encode(data["v"]), (data["v"] - torch.tensor([1.0, -2.0])) / torch.tensor([2.0, 0.5])
    )
    one_hot = codec_for(SPECS["c"]).encode(data["c"])
    assert torch.equal(one_hot.argmax(1), data["c"]) and torch.equal(one_hot.sum(1), torch.ones(50))
    assert set(codec_for(SPECS["b"]).encode(data["b"]).flatten().tolist()) == {-1.0, 1.0}


def test_the_layout_is_the_codecs_side_by_side_with_a_zero_column() -> None:
    data = values()
    layout = EncodedLayout(SPECS, ["v", "c", "b"])
    encoded = layout.encode(data)
    expected = torch.cat([codec_for(SPECS[n]).encode(data[n]) for n in ["v", "c", "b"]], dim=1)
    assert layout.width == 6 and encoded.shape == (50, 7)
    torch.testing.assert_close(encoded[:, :6], expected)
    assert torch.equal(encoded[:, 6], torch.zeros(50))
    # writing a subset in place gives the same columns
    partial = layout.encode(data, ["c"], torch.zeros(50, 7))
    assert torch.equal(partial[:, 2:5], encoded[:, 2:5]) and torch.equal(partial[:, :2], torch.zeros(50, 2))
    assert layout.columns(["b", "v"]) == [5, 0, 1]
    torch.testing.assert_close(layout.decode("v", encoded[:, 0:2]), data["v"])


def test_a_kind_without_codec_is_a_clear_error() -> None:
    spec = VariableSpec("x", "continuous")
    object.__setattr__(spec, "kind", "hologram")
    with pytest.raises(QueryError, match="no codec for kind 'hologram'"):
        codec_for(spec)
