"""Hard interventions on image variables: one image, n images or an image file, in the spec's dtype."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lightning_causal import QueryError
from lightning_causal.variables import VariableSpec, hard_value

RGB = VariableSpec("X", "image", channels=3, height=4, width=5)
FLOAT = VariableSpec("F", "image", channels=3, height=4, width=5, dtype="float")


def image(seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (3, 4, 5), dtype=np.uint8))


@pytest.mark.parametrize("shape", [(3, 4, 5), (1, 3, 4, 5)])
def test_one_image_is_broadcast_to_n_rows(shape: tuple[int, ...]) -> None:
    one = image().reshape(shape)
    out = hard_value(RGB, one, 7)
    assert out.shape == (7, 3, 4, 5) and out.dtype == torch.uint8
    assert torch.equal(out, image().expand(7, 3, 4, 5))
    out[0, 0, 0, 0] = 0  # a copy: rows do not share memory with the value or each other
    assert torch.equal(out[1], image())


def test_n_images_are_taken_row_by_row() -> None:
    batch = torch.stack([image(k) for k in range(4)])
    assert torch.equal(hard_value(RGB, batch, 4), batch)


def test_values_convert_to_the_spec_dtype() -> None:
    u8 = image()
    torch.testing.assert_close(hard_value(FLOAT, u8, 2), (u8.float() / 255).expand(2, 3, 4, 5))
    assert torch.equal(hard_value(RGB, u8.float() / 255, 2), u8.expand(2, 3, 4, 5))
    assert torch.equal(hard_value(RGB, u8.permute(1, 2, 0).numpy(), 2), u8.expand(2, 3, 4, 5))  # NumPy (H, W, C)
    assert hard_value(FLOAT, torch.full((3, 4, 5), 0.5), 3).dtype == torch.float32


def test_a_path_reads_the_image_file(tmp_path: Path) -> None:
    u8 = image()
    Image.fromarray(u8.permute(1, 2, 0).numpy()).save(tmp_path / "x.png")
    assert torch.equal(hard_value(RGB, str(tmp_path / "x.png"), 3), u8.expand(3, 3, 4, 5))
    assert torch.equal(hard_value(RGB, tmp_path / "x.png", 1), u8.unsqueeze(0))


@pytest.mark.parametrize(
    "value,fragment",
    [
        (torch.zeros(3, 5, 4), "has shape (3, 5, 4); give one image of shape (3, 4, 5)"),
        (torch.zeros(2, 3, 4, 5), "gives 2 images for 6 samples; give one image of shape (3, 4, 5) or 6 of them"),
        (torch.full((3, 4, 5), float("inf")), "NaN or infinite"),
        (torch.full((3, 4, 5), -0.1), "float pixels run 0..1"),
        (torch.full((3, 4, 5), 256), "integer pixels run 0..255"),
        (2.0, "has shape (); give one image"),
        ("missing.png", "missing.png' for variable 'X' does not exist"),
    ],
)
def test_bad_image_interventions_are_one_line_query_errors(value: object, fragment: str) -> None:
    with pytest.raises(QueryError) as err:
        hard_value(RGB, value, 6)
    message = str(err.value)
    assert fragment in message and "\n" not in message and "X" in message


def test_other_kinds_are_unchanged() -> None:
    assert torch.equal(hard_value(VariableSpec("c", "categorical", classes=3), 2, 3), torch.tensor([2, 2, 2]))
    assert hard_value(VariableSpec("v", "continuous", dim=2), [1.0, 2.0], 4).shape == (4, 2)
