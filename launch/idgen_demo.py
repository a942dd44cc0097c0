"""The ID-GEN part of ``lightning-causal demo``: a query with a latent confounder, trained with diffusion models.

It trains :class:`~lightning_causal.models.IDGEN` for P(Y | do(X)) on 5000 rows of the front-door
structural model with a latent confounder of X and Y (``lightning_causal/scm/latent.py``), stage by
stage in a run folder (stage 0 on the observed data; the line-7 update's dataset generated as
shards; stage 1 on it), then samples the answer at three treatment values and scores it by MMD
against exact samples of the mutilated model, next to the floor (two exact samples) and the naive
conditional read off the data (rows with X near x). Writes ``interventional.png``,
``metrics.json`` and the run folder (``run/``, its trained plan ``run/idgen.ckpt``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

import torch

__all__ = ["add_idgen_arguments", "run_idgen_demo"]

SAMPLES = 2000


def add_idgen_arguments(p: argparse.ArgumentParser) -> None:
    """The option of the demo's ID-GEN part (``--idgen-steps``)."""
    p.add_argument(
        "--idgen-steps", type=int, default=1500, help="ID-GEN training steps per stage (default 1500, two stages)"
    )


def run_idgen_demo(args: argparse.Namespace) -> dict[str, Any]:
    """Train, query and score the ID-GEN model of the demo; returns the metrics it writes to ``metrics.json``."""
    from lightning_causal.datamodules import LatentSCMDataModule
    from lightning_causal.figures import pyplot, save_figure
    from lightning_causal.files import atomic_write
    from lightning_causal.metrics.mmd import mmd
    from lightning_causal.models import IDGEN
    from lightning_causal.models.idgen import fit_idgen, stage_trainer_factory
    from lightning_causal.quiet import quiet
    from lightning_causal.variables.spec import variables_to_dict

    out = Path(args.out) / "idgen"
    run = out / "run"
    if (run / "idgen.json").is_file():
        shutil.rmtree(run)  # a re-run trains again (with the options given now)
    data = LatentSCMDataModule("frontdoor", n_train=5000, n_val=500, seed=args.seed)
    scm = data.scm
    print(f"Training ID-GEN for {scm.query} on the front-door SCM: X -> M -> Y, a latent U causes X and Y")
    for equation in scm.equations.values():
        print(f"    {equation}")
    model = IDGEN(data.graph, variables_to_dict(data.variables), "X", "Y", mechanisms={"hidden": 64}, seed=args.seed)
    print(model.plan.estimand_text)
    start = time.perf_counter()
    with quiet():
        factory = stage_trainer_factory(args.idgen_steps, accelerator="cpu", checkpoint_every=500)
        fit_idgen(model, data, run, factory, batch_size=256)
    seconds = time.perf_counter() - start
    count = model.stage_count
    stages = f"{count} stage{'s' * (count != 1)} of {args.idgen_steps} steps"
    print(f"Trained {stages} in {seconds:.0f} s; the trained plan is {run / 'idgen.ckpt'}\n")

    x_rows, y_rows = data.train_tensors["X"][:, 0], data.train_tensors["Y"][:, 0]
    metrics: dict[str, Any] = {"query": scm.query, "seconds": seconds, "points": []}
    plt = pyplot()
    values = scm.treatment_values()
    fig, axes = plt.subplots(1, len(values), figsize=(3.4 * len(values), 2.8), sharey=True)
    for k, (ax, point) in enumerate(zip(axes, values, strict=True)):
        x = point["X"]
        truth = data.interventional_samples(SAMPLES, point, seed=args.seed + 10 + k)["Y"].double()
        other = data.interventional_samples(SAMPLES, point, seed=args.seed + 50 + k)["Y"].double()
        answer = model.sample(SAMPLES, point, seed=args.seed + 90 + k)["Y"].double()
        near = y_rows[(x_rows - x).abs() < 0.1].double().reshape(-1, 1)
        row = {
            "x": x,
            "mmd_idgen": float(mmd(answer, truth)),
            "mmd_naive": float(mmd(near, truth)),
            "mmd_floor": float(mmd(other, truth)),
            "mean_idgen": float(answer.mean()),
            "mean_naive": float(near.mean()),
            "mean_true": float(truth.mean()),
        }
        metrics["points"].append(row)
        print(
            f"P(Y | do(X={x})): MMD ID-GEN {row['mmd_idgen']:.4f}, naive P(Y | X={x}) {row['mmd_naive']:.4f} "
            f"(two exact samples: {row['mmd_floor']:.4f}); E[Y] ID-GEN {row['mean_idgen']:.3f} / "
            f"naive {row['mean_naive']:.3f} / true {row['mean_true']:.3f}"
        )
        bins = torch.linspace(-3.5, 3.5, 36).tolist()
        ax.hist(truth[:, 0].tolist(), bins=bins, density=True, alpha=0.45, label="exact")
        ax.hist(answer[:, 0].tolist(), bins=bins, density=True, histtype="step", lw=1.6, label="ID-GEN")
        ax.hist(near[:, 0].tolist(), bins=bins, density=True, histtype="step", lw=1.2, ls="--", label="naive")
        ax.set_title(f"Y | do(X = {x})", fontsize=9)
    axes[0].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    save_figure(fig, out / "interventional.png", dpi=110, tight=False)
    atomic_write(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    return metrics
