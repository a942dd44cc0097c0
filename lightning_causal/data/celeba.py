"""CelebA in its official layout: the aligned JPEGs and the annotation text files, read and checked.

The layout, as CelebA's authors distribute it (``torchvision.datasets.CelebA`` reads the same files
from ``<root>/celeba``), is a folder holding::

    img_align_celeba/000001.jpg ...   the aligned faces: JPEG, RGB, 178 wide and 218 high
    list_attr_celeba.txt              line 1 the image count, line 2 the 40 attribute names, then per
                                      image its file name and 40 values, each -1 or 1
    list_eval_partition.txt           per image its file name and 0 (train), 1 (valid) or 2 (test)
    list_bbox_celeba.txt              optional: count, header, then file name, x_1 y_1 width height
    list_landmarks_align_celeba.txt   optional: count, header, then file name and 10 coordinates
    identity_CelebA.txt               optional: per image its file name and the person's number

Fields are separated by runs of spaces (the files are column-aligned), lines end with CRLF (as in the
real files) or LF, the last line with a newline or not, and the header lines carry a trailing space:
all of that is accepted. The annotation files must list the same images in the same order, and a
count on line 1 must agree with the rows.

:class:`CelebAFolder` reads one split: the image file names, the attributes as 0/1 codes (a file's -1
is 0 and 1 is 1, as torchvision maps them), the split codes, the optional identities, boxes and
landmarks (``None`` when the file is absent), and each image as a ``uint8`` tensor ``(3, size, size)``.

The image rule: the JPEG is converted to RGB, its central ``crop`` x ``crop`` square is cut out with
the rounding of ``torchvision.transforms.CenterCrop`` (``top = int(round((H - crop) / 2.0))``, ``left =
int(round((W - crop) / 2.0))``; with the default 178 that is rows 20 to 197 of the 178 x 218 image,
the common CelebA pipeline), and the square is resized to ``size`` x ``size`` with PIL's bilinear
filter (``Image.BILINEAR``, ``reducing_gap=None``), which is what ``torchvision.transforms.Resize``
does to a PIL image: ``CenterCrop(crop)`` then ``Resize(size)`` give the same pixels.

Every problem is a :class:`~lightning_causal.errors.DataError` of one line that names the file (and
the line, counted from 1, where there is one) and says what to do.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from lightning_causal.errors import DataError, listing

__all__ = [
    "ATTRIBUTES",
    "BBOX_HEADER",
    "IMAGE_FOLDER",
    "IMAGE_HEIGHT",
    "IMAGE_WIDTH",
    "LANDMARKS_HEADER",
    "SPLITS",
    "CelebAFolder",
]

ATTRIBUTES: tuple[str, ...] = (
    "5_o_Clock_Shadow",
    "Arched_Eyebrows",
    "Attractive",
    "Bags_Under_Eyes",
    "Bald",
    "Bangs",
    "Big_Lips",
    "Big_Nose",
    "Black_Hair",
    "Blond_Hair",
    "Blurry",
    "Brown_Hair",
    "Bushy_Eyebrows",
    "Chubby",
    "Double_Chin",
    "Eyeglasses",
    "Goatee",
    "Gray_Hair",
    "Heavy_Makeup",
    "High_Cheekbones",
    "Male",
    "Mouth_Slightly_Open",
    "Mustache",
    "Narrow_Eyes",
    "No_Beard",
    "Oval_Face",
    "Pale_Skin",
    "Pointy_Nose",
    "Receding_Hairline",
    "Rosy_Cheeks",
    "Sideburns",
    "Smiling",
    "Straight_Hair",
    "Wavy_Hair",
    "Wearing_Earrings",
    "Wearing_Hat",
    "Wearing_Lipstick",
    "Wearing_Necklace",
    "Wearing_Necktie",
    "Young",
)
"""CelebA's 40 attribute names, in the order of ``list_attr_celeba.txt``."""

SPLITS: dict[str, int] = {"train": 0, "valid": 1, "test": 2}
"""The split names and their codes in ``list_eval_partition.txt``; ``split="all"`` takes every row."""

IMAGE_FOLDER = "img_align_celeba"
IMAGE_WIDTH = 178
IMAGE_HEIGHT = 218
"""The aligned images' size: 178 wide, 218 high."""

BBOX_HEADER = ("image_id", "x_1", "y_1", "width", "height")
"""Line 2 of ``list_bbox_celeba.txt`` (its first name is the file-name column's)."""

