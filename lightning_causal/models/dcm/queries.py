"""Interventional and counterfactual queries on a DCM's mechanisms (Chao et al. 2023, Sec. 3).

* Observational / interventional sampling (their Algorithm 1): nodes are generated in topological
  order, level by level (all nodes of a level at once); an intervened node takes its value instead.
* Counterfactuals (their Algorithm 2, Pearl's abduction-action-prediction): the latent of every
  node that the intervention can affect is abducted from the factual values (DDIM inversion, or
  the Gumbel posterior for discrete nodes); then, in topological order, a node keeps its factual
  value unless it is intervened or one of its parents changed, in which case its latent is decoded
  under the counterfactual parents.

Interventions map a node to a hard value (a number, a vector, or a tensor with one row per sample;
a class code for discrete nodes) or to a callable ``f`` for a shift intervention, under which the
node takes ``f(value its mechanism produces)``, e.g. ``{"x2": lambda v: v + 1}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from lightning_causal.errors import QueryError
from lightning_causal.models.dcm.mechanisms import DCMMechanisms
from lightning_causal.values import check_count
from lightning_causal.variables.interventions import apply_shift, hard_value

__all__ = ["counterfactual", "parse_interventions", "sample"]

Interventions = Mapping[str, Any]


def parse_interventions(
    mechanisms: DCMMechanisms, interventions: Interventions | None, n: int
) -> tuple[dict[str, Tensor], dict[str, Callable[[Tensor], Tensor]]]:
    """Split into hard values (tensors with ``n`` rows, on the mechanisms' device) and shift functions."""
    hard: dict[str, Tensor] = {}
    shift: dict[str, Callable[[Tensor], Tensor]] = {}
    for name, value in (interventions or {}).items():
        spec = mechanisms.variables.get(name)
        if spec is None:
            known = ", ".join(mechanisms.order[:12])
            raise QueryError(f"unknown variable {name!r} in interventions; the graph has {known}")
        if callable(value):
            shift[name] = value
        else:
            hard[name] = hard_value(spec, value, n, mechanisms.device)
    return hard, shift


@torch.no_grad()
def sample(
    mechanisms: DCMMechanisms,
    n: int,
    interventions: Interventions | None = None,
    rng: torch.Generator | None = None,
    sampler: str = "ddim",
    steps: int | None = None,
    eta: float | None = None,
    guidance: float | None = None,
) -> dict[str, Tensor]:
    """``n`` samples of every node under the interventions (observational when there are none).

    ``guidance`` is the classifier-free guidance weight of image nodes (default: the config's).
    """
    n = check_count(n)
    if steps is not None:
        check_count(steps, "the number of DDIM steps")
    hard, shift = parse_interventions(mechanisms, interventions, n)
    values: dict[str, Tensor] = {}
    encoded = mechanisms.blank(n)
    roots = {m: f"root {m!r}" for m in mechanisms.resampled}
    for level in mechanisms.levels:
        todo = [m for m in level if m not in hard]
        values.update(mechanisms.generate(todo, encoded, rng, sampler, steps, eta, guidance, describe=roots))
        for m in level:
            if m in hard:
                values[m] = hard[m]
            if m in shift:
                values[m] = apply_shift(m, shift[m], values[m])
        encoded = mechanisms.encode(values, level, encoded)
    return {m: values[m].cpu() for m in mechanisms.graph.nodes}


@torch.no_grad()
def counterfactual(
    mechanisms: DCMMechanisms,
    factual: Mapping[str, Tensor],
    interventions: Interventions,
    rng: torch.Generator | None = None,
    steps: int | None = None,
    refine: int = 2,
) -> dict[str, Tensor]:
    """The counterfactual of each factual row under ``interventions``."""
    missing = [m for m in mechanisms.graph.nodes if m not in factual]
    if missing:
        raise QueryError(f"the factual values lack variable {missing[0]!r}; give every node")
    n = len(factual[mechanisms.order[0]])
    for m in mechanisms.graph.nodes:
        if len(factual[m]) != n:
            raise QueryError(f"factual {m!r} has {len(factual[m])} rows, but {mechanisms.order[0]!r} has {n}")
    if not interventions:
        raise QueryError("a counterfactual needs at least one intervention")
    hard, shift = parse_interventions(mechanisms, interventions, n)
    device = mechanisms.device
    values = {m: torch.as_tensor(factual[m]).to(device) for m in mechanisms.graph.nodes}
    for m, spec in mechanisms.variables.items():
        if values[m].is_floating_point() and not torch.isfinite(values[m]).all():
            raise QueryError(f"factual {m!r} holds NaN or infinite values; give finite rows")
        if spec.kind == "continuous":
            values[m] = values[m].float().reshape(n, spec.dim)
        elif spec.is_discrete:
            values[m] = values[m].long()
        else:
            values[m] = hard_value(spec, values[m], n, device)  # images: checked and in the spec's dtype
    affected = set(mechanisms.graph.descendants(list(interventions))) - set(hard)
    modelled = [m for m in mechanisms.order if m in affected and m not in mechanisms.resampled]
    # 1. abduction
    encoded = mechanisms.encode(values)
    latents = mechanisms.abduct(values, modelled, rng, steps=steps, refine=refine, encoded=encoded)
    changed: set[str] = set()
    for level in mechanisms.levels:
        # 2. action and 3. prediction, level by level
        redo = [m for m in level if m not in hard and any(p in changed for p in mechanisms.parents[m])]
        new = mechanisms.generate(redo, encoded, rng, "ddim", steps, 0.0, latents=latents)
        for m in level:
            if m in hard:
                values[m] = hard[m]
                changed.add(m)
            elif m in new:
                values[m] = new[m]
                changed.add(m)
            if m in shift:
                values[m] = apply_shift(m, shift[m], values[m])
                changed.add(m)
        encoded = mechanisms.encode(values, level, encoded)
    return {m: values[m].cpu() for m in mechanisms.graph.nodes}
