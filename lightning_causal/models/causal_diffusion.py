"""CausalDiffusion: the DCM LightningModule (Chao et al. 2023, arXiv 2302.00860).

One conditional generator per node of a causal DAG (diffusion for continuous nodes, a Gumbel-max
classifier for discrete ones, the empirical distribution for roots). A training step sums the
losses of every node on the same batch, so the whole graph trains in one Lightning run and every
parameter receives a gradient at every step (DDP needs no ``find_unused_parameters``).

Example::

    from datamodules.scm import SCMDataModule
    from lightning_causal.models import CausalDiffusion
    import lightning as L

    data = SCMDataModule("triangle", "NA")
    model = CausalDiffusion(data.graph, data.variables)
    L.Trainer(max_epochs=50).fit(model, data)
    samples = model.sample(1000, interventions={"x1": 0.5}, seed=0)
    counterfactual = model.counterfactual(factual, interventions={"x2": lambda v: v + 1}, seed=0)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor

from lightning_causal.graph import CausalGraph
from lightning_causal.graph_io import graph_from_dict, load_graph_spec
from lightning_causal.models import dcm_queries
from lightning_causal.models.dcm_network import DCMNetwork
from lightning_causal.variables import VariableSpec, parse_variables, variables_to_dict

__all__ = ["CausalDiffusion"]


def _resolve_graph(graph: CausalGraph | str | Path | Mapping[str, Any]) -> tuple[CausalGraph, dict[str, Any]]:
    if isinstance(graph, CausalGraph):
        return graph, {}
    if isinstance(graph, str | Path):
        return load_graph_spec(graph)
    data = dict(graph)
    declared = dict(data.pop("variables", None) or {})
    return graph_from_dict(data), declared


def _adamw(params: Any, **kwargs: Any) -> torch.optim.Optimizer:
    """AdamW with the fused kernel (one launch for all parameters) where this torch build has it."""
    params = list(params)
    try:
        return torch.optim.AdamW(params, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):  # pragma: no cover - older torch or unsupported device
        return torch.optim.AdamW(params, **kwargs)


class CausalDiffusion(L.LightningModule):
    """A diffusion-based causal model over a DAG.

    Args:
        graph: the causal DAG: a :class:`CausalGraph`, a graph YAML/JSON path, or its dict form.
        variables: the type of each node (``"continuous"``, ``"binary"``, ``{"type": "categorical",
            "classes": k}``, ``{"type": "continuous", "dim": d}``), with the codec statistics the
            data modules compute; nodes left out are 1-d continuous with mean 0 and std 1.
        hidden: hidden width of every node network.
        depth: hidden layers of every node network.
        conditioning: how a denoiser sees its parents and the time step: ``"film"`` or ``"concat"``.
        time_dim: width of the sinusoidal time embedding.
        timesteps: T, diffusion steps (the DCM reference uses 100).
        schedule: ``"linear"`` or ``"cosine"`` noise schedule (cosine suits long schedules, T >= 1000;
            with T = 100 its last betas near 1 make DDIM's x0 estimate unstable).
        beta_start: first beta of the linear schedule.
        beta_end: last beta of the linear schedule (0.1 in the DCM reference).
        roots: ``"empirical"`` (resample training values) or ``"model"`` (learn them too).
        backend: ``"batched"`` (all node networks as one) or ``"separate"`` (one MLP per node).
        classifier_hidden: hidden width of discrete nodes' classifiers.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        warmup_steps: linear learning-rate warm-up, in optimizer steps.
        cosine_decay: decay the learning rate to zero over the run with a cosine.
        seed: seeds the diffusion noise of training (rank r uses seed + r); saved and restored
            with checkpoints, so a resumed run draws the same noise.
        sample_steps: DDIM steps for sampling and abduction (default: all T).
        max_root_samples: training rows kept per root for empirical sampling.
    """

    def __init__(
        self,
        graph: CausalGraph | str | dict[str, Any],
        variables: dict[str, Any] | None = None,
        hidden: int = 64,
        depth: int = 2,
        conditioning: str = "film",
        time_dim: int = 16,
        timesteps: int = 100,
        schedule: str = "linear",
        beta_start: float = 1e-4,
        beta_end: float = 0.1,
        roots: str = "empirical",
        backend: str = "batched",
        classifier_hidden: int = 64,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        warmup_steps: int = 0,
        cosine_decay: bool = False,
        seed: int = 0,
        sample_steps: int | None = None,
        max_root_samples: int = 10_000,
    ) -> None:
        super().__init__()
        causal_graph, declared = _resolve_graph(graph)
        specs = parse_variables({**declared, **(variables or {})}, causal_graph.nodes)
        network_args: dict[str, Any] = {
            "hidden": hidden,
            "depth": depth,
            "conditioning": conditioning,
            "time_dim": time_dim,
            "timesteps": timesteps,
            "schedule": schedule,
            "beta_start": beta_start,
            "beta_end": beta_end,
            "roots": roots,
            "backend": backend,
            "classifier_hidden": classifier_hidden,
            "max_root_samples": max_root_samples,
        }
        training_args = {
            "lr": lr,
            "weight_decay": weight_decay,
            "warmup_steps": warmup_steps,
            "cosine_decay": cosine_decay,
            "seed": seed,
            "sample_steps": sample_steps,
        }
        self.save_hyperparameters(
            {"graph": causal_graph.to_dict(), "variables": variables_to_dict(specs), **network_args, **training_args}
        )
        self.network = DCMNetwork(causal_graph, specs, **network_args)
        self._noise: torch.Generator | None = None
        self._noise_state: Tensor | None = None
        self._node_loss_sum: Tensor | None = None
        self._node_loss_steps = 0

    @property
    def graph(self) -> CausalGraph:
        return self.network.graph

    @property
    def variables(self) -> dict[str, VariableSpec]:
        return self.network.variables

    # ------------------------------------------------------------------ training
    def _generator(self) -> torch.Generator:
        if self._noise is None or self._noise.device != self.device:
            gen = torch.Generator(device=self.device)
            gen.manual_seed(int(self.hparams["seed"]) + 1_000_003 * self.global_rank)
            if self._noise_state is not None:
                gen.set_state(self._noise_state)
                self._noise_state = None
            self._noise = gen
        return self._noise

    def model_step(self, batch: Mapping[str, Tensor], generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """The summed loss of every node on ``batch``, and the per-node vector (order: ``network.modelled``)."""
        per_node = self.network.loss_vector(batch, generator)
        return per_node.sum(), per_node

    def training_step(self, batch: Mapping[str, Tensor], batch_idx: int) -> Tensor:
        if self.current_epoch == 0:
            self.network.observe_roots(batch)
        loss, per_node = self.model_step(batch, self._generator())
        self.log("train/loss", loss, prog_bar=True, batch_size=len(next(iter(batch.values()))))
        # per-node losses are summed here and logged once per epoch: one self.log per node and
        # step would cost more than the step itself on a 30-node graph
        per_node = per_node.detach()
        self._node_loss_sum = per_node if self._node_loss_sum is None else self._node_loss_sum + per_node
        self._node_loss_steps += 1
        return loss

    def on_train_epoch_end(self) -> None:
        if self._node_loss_sum is None:
            return
        means = self._node_loss_sum / max(1, self._node_loss_steps)
        self.log_dict({f"train/loss_{n}": v for n, v in zip(self.network.modelled, means, strict=True)}, sync_dist=True)
        self._node_loss_sum = None
        self._node_loss_steps = 0

    def validation_step(self, batch: Mapping[str, Tensor], batch_idx: int) -> None:
        # a fixed noise stream per batch: the validation loss is comparable across epochs
        gen = torch.Generator(device=self.device).manual_seed(10_007 * (batch_idx + 1))
        loss, _ = self.model_step(batch, gen)
        self.log("val/loss", loss, prog_bar=True, batch_size=len(next(iter(batch.values()))), sync_dist=True)

    def test_step(self, batch: Mapping[str, Tensor], batch_idx: int) -> None:
        gen = torch.Generator(device=self.device).manual_seed(20_011 * (batch_idx + 1))
        loss, _ = self.model_step(batch, gen)
        self.log("test/loss", loss, batch_size=len(next(iter(batch.values()))), sync_dist=True)

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        optimizer = _adamw(self.parameters(), lr=hp["lr"], weight_decay=hp["weight_decay"])
        warmup, cosine = int(hp["warmup_steps"]), bool(hp["cosine_decay"])
        if not warmup and not cosine:
            return optimizer
        total = max(1, int(self.trainer.estimated_stepping_batches))

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            if not cosine:
                return 1.0
            progress = min(1.0, (step - warmup) / max(1, total - warmup))
            return 0.5 * (1.0 + torch.cos(torch.tensor(progress * torch.pi)).item())

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["dcm_root_store"] = dict(self.network.root_store)
        if self._noise is not None:
            checkpoint["dcm_noise_state"] = self._noise.get_state()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.network.root_store = dict(checkpoint.get("dcm_root_store", {}))
        state = checkpoint.get("dcm_noise_state")
        self._noise = None
        self._noise_state = state

    # ------------------------------------------------------------------ queries
    def _query_generator(self, seed: int | torch.Generator | None) -> torch.Generator:
        if isinstance(seed, torch.Generator):
            return seed
        gen = torch.Generator(device=self.device)
        gen.manual_seed(0 if seed is None else int(seed))
        return gen

    def sample(
        self,
        n: int,
        interventions: Mapping[str, Any] | None = None,
        seed: int | torch.Generator | None = None,
        sampler: str = "ddim",
        steps: int | None = None,
        eta: float = 0.0,
    ) -> dict[str, Tensor]:
        """``n`` samples of every variable, under ``interventions`` (hard values or shift functions).

        ``seed`` (or a ``torch.Generator``) makes the result reproducible; ``sampler`` is ``"ddim"``
        (``steps`` and ``eta`` apply) or ``"ddpm"``.
        """
        was_training = self.training
        self.eval()
        try:
            return dcm_queries.sample(
                self.network,
                n,
                interventions,
                self._query_generator(seed),
                sampler,
                steps or self.hparams["sample_steps"],
                eta,
            )
        finally:
            self.train(was_training)

    def counterfactual(
        self,
        factual: Mapping[str, Tensor],
        interventions: Mapping[str, Any],
        seed: int | torch.Generator | None = None,
        steps: int | None = None,
        refine: int = 2,
    ) -> dict[str, Tensor]:
        """Counterfactuals of the factual rows: abduction (encode), action, prediction (decode).

        ``seed`` matters only for discrete nodes, whose abduction samples the Gumbel posterior.
        """
        was_training = self.training
        self.eval()
        try:
            return dcm_queries.counterfactual(
                self.network,
                factual,
                interventions,
                self._query_generator(seed),
                steps or self.hparams["sample_steps"],
                refine,
            )
        finally:
            self.train(was_training)
