"""DCM: training with a real Trainer, queries, checkpoints, node generator views and errors."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from lightning_causal import CausalGraph, GraphError, QueryError
from lightning_causal.data.loaders import TensorDictDataset, collate_tensor_dict
from lightning_causal.mechanisms import MechanismConfig
from lightning_causal.models import DCM, AdamW
from lightning_causal.variables import VariableSpec
from tests.models.dcm.common import MIXED, MIXED_VARS, mixed_batch

warnings.filterwarnings("ignore", ".*does not have many workers.*")
warnings.filterwarnings("ignore", ".*isinstance.*LeafSpec.*")


def linear_gaussian(n: int, seed: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """x1 ~ N(0,1); x2 = 2 x1 + 0.5 u2; x3 = x2 - x1 + 0.3 u3 (exact counterfactuals from u)."""
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(3, n, 1, generator=g)
    x1 = u[0]
    x2 = 2 * x1 + 0.5 * u[1]
    x3 = x2 - x1 + 0.3 * u[2]
    return {"x1": x1, "x2": x2, "x3": x3}, {"u2": u[1], "u3": u[2]}


CHAIN = CausalGraph(directed=[("x1", "x2"), ("x2", "x3"), ("x1", "x3")])


def _specs(values: dict[str, torch.Tensor]) -> dict[str, VariableSpec]:
    return {
        k: VariableSpec(k, "continuous").with_statistics(
            [v.mean().item()], [v.std(unbiased=False).item()], [v.min().item()], [v.max().item()]
        )
        for k, v in values.items()
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, cpu_trainer: Callable[..., L.Trainer]) -> tuple[DCM, Path]:
    L.seed_everything(0, verbose=False)
    values, _ = linear_gaussian(4000, seed=0)
    model = DCM(
        CHAIN, _specs(values), MechanismConfig(hidden=64, conditioning="concat"), optimizer=partial(AdamW, lr=3e-3)
    )
    loader = DataLoader(
        TensorDictDataset(values),
        batch_size=256,
        shuffle=True,
        collate_fn=collate_tensor_dict,
        generator=torch.Generator().manual_seed(0),
    )
    root = tmp_path_factory.mktemp("dcm")
    trainer = cpu_trainer(max_epochs=40, default_root_dir=root, enable_checkpointing=True)
    trainer.fit(model, loader)
    ckpt = root / "final.ckpt"
    trainer.save_checkpoint(ckpt)
    return model, ckpt


def test_interventional_samples_match_the_truth(trained: tuple[DCM, Path]) -> None:
    model, _ = trained
    s = model.sample(4000, {"x1": 1.0}, seed=0)
    assert torch.all(s["x1"] == 1.0)
    # truth under do(x1 = 1): x2 ~ N(2, 0.25), x3 = x2 - 1 + 0.3 u ~ N(1, 0.25 + 0.09)
    assert s["x2"].mean().item() == pytest.approx(2.0, abs=0.12)
    assert s["x2"].std().item() == pytest.approx(0.5, abs=0.08)
    assert s["x3"].mean().item() == pytest.approx(1.0, abs=0.15)
    assert s["x3"].std().item() == pytest.approx(0.583, abs=0.1)
    # a shift intervention and an intervention downstream
    shifted = model.sample(4000, {"x2": lambda v: v + 3.0}, seed=0)
    assert shifted["x2"].mean().item() == pytest.approx(3.0, abs=0.15)
    assert shifted["x1"].mean().item() == pytest.approx(0.0, abs=0.1)


def test_counterfactuals_match_the_true_noise(trained: tuple[DCM, Path]) -> None:
    model, _ = trained
    factual, noise = linear_gaussian(500, seed=99)
    cf = model.counterfactual(factual, {"x1": factual["x1"] + 1.0})
    true_x2 = 2 * (factual["x1"] + 1) + 0.5 * noise["u2"]
    true_x3 = true_x2 - (factual["x1"] + 1) + 0.3 * noise["u3"]
    mse = torch.cat([cf["x2"] - true_x2, cf["x3"] - true_x3], 1).pow(2).mean().item()
    copy_factual = torch.cat([factual["x2"] - true_x2, factual["x3"] - true_x3], 1).pow(2).mean().item()
    assert mse < 0.05 < copy_factual / 10
    # a shift on the last node changes only it, exactly
    cf3 = model.counterfactual(factual, {"x3": lambda v: v * 2})
    assert torch.equal(cf3["x3"], factual["x3"] * 2) and torch.equal(cf3["x2"], factual["x2"])


def test_sampling_is_reproducible(trained: tuple[DCM, Path]) -> None:
    model, _ = trained
    a = model.sample(100, {"x1": 0.5}, seed=3)
    b = model.sample(100, {"x1": 0.5}, seed=3)
    c = model.sample(100, {"x1": 0.5}, seed=4)
    assert torch.equal(a["x3"], b["x3"]) and not torch.equal(a["x3"], c["x3"])


def test_checkpoint_round_trip_gives_the_same_answers(trained: tuple[DCM, Path]) -> None:
    model, ckpt = trained
    loaded = DCM.load_from_checkpoint(ckpt)
    assert loaded.graph == model.graph and loaded.node_mechanisms.rows.store.keys() == {"x1"}
    a = model.sample(200, seed=1)
    b = loaded.sample(200, seed=1)
    for k in a:
        torch.testing.assert_close(a[k], b[k])


def test_mixed_types_train_and_answer_queries(cpu_trainer: Callable[..., L.Trainer]) -> None:
    L.seed_everything(1, verbose=False)
    g = torch.Generator().manual_seed(0)
    n = 3000
    a = torch.randn(n, 2, generator=g)
    b = torch.where(a[:, 0] > 0.5, 2, torch.where(a[:, 0] < -0.5, 0, 1))
    c = a[:, :1] + 0.1 * torch.randn(n, 1, generator=g)
    d = torch.cat([c, -c, b.float().unsqueeze(1)], 1) + 0.1 * torch.randn(n, 3, generator=g)
    e = (c[:, 0] + 0.3 * torch.randn(n, generator=g) > 0).long()
    values = {"a": a, "b": b, "c": c, "d": d, "e": e}
    specs = dict(MIXED_VARS)
    specs["a"] = VariableSpec("a", "continuous", dim=2, mean=(0.0, 0.0), std=(1.0, 1.0))
    model = DCM(MIXED, specs, MechanismConfig(hidden=32, timesteps=30), optimizer=partial(AdamW, lr=3e-3))
    loader = DataLoader(TensorDictDataset(values), batch_size=256, shuffle=True, collate_fn=collate_tensor_dict)
    cpu_trainer(max_epochs=15).fit(model, loader)
    s = model.sample(2000, {"a": torch.tensor([2.0, 0.0])}, seed=0)
    assert s["b"].dtype == torch.int64 and s["d"].shape == (2000, 3) and s["e"].shape == (2000,)
    assert (s["b"] == 2).float().mean() > 0.8  # a0 = 2 > 0.5 makes b = 2
    assert (s["e"] == 1).float().mean() > 0.8  # c ~ 2 makes e = 1
    cf = model.counterfactual({k: v[:200] for k, v in values.items()}, {"b": 0}, seed=0)
    assert torch.all(cf["b"] == 0) and torch.equal(cf["c"], c[:200]) and torch.equal(cf["e"], e[:200])
    assert cf["d"][:, 2].mean() < d[:200, 2].mean() - 0.5  # d's third coordinate follows b
    flipped = model.counterfactual({k: v[:200] for k, v in values.items()}, {"c": 3.0}, seed=0)
    assert (flipped["e"] == 1).float().mean() > 0.95


def test_errors() -> None:
    with pytest.raises(GraphError, match="use ID-GEN"):
        DCM(CausalGraph(directed=[("x", "y")], bidirected=[("x", "y")]))
    model = DCM(MIXED, MIXED_VARS, MechanismConfig(hidden=8))
    with pytest.raises(RuntimeError, match="root 'a' has no training rows"):
        model.sample(5)
    model.node_mechanisms.observe(mixed_batch())
    with pytest.raises(QueryError, match="unknown variable 'zz'"):
        model.sample(5, {"zz": 1.0})
    with pytest.raises(QueryError, match="shape"):
        model.sample(5, {"d": [1.0, 2.0]})
    with pytest.raises(QueryError, match="out of range"):
        model.sample(5, {"b": 7})
    with pytest.raises(QueryError, match="at least one intervention"):
        model.counterfactual(mixed_batch(4), {})
    with pytest.raises(QueryError, match="lack variable 'e'"):
        model.counterfactual({k: v for k, v in mixed_batch(4).items() if k != "e"}, {"a": 0.0})
    with pytest.raises(QueryError, match="must return a tensor"):
        model.sample(5, {"c": lambda v: 1.0})


def test_graph_from_a_yaml_file_with_variable_types(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    path.write_text("directed: [a -> b]\nvariables:\n  b: {type: categorical, classes: 4}\n  a: {dim: 2}\n")
    model = DCM(str(path))
    assert model.variables["b"].classes == 4 and model.variables["a"].dim == 2
    assert model.hparams["graph"]["directed"] == [["a", "b"]]


def test_node_generators_expose_the_conditional_generator_interface(trained: tuple[DCM, Path]) -> None:
    from lightning_causal.generators import ConditionalGenerator

    model, _ = trained
    gen = model.node_generator("x2")
    assert isinstance(gen, ConditionalGenerator) and gen.inputs == ("x1",) and gen.invertible
    values, _ = linear_gaussian(300, seed=5)
    parents = {"x1": values["x1"]}
    # sampling x2 | x1 through the view matches the truth N(2 x1, 0.25)
    draws = gen.sample(parents, torch.Generator().manual_seed(0))
    assert ((draws - 2 * values["x1"]) / 0.5).std().item() == pytest.approx(1.0, abs=0.2)
    # encode then decode reconstructs; decoding under other parents gives the counterfactual
    latent = gen.encode(values["x2"], parents)
    torch.testing.assert_close(gen.decode(latent, parents), values["x2"], atol=0.05, rtol=0)
    cf = gen.decode(latent, {"x1": values["x1"] + 1})
    assert (cf - (values["x2"] + 2)).pow(2).mean().item() < 0.05
    # the view's loss is the bank's loss for that node
    g = torch.Generator().manual_seed(3)
    assert gen.loss(values["x2"], parents, g).item() > 0
    with pytest.raises(QueryError, match="needs its input 'x1'"):
        gen.sample({})
    with pytest.raises(QueryError, match="no trained generator"):
        model.node_generator("x1")


def test_categorical_counterfactuals_approach_exact_gumbel_abduction(cpu_trainer: Callable[..., L.Trainer]) -> None:
    """c = argmax(W a + g), g Gumbel: the model's counterfactual of c under a new a, against the truth
    from the true noise, should be about as accurate as abduction with the true logits."""
    from lightning_causal.generators import gumbel_decode, gumbel_posterior

    L.seed_everything(2, verbose=False)
    g = torch.Generator().manual_seed(0)
    n = 4000
    weights = torch.tensor([[2.0, -1.0, 0.0, 1.5]])
    a = torch.randn(n, 1, generator=g)
    noise = -torch.log(-torch.log(torch.rand(n, 4, generator=g).clamp(1e-12, 1 - 1e-7)))
    c = torch.argmax(a * weights + noise, dim=1)
    graph = CausalGraph(directed=[("a", "c")])
    specs = {
        "a": VariableSpec("a", "continuous", mean=(0.0,), std=(1.0,)),
        "c": VariableSpec("c", "categorical", classes=4),
    }
    model = DCM(graph, specs, optimizer=partial(AdamW, lr=3e-3))
    loader = DataLoader(
        TensorDictDataset({"a": a, "c": c}), batch_size=256, shuffle=True, collate_fn=collate_tensor_dict
    )
    cpu_trainer(max_epochs=20).fit(model, loader)
    rows = slice(0, 1000)
    new_a = -a[rows]
    truth = torch.argmax(new_a * weights + noise[rows], dim=1)
    answer = model.counterfactual({"a": a[rows], "c": c[rows]}, {"a": new_a}, seed=0)["c"]
    oracle_noise = gumbel_posterior(a[rows] * weights, c[rows], torch.Generator().manual_seed(0))
    oracle = gumbel_decode(new_a * weights, oracle_noise)
    accuracy = (answer == truth).float().mean().item()
    oracle_accuracy = (oracle == truth).float().mean().item()
    copy_accuracy = (c[rows] == truth).float().mean().item()
    assert accuracy > oracle_accuracy - 0.05 and accuracy > copy_accuracy + 0.1


def test_counterfactuals_off_the_data_stay_near_the_training_range(trained: tuple[DCM, Path]) -> None:
    """A factual row far outside the data, intervened on: descendants stay within the clip range."""
    model, _ = trained
    factual = {"x1": torch.tensor([[8.0]]), "x2": torch.tensor([[-9.0]]), "x3": torch.tensor([[12.0]])}
    cf = model.counterfactual(factual, {"x1": 0.0})
    for name in ("x2", "x3"):
        spec = model.variables[name]
        assert spec.low is not None and spec.high is not None
        span = spec.high[0] - spec.low[0]
        assert spec.low[0] - 0.11 * span <= cf[name].item() <= spec.high[0] + 0.11 * span
