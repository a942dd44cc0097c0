"""ID-GEN with image variables: one config with image, categorical and continuous variables and a latent
confounder trains and samples from the shell; the napkin digits plan trains, writes image shards and
answers an intervention given as an image."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch

from lightning_causal.data.shards import read_shards
from lightning_causal.datamodules import NapkinDigitsDataModule
from lightning_causal.errors import ConfigError, QueryError
from lightning_causal.image_files import write_png
from lightning_causal.models import IDGEN
from lightning_causal.models.idgen import fit_idgen, generate_dataset, stage_trainer_factory
from lightning_causal.variables.spec import variables_to_dict
from tests.checks import run_cli

ROOT = Path(__file__).resolve().parents[2]


def _tiny_napkin(
    dm: NapkinDigitsDataModule,
    image: dict[str, Any],
    guidance: float = 0.0,
    generation_guidance: float | None = None,
    generated_size: int = 24,
) -> IDGEN:
    """ID-GEN of the napkin digits' P(Y | do(X)) with tiny networks."""
    return IDGEN(
        dm.graph,
        variables=variables_to_dict(dm.variables),
        treatment="X",
        outcome="Y",
        mechanisms={"hidden": 16, "image": {**image, "guidance": guidance}},
        generated_size=generated_size,
        seed=0,
        generation_guidance=generation_guidance,
    )


