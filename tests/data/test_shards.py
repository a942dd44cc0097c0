"""Datasets as webdataset shards: a round trip, webdataset's own reader, and damaged folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import webdataset as wds

from lightning_causal.data.shards import (
    read_manifest,
    read_shards,
    shard_name,
    write_manifest,
    write_shard,
)
from lightning_causal.errors import DataError
from lightning_causal.variables.spec import VariableSpec

VARIABLES = {
    "x": VariableSpec("x", "continuous", dim=3),
    "m": VariableSpec("m", "categorical", classes=5),
    "b": VariableSpec("b", "binary"),
}


def _columns(n: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "x": torch.randn(n, 3, generator=g),
        "m": torch.randint(0, 5, (n,), generator=g),
        "b": torch.randint(0, 2, (n,), generator=g),
    }


def _write(folder: Path, parts: list[dict[str, torch.Tensor]]) -> None:
    shards = []
    first = 0
    for k, part in enumerate(parts):
        rows = write_shard(folder / shard_name(k), part, VARIABLES, first)
        shards.append((shard_name(k), rows))
        first += rows
    write_manifest(folder, VARIABLES, shards, dataset="D1")


def test_round_trip_keeps_rows_in_order(tmp_path: Path) -> None:
    parts = [_columns(7, 0), _columns(5, 1)]
    _write(tmp_path, parts)
    back = read_shards(tmp_path)
    for name in VARIABLES:
        want = torch.cat([p[name] for p in parts])
        assert back[name].dtype == want.dtype
        torch.testing.assert_close(back[name], want, rtol=0, atol=0)
    manifest = read_manifest(tmp_path)
    assert manifest is not None and manifest["rows"] == 12 and manifest["dataset"] == "D1"
    assert [s["rows"] for s in manifest["shards"]] == [7, 5]


def test_webdataset_reads_the_shards_as_samples(tmp_path: Path) -> None:
    parts = [_columns(4, 2), _columns(3, 3)]
    _write(tmp_path, parts)
    urls = [str(tmp_path / shard_name(k)) for k in range(2)]
    samples = list(wds.WebDataset(urls, shardshuffle=False, empty_check=False).decode())
    assert [s["__key__"] for s in samples] == [f"{i:09d}" for i in range(7)]
    x = np.stack([s["x.npy"] for s in samples])
    np.testing.assert_array_equal(x, torch.cat([p["x"] for p in parts]).numpy())
    assert [int(s["m.cls"]) for s in samples] == torch.cat([p["m"] for p in parts]).tolist()


def test_a_folder_without_manifest_is_unfinished(tmp_path: Path) -> None:
    write_shard(tmp_path / shard_name(0), _columns(3, 0), VARIABLES, 0)
    assert read_manifest(tmp_path) is None
    with pytest.raises(DataError, match="no finished dataset"):
        read_shards(tmp_path)


def test_a_missing_or_short_shard_is_named(tmp_path: Path) -> None:
    _write(tmp_path, [_columns(4, 0), _columns(4, 1)])
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["shards"][0]["rows"] = 5
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=r"shard-000000\.tar.*holds 4 rows, the manifest says 5"):
        read_shards(tmp_path)
    (tmp_path / shard_name(1)).unlink()
    manifest["shards"][0]["rows"] = 4
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=r"shard-000001\.tar.*missing"):
        read_shards(tmp_path)


def test_a_foreign_manifest_is_refused(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "something/else"}))
    with pytest.raises(DataError, match="is not a lightning-causal/shards/1 manifest"):
        read_manifest(tmp_path)