LANDMARKS_HEADER = (
    "lefteye_x",
    "lefteye_y",
    "righteye_x",
    "righteye_y",
    "nose_x",
    "nose_y",
    "leftmouth_x",
    "leftmouth_y",
    "rightmouth_x",
    "rightmouth_y",
)
"""Line 2 of ``list_landmarks_align_celeba.txt`` (the file-name column has no name)."""

ATTR_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
BBOX_FILE = "list_bbox_celeba.txt"
LANDMARKS_FILE = "list_landmarks_align_celeba.txt"
IDENTITY_FILE = "identity_CelebA.txt"

_SIGNS = frozenset(("-1", "1"))
_SPLIT_CODES = frozenset(str(code) for code in SPLITS.values())
_LARGE = 2**62  # a value this large is no pixel coordinate or count
_FIX = "fix it or download the file again from CelebA's site"


def _name(path: Path) -> str:
    return repr(str(path))


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


@dataclass(frozen=True)
class _Table:
    """An annotation file read whole: its header, the file name and the integer values of each row."""

    path: Path
    header: tuple[str, ...]
    names: list[str]
    values: np.ndarray  # (rows, columns) int64
    first: int  # the file line of the first row, counted from 1

    @property
    def label(self) -> str:
        return _name(self.path)


def _lines(path: Path) -> list[str]:
    """The file's lines, CRLF or LF (text mode translates both), without trailing blank lines."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark, if an editor added one, is dropped
    except UnicodeDecodeError as error:
        raise DataError(
            f"{_name(path)} is not a text file (undecodable byte at offset {error.start}); {_FIX}"
        ) from None
    except OSError as error:
        raise DataError(
            f"{_name(path)} cannot be read ({_one_line(error)}); check the file and its permissions"
        ) from None
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DataError(f"{_name(path)} is empty; {_FIX}")
    return lines


def _read_table(
    path: Path,
    *,
    counted: bool,
    header: tuple[str, ...] | None,
    columns: int | None,
    kind: str,
    what: str,
) -> _Table:
    """Reads one annotation file.

    Args:
        path: the file.
        counted: whether line 1 is the number of images.
        header: the names expected on the header line (the line after the count), ``()`` for any
            non-empty list of distinct names (the attribute file), ``None`` for a file without one.
        columns: the number of values after the file name; ``None``: the header's length.
        kind: ``"sign"`` (-1 or 1), ``"split"`` (0, 1 or 2) or ``"int"`` (any integer).
        what: the values, as the error messages describe a row, e.g. ``"40 attribute values"``.
    """
    lines = _lines(path)
    start = 0
    count: int | None = None
    if counted:
        fields = lines[0].split()
        if len(fields) != 1 or not (fields[0].isascii() and fields[0].isdigit()):
            raise DataError(
                f"{_name(path)} line 1: expected the number of images, found {lines[0].strip()[:40]!r}; {_FIX}"
            )
        count, start = int(fields[0]), 1
    names_found: tuple[str, ...] = ()
    if header is not None:
        if len(lines) <= start:
            raise DataError(f"{_name(path)} has no header line (line {start + 1}); {_FIX}")
        names_found = tuple(lines[start].split())
        if header and names_found != header:
            raise DataError(
                f"{_name(path)} line {start + 1}: header {' '.join(names_found)[:80]!r} is not "
                f"{' '.join(header)!r}; check that this is CelebA's file, or download it again"
            )
        if not names_found:
            raise DataError(f"{_name(path)} line {start + 1}: the header names no columns; {_FIX}")
        seen: set[str] = set()
        for name in names_found:
            if name in seen:
                raise DataError(f"{_name(path)} line {start + 1}: the header names {name!r} twice; {_FIX}")
            seen.add(name)
        start += 1
    if columns is None:
        columns = len(names_found)
    width = columns + 1
    names, values = _parse_rows(path, lines, start, width, kind, what)
    if count is not None and count != len(names):
        last = f"lines {start + 1} to {len(lines)}" if names else "none"
        raise DataError(
            f"{_name(path)} line 1: says {count} images but the file has {len(names)} rows ({last}); "
            "the file is truncated or edited: download it again"
        )
    _check_unique(path, names, start + 1)
    return _Table(path, names_found, names, values, start + 1)


def _parse_rows(
    path: Path, lines: list[str], start: int, width: int, kind: str, what: str
) -> tuple[list[str], np.ndarray]:
    """The file names and values of the rows ``lines[start:]``, each ``width`` fields; raises on a bad row."""
    names: list[str] = []
    chunks: list[str] = []
    rows = len(lines) - start
    if kind == "sign":  # 40 x 202,599 values, kept as one string of -1 and 1 per row and decoded by numpy at the end
        for k in range(start, len(lines)):
            fields = lines[k].split()
            if len(fields) != width:
                _bad_row(path, k + 1, fields, width, kind, what)
            names.append(fields[0])
            fields[0] = "1"  # stands in for the name: no copy of the values for the check and the join
            if not _SIGNS.issuperset(fields):
                fields[0] = names[-1]
                _bad_row(path, k + 1, fields, width, kind, what)
            chunks.append("".join(fields))
        digits = "".join(chunks).replace("-1", "0").encode("ascii")
        codes = np.frombuffer(digits, dtype=np.uint8).reshape(rows, width)[:, 1:]
        return names, codes.astype(np.int64) - ord("0")
    for k in range(start, len(lines)):
        fields = lines[k].split()
        if len(fields) != width:
            _bad_row(path, k + 1, fields, width, kind, what)
        names.append(fields[0])
        chunks.append(" ".join(fields[1:]))
    values = _integers(" ".join(chunks), rows * (width - 1))
    if values is None:  # a value numpy does not read as an integer: find it, or read the rows with int()
        values = np.array(
            [_row_integers(path, start + 1 + k, chunk, width, kind, what) for k, chunk in enumerate(chunks)]
        )
    values = values.reshape(rows, width - 1)
    if kind == "split":
        bad = np.flatnonzero(~np.isin(values[:, 0], list(SPLITS.values())))
        if len(bad):
            line = start + 1 + int(bad[0])
            _bad_row(path, line, lines[line - 1].split(), width, kind, what)
    return names, values


def _integers(text: str, count: int) -> np.ndarray | None:
    """``text``'s ``count`` integers separated by spaces, read by numpy; ``None`` if it cannot read them all."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy 1.x warns and stops at an unreadable value; 2.x raises
        try:
            values = np.fromstring(text, dtype=np.int64, sep=" ")
        except ValueError:
            return None
    if values.size != count or (count and (values.max() >= _LARGE or values.min() <= -_LARGE)):  # or it saturated
        return None
    return values


