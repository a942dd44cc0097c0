"""plots: the interventional histogram grid and the counterfactual scatter are written as real PNGs whose size
follows the grid, both series are drawn (their colours are found in the pixels), and a bad path is one ConfigError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lightning_causal.errors import ConfigError
from lightning_causal.plots import plot_counterfactuals, plot_interventional

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
N = 120


def _samples(seed: int, shift: float = 0.0) -> dict[str, torch.Tensor]:
    """A scalar as (n,), a vector as (n, 2), a constant as (n, 1) and a tiny image as (n, 1, 4, 4)."""
    g = torch.Generator().manual_seed(seed)
    return {
        "a": torch.randn(N, generator=g) + shift,
        "b": torch.randn(N, 2, generator=g, dtype=torch.float64) + shift,
        "c": torch.ones(N, 1),  # every value equal: no quantile range to bin
        "img": torch.rand(N, 1, 4, 4, generator=g),
    }


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB")).astype(int)


def _has_colour(pixels: np.ndarray, rgb: tuple[int, int, int], alpha: float, count: int = 20) -> bool:
    """Whether at least ``count`` pixels show ``rgb`` drawn with ``alpha`` over the white background."""
    expected = np.array(rgb) * alpha + 255 * (1 - alpha)
    return int((np.abs(pixels - expected).max(axis=-1) <= 3).sum()) >= count


def _size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def test_the_interventional_grid_is_a_png_with_both_histograms(tmp_path: Path) -> None:
    panels = [("do(X=0)", _samples(0), _samples(1, 0.5)), ("do(X=1)", _samples(2), _samples(3, -0.5))]
    path = plot_interventional(panels, ["a", "b", "c", "img"], tmp_path / "grid.png", title="P(V | do(X))")
    assert path == tmp_path / "grid.png"
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 10_000
    pixels = _pixels(path)
    assert _has_colour(pixels, (0x2A, 0x9D, 0x8F), 0.55)  # exact truth
    assert _has_colour(pixels, (0xE7, 0x6F, 0x51), 0.55)  # model
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.png"]


def test_the_grid_grows_with_its_rows_and_columns(tmp_path: Path) -> None:
    one = [("do(X=0)", _samples(0), _samples(1))]
    two = [*one, ("do(X=1)", _samples(2), _samples(3))]
    w11, h11 = _size(plot_interventional(one, ["a"], tmp_path / "1x1.png"))
    w13, h13 = _size(plot_interventional(one, ["a", "b", "c"], tmp_path / "1x3.png"))
    w21, h21 = _size(plot_interventional(two, ["a"], tmp_path / "2x1.png"))
    assert 150 < w11 < 800 and 100 < h11 < 600
    assert w13 / w11 == pytest.approx(3.0, rel=0.1) and h13 == pytest.approx(h11, rel=0.05)
    assert h21 / h11 == pytest.approx(2.0, rel=0.1) and w21 == pytest.approx(w11, rel=0.05)


def test_the_counterfactual_scatter_shows_factual_model_and_diagonal(tmp_path: Path) -> None:
    truth, factual = _samples(4), _samples(5)
    predicted = {
        k: v + 0.1 * torch.randn(v.shape, generator=torch.Generator().manual_seed(6)) for k, v in truth.items()
    }
    path = plot_counterfactuals(truth, predicted, factual, ["a", "b"], tmp_path / "cf.png", title="counterfactuals")
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 10_000
    pixels = _pixels(path)
    assert _has_colour(pixels, (0xE7, 0x6F, 0x51), 0.6)  # model counterfactuals
    assert _has_colour(pixels, (0xAD, 0xB5, 0xBD), 0.35)  # factual values
    assert _has_colour(pixels, (0x26, 0x46, 0x53), 1.0)  # the diagonal
    width, height = _size(path)
    assert width > height  # two panels side by side


def test_one_counterfactual_panel_per_variable(tmp_path: Path) -> None:
    s = _samples(7)
    w1, _ = _size(plot_counterfactuals(s, s, s, ["a"], tmp_path / "one.png"))
    w3, _ = _size(plot_counterfactuals(s, s, s, ["a", "b", "img"], tmp_path / "three.png"))
    assert w3 / w1 == pytest.approx(3.0, rel=0.15)


@pytest.mark.parametrize("suffix,magic", [(".pdf", b"%PDF-"), (".svg", b"<?xml")])
def test_the_plots_can_also_be_written_as_pdf_or_svg(tmp_path: Path, suffix: str, magic: bytes) -> None:
    s = _samples(8)
    path = plot_interventional([("observational", s, s)], ["a"], tmp_path / f"grid{suffix}")
    assert path.read_bytes().startswith(magic)


@pytest.mark.parametrize("plot", ["interventional", "counterfactuals"])
def test_an_unknown_suffix_is_one_config_error_and_nothing_is_written(tmp_path: Path, plot: str) -> None:
    s = _samples(9)
    with pytest.raises(
        ConfigError, match=r"^figure .*out\.txt'.*unknown suffix '\.txt'; use \.png, \.pdf, \.svg$"
    ) as err:
        if plot == "interventional":
            plot_interventional([("obs", s, s)], ["a"], tmp_path / "out.txt")
        else:
            plot_counterfactuals(s, s, s, ["a"], tmp_path / "out.txt")
    assert "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_as_the_path_is_one_config_error(tmp_path: Path) -> None:
    folder = tmp_path / "plots.png"
    folder.mkdir()
    s = _samples(10)
    with pytest.raises(ConfigError, match=r"is a folder; give a file name$") as err:
        plot_counterfactuals(s, s, s, ["a"], folder)
    assert "\n" not in str(err.value)
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_a_previous_plot_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "grid.png"
    target.write_bytes(b"stale")
    s = _samples(11)
    plot_interventional([("obs", s, s)], ["a"], str(target))
    assert target.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize("bad", ["some", "all"])
def test_non_finite_samples_of_a_diverging_model_still_plot(tmp_path: Path, bad: str) -> None:
    truth, model = _samples(10), _samples(11)
    model = {k: v.clone() for k, v in model.items()}
    if bad == "all":
        model["a"][:] = float("nan")
    else:
        model["a"][:5] = float("inf")
    grid = plot_interventional([("obs", truth, model)], ["a", "b"], tmp_path / "grid.png")
    cf = plot_counterfactuals(truth, model, truth, ["a", "b"], tmp_path / "cf.png")
    assert _size(grid)[0] > 0 and _size(cf)[0] > 0
