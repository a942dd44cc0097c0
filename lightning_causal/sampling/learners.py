"""Learners: how one family of conditional generators fits a plan's factors.

:meth:`SamplingPlan.fit <lightning_causal.plan.SamplingPlan.fit>` takes a learner, or the name under
which one is registered, so a new family is added without touching the plan, the fitting loop or
the sampling network:

.. code-block:: python

    class MyLearner(Learner):
        name = "mine"
        space = NumpyValueSpace()
        ...

    register_learner("mine", MyLearner)            # or a "module:attribute" path, imported on first use
    wiring = plan.fit(data, learner="mine")

A learner checks the observed data for the plan (:meth:`Learner.observe`), fits the factors of one
dataset at a time (:meth:`Learner.fit`: one call per dataset, so a learner can train all of them in
one run), and names the value space its generators work in (:attr:`Learner.space`: the RNG and the
values a user fixes). :meth:`Learner.fit_plan` runs ID-GEN's training loop with those (datasets in
plan order: generate, then fit); a learner that trains in stages of its own (``"diffusion"``: one
Lightning run per stage, generated datasets written as shards, resumable) overrides it. Registered:
``"categorical"``, exact conditional probability tables fitted from counts (or from an exact
distribution), here; ``"diffusion"``, conditional diffusion models for continuous variables, UNets
for images and Gumbel-max classifiers for discrete ones, trained with Lightning
(:class:`lightning_causal.models.idgen.DiffusionLearner`, registered by the package's top level).
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lightning_causal.distribution import DiscreteDistribution, check_integer_columns
from lightning_causal.errors import QueryError, listing
from lightning_causal.generators.base import ConditionalGenerator
from lightning_causal.generators.categorical import CategoricalTable
from lightning_causal.plan.parts import Factor
from lightning_causal.sampling.data import ArrayData, ExactData, PlanData
from lightning_causal.sampling.sampling_network import SamplingNetwork
from lightning_causal.sampling.value_space import NumpyValueSpace, ValueSpace

if TYPE_CHECKING:
    from lightning_causal.plan.sampling_plan import SamplingPlan

__all__ = [
    "CategoricalLearner",
    "Learner",
    "available_learners",
    "learner_for",
    "plan_columns",
    "register_learner",
]


class Learner(ABC):
    """How one family of conditional generators fits a plan (see the module docstring).

    Attributes:
        name: the name it is registered under.
        space: the values and RNG its generators work in.
    """

    name: str = ""
    space: ValueSpace

    @abstractmethod
    def observe(self, data: Any, needed: Sequence[str], cardinalities: Mapping[str, int] | None) -> PlanData:
        """The observational data, checked to hold the ``needed`` variables, as a :class:`PlanData`."""

    @abstractmethod
    def fit(self, factors: Sequence[Factor], data: PlanData) -> dict[str, ConditionalGenerator]:
        """Fitted generators of ``factors`` (all trained on ``data``), keyed by factor name."""

    def member(self, index: int) -> Learner:
        """The learner of bootstrap member ``index`` of an ensemble (:func:`~lightning_causal.sampling.fit_ensemble`),
        after this one fitted all rows: it must type the resampled rows as this one typed all of them."""
        return self

    def fit_plan(
        self,
        plan: SamplingPlan,
        data: Any,
        seed: Any = 0,
        generated_size: int | None = None,
        cardinalities: Mapping[str, int] | None = None,
    ) -> SamplingNetwork:
        """Fit the plan's factors dataset by dataset and return the merged sampling network.

        Datasets are visited in the plan's order: ``D0`` is the observed data; every other dataset
        is generated from its source by the network of the factors already fitted (the step-7
        update copies the carried columns from random rows and resamples the rest; IDC-GEN
        samples the joint network), then the factors trained on it are fitted by :meth:`fit`.
        A plan with ``"auto"`` conditioning is first resolved for the data's discrete variables
        (:meth:`SamplingPlan.resolve_conditioning`).
        """
        observed = self.observe(data, plan_columns(plan), cardinalities)
        plan = plan.resolve_conditioning(observed.cardinalities)
        rng = self.space.rng(seed)
        generators: dict[str, ConditionalGenerator] = {}
        data_by_name: dict[str, PlanData] = {"D0": observed}
        for ds in plan.datasets:
            if ds.name != "D0":
                assert ds.source is not None and ds.wiring is not None
                data_by_name[ds.name] = data_by_name[ds.source].generate(
                    ds.wiring, ds.copied, generators, generated_size, rng
                )
            factors = [f for f in plan.factors if f.dataset == ds.name]
            generators.update(self.fit(factors, data_by_name[ds.name]))
        return SamplingNetwork(plan, generators, observed, self.space)


def plan_columns(plan: SamplingPlan) -> list[str]:
    """The observed variables a plan reads (factors, copied columns, network inputs), in graph order."""
    return sorted(
        {v for f in plan.factors for v in (*f.inputs, f.variable)}
        | {v for d in plan.datasets for v in d.copied}
        | set(plan.wiring.inputs),
        key=plan.graph.core.index.__getitem__,
    )


class CategoricalLearner(Learner):
    """Exact conditional probability tables (:class:`CategoricalTable`) for discrete variables.

    Data are integer codes ``{name: array}`` or an exact :class:`DiscreteDistribution`; the RNG is
    a ``numpy.random.Generator``.
    """

    name = "categorical"
    space: ValueSpace = NumpyValueSpace()

    def observe(self, data: Any, needed: Sequence[str], cardinalities: Mapping[str, int] | None) -> PlanData:
        """Integer columns (checked, cardinalities inferred) or an exact distribution."""
        if isinstance(data, DiscreteDistribution):
            missing = [v for v in needed if v not in data.variables]
            if missing:
                raise QueryError(
                    f"the distribution has no variable {missing[0]!r}, which the plan needs; "
                    f"it has {listing(data.variables)}"
                )
            return ExactData(data)
        if not isinstance(data, Mapping):
            raise QueryError(
                f"data must be a dict of integer arrays or a DiscreteDistribution, got {type(data).__name__}"
            )
        columns, cards = check_integer_columns(data, needed, cardinalities)
        if not columns or len(next(iter(columns.values()))) == 0:
            raise QueryError("the data has no rows")
        return ArrayData(columns, cards)

    def fit(self, factors: Sequence[Factor], data: PlanData) -> dict[str, ConditionalGenerator]:
        """One table per factor, from counts or from the exact joint."""
        out: dict[str, ConditionalGenerator] = {}
        for f in factors:
            table = CategoricalTable(f.variable, f.inputs, data.cardinalities)
            if isinstance(data, ExactData):
                out[f.name] = table.fit_joint(data.joint.marginal((*table.inputs, table.variable)).probs)
            elif isinstance(data, ArrayData):
                out[f.name] = table.fit_samples(data.columns[table.variable], data.columns)
            else:
                raise QueryError(f"exact tables fit on integer columns or an exact distribution, not {data!r}")
        return out


# ---------------------------------------------------------------------------- the registry
_REGISTRY: dict[str, Callable[[], Learner] | str] = {"categorical": CategoricalLearner}


def register_learner(name: str, learner: Callable[[], Learner] | str) -> None:
    """Register a learner under ``name``: a factory (e.g. the class) or a ``"module:attribute"`` path."""
    if not isinstance(name, str) or not name:
        raise QueryError(f"a learner needs a non-empty name, got {name!r}")
    _REGISTRY[name] = learner


def available_learners() -> tuple[str, ...]:
    """The registered names."""
    return tuple(_REGISTRY)


def learner_for(learner: str | Learner) -> Learner:
    """The learner a name (or an instance) stands for."""
    if isinstance(learner, Learner):
        return learner
    entry = _REGISTRY.get(learner) if isinstance(learner, str) else None
    if entry is None:
        raise QueryError(f"unknown learner {learner!r}; available: {listing(repr(k) for k in _REGISTRY)}")
    if isinstance(entry, str):
        module, _, attribute = entry.partition(":")
        entry = getattr(importlib.import_module(module), attribute)
    return entry()
