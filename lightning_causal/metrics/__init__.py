"""Sample-quality metrics of the causal benchmarks, as torchmetrics objects (DDP-safe) and plain functions.

- :class:`MMD` / :func:`mmd`: squared maximum mean discrepancy, RBF kernel, biased V-statistic (Gretton et al.
  2012, eq. 5), median-heuristic bandwidth on the pooled sample; observational and interventional quality.
- :class:`CounterfactualMSE`: counterfactual squared error averaged over all descendants of the intervened node
  (Chao et al. 2023, arXiv 2302.00860).
- Per-unit potential-outcome distributions (DIME, IWDD; ``outcomes.py``): each score compares a test unit's model
  draws with its true draws and is averaged over units.
- :class:`Wasserstein1` / :func:`wasserstein1`: exact 1-D Wasserstein-1 of a continuous outcome.
- :class:`DiscreteKL` / :func:`discrete_kl`, :class:`DiscreteTVD` / :func:`discrete_tvd`: KL(p_true || p_model)
  (1e-6 smoothing) and total variation of a discrete outcome's class frequencies.
- :class:`JointMMD` / :func:`joint_mmd`: :func:`mmd` of the outcome vectors per unit; :func:`outcome_matrix` builds
  them (continuous standardised, binary 0/1, categorical one-hot).
- :class:`DependenceError` / :func:`spearman`: |rho_model - rho_true| of Spearman's rank correlation (average
  ranks for ties) between two outcomes.
- :class:`PEHE`: sqrt of the mean squared error of the conditional average treatment effect.
- :class:`IntervalCoverage`: the share of intervals holding the truth, and their mean width.
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
from lightning_causal.metrics.outcomes import (
    PEHE,
    DependenceError,
    DiscreteKL,
    DiscreteTVD,
    IntervalCoverage,
    JointMMD,
    Wasserstein1,
    discrete_kl,
    discrete_tvd,
    joint_mmd,
    outcome_matrix,
    spearman,
    wasserstein1,
)

__all__ = [
    "MMD",
    "PEHE",
    "AttributeNet",
    "CounterfactualMSE",
    "DependenceError",
    "DiscreteKL",
    "DiscreteTVD",
    "IntervalCoverage",
    "JointMMD",
    "Wasserstein1",
    "attribute_distribution",
    "attribute_tvd",
    "counterfactual_mse",
    "discrete_kl",
    "discrete_tvd",
    "evaluate_against_scm",
    "fid_kid",
    "interventional_mmd",
    "joint_mmd",
    "load_attribute_net",
    "median_heuristic_gamma",
    "mmd",
    "observational_mmd",
    "outcome_matrix",
    "predict_attributes",
    "save_attribute_net",
    "spearman",
    "stack_variables",
    "train_attribute_net",
    "tvd",
    "wasserstein1",
]
