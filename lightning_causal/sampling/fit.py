"""Fitting a sampling plan stage by stage (ID-GEN's training loop).

Datasets are visited in the plan's order: ``D0`` is the observed data; every other dataset is
generated from its source by the network of the factors already fitted (the step-7 update copies
the carried columns from random rows and resamples the rest; IDC-GEN samples the joint network),
then the factors trained on that dataset are fitted, all at once, by the generator kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lightning_causal.generators.base import ConditionalGenerator
from lightning_causal.sampling.data import PlanData
from lightning_causal.sampling.kinds import GeneratorKind, generator_kind
from lightning_causal.sampling.sampling_network import SamplingNetwork

if TYPE_CHECKING:
    from lightning_causal.plan.sampling_plan import SamplingPlan

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
    needed = sorted(
        {v for f in plan.factors for v in (*f.inputs, f.variable)}
        | {v for d in plan.datasets for v in d.copied}
        | set(plan.network.inputs),
        key=plan.graph.core.index.__getitem__,
    )
    observed = kind.observe(data, needed, cardinalities)
    rng = kind.rng(seed)
    generators: dict[str, ConditionalGenerator] = {}
    data_by_name: dict[str, PlanData] = {"D0": observed}
    for ds in plan.datasets:
        if ds.name != "D0":
            assert ds.source is not None and ds.network is not None
            data_by_name[ds.name] = data_by_name[ds.source].generate(
                ds.network, ds.copied, generators, generated_size, rng
            )
        factors = [f for f in plan.factors if f.dataset == ds.name]
        generators.update(kind.fit(factors, data_by_name[ds.name]))
    return SamplingNetwork(plan, generators, observed, kind)
