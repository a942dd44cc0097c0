"""run_wiring: ancestral sampling through tiny hand-written generators.

Each node reads its inputs from outside or from an earlier node as its sources say; a generator
without inputs is asked for ``n`` draws; the RNG reaches every generator as it was passed, in
sampling order; only the outputs come back, keyed by variable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest

from lightning_causal.generators import ConditionalGenerator
from lightning_causal.plan import INPUT, Node, Wiring
from lightning_causal.sampling import run_wiring


class Recording(ConditionalGenerator):
    """A deterministic generator ``f(inputs, n)`` that records every call it gets."""

    def __init__(self, variable: str, inputs: tuple[str, ...], f: Callable[[Mapping[str, Any], int | None], Any]):
        self.variable, self.inputs, self.f = variable, inputs, f
        self.calls: list[dict[str, Any]] = []

    def sample(self, inputs: Mapping[str, Any], rng: Any = None, n: int | None = None) -> Any:
        self.calls.append({"inputs": dict(inputs), "rng": rng, "n": n})
        return self.f(inputs, n)


class Uniform(ConditionalGenerator):
    """``inputs + k`` with ``k`` uniform on 0..9, drawn from the numpy RNG it is given (``n`` draws without inputs)."""

    def __init__(self, variable: str, inputs: tuple[str, ...]) -> None:
        self.variable, self.inputs = variable, inputs

    def sample(self, inputs: Mapping[str, Any], rng: Any = None, n: int | None = None) -> Any:
        assert isinstance(rng, np.random.Generator)
        base = sum(np.asarray(inputs[v]) for v in self.inputs) if self.inputs else np.zeros(n, dtype=np.int64)
        return base + rng.integers(0, 10, size=len(base))


def test_inputs_come_from_outside_or_from_the_earlier_node_the_source_names() -> None:
    # X is both a network input and the output of node n0: the source decides which one a node reads
    gens = {
        "fx": Recording("X", (), lambda i, n: np.arange(n) + 100),
        "fa": Recording("A", ("X",), lambda i, n: i["X"] * 2),
        "fb": Recording("B", ("X", "A"), lambda i, n: i["X"] + i["A"]),
    }
    wiring = Wiring(
        nodes=(
            Node("n0", "X", "fx", ()),
            Node("n1", "A", "fa", (("X", INPUT),)),
            Node("n2", "B", "fb", (("X", "n0"), ("A", "n1"))),
        ),
        inputs=("X",),
        outputs=(("A", "n1"), ("B", "n2")),
    )
    x = np.array([1, 2, 3])
    out = run_wiring(wiring, gens, {"X": x}, 3, rng=None)
    np.testing.assert_array_equal(gens["fa"].calls[0]["inputs"]["X"], [1, 2, 3])  # from outside
    np.testing.assert_array_equal(gens["fb"].calls[0]["inputs"]["X"], [100, 101, 102])  # from node n0
    np.testing.assert_array_equal(out["A"], [2, 4, 6])
    np.testing.assert_array_equal(out["B"], [102, 105, 108])
    assert list(out) == ["A", "B"]  # only the outputs, in the wiring's output order; X (hidden) is not returned


def test_n_is_passed_to_every_generator_and_used_by_those_without_inputs() -> None:
    root = Recording("R", (), lambda i, n: np.full(n, 7))
    child = Recording("C", ("R",), lambda i, n: i["R"] + 1)
    wiring = Wiring(
        nodes=(Node("n0", "R", "root", ()), Node("n1", "C", "child", (("R", "n0"),))),
        inputs=(),
        outputs=(("R", "n0"), ("C", "n1")),
    )
    out = run_wiring(wiring, {"root": root, "child": child}, {}, 5, rng=None)
    assert root.calls[0]["inputs"] == {} and root.calls[0]["n"] == 5 and child.calls[0]["n"] == 5
    np.testing.assert_array_equal(out["R"], [7] * 5)
    np.testing.assert_array_equal(out["C"], [8] * 5)


def test_the_rng_reaches_every_generator_untouched() -> None:
    token = object()  # not an RNG at all: run_wiring must not look at it
    a = Recording("A", (), lambda i, n: np.zeros(n))
    b = Recording("B", ("A",), lambda i, n: i["A"] + 1)
    wiring = Wiring((Node("n0", "A", "a", ()), Node("n1", "B", "b", (("A", "n0"),))), (), (("B", "n1"),))
    run_wiring(wiring, {"a": a, "b": b}, {}, 2, token)
    assert a.calls[0]["rng"] is token and b.calls[0]["rng"] is token


def test_generators_draw_from_the_one_rng_in_sampling_order() -> None:
    wiring = Wiring(
        nodes=(Node("n0", "A", "fa", ()), Node("n1", "B", "fb", (("A", "n0"), ("W", INPUT)))),
        inputs=("W",),
        outputs=(("A", "n0"), ("B", "n1")),
    )
    gens = {"fa": Uniform("A", ()), "fb": Uniform("B", ("A", "W"))}
    w = np.array([0, 10, 20, 30])
    out = run_wiring(wiring, gens, {"W": w}, 4, np.random.default_rng(42))
    reference = np.random.default_rng(42)
    a = reference.integers(0, 10, size=4)
    b = a + w + reference.integers(0, 10, size=4)
    np.testing.assert_array_equal(out["A"], a)
    np.testing.assert_array_equal(out["B"], b)


def test_a_factor_used_by_two_nodes_is_asked_once_per_node() -> None:
    double = Recording("Y", ("X",), lambda i, n: i["X"] * 2)
    wiring = Wiring(
        nodes=(Node("n0", "Y", "f", (("X", INPUT),)), Node("n1", "Y", "f", (("X", "n0"),))),
        inputs=("X",),
        outputs=(("Y", "n1"),),
    )
    out = run_wiring(wiring, {"f": double}, {"X": np.array([1, 3])}, 2, rng=None)
    assert len(double.calls) == 2
    np.testing.assert_array_equal(out["Y"], [4, 12])


def test_a_wiring_without_nodes_returns_nothing() -> None:
    assert run_wiring(Wiring((), ("X",), ()), {}, {"X": np.zeros(3)}, 3, rng=None) == {}


def test_a_missing_generator_is_not_silently_skipped() -> None:
    wiring = Wiring((Node("n0", "Y", "f0", ()),), (), (("Y", "n0"),))
    with pytest.raises(KeyError, match="f0"):
        run_wiring(wiring, {}, {}, 1, rng=None)
