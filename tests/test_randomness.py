"""torch_rng: a generator passes through, a seed makes a freshly seeded generator, anything else is one QueryError."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lightning_causal.errors import QueryError
from lightning_causal.randomness import torch_rng


def _draws(generator: torch.Generator, n: int = 8) -> torch.Tensor:
    return torch.rand(n, generator=generator)


def test_a_generator_is_returned_itself_and_keeps_its_state() -> None:
    generator = torch.Generator().manual_seed(11)
    _draws(generator)  # advance it: torch_rng must not reseed it
    reference = torch.Generator().manual_seed(11)
    _draws(reference)
    assert torch_rng(generator) is generator
    assert torch.equal(_draws(torch_rng(generator)), _draws(reference))


@pytest.mark.parametrize("seed", [0, 7, 123_456_789, np.int64(42), np.uint8(3)])
def test_an_integer_seed_gives_the_draws_of_a_generator_seeded_with_it(seed: int) -> None:
    expected = _draws(torch.Generator().manual_seed(int(seed)))
    got = torch_rng(seed)
    assert isinstance(got, torch.Generator)
    assert got.initial_seed() == int(seed)
    assert torch.equal(_draws(got), expected)


def test_none_means_seed_zero() -> None:
    assert torch_rng(None).initial_seed() == 0
    assert torch.equal(_draws(torch_rng(None)), _draws(torch.Generator().manual_seed(0)))


def test_every_call_with_a_seed_makes_a_new_generator_from_the_start() -> None:
    first, second = torch_rng(5), torch_rng(5)
    assert first is not second
    a = _draws(first)
    assert torch.equal(a, _draws(second))  # the second did not share the first's state
    assert not torch.equal(a, _draws(first))  # the first moved on


def test_different_seeds_give_different_draws() -> None:
    assert not torch.equal(_draws(torch_rng(1)), _draws(torch_rng(2)))


def test_the_device_argument_places_the_generator() -> None:
    assert torch_rng(3, device="cpu").device == torch.device("cpu")
    assert torch_rng(3, device=torch.device("cpu")).device.type == "cpu"
    assert torch_rng(3).device.type == "cpu"


@pytest.mark.parametrize("bad", [True, False, 1.5, 2.0, "3", [1], np.float64(1.0)])
def test_anything_but_a_generator_an_int_or_none_is_one_query_error(bad: object) -> None:
    with pytest.raises(QueryError, match=r"must be a torch\.Generator or an int seed, got") as err:
        torch_rng(bad)  # type: ignore[arg-type]
    assert repr(bad) in str(err.value)
    assert "\n" not in str(err.value)


def test_the_error_names_what_was_given() -> None:
    with pytest.raises(QueryError, match=r"^sample: rng must be") as err:
        torch_rng("seven", what="sample: rng")  # type: ignore[arg-type]
    assert "'seven'" in str(err.value) and "\n" not in str(err.value)


def test_a_seed_too_large_for_a_generator_is_one_query_error() -> None:
    with pytest.raises(QueryError, match="seed"):
        torch_rng(2**64, what="seed")
