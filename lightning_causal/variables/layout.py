"""Several variables encoded side by side in one float matrix: the input layout of the DCM banks.

:class:`EncodedLayout` gives every variable a block of columns (its codec's width), in a fixed
order, plus one trailing zero column that index tables use as padding. Encoding all variables
concatenates their codecs' features and applies all codecs' affine maps in one operation; a
network then gathers the columns it reads (its target, its parents) with one index tensor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from lightning_causal.variables.codecs import Codec, codec_for
from lightning_causal.variables.spec import VariableSpec

__all__ = ["EncodedLayout"]


class EncodedLayout(nn.Module):
    """Variables ``order`` encoded into ``E`` of shape (batch, width + 1), the last column zero.

    Args:
        variables: the spec of every variable in ``order``.
        order: the column order (the DCM uses a topological order).
    """

    shift: Tensor
    scale: Tensor
    shift_padded: Tensor
    scale_padded: Tensor

    def __init__(self, variables: Mapping[str, VariableSpec], order: Sequence[str]) -> None:
        super().__init__()
        self.order = tuple(order)
        self.codecs: dict[str, Codec] = {name: codec_for(variables[name]) for name in self.order}
        self.slices: dict[str, tuple[int, int]] = {}
        start = 0
        shift: list[float] = []
        scale: list[float] = []
        for name in self.order:
            codec = self.codecs[name]
            self.slices[name] = (start, start + codec.width)
            start += codec.width
            shift += codec.shift
            scale += codec.scale
        self.width = start
        self.register_buffer("shift", torch.tensor(shift, dtype=torch.float32))
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))
        self.register_buffer("shift_padded", torch.tensor([*shift, 0.0], dtype=torch.float32), persistent=False)
        self.register_buffer("scale_padded", torch.tensor([*scale, 1.0], dtype=torch.float32), persistent=False)

    @property
    def pad(self) -> int:
        """The index of the zero column."""
        return self.width

    def columns(self, names: Sequence[str]) -> list[int]:
        """The column indices of ``names``, in order."""
        out: list[int] = []
        for n in names:
            a, b = self.slices[n]
            out.extend(range(a, b))
        return out

    def encode(
        self, values: Mapping[str, Tensor], names: Sequence[str] | None = None, out: Tensor | None = None
    ) -> Tensor:
        """Encode ``names`` (default: all, in one pass) into ``E`` of shape (batch, width + 1).

        With ``out`` given, only the columns of ``names`` are (re)written in place.
        """
        device = self.shift.device
        if names is None and out is None:
            parts = [self.codecs[name].features(values[name].to(device)) for name in self.order]
            first = parts[0]
            parts.append(first.new_zeros(len(first), 1))
            return (torch.cat(parts, dim=1) - self.shift_padded) / self.scale_padded
        names = self.order if names is None else names
        if out is None:
            batch = len(next(iter(values.values())))
            out = torch.zeros(batch, self.width + 1, device=device)
        for name in names:
            a, b = self.slices[name]
            out[:, a:b] = (self.codecs[name].features(values[name].to(device)) - self.shift[a:b]) / self.scale[a:b]
        return out

    def decode(self, name: str, encoded: Tensor) -> Tensor:
        """Values of ``name`` in data space from its block of encoded columns (extra columns ignored)."""
        a, b = self.slices[name]
        return self.codecs[name].from_features(encoded[:, : b - a] * self.scale[a:b] + self.shift[a:b])

    @staticmethod
    def gather(encoded: Tensor, index_rows: Tensor) -> Tensor:
        """Columns of ``encoded`` picked by each row of an index table: (k, batch, width)."""
        return encoded[:, index_rows].permute(1, 0, 2)
