"""lightning-causal: diffusion-based causal generative models with PyTorch Lightning.

The graph and identification layers are pure Python (numpy and networkx) and never import torch.
"""

from lightning_causal.distribution import DiscreteDistribution
from lightning_causal.errors import (
    ConfigError,
    DataError,
    EvaluationError,
    GraphError,
    LightningCausalError,
    NotIdentifiableError,
    QueryError,
    TrainingError,
)
from lightning_causal.graph import CausalGraph
from lightning_causal.identification import CForest, Estimand, Hedge, identify
from lightning_causal.plan import SamplingPlan, compile_plan
from lightning_causal.sampling import SamplingNetwork

__version__ = "0.1.0"

__all__ = [
    "CForest",
    "CausalGraph",
    "ConfigError",
    "DataError",
    "DiscreteDistribution",
    "Estimand",
    "EvaluationError",
    "GraphError",
    "Hedge",
    "LightningCausalError",
    "NotIdentifiableError",
    "QueryError",
    "SamplingNetwork",
    "SamplingPlan",
    "TrainingError",
    "__version__",
    "compile_plan",
    "identify",
]
