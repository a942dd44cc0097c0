"""Training throughput in fp32 and bf16-mixed: the DCM's batched network and the image UNet.

    python benchmarks/precision_speed.py [--steps 40] [--size 32] [--out benchmarks/results/precision_cpu.json]

Two models, each trained with a real Lightning Trainer in ``32-true`` and in ``bf16-mixed`` on the
machine's accelerator (a GPU when there is one, else the CPU), the same data, batch and steps:

* ``dcm``: the DCM on the 30-node ladder (27 node networks as one batched network), batch 256;
* ``unet``: a DCM over Z -> X with X a ``size`` x ``size`` RGB image, the UNet of
  ``configs/idgen/napkin_digits_gpu.yaml`` (base 64, multipliers 1-2-2-2, 2 residual blocks,
  attention at 16x16), batch 64.

It reports rows (images) per second after ``--warmup`` steps, their bf16/fp32 ratio in one run,
the UNet training step's model FLOPs (counted by ``torch.utils.flop_counter`` on one step in fp32:
forward and backward) and, on a GPU whose bf16 peak it knows, the model FLOP utilisation.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.flop_counter import FlopCounterMode

from lightning_causal import CausalGraph
from lightning_causal.datamodules import SCMDataModule, TensorDataModule
from lightning_causal.models import DCM
from lightning_causal.variables import VariableSpec

BF16_PEAK = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L40S": 362e12}  # dense bf16 FLOP/s


class _Timer(L.Callback):
    def __init__(self, warmup: int) -> None:
        self.warmup, self.start, self.end, self.steps = warmup, 0.0, 0.0, 0

    def _sync(self) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    def on_train_batch_end(self, trainer: L.Trainer, *_: Any) -> None:
        if trainer.global_step == self.warmup:
            self._sync()
            self.start = time.perf_counter()
        elif trainer.global_step > self.warmup:
            self._sync()
            self.end, self.steps = time.perf_counter(), trainer.global_step - self.warmup


class _Images(TensorDataModule):
    def __init__(self, size: int, rows: int, batch: int) -> None:
        super().__init__()
        self.graph = CausalGraph([("Z", "X")])
        self.variables = {
            "Z": VariableSpec("Z", "categorical", classes=10),
            "X": VariableSpec("X", "image", channels=3, height=size, width=size, dtype="float"),
        }
        rng = torch.Generator().manual_seed(0)
        z = torch.randint(0, 10, (rows,), generator=rng)
        x = torch.rand(rows, 3, size, size, generator=rng)
        self.train_tensors = self.val_tensors = {"Z": z, "X": x}
        self.batch_size, self.seed, self.num_workers = batch, 0, 0


def _models(size: int) -> dict[str, tuple[Any, Any, int]]:
    ladder = SCMDataModule("ladder", "NL", n_train=5000, n_val=0, n_test=0, batch_size=256, layout="scalar")
    images = _Images(size, 2048, 64)
    unet = {"base": 64, "mults": [1, 2, 2, 2], "res_blocks": 2, "attention": [16], "cond_dim": 64}
    return {
        "dcm": (lambda: DCM(ladder.graph, ladder.variables, {"hidden": 64, "depth": 2}), ladder, 256),
        "unet": (lambda: DCM(images.graph, images.variables, {"hidden": 16, "image": unet}), images, 64),
    }


def _step_flops(model: DCM, data: TensorDataModule) -> float:
    batch = {k: v[: data.batch_size] for k, v in data.train_tensors.items()}
    rng = torch.Generator().manual_seed(0)
    with FlopCounterMode(display=False) as counter:
        loss, _ = model.model_step(batch, rng)
        loss.backward()
    return float(counter.get_total_flops())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    results: dict[str, Any] = {"machine": gpu or platform.processor() or platform.machine(), "arms": {}}
    for name, (make, data, batch) in _models(args.size).items():
        for precision in ("32-true", "bf16-mixed"):
            torch.manual_seed(0)
            timer = _Timer(args.warmup)
            trainer = L.Trainer(
                max_steps=args.warmup + args.steps,
                precision=precision,  # type: ignore[arg-type]
                logger=False,
                enable_checkpointing=False,
                enable_model_summary=False,
                enable_progress_bar=False,
                limit_val_batches=0,
                callbacks=[timer],
            )
            trainer.fit(make(), data)
            rate = timer.steps * batch / (timer.end - timer.start)
            results["arms"][f"{name}/{precision}"] = {"rows_per_s": rate}
            print(f"{name:5s} {precision:10s} {rate:10.1f} rows/s", flush=True)
        fp32, bf16 = (results["arms"][f"{name}/{p}"]["rows_per_s"] for p in ("32-true", "bf16-mixed"))
        results["arms"][f"{name}/bf16_over_fp32"] = bf16 / fp32
        print(f"{name:5s} bf16/fp32  {bf16 / fp32:10.2f}x", flush=True)
    make, data, batch = _models(args.size)["unet"]
    flops = _step_flops(make(), data)
    rate = results["arms"]["unet/bf16-mixed"]["rows_per_s"]
    results["unet_step_flops"] = flops
    results["unet_bf16_flops_per_s"] = flops * rate / batch
    peak = next((v for k, v in BF16_PEAK.items() if gpu and k in gpu), None)
    results["unet_bf16_mfu"] = results["unet_bf16_flops_per_s"] / peak if peak else None
    print(f"unet step {flops / 1e9:.1f} GFLOP; bf16 {results['unet_bf16_flops_per_s'] / 1e9:.1f} GFLOP/s", flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
