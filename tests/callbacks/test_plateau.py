"""StopOnPlateau: ID-GEN stages and DCM runs that stop when the validation loss stops improving, resumably.

With a learning rate of 1e-12 (updates below float32 rounding) the validation loss is the same at
every validation (the same weights, the same validation noise), so the step at which a run stops
follows from patience, min_steps and the validation interval alone: the tests know it in advance.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import pytest

from lightning_causal.callbacks import StopOnPlateau
from lightning_causal.datamodules import LatentSCMDataModule
from lightning_causal.errors import ConfigError
from lightning_causal.models import IDGEN, AdamW
from lightning_causal.models.idgen import fit_idgen, stage_trainer_factory
from lightning_causal.variables.spec import variables_to_dict
from tests.training_models import Kill


@pytest.fixture(scope="module")
def napkin() -> LatentSCMDataModule:
    return LatentSCMDataModule("napkin", n_train=400, n_val=0, batch_size=64, seed=0)


def _model(dm: LatentSCMDataModule, tiny: dict[str, Any], lr: float) -> IDGEN:
    return IDGEN(
        dm.graph, variables_to_dict(dm.variables), "X", "Y", mechanisms=tiny, optimizer=partial(AdamW, lr=lr), seed=0
    )


def _factory(kill: int | None = None, **stop: Any) -> Any:
    base = stage_trainer_factory(200, progress=False, checkpoint_every=5, val_every=5, accelerator="cpu", **stop)

    def make(stage: int, root: Path) -> L.Trainer:
        trainer = base(stage, root)
        if kill is not None and stage == 0:
            trainer.callbacks.append(Kill(kill))  # type: ignore[attr-defined]
        return trainer

    return make


def _steps(run: Path) -> list[int]:
    stages = json.loads((run / "idgen.json").read_text())["stages"]
    return [stages[k]["steps"] for k in sorted(stages, key=int)]


def test_stages_stop_after_patience_validations_without_a_new_best_and_not_before_min_steps(
    napkin: LatentSCMDataModule, tiny_mechanisms: dict[str, Any], tmp_path: Path
) -> None:
    data = dict(napkin.train_tensors)  # rows as a dict: 5% of them are held out to validate
    # best at step 5, then no new best at 10, 15: patience 2 is reached at 15
    fit_idgen(_model(napkin, tiny_mechanisms, 1e-12), data, tmp_path / "a", _factory(patience=2), progress=False)
    assert _steps(tmp_path / "a") == [15, 15]
    stages = json.loads((tmp_path / "a" / "idgen.json").read_text())["stages"]
    assert stages["0"]["stopped"].startswith("val/loss had no new best in 2 validations (best ")
    # a plateau before min_steps does not stop a stage: the first validation at or after it does
    fit_idgen(
        _model(napkin, tiny_mechanisms, 1e-12), data, tmp_path / "b", _factory(patience=2, min_steps=32), progress=False
    )
    assert _steps(tmp_path / "b") == [35, 35]
    # no stopping rule: every stage takes max_steps
    base = stage_trainer_factory(12, progress=False, accelerator="cpu")
    fit_idgen(_model(napkin, tiny_mechanisms, 1e-12), data, tmp_path / "c", base, progress=False)
    assert _steps(tmp_path / "c") == [12, 12]


def test_a_run_resumed_after_a_crash_stops_where_an_uninterrupted_one_does(
    napkin: LatentSCMDataModule, tiny_mechanisms: dict[str, Any], tmp_path: Path
) -> None:
    data = dict(napkin.train_tensors)
    fit_idgen(_model(napkin, tiny_mechanisms, 1e-12), data, tmp_path / "whole", _factory(patience=4), progress=False)
    assert _steps(tmp_path / "whole") == [25, 25]
    with pytest.raises(RuntimeError, match="killed"):  # killed at step 17: last.ckpt holds step 15
        model = _model(napkin, tiny_mechanisms, 1e-12)
        fit_idgen(model, data, tmp_path / "cut", _factory(kill=17, patience=4), progress=False)
    fit_idgen(_model(napkin, tiny_mechanisms, 1e-12), data, tmp_path / "cut", _factory(patience=4), progress=False)
    assert _steps(tmp_path / "cut") == [25, 25]


def test_a_learning_run_keeps_going_while_it_improves(
    napkin: LatentSCMDataModule, tiny_mechanisms: dict[str, Any], tmp_path: Path
) -> None:
    # a real learning rate: new bests keep coming early on, so the stage runs past patience * interval
    data = dict(napkin.train_tensors)
    fit_idgen(_model(napkin, tiny_mechanisms, 3e-3), data, tmp_path / "run", _factory(patience=2), progress=False)
    assert all(s > 15 for s in _steps(tmp_path / "run"))


@pytest.mark.parametrize(
    "settings,fragment",
    [
        ({"patience": 0}, "patience is 0; give a whole number >= 1"),
        ({"min_steps": -1}, "min_steps is -1"),
        ({"min_delta": "x"}, "min_delta is 'x'"),
    ],
)
def test_bad_settings_are_refused_in_one_line(settings: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment) as err:
        StopOnPlateau(**settings)
    assert "\n" not in str(err.value)


def test_a_dcm_run_from_a_config_stops_and_says_why(tmp_path: Path) -> None:
    import yaml

    from tests.checks import run_cli

    root = Path(__file__).resolve().parents[2]
    config = yaml.safe_load((root / "configs/dcm/tabular.yaml").read_text())
    trainer = config["trainer"]
    trainer.update(max_steps=300, val_check_interval=5, default_root_dir=str(tmp_path / "run"), logger=False)
    trainer["callbacks"] = [c for c in trainer["callbacks"] if not c["class_path"].endswith("StopOnPlateau")] + [
        {"class_path": "lightning_causal.callbacks.StopOnPlateau", "init_args": {"patience": 2, "min_steps": 12}}
    ]
    config["model"]["init_args"]["optimizer"]["init_args"]["lr"] = 1e-12  # the same weights: no new best
    config["model"]["init_args"].pop("scheduler")
    config["data"]["init_args"].update(
        data=str(root / "configs/tabular/smoking.csv"), graph=str(root / "configs/tabular/smoking.yaml")
    )
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    fit = run_cli("fit", "--config", str(path), cwd=tmp_path)
    assert fit.returncode == 0, fit.stderr[-3000:]
    # best at 5, no new best at 10 and 15 (patience 2 reached at 15, past min_steps 12)
    assert "Training ended at step 15 (val/loss had no new best in 2 validations (best " in fit.stdout
