"""The Estimand (``identification/estimand.py``): the expression read off an ID trace, its text, and its value.

``build_expression`` is checked on traces built by hand (so that ID's recursion is not involved)
and on the textbook graphs against expressions written by hand; ``Estimand.evaluate`` is checked
against interventional distributions of discrete models with explicit latent confounders,
enumerated by brute force in this file (including the "arbitrary" variables of line 3 where some
of their values have no mass); the query text, LaTeX, dict form and the one-line errors are
checked directly.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from lightning_causal import CausalGraph, DiscreteDistribution, EvaluationError, QueryError, identify
from lightning_causal.graph.named import NamedGraph
from lightning_causal.identification.estimand import Estimand, build_expression, format_query
from lightning_causal.identification.expressions import Fraction, Probability, Product, Sum
from lightning_causal.identification.trace import IdStep


def P(head: Sequence[str], given: Sequence[str] = ()) -> Probability:  # noqa: N802 - the paper's name
    return Probability(tuple(head), tuple(given))


# ---------------------------------------------------------------------------- a brute-force model
class Model:
    """A discrete SCM with one binary latent per bidirected edge; tables indexed (parents, latents, self)."""

    def __init__(self, graph: CausalGraph, cards: Mapping[str, int], seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.graph = graph
        self.cards = dict(cards)
        self.latents = list(graph.bidirected)
        self.prior = [rng.dirichlet([1.0, 1.0]) for _ in self.latents]
        self.parents = {v: [a for a, b in graph.directed if b == v] for v in graph.nodes}
        self.own = {v: [k for k, e in enumerate(self.latents) if v in e] for v in graph.nodes}
        self.tables = {}
        for v in graph.nodes:
            shape = [self.cards[p] for p in self.parents[v]] + [2] * len(self.own[v])
            self.tables[v] = rng.dirichlet(np.ones(self.cards[v]), size=shape or None)

    def joint(self, do: Mapping[str, int] | None = None) -> np.ndarray:
        """P(V) in the model mutilated by ``do``, by summing every latent and observed configuration."""
        do = dict(do or {})
        nodes = self.graph.nodes
        out = np.zeros([self.cards[v] for v in nodes])
        for u in itertools.product(range(2), repeat=len(self.latents)):
            pu = float(np.prod([self.prior[k][u[k]] for k in range(len(u))]))
            for values in itertools.product(*(range(self.cards[v]) for v in nodes)):
                val = dict(zip(nodes, values, strict=True))
                if any(val[v] != x for v, x in do.items()):
                    continue
                p = pu
                for v in nodes:
                    if v not in do:
                        index = [val[q] for q in self.parents[v]] + [u[k] for k in self.own[v]] + [val[v]]
                        p *= self.tables[v][tuple(index)]
                out[values] += p
        return out

    def observational(self) -> DiscreteDistribution:
        return DiscreteDistribution(self.graph.nodes, self.joint())

    def truth(
        self, outcome: Sequence[str], do: Mapping[str, int], given: Mapping[str, int] | None = None
    ) -> np.ndarray:
        """P(outcome | do, given), axes in the order of ``outcome``."""
        given = dict(given or {})
        nodes = list(self.graph.nodes)
        table = self.joint(do)
        keep = list(outcome) + list(given)
        table = table.sum(axis=tuple(i for i, v in enumerate(nodes) if v not in keep))
        kept = [v for v in nodes if v in keep]
        table = np.transpose(table, [kept.index(v) for v in keep])
        if given:
            where: tuple[Any, ...] = (Ellipsis, *given.values())
            table = table[where]
        return table / table.sum()


# ---------------------------------------------------------------------------- query text
@pytest.mark.parametrize(
    "outcome,treatment,condition,text",
    [
        (("Y",), ("X",), (), "P(Y | do(X))"),
        (("Y",), ("X",), ("Z",), "P(Y | do(X), Z)"),
        (("Y", "W"), ("X1", "X2"), ("Z1", "Z2"), "P(Y, W | do(X1, X2), Z1, Z2)"),
        (("Y",), (), ("Z",), "P(Y | Z)"),
        (("Y",), (), (), "P(Y)"),
    ],
)
def test_format_query(
    outcome: tuple[str, ...], treatment: tuple[str, ...], condition: tuple[str, ...], text: str
) -> None:
    assert format_query(outcome, treatment, condition) == text


# ---------------------------------------------------------------------------- build_expression
def test_a_line_1_trace_is_the_marginal_of_y() -> None:
    core = CausalGraph(directed=[("A", "B"), ("B", "C")]).core
    assert build_expression(IdStep(1, core.mask(["A", "C"]), 0, core.all), core) == P(["A", "C"])


def test_a_line_6_trace_sums_the_c_component_minus_y() -> None:
    """Hand-made step: Σ_B P(B | A) P(C | A, B) for y = {C}, s = {B, C}."""
    core = CausalGraph(directed=[("A", "B"), ("B", "C"), ("A", "C")]).core
    a, b, c = (core.index[n] for n in "ABC")
    step = IdStep(6, 1 << c, 1 << a, core.all)
    step.s = (1 << b) | (1 << c)
    step.factors = ((b, 1 << a), (c, (1 << a) | (1 << b)))
    assert build_expression(step, core) == Sum(Product([P(["B"], ["A"]), P(["C"], ["A", "B"])]), ["B"])


def test_a_hand_built_frontdoor_trace_gives_the_frontdoor_formula() -> None:
    """Lines 4, 2, 6, 7, 2, 1: Σ_Z P(Z | X) Σ_X P(X) P(Y | X, Z), built without running ID."""
    core = CausalGraph(directed=[("X", "Z"), ("Z", "Y")], bidirected=[("X", "Y")]).core
    X, Z, Y = (core.mask([n]) for n in "XZY")
    z_six = IdStep(6, Z, X, X | Z)
    z_six.s, z_six.factors = Z, ((core.index["Z"], X),)
    z_two = IdStep(2, Z, X | Y, core.all)
    z_two.keep, z_two.child = X | Z, z_six
    y_two = IdStep(2, Y, X, X | Y)
    y_two.keep, y_two.child = Y, IdStep(1, Y, 0, Y)
    y_seven = IdStep(7, Y, X | Z, core.all)
    y_seven.s, y_seven.s_prime, y_seven.child = Y, X | Y, y_two
    y_seven.factors = ((core.index["X"], 0), (core.index["Y"], X | Z))
    root = IdStep(4, Y, X, core.all)
    root.parts = ((Z, z_two), (Y, y_seven))
    expected = Sum(Product([P(["Z"], ["X"]), Sum(Product([P(["X"]), P(["Y"], ["X", "Z"])]), ["X"])]), ["Z"])
    assert build_expression(root, core) == expected


def test_napkin_divides_the_line_7_distribution_by_its_marginal(napkin: CausalGraph) -> None:
    """Line 6 after line 7 takes P'(Y | X) = P'(X, Y) / Σ_Y P'(X, Y), P' = P(W1) P(X | W1, W2) P(Y | W1, W2, X)."""
    numerator = Sum(Product([P(["W1"]), P(["X"], ["W1", "W2"]), P(["Y"], ["W1", "W2", "X"])]), ["W1"])
    denominator = Sum(Product([P(["W1"]), P(["X"], ["W1", "W2"])]), ["W1"])
    assert identify(napkin, "X", "Y").expression == Fraction(numerator, denominator, ("Y",))


def test_backdoor_expression_is_the_adjustment_formula(named_graphs: dict[str, NamedGraph]) -> None:
    e = identify(named_graphs["backdoor"].graph, "X", "Y")
    assert e.expression == Sum(Product([P(["Z"]), P(["Y"], ["Z", "X"])]), ["Z"])


# ---------------------------------------------------------------------------- the Estimand object
def test_estimand_records_the_query_and_its_arbitrary_variables(
    named_graphs: dict[str, NamedGraph], napkin: CausalGraph
) -> None:
    e = identify(napkin, ["X"], ["Y"])
    assert isinstance(e, Estimand)
    assert (e.treatment, e.outcome, e.condition, e.moved) == (("X",), ("Y",), (), ())
    assert e.query == "P(Y | do(X))" and e.graph is napkin
    assert e.arbitrary == ("W2",)  # free in the expression, fixed by nobody
    assert str(e).startswith("P(Y | do(X)) = ") and str(e).endswith("   (for any value of W2)")
    assert repr(e) == f"Estimand({e})"
    assert e.trace.line == 3
    verma = named_graphs["verma"]
    assert identify(verma.graph, verma.treatment, verma.outcome).arbitrary == ("V1",)
    backdoor = identify(named_graphs["backdoor"].graph, "X", "Y")
    assert backdoor.arbitrary == () and "for any value" not in str(backdoor)


def test_to_dict_and_latex(named_graphs: dict[str, NamedGraph]) -> None:
    movable = CausalGraph(directed=[("X", "Z"), ("Z", "Y"), ("X", "Y")], bidirected=[("X", "Z")])
    e = identify(movable, "X", "Y", "Z")
    assert e.to_latex() == r"P(Y \mid \mathrm{do}(X), Z) = P(Y \mid X, Z)"
    assert e.to_dict() == {
        "query": "P(Y | do(X), Z)",
        "treatment": ["X"],
        "outcome": ["Y"],
        "condition": ["Z"],
        "moved_by_rule_2": ["Z"],
        "arbitrary": [],
        "estimand": "P(Y | X, Z)",
        "latex": r"P(Y \mid \mathrm{do}(X), Z) = P(Y \mid X, Z)",
    }
    g = CausalGraph(directed=[("W1", "Y"), ("X1", "Y")])
    assert identify(g, "X1", "Y", "W1").to_latex().startswith(r"P(Y \mid \mathrm{do}(X_{1}), W_{1}) = ")


def test_explain_starts_at_the_top_call(napkin: CausalGraph) -> None:
    text = identify(napkin, "X", "Y").explain()
    assert text.splitlines()[0].startswith("ID(y={Y}, x={X}) on {W1, W2, X, Y}: line 3")


# ---------------------------------------------------------------------------- evaluation
@pytest.mark.parametrize("name", ["backdoor", "frontdoor", "napkin", "verma", "conditional"])
@pytest.mark.parametrize("seed", [0, 1])
def test_evaluate_equals_the_brute_force_interventional_distribution(
    name: str, seed: int, named_graphs: dict[str, NamedGraph]
) -> None:
    g = named_graphs[name]
    cards = {v: 2 + (k + seed) % 2 for k, v in enumerate(g.graph.nodes)}
    model = Model(g.graph, cards, seed)
    joint = model.observational()
    estimand = identify(g.graph, g.treatment, g.outcome, g.condition)
    for xs in itertools.product(*(range(cards[t]) for t in g.treatment)):
        do = dict(zip(g.treatment, xs, strict=True))
        for zs in itertools.product(*(range(cards[c]) for c in g.condition)):
            given = dict(zip(g.condition, zs, strict=True))
            got = estimand.evaluate(joint, do, given)
            assert got.variables == g.outcome
            np.testing.assert_allclose(got.probs, model.truth(g.outcome, do, given), atol=1e-10)


def test_evaluate_returns_the_outcomes_in_the_order_asked() -> None:
    graph = CausalGraph(directed=[("X", "Z"), ("Z", "Y"), ("W", "X"), ("W", "Y")])
    model = Model(graph, {"X": 2, "Z": 3, "Y": 2, "W": 2}, seed=4)
    e = identify(graph, "X", ["Y", "Z"])
    got = e.evaluate(model.observational(), {"X": 1})
    assert got.variables == ("Y", "Z") and got.probs.shape == (2, 3)
    np.testing.assert_allclose(got.probs, model.truth(["Y", "Z"], {"X": 1}), atol=1e-10)


def test_evaluate_averages_arbitrary_variables_only_where_they_have_mass(napkin: CausalGraph) -> None:
    """If X = 1 whenever W2 = 1, the napkin's formula is undefined at (X = 0, W2 = 1); W2 = 0 still answers."""
    model = Model(napkin, {v: 2 for v in napkin.nodes}, seed=3)
    model.tables["X"][1] = [0.0, 1.0]  # axes (W2, latent of W1 <-> X, X): W2 = 1 forces X = 1
    joint = model.observational()
    assert joint.marginal(["W2", "X"]).probs[1, 0] == 0.0
    e = identify(napkin, "X", "Y")
    for x in range(2):
        np.testing.assert_allclose(e.evaluate(joint, {"X": x}).probs, model.truth(["Y"], {"X": x}), atol=1e-10)