def _row_integers(path: Path, line: int, chunk: str, width: int, kind: str, what: str) -> list[int]:
    fields = chunk.split()
    try:
        values = [int(value) for value in fields]
    except ValueError:
        _bad_row(path, line, ["", *fields], width, kind, what)
    for column, value in enumerate(values, start=2):
        if not -_LARGE < value < _LARGE:
            raise DataError(
                f"{_name(path)} line {line}: field {column} is {fields[column - 2][:40]!r}, too large; {_FIX}"
            )
    return values


def _bad_row(path: Path, line: int, fields: list[str], width: int, kind: str, what: str) -> NoReturn:
    """Raises the error for a malformed row: a wrong field count or a bad value."""
    if len(fields) != width:
        raise DataError(
            f"{_name(path)} line {line}: {len(fields)} fields where {width} are expected "
            f"(a file name and {what}, separated by spaces); {_FIX}"
        )
    allowed = {"sign": "-1 or 1", "split": "0 (train), 1 (valid) or 2 (test)", "int": "an integer"}[kind]
    for column, value in enumerate(fields[1:], start=2):
        good = value in _SIGNS if kind == "sign" else value in _SPLIT_CODES if kind == "split" else _is_int(value)
        if not good:
            raise DataError(f"{_name(path)} line {line}: field {column} is {value[:40]!r}, not {allowed}; {_FIX}")
    raise AssertionError("unreachable: the row was malformed")  # pragma: no cover


def _is_int(value: str) -> bool:
    try:
        int(value)
    except ValueError:
        return False
    return True


def _check_unique(path: Path, names: list[str], first: int) -> None:
    if len(set(names)) == len(names):
        return
    seen: dict[str, int] = {}
    for k, name in enumerate(names):
        if name in seen:
            raise DataError(
                f"{_name(path)} line {first + k}: image {name!r} is listed again (first on line {seen[name]}); {_FIX}"
            )
        seen[name] = first + k


