"""DiffusionBank: one DDPM loss per entry that reads only the entry's own target and inputs, samples in data
space inside the training range widened by CLIP_MARGIN, deterministic decoding of given latents, and DDIM
inversion that the decoding undoes (an untrained bank is deterministic, which is all the round trip needs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch import Tensor

from lightning_causal.mechanisms import DiffusionBank, MechanismConfig
from lightning_causal.mechanisms.diffusion import CLIP_MARGIN
from lightning_causal.variables import EncodedLayout, VariableSpec

N = 48
SPECS = {
    "x": VariableSpec("x", "continuous", dim=2, mean=(1.0, -1.0), std=(2.0, 0.5)),
    "y": VariableSpec("y", "continuous", mean=(0.5,), std=(1.5,)),
    "v": VariableSpec("v", "continuous", dim=3),
    "w": VariableSpec("w", "continuous"),
}
ORDER = ["x", "y", "v", "w"]
ENTRIES = ["y", "v", "w"]
INPUTS = {"y": ["x"], "v": ["x", "y"], "w": ["v"]}


def _values(n: int = N, seed: int = 0) -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "x": torch.tensor([1.0, -1.0]) + torch.tensor([2.0, 0.5]) * torch.randn(n, 2, generator=g),
        "y": 0.5 + 1.5 * torch.randn(n, 1, generator=g),
        "v": torch.randn(n, 3, generator=g),
        "w": torch.randn(n, 1, generator=g),
    }


def _bank(config: MechanismConfig, specs: dict[str, VariableSpec] = SPECS) -> tuple[DiffusionBank, EncodedLayout]:
    torch.manual_seed(0)
    layout = EncodedLayout(specs, ORDER)
    return DiffusionBank(ENTRIES, INPUTS, layout, specs, config), layout


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """One thread: these tiny networks slow down several-fold when two threads share a busy core."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def config(tiny_mechanisms: dict[str, Any]) -> MechanismConfig:
    return MechanismConfig.of(tiny_mechanisms)


@pytest.mark.parametrize("backend", ["batched", "separate"])
def test_the_loss_is_one_finite_positive_number_per_entry(config: MechanismConfig, backend: str) -> None:
    bank, layout = _bank(MechanismConfig.of({"hidden": 16, "timesteps": 10, "backend": backend}))
    values = _values()
    encoded = layout.encode(values)
    losses = bank.batch_loss(encoded, values, torch.Generator().manual_seed(0))
    assert losses.shape == (3,) and bool(torch.isfinite(losses).all()) and bool((losses > 0).all())
    some = bank.batch_loss(encoded, values, torch.Generator().manual_seed(0), bank.index(["w", "y"], encoded.device))
    assert some.shape == (2,)
    losses.sum().backward()
    assert all(p.grad is not None for p in bank.parameters())


def test_the_loss_of_an_entry_reads_only_its_own_target_and_inputs(config: MechanismConfig) -> None:
    bank, layout = _bank(config)
    values = _values()
    base = bank.batch_loss(layout.encode(values), values, torch.Generator().manual_seed(3))
    # w reads v and itself: changing x and y (other entries' variables) leaves its loss unchanged
    other = {**values, "x": values["x"] + 5.0, "y": -values["y"]}
    changed = bank.batch_loss(layout.encode(other), other, torch.Generator().manual_seed(3))
    assert changed[2] == base[2]
    assert changed[0] != base[0] and changed[1] != base[1]  # y reads x; v reads x and y
    # changing its own input or its own target changes it
    for name in ("v", "w"):
        moved = {**values, name: values[name] + 1.0}
        assert bank.batch_loss(layout.encode(moved), moved, torch.Generator().manual_seed(3))[2] != base[2]


def test_the_gradient_of_an_entrys_loss_reaches_only_its_own_denoiser(config: MechanismConfig) -> None:
    bank, layout = _bank(MechanismConfig.of({"hidden": 16, "timesteps": 10, "backend": "separate"}))
    values = _values()
    losses = bank.batch_loss(layout.encode(values), values, torch.Generator().manual_seed(0))
    losses[1].backward()
    nets = bank.denoiser.nets  # type: ignore[union-attr]
    grads = [sum(float(p.grad.abs().sum()) for p in net.parameters() if p.grad is not None) for net in nets]
    assert grads[1] > 0 and grads[0] == 0 and grads[2] == 0


def _ranged_specs() -> dict[str, VariableSpec]:
    """y and v with a training range far narrower than what an untrained denoiser produces from noise."""
    return {
        **SPECS,
        "y": VariableSpec("y", "continuous", mean=(0.5,), std=(1.5,), low=(0.4,), high=(0.7,)),
        "v": VariableSpec("v", "continuous", dim=3, low=(-0.1, 0.0, 2.0), high=(0.1, 0.5, 2.2)),
    }


