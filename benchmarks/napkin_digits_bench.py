"""Napkin colored digits: ID-GEN's P(Y | do(X)) on images against exact truth, next to two baselines.

    python benchmarks/napkin_digits_bench.py --config configs/idgen/napkin_digits_cpu.yaml --guidance 0 0.5 1 2 \\
        --out benchmarks/results/napkin_digits_cpu.json --grid docs/images/napkin_digits_cpu.png
    python benchmarks/napkin_digits_bench.py --config configs/idgen/napkin_digits_gpu.yaml \\
        --out benchmarks/results/napkin_digits_gpu.json --grid docs/images/napkin_digits_gpu.png

Protocol (the napkin model of lightning_causal/scm/napkin_digits.py; images W1, X, Y and a 20-class
W2, latent colour W1 <-> Y and thickness W1 <-> X):

* the data module, network sizes, optimizer, EMA and steps per stage come from ``--config``;
* **ID-GEN** is trained by that config exactly as a user runs it (``lightning-causal fit
  --config``, in a subprocess; its wall time is the end-to-end figure);
* two baselines on the same data, with the same image network and the same total number of
  optimizer steps (steps per stage x ID-GEN's stages): **conditional**, P(Y | X = x) learned
  directly (ID-GEN's plan when told there is no confounding), and **DCM**, the diffusion causal
  model of the graph with the bidirected edges dropped (Chao et al. 2023), sampled under do(X = x);
* interventions (``--interventions``): ``every`` (default) sets X to 20 images that cover every
  attribute value: intervention k is digit k % 10, thickness k % 3, colour (k // 3) % 6, so the
  first 18 cover all colour x thickness pairs and every digit comes twice, with two strokes and two
  thicknesses; ``two`` is the earlier pair, a red regular 3 and a cyan thick 5. ``--samples`` images
  of Y from each answer, and as many exact samples of Y under the same intervention from the
  structural model;
* an attribute network (digit, colour, thickness heads), trained on the model's own renderings of
  Y, reads the attributes of every image; its held-out accuracy is reported. Scores per answer:
  TVD between its attribute distribution and the exact one (per attribute, and their mean, as
  ID-GEN's paper reports), and FID and KID against the exact samples on the attribute network's
  penultimate features. The exact samples' own TVD is the floor (classifier error + sampling).
  The summary gives each answer's TVD averaged over the interventions and at its worst one.

``--no-baselines`` trains and scores ID-GEN alone (the baselines cost twice its training time).

``--guidance 0 1 3`` samples every answer at each classifier-free guidance weight and scores each
(default: the config's ``network.image.guidance``); ``--seed`` sets the training seed of all three
answers (model initialisation, noise, timesteps; the data and their order stay fixed), so that runs
with several seeds measure the spread between trainings.

``--grid`` writes a PNG: for each intervention, the x image and Y samples of ID-GEN, then of each
baseline.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import torch
import yaml
from tqdm.auto import tqdm

from lightning_causal import CausalGraph
from lightning_causal.callbacks import EMA
from lightning_causal.datamodules import NapkinDigitsDataModule
from lightning_causal.image_files import image_grid, write_png
from lightning_causal.metrics.image_quality import attribute_tvd, fid_kid, train_attribute_net
from lightning_causal.models import DCM, IDGEN, AdamW
from lightning_causal.models.idgen import fit_idgen, stage_trainer_factory
from lightning_causal.quiet import quiet
from lightning_causal.scm.napkin_digits import ATTRIBUTES, THICKNESSES
from lightning_causal.variables.spec import variables_to_dict

INTERVENTIONS: dict[str, tuple[dict[str, int], ...]] = {
    "every": tuple({"digit": k % 10, "colour": (k // 3) % 6, "thickness": k % 3} for k in range(20)),
    "two": ({"digit": 3, "colour": 0, "thickness": 1}, {"digit": 5, "colour": 5, "thickness": 2}),
}
"""The sets of x's attributes (colour codes: red, green, blue, yellow, magenta, cyan; thickness: thin,
regular, thick). ``every``: all 18 colour x thickness pairs and every digit twice (two strokes, two
thicknesses); ``two``: a red regular 3 and a cyan thick 5."""


def _config(path: str) -> dict[str, Any]:
    return yaml.safe_load(Path(path).read_text())


def _data(config: dict[str, Any]) -> NapkinDigitsDataModule:
    return NapkinDigitsDataModule(**config["data"]["init_args"])


def _accelerator(config: dict[str, Any]) -> str:
    accelerator = config["trainer"].get("accelerator", "auto")
    if accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available():
        return "gpu"
    return "cpu"


def _fit_idgen_cli(config_path: str, run_dir: Path, steps: int | None, seed: int) -> float:
    command = [sys.executable, "-m", "lightning_causal.launch.cli", "fit", "--config", config_path]
    command += ["--trainer.default_root_dir", str(run_dir), "--seed_everything", str(seed)]
    if steps is not None:
        command += ["--trainer.max_steps", str(steps)]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def _model_args(config: dict[str, Any], seed: int) -> dict[str, Any]:
    init = config["model"]["init_args"]
    lr = init["optimizer"]["init_args"]["lr"]
    return {"mechanisms": init.get("mechanisms"), "optimizer": partial(AdamW, lr=lr), "seed": seed}


def _train_conditional(
    dm: NapkinDigitsDataModule, config: dict[str, Any], steps: int, accel: str, folder: str, seed: int
) -> IDGEN:
    naive = CausalGraph(directed=[("X", "Y")])
    variables = variables_to_dict({v: dm.variables[v] for v in ("X", "Y")})
    model = IDGEN(naive, variables=variables, treatment="X", outcome="Y", **_model_args(config, seed))
    factory = stage_trainer_factory(steps, progress=True, accelerator=accel, ema=_ema(config))
    return fit_idgen(model, {v: dm.train_tensors[v] for v in ("X", "Y")}, folder, factory, batch_size=dm.batch_size)


def _trained(folder: Path, checkpoint: str, train: Any) -> float:
    """Train unless ``folder`` holds a finished run; the training seconds, kept beside the checkpoint."""
    record = folder / "seconds.json"
    if (folder / checkpoint).exists() and record.exists():
        print(f"reusing the trained run in {folder}", file=sys.stderr)
        return float(json.loads(record.read_text())["seconds"])
    start = time.perf_counter()
    train()
    seconds = time.perf_counter() - start
    record.write_text(json.dumps({"seconds": seconds}) + "\n")
    return seconds


def _ema(config: dict[str, Any]) -> float | None:
    for callback in config["trainer"].get("callbacks", []):
        if callback["class_path"].endswith("EMA"):
            return float(callback["init_args"]["decay"])
    return None


def _train_dcm(
    dm: NapkinDigitsDataModule, config: dict[str, Any], steps: int, accel: str, folder: Path, seed: int
) -> DCM:
    blind = CausalGraph(directed=dm.graph.directed, nodes=dm.graph.nodes)
    model = DCM(blind, variables_to_dict(dm.variables), **_model_args(config, seed))
    callbacks: list[Any] = [EMA(decay=d)] if (d := _ema(config)) is not None else []
    import lightning as L

    from lightning_causal.callbacks.progress import StepProgressBar

    trainer = L.Trainer(
        max_steps=steps,
        accelerator=accel,
        devices=1,
        logger=False,
        default_root_dir=folder,
        callbacks=[*callbacks, StepProgressBar()],
        enable_checkpointing=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
    )
    trainer.fit(model, dm)
    folder.mkdir(parents=True, exist_ok=True)
    trainer.save_checkpoint(folder / "dcm.ckpt")
    return model


def _peak_memory_mb() -> dict[str, float]:
    out = {"cpu_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if torch.cuda.is_available():
        out["gpu_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/idgen/napkin_digits_cpu.yaml")
    parser.add_argument("--steps", type=int, default=None, help="steps per stage (default: the config's)")
    parser.add_argument("--samples", type=int, default=1000, help="images of Y per answer and intervention")
    parser.add_argument("--classifier-steps", type=int, default=1500)
    parser.add_argument(
        "--guidance",
        type=float,
        nargs="+",
        default=None,
        help="classifier-free guidance weights to sample every answer with, each scored (default: the config's)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="training seed of all three answers (default: the config's seed_everything); the data stay fixed",
    )
    parser.add_argument(
        "--run-dir",
        default=None,
        help="keep the trained runs here (default: a temporary folder); finished runs there are reused",
    )
    parser.add_argument(
        "--eta",
        type=float,
        default=None,
        help="DDIM's eta for every answer (0: deterministic, 1: ancestral; default: the config's "
        "mechanisms.image.eta, else 0)",
    )
    parser.add_argument("--interventions", choices=sorted(INTERVENTIONS), default="every")
    parser.add_argument("--no-baselines", action="store_true", help="train and score ID-GEN alone")
    parser.add_argument(
        "--matched-w2",
        action="store_true",
        help="ID-GEN's free input W2 set to the value that matches x (its digit and colour group) instead of drawn "
        "from the data rows nearest to x: what a right draw of the free input would score",
    )
    parser.add_argument("--out", default=None, help="write every figure as JSON")
    parser.add_argument("--grid", default=None, help="write the image grid (PNG)")
    args = parser.parse_args(argv)

    config = _config(args.config)
    steps = args.steps or int(config["trainer"]["max_steps"])
    seed = args.seed if args.seed is not None else int(config.get("seed_everything", 0))
    image_config = config["model"]["init_args"]["mechanisms"]["image"]
    weights = args.guidance or [float(image_config.get("guidance", 0.0))]
    eta = float(image_config.get("eta", 0.0)) if args.eta is None else args.eta
    accel = _accelerator(config)
    device = torch.device("cuda" if accel == "gpu" else "cpu")
    dm = _data(config)
    scm = dm.scm
    results: dict[str, Any] = {
        "config": args.config,
        "steps_per_stage": steps,
        "seed": seed,
        "guidance": weights,
        "eta": eta,
        "rows": len(dm.train_tensors["Y"]),
        "size": scm.size,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, {platform.python_version()}",
        "device": torch.cuda.get_device_name() if accel == "gpu" else "cpu",
        "interventions": list(INTERVENTIONS[args.interventions]),
        "matched_w2": args.matched_w2,
    }
    with tempfile.TemporaryDirectory() as tmp, quiet():
        root = Path(args.run_dir or tmp)
        root.mkdir(parents=True, exist_ok=True)

        # 1. ID-GEN, end to end from the config (a finished run in --run-dir is reused, with its time)
        results["idgen_seconds"] = _trained(
            root / "idgen", "idgen.ckpt", lambda: _fit_idgen_cli(args.config, root / "idgen", args.steps, seed)
        )
        idgen = IDGEN.load(root / "idgen" / "idgen.ckpt").to(device)
        budget = steps * idgen.stage_count

        models: dict[str, Any] = {"idgen": idgen}

        # 2. the baselines, same data, network and total steps
        if not args.no_baselines:
            folder = root / "conditional"
            results["conditional_seconds"] = _trained(
                folder, "idgen.ckpt", lambda: _train_conditional(dm, config, budget, accel, str(folder), seed)
            )
            models["conditional"] = IDGEN.load(folder / "idgen.ckpt").to(device)
            folder = root / "dcm"
            results["dcm_seconds"] = _trained(
                folder, "dcm.ckpt", lambda: _train_dcm(dm, config, budget, accel, folder, seed)
            )
            models["dcm"] = DCM.load_from_checkpoint(folder / "dcm.ckpt", map_location="cpu").to(device)

        # 3. the attribute network, on the model's own renderings of Y
        start = time.perf_counter()
        c, h, w = dm.variables["Y"].image_shape
        net, accuracy = train_attribute_net(
            lambda n, g: scm.render_attributes(n, g, style="y"),
            dict(ATTRIBUTES),
            c,
            h,
            w,
            steps=args.classifier_steps,
            seed=0,
            device=device,
        )
        results["classifier_accuracy"] = accuracy
        results["classifier_seconds"] = time.perf_counter() - start

        # 4. samples under every intervention, scored against exact truth, at each guidance weight
        rng = torch.Generator().manual_seed(1234)
        rows: dict[str, dict[str, list[dict[str, Any]]]] = {
            _key(g): {name: [] for name in ("exact", *models)} for g in weights
        }
        grid_rows = []
        for k, x_attrs in enumerate(tqdm(INTERVENTIONS[args.interventions], desc="interventions")):
            x = scm.render_x(x_attrs["digit"], x_attrs["colour"], x_attrs["thickness"], 1, rng)
            exact = scm.interventional(args.samples, **x_attrs, rng=rng)["Y"]
            reference = scm.interventional(args.samples, **x_attrs, rng=rng)["Y"]
            truth = scm.true_attributes(x_attrs["digit"], x_attrs["thickness"])
            scored = partial(_score, net, reference.to(device), truth, seed=k)
            floor = {**scored(exact.to(device)), "x": x_attrs}  # independent of the guidance weight: scored once
            for guidance in weights:
                rows[_key(guidance)]["exact"].append(floor)
                answers: dict[str, torch.Tensor] = {}
                for name, model in models.items():
                    start = time.perf_counter()
                    extra = {}
                    if args.matched_w2 and name == "idgen":  # W2 that names x's digit and colour group
                        extra["inputs"] = {"W2": 2 * x_attrs["digit"] + x_attrs["colour"] // 3}
                    answers[name] = model.sample(
                        args.samples, {"X": x}, seed=100 + k, guidance=guidance, eta=eta, **extra
                    )["Y"]
                    seconds = time.perf_counter() - start
                    rows[_key(guidance)][name].append(
                        {
                            **scored(answers[name].to(device)),
                            "x": x_attrs,
                            "images_per_second": args.samples / seconds,
                        }
                    )
                if guidance == weights[0]:
                    grid_rows.append((x, [a[:8] for a in answers.values()]))
        results["scores"] = rows
        results.update(_peak_memory_mb())

    results["summary"] = {key: _summary(by_answer) for key, by_answer in rows.items()}
    print(json.dumps({"summary": results["summary"], "classifier_accuracy": results["classifier_accuracy"]}, indent=2))
    print(f"ID-GEN end to end: {results['idgen_seconds'] / 60:.1f} min")
    for key, summary in results["summary"].items():
        means = ", ".join(f"{name} {s['tvd_mean']:.3f} (worst {s['tvd_worst']:.3f})" for name, s in summary.items())
        print(f"{key}: TVD mean over the interventions (at the worst one): {means}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    if args.grid:
        _write_grid(args.grid, grid_rows)
    return 0


def _score(net: Any, reference: torch.Tensor, truth: Any, images: torch.Tensor, seed: int) -> dict[str, Any]:
    """TVD of the attributes ``net`` reads off ``images`` against ``truth``; FID and KID against ``reference``."""
    return {"tvd": attribute_tvd(net, images, truth), **fid_kid(net, reference, images, seed=seed)}


def _key(guidance: float) -> str:
    """The results' key of a guidance weight: ``"guidance=1.0"``."""
    return f"guidance={float(guidance)}"


