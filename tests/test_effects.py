"""Per-row effect tables: the draws' long table, the summary's statistics and effects, risk events."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from lightning_causal.effects import draws_table, plot_row, risk, summary_table
from lightning_causal.errors import QueryError
from lightning_causal.variables.spec import VariableSpec

SPECS = {
    "Y1": VariableSpec("Y1", "continuous"),
    "Y2": VariableSpec("Y2", "binary"),
    "Y3": VariableSpec("Y3", "categorical", classes=3, categories=("low", "mid", "high")),
}


def _draws(shift: float = 0.0) -> dict[str, torch.Tensor]:
    """Two rows of 4 draws with values a hand computation can follow."""
    return {
        "Y1": torch.tensor([[0.0, 1.0, 2.0, 3.0], [-1.0, -1.0, 5.0, 5.0]]) + shift,
        "Y2": torch.tensor([[0, 1, 1, 1], [0, 0, 0, 1]]),
        "Y3": torch.tensor([[0, 0, 2, 2], [1, 1, 1, 1]]),
    }


def test_the_draws_table_has_a_row_per_draw_with_labels() -> None:
    frame = draws_table(_draws(), SPECS)
    assert list(frame.columns) == ["row", "draw", "Y1", "Y2", "Y3"] and len(frame) == 8
    assert frame["row"].tolist() == [0, 0, 0, 0, 1, 1, 1, 1] and frame["draw"].tolist() == [0, 1, 2, 3] * 2
    assert frame["Y3"].tolist()[:4] == ["low", "low", "high", "high"] and frame["Y1"].tolist()[6] == 5.0


def test_the_summary_gives_means_quantiles_class_probabilities_and_effects() -> None:
    frame = summary_table(_draws(), SPECS, level=0.5, against=_draws(shift=-2.0), risks=["Y1 > 0.5 & Y2 == 1"])
    assert frame["Y1_mean"].tolist() == [1.5, 2.0] and frame["Y1_q50"].tolist() == [1.5, 2.0]
    assert frame["Y1_q25"].tolist() == [0.75, -1.0] and frame["Y1_q75"].tolist() == [2.25, 5.0]
    assert frame["Y2_p1"].tolist() == [0.75, 0.25] and frame["Y3_plow"].tolist() == [0.5, 0.0]
    assert frame["Y1_effect"].tolist() == [2.0, 2.0] and frame["Y2_p1_effect"].tolist() == [0.0, 0.0]
    assert frame["risk_1"].tolist() == [0.75, 0.25]  # row 0: draws 1, 2, 3; row 1: draw 3
    assert frame["risk_1_against"].tolist() == [0.25, 0.25] and frame["risk_1_effect"].tolist() == [0.5, 0.0]


def test_risk_reads_labels_or_and_every_comparison() -> None:
    draws = _draws()
    assert risk(draws, SPECS, "Y3 == high | Y1 < 0").tolist() == [0.5, 0.5]
    assert risk(draws, SPECS, "Y3 != 'mid' & Y1 >= 2").tolist() == [0.5, 0.0]
    assert risk(draws, SPECS, "Y1<=0").tolist() == [0.25, 0.5]
    for bad, fragment in [
        ("", "empty"),
        ("Y1 >> 2", "cannot read"),
        ("Q > 1", "'Q' is not an outcome"),
        ("Y3 == top", "'top' is not a number (its labels: low, mid, high)"),
    ]:
        with pytest.raises(QueryError, match=re.escape(fragment)):
            risk(draws, SPECS, bad)
    with pytest.raises(QueryError, match=r"level is 1\.5"):
        summary_table(draws, SPECS, level=1.5)


def test_a_row_plot_is_written(tmp_path: Path) -> None:
    path = plot_row(1, {"A=1": _draws(), "A=0": _draws(-2.0)}, SPECS, tmp_path / "row.png")
    assert path.is_file() and path.read_bytes()[:4] == b"\x89PNG"
