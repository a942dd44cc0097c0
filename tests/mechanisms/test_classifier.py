"""ClassifierBank: logits of classes an entry lacks are -inf, the loss is the cross-entropy of the logits,
Gumbel-max draws follow the softmax of the logits, and abducted Gumbel noise decodes to the observed codes."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from lightning_causal.mechanisms import ClassifierBank, MechanismConfig
from lightning_causal.nets import BatchedMLP
from lightning_causal.variables import EncodedLayout, VariableSpec

SPECS = {
    "x": VariableSpec("x", "continuous", dim=2),
    "c": VariableSpec("c", "categorical", classes=4),
    "b": VariableSpec("b", "binary"),
    "d": VariableSpec("d", "categorical", classes=3),
}
ORDER = ["x", "c", "b", "d"]
ENTRIES = ["c", "b", "d"]
INPUTS = {"c": ["x"], "b": ["x", "c"], "d": []}
CLASSES = {"c": 4, "b": 2, "d": 3}


def _values(n: int = 40, seed: int = 0) -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "x": torch.randn(n, 2, generator=g),
        "c": torch.randint(0, 4, (n,), generator=g),
        "b": torch.randint(0, 2, (n,), generator=g),
        "d": torch.randint(0, 3, (n,), generator=g),
    }


def _bank(tiny_mechanisms: dict[str, Any], **changes: Any) -> tuple[ClassifierBank, EncodedLayout]:
    torch.manual_seed(0)
    layout = EncodedLayout(SPECS, ORDER)
    config = MechanismConfig.of({**tiny_mechanisms, "classifier_hidden": 16, **changes})
    return ClassifierBank(ENTRIES, INPUTS, layout, SPECS, config), layout


@pytest.mark.parametrize("backend", ["batched", "separate"])
def test_logits_of_classes_an_entry_lacks_are_minus_infinity(tiny_mechanisms: dict[str, Any], backend: str) -> None:
    bank, layout = _bank(tiny_mechanisms, backend=backend)
    logits = bank.logits(layout.encode(_values()), None)
    assert logits.shape == (3, 40, 4)
    for k, name in enumerate(ENTRIES):
        classes = CLASSES[name]
        assert bool(torch.isfinite(logits[k, :, :classes]).all()), name
        assert bool((logits[k, :, classes:] == float("-inf")).all()), name
    some = bank.logits(layout.encode(_values()), bank.index(["d", "b"], torch.device("cpu")))
    assert torch.equal(some, logits[[2, 1]])


@pytest.mark.parametrize("backend", ["batched", "separate"])
def test_the_loss_is_the_cross_entropy_of_the_logits(tiny_mechanisms: dict[str, Any], backend: str) -> None:
    bank, layout = _bank(tiny_mechanisms, backend=backend)
    values = _values()
    encoded = layout.encode(values)
    logits = bank.logits(encoded, None).detach()
    losses = bank.batch_loss(encoded, values, None)
    assert losses.shape == (3,)
    for k, name in enumerate(ENTRIES):
        real = logits[k, :, : CLASSES[name]]
        expected = F.cross_entropy(real, values[name])
        by_hand = -(real - real.exp().sum(1, keepdim=True).log()).gather(1, values[name][:, None]).mean()
        torch.testing.assert_close(losses[k].detach(), expected)
        torch.testing.assert_close(losses[k].detach(), by_hand)
    index = bank.index(["d"], encoded.device)
    torch.testing.assert_close(bank.batch_loss(encoded, values, None, index)[0], losses[2])


def test_the_loss_reads_its_codes_from_the_entrys_target(tiny_mechanisms: dict[str, Any]) -> None:
    torch.manual_seed(0)
    layout = EncodedLayout(SPECS, ORDER)
    config = MechanismConfig.of(tiny_mechanisms)
    bank = ClassifierBank(["f1"], {"f1": ["x"]}, layout, SPECS, config, targets={"f1": "c"})
    values = _values()
    encoded = layout.encode(values)
    logits = bank.logits(encoded, None).detach()
    torch.testing.assert_close(
        bank.batch_loss(encoded, values, None)[0].detach(), F.cross_entropy(logits[0], values["c"])
    )


def _fixed_logits(bank: ClassifierBank, chosen: dict[str, list[float]]) -> None:
    """Make every entry's logits the chosen constants: zero output weights, the constants as bias."""
    net = bank.classifier
    assert isinstance(net, BatchedMLP)
    with torch.no_grad():
        net.output.weight.zero_()
        for k, name in enumerate(ENTRIES):
            net.output.bias[k, 0, : len(chosen[name])] = torch.tensor(chosen[name])


