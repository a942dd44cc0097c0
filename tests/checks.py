"""Independent checks used by several test modules (written against networkx, not the library's kernel)."""

from __future__ import annotations

import itertools
import random
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import networkx as nx
import numpy as np

from lightning_causal import CausalGraph, Hedge, NotIdentifiableError, compile_plan
from lightning_causal.scm import DiscreteSCM, Latent
from lightning_causal.scm.random_graphs import random_admg


def an_do(graph: CausalGraph, treatment: Sequence[str], outcome: Sequence[str]) -> set[str]:
    """An(outcome) in G_{bar treatment}, computed with networkx."""
    dag = nx.DiGraph()
    dag.add_nodes_from(graph.nodes)
    dag.add_edges_from((u, v) for u, v in graph.directed if v not in treatment)
    out = set(outcome)
    for y in outcome:
        out |= nx.ancestors(dag, y)
    return out


def assert_c_forest(
    graph: CausalGraph, nodes: set[str], directed: set[tuple[str, str]], bidirected: set[frozenset[str]]
) -> set[str]:
    """Assert a c-forest (one c-component, at most one child per node); return its root set."""
    graph_directed = set(graph.directed)
    graph_bidirected = {frozenset(e) for e in graph.bidirected}
    assert directed <= graph_directed, f"forest edges {directed - graph_directed} are not in the graph"
    assert bidirected <= graph_bidirected, f"forest confounders {bidirected - graph_bidirected} are not in the graph"
    for u, v in directed:
        assert u in nodes and v in nodes
    for e in bidirected:
        assert e <= nodes
    children = {n: 0 for n in nodes}
    for u, _ in directed:
        children[u] += 1
    assert max(children.values()) <= 1, "a c-forest node has at most one child"
    conf = nx.Graph()
    conf.add_nodes_from(nodes)
    conf.add_edges_from(tuple(e) for e in bidirected)
    assert nx.is_connected(conf), "a c-forest is a single c-component"
    return {n for n, k in children.items() if k == 0}


def assert_hedge(graph: CausalGraph, hedge: Hedge, treatment: Sequence[str], outcome: Sequence[str]) -> None:
    """Shpitser & Pearl (2006), Definition 4.

    F' subset F, both R-rooted c-forests, F meets X, F' does not, R in An(Y) in G_{bar X}.
    """
    f_nodes, fp_nodes = set(hedge.F.nodes), set(hedge.F_prime.nodes)
    f_dir, fp_dir = set(hedge.F.directed), set(hedge.F_prime.directed)
    f_bi = {frozenset(e) for e in hedge.F.bidirected}
    fp_bi = {frozenset(e) for e in hedge.F_prime.bidirected}
    assert fp_nodes < f_nodes or (fp_nodes <= f_nodes and (fp_dir < f_dir or fp_bi < f_bi))
    assert fp_dir <= f_dir and fp_bi <= f_bi, "F' must be an edge subgraph of F"
    roots = assert_c_forest(graph, f_nodes, f_dir, f_bi)
    roots_prime = assert_c_forest(graph, fp_nodes, fp_dir, fp_bi)
    assert roots and roots == roots_prime, f"F and F' must share their root set: {roots} vs {roots_prime}"
    assert f_nodes & set(treatment), "F must contain a treatment variable"
    assert not fp_nodes & set(treatment), "F' must not contain a treatment variable"
    assert roots <= an_do(graph, treatment, outcome), "R must be ancestors of Y in G_bar X"


def random_query_cases(
    count: int, seed: int, sizes: tuple[int, int] = (3, 8), conditional_share: float = 0.35
) -> Iterator[tuple[CausalGraph, list[str], list[str], list[str], int]]:
    """Random (graph, treatment, outcome, condition, scm seed) with 3-8 nodes, some conditional."""
    rng = random.Random(seed)
    for k in range(count):
        n = rng.randint(*sizes)
        while True:  # at most 10 latent confounders keeps brute-force enumeration fast
            graph = random_admg(n, rng, p_directed=rng.uniform(0.2, 0.6), p_bidirected=rng.uniform(0.05, 0.5))
            if len(graph.bidirected) <= 10:
                break
        names = list(graph.nodes)
        treatment = rng.sample(names, rng.randint(1, min(2, n - 1)))
        rest = [v for v in names if v not in treatment]
        outcome = rng.sample(rest, rng.randint(1, min(2, len(rest))))
        rest = [v for v in rest if v not in outcome]
        condition: list[str] = []
        if rest and rng.random() < conditional_share:
            condition = rng.sample(rest, rng.randint(1, min(2, len(rest))))
        yield graph, treatment, outcome, condition, seed * 100_000 + k


