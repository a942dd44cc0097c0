"""Image variables in ``lightning-causal sample`` / ``counterfactual``: ``--do X=file.png`` and the image outputs.

The checkpoint is a real DCM over Z -> X -> Y (X an 8x8 RGB image) saved without training: under
do(X) its samples of X are the given image whatever its weights, which is what the outputs are checked on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from lightning_causal import CausalGraph, QueryError
from lightning_causal.launch.cli import main
from lightning_causal.launch.query_cmd import parse_assignments
from lightning_causal.models import DCM
from lightning_causal.variables import VariableSpec

VARIABLES = {
    "Z": VariableSpec("Z", "continuous"),
    "X": VariableSpec("X", "image", channels=3, height=8, width=8),
    "Y": VariableSpec("Y", "continuous"),
}


def pixels(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)


def png(path: Path, array: np.ndarray) -> Path:
    Image.fromarray(array).save(path)
    return path


def test_do_with_a_path_reads_the_image(tmp_path: Path) -> None:
    path = png(tmp_path / "x.png", pixels())
    values = parse_assignments([f"X={path}", "Z=0.5"], VARIABLES, "--do")
    assert torch.equal(values["X"], torch.from_numpy(pixels()).permute(2, 0, 1)) and values["Z"] == 0.5
    float_spec = {"X": VariableSpec("X", "image", channels=3, height=8, width=8, dtype="float")}
    assert parse_assignments([f"X={path}"], float_spec, "--given")["X"].dtype == torch.float32


@pytest.mark.parametrize(
    "make,fragment",
    [
        (lambda p: "X=" + str(p / "nope.png"), "--do X="),
        (lambda p: "X=" + str(p / "nope.png"), "X is an image variable and the file '"),
        (lambda p: "X=" + str(p / "nope.png"), "nope.png' does not exist; give the path of a PNG or JPEG image (8x8"),
        (lambda p: f"X={p}", "is a folder"),
        (lambda p: "X=" + str(png(p / "big.png", np.zeros((9, 8, 3), np.uint8))), "is 8x9 pixels (width x height)"),
        (lambda p: "X=0.5", "the file '0.5' does not exist"),
    ],
)
def test_bad_image_paths_are_one_line_query_errors(tmp_path: Path, make: Any, fragment: str) -> None:
    with pytest.raises(QueryError) as err:
        parse_assignments([make(tmp_path)], VARIABLES, "--do")
    assert fragment in str(err.value) and "\n" not in str(err.value)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory, cpu_trainer: Callable[..., L.Trainer]) -> str:
    """The checkpoint of a DCM over Z -> X -> Y with an image X (its root Z keeps rows of one batch)."""
    graph = CausalGraph(directed=[("Z", "X"), ("X", "Y")])
    image = {"base": 8, "mults": (1,), "res_blocks": 1, "attention": (), "groups": 4, "cond_dim": 8, "sample_steps": 2}
    dcm = DCM(graph, dict(VARIABLES), {"hidden": 8, "timesteps": 10, "image": image})
    dcm.node_mechanisms.observe({"Z": torch.randn(32, 1)})
    trainer = cpu_trainer(max_steps=1)
    trainer.strategy.connect(dcm)
    path = tmp_path_factory.mktemp("image_dcm") / "dcm.ckpt"
    trainer.save_checkpoint(path)
    return str(path)


def test_sample_writes_the_table_the_tensor_and_the_grid(
    model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = png(tmp_path / "x.png", pixels())
    out = tmp_path / "samples.csv"
    code = main(["sample", "--ckpt", model, "--n", "70", "--do", f"X={path}", "--out", str(out)])
    assert code == 0
    assert list(pd.read_csv(out).columns) == ["Z", "Y"]
    images = torch.load(tmp_path / "samples.X.pt", weights_only=True)
    assert images.shape == (70, 3, 8, 8) and images.dtype == torch.uint8
    assert torch.equal(images, torch.from_numpy(pixels()).permute(2, 0, 1).expand(70, 3, 8, 8))
    with Image.open(tmp_path / "samples.X.png") as grid:
        assert grid.size == (8 * 9 + 1, 8 * 9 + 1)  # the first 64 images, 8 per row
    printed = capsys.readouterr().out
    assert "samples.X.pt" in printed and "samples.X.png" in printed


def test_a_missing_image_file_is_one_line_on_the_command_line(
    model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "s.csv"
    assert main(["sample", "--ckpt", model, "--do", "X=nope.png", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--do X=nope.png" in err and "does not exist" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_shift_on_an_image_is_refused_before_reading_a_file(model: str, tmp_path: Path) -> None:
    with pytest.raises(QueryError, match="--shift X: shifts apply to continuous variables; use --do for X"):
        main(["sample", "--ckpt", model, "--shift", "X=1", "--out", str(tmp_path / "s.csv"), "--debug"])
