"""``lightning-causal prepare``: convert a data set into webdataset shards once, then stream it in training.

Examples::

    lightning-causal prepare celeba --root ~/data/celeba --out shards/celeba64 --size 64 --attributes Male Young
    lightning-causal prepare table --root data.csv --graph graph.yaml --out shards/mytable
    lightning-causal prepare napkin-digits --rows 10000 --size 16 --out shards/napkin16
    lightning-causal prepare frontdoor --rows 100000 --seed 3 --out shards/frontdoor

See :mod:`lightning_causal.data.prepare` (the format, resuming, skipped rows) and
:mod:`lightning_causal.datamodules.sources` (the sources).
"""

from __future__ import annotations

import argparse

__all__ = ["add_prepare_parser", "run_prepare"]


def add_prepare_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``lightning-causal prepare``."""
    p = sub.add_parser(
        "prepare",
        help="convert a data set (a table, CelebA, the napkin digits, a structural model) into webdataset shards",
        description=(
            "Convert a data set into webdataset shards with a manifest (rows, variables, statistics, checksums, "
            "the split) that training streams. Resumable: a rerun after a crash skips the finished shards."
        ),
    )
    p.add_argument("source", help="table, celeba, napkin-digits, or a built-in structural model (e.g. frontdoor)")
    p.add_argument("--out", required=True, help="the dataset folder to write")
    p.add_argument(
        "--root", default=None, help="table: the CSV/Parquet file; celeba: the folder of the official layout"
    )
    p.add_argument("--graph", default=None, help="table: its graph file (YAML/JSON, with the variables section)")
    p.add_argument("--size", type=int, default=None, help="image side in pixels (celeba: 64, napkin-digits: 16)")
    p.add_argument("--crop", type=int, default=178, help="celeba: the central square cropped before resizing")
    p.add_argument("--attributes", nargs="+", default=None, help="celeba: the attributes to keep (default: all 40)")
    p.add_argument("--rows", type=int, default=10_000, help="generated sources: training rows")
    p.add_argument("--val-rows", type=int, default=None, help="generated sources: validation rows (default rows/10)")
    p.add_argument("--test-rows", type=int, default=0, help="DCM-suite models: test rows")
    p.add_argument("--seed", type=int, default=0, help="generated sources: the seed; table: the split's seed")
    p.add_argument("--codec", choices=("png", "jpg", "npy"), default=None, help="image codec (celeba: jpg, else png)")
    p.add_argument("--shard-rows", type=int, default=10_000, help="rows per shard")
    p.add_argument("--workers", type=int, default=None, help="processes writing shards (default: the CPUs, at most 8)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=run_prepare)


def run_prepare(args: argparse.Namespace) -> int:
    """Convert, then print one line: rows per split, shards, skipped rows, the folder."""
    from lightning_causal.data.prepare import cpu_workers, prepare
    from lightning_causal.datamodules.sources import make_source

    source = make_source(
        args.source,
        root=args.root,
        graph=args.graph,
        rows=args.rows,
        val_rows=args.val_rows,
        test_rows=args.test_rows,
        seed=args.seed,
        size=args.size,
        crop=args.crop,
        attributes=args.attributes,
        codec=args.codec,
    )
    workers = cpu_workers() if args.workers is None else args.workers
    manifest = prepare(source, args.out, args.shard_rows, workers, progress=not args.no_progress)
    splits = ", ".join(f"{split} {rows}" for split, rows in manifest.get("splits", {}).items())
    skipped = manifest.get("skipped_rows", 0)
    note = f"; {skipped} rows skipped (listed in the manifest)" if skipped else ""
    print(f"Prepared {args.out}: {manifest['rows']} rows ({splits}) in {len(manifest['shards'])} shards{note}")
    return 0
