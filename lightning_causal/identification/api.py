"""``identify``: ID for P(y | do(x)) and IDC for P(y | do(x), z), with hedges when they fail."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from lightning_causal.errors import NotIdentifiableError, QueryError
from lightning_causal.identification.estimand import Estimand, build_expression, format_query
from lightning_causal.identification.expressions import conditional
from lightning_causal.identification.hedge import Hedge, find_hedge
from lightning_causal.identification.trace import IdFailure, IdStep, id_trace, idc_moves

if TYPE_CHECKING:
    from lightning_causal.graph.causal_graph import CausalGraph

__all__ = ["Query", "check_query", "identify"]

Names = str | Iterable[str]


class Query:
    """A validated query: tuples of names plus their masks on the graph's bitset kernel."""

    __slots__ = ("condition", "graph", "outcome", "treatment", "x", "y", "z")

    def __init__(
        self, graph: CausalGraph, treatment: tuple[str, ...], outcome: tuple[str, ...], condition: tuple[str, ...]
    ) -> None:
        self.graph = graph
        self.treatment = treatment
        self.outcome = outcome
        self.condition = condition
        core = graph.core
        self.x = core.mask(treatment)
        self.y = core.mask(outcome)
        self.z = core.mask(condition)

    @property
    def text(self) -> str:
        return format_query(self.outcome, self.treatment, self.condition)


def _names(value: Names | None, role: str, graph: CausalGraph) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        names: tuple[object, ...] = tuple(v.strip() for v in value.split(",")) if "," in value else (value,)
    else:
        try:
            names = tuple(value)
        except TypeError:
            raise QueryError(f"{role} must be a variable name or a list of names, got {value!r}") from None
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not name:
            raise QueryError(f"{role} must hold variable names (non-empty strings), got {name!r}")
        if name not in graph:
            known = ", ".join(graph.nodes[:12]) + (", ..." if len(graph) > 12 else "")
            raise QueryError(f"unknown variable {name!r} in {role}; the graph has {known}")
        if name in seen:
            raise QueryError(f"{role} lists {name!r} twice")
        seen.add(name)
    return tuple(names)  # type: ignore[arg-type]


def check_query(graph: CausalGraph, treatment: Names | None, outcome: Names, condition: Names | None = ()) -> Query:
    """Validate a query against ``graph``: known, distinct variables and a non-empty outcome."""
    x = _names(treatment, "treatment", graph)
    y = _names(outcome, "outcome", graph)
    z = _names(condition, "condition", graph)
    if not y:
        raise QueryError("the outcome is empty; name at least one outcome variable")
    for a_role, a, b_role, b in (
        ("treatment", x, "outcome", y),
        ("treatment", x, "condition", z),
        ("outcome", y, "condition", z),
    ):
        common = [v for v in a if v in b]
        if common:
            raise QueryError(
                f"variable {common[0]!r} is in both the {a_role} and the {b_role}; each variable plays one role"
            )
    return Query(graph, x, y, z)


def identify(
    graph: CausalGraph,
    treatment: Names | None,
    outcome: Names,
    condition: Names | None = (),
) -> Estimand:
    """Identify P(outcome | do(treatment), condition) from the observational distribution.

    Runs ID (Shpitser & Pearl, AAAI 2006) for unconditional queries and IDC (UAI 2006) when
    ``condition`` is given. Names may be a string, a comma-separated string or a list.

    Returns:
        The :class:`Estimand`; ``str(estimand)`` reads it, ``estimand.evaluate(...)`` computes it.

    Raises:
        QueryError: unknown or repeated variables, overlapping roles, an empty outcome.
        NotIdentifiableError: the query is not identifiable; the error names the hedge (the two
            c-forests F and F') and the line of ID that failed, and carries them as attributes.

    Example:
        >>> from lightning_causal import CausalGraph, identify
        >>> g = CausalGraph(directed=[("X", "Z"), ("Z", "Y")], bidirected=[("X", "Y")])
        >>> print(identify(g, "X", "Y"))
        P(Y | do(X)) = Σ_{Z} P(Z | X) [Σ_{X'} P(X') P(Y | X', Z)]
    """
    query = check_query(graph, treatment, outcome, condition)
    step, z, moved = _run(query)
    core = graph.core
    expr = build_expression(step, core)
    if z:
        expr = conditional(expr, query.outcome, core.names_of(z))
    return Estimand(
        graph,
        query.treatment,
        query.outcome,
        query.condition,
        expr,
        step,
        moved=tuple(core.names[i] for i in moved),
    )


def _run(query: Query) -> tuple[IdStep, int, tuple[int, ...]]:
    """Run IDC's moves and ID; return (trace, remaining conditions, moved)."""
    core = query.graph.core
    x, z, moved = idc_moves(core, query.y, query.x, query.z) if query.z else (query.x, 0, ())
    try:
        return id_trace(core, query.y | z, x), z, moved
    except IdFailure as failure:
        raise _not_identifiable(query, failure, x, z, moved) from None


def _not_identifiable(query: Query, failure: IdFailure, x: int, z: int, moved: tuple[int, ...]) -> NotIdentifiableError:
    core = query.graph.core

    def details() -> tuple[Hedge, dict[str, tuple[str, ...]], str]:
        hedge = find_hedge(core, query.y | z, x)
        if hedge is None:  # ID and Tian's c-factor identification are both complete
            raise AssertionError(f"ID failed on {query.text} but no hedge was found; please report this graph")

        def s(mask: int) -> str:
            return "{" + ", ".join(core.names_of(mask)) + "}"

        target = format_query(core.names_of(query.y | z), core.names_of(x))
        prefix = f"{query.text} is not identifiable"
        if moved:
            prefix += f" (IDC moved {', '.join(core.names[i] for i in moved)} to the intervention set by rule 2)"
        message = (
            f"{prefix}: ID fails at line 5 in the call ID(y={s(failure.y)}, x={s(failure.x)}) on "
            f"G[{s(failure.v)}], which is a single c-component, as is G[{s(failure.s)}]; hedge for {target}: {hedge}"
        )
        call = {
            "outcome": core.names_of(failure.y),
            "treatment": core.names_of(failure.x),
            "vertices": core.names_of(failure.v),
        }
        return hedge, call, message

    return NotIdentifiableError(
        query.text,
        line=5,
        treatment=query.treatment,
        outcome=query.outcome,
        condition=query.condition,
        details=details,
    )
