"""sinusoidal_embedding against the formula [sin(t w_k), cos(t w_k)], w_k = P^(-k / (dim/2)), computed in float64
with numpy: shapes, values, dtypes, and the odd-width error."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lightning_causal.nets.embeddings import sinusoidal_embedding


def _formula(t: np.ndarray, dim: int, max_period: float = 10_000.0) -> np.ndarray:
    half = dim // 2
    w = np.array([max_period ** (-k / half) for k in range(half)], dtype=np.float64)
    args = t.astype(np.float64)[..., None] * w
    return np.concatenate([np.sin(args), np.cos(args)], axis=-1)


@pytest.mark.parametrize("dim", [2, 4, 16, 64])
def test_values_match_the_formula_for_the_steps_of_a_diffusion(dim: int) -> None:
    t = torch.tensor([0, 1, 2, 5, 17, 99, 250, 999])
    got = sinusoidal_embedding(t, dim)
    assert got.shape == (8, dim) and got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), _formula(t.numpy(), dim), atol=2e-4, rtol=0)


def test_continuous_times_and_another_period_match_the_formula() -> None:
    t = torch.rand(20, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    got = sinusoidal_embedding(t, 10, max_period=50.0)
    np.testing.assert_allclose(got.numpy(), _formula(t.numpy(), 10, 50.0), atol=1e-6, rtol=0)


def test_small_cases_by_hand() -> None:
    # dim 2: one frequency, w_0 = 1, so the embedding is [sin t, cos t]
    t = torch.tensor([0.0, math.pi / 2, math.pi])
    torch.testing.assert_close(sinusoidal_embedding(t, 2), torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, -1.0]]))
    # dim 4 with period 100: w = (1, 100^(-1/2)) = (1, 0.1)
    got = sinusoidal_embedding(torch.tensor([10.0]), 4, max_period=100.0)
    expected = torch.tensor([[math.sin(10.0), math.sin(1.0), math.cos(10.0), math.cos(1.0)]])
    torch.testing.assert_close(got, expected)


def test_time_zero_is_all_sines_zero_and_all_cosines_one() -> None:
    got = sinusoidal_embedding(torch.zeros(3, dtype=torch.long), 12)
    assert torch.equal(got[:, :6], torch.zeros(3, 6)) and torch.equal(got[:, 6:], torch.ones(3, 6))


def test_each_sine_cosine_pair_lies_on_the_unit_circle() -> None:
    t = torch.linspace(-50, 3000, 101)
    got = sinusoidal_embedding(t, 32)
    torch.testing.assert_close(got[:, :16] ** 2 + got[:, 16:] ** 2, torch.ones(101, 16))


def test_the_first_frequency_is_one_and_the_frequencies_fall() -> None:
    # the phase of pair k at t = 1 is w_k itself (all w_k <= 1 < pi, so atan2 recovers it)
    got = sinusoidal_embedding(torch.ones(1), 8)[0]
    w = torch.atan2(got[:4], got[4:])
    torch.testing.assert_close(w, torch.tensor([10_000.0 ** (-k / 4) for k in range(4)]))
    assert bool((w[1:] < w[:-1]).all())


@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 3, 4)])
def test_the_shape_is_the_time_shape_plus_the_width(shape: tuple[int, ...]) -> None:
    t = torch.arange(math.prod(shape), dtype=torch.float32).reshape(shape)
    got = sinusoidal_embedding(t, 6)
    assert got.shape == (*shape, 6)
    np.testing.assert_allclose(got.numpy(), _formula(t.numpy(), 6), atol=1e-5, rtol=0)


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.float16, torch.float64])
def test_any_time_dtype_gives_float32(dtype: torch.dtype) -> None:
    t = torch.tensor([0, 3, 7]).to(dtype)
    got = sinusoidal_embedding(t, 4)
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), _formula(np.array([0, 3, 7]), 4), atol=1e-5, rtol=0)


def test_different_steps_get_different_embeddings() -> None:
    got = sinusoidal_embedding(torch.arange(1000), 32)
    distances = torch.cdist(got, got)
    distances.fill_diagonal_(float("inf"))
    assert float(distances.min()) > 1e-3


@pytest.mark.parametrize("dim", [1, 3, 15])
def test_an_odd_width_is_refused(dim: int) -> None:
    with pytest.raises(ValueError, match=rf"^the time embedding dimension must be even, got {dim}$"):
        sinusoidal_embedding(torch.arange(3), dim)


def test_gradients_flow_to_continuous_times() -> None:
    t = torch.tensor([0.3, 1.7], requires_grad=True)
    sinusoidal_embedding(t, 2).sum().backward()
    assert t.grad is not None
    # d/dt (sin t + cos t) = cos t - sin t
    torch.testing.assert_close(t.grad, torch.cos(t.detach()) - torch.sin(t.detach()))