def test_gumbel_draws_follow_the_softmax_of_chosen_logits(tiny_mechanisms: dict[str, Any]) -> None:
    bank, layout = _bank(tiny_mechanisms)
    chosen = {"c": [1.0, -0.5, 0.0, 2.0], "b": [0.3, -0.7], "d": [-1.0, 0.5, 0.0]}
    _fixed_logits(bank, chosen)
    n = 20_000
    values = _values(n)
    encoded = layout.encode(values)
    logits = bank.logits(encoded, None)
    torch.testing.assert_close(logits[0, 0], torch.tensor(chosen["c"]))
    torch.testing.assert_close(logits[1, 0], torch.tensor([0.3, -0.7, float("-inf"), float("-inf")]))
    draws = bank.generate(encoded, ENTRIES, layout, torch.Generator().manual_seed(0))
    for name in ENTRIES:
        codes = draws[name]
        assert codes.dtype == torch.int64 and codes.shape == (n,)
        p = torch.softmax(torch.tensor(chosen[name]), 0)
        freq = torch.bincount(codes, minlength=4).float() / n
        assert float(freq[len(p) :].sum()) == 0.0, f"{name} drew a class it lacks"
        sigma = (p * (1 - p) / n).sqrt()
        assert bool(((freq[: len(p)] - p).abs() <= 4 * sigma).all()), (name, freq.tolist(), p.tolist())


def test_gumbel_draws_follow_the_softmax_of_each_rows_logits(tiny_mechanisms: dict[str, Any]) -> None:
    bank, layout = _bank(tiny_mechanisms)
    rows, repeats = 4, 5000
    base = _values(rows, seed=3)
    values = {k: v.repeat_interleave(repeats, 0) for k, v in base.items()}
    encoded = layout.encode(values)
    logits = bank.logits(encoded, None)
    draws = bank.generate(encoded, ENTRIES, layout, torch.Generator().manual_seed(1))
    for k, name in enumerate(ENTRIES):
        for r in range(rows):
            block = slice(r * repeats, (r + 1) * repeats)
            p = torch.softmax(logits[k, r * repeats, : CLASSES[name]], 0)
            freq = torch.bincount(draws[name][block], minlength=CLASSES[name]).float() / repeats
            sigma = (p * (1 - p) / repeats).sqrt()
            assert bool(((freq - p).abs() <= 4.5 * sigma + 1e-6).all()), (name, r, freq.tolist(), p.tolist())


def test_draws_are_reproducible_from_the_generator(tiny_mechanisms: dict[str, Any]) -> None:
    bank, layout = _bank(tiny_mechanisms)
    encoded = layout.encode(_values(200))
    a = bank.generate(encoded, ENTRIES, layout, torch.Generator().manual_seed(7))
    b = bank.generate(encoded, ENTRIES, layout, torch.Generator().manual_seed(7))
    c = bank.generate(encoded, ENTRIES, layout, torch.Generator().manual_seed(8))
    assert all(torch.equal(a[m], b[m]) for m in ENTRIES)
    assert any(not torch.equal(a[m], c[m]) for m in ENTRIES)


@pytest.mark.parametrize("backend", ["batched", "separate"])
def test_abduct_then_generate_with_the_latents_returns_the_observed_codes(
    tiny_mechanisms: dict[str, Any], backend: str
) -> None:
    bank, layout = _bank(tiny_mechanisms, backend=backend)
    values = _values(300, seed=5)  # codes drawn at random, many of them unlikely under the logits
    encoded = layout.encode(values)
    latents = bank.abduct(encoded, ENTRIES, values, torch.Generator().manual_seed(2))
    assert {m: tuple(z.shape) for m, z in latents.items()} == {m: (300, 4) for m in ENTRIES}
    back = bank.generate(encoded, ENTRIES, layout, torch.Generator().manual_seed(99), latents=latents)
    for name in ENTRIES:
        assert torch.equal(back[name], values[name]), name
    # the posterior noise holds argmax(logits + noise) at the observed code, checked with the logits directly
    logits = bank.logits(encoded, None)
    for k, name in enumerate(ENTRIES):
        assert torch.equal(torch.argmax(logits[k] + latents[name], dim=-1), values[name])
