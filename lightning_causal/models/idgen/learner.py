"""``plan.fit(data, learner="diffusion")``: any plan fitted with trained generative models, stage by stage.

:class:`DiffusionLearner` builds an :class:`~lightning_causal.models.IDGEN` model of the plan's query
(conditional diffusion for continuous variables, a conditional UNet for images, Gumbel-max
classifiers for discrete ones), trains it with :func:`~lightning_causal.models.idgen.stages.fit_idgen`
in a run folder (a temporary one unless ``run_dir`` is given) and returns its merged sampling network.
The data are a data module or a dict of arrays or tensors; undeclared variables are typed by the one
rule of :mod:`lightning_causal.variables.inference` (:func:`~lightning_causal.data.as_rows`).
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from lightning_causal.data.rows import as_rows
from lightning_causal.errors import QueryError
from lightning_causal.generators.base import ConditionalGenerator
from lightning_causal.mechanisms import MechanismConfig
from lightning_causal.models.idgen.module import IDGEN
from lightning_causal.models.idgen.stages import fit_idgen, stage_trainer_factory
from lightning_causal.models.optim import AdamW
from lightning_causal.plan.parts import Factor
from lightning_causal.plan.sampling_plan import SamplingPlan
from lightning_causal.quiet import quiet
from lightning_causal.sampling.data import PlanData, TensorData
from lightning_causal.sampling.learners import Learner, plan_columns
from lightning_causal.sampling.sampling_network import SamplingNetwork
from lightning_causal.sampling.tensor_space import TensorValueSpace
from lightning_causal.variables.spec import variables_to_dict

__all__ = ["IMAGE_BATCH", "TABLE_BATCH", "DiffusionLearner"]

TABLE_BATCH = 1024
"""Rows per batch of a plan whose variables are numbers and categories (see ``DiffusionLearner``'s batch_size)."""
IMAGE_BATCH = 256
"""Rows per batch of a plan with an image variable."""


class DiffusionLearner(Learner):
    """ID-GEN with generative models, from ``plan.fit(data, learner="diffusion")`` (see the module docstring).

    ``plan.fit(data, learner="diffusion")`` uses the defaults; give an instance for other settings::

        network = plan.fit(data, learner=DiffusionLearner(max_steps=5000, run_dir="runs/napkin"))

    Every stage trains until its validation loss (on 5% of its rows, held out) has had no new best
    for ``patience`` validations (every ``val_every`` steps), and at least ``min_steps`` and at most
    ``max_steps`` steps (:class:`~lightning_causal.callbacks.StopOnPlateau`); ``patience=None``
    trains every stage for exactly ``max_steps`` steps.

    Args:
        max_steps: the most optimizer steps of a stage (with ``patience=None``: the steps of every stage).
        patience: validations without a new best before a stage stops (None: no stopping rule).
        min_steps: the fewest optimizer steps of a stage.
        val_every: steps between validations.
        batch_size: rows per batch (default: :data:`TABLE_BATCH` where every variable is a number or a
            category, :data:`IMAGE_BATCH` where one is an image). The diffusion loss of one row is a
            single noisy draw, so a table's networks need large batches: at 256 rows the built-in
            mixed front-door's learned P(Y | M, x') stays about twice as far from the truth as at
            1024, for the same steps (BENCHMARKS.md, "Batch size").
        mechanisms: the architecture of the factors' mechanisms (:class:`MechanismConfig` or its fields).
        variables: declared types (e.g. ``{"M": {"type": "categorical", "classes": 4}}``); others are
            inferred (:func:`~lightning_causal.variables.infer_spec`). A data module brings its own.
        run_dir: the run folder (resumable); default: a temporary folder removed afterwards.
        lr: the learning rate (AdamW).
        progress: show progress bars.
        generation_guidance: the guidance weight of image factors drawing generated datasets
            (see :class:`~lightning_causal.models.IDGEN`; default: ``mechanisms.image.guidance``).
        trainer_kwargs: more Trainer arguments (e.g. ``accelerator="gpu"``).
    """

    name = "diffusion"

    def __init__(
        self,
        max_steps: int = 10_000,
        batch_size: int | None = None,
        mechanisms: MechanismConfig | Mapping[str, Any] | None = None,
        variables: Mapping[str, Any] | None = None,
        run_dir: str | Path | None = None,
        lr: float = 1e-3,
        progress: bool = True,
        generation_guidance: float | None = None,
        patience: int | None = 6,
        min_steps: int = 1000,
        val_every: int = 250,
        **trainer_kwargs: Any,
    ) -> None:
        self.max_steps = max_steps
        self.patience, self.min_steps, self.val_every = patience, min_steps, val_every
        self.batch_size = batch_size
        self.mechanisms = mechanisms
        self.declared = dict(variables or {})
        self.run_dir = run_dir
        self.lr = lr
        self.progress = progress
        self.generation_guidance = generation_guidance
        self.trainer_kwargs = trainer_kwargs
        self.space = TensorValueSpace({})

    def batch_of(self, plan: SamplingPlan) -> int:
        """Rows per batch: ``batch_size``, or the default of the plan's variables (tables or images)."""
        if self.batch_size is not None:
            return int(self.batch_size)
        images = any(spec.is_image for spec in self.variables.values())  # typed by observe(): the plan's columns
        return IMAGE_BATCH if images else TABLE_BATCH

    def member(self, index: int) -> DiffusionLearner:
        """A copy that types rows as this learner typed its data and trains in ``<run_dir>/member-<index>``."""
        twin = copy.copy(self)
        twin.declared = variables_to_dict(self.variables)
        twin.run_dir = None if self.run_dir is None else Path(self.run_dir) / f"member-{index}"
        return twin

    def observe(self, data: Any, needed: Sequence[str], cardinalities: Mapping[str, int] | None) -> PlanData:
        """The observed rows, checked and typed (:func:`~lightning_causal.data.as_rows`)."""
        source = as_rows(data, needed, self.declared)
        self.variables = dict(source.variables)
        self.space = TensorValueSpace(self.variables)
        return TensorData(source.rows("train"), {v: s.classes for v, s in self.variables.items() if s.is_discrete})

    def fit(self, factors: Sequence[Factor], data: PlanData) -> dict[str, ConditionalGenerator]:
        """Not used: this learner trains whole plans in stages (:meth:`fit_plan`)."""
        raise QueryError("the diffusion learner trains whole plans in stages: call plan.fit(data, learner=...)")

    def fit_plan(
        self,
        plan: SamplingPlan,
        data: Any,
        seed: Any = 0,
        generated_size: int | None = None,
        cardinalities: Mapping[str, int] | None = None,
    ) -> SamplingNetwork:
        """Train an IDGEN model of the plan's query in stages and return its merged sampling network."""
        observed = self.observe(data, plan_columns(plan), cardinalities)
        assert isinstance(observed, TensorData)
        mechanisms = dict(self.mechanisms) if isinstance(self.mechanisms, Mapping) else self.mechanisms
        model = IDGEN(
            plan.graph,
            variables=dict(self.variables),  # type: ignore[arg-type]
            treatment=plan.treatment,
            outcome=plan.outcome,
            condition=plan.condition,
            conditioning=plan.conditioning,
            marginals=plan.marginals,
            mechanisms=mechanisms,
            optimizer=partial(AdamW, lr=self.lr),
            seed=int(seed),
            generated_size=generated_size,
            generation_guidance=self.generation_guidance,
        )
        factory = stage_trainer_factory(
            self.max_steps,
            progress=self.progress,
            patience=self.patience,
            min_steps=min(self.min_steps, self.max_steps),
            val_every=self.val_every,
            **self.trainer_kwargs,
        )
        with quiet(), tempfile.TemporaryDirectory(prefix="idgen-") as scratch:
            folder = self.run_dir if self.run_dir is not None else scratch
            fit_idgen(model, observed.columns, folder, factory, self.batch_of(plan), progress=self.progress)
        model.eval()
        return model.sampling_network()
