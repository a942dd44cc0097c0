"""Conditional diffusion mechanisms of continuous variables: one small denoiser per entry, evaluated as one network.

A causal graph with N continuous modelled nodes needs N small conditional denoisers
eps_theta(x_t, t, inputs); :class:`DiffusionBank` evaluates them together (``backend="batched"``:
stacked weights and batched matmuls, :class:`~lightning_causal.nets.BatchedMLP`) or one after
another (``backend="separate"``, the reference layout kept for comparison). Each entry reads its
target and its inputs from the shared encoded matrix with index tables, and every method takes the
bank positions of the entries to evaluate, so the batched training loss, level-by-level sampling and
one entry's generator view share one code path.

The math is DCM's (Chao et al. 2023, Sec. 3): the DDPM loss (Ho et al. 2020), DDIM / DDPM sampling
and DDIM inversion for abduction (Song et al. 2021), all from :mod:`lightning_causal.diffusion`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lightning_causal.diffusion import NoiseSchedule, ddim_encode, ddpm_loss, denoise
from lightning_causal.mechanisms.bank import MechanismBank, padded_index
from lightning_causal.mechanisms.config import MechanismConfig
from lightning_causal.nets import BatchedMLP, SeparateMLPs, sinusoidal_embedding
from lightning_causal.variables.layout import EncodedLayout
from lightning_causal.variables.spec import VariableSpec

__all__ = ["CLIP_MARGIN", "DiffusionBank"]

CLIP_MARGIN = 0.1
"""Generated values may leave the training range by this share of its span."""


def _pad_to(x: Tensor, width: int) -> Tensor:
    return F.pad(x, (0, width - x.shape[-1]))


class DiffusionBank(MechanismBank):
    """Conditional diffusion models of continuous variables (vectors of any dimension) given their inputs.

    Args:
        entries, inputs, layout, variables, targets: see :class:`MechanismBank`; the specs' ``low`` /
            ``high`` training range sets each entry's x0 clip range.
        config: ``hidden``, ``depth``, ``conditioning``, ``backend`` (the denoisers), ``time_dim``, and
            ``timesteps``, ``schedule``, ``beta_start``, ``beta_end`` (the noise schedule).
    """

    target: Tensor
    cond: Tensor
    mask: Tensor
    clip_low: Tensor
    clip_high: Tensor
    time_table: Tensor

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
        self.schedule = NoiseSchedule(config.timesteps, config.schedule, config.beta_start, config.beta_end)
        # the time embedding of every step, looked up instead of recomputed at every call
        self.register_buffer(
            "time_table",
            sinusoidal_embedding(torch.arange(config.timesteps), config.time_dim),
            persistent=False,
        )
        targets_columns = [layout.columns([self.targets[n]]) for n in self.entries]
        conds = [layout.columns(self.inputs[n]) for n in self.entries]
        self.register_buffer("target", padded_index(targets_columns, layout.pad))
        self.register_buffer("cond", padded_index(conds, layout.pad))
        dmax = self.target.shape[1]
        mask = torch.zeros(len(targets_columns), 1, dmax)
        for k, cols in enumerate(targets_columns):
            mask[k, 0, : len(cols)] = 1.0
        self.register_buffer("mask", mask)
        # the clip range of each entry's x0 estimate (standardised): the training range widened by
        # CLIP_MARGIN of its span; unbounded where the spec has no range
        low = torch.full((len(targets_columns), 1, dmax), -torch.inf)
        high = torch.full((len(targets_columns), 1, dmax), torch.inf)
        for k, n in enumerate(self.entries):
            spec = variables[self.targets[n]]
            if spec.low is None or spec.high is None:
                continue
            a, _ = layout.slices[self.targets[n]]
            lo = (torch.tensor(spec.low) - layout.shift[a : a + spec.dim]) / layout.scale[a : a + spec.dim]
            hi = (torch.tensor(spec.high) - layout.shift[a : a + spec.dim]) / layout.scale[a : a + spec.dim]
            span = (hi - lo).clamp(min=1e-6)
            low[k, 0, : spec.dim] = lo - CLIP_MARGIN * span
            high[k, 0, : spec.dim] = hi + CLIP_MARGIN * span
        self.register_buffer("clip_low", low)
        self.register_buffer("clip_high", high)
        true_in = [len(c) for c in targets_columns]
        true_cond = [config.time_dim + len(c) for c in conds]
        cdim = config.time_dim + self.cond.shape[1]
        if config.backend == "batched":
            self.denoiser: nn.Module = BatchedMLP(
                len(targets_columns),
                dmax,
                cdim,
                dmax,
                hidden=config.hidden,
                depth=config.depth,
                conditioning=config.conditioning,
                true_in=true_in,
                true_cond=true_cond,
            )
        else:
            self.denoiser = SeparateMLPs(
                true_in,
                true_cond,
                true_in,
                dmax,
                conditioning=config.conditioning,
                hidden=config.hidden,
                depth=config.depth,
            )

    def eps(self, x_t: Tensor, t: Tensor, cond: Tensor, index: Tensor | None) -> Tensor:
        """eps_theta for the entries ``index`` (all when None): x_t (k, B, D), t (k, B), cond (k, B, P)."""
        c = torch.cat([self.time_table[t].to(x_t.dtype), cond], dim=-1)
        mask = self.mask if index is None else self.mask[index]
        return self.denoiser(x_t, c, index) * mask

    @staticmethod
    def _select(table: Tensor, index: Tensor | None) -> Tensor:
        return table if index is None else table[index]

    def batch_loss(
        self,
        encoded: Tensor,
        values: Mapping[str, Tensor],
        rng: torch.Generator | None,
        index: Tensor | None = None,
    ) -> Tensor:
        """The DDPM loss of each entry ``index`` (all when None) on the batch, a (k,) vector."""
        x0 = EncodedLayout.gather(encoded, self._select(self.target, index))
        cond = EncodedLayout.gather(encoded, self._select(self.cond, index))
        mask = self._select(self.mask, index)
        per_sample = ddpm_loss(lambda x, t: self.eps(x, t, cond, index), self.schedule, x0, rng, mask)
        return per_sample.mean(dim=1)

    def sample(
        self,
        encoded: Tensor,
        index: Tensor,
        rng: torch.Generator | None,
        sampler: str = "ddim",
        steps: int | None = None,
        eta: float | None = None,
        latents: Sequence[Tensor] | None = None,
    ) -> Tensor:
        """Standardised values (k, batch, D) of the entries ``index`` given the inputs in ``encoded``.

        With ``latents`` (one per entry: counterfactual prediction) the DDIM decode is deterministic.
        """
        n = encoded.shape[0]
        cond = EncodedLayout.gather(encoded, self.cond[index])
        mask = self.mask[index]
        if latents is not None:
            z = torch.stack([_pad_to(latent, mask.shape[-1]) for latent in latents]).to(encoded.device)
        else:
            z = torch.randn((len(index), n, mask.shape[-1]), generator=rng, device=encoded.device)
        z = z * mask

        def eps_fn(x: Tensor, t: Tensor) -> Tensor:
            return self.eps(x, t, cond, index)

        clip = (self.clip_low[index], self.clip_high[index])
        if latents is not None or eta is None:  # vectors sample deterministic DDIM unless a query says otherwise
            eta = 0.0
        if latents is not None:
            sampler = "ddim"
        return denoise(eps_fn, self.schedule, z, sampler, steps, eta, rng, clip)

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
        """Values of the entries ``names`` (see :meth:`MechanismBank.generate`); ``guidance`` does not apply."""
        given = None if latents is None else [latents[m] for m in names]
        x0 = self.sample(encoded, self.index(names, encoded.device), rng, sampler, steps, eta, latents=given)
        return {m: layout.decode(self.targets[m], x0[k]) for k, m in enumerate(names)}

    def abduct(
        self,
        encoded: Tensor,
        names: Sequence[str],
        values: Mapping[str, Tensor],
        rng: torch.Generator | None,
        steps: int | None = None,
        refine: int = 2,
    ) -> dict[str, Tensor]:
        """The DDIM latents of the entries ``names`` (padded to the bank's width) given their values and inputs."""
        index = self.index(names, encoded.device)
        cond = EncodedLayout.gather(encoded, self.cond[index])
        x0 = EncodedLayout.gather(encoded, self.target[index])
        z = ddim_encode(lambda x, t: self.eps(x, t, cond, index), self.schedule, x0, steps=steps, refine=refine)
        return dict(zip(names, z, strict=True))
