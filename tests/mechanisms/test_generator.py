"""MechanismGenerator: one entry of a BankSet through the ConditionalGenerator protocol, with the shapes of
sample, loss, encode and decode, one-line errors for missing inputs, and resampled entries that have no
loss and are not invertible."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from lightning_causal.errors import NotTrainedError, QueryError
from lightning_causal.generators import ConditionalGenerator
from lightning_causal.mechanisms import BankSet, ClassifierBank, DiffusionBank, MechanismConfig, MechanismGenerator
from lightning_causal.variables import VariableSpec

SPECS = {
    "x": VariableSpec("x", "continuous", mean=(1.0,), std=(2.0,)),
    "z": VariableSpec("z", "continuous", dim=2),
    "y": VariableSpec("y", "continuous", mean=(0.0,), std=(0.5,)),
    "c": VariableSpec("c", "categorical", classes=3),
}
ORDER = ["x", "z", "y", "c"]
INPUTS: dict[str, list[str]] = {"x": [], "z": [], "y": ["x"], "c": ["x", "y"]}


def _values(n: int = 24, seed: int = 0) -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = 1.0 + 2.0 * torch.randn(n, 1, generator=g)
    return {
        "x": x,
        "z": torch.randn(n, 2, generator=g),
        "y": 0.5 * x + 0.5 * torch.randn(n, 1, generator=g),
        "c": torch.randint(0, 3, (n,), generator=g),
    }


@pytest.fixture
def mechanisms(tiny_mechanisms: dict[str, Any]) -> BankSet:
    """x is resampled from kept rows; z is modelled without inputs; y | x by diffusion; c | x, y by a classifier."""
    torch.manual_seed(0)
    config = MechanismConfig.of(tiny_mechanisms)
    return BankSet(ORDER, INPUTS, SPECS, ORDER, config, resampled=["x"])


def test_a_generator_views_one_entry_with_its_variable_and_inputs(mechanisms: BankSet) -> None:
    gen = MechanismGenerator(mechanisms, "c")
    assert isinstance(gen, ConditionalGenerator)
    assert (gen.variable, gen.inputs, gen.invertible) == ("c", ("x", "y"), True)
    assert MechanismGenerator(mechanisms, "x").invertible is False


def test_samples_have_the_shape_and_type_of_their_variable(mechanisms: BankSet) -> None:
    values = _values()
    g = torch.Generator().manual_seed(0)
    y = MechanismGenerator(mechanisms, "y").sample({"x": values["x"]}, g)
    c = MechanismGenerator(mechanisms, "c").sample({"x": values["x"], "y": values["y"]}, g)
    z = MechanismGenerator(mechanisms, "z").sample({}, g, n=5)
    assert y.shape == (24, 1) and y.dtype == torch.float32
    assert c.shape == (24,) and c.dtype == torch.int64 and bool(((c >= 0) & (c < 3)).all())
    assert z.shape == (5, 2)


def test_extra_inputs_change_nothing(mechanisms: BankSet) -> None:
    values = _values()
    gen = MechanismGenerator(mechanisms, "y")
    a = gen.sample({"x": values["x"]}, torch.Generator().manual_seed(1))
    b = gen.sample({"x": values["x"], "c": values["c"], "z": values["z"]}, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


def test_the_classifier_loss_is_the_cross_entropy_of_the_banks_logits(mechanisms: BankSet) -> None:
    values = _values()
    gen = MechanismGenerator(mechanisms, "c")
    loss = gen.loss(values["c"], {"x": values["x"], "y": values["y"]})
    assert loss.shape == ()
    bank = mechanisms.bank("c")
    assert isinstance(bank, ClassifierBank)
    logits = bank.logits(mechanisms.encode(values), None)[0]
    torch.testing.assert_close(loss, F.cross_entropy(logits, values["c"]))
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in bank.parameters())


def test_the_diffusion_loss_is_the_ddpm_loss_of_the_entrys_denoiser(mechanisms: BankSet) -> None:
    values = _values()
    gen = MechanismGenerator(mechanisms, "y")
    loss = gen.loss(values["y"], {"x": values["x"]}, torch.Generator().manual_seed(2))
    assert loss.shape == () and float(loss.detach()) > 0
    # the DDPM loss by hand (Ho et al. 2020, eq. 14) with the bank's denoiser of y: y and z share the bank,
    # whose width is z's 2; y's second column is padding
    bank = mechanisms.bank("y")
    assert isinstance(bank, DiffusionBank) and bank.entries == ("z", "y")
    index = bank.index(["y"], torch.device("cpu"))
    g = torch.Generator().manual_seed(2)
    t = torch.randint(0, 10, (1, 24), generator=g)
    mask = torch.tensor([1.0, 0.0])
    noise = torch.randn(1, 24, 2, generator=g) * mask
    x0 = torch.cat([values["y"] / 0.5, torch.zeros(24, 1)], 1).unsqueeze(0)  # y standardised with std 0.5
    cond = ((values["x"] - 1.0) / 2.0).unsqueeze(0)  # x standardised with mean 1 and std 2
    abar = torch.cumprod(1 - torch.linspace(1e-4, 0.1, 10, dtype=torch.float64), 0)[t].float().unsqueeze(-1)
    x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * noise
    err = (bank.eps(x_t, t, cond, index) - noise) ** 2
    expected = (err * mask).sum(-1).mean()
    torch.testing.assert_close(loss, expected)


def test_encode_and_decode_shapes_and_round_trips(mechanisms: BankSet) -> None:
    values = _values()
    y = MechanismGenerator(mechanisms, "y")
    latent = y.encode(values["y"], {"x": values["x"]})
    assert latent.shape == (24, 2)  # padded to the diffusion bank's width (z is 2-d)
    assert torch.equal(latent[:, 1], torch.zeros(24))
    torch.testing.assert_close(y.decode(latent, {"x": values["x"]}), values["y"], atol=1e-4, rtol=0)

    c = MechanismGenerator(mechanisms, "c")
    inputs = {"x": values["x"], "y": values["y"]}
    noise = c.encode(values["c"], inputs, torch.Generator().manual_seed(0))
    assert noise.shape == (24, 3)
    assert torch.equal(c.decode(noise, inputs), values["c"])

    z = MechanismGenerator(mechanisms, "z")
    z_latent = z.encode(values["z"], {})
    torch.testing.assert_close(z.decode(z_latent, {}), values["z"], atol=1e-4, rtol=0)


def test_decoding_under_other_inputs_changes_the_value(mechanisms: BankSet) -> None:
    values = _values()
    y = MechanismGenerator(mechanisms, "y")
    latent = y.encode(values["y"], {"x": values["x"]})
    moved = y.decode(latent, {"x": values["x"] + 4.0})
    assert not torch.allclose(moved, values["y"], atol=1e-3)


def test_a_missing_input_is_named(mechanisms: BankSet) -> None:
    gen = MechanismGenerator(mechanisms, "c")
    for call in (
        lambda: gen.sample({"x": torch.zeros(3, 1)}),
        lambda: gen.decode(torch.zeros(3, 3), {"y": torch.zeros(3, 1)}),
    ):
        with pytest.raises(QueryError, match=r"the generator of c needs its input '(y|x)'") as err:
            call()
        assert "\n" not in str(err.value)


def test_an_entry_without_inputs_needs_n(mechanisms: BankSet) -> None:
    with pytest.raises(QueryError, match="the generator of z has no inputs: give n") as err:
        MechanismGenerator(mechanisms, "z").sample({})
    assert "\n" not in str(err.value)


def test_a_resampled_entry_draws_kept_rows_and_has_no_loss_nor_latents(mechanisms: BankSet) -> None:
    gen = MechanismGenerator(mechanisms, "x")
    with pytest.raises(NotTrainedError, match=r"^the factor P\(x\) has no training rows") as err:
        gen.sample({}, n=3)
    assert "\n" not in str(err.value)
    kept = torch.tensor([[1.5], [-2.0], [7.0]])
    mechanisms.observe({"x": kept, "y": torch.zeros(3, 1)})
    drawn = gen.sample({}, torch.Generator().manual_seed(0), n=50)
    assert drawn.shape == (50, 1) and set(drawn[:, 0].tolist()) <= {1.5, -2.0, 7.0}
    with pytest.raises(NotImplementedError, match="fitted, not trained by a loss"):
        gen.loss(kept, {})
    with pytest.raises(NotImplementedError, match="not invertible"):
        gen.encode(kept, {})
    with pytest.raises(NotImplementedError, match="not invertible"):
        gen.decode(kept, {})


def test_sampler_settings_reach_the_bank(mechanisms: BankSet) -> None:
    values = _values()
    inputs = {"x": values["x"]}
    ddim = MechanismGenerator(mechanisms, "y", steps=3)
    ddpm = MechanismGenerator(mechanisms, "y", sampler="ddpm")
    a = ddim.sample(inputs, torch.Generator().manual_seed(0))
    b = ddpm.sample(inputs, torch.Generator().manual_seed(0))
    assert not torch.equal(a, b)
    with pytest.raises(QueryError, match="unknown sampler 'euler'"):
        MechanismGenerator(mechanisms, "y", sampler="euler").sample(inputs)


def test_repr_shows_the_conditional_it_models(mechanisms: BankSet) -> None:
    assert repr(MechanismGenerator(mechanisms, "c")) == "MechanismGenerator(P(c | x, y))"
    assert repr(MechanismGenerator(mechanisms, "x")) == "MechanismGenerator(P(x))"
    named = MechanismGenerator(mechanisms, "y", description="the dose response")
    assert repr(named) == "MechanismGenerator(the dose response)"
