"""``plan.fit(data, learner="diffusion")``: a plan trained with generative models from tensors, arrays or data modules.

The data's types follow the one inference rule of :mod:`lightning_causal.variables.inference`:
these tests check what ``DiffusionLearner`` infers and trains, end to end with a real Trainer (a
few steps), and that the network it returns samples reproducibly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from lightning_causal import CausalGraph, compile_plan
from lightning_causal.datamodules import LatentSCMDataModule
from lightning_causal.errors import DataError, QueryError
from lightning_causal.models import IDGEN
from lightning_causal.models.idgen import DiffusionLearner
from lightning_causal.models.idgen.learner import IMAGE_BATCH, TABLE_BATCH
from lightning_causal.sampling import SamplingNetwork, learner_for
from lightning_causal.sampling.learners import plan_columns


def _learner(tiny_mechanisms: dict[str, Any], **kwargs: Any) -> DiffusionLearner:
    settings = {"max_steps": 5, "mechanisms": tiny_mechanisms, "progress": False, "accelerator": "cpu", **kwargs}
    return DiffusionLearner(**settings)


def test_plan_fit_with_the_diffusion_learner_returns_a_reproducible_network(
    tmp_path: Path, tiny_mechanisms: dict[str, Any]
) -> None:
    dm = LatentSCMDataModule("backdoor", n_train=800, n_val=0, batch_size=128, seed=0)
    plan = compile_plan(dm.graph, "X", "Y")
    data = {k: v.numpy() for k, v in dm.train_tensors.items()}  # numpy arrays work too
    network = plan.fit(data, learner=_learner(tiny_mechanisms, max_steps=20))
    assert isinstance(network, SamplingNetwork)
    a = network.sample(100, {"X": 0.3}, seed=5)["Y"]
    b = network.sample(100, {"X": 0.3}, seed=5)["Y"]
    assert a.shape == (100, 1) and torch.equal(a, b)
    assert not torch.equal(a, network.sample(100, {"X": 0.3}, seed=6)["Y"])
    # a data module brings its rows and its variable types
    plan.fit(dm, learner=_learner(tiny_mechanisms, run_dir=tmp_path / "kept"))
    assert (tmp_path / "kept" / "idgen.ckpt").is_file() and (tmp_path / "kept" / "plan.json").is_file()
    assert IDGEN.load(tmp_path / "kept" / "idgen.ckpt").variables["X"].mean == dm.variables["X"].mean


def test_the_registered_name_stands_for_the_learner() -> None:
    assert isinstance(learner_for("diffusion"), DiffusionLearner)


def test_integers_beyond_max_categories_train_as_a_continuous_variable(tiny_mechanisms: dict[str, Any]) -> None:
    # the one rule (the table's): integer codes 0..19 are categorical, 0..39 a count, continuous
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 40, (300,), generator=g)
    y = x.float().unsqueeze(1) / 10 + torch.randn(300, 1, generator=g)
    plan = compile_plan(CausalGraph(directed=[("X", "Y")]), "X", "Y")
    learner = _learner(tiny_mechanisms)
    network = plan.fit({"X": x, "Y": y}, learner=learner)
    assert learner.variables["X"].kind == "continuous" and learner.variables["X"].mean == (float(x.double().mean()),)
    assert network.sample(20, {"X": 25.0}, seed=0)["Y"].shape == (20, 1)
    small = _learner(tiny_mechanisms)
    plan.fit({"X": torch.randint(0, 5, (300,), generator=g), "Y": y}, learner=small)
    assert (small.variables["X"].kind, small.variables["X"].classes) == ("categorical", 5)


def test_the_default_batch_is_large_for_tables_and_small_for_images() -> None:
    g = torch.Generator().manual_seed(2)
    plan = compile_plan(CausalGraph(directed=[("X", "Y")]), "X", "Y")
    table = {"X": torch.randn(64, generator=g), "Y": torch.randn(64, 1, generator=g)}
    images = {"X": torch.randint(0, 2, (64,), generator=g), "Y": torch.rand(64, 1, 8, 8, generator=g)}
    for data, expected in ((table, TABLE_BATCH), (images, IMAGE_BATCH)):
        learner = DiffusionLearner(progress=False)
        learner.observe(data, plan_columns(plan), None)
        assert learner.batch_of(plan) == expected
        chosen = DiffusionLearner(batch_size=32, progress=False)
        chosen.observe(data, plan_columns(plan), None)
        assert chosen.batch_of(plan) == 32
    assert TABLE_BATCH > IMAGE_BATCH


def test_declared_types_win_over_inferred_ones(tiny_mechanisms: dict[str, Any]) -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 2, (200,), generator=g)
    y = torch.randn(200, 1, generator=g)
    plan = compile_plan(CausalGraph(directed=[("X", "Y")]), "X", "Y")
    learner = _learner(tiny_mechanisms, variables={"X": {"type": "categorical", "classes": 3}})
    plan.fit({"X": x, "Y": y}, learner=learner)
    assert (learner.variables["X"].kind, learner.variables["X"].classes) == ("categorical", 3)


def test_bad_data_is_refused_in_one_line_naming_the_variable(tiny_mechanisms: dict[str, Any]) -> None:
    plan = compile_plan(CausalGraph(directed=[("X", "Y")]), "X", "Y")
    y = torch.randn(50, 1)
    cases = [
        ({"X": torch.randn(50)}, DataError, "no variable 'Y'"),
        ({"X": torch.randn(50), "Y": torch.full((50, 1), 2.0)}, DataError, "'Y' is constant"),
        ({"X": torch.randn(50), "Y": y.masked_fill(y > 1, float("nan"))}, DataError, "'Y' holds NaN"),
        ({"X": torch.randn(40), "Y": y}, DataError, "same, non-zero number of rows"),
        ({"X": ["a"] * 50, "Y": y}, DataError, "labels"),
        ([1, 2, 3], DataError, "dict of arrays"),
    ]
    for data, error, fragment in cases:
        with pytest.raises(error, match=fragment) as raised:
            plan.fit(data, learner=_learner(tiny_mechanisms))
        assert "\n" not in str(raised.value)
    with pytest.raises(QueryError, match="trains whole plans"):
        _learner(tiny_mechanisms).fit([], None)  # type: ignore[arg-type]
