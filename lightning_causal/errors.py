"""Exceptions raised by lightning-causal.

Every message is one line that names the offending variable, edge, file or key and says what to
do, so the command line can print it without a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lightning_causal.identification.hedge import CForest, Hedge

__all__ = [
    "ConfigError",
    "DataError",
    "EvaluationError",
    "GraphError",
    "LightningCausalError",
    "NotIdentifiableError",
    "NotTrainedError",
    "QueryError",
    "TrainingError",
    "listing",
]


def listing(names: Iterable[object], limit: int | None = None) -> str:
    """``a, b, c`` for an error message; past ``limit`` names, ``a, b, ... (N in all)``."""
    shown = [str(n) for n in names]
    if limit is None or len(shown) <= limit:
        return ", ".join(shown)
    return ", ".join([*shown[: max(limit, 0)], f"... ({len(shown)} in all)"])


class LightningCausalError(Exception):
    """Base class of every error the framework raises for bad input or an impossible request."""


class GraphError(LightningCausalError, ValueError):
    """A causal graph is malformed: a cycle, a self-loop, an unknown or duplicate edge, a bad name."""


class QueryError(LightningCausalError, ValueError):
    """A causal query or its values do not fit the graph or the estimand."""


class EvaluationError(LightningCausalError, ValueError):
    """An estimand cannot be evaluated on the given distribution (for example zero mass)."""


class DataError(LightningCausalError, ValueError):
    """Data does not fit the graph or the declared variable types (a missing column, a NaN, a bad value)."""


class NotTrainedError(QueryError, RuntimeError):
    """A query asked something of a model before it was trained (or loaded from a checkpoint)."""


class ConfigError(LightningCausalError, ValueError):
    """A config file, a command-line option or a training setting is missing, malformed or out of range."""


class TrainingError(LightningCausalError, RuntimeError):
    """Training cannot go on: the loss or the weights became NaN or infinite.

    Attributes:
        step: the optimizer step at which it happened.
    """

    def __init__(self, message: str, step: int) -> None:
        super().__init__(message)
        self.step = step

    def __reduce__(self) -> tuple[type[TrainingError], tuple[str, int]]:
        return type(self), (str(self), self.step)  # survives pickling, e.g. from a spawned DDP worker


class NotIdentifiableError(LightningCausalError):
    """The query is not identifiable from the observational distribution in this graph.

    Attributes:
        query: the query as text, e.g. ``"P(Y | do(X))"``.
        hedge: the two c-forests F and F' that block identification (``hedge.F``, ``hedge.F_prime``),
            for the interventional query ID was asked (for IDC: after the rule-2 moves).
        line: the line of ID that failed (always 5: the only line that fails).
        call: the recursive call in which it failed, as ``{"outcome", "treatment", "vertices"}``.
        treatment, outcome, condition: the query's variables.

    The hedge and the message are built on first access, so code that only catches the error
    (to try another query) does not pay for them.
    """

    def __init__(
        self,
        query: str,
        *,
        line: int,
        treatment: tuple[str, ...],
        outcome: tuple[str, ...],
        condition: tuple[str, ...] = (),
        details: Callable[[], tuple[Hedge, dict[str, tuple[str, ...]], str]],
    ) -> None:
        super().__init__(query)
        self.query = query
        self.line = line
        self.treatment = treatment
        self.outcome = outcome
        self.condition = condition
        self._details = details
        self._resolved: tuple[Hedge, dict[str, tuple[str, ...]], str] | None = None

    def _resolve(self) -> tuple[Hedge, dict[str, tuple[str, ...]], str]:
        if self._resolved is None:
            self._resolved = self._details()
        return self._resolved

    @property
    def hedge(self) -> Hedge:
        return self._resolve()[0]

    @property
    def call(self) -> dict[str, tuple[str, ...]]:
        return self._resolve()[1]

    def __str__(self) -> str:
        return self._resolve()[2]

    @property
    def F(self) -> CForest:  # noqa: N802 - the paper's name
        return self.hedge.F

    @property
    def F_prime(self) -> CForest:  # noqa: N802 - the paper's name
        return self.hedge.F_prime
