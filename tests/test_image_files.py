"""Image files: reading PNG/JPEG/arrays into image variables, value conversion, PNG and grid writing."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lightning_causal import DataError, QueryError
from lightning_causal.image_files import image_grid, load_image_value, read_image, read_images, save_grid, write_png
from lightning_causal.variables import VariableSpec

RGB = VariableSpec("X", "image", channels=3, height=8, width=6)
GREY = VariableSpec("G", "image", channels=1, height=8, width=6)
FLOAT = VariableSpec("F", "image", channels=3, height=8, width=6, dtype="float")


def pixels(seed: int = 0, shape: tuple[int, ...] = (8, 6, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def png(path: Path, array: np.ndarray) -> Path:
    Image.fromarray(array).save(path)
    return path


def test_a_png_reads_as_channels_first_uint8(tmp_path: Path) -> None:
    array = pixels()
    image = read_image(png(tmp_path / "a.png", array), RGB)
    assert image.shape == (3, 8, 6) and image.dtype == torch.uint8
    assert torch.equal(image, torch.from_numpy(array).permute(2, 0, 1))


def test_a_float_spec_reads_pixels_divided_by_255(tmp_path: Path) -> None:
    array = pixels()
    image = read_image(png(tmp_path / "a.png", array), FLOAT)
    assert image.dtype == torch.float32
    torch.testing.assert_close(image, torch.from_numpy(array).permute(2, 0, 1).float() / 255)


def test_modes_convert_to_the_spec_channels(tmp_path: Path) -> None:
    path = png(tmp_path / "a.png", pixels())
    grey = read_image(path, GREY)
    want = np.array(Image.open(path).convert("L"))
    assert grey.shape == (1, 8, 6) and torch.equal(grey[0], torch.from_numpy(want))
    rgba = read_image(path, VariableSpec("A", "image", channels=4, height=8, width=6))
    assert rgba.shape == (4, 8, 6) and (rgba[3] == 255).all()
    grey_file = png(tmp_path / "g.png", pixels(1, (8, 6)))
    assert read_image(grey_file, RGB).shape == (3, 8, 6)  # grey to RGB repeats the channel


def test_jpeg_reads_at_its_size(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    Image.fromarray(pixels()).save(path, quality=95)
    assert read_image(path, RGB).shape == (3, 8, 6)


def test_a_16_bit_png_keeps_its_precision_in_a_float_spec(tmp_path: Path) -> None:
    raw = (np.arange(48, dtype=np.uint16).reshape(8, 6) * 1000).astype(np.uint16)
    Image.fromarray(raw).save(tmp_path / "d.png")
    image = read_image(tmp_path / "d.png", VariableSpec("D", "image", channels=1, height=8, width=6, dtype="float"))
    torch.testing.assert_close(image[0], torch.from_numpy(raw.astype(np.float32) / 65535))


@pytest.mark.parametrize(
    "array",
    [
        pytest.param(pixels().transpose(2, 0, 1), id="uint8-chw"),
        pytest.param(pixels(), id="uint8-hwc"),
        pytest.param(pixels().transpose(2, 0, 1) / 255.0, id="float-chw"),
        pytest.param(pixels().transpose(2, 0, 1).astype(np.int64), id="int-chw"),
    ],
)
@pytest.mark.parametrize("suffix", [".npy", ".pt"])
def test_arrays_read_as_images(tmp_path: Path, array: np.ndarray, suffix: str) -> None:
    path = tmp_path / f"a{suffix}"
    if suffix == ".npy":
        np.save(path, array)
    else:
        torch.save(torch.from_numpy(array), path)
    image = read_image(path, RGB)
    assert image.dtype == torch.uint8 and torch.equal(image, torch.from_numpy(pixels()).permute(2, 0, 1))


def test_arrays_carry_any_channel_count(tmp_path: Path) -> None:
    spec = VariableSpec("M", "image", channels=2, height=4, width=4, dtype="float")
    np.save(tmp_path / "m.npy", np.full((2, 4, 4), 0.25, dtype=np.float32))
    assert torch.equal(read_image(tmp_path / "m.npy", spec), torch.full((2, 4, 4), 0.25))
    png(tmp_path / "m.png", pixels(0, (4, 4, 3)))
    with pytest.raises(DataError, match=r"has 2 channels; .* save 2-channel images as \.npy or \.pt arrays"):
        read_image(tmp_path / "m.png", spec)


def _broken(tmp_path: Path) -> Path:
    (tmp_path / "b.png").write_bytes(b"not a png")
    return tmp_path / "b.png"


def _float_out_of_range(tmp_path: Path) -> Path:
    np.save(tmp_path / "f.npy", np.full((3, 8, 6), 2.0))
    return tmp_path / "f.npy"


def _nan(tmp_path: Path) -> Path:
    np.save(tmp_path / "n.npy", np.full((3, 8, 6), np.nan))
    return tmp_path / "n.npy"


def _not_a_tensor(tmp_path: Path) -> Path:
    torch.save({"image": torch.zeros(3, 8, 6)}, tmp_path / "d.pt")
    return tmp_path / "d.pt"


@pytest.mark.parametrize(
    "make,fragment",
    [
        (lambda p: p / "nope.png", "nope.png' for variable 'X' does not exist; check the path"),
        (lambda p: p, "is a folder"),
        (lambda p: png(p / "big.png", pixels(0, (16, 12, 3))), "is 12x16 pixels (width x height), but variable 'X'"),
        (lambda p: png(p / "big.png", pixels(0, (16, 12, 3))), "resize it to 6x8"),
        (_broken, "b.png' cannot be read as an image"),
        (_float_out_of_range, "float pixels run 0..1"),
        (_nan, "NaN or infinite"),
        (_not_a_tensor, "holds a dict, not one tensor"),
    ],
)
def test_bad_files_are_one_line_data_errors(tmp_path: Path, make, fragment: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError) as err:
        read_image(make(tmp_path), RGB)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_a_wrongly_shaped_array_names_the_expected_shape(tmp_path: Path) -> None:
    np.save(tmp_path / "s.npy", np.zeros((3, 6, 8), dtype=np.uint8))
    with pytest.raises(DataError, match=r"s\.npy' has shape \(3, 6, 8\), but variable 'X' takes images of shape "):
        read_image(tmp_path / "s.npy", RGB)


def test_read_images_stacks_and_names_the_failing_entry(tmp_path: Path) -> None:
    paths = [png(tmp_path / f"{k}.png", pixels(k)) for k in range(3)]
    images = read_images(paths, RGB)
    assert images.shape == (3, 3, 8, 6) and torch.equal(images[2], torch.from_numpy(pixels(2)).permute(2, 0, 1))
    with pytest.raises(DataError, match=r"^entry 2: image file .*missing\.png' for variable 'X' does not exist"):
        read_images([paths[0], tmp_path / "missing.png"], RGB, describe=lambda i: f"entry {i + 1}")
    assert read_images([], RGB).shape == (0, 3, 8, 6)


def test_load_image_value_takes_paths_tensors_and_arrays(tmp_path: Path) -> None:
    array = pixels()
    chw = torch.from_numpy(array).permute(2, 0, 1)
    path = png(tmp_path / "a.png", array)
    assert torch.equal(load_image_value(str(path), RGB), chw)
    assert torch.equal(load_image_value(path, RGB), chw)
    assert torch.equal(load_image_value(array, RGB), chw)  # (H, W, C) as NumPy lays it out
    assert torch.equal(load_image_value(chw.float() / 255, RGB), chw)  # float 0..1 to uint8
    torch.testing.assert_close(load_image_value(chw, FLOAT), chw.float() / 255)  # uint8 to float
    batch = torch.stack([chw, chw])
    assert torch.equal(load_image_value(batch, RGB), batch)


@pytest.mark.parametrize(
    "value,fragment",
    [
        (torch.zeros(2, 8, 6), "has shape (2, 8, 6); give one image of shape (3, 8, 6) or a batch"),
        (torch.zeros(4, 2, 8, 6), "has shape (4, 2, 8, 6)"),
        (torch.full((3, 8, 6), 1.5), "float pixels run 0..1"),
        (torch.full((3, 8, 6), float("nan")), "NaN or infinite"),
        (torch.full((3, 8, 6), 300), "integer pixels run 0..255"),
        ("nope.png", "does not exist"),
        (np.array(["a"]), "dtype"),
    ],
)
def test_bad_values_are_one_line_query_errors(value: object, fragment: str) -> None:
    with pytest.raises(QueryError) as err:
        load_image_value(value, RGB)
    assert fragment in str(err.value) and "\n" not in str(err.value) and "'X'" in str(err.value)


def test_write_png_round_trips_grey_rgb_and_rgba(tmp_path: Path) -> None:
    for channels in (1, 3, 4):
        image = torch.from_numpy(pixels(channels, (channels, 5, 7)))
        path = write_png(tmp_path / f"c{channels}.png", image)
        spec = VariableSpec("X", "image", channels=channels, height=5, width=7)
        assert torch.equal(read_image(path, spec), image)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]  # atomic: no temporary left over
    float_image = torch.full((3, 2, 2), 0.5)
    write_png(tmp_path / "f.png", float_image)
    assert (np.asarray(Image.open(tmp_path / "f.png")) == 128).all()


def test_image_grid_tiles_with_padding() -> None:
    images = torch.stack([torch.full((3, 2, 3), k, dtype=torch.uint8) for k in range(1, 6)])
    grid = image_grid(images, nrow=3, padding=1)
    assert grid.shape == (3, 2 * 3 + 1, 3 * 4 + 1) and grid.dtype == torch.uint8
    assert grid[:, 1:3, 1:4].eq(1).all() and grid[:, 1:3, 5:8].eq(2).all() and grid[:, 4:6, 1:4].eq(4).all()
    assert grid[:, 0].eq(0).all() and grid[:, 4:6, 9:12].eq(0).all()  # padding, and the empty last tile
    assert image_grid(images).shape == (3, 2 * 3 + 1, 3 * 4 + 1)  # nrow defaults to ceil(sqrt(5)) = 3


def test_image_grid_shows_floats_and_other_channel_counts() -> None:
    floats = torch.full((4, 1, 2, 2), 1.0)
    grid = image_grid(floats, nrow=2, padding=0)
    assert grid.shape == (1, 4, 4) and grid.eq(255).all()
    assert image_grid(torch.zeros(2, 5, 3, 3)).shape[0] == 3  # the first 3 channels
    assert image_grid(torch.zeros(2, 2, 3, 3)).shape[0] == 1  # the first one
    with pytest.raises(QueryError, match="nrow"):
        image_grid(floats, nrow=0)
    with pytest.raises(QueryError, match=r"shape \(n, C, H, W\)"):
        image_grid(torch.zeros(0, 3, 2, 2))


def test_save_grid_writes_a_png(tmp_path: Path) -> None:
    images = torch.from_numpy(pixels(0, (5, 3, 8, 6)))
    path = save_grid(tmp_path / "grid.png", images, nrow=5)
    with Image.open(path) as img:
        assert img.size == (5 * 7 + 1, 8 + 2) and img.mode == "RGB"
        assert (np.asarray(img)[1:9, 1:7] == pixels(0, (5, 3, 8, 6))[0].transpose(1, 2, 0)).all()
