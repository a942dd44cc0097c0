"""DCM: the diffusion causal model LightningModule (Chao et al. 2023, arXiv 2302.00860).

One conditional generator per node of a causal DAG (diffusion for continuous nodes, a Gumbel-max
classifier for discrete ones, the empirical distribution for roots). A training step sums the
losses of every node on the same batch, so the whole graph trains in one Lightning run and every
parameter receives a gradient at every step (DDP needs no ``find_unused_parameters``).

Example::

    from functools import partial

    import lightning as L

    from lightning_causal.datamodules import SCMDataModule
    from lightning_causal.mechanisms import MechanismConfig
    from lightning_causal.models import DCM
    from lightning_causal.models.optim import AdamW

    data = SCMDataModule("triangle", "NA")
    model = DCM(data.graph, data.variables, MechanismConfig(hidden=64), optimizer=partial(AdamW, lr=1e-3))
    L.Trainer(max_epochs=50).fit(model, data)
    samples = model.sample(1000, interventions={"x1": 0.5}, seed=0)
    counterfactual = model.counterfactual(factual, interventions={"x2": lambda v: v + 1}, seed=0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor

from lightning_causal.errors import QueryError, listing
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.graph.io import resolve_graph_spec
from lightning_causal.mechanisms import MechanismConfig, MechanismGenerator
from lightning_causal.models.base import CausalModule
from lightning_causal.models.dcm import queries as dcm_queries
from lightning_causal.models.dcm.mechanisms import DCMMechanisms
from lightning_causal.values import check_count
from lightning_causal.variables.spec import VariableSpec, parse_variables, variables_to_dict

__all__ = ["DCM"]


class DCM(CausalModule):
    """A diffusion-based causal model over a DAG.

    Args:
        graph: the causal DAG: a :class:`CausalGraph`, a graph YAML/JSON path, or its dict form.
        variables: the type of each node (``"continuous"``, ``"binary"``, ``{"type": "categorical",
            "classes": k}``, ``{"type": "continuous", "dim": d}``), with the codec statistics the
            data modules compute; nodes left out are 1-d continuous with mean 0 and std 1.
        mechanisms: the architecture of the node mechanisms (:class:`~lightning_causal.mechanisms.MechanismConfig`:
            widths, conditioning, diffusion schedule, roots, backend, images), or its fields as a dict.
        optimizer: builds the optimizer (default: fused AdamW, lr 1e-3); see
            :mod:`lightning_causal.models.optim`.
        scheduler: builds the learning-rate schedule (default: none), e.g.
            ``partial(WarmupCosine, warmup_steps=100)``.
        seed: seeds the diffusion noise of training (rank r uses seed + 1_000_003 r); saved and
            restored with checkpoints, so a resumed run draws the same noise.
        sample_steps: DDIM steps for sampling and abduction (default: all T).
    """

    family = "dcm"

    def __init__(
        self,
        graph: CausalGraph | str | dict[str, Any],
        variables: dict[str, Any] | None = None,
        mechanisms: MechanismConfig | dict[str, Any] | None = None,
        optimizer: OptimizerCallable | None = None,
        scheduler: LRSchedulerCallable | None = None,
        seed: int = 0,
        sample_steps: int | None = None,
    ) -> None:
        super().__init__(optimizer, scheduler, seed)
        causal_graph, declared = resolve_graph_spec(graph)
        specs = parse_variables({**declared, **(variables or {})}, causal_graph.nodes)
        config = MechanismConfig.of(mechanisms)
        self.save_hyperparameters(
            {
                "graph": causal_graph.to_dict(),
                "variables": variables_to_dict(specs),
                "mechanisms": asdict(config),
                "seed": seed,
                "sample_steps": sample_steps,
            }
        )
        self.node_mechanisms = DCMMechanisms(causal_graph, specs, config)

    @property
    def graph(self) -> CausalGraph:
        return self.node_mechanisms.graph

    @property
    def variables(self) -> dict[str, VariableSpec]:
        return self.node_mechanisms.variables

    def node_generator(self, name: str) -> MechanismGenerator:
        """The conditional generator of one node, as a :class:`~lightning_causal.generators.ConditionalGenerator`
        (it shares the mechanisms' weights)."""
        if name not in self.node_mechanisms.trained:
            raise QueryError(f"node {name!r} has no trained generator (roots take the empirical distribution)")
        return MechanismGenerator(self.node_mechanisms, name)

    # ------------------------------------------------------------------ training
    @property
    def loss_names(self) -> list[str]:
        return self.node_mechanisms.trained

    def model_step(self, batch: Mapping[str, Tensor], rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """The summed loss of every node on ``batch``, and the per-node vector (order: ``mechanisms.trained``)."""
        per_node = self.node_mechanisms.loss_vector(batch, rng)
        return per_node.sum(), per_node

    def on_train_batch_start(self, batch: Mapping[str, Tensor], batch_idx: int) -> None:
        if self.current_epoch == 0:  # the empirical roots keep rows of the first epoch
            self.node_mechanisms.observe(batch)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["dcm_root_store"] = self.node_mechanisms.rows.state_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        self.node_mechanisms.rows.load_state_dict(checkpoint.get("dcm_root_store", {}))

    # ------------------------------------------------------------------ queries
    def sample(
        self,
        n: int,
        interventions: Mapping[str, Any] | None = None,
        given: Mapping[str, Any] | None = None,
        seed: int | torch.Generator | None = None,
        sampler: str = "ddim",
        steps: int | None = None,
        eta: float | None = None,
        guidance: float | None = None,
    ) -> dict[str, Tensor]:
        """``n`` samples of every variable, under ``interventions`` (hard values or shift functions).

        ``seed`` (or a ``torch.Generator``) makes the result reproducible; ``sampler`` is ``"ddim"``
        (``steps`` and ``eta`` apply; ``eta`` defaults to ``mechanisms.image.eta`` for image nodes, 0
        for the others) or ``"ddpm"``; ``guidance`` weights classifier-free guidance of image nodes
        (default: ``mechanisms.image.guidance``). A DCM answers interventional queries:
        ``given`` (a condition) is refused.
        """
        self.check_query(interventions or {}, given or {})
        with self.querying():
            return dcm_queries.sample(
                self.node_mechanisms,
                n,
                interventions,
                self.query_rng(seed),
                sampler,
                steps or self.hparams["sample_steps"],
                eta,
                guidance,
            )

    def effect_inputs(self, interventions: Mapping[str, Any]) -> tuple[str, ...]:
        """The covariates of a per-row effect: every variable the intervened ones do not cause."""
        caused = self.graph.descendants(list(interventions)) if interventions else frozenset()
        return tuple(v for v in self.graph.topological_order() if v not in caused)

    def effects(
        self,
        rows: Mapping[str, Tensor],
        interventions: Mapping[str, Any],
        n: int,
        seed: int | torch.Generator | None = None,
        outcomes: Sequence[str] | None = None,
    ) -> dict[str, Tensor]:
        """Each row's potential-outcome distribution: ``n`` draws of ``outcomes`` under the hard ``interventions``
        given the row's covariates (:meth:`effect_inputs`), ``{outcome: (rows, n)}``.

        Without latent confounders, P(y | do(a), c) with c every variable that a does not cause equals
        P(y | do(a, c)) (rule 2 of the do-calculus: c's parents are in c, so no path from c to y is left
        once c's outgoing edges are cut), so the covariates are set as interventions too and the
        network samples the rest. ``outcomes`` default to every variable the intervened ones cause.
        """
        if not interventions:
            raise QueryError("a per-row effect needs an intervention (--do NAME=VALUE)")
        n = check_count(n)
        covariates = self.effect_inputs(interventions)
        caused = [v for v in self.graph.topological_order() if v not in covariates and v not in interventions]
        if outcomes is None:
            outcomes = caused
        for name in outcomes:
            if name not in self.variables:
                raise QueryError(f"unknown outcome {name!r}; the model has {listing(self.variables)}")
            if name not in caused:
                raise QueryError(
                    f"outcome {name!r} is not caused by {', '.join(interventions)}: its value is the row's; "
                    f"the outcomes here are {listing(caused)}"
                )
        missing = [c for c in covariates if c not in rows]
        if missing:
            raise QueryError(
                f"the rows have no column {missing[0]!r}, a covariate of the effect of {', '.join(interventions)} "
                f"(a variable it does not cause); give {listing(covariates)}"
            )
        units = len(rows[covariates[0]]) if covariates else max((len(v) for v in rows.values()), default=1)
        fixed: dict[str, Any] = {c: torch.as_tensor(rows[c]).repeat_interleave(n, dim=0) for c in covariates}
        fixed.update(interventions)
        values = self.sample(units * n, fixed, seed=seed)
        out: dict[str, Tensor] = {}
        for name in outcomes:
            v = values[name].reshape(units, n, *values[name].shape[1:])
            out[name] = v[:, :, 0] if self.variables[name].kind == "continuous" and v.shape[2] == 1 else v
        return out

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
        with self.querying():
            return dcm_queries.counterfactual(
                self.node_mechanisms,
                factual,
                interventions,
                self.query_rng(seed),
                steps or self.hparams["sample_steps"],
                refine,
            )
