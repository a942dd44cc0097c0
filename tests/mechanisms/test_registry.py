"""The bank registry: the built-in kinds map to their banks, a bank registered for a new kind is used by
every BankSet built afterwards, and bad registrations and kinds without a bank are one-line errors."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

import lightning_causal.mechanisms.registry as registry
import lightning_causal.variables.codecs as codecs
import lightning_causal.variables.spec as spec_module
from lightning_causal.errors import ConfigError, QueryError
from lightning_causal.mechanisms import (
    BankSet,
    ClassifierBank,
    DiffusionBank,
    ImageDiffusionBank,
    MechanismBank,
    MechanismConfig,
    bank_for,
    register_bank,
    registered_banks,
)
from lightning_causal.mechanisms.bank import padded_index
from lightning_causal.variables import EncodedLayout, VariableSpec, register_codec
from lightning_causal.variables.codecs import Codec


@pytest.fixture
def restored_registries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let a test register banks, codecs and the kinds ``counts`` and ``text``; put everything back afterwards."""
    banks, kinds, known_codecs = dict(registry._BANKS), dict(registry._KINDS), dict(codecs._CODECS)
    monkeypatch.setattr(spec_module, "KINDS", (*spec_module.KINDS, "counts", "text"))
    try:
        yield
    finally:
        registry._BANKS.clear()
        registry._BANKS.update(banks)
        registry._KINDS.clear()
        registry._KINDS.update(kinds)
        codecs._CODECS.clear()
        codecs._CODECS.update(known_codecs)


class CountCodec(Codec):
    """Counts ``(batch,)`` as one float column."""

    def features(self, value: Tensor) -> Tensor:
        return value.float().reshape(len(value), 1)

    def from_features(self, features: Tensor) -> Tensor:
        return features[:, 0].round().long()


