"""The merged sampling network of a fitted ID-GEN plan.

:class:`SamplingNetwork` samples the query by running the plan's merged network ancestrally
(:func:`~lightning_causal.sampling.ancestral.run_wiring`) with the intervened and conditioned inputs
fixed and the line-3 inputs drawn jointly from rows of the observational data whose treatment and
condition values are nearest to the query's (P(w | x), see :meth:`PlanData.matched_rows`), or by a
learned P(w | x) given as ``free_inputs`` (an image x: IDGEN's free-input model). With exact tables
fitted on an exact :class:`~lightning_causal.DiscreteDistribution`, :meth:`SamplingNetwork.distribution`
returns the network's exact output distribution. A plan that meets its conditions by selection
(``conditioning="select"``) runs the network of the joint P(y, z | do(x)) and keeps, for every row,
the first draw whose z equals the given value (rejection; :data:`MIN_ACCEPTANCE` bounds how rare
a condition may be).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
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

__all__ = ["MIN_ACCEPTANCE", "SamplingNetwork"]

MIN_ACCEPTANCE = 0.002
"""The smallest share of joint draws matching the given conditions that selection accepts (below it, a query fails)."""
_FIRST_LOOK = 2000  # joint draws seen before a low acceptance is final


class SamplingNetwork:
    """A fitted ID-GEN sampling network for one query.

    Use :meth:`sample` for samples and, when fitted with exact tables, :meth:`distribution` for the
    exact answer the network encodes.

    Args:
        plan: the plan it executes.
        generators: the fitted generator of every factor, keyed by factor name.
        observed: the observational data (line-3 inputs are drawn from its rows).
        space: the value space of the generators (their RNG and value types).
        free_inputs: draws the free inputs instead of matching data rows: called with the fixed
            inputs' values (one row per query, plus any free inputs the caller chose) and the names
            to draw, returns their values (e.g. a learned P(w | x) where x is an image,
            :class:`~lightning_causal.models.idgen.free_inputs.FreeInputModel`).
    """

    def __init__(
        self,
        plan: SamplingPlan,
        generators: dict[str, ConditionalGenerator],
        observed: PlanData,
        space: ValueSpace,
        free_inputs: Callable[[Mapping[str, Any], tuple[str, ...]], dict[str, Any]] | None = None,
    ) -> None:
        self.plan = plan
        self.generators = generators
        self.observed = observed
        self.space = space
        self.free_inputs = free_inputs

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
        for v in inputs or {}:
            if v not in self.plan.arbitrary:
                free = ", ".join(self.plan.arbitrary) or "none"
                raise QueryError(f"inputs names {v!r}, which is not a free input of the network (free inputs: {free})")
        chosen = set(inputs or {})
        if inputs:
            fixed.update(self.space.constants(dict(inputs), n, self.observed))
        drawn = tuple(v for v in self.plan.arbitrary if v not in chosen)

        def draw(index: np.ndarray | None) -> tuple[dict[str, Any], dict[str, Any]]:
            """The network run on the rows ``index`` of the fixed values (all ``n`` for None), and those values."""
            at = fixed if index is None else {v: self.space.take(x, index) for v, x in fixed.items()}
            m = n if index is None else len(index)
            rows = {v: at[v] for v in wiring.inputs if v in at}
            if self.free_inputs is not None and drawn:
                rows.update(self.free_inputs(rows, drawn))
            else:
                matched = self._matched({v: x for v, x in rows.items() if v not in chosen})
                rows.update(self.observed.matched_rows(drawn, matched, m, rng))
            return run_wiring(wiring, self.generators, rows, m, rng), at

        if not self.plan.selected:
            out, _ = draw(None)
            return {v: out[v] for v in self.plan.outcome}
        return self._select(draw, n, interventions or {})

    def _select(self, draw: Any, n: int, interventions: Mapping[str, Any]) -> dict[str, Any]:
        """For every row, the first of repeated joint draws whose selected conditions equal the row's (rejection).

        Rows still unmatched are drawn again, each repeated as often as the acceptance so far says
        is needed (at most ``8 n`` draws a round); a query fails when, after ``_FIRST_LOOK`` draws,
        fewer than :data:`MIN_ACCEPTANCE` of them match.
        """
        selected = self.plan.selected
        pending = np.arange(n)
        found: list[np.ndarray] = []
        parts: dict[str, list[Any]] = {v: [] for v in self.plan.outcome}
        total = accepted = 0
        rate = 1.0
        while len(pending):
            p = len(pending)
            reps = max(1, min(math.ceil(1.2 / max(rate, MIN_ACCEPTANCE)), max(8 * n, 1024) // p))
            out, at = draw(np.tile(pending, reps))
            flat = np.ones(p * reps, dtype=bool)
            for v in selected:
                flat &= self.space.equal_rows(out[v], at[v])
            total += flat.size
            accepted += int(flat.sum())
            match = flat.reshape(reps, p)
            hit = match.any(0)
            rows = match.argmax(0)[hit] * p + np.flatnonzero(hit)  # the first matching draw of each row hit
            found.append(pending[hit])
            for v in parts:
                parts[v].append(self.space.take(out[v], rows))
            pending = pending[~hit]
            rate = accepted / total
            if len(pending) and total >= _FIRST_LOOK and rate < MIN_ACCEPTANCE:
                event = _shown_all({v: at[v] for v in selected})
                done = _shown_all(interventions) if interventions else ""
                raise QueryError(
                    f"given {event} matched {accepted} of {total} draws of the network under do({done}) "
                    f"(below {MIN_ACCEPTANCE:.1%}): the condition is too rare there to answer by selection; "
                    "give a more common value, or fit the plan with conditioning='learn'"
                )
        order = np.argsort(np.concatenate(found), kind="stable")
        return {v: self.space.take(self.space.concat(chunks), order) for v, chunks in parts.items()}

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
            matched = {v: value for v, value in fixed.items() if v in wiring.inputs and self.observed.has(v)}
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
        if self.plan.selected:
            target = {v: fixed[v] for v in self.plan.selected}
            if joint.marginal(self.plan.selected).prob(target) <= 0:
                raise QueryError(f"given {_shown_all(target)} has probability 0 under the network's interventions")
            return joint.conditional(self.plan.outcome, target)
        return joint.marginal(self.plan.outcome)

    def __repr__(self) -> str:
        return f"SamplingNetwork({self.plan.query}, {len(self.generators)} trained factors)"


def _shown(value: Any) -> str:
    """A fixed value as a short text (its first row)."""
    flat = value.reshape(-1) if hasattr(value, "reshape") else [value]
    first = flat[0].item() if hasattr(flat[0], "item") else flat[0]
    return f"{first:.3g}" if isinstance(first, float) else str(first)


def _shown_all(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{v} = {_shown(x)}" for v, x in values.items())
