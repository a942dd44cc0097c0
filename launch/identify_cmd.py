"""``lightning-causal identify``: verdict, estimand, ID trace and ID-GEN plan of one query."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lightning_causal import CausalGraph, NotIdentifiableError, identify
from lightning_causal.errors import GraphError
from lightning_causal.figures import FIGURE_SUFFIXES
from lightning_causal.files import check_output_path
from lightning_causal.graph.io import load_graph
from lightning_causal.graph.named import NAMED_GRAPHS, named_graph
from lightning_causal.plan.compile import compile_estimand
from lightning_causal.plan.parts import MARGINALS

__all__ = ["add_identify_parser", "load_graph_argument", "run_identify"]


def load_graph_argument(value: str) -> tuple[CausalGraph, str]:
    """A graph file path, or the name of a built-in graph."""
    path = Path(value)
    if path.exists():
        return load_graph(path), path.name
    if value in NAMED_GRAPHS:
        return named_graph(value).graph, value
    if path.suffix:
        raise GraphError(f"graph file {value!r} does not exist")
    raise GraphError(f"{value!r} is neither a graph file nor a built-in graph ({', '.join(NAMED_GRAPHS)})")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _names(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return out


def add_identify_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``lightning-causal identify``."""
    p = sub.add_parser(
        "identify",
        help="is P(y | do(x), z) identifiable? print the estimand, the ID trace and the ID-GEN plan",
        description=(
            "Decide whether a causal query is identifiable from observational data (ID / IDC), print the "
            "estimand and how ID derived it, or the hedge that blocks it, and the ID-GEN sampling plan. "
            "Exit status: 0 identifiable, 1 not identifiable, 2 bad input."
        ),
    )
    p.add_argument(
        "--graph", required=True, help=f"graph YAML/JSON file, or a built-in graph: {', '.join(NAMED_GRAPHS)}"
    )
    p.add_argument("--treatment", "-x", nargs="+", default=None, help="intervened variables (space or comma separated)")
    p.add_argument("--outcome", "-y", nargs="+", required=True, help="outcome variables")
    p.add_argument("--condition", "-z", nargs="+", default=None, help="conditioning variables (IDC)")
    p.add_argument("--draw", type=Path, default=None, help="also draw the graph to this .png, .pdf or .svg file")
    p.add_argument("--latex", action="store_true", help="also print the estimand in LaTeX")
    p.add_argument("--plan-out", type=Path, default=None, help="write the sampling plan as JSON to this file")
    p.add_argument(
        "--marginals",
        choices=MARGINALS,
        default="compose",
        help="a generated dataset's P(y | copied columns) in the plan: compose (default; drawn by the factors "
        "that generate the dataset, fewer stages) or learn (a factor trained on its rows, ID-GEN as published)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(handler=run_identify)


def _adjustment(graph: CausalGraph, treatment: Sequence[str], outcome: Sequence[str]) -> dict[str, Any]:
    """The canonical covariate adjustment set of an unconditional query, or why none exists (the open path)."""
    from lightning_causal.identification.adjustment import NotAdjustableError, adjustment_set

    try:
        return {"set": list(adjustment_set(graph, treatment, outcome))}
    except NotAdjustableError as err:
        return {"open_path": list(err.path), "message": str(err)}


def run_identify(args: argparse.Namespace) -> int:
    """Print the verdict, estimand, ID trace and plan; exit status 0 identifiable, 1 not."""
    if args.draw is not None:
        check_output_path(args.draw, FIGURE_SUFFIXES, "--draw")
    if args.plan_out is not None:
        check_output_path(args.plan_out, (".json",), "--plan-out")
    graph, label = load_graph_argument(args.graph)
    treatment, outcome, condition = _names(args.treatment), _names(args.outcome), _names(args.condition)
    if args.draw is not None:
        from lightning_causal.graph.drawing import draw_graph

        draw_graph(graph, args.draw, title=label, treatment=treatment, outcome=outcome, condition=condition)
    summary = (
        f"{label}: {_count(len(graph), 'node')}, {_count(len(graph.directed), 'directed edge')}, "
        f"{_count(len(graph.bidirected), 'latent confounder')}"
    )
    try:
        estimand = identify(graph, treatment, outcome, condition)
    except NotIdentifiableError as err:
        if args.json:
            print(
                json.dumps(
                    {
                        "graph": label,
                        "query": err.query,
                        "identifiable": False,
                        "line": err.line,
                        "hedge": {"F": err.F.__dict__, "F_prime": err.F_prime.__dict__, "roots": err.hedge.roots},
                        "message": str(err),
                    },
                    indent=2,
                    default=list,
                )
            )
        else:
            print(f"Graph:   {summary}")
            print(f"Query:   {err.query}")
            print("Verdict: NOT identifiable")
            print(f"  {err}")
            print(f"  Hedge F  = {err.F}")
            print(f"  Hedge F' = {err.F_prime}")
        if args.draw is not None and not args.json:
            print(f"Graph drawn to {args.draw}")
        return 1
    adjustment = _adjustment(graph, treatment, outcome) if treatment and not condition else None
    plan = compile_estimand(estimand, marginals=args.marginals)
    if args.plan_out is not None:
        plan.save(args.plan_out)
    if args.json:
        print(
            json.dumps(
                {
                    "graph": label,
                    **estimand.to_dict(),
                    "identifiable": True,
                    "trace": estimand.explain().splitlines(),
                    "adjustment": adjustment,
                    "plan": plan.to_dict(),
                },
                indent=2,
            )
        )
        return 0
    print(f"Graph:   {summary}")
    print(f"Query:   {estimand.query}")
    print("Verdict: identifiable")
    print()
    print("Estimand:")
    print(f"  {estimand}")
    if args.latex:
        print(f"  LaTeX: {estimand.to_latex()}")
    if adjustment is not None:
        if "set" in adjustment:
            chosen = ", ".join(adjustment["set"]) or "none needed"
            print(f"  Covariate adjustment: {{{chosen}}} (sum over them of P(y | x, covariates) P(covariates))")
        else:
            print(f"  Covariate adjustment: none adjusts; {adjustment['message'].split(': ', 1)[-1]}")
    print()
    print("How ID derived it:")
    for row in estimand.explain().splitlines():
        print(f"  {row}")
    print()
    print(plan)
    if args.plan_out is not None:
        print(f"\nPlan written to {args.plan_out}")
    if args.draw is not None:
        print(f"Graph drawn to {args.draw}")
    return 0
