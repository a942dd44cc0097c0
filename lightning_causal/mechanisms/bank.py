"""What every bank of mechanisms shares: its entries, their inputs and targets, and the calls a bank set makes.

A *mechanism* is a trainable conditional model of one variable given its inputs; a *bank* holds the
mechanisms of many *entries* (a DCM's nodes, an ID-GEN dataset's factors) whose variables are of the
kinds it serves, and evaluates them together. Every bank reads its entries' targets and inputs from
the shared encoded matrix of an :class:`~lightning_causal.variables.EncodedLayout`, so the
:class:`~lightning_causal.mechanisms.BankSet` that owns the banks makes the same three calls on each:

* :meth:`MechanismBank.batch_loss`: the training loss of every entry (or of the entries ``index``) on one batch;
* :meth:`MechanismBank.generate`: values in data space of some entries given their inputs (fresh draws,
  or, with ``latents``, the deterministic decoding of abducted latents);
* :meth:`MechanismBank.abduct`: the latents (exogenous-noise proxies) of some entries given factual values.

A bank is built by ``Bank(entries, inputs, layout, variables, config, targets)`` and registered for
the variable kinds it serves (:func:`~lightning_causal.mechanisms.register_bank`).
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from lightning_causal.variables.layout import EncodedLayout
from lightning_causal.variables.spec import VariableSpec

if TYPE_CHECKING:
    from lightning_causal.mechanisms.config import MechanismConfig

__all__ = ["MechanismBank", "padded_index"]


def padded_index(rows: list[list[int]], pad: int) -> Tensor:
    """Index rows (column indices of the layout) padded with ``pad`` (its zero column) to a common length."""
    size = max((len(r) for r in rows), default=0)
    return torch.tensor([r + [pad] * (size - len(r)) for r in rows], dtype=torch.long).reshape(len(rows), size)


class MechanismBank(nn.Module, metaclass=ABCMeta):
    """The mechanisms of ``entries``, each modelling ``targets[entry]`` given ``inputs[entry]``.

    Args:
        entries: the entries' names, in sampling order.
        inputs: the conditioning variables of every entry.
        layout: the encoded layout the bank reads.
        variables: the specs of the layout's variables.
        config: the architecture (:class:`~lightning_causal.mechanisms.MechanismConfig`).
        targets: the variable each entry models (default: the entry's own name, as for a DCM's nodes).
    """

    def __init__(
        self,
        entries: Sequence[str],
        inputs: Mapping[str, Sequence[str]],
        layout: EncodedLayout,
        variables: Mapping[str, VariableSpec],
        config: MechanismConfig,
        targets: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.entries = tuple(entries)
        self.position = {n: k for k, n in enumerate(self.entries)}
        self.targets = {n: (targets or {}).get(n, n) for n in self.entries}
        self.inputs = {n: tuple(inputs[n]) for n in self.entries}

    def index(self, names: Sequence[str], device: torch.device) -> Tensor:
        """The bank positions of ``names`` as an index tensor."""
        return torch.tensor([self.position[m] for m in names], device=device)

    def positions(self, index: Tensor | None) -> list[int]:
        """The positions ``index`` as a list (all entries when None)."""
        return list(range(len(self.entries))) if index is None else [int(i) for i in index.tolist()]

    @abstractmethod
    def batch_loss(
        self,
        encoded: Tensor,
        values: Mapping[str, Tensor],
        rng: torch.Generator | None,
        index: Tensor | None = None,
    ) -> Tensor:
        """The training loss of every entry ``index`` (all when None) on one batch, a ``(k,)`` vector."""

    @abstractmethod
    def generate(
        self,
        encoded: Tensor,
        names: Sequence[str],
        layout: EncodedLayout,
        rng: torch.Generator | None,
        sampler: str = "ddim",
        steps: int | None = None,
        eta: float | None = None,
        guidance: float | None = None,
        latents: Mapping[str, Tensor] | None = None,
    ) -> dict[str, Tensor]:
        """Values in data space of the entries ``names`` given the inputs in ``encoded``.

        With ``latents`` (one per entry: counterfactual prediction) the values are decoded from those
        latents deterministically. ``sampler``, ``steps``, ``eta`` and ``guidance`` apply to diffusion
        banks (DDIM or DDPM, classifier-free guidance of images) and are ignored by the others.
        """

    @abstractmethod
    def abduct(
        self,
        encoded: Tensor,
        names: Sequence[str],
        values: Mapping[str, Tensor],
        rng: torch.Generator | None,
        steps: int | None = None,
        refine: int = 2,
    ) -> dict[str, Tensor]:
        """The latents of the entries ``names`` given their factual values (in ``encoded`` and ``values``)."""
