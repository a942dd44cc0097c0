"""DiscreteDistribution: an exact joint distribution of categorical variables as a numpy table."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from lightning_causal.errors import QueryError
from lightning_causal.values import check_value

__all__ = ["MAX_CODES", "DiscreteDistribution", "check_integer_columns"]

MAX_CODES = 10_000
"""The most values a discrete variable may take in integer-coded data."""


def check_integer_columns(
    data: Mapping[str, Any],
    names: Sequence[str],
    cardinalities: Mapping[str, int] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Validate integer columns ``{name: array}``: present, 1-D, equal length, non-negative, in range."""
    columns: dict[str, np.ndarray] = {}
    cards: dict[str, int] = {}
    length: int | None = None
    first = ""
    for name in names:
        if name not in data:
            have = ", ".join(list(data)[:12])
            raise QueryError(f"the data has no column {name!r}; it has {have}")
        col = np.asarray(data[name])
        if col.ndim != 1:
            raise QueryError(f"column {name!r} must be one-dimensional, got shape {col.shape}")
        if col.dtype.kind == "f" and col.size and not np.all(np.mod(col, 1) == 0):
            raise QueryError(f"column {name!r} holds non-integer values; categorical data must be integer codes 0..k-1")
        if col.dtype.kind not in "iub" and not (col.dtype.kind == "f"):
            raise QueryError(f"column {name!r} has dtype {col.dtype}; categorical data must be integer codes 0..k-1")
        col = col.astype(np.int64)
        if col.size and col.min() < 0:
            raise QueryError(f"column {name!r} holds negative values; categorical data must be codes 0..k-1")
        if length is None:
            length, first = len(col), name
        elif len(col) != length:
            raise QueryError(f"column {name!r} has {len(col)} rows but {first!r} has {length}")
        k = int(col.max()) + 1 if col.size else 1
        if k > MAX_CODES:
            raise QueryError(
                f"column {name!r} holds the code {k - 1:,}: more than {MAX_CODES:,} values per variable; "
                "codes must be 0..k-1 with few categories"
            )
        if cardinalities is not None and name in cardinalities:
            declared = int(cardinalities[name])
            if k > declared:
                raise QueryError(f"column {name!r} holds the value {k - 1}, outside its {declared} declared values")
            k = declared
        columns[name] = col
        cards[name] = k
    return columns, cards


