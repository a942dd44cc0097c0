"""The readable table a :class:`~lightning_causal.plan.SamplingPlan` prints as."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lightning_causal.plan.parts import INPUT, Wiring

if TYPE_CHECKING:
    from lightning_causal.plan.sampling_plan import SamplingPlan

__all__ = ["plan_table"]


def _wiring_rows(plan: SamplingPlan, wiring: Wiring, indent: str, roles: bool) -> list[str]:
    rows = []
    if wiring.inputs:
        shown = ", ".join(f"{v} ({plan.role(v)})" if roles else v for v in wiring.inputs)
        rows.append(f"{indent}inputs: {shown}")
    outputs = {node: var for var, node in wiring.outputs}
    width = max((len(n.variable) for n in wiring.nodes), default=1)
    for node in wiring.nodes:
        args = ", ".join(v if src == INPUT else f"{v}@{src}" for v, src in node.sources)
        mark = "  -> output" if node.name in outputs else ""
        rows.append(f"{indent}{node.name:>4}  {node.variable:<{width}} ~ {node.factor}({args}){mark}")
    return rows


def plan_table(plan: SamplingPlan) -> str:
    """The plan as text: its datasets, the factors to train by stage, and the sampling network."""
    lines = [f"ID-GEN sampling plan for {plan.query}"]
    if plan.estimand_text:
        lines.append(f"  estimand: {plan.estimand_text}")
    if plan.moved:
        lines.append(f"  IDC rule 2 moved {', '.join(plan.moved)} into the intervention set")
    lines.append("")
    lines.append("Datasets:")
    for ds in plan.datasets:
        lines.append(f"  {ds.name}: {ds.origin}")
        if ds.wiring is not None:
            lines.extend(_wiring_rows(plan, ds.wiring, "        ", roles=False))
    lines.append("")
    lines.append("Factors to train:")
    header = ("stage", "factor", "model", "data", "step")
    rows = [(str(f.stage), f.name, str(f), f.dataset, f.origin) for f in plan.factors]
    widths = [max(len(h), *(len(r[k]) for r in rows)) if rows else len(h) for k, h in enumerate(header)]
    lines.append("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    for r in rows:
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    lines.append("")
    lines.append("Sampling network (in sampling order; v@n = the value node n drew):")
    lines.extend(_wiring_rows(plan, plan.wiring, "  ", roles=True))
    if plan.arbitrary:
        lines.append(
            f"  ({', '.join(plan.arbitrary)} {'is' if len(plan.arbitrary) == 1 else 'are'} drawn from the data rows "
            "nearest the treatment and condition values: ID line 3 showed that any value w with P(x | w) > 0 "
            "gives the same answer)"
        )
    if plan.composed:
        lines.append(
            f"  ({', '.join(plan.composed)} of the generated data {'is' if len(plan.composed) == 1 else 'are'} drawn "
            "by the factors that generate it, not learned from its rows: marginals 'compose')"
        )
    if plan.selected:
        kept = ", ".join(plan.selected)
        lines.append(
            f"  (a query keeps the draws whose {kept} equal{'s' * (len(plan.selected) == 1)} the given value"
            f"{'s' * (len(plan.selected) > 1)}: P(y | do(x), z) = P(y, z | do(x)) / P(z | do(x)), "
            "conditioning 'select')"
        )
    return "\n".join(lines)
