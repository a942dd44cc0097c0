"""Noise schedules: the DCM reference's linear betas, the cosine schedule, bad arguments."""

from __future__ import annotations

import pytest
import torch

from lightning_causal.diffusion import (
    NoiseSchedule,
)


def test_linear_schedule_matches_the_dcm_reference() -> None:
    s = NoiseSchedule(100, "linear", 1e-4, 0.1)
    assert s.betas[0].item() == pytest.approx(1e-4) and s.betas[-1].item() == pytest.approx(0.1)
    expected = torch.cumprod(1 - torch.linspace(1e-4, 0.1, 100, dtype=torch.float64), 0)
    assert torch.allclose(s.alphas_cumprod, expected)
    assert s.abar(-1, torch.zeros(1)).item() == 1.0
    assert dict(s.named_buffers()).keys() >= {"betas", "alphas_cumprod"}


def test_cosine_schedule_is_monotone_and_reaches_noise() -> None:
    s = NoiseSchedule(1000, "cosine")
    abar = s.alphas_cumprod
    assert (abar[1:] < abar[:-1]).all() and abar[-1] < 1e-3 and abar[0] > 0.999
    assert (s.betas <= 0.999).all()


def test_bad_schedules() -> None:
    with pytest.raises(ValueError, match="unknown noise schedule"):
        NoiseSchedule(10, "quadratic")
    with pytest.raises(ValueError, match="beta_start <= beta_end"):
        NoiseSchedule(10, "linear", 0.2, 0.1)
