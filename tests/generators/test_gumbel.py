"""Gumbel-max sampling and its counterfactual abduction (``generators/gumbel.py``).

The noise is standard Gumbel (mean = Euler's constant, variance = pi^2 / 6, P(g <= 0) = 1/e);
argmax(logits + noise) is distributed as softmax(logits); the posterior noise reproduces the
observed class, is again standard Gumbel once the class is drawn from the model, and decoded under
new logits gives the same counterfactual joint as the prior noise does (a Monte Carlo oracle
written here); classes padded with -inf are never chosen. All randomness is seeded.
"""

from __future__ import annotations

import math

import pytest
import torch

from lightning_causal.generators.gumbel import gumbel_decode, gumbel_noise, gumbel_posterior, gumbel_sample

EULER = 0.5772156649015329


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _standard_errors(p: torch.Tensor, n: int) -> torch.Tensor:
    return torch.sqrt(p * (1 - p) / n)


def test_noise_is_standard_gumbel() -> None:
    like = torch.zeros((), dtype=torch.float64)
    g = gumbel_noise((400_000,), _gen(0), like)
    assert g.shape == (400_000,) and g.dtype == torch.float64 and torch.isfinite(g).all()
    assert abs(g.mean().item() - EULER) < 0.01
    assert abs(g.var().item() - math.pi**2 / 6) < 0.03
    assert abs((g <= 0).double().mean().item() - math.exp(-1)) < 0.005  # Gumbel CDF at 0: exp(-exp(0))


def test_noise_follows_the_dtype_of_the_reference_and_the_seed() -> None:
    like = torch.zeros(3, dtype=torch.float32)
    a = gumbel_noise((5, 3), _gen(1), like)
    assert a.dtype == torch.float32 and a.shape == (5, 3)
    torch.testing.assert_close(a, gumbel_noise((5, 3), _gen(1), like))
    assert not torch.equal(a, gumbel_noise((5, 3), _gen(2), like))


def test_decode_is_the_argmax_of_logits_plus_noise() -> None:
    logits = torch.tensor([[0.0, 1.0, 2.0], [3.0, 0.0, 0.0]])
    noise = torch.tensor([[2.5, 0.0, 0.0], [0.0, 3.5, 0.0]])
    assert gumbel_decode(logits, noise).tolist() == [0, 1]  # 2.5 > 1 and 2; 3.5 > 3


def test_sample_frequencies_match_the_softmax() -> None:
    logits = torch.tensor([[0.5, -1.0, 1.5, 0.0], [2.0, 2.0, -0.5, 0.3]], dtype=torch.float64)
    n = 50_000
    draws = gumbel_sample(logits.repeat(n, 1), _gen(3)).view(n, 2)
    for row in range(2):
        freq = torch.bincount(draws[:, row], minlength=4).double() / n
        probs = torch.softmax(logits[row], dim=0)
        assert (torch.abs(freq - probs) <= 5 * _standard_errors(probs, n)).all(), (freq, probs)
    again = gumbel_sample(logits.repeat(n, 1), _gen(3)).view(n, 2)
    assert torch.equal(draws, again)


def test_padded_classes_are_never_sampled() -> None:
    logits = torch.tensor([0.0, -math.inf, 0.5, -math.inf]).repeat(20_000, 1)
    draws = gumbel_sample(logits, _gen(4))
    assert set(draws.unique().tolist()) == {0, 2}


# ---------------------------------------------------------------------------- the posterior
def test_posterior_noise_reproduces_the_observed_class() -> None:
    gen = _gen(5)
    logits = torch.randn(2_000, 5, generator=gen, dtype=torch.float64) * 3 + 40.0  # unnormalised on purpose
    observed = torch.randint(0, 5, (2_000,), generator=gen)  # even classes the model finds unlikely
    noise = gumbel_posterior(logits, observed, gen)
    assert noise.shape == logits.shape and torch.isfinite(noise).all()
    assert torch.equal(gumbel_decode(logits, noise), observed)


def test_posterior_noise_is_reproducible_from_the_seed() -> None:
    logits = torch.tensor([[0.1, 0.7, -0.2]]).repeat(10, 1)
    observed = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    torch.testing.assert_close(gumbel_posterior(logits, observed, _gen(6)), gumbel_posterior(logits, observed, _gen(6)))