def test_a_table_with_an_image_column_and_a_latent_confounder_trains_and_samples_from_one_config(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    fit = [
        "fit",
        "--config",
        str(ROOT / "configs/idgen/spots.yaml"),
        "--data.data",
        str(ROOT / "configs/tabular/spots.csv"),
        "--data.graph",
        str(ROOT / "configs/tabular/spots.yaml"),
        "--trainer.max_steps=6",
        "--trainer.val_check_interval=3",
        "--model.mechanisms.image.base=8",
        "--model.mechanisms.image.groups=4",
        "--model.mechanisms.image.sample_steps=4",
        f"--trainer.default_root_dir={run}",
    ]
    first = run_cli(*fit, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Trained the ID-GEN plan of P(Y | do(T))" in first.stdout
    manifest = json.loads((run / "idgen.json").read_text())
    assert manifest  # the run folder is complete
    ckpt = torch.load(run / "idgen.ckpt", map_location="cpu", weights_only=False)
    variables = ckpt["hyper_parameters"]["variables"]
    assert variables["M"]["type"] == "image" and variables["T"]["type"] == "categorical"
    assert any(".banks.image.denoisers." in key for key in ckpt["state_dict"])  # the image factor has a UNet

    out = tmp_path / "y.csv"
    sample = run_cli("sample", "--ckpt", str(run), "--do", "T=2", "--n", "30", "--out", str(out))
    assert sample.returncode == 0, sample.stderr[-3000:]
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["Y"] and len(frame) == 30 and frame["Y"].notna().all()


def test_napkin_digits_plan_trains_writes_image_shards_and_answers_an_image_intervention(
    tmp_path: Path, tiny_image: dict[str, Any]
) -> None:
    dm = NapkinDigitsDataModule(size=8, n_train=96, n_val=16, batch_size=32, seed=0)
    model = _tiny_napkin(dm, tiny_image, generated_size=40)
    factory = stage_trainer_factory(3, progress=False, accelerator="cpu", ema=None)
    fit_idgen(model, dm, tmp_path / "run", factory, batch_size=32, shard_rows=16, progress=False)
    generated = read_shards(tmp_path / "run" / "data" / "D1")
    assert generated["Y"].dtype == torch.uint8 and generated["Y"].shape == (40, 3, 8, 8)
    assert generated["X"].shape == (40, 3, 8, 8) and generated["W2"].dtype == torch.long

    x = dm.scm.render_x(3, 0, 1, 1, torch.Generator().manual_seed(0))[0]
    out = model.sample(12, {"X": x}, seed=1)
    assert out["Y"].shape == (12, 3, 8, 8) and out["Y"].dtype == torch.uint8
    assert torch.equal(out["Y"], model.sample(12, {"X": x}, seed=1)["Y"])
    assert not torch.equal(out["Y"], model.sample(12, {"X": x}, seed=1, guidance=2.0)["Y"])

    png = tmp_path / "x.png"
    write_png(png, x)
    loaded = IDGEN.load(tmp_path / "run" / "idgen.ckpt")
    assert torch.equal(loaded.sample(12, {"X": str(png)}, seed=1)["Y"], out["Y"])
    result = run_cli(
        "sample", "--ckpt", str(tmp_path / "run"), "--do", f"X={png}", "--n", "10", "--out", str(tmp_path / "y.csv")
    )
    assert result.returncode == 0, result.stderr[-3000:]
    images = torch.load(tmp_path / "y.Y.pt", weights_only=True)
    assert images.shape == (10, 3, 8, 8) and images.dtype == torch.uint8
    assert (tmp_path / "y.Y.png").is_file()
    bad = run_cli("sample", "--ckpt", str(tmp_path / "run"), "--do", f"X={png}", "--guidance", "-1", "--out", "z.csv")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "--guidance is -1" in bad.stderr
    ancestral = run_cli(
        "sample",
        "--ckpt",
        str(tmp_path / "run"),
        "--do",
        f"X={png}",
        "--n",
        "10",
        "--eta",
        "1",
        "--out",
        "a.csv",
        cwd=tmp_path,
    )
    assert ancestral.returncode == 0, ancestral.stderr[-3000:]
    drawn = torch.load(tmp_path / "a.Y.pt", weights_only=True)
    assert torch.equal(drawn, loaded.sample(10, {"X": str(png)}, seed=0, eta=1.0)["Y"]) and not torch.equal(
        drawn, images
    )
    bad = run_cli("sample", "--ckpt", str(tmp_path / "run"), "--do", f"X={png}", "--eta", "-1", "--out", "z.csv")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "--eta is -1" in bad.stderr


def test_generation_guidance_weights_the_image_factors_that_draw_generated_datasets(
    tmp_path: Path, tiny_image: dict[str, Any]
) -> None:
    dm = NapkinDigitsDataModule(size=8, n_train=64, n_val=16, batch_size=32, seed=0)
    factory = stage_trainer_factory(3, progress=False, accelerator="cpu", ema=None)
    model = fit_idgen(
        _tiny_napkin(dm, tiny_image, 0.0, None), dm, tmp_path / "run", factory, batch_size=32, progress=False
    )
    (dataset,) = [d for d in model.plan.datasets if d.source is not None]

    def generated(folder: str, network_guidance: float, generation_guidance: float | None) -> dict[str, torch.Tensor]:
        same = IDGEN.load_from_checkpoint(  # the trained run, with other guidance settings
            tmp_path / "run" / "idgen.ckpt",
            mechanisms={"hidden": 16, "image": {**tiny_image, "guidance": network_guidance}},
            generation_guidance=generation_guidance,
        )
        return generate_dataset(same, dataset, dm.train_tensors, tmp_path / folder, 24, 24, torch.device("cpu"), False)

    plain = generated("plain", 0.0, None)
    first = read_shards(tmp_path / "run" / "data" / dataset.name)
    assert torch.equal(plain["Y"], first["Y"][: len(plain["Y"])])  # the run's own dataset, drawn unguided
    guided = generated("guided", 0.0, 3.0)
    assert not torch.equal(plain["Y"], guided["Y"])  # the drawn images follow the weight
    assert torch.equal(plain["W2"], guided["W2"])  # carried columns do not
    assert torch.equal(generated("default", 3.0, None)["Y"], guided["Y"])  # unset: network.image.guidance
    assert torch.equal(generated("off", 3.0, 0.0)["Y"], plain["Y"])  # 0 turns it off under a guided default


def test_generation_guidance_is_checked_and_a_run_folder_of_another_weight_is_refused(
    tmp_path: Path, tiny_image: dict[str, Any]
) -> None:
    dm = NapkinDigitsDataModule(size=8, n_train=64, n_val=16, batch_size=32, seed=0)
    for bad in (-1.0, float("nan"), float("inf"), True, "1"):
        with pytest.raises(QueryError, match="generation_guidance"):
            _tiny_napkin(dm, tiny_image, 0.0, bad)  # type: ignore[arg-type]
    factory = stage_trainer_factory(2, progress=False, accelerator="cpu", ema=None)
    fit_idgen(_tiny_napkin(dm, tiny_image, 0.0, 1.0), dm, tmp_path / "run", factory, batch_size=32, progress=False)
    with pytest.raises(ConfigError, match="holds a run of other settings"):
        fit_idgen(_tiny_napkin(dm, tiny_image, 0.0, 2.0), dm, tmp_path / "run", factory, batch_size=32, progress=False)


def test_a_dcm_with_an_image_node_trains_samples_and_writes_image_files_from_the_shell(tmp_path: Path) -> None:
    graph = tmp_path / "dag.yaml"  # the spots table's graph without its latent confounder: a DAG for the DCM
    graph.write_text(
        "directed: [T -> M, M -> Y]\n"
        "variables:\n  T: {type: categorical, classes: 3}\n  M: {type: image, channels: 3, height: 8, width: 8}\n"
    )
    table = tmp_path / "spots.csv"
    frame = pd.read_csv(ROOT / "configs/tabular/spots.csv")
    frame["M"] = [str(ROOT / "configs/tabular" / m) for m in frame["M"]]  # absolute paths work too
    frame.to_csv(table, index=False)
    run = tmp_path / "run"
    fit = run_cli(
        "fit",
        "--config",
        str(ROOT / "configs/dcm/tabular.yaml"),
        f"--data.data={table}",
        f"--data.graph={graph}",
        "--data.batch_size=32",
        "--trainer.max_steps=4",
        "--trainer.val_check_interval=2",
        "--model.mechanisms.image.base=8",
        "--model.mechanisms.image.groups=4",
        "--model.mechanisms.image.sample_steps=3",
        f"--trainer.default_root_dir={run}",
        cwd=tmp_path,
    )
    assert fit.returncode == 0, fit.stderr[-3000:]
    ckpt = next(run.rglob("last.ckpt"))
    out = tmp_path / "s.csv"
    sample = run_cli("sample", "--ckpt", str(ckpt), "--do", "T=1", "--n", "12", "--out", str(out))
    assert sample.returncode == 0, sample.stderr[-3000:]
    assert list(pd.read_csv(out).columns) == ["T", "Y"]
    images = torch.load(tmp_path / "s.M.pt", weights_only=True)
    assert images.shape == (12, 3, 8, 8) and images.dtype == torch.uint8
    assert (tmp_path / "s.M.png").is_file()


def test_the_napkin_digits_config_trains_from_prepared_shards_with_the_streaming_overlay(tmp_path: Path) -> None:
    from lightning_causal.data.prepare import prepare
    from lightning_causal.datamodules.sources import make_source

    shards = tmp_path / "shards"
    prepare(make_source("napkin-digits", rows=120, val_rows=20, size=8), shards, 64, progress=False)
    run = tmp_path / "run"
    fit = run_cli(
        "fit",
        "--config",
        str(ROOT / "configs/idgen/napkin_digits_cpu.yaml"),
        "--config",
        str(ROOT / "configs/streaming/napkin_digits.yaml"),
        f"--data.data={shards}",
        "--data.num_workers=0",
        "--trainer.max_steps=3",
        "--trainer.val_check_interval=3",
        "--trainer.logger=false",
        "--model.mechanisms.image.base=8",
        "--model.mechanisms.image.groups=4",
        "--model.mechanisms.image.sample_steps=3",
        "--model.generated_size=100",
        f"--trainer.default_root_dir={run}",
        cwd=tmp_path,
    )
    assert fit.returncode == 0, fit.stderr[-3000:]
    # stage 0 streams the data, stage 1 its generated images, then the free-input model (an EMA copies the
    # model while the streamed stage's loaders are still referenced)
    assert "in 2 stages of 3, 3 steps, then P(W2 | X) in 3 steps" in fit.stdout, fit.stdout[-2000:]
    assert json.loads((run / "idgen.json").read_text())["datasets"] == {"D1": "data/D1"}
