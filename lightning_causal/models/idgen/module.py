"""IDGEN: an identified causal query answered by trained conditional generative models.

ID-GEN (Rahman, Jordan & Kocaoglu, NeurIPS 2024) follows ID's recursion: it trains one conditional
model per factor of the identified estimand, generates new training datasets where ID's line 7
changes the distribution (and, for a conditional query, samples the joint network to train the
outcome given the conditions: IDC-GEN), and merges the trained models into one sampling network.
The plan of what to train on which dataset is compiled symbolically first
(:func:`~lightning_causal.compile_plan`); this module holds the trained part:

* one :class:`~lightning_causal.models.idgen.FactorMechanisms` per dataset of the plan (diffusion for
  continuous variables, a UNet for images, Gumbel-max classifiers for discrete ones, resampled rows
  for marginals);
* training by stages: stage k trains the factors of the datasets generated from stage k - 1's
  models. :meth:`IDGEN.train_stage` selects a stage; one Lightning run trains it, the losses of
  all its factors summed on every step (a batch of a stage with several datasets maps each
  dataset's name to its batch). The orchestration of the stages (generating the datasets as
  shards, one Lightning run per stage, resuming) is :mod:`lightning_causal.models.idgen.stages`,
  which :meth:`IDGEN.fit_in` runs for ``lightning-causal fit``;
* queries: :meth:`IDGEN.sample` draws the outcome under ``do(treatment)``, given the conditions of a
  conditional query, through the plan's merged sampling network (:meth:`IDGEN.sampling_network`).

A checkpoint of the last stage holds every stage's weights: it is the trained plan, and
``IDGEN.load_from_checkpoint`` gives it back (``lightning-causal sample`` reads it).

Example::

    model = IDGEN(data.graph, variables=data.variables, treatment="X", outcome="Y")
    # lightning_causal.models.idgen.fit_idgen(model, data, "runs/frontdoor", max_steps=2000) trains it
    samples = model.sample(1000, interventions={"X": 0.5}, seed=0)  # {"Y": (1000, 1) tensor}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn

from lightning_causal.errors import ConfigError, NotTrainedError, QueryError
from lightning_causal.generators.base import ConditionalGenerator
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.graph.io import resolve_graph_spec
from lightning_causal.mechanisms import EmpiricalRows, MechanismConfig, MechanismGenerator
from lightning_causal.models.base import CausalModule
from lightning_causal.models.idgen.factors import FactorMechanisms
from lightning_causal.models.idgen.free_inputs import FREE_INPUTS, FreeInputModel, free_input_model
from lightning_causal.models.idgen.run_folder import stage_steps
from lightning_causal.models.idgen.stages import fit_idgen
from lightning_causal.models.interface import FitContext, QueryLabels
from lightning_causal.plan.compile import compile_plan
from lightning_causal.plan.sampling_plan import SamplingPlan
from lightning_causal.sampling.data import TensorData
from lightning_causal.sampling.learners import plan_columns
from lightning_causal.sampling.sampling_network import SamplingNetwork
from lightning_causal.sampling.tensor_space import TensorValueSpace
from lightning_causal.values import check_assignment
from lightning_causal.variables.spec import VariableSpec, parse_variables, variables_to_dict

__all__ = ["IDGEN", "Query"]

Query = str | Sequence[str] | None
"""Variables of a query: one name, several, or none."""


def _names(value: Query) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


class IDGEN(CausalModule):
    """The trained ID-GEN (IDC-GEN for a conditional query) sampling network of one query.

    Args:
        graph: the causal graph with its latent confounders (bidirected edges): a
            :class:`CausalGraph`, a graph YAML/JSON path, or its dict form.
        variables: the type of each node, with the codec statistics the data modules compute
            (linked from the data module in configs); nodes left out are 1-d continuous.
        treatment: the intervened variables X of P(y | do(x), z).
        outcome: the outcome variables Y.
        condition: the conditioning variables Z of a conditional query (default: none).
        conditioning: how a conditional query meets the conditions it keeps: ``"select"`` trains the
            network of P(y, z | do(x)) and keeps the draws whose z matches (exact up to that network;
            discrete z only), ``"learn"`` trains IDC-GEN's extra stage of y given z, ``"auto"``
            (default) selects where every such condition is discrete and learns otherwise.
        marginals: how the marginal of a generated dataset given the columns it copies is drawn
            (the front-door's P(y | m), Verma's P(y | a, x)): ``"compose"`` (default) runs the
            factors that generate the dataset, so nothing trains on its rows; ``"learn"`` trains a
            factor on them (ID-GEN as published; checkpoints written before this setting).
        mechanisms: the architecture of every factor's mechanism (:class:`~lightning_causal.mechanisms.MechanismConfig`:
            widths, conditioning, diffusion schedule, ``roots`` for factors without inputs, images), or its fields.
        optimizer: builds the optimizer (default: fused AdamW, lr 1e-3).
        scheduler: builds the learning-rate schedule of every stage (default: none).
        seed: seeds the initial weights, the training noise (rank r uses seed + 1_000_003 r), the
            generated datasets and the rows kept for resampling.
        sample_steps: DDIM steps for sampling (default: all T).
        generated_size: rows of every generated dataset (default: 5 times the training rows for datasets of
            numbers and classes, as many for datasets with images; see ``generation.GENERATED_ROWS``).
        generation_guidance: the classifier-free guidance weight of image factors when they draw the
            generated datasets of later stages (default: ``mechanisms.image.guidance``, which is also
            the default of queries). Guidance makes generated rows follow their inputs more closely
            at the cost of diversity: it helps where an image is nearly a function of its inputs
            (a digit copied from its parent), and distorts a distribution that should stay spread.

    Raises:
        NotIdentifiableError: when the query is not identifiable (nothing is built).
    """

    family = "idgen"

    def __init__(
        self,
        graph: CausalGraph | str | dict[str, Any],
        variables: dict[str, Any] | None = None,
        treatment: Query = None,
        outcome: Query = "Y",
        condition: Query = None,
        conditioning: str = "auto",
        marginals: str = "compose",
        mechanisms: MechanismConfig | dict[str, Any] | None = None,
        optimizer: OptimizerCallable | None = None,
        scheduler: LRSchedulerCallable | None = None,
        seed: int = 0,
        sample_steps: int | None = None,
        generated_size: int | None = None,
        generation_guidance: float | None = None,
    ) -> None:
        super().__init__(optimizer, scheduler, seed)
        causal_graph, declared = resolve_graph_spec(graph)
        specs = parse_variables({**declared, **(variables or {})}, causal_graph.nodes)
        config = MechanismConfig.of(mechanisms)
        if generated_size is not None and (
            isinstance(generated_size, bool) or not isinstance(generated_size, int) or generated_size < 1
        ):
            raise QueryError(
                f"generated_size is {generated_size!r}; give a whole number of rows >= 1 (or leave it out)"
            )
        if generation_guidance is not None and (
            isinstance(generation_guidance, bool)
            or not isinstance(generation_guidance, int | float)
            or not 0 <= generation_guidance < float("inf")
        ):
            raise QueryError(
                f"generation_guidance is {generation_guidance!r}; give a weight >= 0 (0: no guidance), or leave it out"
            )
        plan = compile_plan(
            causal_graph, _names(treatment), _names(outcome), _names(condition), conditioning, marginals
        )
        self.plan: SamplingPlan = plan.resolve_conditioning({v for v, s in specs.items() if s.is_discrete})
        self.save_hyperparameters(
            {
                "family": "idgen",
                "graph": causal_graph.to_dict(),
                "variables": variables_to_dict(specs),
                "treatment": list(self.plan.treatment),
                "outcome": list(self.plan.outcome),
                "condition": list(self.plan.condition),
                "conditioning": self.plan.conditioning,
                "marginals": self.plan.marginals,
                "mechanisms": asdict(config),
                "seed": seed,
                "sample_steps": sample_steps,
                "generated_size": generated_size,
                "generation_guidance": None if generation_guidance is None else float(generation_guidance),
            }
        )
        self.variables: dict[str, VariableSpec] = specs
        self.columns = tuple(plan_columns(self.plan))
        order = causal_graph.topological_order()
        self.factor_mechanisms = nn.ModuleDict()
        with torch.random.fork_rng(devices=[]):  # the initial weights follow the seed, not the global RNG
            torch.manual_seed(seed)
            for ds in self.plan.datasets:
                factors = [f for f in self.plan.factors if f.dataset == ds.name]
                if factors:
                    self.factor_mechanisms[ds.name] = FactorMechanisms(factors, specs, order, config)
            # P(w | x) of the free inputs where x holds an image (trained after the stages; else rows are matched)
            self.free_inputs: FreeInputModel | None = free_input_model(self.plan, specs, config)
        self.stage: int | str | None = None
        # rows of the observed data the network's free inputs (ID's line 3) are drawn from
        self.observed = EmpiricalRows(config.max_root_samples)

    # ------------------------------------------------------------------ the plan's structure
    @property
    def graph(self) -> CausalGraph:
        return self.plan.graph

    @property
    def stage_count(self) -> int:
        return len(self.plan.stages)

    def dataset_mechanisms(self, dataset: str) -> FactorMechanisms:
        """The mechanisms of the factors trained on ``dataset``."""
        mechanisms = self.factor_mechanisms[dataset]
        assert isinstance(mechanisms, FactorMechanisms)
        return mechanisms

    @property
    def training_steps(self) -> list[int | str]:
        """What a fit trains, in order: the stages 0..k, then ``"free_inputs"`` for a free-input model."""
        steps: list[int | str] = list(range(self.stage_count))
        return [*steps, FREE_INPUTS] if self.free_inputs is not None else steps

    def stage_datasets(self, stage: int | str) -> list[str]:
        """The datasets whose rows stage ``stage`` trains on, in plan order (the free-input model: ``D0``)."""
        if stage == FREE_INPUTS:
            return ["D0"]
        assert isinstance(stage, int)
        names = {f.dataset for f in self.plan.stages[stage]}
        return [ds.name for ds in self.plan.datasets if ds.name in names]

    def train_stage(self, stage: int | str) -> None:
        """Train stage ``stage`` from now on: its factor networks train, every other one is frozen.

        ``"free_inputs"`` trains the free-input model (:mod:`~lightning_causal.models.idgen.free_inputs`) alone.
        """
        if stage not in self.training_steps:
            extra = f" and {FREE_INPUTS}" if self.free_inputs is not None else ""
            raise QueryError(f"stage {stage} does not exist; the plan has stages 0..{self.stage_count - 1}{extra}")
        self.stage = stage
        active = set() if stage == FREE_INPUTS else set(self.stage_datasets(stage))
        for name, mechanisms in self.factor_mechanisms.items():
            mechanisms.requires_grad_(name in active)
        if self.free_inputs is not None:
            self.free_inputs.requires_grad_(stage == FREE_INPUTS)

    def _active(self) -> list[str]:
        if self.stage is None:
            raise QueryError("choose the stage to train first: model.train_stage(k)")
        return self.stage_datasets(self.stage)

    # ------------------------------------------------------------------ training
    @property
    def loss_names(self) -> list[str]:
        if self.stage == FREE_INPUTS and self.free_inputs is not None:
            return [f"free_{w}" for w in self.free_inputs.free]
        names = []
        for ds in self._active():
            mechanisms = self.dataset_mechanisms(ds)
            names += [f"{n}_{mechanisms.targets[n]}" for n in mechanisms.trained]
        return names

    def model_step(self, batch: Mapping[str, Any], rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """The summed loss of the active stage's factors, and the per-factor vector (order: :attr:`loss_names`).

        ``batch`` is ``{variable: tensor}`` for a stage with one dataset, or ``{dataset: {variable: tensor}}``.
        """
        if self.stage == FREE_INPUTS and self.free_inputs is not None:
            vector = self.free_inputs.loss_vector(batch)
            return vector.sum(), vector
        datasets = self._active()
        nested = all(isinstance(v, Mapping) for v in batch.values())
        parts = [self.dataset_mechanisms(ds).loss_vector(batch[ds] if nested else batch, rng) for ds in datasets]
        vector = torch.cat(parts)
        return vector.sum(), vector

    @staticmethod
    def _batch_size(batch: Mapping[str, Any]) -> int:
        first = next(iter(batch.values()))
        return IDGEN._batch_size(first) if isinstance(first, Mapping) else len(first)

    def keep_rows(self, dataset: str, values: Mapping[str, Tensor], seed: int | None = None) -> None:
        """Keep rows of ``dataset`` for its resampled factors, and for the free network inputs when it is ``D0``.

        The network's fixed inputs (treatment, condition) are kept with them: the free inputs are
        drawn from the rows whose fixed values are nearest to the query's (see ``PlanData.matched_rows``).
        """
        rng = torch.Generator().manual_seed(self.noise_seed if seed is None else seed)
        if dataset in self.factor_mechanisms:
            self.dataset_mechanisms(dataset).keep(values, rng)
        if dataset == "D0" and self.plan.arbitrary:
            self.observed.keep(values, [v for v in self.plan.wiring.inputs if v in values], rng)

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["idgen_rows"] = {
            name: self.dataset_mechanisms(name).rows.state_dict() for name in self.factor_mechanisms
        }
        checkpoint["idgen_observed"] = self.observed.state_dict()
        checkpoint["idgen_stage"] = self.stage

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        if self.free_inputs is not None and "state_dict" in checkpoint:
            # a checkpoint written before free-input models existed: the model stays untrained (rows are matched)
            weights = checkpoint["state_dict"]
            for key, value in self.state_dict().items():
                if key.startswith("free_inputs.") and key not in weights:
                    weights[key] = torch.zeros_like(value) if key == "free_inputs.trained" else value
        for name, rows in checkpoint.get("idgen_rows", {}).items():
            if name in self.factor_mechanisms:
                self.dataset_mechanisms(name).rows.load_state_dict(rows)
        self.observed.load_state_dict(checkpoint.get("idgen_observed", {}))
        stage = checkpoint.get("idgen_stage")
        if stage is not None:
            self.train_stage(stage)

    # ------------------------------------------------------------------ how commands train it
    @classmethod
    def check_fit(cls, ckpt_path: str | None, root: str | None) -> None:
        """An ID-GEN fit resumes from its run folder: no ``ckpt_path``, and the folder must not be a file."""
        if ckpt_path:
            raise ConfigError(
                "an ID-GEN run resumes from its run folder (trainer.default_root_dir), not from --ckpt_path: "
                "run the same command again without it"
            )
        if root and Path(root).exists() and not Path(root).is_dir():
            raise ConfigError(f"trainer.default_root_dir {str(root)!r} is a file; give the run folder (a folder)")

    def fit_in(self, context: FitContext) -> None:
        """Train the plan stage by stage in the run folder ``trainer.default_root_dir`` (resuming what is there).

        Every stage gets a fresh Trainer of the command's settings (``max_steps`` per stage) and fresh
        copies of its callbacks; several processes must be started outside Lightning (srun, torchrun).
        """
        self.check_fit(context.ckpt_path, None)
        trainer = context.trainer
        environment = getattr(trainer.strategy, "cluster_environment", None)
        if trainer.world_size > 1 and not getattr(environment, "creates_processes_externally", False):
            raise ConfigError(
                f"an ID-GEN run on {trainer.world_size} processes needs them started outside Lightning "
                "(srun, e.g. sbatch slurm/train.sbatch, or torchrun): each stage is its own Lightning run, and "
                "Lightning would start new processes for every stage; or train on one device (trainer.devices=1)"
            )
        batch_size = int(getattr(context.datamodule, "batch_size", 256) or 256)
        fit_idgen(
            self,
            context.datamodule,
            Path(trainer.default_root_dir),
            lambda stage, root: context.new_trainer(root),
            batch_size=batch_size,
            progress=trainer.is_global_zero,
        )

    def check_command(self, command: str) -> None:
        """``validate`` and ``test`` run one Lightning run; an ID-GEN model has one per stage."""
        if command in ("validate", "test"):
            raise ConfigError(
                f"lightning-causal {command} runs one Lightning run; an ID-GEN model has one per stage, each "
                "validated while fit trains it (val/loss in the stage's logs): sample its answer with "
                "lightning-causal sample"
            )

    def fit_summary(self, context: FitContext) -> str:
        """Where the trained plan is, and how to sample it."""
        root = Path(context.trainer.default_root_dir)
        stages = self.stage_count
        steps = stage_steps(root)
        took = f" of {', '.join(map(str, steps))} steps" if steps else ""
        free = stage_steps(root, FREE_INPUTS)
        if free and self.free_inputs is not None:
            model = f"P({', '.join(self.free_inputs.free)} | {', '.join(self.free_inputs.fixed)})"
            took += f", then {model} in {free[0]} steps"
        return (
            f"Trained the ID-GEN plan of {self.plan.query} in {stages} stage{'s' * (stages != 1)}{took} "
            f"(run folder {root}). "
            f"The trained plan is {root / 'idgen.ckpt'}: lightning-causal sample --ckpt {root / 'idgen.ckpt'} "
            "--do ... --n ... --out samples.csv"
        )

    # ------------------------------------------------------------------ which queries it answers
    def check_query(
        self,
        interventions: Mapping[str, Any],
        given: Mapping[str, Any],
        labels: QueryLabels = QueryLabels(),  # noqa: B008 - a frozen record
        counterfactual: bool = False,
    ) -> None:
        """Hard interventions on exactly the treatment, and a value for every condition; no counterfactuals."""
        if counterfactual:
            self.counterfactual()
        if any(callable(v) for v in interventions.values()):
            raise QueryError(
                f"{labels.shift}: an ID-GEN model answers hard interventions ({labels.interventions}) on its treatment"
            )
        check_assignment(interventions, self.plan.treatment, labels.interventions, "treatment")
        check_assignment(given, self.plan.condition, labels.given, "condition")

    def query_text(self, interventions: Mapping[str, Any], given: Mapping[str, Any]) -> str:
        """The model's query, e.g. ``P(Y | do(X), Z)``."""
        return self.plan.query

    def counterfactual(self, *args: Any, **kwargs: Any) -> dict[str, Tensor]:
        """Refused: ID-GEN samples interventional and conditional queries, not counterfactuals."""
        raise QueryError(
            f"an ID-GEN model of {self.plan.query} samples interventional and conditional queries "
            "(lightning-causal sample); counterfactuals need a DCM (a DAG without latent confounders)"
        )

    # ------------------------------------------------------------------ queries
    def sampling_network(
        self, sampler: str = "ddim", steps: int | None = None, eta: float | None = None, guidance: float | None = None
    ) -> SamplingNetwork:
        """The merged sampling network over the trained factors (it shares this module's weights).

        ``guidance`` is the classifier-free guidance weight of image factors (default: ``mechanisms.image.guidance``).
        """
        steps = steps or self.hparams["sample_steps"]
        generators: dict[str, ConditionalGenerator] = {
            f.name: MechanismGenerator(self.dataset_mechanisms(f.dataset), f.name, sampler, steps, eta, guidance)
            for f in self.plan.factors
        }
        if self.plan.arbitrary and not self.observed.store:
            raise NotTrainedError(
                f"the network draws {', '.join(self.plan.arbitrary)} from data rows, and none are kept: "
                "train the model first or load a trained checkpoint"
            )
        cards = {v: s.classes for v, s in self.variables.items() if s.is_discrete}
        observed = TensorData({v: t.to(self.device) for v, t in self.observed.store.items()}, cards)
        learned = self.free_inputs if self.free_inputs is not None and bool(self.free_inputs.trained) else None
        return SamplingNetwork(
            self.plan,
            generators,
            observed,
            TensorValueSpace(self.variables, self.device),
            free_inputs=None if learned is None else learned.draw,
        )

    def sample(
        self,
        n: int,
        interventions: Mapping[str, Any] | None = None,
        given: Mapping[str, Any] | None = None,
        seed: int | torch.Generator | None = None,
        sampler: str = "ddim",
        steps: int | None = None,
        eta: float | None = None,
        inputs: Mapping[str, Any] | None = None,
        guidance: float | None = None,
    ) -> dict[str, Tensor]:
        """``n`` samples of the outcome under ``do(interventions)``, given ``given`` (a conditional query).

        ``interventions`` gives every treatment variable a value (a number, a vector, a class code,
        or one value per row), ``given`` every condition variable. ``seed`` (or a
        ``torch.Generator``) makes the result reproducible; ``inputs`` fixes free network inputs
        (see :meth:`SamplingNetwork.sample`); ``guidance`` weights classifier-free guidance of image
        factors (default: ``mechanisms.image.guidance``, 0: the plain conditional models); ``eta`` is
        DDIM's noise (default: ``mechanisms.image.eta`` for image factors, 0 for the others). Returns
        ``{outcome: tensor}`` on the CPU (images as ``(n, C, H, W)``).
        """
        with self.querying():
            network = self.sampling_network(sampler, steps, eta, guidance)
            out = network.sample(n, interventions, given, seed=self.query_rng(seed), inputs=inputs)
        return {k: v.cpu() for k, v in out.items()}

    def __repr__(self) -> str:
        return f"IDGEN({self.plan.query}: {len(self.plan.factors)} factors in {self.stage_count} stages)"
