"""Executing sampling plans: fitting the factors stage by stage and running the merged network.

* ``ancestral.py``: :func:`run_wiring`, ancestral sampling through any conditional generators;
* ``learners.py``: learners (how a family of generators fits a plan) and their registry
  (``plan.fit(data, learner="categorical")``);
* ``value_space.py``: the values and RNG of a family of generators (NumPy here; torch in
  ``tensor_space.py``, loaded on first use);
* ``data.py``: the observed and generated datasets of a plan (samples, or an exact distribution), and
  :func:`generate_rows`, the one place a plan's datasets are generated;
* ``fit.py``: :func:`fit_plan`, ID-GEN's training loop;
* ``sampling_network.py``: :class:`SamplingNetwork`, the fitted network users sample from;
* ``exact.py``: variable elimination over exact tables;
* ``ensemble.py``: :func:`fit_ensemble`, the network fitted on all rows and on bootstrap resamples,
  and the intervals of its answers (:class:`EnsembleNetwork`).

The package imports no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lightning_causal.sampling.ancestral import run_wiring
from lightning_causal.sampling.data import ArrayData, ExactData, PlanData, TensorData, generate_rows
from lightning_causal.sampling.ensemble import EnsembleNetwork, Interval, bootstrap_rows, fit_ensemble
from lightning_causal.sampling.exact import wiring_joint
from lightning_causal.sampling.fit import fit_plan
from lightning_causal.sampling.learners import (
    CategoricalLearner,
    Learner,
    available_learners,
    learner_for,
    register_learner,
)
from lightning_causal.sampling.sampling_network import SamplingNetwork
from lightning_causal.sampling.value_space import NumpyValueSpace, ValueSpace

if TYPE_CHECKING:
    from lightning_causal.sampling.tensor_space import TensorValueSpace

__all__ = [
    "ArrayData",
    "CategoricalLearner",
    "EnsembleNetwork",
    "ExactData",
    "Interval",
    "Learner",
    "NumpyValueSpace",
    "PlanData",
    "SamplingNetwork",
    "TensorData",
    "TensorValueSpace",
    "ValueSpace",
    "available_learners",
    "bootstrap_rows",
    "fit_ensemble",
    "fit_plan",
    "generate_rows",
    "learner_for",
    "register_learner",
    "run_wiring",
    "wiring_joint",
]


def __getattr__(name: str) -> Any:
    if name == "TensorValueSpace":  # it needs torch
        from lightning_causal.sampling.tensor_space import TensorValueSpace

        return TensorValueSpace
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
