"""Conditional diffusion mechanisms of image variables: one conditional UNet per entry, with classifier-free guidance.

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
* images have their own diffusion settings (:class:`ImageMechanismConfig`: T = 1000, linear betas
  1e-4 to 0.02 or a cosine schedule, DDIM with ``sample_steps`` steps by default), apart from the
  vector banks' T = 100.

The bank reads its targets and inputs from the same encoded matrix as the vector banks
(:class:`~lightning_causal.variables.EncodedLayout`: an image is its ``C * H * W`` pixels in
[-1, 1]) and answers the same calls (:class:`~lightning_causal.mechanisms.MechanismBank`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from lightning_causal.diffusion import SAMPLERS, NoiseSchedule, ddim_encode, ddpm_loss, denoise
from lightning_causal.diffusion.samplers import EpsFn
from lightning_causal.errors import QueryError
from lightning_causal.mechanisms.bank import MechanismBank
from lightning_causal.mechanisms.config import ImageMechanismConfig, MechanismConfig
from lightning_causal.nets.unet import ConditionEncoder, UNet
from lightning_causal.variables.layout import EncodedLayout
from lightning_causal.variables.spec import VariableSpec

__all__ = ["IMAGE_CHUNK", "ImageDenoiser", "ImageDiffusionBank"]

IMAGE_CHUNK = 1024
"""Rows sampled at once by an image denoiser (bounds the activation memory of large queries)."""


class ImageDenoiser(nn.Module):
    """eps_theta(x_t, t | inputs) of one image entry.

    Args:
        shape: the image's ``(C, H, W)``.
        parts: the inputs' shapes for the condition encoder (an image's ``(C, H, W)`` or a vector's width).
        config: the architecture.
    """

    def __init__(
        self, shape: tuple[int, int, int], parts: Sequence[tuple[int, int, int] | int], config: ImageMechanismConfig
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


class ImageDiffusionBank(MechanismBank):
    """Conditional diffusion models of image variables given their inputs.

    Args:
        entries, inputs, layout, variables, targets: see :class:`MechanismBank`.
        config: ``config.image`` (:class:`ImageMechanismConfig`) sets the denoisers and the diffusion.
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
        super().__init__(entries, inputs, layout, variables, config, targets)
        image = config.image
        self.config = image
        self.schedule = NoiseSchedule(image.timesteps, image.schedule, image.beta_start, image.beta_end)
        self.target_slices = [layout.slices[self.targets[n]] for n in self.entries]
        self.input_slices = [[layout.slices[p] for p in self.inputs[n]] for n in self.entries]
        self.input_shapes: list[list[tuple[int, ...]]] = []
        denoisers = []
        for n in self.entries:
            shapes: list[tuple[int, ...]] = []
            parts: list[tuple[int, int, int] | int] = []
            for p in self.inputs[n]:
                spec = variables[p]
                if spec.is_image:
                    shapes.append(spec.image_shape)
                    parts.append(spec.image_shape)
                else:
                    shapes.append((spec.encoded_dim,))
                    parts.append(spec.encoded_dim)
            self.input_shapes.append(shapes)
            denoisers.append(ImageDenoiser(variables[self.targets[n]].image_shape, parts, image))
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

    def _steps(self, steps: int | None) -> int:
        return self.config.sample_steps if steps is None else min(int(steps), self.config.timesteps)

    # ------------------------------------------------------------------ training
    def batch_loss(
        self,
        encoded: Tensor,
        values: Mapping[str, Tensor],
        rng: torch.Generator | None,
        index: Tensor | None = None,
    ) -> Tensor:
        """The DDPM loss of each entry ``index`` (all when None) on the batch, a (k,) vector.

        Each row's condition is dropped with probability ``cond_dropout`` (classifier-free guidance).
        """
        out = []
        batch = len(encoded)
        for k in self.positions(index):
            net = self._denoiser(k)
            cond = net.condition(self._inputs(encoded, k), batch)
            if cond is not None and self.config.cond_dropout > 0:
                keep = torch.rand(batch, generator=rng, device=encoded.device) >= self.config.cond_dropout
                cond = cond * keep.unsqueeze(1).to(cond.dtype)
            x0 = self._target(encoded, k)
            out.append(ddpm_loss(self._eps_fn(net, cond, 0.0), self.schedule, x0, rng).mean())
        return torch.stack(out) if out else encoded.new_zeros(0)

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
        sampler: str = "ddim",
        steps: int | None = None,
        eta: float | None = None,
        latents: Sequence[Tensor] | None = None,
        guidance: float | None = None,
    ) -> list[Tensor]:
        """Encoded images (one ``(batch, C * H * W)`` tensor per entry of ``index``) given the inputs in ``encoded``.

        ``steps`` DDIM steps (default: the config's ``sample_steps``), ``eta`` their noise (default: the
        config's); ``guidance`` the classifier-free guidance weight (default: the config's). With
        ``latents`` (counterfactuals) the DDIM decode is deterministic and unguided. Rows are generated
        in chunks of :data:`IMAGE_CHUNK`.
        """
        if sampler not in SAMPLERS:
            raise QueryError(f"unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")
        weight = self.config.guidance if guidance is None else float(guidance)
        if not 0 <= weight < float("inf"):
            raise QueryError(f"guidance is {guidance!r}; give a weight >= 0 (0: the plain conditional model)")
        eta = self.config.eta if eta is None else float(eta)
        if not 0 <= eta < float("inf"):
            raise QueryError(f"eta is {eta!r}; give a value >= 0 (0: deterministic DDIM, 1: ancestral sampling)")
        steps = self._steps(steps)
        outs = []
        for j, k in enumerate(self.positions(index)):
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
                    chunks.append(denoise(fn, self.schedule, z, "ddim", steps, 0.0, None, clip))
                    continue
                z = torch.randn((len(part), b - a), generator=rng, device=part.device)
                fn = self._eps_fn(net, cond, weight)
                chunks.append(denoise(fn, self.schedule, z, sampler, steps, eta, rng, clip))
            outs.append(torch.cat(chunks) if chunks else encoded.new_zeros(0, b - a))
        return outs

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
        """Images of the entries ``names`` (see :meth:`MechanismBank.generate`), in their variables' dtype."""
        given = None if latents is None else [latents[m] for m in names]
        index = self.index(names, encoded.device)
        x0s = self.sample(encoded, index, rng, sampler, steps, eta, latents=given, guidance=guidance)
        return {m: layout.decode(self.targets[m], x0) for m, x0 in zip(names, x0s, strict=True)}

    @torch.no_grad()
    def abduct(
        self,
        encoded: Tensor,
        names: Sequence[str],
        values: Mapping[str, Tensor],
        rng: torch.Generator | None,
        steps: int | None = None,
        refine: int = 2,
    ) -> dict[str, Tensor]:
        """The DDIM latents of the entries ``names`` given their factual images and inputs (unguided)."""
        steps = self._steps(steps)
        out = {}
        for m, k in zip(names, self.positions(self.index(names, encoded.device)), strict=True):
            net = self._denoiser(k)
            cond = net.condition(self._inputs(encoded, k), len(encoded))
            fn = self._eps_fn(net, cond, 0.0)
            out[m] = ddim_encode(fn, self.schedule, self._target(encoded, k), steps=steps, refine=refine)
        return out