def test_posterior_with_padding_never_decodes_to_a_padded_class() -> None:
    gen = _gen(7)
    n = 5_000
    logits = torch.tensor([0.2, -math.inf, 1.0, -math.inf, -0.4]).repeat(n, 1)
    observed = gumbel_sample(logits, gen)
    noise = gumbel_posterior(logits, observed, gen)
    assert torch.isfinite(noise).all()
    assert (noise[:, [1, 3]] == 0).all()
    assert torch.equal(gumbel_decode(logits, noise), observed)
    new = torch.tensor([-1.0, -math.inf, 0.0, -math.inf, 2.0]).repeat(n, 1)
    counterfactual = gumbel_decode(new, noise)
    assert not torch.isin(counterfactual, torch.tensor([1, 3])).any()


def test_posterior_noise_averaged_over_the_model_is_the_prior() -> None:
    """Draw k from the model, then g from P(g | k): the pair must be (k, g) with g i.i.d. standard Gumbel."""
    gen = _gen(8)
    n = 200_000
    logits = torch.tensor([0.3, -1.0, 1.2], dtype=torch.float64).repeat(n, 1)
    observed = gumbel_sample(logits, gen)
    noise = gumbel_posterior(logits, observed, gen)
    for j in range(3):
        g = noise[:, j]
        assert abs(g.mean().item() - EULER) < 0.015
        assert abs(g.var().item() - math.pi**2 / 6) < 0.04
        assert abs((g <= 0).double().mean().item() - math.exp(-1)) < 0.006
    correlation = torch.corrcoef(noise.T)
    assert (correlation - torch.eye(3, dtype=torch.float64)).abs().max() < 0.015


def test_counterfactual_joint_matches_the_prior_monte_carlo() -> None:
    """P(k, k') with k = argmax(l + g), k' = argmax(l' + g): from prior noise, and from posterior noise given k."""
    gen = _gen(9)
    n = 200_000
    old = torch.tensor([0.3, -1.0, 1.2, 0.0], dtype=torch.float64)
    new = torch.tensor([1.0, 0.5, -0.5, 0.2], dtype=torch.float64)
    prior = gumbel_noise((n, 4), gen, old)
    oracle = torch.zeros(4, 4, dtype=torch.float64)
    oracle.index_put_((gumbel_decode(old, prior), gumbel_decode(new, prior)), torch.ones(n, dtype=torch.float64), True)
    observed = gumbel_sample(old.repeat(n, 1), gen)
    counterfactual = gumbel_decode(new, gumbel_posterior(old.repeat(n, 1), observed, gen))
    got = torch.zeros(4, 4, dtype=torch.float64)
    got.index_put_((observed, counterfactual), torch.ones(n, dtype=torch.float64), True)
    oracle, got = oracle / n, got / n
    assert (torch.abs(got - oracle) <= 5 * math.sqrt(2) * _standard_errors(oracle, n) + 1e-4).all(), (got, oracle)


def test_counterfactuals_are_stable_under_gumbel_max() -> None:
    """The counterfactual class k' never has a smaller logit change Δ = l' - l than the observed class k.

    If Δ_k >= Δ_j, then l_k + g_k >= l_j + g_j implies l'_k + g_k >= l'_j + g_j, so j cannot win.
    """
    gen = _gen(10)
    n = 20_000
    old = torch.tensor([0.3, -1.0, 1.2, 0.0], dtype=torch.float64)
    new = torch.tensor([1.0, 0.5, -0.5, 0.2], dtype=torch.float64)
    delta = new - old  # 0.7, 1.5, -1.7, 0.2
    observed = gumbel_sample(old.repeat(n, 1), gen)
    noise = gumbel_posterior(old.repeat(n, 1), observed, gen)
    counterfactual = gumbel_decode(new, noise)
    assert (delta[counterfactual] >= delta[observed]).all()
    assert torch.equal(counterfactual[observed == 1], torch.ones_like(counterfactual[observed == 1]))  # largest Δ
    assert torch.equal(gumbel_decode(old + 3.0, noise), observed)  # a constant shift changes nothing


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_posterior_keeps_the_dtype(dtype: torch.dtype) -> None:
    logits = torch.tensor([[0.0, 1.0], [2.0, -1.0]], dtype=dtype)
    noise = gumbel_posterior(logits, torch.tensor([1, 1]), _gen(11))
    assert noise.dtype == dtype
    assert gumbel_decode(logits, noise).tolist() == [1, 1]
