"""DDPM and DDIM sampling and DDIM inversion: golden full-loop values and an exact noise model."""

from __future__ import annotations

import pytest
import torch

from lightning_causal.diffusion import (
    NoiseSchedule,
    ddim_decode,
    ddim_encode,
    ddim_sample,
    ddpm_loss,
    ddpm_sample,
    step_indices,
)


def toy_eps(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """A fixed, weight-free 'network' for golden values."""
    return 0.1 * torch.sin(x) * (t.to(x.dtype).unsqueeze(-1) + 1) / 100


def gaussian_eps(schedule: NoiseSchedule, mu: float, sd: float):  # type: ignore[no-untyped-def]
    """The exact optimal noise predictor when x0 ~ N(mu, sd^2): E[eps | x_t]."""

    def eps(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = schedule.alphas_cumprod[t].to(x.dtype).unsqueeze(-1)
        return (1 - a).sqrt() * (x - a.sqrt() * mu) / (a * sd**2 + 1 - a)

    return eps


def test_step_indices() -> None:
    s = NoiseSchedule(100)
    assert step_indices(s, None) == list(range(100))
    seq = step_indices(s, 10)
    assert seq[0] == 0 and seq[-1] == 99 and len(seq) == 10 and seq == sorted(seq)
    assert step_indices(s, 1) == [99]
    with pytest.raises(ValueError):
        step_indices(s, 101)


# Golden values: full-loop sums for a fixed seed (diffusers pins samplers the same way).
GOLDEN = {
    "linear": (-73.31336038038808, -54.796938552072966, -0.2791340823642918, 3.367996429643007),
    "cosine": (-6232.616429734786, -6049.677145795762, -0.002305904598492123, 3.402001797060202),
}


@pytest.mark.parametrize("kind", sorted(GOLDEN))
def test_golden_full_loops(kind: str) -> None:
    s = NoiseSchedule(100, kind)
    x_t = torch.randn(4, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    got = (
        ddpm_sample(toy_eps, s, x_t, rng=torch.Generator().manual_seed(1)).sum().item(),
        ddim_sample(toy_eps, s, x_t, steps=20, eta=0.5, rng=torch.Generator().manual_seed(1)).sum().item(),
        ddim_encode(toy_eps, s, x_t, steps=25).sum().item(),
        ddpm_loss(toy_eps, s, x_t, rng=torch.Generator().manual_seed(2)).sum().item(),
    )
    for value, golden in zip(got, GOLDEN[kind], strict=True):
        assert value == pytest.approx(golden, rel=1e-10)


@pytest.mark.parametrize("steps,tolerance", [(100, 1e-3), (20, 2e-2)])
def test_encode_then_decode_reconstructs(steps: int, tolerance: float) -> None:
    """DCM's Theorem 1 bounds counterfactual error by this reconstruction error."""
    s = NoiseSchedule(100)
    eps = gaussian_eps(s, mu=2.0, sd=0.5)
    x0 = 2.0 + 0.5 * torch.randn(1000, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    latent = ddim_encode(eps, s, x0, steps=steps)
    assert (ddim_decode(eps, s, latent, steps=steps) - x0).abs().max().item() < tolerance
    # the plain (unrefined) inversion is far worse: the refinement is what makes abduction precise
    plain = ddim_decode(eps, s, ddim_encode(eps, s, x0, steps=steps, refine=0), steps=steps)
    assert (plain - x0).abs().max().item() > 5 * tolerance


def test_exact_model_samples_the_data_distribution() -> None:
    """Standardised data (as the models see it): both samplers recover N(0, sd^2).

    With the reference schedule abar_T = 0.006, not 0, so x_T ~ N(sqrt(abar_T) mu, ...): decoding
    N(0, I) would shift the mean of non-centred data by about sqrt(abar_T) * mu * sd.
    """
    s = NoiseSchedule(100)
    eps = gaussian_eps(s, mu=0.0, sd=1.5)
    g = torch.Generator().manual_seed(3)
    noise = torch.randn(40_000, 1, generator=g, dtype=torch.float64)
    for samples in (ddim_sample(eps, s, noise), ddpm_sample(eps, s, noise, rng=g)):
        assert samples.mean().item() == pytest.approx(0.0, abs=0.03)
        assert samples.std().item() == pytest.approx(1.5, abs=0.04)


def test_encoding_is_a_monotone_standardisation_for_gaussian_data() -> None:
    """For Gaussian data the probability-flow map is affine: the latent ranks the data the same way."""
    s = NoiseSchedule(100)
    eps = gaussian_eps(s, mu=-1.0, sd=2.0)
    x0 = torch.linspace(-5, 3, 50, dtype=torch.float64).unsqueeze(-1)
    z = ddim_encode(eps, s, x0).squeeze(-1)
    assert (z[1:] > z[:-1]).all()
    slope = (z[1:] - z[:-1]) / (x0[1:, 0] - x0[:-1, 0])
    assert slope.std().item() < 1e-3 * slope.mean().item()


def test_clip_keeps_a_runaway_model_in_range_and_changes_nothing_inside_it() -> None:
    s = NoiseSchedule(100)

    def runaway(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:  # a network queried off its data
        return torch.full_like(x, 3.0)

    z = torch.randn(50, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    free = ddim_sample(runaway, s, z)
    assert free.abs().max() > 20
    clip = (torch.full((1, 2), -2.0, dtype=torch.float64), torch.full((1, 2), 2.0, dtype=torch.float64))
    for out in (
        ddim_sample(runaway, s, z, clip=clip),
        ddpm_sample(runaway, s, z, torch.Generator().manual_seed(1), clip),
    ):
        assert out.abs().max() <= 2.0 + 1e-9
    # with the exact model and a generous range, clipping is inactive: identical results
    eps = gaussian_eps(s, mu=0.0, sd=1.0)
    wide = (torch.full((1, 2), -50.0, dtype=torch.float64), torch.full((1, 2), 50.0, dtype=torch.float64))
    torch.testing.assert_close(ddim_sample(eps, s, z, clip=wide), ddim_sample(eps, s, z), rtol=0, atol=1e-12)
