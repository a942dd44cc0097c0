"""The mechanisms of one ID-GEN dataset: every factor fitted on it, in one bank set.

An ID-GEN plan (:class:`~lightning_causal.plan.SamplingPlan`) lists factors "variable given
inputs, on dataset". All factors of one dataset train on the same batches, so they share one
:class:`FactorMechanisms`, a :class:`~lightning_causal.mechanisms.BankSet` whose entries are the
factors (keyed by factor name, since one dataset may hold two factors of the same variable with
different inputs) over the layout of the dataset's columns: conditional diffusion for continuous
variables, a conditional UNet for images, Gumbel-max classifiers for categorical and binary ones
(as ID-GEN's released code does for small discrete variables). Factors without inputs (a marginal,
e.g. ID's line-7 root P(W1)) resample rows of their dataset (``roots="empirical"``, exact) or are
modelled too (``roots="model"``). Values are dicts ``{variable: tensor}`` in data space.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lightning_causal.mechanisms import BankSet, MechanismConfig
from lightning_causal.plan.parts import Factor
from lightning_causal.variables.spec import VariableSpec

__all__ = ["FactorMechanisms"]


class FactorMechanisms(BankSet):
    """The mechanisms of ``factors`` (all trained on one dataset).

    Args:
        factors: the plan's factors on this dataset.
        variables: the spec of every variable (codec statistics of the observed data).
        order: the column order (a topological order of the graph).
        config: the architecture (:class:`~lightning_causal.mechanisms.MechanismConfig`).
    """

    def __init__(
        self,
        factors: Sequence[Factor],
        variables: Mapping[str, VariableSpec],
        order: Sequence[str],
        config: MechanismConfig,
    ) -> None:
        used = {v for f in factors for v in (f.variable, *f.inputs)}
        columns = tuple(v for v in order if v in used)
        resampled = [f.name for f in factors if not f.inputs] if config.roots == "empirical" else []
        super().__init__(
            [f.name for f in factors],
            {f.name: f.inputs for f in factors},
            variables,
            columns,
            config,
            targets={f.name: f.variable for f in factors},
            resampled=resampled,
        )
        self.factors = {f.name: f for f in factors}
        self.columns = columns
