"""A small CelebA in the official layout, quirks included, for tests: ``write_celeba(tmp_path)``.

:func:`celeba_truth` draws the contents from a seeded NumPy generator, so a test can compare a reader
with what was written without parsing the files itself; :func:`write_celeba` writes them exactly as
CelebA's files are: a count on line 1, header lines with a trailing space, column-aligned values (two
spaces before a ``1``, one before a ``-1``), CRLF line ends, and 178 x 218 RGB JPEGs of random pixels
(PIL, quality 95) in ``img_align_celeba/``. Only numpy and PIL are needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from lightning_causal.data.celeba import ATTRIBUTES, BBOX_HEADER, LANDMARKS_HEADER

__all__ = ["celeba_truth", "write_celeba"]


def celeba_truth(n: int = 30, seed: int = 0) -> dict[str, np.ndarray]:
    """What :func:`write_celeba` writes for ``n`` and ``seed`` (the images aside).

    Returns:
        ``files`` (n,) names ``000001.jpg`` ...; ``attr`` (n, 40) of -1 and 1, as in the file; ``split``
        (n,) 0/1/2, the first 60 % train, the next 20 % valid, the rest test (all three present);
        ``identity`` (n,); ``bbox`` (n, 4); ``landmarks`` (n, 10).
    """
    if n < 3:
        raise ValueError(f"write_celeba needs n >= 3 to hold all three splits, got {n}")
    g = np.random.default_rng(seed)
    train, valid = max(1, round(0.6 * n)), max(1, round(0.2 * n))
    train = min(train, n - 2)
    valid = min(valid, n - train - 1)
    split = np.repeat([0, 1, 2], [train, valid, n - train - valid]).astype(np.int64)
    return {
        "files": np.array([f"{k:06d}.jpg" for k in range(1, n + 1)]),
        "attr": np.where(g.random((n, len(ATTRIBUTES))) < 0.5, -1, 1).astype(np.int64),
        "split": split,
        "identity": g.integers(1, 10178, size=n).astype(np.int64),
        "bbox": np.column_stack(
            [g.integers(0, 1000, size=n), g.integers(0, 800, size=n), g.integers(30, 2000, size=(n, 2))]
        ).astype(np.int64),
        "landmarks": g.integers(50, 160, size=(n, len(LANDMARKS_HEADER))).astype(np.int64),
    }


def _write(path: Path, lines: list[str], crlf: bool) -> None:
    end = "\r\n" if crlf else "\n"
    path.write_bytes("".join(line + end for line in lines).encode("ascii"))


def write_celeba(root: Path, n: int = 30, seed: int = 0, crlf: bool = True, optional: bool = True) -> Path:
    """Writes a CelebA of ``n`` images in the official layout into ``root`` (created) and returns ``root``.

    Args:
        root: the folder (it holds ``img_align_celeba/`` and the annotation files).
        n: the number of images, at least 3.
        seed: the seed of the contents (:func:`celeba_truth` gives them back).
        crlf: end lines with CRLF, as the real files do (``False``: LF).
        optional: write the optional ``identity_CelebA.txt``, ``list_bbox_celeba.txt`` and
            ``list_landmarks_align_celeba.txt`` too.
    """
    root = Path(root)
    truth = celeba_truth(n, seed)
    images = root / "img_align_celeba"
    images.mkdir(parents=True, exist_ok=True)
    g = np.random.default_rng([seed, 1])  # the pixels: a stream of their own
    for name in truth["files"]:
        pixels = g.integers(0, 256, size=(218, 178, 3), dtype=np.uint8)
        Image.fromarray(pixels, "RGB").save(images / str(name), format="JPEG", quality=95)
    files = [str(name) for name in truth["files"]]
    _write(
        root / "list_attr_celeba.txt",
        [str(n), " ".join(ATTRIBUTES) + " "]
        + [name + "".join(f" {v:>2}" for v in row) for name, row in zip(files, truth["attr"].tolist(), strict=True)],
        crlf,
    )
    _write(
        root / "list_eval_partition.txt",
        [f"{name} {code}" for name, code in zip(files, truth["split"], strict=True)],
        crlf,
    )
    if optional:
        _write(
            root / "identity_CelebA.txt",
            [f"{name} {v}" for name, v in zip(files, truth["identity"], strict=True)],
            crlf,
        )
        _write(
            root / "list_bbox_celeba.txt",
            [str(n), " ".join(BBOX_HEADER) + " "]
            + [
                f"{name:<10}{row[0]:>6}{row[1]:>4}{row[2]:>5}{row[3]:>5}"
                for name, row in zip(files, truth["bbox"], strict=True)
            ],
            crlf,
        )
        _write(
            root / "list_landmarks_align_celeba.txt",
            [str(n), " ".join(LANDMARKS_HEADER) + " "]
            + [
                f"{name:<10}" + "".join(f"{v:>5}" for v in row)
                for name, row in zip(files, truth["landmarks"], strict=True)
            ],
            crlf,
        )
    return root
