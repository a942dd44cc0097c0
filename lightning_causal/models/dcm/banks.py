"""The DCM's node models in banks: all diffusion denoisers as one network, all classifiers as another.

A causal graph with N modelled nodes needs N small conditional networks; a bank evaluates them
together (``backend="batched"``: stacked weights and batched matmuls,
:class:`~lightning_causal.nets.BatchedMLP`) or one after another (``backend="separate"``, the
reference layout kept for comparison). Every bank reads its nodes' targets and parents from the
shared encoded matrix of :class:`~lightning_causal.variables.EncodedLayout` with index tables,
and every method takes ``index``, the bank positions of the nodes to evaluate (``None``: all), so
the batched training loss, level-by-level sampling and one node's generator view share one code
path.

* :class:`DiffusionBank`: continuous nodes, a denoiser eps_theta(x_t, t, parents) per node, the
  DDPM loss (Ho et al. 2020), DDIM/DDPM sampling and DDIM inversion (Song et al. 2021) for
  abduction, as in DCM (Chao et al. 2023, Sec. 3).
* :class:`ClassifierBank`: categorical and binary nodes, a Gumbel-max mechanism whose logits an
  MLP computes from the parents (Oberst & Sontag 2019).
* image nodes: :class:`~lightning_causal.models.dcm.image_bank.ImageDiffusionBank`, one conditional
  UNet per node (``image_bank.py``).

Every bank's ``batch_loss(encoded, values, rng)`` gives its entries' losses on one batch;
:func:`bank_losses` concatenates them in the order the banks are given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lightning_causal.diffusion import NoiseSchedule, ddim_encode, ddim_sample, ddpm_loss, ddpm_sample
from lightning_causal.generators.gumbel import gumbel_decode, gumbel_posterior, gumbel_sample
from lightning_causal.models.dcm.bank_base import EntryBank
from lightning_causal.models.dcm.image_bank import ImageDiffusionBank
from lightning_causal.nets import BatchedMLP, sinusoidal_embedding
from lightning_causal.variables.layout import EncodedLayout
from lightning_causal.variables.spec import VariableSpec

if TYPE_CHECKING:
    from lightning_causal.models.dcm.network import DCMNetworkConfig

__all__ = ["BACKENDS", "CLIP_MARGIN", "Bank", "ClassifierBank", "DiffusionBank", "bank_losses", "build_banks"]

BACKENDS = ("batched", "separate")
CLIP_MARGIN = 0.1  # generated values may leave the training range by this share of its span


class _SeparateMLPs(nn.Module):
    """One single-network BatchedMLP per node at its own (unpadded) widths, run in a loop."""

    def __init__(
        self, true_in: Sequence[int], true_cond: Sequence[int], true_out: Sequence[int], out_dim: int, **kwargs: object
    ) -> None:
        super().__init__()
        self.widths = list(zip(true_in, true_cond, true_out, strict=True))
        self.out_dim = out_dim
        self.nets = nn.ModuleList(
            BatchedMLP(1, i, c, o, **kwargs)  # type: ignore[arg-type]
            for i, c, o in self.widths
        )

    def forward(self, x: Tensor, c: Tensor, index: Tensor | None = None) -> Tensor:
        rows = range(len(self.nets)) if index is None else index.tolist()
        outs = []
        for k, node in enumerate(rows):
            i, cw, o = self.widths[node]
            y = self.nets[node](x[k : k + 1, :, :i], c[k : k + 1, :, :cw])
            outs.append(F.pad(y, (0, self.out_dim - o)))
        return torch.cat(outs, dim=0)


def _padded(rows: list[list[int]], pad: int) -> Tensor:
    """Index rows padded with ``pad`` (the layout's zero column) to a common length."""
    size = max((len(r) for r in rows), default=0)
    return torch.tensor([r + [pad] * (size - len(r)) for r in rows], dtype=torch.long).reshape(len(rows), size)


def _pad_to(x: Tensor, width: int) -> Tensor:
    return F.pad(x, (0, width - x.shape[-1]))


class DiffusionBank(EntryBank):
    """Conditional diffusion models of the continuous nodes ``nodes`` given their parents.

    Args:
        nodes: the continuous non-root nodes, in sampling order (or any names of the bank's entries).
        parents: the parents (inputs) of every entry.
        layout: the encoded layout the bank reads.
        variables: the specs (their ``low``/``high`` training range sets the x0 clip range).
        hidden, depth, conditioning, backend: the denoiser (see :class:`~lightning_causal.nets.BatchedMLP`).
        time_dim: width of the sinusoidal time embedding.
        timesteps, schedule, beta_start, beta_end: the noise schedule (:class:`NoiseSchedule`).
    """

    target: Tensor
    cond: Tensor
    mask: Tensor
    clip_low: Tensor
    clip_high: Tensor
    time_table: Tensor

    def __init__(
        self,
        nodes: Sequence[str],
        parents: dict[str, tuple[str, ...]],
        layout: EncodedLayout,
        variables: dict[str, VariableSpec],
        hidden: int,
        depth: int,
        conditioning: str,
        backend: str,
        time_dim: int,
        timesteps: int,
        schedule: str,
        beta_start: float,
        beta_end: float,
        targets: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(nodes, targets)
        self.schedule = NoiseSchedule(timesteps, schedule, beta_start, beta_end)
        # the time embedding of every step, looked up instead of recomputed at every call
        self.register_buffer("time_table", sinusoidal_embedding(torch.arange(timesteps), time_dim), persistent=False)
        targets_columns = [layout.columns([self.targets[n]]) for n in self.nodes]
        conds = [layout.columns(parents[n]) for n in self.nodes]
        self.register_buffer("target", _padded(targets_columns, layout.pad))
        self.register_buffer("cond", _padded(conds, layout.pad))
        dmax = self.target.shape[1]
        mask = torch.zeros(len(targets_columns), 1, dmax)
        for k, cols in enumerate(targets_columns):
            mask[k, 0, : len(cols)] = 1.0
        self.register_buffer("mask", mask)
        # the clip range of each node's x0 estimate (standardised): the training range widened by
        # CLIP_MARGIN of its span; unbounded where the spec has no range
        low = torch.full((len(targets_columns), 1, dmax), -torch.inf)
        high = torch.full((len(targets_columns), 1, dmax), torch.inf)
        for k, n in enumerate(self.nodes):
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
        true_cond = [time_dim + len(c) for c in conds]
        cdim = time_dim + self.cond.shape[1]
        if backend == "batched":
            self.denoiser: nn.Module = BatchedMLP(
                len(targets_columns),
                dmax,
                cdim,
                dmax,
                hidden=hidden,
                depth=depth,
                conditioning=conditioning,
                true_in=true_in,
                true_cond=true_cond,
            )
        else:
            self.denoiser = _SeparateMLPs(
                true_in, true_cond, true_in, dmax, conditioning=conditioning, hidden=hidden, depth=depth
            )

    def eps(self, x_t: Tensor, t: Tensor, cond: Tensor, index: Tensor | None) -> Tensor:
        """eps_theta for the nodes ``index`` (all when None): x_t (k, B, D), t (k, B), cond (k, B, P)."""
        c = torch.cat([self.time_table[t].to(x_t.dtype), cond], dim=-1)
        mask = self.mask if index is None else self.mask[index]
        return self.denoiser(x_t, c, index) * mask

    def _rows(self, table: Tensor, index: Tensor | None) -> Tensor:
        return table if index is None else table[index]

    def loss(self, encoded: Tensor, index: Tensor | None = None, rng: torch.Generator | None = None) -> Tensor:
        """The DDPM loss of each node ``index`` (all when None) on the batch, a (k,) vector."""
        x0 = EncodedLayout.gather(encoded, self._rows(self.target, index))
        cond = EncodedLayout.gather(encoded, self._rows(self.cond, index))
        mask = self._rows(self.mask, index)
        per_sample = ddpm_loss(lambda x, t: self.eps(x, t, cond, index), self.schedule, x0, rng, mask)
        return per_sample.mean(dim=1)

    def batch_loss(self, encoded: Tensor, values: Mapping[str, Tensor], rng: torch.Generator | None) -> Tensor:
        """The losses of every node on one batch (the banks' common training call)."""
        return self.loss(encoded, None, rng)

    def sample(
        self,
        encoded: Tensor,
        index: Tensor,
        rng: torch.Generator | None,
        sampler: str,
        steps: int | None,
        eta: float,
        latents: Sequence[Tensor] | None = None,
    ) -> Tensor:
        """Standardised values (k, batch, D) of the nodes ``index`` given the parents in ``encoded``.

        With ``latents`` (one per node: counterfactual prediction) the DDIM decode is deterministic.
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
        if latents is not None or sampler == "ddim":
            eta_used = 0.0 if latents is not None else eta
            return ddim_sample(eps_fn, self.schedule, z, steps=steps, eta=eta_used, rng=rng, clip=clip)
        if sampler == "ddpm":
            return ddpm_sample(eps_fn, self.schedule, z, rng=rng, clip=clip)
        raise ValueError(f"unknown sampler {sampler!r}; choose ddim or ddpm")

    def abduct(self, encoded: Tensor, index: Tensor, steps: int | None, refine: int) -> Tensor:
        """The DDIM latents (k, batch, D) of the nodes ``index`` given their factual values and parents."""
        cond = EncodedLayout.gather(encoded, self.cond[index])
        x0 = EncodedLayout.gather(encoded, self.target[index])
        return ddim_encode(lambda x, t: self.eps(x, t, cond, index), self.schedule, x0, steps=steps, refine=refine)


class ClassifierBank(EntryBank):
    """Gumbel-max mechanisms of the discrete nodes ``nodes``: logits from an MLP of the parents.

    Args:
        nodes: the categorical and binary non-root nodes, in sampling order.
        parents: the parents of every node.
        layout: the encoded layout the bank reads.
        classes: the number of classes of every node.
        hidden, depth, backend: the classifier MLPs (concatenation conditioning).
        targets: the variable each entry models, where entries are not named after it.
    """

    cond: Tensor
    valid: Tensor

    def __init__(
        self,
        nodes: Sequence[str],
        parents: dict[str, tuple[str, ...]],
        layout: EncodedLayout,
        classes: Sequence[int],
        hidden: int,
        depth: int,
        backend: str,
        targets: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(nodes, targets)
        conds = [layout.columns(parents[n]) for n in self.nodes]
        self.register_buffer("cond", _padded(conds, layout.pad))
        cmax = max(classes)
        valid = torch.zeros(len(classes), 1, cmax, dtype=torch.bool)
        for k, c in enumerate(classes):
            valid[k, 0, :c] = True
        self.register_buffer("valid", valid)
        true_in = [len(c) for c in conds]
        pmax = self.cond.shape[1]
        if backend == "batched":
            self.classifier: nn.Module = BatchedMLP(
                len(conds),
                pmax,
                0,
                cmax,
                hidden=hidden,
                depth=depth,
                conditioning="concat",
                true_in=true_in,
                true_cond=[0] * len(conds),
            )
        else:
            self.classifier = _SeparateMLPs(
                true_in, [0] * len(conds), list(classes), cmax, hidden=hidden, depth=depth, conditioning="concat"
            )

    def logits(self, encoded: Tensor, index: Tensor | None) -> Tensor:
        """Logits (k, B, C) of the nodes ``index`` (all when None); missing classes get -inf."""
        rows = self.cond if index is None else self.cond[index]
        x = EncodedLayout.gather(encoded, rows)
        empty = x.new_zeros(*x.shape[:2], 0)
        out = self.classifier(x, empty, index)
        valid = self.valid if index is None else self.valid[index]
        return out.masked_fill(~valid, float("-inf"))

    def loss(self, encoded: Tensor, targets: Tensor, index: Tensor | None = None) -> Tensor:
        """The cross-entropy of each node ``index`` (all when None), a (k,) vector; ``targets`` (k, B) codes."""
        logits = self.logits(encoded, index)
        ce = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none").view_as(targets)
        return ce.mean(dim=1)

    def batch_loss(self, encoded: Tensor, values: Mapping[str, Tensor], rng: torch.Generator | None) -> Tensor:
        """The cross-entropy of every node on one batch, the class codes read from ``values``."""
        codes = torch.stack([values[self.targets[n]].to(encoded.device).long() for n in self.nodes])
        return self.loss(encoded, codes, None)

    def sample(
        self, encoded: Tensor, index: Tensor, rng: torch.Generator | None, latents: Sequence[Tensor] | None = None
    ) -> list[Tensor]:
        """Class codes of the nodes ``index``: Gumbel-max draws, or with ``latents`` the given Gumbel noise."""
        logits = self.logits(encoded, index)
        if latents is not None:
            return [gumbel_decode(logits[k], latents[k].to(logits.device)) for k in range(len(index))]
        return [gumbel_sample(logits[k], rng) for k in range(len(index))]

    def abduct(
        self, encoded: Tensor, index: Tensor, observed: Sequence[Tensor], rng: torch.Generator | None
    ) -> list[Tensor]:
        """Posterior Gumbel noise of the nodes ``index`` given their observed codes."""
        logits = self.logits(encoded, index)
        return [gumbel_posterior(logits[k], observed[k].to(logits.device).long(), rng) for k in range(len(index))]


Bank = DiffusionBank | ClassifierBank | ImageDiffusionBank


def build_banks(
    entries: Sequence[str],
    inputs: Mapping[str, Sequence[str]],
    layout: EncodedLayout,
    variables: Mapping[str, VariableSpec],
    config: DCMNetworkConfig,
    targets: Mapping[str, str] | None = None,
) -> tuple[DiffusionBank | None, ClassifierBank | None, ImageDiffusionBank | None]:
    """The banks of ``entries`` (in sampling order): a diffusion bank for those whose variable is
    continuous, a classifier bank for the discrete ones, an image bank for images (None where
    there are none).

    ``inputs`` are each entry's conditioning variables; ``targets`` the variable each entry models
    (default: the entry's own name). The banks are built in that order: parameters are initialised
    in this order.
    """
    target = {n: (targets or {}).get(n, n) for n in entries}
    continuous = [n for n in entries if variables[target[n]].kind == "continuous"]
    discrete = [n for n in entries if variables[target[n]].is_discrete]
    images = [n for n in entries if variables[target[n]].is_image]
    parents = {n: tuple(inputs[n]) for n in entries}
    diffusion = classifiers = image_bank = None
    if continuous:
        diffusion = DiffusionBank(
            continuous,
            parents,
            layout,
            dict(variables),
            hidden=config.hidden,
            depth=config.depth,
            conditioning=config.conditioning,
            backend=config.backend,
            time_dim=config.time_dim,
            timesteps=config.timesteps,
            schedule=config.schedule,
            beta_start=config.beta_start,
            beta_end=config.beta_end,
            targets=target,
        )
    if discrete:
        classifiers = ClassifierBank(
            discrete,
            parents,
            layout,
            [variables[target[n]].classes for n in discrete],
            hidden=config.classifier_hidden,
            depth=config.depth,
            backend=config.backend,
            targets=target,
        )
    if images:
        image_bank = ImageDiffusionBank(images, parents, layout, variables, config.image, targets=target)
    return diffusion, classifiers, image_bank


def bank_losses(
    banks: Sequence[Bank | None], encoded: Tensor, values: Mapping[str, Tensor], rng: torch.Generator | None
) -> Tensor:
    """Training losses of every entry of the ``banks`` on one batch (each bank's :meth:`batch_loss`), as one vector."""
    parts = [bank.batch_loss(encoded, values, rng) for bank in banks if bank is not None]
    return torch.cat(parts) if parts else encoded.new_zeros(0)
