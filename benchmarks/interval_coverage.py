"""How often the bootstrap intervals of ID-GEN answers cover the exact value, and how wide they are.

    python benchmarks/interval_coverage.py                 # 200 data sets per graph, 100 members each
    python benchmarks/interval_coverage.py --quick         # 40 data sets per graph, 40 members
    python benchmarks/interval_coverage.py --out benchmarks/results/interval_coverage.json

Protocol, per named graph with latent confounders (back-door, front-door, napkin, Verma, and the
conditional query P(Y | do(X), Z)) and data set ``s``:

* a random discrete SCM on the graph (``DiscreteSCM.random(graph, seed=s)``: explicit latents,
  2-3 values per variable, Dirichlet(1) tables) and ``--rows`` observational rows drawn from it;
* ``plan.fit_ensemble(rows, members=--members, learner="categorical")``: the plan fitted on the rows
  (tables from counts) and on bootstrap resamples of them;
* for every value x of X (and z of Z) and every class y of Y: the 90% (``--level``) interval of
  P(Y = y | do(x)[, z]); covered when it holds the exact value of the SCM (brute force over the
  mutilated model). Queries whose condition has P(z | do(x)) < 1% are skipped.

Reported per graph: coverage (the share of intervals that hold the truth; nominal: the level), the
mean width, and the mean absolute error of the point estimate. The categorical learner answers
exactly from its tables, so these figures are about the bootstrap itself, not about a trained
model's error (for ID-GEN with diffusion, the interval adds nothing for the model's bias).

``--learner trained --steps N`` fits every member with trained Gumbel-max classifiers instead
(``DiffusionLearner``: N optimizer steps per stage, no stopping rule; answers from ``--draws``
samples per network): coverage then also meets the training's own error, for a few data sets::

    python benchmarks/interval_coverage.py --graphs frontdoor --learner trained --steps 800 --datasets 8 --members 10

``--scms NAME ...`` measures the interval of E[y | do(x)] on the built-in structural models with latent
confounders and continuous outcomes instead (``lightning_causal/scm/latent.py``): per data set ``s``,
``--rows`` rows of the model drawn with seed ``s``, the plan fitted with conditional diffusion models
(``DiffusionLearner``, ``--steps`` a stage, hidden ``--hidden``) on them and on ``--members`` bootstrap
resamples, and at each of the model's evaluation values of x (its 20/50/80% quantiles) the interval of
the mean of y checked against the exact mean (the mean of 200,000 exact interventional samples, whose
own error is below 0.003 here)::

    python benchmarks/interval_coverage.py --scms frontdoor verma --datasets 10 --members 10 --rows 2000 --steps 600
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from lightning_causal import compile_plan
from lightning_causal.graph.named import NAMED_GRAPHS
from lightning_causal.scm import DiscreteSCM
from lightning_causal.scm.latent import LATENT_SCMS

QUERIES = {  # graph: (treatment, outcome, condition)
    "backdoor": ("X", "Y", ()),
    "frontdoor": ("X", "Y", ()),
    "napkin": ("X", "Y", ()),
    "verma": ("V3", "V4", ()),
    "conditional": ("X", "Y", ("Z",)),
}


def _learner(kind: str, steps: int) -> Any:
    if kind == "categorical":
        return "categorical"
    from lightning_causal.models.idgen import DiffusionLearner

    return DiffusionLearner(max_steps=steps, patience=None, mechanisms={"hidden": 64, "depth": 2})


def run_graph(
    name: str,
    datasets: int,
    rows: int,
    members: int,
    level: float,
    learner: str = "categorical",
    steps: int = 800,
    draws: int = 4000,
) -> dict[str, Any]:
    treatment, outcome, condition = QUERIES[name]
    graph = NAMED_GRAPHS[name].graph
    plan = compile_plan(graph, treatment, outcome, condition)
    covered, widths, errors = [], [], []
    for s in range(datasets):
        scm = DiscreteSCM.random(graph, seed=s)
        data = scm.sample(rows, seed=10_000 + s)
        ensemble = plan.fit_ensemble(
            data, members=members, seed=s, cardinalities=scm.cardinalities, learner=_learner(learner, steps)
        )
        cards = scm.cardinalities
        for x in range(cards[treatment]):
            for zs in itertools.product(*(range(cards[c]) for c in condition)):
                given = dict(zip(condition, zs, strict=True))
                if given:
                    joint = scm.interventional([*condition], {treatment: x})
                    if joint.prob(given) < 0.01:
                        continue
                truth = scm.interventional([outcome], {treatment: x}, given=given or None).aligned([outcome])
                intervals = ensemble.interval({treatment: x}, given or None, level=level, n=draws, seed=s)
                for y in range(cards[outcome]):
                    interval = intervals[f"P({outcome}={y})"]
                    covered.append(interval.covers(float(truth[y])))
                    widths.append(interval.width)
                    errors.append(abs(interval.estimate - float(truth[y])))
    return {
        "graph": name,
        "query": plan.query,
        "datasets": datasets,
        "intervals": len(covered),
        "coverage": float(np.mean(covered)),
        "mean_width": float(np.mean(widths)),
        "mean_abs_error": float(np.mean(errors)),
    }


def run_scm(
    name: str, datasets: int, rows: int, members: int, level: float, steps: int, draws: int, hidden: int
) -> dict[str, Any]:
    """Coverage of the interval of E[y | do(x)] on the built-in continuous structural model ``name``."""
    from lightning_causal.datamodules import LatentSCMDataModule
    from lightning_causal.models.idgen import DiffusionLearner
    from lightning_causal.quiet import quiet

    covered, widths, errors = [], [], []
    query = ""
    for s in range(datasets):
        dm = LatentSCMDataModule(name, n_train=rows, n_val=0, seed=s)
        scm = dm.scm
        if scm.condition:
            raise SystemExit(f"--scms {name}: a conditional query; this mode measures E[y | do(x)] only")
        plan = compile_plan(dm.graph, scm.treatment, scm.outcome)
        query = plan.query
        learner = DiffusionLearner(
            max_steps=steps, patience=None, mechanisms={"hidden": hidden, "depth": 2}, progress=False
        )
        with quiet():
            ensemble = plan.fit_ensemble(dm, members=members, seed=s, learner=learner)
        (outcome,) = scm.outcome
        for k, x in enumerate(scm.treatment_values()):
            truth = float(dm.interventional_samples(200_000, x, seed=50_000 + 100 * s + k)[outcome].double().mean())
            interval = ensemble.interval(x, level=level, n=draws, seed=s)[outcome]
            covered.append(interval.covers(truth))
            widths.append(interval.width)
            errors.append(abs(interval.estimate - truth))
        print(f"  {name} data set {s}: covered {sum(covered)} of {len(covered)} so far", file=sys.stderr, flush=True)
    return {
        "graph": name,
        "query": query,
        "datasets": datasets,
        "intervals": len(covered),
        "coverage": float(np.mean(covered)),
        "mean_width": float(np.mean(widths)),
        "mean_abs_error": float(np.mean(errors)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--graphs", nargs="+", default=list(QUERIES), choices=list(QUERIES))
    parser.add_argument("--datasets", type=int, default=200, help="random SCMs and data sets per graph")
    parser.add_argument("--rows", type=int, default=2000, help="observational rows per data set")
    parser.add_argument("--members", type=int, default=100, help="bootstrap members per ensemble")
    parser.add_argument("--level", type=float, default=0.9)
    parser.add_argument("--quick", action="store_true", help="40 data sets, 40 members")
    parser.add_argument(
        "--learner",
        choices=("categorical", "trained"),
        default="categorical",
        help="exact tables from counts (default), or trained Gumbel-max classifiers (DiffusionLearner)",
    )
    parser.add_argument("--steps", type=int, default=800, help="with --learner trained: steps per stage")
    parser.add_argument("--draws", type=int, default=4000, help="with --learner trained: samples per answer")
    parser.add_argument(
        "--scms",
        nargs="+",
        default=None,
        choices=[n for n in LATENT_SCMS if n not in ("conditional", "napkin_conditional")],
        help="built-in continuous structural models (frontdoor, verma, ...): the interval of E[y | do(x)] "
        "with diffusion members instead of the random discrete SCMs",
    )
    parser.add_argument("--hidden", type=int, default=64, help="with --scms: hidden width of every network")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.datasets, args.members = 40, 40
    table = []
    for name in args.scms or args.graphs:
        start = time.perf_counter()
        if args.scms:
            row = run_scm(name, args.datasets, args.rows, args.members, args.level, args.steps, args.draws, args.hidden)
        else:
            row = run_graph(
                name, args.datasets, args.rows, args.members, args.level, args.learner, args.steps, args.draws
            )
        row["seconds"] = time.perf_counter() - start
        table.append(row)
        print(f"{name}: {row['seconds']:.0f} s", file=sys.stderr, flush=True)
    quantity, learner = ("E[y | do(x)]", "diffusion") if args.scms else ("P(y | do(x)[, z])", args.learner)
    print(
        f"\n{args.level:.0%} bootstrap intervals of {quantity}, {args.rows} rows, {args.members} members, "
        f"{args.datasets} data sets per graph, learner {learner}\n"
    )
    print("| graph | query | intervals | coverage | mean width | mean abs. error of the estimate |")
    print("|---|---|---|---|---|---|")
    for row in table:
        query = row["query"].replace("|", "\\|")
        print(
            f"| {row['graph']} | {query} | {row['intervals']} | {row['coverage']:.3f} | {row['mean_width']:.4f} | "
            f"{row['mean_abs_error']:.4f} |"
        )
    if args.out:
        machine = {"python": platform.python_version(), "cpu": platform.processor()}
        args.out.write_text(
            json.dumps({"args": vars(args) | {"out": str(args.out)}, "machine": machine, "table": table}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
