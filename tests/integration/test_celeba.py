"""CelebA end to end on a fixture in the official layout: prepare, train ID-GEN from the shipped configs, sample.

The real data cannot be fetched here: the CPU config runs as shipped (its data path and the network
shrunk), the conditional overlay on top of it, and the GPU config's 64x64 stream and model settings on
the CPU for two steps; a corrupt JPEG among the files is skipped by ``prepare`` and counted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.checks import run_cli
from tests.data.celeba_fixture import write_celeba

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "--model.mechanisms.image.base=8",
    "--model.mechanisms.image.groups=4",
    "--model.mechanisms.image.mults=[1, 2]",
    "--model.mechanisms.image.res_blocks=1",
    "--model.mechanisms.image.attention=[]",
    "--model.mechanisms.image.sample_steps=4",
    "--trainer.logger=false",
    "--data.num_workers=0",
    f"--data.graph={ROOT / 'configs/celeba/graph.yaml'}",
]


@pytest.fixture(scope="module")
def celeba(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_celeba(tmp_path_factory.mktemp("celeba") / "celeba", n=40, seed=1)
    (root / "img_align_celeba" / "000002.jpg").write_bytes(b"\xff\xd8\xff not a whole jpeg")
    return root


def test_prepare_then_the_cpu_config_trains_both_queries_and_samples(celeba: Path, tmp_path: Path) -> None:
    shards = tmp_path / "shards" / "celeba16"
    prepared = run_cli(
        "prepare", "celeba", "--root", str(celeba), "--out", str(shards), "--size", "16",
        "--attributes", "Male", "Young", "--shard-rows", "8", "--workers", "2", "--no-progress",
    )  # fmt: skip
    assert prepared.returncode == 0, prepared.stderr[-2000:]
    assert "1 rows skipped" in prepared.stdout and "000002.jpg" in prepared.stderr
    manifest = json.loads((shards / "manifest.json").read_text())
    assert manifest["columns"]["image"]["shape"] == [3, 16, 16] and manifest["splits"]["train"] == 23

    config = str(ROOT / "configs/celeba/idgen_cpu.yaml")
    common = [f"--data.data={shards}", "--trainer.max_steps=4", "--trainer.val_check_interval=2", "--data.batch_size=8"]
    run = tmp_path / "run"
    fit = run_cli("fit", "--config", config, *common, *TINY, f"--trainer.default_root_dir={run}", cwd=tmp_path)
    assert fit.returncode == 0, fit.stderr[-3000:]
    assert "Trained the ID-GEN plan of P(image | do(Male))" in fit.stdout
    out = tmp_path / "faces.csv"
    sample = run_cli("sample", "--ckpt", str(run), "--do", "Male=0", "--n", "6", "--out", str(out), cwd=tmp_path)
    assert sample.returncode == 0, sample.stderr[-2000:]
    faces = torch.load(tmp_path / "faces.image.pt", weights_only=True)
    assert faces.shape == (6, 3, 16, 16) and faces.dtype == torch.uint8

    young = tmp_path / "young"
    overlay = ["--config", str(ROOT / "configs/celeba/young.yaml")]
    fit = run_cli(
        "fit", "--config", config, *overlay, *common, *TINY, f"--trainer.default_root_dir={young}", cwd=tmp_path
    )
    assert fit.returncode == 0, fit.stderr[-3000:]
    assert "P(image | do(Male), Young)" in fit.stdout
    given = run_cli(
        "sample", "--ckpt", str(young), "--do", "Male=0", "--given", "Young=0", "--n", "4",
        "--out", str(tmp_path / "young.csv"), cwd=tmp_path,
    )  # fmt: skip
    assert given.returncode == 0, given.stderr[-2000:]


def test_the_gpu_config_streams_64x64_faces_on_the_cpu(celeba: Path, tmp_path: Path) -> None:
    shards = tmp_path / "celeba64"
    prepared = run_cli(
        "prepare", "celeba", "--root", str(celeba), "--out", str(shards), "--attributes", "Male", "Young",
        "--workers", "1", "--no-progress",
    )  # fmt: skip
    assert prepared.returncode == 0, prepared.stderr[-2000:]
    assert json.loads((shards / "manifest.json").read_text())["columns"]["image"]["shape"] == [3, 64, 64]
    fit = run_cli(
        "fit", "--config", str(ROOT / "configs/celeba/idgen_gpu.yaml"), f"--data.data={shards}",
        "--trainer.accelerator=cpu", "--trainer.precision=32-true", "--trainer.max_steps=2",
        "--trainer.val_check_interval=2", "--data.batch_size=4", "--data.shuffle_buffer=8", *TINY,
        f"--trainer.default_root_dir={tmp_path / 'run'}", cwd=tmp_path,
    )  # fmt: skip
    assert fit.returncode == 0, fit.stderr[-3000:]
    assert "in 1 stage of 2 steps" in fit.stdout
