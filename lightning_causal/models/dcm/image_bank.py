"""Image variables' generators: one conditional UNet denoiser per entry, with classifier-free guidance.

Where a DCM node or an ID-GEN factor models an image variable, the vector banks' small MLPs do not
fit; :class:`ImageDiffusionBank` holds one :class:`ImageDenoiser` per such entry instead:

* eps_theta(x_t, t | inputs) is a :class:`~lightning_causal.nets.UNet` (time embedding, residual
  blocks, attention at low resolution, group norm) whose embedding also takes the encoding of all
  the entry's inputs (:class:`~lightning_causal.nets.ConditionEncoder`: image inputs through a
  small CNN, vectors and one-hot categories through an MLP, mixed by a 2-layer MLP), as in ID-GEN's
  released Napkin-MNIST models;
* classifier-free guidance (Ho & Salimans 2021): in training each row's condition is dropped
  (its embedding zeroed) with probability ``cond_dropout``; sampling with guidance weight ``w``
  uses ``(1 + w) eps(x_t | inputs) - w eps(x_t | nothing)``. ``w = 0`` (the default) samples the
  learned conditional itself, which is what a causal query needs; ``w > 0`` trades diversity for
  fidelity (ID-GEN's code uses 1.8);
* images have their own diffusion settings (:class:`ImageNetworkConfig`: T = 1000, linear betas
  1e-4 to 0.02 or a cosine schedule, DDIM with ``sample_steps`` steps by default), apart from the
  vector banks' T = 100.

The bank reads its targets and inputs from the same encoded matrix as the vector banks
(:class:`~lightning_causal.variables.EncodedLayout`: an image is its ``C * H * W`` pixels in
[-1, 1]) and keeps their interface: ``loss`` per entry, ``sample`` and ``abduct`` of the entries
``index``, in standardised (here: [-1, 1]) columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from lightning_causal.diffusion import SCHEDULES, NoiseSchedule, ddim_encode, ddim_sample, ddpm_loss, ddpm_sample
from lightning_causal.diffusion.samplers import EpsFn
from lightning_causal.errors import ConfigError, QueryError
from lightning_causal.models.dcm.bank_base import EntryBank
from lightning_causal.nets.unet import ConditionEncoder, UNet
from lightning_causal.variables.layout import EncodedLayout
from lightning_causal.variables.spec import VariableSpec

__all__ = ["IMAGE_CHUNK", "ImageDenoiser", "ImageDiffusionBank", "ImageNetworkConfig"]

IMAGE_CHUNK = 1024
"""Rows sampled at once by an image denoiser (bounds the activation memory of large queries)."""


@dataclass(frozen=True)
class ImageNetworkConfig:
    """The denoiser and diffusion settings of image variables (``model.init_args.network.image`` in configs)."""

    base: int = 64
    """Channels of the UNet's first level."""
    mults: tuple[int, ...] = (1, 2, 2, 2)
    """Channel multiplier of each level (the image side must be divisible by 2 ** (levels - 1))."""
    res_blocks: int = 2
    """Residual blocks per level."""
    attention: tuple[int, ...] = (16,)
    """Feature-map sides at which the UNet has self-attention (and always in its middle block)."""
    dropout: float = 0.1
    """Dropout inside the residual blocks."""
    groups: int = 8
    """Group-norm groups (must divide every level's channel count)."""
    cond_dim: int = 64
    """Width of the inputs' conditioning embedding."""
    cond_dropout: float = 0.1
    """Probability of dropping a row's condition in training (classifier-free guidance)."""
    guidance: float = 0.0
    """Default guidance weight w at sampling (0: the plain conditional model)."""
    timesteps: int = 1000
    """T, the diffusion steps of image variables."""
    schedule: str = "linear"
    """``"linear"`` or ``"cosine"``."""
    beta_start: float = 1e-4
    """First beta of the linear schedule."""
    beta_end: float = 0.02
    """Last beta of the linear schedule."""
    sample_steps: int = 50
    """DDIM steps when a query does not say."""

    def __post_init__(self) -> None:
        for key in ("base", "res_blocks", "groups", "cond_dim", "timesteps", "sample_steps"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"network.image.{key} is {value!r}; give a whole number >= 1")
        mults = tuple(self.mults)
        if not mults or any(isinstance(m, bool) or not isinstance(m, int) or m < 1 for m in mults):
            raise ConfigError(f"network.image.mults is {self.mults!r}; give a list of whole numbers >= 1, e.g. [1, 2]")
        object.__setattr__(self, "mults", mults)
        object.__setattr__(self, "attention", tuple(self.attention))
        for key in ("dropout", "cond_dropout"):
            value = getattr(self, key)
            if not isinstance(value, int | float) or not 0 <= value < 1:
                raise ConfigError(f"network.image.{key} is {value!r}; give a probability in [0, 1)")
        if not isinstance(self.guidance, int | float) or self.guidance < 0:
            raise ConfigError(f"network.image.guidance is {self.guidance!r}; give a weight >= 0")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"network.image.schedule is {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        if not 0 < self.beta_start < self.beta_end < 1:
            raise ConfigError(
                f"network.image.beta_start {self.beta_start} and beta_end {self.beta_end}: "
                "give 0 < beta_start < beta_end < 1"
            )
        left = float(NoiseSchedule(self.timesteps, self.schedule, self.beta_start, self.beta_end).alphas_cumprod[-1])
        if left > 0.01:
            raise ConfigError(
                f"network.image: with timesteps {self.timesteps} and beta_end {self.beta_end} the last step keeps "
                f"{left:.0%} of the image (abar_T = {left:.3f}), so sampling from pure noise is off the training "
                "distribution; raise beta_end or timesteps"
            )
        if self.sample_steps > self.timesteps:
            raise ConfigError(
                f"network.image.sample_steps is {self.sample_steps}, more than timesteps {self.timesteps}"
            )


