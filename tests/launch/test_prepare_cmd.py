"""``lightning-causal prepare`` on the command line: one line on success, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightning_causal.launch.cli import main


def test_the_command_converts_and_prints_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "verma"
    argv = ["prepare", "verma", "--rows", "120", "--val-rows", "30", "--out", str(out), "--shard-rows", "50"]
    assert main([*argv, "--no-progress", "--workers", "1"]) == 0
    assert capsys.readouterr().out.strip() == f"Prepared {out}: 150 rows (train 120, val 30) in 4 shards"
    assert main(["prepare", "vrema", "--out", str(tmp_path / "x")]) == 2
    assert "unknown source 'vrema'; did you mean 'verma'?" in capsys.readouterr().err
    assert main(["prepare", "table", "--out", str(tmp_path / "y")]) == 2
    assert "needs --root" in capsys.readouterr().err
