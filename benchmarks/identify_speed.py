"""Identification speed and correctness against y0 0.2.11 on the same queries.

    pip install y0==0.2.11      # the reference; only this benchmark needs it
    python benchmarks/identify_speed.py [--quick] [--out results.json]

Three groups of queries:

1. the named graphs (back-door, front-door, IV, bow, napkin, Verma, ...), ID and IDC;
2. 200 random small graphs (4-8 nodes, a third of them conditional queries): both answers are
   evaluated on the exact observational joint of a random discrete SCM with explicit latents and
   compared with the brute-force truth, so wrong estimands and crashes are counted, not guessed;
3. random sparse graphs of 10 to 500 nodes (local structure: each pair at most 20 apart gets a
   directed edge with probability 2 / 20 and a bidirected one with 1 / 20; about 2 parents and 2
   bidirected edges per node): speed and verdict agreement.

Each query is timed as the best of ``--repeat`` runs. Ours is timed from a freshly built
CausalGraph whose bitset kernel is not cached yet, so kernel construction is inside the timing; y0
gets its NxMixedGraph prebuilt. The speed ratio of a group is y0's total time over ours, over the
queries both answered.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from lightning_causal import CausalGraph, NotIdentifiableError, identify
from lightning_causal.graph.named import NAMED_GRAPHS
from lightning_causal.identification import expressions as ours_expr
from lightning_causal.identification.evaluate import ExpressionEvaluator
from lightning_causal.scm import DiscreteSCM
from lightning_causal.scm.random_graphs import random_admg

try:
    import y0.dsl as y0_dsl
    from y0.algorithm.identify import Identification, Query, Unidentifiable
    from y0.algorithm.identify import identify as y0_identify
    from y0.algorithm.identify.id_c import idc as y0_idc
    from y0.graph import NxMixedGraph
except ImportError:  # pragma: no cover - the benchmark's own dependency
    sys.exit("this benchmark compares against y0: pip install y0==0.2.11")


# ---------------------------------------------------------------------------- the two engines
def to_y0(graph: CausalGraph) -> NxMixedGraph:
    v = {n: y0_dsl.Variable(n) for n in graph.nodes}
    return NxMixedGraph.from_edges(
        nodes=list(v.values()),
        directed=[(v[a], v[b]) for a, b in graph.directed],
        undirected=[(v[a], v[b]) for a, b in graph.bidirected],
    )


def run_y0(graph: NxMixedGraph, treatment: list[str], outcome: list[str], condition: list[str]) -> Any:
    query = Query(
        treatments={y0_dsl.Variable(t) for t in treatment},
        outcomes={y0_dsl.Variable(o) for o in outcome},
        conditions={y0_dsl.Variable(c) for c in condition} if condition else None,
    )
    ident = Identification(graph=graph, query=query)
    return y0_idc(ident) if condition else y0_identify(ident)


def y0_verdict(graph: NxMixedGraph, t: list[str], o: list[str], c: list[str]) -> tuple[str, Any, float]:
    start = time.perf_counter()
    try:
        result = run_y0(graph, t, o, c)
        verdict = "identifiable"
    except Unidentifiable:
        result, verdict = None, "not identifiable"
    except Exception as err:  # y0 crashes on some conditional queries
        result, verdict = err, f"crash: {type(err).__name__}"
    return verdict, result, time.perf_counter() - start


def ours_verdict(graph: CausalGraph, t: list[str], o: list[str], c: list[str]) -> tuple[str, Any, float]:
    fresh = CausalGraph(graph.directed, graph.bidirected, graph.nodes)  # kernel not built yet
    start = time.perf_counter()
    try:
        result = identify(fresh, t, o, c)
        verdict = "identifiable"
    except NotIdentifiableError:
        result, verdict = None, "not identifiable"
    return verdict, result, time.perf_counter() - start


def best_of(fn, repeat: int, *args):  # type: ignore[no-untyped-def]
    runs = [fn(*args) for _ in range(repeat)]
    return runs[0][0], runs[0][1], min(r[2] for r in runs)


# ---------------------------------------------------------------------------- checking y0's answers
def y0_to_ours(expr: Any) -> ours_expr.Expression:
    """Translate a y0 expression into ours, to evaluate it with the same exact evaluator."""
    if isinstance(expr, y0_dsl.Probability):
        head = tuple(v.name for v in expr.distribution.children)
        given = tuple(v.name for v in expr.distribution.parents)
        return ours_expr.Probability(head, given)
    if isinstance(expr, y0_dsl.Sum):
        return ours_expr.Sum(y0_to_ours(expr.expression), tuple(sorted(v.name for v in expr.ranges)))
    if isinstance(expr, y0_dsl.Product):
        return ours_expr.Product([y0_to_ours(e) for e in expr.expressions])
    if isinstance(expr, y0_dsl.Fraction):
        return ours_expr.Fraction(y0_to_ours(expr.numerator), y0_to_ours(expr.denominator))
    if isinstance(expr, y0_dsl.One):
        return ours_expr.ONE
    raise TypeError(f"cannot translate y0 {type(expr).__name__}")


def evaluate(
    expr: ours_expr.Expression, scm: DiscreteSCM, x: dict[str, int], z: dict[str, int], outcome: list[str]
) -> np.ndarray:
    """Evaluate at (x, z), averaging over any other free variable with its observational marginal."""
    joint = scm.observational()
    axes, table = ExpressionEvaluator(joint).evaluate(expr, {**x, **z})
    extra = [a for a in axes if a not in outcome]
    table = np.transpose(table, [axes.index(v) for v in [*outcome, *extra]])
    if extra:
        weights = joint.marginal(extra).probs
        table = (np.nan_to_num(table) * weights).sum(axis=tuple(range(len(outcome), table.ndim)))
    return table / table.sum()


def correct(
    expr: ours_expr.Expression, graph: CausalGraph, t: list[str], o: list[str], c: list[str], seed: int
) -> bool:
    for k in range(2):
        scm = DiscreteSCM.random(graph, seed=seed + k)
        x = {v: 1 for v in t}
        z = {v: 0 for v in c}
        truth = scm.interventional(o, x, given=z or None).probs
        try:
            got = evaluate(expr, scm, x, z, o)
        except Exception:
            return False
        if got.shape != truth.shape or not np.allclose(got, truth, atol=1e-8):
            return False
    return True


# ---------------------------------------------------------------------------- query sets
def named_queries() -> list[tuple[str, CausalGraph, list[str], list[str], list[str]]]:
    out = []
    for name, spec in NAMED_GRAPHS.items():
        out.append((name, spec.graph, list(spec.treatment), list(spec.outcome), list(spec.condition)))
    napkin = NAMED_GRAPHS["napkin"].graph
    out.append(("napkin do(W1)", napkin, ["W1"], ["Y"], []))
    out.append(("napkin | W2", napkin, ["X"], ["Y"], ["W2"]))
    return out


def small_random_queries(count: int, seed: int) -> list[tuple[str, CausalGraph, list[str], list[str], list[str]]]:
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        n = rng.randint(4, 8)
        graph = random_admg(n, rng, p_directed=rng.uniform(0.2, 0.6), p_bidirected=rng.uniform(0.05, 0.4))
        if len(graph.bidirected) > 9:
            continue
        names = list(graph.nodes)
        t = rng.sample(names, rng.randint(1, 2))
        rest = [v for v in names if v not in t]
        o = rng.sample(rest, rng.randint(1, min(2, len(rest))))
        rest = [v for v in rest if v not in o]
        c = rng.sample(rest, 1) if rest and len(out) % 3 == 0 else []
        out.append((f"random{n}", graph, t, o, c))
    return out


def large_random_queries(
    n: int, count: int, seed: int
) -> list[tuple[str, CausalGraph, list[str], list[str], list[str]]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        span = min(20, n - 1)  # the density of BENCHMARKS.md's figures: 2 / span directed, 1 / span bidirected
        graph = random_admg(n, rng, p_directed=min(1.0, 2 / span), p_bidirected=min(1.0, 1 / span), window=20)
        names = list(graph.nodes)
        t = rng.sample(names[: n // 2], rng.randint(1, 2))
        o = rng.sample(names[n // 2 :], rng.randint(1, 2))
        out.append((f"random{n}", graph, t, o, []))
    return out


# ---------------------------------------------------------------------------- the run
def run_group(
    label: str, queries: list[tuple[str, CausalGraph, list[str], list[str], list[str]]], repeat: int, check: bool
) -> dict[str, Any]:
    ours_total = y0_total = 0.0
    ratios = []
    stats = {
        "queries": len(queries),
        "identifiable": 0,
        "y0_crashes": 0,
        "verdicts_differ": 0,
        "y0_wrong": 0,
        "ours_wrong": 0,
    }
    examples: list[str] = []
    for k, (name, graph, t, o, c) in enumerate(queries):
        yg = to_y0(graph)
        ov, ores, otime = best_of(ours_verdict, repeat, graph, t, o, c)
        yv, yres, ytime = best_of(y0_verdict, repeat, yg, t, o, c)
        stats["identifiable"] += ov == "identifiable"
        if yv.startswith("crash"):
            stats["y0_crashes"] += 1
            examples.append(f"y0 crashes ({yv[7:]}) on {name}: {graph!r} query t={t} o={o} c={c}")
            continue
        ours_total += otime
        y0_total += ytime
        ratios.append(ytime / otime)
        if ov != yv:
            stats["verdicts_differ"] += 1
            examples.append(f"verdicts differ on {name}: ours {ov}, y0 {yv}")
        if check and ov == "identifiable":
            if not correct(ores.expression, graph, t, o, c, seed=k):
                stats["ours_wrong"] += 1
                examples.append(f"OURS WRONG on {name}: {graph!r} t={t} o={o} c={c}")
            if yv == "identifiable" and not correct(y0_to_ours(yres), graph, t, o, c, seed=k):
                stats["y0_wrong"] += 1
                examples.append(f"y0 wrong on {name}: t={t} o={o} c={c}: y0 says {yres}, truth is {ores}")
    row = {
        "group": label,
        **stats,
        "ours_ms": round(1e3 * ours_total, 3),
        "y0_ms": round(1e3 * y0_total, 3),
        "speedup_total": round(y0_total / ours_total, 1) if ours_total else None,
        "speedup_min": round(min(ratios), 1) if ratios else None,
        "speedup_median": round(float(np.median(ratios)), 1) if ratios else None,
        "examples": examples[:6],
    }
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer queries (a smoke run)")
    parser.add_argument("--repeat", type=int, default=5, help="time each query as the best of this many runs")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON")
    args = parser.parse_args()
    small = 40 if args.quick else 200
    per_size = 4 if args.quick else 20
    sizes = (10, 50, 200) if args.quick else (10, 20, 50, 100, 200, 500)

    groups = [run_group("named graphs", named_queries(), args.repeat, check=True)]
    groups.append(run_group("random 4-8 nodes", small_random_queries(small, seed=1), args.repeat, check=True))
    for n in sizes:
        groups.append(
            run_group(
                f"random {n} nodes", large_random_queries(n, per_size, seed=n), max(1, args.repeat // 2), check=False
            )
        )

    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    header = (
        f"{'group':<18} {'queries':>7} {'ident.':>6} {'ours ms':>9} {'y0 ms':>10} {'total x':>8} {'min x':>6} "
        f"{'median x':>8} {'y0 crash':>8} {'y0 wrong':>8} {'ours wrong':>10}"
    )
    print(header)
    for g in groups:
        print(
            f"{g['group']:<18} {g['queries']:>7} {g['identifiable']:>6} {g['ours_ms']:>9.2f} {g['y0_ms']:>10.2f} "
            f"{g['speedup_total']!s:>8} {g['speedup_min']!s:>6} {g['speedup_median']!s:>8} {g['y0_crashes']:>8} "
            f"{g['y0_wrong']:>8} {g['ours_wrong']:>10}"
        )
    for g in groups:
        for line in g["examples"]:
            print(f"  [{g['group']}] {line}")
    if args.out:
        args.out.write_text(json.dumps(groups, indent=2) + "\n")


if __name__ == "__main__":
    main()
