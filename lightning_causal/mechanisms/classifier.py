"""Gumbel-max mechanisms of categorical and binary variables: logits from an MLP of the inputs.

A discrete variable's mechanism is a Gumbel-max SCM, v = argmax_j (logit_j(inputs) + g_j) with
standard Gumbel noise g (Oberst & Sontag 2019): trained by cross-entropy, sampled by Gumbel-max,
abducted by the Gumbel posterior and decoded under new inputs with the abducted noise
(:mod:`lightning_causal.generators.gumbel`). :class:`ClassifierBank` evaluates the classifiers of
all its entries as one :class:`~lightning_causal.nets.BatchedMLP` (concatenation conditioning), or
one after another (``backend="separate"``); classes an entry does not have get logit -inf.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lightning_causal.generators.gumbel import gumbel_decode, gumbel_posterior, gumbel_sample
from lightning_causal.mechanisms.bank import MechanismBank, padded_index
from lightning_causal.mechanisms.config import MechanismConfig
from lightning_causal.nets import BatchedMLP, SeparateMLPs
from lightning_causal.variables.layout import EncodedLayout
from lightning_causal.variables.spec import VariableSpec

__all__ = ["ClassifierBank"]


class ClassifierBank(MechanismBank):
    """Gumbel-max mechanisms of discrete variables given their inputs.

    Args:
        entries, inputs, layout, variables, targets: see :class:`MechanismBank` (each target's
            ``classes`` sets its number of logits).
        config: ``classifier_hidden``, ``depth`` and ``backend`` (the classifier MLPs).
    """

    cond: Tensor
    valid: Tensor

    def __init__(
        self,
        entries: Sequence[str],
        inputs: Mapping[str, Sequence[str]],
        layout: EncodedLayout,
        variables: Mapping[str, VariableSpec],
        config: MechanismConfig,
        targets: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(entries, inputs, layout, variables, config, targets)
        classes = [variables[self.targets[n]].classes for n in self.entries]
        conds = [layout.columns(self.inputs[n]) for n in self.entries]
        self.register_buffer("cond", padded_index(conds, layout.pad))
        cmax = max(classes)
        valid = torch.zeros(len(classes), 1, cmax, dtype=torch.bool)
        for k, c in enumerate(classes):
            valid[k, 0, :c] = True
        self.register_buffer("valid", valid)
        true_in = [len(c) for c in conds]
        pmax = self.cond.shape[1]
        if config.backend == "batched":
            self.classifier: nn.Module = BatchedMLP(
                len(conds),
                pmax,
                0,
                cmax,
                hidden=config.classifier_hidden,
                depth=config.depth,
                conditioning="concat",
                true_in=true_in,
                true_cond=[0] * len(conds),
            )
        else:
            self.classifier = SeparateMLPs(
                true_in,
                [0] * len(conds),
                list(classes),
                cmax,
                hidden=config.classifier_hidden,
                depth=config.depth,
                conditioning="concat",
            )

    def logits(self, encoded: Tensor, index: Tensor | None) -> Tensor:
        """Logits (k, B, C) of the entries ``index`` (all when None); missing classes get -inf."""
        rows = self.cond if index is None else self.cond[index]
        x = EncodedLayout.gather(encoded, rows)
        empty = x.new_zeros(*x.shape[:2], 0)
        out = self.classifier(x, empty, index)
        valid = self.valid if index is None else self.valid[index]
        return out.masked_fill(~valid, float("-inf"))

    def batch_loss(
        self,
        encoded: Tensor,
        values: Mapping[str, Tensor],
        rng: torch.Generator | None,
        index: Tensor | None = None,
    ) -> Tensor:
        """The cross-entropy of each entry ``index`` (all when None), a (k,) vector; codes read from ``values``."""
        names = [self.entries[k] for k in self.positions(index)]
        targets = torch.stack([values[self.targets[n]].to(encoded.device).long() for n in names])
        logits = self.logits(encoded, index)
        ce = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none").view_as(targets)
        return ce.mean(dim=1)

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
        """Class codes of the entries ``names``: Gumbel-max draws, or with ``latents`` the given Gumbel noise."""
        logits = self.logits(encoded, self.index(names, encoded.device))
        if latents is not None:
            return {m: gumbel_decode(logits[k], latents[m].to(logits.device)) for k, m in enumerate(names)}
        return {m: gumbel_sample(logits[k], rng) for k, m in enumerate(names)}

    def abduct(
        self,
        encoded: Tensor,
        names: Sequence[str],
        values: Mapping[str, Tensor],
        rng: torch.Generator | None,
        steps: int | None = None,
        refine: int = 2,
    ) -> dict[str, Tensor]:
        """Posterior Gumbel noise of the entries ``names`` given their observed codes in ``values``."""
        logits = self.logits(encoded, self.index(names, encoded.device))
        return {
            m: gumbel_posterior(logits[k], values[self.targets[m]].to(logits.device).long(), rng)
            for k, m in enumerate(names)
        }
