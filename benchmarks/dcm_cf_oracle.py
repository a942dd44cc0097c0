"""The lowest counterfactual MSE any point answer can reach on the DCM suite: the posterior mean.

    python benchmarks/dcm_cf_oracle.py [--seeds 0 1 2]

A counterfactual needs each descendant's noise, but only its value is observed. Where a
mechanism is not invertible in its noise (``1/((u + x1)^2 + 0.5)`` in chain NA: two noises give
the same value) the factual row leaves several noises possible, and no method can tell them
apart. With the true equations in hand, this script finds every noise value that reproduces each
factual node value (roots of ``f_v(parents, u) = x_v`` on a fine grid, weighted by the standard
normal density over ``|df/du|``), and answers with the posterior mean of the counterfactual over
all combinations: the answer with the lowest expected squared error. Same protocol as
``dcm_suite_bench.py`` (intervened nodes, 20 values between the 10th and 90th percentile, 100 factual
rows each, MSE over all descendants), for the four small SCMs (scalar noises).
"""

from __future__ import annotations

import argparse
import itertools
import math

import numpy as np
import torch
from torch import Tensor

from lightning_causal.scm import intervened_nodes, intervention_values, make_scm
from lightning_causal.scm.dcm_suite import ContinuousSCM


def noise_posterior(scm: ContinuousSCM, v: str, values: dict[str, Tensor], grid: Tensor) -> list[tuple[Tensor, Tensor]]:
    """Per row: the noises ``u`` with ``f_v(parents, u) = x_v`` and their posterior weights."""
    n, g = len(values[v]), len(grid)
    parents = {q: values[q].double().repeat_interleave(g, dim=0) for q in scm.graph.parents(v)}
    f = scm.mechanism(v)(parents, grid.repeat(n).unsqueeze(1)).view(n, g) - values[v].double().view(n, 1)
    du = grid[1] - grid[0]
    out = []
    for row in f:
        k = torch.nonzero(row[:-1] * row[1:] < 0).flatten()
        if len(k) == 0:  # the value sits on a grid point, or at a kink: take the closest one
            k = row.abs().argmin().view(1).clamp(max=g - 2)
        slope = (row[k + 1] - row[k]) / du
        root = grid[k] - row[k] / torch.where(slope == 0, torch.ones_like(slope), slope)
        weight = torch.exp(-0.5 * root**2) / slope.abs().clamp(min=1e-12)
        out.append((root, weight / weight.sum()))
    return out


def oracle_mse(scm: ContinuousSCM, seed: int, rows: int = 100, count: int = 20) -> float:
    graph = scm.graph
    grid = torch.linspace(-8.0, 8.0, 16_001, dtype=torch.float64)
    gen = torch.Generator().manual_seed(20_000 + seed)
    errors = []
    intervened = intervened_nodes(scm)
    for node in intervened:
        desc = graph.proper_descendants(node)
        for value in intervention_values(scm, node, count=count, seed=seed):
            factual, noise = scm.sample(rows, gen)
            truth = scm.counterfactual(noise, {node: value})
            posts = {v: noise_posterior(scm, v, factual, grid) for v in desc}
            for i in range(rows):
                combos = list(itertools.product(*[range(len(posts[v][i][0])) for v in desc]))
                c = len(combos)
                trial = {v: noise[v][i : i + 1].double().expand(c, -1).clone() for v in graph.nodes}
                weight = torch.ones(c, dtype=torch.float64)
                for j, v in enumerate(desc):
                    roots, w = posts[v][i]
                    pick = torch.tensor([combo[j] for combo in combos])
                    trial[v] = roots[pick].unsqueeze(1)
                    weight = weight * w[pick]
                cf = scm.forward(trial, {node: value.double()})
                answer = torch.cat([(weight.unsqueeze(1) * cf[v]).sum(0) for v in desc]) / weight.sum()
                target = torch.cat([truth[v][i].double() for v in desc])
                errors.append(float(((answer - target) ** 2).mean()))
    return float(np.mean(errors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scms", nargs="+", default=["chain", "triangle", "diamond", "y"])
    parser.add_argument("--variants", nargs="+", default=["NL", "NA"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(2)
    print("| SCM | posterior-mean CF MSE (lowest reachable) |\n|---|---|")
    for name in args.scms:
        for variant in args.variants:
            scm = make_scm(name, variant)
            vals = [oracle_mse(scm, s) for s in args.seeds]
            se = np.std(vals, ddof=1) / math.sqrt(len(vals)) if len(vals) > 1 else 0.0
            print(f"| {name} {variant} | {np.mean(vals):.3f} ± {se:.3f} |", flush=True)


if __name__ == "__main__":
    main()