class DiscreteDistribution:
    """A joint distribution over categorical variables.

    Args:
        variables: the variable names; axis ``i`` of ``probs`` is ``variables[i]``.
        probs: non-negative probabilities summing to one; variable ``i`` takes the values
            ``0 .. probs.shape[i] - 1``.
        atol: tolerance on the total mass.

    Example:
        >>> d = DiscreteDistribution(["X", "Y"], [[0.3, 0.2], [0.1, 0.4]])
        >>> d.marginal(["Y"]).probs
        array([0.4, 0.6])
    """

    __slots__ = ("_index", "probs", "variables")

    def __init__(self, variables: Sequence[str], probs: Any, atol: float = 1e-6) -> None:
        if isinstance(variables, str):
            variables = (variables,)
        variables = tuple(variables)
        for v in variables:
            if not isinstance(v, str) or not v:
                raise QueryError(f"variable names must be non-empty strings, got {v!r}")
        if len(set(variables)) != len(variables):
            dup = next(v for v in variables if variables.count(v) > 1)
            raise QueryError(f"variable {dup!r} is listed twice")
        table = np.array(probs, dtype=np.float64)
        if table.ndim != len(variables):
            raise QueryError(
                f"probs has {table.ndim} axes but {len(variables)} variables were named "
                f"({', '.join(variables)}); give one axis per variable"
            )
        if not np.all(np.isfinite(table)):
            raise QueryError("probs holds NaN or infinite values")
        if (table < 0).any():
            raise QueryError(f"probs holds negative values (min {table.min():.3g})")
        total = float(table.sum())
        if abs(total - 1.0) > atol:
            raise QueryError(f"probs sum to {total:.6g}, not 1; normalise them first")
        for v, k in zip(variables, table.shape, strict=True):
            if k < 1:
                raise QueryError(f"variable {v!r} has no values (axis of length 0)")
        table.setflags(write=False)
        self.variables: tuple[str, ...] = variables
        self.probs: np.ndarray = table
        self._index = {v: i for i, v in enumerate(variables)}

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_samples(
        cls,
        data: Mapping[str, Any],
        variables: Sequence[str] | None = None,
        cardinalities: Mapping[str, int] | None = None,
    ) -> DiscreteDistribution:
        """The empirical distribution of integer samples ``{name: array}``."""
        names = tuple(variables) if variables is not None else tuple(data)
        columns, cards = check_integer_columns(data, names, cardinalities)
        n = len(columns[names[0]]) if names else 0
        if n == 0:
            raise QueryError("cannot build a distribution from zero samples")
        shape = tuple(cards[v] for v in names)
        flat = np.ravel_multi_index(tuple(columns[v] for v in names), shape)
        counts = np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape)
        return cls(names, counts / n)

    # ------------------------------------------------------------------ views
    @property
    def cardinalities(self) -> dict[str, int]:
        """Number of values of each variable."""
        return dict(zip(self.variables, self.probs.shape, strict=True))

    def cardinality(self, variable: str) -> int:
        return int(self.probs.shape[self._axis(variable)])

    def _axis(self, variable: str) -> int:
        try:
            return self._index[variable]
        except KeyError:
            raise QueryError(
                f"the distribution has no variable {variable!r}; it has {', '.join(self.variables)}"
            ) from None

    def marginal(self, variables: Iterable[str]) -> DiscreteDistribution:
        """The marginal over ``variables``, with axes in the order given."""
        if isinstance(variables, str):
            variables = (variables,)
        names = tuple(variables)
        axes = [self._axis(v) for v in names]
        drop = tuple(i for i in range(len(self.variables)) if i not in axes)
        table = self.probs.sum(axis=drop) if drop else self.probs
        kept = [i for i in range(len(self.variables)) if i in axes]
        table = np.transpose(table, [kept.index(a) for a in axes])
        return DiscreteDistribution(names, table)

    def prob(self, values: Mapping[str, int]) -> float:
        """P(values), marginalising the variables that ``values`` does not name."""
        names = tuple(values)
        table = self.marginal(names).probs
        return float(table[tuple(self._check_value(v, values[v]) for v in names)])

    def _check_value(self, variable: str, value: Any) -> int:
        return check_value(variable, value, self.cardinality(variable))

    def condition(self, given: Mapping[str, int]) -> DiscreteDistribution:
        """P(rest | given): the distribution of the other variables given the values of ``given``."""
        index: list[Any] = [slice(None)] * len(self.variables)
        for v, value in given.items():
            index[self._axis(v)] = self._check_value(v, value)
        table = self.probs[tuple(index)]
        mass = float(table.sum())
        if mass <= 0:
            shown = ", ".join(f"{k}={v}" for k, v in given.items())
            raise QueryError(f"cannot condition on {shown}: it has probability zero")
        rest = tuple(v for v in self.variables if v not in given)
        return DiscreteDistribution(rest, table / mass)

    def conditional(self, variables: Iterable[str], given: Mapping[str, int]) -> DiscreteDistribution:
        """P(variables | given), or the marginal P(variables) where ``given`` is empty or has probability zero."""
        names = tuple(variables)
        joint = self.marginal((*names, *given))
        return joint.condition(given).marginal(names) if given and joint.prob(given) > 0 else joint.marginal(names)

    def sample(self, n: int, seed: int | np.random.Generator | None = None) -> dict[str, np.ndarray]:
        """``n`` independent draws, as ``{name: int64 array}``."""
        rng = np.random.default_rng(seed)
        flat = self.probs.ravel()
        cdf = np.cumsum(flat)
        cdf[-1] = 1.0
        idx = np.searchsorted(cdf, rng.random(n), side="right")
        idx = np.minimum(idx, len(flat) - 1)
        cols = np.unravel_index(idx, self.probs.shape)
        return {v: np.asarray(c, dtype=np.int64) for v, c in zip(self.variables, cols, strict=True)}

    def aligned(self, variables: Sequence[str]) -> np.ndarray:
        """The table with axes permuted to ``variables`` (which must be the same set)."""
        if set(variables) != set(self.variables) or len(variables) != len(self.variables):
            raise QueryError(f"cannot align variables ({', '.join(self.variables)}) to ({', '.join(variables)})")
        return np.transpose(self.probs, [self._index[v] for v in variables])

    def tvd(self, other: DiscreteDistribution) -> float:
        """Total variation distance, ``0.5 * sum |p - q|``, over the same variables."""
        q = other.aligned(self.variables)
        if q.shape != self.probs.shape:
            raise QueryError(f"cannot compare distributions with cardinalities {self.probs.shape} and {q.shape}")
        return 0.5 * float(np.abs(self.probs - q).sum())

    def to_text(self, max_rows: int = 32) -> str:
        """A table of the non-negligible configurations."""
        lines = ["  ".join(self.variables) + "  | P"]
        rows = 0
        for idx in np.ndindex(*self.probs.shape):
            p = self.probs[idx]
            if p < 5e-13:
                continue
            if rows == max_rows:
                lines.append("...")
                break
            lines.append(
                "  ".join(str(i).rjust(len(v)) for i, v in zip(idx, self.variables, strict=True)) + f"  | {p:.4f}"
            )
            rows += 1
        return "\n".join(lines)

    def __repr__(self) -> str:
        cards = ", ".join(f"{v}:{k}" for v, k in self.cardinalities.items())
        return f"DiscreteDistribution({cards})"
