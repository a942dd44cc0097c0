"""``lightning-causal prepare`` on the command line: one line on success, one-line errors."""

from __future__ import annotations

import re
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


def test_fit_on_a_stream_names_the_skipped_samples_in_its_final_line(tmp_path: Path) -> None:
    import io
    import subprocess
    import tarfile

    from tests.checks import run_cli

    root = Path(__file__).resolve().parents[2]
    assert main(["prepare", "triangle", "--rows", "200", "--val-rows", "20", "--out", str(tmp_path / "s"),
                 "--shard-rows", "50", "--workers", "1", "--no-progress"]) == 0  # fmt: skip
    shard = tmp_path / "s" / "train-000001.tar"
    with tarfile.open(shard) as tar:
        members = [(m.name, tar.extractfile(m).read()) for m in tar]  # type: ignore[union-attr]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for k, (name, payload) in enumerate(members):
            data = b"garbage" if k == 4 else payload
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    shard.write_bytes(buffer.getvalue())

    def fit_on_stream(folder: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return run_cli(
            "fit", "--config", str(root / "configs/dcm/triangle_na.yaml"),
            "--data=lightning_causal.datamodules.StreamingDataModule", f"--data.data={tmp_path / 's'}",
            "--trainer.max_steps=8", "--trainer.logger=false", f"--trainer.default_root_dir={tmp_path / folder}",
            *extra, cwd=tmp_path,
        )  # fmt: skip

    fit = fit_on_stream("run", "--data.batch_size=32")
    assert fit.returncode == 0, fit.stderr[-2000:]
    last = fit.stdout.strip().splitlines()[-1]
    assert re.search(r"\b[12] samples were skipped", last) and "train-000001.tar" in last  # once or twice in 8 steps
    strict = fit_on_stream("strict", "--data.max_skipped=0")
    assert strict.returncode == 2
    assert re.match(
        r"error: \d+ samples of split 'train' .* past the limit of 0", strict.stderr.strip().splitlines()[-1]
    )
