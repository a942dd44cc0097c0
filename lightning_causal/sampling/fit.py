"""Fitting a sampling plan (ID-GEN's training loop), with any generator kind.

The loop itself is :meth:`GeneratorKind.fit_plan <lightning_causal.sampling.GeneratorKind.fit_plan>`:
datasets in plan order, each generated from the factors fitted before it, then its factors
fitted. A kind may override it (the ``"diffusion"`` kind trains one Lightning run per stage and
writes generated datasets as shards).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lightning_causal.sampling.kinds import GeneratorKind, generator_kind

if TYPE_CHECKING:
    from lightning_causal.plan.sampling_plan import SamplingPlan
    from lightning_causal.sampling.sampling_network import SamplingNetwork

__all__ = ["fit_plan"]


def fit_plan(
    plan: SamplingPlan,
    data: Any,
    generator: str | GeneratorKind = "categorical",
    seed: Any = 0,
    generated_size: int | None = None,
    cardinalities: Mapping[str, int] | None = None,
) -> SamplingNetwork:
    """Fit the plan's factors stage by stage; see :meth:`SamplingPlan.fit <lightning_causal.plan.SamplingPlan.fit>`."""
    kind = generator_kind(generator)
    return kind.fit_plan(plan, data, seed=seed, generated_size=generated_size, cardinalities=cardinalities)
