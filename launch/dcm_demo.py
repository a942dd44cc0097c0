"""The DCM part of ``lightning-causal demo``: train on a built-in SCM, query it, score it.

It trains :class:`~lightning_causal.models.DCM` on 5000 samples of a structural
causal model from the DCM suite (default: the triangle with non-additive noise), with a progress
bar, then answers

* an interventional query, P(x2, x3 | do(x1 = v)) at the 10th, 50th and 90th percentile of x1,
  scored by MMD against exact samples of the mutilated SCM (next to the MMD between two exact
  samples, the best any model can score);
* a counterfactual query, "what would x3 have been, had x2 been one unit larger", on 500 held-out
  rows, scored by MSE against the counterfactuals computed from the rows' true noise (next to
  the MSE of answering with the factual value);

and writes ``interventional.png``, ``counterfactual.png``, ``metrics.json`` and the checkpoint.
"""

from __future__ import annotations

import argparse
import json
import time
from functools import partial
from pathlib import Path
from typing import Any

import torch

__all__ = ["add_dcm_arguments", "run_dcm_demo"]


def add_dcm_arguments(p: argparse.ArgumentParser) -> None:
    """The options of the demo's DCM part (``--scm``, ``--variant``, ``--steps``)."""
    p.add_argument("--scm", default="triangle", help="built-in SCM: chain, triangle, diamond, y, ladder")
    p.add_argument("--variant", default="NA", help="NL (nonlinear additive) or NA (non-additive noise)")
    p.add_argument(
        "--steps", type=int, default=10_000, help="training steps (default 10000, about a minute on 2 cores)"
    )


def run_dcm_demo(args: argparse.Namespace) -> dict[str, Any]:
    """Train, query and score the DCM of the demo; returns the metrics it writes to ``metrics.json``."""
    from lightning_causal.quiet import quiet

    with quiet():
        return _run(args)


def _run(args: argparse.Namespace) -> dict[str, Any]:
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    from lightning_causal.callbacks import EMA, StepProgressBar
    from lightning_causal.datamodules import SCMDataModule
    from lightning_causal.files import atomic_write
    from lightning_causal.metrics.evaluation import (
        counterfactual_mse,
        counterfactual_variables,
        interventional_mmd,
        interventional_variables,
    )
    from lightning_causal.models import DCM, WarmupCosine
    from lightning_causal.plots import plot_counterfactuals, plot_interventional
    from lightning_causal.scm import intervention_values

    out = Path(args.out) / "dcm"
    out.mkdir(parents=True, exist_ok=True)

    data = SCMDataModule(args.scm, args.variant, n_train=5000, n_val=1000, n_test=500, seed=args.seed)
    scm, graph = data.scm, data.graph
    edges = ", ".join(f"{u} -> {v}" for u, v in graph.directed)
    print(f"Training a diffusion causal model (DCM) on the {args.scm} SCM ({args.variant}): {edges}")
    for node, equation in scm.equations.items():
        print(f"    {node} = {equation}")
    L.seed_everything(args.seed, verbose=False)
    model = DCM(data.graph, data.variables, seed=args.seed, scheduler=partial(WarmupCosine, warmup_steps=100))
    checkpoint = ModelCheckpoint(
        dirpath=out, filename="dcm", save_last=False, save_top_k=1, monitor=None, enable_version_counter=False
    )
    (out / "dcm.ckpt").unlink(missing_ok=True)  # a re-run replaces the previous model
    trainer = L.Trainer(
        max_steps=args.steps,
        accelerator="cpu",
        devices=1,
        logger=CSVLogger(out, name="logs"),
        callbacks=[EMA(decay=0.999), checkpoint, StepProgressBar(refresh_rate=50)],
        val_check_interval=min(2000, args.steps),
        check_val_every_n_epoch=None,
        enable_model_summary=False,
        log_every_n_steps=10,
        default_root_dir=out,
    )
    start = time.perf_counter()
    trainer.fit(model, data)
    seconds = time.perf_counter() - start
    print(f"Trained {args.steps} steps in {seconds:.0f} s.\n")

    # 1. interventional query at three values of the first root
    root = graph.topological_order()[0]
    desc = interventional_variables(graph, root)
    values = intervention_values(scm, root, count=3, seed=args.seed)
    rng = torch.Generator().manual_seed(args.seed + 1)
    panels, rows = [], []
    for k, value in enumerate(values):
        truth = scm.sample(1000, rng, {root: value})[0]
        floor = scm.sample(1000, rng, {root: value})[0]
        generated = model.sample(1000, {root: value}, seed=args.seed + k)
        label = f"do({root}={float(value.reshape(-1)[0]):.2f})"
        panels.append((label, truth, generated))
        model_mmd = interventional_mmd(generated, truth, graph, root)
        floor_mmd = interventional_mmd(floor, truth, graph, root)
        means = ", ".join(
            f"E[{v}] model {generated[v].float().mean():.3f} / true {truth[v].float().mean():.3f}" for v in desc
        )
        rows.append({"intervention": label, "mmd": model_mmd, "floor": floor_mmd})
        print(f"P({', '.join(desc)} | {label}): MMD {model_mmd:.4f} (two exact samples: {floor_mmd:.4f}); {means}")
    plot_interventional(
        panels, desc, out / "interventional.png", title=f"{args.scm} {args.variant}: generated vs exact"
    )

    # 2. counterfactual query: had the second node been one unit larger
    target = graph.topological_order()[1]
    cf_desc = counterfactual_variables(graph, target)
    factual, noise = data.test_tensors, data.test_noise
    shift = {target: lambda v: v + 1.0}
    truth_cf = data.counterfactuals(noise, shift)
    answer = model.counterfactual(factual, shift, seed=args.seed)
    mse = counterfactual_mse(answer, truth_cf, graph, target)
    copy = counterfactual_mse(factual, truth_cf, graph, target)
    print(
        f"Counterfactual 'had {target} been 1 larger' on {len(factual[target])} held-out rows: MSE over "
        f"{', '.join(cf_desc)} {mse:.4f} (answering the factual: {copy:.4f})"
    )
    plot_counterfactuals(
        truth_cf, answer, factual, cf_desc, out / "counterfactual.png", title=f"had {target} been 1 larger"
    )

    metrics = {
        "scm": args.scm,
        "variant": args.variant,
        "steps": args.steps,
        "train_seconds": round(seconds, 1),
        "interventional": rows,
        "counterfactual_mse": mse,
        "counterfactual_mse_copy_factual": copy,
        "checkpoint": str(checkpoint.best_model_path or checkpoint.last_model_path),
    }
    atomic_write(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    ckpt = metrics["checkpoint"]
    print(f"\nPictures: {out / 'interventional.png'}, {out / 'counterfactual.png'}; metrics: {out / 'metrics.json'}")
    print(f"Query the checkpoint: lightning-causal sample --ckpt {ckpt} --do {root}=0.5 --out samples.csv")
    return metrics
