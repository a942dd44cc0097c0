"""Evaluation against exact ground truth during training.

When the data module knows its structural causal model (``datamodule.scm``, as
:class:`~lightning_causal.datamodules.SCMDataModule` does), this callback runs the project's
evaluation protocol (:mod:`lightning_causal.metrics.evaluation`, the DCM benchmark's metrics, Chao
et al. 2023) after each validation and logs the results with the other metrics (CSV, W&B, ...):

* ``truth/obs_mmd``: MMD between model and exact observational samples over the non-root nodes;
* ``truth/int_mmd``: MMD over the descendants of the first node, under interventions at its 10th,
  50th and 90th percentile;
* ``truth/cf_mse``: counterfactual MSE over all descendants of that node, against counterfactuals
  computed from the true noise of held-out rows, for a one-unit shift of it.

All draws are seeded, so successive evaluations differ only through the model.
"""

from __future__ import annotations

from typing import Any

import lightning as L

from lightning_causal.metrics.evaluation import evaluate_against_scm
from lightning_causal.scm.dcm_suite import intervention_values

__all__ = ["GroundTruthMetrics"]


class GroundTruthMetrics(L.Callback):
    """Log MMD and counterfactual MSE against the data module's exact SCM after each validation.

    Args:
        samples: samples per query (observational, per intervention value, and factual rows).
        seed: seed of the true and generated draws.
    """

    def __init__(self, samples: int = 500, seed: int = 0) -> None:
        self.samples = samples
        self.seed = seed

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        data = getattr(trainer, "datamodule", None)
        scm = getattr(data, "scm", None)
        if scm is None or trainer.sanity_checking or not hasattr(pl_module, "sample"):
            return
        metrics = self.evaluate(pl_module, scm)
        pl_module.log_dict({f"truth/{k}": v for k, v in metrics.items()}, rank_zero_only=True)

    def evaluate(self, model: Any, scm: Any) -> dict[str, float]:
        """The protocol's scores of ``model`` on ``scm`` (see :func:`evaluate_against_scm`)."""
        node = scm.graph.topological_order()[0]
        values = intervention_values(scm, node, count=3, seed=self.seed)
        return evaluate_against_scm(model, scm, values, samples=self.samples, seed=self.seed)
