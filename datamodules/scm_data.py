"""A LightningDataModule over a member of the DCM structural-equation suite.

The data are generated once, in ``__init__``, from the exact SCM of Chao et al. 2023 (DCM,
arXiv:2302.00860; see :mod:`lightning_causal.scm.dcm_suite`): train, validation and test splits
come from one rng seeded with ``seed``, in that order, so they are reproducible and
distinct. Because the data exist at instantiation, LightningCLI can link ``data.graph`` and
``data.variables`` into the model. The true noise of the test rows is kept, so counterfactuals
are exact.

Example:
    >>> dm = SCMDataModule(scm="chain", variant="NL", n_train=100, n_val=10, n_test=10, batch_size=32)
    >>> batch = next(iter(dm.train_dataloader()))
    >>> sorted(batch), tuple(batch["x1"].shape)
    (['x1', 'x2', 'x3'], (32, 1))
    >>> cf = dm.counterfactuals(dm.test_noise, {"x1": 0.0})
    >>> tuple(cf["x3"].shape)
    (10, 1)
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor
from torch.utils.data import DataLoader

from lightning_causal.data.loaders import tensor_loader
from lightning_causal.datamodules.tensor_data import TensorDataModule
from lightning_causal.errors import DataError
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.scm.dcm_suite import ContinuousSCM, Intervention, make_scm
from lightning_causal.variables.inference import with_statistics
from lightning_causal.variables.spec import VariableSpec

__all__ = ["SCMDataModule"]


class SCMDataModule(TensorDataModule):
    """Observational samples of a DCM-suite SCM, with exact interventional and counterfactual truth.

    Args:
        scm: the suite member: ``chain``, ``triangle``, ``diamond``, ``y`` or ``ladder``.
        variant: ``NL`` (nonlinear additive noise) or ``NA`` (non-additive noise).
        n_train: number of training rows.
        n_val: number of validation rows.
        n_test: number of test rows (their true noise is kept for exact counterfactuals).
        batch_size: rows per batch.
        seed: seeds the data (and the ladder's random weights) and the training shuffle.
        num_workers: DataLoader worker processes.
        layout: the ladder's layout: ``vector`` (ten 3-dimensional nodes) or ``scalar`` (thirty
            1-dimensional nodes, as in the DCM reference code).

    After construction the instance holds ``self.scm`` (the :class:`ContinuousSCM` that generated
    the data), ``self.graph`` (its causal graph), ``self.variables`` (a continuous
    :class:`VariableSpec` per node with the mean and std, ddof 0, of the training split),
    ``self.train_tensors``, ``self.val_tensors`` and ``self.test_tensors`` (``{node: float32
    (rows, dim)}``), and ``self.train_noise``, ``self.val_noise`` and ``self.test_noise`` (the true
    exogenous noise of each split's rows, for exact counterfactuals).
    """

    def __init__(
        self,
        scm: str = "triangle",
        variant: str = "NA",
        n_train: int = 5000,
        n_val: int = 1000,
        n_test: int = 1000,
        batch_size: int = 256,
        seed: int = 0,
        num_workers: int = 0,
        layout: str = "vector",
    ) -> None:
        super().__init__()
        for arg, value, least in (
            ("n_train", n_train, 1),
            ("n_val", n_val, 0),
            ("n_test", n_test, 0),
            ("batch_size", batch_size, 1),
            ("num_workers", num_workers, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise DataError(f"SCMDataModule: {arg} must be an int >= {least}, got {value!r}")
        # not sent to the logger, where their "seed" would clash with the model's (the CLI's config.yaml keeps them)
        self.save_hyperparameters(logger=False)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.scm: ContinuousSCM = make_scm(scm, variant, seed=seed, layout=layout)
        self.graph: CausalGraph = self.scm.graph
        # 1. one seeded stream: train, then validation, then test
        rng = torch.Generator().manual_seed(seed)
        self.train_tensors, self.train_noise = self.scm.sample(n_train, rng)
        self.val_tensors, self.val_noise = self.scm.sample(n_val, rng)
        self.test_tensors, self.test_noise = self.scm.sample(n_test, rng)
        # 2. codec statistics from the training split only (population std, ddof 0)
        self.variables: dict[str, VariableSpec] = with_statistics(self.scm.variables, self.train_tensors)

    # ------------------------------------------------------------------ dataloaders
    def test_dataloader(self) -> DataLoader:
        """Test batches in row order (row i matches ``test_noise`` row i)."""
        return tensor_loader(self.test_tensors, self.batch_size, None, self.num_workers)

    # ------------------------------------------------------------------ exact truth
    def interventional_samples(
        self, n: int, interventions: Mapping[str, Intervention], seed: int = 0
    ) -> dict[str, Tensor]:
        """``n`` exact samples of the mutilated SCM under ``interventions`` (fresh noise from ``seed``)."""
        values, _ = self.scm.sample(n, rng=seed, interventions=interventions)
        return values

    def counterfactuals(
        self, noise: Mapping[str, Tensor], interventions: Mapping[str, Intervention]
    ) -> dict[str, Tensor]:
        """Exact counterfactuals of the rows with this true ``noise`` (e.g. ``test_noise``) under ``interventions``."""
        return self.scm.counterfactual(noise, interventions)
