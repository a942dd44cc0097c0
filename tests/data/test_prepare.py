"""``lightning-causal prepare``: sources into shards, the manifest, resuming after a failure, skipped rows, the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
import webdataset as wds
from torch import Tensor

from lightning_causal.data.prepare import SETTINGS, TensorSource, plan_shards, prepare
from lightning_causal.data.shards import file_sha256, read_manifest, read_shards
from lightning_causal.errors import ConfigError
from lightning_causal.variables.spec import VariableSpec


def test_plan_cuts_every_split_and_runs_keys_across_them() -> None:
    tasks = plan_shards({"train": 5, "val": 3}, 2)
    assert [(t.split, t.start, t.stop, t.key) for t in tasks] == [
        ("train", 0, 2, 0),
        ("train", 2, 4, 2),
        ("train", 4, 5, 4),
        ("val", 0, 2, 5),
        ("val", 2, 3, 7),
    ]
    assert [t.file for t in tasks][:1] == ["train-000000.tar"] and tasks[3].file == "val-000000.tar"


class _Failing(TensorSource):
    """A source whose reading fails at one shard (a crash half-way through a conversion)."""

    fail_at: int | None = None

    def columns(self, split: str, start: int, stop: int) -> tuple[dict[str, Tensor], list[int], list[str]]:
        if split == "train" and start == self.fail_at:
            raise RuntimeError("crash")
        return super().columns(split, start, stop)


def _source(cls: type[TensorSource] = TensorSource, n: int = 50) -> Any:
    g = torch.Generator().manual_seed(0)
    rows = {"a": torch.randn(n, 2, generator=g), "b": torch.randint(0, 3, (n,), generator=g)}
    specs = {"a": VariableSpec("a", "continuous", dim=2), "b": VariableSpec("b", "categorical", classes=3)}
    val = {k: v[:7] for k, v in rows.items()}
    return cls({"train": rows, "val": val}, specs, {"source": "test", "n": n})


def test_a_rerun_after_a_crash_keeps_the_finished_shards_and_writes_the_rest(tmp_path: Path) -> None:
    crashing = _source(_Failing)
    crashing.fail_at = 30
    with pytest.raises(RuntimeError, match="crash"):
        prepare(crashing, tmp_path / "out", 10, progress=False)
    out = tmp_path / "out"
    assert read_manifest(out) is None  # not finished: no manifest
    done = sorted(p.name for p in out.glob("train-*.tar"))
    assert done == ["train-000000.tar", "train-000001.tar", "train-000002.tar"]
    stamps = {name: (out / name).stat().st_mtime_ns for name in done}
    manifest = prepare(_source(), out, 10, progress=False)
    assert {name: (out / name).stat().st_mtime_ns for name in done} == stamps  # not written again
    clean = prepare(_source(), tmp_path / "clean", 10, progress=False)
    assert [e["sha256"] for e in manifest["shards"]] == [e["sha256"] for e in clean["shards"]]
    assert manifest["rows"] == 57


def test_a_damaged_shard_of_an_unfinished_conversion_is_written_again(tmp_path: Path) -> None:
    crashing = _source(_Failing)
    crashing.fail_at = 20
    with pytest.raises(RuntimeError):
        prepare(crashing, tmp_path, 10, progress=False)
    (tmp_path / "train-000001.tar").write_bytes(b"garbage")  # its record's checksum no longer matches
    manifest = prepare(_source(), tmp_path, 10, progress=False)
    back = read_shards(tmp_path, "train")
    torch.testing.assert_close(back["a"], _source().splits["train"]["a"], rtol=0, atol=0)
    assert manifest["shards"][1]["sha256"] == file_sha256(tmp_path / "train-000001.tar")


def test_other_settings_into_the_same_folder_are_refused(tmp_path: Path) -> None:
    prepare(_source(), tmp_path, 10, progress=False)
    assert prepare(_source(), tmp_path, 10, progress=False)["rows"] == 57  # the same: already done
    with pytest.raises(ConfigError, match=r"other settings.*shard_rows"):
        prepare(_source(), tmp_path, 20, progress=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x")
    with pytest.raises(ConfigError, match="not empty"):
        prepare(_source(), tmp_path / "other", 10, progress=False)
    assert json.loads((tmp_path / SETTINGS).read_text())["shard_rows"] == 10


class _Unreadable(TensorSource):
    """Rows 3 and 12 of the training split cannot be read (a corrupt image in a real source)."""

    def columns(self, split: str, start: int, stop: int) -> tuple[dict[str, Tensor], list[int], list[str]]:
        rows, kept, _ = super().columns(split, start, stop)
        bad = [i for i in kept if split == "train" and i in (3, 12)]
        keep = [k for k, i in enumerate(kept) if i not in bad]
        return {v: t[keep] for v, t in rows.items()}, [kept[k] for k in keep], [f"row {i} is corrupt" for i in bad]


def test_unreadable_rows_are_skipped_counted_and_listed(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="skipped row 3: row 3 is corrupt"):
        manifest = prepare(_source(_Unreadable), tmp_path, 10, progress=False)
    assert manifest["skipped_rows"] == 2 and [s["key"] for s in manifest["skipped"]] == [3, 12]
    assert manifest["splits"]["train"] == 48
    keys = [s["__key__"] for s in wds.WebDataset(str(tmp_path / "train-000000.tar"), shardshuffle=False)]
    assert "000000003" not in keys and len(keys) == 9
    torch.testing.assert_close(read_shards(tmp_path, "val")["a"], _source().splits["val"]["a"], rtol=0, atol=0)


def test_workers_write_the_same_shards_as_one_process(tmp_path: Path) -> None:
    one = prepare(_source(n=80), tmp_path / "one", 10, workers=0, progress=False)
    two = prepare(_source(n=80), tmp_path / "two", 10, workers=2, progress=False)
    assert [e["sha256"] for e in one["shards"]] == [e["sha256"] for e in two["shards"]]
