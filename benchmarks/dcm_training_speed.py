"""Training speed of DCM on the 30-node ladder: one batched network against one model per node.

    python benchmarks/dcm_training_speed.py [--steps 300] [--conditioning concat]

The 30-node ladder is the DCM reference code's layout of the ladder SCM (10 super nodes of 3
scalar nodes; ``lightning_causal/scm/dcm_suite.py``), with 27 non-root nodes to model. Three ways to
train the same per-node networks (same architecture, optimizer, batch size 64 and number of
optimizer steps per node), each with a real Lightning Trainer on the same data:

* ``sequential``: each node's model alone, one Trainer.fit after another (how the reference code
  trains: one model per node); the model of node v sees the columns of v and its parents;
* ``summed``: one run, one MLP per node, their losses summed in one step (``backend="separate"``);
* ``batched``: one run, all node MLPs as one batched network (``backend="batched"``).

It reports wall-clock time per arm and the ratios in one run (machines here are noisy; compare
ratios, not absolute times), and the mean final validation loss per node of each arm, to show the
quality is the same.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
import warnings
from dataclasses import replace
from typing import Any

import lightning as L
import torch
from harness import quiet_trainer

from lightning_causal import CausalGraph
from lightning_causal.data.loaders import tensor_loader
from lightning_causal.datamodules import SCMDataModule
from lightning_causal.mechanisms import MechanismConfig
from lightning_causal.models import DCM

warnings.filterwarnings("ignore")
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)


def _loader(tensors: dict[str, torch.Tensor], batch_size: int, seed: int) -> torch.utils.data.DataLoader:
    return tensor_loader(tensors, batch_size, shuffle_seed=seed, drop_last=True)


def _val_losses(model: DCM, val: dict[str, torch.Tensor], draws: int = 20) -> dict[str, float]:
    """Per-node validation loss through each node's own generator view, with the same (t, noise)
    draws for a node in every arm, so that arms differ only by their weights."""
    model.eval()
    out = {}
    with torch.no_grad():
        for v in model.node_mechanisms.trained:
            gen = model.node_generator(v)
            parents = {p: val[p] for p in gen.inputs}
            losses = [gen.loss(val[v], parents, torch.Generator().manual_seed(k)).item() for k in range(draws)]
            out[v] = sum(losses) / draws
    return out


ARMS = ("sequential", "summed", "batched")


def run(args: argparse.Namespace) -> dict[str, Any]:
    data = SCMDataModule("ladder", "NL", n_train=5000, n_val=2000, n_test=0, seed=0, layout="scalar")
    graph, variables = data.graph, data.variables
    modelled = [v for v in graph.nodes if graph.parents(v)]
    config = MechanismConfig(hidden=args.hidden, depth=args.depth, conditioning=args.conditioning)
    results: dict[str, Any] = {"nodes": len(graph.nodes), "modelled": len(modelled), "steps_per_node": args.steps}

    # sequential: one model per node, one fit after another
    L.seed_everything(0, verbose=False)
    start = time.perf_counter()
    val_seq: dict[str, float] = {}
    for v in modelled if "sequential" in args.arms else []:
        parents = graph.parents(v)
        sub = CausalGraph(directed=[(p, v) for p in parents])
        model = DCM(sub, {k: variables[k] for k in sub.nodes}, config)
        tensors = {k: data.train_tensors[k] for k in sub.nodes}
        quiet_trainer(args.steps).fit(model, _loader(tensors, args.batch_size, 0))
        val_seq.update(_val_losses(model, {k: data.val_tensors[k] for k in sub.nodes}))
    if "sequential" in args.arms:
        results["sequential_s"] = time.perf_counter() - start
        results["sequential_val_loss"] = sum(val_seq.values()) / len(val_seq)

    for backend, label in (("separate", "summed"), ("batched", "batched")):
        if label not in args.arms:
            continue
        L.seed_everything(0, verbose=False)
        start = time.perf_counter()
        model = DCM(graph, variables, replace(config, backend=backend))
        quiet_trainer(args.steps).fit(model, _loader(data.train_tensors, args.batch_size, 0))
        results[f"{label}_s"] = time.perf_counter() - start
        val = _val_losses(model, data.val_tensors)
        results[f"{label}_val_loss"] = sum(val.values()) / len(val)
    for label in ("batched", "summed"):
        if "sequential" in args.arms and label in args.arms:
            results[f"speedup_{label}_vs_sequential"] = results["sequential_s"] / results[f"{label}_s"]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300, help="optimizer steps per node in every arm")
    parser.add_argument("--batch-size", type=int, default=64, help="the DCM reference's batch size")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--conditioning", default="film", choices=["film", "concat"])
    parser.add_argument(
        "--arms", nargs="+", default=list(ARMS), choices=ARMS, help="the arms to run (default: all three)"
    )
    args = parser.parse_args()
    torch.set_num_threads(2)
    r = run(args)
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}))
    print(
        f"\nmachine: {platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"lightning {L.__version__}; {r['modelled']} node models, {args.steps} steps each, batch {args.batch_size}, "
        f"conditioning {args.conditioning}"
    )
    print(f"{'arm':<12} {'wall s':>8} {'speed-up':>9} {'val loss/node':>14}")
    for arm in (a for a in ARMS if a in args.arms):
        speed = f"{r['sequential_s'] / r[f'{arm}_s']:>8.1f}x" if "sequential" in args.arms else f"{'-':>9}"
        print(f"{arm:<12} {r[f'{arm}_s']:>8.1f} {speed} {r[f'{arm}_val_loss']:>14.4f}")


if __name__ == "__main__":
    main()
