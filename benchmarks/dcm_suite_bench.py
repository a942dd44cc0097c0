"""The DCM structural-equation suite: DCM against DoWhy's additive-noise models, on exact truth.

    pip install dowhy==0.14        # the baseline; only this benchmark needs it
    python benchmarks/dcm_suite_bench.py --quick                  # a few minutes on a laptop CPU
    python benchmarks/dcm_suite_bench.py --seeds 0 1 2 --out results.json

Protocol (Chao et al. 2023, Sec. 6; the equations are in lightning_causal/scm/dcm_suite.py), per SCM, variant and seed:

* 5000 training samples; DCM trains with this repo's Lightning module, DoWhy 0.14's
  ``gcm.auto.assign_causal_mechanisms`` picks additive-noise models fitted on the same data;
* observational MMD over the non-root nodes: 1000 model samples against 1000 true samples;
* for every intervened node (every node with descendants; nodes 1 and 4 of the ladder), 20
  values evenly spaced between its 10th and 90th percentile, and at each value:
  interventional MMD over the node's descendants (100 model samples against 100 true samples),
  and counterfactual MSE over ALL its descendants (100 factual rows, truth from their true
  noise; the reference code scores only the first descendant);
* MMD: RBF kernel, gamma = 1 / median of the positive squared distances of the pooled sample,
  biased V-statistic (``lightning_causal.metrics``);
* reference points: "floor" is the MMD between two independent true samples of the same sizes
  (what a perfect model scores) and "copy" the counterfactual MSE of answering the factual.

Figures are averaged over intervention values, intervened nodes and seeds.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
import warnings
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from harness import quiet_trainer

from lightning_causal.callbacks import EMA
from lightning_causal.datamodules import SCMDataModule
from lightning_causal.mechanisms import MechanismConfig
from lightning_causal.metrics import counterfactual_mse, interventional_mmd, observational_mmd
from lightning_causal.models import DCM, AdamW, WarmupCosine
from lightning_causal.scm import intervened_nodes, intervention_values

warnings.filterwarnings("ignore")
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

Values = dict[str, torch.Tensor]
Sampler = Callable[[int, Mapping[str, Any], int], Values]
Counterfactual = Callable[[Values, Mapping[str, Any]], Values]


# ---------------------------------------------------------------------------- the methods
def train_dcm(data: SCMDataModule, args: argparse.Namespace, seed: int) -> DCM:
    L.seed_everything(seed, verbose=False)
    model = DCM(
        data.graph,
        data.variables,
        MechanismConfig(hidden=args.hidden, depth=args.depth, conditioning=args.conditioning),
        optimizer=partial(AdamW, lr=args.lr),
        scheduler=partial(WarmupCosine, warmup_steps=100),
        seed=seed,
    )
    quiet_trainer(args.steps, [EMA(decay=0.999)]).fit(model, data)
    return model


def dcm_methods(model: DCM) -> tuple[Sampler, Counterfactual]:
    def sample(n: int, interventions: Mapping[str, Any], seed: int) -> Values:
        return model.sample(n, interventions, seed=seed)

    def counterfactual(factual: Values, interventions: Mapping[str, Any]) -> Values:
        return model.counterfactual(factual, interventions, seed=0)

    return sample, counterfactual


def dowhy_methods(data: SCMDataModule, seed: int) -> tuple[Sampler, Counterfactual]:
    """DoWhy gcm with automatically assigned (additive-noise) mechanisms; vector nodes split into columns."""
    import dowhy.gcm as gcm
    import networkx as nx
    import pandas as pd

    dims = data.scm.dims
    cols = {v: [v] if dims[v] == 1 else [f"{v}_{k}" for k in range(dims[v])] for v in data.graph.nodes}
    dag = nx.DiGraph()
    dag.add_nodes_from(c for v in data.graph.nodes for c in cols[v])
    dag.add_edges_from((a, b) for u, v in data.graph.directed for a in cols[u] for b in cols[v])

    def frame(values: Values) -> pd.DataFrame:
        return pd.DataFrame({c: values[v][:, k].numpy() for v in data.graph.nodes for k, c in enumerate(cols[v])})

    def back(df: pd.DataFrame) -> Values:
        return {v: torch.tensor(df[cols[v]].to_numpy(), dtype=torch.float32) for v in data.graph.nodes}

    np.random.seed(seed)
    model = gcm.InvertibleStructuralCausalModel(dag)
    train = frame(data.train_tensors)
    gcm.auto.assign_causal_mechanisms(model, train, override_models=True)
    gcm.fit(model, train)

    def constant(value: float) -> Callable[[Any], Any]:
        return lambda x: value

    def as_dowhy(interventions: Mapping[str, Any]) -> dict[str, Callable[[Any], Any]]:
        out = {}
        for v, value in interventions.items():
            vec = torch.as_tensor(value, dtype=torch.float32).reshape(-1)
            for k, c in enumerate(cols[v]):
                out[c] = constant(float(vec[k if len(vec) > 1 else 0]))
        return out

    def sample(n: int, interventions: Mapping[str, Any], seed: int) -> Values:
        np.random.seed(seed)
        return back(gcm.interventional_samples(model, as_dowhy(interventions), num_samples_to_draw=n))

    def counterfactual(factual: Values, interventions: Mapping[str, Any]) -> Values:
        return back(gcm.counterfactual_samples(model, as_dowhy(interventions), observed_data=frame(factual)))

    return sample, counterfactual


# ---------------------------------------------------------------------------- the protocol
def evaluate(
    data: SCMDataModule, methods: dict[str, tuple[Sampler | None, Counterfactual | None]], seed: int, quick: bool
) -> dict[str, dict[str, float]]:
    scm = data.scm
    graph = data.graph
    intervened = intervened_nodes(scm)
    n_values, n_int, n_obs = (5, 100, 500) if quick else (20, 100, 1000)
    rng = torch.Generator().manual_seed(10_000 + seed)
    out: dict[str, dict[str, list[float]]] = {m: {"obs": [], "int": [], "cf": []} for m in methods}

    true_obs, _ = scm.sample(n_obs, rng)
    floor_obs, _ = scm.sample(n_obs, rng)
    for name, (sampler, _) in methods.items():
        model_obs = floor_obs if sampler is None else sampler(n_obs, {}, seed)
        if sampler is not None or name == "floor":
            out[name]["obs"].append(observational_mmd(model_obs, true_obs, graph))
    for node in intervened:
        for k, value in enumerate(intervention_values(scm, node, count=n_values, seed=seed)):
            interventions = {node: value}
            truth_int = scm.sample(n_int, rng, interventions)[0]
            floor_int = scm.sample(n_int, rng, interventions)[0]
            factual, noise = scm.sample(n_int, rng)
            truth_cf = scm.counterfactual(noise, interventions)
            for name, (sampler, cf) in methods.items():
                if name == "floor":
                    got = floor_int
                elif sampler is not None:
                    got = sampler(n_int, interventions, 1000 * seed + k)
                else:
                    got = None
                if got is not None:
                    out[name]["int"].append(interventional_mmd(got, truth_int, graph, node))
                answer = factual if name == "copy" else (cf(factual, interventions) if cf is not None else None)
                if answer is not None:
                    out[name]["cf"].append(counterfactual_mse(answer, truth_cf, graph, node))
    summary: dict[str, dict[str, float]] = {}
    for m, metrics in out.items():
        summary[m] = {}
        for k, v in metrics.items():
            if v:
                summary[m][k] = float(np.mean(v))
                summary[m][k + "_se"] = float(np.std(v) / np.sqrt(len(v))) if len(v) > 1 else 0.0
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--quick", action="store_true", help="NA variants of the four small SCMs, one seed, fewer steps"
    )
    parser.add_argument("--scms", nargs="+", default=["chain", "triangle", "diamond", "y", "ladder"])
    parser.add_argument("--variants", nargs="+", default=["NL", "NA"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--steps", type=int, default=None, help="DCM optimizer steps (default 20000, quick 6000)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--conditioning", default="film", choices=["film", "concat"])
    parser.add_argument("--no-dowhy", action="store_true", help="skip the DoWhy baseline")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON")
    parser.add_argument("--table", type=Path, default=None, help="print saved --out results as a markdown table")
    args = parser.parse_args()
    if args.table:
        print(markdown_table(json.loads(args.table.read_text())))
        return
    if args.quick:
        args.scms = [s for s in args.scms if s != "ladder"]
        args.variants = ["NA"]
    args.steps = args.steps or (6000 if args.quick else 20000)
    torch.set_num_threads(2)

    rows: list[dict[str, Any]] = []
    for scm_name in args.scms:
        for variant in args.variants:
            for seed in args.seeds:
                start = time.perf_counter()
                data = SCMDataModule(
                    scm_name, variant, n_train=5000, n_val=0, n_test=0, batch_size=args.batch_size, seed=seed
                )
                model = train_dcm(data, args, seed)
                trained = time.perf_counter() - start
                methods: dict[str, tuple[Sampler | None, Counterfactual | None]] = {
                    "DCM": dcm_methods(model),
                    "floor": (None, None),
                    "copy": (None, None),
                }
                if not args.no_dowhy:
                    methods["DoWhy ANM"] = dowhy_methods(data, seed)
                result = evaluate(data, methods, seed, args.quick)
                row = {
                    "scm": scm_name,
                    "variant": variant,
                    "seed": seed,
                    "train_s": round(trained, 1),
                    "total_s": round(time.perf_counter() - start, 1),
                    **{m: result[m] for m in result},
                }
                rows.append(row)
                print(json.dumps(row))
    print(
        f"\nmachine: {platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}; "
        f"steps {args.steps}, batch {args.batch_size}, conditioning {args.conditioning}"
    )
    header = f"{'SCM':<14} {'obs MMD':>16} {'int MMD (floor)':>26} {'CF MSE':>22} {'copy':>6}"
    print(header)
    print(f"{'':<14} {'DCM':>7} {'DoWhy':>8} {'DCM':>8} {'DoWhy':>8} {'floor':>8} {'DCM':>10} {'DoWhy':>10}")
    for scm_name in args.scms:
        for variant in args.variants:
            sel = [r for r in rows if r["scm"] == scm_name and r["variant"] == variant]

            def avg(method: str, metric: str, sel: list[dict[str, Any]] = sel) -> float:
                vals = [r[method][metric] for r in sel if method in r and metric in r[method]]
                return float(np.mean(vals)) if vals else float("nan")

            print(
                f"{scm_name + ' ' + variant:<14} {avg('DCM', 'obs'):>7.4f} {avg('DoWhy ANM', 'obs'):>8.4f} "
                f"{avg('DCM', 'int'):>8.4f} {avg('DoWhy ANM', 'int'):>8.4f} {avg('floor', 'int'):>8.4f} "
                f"{avg('DCM', 'cf'):>10.4f} {avg('DoWhy ANM', 'cf'):>10.4f} {avg('copy', 'cf'):>6.2f}"
            )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n")
        print(f"\nresults in {args.out}; as a markdown table: python benchmarks/dcm_suite_bench.py --table {args.out}")


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The BENCHMARKS.md table of saved results: mean over seeds, with the standard error across seeds."""

    def cell(sel: list[dict[str, Any]], method: str, metric: str, digits: int) -> str:
        vals = [r[method][metric] for r in sel if method in r and metric in r[method]]
        if not vals:
            return "-"
        mean = float(np.mean(vals))
        if len(vals) == 1:
            return f"{mean:.{digits}f}"
        se = float(np.std(vals, ddof=1) / np.sqrt(len(vals)))
        return f"{mean:.{digits}f} ± {se:.{digits}f}"

    lines = [
        "| SCM | seeds | obs MMD DCM | obs MMD DoWhy | int MMD DCM | int MMD DoWhy | int MMD floor "
        "| CF MSE DCM | CF MSE DoWhy | CF MSE copy |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    keys = list(dict.fromkeys((r["scm"], r["variant"]) for r in rows))
    for scm_name, variant in keys:
        sel = [r for r in rows if r["scm"] == scm_name and r["variant"] == variant]
        lines.append(
            f"| {scm_name} {variant} | {len(sel)} | {cell(sel, 'DCM', 'obs', 4)} | {cell(sel, 'DoWhy ANM', 'obs', 4)} "
            f"| {cell(sel, 'DCM', 'int', 4)} | {cell(sel, 'DoWhy ANM', 'int', 4)} | {cell(sel, 'floor', 'int', 4)} "
            f"| {cell(sel, 'DCM', 'cf', 3)} | {cell(sel, 'DoWhy ANM', 'cf', 3)} | {cell(sel, 'copy', 'cf', 2)} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
