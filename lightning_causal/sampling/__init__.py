"""Executing sampling plans: fitting the factors stage by stage and running the merged network.

* ``network.py``: :func:`run_network`, ancestral sampling through any conditional generators;
* ``kinds.py``: generator kinds and their registry (``plan.fit(data, generator="categorical")``);
* ``data.py``: the observed and generated datasets of a plan (samples, or an exact distribution);
* ``fit.py``: :func:`fit_plan`, ID-GEN's training loop;
* ``sampling_network.py``: :class:`SamplingNetwork`, the fitted network users sample from;
* ``exact.py``: variable elimination over exact tables.
"""

from lightning_causal.sampling.data import ArrayData, ExactData, PlanData, TensorData
from lightning_causal.sampling.exact import network_joint
from lightning_causal.sampling.fit import fit_plan
from lightning_causal.sampling.kinds import (
    CategoricalKind,
    GeneratorKind,
    available_generators,
    generator_kind,
    register_generator,
)
from lightning_causal.sampling.network import run_network
from lightning_causal.sampling.sampling_network import SamplingNetwork

__all__ = [
    "ArrayData",
    "CategoricalKind",
    "ExactData",
    "GeneratorKind",
    "PlanData",
    "SamplingNetwork",
    "TensorData",
    "available_generators",
    "fit_plan",
    "generator_kind",
    "network_joint",
    "register_generator",
    "run_network",
]