def assignments(cards: dict[str, int], names: Sequence[str]) -> Iterator[dict[str, int]]:
    for values in itertools.product(*(range(cards[n]) for n in names)):
        yield dict(zip(names, values, strict=True))


def _noisy(values: np.ndarray, flip: float) -> np.ndarray:
    """Binary table: the given bit with probability 1 - flip (last axis = the variable)."""
    out = np.stack([1.0 - values, values], axis=-1).astype(float)
    return out * (1 - flip) + out[..., ::-1] * flip


def strong_napkin_scm() -> DiscreteSCM:
    """The napkin with strong confounding: W1 = U0 xor U1, W2 ~ W1, X ~ W2 xor U0, Y ~ X xor U1."""
    graph = CausalGraph(directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")], bidirected=[("W1", "X"), ("W1", "Y")])
    half = np.array([0.5, 0.5])
    u0 = Latent("U0", ("W1", "X"), half)
    u1 = Latent("U1", ("W1", "Y"), half)
    bit = np.arange(2)
    tables = {
        "W1": _noisy(bit[:, None] ^ bit[None, :], 0.05),  # axes U0, U1, W1
        "W2": _noisy(bit, 0.1),  # axes W1, W2
        "X": _noisy(bit[:, None] ^ bit[None, :], 0.05),  # axes W2, U0, X
        "Y": _noisy(bit[:, None] ^ bit[None, :], 0.1),  # axes X, U1, Y
    }
    return DiscreteSCM(graph, {v: 2 for v in graph.nodes}, [u0, u1], tables)


# ID traces with two nested line-7 updates (the hardest case for ID-GEN's dataset updates)
NESTED_LINE_7 = [
    (
        CausalGraph(
            directed=[("V0", "V2"), ("V1", "V2"), ("V1", "V3"), ("V1", "V4"), ("V2", "V3"), ("V3", "V4"), ("V3", "V5")],
            bidirected=[("V0", "V3"), ("V0", "V4"), ("V0", "V5"), ("V1", "V5"), ("V3", "V4")],
        ),
        ["V3"],
        ["V5"],
    ),
    (
        CausalGraph(
            directed=[
                ("V0", "V2"),
                ("V1", "V2"),
                ("V1", "V3"),
                ("V2", "V3"),
                ("V2", "V4"),
                ("V3", "V4"),
            ],
            bidirected=[("V0", "V1"), ("V0", "V3"), ("V1", "V4")],
        ),
        ["V1", "V0"],
        ["V2", "V3", "V4"],
    ),
]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``lightning-causal ARGS`` in a subprocess, as a user runs it."""
    exe = shutil.which("lightning-causal")
    cmd = [exe, *args] if exe else [sys.executable, "-m", "lightning_causal.launch.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=300)


def plan_or_none(graph: CausalGraph, treatment: Sequence[str], outcome: Sequence[str], condition: Sequence[str]):  # type: ignore[no-untyped-def]
    """The query's plan, or None when it is not identifiable."""
    try:
        return compile_plan(graph, treatment, outcome, condition)
    except NotIdentifiableError:
        return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a DDP rendezvous)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


REPO = Path(__file__).resolve().parents[1]
TABLE_FIT = (  # ID-GEN's tabular config on the confounded table: P(Y | do(X), Z)
    "fit",
    "--config",
    str(REPO / "configs/idgen/tabular.yaml"),
    "--data.data",
    str(REPO / "configs/tabular/confounded.csv"),
    "--data.graph",
    str(REPO / "configs/tabular/confounded.yaml"),
)
