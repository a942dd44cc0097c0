"""DDPM and DDIM samplers and deterministic DDIM inversion (the abduction step of DCM).

All functions take ``eps_fn(x_t, t) -> predicted noise``, where ``t`` is an int64 tensor of step
indices with the shape of ``x_t`` minus its last (feature) dimension, so one call can denoise
many independent diffusion models at once (the node axis of a batched network). Randomness comes
only from the ``rng`` argument.

* DDPM ancestral sampling, Ho et al. 2020, Algorithm 2 with sigma_t^2 = beta~_t (their eq. 7):
  x_{t-1} = (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t) + sigma_t z.
* DDIM, Song, Meng & Ermon 2021, eq. 12: with x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t),
  x_{t-1} = sqrt(abar_{t-1}) x0_hat + sqrt(1 - abar_{t-1} - sigma_t^2) eps + sigma_t z and
  sigma_t = eta sqrt((1 - abar_{t-1}) / (1 - abar_t)) sqrt(1 - abar_t / abar_{t-1}) (eq. 16);
  eta = 0 is deterministic. ``steps`` < T uses an evenly spaced sub-sequence (their Sec. 4.2).
* DDIM inversion (Song et al. 2021, Sec. 4.3; used for abduction by DCM, Chao et al. 2023,
  Algorithm 2): the eta = 0 update run from the data up to step T-1, evaluating eps at the
  current point and the next step index. ``decode(encode(x))`` reconstructs ``x`` up to the
  discretisation error, which vanishes as the steps get finer; DCM's Theorem 1 bounds the
  counterfactual error by that reconstruction error.

Samplers accept ``clip = (low, high)``: the estimate of x0 is clamped at every step and the noise
re-derived from the clamped estimate (``clip_sample`` with the clipped model output in diffusers;
for DDPM this is the posterior mean of Ho et al. eq. 7 at the clamped x0). Inside the range nothing
changes; outside it, a network queried where it saw no data cannot run away (DDIM divides by
sqrt(abar_T), which is 0.075 for the DCM schedule). Inversion is never clipped.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from lightning_causal.diffusion.schedules import NoiseSchedule
from lightning_causal.errors import QueryError

__all__ = [
    "SAMPLERS",
    "Clip",
    "EpsFn",
    "ddim_decode",
    "ddim_encode",
    "ddim_sample",
    "ddpm_sample",
    "denoise",
    "step_indices",
]

EpsFn = Callable[[Tensor, Tensor], Tensor]
Clip = tuple[Tensor, Tensor]
SAMPLERS = ("ddim", "ddpm")
"""The samplers :func:`denoise` dispatches to."""


def _clipped(x: Tensor, eps: Tensor, abar: Tensor, clip: Clip | None) -> tuple[Tensor, Tensor]:
    """x0 estimate from (x_t, eps), clamped to ``clip``, and the noise consistent with it."""
    x0 = (x - (1 - abar).sqrt() * eps) / abar.sqrt()
    if clip is None:
        return x0, eps
    x0 = torch.maximum(torch.minimum(x0, clip[1]), clip[0])
    return x0, (x - abar.sqrt() * x0) / (1 - abar).sqrt()


def step_indices(schedule: NoiseSchedule, steps: int | None) -> list[int]:
    """The increasing sub-sequence of step indices DDIM visits (always ending at T-1)."""
    total = schedule.timesteps
    steps = total if steps is None else int(steps)
    if not 1 <= steps <= total:
        raise ValueError(f"steps must be between 1 and T = {total}, got {steps}")
    if steps == total:
        return list(range(total))
    # evenly spaced, ending at T - 1 (Song et al. 2021, Sec. 4.2, "linear" sub-sequence)
    return (
        sorted({round(total - 1 - k * (total - 1) / (steps - 1)) for k in range(steps)}) if steps > 1 else [total - 1]
    )


def _t(x: Tensor, value: int) -> Tensor:
    return torch.full(x.shape[:-1], value, dtype=torch.long, device=x.device)


@torch.no_grad()
def ddpm_sample(
    eps_fn: EpsFn,
    schedule: NoiseSchedule,
    x_t: Tensor,
    rng: torch.Generator | None = None,
    clip: Clip | None = None,
) -> Tensor:
    """Ancestral sampling from x_T (Ho et al. 2020, Algorithm 2)."""
    x = x_t
    for t in reversed(range(schedule.timesteps)):
        beta = schedule.betas[t].to(x.dtype)
        abar = schedule.abar(t, x)
        abar_prev = schedule.abar(t - 1, x)
        _, eps = _clipped(x, eps_fn(x, _t(x, t)), abar, clip)
        # 1. mean of p(x_{t-1} | x_t)
        mean = (x - beta / (1 - abar).sqrt() * eps) / (1 - beta).sqrt()
        if t == 0:
            x = mean
            break
        # 2. posterior variance beta~_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t
        var = (1 - abar_prev) / (1 - abar) * beta
        z = torch.randn(x.shape, generator=rng, device=x.device, dtype=x.dtype)
        x = mean + var.sqrt() * z
    return x


@torch.no_grad()
def ddim_sample(
    eps_fn: EpsFn,
    schedule: NoiseSchedule,
    x_t: Tensor,
    steps: int | None = None,
    eta: float = 0.0,
    rng: torch.Generator | None = None,
    clip: Clip | None = None,
) -> Tensor:
    """DDIM sampling from x_T (Song et al. 2021, eq. 12); deterministic when ``eta == 0``."""
    seq = step_indices(schedule, steps)
    x = x_t
    for i in reversed(range(len(seq))):
        t = seq[i]
        prev = seq[i - 1] if i > 0 else -1
        abar = schedule.abar(t, x)
        abar_prev = schedule.abar(prev, x)
        # 1. predicted x_0 (clamped to the clip range, with the noise made consistent with it)
        x0, eps = _clipped(x, eps_fn(x, _t(x, t)), abar, clip)
        # 2. sigma_t(eta) (eq. 16)
        sigma = eta * ((1 - abar_prev) / (1 - abar) * (1 - abar / abar_prev)).clamp(min=0).sqrt()
        # 3. direction pointing to x_t, then the step
        direction = (1 - abar_prev - sigma**2).clamp(min=0).sqrt() * eps
        x = abar_prev.sqrt() * x0 + direction
        if eta > 0 and prev >= 0:
            x = x + sigma * torch.randn(x.shape, generator=rng, device=x.device, dtype=x.dtype)
    return x


def denoise(
    eps_fn: EpsFn,
    schedule: NoiseSchedule,
    x_t: Tensor,
    sampler: str = "ddim",
    steps: int | None = None,
    eta: float = 0.0,
    rng: torch.Generator | None = None,
    clip: Clip | None = None,
) -> Tensor:
    """From noise ``x_t`` (x_T) to data with the chosen sampler: the one dispatch every diffusion mechanism uses.

    ``"ddim"`` (:func:`ddim_sample`: ``steps`` of them, stochastic with ``eta`` > 0) or ``"ddpm"``
    (:func:`ddpm_sample`: all T steps, ``steps`` and ``eta`` do not apply). Decoding an abducted latent
    is ``denoise(..., sampler="ddim", eta=0.0)``.
    """
    if sampler == "ddim":
        return ddim_sample(eps_fn, schedule, x_t, steps=steps, eta=eta, rng=rng, clip=clip)
    if sampler == "ddpm":
        return ddpm_sample(eps_fn, schedule, x_t, rng=rng, clip=clip)
    raise QueryError(f"unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")


def ddim_decode(
    eps_fn: EpsFn, schedule: NoiseSchedule, latent: Tensor, steps: int | None = None, clip: Clip | None = None
) -> Tensor:
    """Latent -> data: deterministic DDIM (eta = 0)."""
    return ddim_sample(eps_fn, schedule, latent, steps=steps, eta=0.0, clip=clip)


@torch.no_grad()
def ddim_encode(
    eps_fn: EpsFn, schedule: NoiseSchedule, x0: Tensor, steps: int | None = None, refine: int = 2
) -> Tensor:
    """Data -> latent: deterministic DDIM inversion (Song et al. 2021, Sec. 4.3).

    Each step solves ``x_prev = ddim_step(x_next)`` for ``x_next``: the classic inversion evaluates
    eps at the current point (one evaluation); ``refine`` fixed-point iterations then re-evaluate
    eps at the new point, so that the decoding step, which uses eps(x_next, t), undoes the
    encoding step up to the fixed-point residual rather than the step size.
    """
    seq = step_indices(schedule, steps)
    x = x0
    for i, t in enumerate(seq):
        prev = seq[i - 1] if i > 0 else -1
        abar_prev = schedule.abar(prev, x)
        abar = schedule.abar(t, x)
        step_t = _t(x, t)
        nxt = x
        for _ in range(1 + refine):
            eps = eps_fn(nxt, step_t)
            x0_hat = (x - (1 - abar_prev).sqrt() * eps) / abar_prev.sqrt()
            nxt = abar.sqrt() * x0_hat + (1 - abar).sqrt() * eps
        x = nxt
    return x