class ImageDenoiser(nn.Module):
    """eps_theta(x_t, t | inputs) of one image entry.

    Args:
        shape: the image's ``(C, H, W)``.
        parts: the inputs' shapes for the condition encoder (an image's ``(C, H, W)`` or a vector's width).
        config: the architecture.
    """

    def __init__(
        self, shape: tuple[int, int, int], parts: Sequence[tuple[int, int, int] | int], config: ImageNetworkConfig
    ):
        super().__init__()
        self.shape = shape
        self.encoder = ConditionEncoder(list(parts), config.cond_dim) if parts else None
        self.unet = UNet(
            shape[0],
            shape[1],
            shape[2],
            base=config.base,
            mults=config.mults,
            res_blocks=config.res_blocks,
            attention=config.attention,
            dropout=config.dropout,
            cond_dim=config.cond_dim if parts else 0,
            groups=config.groups,
        )

    def condition(self, inputs: Sequence[Tensor], batch: int) -> Tensor | None:
        """The conditioning embedding of the inputs (None for an entry without inputs)."""
        return None if self.encoder is None else self.encoder(list(inputs), batch)

    def forward(self, x: Tensor, t: Tensor, cond: Tensor | None) -> Tensor:
        """Noise prediction for flat ``x`` (B, C * H * W) at steps ``t`` (B,), flat too."""
        return self.unet(x.reshape(len(x), *self.shape), t, cond).reshape(len(x), -1)


