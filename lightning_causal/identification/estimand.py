"""Estimand: an identified causal query as an expression of the observational distribution.

The expression is read off the ID trace (``trace.py``) by carrying "the current distribution" down
the recursion: the observational P restricted to a set of variables, or, after line 7, the derived
P' (a product of conditionals of the distribution above it, with the variables outside S' fixed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from lightning_causal.distribution import DiscreteDistribution
from lightning_causal.errors import EvaluationError, QueryError
from lightning_causal.graph.bitgraph import BitGraph
from lightning_causal.identification.evaluate import ExpressionEvaluator
from lightning_causal.identification.explain import explain_trace
from lightning_causal.identification.expressions import (
    Expression,
    Probability,
    conditional,
    marginalize,
    product,
    to_latex,
    to_text,
)
from lightning_causal.identification.trace import IdStep
from lightning_causal.values import check_assignment

if TYPE_CHECKING:
    from lightning_causal.graph.causal_graph import CausalGraph

__all__ = ["Estimand", "build_expression", "format_query"]


class _Observed:
    """The observational distribution, marginalised onto ``domain``."""

    __slots__ = ("core", "domain")

    def __init__(self, core: BitGraph, domain: int) -> None:
        self.core = core
        self.domain = domain

    def marginal(self, keep: int) -> _Observed:
        return _Observed(self.core, keep)

    def joint(self, keep: int) -> Expression:
        return Probability(self.core.names_of(keep))

    def conditional(self, i: int, cond: int) -> Expression:
        return Probability((self.core.names[i],), self.core.names_of(cond))


class _Derived:
    """A distribution over ``domain`` given as an expression (free variables outside it are fixed)."""

    __slots__ = ("_joints", "core", "domain", "expr")

    def __init__(self, core: BitGraph, expr: Expression, domain: int) -> None:
        self.core = core
        self.expr = expr
        self.domain = domain
        self._joints: dict[int, Expression] = {domain: expr}

    def joint(self, keep: int) -> Expression:
        out = self._joints.get(keep)
        if out is None:
            out = marginalize(self.expr, self.core.names_of(self.domain & ~keep))
            self._joints[keep] = out
        return out

    def marginal(self, keep: int) -> _Derived:
        return self if keep == self.domain else _Derived(self.core, self.joint(keep), keep)

    def conditional(self, i: int, cond: int) -> Expression:
        name = self.core.names[i]
        return conditional(self.joint(cond | (1 << i)), (name,), self.core.names_of(cond))


def build_expression(step: IdStep, core: BitGraph) -> Expression:
    """The expression ID returns for the trace ``step`` on the observational distribution."""
    return _build(step, _Observed(core, step.v), core)


def _build(step: IdStep, dist: _Observed | _Derived, core: BitGraph) -> Expression:
    line = step.line
    if line == 1:  # sum_{v minus y} P(v)
        return dist.joint(step.y)
    if line == 2:  # recurse on the marginal over An(y)
        assert step.child is not None
        return _build(step.child, dist.marginal(step.keep), core)
    if line == 3:  # x grows by w; same distribution
        assert step.child is not None
        return _build(step.child, dist, core)
    if line == 4:  # sum_{v minus (y cup x)} prod_i ID(s_i, v minus s_i)
        parts = [_build(part, dist, core) for _, part in step.parts]
        return marginalize(product(parts), core.names_of(step.v & ~(step.y | step.x)))
    if line == 6:  # sum_{s minus y} prod_{V_i in S} P(v_i | v_pi^(i-1))
        terms = [dist.conditional(i, cond) for i, cond in step.factors]
        return marginalize(product(terms), core.names_of(step.s & ~step.y))
    if line == 7:  # P' = prod_{V_i in S'} P(V_i | V_pi^(i-1) cap S', v_pi^(i-1) minus S')
        assert step.child is not None
        terms = [dist.conditional(i, cond) for i, cond in step.factors]
        return _build(step.child, _Derived(core, product(terms), step.s_prime), core)
    raise AssertionError(f"unexpected ID line {line}")


def format_query(outcome: tuple[str, ...], treatment: tuple[str, ...], condition: tuple[str, ...] = ()) -> str:
    """``P(Y | do(X), Z)`` style text."""
    parts = []
    if treatment:
        parts.append(f"do({', '.join(treatment)})")
    parts.extend(condition)
    return f"P({', '.join(outcome)}" + (f" | {', '.join(parts)})" if parts else ")")


def _latex_query(outcome: tuple[str, ...], treatment: tuple[str, ...], condition: tuple[str, ...]) -> str:
    from lightning_causal.identification.expressions import _latex_name

    parts = []
    if treatment:
        parts.append(r"\mathrm{do}(" + ", ".join(_latex_name(t) for t in treatment) + ")")
    parts.extend(_latex_name(c) for c in condition)
    head = ", ".join(_latex_name(o) for o in outcome)
    return f"P({head}" + (r" \mid " + ", ".join(parts) + ")" if parts else ")")


class Estimand:
    """An identified query and the expression that computes it from observational data.

    Attributes:
        graph: the causal graph.
        treatment, outcome, condition: the query, in the order given.
        expression: the estimand as an :class:`~lightning_causal.identification.expressions.Expression`.
        moved: conditions that IDC moved into the intervention set by rule 2 of the do-calculus.
        arbitrary: variables the expression mentions although the query does not fix them (ID
            line 3 adds them to the intervention set); the value is the same for every value
            of them that has positive probability.
        trace: the ID recursion (see :meth:`explain`).
    """

    def __init__(
        self,
        graph: CausalGraph,
        treatment: tuple[str, ...],
        outcome: tuple[str, ...],
        condition: tuple[str, ...],
        expression: Expression,
        trace: IdStep,
        moved: tuple[str, ...] = (),
    ) -> None:
        self.graph = graph
        self.treatment = treatment
        self.outcome = outcome
        self.condition = condition
        self.expression = expression
        self.trace = trace
        self.moved = moved
        fixed = set(treatment) | set(outcome) | set(condition)
        order = graph.core.index
        self.arbitrary: tuple[str, ...] = tuple(
            sorted((v for v in expression.free if v not in fixed), key=order.__getitem__)
        )

    @property
    def query(self) -> str:
        return format_query(self.outcome, self.treatment, self.condition)

    def __str__(self) -> str:
        text = f"{self.query} = {to_text(self.expression)}"
        if self.arbitrary:
            text += f"   (for any value of {', '.join(self.arbitrary)})"
        return text

    def __repr__(self) -> str:
        return f"Estimand({self})"

    def to_latex(self) -> str:
        """``P(y \\mid do(x)) = ...`` in LaTeX math mode."""
        return f"{_latex_query(self.outcome, self.treatment, self.condition)} = {to_latex(self.expression)}"

    def explain(self) -> str:
        """The ID (and IDC) recursion, one line of the algorithm per row."""
        return explain_trace(
            self.trace, self.graph.core, self.query, self.treatment, self.outcome, self.condition, self.moved
        )

    # ------------------------------------------------------------------ evaluation
    def evaluate(
        self,
        distribution: DiscreteDistribution,
        interventions: Mapping[str, int] | None = None,
        given: Mapping[str, int] | None = None,
    ) -> DiscreteDistribution:
        """The exact value of the query on a discrete observational joint distribution.

        Args:
            distribution: the observational joint over (at least) the graph's variables.
            interventions: a value for every treatment variable.
            given: a value for every condition variable.

        Returns:
            The distribution of the outcome variables, in the order the query listed them.

        Raises:
            QueryError: when the values do not match the query or are out of range.
            EvaluationError: when the estimand divides by a probability that is zero in
                ``distribution`` (identification assumes positivity).
        """
        interventions = dict(interventions or {})
        given = dict(given or {})
        check_assignment(interventions, self.treatment, "interventions", "treatment")
        check_assignment(given, self.condition, "given", "condition")
        missing = [v for v in self.graph.nodes if v not in distribution.variables]
        needed = [v for v in missing if v in _all_variables(self.expression)]
        if needed:
            raise QueryError(
                f"the distribution has no variable {needed[0]!r}, which the estimand uses; "
                f"it has {', '.join(distribution.variables)}"
            )
        bind: dict[str, int] = {}
        for name, value in list(interventions.items()) + list(given.items()):
            bind[name] = distribution._check_value(name, value)

        evaluator = ExpressionEvaluator(distribution)
        axes, table = evaluator.evaluate(self.expression, bind)
        wanted = self.outcome + self.arbitrary
        assert set(wanted) <= set(axes), f"estimand lost a variable: {wanted} vs {axes}"
        table = np.transpose(table, [axes.index(v) for v in wanted])
        if self.arbitrary:
            # Any value of the arbitrary variables with P(x | w) > 0 gives the same answer; average
            # over P(w | x) (the marginal where x has no mass), as ID-GEN's sampling network does.
            weights = distribution.conditional(self.arbitrary, bind).probs
            mask = np.broadcast_to(weights > 0, table.shape)
            if np.isnan(table[mask]).any():
                raise EvaluationError(self._zero_message(evaluator))
            table = np.where(mask, table, 0.0) * weights
            table = table.sum(axis=tuple(range(len(self.outcome), table.ndim)))
        elif np.isnan(table).any():
            raise EvaluationError(self._zero_message(evaluator))
        return DiscreteDistribution(self.outcome, np.clip(table, 0.0, None))

    def _zero_message(self, evaluator: ExpressionEvaluator) -> str:
        detail = evaluator.problems[0] if evaluator.problems else "a probability is zero"
        return (
            f"cannot evaluate {self.query} on this distribution: the estimand divides by zero mass: "
            f"{detail}; identification assumes positivity"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "treatment": list(self.treatment),
            "outcome": list(self.outcome),
            "condition": list(self.condition),
            "moved_by_rule_2": list(self.moved),
            "arbitrary": list(self.arbitrary),
            "estimand": to_text(self.expression),
            "latex": self.to_latex(),
        }


def _all_variables(expr: Expression) -> set[str]:
    from lightning_causal.identification.expressions import Fraction, Product, Sum

    out = set(expr.free)
    if isinstance(expr, Product):
        for t in expr.terms:
            out |= _all_variables(t)
    elif isinstance(expr, Sum):
        out |= set(expr.over) | _all_variables(expr.body)
    elif isinstance(expr, Fraction):
        out |= _all_variables(expr.numerator) | _all_variables(expr.denominator)
    return out
