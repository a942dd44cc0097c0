"""ID-GEN trained stage by stage: exact resume, generated shards, the run folder, answers against exact truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch

from lightning_causal.data.shards import read_manifest, read_shards, shard_name
from lightning_causal.datamodules import LatentSCMDataModule
from lightning_causal.errors import ConfigError
from lightning_causal.models import IDGEN
from lightning_causal.models.idgen import fit_idgen, generate_dataset, stage_trainer_factory
from lightning_causal.variables.spec import variables_to_dict
from tests.training_models import Kill


def _model(dm: LatentSCMDataModule, mechanisms: dict[str, Any], **kwargs: Any) -> IDGEN:
    scm = dm.scm
    return IDGEN(
        dm.graph,
        variables=variables_to_dict(dm.variables),
        treatment=scm.treatment,
        outcome=scm.outcome,
        condition=scm.condition,
        mechanisms=mechanisms,
        **kwargs,
    )


def _factory(max_steps: int, kill: tuple[int, int] | None = None) -> Any:
    base = stage_trainer_factory(max_steps, progress=False, checkpoint_every=10, ema=0.99, accelerator="cpu")

    def make(stage: int, root: Path) -> L.Trainer:
        trainer = base(stage, root)
        if kill is not None and stage == kill[0]:
            trainer.callbacks.append(Kill(kill[1]))  # type: ignore[attr-defined]
        return trainer

    return make


@pytest.fixture(scope="module")
def frontdoor() -> LatentSCMDataModule:
    return LatentSCMDataModule("frontdoor", n_train=1500, n_val=100, batch_size=128, seed=0)


def test_a_run_killed_in_stage_1_resumes_exactly_without_redoing_stage_0_or_its_data(
    frontdoor: LatentSCMDataModule, tmp_path: Path, tiny_mechanisms: dict[str, Any]
) -> None:
    whole = fit_idgen(_model(frontdoor, tiny_mechanisms), frontdoor, tmp_path / "whole", _factory(40), progress=False)

    root = tmp_path / "killed"
    with pytest.raises(RuntimeError, match="killed"):
        fit_idgen(_model(frontdoor, tiny_mechanisms), frontdoor, root, _factory(40, kill=(1, 25)), progress=False)
    state = json.loads((root / "idgen.json").read_text())
    assert list(state["stages"]) == ["0"] and state["checkpoint"] is None
    assert read_manifest(root / "data" / "D1") is not None
    last = torch.load(root / "stage1" / "checkpoints" / "last.ckpt", weights_only=False)
    assert last["global_step"] == 20  # checkpoints every 10 steps: the kill at 25 keeps step 20
    kept = {p: p.stat().st_mtime_ns for p in (root / "stage0" / "final.ckpt", root / "data" / "D1" / shard_name(0))}

    resumed = fit_idgen(_model(frontdoor, tiny_mechanisms), frontdoor, root, _factory(40), progress=False)
    assert {p: p.stat().st_mtime_ns for p in kept} == kept  # stage 0 and D1 were not redone
    for (name, a), (_, b) in zip(whole.state_dict().items(), resumed.state_dict().items(), strict=True):
        assert torch.equal(a, b), name  # bit-identical to the run that was never interrupted
    loaded = IDGEN.load(root / "idgen.ckpt")
    torch.testing.assert_close(
        loaded.sample(64, {"X": 0.5}, seed=3)["Y"], whole.sample(64, {"X": 0.5}, seed=3)["Y"], rtol=0, atol=0
    )


def test_a_dataset_cut_short_keeps_its_finished_shards(
    frontdoor: LatentSCMDataModule, tmp_path: Path, tiny_mechanisms: dict[str, Any]
) -> None:
    root = tmp_path / "run"
    model = _model(frontdoor, tiny_mechanisms, generated_size=1500)
    model = fit_idgen(model, frontdoor, root, _factory(5), shard_rows=400, progress=False)
    folder = root / "data" / "D1"
    full = read_shards(folder)
    shards = sorted(folder.glob("shard-*.tar"))
    assert len(shards) == 4  # 1500 rows in shards of 400
    lost = shards[2].read_bytes()
    shards[2].unlink()
    (folder / "manifest.json").unlink()
    kept = {p: p.stat().st_mtime_ns for p in shards if p.exists()}
    (ds,) = [d for d in model.plan.datasets if d.name == "D1"]
    again = generate_dataset(model, ds, frontdoor.train_tensors, folder, 1500, 400, torch.device("cpu"), progress=False)
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    assert shards[2].read_bytes() == lost  # each shard has its own seed: regenerated identically
    for name in full:
        assert torch.equal(full[name], again[name])
    assert set(full) == {"M", "X", "Y"}  # the carried M, the resampled X and Y


def test_the_run_folder_of_other_settings_is_refused(
    frontdoor: LatentSCMDataModule, tmp_path: Path, tiny_mechanisms: dict[str, Any]
) -> None:
    fit_idgen(_model(frontdoor, tiny_mechanisms), frontdoor, tmp_path / "run", _factory(3), progress=False)
    with pytest.raises(ConfigError, match="holds a run of other settings"):
        fit_idgen(_model(frontdoor, tiny_mechanisms, seed=1), frontdoor, tmp_path / "run", _factory(3), progress=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty and holds no ID-GEN run"):
        fit_idgen(_model(frontdoor, tiny_mechanisms), frontdoor, tmp_path / "other", _factory(3), progress=False)


def _mean_error(samples: torch.Tensor, truth: torch.Tensor) -> float:
    return abs(float(samples.float().mean()) - float(truth.float().mean()))


def test_frontdoor_answers_near_the_truth_and_far_from_the_naive_conditional(tmp_path: Path) -> None:
    dm = LatentSCMDataModule("frontdoor", n_train=4000, n_val=200, batch_size=256, seed=0)
    model = fit_idgen(_model(dm, {"hidden": 64}), dm, tmp_path / "run", _factory(1200), progress=False)
    x_all, y_all = dm.train_tensors["X"][:, 0], dm.train_tensors["Y"][:, 0]
    for values in dm.scm.treatment_values()[::2]:  # the 20% and 80% quantiles, where confounding biases
        x = values["X"]
        truth = dm.interventional_samples(20_000, values, seed=1)["Y"]
        naive = y_all[(x_all - x).abs() < 0.15]
        got = model.sample(2000, values, seed=2)["Y"]
        assert _mean_error(got, truth) < 0.5 * _mean_error(naive, truth), (x, float(got.mean()), float(truth.mean()))


@pytest.mark.parametrize("conditioning,stages", [("learn", 3), ("auto", 2)])
def test_a_conditional_query_answers_given_each_value(tmp_path: Path, conditioning: str, stages: int) -> None:
    # Z is binary: "auto" keeps the joint draws whose Z matches (no IDC-GEN stage), "learn" trains y given z
    dm = LatentSCMDataModule("conditional", n_train=3000, n_val=0, batch_size=256, seed=0)
    model = _model(dm, {"hidden": 64}, conditioning=conditioning)
    model = fit_idgen(model, dm, tmp_path / "run", _factory(800), progress=False)
    assert model.stage_count == stages and model.plan.condition == ("Z",)
    assert model.hparams["conditioning"] == ("learn" if conditioning == "learn" else "select")
    x = dm.scm.treatment_values()[2]
    means = {}
    for z in (0, 1):
        truth = dm.conditional_samples(5000, x, {"Z": z}, seed=1)["Y"]
        got = model.sample(2000, x, given={"Z": z}, seed=2)["Y"]
        assert got.shape == (2000, 1)
        assert _mean_error(got, truth) < 0.25, (z, float(got.mean()), float(truth.mean()))
        means[z] = float(got.mean())
    assert means[1] > means[0] + 0.3  # Z is a proxy of Y: the answer moves with it
    # one value of Z per row: every row is answered given its own value
    rows = model.sample(4000, x, given={"Z": torch.arange(4000) % 2}, seed=3)["Y"][:, 0]
    assert abs(float(rows[0::2].mean()) - means[0]) < 0.12 and abs(float(rows[1::2].mean()) - means[1]) < 0.12
    again = model.sample(4000, x, given={"Z": torch.arange(4000) % 2}, seed=3)["Y"][:, 0]
    assert torch.equal(rows, again)


def test_mixed_napkin_answers_do_not_depend_on_the_free_input(tmp_path: Path) -> None:
    dm = LatentSCMDataModule("napkin_mixed", n_train=3000, n_val=0, batch_size=256, seed=0)
    model = fit_idgen(_model(dm, {"hidden": 64}), dm, tmp_path / "run", _factory(1000), progress=False)
    assert model.plan.arbitrary == ("W2",)
    x_all, y_all = dm.train_tensors["X"], dm.train_tensors["Y"]
    for x in (0, 1):
        truth = dm.interventional_samples(20_000, {"X": x}, seed=1)["Y"]
        by_w2 = [model.sample(2000, {"X": x}, seed=2, inputs={"W2": w2})["Y"] for w2 in (0, 1, 2)]
        drawn = model.sample(2000, {"X": x}, seed=2)["Y"]
        assert max(float(s.mean()) for s in by_w2) - min(float(s.mean()) for s in by_w2) < 0.25
        naive = _mean_error(y_all[x_all == x], truth)
        assert _mean_error(drawn, truth) < 0.6 * naive, (x, float(drawn.mean()), float(truth.mean()), naive)


def test_a_stage_with_two_generated_datasets_trains_both_in_one_run(
    tmp_path: Path, tiny_mechanisms: dict[str, Any]
) -> None:
    # P(Y | do(W1)) on the napkin (ID-GEN's Figure 3): two c-factors run their own line-7 updates
    dm = LatentSCMDataModule("napkin", n_train=600, n_val=0, batch_size=64, seed=0)
    model = IDGEN(dm.graph, variables_to_dict(dm.variables), treatment="W1", outcome="Y", mechanisms=tiny_mechanisms)
    assert model.stage_datasets(1) == ["D1", "D2"]
    model.train_stage(1)
    assert len(model.loss_names) == 2
    model = fit_idgen(model, dm, tmp_path / "run", _factory(6), progress=False)
    state = json.loads((tmp_path / "run" / "idgen.json").read_text())
    assert state["stages"]["1"]["steps"] == 6 and set(state["datasets"]) == {"D1", "D2"}
    assert model.sample(10, {"W1": 0.3}, seed=0)["Y"].shape == (10, 1)


def test_nested_updates_generate_from_a_generated_dataset_and_resume_in_the_last_stage(
    tmp_path: Path, tiny_mechanisms: dict[str, Any]
) -> None:
    from tests.checks import NESTED_LINE_7

    graph, treatment, outcome = NESTED_LINE_7[0]  # D2 is generated from D1, itself generated from D0
    g = torch.Generator().manual_seed(0)
    n = 600
    latent = {pair: torch.randn(n, 1, generator=g) for pair in graph.bidirected}
    data: dict[str, torch.Tensor] = {}
    for v in graph.topological_order():  # any continuous SCM with these latents: this test checks the mechanics
        value = 0.3 * torch.randn(n, 1, generator=g)
        for u in graph.parents(v):
            value = value + torch.tanh(data[u])
        for pair, z in latent.items():
            if v in pair:
                value = value + 0.7 * z
        data[v] = value
    model_args = {"graph": graph, "treatment": treatment, "outcome": outcome, "mechanisms": tiny_mechanisms}
    model_args["generated_size"] = n  # the mechanics at the data's size (the default draws 5 rows per data row)
    root = tmp_path / "run"
    with pytest.raises(RuntimeError, match="killed"):
        fit_idgen(IDGEN(**model_args), data, root, _factory(30, kill=(2, 25)), batch_size=64, progress=False)
    assert read_manifest(root / "data" / "D2") is not None
    d2 = read_shards(root / "data" / "D2")
    assert {"V2", "V3"} <= set(d2) and len(d2["V2"]) == n  # the carried columns, copied from D1's rows
    resumed = fit_idgen(IDGEN(**model_args), data, root, _factory(30), batch_size=64, progress=False)
    whole = fit_idgen(IDGEN(**model_args), data, tmp_path / "whole", _factory(30), batch_size=64, progress=False)
    for (name, a), (_, b) in zip(whole.state_dict().items(), resumed.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert resumed.sample(20, {"V3": 0.5}, seed=0)["V5"].shape == (20, 1)
