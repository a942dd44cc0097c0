"""The ConditionalGenerator protocol (``generators/base.py``).

``sample`` is the one abstract method; the defaults of ``loss``, ``encode`` and ``decode`` raise a
one-line NotImplementedError that names the generator's variable. A tiny invertible generator
written here (Y = (X + N) mod k, N categorical) must work through the protocol alone: sampling
frequencies, abduction and counterfactual prediction are checked against hand-computed values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from lightning_causal.generators import CategoricalTable, ConditionalGenerator


class Fitted(ConditionalGenerator):
    """A generator that only samples: always the value 0."""

    def __init__(self, variable: str) -> None:
        self.variable = variable
        self.inputs = ()

    def sample(self, inputs: Mapping[str, Any], rng: Any = None, n: int | None = None) -> Any:
        return np.zeros(n or 0, dtype=np.int64)


class ModularShift(ConditionalGenerator):
    """Y = (X + N) mod k with N ~ Categorical(noise): invertible, numpy codes and RNG."""

    invertible = True

    def __init__(self, noise: np.ndarray) -> None:
        self.variable = "Y"
        self.inputs = ("X",)
        self.noise = np.asarray(noise, dtype=float)
        self.k = len(self.noise)

    def sample(self, inputs: Mapping[str, Any], rng: Any = None, n: int | None = None) -> Any:
        x = np.asarray(inputs["X"], dtype=np.int64)
        rng = np.random.default_rng(rng)
        return (x + rng.choice(self.k, size=len(x), p=self.noise)) % self.k

    def encode(self, targets: Any, inputs: Mapping[str, Any], rng: Any = None) -> Any:
        return (np.asarray(targets) - np.asarray(inputs["X"])) % self.k

    def decode(self, latents: Any, inputs: Mapping[str, Any]) -> Any:
        return (np.asarray(latents) + np.asarray(inputs["X"])) % self.k


def _counterfactual(
    generator: ConditionalGenerator, observed: Any, inputs: Mapping[str, Any], new: Mapping[str, Any]
) -> Any:
    """What a counterfactual query does with any invertible generator: abduct, then predict."""
    assert generator.invertible
    return generator.decode(generator.encode(observed, inputs), new)


def test_sample_is_the_one_abstract_method() -> None:
    with pytest.raises(TypeError, match="abstract"):
        ConditionalGenerator()  # type: ignore[abstract]

    class NoSample(ConditionalGenerator):
        pass

    with pytest.raises(TypeError, match="sample"):
        NoSample()  # type: ignore[abstract]


def test_defaults_raise_clear_errors_naming_the_variable() -> None:
    gen = Fitted("Blood pressure")
    assert gen.invertible is False
    checks = [
        (lambda: gen.loss(np.zeros(2), {}), "the generator of Blood pressure is fitted, not trained by a loss"),
        (lambda: gen.encode(np.zeros(2), {}), "the generator of Blood pressure is not invertible"),
        (lambda: gen.decode(np.zeros(2), {}), "the generator of Blood pressure is not invertible"),
    ]
    for call, message in checks:
        with pytest.raises(NotImplementedError) as info:
            call()
        assert str(info.value) == message and "\n" not in str(info.value)


def test_a_subclass_samples_through_the_protocol() -> None:
    noise = np.array([0.6, 0.3, 0.1])
    gen: ConditionalGenerator = ModularShift(noise)
    x = np.repeat(np.arange(3), 20_000)
    y = gen.sample({"X": x}, rng=np.random.default_rng(0))
    for xv in range(3):
        freq = np.bincount(y[x == xv], minlength=3) / 20_000
        expected = np.array([noise[(yv - xv) % 3] for yv in range(3)])  # P(Y = y | X = x) = q[(y - x) mod 3]
        np.testing.assert_allclose(freq, expected, atol=0.015)
    again = gen.sample({"X": x}, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(y, again)


def test_a_subclass_answers_counterfactuals_through_the_protocol() -> None:
    gen = ModularShift(np.array([0.5, 0.25, 0.25]))
    observed = np.array([0, 1, 2, 2])
    inputs = {"X": np.array([1, 1, 0, 2])}
    np.testing.assert_array_equal(gen.encode(observed, inputs), [2, 0, 2, 0])
    np.testing.assert_array_equal(_counterfactual(gen, observed, inputs, inputs), observed)
    np.testing.assert_array_equal(_counterfactual(gen, observed, inputs, {"X": np.array([0, 2, 1, 1])}), [2, 2, 0, 1])


def test_overriding_one_default_leaves_the_others_in_place() -> None:
    class Trained(Fitted):
        def loss(self, targets: Any, inputs: Mapping[str, Any], rng: Any = None) -> Any:
            return float(np.mean(np.asarray(targets) ** 2))

    gen = Trained("Z")
    assert gen.loss(np.array([1.0, 3.0]), {}) == 5.0
    with pytest.raises(NotImplementedError, match="the generator of Z is not invertible"):
        gen.encode(np.zeros(1), {})


def test_the_exact_table_is_a_fitted_generator() -> None:
    table = CategoricalTable("Y", ["X"], {"X": 2, "Y": 3})
    assert isinstance(table, ConditionalGenerator) and table.invertible is False
    assert table.variable == "Y" and table.inputs == ("X",)
    with pytest.raises(NotImplementedError, match="the generator of Y is fitted"):
        table.loss(np.zeros(1), {"X": np.zeros(1)})
