"""The IDGEN module: its plan's stages, freezing, losses, kept rows, and the protocol of its factors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from lightning_causal import CausalGraph, NotIdentifiableError
from lightning_causal.errors import NotTrainedError, QueryError
from lightning_causal.mechanisms import MechanismConfig, MechanismGenerator
from lightning_causal.models import IDGEN
from lightning_causal.models.idgen import FactorMechanisms
from lightning_causal.plan.parts import Factor
from lightning_causal.variables.spec import VariableSpec


@pytest.fixture
def make_napkin(napkin: CausalGraph, tiny_mechanisms: dict[str, Any]) -> Callable[..., IDGEN]:
    """ID-GEN of the napkin's P(Y | do(X)) with W2 categorical and X binary, tiny mechanisms."""
    variables = {"W2": {"type": "categorical", "classes": 3}, "X": "binary"}

    def make(**kwargs: Any) -> IDGEN:
        return IDGEN(napkin, variables, "X", "Y", mechanisms=tiny_mechanisms, **kwargs)

    return make


def _batch(n: int = 32, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "W1": torch.randn(n, 1, generator=g),
        "W2": torch.randint(0, 3, (n,), generator=g),
        "X": torch.randint(0, 2, (n,), generator=g),
        "Y": torch.randn(n, 1, generator=g),
    }


def test_a_query_that_is_not_identifiable_builds_nothing(named_graphs: dict[str, Any]) -> None:
    with pytest.raises(NotIdentifiableError, match="hedge"):
        IDGEN(named_graphs["bow"].graph, treatment="X", outcome="Y")


def test_stages_follow_the_plan_and_only_the_trained_stage_learns(make_napkin: Callable[..., IDGEN]) -> None:
    model = make_napkin()
    assert model.stage_count == 2 and model.stage_datasets(0) == ["D0"] and model.stage_datasets(1) == ["D1"]
    model.train_stage(1)
    assert all(not p.requires_grad for p in model.dataset_mechanisms("D0").parameters())
    assert all(p.requires_grad for p in model.dataset_mechanisms("D1").parameters())
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert names and all(n.startswith("factor_mechanisms.D1.") for n in names)
    with pytest.raises(QueryError, match="stage 2 does not exist"):
        model.train_stage(2)


def test_model_step_sums_the_factor_losses_of_the_active_stage(make_napkin: Callable[..., IDGEN]) -> None:
    model = make_napkin()
    model.train_stage(0)
    # stage 0: P(W1) is resampled from rows; P(X | W1, W2) a classifier; P(Y | W1, W2, X) a diffusion model
    assert model.loss_names == ["f2_Y", "f1_X"]
    loss, parts = model.model_step(_batch(), torch.Generator().manual_seed(0))
    assert parts.shape == (2,) and torch.isfinite(parts).all() and torch.allclose(loss, parts.sum())
    model.train_stage(1)
    nested = {"D1": _batch()}  # a stage's batch maps each dataset to its batch
    loss, parts = model.model_step(nested, torch.Generator().manual_seed(0))
    assert model.loss_names == ["f3_Y"] and parts.shape == (1,)


def test_the_same_seed_builds_the_same_weights(make_napkin: Callable[..., IDGEN]) -> None:
    a, b, c = make_napkin(seed=3), make_napkin(seed=3), make_napkin(seed=4)
    torch.manual_seed(123)  # the global RNG plays no part
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(x, y), name
    assert any(not torch.equal(x, z) for x, z in zip(a.state_dict().values(), c.state_dict().values(), strict=True))


def test_an_untrained_model_says_so_before_sampling(make_napkin: Callable[..., IDGEN]) -> None:
    with pytest.raises(NotTrainedError, match="W2"):
        make_napkin().sample(4, {"X": 1})


def test_kept_rows_feed_the_free_inputs_and_the_resampled_marginals(make_napkin: Callable[..., IDGEN]) -> None:
    model = make_napkin()
    batch = _batch(200)
    model.keep_rows("D0", batch, seed=0)
    # the treatment is kept with the free input: W2 is drawn from the rows whose X matches
    assert set(model.observed.store) == {"W2", "X"} and len(model.observed.store["W2"]) == 200
    w1 = MechanismGenerator(model.dataset_mechanisms("D0"), "f0").sample({}, torch.Generator().manual_seed(0), n=50)
    assert w1.shape == (50, 1) and set(w1[:, 0].tolist()) <= set(batch["W1"][:, 0].tolist())
    out = model.sample(7, {"X": 1}, seed=0)
    assert out["Y"].shape == (7, 1)
    with pytest.raises(QueryError, match="not a free input"):
        model.sample(7, {"X": 1}, inputs={"X": 0})
    with pytest.raises(QueryError, match="class code"):
        model.sample(7, {"X": 1}, inputs={"W2": 0.5})


def test_two_factors_of_one_variable_on_one_dataset_are_separate_models() -> None:
    specs = {v: VariableSpec(v, mean=(0.0,), std=(1.0,)) for v in ("A", "B", "Y")}
    factors = [Factor("f0", "Y", ("A",), "D0", 0, "test"), Factor("f1", "Y", ("A", "B"), "D0", 0, "test")]
    net = FactorMechanisms(factors, specs, ("A", "B", "Y"), MechanismConfig(hidden=8, timesteps=10))
    assert net.trained == ["f0", "f1"]
    values = {v: torch.randn(16, 1) for v in specs}
    assert net.loss_vector(values, torch.Generator().manual_seed(0)).shape == (2,)
    g0, g1 = MechanismGenerator(net, "f0"), MechanismGenerator(net, "f1")
    assert g0.inputs == ("A",) and g1.inputs == ("A", "B")
    assert g0.loss(values["Y"], values).shape == () and g1.sample(values, torch.Generator()).shape == (16, 1)


def test_a_conditional_query_keeps_its_condition(tiny_mechanisms: dict[str, Any]) -> None:
    graph = CausalGraph(directed=[("X", "M"), ("M", "Y"), ("Y", "Z")], bidirected=[("X", "Y")])
    model = IDGEN(graph, {"Z": "binary"}, "X", "Y", "Z", mechanisms=tiny_mechanisms)
    # a binary Z is selected (the joint network's draws that match it): no IDC-GEN stage, and the
    # front-door's P(Y | M) is composed from the observational factors: one stage in all
    assert model.plan.condition == ("Z",) and model.plan.selected == ("Z",) and model.stage_count == 1
    assert model.hparams["conditioning"] == "select" and model.hparams["marginals"] == "compose"
    published = IDGEN(graph, {"Z": "binary"}, "X", "Y", "Z", marginals="learn", mechanisms=tiny_mechanisms)
    assert published.stage_count == 2 and published.hparams["marginals"] == "learn"  # P(Y | M) learned from D1
    learned = IDGEN(graph, {"Z": "binary"}, "X", "Y", "Z", conditioning="learn", mechanisms=tiny_mechanisms)
    assert learned.stage_count == 2 and learned.hparams["conditioning"] == "learn"
    continuous = IDGEN(graph, {}, "X", "Y", "Z", mechanisms=tiny_mechanisms)  # only a learned stage answers
    assert continuous.stage_count == 2 and continuous.hparams["conditioning"] == "learn"
    with pytest.raises(QueryError, match="condition 'Z' is not discrete"):
        IDGEN(graph, {}, "X", "Y", "Z", conditioning="select", mechanisms=tiny_mechanisms)
    model = learned
    assert model.hparams["condition"] == ["Z"] and model.hparams["family"] == "idgen"
