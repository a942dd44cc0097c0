"""Per-patient potential-outcome distributions against exact truth: the DCM baseline on DIME's and IWDD's processes.

    python benchmarks/potential_outcomes.py --process dime --seeds 0 1 2
    python benchmarks/potential_outcomes.py --process iwdd --kappa 0.5 2 4 --seeds 0
    python benchmarks/potential_outcomes.py --quick        # 1500 rows, 800 steps, 50 test units: a few minutes

Protocol (the design notes' section 8 of ``dime.md`` and ``iwdd.md``), per process setting and seed:

* ``--rows`` observed rows of the process (:mod:`lightning_causal.scm.potential_outcomes`) drawn with the
  seed; a DCM on its graph (covariates -> treatment -> outcomes) trained ``--steps`` steps (batch 256,
  hidden ``--hidden``, EMA 0.999), the same defaults as the DCM suite otherwise;
* ``--units`` test units (fresh covariate rows), and for each arm ``--draws`` draws of every outcome from
  the model (``DCM.effects``: the covariates set, the arm intervened) and from the process (exact);
* per unit and arm, averaged: Wasserstein-1 of each continuous outcome, KL(true || model) and TVD of
  each discrete one, the joint MMD over the outcome vector (continuous outcomes standardised by the true
  draws, binary 0/1, categorical one-hot), the dependence error |Spearman(Y1, Y2) model - true|; per
  unit, the PEHE of the first outcome's CATE (model: the difference of the arms' draw means; truth: the
  closed form where the process has one, else the difference of 20,000 exact draws' means);
* the floor: the same scores between two independent sets of exact draws (what a perfect model gets
  with this many draws).

Prints a table and writes ``--out`` (JSON).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lightning_causal.metrics.outcomes import (  # noqa: E402
    DependenceError,
    DiscreteKL,
    DiscreteTVD,
    JointMMD,
    Wasserstein1,
    outcome_matrix,
)
from lightning_causal.scm.potential_outcomes import (  # noqa: E402
    ConfoundedEffectProcess,
    MultiOutcomeProcess,
    PotentialOutcomeProcess,
)


def _train_dcm(process: PotentialOutcomeProcess, rows: int, steps: int, hidden: int, seed: int) -> Any:
    from harness import quiet_trainer

    from lightning_causal.callbacks import EMA
    from lightning_causal.datamodules.tensor_data import TensorDataModule
    from lightning_causal.mechanisms import MechanismConfig
    from lightning_causal.models import DCM
    from lightning_causal.variables.inference import with_statistics

    train = process.sample(rows, seed=seed)
    specs = with_statistics(process.variables, train)

    class Table(TensorDataModule):
        def __init__(self) -> None:
            super().__init__()
            self.train_tensors, self.val_tensors = train, {k: v[:256] for k, v in train.items()}
            self.variables, self.graph = specs, process.graph
            self.batch_size, self.seed, self.num_workers = 256, seed, 0

    model = DCM(process.graph, specs, MechanismConfig(hidden=hidden), seed=seed)
    quiet_trainer(steps, [EMA(decay=0.999)], gradient_clip_val=1.0).fit(model, Table())
    return model


def _scores(
    process: PotentialOutcomeProcess,
    model: dict[int, dict[str, torch.Tensor]],
    truth: dict[int, dict[str, torch.Tensor]],
) -> dict[str, float]:
    """The section-8 scores of draws ``model[arm][outcome]`` against ``truth[arm][outcome]`` (``(units, n)``)."""
    specs = process.variables
    out: dict[str, float] = {}
    kinds = {y: (specs[y].kind, specs[y].classes or 1) for y in process.outcomes}
    for arm in model:
        for y in process.outcomes:
            m, t = model[arm][y], truth[arm][y]
            if specs[y].is_discrete:
                kl, tvd = DiscreteKL(specs[y].classes or 2), DiscreteTVD(specs[y].classes or 2)
                kl.update(m, t)
                tvd.update(m, t)
                out[f"{y}_kl"] = out.get(f"{y}_kl", 0.0) + float(kl.compute()) / len(model)
                out[f"{y}_tvd"] = out.get(f"{y}_tvd", 0.0) + float(tvd.compute()) / len(model)
            else:
                w1 = Wasserstein1()
                w1.update(m.float(), t.float())
                out[f"{y}_w1"] = out.get(f"{y}_w1", 0.0) + float(w1.compute()) / len(model)
        scale = {y: (float(truth[arm][y].float().mean()), float(truth[arm][y].float().std())) for y in kinds}
        scale = {y: s for y, s in scale.items() if kinds[y][0] == "continuous"}
        joint = JointMMD()
        joint.update(outcome_matrix(model[arm], kinds, scale), outcome_matrix(truth[arm], kinds, scale))
        out["joint_mmd"] = out.get("joint_mmd", 0.0) + float(joint.compute()) / len(model)
        if len(process.outcomes) > 1:
            a, b = process.outcomes[:2]
            dep = DependenceError()
            dep.update(model[arm][a].float(), model[arm][b].float(), truth[arm][a].float(), truth[arm][b].float())
            out["dependence"] = out.get("dependence", 0.0) + float(dep.compute()) / len(model)
    return out


def _true_cate(process: PotentialOutcomeProcess, x: torch.Tensor, seed: int) -> torch.Tensor:
    if isinstance(process, ConfoundedEffectProcess):
        return process.cate(x)
    if isinstance(process, MultiOutcomeProcess):
        return 1 + 0.5 * x[:, 2]  # E[Y1(1) - Y1(0) | x] exactly
    y = process.outcomes[0]
    one = process.potential_outcomes(x, 1, 20_000, seed + 11)[y].float().mean(1)
    zero = process.potential_outcomes(x, 0, 20_000, seed + 12)[y].float().mean(1)
    return one - zero


def run(process: PotentialOutcomeProcess, label: str, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    start = time.perf_counter()
    model = _train_dcm(process, args.rows, args.steps, args.hidden, seed)
    trained = time.perf_counter() - start
    x = process.draw_covariates(args.units, torch.Generator().manual_seed(10_000 + seed))
    rows = {c: x[:, i : i + 1] for i, c in enumerate(process.covariates)}
    arms = range(process.arms)
    drawn = {a: model.effects(rows, {process.treatment: a}, args.draws, seed=100 + a) for a in arms}
    exact = {a: process.potential_outcomes(x, a, args.draws, seed=200 + a) for a in arms}
    again = {a: process.potential_outcomes(x, a, args.draws, seed=300 + a) for a in arms}
    y = process.outcomes[0]
    cate = _true_cate(process, x, seed)
    pehe = float(((drawn[1][y].float().mean(1) - drawn[0][y].float().mean(1) - cate) ** 2).mean().sqrt())
    pehe_floor = float(((again[1][y].float().mean(1) - again[0][y].float().mean(1) - cate) ** 2).mean().sqrt())
    return {
        "process": label,
        "seed": seed,
        "model": {**_scores(process, drawn, exact), "pehe": pehe},
        "floor": {**_scores(process, again, exact), "pehe": pehe_floor},
        "train_seconds": round(trained, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--process", choices=["dime", "iwdd"], nargs="+", default=["dime", "iwdd"])
    parser.add_argument("--kappa", type=float, nargs="+", default=[2.0], help="IWDD's overlap settings")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="1500 rows, 800 steps, 50 units, 500 draws")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.steps, args.units, args.draws = 1500, 800, 50, 500
    settings: list[tuple[str, PotentialOutcomeProcess]] = []
    if "dime" in args.process:
        settings.append(("dime", MultiOutcomeProcess()))
    if "iwdd" in args.process:
        settings += [(f"iwdd kappa={k:g}", ConfoundedEffectProcess(k)) for k in args.kappa]
    results = []
    for label, process in settings:
        for seed in args.seeds:
            result = run(process, label, args, seed)
            results.append(result)
            keys = list(result["model"])
            print(f"{label} seed {seed} ({result['train_seconds']} s training)")
            for key in keys:
                print(f"  {key:12s} DCM {result['model'][key]:.4f}   floor {result['floor'][key]:.4f}")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"settings": vars(args) | {"out": str(args.out)}, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
