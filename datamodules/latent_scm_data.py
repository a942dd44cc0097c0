"""A LightningDataModule over a ground-truth SCM with latent confounders.

The data are generated once, in ``__init__``, from the exact model of
:mod:`lightning_causal.scm.latent` (``backdoor``, ``frontdoor``, ``napkin``, ``napkin_mixed``,
``verma``, ``conditional``, ``frontdoor_mixed`` or ``napkin_conditional``): the training and
validation splits come from one generator seeded with ``seed``, in that order, so they are
reproducible and distinct. The latents
are drawn and discarded: the rows hold the observed variables only, and ``graph`` carries a
bidirected edge per latent. Because the data exist at instantiation, LightningCLI can link
``data.graph`` and ``data.variables`` into the model. Exact interventional and conditional
interventional samples come from :meth:`LatentSCMDataModule.interventional_samples` and
:meth:`LatentSCMDataModule.conditional_samples`.

Example:
    >>> dm = LatentSCMDataModule(scm="napkin_mixed", n_train=100, n_val=10, batch_size=32)
    >>> batch = next(iter(dm.train_dataloader()))
    >>> sorted(batch), tuple(batch["Y"].shape), batch["X"].dtype
    (['W1', 'W2', 'X', 'Y'], (32, 1), torch.int64)
    >>> dm.graph.bidirected
    (('W1', 'X'), ('W1', 'Y'))
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from lightning_causal.datamodules.tensor_data import TensorDataModule
from lightning_causal.errors import DataError
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.scm.latent import InterventionValue, LatentSCM, make_latent_scm
from lightning_causal.variables.inference import with_statistics
from lightning_causal.variables.spec import VariableSpec

__all__ = ["LatentSCMDataModule"]


class LatentSCMDataModule(TensorDataModule):
    """Observational samples of a latent-confounder SCM, with exact (conditional) interventional truth.

    Args:
        scm: the built-in model: ``backdoor``, ``frontdoor``, ``napkin``, ``napkin_mixed``,
            ``verma``, ``conditional``, ``frontdoor_mixed`` or ``napkin_conditional``.
        n_train: number of training rows.
        n_val: number of validation rows.
        batch_size: rows per batch.
        seed: seeds the data and the training shuffle.
        num_workers: DataLoader worker processes.

    After construction the instance holds ``self.scm`` (the :class:`LatentSCM` that generated the
    data), ``self.graph`` (its graph over the observed variables, with a bidirected edge per
    latent), ``self.variables`` (a :class:`VariableSpec` per variable; a continuous one carries the
    mean, std (ddof 0), min and max of the training split, a discrete one is as the SCM declares
    it), and ``self.train_tensors`` and ``self.val_tensors`` (``{variable: float32 (rows, 1)}`` or
    ``{variable: int64 codes (rows,)}``).

    Raises:
        DataError: a count or size that is not an int in range.
        QueryError: an unknown ``scm`` (the message lists the built-ins).
    """

    def __init__(
        self,
        scm: str = "frontdoor",
        n_train: int = 5000,
        n_val: int = 500,
        batch_size: int = 256,
        seed: int = 0,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        for arg, value, least in (
            ("n_train", n_train, 1),
            ("n_val", n_val, 0),
            ("batch_size", batch_size, 1),
            ("num_workers", num_workers, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise DataError(f"LatentSCMDataModule: {arg} must be an int >= {least}, got {value!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise DataError(f"LatentSCMDataModule: seed must be an int, got {seed!r}")
        # not sent to the logger, where their "seed" would clash with the model's (the CLI's config.yaml keeps them)
        self.save_hyperparameters(logger=False)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.scm: LatentSCM = make_latent_scm(scm)
        self.graph: CausalGraph = self.scm.graph
        # 1. one seeded stream: train, then validation
        rng = torch.Generator().manual_seed(seed)
        self.train_tensors: dict[str, Tensor] = self.scm.sample(n_train, seed=rng)
        self.val_tensors: dict[str, Tensor] = self.scm.sample(n_val, seed=rng)
        # 2. codec statistics of the continuous variables from the training split only (population std)
        self.variables: dict[str, VariableSpec] = with_statistics(self.scm.variables, self.train_tensors)

    # ------------------------------------------------------------------ dataloaders
    # ------------------------------------------------------------------ exact truth
    def interventional_samples(
        self, n: int, interventions: Mapping[str, InterventionValue], seed: int = 0
    ) -> dict[str, Tensor]:
        """``n`` exact samples of the mutilated SCM under ``interventions`` (fresh latents and noise from ``seed``)."""
        return self.scm.sample(n, interventions=interventions, seed=seed)

    def conditional_samples(
        self,
        n: int,
        interventions: Mapping[str, InterventionValue],
        given: Mapping[str, int | Tensor],
        seed: int = 0,
    ) -> dict[str, Tensor]:
        """``n`` exact samples of P(observed | do(interventions), given) for discrete ``given`` variables."""
        return self.scm.conditional(n, interventions, given, seed=seed)
