"""The data sets ``lightning-causal prepare`` converts: tables, CelebA, the napkin digits, the structural models.

:func:`make_source` builds the :class:`~lightning_causal.data.prepare.ConversionSource` of a name:

* ``table``: a CSV/Parquet file (``root``) and a graph file, read, typed and split exactly as
  ``fit`` reads them (:class:`~lightning_causal.datamodules.TabularDataModule`; image columns are
  read whole, so convert tables whose images fit in memory this way);
* ``celeba``: the official CelebA layout under ``root`` (:class:`~lightning_causal.data.celeba.CelebAFolder`):
  the chosen attributes as binary variables and the image (central ``crop`` square, resized to
  ``size``) as the variable ``image``, JPEG-encoded, in the official split (``valid`` becomes ``val``);
  the images are read by the worker processes, a row whose image is missing or corrupt is skipped
  and counted;
* ``napkin-digits``: the napkin colored digits at ``size`` (``rows`` training rows, ``val_rows``
  validation rows, ``seed``);
* any built-in structural model (``chain``, ``triangle``, ... of the DCM suite, ``frontdoor``,
  ``verma``, ... with latent confounders): ``rows`` / ``val_rows`` / ``test_rows`` draws with ``seed``.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from lightning_causal.data.prepare import ConversionSource, TensorSource
from lightning_causal.errors import ConfigError, DataError
from lightning_causal.variables.spec import VariableSpec

__all__ = ["SOURCE_NAMES", "CelebASource", "make_source"]

CELEBA_IMAGE = "image"
"""The name of CelebA's image variable."""


def _structural_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    from lightning_causal.scm.dcm_suite import SUITE
    from lightning_causal.scm.latent import LATENT_SCMS

    return SUITE, LATENT_SCMS


def source_names() -> tuple[str, ...]:
    """Every name :func:`make_source` accepts."""
    suite, latent = _structural_names()
    return ("table", "celeba", "napkin-digits", *suite, *latent)


SOURCE_NAMES = ("table", "celeba", "napkin-digits", "<a built-in structural model>")


class CelebASource(ConversionSource):
    """CelebA in its official layout: binary attributes and the cropped, resized image, in the official split."""

    def __init__(
        self, root: str | Path, attributes: Sequence[str] | None, size: int, crop: int, codec: str = "jpg"
    ) -> None:
        from lightning_causal.data.celeba import CelebAFolder

        self.root = Path(root)
        self.folders = {
            split: CelebAFolder(root, attributes=attributes, split=official, size=size, crop=crop)
            for split, official in (("train", "train"), ("val", "valid"), ("test", "test"))
        }
        first = self.folders["train"]
        self.attributes = tuple(first.attributes)
        self.size, self.crop, self.codec = size, crop, codec
        self.variables = {a: VariableSpec(a, "binary") for a in self.attributes}
        self.variables[CELEBA_IMAGE] = VariableSpec(
            CELEBA_IMAGE, "image", channels=3, height=size, width=size, dtype="uint8"
        )

    def split_sizes(self) -> dict[str, int]:
        return {split: len(folder) for split, folder in self.folders.items() if len(folder)}

    def columns(self, split: str, start: int, stop: int) -> tuple[dict[str, Tensor], list[int], list[str]]:
        folder = self.folders[split]
        kept, images, problems = [], [], []
        for i in range(start, stop):
            try:
                images.append(folder.image(i))
            except DataError as err:
                problems.append(str(err))
                continue
            kept.append(i)
        index = torch.tensor(kept, dtype=torch.long)
        columns = {a: folder.labels[index, k] for k, a in enumerate(self.attributes)}
        columns[CELEBA_IMAGE] = (
            torch.stack(images) if images else torch.zeros(0, 3, self.size, self.size, dtype=torch.uint8)
        )
        return columns, kept, problems

    def settings(self) -> dict[str, Any]:
        return {
            "source": "celeba",
            "root": str(self.root.resolve()),
            "attributes": list(self.attributes),
            "size": self.size,
            "crop": self.crop,
            "codec": self.codec,
        }

    def codecs(self) -> dict[str, str]:
        return {CELEBA_IMAGE: self.codec}


def _count(name: str, value: Any, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(f"--{name} must be an int >= {least}, got {value!r}")
    return value


def make_source(
    name: str,
    root: str | Path | None = None,
    graph: str | Path | None = None,
    rows: int = 10_000,
    val_rows: int | None = None,
    test_rows: int = 0,
    seed: int = 0,
    size: int | None = None,
    crop: int = 178,
    attributes: Sequence[str] | None = None,
    codec: str | None = None,
) -> ConversionSource:
    """The conversion source called ``name`` (see the module docstring); one-line errors for bad options."""
    suite, latent = _structural_names()
    val = max(1, rows // 10) if val_rows is None else val_rows
    key = name.lower()
    if key == "table":
        if root is None or graph is None:
            raise ConfigError("prepare table needs --root (the CSV or Parquet file) and --graph (its graph file)")
        from lightning_causal.datamodules import TabularDataModule

        dm = TabularDataModule(str(root), str(graph), seed=seed)
        splits = {"train": dm.train_tensors, "val": dm.val_tensors}
        settings = {
            "source": "table",
            "root": str(Path(root).resolve()),
            "graph": str(Path(graph).resolve()),
            "seed": seed,
        }
        return TensorSource(splits, dm.variables, settings, dm.graph, codec)
    if key == "celeba":
        if root is None:
            raise ConfigError(
                "prepare celeba needs --root: the folder that holds img_align_celeba/ and the list_*.txt files"
            )
        return CelebASource(
            root, attributes, 64 if size is None else _count("size", size, 1), _count("crop", crop, 1), codec or "jpg"
        )
    _count("rows", rows, 1)
    _count("val-rows", val, 0)
    _count("test-rows", test_rows, 0)
    if key in ("napkin-digits", "napkin_digits"):
        from lightning_causal.datamodules import NapkinDigitsDataModule

        digits = NapkinDigitsDataModule(size=16 if size is None else size, n_train=rows, n_val=val, seed=seed)
        settings = {
            "source": "napkin-digits",
            "size": digits.hparams["size"],
            "rows": rows,
            "val_rows": val,
            "seed": seed,
        }
        return TensorSource(
            {"train": digits.train_tensors, "val": digits.val_tensors}, digits.variables, settings, digits.graph, codec
        )
    if key in suite:
        from lightning_causal.datamodules import SCMDataModule

        suite_data = SCMDataModule(scm=key, n_train=rows, n_val=val, n_test=test_rows, seed=seed)
        splits = {"train": suite_data.train_tensors, "val": suite_data.val_tensors, "test": suite_data.test_tensors}
        variables, causal_graph = suite_data.variables, suite_data.graph
    elif key in latent:
        from lightning_causal.datamodules import LatentSCMDataModule

        latent_data = LatentSCMDataModule(scm=key, n_train=rows, n_val=val, seed=seed)
        splits = {"train": latent_data.train_tensors, "val": latent_data.val_tensors}
        variables, causal_graph = latent_data.variables, latent_data.graph
    else:
        known = source_names()
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"unknown source {name!r}; {hint}use table, celeba, napkin-digits or one of {', '.join(known[3:])}"
        )
    settings = {"source": key, "rows": rows, "val_rows": val, "test_rows": test_rows, "seed": seed}
    return TensorSource(splits, variables, settings, causal_graph, codec)
