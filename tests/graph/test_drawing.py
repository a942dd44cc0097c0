"""Graph drawings are written as PNG files."""

from __future__ import annotations

from lightning_causal import CausalGraph
from lightning_causal.graph import draw_graph


def test_draw_writes_a_png(tmp_path, napkin: CausalGraph) -> None:  # type: ignore[no-untyped-def]
    import matplotlib.image

    path = draw_graph(napkin, tmp_path / "napkin.png", title="napkin")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100
    # some pixels are the dashed confounder colour (#c1121f)
    red = (image[..., 0] > 0.6) & (image[..., 1] < 0.2) & (image[..., 2] < 0.25)
    assert red.sum() > 20
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file left behind"
