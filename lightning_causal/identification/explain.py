"""Human-readable account of the ID/IDC recursion behind an estimand."""

from __future__ import annotations

from lightning_causal.graph.bitgraph import BitGraph
from lightning_causal.identification.trace import IdStep

__all__ = ["explain_trace"]


def _set(core: BitGraph, mask: int) -> str:
    return "{" + ", ".join(core.names_of(mask)) + "}"


def _factors(core: BitGraph, factors: tuple[tuple[int, int], ...]) -> str:
    parts = []
    for i, cond in factors:
        given = core.names_of(cond)
        parts.append(f"P({core.names[i]}" + (f" | {', '.join(given)})" if given else ")"))
    return " ".join(parts)


def _walk(step: IdStep, core: BitGraph, depth: int, out: list[str]) -> None:
    pad = "  " * depth
    head = f"{pad}ID(y={_set(core, step.y)}, x={_set(core, step.x)}) on {_set(core, step.v)}: "
    line = step.line
    if line == 1:
        out.append(head + "line 1: x is empty, so the answer is the current distribution's marginal of y")
    elif line == 2:
        out.append(
            head
            + f"line 2: only An(y) = {_set(core, step.keep)} matters; marginalise out {_set(core, step.v & ~step.keep)}"
        )
    elif line == 3:
        out.append(head + f"line 3: {_set(core, step.w)} cannot reach y once the edges into x are cut; add them to x")
    elif line == 4:
        comps = ", ".join(_set(core, s) for s, _ in step.parts)
        out.append(head + f"line 4: G minus x splits into c-components {comps}; identify each c-factor and multiply")
    elif line == 6:
        out.append(head + f"line 6: {_set(core, step.s)} is a c-component of G: {_factors(core, step.factors)}")
    elif line == 7:
        out.append(
            head
            + f"line 7: {_set(core, step.s)} lies inside the c-component S' = {_set(core, step.s_prime)}; "
            + f"recurse in G[S'] on P' = {_factors(core, step.factors)}"
        )
    if step.child is not None:
        _walk(step.child, core, depth + 1, out)
    for _, part in step.parts:
        _walk(part, core, depth + 1, out)


def explain_trace(
    trace: IdStep,
    core: BitGraph,
    query: str,
    treatment: tuple[str, ...],
    outcome: tuple[str, ...],
    condition: tuple[str, ...] = (),
    moved: tuple[str, ...] = (),
) -> str:
    """One row per recursive call of ID (preceded by IDC's rule-2 moves for conditional queries).

    Args:
        trace: the ID recursion (``identification/trace.py``).
        core: the bitset graph the trace's masks refer to.
        query: the query as text; treatment, outcome, condition: its variables.
        moved: the conditions IDC's rule 2 moved into the intervention set, in order.
    """
    out: list[str] = []
    depth = 0
    if condition:
        out.append(f"IDC for {query}:")
        given = list(treatment)
        for name in moved:
            rest = [c for c in condition if c not in moved[: moved.index(name) + 1]]
            sep = ", ".join(given + rest)
            out.append(
                f"  line 1: rule 2 of the do-calculus: ({', '.join(outcome)} indep {name} | {sep}) in G "
                f"with edges into ({', '.join(given) or 'nothing'}) and out of {name} cut: "
                f"treat {name} as intervened"
            )
            given.append(name)
        left = [c for c in condition if c not in moved]
        if left:
            out.append(
                f"  line 2: identify P({', '.join(outcome + tuple(left))} | do({', '.join(given)})) "
                f"with ID, then condition on {', '.join(left)}"
            )
        else:
            out.append(
                f"  line 2: no condition left; identify P({', '.join(outcome)} | do({', '.join(given)})) with ID"
            )
        depth = 2
    _walk(trace, core, depth, out)
    return "\n".join(out)