def test_evaluate_needs_only_the_variables_the_estimand_uses() -> None:
    graph = CausalGraph(directed=[("X", "Y"), ("Y", "W")])
    model = Model(graph, {"X": 2, "Y": 3, "W": 2}, seed=5)
    joint = model.observational()
    got = identify(graph, "X", "Y").evaluate(joint.marginal(["X", "Y"]), {"X": 0})
    np.testing.assert_allclose(got.probs, model.truth(["Y"], {"X": 0}), atol=1e-10)


@pytest.mark.parametrize(
    "interventions,given,fragment",
    [
        ({}, {"Z": 0}, "missing X"),
        ({"X": 0, "M": 1}, {"Z": 0}, "'M' is not a treatment variable"),
        ({"X": 2}, {"Z": 0}, "out of range"),
        ({"X": 0}, {}, "must give a value to exactly the condition variables"),
        ({"X": 0}, {"Z": 0, "Y": 1}, "'Y' is not a condition variable"),
        ({"X": 0.5}, {"Z": 0}, "must be an integer"),
    ],
)
def test_evaluate_rejects_values_that_do_not_fit_the_query(
    interventions: dict[str, Any], given: dict[str, int], fragment: str, named_graphs: dict[str, NamedGraph]
) -> None:
    g = named_graphs["conditional"]
    e = identify(g.graph, g.treatment, g.outcome, g.condition)
    joint = Model(g.graph, {v: 2 for v in g.graph.nodes}, seed=0).observational()
    with pytest.raises(QueryError, match=fragment) as info:
        e.evaluate(joint, interventions, given)
    assert "\n" not in str(info.value)


