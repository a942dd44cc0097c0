"""Sampling plans as JSON: the ``lightning-causal/sampling-plan/2`` format.

:func:`plan_to_dict` writes a plan's fields as plain lists and dicts; :func:`plan_fields` reads
them back into the keyword arguments of :class:`~lightning_causal.plan.SamplingPlan` (also plans of
format ``/1``, whose wirings are under the key ``network``), and :func:`read_plan_file` reads a file,
with one-line errors for a missing or malformed file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning_causal.errors import QueryError
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.plan.parts import Dataset, Factor, Node, Wiring, check_conditioning, check_marginals

if TYPE_CHECKING:
    from lightning_causal.plan.sampling_plan import SamplingPlan

__all__ = ["FORMAT", "FORMATS", "plan_fields", "plan_to_dict", "read_plan_file"]

FORMAT = "lightning-causal/sampling-plan/2"
FORMATS = {FORMAT: "wiring", "lightning-causal/sampling-plan/1": "network"}
"""The formats read, and the key each writes a wiring under."""


def _wiring_to_dict(n: Wiring) -> dict[str, Any]:
    return {
        "inputs": list(n.inputs),
        "outputs": [list(o) for o in n.outputs],
        "nodes": [
            {"name": k.name, "variable": k.variable, "factor": k.factor, "sources": [list(s) for s in k.sources]}
            for k in n.nodes
        ],
    }


def _wiring_from_dict(d: Mapping[str, Any]) -> Wiring:
    return Wiring(
        nodes=tuple(
            Node(k["name"], k["variable"], k["factor"], tuple((a, b) for a, b in k["sources"])) for k in d["nodes"]
        ),
        inputs=tuple(d["inputs"]),
        outputs=tuple((a, b) for a, b in d["outputs"]),
    )


def plan_to_dict(plan: SamplingPlan) -> dict[str, Any]:
    """The plan as JSON-ready lists and dicts."""
    return {
        "format": FORMAT,
        "query": plan.query,
        "estimand": plan.estimand_text,
        "graph": plan.graph.to_dict(),
        "treatment": list(plan.treatment),
        "outcome": list(plan.outcome),
        "condition": list(plan.condition),
        "moved_by_rule_2": list(plan.moved),
        "factors": [
            {
                "name": f.name,
                "variable": f.variable,
                "inputs": list(f.inputs),
                "dataset": f.dataset,
                "stage": f.stage,
                "origin": f.origin,
            }
            for f in plan.factors
        ],
        "datasets": [
            {
                "name": d.name,
                "origin": d.origin,
                "source": d.source,
                "copied": list(d.copied),
                "wiring": _wiring_to_dict(d.wiring) if d.wiring else None,
            }
            for d in plan.datasets
        ],
        "wiring": _wiring_to_dict(plan.wiring),
        "conditioning": plan.conditioning,
        "selected": list(plan.selected),
        "selecting": plan_to_dict(plan.selecting) if plan.selecting is not None else None,
        "marginals": plan.marginals,
        "composed": list(plan.composed),
    }


def plan_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``SamplingPlan(...)`` from a dict written by :func:`plan_to_dict`."""
    fmt = data.get("format")
    if fmt not in FORMATS:
        raise QueryError(f"not a sampling plan (format {fmt!r}); expected {FORMAT}")
    key = FORMATS[fmt]
    try:
        return {
            "graph": CausalGraph.from_dict(data["graph"]),
            "treatment": tuple(data["treatment"]),
            "outcome": tuple(data["outcome"]),
            "condition": tuple(data["condition"]),
            "moved": tuple(data.get("moved_by_rule_2", ())),
            "factors": [
                Factor(f["name"], f["variable"], tuple(f["inputs"]), f["dataset"], int(f["stage"]), f["origin"])
                for f in data["factors"]
            ],
            "datasets": [
                Dataset(
                    d["name"],
                    d["origin"],
                    d["source"],
                    tuple(d["copied"]),
                    _wiring_from_dict(d[key]) if d[key] else None,
                )
                for d in data["datasets"]
            ],
            "wiring": _wiring_from_dict(data[key]),
            "estimand_text": data.get("estimand", ""),
            # plans written before conditioning was chosen learned the last stage of a conditional query
            "conditioning": check_conditioning(data.get("conditioning", "learn")),
            "selected": tuple(data.get("selected", ())),
            "selecting": data.get("selecting"),  # the "select" twin's dict, built into a plan by the caller
            # plans written before marginals could be composed learned them
            "marginals": check_marginals(data.get("marginals", "learn")),
            "composed": tuple(data.get("composed", ())),
        }
    except KeyError as err:
        raise QueryError(f"sampling plan is missing the key {err.args[0]!r}") from None


def read_plan_file(path: str | Path) -> Any:
    """The JSON content of a plan file."""
    path = Path(path)
    if not path.is_file():
        raise QueryError(f"sampling plan file {str(path)!r} does not exist")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise QueryError(f"sampling plan file {str(path)!r} is not valid JSON: {err}") from None
