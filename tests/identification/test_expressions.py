"""Estimand expressions (``identification/expressions.py``): constructors, exact simplifications, printing.

``product``, ``marginalize`` and ``conditional`` are checked structurally on hand-built expressions
and numerically: a pointwise evaluator written here (explicit sums over a random joint table) must
give the same number before and after every simplification. Text and LaTeX output are compared
with strings written by hand.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from lightning_causal.identification.expressions import (
    ONE,
    Expression,
    Fraction,
    One,
    Probability,
    Product,
    Sum,
    conditional,
    marginalize,
    product,
    to_latex,
    to_text,
)

VARIABLES = ("A", "B", "C", "D")
CARDS = {"A": 2, "B": 3, "C": 2, "D": 2}


def P(head: Sequence[str] | str, given: Sequence[str] | str = ()) -> Probability:  # noqa: N802 - the paper's name
    return Probability(tuple(head), tuple(given))


@pytest.fixture
def joint() -> np.ndarray:
    rng = np.random.default_rng(0)
    table = rng.dirichlet(np.ones(int(np.prod(list(CARDS.values())))))
    return table.reshape([CARDS[v] for v in VARIABLES])


def _mass(joint: np.ndarray, assign: Mapping[str, int]) -> float:
    index = tuple(assign[v] if v in assign else slice(None) for v in VARIABLES)
    return float(np.sum(joint[index]))


def value(expr: Expression, env: Mapping[str, int], joint: np.ndarray) -> float:
    """The expression at one assignment of its free variables, by explicit sums (lexical scoping)."""
    if isinstance(expr, One):
        return 1.0
    if isinstance(expr, Probability):
        num = _mass(joint, {v: env[v] for v in expr.head + expr.given})
        return num / _mass(joint, {v: env[v] for v in expr.given})
    if isinstance(expr, Product):
        return float(np.prod([value(t, env, joint) for t in expr.terms]))
    if isinstance(expr, Sum):
        total = 0.0
        for values in itertools.product(*(range(CARDS[u]) for u in expr.over)):
            total += value(expr.body, {**env, **dict(zip(expr.over, values, strict=True))}, joint)
        return total
    if isinstance(expr, Fraction):
        return value(expr.numerator, env, joint) / value(expr.denominator, env, joint)
    raise TypeError(type(expr).__name__)


def _assignments(names: Sequence[str]) -> list[dict[str, int]]:
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(range(CARDS[v]) for v in names))]


def _sum_by_hand(expr: Expression, over: Sequence[str], env: Mapping[str, int], joint: np.ndarray) -> float:
    return sum(value(expr, {**env, **a}, joint) for a in _assignments(over))


# ---------------------------------------------------------------------------- structure
def test_equal_structure_means_equal_and_same_hash() -> None:
    assert Probability(["A"], ["B"]) == P("A", "B") and hash(Probability(["A"], ["B"])) == hash(P("A", "B"))
    assert P("A", "B") != P("A", "C")
    assert Product([P("A"), P("B")]) != Product([P("B"), P("A")])
    assert Sum(P("AB"), ["A"]) == Sum(P("AB"), ("A",)) and Sum(P("AB"), ["A"]) != Sum(P("AB"), ["B"])
    assert Fraction(P("A"), P("B"), ("A",)) != Fraction(P("A"), P("B"))
    assert One() == ONE and P("A") != ONE


def test_free_variables_exclude_summed_ones() -> None:
    assert P("AB", "C").free == {"A", "B", "C"}
    assert Product([P("A", "B"), P("C")]).free == {"A", "B", "C"}
    assert Sum(Product([P("A", "B"), P("B")]), ["B"]).free == {"A"}
    assert Fraction(P("A", "B"), Sum(P("C", "D"), ["C"])).free == {"A", "B", "D"}
    assert ONE.free == frozenset()


def test_product_flattens_and_drops_ones() -> None:
    a, b, c = P("A"), P("B", "A"), P("C")
    assert product([a, Product([b, c]), ONE]) == Product([a, b, c])
    assert product([ONE, b]) is b
    assert product([]) is ONE and product([ONE, ONE]) is ONE


# ---------------------------------------------------------------------------- marginalize
def test_summing_nothing_returns_the_expression_itself() -> None:
    e = Product([P("A"), P("B", "A")])
    assert marginalize(e, []) is e


def test_summing_a_head_variable_drops_it_from_the_probability() -> None:
    assert marginalize(P("AB", "C"), ["A"]) == P("B", "C")


def test_summing_a_whole_conditional_gives_one() -> None:
    assert marginalize(P("A", "C"), ["A"]) == ONE
    assert marginalize(Product([P("A", "C"), P("B", "C")]), ["A"]) == P("B", "C")


def test_a_chain_of_conditionals_sums_out_completely() -> None:
    """Σ_{A,C} P(A | C) P(C) = 1: A goes first, which frees C."""
    assert marginalize(Product([P("A", "C"), P("C")]), ["A", "C"]) == ONE


def test_a_variable_in_two_factors_stays_summed() -> None:
    e = Product([P("A", "C"), P("C")])
    assert marginalize(e, ["C"]) == Sum(e, ["C"])


def test_a_variable_only_conditioned_on_stays_summed() -> None:
    assert marginalize(P("A", "C"), ["C"]) == Sum(P("A", "C"), ["C"])


def test_the_sum_keeps_the_order_it_was_asked_for() -> None:
    e = Product([P("A", "BC"), P("B", "C"), P("C", "A")])
    assert marginalize(e, ["C", "B"]) == Sum(e, ["C", "B"])


def test_summing_a_sum_merges_the_two_sums() -> None:
    inner = Sum(Product([P("A", "B"), P("B", "C")]), ["B"])
    assert marginalize(inner, ["C"]) == Sum(Product([P("A", "B"), P("B", "C")]), ["B", "C"])


def test_a_normalised_fraction_sums_to_one_over_its_head() -> None:
    ratio = Fraction(Product([P("A", "C"), P("B", "AC")]), P("B", "C"), ("A",))
    assert marginalize(Product([ratio, P("D")]), ["A"]) == P("D")


def test_a_fraction_summed_over_part_of_its_head_stays() -> None:
    ratio = Fraction(P("ABC"), P("C"), ("A", "B"))
    assert marginalize(ratio, ["A"]) == Sum(ratio, ["A"])


@pytest.mark.parametrize(
    "expr,over",
    [
        (P("AB", "C"), ["A"]),
        (P("AB", "C"), ["A", "B"]),
        (Product([P("A", "C"), P("C")]), ["A", "C"]),
        (Product([P("A", "C"), P("C")]), ["C"]),
        (Product([P("A", "BC"), P("B", "C"), P("D")]), ["B", "D"]),
        (Product([P("A", "BC"), P("B", "C"), P("D")]), ["A", "D"]),
        (Sum(Product([P("A", "B"), P("B", "C")]), ["B"]), ["C"]),
        (Sum(Product([P("A", "B"), P("B", "C")]), ["B"]), ["A"]),
        (Product([Fraction(P("AB", "C"), P("B", "C"), ("A",)), P("D", "B")]), ["A", "D"]),
    ],
)
def test_marginalize_is_an_exact_identity(expr: Expression, over: list[str], joint: np.ndarray) -> None:
    simplified = marginalize(expr, over)
    assert simplified.free <= expr.free - set(over)  # a sum that cancels to 1 loses its free variables too
    for env in _assignments(sorted(expr.free - set(over))):
        assert value(simplified, env, joint) == pytest.approx(_sum_by_hand(expr, over, env, joint), abs=1e-12)


# ---------------------------------------------------------------------------- conditional
def test_conditional_shortcut_returns_the_factor_over_the_head() -> None:
    factor = P("A", "C")
    assert conditional(Product([factor, P("C")]), ("A",), ("C",)) is factor


def test_conditional_of_a_probability_moves_the_rest_of_its_head_behind_the_bar() -> None:
    assert conditional(P("AB", "C"), ("A",), ("B", "C")) == P("A", "BC")


def test_conditional_of_a_normalised_product_is_the_product_itself() -> None:
    joint_expr = Product([P("A", "C"), P("B", "AC")])
    assert conditional(joint_expr, ("A", "B"), ("C",)) is joint_expr


def test_conditional_otherwise_divides_by_the_sum_over_the_head() -> None:
    joint_expr = Sum(Product([P("D"), P("A", "D"), P("B", "AD")]), ["D"])
    got = conditional(joint_expr, ("B",), ("A",))
    assert isinstance(got, Fraction) and got.head == ("B",)
    assert got.numerator == joint_expr
    assert got.denominator == Sum(Product([P("D"), P("A", "D")]), ["D"])


@pytest.mark.parametrize(
    "expr,head,given",
    [
        (Product([P("A", "C"), P("C")]), ("A",), ("C",)),
        (P("AB", "C"), ("A",), ("B", "C")),
        (Sum(Product([P("D"), P("A", "D"), P("B", "AD")]), ["D"]), ("B",), ("A",)),
        (Sum(Product([P("D"), P("A", "D"), P("B", "AD")]), ["D"]), ("A", "B"), ()),
        (Product([P("A", "C"), P("B", "AC"), P("C")]), ("B",), ("A", "C")),
    ],
)
def test_conditional_is_the_joint_over_its_sum_over_the_head(
    expr: Expression, head: tuple[str, ...], given: tuple[str, ...], joint: np.ndarray
) -> None:
    got = conditional(expr, head, given)
    for env in _assignments(sorted(expr.free)):
        expected = value(expr, env, joint) / _sum_by_hand(expr, head, env, joint)
        assert value(got, env, joint) == pytest.approx(expected, abs=1e-12)


# ---------------------------------------------------------------------------- printing
def test_text_of_each_kind_of_expression() -> None:
    assert to_text(ONE) == "1"
    assert to_text(P("A")) == "P(A)"
    assert to_text(P("AB", "CD")) == "P(A, B | C, D)"
    assert to_text(Product([P("A", "C"), P("C")])) == "P(A | C) P(C)"
    assert to_text(Sum(Product([P("A", "C"), P("C")]), ["C"])) == "Σ_{C} P(A | C) P(C)"
    assert to_text(Product([P("B"), Sum(P("AC"), ["C"])])) == "P(B) [Σ_{C} P(A, C)]"
    assert to_text(Fraction(P("AB"), Sum(P("AB"), ["A"]), ("A",))) == "P(A, B) / [Σ_{A'} P(A', B)]"
    assert to_text(Product([Fraction(P("A"), P("B")), P("C")])) == "(P(A) / P(B)) P(C)"


def test_a_bound_variable_that_would_shadow_a_free_one_is_primed() -> None:
    inner = Sum(Product([P("X"), P("Y", "XZ")]), ["X"])
    assert to_text(Product([P("Z", "X"), inner])) == "P(Z | X) [Σ_{X'} P(X') P(Y | X', Z)]"
    nested = Product([P("X"), Sum(Product([P("X"), Sum(P("XY"), ["X"])]), ["X"])])
    assert to_text(nested) == "P(X) [Σ_{X'} P(X') [Σ_{X''} P(X'', Y)]]"
    assert to_text(Sum(P("X"), ["X"])) == "Σ_{X} P(X)"  # nothing to shadow


def test_str_repr_and_methods_use_the_same_text() -> None:
    e = Sum(Product([P("A", "C"), P("C")]), ["C"])
    assert str(e) == e.to_text() == to_text(e)
    assert repr(e) == f"<Sum {to_text(e)}>"
    assert e.to_latex() == to_latex(e)


def test_latex_names_subscripts_and_operators() -> None:
    assert to_latex(P(["W1"], ["X_12", "Age"])) == r"P(W_{1} \mid X_{12}, \mathrm{Age})"
    assert to_latex(P(["a_b"])) == r"P(\mathrm{a\_b})"
    assert to_latex(Fraction(P("A"), P("B"))) == r"\frac{P(A)}{P(B)}"
    assert to_latex(Product([P("B"), Sum(P(["W1", "B"]), ["W1"])])) == r"P(B) \, \left[\sum_{W_{1}} P(W_{1}, B)\right]"
    shadow = Product([P(["W1"]), Sum(P(["W1"]), ["W1"])])
    assert to_latex(shadow) == r"P(W_{1}) \, \left[\sum_{W_{1}'} P(W_{1}')\right]"


def test_an_unknown_expression_type_cannot_be_printed() -> None:
    class Strange(Expression):
        __slots__ = ()

        def __init__(self) -> None:
            self._free = frozenset()

        def key(self) -> tuple:  # type: ignore[type-arg]
            return ("strange",)

    with pytest.raises(TypeError, match="Strange"):
        to_text(Strange())
