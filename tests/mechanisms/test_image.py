"""Image variables in the DCM and in ID-GEN: the image bank trains, samples, inverts and guides."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import lightning as L
import pytest
import torch

from lightning_causal.datamodules import TensorDataModule
from lightning_causal.errors import ConfigError, QueryError
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.mechanisms import ImageMechanismConfig, MechanismConfig
from lightning_causal.models import DCM, AdamW
from lightning_causal.variables.inference import with_statistics
from lightning_causal.variables.spec import VariableSpec

TINY = {
    "base": 16,
    "mults": (1, 2),
    "res_blocks": 1,
    "attention": (2,),
    "dropout": 0.0,
    "groups": 4,
    "cond_dim": 16,
    "timesteps": 100,
    "beta_end": 0.2,
    "sample_steps": 10,
}
COLOURS = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def _solid(z: torch.Tensor, size: int = 4) -> torch.Tensor:
    """Solid images whose colour is class z (uint8, (n, 3, size, size))."""
    rgb = COLOURS[z] * 255
    return rgb[:, :, None, None].expand(-1, -1, size, size).round().to(torch.uint8).contiguous()


class _Data(TensorDataModule):
    def __init__(self, tensors: dict[str, torch.Tensor], specs: dict[str, VariableSpec], batch_size: int = 64):
        super().__init__()
        self.train_tensors = tensors
        self.val_tensors = {k: v[:64] for k, v in tensors.items()}
        self.variables = with_statistics(specs, tensors)
        self.batch_size, self.seed, self.num_workers = batch_size, 0, 0


def _chain(n: int = 512, seed: int = 0) -> _Data:
    """Z (3 classes) -> X (4x4 solid image of colour Z) -> Y = brightness of X's green channel + noise."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randint(0, 3, (n,), generator=g)
    x = _solid(z)
    y = x[:, 1].float().mean((1, 2)).unsqueeze(1) / 255 + 0.05 * torch.randn(n, 1, generator=g)
    specs = {
        "Z": VariableSpec("Z", "categorical", classes=3),
        "X": VariableSpec("X", "image", channels=3, height=4, width=4),
        "Y": VariableSpec("Y", "continuous"),
    }
    return _Data({"Z": z, "X": x, "Y": y}, specs)


@pytest.fixture(scope="module")
def trained(cpu_trainer: Callable[..., L.Trainer]) -> Iterator[tuple[DCM, _Data]]:
    # one thread: tiny convolutions slow down several-fold when two threads share a busy core
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield _train(cpu_trainer)
    finally:
        torch.set_num_threads(threads)


def _train(make: Callable[..., L.Trainer]) -> tuple[DCM, _Data]:
    data = _chain()
    graph = CausalGraph(directed=[("Z", "X"), ("X", "Y")])
    torch.manual_seed(0)
    network = MechanismConfig(hidden=32, image=ImageMechanismConfig(**TINY))  # type: ignore[arg-type]
    model = DCM(graph, data.variables, network, optimizer=partial(AdamW, lr=3e-3), seed=0)
    make(max_steps=1500, limit_val_batches=0).fit(model, data)
    return model, data


def test_dcm_with_an_image_node_samples_images_that_follow_their_parent(trained: tuple[DCM, _Data]) -> None:
    model, _ = trained
    assert model.node_mechanisms.banks["image"].entries == ("X",)
    for z in range(3):
        out = model.sample(64, {"Z": z}, seed=1)
        assert out["X"].shape == (64, 3, 4, 4) and out["X"].dtype == torch.uint8
        colour = out["X"].float().mean((0, 2, 3)) / 255
        assert int(colour.argmax()) == z, f"class {z} sampled mean colour {colour.tolist()}"
        assert float(colour[z]) > 0.6
        # Y reads X's green channel
        assert abs(float(out["Y"].mean()) - float(z == 1)) < 0.25


def test_image_sampling_is_reproducible_and_do_on_the_image_works(trained: tuple[DCM, _Data]) -> None:
    model, _ = trained
    a = model.sample(16, {"Z": 0}, seed=5)
    b = model.sample(16, {"Z": 0}, seed=5)
    assert torch.equal(a["X"], b["X"]) and torch.equal(a["Y"], b["Y"])
    green = _solid(torch.tensor([1]))[0]
    out = model.sample(200, {"X": green}, seed=3)
    assert torch.equal(out["X"], green.expand(200, -1, -1, -1))
    assert abs(float(out["Y"].mean()) - 1.0) < 0.2


