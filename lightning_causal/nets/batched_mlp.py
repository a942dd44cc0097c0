"""Many small MLPs evaluated as one network: stacked weights and batched matrix products.

A causal graph with N nodes needs N small conditional networks. Evaluating them one after another
costs N kernel launches (and N optimizer updates) per layer; stacking their weights into tensors
of shape (N, fan_in, fan_out) and using ``torch.baddbmm`` evaluates all of them in one call per
layer, while every node keeps its own parameters (gradients never mix: node i's output depends
only on slice i of every weight). Inputs of different widths are zero-padded to a common width;
padded input columns are always zero, so their weights receive no gradient and change nothing.

Conditioning (``conditioning``):

* ``"concat"``: the conditioning vector is concatenated to the input of the first layer, as in the
  DCM reference code (Chao et al. 2023);
* ``"film"``: every hidden layer is modulated, h <- act(h * (1 + gamma(c)) + beta(c)), with
  gamma, beta linear in the conditioning (FiLM, Perez et al. 2018).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["CONDITIONING", "BatchedLinear", "BatchedMLP", "SeparateMLPs"]

CONDITIONING = ("film", "concat")


class BatchedLinear(nn.Module):
    """N independent affine maps: ``y[n] = x[n] @ weight[n] + bias[n]``.

    Args:
        num: N, the number of independent maps.
        fan_in, fan_out: padded widths.
        true_fan_in: the real (unpadded) input width of each map, for PyTorch's default
            ``nn.Linear`` initialisation U(-1/sqrt(fan_in), 1/sqrt(fan_in)) per map.
    """

    def __init__(self, num: int, fan_in: int, fan_out: int, true_fan_in: Sequence[int] | None = None) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num, fan_in, fan_out))
        self.bias = nn.Parameter(torch.empty(num, 1, fan_out))
        fans = list(true_fan_in) if true_fan_in is not None else [fan_in] * num
        if len(fans) != num:
            raise ValueError(f"true_fan_in has {len(fans)} widths for {num} maps; give one per map")
        with torch.no_grad():
            for n, fan in enumerate(fans):
                bound = 1.0 / math.sqrt(max(fan, 1))
                self.weight[n].uniform_(-bound, bound)
                self.bias[n].uniform_(-bound, bound)

    def forward(self, x: Tensor, index: Tensor | None = None) -> Tensor:
        """``x``: (N, B, fan_in), or (k, B, fan_in) for the maps ``index`` (k of them)."""
        if index is None:
            return torch.baddbmm(self.bias, x, self.weight)
        return torch.baddbmm(self.bias[index], x, self.weight[index])

    def extra_repr(self) -> str:
        n, i, o = self.weight.shape
        return f"num={n}, fan_in={i}, fan_out={o}"


class BatchedMLP(nn.Module):
    """N MLPs ``out[n] = f_n(x[n], c[n])`` with ``depth`` hidden layers of width ``hidden``.

    Args:
        num: N.
        in_dim, cond_dim, out_dim: padded widths of the input, the conditioning and the output.
        hidden: hidden width.
        depth: number of hidden layers (at least 1).
        conditioning: ``"film"`` or ``"concat"``.
        true_in, true_cond: real input and conditioning widths per network (initialisation).
    """

    def __init__(
        self,
        num: int,
        in_dim: int,
        cond_dim: int,
        out_dim: int,
        hidden: int = 64,
        depth: int = 2,
        conditioning: str = "film",
        true_in: Sequence[int] | None = None,
        true_cond: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        if conditioning not in CONDITIONING:
            raise ValueError(f"unknown conditioning {conditioning!r}; choose one of {', '.join(CONDITIONING)}")
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self.num = num
        self.depth = depth
        self.conditioning = conditioning
        true_in = list(true_in) if true_in is not None else [in_dim] * num
        true_cond = list(true_cond) if true_cond is not None else [cond_dim] * num
        self.act = nn.SiLU()
        if conditioning == "concat":
            first_fans = [a + b for a, b in zip(true_in, true_cond, strict=True)]
            self.input = BatchedLinear(num, in_dim + cond_dim, hidden, first_fans)
        else:
            self.input = BatchedLinear(num, in_dim, hidden, true_in)
            # one projection gives gamma and beta of every layer (fewer, larger matmuls)
            self.film = BatchedLinear(num, cond_dim, 2 * hidden * depth, true_cond)
            with torch.no_grad():  # start close to the identity modulation
                self.film.weight.mul_(0.1)
                self.film.bias.zero_()
        self.hidden = nn.ModuleList(BatchedLinear(num, hidden, hidden) for _ in range(depth - 1))
        self.output = BatchedLinear(num, hidden, out_dim)

    def forward(self, x: Tensor, c: Tensor, index: Tensor | None = None) -> Tensor:
        """``x``: (k, B, in_dim), ``c``: (k, B, cond_dim); k = N, or the networks in ``index``."""
        if self.conditioning == "concat":
            h = self.act(self.input(torch.cat([x, c], dim=-1), index))
            for layer in self.hidden:
                h = self.act(layer(h, index))
            return self.output(h, index)
        h = self.input(x, index)
        modulation = self.film(c, index).chunk(2 * self.depth, dim=-1)
        for k in range(self.depth):
            h = self.act(h * (1 + modulation[2 * k]) + modulation[2 * k + 1])
            if k < len(self.hidden):
                h = self.hidden[k](h, index)
        return self.output(h, index)


class SeparateMLPs(nn.Module):
    """The reference layout of :class:`BatchedMLP`: one single-network ``BatchedMLP`` per network at its own
    (unpadded) widths, run one after another; outputs are padded to ``out_dim``.

    Args:
        true_in, true_cond, true_out: the real input, conditioning and output widths of every network.
        out_dim: the padded output width.
        kwargs: the :class:`BatchedMLP` settings (``hidden``, ``depth``, ``conditioning``).
    """

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
        """``x``: (k, B, in_dim), ``c``: (k, B, cond_dim) padded; k = N, or the networks in ``index``."""
        rows = range(len(self.nets)) if index is None else index.tolist()
        outs = []
        for k, node in enumerate(rows):
            i, cw, o = self.widths[node]
            y = self.nets[node](x[k : k + 1, :, :i], c[k : k + 1, :, :cw])
            outs.append(F.pad(y, (0, self.out_dim - o)))
        return torch.cat(outs, dim=0)
