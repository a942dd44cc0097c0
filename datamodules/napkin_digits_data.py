"""A LightningDataModule over the napkin with coloured-digit images.

The data come from :class:`~lightning_causal.scm.napkin_digits.NapkinDigits`: the napkin graph
``W1 -> W2 -> X -> Y`` with ``W1 <-> X`` (thickness) and ``W1 <-> Y`` (colour), where W1, X and Y
are uint8 RGB images ``(3, size, size)`` of handwritten digits and W2 is categorical (20 classes).
They are generated once, in ``__init__``, from one ``torch.Generator`` seeded with ``seed``: the
training split first, then the validation split, so both are reproducible and distinct. The rows
hold the observed variables only; every image's attribute codes (digit, colour, thickness) are kept
aside in ``train_attributes`` and ``val_attributes`` for diagnostics. Because the data exist at
instantiation, LightningCLI can link ``data.graph`` and ``data.variables`` into the model. The exact
truth lives on ``self.scm``: :meth:`NapkinDigitsDataModule.interventional_samples` draws Y under
``do(X = x)``, ``scm.true_attributes`` and ``scm.conditional_attributes`` give the exact
interventional and observational distributions of Y's attributes.

Example:
    >>> dm = NapkinDigitsDataModule(size=16, n_train=64, n_val=8, batch_size=32)
    >>> batch = next(iter(dm.train_dataloader()))
    >>> sorted(batch), tuple(batch["X"].shape), batch["W2"].dtype
    (['W1', 'W2', 'X', 'Y'], (32, 3, 16, 16), torch.int64)
    >>> dm.graph.bidirected
    (('W1', 'X'), ('W1', 'Y'))
"""

from __future__ import annotations

import os

import torch
from torch import Tensor

from lightning_causal.datamodules.tensor_data import TensorDataModule
from lightning_causal.errors import DataError
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.scm.napkin_digits import AttributeValue, NapkinDigits
from lightning_causal.variables.spec import VariableSpec

__all__ = ["NapkinDigitsDataModule"]

_OBSERVED = ("W1", "W2", "X", "Y")


class NapkinDigitsDataModule(TensorDataModule):
    """Observational samples of the coloured-digits napkin, with its exact interventional truth.

    Args:
        size: the side of the images (even, 8..128).
        n_train: number of training rows.
        n_val: number of validation rows.
        batch_size: rows per batch.
        seed: seeds the data and the training shuffle.
        noise: the flip rate of the SCM's noisy copies (``0 <= noise < 1``).
        strokes: ``"sklearn"`` (scikit-learn's 8x8 digits) or a local MNIST folder holding
            ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (optionally ``.gz``).
        num_workers: DataLoader worker processes.

    After construction the instance holds ``self.scm`` (the :class:`NapkinDigits` that generated
    the data), ``self.graph`` (the napkin with its two bidirected edges), ``self.variables`` (W1, X,
    Y uint8 images ``(3, size, size)``, W2 categorical with 20 classes), ``self.train_tensors`` and
    ``self.val_tensors`` (``{"W1", "W2", "X", "Y"}``), and ``self.train_attributes`` and
    ``self.val_attributes`` (the codes ``"<V>_digit"``, ``"<V>_colour"``, ``"<V>_thickness"`` of V in
    W1, X, Y, int64 ``(rows,)``, row-aligned with the tensors).

    Raises:
        DataError: a size, count, seed or noise out of range, or a bad stroke source.
    """

    def __init__(
        self,
        size: int = 16,
        n_train: int = 10000,
        n_val: int = 1000,
        batch_size: int = 256,
        seed: int = 0,
        noise: float = 0.1,
        strokes: str | os.PathLike[str] = "sklearn",
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= 128 or size % 2:
            raise DataError(f"NapkinDigitsDataModule: size must be an even int in 8..128, got {size!r}")
        for arg, value, least in (
            ("n_train", n_train, 1),
            ("n_val", n_val, 1),
            ("batch_size", batch_size, 1),
            ("num_workers", num_workers, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise DataError(f"NapkinDigitsDataModule: {arg} must be an int >= {least}, got {value!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise DataError(f"NapkinDigitsDataModule: seed must be an int, got {seed!r}")
        if isinstance(noise, bool) or not isinstance(noise, int | float) or not 0 <= noise < 1:
            raise DataError(f"NapkinDigitsDataModule: noise must be a number with 0 <= noise < 1, got {noise!r}")
        if not isinstance(strokes, str | os.PathLike):
            raise DataError(
                f"NapkinDigitsDataModule: strokes must be 'sklearn' or a MNIST folder, got {type(strokes).__name__}"
            )
        # not sent to the logger, where their "seed" would clash with the model's (the CLI's config.yaml keeps them)
        self.save_hyperparameters(logger=False)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.scm = NapkinDigits(size=size, noise=noise, strokes=strokes)
        self.graph: CausalGraph = self.scm.graph
        self.variables: dict[str, VariableSpec] = dict(self.scm.variables)  # images and a category: no statistics
        # one seeded stream: train, then validation
        rng = torch.Generator().manual_seed(seed)
        self.train_tensors: dict[str, Tensor]
        self.val_tensors: dict[str, Tensor]
        self.train_attributes: dict[str, Tensor]
        self.val_attributes: dict[str, Tensor]
        self.train_tensors, self.train_attributes = _split(self.scm.sample(n_train, rng))
        self.val_tensors, self.val_attributes = _split(self.scm.sample(n_val, rng))

    def interventional_samples(
        self,
        n: int,
        digit: AttributeValue,
        colour: AttributeValue,
        thickness: AttributeValue,
        seed: int = 0,
    ) -> dict[str, Tensor]:
        """``n`` exact samples of Y under ``do(X = x)`` for an x with these attributes (fresh randomness from ``seed``).

        Returns:
            ``{"Y": uint8 (n, 3, size, size), "Y_digit", "Y_colour", "Y_thickness": int64 (n,)}``.
        """
        return self.scm.interventional(n, digit, colour, thickness, torch.Generator().manual_seed(seed))


def _split(rows: dict[str, Tensor]) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """The observed variables and the attribute codes of a :meth:`NapkinDigits.sample` draw."""
    return {v: rows[v] for v in _OBSERVED}, {k: t for k, t in rows.items() if k not in _OBSERVED}