def _summary(by_answer: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per answer: TVD (mean and per attribute) averaged over the interventions and at the worst one
    (its x and per-attribute TVD), the mean TVD per thickness of x, FID and KID per intervention."""
    summary = {}
    for name, scores in by_answer.items():
        worst = max(scores, key=lambda s: s["tvd"]["mean"])
        by_thickness = {}
        for code, label in enumerate(THICKNESSES):
            own = [s["tvd"]["mean"] for s in scores if s.get("x", {}).get("thickness") == code]
            if own:
                by_thickness[label] = sum(own) / len(own)
        summary[name] = {
            "tvd_mean": sum(s["tvd"]["mean"] for s in scores) / len(scores),
            **{f"tvd_{a}": sum(s["tvd"][a] for s in scores) / len(scores) for a in ATTRIBUTES},
            "tvd_worst": worst["tvd"]["mean"],
            "worst": {"x": worst.get("x"), **{f"tvd_{a}": worst["tvd"][a] for a in ATTRIBUTES}},
            "tvd_by_thickness": by_thickness,
            "fid": [s["fid"] for s in scores],
            "kid": [s["kid"] for s in scores],
        }
    return summary


def _write_grid(path: str, grid_rows: list[tuple[torch.Tensor, list[torch.Tensor]]]) -> None:
    """Per intervention one row per answer (ID-GEN first, then the baselines when trained): [x | Y samples]."""
    images = []
    for x, answers in grid_rows:
        blank = torch.zeros_like(x[0])
        for samples in answers:
            images += [x[0], blank, *samples]
    per_row = 2 + len(grid_rows[0][1][0])
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    grid = image_grid(torch.stack(images), nrow=per_row, padding=1)
    scale = max(4, 64 // grid_rows[0][0].shape[-1])  # each image at least 64 pixels wide, to be seen
    write_png(path, grid.repeat_interleave(scale, dim=1).repeat_interleave(scale, dim=2))


if __name__ == "__main__":
    sys.exit(main())
