"""Noise schedules of denoising diffusion models, held as buffers.

Forward process (Ho et al. 2020, "Denoising Diffusion Probabilistic Models", eq. 2 and 4):
q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I) with alpha_t = 1 - beta_t and
abar_t = prod_{s <= t} alpha_s. Time steps are indexed 0 .. T-1 here: index t holds beta_{t+1}
and abar_{t+1} of the paper, so ``alphas_cumprod[0]`` is the first noising step and
``alphas_cumprod[T-1]`` the last.

Schedules:

* ``linear``: beta increases linearly from ``beta_start`` to ``beta_end`` (Ho et al. 2020, Sec. 4;
  the DCM reference code uses T = 100 and 1e-4 .. 0.1);
* ``cosine``: abar(t) = f(t) / f(0), f(t) = cos^2(((t / T) + s) / (1 + s) * pi / 2), betas
  clipped at 0.999 (Nichol & Dhariwal 2021, "Improved DDPM", eq. 17).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["SCHEDULES", "NoiseSchedule"]

SCHEDULES = ("linear", "cosine")


class NoiseSchedule(nn.Module):
    """The variance schedule and the quantities every sampler needs, as float64 buffers.

    Args:
        timesteps: T, the number of diffusion steps.
        kind: ``"linear"`` or ``"cosine"``.
        beta_start, beta_end: the linear schedule's end points.
        cosine_s: the cosine schedule's offset s.
    """

    betas: Tensor
    alphas_cumprod: Tensor
    sqrt_alphas_cumprod: Tensor
    sqrt_one_minus_alphas_cumprod: Tensor

    def __init__(
        self,
        timesteps: int = 100,
        kind: str = "linear",
        beta_start: float = 1e-4,
        beta_end: float = 0.1,
        cosine_s: float = 0.008,
    ) -> None:
        super().__init__()
        if timesteps < 1:
            raise ValueError(f"timesteps must be at least 1, got {timesteps}")
        if kind == "linear":
            if not 0 < beta_start <= beta_end < 1:
                raise ValueError(f"need 0 < beta_start <= beta_end < 1, got {beta_start} and {beta_end}")
            betas = torch.linspace(beta_start, beta_end, timesteps, dtype=torch.float64)
        elif kind == "cosine":
            steps = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
            f = torch.cos((steps + cosine_s) / (1 + cosine_s) * math.pi / 2) ** 2
            abar = f / f[0]
            betas = (1 - abar[1:] / abar[:-1]).clamp(max=0.999)
        else:
            raise ValueError(f"unknown noise schedule {kind!r}; choose one of {', '.join(SCHEDULES)}")
        self.timesteps = timesteps
        self.kind = kind
        alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
        self.register_buffer("betas", betas)
        self.register_buffer("alphas_cumprod", alphas_cumprod)
        self.register_buffer("sqrt_alphas_cumprod", alphas_cumprod.sqrt())
        self.register_buffer("sqrt_one_minus_alphas_cumprod", (1.0 - alphas_cumprod).sqrt())

    def abar(self, t: Tensor | int, like: Tensor) -> Tensor:
        """abar at step index ``t`` (index -1 means the data, abar = 1), in ``like``'s dtype and device."""
        t = torch.as_tensor(t, device=self.alphas_cumprod.device)
        padded = torch.cat([self.alphas_cumprod.new_ones(1), self.alphas_cumprod])
        return padded[t + 1].to(dtype=like.dtype, device=like.device)

    def q_sample(self, x0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
        """x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps (Ho et al. 2020, eq. 4).

        ``t`` holds integer step indices broadcastable to ``x0`` after trailing singleton dims
        are added (e.g. shape (batch,) for x0 of shape (batch, dim)).
        """
        a = self.sqrt_alphas_cumprod[t].to(x0.dtype)
        s = self.sqrt_one_minus_alphas_cumprod[t].to(x0.dtype)
        while a.dim() < x0.dim():
            a = a.unsqueeze(-1)
            s = s.unsqueeze(-1)
        return a * x0 + s * noise

    def extra_repr(self) -> str:
        return f"kind={self.kind}, timesteps={self.timesteps}"
