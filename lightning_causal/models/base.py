"""The small shared base of the model families' LightningModules.

:class:`CausalModule` holds what every family (DCM today; ID-GEN, Diff-SCM, DIME, IWDD next) would
otherwise copy:

* the optimizer and learning-rate schedule, injected as callables the way LightningCLI supports
  them (``OptimizerCallable`` / ``LRSchedulerCallable``; default: fused AdamW at lr 1e-3, no
  schedule); a schedule that needs the run's length (``total_steps = None``, as
  :class:`~lightning_causal.models.optim.WarmupCosine`) gets it from the Trainer;
* the per-rank noise RNG of training (rank r seeds ``seed + 1_000_003 r``), every rank's state saved
  in and restored from checkpoints, so a resumed run draws the same noise on every rank;
* one :meth:`model_step` (the summed loss and its per-part vector) that serves training,
  validation and test; validation and test use a fixed noise stream per batch, so their losses
  are comparable across epochs; per-part losses are logged once per epoch (``train/loss_<part>``);
* a guard against silent divergence: a non-finite loss stops training before its backward pass
  (one check per step), and non-finite weights stop it before a checkpoint of them is written and
  at the end of training, with a :class:`~lightning_causal.errors.TrainingError` that names the
  step, the parts of the loss and the parameters that went non-finite; the last checkpoint written
  before stays as it was. A model with non-finite weights refuses queries;
* what a family tells the commands, so that they never test which family they have: its registry
  name (``family``; defining the class registers it, :mod:`~lightning_causal.models.families`), how
  it trains (:meth:`CausalModule.fit_in`, :meth:`CausalModule.check_fit`,
  :meth:`CausalModule.check_command`, :meth:`CausalModule.fit_summary`), how it loads
  (:meth:`CausalModule.load`), and which queries it answers (:meth:`CausalModule.check_query`,
  :meth:`CausalModule.sample`, :meth:`CausalModule.counterfactual`, :meth:`CausalModule.query_text`).
  A family that the commands train and query takes ``graph`` and ``variables`` arguments (the
  command line links them from the data module) and keeps ``variables`` (``{name: VariableSpec}``,
  an attribute or a property): the query commands parse ``--do`` and write values by it.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import lightning as L
import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor

from lightning_causal.errors import ConfigError, QueryError, TrainingError, listing
from lightning_causal.models.checkpoints import FAMILY_CLASS_KEY, FAMILY_KEY, checkpoint_mismatch, migrate_checkpoint
from lightning_causal.models.families import load_model, register_family
from lightning_causal.models.interface import FitContext, QueryLabels
from lightning_causal.models.optim import AdamW
from lightning_causal.randomness import torch_rng

__all__ = ["CausalModule"]

NOISE_STATE_KEY = "noise_rng_state"
NOISE_STATES_KEY = "noise_rng_states"  # every rank's state, in rank order, when several ranks trained
ModuleT = TypeVar("ModuleT", bound="CausalModule")


class CausalModule(L.LightningModule):
    """A LightningModule with injected optimisation, a checkpointed noise RNG and one ``model_step``.

    A subclass that sets the class attribute ``family`` (e.g. ``"dcm"``) is a model family: defining
    it registers it, and checkpoints it writes name it.

    Args:
        optimizer: builds the optimizer from the parameters (default: fused AdamW, lr 1e-3).
        scheduler: builds a learning-rate schedule from the optimizer, stepped every optimizer step
            (default: none).
        seed: seeds the training noise (rank r uses seed + 1_000_003 r).
    """

    family: ClassVar[str] = ""
    """The family's registry name (set by each family's class)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("family"):
            register_family(cls.family, cls)

    def __init__(
        self,
        optimizer: OptimizerCallable | None = None,
        scheduler: LRSchedulerCallable | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.noise_seed = int(seed)
        self._noise: torch.Generator | None = None
        self._noise_state: Tensor | None = None
        self._noise_states: list[Tensor] | None = None
        self._part_loss_sum: Tensor | None = None
        self._part_loss_steps = 0

    # ------------------------------------------------------------------ what a family provides
    @property
    @abstractmethod
    def loss_names(self) -> Sequence[str]:
        """The names of the parts of the loss vector :meth:`model_step` returns (nodes, factors, ...)."""

    @abstractmethod
    def model_step(self, batch: Mapping[str, Tensor], rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """The summed loss on ``batch`` and its per-part vector (order: :attr:`loss_names`)."""

    # ------------------------------------------------------------------ randomness
    def noise_rng(self) -> torch.Generator:
        """The training noise RNG of this rank, on the module's device (restored from a checkpoint)."""
        if self._noise is None or self._noise.device != self.device:
            rng = torch.Generator(device=self.device)
            rng.manual_seed(self.noise_seed + 1_000_003 * self.global_rank)
            states, world = self._noise_states, self.trainer.world_size if self._trainer is not None else 1
            if states is not None and len(states) == world:  # each rank its own saved stream
                rng.set_state(states[self.global_rank].to("cpu", torch.uint8).clone())  # its own storage
            elif self._noise_state is not None and self.global_rank == 0:
                rng.set_state(self._noise_state)
            elif self._noise_state is not None:  # resumed on more ranks than saved: a fresh stream per step
                rng.manual_seed(self.noise_seed + 1_000_003 * self.global_rank + 7_919 * int(self.global_step))
            self._noise_state, self._noise_states = None, None
            self._noise = rng
        return self._noise

    def query_rng(self, seed: int | torch.Generator | None) -> torch.Generator:
        """The RNG of a query: ``seed`` itself if it is a generator, else one seeded with it (0 for None)."""
        return torch_rng(seed, self.device, what="seed")

    @contextmanager
    def querying(self) -> Iterator[None]:
        """Evaluation mode for a query (the previous mode restored after it), refused for non-finite weights."""
        self.check_finite_weights()
        was_training = self.training
        self.eval()
        try:
            yield
        finally:
            self.train(was_training)

    # ------------------------------------------------------------------ steps
    @staticmethod
    def _batch_size(batch: Mapping[str, Tensor]) -> int:
        return len(next(iter(batch.values())))

    def training_step(self, batch: Mapping[str, Tensor], batch_idx: int) -> Tensor:
        loss, parts = self.model_step(batch, self.noise_rng())
        finite = torch.isfinite(loss.detach())
        world = self._trainer.world_size if self._trainer is not None else 1
        if world > 1:  # every rank learns of any rank's divergence in the same step, so all stop together
            ranks = self.all_gather(finite)
            assert isinstance(ranks, Tensor)
            if not bool(ranks.all()):
                bad = [r for r, ok in enumerate(ranks.reshape(-1).tolist()) if not ok]
                self._diverged(
                    f"the training loss went non-finite on rank {listing(bad)} of {world}"
                    + ("" if bool(finite) else f" (here, rank {self.global_rank}: {float(loss.detach())})"),
                    parts,
                    int(self.global_step) + 1,
                )
        elif not bool(finite):  # before backward: the weights are still those of the last good step
            self._diverged(f"the training loss is {float(loss.detach())}", parts, int(self.global_step) + 1)
        self.log("train/loss", loss, prog_bar=True, batch_size=self._batch_size(batch))
        datamodule = getattr(self._trainer, "datamodule", None)
        skipped = getattr(datamodule, "skipped", None)
        if isinstance(skipped, int):  # a streaming data module counts the samples it skipped (each rank its own)
            n = self._batch_size(batch)
            self.log("data/skipped", float(skipped), batch_size=n, sync_dist=True, reduce_fx="sum")
        # per-part losses are summed here and logged once per epoch: one self.log per part and
        # step would cost more than the step itself on a 30-node graph
        parts = parts.detach()
        self._part_loss_sum = parts if self._part_loss_sum is None else self._part_loss_sum + parts
        self._part_loss_steps += 1
        return loss

    def on_train_epoch_end(self) -> None:
        if self._part_loss_sum is None:
            return
        means = self._part_loss_sum / max(1, self._part_loss_steps)
        self.log_dict({f"train/loss_{n}": v for n, v in zip(self.loss_names, means, strict=True)}, sync_dist=True)
        self._part_loss_sum = None
        self._part_loss_steps = 0

    def validation_step(self, batch: Mapping[str, Tensor], batch_idx: int) -> None:
        rng = torch.Generator(device=self.device).manual_seed(10_007 * (batch_idx + 1))
        loss, _ = self.model_step(batch, rng)
        self.log("val/loss", loss, prog_bar=True, batch_size=self._batch_size(batch), sync_dist=True)

    def test_step(self, batch: Mapping[str, Tensor], batch_idx: int) -> None:
        rng = torch.Generator(device=self.device).manual_seed(20_011 * (batch_idx + 1))
        loss, _ = self.model_step(batch, rng)
        self.log("test/loss", loss, batch_size=self._batch_size(batch), sync_dist=True)

    # ------------------------------------------------------------------ divergence
    def nonfinite_parameters(self) -> list[str]:
        """Names of the parameters holding NaN or infinite values.

        One fused norm over all weights first (a norm is finite iff its tensor is, barring
        overflow); only when that is not finite, one check per parameter finds the names.
        """
        named = list(self.named_parameters())
        if not named:
            return []
        params = [p.detach() for _, p in named]
        if bool(torch.isfinite(torch.stack(torch._foreach_norm(params))).all()):
            return []
        finite = torch.stack([torch.isfinite(p).all() for p in params]).cpu()
        return [name for (name, _), ok in zip(named, finite.tolist(), strict=True) if not ok]

    def check_finite_weights(self) -> None:
        """Raise :class:`QueryError` when a parameter holds NaN or infinite values."""
        bad = self.nonfinite_parameters()
        if bad:
            raise QueryError(
                f"the model's weights hold NaN or infinite values ({listing(bad, 4)}): training diverged; "
                "load a checkpoint from before it, or train again with a lower learning rate"
            )

    def _diverged(self, what: str, parts: Tensor | None, step: int) -> None:
        details = [what]
        if parts is not None:
            bad = [n for n, ok in zip(self.loss_names, torch.isfinite(parts.detach()).tolist(), strict=True) if not ok]
            if bad:
                details.append(f"non-finite losses of {listing(bad, 6)}")
        params = self.nonfinite_parameters()
        if params:
            details.append(f"non-finite parameters {listing(params, 4)}")
        raise TrainingError(
            f"training diverged at step {step}: {'; '.join(details)}; training stopped and the last checkpoint "
            "written before this step is kept; lower the learning rate (or check the data) and train again",
            step,
        )

    def _check_weights(self, when: str) -> None:
        if self.nonfinite_parameters():
            self._diverged(f"the weights are NaN or infinite {when}", None, int(self.global_step))

    def on_train_end(self) -> None:
        self._check_weights("at the end of training")  # a run without checkpoints never ends green either

    # ------------------------------------------------------------------ optimisation
    def configure_optimizers(self) -> Any:
        # frozen parameters (a staged model's other stages) stay out of the optimizer
        optimizer = (self.optimizer_factory or AdamW)([p for p in self.parameters() if p.requires_grad])
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer)
        if getattr(scheduler, "total_steps", 0) is None:  # a schedule over the whole run
            scheduler.total_steps = max(1, int(self.trainer.estimated_stepping_batches))  # type: ignore[attr-defined]
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        trainer = self._trainer
        if trainer is not None and trainer.training:
            self._check_weights("when the checkpoint of this step was about to be saved")
        if self._noise is not None:
            state = self._noise.get_state()
            checkpoint[NOISE_STATE_KEY] = state
            if trainer is not None and trainer.world_size > 1:  # every rank saves: rank 1's noise is not rank 0's
                gathered = self.all_gather(state.to(self.device))
                assert isinstance(gathered, Tensor)
                checkpoint[NOISE_STATES_KEY] = [row.to("cpu", torch.uint8).clone() for row in gathered]
        if self.family:
            checkpoint[FAMILY_KEY] = self.family
            checkpoint[FAMILY_CLASS_KEY] = f"{type(self).__module__}:{type(self).__qualname__}"

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        migrate_checkpoint(checkpoint)  # before Lightning loads the state dict: release-0.1 names
        self.check_resume(checkpoint)
        self._noise = None
        self._noise_state = checkpoint.get(NOISE_STATE_KEY)
        self._noise_states = checkpoint.get(NOISE_STATES_KEY)

    def check_resume(self, checkpoint: Mapping[str, Any], source: str = "the checkpoint") -> None:
        """Refuse, before any weight is loaded, a checkpoint of another family, graph, variable type, query or
        architecture, in one line that says what it holds."""
        problem = checkpoint_mismatch(checkpoint, self.family, self.hparams)
        if problem is not None:
            raise ConfigError(
                f"{source} holds {problem}; resume from a checkpoint this config wrote, or train afresh without it"
            )

    @classmethod
    def load(cls: type[ModuleT], path: str | Path, map_location: Any = "cpu") -> ModuleT:
        """A trained model from a checkpoint (or a run folder holding one), of the family that wrote it.

        Called on a family (``DCM.load(path)``), the checkpoint must be of that family.
        """
        model = load_model(path, map_location)
        if not isinstance(model, cls):
            raise QueryError(
                f"checkpoint {str(path)!r} holds a {type(model).__name__} model, not a {cls.__name__}; "
                f"load it with {type(model).__name__}.load or lightning_causal.models.load_model"
            )
        return model

    # ------------------------------------------------------------------ what commands ask of a family
    def fit_in(self, context: FitContext) -> None:
        """Train from a command: one Lightning run with the command's Trainer (families with stages override)."""
        context.trainer.fit(self, datamodule=context.datamodule, ckpt_path=context.ckpt_path)

    @classmethod
    def check_fit(cls, ckpt_path: str | None, root: str | None) -> None:
        """Refuse, before anything is built, fit settings this family cannot train with (default: none)."""

    def check_command(self, command: str) -> None:
        """Refuse a command (``validate``, ``test``) this family does not run as one Lightning run (default: none)."""

    def fit_summary(self, context: FitContext) -> str | None:
        """The line a command prints when training ended (None: the command's own, naming the checkpoints)."""
        return None

    def check_query(
        self,
        interventions: Mapping[str, Any],
        given: Mapping[str, Any],
        labels: QueryLabels = QueryLabels(),  # noqa: B008 - a frozen record
        counterfactual: bool = False,
    ) -> None:
        """Refuse a query this model does not answer, naming the arguments by ``labels``.

        By default any hard or shift intervention is answered and no condition; a counterfactual
        query only by a family that implements :meth:`counterfactual`.
        """
        if counterfactual and type(self).counterfactual is CausalModule.counterfactual:
            self.counterfactual()  # the family's refusal
        if given:
            raise QueryError(
                f"{labels.given}: a {type(self).__name__} answers interventional queries; a conditional query "
                "P(y | do(x), z) needs an ID-GEN model (model: lightning_causal.models.IDGEN with condition: [...])"
            )

    def query_text(self, interventions: Mapping[str, Any], given: Mapping[str, Any]) -> str:
        """The query in words, for a command's report (``do(x1)``, ``observational``)."""
        return ", ".join(f"do({k})" for k in interventions) or "observational"

    def sample(self, *args: Any, **kwargs: Any) -> dict[str, Tensor]:
        """``n`` samples under ``interventions`` (each family documents its options)."""
        raise QueryError(f"a {type(self).__name__} model does not sample")

    def effects(
        self,
        rows: Mapping[str, Tensor],
        interventions: Mapping[str, Any],
        n: int,
        seed: int | torch.Generator | None = None,
        outcomes: Sequence[str] | None = None,
    ) -> dict[str, Tensor]:
        """Each input row's potential-outcome distribution: ``n`` draws of every outcome under ``interventions``
        given the row's covariates, ``{outcome: (rows, n)}`` (``(rows, n, d)`` for a vector outcome).

        ``lightning-causal effects`` and :mod:`lightning_causal.effects` read them; a family that
        answers them overrides this (the DCM; DIME and IWDD know their outcomes and covariates).
        """
        raise QueryError(
            f"a {type(self).__name__} model does not answer per-row effects; train a DCM (or, next, DIME or IWDD)"
        )

    def effect_inputs(self, interventions: Mapping[str, Any]) -> tuple[str, ...]:
        """The variables an input row of :meth:`effects` must hold (its covariates) under these interventions."""
        return ()

    def counterfactual(self, *args: Any, **kwargs: Any) -> dict[str, Tensor]:
        """Counterfactuals of factual rows (each family that answers them documents its options)."""
        raise QueryError(
            f"a {type(self).__name__} model answers interventional queries (lightning-causal sample); "
            "counterfactuals need a model that abducts its noise, e.g. a DCM"
        )