class PoissonBank(MechanismBank):
    """Counts given inputs: rate = exp(bias + weight . encoded inputs), trained by the Poisson likelihood."""

    cond: Tensor

    def __init__(
        self,
        entries: Sequence[str],
        inputs: Mapping[str, Sequence[str]],
        layout: EncodedLayout,
        variables: Mapping[str, VariableSpec],
        config: MechanismConfig,
        targets: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(entries, inputs, layout, variables, config, targets)
        self.register_buffer("cond", padded_index([layout.columns(self.inputs[n]) for n in self.entries], layout.pad))
        self.weight = nn.Parameter(torch.full((len(self.entries), self.cond.shape[1]), 0.5))
        self.bias = nn.Parameter(torch.full((len(self.entries), 1), 0.25))

    def log_rate(self, encoded: Tensor, index: Tensor | None) -> Tensor:
        rows = self.positions(index)
        x = EncodedLayout.gather(encoded, self.cond[rows])  # (k, B, P)
        return (x * self.weight[rows].unsqueeze(1)).sum(-1) + self.bias[rows]

    def batch_loss(
        self, encoded: Tensor, values: Mapping[str, Tensor], rng: torch.Generator | None, index: Tensor | None = None
    ) -> Tensor:
        names = [self.entries[k] for k in self.positions(index)]
        y = torch.stack([values[self.targets[n]].float() for n in names])
        log_rate = self.log_rate(encoded, index)
        return (log_rate.exp() - y * log_rate).mean(dim=1)

    def generate(
        self,
        encoded: Tensor,
        names: Sequence[str],
        layout: EncodedLayout,
        rng: torch.Generator | None,
        sampler: str = "ddim",
        steps: int | None = None,
        eta: float = 0.0,
        guidance: float | None = None,
        latents: Mapping[str, Tensor] | None = None,
    ) -> dict[str, Tensor]:
        rates = self.log_rate(encoded, self.index(names, encoded.device)).exp()
        return {m: torch.poisson(rates[k], generator=rng).long() for k, m in enumerate(names)}

    def abduct(
        self,
        encoded: Tensor,
        names: Sequence[str],
        values: Mapping[str, Tensor],
        rng: torch.Generator | None,
        steps: int | None = None,
        refine: int = 2,
    ) -> dict[str, Tensor]:
        raise NotImplementedError("counts have no latents here")


def _specs() -> dict[str, VariableSpec]:
    return {
        "x": VariableSpec("x", "continuous", mean=(1.0,), std=(2.0,)),
        "n": VariableSpec("n", "counts"),  # type: ignore[arg-type]
        "y": VariableSpec("y", "continuous"),
    }


def _values(rows: int = 32) -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(0)
    x = 1.0 + 2.0 * torch.randn(rows, 1, generator=g)
    return {"x": x, "n": torch.randint(0, 6, (rows,), generator=g), "y": torch.randn(rows, 1, generator=g)}


def _bank_set(config: MechanismConfig) -> BankSet:
    return BankSet(
        ["x", "n", "y"], {"x": [], "n": ["x"], "y": ["x"]}, _specs(), ["x", "n", "y"], config, resampled=["x"]
    )


def test_the_built_in_kinds_map_to_their_banks_in_registration_order() -> None:
    assert bank_for("continuous") == "diffusion"
    assert bank_for("categorical") == bank_for("binary") == "classifier"
    assert bank_for("image") == "image"
    banks = registered_banks()
    assert list(banks.items()) == [
        ("diffusion", DiffusionBank),
        ("classifier", ClassifierBank),
        ("image", ImageDiffusionBank),
    ]


def test_registered_banks_is_a_copy() -> None:
    banks = registered_banks()
    banks.pop("diffusion")
    banks["other"] = ClassifierBank
    assert list(registered_banks()) == ["diffusion", "classifier", "image"]


@pytest.mark.usefixtures("restored_registries")
def test_a_bank_registered_for_a_new_kind_trains_and_samples_in_a_bank_set_built_afterwards(
    tiny_mechanisms: dict[str, object],
) -> None:
    register_codec("counts", CountCodec)
    register_bank("poisson", PoissonBank, ("counts",))
    assert bank_for("counts", "n") == "poisson"
    assert list(registered_banks()) == ["diffusion", "classifier", "image", "poisson"]

    config = MechanismConfig.of(tiny_mechanisms)
    mechanisms = _bank_set(config)
    assert list(mechanisms.banks) == ["diffusion", "poisson"]  # registration order, not entry order
    poisson = mechanisms.bank("n")
    assert isinstance(poisson, PoissonBank) and poisson.entries == ("n",)
    assert mechanisms.trained == ["y", "n"]

    values = _values()
    losses = mechanisms.loss_vector(values, torch.Generator().manual_seed(1))
    assert losses.shape == (2,)
    # the Poisson negative log-likelihood by torch, from x standardised by hand with mean 1 and std 2
    log_rate = 0.5 * (values["x"][:, 0] - 1.0) / 2.0 + 0.25
    expected = F.poisson_nll_loss(log_rate, values["n"].float(), log_input=True, reduction="mean")
    torch.testing.assert_close(losses[1], expected)
    losses.sum().backward()
    assert poisson.weight.grad is not None and poisson.weight.grad.abs().sum() > 0

    encoded = mechanisms.encode(values, ["x"], mechanisms.blank(len(values["x"])))
    drawn = mechanisms.generate(["n"], encoded, torch.Generator().manual_seed(2))
    expected_draws = torch.poisson(log_rate.exp(), generator=torch.Generator().manual_seed(2)).long()
    assert torch.equal(drawn["n"], expected_draws)


@pytest.mark.usefixtures("restored_registries")
def test_a_bank_set_built_before_a_registration_keeps_its_banks(tiny_mechanisms: dict[str, object]) -> None:
    register_codec("counts", CountCodec)
    register_bank("poisson", PoissonBank, ("counts",))
    config = MechanismConfig.of(tiny_mechanisms)
    before = _bank_set(config)

    class OtherDiffusion(DiffusionBank):
        """Continuous variables, under another name."""

    register_bank("other", OtherDiffusion, ("continuous",))
    after = _bank_set(config)
    assert type(before.bank("y")) is DiffusionBank and list(before.banks) == ["diffusion", "poisson"]
    assert type(after.bank("y")) is OtherDiffusion and list(after.banks) == ["poisson", "other"]
    assert after.trained == ["n", "y"]


@pytest.mark.usefixtures("restored_registries")
def test_registering_a_name_again_replaces_its_bank_but_keeps_its_place() -> None:
    class Replacement(ClassifierBank):
        """The classifier bank, replaced."""

    register_bank("classifier", Replacement, ("categorical",))
    assert list(registered_banks().items())[1] == ("classifier", Replacement)
    assert list(registered_banks()) == ["diffusion", "classifier", "image"]


@pytest.mark.usefixtures("restored_registries")
@pytest.mark.parametrize("name", ["", None, 3])
def test_a_bank_without_a_proper_name_is_refused_and_nothing_is_registered(name: object) -> None:
    before = registered_banks()
    with pytest.raises(ConfigError, match="a bank needs a non-empty name") as err:
        register_bank(name, PoissonBank, ("counts",))  # type: ignore[arg-type]
    assert "\n" not in str(err.value)
    assert registered_banks() == before
    with pytest.raises(QueryError):
        bank_for("counts")


@pytest.mark.usefixtures("restored_registries")
@pytest.mark.parametrize("bank", [int, nn.Linear, "PoissonBank", lambda *args: None])
def test_something_other_than_a_bank_class_is_refused_and_nothing_is_registered(bank: object) -> None:
    before = registered_banks()
    with pytest.raises(ConfigError, match=r"bank 'poisson' must be a MechanismBank subclass") as err:
        register_bank("poisson", bank, ("counts", "continuous"))  # type: ignore[arg-type]
    assert "\n" not in str(err.value)
    assert registered_banks() == before
    assert bank_for("continuous") == "diffusion"


@pytest.mark.usefixtures("restored_registries")
def test_a_bank_instance_is_refused() -> None:
    layout = EncodedLayout(_specs(), ["x", "y"])
    instance = DiffusionBank(["y"], {"y": ["x"]}, layout, _specs(), MechanismConfig(hidden=8, timesteps=10))
    with pytest.raises(ConfigError, match="must be a MechanismBank subclass"):
        register_bank("instance", instance, ("continuous",))  # type: ignore[arg-type]


def test_a_kind_without_a_bank_names_the_variable_and_the_kinds_that_have_one() -> None:
    with pytest.raises(QueryError) as err:
        bank_for("text", "doc")
    message = str(err.value)
    assert message.startswith("variable 'doc': no mechanism for kind 'text'")
    assert message.endswith("kinds with one: continuous, categorical, binary, image")
    assert "\n" not in message


@pytest.mark.usefixtures("restored_registries")
def test_a_bank_set_with_a_modelled_entry_of_a_kind_without_a_bank_is_refused(
    tiny_mechanisms: dict[str, object],
) -> None:
    register_codec("text", CountCodec)  # a codec, but no bank
    specs = {"x": VariableSpec("x", "continuous"), "doc": VariableSpec("doc", "text")}  # type: ignore[arg-type]
    config = MechanismConfig.of(tiny_mechanisms)
    with pytest.raises(QueryError, match="variable 'doc': no mechanism for kind 'text'") as err:
        BankSet(["x", "doc"], {"x": [], "doc": ["x"]}, specs, ["x", "doc"], config, resampled=["x"])
    assert "\n" not in str(err.value)
    # resampled entries need no bank: their rows are kept, not modelled
    resampled = BankSet(["doc", "x"], {"doc": [], "x": ["doc"]}, specs, ["doc", "x"], config, resampled=["doc"])
    assert resampled.trained == ["x"] and resampled.bank("doc") is None
