"""The merged sampling network of a fitted ID-GEN plan.

:class:`SamplingNetwork` samples the query by running the plan's merged network ancestrally
(:func:`~lightning_causal.sampling.ancestral.run_wiring`) with the intervened and conditioned inputs
fixed and the line-3 inputs drawn jointly from rows of the observational data whose treatment and
condition values are nearest to the query's (P(w | x), see :meth:`PlanData.matched_rows`). With exact tables
fitted on an exact :class:`~lightning_causal.DiscreteDistribution`, :meth:`SamplingNetwork.distribution`
returns the network's exact output distribution.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from lightning_causal.distribution import DiscreteDistribution
from lightning_causal.errors import QueryError
from lightning_causal.generators.base import ConditionalGenerator
from lightning_causal.sampling.ancestral import run_wiring
from lightning_causal.sampling.data import PlanData
from lightning_causal.sampling.exact import wiring_joint
from lightning_causal.values import check_assignment, check_count

if TYPE_CHECKING:
    from lightning_causal.plan.sampling_plan import SamplingPlan
    from lightning_causal.sampling.value_space import ValueSpace

__all__ = ["SamplingNetwork"]


class SamplingNetwork:
    """A fitted ID-GEN sampling network for one query.

    Use :meth:`sample` for samples and, when fitted with exact tables, :meth:`distribution` for the
    exact answer the network encodes.

    Args:
        plan: the plan it executes.
        generators: the fitted generator of every factor, keyed by factor name.
        observed: the observational data (line-3 inputs are drawn from its rows).
        space: the value space of the generators (their RNG and value types).
    """

    def __init__(
        self,
        plan: SamplingPlan,
        generators: dict[str, ConditionalGenerator],
        observed: PlanData,
        space: ValueSpace,
    ) -> None:
        self.plan = plan
        self.generators = generators
        self.observed = observed
        self.space = space

    @property
    def cardinalities(self) -> dict[str, int]:
        """The number of values of every discrete variable of the observed data."""
        return self.observed.cardinalities

    def _fixed(self, interventions: Mapping[str, Any] | None, given: Mapping[str, Any] | None, n: int) -> dict:
        plan = self.plan
        interventions = dict(interventions or {})
        given = dict(given or {})
        check_assignment(interventions, plan.treatment, "interventions", "treatment")
        check_assignment(given, plan.condition, "given", "condition")
        return self.space.constants({**interventions, **given}, n, self.observed)

    def sample(
        self,
        n: int,
        interventions: Mapping[str, Any] | None = None,
        given: Mapping[str, Any] | None = None,
        seed: Any = None,
        inputs: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``n`` samples of the outcome under ``do(interventions)``, given ``given``.

        Returns ``{outcome variable: values}`` (int64 arrays for exact tables). ``seed`` is an int
        or the value space's RNG; the same seed gives the same samples. ``inputs`` fixes some
        of the free inputs (:attr:`SamplingPlan.arbitrary`, ID's line 3) instead of drawing them
        from data rows; the answer does not depend on them, which this lets you check.
        """
        n = check_count(n)
        fixed = self._fixed(interventions, given, n)
        rng = self.space.rng(seed)
        wiring = self.plan.wiring
        values = {v: fixed[v] for v in wiring.inputs if v in fixed}
        chosen = dict(inputs or {})
        for v in chosen:
            if v not in self.plan.arbitrary:
                free = ", ".join(self.plan.arbitrary) or "none"
                raise QueryError(f"inputs names {v!r}, which is not a free input of the network (free inputs: {free})")
        drawn = tuple(v for v in self.plan.arbitrary if v not in chosen)
        values.update(self.observed.matched_rows(drawn, self._matched(values), n, rng))
        if chosen:
            values.update(self.space.constants(chosen, n, self.observed))
        out = run_wiring(wiring, self.generators, values, n, rng)
        return {v: out[v] for v in self.plan.outcome}

    def _matched(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The fixed network inputs the free inputs are matched on: those the observed data has."""
        return {v: values[v] for v in self.plan.wiring.inputs if v in values and self.observed.has(v)}

    def distribution(
        self,
        interventions: Mapping[str, int] | None = None,
        given: Mapping[str, int] | None = None,
    ) -> DiscreteDistribution:
        """The exact distribution of the outcome that :meth:`sample` draws from (exact tables only)."""
        fixed = {k: int(v[0]) for k, v in self._fixed(interventions, given, 1).items()}
        wiring = self.plan.wiring
        cards = self.cardinalities
        if self.plan.arbitrary:
            matched = {v: value for v, value in fixed.items() if self.observed.has(v)}
            base = self.observed.distribution((*self.plan.arbitrary, *matched), cards)
            base = base.conditional(self.plan.arbitrary, matched)  # P(w | x), as sample() draws them
        else:
            base = DiscreteDistribution((), np.array(1.0))
        for v in wiring.inputs:
            if v in fixed:
                point = np.zeros(cards[v])
                point[fixed[v]] = 1.0
                base = DiscreteDistribution((*base.variables, v), np.multiply.outer(base.probs, point))
        joint = wiring_joint(wiring, self.generators, base, keep_inputs=())  # type: ignore[arg-type]
        return joint.marginal(self.plan.outcome)

    def __repr__(self) -> str:
        return f"SamplingNetwork({self.plan.query}, {len(self.generators)} trained factors)"
