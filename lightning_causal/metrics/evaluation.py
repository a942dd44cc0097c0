"""The ground-truth evaluation protocol: what is scored, on which variables, with which metric.

One module for the training callback (:class:`~lightning_causal.callbacks.GroundTruthMetrics`),
the demo and the benchmark suite, so all three report the same quantities (Chao et al. 2023,
arXiv 2302.00860, Sec. 6; the project's BENCHMARKS.md, DCM suite):

* observational quality, :func:`observational_mmd`: MMD between generated and exact samples over
  the non-root nodes (roots are resampled from data and would dilute the score);
* interventional quality, :func:`interventional_mmd`: MMD over the proper descendants of the
  intervened node (the only variables an intervention changes);
* counterfactual quality, :func:`counterfactual_mse`: squared error against counterfactuals
  computed from the true noise, averaged over ALL descendants of the intervened node (the DCM
  reference code scores only the first one).

The scores come from the DDP-aware torchmetrics classes :class:`~lightning_causal.metrics.MMD` and
:class:`~lightning_causal.metrics.CounterfactualMSE`; :func:`evaluate_against_scm` runs the whole
protocol for a model and an SCM that knows its exact answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import torch
from torch import Tensor

from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.metrics.counterfactual import CounterfactualMSE
from lightning_causal.metrics.mmd import MMD, stack_variables

__all__ = [
    "counterfactual_mse",
    "counterfactual_variables",
    "evaluate_against_scm",
    "interventional_mmd",
    "interventional_variables",
    "observational_mmd",
    "observational_variables",
    "truth_seed",
]

Values = Mapping[str, Tensor]


def observational_variables(graph: CausalGraph) -> list[str]:
    """The variables observational MMD scores: the non-root nodes."""
    return [v for v in graph.nodes if graph.parents(v)]


def interventional_variables(graph: CausalGraph, node: str) -> tuple[str, ...]:
    """The variables interventional MMD scores under do(node): its proper descendants."""
    return graph.proper_descendants(node)


def counterfactual_variables(graph: CausalGraph, node: str) -> tuple[str, ...]:
    """The variables counterfactual MSE averages over for an intervention on ``node``: all its proper
    descendants (the node itself when it has none)."""
    return graph.proper_descendants(node) or (node,)


def _mmd(generated: Values, truth: Values, variables: Sequence[str]) -> float:
    metric = MMD()
    metric.update(stack_variables(generated, variables), stack_variables(truth, variables))
    return float(metric.compute())


def observational_mmd(generated: Values, truth: Values, graph: CausalGraph) -> float:
    """MMD between generated and exact observational samples over the non-root nodes."""
    return _mmd(generated, truth, observational_variables(graph))


def interventional_mmd(generated: Values, truth: Values, graph: CausalGraph, node: str) -> float:
    """MMD between generated and exact samples under an intervention on ``node``, over its descendants."""
    return _mmd(generated, truth, interventional_variables(graph, node))


def counterfactual_mse(answer: Values, truth: Values, graph: CausalGraph, node: str) -> float:
    """Counterfactual MSE over all descendants of the intervened ``node`` (mean over rows and dimensions)."""
    variables = counterfactual_variables(graph, node)
    metric = CounterfactualMSE()
    metric.update(stack_variables(answer, variables), stack_variables(truth, variables))
    return float(metric.compute())


class _GroundTruth(Protocol):
    """What :func:`evaluate_against_scm` needs of an SCM (the DCM suite's :class:`ContinuousSCM` has it)."""

    graph: CausalGraph

    def sample(self, n: int, rng: Any = None, interventions: Any = None) -> tuple[dict[str, Tensor], Any]: ...

    def counterfactual(self, noise: Any, interventions: Any) -> dict[str, Tensor]: ...


class _Model(Protocol):
    def sample(self, n: int, interventions: Any = None, seed: Any = None) -> dict[str, Tensor]: ...

    def counterfactual(self, factual: Any, interventions: Any, seed: Any = None) -> dict[str, Tensor]: ...


def truth_seed(seed: int) -> int:
    """The seed of the truth's draws in an evaluation with model seed ``seed`` (a stream no model seed shares)."""
    return 1_000_003 * (int(seed) + 1) + 7919


@torch.no_grad()
def evaluate_against_scm(
    model: _Model, scm: _GroundTruth, intervention_values: Iterable[Any], samples: int = 500, seed: int = 0
) -> dict[str, float]:
    """The protocol for the first node of ``scm`` in topological order.

    Returns ``obs_mmd``; ``int_mmd``, the mean over ``intervention_values`` of the first node; and
    ``cf_mse`` for a one-unit shift of it (without the last two when the node has no descendants).
    All draws are seeded, so successive evaluations differ only through the model. The truth's draws
    come from their own stream (:func:`truth_seed`), never the one the model is given: a model that
    draws like the structural model from its seed must not reproduce the truth's own rows.
    """
    graph = scm.graph
    rng = torch.Generator().manual_seed(truth_seed(seed))
    out: dict[str, float] = {}
    true_obs, _ = scm.sample(samples, rng)
    out["obs_mmd"] = observational_mmd(model.sample(samples, seed=seed), true_obs, graph)
    node = graph.topological_order()[0]
    if not graph.proper_descendants(node):
        return out
    scores = []
    for k, value in enumerate(intervention_values):
        truth = scm.sample(samples, rng, {node: value})[0]
        generated = model.sample(samples, {node: value}, seed=seed + 1 + k)
        scores.append(interventional_mmd(generated, truth, graph, node))
    out["int_mmd"] = sum(scores) / len(scores)
    factual, noise = scm.sample(samples, rng)
    shift = {node: lambda v: v + 1.0}
    out["cf_mse"] = counterfactual_mse(
        model.counterfactual(factual, shift, seed=seed), scm.counterfactual(noise, shift), graph, node
    )
    return out
