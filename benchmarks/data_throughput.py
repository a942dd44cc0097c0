"""Decoded samples per second per worker: streamed shards against a folder of JPEGs, at 64x64 and 128x128.

Writes a CelebA-like folder (``--images`` aligned 178x218 JPEGs of smooth random colour fields, as
photographs compress, and the official annotation files), converts it with ``lightning-causal
prepare`` at each size, then times one process (one loader worker's work) reading every sample
once, decoded to uint8 ``(3, S, S)`` tensors:

* ``jpeg folder``: the plain loader over the original files: open, centre crop 178, resize to S
  (:class:`~lightning_causal.data.celeba.CelebAFolder`, what a map-style dataset does per item);
* ``shards, raw webdataset``: ``wds.WebDataset(shard).decode("rgb8")`` over the prepared shards;
* ``shards, streaming module``: :class:`~lightning_causal.data.streaming.ShardStream` (split,
  shuffle buffer, decode by type, batches of 64), the module training reads with.

    python benchmarks/data_throughput.py --images 4000 --out benchmarks/results/data_throughput.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lightning_causal.data.celeba import ATTRIBUTES, CelebAFolder  # noqa: E402
from lightning_causal.data.prepare import prepare  # noqa: E402
from lightning_causal.data.streaming import ShardStream  # noqa: E402
from lightning_causal.datamodules.sources import make_source  # noqa: E402


def write_faces(root: Path, n: int, seed: int = 0) -> Path:
    """``n`` aligned-size JPEGs of smooth colour fields and the official annotation files (all train)."""
    g = np.random.default_rng(seed)
    folder = root / "img_align_celeba"
    folder.mkdir(parents=True)
    for i in range(n):
        small = g.integers(0, 256, size=(14, 12, 3), dtype=np.uint8)
        image = Image.fromarray(small).resize((178, 218), Image.Resampling.BICUBIC)
        image.save(folder / f"{i + 1:06d}.jpg", quality=90)
    names = [f"{i + 1:06d}.jpg" for i in range(n)]
    attr = np.where(g.random((n, len(ATTRIBUTES))) < 0.5, -1, 1)
    lines = [str(n), " ".join(ATTRIBUTES) + " "]
    lines += [name + "".join("  1" if v > 0 else " -1" for v in row) for name, row in zip(names, attr, strict=True)]
    (root / "list_attr_celeba.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    (root / "list_eval_partition.txt").write_bytes(("\r\n".join(f"{m} 0" for m in names) + "\r\n").encode())
    return root


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def time_folder(root: Path, size: int) -> float:
    folder = CelebAFolder(root, attributes=["Male"], split="all", size=size)
    start = time.perf_counter()
    for i in range(len(folder)):
        folder.image(i)
    return _rate(len(folder), time.perf_counter() - start)


def time_raw(shards: Path) -> float:
    import webdataset as wds

    urls = sorted(str(p) for p in shards.glob("train-*.tar"))
    count = 0
    start = time.perf_counter()
    for sample in wds.WebDataset(urls, shardshuffle=False).decode("rgb8"):
        torch.from_numpy(np.ascontiguousarray(sample["image.jpg"].transpose(2, 0, 1)))
        count += 1
    return _rate(count, time.perf_counter() - start)


def time_stream(shards: Path, rows: int) -> float:
    stream = ShardStream(shards, "train", 64, seed=0, shuffle_buffer=1000, columns=["image", "Male", "Young"])
    count = 0
    start = time.perf_counter()
    for batch in stream:
        count += len(batch["image"])
    return _rate(count, time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=4000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--repeats", type=int, default=3, help="timings per reader; the best is kept")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    results: dict[str, Any] = {
        "images": args.images,
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, torch {torch.__version__}",
        "sizes": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = write_faces(Path(tmp) / "celeba", args.images)
        for size in args.sizes:
            shards = Path(tmp) / f"shards{size}"
            source = make_source("celeba", root=root, size=size, attributes=["Male", "Young"])
            start = time.perf_counter()
            prepare(source, shards, 1000, workers=1, progress=False)
            prepare_rate = _rate(args.images, time.perf_counter() - start)
            row = {
                "jpeg_folder": max(time_folder(root, size) for _ in range(args.repeats)),
                "shards_raw_webdataset": max(time_raw(shards) for _ in range(args.repeats)),
                "shards_streaming_module": max(time_stream(shards, args.images) for _ in range(args.repeats)),
                "prepare_one_worker": prepare_rate,
                "shard_bytes_per_sample": sum(p.stat().st_size for p in shards.glob("*.tar")) / args.images,
            }
            row["streaming_overhead"] = row["shards_raw_webdataset"] / row["shards_streaming_module"]
            results["sizes"][str(size)] = row
            folder, raw, module = row["jpeg_folder"], row["shards_raw_webdataset"], row["shards_streaming_module"]
            print(
                f"{size}x{size}: folder of JPEGs {folder:.0f}/s, shards raw {raw:.0f}/s, streaming module "
                f"{module:.0f}/s (raw / module {raw / module:.2f}), prepare {prepare_rate:.0f}/s, "
                f"{row['shard_bytes_per_sample']:.0f} bytes a sample",
                flush=True,
            )
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
