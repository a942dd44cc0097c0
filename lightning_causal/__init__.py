"""lightning-causal: diffusion-based causal generative models with PyTorch Lightning.

The public surface, from one place: graphs, identification and plans (pure Python: numpy and
networkx, no torch), the errors, and, loaded on first use because they need torch and Lightning,
the model families (:class:`DCM`, :class:`IDGEN`, :func:`load_model`), the mechanisms' configuration
(:class:`MechanismConfig`) and the data modules (:class:`TabularDataModule`, ...)::

    from lightning_causal import IDGEN, LatentSCMDataModule, compile_plan, identify

This module is the top of the library: it names the built-in learners (``plan.fit(data,
learner="diffusion")`` is the ID-GEN family's, imported when first used) and lazily every public
class of the layers below; nothing below imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lightning_causal.distribution import DiscreteDistribution
from lightning_causal.errors import (
    ConfigError,
    DataError,
    EvaluationError,
    GraphError,
    LightningCausalError,
    NotIdentifiableError,
    NotTrainedError,
    QueryError,
    TrainingError,
)
from lightning_causal.graph import CausalGraph
from lightning_causal.identification import CForest, Estimand, Hedge, identify
from lightning_causal.plan import SamplingPlan, compile_plan
from lightning_causal.sampling import SamplingNetwork, register_learner

if TYPE_CHECKING:
    from lightning_causal.datamodules import (
        LatentSCMDataModule,
        NapkinDigitsDataModule,
        SCMDataModule,
        TabularDataModule,
        TensorDataModule,
    )
    from lightning_causal.mechanisms import ImageMechanismConfig, MechanismConfig
    from lightning_causal.models import DCM, IDGEN, CausalModule, load_model

__version__ = "0.2.0"

register_learner("diffusion", "lightning_causal.models.idgen.learner:DiffusionLearner")  # imported on first use

_LAZY = {
    "DCM": "lightning_causal.models",
    "IDGEN": "lightning_causal.models",
    "CausalModule": "lightning_causal.models",
    "load_model": "lightning_causal.models",
    "MechanismConfig": "lightning_causal.mechanisms",
    "ImageMechanismConfig": "lightning_causal.mechanisms",
    "LatentSCMDataModule": "lightning_causal.datamodules",
    "NapkinDigitsDataModule": "lightning_causal.datamodules",
    "SCMDataModule": "lightning_causal.datamodules",
    "TabularDataModule": "lightning_causal.datamodules",
    "TensorDataModule": "lightning_causal.datamodules",
}

__all__ = [
    "DCM",
    "IDGEN",
    "CForest",
    "CausalGraph",
    "CausalModule",
    "ConfigError",
    "DataError",
    "DiscreteDistribution",
    "Estimand",
    "EvaluationError",
    "GraphError",
    "Hedge",
    "ImageMechanismConfig",
    "LatentSCMDataModule",
    "LightningCausalError",
    "MechanismConfig",
    "NapkinDigitsDataModule",
    "NotIdentifiableError",
    "NotTrainedError",
    "QueryError",
    "SCMDataModule",
    "SamplingNetwork",
    "SamplingPlan",
    "TabularDataModule",
    "TensorDataModule",
    "TrainingError",
    "__version__",
    "compile_plan",
    "identify",
    "load_model",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
