"""The sources ``prepare`` converts: structural models, the napkin digits (PNG and JPEG), a table as fit reads it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import webdataset as wds

from lightning_causal.data.prepare import prepare
from lightning_causal.data.shards import file_sha256, read_shards, shard_splits
from lightning_causal.datamodules import LatentSCMDataModule, NapkinDigitsDataModule
from lightning_causal.datamodules.sources import make_source


def test_a_structural_model_round_trips_with_its_statistics_graph_and_checksums(tmp_path: Path) -> None:
    manifest = prepare(make_source("frontdoor", rows=700, val_rows=90, seed=3), tmp_path, 300, progress=False)
    dm = LatentSCMDataModule("frontdoor", n_train=700, n_val=90, seed=3)
    for split, want in (("train", dm.train_tensors), ("val", dm.val_tensors)):
        back = read_shards(tmp_path, split)
        for v in want:
            torch.testing.assert_close(back[v], want[v], rtol=0, atol=0)
    assert manifest["splits"] == {"train": 700, "val": 90} and manifest["rows"] == 790
    assert [s["rows"] for s in shard_splits(manifest)["train"]] == [300, 300, 100]
    for entry in manifest["shards"]:
        assert entry["sha256"] == file_sha256(tmp_path / entry["file"])
    for v, spec in dm.variables.items():  # the statistics of the training rows, as the data module has them
        assert manifest["columns"][v]["mean"] == pytest.approx(list(spec.mean or ()))
        assert manifest["columns"][v]["std"] == pytest.approx(list(spec.std or ()))
    assert sorted(map(tuple, manifest["graph"]["bidirected"])) == [("X", "Y")]
    assert not list(tmp_path.glob(".*.json")) and not list(tmp_path.glob("*.tmp*"))  # records removed, no leftovers


def test_images_are_stored_as_png_losslessly_and_webdataset_reads_them(tmp_path: Path) -> None:
    source = make_source("napkin-digits", rows=40, val_rows=8, seed=1, size=8)
    manifest = prepare(source, tmp_path, 16, workers=2, progress=False)
    digits = NapkinDigitsDataModule(size=8, n_train=40, n_val=8, seed=1)
    back = read_shards(tmp_path, "train")
    for v in ("W1", "X", "Y", "W2"):
        torch.testing.assert_close(back[v], digits.train_tensors[v], rtol=0, atol=0)
    assert manifest["columns"]["X"]["field"] == "png"
    first = manifest["shards"][0]["file"]
    sample = next(iter(wds.WebDataset(str(tmp_path / first), shardshuffle=False).decode("rgb8")))
    assert sample["__key__"] == "000000000" and sample["x.png"].shape == (8, 8, 3)
    np.testing.assert_array_equal(sample["x.png"].transpose(2, 0, 1), digits.train_tensors["X"][0].numpy())


def test_jpeg_keeps_images_close(tmp_path: Path) -> None:
    prepare(make_source("napkin-digits", rows=20, val_rows=4, size=16, codec="jpg"), tmp_path, 50, progress=False)
    digits = NapkinDigitsDataModule(size=16, n_train=20, n_val=4)
    back = read_shards(tmp_path, "train")["X"].float()
    error = (back - digits.train_tensors["X"].float()).abs().mean()
    assert 0 < float(error) < 6.0  # lossy, but close on a 0..255 scale


def test_a_table_is_read_as_fit_reads_it(tmp_path: Path) -> None:
    from lightning_causal.datamodules import TabularDataModule

    g = np.random.default_rng(0)
    x = g.normal(size=60)
    (tmp_path / "data.csv").write_text("x,y,c\n" + "".join(f"{a},{a * 2 + 1},{i % 3}\n" for i, a in enumerate(x)))
    (tmp_path / "graph.yaml").write_text("directed: [[x, y], [c, y]]\n")
    source = make_source("table", root=tmp_path / "data.csv", graph=tmp_path / "graph.yaml", seed=4)
    manifest = prepare(source, tmp_path / "out", 25, progress=False)
    dm = TabularDataModule(str(tmp_path / "data.csv"), str(tmp_path / "graph.yaml"), seed=4)
    torch.testing.assert_close(read_shards(tmp_path / "out", "val")["y"], dm.val_tensors["y"], rtol=0, atol=0)
    assert manifest["columns"]["c"] == {"field": "cls", "type": "categorical", "classes": 3}
    assert manifest["splits"] == {"train": 54, "val": 6}


def test_celeba_converts_in_the_official_split_with_jpegs_and_a_corrupt_image_skipped(tmp_path: Path) -> None:
    from lightning_causal.data.celeba import CelebAFolder
    from tests.data.celeba_fixture import celeba_truth, write_celeba

    root = write_celeba(tmp_path / "celeba", n=20, seed=3)
    (root / "img_align_celeba" / "000004.jpg").write_bytes(b"\xff\xd8 truncated")  # a train image
    source = make_source("celeba", root=root, size=16, attributes=["Male", "Young"])
    with pytest.warns(UserWarning, match="000004.jpg"):
        manifest = prepare(source, tmp_path / "out", 5, workers=2, progress=False)
    truth = celeba_truth(20, 3)
    assert manifest["splits"] == {"train": 11, "val": 4, "test": 4}
    assert manifest["skipped_rows"] == 1 and manifest["skipped"][0]["key"] == 3
    assert manifest["columns"]["image"] == {"field": "jpg", "type": "image", "shape": [3, 16, 16], "dtype": "uint8"}
    train = read_shards(tmp_path / "out", "train")
    keep = [i for i in range(12) if i != 3]
    from lightning_causal.data.celeba import ATTRIBUTES

    want = (truth["attr"][keep][:, [ATTRIBUTES.index("Male"), ATTRIBUTES.index("Young")]] > 0).astype(np.int64)
    np.testing.assert_array_equal(torch.stack([train["Male"], train["Young"]], 1).numpy(), want)
    folder = CelebAFolder(root, attributes=["Male", "Young"], split="train", size=16)
    error = (train["image"][0].float() - folder.image(0).float()).abs().mean()
    assert float(error) < 8.0  # JPEG at quality 95 of the reader's crop-and-resize
    val = read_shards(tmp_path / "out", "val")
    assert len(val["Male"]) == 4