def test_guidance_changes_image_samples_and_zero_is_the_default(trained: tuple[DCM, _Data]) -> None:
    model, _ = trained
    plain = model.sample(32, {"Z": 2}, seed=7)
    zero = model.sample(32, {"Z": 2}, seed=7, guidance=0.0)
    strong = model.sample(32, {"Z": 2}, seed=7, guidance=3.0)
    assert torch.equal(plain["X"], zero["X"])
    assert not torch.equal(plain["X"], strong["X"])
    # guidance pushes towards the condition: blue at least as saturated
    assert strong["X"][:, 2].float().mean() >= plain["X"][:, 2].float().mean() - 5


def test_the_configs_eta_is_the_default_of_image_queries_and_vectors_stay_deterministic(
    trained: tuple[DCM, _Data],
) -> None:
    model, data = trained
    plain = model.sample(32, {"Z": 2}, seed=7)
    assert torch.equal(plain["X"], model.sample(32, {"Z": 2}, seed=7, eta=0.0)["X"])  # 0: the default
    ancestral = model.sample(32, {"Z": 2}, seed=7, eta=1.0)
    assert not torch.equal(plain["X"], ancestral["X"])
    # the same weights with eta = 1 in the config: image queries take it, the vector Y keeps DDIM's 0
    graph = CausalGraph(directed=[("Z", "X"), ("X", "Y")])
    network = MechanismConfig(hidden=32, image=ImageMechanismConfig(**TINY, eta=1.0))  # type: ignore[arg-type]
    noisy = DCM(graph, data.variables, network, seed=0)
    noisy.load_state_dict(model.state_dict())
    green = _solid(torch.tensor([1]))[0]
    assert torch.equal(noisy.sample(32, {"Z": 2}, seed=7)["X"], ancestral["X"])
    assert torch.equal(
        noisy.sample(32, {"Z": 0, "X": green}, seed=7)["Y"], model.sample(32, {"Z": 0, "X": green}, seed=7)["Y"]
    )
    assert not torch.equal(
        noisy.sample(32, {"Z": 0, "X": green}, seed=7, eta=1.0)["Y"],
        model.sample(32, {"Z": 0, "X": green}, seed=7)["Y"],
    )
    assert torch.equal(noisy.sample(32, {"Z": 2}, seed=7, eta=0.0)["X"], plain["X"])  # a query's eta wins
    with pytest.raises(QueryError, match=r"^eta is -1\.0; give a value >= 0"):
        model.sample(4, {"Z": 2}, seed=7, eta=-1.0)


def test_image_counterfactual_keeps_unaffected_nodes(trained: tuple[DCM, _Data]) -> None:
    model, data = trained
    factual = {k: v[:8] for k, v in data.train_tensors.items()}
    out = model.counterfactual(factual, {"Z": 1}, seed=0)
    assert out["X"].shape == (8, 3, 4, 4)
    assert torch.equal(out["Z"], torch.ones(8, dtype=torch.long))
    assert int((out["X"].float().mean((0, 2, 3))).argmax()) == 1


def test_image_checkpoint_round_trip(
    trained: tuple[DCM, _Data], tmp_path: Path, cpu_trainer: Callable[..., L.Trainer]
) -> None:
    model, _ = trained
    trainer = cpu_trainer(max_steps=1)
    trainer.strategy.connect(model)
    path = tmp_path / "m.ckpt"
    trainer.save_checkpoint(path)
    loaded = DCM.load_from_checkpoint(path, map_location="cpu")
    assert torch.equal(loaded.sample(8, {"Z": 1}, seed=2)["X"], model.sample(8, {"Z": 1}, seed=2)["X"])


def test_image_config_errors_are_one_line() -> None:
    with pytest.raises(ConfigError, match=r"mechanisms\.image\.mults"):
        ImageMechanismConfig(mults=())
    with pytest.raises(ConfigError, match=r"mechanisms\.image\.cond_dropout"):
        ImageMechanismConfig(cond_dropout=1.0)
    with pytest.raises(ConfigError, match=r"mechanisms\.image\.sample_steps"):
        ImageMechanismConfig(timesteps=10, beta_end=0.9, sample_steps=20)
    with pytest.raises(ConfigError, match=r"mechanisms\.image"):
        MechanismConfig(image={"bogus": 1})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"keeps 36% of the image"):
        ImageMechanismConfig(timesteps=100, beta_end=0.02)
    assert MechanismConfig(image={"base": 8}).image.base == 8  # type: ignore[arg-type]