@pytest.mark.parametrize("sampler", ["ddim", "ddpm"])
def test_samples_in_data_space_stay_in_the_training_range_widened_by_the_clip_margin(
    config: MechanismConfig, sampler: str
) -> None:
    specs = _ranged_specs()
    bank, layout = _bank(config, specs)
    values = _values(200)
    out = bank.generate(layout.encode(values), ["y", "v", "w"], layout, torch.Generator().manual_seed(1), sampler)
    assert out["y"].shape == (200, 1) and out["v"].shape == (200, 3) and out["w"].shape == (200, 1)
    for name in ("y", "v"):
        spec = specs[name]
        assert spec.low is not None and spec.high is not None
        low, high = torch.tensor(spec.low), torch.tensor(spec.high)
        span = high - low
        lower, upper = low - CLIP_MARGIN * span, high + CLIP_MARGIN * span
        assert bool((out[name] >= lower - 1e-5).all()) and bool((out[name] <= upper + 1e-5).all()), name
        # the clip is active: the untrained denoiser's samples pile up at the widened bounds themselves
        torch.testing.assert_close(out[name].min(0).values, lower, atol=1e-4, rtol=0, msg=name)
        torch.testing.assert_close(out[name].max(0).values, upper, atol=1e-4, rtol=0, msg=name)
    assert CLIP_MARGIN == 0.1


def test_clip_bounds_are_standardised_and_unbounded_without_a_training_range(config: MechanismConfig) -> None:
    specs = _ranged_specs()
    bank, _ = _bank(config, specs)
    k = bank.position["w"]
    assert bool(torch.isinf(bank.clip_low[k]).all()) and bool(torch.isinf(bank.clip_high[k]).all())
    # y's bound in standardised units, by hand: (0.4 - 0.5) / 1.5 - 0.1 * (0.3 / 1.5)
    torch.testing.assert_close(bank.clip_low[bank.position["y"], 0, 0], torch.tensor(-0.1 / 1.5 - 0.02))


def test_generation_is_reproducible_from_the_generator(config: MechanismConfig) -> None:
    bank, layout = _bank(config)
    encoded = layout.encode(_values())
    a = bank.generate(encoded, ENTRIES, layout, torch.Generator().manual_seed(4))
    b = bank.generate(encoded, ENTRIES, layout, torch.Generator().manual_seed(4))
    c = bank.generate(encoded, ENTRIES, layout, torch.Generator().manual_seed(5))
    for name in ENTRIES:
        assert torch.equal(a[name], b[name]) and not torch.equal(a[name], c[name])


def test_decoding_given_latents_is_deterministic_whatever_the_sampler_settings(config: MechanismConfig) -> None:
    bank, layout = _bank(config)
    encoded = layout.encode(_values())
    g = torch.Generator().manual_seed(0)
    latents = {"y": torch.randn(N, 3, generator=g), "v": torch.randn(N, 3, generator=g)}
    plain = bank.generate(encoded, ["y", "v"], layout, None, latents=latents)
    other = bank.generate(
        encoded, ["y", "v"], layout, torch.Generator().manual_seed(9), "ddpm", eta=1.0, latents=latents
    )
    for name in ("y", "v"):
        assert torch.equal(plain[name], other[name])
    # only the entry's own columns of a padded latent matter
    widened = {**latents, "y": torch.cat([latents["y"][:, :1], torch.randn(N, 2, generator=g)], 1)}
    assert torch.equal(bank.generate(encoded, ["y"], layout, None, latents=widened)["y"], plain["y"])


def test_abduction_gives_latents_padded_to_the_bank_width_with_zeros(config: MechanismConfig) -> None:
    bank, layout = _bank(config)
    values = _values()
    latents = bank.abduct(layout.encode(values), ["w", "v"], values, None)
    assert list(latents) == ["w", "v"]
    assert latents["w"].shape == (N, 3) and latents["v"].shape == (N, 3)
    assert torch.equal(latents["w"][:, 1:], torch.zeros(N, 2))
    assert bool(latents["w"][:, 0].ne(0).all())


@pytest.mark.parametrize("steps", [None, 5])
def test_abduct_then_generate_with_the_latents_gives_back_the_values(
    config: MechanismConfig, steps: int | None
) -> None:
    bank, layout = _bank(config)
    values = _values()
    encoded = layout.encode(values)
    errors = {}
    for refine in (0, 2):
        latents = bank.abduct(encoded, ENTRIES, values, None, steps=steps, refine=refine)
        back = bank.generate(encoded, ENTRIES, layout, None, steps=steps, latents=latents)
        errors[refine] = max(float((back[m] - values[m]).abs().max()) for m in ENTRIES)
    assert errors[2] < 1e-4
    assert errors[2] < errors[0] / 10  # refinement removes the step-size error of the plain inversion
