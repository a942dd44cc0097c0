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

All draws are seeded, so successive evaluations differ only through the model. With ``plot`` (the
default) rank 0 also draws, for the same interventions, the model's samples of the first node's
descendants against the exact ones (histograms, :func:`~lightning_causal.plots.plot_interventional`)
into ``<run folder>/plots/`` and logs the figure as ``truth/interventional`` to every logger that
takes images (W&B).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch

from lightning_causal.metrics.evaluation import evaluate_against_scm
from lightning_causal.plots import plot_interventional
from lightning_causal.scm.dcm_suite import intervention_values

__all__ = ["GroundTruthMetrics"]


class GroundTruthMetrics(L.Callback):
    """Log MMD and counterfactual MSE against the data module's exact SCM after each validation.

    Args:
        samples: samples per query (observational, per intervention value, and factual rows).
        seed: seed of the true and generated draws.
        plot: also log the generated-against-exact interventional histograms (rank 0; loggers with images).
    """

    def __init__(self, samples: int = 500, seed: int = 0, plot: bool = True) -> None:
        self.samples = samples
        self.seed = seed
        self.plot = plot

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        data = getattr(trainer, "datamodule", None)
        scm = getattr(data, "scm", None)
        if scm is None or trainer.sanity_checking or not hasattr(pl_module, "sample"):
            return
        metrics = self.evaluate(pl_module, scm)
        pl_module.log_dict({f"truth/{k}": v for k, v in metrics.items()}, rank_zero_only=True)
        loggers = [logger for logger in trainer.loggers if hasattr(logger, "log_image")]
        if self.plot and loggers and trainer.is_global_zero:  # local sampling only: no other rank waits
            path = self.draw(pl_module, scm, Path(trainer.default_root_dir) / "plots", trainer.global_step)
            if path is not None:
                for logger in loggers:
                    logger.log_image(key="truth/interventional", images=[str(path)], step=trainer.global_step)

    def draw(self, model: Any, scm: Any, folder: Path, step: int) -> Path | None:
        """The generated-against-exact histograms under the protocol's interventions (None: nothing to draw)."""
        graph = scm.graph
        node = graph.topological_order()[0]
        shown = [v for v in graph.topological_order() if v in graph.proper_descendants(node)]
        if not shown:
            return None
        rng = torch.Generator().manual_seed(self.seed)
        panels = []
        for k, value in enumerate(intervention_values(scm, node, count=3, seed=self.seed)):
            truth = scm.sample(self.samples, rng, {node: value})[0]
            generated = model.sample(self.samples, {node: value}, seed=self.seed + 1 + k)
            label = f"do({node}={float(torch.as_tensor(value).reshape(-1)[0]):.2g})"
            panels.append((label, truth, generated))
        return plot_interventional(panels, shown, folder / f"interventional_step{step}.png", title=f"step {step}")

    def evaluate(self, model: Any, scm: Any) -> dict[str, float]:
        """The protocol's scores of ``model`` on ``scm`` (see :func:`evaluate_against_scm`)."""
        node = scm.graph.topological_order()[0]
        values = intervention_values(scm, node, count=3, seed=self.seed)
        return evaluate_against_scm(model, scm, values, samples=self.samples, seed=self.seed)
