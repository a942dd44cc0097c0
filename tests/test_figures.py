"""figures: pyplot on the Agg backend; save_figure writes PNG, PDF or SVG by the suffix, at the asked size,
atomically, closes the figure, and refuses a bad path with one ConfigError before writing anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from lightning_causal.errors import ConfigError
from lightning_causal.figures import FIGURE_SUFFIXES, pyplot, save_figure

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _figure(width: float = 2.0, height: float = 1.0):  # type: ignore[no-untyped-def]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(width, height))
    ax.plot([0, 1, 2], [0, 1, 4])
    return fig


def test_pyplot_is_matplotlib_pyplot_on_the_file_only_backend() -> None:
    import matplotlib

    plt = pyplot()
    assert plt.__name__ == "matplotlib.pyplot"
    assert matplotlib.get_backend().lower() == "agg"


def test_the_suffixes_are_png_pdf_and_svg() -> None:
    assert FIGURE_SUFFIXES == (".png", ".pdf", ".svg")


@pytest.mark.parametrize("dpi,size", [(50, (100, 50)), (100, (200, 100))])
def test_a_png_has_the_figure_size_times_the_dpi(tmp_path: Path, dpi: int, size: tuple[int, int]) -> None:
    path = save_figure(_figure(2.0, 1.0), tmp_path / "plot.png", dpi=dpi, tight=False)
    assert path == tmp_path / "plot.png"
    assert path.read_bytes()[:8] == PNG_MAGIC
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == size


def test_tight_bounds_crop_the_empty_margin(tmp_path: Path) -> None:
    plt = pyplot()
    fig = plt.figure(figsize=(4, 4))
    fig.text(0.5, 0.5, "x")  # one small glyph in a large empty figure
    with Image.open(save_figure(fig, tmp_path / "tight.png", dpi=50)) as image:
        width, height = image.size
    assert width < 100 and height < 100  # the full figure would be 200 x 200


@pytest.mark.parametrize(
    "name,check",
    [
        ("plot.pdf", lambda data: data.startswith(b"%PDF-")),
        ("plot.svg", lambda data: b"<svg" in data[:2000] and data.rstrip().endswith(b"</svg>")),
        ("PLOT.PNG", lambda data: data.startswith(PNG_MAGIC)),
    ],
)
def test_the_format_follows_the_suffix(tmp_path: Path, name: str, check) -> None:  # type: ignore[no-untyped-def]
    data = save_figure(_figure(), tmp_path / name).read_bytes()
    assert len(data) > 500
    assert check(data)


def test_the_figure_is_closed_after_saving(tmp_path: Path) -> None:
    plt = pyplot()
    fig = _figure()
    assert plt.fignum_exists(fig.number)
    save_figure(fig, tmp_path / "closed.png")
    assert not plt.fignum_exists(fig.number)


def test_missing_folders_are_made_and_no_temporary_file_remains(tmp_path: Path) -> None:
    path = save_figure(_figure(), tmp_path / "a" / "b" / "fig.svg")
    assert path.is_file()
    assert [p.name for p in path.parent.iterdir()] == ["fig.svg"]


def test_an_existing_figure_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "fig.png"
    target.write_bytes(b"not a png")
    save_figure(_figure(), target)
    assert target.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize("name", ["plot.jpg", "plot.txt", "plot"])
def test_another_suffix_is_refused_before_anything_is_written(tmp_path: Path, name: str) -> None:
    fig = _figure()
    try:
        with pytest.raises(ConfigError, match=r"^figure .*: unknown suffix .*; use \.png, \.pdf, \.svg$") as err:
            save_figure(fig, tmp_path / name)
        assert "\n" not in str(err.value)
        assert list(tmp_path.iterdir()) == []
    finally:
        pyplot().close(fig)


def test_a_folder_is_refused_and_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "plot.png"
    folder.mkdir()
    fig = _figure()
    try:
        with pytest.raises(ConfigError, match="is a folder; give a file name") as err:
            save_figure(fig, folder)
        assert "\n" not in str(err.value)
        assert folder.is_dir() and list(folder.iterdir()) == []
    finally:
        pyplot().close(fig)


def test_a_refused_path_still_closes_the_figure(tmp_path: Path) -> None:
    plt = pyplot()
    fig = _figure()
    try:
        with pytest.raises(ConfigError):
            save_figure(fig, tmp_path / "plot.jpg")
        assert not plt.fignum_exists(fig.number)
    finally:
        plt.close(fig)
