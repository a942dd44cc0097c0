"""The CelebA reader: the official layout read back as written, each bad input refused, torchvision agrees.

The folders come from :func:`tests.data.celeba_fixture.write_celeba`, which writes the real files'
quirks (CRLF, a count line, header lines with a trailing space, column-aligned values); the truth is
:func:`~tests.data.celeba_fixture.celeba_truth`. The last test reads the same folder with
``torchvision.datasets.CelebA`` (skipped where torchvision is not installed).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lightning_causal.data.celeba import ATTRIBUTES, SPLITS, CelebAFolder
from lightning_causal.errors import DataError
from tests.data.celeba_fixture import celeba_truth, write_celeba

N = 30


@pytest.fixture(scope="module")
def celeba(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder written once for the tests that only read it."""
    return write_celeba(tmp_path_factory.mktemp("celeba"), n=N, seed=3)


def _reference(path: Path, box: tuple[int, int, int, int], size: int) -> torch.Tensor:
    """The image as the rule says, step by step with PIL: RGB, crop ``box``, bilinear resize."""
    with Image.open(path) as image:
        square = image.convert("RGB").crop(box)
    if square.size != (size, size):
        square = square.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=None)
    return torch.from_numpy(np.array(square)).permute(2, 0, 1)


def test_the_fixture_writes_the_real_quirks(celeba: Path) -> None:
    attr = (celeba / "list_attr_celeba.txt").read_bytes().split(b"\r\n")
    assert attr[0] == b"30" and attr[1] == " ".join(ATTRIBUTES).encode() + b" " and attr[-1] == b""
    assert attr[2].startswith(b"000001.jpg ") and (b"  1" in attr[2] or b" -1" in attr[2])
    assert (celeba / "list_eval_partition.txt").read_bytes().startswith(b"000001.jpg 0\r\n")
    assert (celeba / "list_bbox_celeba.txt").read_bytes().split(b"\r\n")[1] == b"image_id x_1 y_1 width height "
    landmarks = (celeba / "list_landmarks_align_celeba.txt").read_bytes().split(b"\r\n")[1]
    assert landmarks.startswith(b"lefteye_x lefteye_y") and landmarks.endswith(b"rightmouth_y ")
    with Image.open(celeba / "img_align_celeba" / "000030.jpg") as image:
        assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (178, 218))
    assert len(ATTRIBUTES) == 40 and ATTRIBUTES[20] == "Male" and ATTRIBUTES[31] == "Smiling"


