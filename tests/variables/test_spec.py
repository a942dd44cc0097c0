"""The ``image`` variable type: its spec in configs, its codec to [-1, 1], and its round trip through shards."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import webdataset as wds

from lightning_causal.data.shards import read_shards, write_manifest, write_shard
from lightning_causal.errors import QueryError
from lightning_causal.variables.codecs import ImageCodec, codec_for
from lightning_causal.variables.layout import EncodedLayout
from lightning_causal.variables.spec import VariableSpec, parse_variables, variables_to_dict


def _spec(name: str = "X", **options: object) -> VariableSpec:
    return VariableSpec.from_config(name, {"type": "image", "channels": 3, "height": 4, "width": 6, **options})


def test_an_image_spec_reads_from_config_and_round_trips_through_its_dict() -> None:
    spec = _spec()
    assert spec.is_image and not spec.is_discrete
    assert spec.image_shape == (3, 4, 6) and spec.encoded_dim == 72 and spec.dtype == "uint8"
    back = parse_variables(variables_to_dict({"X": spec}), ["X"])["X"]
    assert back == spec
    assert _spec(dtype="float").dtype == "float"


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"channels": None}, "needs channels"),
        ({"height": 0}, "height is 0"),
        ({"width": 2.5}, "width is 2.5"),
        ({"dtype": "int16"}, "image dtype 'int16'"),
        ({"classes": 3}, "unknown option 'classes'"),
        ({"height": 4096}, "beyond the limits"),
    ],
)
def test_bad_image_specs_are_one_line_errors(options: dict[str, object], fragment: str) -> None:
    with pytest.raises(QueryError, match=fragment) as err:
        _spec(**options)
    assert "\n" not in str(err.value)


def test_image_options_on_another_kind_are_refused() -> None:
    with pytest.raises(QueryError, match="unknown option 'channels'"):
        VariableSpec.from_config("Z", {"type": "continuous", "channels": 3})


@pytest.mark.parametrize("dtype", ["uint8", "float"])
def test_the_codec_maps_pixels_to_minus_one_one_and_back(dtype: str) -> None:
    spec = _spec(dtype=dtype)
    codec = codec_for(spec)
    assert isinstance(codec, ImageCodec)
    g = torch.Generator().manual_seed(0)
    raw = torch.randint(0, 256, (5, 3, 4, 6), generator=g, dtype=torch.uint8)
    value = raw if dtype == "uint8" else raw.float() / 255
    encoded = codec.encode(value)
    assert encoded.shape == (5, 72)
    assert float(encoded.min()) >= -1 and float(encoded.max()) <= 1
    assert torch.allclose(encoded, raw.float().reshape(5, -1) / 127.5 - 1, atol=1e-6)
    decoded = codec.decode(encoded)
    assert decoded.dtype == (torch.uint8 if dtype == "uint8" else torch.float32)
    assert torch.allclose(decoded.float(), value.float(), atol=1e-6)
    # out-of-range model outputs are clamped to the pixel range
    assert int(codec.decode(torch.full((1, 72), 3.0)).float().max()) == (255 if dtype == "uint8" else 1)
    with pytest.raises(QueryError, match=r"expected \(3, 4, 6\)"):
        codec.encode(torch.zeros(2, 3, 6, 4, dtype=torch.uint8))


def test_images_sit_beside_other_kinds_in_one_encoded_layout() -> None:
    specs = {"Z": VariableSpec("Z", "categorical", classes=3), "X": _spec()}
    layout = EncodedLayout(specs, ["Z", "X"])
    x = torch.randint(0, 256, (2, 3, 4, 6), dtype=torch.uint8)
    encoded = layout.encode({"Z": torch.tensor([0, 2]), "X": x})
    assert encoded.shape == (2, 3 + 72 + 1)
    assert torch.equal(layout.decode("X", encoded[:, 3:75]), x)


def test_image_columns_round_trip_through_webdataset_shards(tmp_path: Path) -> None:
    specs = {"X": _spec(), "W": VariableSpec("W", "categorical", classes=4), "F": _spec("F", dtype="float")}
    x = torch.randint(0, 256, (7, 3, 4, 6), dtype=torch.uint8)
    columns = {"X": x, "W": torch.arange(7) % 4, "F": x.float() / 255}
    rows = write_shard(tmp_path / "shard-000000.tar", columns, specs, 0)
    write_manifest(tmp_path, specs, [("shard-000000.tar", rows)])
    back = read_shards(tmp_path)
    assert back["X"].dtype == torch.uint8 and torch.equal(back["X"], x)
    assert back["F"].dtype == torch.float32 and torch.equal(back["F"], columns["F"])
    sample = next(iter(wds.WebDataset(str(tmp_path / "shard-000000.tar"), shardshuffle=False).decode()))
    assert sample["x.npy"].shape == (3, 4, 6) and sample["x.npy"].dtype == "uint8"  # webdataset lowercases keys
