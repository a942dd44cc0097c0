"""Training settings checked before anything is built: check_settings on plain configs and on parsed namespaces.

Checks ``lightning_causal.launch.settings.check_settings``: every rule refuses a bad value with one
``ConfigError`` line that names the key and shows the value, accepts the good values at its edges,
and leaves keys that are absent or None unchecked. The cases are written by hand from each key's meaning.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from jsonargparse import Namespace

from lightning_causal.errors import ConfigError
from lightning_causal.launch.settings import check_settings

# key path, bad values, good values
RULES: list[tuple[str, list[Any], list[Any]]] = [
    ("trainer.max_steps", [0, -2, 2.5, True, "10"], [1, 10_000, -1]),
    ("trainer.max_epochs", [0, -3, 1.0], [1, 5, -1]),
    ("trainer.min_steps", [-1, 0.5], [0, 7]),
    ("trainer.val_check_interval", [0, 0.0, 1.5, 2.0, -1, math.nan, False], [1, 500, 0.25, 1.0]),
    ("trainer.check_val_every_n_epoch", [0, -1, 1.5], [1, 3]),
    ("trainer.accumulate_grad_batches", [0, 2.0], [1, 4]),
    ("trainer.log_every_n_steps", [0, -5], [1, 50]),
    ("trainer.gradient_clip_val", [-0.1, math.inf, math.nan, "1"], [0, 0.5, 10]),
    ("trainer.num_nodes", [0, 1.0], [1, 4]),
    ("data.init_args.batch_size", [0, -16, 32.0], [1, 256]),
    ("data.init_args.num_workers", [-1, 1.5], [0, 4]),
    ("data.init_args.val_fraction", [1, 1.0, -0.1, math.inf], [0, 0.0, 0.1, 0.99]),
    ("model.init_args.optimizer.init_args.lr", [0, 0.0, -1e-3, math.nan, math.inf, True], [1e-3, 1]),
    ("model.init_args.optimizer.init_args.weight_decay", [-0.01, math.inf], [0, 0.01]),
    ("model.init_args.scheduler.init_args.warmup_steps", [-1, 10.0], [0, 100]),
    ("model.init_args.sample_steps", [0, -4, 2.5], [1, 50]),
    ("model.init_args.seed", [1.5, "abc", False], [0, -3, 2**40]),
    ("model.init_args.generated_size", [0, -10, 100.0], [1, 5000]),
    ("model.init_args.generation_guidance", [-1, -0.5, math.inf, math.nan, True], [0, 0.0, 2, 7.5]),
    ("ensemble.members", [1, -2, 2.0, True], [0, 2, 20]),
    ("ensemble.seed", [1.5, "1"], [0, 7]),
]

BAD = [(key, value) for key, bad, _ in RULES for value in bad]
GOOD = [(key, value) for key, _, good in RULES for value in good]


def _config(path: str, value: Any) -> dict[str, Any]:
    """``{"a": {"b": value}}`` for ``"a.b"``."""
    config: dict[str, Any] = {}
    node = config
    *parents, last = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return config


@pytest.mark.parametrize(("key", "value"), BAD, ids=[f"{k}={v!r}" for k, v in BAD])
def test_a_bad_value_is_one_line_naming_the_key_and_the_value(key: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=rf"^{re.escape(key)} is {re.escape(repr(value))}; give ") as err:
        check_settings(_config(key, value))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("key", "value"), GOOD, ids=[f"{k}={v!r}" for k, v in GOOD])
def test_a_good_value_passes(key: str, value: Any) -> None:
    check_settings(_config(key, value))


def test_the_line_says_what_the_key_accepts() -> None:
    with pytest.raises(ConfigError, match=r"trainer\.max_steps is 0; give a positive number of steps, or -1"):
        check_settings({"trainer": {"max_steps": 0}})
    with pytest.raises(ConfigError, match=r"data\.init_args\.val_fraction is 1; give a share in \[0, 1\)"):
        check_settings({"data": {"init_args": {"val_fraction": 1}}})


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"trainer": None, "data": None, "model": None},
        {"trainer": {"max_steps": None, "max_epochs": None, "check_val_every_n_epoch": None}},
        {"model": {"init_args": None}},
        {"model": {"init_args": {"sample_steps": None, "generated_size": None, "generation_guidance": None}}},
        {"model": {"init_args": {"optimizer": None, "scheduler": {"init_args": None}}}},
        {"model": {"class_path": "lightning_causal.models.DCM"}, "data": {"class_path": "x"}},
        {"trainer": {"max_stepz": -5}, "seed_everything": "abc"},  # keys without a rule are the parser's business
    ],
)
def test_absent_and_none_settings_are_not_checked(config: dict[str, Any]) -> None:
    check_settings(config)


def test_a_full_good_config_passes_and_one_bad_key_in_it_is_named() -> None:
    config = {
        "trainer": {
            "max_steps": 100,
            "val_check_interval": 50,
            "check_val_every_n_epoch": None,
            "gradient_clip_val": 1,
        },
        "data": {"class_path": "lightning_causal.datamodules.TabularDataModule", "init_args": {"batch_size": 64}},
        "model": {"init_args": {"seed": 3, "optimizer": {"class_path": "AdamW", "init_args": {"lr": 1e-3}}}},
    }
    check_settings(config)
    config["model"]["init_args"]["optimizer"]["init_args"]["lr"] = -1.0
    with pytest.raises(ConfigError, match=r"^model\.init_args\.optimizer\.init_args\.lr is -1\.0; "):
        check_settings(config)


def test_a_parsed_namespace_is_checked_like_a_dict() -> None:
    good = Namespace(trainer=Namespace(max_steps=20), data=Namespace(init_args=Namespace(batch_size=8)))
    check_settings(good)
    bad = Namespace(trainer=Namespace(max_steps=20), data=Namespace(init_args=Namespace(batch_size=0)))
    with pytest.raises(ConfigError, match=r"^data\.init_args\.batch_size is 0; give a number of rows >= 1"):
        check_settings(bad)


@pytest.mark.parametrize(
    ("ensemble", "line"),
    [
        ({"members": 4, "task": -1}, "ensemble.task is -1; give 0 (the model on all rows) or k"),
        ({"members": 4, "task": 1.0}, "ensemble.task is 1.0; give 0"),
        ({"members": 4, "task": 5}, "ensemble.task is 5; the ensemble has parts 0..4"),
        ({"task": 1}, "ensemble.task is 1, and ensemble.members is not set"),
        ({"members": 0, "task": 0}, "ensemble.task is 0, and ensemble.members is not set"),
    ],
)
def test_an_ensemble_task_names_a_part_of_the_ensemble(ensemble: dict[str, Any], line: str) -> None:
    with pytest.raises(ConfigError, match=f"^{re.escape(line)}"):
        check_settings({"ensemble": ensemble})


@pytest.mark.parametrize("task", [0, 1, 4, None])
def test_every_part_of_an_ensemble_can_be_a_task(task: int | None) -> None:
    check_settings({"ensemble": {"members": 4, "task": task}})
