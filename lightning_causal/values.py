"""Validation of the values a query is evaluated or sampled at."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lightning_causal.errors import QueryError

__all__ = ["MAX_COUNT", "check_assignment", "check_count", "check_value"]


def check_assignment(values: Mapping[str, Any], expected: tuple[str, ...], what: str, role: str) -> None:
    """``values`` must name exactly the ``expected`` variables (the query's treatment or condition)."""
    got, want = set(values), set(expected)
    if got == want:
        return
    extra = sorted(got - want)
    missing = [v for v in expected if v not in got]
    hint = f"{extra[0]!r} is not a {role} variable" if extra else f"missing {', '.join(missing)}"
    shown = ", ".join(expected) if expected else "none"
    raise QueryError(f"{what} must give a value to exactly the {role} variables ({shown}): {hint}")


def check_value(variable: str, value: Any, cardinality: int) -> int:
    """An integer code in ``0 .. cardinality - 1``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise QueryError(f"value {value!r} for {variable} must be an integer in 0..{cardinality - 1}")
    if not 0 <= int(value) < cardinality:
        raise QueryError(f"value {value} for {variable} is out of range: {variable} takes values 0..{cardinality - 1}")
    return int(value)


MAX_COUNT = 100_000_000
"""The most samples (or steps) one call may ask for: more would fill the memory before any check."""


def check_count(n: Any, what: str = "the number of samples") -> int:
    """A whole number from 1 to :data:`MAX_COUNT` (a sample count, a number of steps); one clear error otherwise."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise QueryError(f"{what} must be a whole number >= 1, got {n!r}")
    if n > MAX_COUNT:
        raise QueryError(f"{what} is {n:,}, more than the limit of {MAX_COUNT:,} per call; split it into several calls")
    return int(n)
