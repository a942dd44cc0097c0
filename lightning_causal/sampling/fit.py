"""Fitting a sampling plan (ID-GEN's training loop), with any learner.

The loop itself is :meth:`Learner.fit_plan <lightning_causal.sampling.Learner.fit_plan>`: datasets
in plan order, each generated from the factors fitted before it, then its factors fitted. A learner
may override it (``"diffusion"`` trains one Lightning run per stage and writes generated datasets as
shards).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lightning_causal.sampling.learners import Learner, learner_for

if TYPE_CHECKING:
    from lightning_causal.plan.sampling_plan import SamplingPlan
    from lightning_causal.sampling.sampling_network import SamplingNetwork

__all__ = ["fit_plan"]


def fit_plan(
    plan: SamplingPlan,
    data: Any,
    learner: str | Learner = "categorical",
    seed: Any = 0,
    generated_size: int | None = None,
    cardinalities: Mapping[str, int] | None = None,
) -> SamplingNetwork:
    """Fit the plan's factors stage by stage; see :meth:`SamplingPlan.fit <lightning_causal.plan.SamplingPlan.fit>`."""
    return learner_for(learner).fit_plan(
        plan, data, seed=seed, generated_size=generated_size, cardinalities=cardinalities
    )