def test_evaluate_rejects_a_distribution_without_a_variable_it_needs(named_graphs: dict[str, NamedGraph]) -> None:
    g = named_graphs["backdoor"]
    joint = Model(g.graph, {v: 2 for v in g.graph.nodes}, seed=0).observational()
    with pytest.raises(QueryError, match="has no variable 'Z', which the estimand uses") as info:
        identify(g.graph, "X", "Y").evaluate(joint.marginal(["X", "Y"]), {"X": 0})
    assert "\n" not in str(info.value)


def test_evaluate_reports_zero_mass_where_the_estimand_divides(named_graphs: dict[str, NamedGraph]) -> None:
    """Back-door with Z = 1 never seen together with X = 1: P(Y | Z = 1, X = 1) is undefined."""
    g = named_graphs["backdoor"].graph  # nodes Z, X, Y
    probs = np.full((2, 2, 2), 1 / 6)
    probs[1, 1, :] = 0.0
    joint = DiscreteDistribution(g.nodes, probs)
    e = identify(g, "X", "Y")
    with pytest.raises(EvaluationError, match="divides by zero mass") as info:
        e.evaluate(joint, {"X": 1})
    message = str(info.value)
    assert "P(Y | do(X))" in message and "Z=1" in message and "\n" not in message
    np.testing.assert_allclose(e.evaluate(joint, {"X": 0}).probs, [0.5, 0.5])