class ImageDiffusionBank(EntryBank):
    """Conditional diffusion models of the image entries ``nodes`` given their inputs.

    Args:
        nodes: the entries (DCM nodes or ID-GEN factors) whose variable is an image, in sampling order.
        parents: the inputs of every entry.
        layout: the encoded layout the bank reads.
        variables: the specs of the layout's variables.
        config: the denoiser and diffusion settings of images.
        targets: the variable each entry models (default: the entry's own name).
    """

    def __init__(
        self,
        nodes: Sequence[str],
        parents: Mapping[str, Sequence[str]],
        layout: EncodedLayout,
        variables: Mapping[str, VariableSpec],
        config: ImageNetworkConfig,
        targets: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(nodes, targets)
        self.config = config
        self.schedule = NoiseSchedule(config.timesteps, config.schedule, config.beta_start, config.beta_end)
        self.target_slices = [layout.slices[self.targets[n]] for n in self.nodes]
        self.input_slices = [[layout.slices[p] for p in parents[n]] for n in self.nodes]
        self.input_shapes: list[list[tuple[int, ...]]] = []
        denoisers = []
        for n in self.nodes:
            shapes: list[tuple[int, ...]] = []
            parts: list[tuple[int, int, int] | int] = []
            for p in parents[n]:
                spec = variables[p]
                if spec.is_image:
                    shapes.append(spec.image_shape)
                    parts.append(spec.image_shape)
                else:
                    shapes.append((spec.encoded_dim,))
                    parts.append(spec.encoded_dim)
            self.input_shapes.append(shapes)
            denoisers.append(ImageDenoiser(variables[self.targets[n]].image_shape, parts, config))
        self.denoisers = nn.ModuleList(denoisers)

    def _denoiser(self, k: int) -> ImageDenoiser:
        net = self.denoisers[k]
        assert isinstance(net, ImageDenoiser)
        return net

    def _inputs(self, encoded: Tensor, k: int) -> list[Tensor]:
        return [
            encoded[:, a:b].reshape(len(encoded), *shape)
            for (a, b), shape in zip(self.input_slices[k], self.input_shapes[k], strict=True)
        ]

    def _target(self, encoded: Tensor, k: int) -> Tensor:
        a, b = self.target_slices[k]
        return encoded[:, a:b]

    def _rows(self, index: Tensor | None) -> list[int]:
        return list(range(len(self.nodes))) if index is None else [int(i) for i in index.tolist()]

    # ------------------------------------------------------------------ training
    def loss(self, encoded: Tensor, index: Tensor | None = None, rng: torch.Generator | None = None) -> Tensor:
        """The DDPM loss of each entry ``index`` (all when None) on the batch, a (k,) vector.

        Each row's condition is dropped with probability ``cond_dropout`` (classifier-free guidance).
        """
        out = []
        batch = len(encoded)
        for k in self._rows(index):
            net = self._denoiser(k)
            cond = net.condition(self._inputs(encoded, k), batch)
            if cond is not None and self.config.cond_dropout > 0:
                keep = torch.rand(batch, generator=rng, device=encoded.device) >= self.config.cond_dropout
                cond = cond * keep.unsqueeze(1).to(cond.dtype)
            x0 = self._target(encoded, k)
            out.append(ddpm_loss(self._eps_fn(net, cond, 0.0), self.schedule, x0, rng).mean())
        return torch.stack(out) if out else encoded.new_zeros(0)

    def batch_loss(self, encoded: Tensor, values: Mapping[str, Tensor], rng: torch.Generator | None) -> Tensor:
        """The losses of every entry on one batch (the banks' common training call)."""
        return self.loss(encoded, None, rng)

    # ------------------------------------------------------------------ sampling
    @staticmethod
    def _eps_fn(net: ImageDenoiser, cond: Tensor | None, guidance: float) -> EpsFn:
        """eps(x_t, t) of ``net`` under ``cond``, guided with weight ``guidance`` (0: the conditional itself)."""
        if cond is None or guidance == 0:

            def plain(x: Tensor, t: Tensor) -> Tensor:
                return net(x, t, cond)

            return plain

        def guided(x: Tensor, t: Tensor) -> Tensor:
            both = net(torch.cat([x, x]), torch.cat([t, t]), torch.cat([cond, torch.zeros_like(cond)]))
            conditional, unconditional = both.chunk(2)
            return (1 + guidance) * conditional - guidance * unconditional

        return guided

    def sample(
        self,
        encoded: Tensor,
        index: Tensor,
        rng: torch.Generator | None,
        sampler: str,
        steps: int | None,
        eta: float,
        latents: Sequence[Tensor] | None = None,
        guidance: float | None = None,
    ) -> list[Tensor]:
        """Encoded images (one ``(batch, C * H * W)`` tensor per entry of ``index``) given the inputs in ``encoded``.

        ``steps`` DDIM steps (default: the config's ``sample_steps``); ``guidance`` the classifier-free
        guidance weight (default: the config's). With ``latents`` (counterfactuals) the DDIM decode
        is deterministic and unguided. Rows are generated in chunks of :data:`IMAGE_CHUNK`.
        """
        if sampler not in ("ddim", "ddpm"):
            raise ValueError(f"unknown sampler {sampler!r}; choose ddim or ddpm")
        weight = self.config.guidance if guidance is None else float(guidance)
        if not 0 <= weight < float("inf"):
            raise QueryError(f"guidance is {guidance!r}; give a weight >= 0 (0: the plain conditional model)")
        steps = self.config.sample_steps if steps is None else min(int(steps), self.config.timesteps)
        outs = []
        for j, k in enumerate(self._rows(index)):
            net = self._denoiser(k)
            a, b = self.target_slices[k]
            chunks = []
            for start in range(0, len(encoded), IMAGE_CHUNK):
                part = encoded[start : start + IMAGE_CHUNK]
                cond = net.condition(self._inputs(part, k), len(part))
                clip = (part.new_tensor(-1.0), part.new_tensor(1.0))
                if latents is not None:
                    z = latents[j][start : start + IMAGE_CHUNK].to(part.device, part.dtype)
                    fn = self._eps_fn(net, cond, 0.0)
                    chunks.append(ddim_sample(fn, self.schedule, z, steps=steps, eta=0.0, clip=clip))
                    continue
                z = torch.randn((len(part), b - a), generator=rng, device=part.device)
                fn = self._eps_fn(net, cond, weight)
                if sampler == "ddim":
                    chunks.append(ddim_sample(fn, self.schedule, z, steps=steps, eta=eta, rng=rng, clip=clip))
                else:
                    chunks.append(ddpm_sample(fn, self.schedule, z, rng=rng, clip=clip))
            outs.append(torch.cat(chunks) if chunks else encoded.new_zeros(0, b - a))
        return outs

    @torch.no_grad()
    def abduct(self, encoded: Tensor, index: Tensor, steps: int | None, refine: int) -> list[Tensor]:
        """The DDIM latents of the entries ``index`` given their factual images and inputs (unguided)."""
        steps = self.config.sample_steps if steps is None else min(int(steps), self.config.timesteps)
        out = []
        for k in self._rows(index):
            net = self._denoiser(k)
            cond = net.condition(self._inputs(encoded, k), len(encoded))
            fn = self._eps_fn(net, cond, 0.0)
            out.append(ddim_encode(fn, self.schedule, self._target(encoded, k), steps=steps, refine=refine))
        return out
