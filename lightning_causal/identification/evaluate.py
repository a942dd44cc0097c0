"""Exact evaluation of estimand expressions on a discrete joint distribution.

Every sub-expression evaluates to a table with named axes (its free variables that are not fixed
by the query). Bindings of intervened and conditioned variables are applied at the leaves, and a
sum removes its bound variables from the bindings in scope, so a bound variable that reuses a
fixed variable's name (ID line 7 re-enters intervened variables) is summed, not fixed.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from lightning_causal.distribution import DiscreteDistribution
from lightning_causal.identification.expressions import (
    Expression,
    Fraction,
    One,
    Probability,
    Product,
    Sum,
    to_text,
)

__all__ = ["ExpressionEvaluator"]

Table = tuple[tuple[str, ...], np.ndarray]


def _align(table: Table, axes: tuple[str, ...]) -> np.ndarray:
    """Transpose and reshape ``table`` so that it broadcasts against ``axes``."""
    have, arr = table
    if have == axes:
        return arr
    order = sorted(range(len(have)), key=lambda k: axes.index(have[k]))
    arr = np.transpose(arr, order)
    shape = [1] * len(axes)
    for k in order:
        shape[axes.index(have[k])] = arr.shape[order.index(k)]
    return arr.reshape(shape)


def _union(*tables: Table) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for axes, _ in tables:
        for a in axes:
            seen.setdefault(a)
    return tuple(seen)


class ExpressionEvaluator:
    """Evaluates expressions on one distribution, caching marginals and conditionals."""

    def __init__(self, distribution: DiscreteDistribution) -> None:
        self.dist = distribution
        self.cards = distribution.cardinalities
        self._conditionals: dict[tuple[tuple[str, ...], tuple[str, ...]], np.ndarray] = {}
        self.problems: list[str] = []

    def _conditional(self, head: tuple[str, ...], given: tuple[str, ...]) -> np.ndarray:
        key = (head, given)
        table = self._conditionals.get(key)
        if table is None:
            joint = self.dist.marginal(head + given).probs
            den = joint.sum(axis=tuple(range(len(head))), keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                table = np.where(den > 0, joint / np.where(den > 0, den, 1.0), np.nan)
            self._conditionals[key] = table
        return table

    def _problem(self, expr: Expression, names: tuple[str, ...], arr: np.ndarray, bind: Mapping[str, int]) -> None:
        where = np.argwhere(np.isnan(arr))
        example = dict(bind)
        if len(where):
            example.update({n: int(i) for n, i in zip(names, where[0], strict=False)})
        shown = ", ".join(f"{k}={v}" for k, v in sorted(example.items()))
        self.problems.append(f"{to_text(expr)} at {shown}")

    def evaluate(self, expr: Expression, bind: Mapping[str, int]) -> Table:
        if isinstance(expr, One):
            return (), np.array(1.0)
        if isinstance(expr, Probability):
            variables = expr.head + expr.given
            table = self._conditional(expr.head, expr.given)
            index = tuple(bind[v] if v in bind else slice(None) for v in variables)
            axes = tuple(v for v in variables if v not in bind)
            arr = table[index]
            if np.isnan(arr).any():
                given = tuple(v for v in expr.given)
                self.problems.append(
                    f"{to_text(expr)} needs P({', '.join(given)}) > 0 " + _zero_example(self.dist, given, bind)
                )
            return axes, np.asarray(arr)
        if isinstance(expr, Product):
            tables = [self.evaluate(t, bind) for t in expr.terms]
            axes = _union(*tables)
            out = np.ones([1] * len(axes))
            for t in tables:
                out = out * _align(t, axes)
            return axes, np.broadcast_to(out, tuple(self._size(a) for a in axes)).copy()
        if isinstance(expr, Sum):
            inner = {k: v for k, v in bind.items() if k not in expr.over}
            axes, arr = self.evaluate(expr.body, inner)
            summed = tuple(k for k, a in enumerate(axes) if a in expr.over)
            factor = 1
            for v in expr.over:
                if v not in axes:  # a sum over a variable the body ignores multiplies by its size
                    factor *= self._size(v)
            arr = arr.sum(axis=summed) * factor if summed else arr * factor
            return tuple(a for a in axes if a not in expr.over), arr
        if isinstance(expr, Fraction):
            num = self.evaluate(expr.numerator, bind)
            den = self.evaluate(expr.denominator, bind)
            axes = _union(num, den)
            n, d = _align(num, axes), _align(den, axes)
            n, d = np.broadcast_arrays(n, d)
            with np.errstate(invalid="ignore", divide="ignore"):
                arr = np.where(d > 0, n / np.where(d > 0, d, 1.0), np.nan)
            arr = np.broadcast_to(arr, tuple(self._size(a) for a in axes)).copy()
            if np.isnan(arr).any():
                self._problem(expr.denominator, axes, arr, bind)
            return axes, arr
        raise TypeError(f"cannot evaluate {type(expr).__name__}")

    def _size(self, variable: str) -> int:
        return int(self.cards[variable])


def _zero_example(dist: DiscreteDistribution, given: tuple[str, ...], bind: Mapping[str, int]) -> str:
    """Describe one configuration of ``given`` (consistent with ``bind``) that has zero mass."""
    if not given:
        return ""
    marg = dist.marginal(given).probs
    index = tuple(bind[v] if v in bind else slice(None) for v in given)
    free = tuple(v for v in given if v not in bind)
    zeros = np.argwhere(np.asarray(marg[index]) == 0)
    values = dict((v, bind[v]) for v in given if v in bind)
    if len(zeros):
        values.update({v: int(i) for v, i in zip(free, zeros[0], strict=False)})
    return "but it is 0 at " + ", ".join(f"{k}={v}" for k, v in values.items())
