"""wiring_joint: the exact output distribution of a wiring of exact tables, against a brute-force product-and-sum.

The reference below enumerates every value of every input and every node, multiplies the input
probability by each node's table entry, and adds the product to the cell of the kept inputs and
outputs: no variable elimination, no einsum.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lightning_causal import DiscreteDistribution, QueryError
from lightning_causal.generators import CategoricalTable, ConditionalGenerator
from lightning_causal.plan import INPUT, Node, Wiring
from lightning_causal.sampling import wiring_joint


def random_table(variable: str, inputs: tuple[str, ...], cards: dict[str, int], rng: np.random.Generator):  # type: ignore[no-untyped-def]
    """A table with random rows (some zero-mass input configurations fall back to the marginal)."""
    shape = [cards[v] for v in (*inputs, variable)]
    return CategoricalTable(variable, inputs, cards).fit_joint(rng.random(shape))


def random_inputs(names: tuple[str, ...], cards: dict[str, int], rng: np.random.Generator) -> DiscreteDistribution:
    probs = rng.random([cards[v] for v in names])
    return DiscreteDistribution(names, probs / probs.sum())


def brute_force(
    wiring: Wiring, tables: dict[str, CategoricalTable], inputs: DiscreteDistribution, keep: tuple[str, ...]
) -> tuple[tuple[str, ...], np.ndarray]:
    """(variables, table) of the kept inputs then the outputs, by enumerating every configuration."""
    cards = inputs.cardinalities
    node_cards = [tables[node.factor].probs.shape[-1] for node in wiring.nodes]
    card_of = {node.name: k for node, k in zip(wiring.nodes, node_cards, strict=True)}
    out_nodes = [name for _, name in wiring.outputs]
    variables = (*keep, *(v for v, _ in wiring.outputs))
    result = np.zeros([cards[v] for v in keep] + [card_of[m] for m in out_nodes])
    for input_values in itertools.product(*(range(cards[v]) for v in inputs.variables)):
        given = dict(zip(inputs.variables, input_values, strict=True))
        p_in = inputs.probs[input_values]
        for node_values in itertools.product(*(range(k) for k in node_cards)):
            drawn = {node.name: value for node, value in zip(wiring.nodes, node_values, strict=True)}
            p = p_in
            for node in wiring.nodes:
                table = tables[node.factor]
                index = tuple(given[v] if src == INPUT else drawn[src] for v, src in node.sources)
                p = p * table.probs[(*index, drawn[node.name])]
            result[tuple(given[v] for v in keep) + tuple(drawn[m] for m in out_nodes)] += p
    return variables, result


def _chain() -> tuple[Wiring, dict[str, CategoricalTable], DiscreteDistribution]:
    """Inputs A, B; hidden C ~ P(C | A); outputs D ~ P(D | C, B) and E ~ P(E | D, A), listed as (E, D)."""
    cards = {"A": 2, "B": 3, "C": 3, "D": 2, "E": 4}
    rng = np.random.default_rng(0)
    tables = {
        "f0": random_table("C", ("A",), cards, rng),
        "f1": random_table("D", ("C", "B"), cards, rng),
        "f2": random_table("E", ("D", "A"), cards, rng),
    }
    wiring = Wiring(
        nodes=(
            Node("n0", "C", "f0", (("A", INPUT),)),
            Node("n1", "D", "f1", (("C", "n0"), ("B", INPUT))),
            Node("n2", "E", "f2", (("D", "n1"), ("A", INPUT))),
        ),
        inputs=("A", "B"),
        outputs=(("E", "n2"), ("D", "n1")),
    )
    return wiring, tables, random_inputs(("A", "B"), cards, rng)


@pytest.mark.parametrize("keep", [None, (), ("B",), ("B", "A")], ids=["default", "none", "B", "B-A"])
def test_the_joint_of_kept_inputs_and_outputs_is_the_brute_force_sum(keep: tuple[str, ...] | None) -> None:
    wiring, tables, inputs = _chain()
    got = wiring_joint(wiring, tables, inputs, keep_inputs=keep)
    kept = inputs.variables if keep is None else keep
    variables, expected = brute_force(wiring, tables, inputs, kept)
    assert set(got.variables) == set(variables) and len(got.variables) == len(variables)
    assert "C" not in got.variables  # a hidden node is summed out
    np.testing.assert_allclose(got.aligned(variables), expected, atol=1e-12, rtol=0)


def test_the_same_variable_drawn_by_two_nodes_is_told_apart_by_node() -> None:
    """Y drawn twice (n0 then n1 given Y@n0): the output is the second draw, the first is summed out."""
    cards = {"X": 2, "Y": 3}
    rng = np.random.default_rng(1)
    tables = {"f0": random_table("Y", ("X",), cards, rng), "f1": random_table("Y", ("Y", "X"), cards, rng)}
    wiring = Wiring(
        nodes=(Node("n0", "Y", "f0", (("X", INPUT),)), Node("n1", "Y", "f1", (("Y", "n0"), ("X", INPUT)))),
        inputs=("X",),
        outputs=(("Y", "n1"),),
    )
    inputs = random_inputs(("X",), cards, rng)
    got = wiring_joint(wiring, tables, inputs)
    variables, expected = brute_force(wiring, tables, inputs, ("X",))
    np.testing.assert_allclose(got.aligned(variables), expected, atol=1e-12, rtol=0)
    # and by hand: P(x, y) = P(x) sum_y0 P(y0 | x) P(y | y0, x)
    by_hand = inputs.probs[:, None] * np.einsum("xa,axy->xy", tables["f0"].probs, tables["f1"].probs)
    np.testing.assert_allclose(got.aligned(("X", "Y")), by_hand, atol=1e-12, rtol=0)


def test_roots_only_with_no_inputs_give_the_product_of_their_tables() -> None:
    cards = {"A": 2, "B": 3}
    rng = np.random.default_rng(2)
    tables = {"fa": random_table("A", (), cards, rng), "fb": random_table("B", ("A",), cards, rng)}
    wiring = Wiring(
        nodes=(Node("n0", "A", "fa", ()), Node("n1", "B", "fb", (("A", "n0"),))),
        inputs=(),
        outputs=(("A", "n0"), ("B", "n1")),
    )
    got = wiring_joint(wiring, tables, DiscreteDistribution((), np.array(1.0)))
    expected = tables["fa"].probs[:, None] * tables["fb"].probs
    np.testing.assert_allclose(got.aligned(("A", "B")), expected, atol=1e-12, rtol=0)


def test_an_input_no_node_reads_is_kept_only_if_asked() -> None:
    cards = {"A": 2, "B": 3, "Y": 2}
    rng = np.random.default_rng(3)
    tables = {"f": random_table("Y", ("A",), cards, rng)}
    wiring = Wiring((Node("n0", "Y", "f", (("A", INPUT),)),), ("A",), (("Y", "n0"),))
    inputs = random_inputs(("A", "B"), cards, rng)
    both = wiring_joint(wiring, tables, inputs)
    expected = inputs.probs[:, :, None] * tables["f"].probs[:, None, :]  # axes A, B, Y
    np.testing.assert_allclose(both.aligned(("A", "B", "Y")), expected, atol=1e-12, rtol=0)
    only_b = wiring_joint(wiring, tables, inputs, keep_inputs=("B",))
    np.testing.assert_allclose(only_b.aligned(("B", "Y")), expected.sum(axis=0), atol=1e-12, rtol=0)


def test_a_wiring_without_nodes_is_the_marginal_of_the_kept_inputs() -> None:
    inputs = random_inputs(("A", "B"), {"A": 2, "B": 3}, np.random.default_rng(4))
    got = wiring_joint(Wiring((), ("A", "B"), ()), {}, inputs, keep_inputs=("B",))
    assert got.variables == ("B",)
    np.testing.assert_allclose(got.probs, inputs.probs.sum(axis=0), atol=1e-15, rtol=0)


class Coin(ConditionalGenerator):
    """A generator that is not a table."""

    variable, inputs = "Y", ()

    def sample(self, inputs, rng=None, n=None):  # type: ignore[no-untyped-def]
        return np.zeros(n, dtype=np.int64)


def test_a_generator_that_is_not_a_table_is_refused_naming_the_factor() -> None:
    wiring = Wiring((Node("n0", "Y", "f7", ()),), (), (("Y", "n0"),))
    with pytest.raises(QueryError, match="factor f7 is a Coin") as err:
        wiring_joint(wiring, {"f7": Coin()}, DiscreteDistribution((), np.array(1.0)))
    assert "\n" not in str(err.value)


def test_the_refusal_advises_the_learner_keyword_that_fit_takes() -> None:
    wiring = Wiring((Node("n0", "Y", "f7", ()),), (), (("Y", "n0"),))
    with pytest.raises(QueryError, match="learner='categorical'"):
        wiring_joint(wiring, {"f7": Coin()}, DiscreteDistribution((), np.array(1.0)))


def _wide() -> tuple[Wiring, dict[str, CategoricalTable], DiscreteDistribution]:
    """Inputs A, B and an output C ~ P(C | A), 300 values each: the joint (A, B, C) has 27,000,000 cells."""
    cards = {"A": 300, "B": 300, "C": 300}
    table = CategoricalTable("C", ("A",), cards)
    table.probs = np.eye(300)  # C = A
    inputs = DiscreteDistribution(("A", "B"), np.full((300, 300), 1.0 / 90_000))
    return Wiring((Node("n0", "C", "f0", (("A", INPUT),)),), ("A", "B"), (("C", "n0"),)), {"f0": table}, inputs


def test_a_table_over_the_size_limit_is_refused_before_it_is_built() -> None:
    wiring, tables, inputs = _wide()
    with pytest.raises(QueryError, match="needs a table of 27,000,000 entries; fit on samples instead") as err:
        wiring_joint(wiring, tables, inputs)
    assert "\n" not in str(err.value)


def test_summing_out_inputs_keeps_the_same_wiring_under_the_limit() -> None:
    wiring, tables, inputs = _wide()
    got = wiring_joint(wiring, tables, inputs, keep_inputs=())
    assert got.variables == ("C",)
    np.testing.assert_allclose(got.probs, np.full(300, 1.0 / 300), atol=1e-12, rtol=0)
