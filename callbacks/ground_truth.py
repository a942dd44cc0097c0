"""Evaluation against exact ground truth during training.

When the data module knows its structural causal model (``datamodule.scm``, as
:class:`~lightning_causal.datamodules.scm.SCMDataModule` does), this callback measures, after each validation run,
the quantities DCM is judged by (Chao et al. 2023; ../shared/benchmarks.md section 1) and logs them
with the other metrics (CSV, W&B, ...):

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
import torch

from lightning_causal.metrics import mmd, stack_variables

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

    @torch.no_grad()
    def evaluate(self, model: Any, scm: Any) -> dict[str, float]:
        from lightning_causal.scm import intervention_values

        graph = scm.graph
        gen = torch.Generator().manual_seed(self.seed)
        n = self.samples
        nonroots = [v for v in graph.nodes if graph.parents(v)]
        out: dict[str, float] = {}
        true_obs, _ = scm.sample(n, gen)
        out["obs_mmd"] = mmd(
            stack_variables(model.sample(n, seed=self.seed), nonroots), stack_variables(true_obs, nonroots)
        ).item()
        node = graph.topological_order()[0]
        desc = graph.proper_descendants(node)
        if not desc:
            return out
        scores = []
        for k, value in enumerate(intervention_values(scm, node, count=3, seed=self.seed)):
            truth = scm.sample(n, gen, {node: value})[0]
            generated = model.sample(n, {node: value}, seed=self.seed + 1 + k)
            scores.append(mmd(stack_variables(generated, desc), stack_variables(truth, desc)).item())
        out["int_mmd"] = sum(scores) / len(scores)
        factual, noise = scm.sample(n, gen)
        shift = {node: lambda v: v + 1.0}
        truth_cf = scm.counterfactual(noise, shift)
        answer = model.counterfactual(factual, shift, seed=self.seed)
        out["cf_mse"] = (stack_variables(answer, desc) - stack_variables(truth_cf, desc)).pow(2).mean().item()
        return out
