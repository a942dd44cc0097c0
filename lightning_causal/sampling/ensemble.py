"""Answers with intervals: a plan fitted on all rows and on bootstrap resamples of them.

:func:`fit_ensemble` (``plan.fit_ensemble(data, members=K)``) fits the plan once on the observed
rows, the answer, and ``K`` more times on bootstrap resamples (``n`` rows drawn with replacement,
member ``k`` seeded with ``seed + k + 1``), one after the other; with a run folder each member
trains in its own ``member-<k>`` folder and resumes there. The members type the resampled rows as
the first fit typed all rows (a class missing from a resample is still a class).

:class:`EnsembleNetwork` samples like the network fitted on all rows and gives percentile-bootstrap
intervals for what a user asks (:meth:`EnsembleNetwork.interval`, :meth:`EnsembleNetwork.difference`):
the mean of each outcome (each coordinate of a vector; the probability of each class of a discrete
outcome) or a quantile, under an intervention, or the difference between two interventions (each
member answers both, so the members' differences carry the pairing). The interval of level ``l`` is
the ``(1 - l) / 2`` and ``(1 + l) / 2`` quantiles of the members' values; each member's value is
computed from ``n`` of its samples (exactly, from its tables, for the categorical learner), so
Monte Carlo error adds a little to the width. Bootstrap intervals reflect the data's sampling error, not a model's bias;
how often they cover the exact value is measured in ``benchmarks/interval_coverage.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from lightning_causal.errors import QueryError
from lightning_causal.sampling.data import ArrayData
from lightning_causal.sampling.learners import Learner, learner_for, plan_columns
from lightning_causal.sampling.sampling_network import SamplingNetwork
from lightning_causal.sampling.value_space import NumpyValueSpace, ValueSpace

if TYPE_CHECKING:
    from lightning_causal.plan.sampling_plan import SamplingPlan

__all__ = ["EnsembleNetwork", "Interval", "bootstrap_rows", "check_members", "fit_ensemble"]


@dataclass(frozen=True)
class Interval:
    """An estimate with its bootstrap interval.

    Attributes:
        estimate: the value of the network fitted on all rows.
        low, high: the interval's ends.
        level: its nominal coverage (0.9: a 90% interval).
        members: the bootstrap members it comes from.
    """

    estimate: float
    low: float
    high: float
    level: float
    members: int

    @property
    def width(self) -> float:
        return self.high - self.low

    def covers(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.estimate:.4g} [{self.low:.4g}, {self.high:.4g}] ({self.level:.0%}, {self.members} members)"


def _classes(network: Any) -> dict[str, int]:
    """The number of classes of every discrete variable of a network (its data's) or a model (its specs')."""
    if hasattr(network, "cardinalities"):
        return dict(network.cardinalities)
    specs = getattr(network, "variables", {})
    return {v: s.classes for v, s in specs.items() if s.is_discrete}


def bootstrap_rows(columns: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """``n`` rows drawn with replacement from the ``n`` rows of ``columns`` (NumPy arrays or torch tensors)."""
    n = len(next(iter(columns.values())))
    pick = np.random.default_rng(seed).integers(0, n, n)
    return {v: ValueSpace.take(column, pick) for v, column in columns.items()}


def check_members(members: Any) -> int:
    """``members`` checked to be a number of bootstrap members (2 or more)."""
    if isinstance(members, bool) or not isinstance(members, int) or members < 2:
        raise QueryError(f"members is {members!r}; give the number of bootstrap members, 2 or more (20 or more)")
    return members


def _level(level: Any) -> float:
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise QueryError(f"level is {level!r}; give the interval's coverage as a number between 0 and 1, e.g. 0.9")
    return float(level)


class EnsembleNetwork:
    """An answer fitted on all rows, with bootstrap members for intervals (see the module docstring).

    The fitted objects are sampling networks (:func:`fit_ensemble`) or trained models such as a DCM
    (:func:`lightning_causal.models.fit_bootstrap`): anything with ``sample(n, interventions,
    given, seed=...)`` and, for :meth:`counterfactual`, ``counterfactual(factual, interventions, seed=...)``.

    Args:
        network: fitted on all rows: :meth:`sample` draws from it and estimates come from it.
        members: fitted on bootstrap resamples.
        seeds: the seed of each member's resample and fit.
    """

    def __init__(self, network: Any, members: Sequence[Any], seeds: Sequence[int]) -> None:
        self.network = network
        self.members = list(members)
        self.seeds = list(seeds)

    @property
    def plan(self) -> SamplingPlan:
        """The plan of an ensemble of sampling networks."""
        return self.network.plan  # type: ignore[no-any-return]

    def sample(self, n: int, interventions: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        """Samples of the answer fitted on all rows (its ``sample``)."""
        return self.network.sample(n, interventions, **kwargs)  # type: ignore[no-any-return]

    def counterfactual(
        self,
        factual: Mapping[str, Any],
        interventions: Mapping[str, Any],
        level: float = 0.9,
        seed: int = 0,
    ) -> dict[str, Interval]:
        """Intervals of the mean counterfactual of each variable over the ``factual`` rows, had ``interventions`` been.

        Each model computes the counterfactuals of the same rows (a DCM's abduction and prediction).
        """
        level = _level(level)
        if not hasattr(self.network, "counterfactual"):
            raise QueryError(f"{type(self.network).__name__} answers no counterfactuals: fit an ensemble of DCMs")

        def mean(model: Any) -> dict[str, float]:
            return self._summarise(model, model.counterfactual(factual, interventions, seed=seed), None)

        return self._intervals(mean(self.network), [mean(m) for m in self.members], level)

    def interval(
        self,
        interventions: Mapping[str, Any] | None = None,
        given: Mapping[str, Any] | None = None,
        statistic: str | float = "mean",
        level: float = 0.9,
        n: int = 4000,
        seed: int = 0,
    ) -> dict[str, Interval]:
        """Intervals of ``statistic`` of every outcome under ``do(interventions)``, given ``given``.

        ``statistic`` is ``"mean"`` (per coordinate of a continuous outcome, named ``Y`` or ``Y[j]``;
        per class of a discrete one, named ``P(Y=k)``) or a quantile level in (0, 1) (continuous
        outcomes). Each network draws ``n`` samples with ``seed``.
        """
        level = _level(level)
        estimate = self._statistic(self.network, interventions, given, statistic, n, seed)
        values = [self._statistic(m, interventions, given, statistic, n, seed) for m in self.members]
        return self._intervals(estimate, values, level)

    def difference(
        self,
        interventions: Mapping[str, Any],
        baseline: Mapping[str, Any],
        given: Mapping[str, Any] | None = None,
        statistic: str | float = "mean",
        level: float = 0.9,
        n: int = 4000,
        seed: int = 0,
    ) -> dict[str, Interval]:
        """Intervals of ``statistic`` under ``do(interventions)`` minus under ``do(baseline)`` (an average effect)."""
        level = _level(level)

        def diff(net: SamplingNetwork) -> dict[str, float]:
            a = self._statistic(net, interventions, given, statistic, n, seed)
            b = self._statistic(net, baseline, given, statistic, n, seed + 1)
            return {k: a[k] - b[k] for k in a}

        return self._intervals(diff(self.network), [diff(m) for m in self.members], level)

    def _intervals(
        self, estimate: Mapping[str, float], values: Sequence[Mapping[str, float]], level: float
    ) -> dict[str, Interval]:
        if len(values) < 2:
            raise QueryError(
                f"an interval needs at least 2 bootstrap members and this ensemble has {len(values)}; "
                "fit it with members=20 or more"
            )
        out = {}
        for k, point in estimate.items():
            column = np.array([v[k] for v in values], dtype=np.float64)
            low, high = np.quantile(column, [(1 - level) / 2, (1 + level) / 2])
            out[k] = Interval(float(point), float(low), float(high), level, len(values))
        return out

    def _statistic(
        self,
        network: Any,
        interventions: Mapping[str, Any] | None,
        given: Mapping[str, Any] | None,
        statistic: str | float,
        n: int,
        seed: int,
    ) -> dict[str, float]:
        quantile = None
        if statistic != "mean":
            if isinstance(statistic, bool) or not isinstance(statistic, int | float) or not 0 < statistic < 1:
                raise QueryError(f"statistic is {statistic!r}; give 'mean' or a quantile level between 0 and 1")
            quantile = float(statistic)
        if quantile is None and isinstance(getattr(network, "space", None), NumpyValueSpace):
            exact = network.distribution(interventions, given)  # exact tables: the exact answer
            return {
                f"P({v}={k})": float(p)
                for v in network.plan.outcome
                for k, p in enumerate(exact.marginal([v]).aligned([v]))
            }
        return self._summarise(network, network.sample(n, interventions, given, seed=seed), quantile)

    @staticmethod
    def _summarise(network: Any, samples: Mapping[str, Any], quantile: float | None) -> dict[str, float]:
        """The mean (or ``quantile``) of every coordinate of every variable; for the mean, class probabilities of
        discrete ones (a quantile leaves them out)."""
        cards = _classes(network)
        out: dict[str, float] = {}
        for v, values in samples.items():
            array = values.detach().cpu().numpy() if hasattr(values, "detach") else np.asarray(values)
            if v in cards:
                if quantile is not None:
                    continue  # a quantile of classes has no meaning: discrete outcomes are left out
                counts = np.bincount(array.reshape(-1).astype(np.int64), minlength=cards[v]) / len(array)
                out.update({f"P({v}={k})": float(c) for k, c in enumerate(counts)})
                continue
            flat = array.reshape(len(array), -1).astype(np.float64)
            if flat.shape[1] > 64:
                continue  # an image: no interval of its pixels
            stat = flat.mean(0) if quantile is None else np.quantile(flat, quantile, axis=0)
            names = [v] if flat.shape[1] == 1 else [f"{v}[{j}]" for j in range(flat.shape[1])]
            out.update({name: float(s) for name, s in zip(names, stat, strict=True)})
        if not out and quantile is not None:
            raise QueryError(
                f"the outcomes {', '.join(samples)} are discrete (or images): a quantile needs a continuous "
                "outcome; ask for statistic='mean' (class probabilities)"
            )
        if not out:
            raise QueryError("the answer's variables are all images: intervals are for numbers and classes")
        return out

    def __repr__(self) -> str:
        what = self.network.plan.query if hasattr(self.network, "plan") else type(self.network).__name__
        return f"EnsembleNetwork({what}, {len(self.members)} bootstrap members)"


def fit_ensemble(
    plan: SamplingPlan,
    data: Any,
    members: int = 20,
    learner: str | Learner = "categorical",
    seed: int = 0,
    generated_size: int | None = None,
    cardinalities: Mapping[str, int] | None = None,
    progress: bool = False,
) -> EnsembleNetwork:
    """Fit ``plan`` on ``data`` and on ``members`` bootstrap resamples of its rows (see the module docstring).

    ``progress`` shows a bar over the members.
    """
    check_members(members)
    chosen = learner_for(learner)
    observed = chosen.observe(data, plan_columns(plan), cardinalities)  # the rows the members resample
    if not isinstance(observed, ArrayData) or not observed.columns:
        raise QueryError(
            "bootstrap intervals resample data rows, and the data is an exact distribution (no rows): "
            "fit the ensemble on samples (rows)"
        )
    network = chosen.fit_plan(plan, data, seed=seed, generated_size=generated_size, cardinalities=cardinalities)
    seeds = [seed + k + 1 for k in range(members)]
    fitted = []
    bar = tqdm(total=members, desc="bootstrap members", unit="member", disable=not progress, dynamic_ncols=True)
    for k, member_seed in enumerate(seeds):
        rows = bootstrap_rows(observed.columns, member_seed)
        member = chosen.member(k)
        fitted.append(
            member.fit_plan(
                network.plan,
                rows,
                seed=member_seed,
                generated_size=generated_size,
                cardinalities=network.cardinalities,
            )
        )
        bar.update()
    bar.close()
    return EnsembleNetwork(network, fitted, seeds)
