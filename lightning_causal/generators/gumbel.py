"""Gumbel-max sampling of categorical variables and its counterfactual abduction.

A categorical mechanism is written as a Gumbel-max SCM: v = argmax_j (l_j + g_j) with logits
l = log p(v | parents) and independent standard Gumbel noise g (Oberst & Sontag 2019,
"Counterfactual Off-Policy Evaluation with Gumbel-Max Structural Causal Models", Sec. 3). Given an
observed class k, the posterior of g is sampled top-down (their Appendix, after Maddison et al.
2014): the maximum M = max_j (l_j + g_j) ~ Gumbel(logsumexp(l)); g_k = M - l_k; for j != k,
l_j + g_j is a Gumbel(l_j) truncated to (-inf, M]. The counterfactual is argmax_j (l'_j + g_j) with
the logits l' under the new parents. Classes that do not exist (padding) carry logit -inf.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["gumbel_decode", "gumbel_noise", "gumbel_posterior", "gumbel_sample"]


def gumbel_noise(shape: torch.Size | tuple[int, ...], rng: torch.Generator | None, like: Tensor) -> Tensor:
    """Standard Gumbel draws, -log(-log U)."""
    u = torch.rand(shape, generator=rng, device=like.device, dtype=like.dtype)
    u = u.clamp(min=torch.finfo(like.dtype).tiny, max=1 - torch.finfo(like.dtype).eps)
    return -torch.log(-torch.log(u))


def gumbel_sample(logits: Tensor, rng: torch.Generator | None = None) -> Tensor:
    """One class per row: argmax(logits + g)."""
    return gumbel_decode(logits, gumbel_noise(logits.shape, rng, logits))


def gumbel_decode(logits: Tensor, noise: Tensor) -> Tensor:
    """argmax(logits + noise) over the last axis (the Gumbel-max mechanism)."""
    return torch.argmax(logits + noise, dim=-1)


def gumbel_posterior(logits: Tensor, observed: Tensor, rng: torch.Generator | None = None) -> Tensor:
    """A draw of the noise g given that argmax(logits + g) == observed (top-down truncated Gumbels)."""
    logits = torch.log_softmax(logits, dim=-1)
    valid = torch.isfinite(logits)
    shape = logits.shape
    top = torch.logsumexp(logits, dim=-1, keepdim=True) + gumbel_noise((*shape[:-1], 1), rng, logits)
    others = logits + gumbel_noise(shape, rng, logits)
    # Gumbel(l_j) truncated at top: -log(exp(-top) + exp(-x))
    truncated = -torch.logaddexp(-top, -others)
    perturbed = torch.where(torch.nn.functional.one_hot(observed, shape[-1]).bool(), top.expand(shape), truncated)
    noise = perturbed - logits
    return torch.where(valid, noise, torch.zeros_like(noise))
