"""ID-GEN trained with generative models against exact truth, next to the naive and the confounder-blind answers.

    python benchmarks/idgen_suite.py                    # all built-in latent-confounder SCMs
    python benchmarks/idgen_suite.py --quick            # a few minutes
    python benchmarks/idgen_suite.py --scms frontdoor napkin --steps 4000 --out results.json
    python benchmarks/idgen_suite.py --scms conditional --conditioning learn --no-baselines  # IDC-GEN's learned stage
    python benchmarks/idgen_suite.py --scms frontdoor --no-baselines --generated 50000  # larger generated datasets
    python benchmarks/idgen_suite.py --scms verma --no-baselines --marginals learn  # ID-GEN's learned marginals

Protocol, per structural model (lightning_causal/scm/latent.py: latent confounders, nonlinear and
mixed continuous/categorical mechanisms, exact interventional and conditional samples) and seed:

* ``--rows`` observational training rows (and 500 validation rows) from the SCM;
* batches of ``--batch-size`` rows (default 1024, the library's default for tables; 256 before it);
* three answers to its textbook query P(y | do(x)) (P(y | do(x), z) for ``conditional``), trained
  with the same generator (conditional diffusion for continuous variables, Gumbel-max for discrete
  ones, the same network sizes) and the same budget of optimizer steps:
  - **ID-GEN**: the plan of the identified estimand, stage by stage (``--steps`` per stage); a
    conditional query meets its condition as ``--conditioning`` says (default ``auto``: by
    selection for a discrete z, no extra stage; ``learn``: IDC-GEN's learned stage of y given z),
    and draws a generated dataset's marginal as ``--marginals`` says (default ``compose``: with the
    factors that generate it; ``learn``: a factor trained on its rows);
  - **naive**: the conditional P(y | x) (P(y | x, z)) learned directly from the data, which is
    what ID-GEN answers when it is told there are no latent confounders;
  - **DCM, confounders ignored**: a DCM on the graph with its bidirected edges dropped (Chao et
    al. 2023), sampled under do(x) (for the conditional query its (y, z) samples are kept where
    z matches: exact rejection on a binary z);
* at every evaluation value (the 20/50/80% quantiles of a continuous treatment, the classes of a
  discrete one; both values of z for the conditional query): MMD between 2000 samples of the
  answer and 2000 exact samples (RBF kernel, median-heuristic bandwidth, biased V-statistic), next
  to the floor, the MMD between two independent exact samples of the same sizes; and the error of
  the mean of y.

Figures are averaged over evaluation values and seeds; ``--out`` writes every number as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path
from typing import Any

import torch

from lightning_causal import CausalGraph
from lightning_causal.callbacks import EMA
from lightning_causal.datamodules import LatentSCMDataModule
from lightning_causal.mechanisms import MechanismConfig
from lightning_causal.metrics.mmd import mmd
from lightning_causal.models import DCM, IDGEN, AdamW
from lightning_causal.models.idgen import fit_idgen, stage_trainer_factory
from lightning_causal.models.idgen.learner import TABLE_BATCH
from lightning_causal.models.idgen.run_folder import stage_steps
from lightning_causal.plan.parts import MARGINALS
from lightning_causal.quiet import quiet
from lightning_causal.scm.latent import LATENT_SCMS
from lightning_causal.variables.spec import variables_to_dict

warnings.filterwarnings("ignore")
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

SAMPLES = 2000
BATCH_SIZE = TABLE_BATCH  # the library's default for tables (results before it was: 256)


def _network(hidden: int) -> dict[str, Any]:
    return {"hidden": hidden, "depth": 2}


def _idgen(
    dm: LatentSCMDataModule,
    graph: CausalGraph,
    treatment: tuple[str, ...],
    condition: tuple[str, ...],
    hidden: int,
    seed: int,
    conditioning: str = "auto",
    generated: int | None = None,
    marginals: str = "compose",
) -> IDGEN:
    variables = variables_to_dict({v: s for v, s in dm.variables.items() if v in graph.nodes})
    return IDGEN(
        graph,
        variables=variables,
        treatment=treatment,
        outcome=dm.scm.outcome,
        condition=condition,
        conditioning=conditioning,
        marginals=marginals,
        generated_size=generated,
        mechanisms=_network(hidden),
        optimizer=partial(AdamW, lr=1e-3),
        seed=seed,
    )


def _naive_graph(dm: LatentSCMDataModule) -> tuple[CausalGraph, tuple[str, ...]]:
    """x (and z) as the only parents of y, no confounding: the plan of P(y | do(x, z)) is one model, P(y | x, z)."""
    scm = dm.scm
    (y,) = scm.outcome
    inputs = (*scm.treatment, *scm.condition)
    return CausalGraph(directed=[(v, y) for v in inputs]), inputs


def _train_idgen(model: IDGEN, dm: LatentSCMDataModule, steps: int, folder: str, patience: int | None = None) -> IDGEN:
    """``steps`` per stage; with ``patience``, at most ``steps`` (the stopping rule of DiffusionLearner's defaults)."""
    stop: dict[str, Any] = {"patience": patience, "min_steps": min(1000, steps), "val_every": 250} if patience else {}
    factory = stage_trainer_factory(steps, progress=False, accelerator="cpu", ema=0.999, **stop)
    return fit_idgen(model, dm, folder, factory, batch_size=dm.batch_size, progress=False)


def _train_dcm(dm: LatentSCMDataModule, steps: int, hidden: int, seed: int) -> DCM:
    from harness import quiet_trainer

    blind = CausalGraph(directed=dm.graph.directed, nodes=dm.graph.nodes)
    torch.manual_seed(seed)
    model = DCM(blind, dm.variables, MechanismConfig(hidden=hidden), optimizer=partial(AdamW, lr=1e-3), seed=seed)
    quiet_trainer(steps, [EMA(decay=0.999)]).fit(model, dm)
    return model


def _dcm_answer(model: DCM, x: dict[str, Any], given: dict[str, int], n: int, seed: int) -> torch.Tensor:
    y = "Y"  # every built-in calls its outcome Y
    if not given:
        return model.sample(n, x, seed=seed)[y]
    kept: list[torch.Tensor] = []
    count, round_ = 0, 0
    while count < n and round_ < 50:
        out = model.sample(4 * n, x, seed=seed + 1000 * round_)
        rows = torch.ones(len(out[y]), dtype=torch.bool)
        for z, value in given.items():
            rows &= out[z] == value
        kept.append(out[y][rows])
        count += int(rows.sum())
        round_ += 1
    return torch.cat(kept)[:n]


def _score(samples: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    a, b = samples.double().reshape(len(samples), -1), truth.double().reshape(len(truth), -1)
    return {"mmd": float(mmd(a, b)), "mean_error": abs(float(a.mean() - b.mean()))}


def _exact(dm: LatentSCMDataModule, x: dict[str, Any], given: dict[str, int], seed: int) -> torch.Tensor:
    """SAMPLES exact draws of Y under do(x) (given z for a conditional query)."""
    if given:
        return dm.conditional_samples(SAMPLES, x, given, seed=seed)["Y"]
    return dm.interventional_samples(SAMPLES, x, seed=seed)["Y"]


def _average(scores: list[dict[str, float]]) -> dict[str, float]:
    return {key: sum(score[key] for score in scores) / len(scores) for key in scores[0]}


def run_one(
    name: str,
    seed: int,
    rows: int,
    steps: int,
    hidden: int,
    conditioning: str = "auto",
    baselines: bool = True,
    patience: int | None = None,
    generated: int | None = None,
    marginals: str = "compose",
    batch_size: int = BATCH_SIZE,
    evals: int = 1,
) -> dict[str, Any]:
    dm = LatentSCMDataModule(name, n_train=rows, n_val=500, batch_size=batch_size, seed=seed)
    scm = dm.scm
    out: dict[str, Any] = {"scm": name, "seed": seed, "query": scm.query, "points": []}
    with tempfile.TemporaryDirectory() as folder, quiet():
        start = time.perf_counter()
        model = _idgen(dm, dm.graph, scm.treatment, scm.condition, hidden, seed, conditioning, generated, marginals)
        idgen = _train_idgen(model, dm, steps, f"{folder}/idgen", patience)
        out["idgen_seconds"] = time.perf_counter() - start
        out["conditioning"] = idgen.plan.conditioning
        out["marginals"], out["composed"] = idgen.plan.marginals, list(idgen.plan.composed)
        out["stage_steps"] = stage_steps(Path(folder) / "idgen")
        budget = sum(out["stage_steps"])  # the same number of optimizer steps for every answer
        if baselines:
            naive_graph, inputs = _naive_graph(dm)
            naive = _train_idgen(_idgen(dm, naive_graph, inputs, (), hidden, seed), dm, budget, f"{folder}/naive")
            dcm = _train_dcm(dm, budget, hidden, seed)
    out["stages"], out["steps_per_stage"], out["budget"] = idgen.stage_count, steps, budget
    for x in scm.treatment_values():
        for given in scm.given_values():
            # evaluation r compares fresh exact samples and fresh query draws (r = 0: the seeds used since the start)
            floors, scores, truths = [], [], []
            for r in range(evals):
                truth_a, truth_b = (_exact(dm, x, given, seed + k + 100 * r) for k in (11, 12))
                truths.append(truth_a)
                floors.append(_score(truth_b, truth_a))
                answer = idgen.sample(SAMPLES, x, given=given or None, seed=seed + 21 + 100 * r)["Y"]
                scores.append(_score(answer, truth_a))
            point: dict[str, Any] = {"x": x, "given": given, "floor": _average(floors), "idgen": _average(scores)}
            if baselines:  # scored against evaluation 0's exact samples
                truth_a = truths[0]
                naive_x = {**x, **given}  # the naive model reads z as an input (rule 2 made it one)
                point["naive"] = _score(naive.sample(SAMPLES, naive_x, seed=seed + 22)["Y"], truth_a)
                point["dcm_blind"] = _score(_dcm_answer(dcm, x, given, SAMPLES, seed + 23), truth_a)
            out["points"].append(point)
    return out


def summarise(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table = []
    for name in dict.fromkeys(r["scm"] for r in results):
        points = [p for r in results if r["scm"] == name for p in r["points"]]
        row: dict[str, Any] = {"scm": name, "query": next(r["query"] for r in results if r["scm"] == name)}
        for method in ("floor", "idgen", "naive", "dcm_blind"):
            if all(method in p for p in points):
                row[method] = sum(p[method]["mmd"] for p in points) / len(points)
                row[f"{method}_mean_error"] = sum(p[method]["mean_error"] for p in points) / len(points)
            else:  # baselines not run
                row[method] = row[f"{method}_mean_error"] = float("nan")
        row["worst_idgen"] = max(p["idgen"]["mmd"] for p in points)
        table.append(row)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scms", nargs="+", default=list(LATENT_SCMS), choices=LATENT_SCMS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--rows", type=int, default=10_000, help="training rows (default 10000)")
    parser.add_argument("--steps", type=int, default=3000, help="optimizer steps per ID-GEN stage (default 3000)")
    parser.add_argument("--hidden", type=int, default=128, help="hidden width of every network (default 128)")
    parser.add_argument(
        "--batch-size", type=int, default=BATCH_SIZE, help=f"rows per optimizer step (default {BATCH_SIZE})"
    )
    parser.add_argument("--quick", action="store_true", help="2000 rows, 800 steps per stage")
    parser.add_argument(
        "--conditioning",
        choices=("auto", "learn", "select"),
        default="auto",
        help="how ID-GEN meets a conditional query's condition (default auto: selection for a discrete z)",
    )
    parser.add_argument(
        "--marginals",
        choices=MARGINALS,
        default="compose",
        help="how ID-GEN draws a generated dataset's marginal given the columns it copies (default compose: with "
        "the factors that generate it; learn: a factor trained on its rows, ID-GEN as published)",
    )
    parser.add_argument("--no-baselines", action="store_true", help="train ID-GEN only (no naive answer, no DCM)")
    parser.add_argument(
        "--patience",
        type=int,
        default=None,
        help="stop a stage after this many validations (every 250 steps) without a new best, after 1000 steps and "
        "before --steps (DiffusionLearner's default rule: --patience 6 --steps 10000); default: exactly --steps",
    )
    parser.add_argument(
        "--generated", type=int, default=None, help="rows of every generated dataset (default: as many as --rows)"
    )
    parser.add_argument(
        "--evals",
        type=int,
        default=1,
        help="average every MMD (the floor's too) over this many pairs of fresh exact samples and query draws "
        "(default 1; one 2000-sample MMD moves by 3x between evaluation seeds)",
    )
    parser.add_argument("--out", type=Path, default=None, help="write every number as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.steps = 2000, 800
    torch.set_num_threads(max(1, torch.get_num_threads()))
    results = []
    for name in args.scms:
        for seed in args.seeds:
            start = time.perf_counter()
            result = run_one(
                name,
                seed,
                args.rows,
                args.steps,
                args.hidden,
                args.conditioning,
                not args.no_baselines,
                args.patience,
                args.generated,
                args.marginals,
                args.batch_size,
                args.evals,
            )
            print(f"  steps per stage: {result['stage_steps']}", file=sys.stderr, flush=True)
            result["seconds"] = time.perf_counter() - start
            results.append(result)
            print(f"{name} seed {seed}: {result['seconds']:.0f} s", file=sys.stderr, flush=True)
    table = summarise(results)
    print(
        f"\nMMD to exact samples, averaged over evaluation values ({args.rows} rows, {args.steps} steps per stage, "
        f"conditioning {args.conditioning}, marginals {args.marginals})\n"
    )
    print(
        "| SCM | query | floor | ID-GEN | naive P(y given x) | DCM, no confounders | E[y] error: ID-GEN / naive / DCM |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in table:
        query = row["query"].replace("|", "\\|")  # a bar inside a Markdown table cell
        print(
            f"| {row['scm']} | {query} | {row['floor']:.4f} | **{row['idgen']:.4f}** | {row['naive']:.4f} | "
            f"{row['dcm_blind']:.4f} | {row['idgen_mean_error']:.3f} / {row['naive_mean_error']:.3f} / "
            f"{row['dcm_blind_mean_error']:.3f} |"
        )
    if args.out:
        machine = {"python": platform.python_version(), "torch": torch.__version__, "cpu": platform.processor()}
        report = {"args": vars(args) | {"out": str(args.out)}, "machine": machine, "results": results, "table": table}
        args.out.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
