"""The image UNet and the condition encoder: shapes, zero init, gradients, conditioning, a short overfit, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch

from lightning_causal.errors import ConfigError
from lightning_causal.nets import AttentionBlock, ConditionEncoder, UNet

TINY: dict[str, Any] = {"base": 16, "mults": (1, 2), "res_blocks": 1, "attention": (4,), "groups": 4}


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny tensors gain nothing from threads, and lose a lot when other processes share the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def perturb(net: torch.nn.Module, scale: float = 0.05) -> None:
    """Move every parameter off its initial value (the zero-initialised convolutions included)."""
    with torch.no_grad():
        for p in net.parameters():
            p.add_(scale * torch.randn_like(p))


@pytest.mark.parametrize(
    ("channels", "height", "width", "mults"),
    [(1, 8, 8, (1, 2)), (3, 16, 16, (1, 2)), (2, 8, 16, (1, 2)), (4, 16, 8, (1, 2, 2)), (3, 16, 24, (1, 2, 2))],
)
def test_output_shape(channels: int, height: int, width: int, mults: tuple[int, ...]) -> None:
    net = UNet(channels, height, width, **{**TINY, "mults": mults})
    x = torch.randn(3, channels, height, width)
    out = net(x, torch.tensor([0, 5, 999]))
    assert out.shape == x.shape


def test_zero_init_gives_zero_output() -> None:
    torch.manual_seed(0)
    net = UNet(3, 8, 8, cond_dim=5, **TINY)
    out = net(torch.randn(4, 3, 8, 8), torch.randint(0, 1000, (4,)), torch.randn(4, 5))
    assert torch.equal(out, torch.zeros_like(out))


def test_gradients_reach_every_parameter() -> None:
    torch.manual_seed(0)
    net = UNet(2, 8, 16, cond_dim=3, dropout=0.0, **TINY)
    perturb(net)
    out = net(torch.randn(2, 2, 8, 16), torch.tensor([3, 700]), torch.randn(2, 3))
    out.square().mean().backward()
    dead = [name for name, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not dead, f"parameters without gradient: {dead}"


def test_condition_changes_the_output_after_a_training_step() -> None:
    torch.manual_seed(0)
    net = UNet(1, 8, 8, cond_dim=4, dropout=0.0, **TINY)
    perturb(net)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([10, 500])
    net(x, t, torch.randn(2, 4)).sub(x).square().mean().backward()
    opt.step()
    with torch.no_grad():
        a, b = net(x, t, torch.zeros(2, 4)), net(x, t, torch.ones(2, 4))
        assert not torch.allclose(a, b)
        assert torch.equal(net(x, t, None), a), "no condition must equal a zero condition"


def test_unconditional_net_rejects_a_condition() -> None:
    net = UNet(1, 8, 8, **TINY)
    with pytest.raises(ValueError, match="cond_dim"):
        net(torch.randn(1, 1, 8, 8), torch.tensor([1]), torch.randn(1, 2))


def test_wrong_image_shape_is_named() -> None:
    net = UNet(1, 8, 8, **TINY)
    with pytest.raises(ValueError, match=r"\(B, 1, 8, 8\)"):
        net(torch.randn(1, 1, 16, 16), torch.tensor([1]))


def test_attention_at_the_listed_sides_and_in_the_middle() -> None:
    # 16x8: level sides 8 and 4; attention (4,) puts it at level 1: 1 block down, 2 up, 1 in the middle
    net = UNet(1, 16, 8, **TINY)
    assert sum(isinstance(m, AttentionBlock) for m in net.modules()) == 4
    # attention (16,) matches no level: only the middle block has attention
    net = UNet(1, 16, 16, **{**TINY, "attention": (32,)})
    assert sum(isinstance(m, AttentionBlock) for m in net.modules()) == 1


def test_multi_head_attention_runs() -> None:
    net = UNet(1, 8, 8, heads=4, **TINY)
    perturb(net)
    assert net(torch.randn(2, 1, 8, 8), torch.tensor([1, 2])).shape == (2, 1, 8, 8)


def test_short_overfit_reduces_the_denoising_loss() -> None:
    torch.manual_seed(0)
    net = UNet(1, 8, 8, dropout=0.0, **TINY)
    gen = torch.Generator().manual_seed(1)
    x0 = torch.rand(4, 1, 8, 8, generator=gen) * 2 - 1
    eps = torch.randn(4, 1, 8, 8, generator=gen)
    t = torch.tensor([50, 200, 400, 700])
    a = torch.tensor([0.95, 0.7, 0.4, 0.1]).view(4, 1, 1, 1)  # a fixed alpha-bar per row
    xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    losses = []
    for _ in range(60):
        loss = (net(xt, t) - eps).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0], f"loss {losses[0]:.3f} -> {losses[-1]:.3f}"


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"height": 10, "mults": (1, 2, 2)}, "mechanisms.image.height"),
        ({"width": 20, "mults": (1, 2, 2, 2)}, "mechanisms.image.width"),
        ({"groups": 3}, "mechanisms.image.groups"),
        ({"base": 12, "mults": (1, 3), "groups": 8}, "mechanisms.image.groups"),
        ({"heads": 3}, "mechanisms.image.heads"),
        ({"base": 15}, "mechanisms.image.base"),
        ({"mults": ()}, "mechanisms.image.mults"),
        ({"dropout": 1.0}, "mechanisms.image.dropout"),
        ({"res_blocks": 0}, "mechanisms.image.res_blocks"),
        ({"channels": 0}, "mechanisms.image.channels"),
        ({"cond_dim": -1}, "mechanisms.image.cond_dim"),
        ({"attention": (0,)}, "mechanisms.image.attention"),
    ],
)
def test_bad_settings_raise_one_line_config_errors(kwargs: dict[str, object], key: str) -> None:
    settings: dict[str, object] = {"channels": 1, "height": 16, "width": 16, **TINY, **kwargs}
    with pytest.raises(ConfigError) as info:
        UNet(**settings)  # type: ignore[arg-type]
    message = str(info.value)
    assert key in message and "\n" not in message


def test_size_error_says_which_sizes_work() -> None:
    with pytest.raises(ConfigError, match=r"multiple of 4 \(e\.g\. 4, 8, 12, 16\)"):
        UNet(1, 10, 8, **{**TINY, "mults": (1, 2, 2)})


def test_initialisation_is_deterministic_under_manual_seed() -> None:
    def build() -> tuple[UNet, ConditionEncoder]:
        torch.manual_seed(123)
        return UNet(3, 8, 8, cond_dim=2, **TINY), ConditionEncoder([(1, 8, 8), 3], dim=8)

    (u1, c1), (u2, c2) = build(), build()
    for first, second in ((u1, u2), (c1, c2)):
        s1, s2 = first.state_dict(), second.state_dict()
        assert s1.keys() == s2.keys()
        assert all(torch.equal(s1[k], s2[k]) for k in s1)


def test_condition_encoder_mixed_parts() -> None:
    enc = ConditionEncoder([(1, 8, 8), 3, (3, 64, 64), 5, (2, 8, 16), (1, 1, 1)], dim=16)
    inputs = [
        torch.rand(4, 1, 8, 8) * 2 - 1,
        torch.randn(4, 3),
        torch.rand(4, 3, 64, 64) * 2 - 1,
        torch.randn(4, 5),
        torch.rand(4, 2, 8, 16) * 2 - 1,
        torch.rand(4, 1, 1, 1),
    ]
    out = enc(inputs)
    assert out.shape == (4, 16)
    out.square().sum().backward()
    assert all(p.grad is not None for p in enc.parameters())
    # the 64x64 input is pooled to 8x8 before its linear layer
    linear = list(enc.encoders[2].modules())[-1]
    assert isinstance(linear, torch.nn.Linear) and linear.in_features == 32 * 8 * 8


def test_condition_encoder_single_image_and_vector() -> None:
    assert ConditionEncoder([(3, 16, 16)], dim=8)([torch.zeros(2, 3, 16, 16)]).shape == (2, 8)
    assert ConditionEncoder([7])([torch.zeros(3, 7)]).shape == (3, 64)


def test_condition_encoder_without_parts_returns_zeros() -> None:
    enc = ConditionEncoder([], dim=8)
    assert not list(enc.parameters())
    out = enc([], batch=3)
    assert torch.equal(out, torch.zeros(3, 8))
    with pytest.raises(ValueError, match="batch"):
        enc([])


def test_condition_encoder_errors() -> None:
    for parts in ([(3, 8)], [0], [(3, 0, 8)], ["x"]):
        with pytest.raises(ConfigError, match="condition input 0"):
            ConditionEncoder(parts)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"mechanisms\.image\.condition_dim"):
        ConditionEncoder([3], dim=0)
    with pytest.raises(ValueError, match="expects 2 inputs"):
        ConditionEncoder([3, 4])([torch.zeros(1, 3)])
