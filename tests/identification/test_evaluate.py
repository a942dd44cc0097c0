"""Exact evaluation of expressions (``identification/evaluate.py``) against brute-force enumeration.

Every table the :class:`ExpressionEvaluator` returns is compared entry by entry with a pointwise
evaluator written here: probabilities as explicit sums over the joint table, sums as loops over
the bound variables (which shadow fixed values), products and fractions as plain arithmetic.
Zero-mass denominators must come back as NaN with a one-line account of where.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np
import pytest

from lightning_causal import DiscreteDistribution, identify
from lightning_causal.graph.named import NamedGraph
from lightning_causal.identification.evaluate import ExpressionEvaluator
from lightning_causal.identification.expressions import (
    ONE,
    Expression,
    Fraction,
    One,
    Probability,
    Product,
    Sum,
)


def _random_distribution(cards: Mapping[str, int], seed: int) -> DiscreteDistribution:
    rng = np.random.default_rng(seed)
    shape = list(cards.values())
    return DiscreteDistribution(list(cards), rng.dirichlet(np.ones(int(np.prod(shape)))).reshape(shape))


def _mass(dist: DiscreteDistribution, assign: Mapping[str, int]) -> float:
    total = 0.0
    for values in itertools.product(*(range(k) for k in dist.probs.shape)):
        row = dict(zip(dist.variables, values, strict=True))
        if all(row[v] == a for v, a in assign.items()):
            total += float(dist.probs[values])
    return total


def value(expr: Expression, env: Mapping[str, int], dist: DiscreteDistribution) -> float:
    """The expression at one assignment, by explicit enumeration (sums rebind their variables)."""
    if isinstance(expr, One):
        return 1.0
    if isinstance(expr, Probability):
        den = _mass(dist, {v: env[v] for v in expr.given})
        return _mass(dist, {v: env[v] for v in expr.head + expr.given}) / den if den > 0 else float("nan")
    if isinstance(expr, Product):
        return float(np.prod([value(t, env, dist) for t in expr.terms]))
    if isinstance(expr, Sum):
        cards = dist.cardinalities
        return sum(
            value(expr.body, {**env, **dict(zip(expr.over, values, strict=True))}, dist)
            for values in itertools.product(*(range(cards[u]) for u in expr.over))
        )
    if isinstance(expr, Fraction):
        den = value(expr.denominator, env, dist)
        return value(expr.numerator, env, dist) / den if den > 0 else float("nan")
    raise TypeError(type(expr).__name__)


def _assert_table_matches(
    expr: Expression, bind: Mapping[str, int], dist: DiscreteDistribution, evaluator: ExpressionEvaluator | None = None
) -> tuple[str, ...]:
    axes, table = (evaluator or ExpressionEvaluator(dist)).evaluate(expr, bind)
    cards = dist.cardinalities
    assert set(axes) == set(expr.free) - set(bind)
    assert table.shape == tuple(cards[a] for a in axes)
    for index in itertools.product(*(range(cards[a]) for a in axes)):
        expected = value(expr, {**bind, **dict(zip(axes, index, strict=True))}, dist)
        np.testing.assert_allclose(table[index], expected, atol=1e-12)
    return axes


def P(head: str, given: str = "") -> Probability:  # noqa: N802 - the paper's name
    return Probability(tuple(head), tuple(given))


@pytest.fixture
def dist() -> DiscreteDistribution:
    return _random_distribution({"A": 2, "B": 3, "C": 2}, seed=1)


def test_one_is_a_scalar_one(dist: DiscreteDistribution) -> None:
    axes, table = ExpressionEvaluator(dist).evaluate(ONE, {})
    assert axes == () and float(table) == 1.0


def test_a_probability_is_the_conditional_table_with_axes_head_then_given(dist: DiscreteDistribution) -> None:
    axes, table = ExpressionEvaluator(dist).evaluate(P("AB", "C"), {})
    assert axes == ("A", "B", "C")
    joint = dist.probs  # axes A, B, C
    np.testing.assert_allclose(table, joint / joint.sum(axis=(0, 1), keepdims=True), atol=1e-15)


def test_bound_variables_are_fixed_and_leave_the_axes(dist: DiscreteDistribution) -> None:
    axes = _assert_table_matches(P("A", "BC"), {"B": 2}, dist)
    assert axes == ("A", "C")
    axes = _assert_table_matches(P("AB", "C"), {"A": 1, "B": 0, "C": 1}, dist)
    assert axes == ()


def test_a_product_broadcasts_over_the_union_of_its_axes(dist: DiscreteDistribution) -> None:
    axes = _assert_table_matches(Product([P("A", "C"), P("B", "A"), P("C")]), {}, dist)
    assert axes == ("A", "C", "B")  # first appearance
    _assert_table_matches(Product([P("A", "C"), P("B", "A")]), {"A": 1}, dist)


def test_a_sum_rebinds_a_variable_that_is_fixed_outside(dist: DiscreteDistribution) -> None:
    """Σ_A P(A) P(B | A) with A fixed to 1 outside is still the marginal P(B)."""
    axes, table = ExpressionEvaluator(dist).evaluate(Sum(Product([P("A"), P("B", "A")]), ["A"]), {"A": 1})
    assert axes == ("B",)
    np.testing.assert_allclose(table, dist.probs.sum(axis=(0, 2)), atol=1e-15)


def test_a_sum_over_a_variable_the_body_ignores_counts_its_values(dist: DiscreteDistribution) -> None:
    axes, table = ExpressionEvaluator(dist).evaluate(Sum(P("A"), ["B", "C"]), {})
    assert axes == ("A",)
    np.testing.assert_allclose(table, 3 * 2 * dist.probs.sum(axis=(1, 2)), atol=1e-15)


def test_a_fraction_divides_after_aligning_its_axes(dist: DiscreteDistribution) -> None:
    expr = Fraction(Product([P("C"), P("A", "C"), P("B", "AC")]), Sum(Product([P("C"), P("A", "C")]), ["C"]), ("B",))
    axes = _assert_table_matches(expr, {}, dist)
    assert set(axes) == {"A", "B", "C"}
    _assert_table_matches(expr, {"A": 0}, dist)


@pytest.mark.parametrize("name", ["backdoor", "frontdoor", "napkin", "verma", "conditional"])
def test_identified_estimands_match_the_pointwise_evaluation(name: str, named_graphs: dict[str, NamedGraph]) -> None:
    g = named_graphs[name]
    estimand = identify(g.graph, g.treatment, g.outcome, g.condition)
    cards = {v: 2 + (k % 2) for k, v in enumerate(g.graph.nodes)}
    dist = _random_distribution(cards, seed=len(name))
    evaluator = ExpressionEvaluator(dist)
    fixed = list(g.treatment) + list(g.condition)
    for values in itertools.product(*(range(cards[v]) for v in fixed)):
        _assert_table_matches(estimand.expression, dict(zip(fixed, values, strict=True)), dist, evaluator)
    assert evaluator.problems == []


def test_a_probability_given_a_zero_mass_value_is_nan_and_reported() -> None:
    dist = DiscreteDistribution(["A", "C"], [[0.3, 0.0], [0.7, 0.0]])
    evaluator = ExpressionEvaluator(dist)
    axes, table = evaluator.evaluate(P("A", "C"), {})
    assert axes == ("A", "C")
    np.testing.assert_allclose(table[:, 0], [0.3, 0.7])
    assert np.isnan(table[:, 1]).all()
    assert evaluator.problems == ["P(A | C) needs P(C) > 0 but it is 0 at C=1"]
    clean = ExpressionEvaluator(dist)
    clean.evaluate(P("A", "C"), {"C": 0})
    assert clean.problems == []


def test_a_fraction_over_a_zero_denominator_is_nan_and_reported() -> None:
    dist = DiscreteDistribution(["A", "C"], [[0.3, 0.0], [0.7, 0.0]])
    evaluator = ExpressionEvaluator(dist)
    axes, table = evaluator.evaluate(Fraction(P("AC"), P("C")), {})
    assert axes == ("A", "C")
    np.testing.assert_allclose(table[:, 0], [0.3, 0.7])
    assert np.isnan(table[:, 1]).all()
    assert len(evaluator.problems) == 1
    assert evaluator.problems[0] == "P(C) at A=0, C=1" and "\n" not in evaluator.problems[0]


def test_an_unknown_expression_type_cannot_be_evaluated(dist: DiscreteDistribution) -> None:
    class Strange(Expression):
        __slots__ = ()

        def __init__(self) -> None:
            self._free = frozenset()

        def key(self) -> tuple:  # type: ignore[type-arg]
            return ("strange",)

    with pytest.raises(TypeError, match="Strange"):
        ExpressionEvaluator(dist).evaluate(Strange(), {})