def test_all_rows_read_back_as_written(celeba: Path) -> None:
    truth = celeba_truth(N, seed=3)
    ds = CelebAFolder(celeba)
    assert len(ds) == N and ds.files == truth["files"].tolist() and ds.attributes == ATTRIBUTES
    assert ds.labels.dtype == torch.int64 and ds.labels.shape == (N, 40)
    assert torch.equal(ds.labels, torch.from_numpy((truth["attr"] + 1) // 2))  # -1 -> 0, 1 -> 1
    assert torch.equal(ds.split_codes, torch.from_numpy(truth["split"]))
    assert ds.identity is not None and ds.bbox is not None and ds.landmarks is not None
    assert torch.equal(ds.identity, torch.from_numpy(truth["identity"]))
    assert torch.equal(ds.bbox, torch.from_numpy(truth["bbox"])) and ds.bbox.shape == (N, 4)
    assert torch.equal(ds.landmarks, torch.from_numpy(truth["landmarks"])) and ds.landmarks.shape == (N, 10)
    assert all(t.dtype == torch.int64 for t in (ds.split_codes, ds.identity, ds.bbox, ds.landmarks))


@pytest.mark.parametrize("split", list(SPLITS))
def test_a_split_keeps_its_rows_in_file_order(celeba: Path, split: str) -> None:
    truth = celeba_truth(N, seed=3)
    rows = np.flatnonzero(truth["split"] == SPLITS[split])
    ds = CelebAFolder(celeba, split=split)
    assert len(rows) > 0 and len(ds) == len(rows) and ds.files == truth["files"][rows].tolist()
    assert torch.equal(ds.labels, torch.from_numpy((truth["attr"][rows] + 1) // 2))
    assert bool((ds.split_codes == SPLITS[split]).all())
    assert ds.identity is not None and torch.equal(ds.identity, torch.from_numpy(truth["identity"][rows]))
    assert ds.bbox is not None and torch.equal(ds.bbox, torch.from_numpy(truth["bbox"][rows]))
    assert ds.landmarks is not None and torch.equal(ds.landmarks, torch.from_numpy(truth["landmarks"][rows]))


def test_an_attribute_subset_keeps_the_order_asked(celeba: Path) -> None:
    truth = celeba_truth(N, seed=3)
    names = ("Smiling", "Male", "5_o_Clock_Shadow")
    ds = CelebAFolder(celeba, attributes=list(names), split="test")
    rows = np.flatnonzero(truth["split"] == 2)
    columns = np.array([ATTRIBUTES.index(name) for name in names])
    assert ds.attributes == names and ds.labels.shape == (len(rows), 3)
    assert torch.equal(ds.labels, torch.from_numpy((truth["attr"][np.ix_(rows, columns)] + 1) // 2))
    row = ds.rows_of(1)
    assert list(row) == list(names) and all(type(v) is int for v in row.values())
    assert row == {name: (int(truth["attr"][rows[1], ATTRIBUTES.index(name)]) + 1) // 2 for name in names}


def test_an_image_is_the_central_square_resized_bilinearly(celeba: Path) -> None:
    ds = CelebAFolder(celeba, split="valid", size=64)
    image = ds.image(2)
    assert image.dtype == torch.uint8 and image.shape == (3, 64, 64)
    path = celeba / "img_align_celeba" / ds.files[2]
    assert torch.equal(image, _reference(path, (0, 20, 178, 198), 64))  # rows 20..197 of the 218
    # no resize: the crop itself, pixel for pixel; (218 - 150) / 2 = 34 and (178 - 150) / 2 = 14
    with Image.open(path) as opened:
        pixels = torch.from_numpy(np.array(opened.convert("RGB"))).permute(2, 0, 1)
    whole = CelebAFolder(celeba, size=150, crop=150)
    assert torch.equal(whole.image(whole.files.index(ds.files[2])), pixels[:, 34:184, 14:164])
    # CenterCrop's rounding: (218 - 177) / 2 = 20.5 and (178 - 177) / 2 = 0.5 both round to even: top 20, left 0
    odd = CelebAFolder(celeba, split="valid", size=32, crop=177)
    assert torch.equal(odd.image(2), _reference(path, (0, 20, 177, 197), 32))


def test_lf_endings_and_no_final_newline_read_the_same(tmp_path: Path, celeba: Path) -> None:
    root = write_celeba(tmp_path, n=N, seed=3, crlf=False)
    assert b"\r" not in (root / "list_attr_celeba.txt").read_bytes()
    for name in ("list_attr_celeba.txt", "list_eval_partition.txt", "list_bbox_celeba.txt"):
        path = root / name
        path.write_bytes(path.read_bytes().rstrip(b"\n"))  # no newline after the last row
    landmarks = root / "list_landmarks_align_celeba.txt"
    wider = landmarks.read_bytes().replace(b" ", b"   ")
    landmarks.write_bytes(wider + b"\n\n")  # wider columns, blank lines after the last row
    ours, crlf = CelebAFolder(root), CelebAFolder(celeba)
    assert ours.files == crlf.files and torch.equal(ours.labels, crlf.labels)
    for a, b in zip(
        (ours.identity, ours.bbox, ours.landmarks), (crlf.identity, crlf.bbox, crlf.landmarks), strict=True
    ):
        assert a is not None and b is not None and torch.equal(a, b)


def test_the_optional_files_may_be_absent(tmp_path: Path) -> None:
    ds = CelebAFolder(write_celeba(tmp_path, n=5, optional=False), split="train")
    assert (ds.identity, ds.bbox, ds.landmarks) == (None, None, None) and len(ds) == 3


def _edit(name: str, change: Callable[[list[str]], list[str]]) -> Callable[[Path], None]:
    """Rewrites the file ``name`` of a folder, line by line (CRLF kept)."""

    def apply(root: Path) -> None:
        path = root / name
        lines = path.read_bytes().decode().split("\r\n")[:-1]
        path.write_bytes(("\r\n".join(change(lines)) + "\r\n").encode())

    return apply


def _set(index: int, text: str) -> Callable[[list[str]], list[str]]:
    return lambda lines: [*lines[:index], text, *lines[index + 1 :]]


def _empty(root: Path) -> None:
    (root / "list_attr_celeba.txt").write_bytes(b"\r\n")


def _remove(path: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        target = root / path
        if target.is_dir():
            for child in target.iterdir():
                child.unlink()
            target.rmdir()
        else:
            target.unlink()

    return apply


BAD_FOLDERS: dict[str, tuple[Callable[[Path], None], str]] = {
    "no image folder": (_remove("img_align_celeba"), r"img_align_celeba' does not exist; put the aligned images"),
    "no attribute file": (_remove("list_attr_celeba.txt"), r"list_attr_celeba.txt' does not exist"),
    "no partition file": (_remove("list_eval_partition.txt"), r"list_eval_partition.txt' does not exist"),
    "a short row": (
        _edit("list_attr_celeba.txt", _set(4, "000003.jpg" + " -1" * 39)),
        r"list_attr_celeba.txt' line 5: 40 fields where 41 are expected",
    ),
    "a long row": (
        _edit("list_attr_celeba.txt", _set(2, "000001.jpg" + "  1" * 41)),
        r"list_attr_celeba.txt' line 3: 42 fields where 41",
    ),
    "a zero for -1": (
        _edit("list_attr_celeba.txt", _set(3, "000002.jpg  0" + "  1" * 39)),
        r"list_attr_celeba.txt' line 4: field 2 is '0', not -1 or 1",
    ),
    "a count that disagrees": (
        _edit("list_attr_celeba.txt", _set(0, "31")),
        r"list_attr_celeba.txt' line 1: says 31 images but the file has 30 rows",
    ),
    "no count": (
        _edit("list_attr_celeba.txt", lambda lines: lines[1:]),
        r"list_attr_celeba.txt' line 1: expected the number of images",
    ),
    "a row missing": (
        _edit("list_attr_celeba.txt", lambda lines: [*lines[:9], *lines[10:]]),
        r"list_attr_celeba.txt' line 1: says 30 images but the file has 29 rows",
    ),
    "an image listed twice": (
        _edit("list_attr_celeba.txt", lambda lines: [*lines[:3], lines[3].replace("000002", "000001", 1), *lines[4:]]),
        r"list_attr_celeba.txt' line 4: image '000001.jpg' is listed again \(first on line 3\)",
    ),
    "a split code 3": (
        _edit("list_eval_partition.txt", _set(6, "000007.jpg 3")),
        r"list_eval_partition.txt' line 7: field 2 is '3', not 0 \(train\), 1 \(valid\) or 2 \(test\)",
    ),
    "partition in another order": (
        _edit("list_eval_partition.txt", lambda lines: [lines[0], lines[2], lines[1], *lines[3:]]),
        r"list_eval_partition.txt' line 2 names '000003.jpg' where '.*list_attr_celeba.txt' line 4 names '000002.jpg'",
    ),
    "partition shorter": (
        _edit("list_eval_partition.txt", lambda lines: lines[:-1]),
        r"list_eval_partition.txt' lists 29 images but .*list_attr_celeba.txt' lists 30",
    ),
    "a bad box": (
        _edit("list_bbox_celeba.txt", _set(5, "000004.jpg    95  71 2x6 313")),
        r"list_bbox_celeba.txt' line 6: field 4 is '2x6', not an integer",
    ),
    "a box row short": (
        _edit("list_bbox_celeba.txt", _set(2, "000001.jpg    95  71 226")),
        r"list_bbox_celeba.txt' line 3: 4 fields where 5 are expected",
    ),
    "another landmark header": (
        _edit("list_landmarks_align_celeba.txt", _set(1, "image_id x_1 y_1 width height ")),
        r"list_landmarks_align_celeba.txt' line 2: header 'image_id x_1 y_1 width height' is not 'lefteye_x",
    ),
    "landmarks of other images": (
        _edit("list_landmarks_align_celeba.txt", _set(3, "000099.jpg" + "  100" * 10)),
        r"list_landmarks_align_celeba.txt' line 4 names '000099.jpg' where",
    ),
    "an identity count that disagrees": (
        _edit("identity_CelebA.txt", lambda lines: [*lines, "000031.jpg 7"]),
        r"identity_CelebA.txt' lists 31 images but",
    ),
    "an empty attribute file": (
        _empty,
        r"list_attr_celeba.txt' is empty",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FOLDERS))
def test_a_bad_folder_is_refused_in_one_line_naming_the_file(tmp_path: Path, case: str) -> None:
    edit, message = BAD_FOLDERS[case]
    root = write_celeba(tmp_path, n=N, seed=1)
    edit(root)
    with pytest.raises(DataError, match=message) as error:
        CelebAFolder(root)
    assert "\n" not in str(error.value)


BAD_ARGUMENTS: dict[str, tuple[dict[str, object], str]] = {
    "an unknown attribute": ({"attributes": ["Smilling"]}, r"attribute 'Smilling' is not in .*40 attributes.*Smiling"),
    "a name without a close match": ({"attributes": ["Male", "Xyzzy"]}, r"'Xyzzy' is not in .*they are 5_o_Clock"),
    "an attribute twice": ({"attributes": ["Male", "Male"]}, r"'Male' is asked for twice"),
    "an unknown split": ({"split": "val"}, r"no split 'val'; use train, valid, test, all"),
    "size zero": ({"size": 0}, r"size must be a positive int"),
    "size a float": ({"size": 64.0}, r"size must be a positive int"),
    "size a bool": ({"size": True}, r"size must be a positive int"),
    "crop negative": ({"crop": -1}, r"crop must be a positive int"),
    "crop too large": ({"crop": 179}, r"crop 179 is larger than the aligned images \(178 wide x 218 high\)"),
}


@pytest.mark.parametrize("case", list(BAD_ARGUMENTS))
def test_a_bad_argument_is_refused(celeba: Path, case: str) -> None:
    arguments, message = BAD_ARGUMENTS[case]
    with pytest.raises(DataError, match=message) as error:
        CelebAFolder(celeba, **arguments)  # type: ignore[arg-type]
    assert "\n" not in str(error.value)


def test_a_missing_root_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"CelebA folder '.*nowhere' does not exist"):
        CelebAFolder(tmp_path / "nowhere")


def test_a_missing_corrupt_or_small_image_is_refused_by_name(tmp_path: Path) -> None:
    root = write_celeba(tmp_path, n=5)
    ds = CelebAFolder(root)
    (root / "img_align_celeba" / "000002.jpg").unlink()
    jpeg = (root / "img_align_celeba" / "000003.jpg").read_bytes()
    (root / "img_align_celeba" / "000003.jpg").write_bytes(jpeg[: len(jpeg) // 3])  # truncated
    (root / "img_align_celeba" / "000004.jpg").write_bytes(b"not a jpeg")
    Image.new("RGB", (100, 120)).save(root / "img_align_celeba" / "000005.jpg")
    with pytest.raises(DataError, match=r"image '.*000002.jpg' \(listed in list_attr_celeba.txt\) does not exist"):
        ds.image(1)
    for k in (2, 3):
        with pytest.raises(DataError, match=rf"image '.*00000{k + 1}.jpg' cannot be read \(.*\); extract it again"):
            ds.image(k)
    with pytest.raises(DataError, match=r"000005.jpg' is 100 wide x 120 high, smaller than the crop 178"):
        ds.image(4)
    assert ds.image(0).shape == (3, 64, 64)  # the others still read


def test_torchvision_reads_the_same_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torchvision")
    from torchvision import transforms
    from torchvision.datasets import CelebA

    write_celeba(tmp_path / "celeba", n=N, seed=5)
    monkeypatch.setattr(CelebA, "_check_integrity", lambda self: True)  # the MD5s are the real files'
    for split in ("train", "valid", "test", "all"):
        pipeline = transforms.Compose([transforms.CenterCrop(178), transforms.Resize(64), transforms.PILToTensor()])
        theirs = CelebA(str(tmp_path), split=split, target_type=["attr", "identity"], transform=pipeline)
        ours = CelebAFolder(tmp_path / "celeba", split=split)
        assert list(theirs.filename) == ours.files and len(theirs) == len(ours) > 0
        assert torch.equal(theirs.attr, ours.labels)  # torchvision maps -1 to 0 too
        assert ours.identity is not None and torch.equal(theirs.identity[:, 0], ours.identity)
        assert ours.bbox is not None and torch.equal(theirs.bbox, ours.bbox)
        assert ours.landmarks is not None and torch.equal(theirs.landmarks_align, ours.landmarks)
        # torchvision keeps the empty name after the header's trailing space
        assert theirs.attr_names == [*ATTRIBUTES, ""] and ours.attributes == ATTRIBUTES
        for k in (0, len(ours) - 1):
            image, (attr, identity) = theirs[k]
            assert torch.equal(image, ours.image(k)) and torch.equal(attr, ours.labels[k])
            assert int(identity) == int(ours.identity[k])
