"""Sample-quality metrics of the causal benchmarks, as torchmetrics objects (DDP-safe) and plain functions.

- :class:`MMD` / :func:`mmd`: squared maximum mean discrepancy, RBF kernel, biased V-statistic (Gretton et al.
  2012, eq. 5), median-heuristic bandwidth on the pooled sample; observational and interventional quality.
- :class:`CounterfactualMSE`: counterfactual squared error averaged over all descendants of the intervened node
  (Chao et al. 2023, arXiv 2302.00860).
- :func:`stack_variables`: a ``{name: tensor}`` sample as one (n, total_dim) matrix for the metrics above.
- ``evaluation.py``: the ground-truth protocol (which variables each score reads) shared by the
  callback, the demo and the benchmarks.
"""

from lightning_causal.metrics.counterfactual import CounterfactualMSE
from lightning_causal.metrics.evaluation import (
    counterfactual_mse,
    evaluate_against_scm,
    interventional_mmd,
    observational_mmd,
)
from lightning_causal.metrics.image_quality import (
    AttributeNet,
    attribute_distribution,
    attribute_tvd,
    fid_kid,
    load_attribute_net,
    predict_attributes,
    save_attribute_net,
    train_attribute_net,
    tvd,
)
from lightning_causal.metrics.mmd import MMD, median_heuristic_gamma, mmd, stack_variables

__all__ = [
    "MMD",
    "AttributeNet",
    "CounterfactualMSE",
    "attribute_distribution",
    "attribute_tvd",
    "counterfactual_mse",
    "evaluate_against_scm",
    "fid_kid",
    "interventional_mmd",
    "load_attribute_net",
    "median_heuristic_gamma",
    "mmd",
    "observational_mmd",
    "predict_attributes",
    "save_attribute_net",
    "stack_variables",
    "train_attribute_net",
    "tvd",
]