def _same_images(reference: _Table, other: _Table) -> None:
    """Refuses an annotation file that lists other images, or the same ones in another order."""
    if other.names == reference.names:
        return
    for k, (mine, theirs) in enumerate(zip(reference.names, other.names, strict=False)):
        if mine != theirs:
            raise DataError(
                f"{other.label} line {other.first + k} names {theirs!r} where {reference.label} line "
                f"{reference.first + k} names {mine!r}; the annotation files must list the same images in the "
                "same order: download them again together"
            )
    raise DataError(
        f"{other.label} lists {len(other.names)} images but {reference.label} lists {len(reference.names)}; "
        "the annotation files must list the same images: download them again together"
    )


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise DataError(f"CelebA {name} must be a positive int (pixels), got {value!r}")
    return int(value)


def _required(path: Path, what: str) -> Path:
    if not path.exists():
        raise DataError(
            f"{_name(path)} does not exist; put {what} there (CelebA's official layout, as downloaded from its site)"
        )
    return path


class CelebAFolder:
    """One split of CelebA read from a folder in the official layout (see the module docstring).

    Args:
        root: the folder that holds ``img_align_celeba/`` and the annotation files (for torchvision's
            layout, ``<torchvision root>/celeba``).
        attributes: the attribute names to return, in this order; ``None``: all 40 in the file's order.
        split: ``"train"``, ``"valid"``, ``"test"`` or ``"all"``.
        size: the side of the square images :meth:`image` returns, in pixels.
        crop: the side of the central square cut out before resizing (at most 178, the images' width).

    Attributes:
        root: the folder, as a :class:`~pathlib.Path`.
        attributes: the attribute names of ``labels``' columns.
        files: the split's image file names, in file order.
        labels: ``int64`` ``(n, len(attributes))``, 0 where the file says -1 and 1 where it says 1.
        split_codes: ``int64`` ``(n,)``, 0 train, 1 valid, 2 test.
        identity: ``int64`` ``(n,)``, the person's number, or ``None`` without ``identity_CelebA.txt``.
        bbox: ``int64`` ``(n, 4)``, x_1 y_1 width height (in the original, unaligned images), or ``None``.
        landmarks: ``int64`` ``(n, 10)``, the aligned images' landmarks (:data:`LANDMARKS_HEADER`), or ``None``.

    Raises:
        DataError: a missing folder or file, a malformed line, an unknown attribute or split, files that
            list different images, or a bad ``size`` or ``crop``.
    """

    def __init__(
        self,
        root: str | Path,
        attributes: Sequence[str] | None = None,
        split: str = "all",
        size: int = 64,
        crop: int = 178,
    ) -> None:
        if split != "all" and split not in SPLITS:
            raise DataError(f"CelebA has no split {split!r}; use {listing([*SPLITS, 'all'])}")
        self.size = _positive_int("size", size)
        self.crop = _positive_int("crop", crop)
        if self.crop > min(IMAGE_WIDTH, IMAGE_HEIGHT):
            raise DataError(
                f"CelebA crop {self.crop} is larger than the aligned images ({IMAGE_WIDTH} wide x "
                f"{IMAGE_HEIGHT} high); use at most {min(IMAGE_WIDTH, IMAGE_HEIGHT)}"
            )
        self.split = split
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(
                f"CelebA folder {_name(self.root)} does not exist; give the folder that holds {IMAGE_FOLDER}/ "
                f"and {ATTR_FILE}"
            )
        _required(self.root / IMAGE_FOLDER, "the aligned images (img_align_celeba.zip, extracted)")
        attr = _read_table(
            _required(self.root / ATTR_FILE, "the attribute file"),
            counted=True,
            header=(),
            columns=None,
            kind="sign",
            what="one value per attribute of line 2, each -1 or 1",
        )
        partition = _read_table(
            _required(self.root / PARTITION_FILE, "the partition file"),
            counted=False,
            header=None,
            columns=1,
            kind="split",
            what="the split code 0, 1 or 2",
        )
        _same_images(attr, partition)
        optional: dict[str, _Table | None] = {}
        for key, file, counted, header, columns, what in (
            ("identity", IDENTITY_FILE, False, None, 1, "the person's number"),
            ("bbox", BBOX_FILE, True, BBOX_HEADER, len(BBOX_HEADER) - 1, "x_1 y_1 width height"),
            ("landmarks", LANDMARKS_FILE, True, LANDMARKS_HEADER, None, "10 landmark coordinates"),
        ):
            path = self.root / file
            table = None
            if path.exists():
                table = _read_table(path, counted=counted, header=header, columns=columns, kind="int", what=what)
                _same_images(attr, table)
            optional[key] = table

        self.attributes = self._select(attr, attributes)
        picked = np.array([attr.header.index(name) for name in self.attributes], dtype=np.int64)
        codes = partition.values[:, 0]
        rows = np.arange(len(codes)) if split == "all" else np.flatnonzero(codes == SPLITS[split])
        self.files: list[str] = [attr.names[k] for k in rows.tolist()]
        self.labels: Tensor = torch.from_numpy(np.ascontiguousarray(attr.values[np.ix_(rows, picked)]))
        self.split_codes: Tensor = torch.from_numpy(codes[rows].copy())
        identity, bbox, landmarks = optional["identity"], optional["bbox"], optional["landmarks"]
        self.identity: Tensor | None = None if identity is None else torch.from_numpy(identity.values[rows, 0].copy())
        self.bbox: Tensor | None = None if bbox is None else torch.from_numpy(bbox.values[rows].copy())
        self.landmarks: Tensor | None = None if landmarks is None else torch.from_numpy(landmarks.values[rows].copy())

    @staticmethod
    def _select(attr: _Table, attributes: Sequence[str] | None) -> tuple[str, ...]:
        if attributes is None:
            return attr.header
        chosen = (attributes,) if isinstance(attributes, str) else tuple(attributes)
        if not chosen:
            raise DataError("CelebA attributes: the list is empty; give attribute names, or None for all of them")
        for name in chosen:
            if name not in attr.header:
                close = difflib.get_close_matches(str(name), attr.header, n=3)
                hint = f"close matches: {listing(close)}" if close else f"they are {listing(attr.header, 6)}"
                raise DataError(
                    f"attribute {name!r} is not in {attr.label}, which has {len(attr.header)} attributes; {hint}"
                )
        if len(set(chosen)) != len(chosen):
            twice = next(name for name in chosen if chosen.count(name) > 1)
            raise DataError(f"CelebA attributes: {twice!r} is asked for twice; name each attribute once")
        return chosen

    def __len__(self) -> int:
        return len(self.files)

    def path(self, i: int) -> Path:
        """The JPEG file of row ``i``."""
        return self.root / IMAGE_FOLDER / self.files[i]

    def image(self, i: int) -> Tensor:
        """Row ``i``'s image: ``uint8`` ``(3, size, size)``, center-cropped and resized (the module's rule).

        Raises:
            DataError: the JPEG is missing, cannot be decoded, or is smaller than ``crop``; the caller
                decides whether to skip the row (and count it).
        """
        path = self.path(i)
        try:
            with Image.open(path) as opened:
                picture = opened.convert("RGB")  # decodes the whole file: a truncated JPEG fails here
        except FileNotFoundError:
            raise DataError(
                f"image {_name(path)} (listed in {ATTR_FILE}) does not exist; extract it again from "
                "img_align_celeba.zip, or skip the row"
            ) from None
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            raise DataError(
                f"image {_name(path)} cannot be read ({_one_line(error)}); extract it again from "
                "img_align_celeba.zip, or skip the row"
            ) from None
        width, height = picture.size
        if width < self.crop or height < self.crop:
            raise DataError(
                f"image {_name(path)} is {width} wide x {height} high, smaller than the crop {self.crop}; "
                "use a smaller crop, or skip the row"
            )
        top = round((height - self.crop) / 2.0)  # CenterCrop's int(round(...)): ties go to even
        left = round((width - self.crop) / 2.0)
        square = picture.crop((left, top, left + self.crop, top + self.crop))
        if self.size != self.crop:
            square = square.resize((self.size, self.size), Image.Resampling.BILINEAR, reducing_gap=None)
        array = np.asarray(square, dtype=np.uint8)
        return torch.from_numpy(array.transpose(2, 0, 1).copy())

    def rows_of(self, i: int) -> dict[str, int]:
        """Row ``i``'s attributes as Python ints, 0 or 1, by name (in the order of ``attributes``)."""
        return dict(zip(self.attributes, self.labels[i].tolist(), strict=True))

    def __repr__(self) -> str:
        return (
            f"CelebAFolder({str(self.root)!r}, split={self.split!r}, {len(self)} images, "
            f"{len(self.attributes)} attributes, size={self.size}, crop={self.crop})"
        )
