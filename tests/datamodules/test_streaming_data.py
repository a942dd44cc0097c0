"""StreamingDataModule: the manifest's graph and statistics, every row, images, a real Trainer resumed mid-epoch."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from lightning_causal.data.prepare import prepare
from lightning_causal.data.shards import read_shards
from lightning_causal.datamodules import StreamingDataModule
from lightning_causal.datamodules.sources import make_source
from lightning_causal.errors import DataError
from lightning_causal.mechanisms import MechanismConfig
from lightning_causal.models import DCM


def test_the_data_module_reads_the_manifest_graph_statistics_and_every_row(tmp_path: Path) -> None:
    prepare(make_source("frontdoor", rows=300, val_rows=40, seed=2), tmp_path, 100, progress=False)
    dm = StreamingDataModule(str(tmp_path), batch_size=32)
    assert sorted(dm.graph.nodes) == ["M", "X", "Y"] and dm.graph.bidirected == (("X", "Y"),)
    whole = read_shards(tmp_path, "train")
    assert dm.variables["Y"].mean == pytest.approx(tuple(whole["Y"].double().mean(0).tolist()))
    for split in ("train", "val"):
        rows = dm.rows(split)
        torch.testing.assert_close(rows["X"], read_shards(tmp_path, split)["X"], rtol=0, atol=0)
    assert len(dm.train_dataloader()) == 300 // 32 and len(dm.val_dataloader()) == 2
    graph = tmp_path.parent / "g.yaml"
    graph.write_text("directed: [[X, M], [M, Z]]\n")
    with pytest.raises(DataError, match="graph node 'Z' is not a column"):
        StreamingDataModule(str(tmp_path), graph=str(graph))
    with pytest.raises(DataError, match=r"no manifest\.json.*prepare"):
        StreamingDataModule(str(tmp_path / "nowhere"))


STEPS = 14  # 300 rows in batches of 32: 9 batches an epoch (the DCM suite's triangle, no latents)


def _fit(make: Callable[..., L.Trainer], data: Path, root: Path, workers: int, ckpt: Path | None = None) -> Any:
    L.seed_everything(0, verbose=False)
    dm = StreamingDataModule(str(data), batch_size=32, num_workers=workers, shuffle_buffer=50, seed=4)
    model = DCM(dm.graph, dm.variables, MechanismConfig(hidden=16, timesteps=10), seed=5)
    seen: list[int] = []

    class Record(L.Callback):
        def on_train_batch_start(self, trainer: L.Trainer, module: Any, batch: Any, batch_idx: int) -> None:
            first = batch[dm.graph.nodes[0]]
            seen.extend(first.reshape(-1).mul(1e6).round().long().tolist()[:2])

    callbacks: list[L.Callback] = [Record()]
    if ckpt is None:
        callbacks.append(ModelCheckpoint(dirpath=root, every_n_train_steps=5, save_top_k=-1, filename="{step}"))
    trainer = make(
        max_steps=STEPS,
        limit_val_batches=0,
        callbacks=callbacks,
        enable_checkpointing=ckpt is None,
        default_root_dir=root,
    )
    trainer.fit(model, dm, ckpt_path=ckpt)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, seen


@pytest.mark.parametrize("workers", [0, 2])
def test_a_trainer_resumed_mid_epoch_sees_the_batches_and_ends_with_the_weights_of_a_straight_run(
    tmp_path: Path, cpu_trainer: Callable[..., L.Trainer], workers: int
) -> None:
    data = tmp_path / "data"
    prepare(make_source("triangle", rows=300, val_rows=40, seed=2), data, 64, progress=False)
    weights, seen = _fit(cpu_trainer, data, tmp_path / "a", workers)
    resumed, tail = _fit(cpu_trainer, data, tmp_path / "b", workers, ckpt=tmp_path / "a" / "step=5.ckpt")
    assert tail == seen[2 * 5 :]  # batches 6..14, the second epoch included
    for name, value in weights.items():
        assert torch.equal(resumed[name], value), name


def test_the_napkin_digits_stream_as_images(tmp_path: Path) -> None:
    prepare(make_source("napkin-digits", rows=40, val_rows=8, size=8), tmp_path, 16, progress=False)
    dm = StreamingDataModule(str(tmp_path), batch_size=8)
    batch = next(iter(dm.train_dataloader()))
    assert batch["X"].shape == (8, 3, 8, 8) and batch["X"].dtype == torch.uint8
    assert dm.variables["X"].is_image and dm.variables["W2"].classes == 20


def _idgen(dm: StreamingDataModule, **settings: Any) -> Any:
    """ID-GEN of P(Y | do(X)) on the streamed data's graph and variables (``settings``: the model's others)."""
    from lightning_causal.models import IDGEN
    from lightning_causal.variables.spec import variables_to_dict

    return IDGEN(dm.graph, variables=variables_to_dict(dm.variables), treatment=("X",), outcome=("Y",), **settings)


def test_idgen_trains_from_the_stream_and_keeps_only_the_columns_it_copies(
    tmp_path: Path, tiny_mechanisms: dict[str, Any]
) -> None:
    from lightning_causal.models.idgen import fit_idgen, stage_trainer_factory
    from lightning_causal.models.idgen.stages import memory_columns

    prepare(make_source("frontdoor", rows=600, val_rows=60, seed=1), tmp_path / "data", 200, progress=False)
    dm = StreamingDataModule(str(tmp_path / "data"), batch_size=64, seed=2)
    model = _idgen(dm, mechanisms=tiny_mechanisms, marginals="learn", seed=0)  # stage 1 trains on generated rows
    factory = stage_trainer_factory(20, progress=False, accelerator="cpu")
    fit_idgen(model, dm, tmp_path / "run", factory, progress=False)
    steps = json.loads((tmp_path / "run" / "idgen.json").read_text())["stages"]
    assert sorted(steps) == ["0", "1"] and all(s["steps"] == 20 for s in steps.values())
    answer = model.sample(200, {"X": 0.5}, seed=1)["Y"]
    assert answer.shape == (200, 1) and bool(torch.isfinite(answer).all())
    assert memory_columns(model) == list(model.columns)  # a table: every column is cheap to hold


def test_idgen_on_streamed_images_holds_no_image_it_does_not_copy(tmp_path: Path) -> None:
    from lightning_causal.models.idgen.stages import memory_columns

    prepare(make_source("napkin-digits", rows=40, val_rows=8, size=8), tmp_path, 20, progress=False)
    dm = StreamingDataModule(str(tmp_path), batch_size=8)
    model = _idgen(dm)
    held = memory_columns(model)
    assert "W2" in held  # the napkin's free input is drawn from kept rows
    rows = dm.rows("train", columns=held)
    assert set(rows) == set(held) and len(rows["W2"]) == 40
    with pytest.raises(DataError, match="no variable 'Q'"):
        dm.rows("train", columns=["Q"])


@pytest.mark.parametrize("workers", [0, 2])
def test_idgen_killed_mid_epoch_on_a_stream_resumes_to_the_weights_of_a_straight_run(
    tmp_path: Path, tiny_mechanisms: dict[str, Any], workers: int
) -> None:
    from lightning_causal.models import IDGEN
    from lightning_causal.models.idgen import fit_idgen, stage_trainer_factory
    from tests.training_models import Kill

    prepare(make_source("frontdoor", rows=500, val_rows=50, seed=3), tmp_path / "data", 90, progress=False)

    def run(root: Path, kill: int | None) -> IDGEN:
        dm = StreamingDataModule(str(tmp_path / "data"), batch_size=64, num_workers=workers, seed=1)
        model = _idgen(dm, mechanisms=tiny_mechanisms, seed=0)
        base = stage_trainer_factory(17, progress=False, checkpoint_every=5, ema=0.99, accelerator="cpu")

        def make(stage: int, folder: Path) -> L.Trainer:
            trainer = base(stage, folder)
            if kill is not None:
                trainer.callbacks.append(Kill(kill))  # type: ignore[attr-defined]
            return trainer

        return fit_idgen(model, dm, root, make, progress=False)

    straight = run(tmp_path / "straight", None)  # 17 steps: 7 batches an epoch, so the kill is mid-epoch
    with pytest.raises(RuntimeError, match="killed"):
        run(tmp_path / "killed", 12)  # the last checkpoint holds step 10, batch 3 of epoch 1
    resumed = run(tmp_path / "killed", None)
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
