"""The base of the data modules whose splits are in memory: rows as ``{variable: tensor}`` per split.

:class:`TensorDataModule` satisfies the data contract (:class:`~lightning_causal.data.RowSource`):
``variables`` (specs with the training rows' statistics) and ``rows(split)``; its loaders are the
batch-fetching, resumable ones of :mod:`lightning_causal.data.loaders`.
"""

from __future__ import annotations

import lightning
import torch
from torch.utils.data import DataLoader

from lightning_causal.data.loaders import tensor_loader
from lightning_causal.errors import DataError, listing
from lightning_causal.variables.spec import VariableSpec

__all__ = ["TensorDataModule"]


class TensorDataModule(lightning.LightningDataModule):
    """A data module whose splits are in memory: ``train_tensors`` and ``val_tensors``, ``{variable: tensor}``.

    Subclasses set those two, ``variables`` and ``graph``, and ``batch_size``, ``seed`` and
    ``num_workers``; training batches are shuffled reproducibly (seeded with ``seed``) and resumable,
    validation batches come in row order.
    """

    train_tensors: dict[str, torch.Tensor]
    val_tensors: dict[str, torch.Tensor]
    variables: dict[str, VariableSpec]
    batch_size: int
    seed: int
    num_workers: int

    def rows(self, split: str = "train") -> dict[str, torch.Tensor]:
        """The rows of ``split`` (``"train"``, ``"val"``, and ``"test"`` where the module has it)."""
        tensors = getattr(self, f"{split}_tensors", None)
        if not isinstance(tensors, dict):
            have = [s for s in ("train", "val", "test") if isinstance(getattr(self, f"{s}_tensors", None), dict)]
            raise DataError(f"{type(self).__name__} has no split {split!r}; it has {listing(have)}")
        return dict(tensors)

    def train_dataloader(self) -> DataLoader[dict[str, torch.Tensor]]:
        """Shuffled training batches ``{variable: tensor}``; the order is seeded with ``seed``."""
        return tensor_loader(self.train_tensors, self.batch_size, self.seed, self.num_workers)

    def val_dataloader(self) -> DataLoader[dict[str, torch.Tensor]]:
        """Validation batches in row order."""
        return tensor_loader(self.val_tensors, self.batch_size, None, self.num_workers)
