"""The trained generators of one ID-GEN dataset: every factor fitted on it, evaluated in banks.

An ID-GEN plan (:class:`~lightning_causal.plan.SamplingPlan`) lists factors "variable given
inputs, on dataset". All factors of one dataset train on the same batches, so they share one
:class:`FactorNetwork`, built like the DCM's network from the same parts:

* the encoded layout (:class:`~lightning_causal.variables.EncodedLayout`) of the dataset's columns;
* a :class:`~lightning_causal.models.dcm.banks.DiffusionBank` for the factors of continuous
  variables (one conditional denoiser per factor, batched), an
  :class:`~lightning_causal.models.dcm.image_bank.ImageDiffusionBank` for image variables (a
  conditional UNet per factor, with classifier-free guidance), a
  :class:`~lightning_causal.models.dcm.banks.ClassifierBank` for categorical and binary ones
  (Gumbel-max, as ID-GEN's released code does for small discrete variables);
* factors without inputs (a marginal, e.g. ID's line-7 root P(W1)) resample rows of their
  dataset (``roots="empirical"``, exact) or are modelled too (``roots="model"``).

Banks are keyed by factor name, since one dataset may hold two factors of the same variable with
different inputs. Values are dicts ``{variable: tensor}`` in data space.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from lightning_causal.errors import NotTrainedError
from lightning_causal.models.dcm.banks import bank_losses, build_banks
from lightning_causal.models.dcm.network import DCMNetworkConfig
from lightning_causal.plan.parts import Factor
from lightning_causal.variables.layout import EncodedLayout
from lightning_causal.variables.spec import VariableSpec

__all__ = ["FactorNetwork"]


class FactorNetwork(nn.Module):
    """The generators of ``factors`` (all trained on one dataset).

    Args:
        factors: the plan's factors on this dataset.
        variables: the spec of every variable (codec statistics of the observed data).
        order: the column order (a topological order of the graph).
        config: the architecture, shared with the DCM (:class:`DCMNetworkConfig`).
    """

    def __init__(
        self,
        factors: Sequence[Factor],
        variables: Mapping[str, VariableSpec],
        order: Sequence[str],
        config: DCMNetworkConfig,
    ) -> None:
        super().__init__()
        self.factors = {f.name: f for f in factors}
        used = {v for f in factors for v in (f.variable, *f.inputs)}
        self.columns = tuple(v for v in order if v in used)
        self.variables = {v: variables[v] for v in self.columns}
        self.layout = EncodedLayout(self.variables, self.columns)
        modelled_roots = config.roots == "model"
        self.empirical = [f.name for f in factors if not f.inputs and not modelled_roots]
        rest = [f for f in factors if f.name not in self.empirical]
        self.max_rows = config.max_root_samples
        self.rows: dict[str, Tensor] = {}  # the kept rows of each empirical factor's variable
        self.diffusion, self.classifiers, self.images = build_banks(
            [f.name for f in rest],
            {f.name: f.inputs for f in factors},
            self.layout,
            self.variables,
            config,
            targets={f.name: f.variable for f in factors},
        )
        self.diffusion_factors = list(self.diffusion.nodes) if self.diffusion is not None else []
        self.classifier_factors = list(self.classifiers.nodes) if self.classifiers is not None else []
        self.image_factors = list(self.images.nodes) if self.images is not None else []

    @property
    def device(self) -> torch.device:
        return self.layout.shift.device

    @property
    def trained(self) -> list[str]:
        """The factors trained by a loss, in the order of :meth:`loss_vector`."""
        return [*self.diffusion_factors, *self.classifier_factors, *self.image_factors]

    # ------------------------------------------------------------------ training
    def keep_rows(self, values: Mapping[str, Tensor], rng: torch.Generator) -> None:
        """Keep up to ``max_root_samples`` rows (drawn without replacement) for the empirical factors."""
        if not self.empirical:
            return
        n = len(next(iter(values.values())))
        pick = torch.randperm(n, generator=rng)[: self.max_rows]
        for name in self.empirical:
            variable = self.factors[name].variable
            self.rows[variable] = values[variable][pick].detach().cpu().clone()

    def loss_vector(self, values: Mapping[str, Tensor], rng: torch.Generator | None = None) -> Tensor:
        """Training losses of the trained factors (DDPM or cross-entropy) on one batch of this dataset."""
        banks = (self.diffusion, self.classifiers, self.images)
        return bank_losses(banks, self.layout.encode(values), values, rng)

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def generate(
        self,
        name: str,
        inputs: Mapping[str, Tensor],
        n: int,
        rng: torch.Generator | None,
        sampler: str = "ddim",
        steps: int | None = None,
        eta: float = 0.0,
        guidance: float | None = None,
    ) -> Tensor:
        """``n`` draws of factor ``name`` given ``inputs`` (one row each), on the network's device.

        ``guidance`` is the classifier-free guidance weight of an image factor (default: the config's).
        """
        factor = self.factors[name]
        device = self.device
        if name in self.empirical:
            store = self.rows.get(factor.variable)
            if store is None or not len(store):
                raise NotTrainedError(
                    f"the factor {factor} has no rows to resample: train the plan first or load a trained checkpoint"
                )
            pick = torch.randint(0, len(store), (n,), generator=rng, device=rng.device if rng is not None else None)
            return store.to(device)[pick.to(device)]
        encoded = self.layout.encode(inputs, factor.inputs) if factor.inputs else None
        if encoded is None:
            encoded = torch.zeros(n, self.layout.width + 1, device=device)
        if name in self.diffusion_factors:
            assert self.diffusion is not None
            index = self.diffusion.index([name], device)
            x0 = self.diffusion.sample(encoded, index, rng, sampler, steps, eta)
            return self.layout.decode(factor.variable, x0[0])
        if name in self.image_factors:
            assert self.images is not None
            index = self.images.index([name], device)
            x0 = self.images.sample(encoded, index, rng, sampler, steps, eta, guidance=guidance)[0]
            return self.layout.decode(factor.variable, x0)
        assert self.classifiers is not None
        index = self.classifiers.index([name], device)
        return self.classifiers.sample(encoded, index, rng)[0]

    # ------------------------------------------------------------------ checkpoints
    def extra_state(self) -> dict[str, Any]:
        """The kept rows (they are data, not parameters: their count depends on the dataset)."""
        return dict(self.rows)

    def load_extra_state(self, state: Mapping[str, Tensor]) -> None:
        self.rows = dict(state)
