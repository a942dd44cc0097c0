"""An image noise predictor (a DDPM UNet) and an encoder of the conditioning inputs of an image model.

``UNet`` follows Ho et al. (2020) in the layout of improved DDPM (Nichol & Dhariwal 2021): a
sinusoidal time embedding passed through an MLP (the encoded condition is added to it), residual
blocks that add a projection of that embedding between their two 3x3 convolutions, strided-conv
downsampling, nearest-neighbour upsampling, skip connections concatenated on the way up, and
self-attention at the low resolutions listed in ``attention`` and in the middle block. The last
convolution of every residual block, the output projection of every attention block and the output
convolution start at zero, so an untrained network predicts eps = 0 and every block starts as the
identity.

``ConditionEncoder`` maps all conditioning inputs of one model (images, encoded vectors) to one
vector, as in ID-GEN's released code: a small CNN per image input, a 2-layer MLP per vector input,
and a 2-layer MLP mixing their concatenation.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lightning_causal.errors import ConfigError
from lightning_causal.nets.embeddings import sinusoidal_embedding

__all__ = ["AttentionBlock", "ConditionEncoder", "ResidualBlock", "UNet"]

_KEY = "mechanisms.image"


def _zero(module: nn.Module) -> nn.Module:
    """Set every parameter of ``module`` to zero and return it."""
    with torch.no_grad():
        for p in module.parameters():
            p.zero_()
    return module


def _positive_int(value: object, key: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{_KEY}.{key} is {value!r}; give an integer >= {minimum}")
    return value


class ResidualBlock(nn.Module):
    """GroupNorm, SiLU, conv3x3, GroupNorm scaled and shifted by the embedding, SiLU, dropout, conv3x3; residual.

    The embedding (time + condition) modulates the second normalisation, ``norm(h) * (1 + scale) +
    shift`` (improved DDPM's scale-shift norm, Nichol & Dhariwal 2021): a multiplicative path lets a
    condition steer the features far faster than an added bias. The skip path is a 1x1 convolution
    when the channel counts differ, the identity otherwise. The second convolution starts at zero,
    so the block starts as its skip path.

    Args:
        in_ch, out_ch: input and output channels (both divisible by ``groups``).
        emb_dim: width of the (time + condition) embedding.
        dropout: dropout probability before the second convolution.
        groups: GroupNorm groups.
    """

    def __init__(self, in_ch: int, out_ch: int, emb_dim: int, dropout: float, groups: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * out_ch)
        self.norm2 = nn.GroupNorm(groups, out_ch)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = _zero(nn.Conv2d(out_ch, out_ch, 3, padding=1))
        self.skip: nn.Module = nn.Identity() if in_ch == out_ch else nn.Conv2d(in_ch, out_ch, 1)

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        """``x``: (B, in_ch, H, W); ``emb``: (B, emb_dim), already through SiLU. Returns (B, out_ch, H, W)."""
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


class AttentionBlock(nn.Module):
    """Multi-head self-attention over the H*W positions of a feature map, with a residual connection.

    The output projection starts at zero, so the block starts as the identity.

    Args:
        ch: channels (divisible by ``groups`` and ``heads``).
        groups: GroupNorm groups.
        heads: attention heads.
    """

    def __init__(self, ch: int, groups: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, ch)
        self.qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.proj = _zero(nn.Conv2d(ch, ch, 1))

    def forward(self, x: Tensor) -> Tensor:
        """``x``: (B, ch, H, W) -> (B, ch, H, W)."""
        b, c, h, w = x.shape
        # (B, 3, heads, HW, C / heads): one layout change for q, k and v together
        qkv = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).transpose(-1, -2)
        out = F.scaled_dot_product_attention(qkv[:, 0], qkv[:, 1], qkv[:, 2])  # (B, heads, HW, C / heads)
        return x + self.proj(out.transpose(-1, -2).reshape(b, c, h, w))


class _Downsample(nn.Module):
    """A 3x3 convolution with stride 2: (B, C, H, W) -> (B, C, H/2, W/2)."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class _Upsample(nn.Module):
    """Nearest-neighbour x2, then a 3x3 convolution: (B, C, H, W) -> (B, C, 2H, 2W)."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def _run(blocks: nn.ModuleList, h: Tensor, emb: Tensor) -> Tensor:
    """Apply a stage: residual blocks get the embedding, the other blocks only the feature map."""
    for block in blocks:
        h = block(h, emb) if isinstance(block, ResidualBlock) else block(h)
    return h


class UNet(nn.Module):
    """A DDPM UNet predicting the noise eps of a (B, C, H, W) image at integer time steps t.

    Level i of ``len(mults)`` levels works at ``base * mults[i]`` channels and at 1 / 2**i of the
    input size; every level but the last ends with a downsampling (and its mirror on the way up
    with an upsampling), so height and width must be divisible by ``2 ** (len(mults) - 1)``.

    Args:
        channels: image channels C.
        height, width: image size H, W (non-square allowed; both divisible by ``2 ** (len(mults) - 1)``).
        base: channels of the first level, and the width of the sinusoidal time embedding (even);
            the time MLP and the condition projection output ``4 * base``.
        mults: channel multiplier of each level.
        res_blocks: residual blocks per level on the way down (one more on the way up).
        attention: feature-map sides (``min(h, w)`` at a level) at which the residual blocks are
            followed by self-attention; the middle block always has it.
        dropout: dropout probability in the residual blocks.
        cond_dim: width of the condition vector (0: unconditional).
        groups: GroupNorm groups; must divide ``base * m`` for every m in ``mults``.
        heads: attention heads; must divide the channels of every level with attention.
    """

    def __init__(
        self,
        channels: int,
        height: int,
        width: int,
        base: int = 64,
        mults: Sequence[int] = (1, 2, 2, 2),
        res_blocks: int = 2,
        attention: Sequence[int] = (8,),
        dropout: float = 0.1,
        cond_dim: int = 0,
        groups: int = 8,
        heads: int = 1,
    ) -> None:
        super().__init__()
        _positive_int(channels, "channels")
        _positive_int(height, "height")
        _positive_int(width, "width")
        _positive_int(base, "base")
        _positive_int(res_blocks, "res_blocks")
        _positive_int(cond_dim, "cond_dim", minimum=0)
        _positive_int(groups, "groups")
        _positive_int(heads, "heads")
        if base % 2:
            raise ConfigError(f"{_KEY}.base is {base}; give an even number (it is the sinusoidal embedding width)")
        mults = tuple(mults)
        if not mults or any(isinstance(m, bool) or not isinstance(m, int) or m < 1 for m in mults):
            raise ConfigError(f"{_KEY}.mults is {list(mults)!r}; give a non-empty list of integers >= 1")
        attention = tuple(attention)
        if any(isinstance(a, bool) or not isinstance(a, int) or a < 1 for a in attention):
            raise ConfigError(f"{_KEY}.attention is {list(attention)!r}; give a list of feature-map sides >= 1")
        if not (isinstance(dropout, int | float) and 0.0 <= dropout < 1.0):
            raise ConfigError(f"{_KEY}.dropout is {dropout!r}; give a probability in [0, 1)")
        factor = 2 ** (len(mults) - 1)
        for key, size in (("height", height), ("width", width)):
            if size % factor:
                works = ", ".join(str(factor * k) for k in range(1, 5))
                raise ConfigError(
                    f"{_KEY}.{key} is {size}, but {len(mults)} levels (mults {list(mults)}) halve it "
                    f"{len(mults) - 1} times; give a multiple of {factor} (e.g. {works}) or fewer mults"
                )
        for m in mults:
            if (base * m) % groups:
                raise ConfigError(
                    f"{_KEY}.groups is {groups}, which does not divide the {base * m} channels of level "
                    f"base * {m}; give groups dividing base * m for every m in mults {list(mults)}"
                )
        sides = [min(height, width) // 2**i for i in range(len(mults))]
        with_attention = [base * m for m, s in zip(mults, sides, strict=True) if s in attention] + [base * mults[-1]]
        for ch in with_attention:
            if ch % heads:
                raise ConfigError(
                    f"{_KEY}.heads is {heads}, which does not divide the {ch} channels of a level with "
                    f"attention; give heads dividing base * m there"
                )

        self.channels, self.height, self.width = channels, height, width
        self.base, self.cond_dim = base, cond_dim
        self.mults, self.attention = mults, attention
        emb_dim = 4 * base
        self.time_mlp = nn.Sequential(nn.Linear(base, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.cond_proj = nn.Linear(cond_dim, emb_dim) if cond_dim > 0 else None
        self.input = nn.Conv2d(channels, base, 3, padding=1)

        ch = base
        skips = [ch]
        self.down = nn.ModuleList()
        for level, (m, side) in enumerate(zip(mults, sides, strict=True)):
            for _ in range(res_blocks):
                stage = nn.ModuleList([ResidualBlock(ch, base * m, emb_dim, dropout, groups)])
                ch = base * m
                if side in attention:
                    stage.append(AttentionBlock(ch, groups, heads))
                self.down.append(stage)
                skips.append(ch)
            if level < len(mults) - 1:
                self.down.append(nn.ModuleList([_Downsample(ch)]))
                skips.append(ch)

        self.middle = nn.ModuleList(
            [
                ResidualBlock(ch, ch, emb_dim, dropout, groups),
                AttentionBlock(ch, groups, heads),
                ResidualBlock(ch, ch, emb_dim, dropout, groups),
            ]
        )

        self.up = nn.ModuleList()
        for level in reversed(range(len(mults))):
            m, side = mults[level], sides[level]
            for i in range(res_blocks + 1):
                stage = nn.ModuleList([ResidualBlock(ch + skips.pop(), base * m, emb_dim, dropout, groups)])
                ch = base * m
                if side in attention:
                    stage.append(AttentionBlock(ch, groups, heads))
                if level > 0 and i == res_blocks:
                    stage.append(_Upsample(ch))
                self.up.append(stage)
        assert not skips

        self.out_norm = nn.GroupNorm(groups, ch)
        self.output = _zero(nn.Conv2d(ch, channels, 3, padding=1))

    def embedding(self, t: Tensor, cond: Tensor | None = None) -> Tensor:
        """The (time + condition) embedding, (B, 4 * base), before the SiLU the blocks apply."""
        dtype = self.input.weight.dtype
        emb = self.time_mlp(sinusoidal_embedding(t, self.base).to(dtype))
        if self.cond_proj is not None:
            if cond is None:  # the projection of a zero condition: its bias
                return emb + self.cond_proj.bias
            return emb + self.cond_proj(cond.to(dtype))
        if cond is not None:
            raise ValueError("this UNet has cond_dim 0 but was given a condition; build it with cond_dim > 0")
        return emb

    def forward(self, x: Tensor, t: Tensor, cond: Tensor | None = None) -> Tensor:
        """The predicted noise.

        Args:
            x: noisy images, (B, C, H, W).
            t: integer time steps, (B,).
            cond: condition vectors, (B, cond_dim); ``None`` is the same as a zero condition.

        Returns:
            (B, C, H, W).
        """
        if x.shape[1:] != (self.channels, self.height, self.width):
            raise ValueError(
                f"the UNet expects images of shape (B, {self.channels}, {self.height}, {self.width}), "
                f"got {tuple(x.shape)}"
            )
        emb = F.silu(self.embedding(t, cond))
        h = self.input(x)
        hs = [h]
        for stage in self.down:
            h = _run(stage, h, emb)  # type: ignore[arg-type]
            hs.append(h)
        h = _run(self.middle, h, emb)
        for stage in self.up:
            h = _run(stage, torch.cat([h, hs.pop()], dim=1), emb)  # type: ignore[arg-type]
        return self.output(F.silu(self.out_norm(h)))

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, size=({self.height}, {self.width}), base={self.base}, "
            f"mults={self.mults}, attention={self.attention}, cond_dim={self.cond_dim}"
        )


class ConditionEncoder(nn.Module):
    """All conditioning inputs of one model encoded into one (B, dim) vector.

    ``parts[k]`` describes input k: an image shape ``(C, H, W)`` (a float tensor (B, C, H, W) in
    [-1, 1]) or an int width w (a float tensor (B, w): an encoded vector, a one-hot category, a
    standardised continuous value).

    * An image goes through conv5x5 (16 channels), SiLU, max-pool 2, conv5x5 (32 channels), SiLU,
      max-pool 2 (each pool only while the side is at least 2), an adaptive average pool to at most
      8x8 (large inputs), flatten, and a Linear to ``dim``.
    * A vector goes through Linear(w, dim), SiLU, Linear(dim, dim).
    * The parts' outputs are concatenated and mixed by Linear(k * dim, dim), SiLU, Linear(dim, dim).

    With no parts the encoder has no parameters and returns zeros; ``forward`` then needs ``batch``.

    Args:
        parts: the shape of each input, in the order ``forward`` receives them.
        dim: output width.
    """

    _device: Tensor

    def __init__(self, parts: Sequence[tuple[int, int, int] | int], dim: int = 64) -> None:
        super().__init__()
        self.dim = _positive_int(dim, "condition_dim")
        self.register_buffer("_device", torch.empty(0), persistent=False)  # follows .to(device) without parts
        self.parts: list[tuple[int, int, int] | int] = []
        self.encoders = nn.ModuleList()
        for k, part in enumerate(parts):
            if isinstance(part, int) and not isinstance(part, bool):
                if part < 1:
                    raise ConfigError(f"condition input {k} has width {part}; give a width >= 1")
                self.parts.append(part)
                self.encoders.append(nn.Sequential(nn.Linear(part, dim), nn.SiLU(), nn.Linear(dim, dim)))
                continue
            shape = tuple(part) if isinstance(part, Sequence) else ()
            if len(shape) != 3 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape):
                raise ConfigError(f"condition input {k} is {part!r}; give an image shape (C, H, W) or a vector width")
            c, h, w = shape
            self.parts.append((c, h, w))
            self.encoders.append(self._image_encoder(c, h, w, dim))
        self.mix = (
            nn.Sequential(nn.Linear(len(self.parts) * dim, dim), nn.SiLU(), nn.Linear(dim, dim)) if self.parts else None
        )

    @staticmethod
    def _image_encoder(c: int, h: int, w: int, dim: int) -> nn.Sequential:
        layers: list[nn.Module] = []
        for c_in, c_out in ((c, 16), (16, 32)):
            layers += [nn.Conv2d(c_in, c_out, 5, padding=2), nn.SiLU()]
            if min(h, w) >= 2:
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
        if h > 8 or w > 8:
            h, w = min(h, 8), min(w, 8)
            layers.append(nn.AdaptiveAvgPool2d((h, w)))
        layers += [nn.Flatten(), nn.Linear(32 * h * w, dim)]
        return nn.Sequential(*layers)

    def forward(self, inputs: Sequence[Tensor], batch: int | None = None) -> Tensor:
        """Encode ``inputs`` (one tensor per part, in order) to (B, dim).

        Args:
            inputs: the conditioning tensors.
            batch: the batch size B; needed only when there are no parts (the output is then zeros).
        """
        if len(inputs) != len(self.parts):
            raise ValueError(f"the condition encoder expects {len(self.parts)} inputs, got {len(inputs)}")
        if self.mix is None:
            if batch is None:
                raise ValueError("a condition encoder without parts needs the batch size: pass batch=B")
            return torch.zeros(batch, self.dim, device=self._device.device)
        out = [enc(x) for enc, x in zip(self.encoders, inputs, strict=True)]
        return self.mix(torch.cat(out, dim=-1))

    def extra_repr(self) -> str:
        return f"parts={self.parts}, dim={self.dim}"
