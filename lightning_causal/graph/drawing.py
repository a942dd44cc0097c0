"""Drawing causal graphs (PNG, PDF, SVG) with matplotlib (no Graphviz binary needed).

Nodes are placed in layers by their longest directed path from a root, so causes sit above their
effects; directed edges are solid arrows, bidirected edges (latent confounders) dashed, curved and
two-headed. Optional highlighting marks treatment, outcome and condition nodes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from lightning_causal.figures import pyplot, save_figure

if TYPE_CHECKING:
    from lightning_causal.graph.causal_graph import CausalGraph

__all__ = ["draw_graph", "layered_layout"]

_ROLE_COLOURS = {
    "treatment": "#f4a261",
    "outcome": "#2a9d8f",
    "condition": "#8ecae6",
    "other": "#e9ecef",
}


def layered_layout(graph: CausalGraph) -> dict[str, tuple[float, float]]:
    """Positions: layer = longest path from a root (top to bottom), centred within each layer."""
    pos: dict[str, tuple[float, float]] = {}
    for d, members in enumerate(graph.levels()):
        width = len(members)
        for k, node in enumerate(members):
            # stagger alternate layers slightly so that long straight edges do not hide nodes
            shift = 0.25 if (d % 2 and width > 1) else 0.0
            pos[node] = (k - (width - 1) / 2 + shift, -float(d))
    return pos


def draw_graph(
    graph: CausalGraph,
    path: str | Path,
    title: str | None = None,
    treatment: Iterable[str] = (),
    outcome: Iterable[str] = (),
    condition: Iterable[str] = (),
) -> Path:
    """Draw ``graph`` to ``path`` (PNG, PDF or SVG by its suffix; written atomically) and return the path."""
    plt = pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch

    roles = {n: "other" for n in graph.nodes}
    for role, names in (("condition", condition), ("treatment", treatment), ("outcome", outcome)):
        for n in names:
            roles[n] = role

    pos = layered_layout(graph)
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    width = max(3.0, 1.6 * (max(xs) - min(xs) + 2))
    height = max(2.5, 1.4 * (max(ys) - min(ys) + 2))
    fig, ax = plt.subplots(figsize=(min(width, 40), min(height, 40)))
    radius = 0.22
    label_size = 11 if len(graph) <= 20 else 7

    for u, v in graph.directed:
        ax.add_patch(
            FancyArrowPatch(
                pos[u],
                pos[v],
                arrowstyle="-|>",
                mutation_scale=14,
                color="#333333",
                linewidth=1.4,
                shrinkA=18,
                shrinkB=18,
                connectionstyle="arc3,rad=0.0",
                zorder=1,
            )
        )
    for u, v in graph.bidirected:
        ax.add_patch(
            FancyArrowPatch(
                pos[u],
                pos[v],
                arrowstyle="<|-|>",
                mutation_scale=12,
                color="#c1121f",
                linewidth=1.2,
                linestyle=(0, (4, 3)),
                shrinkA=18,
                shrinkB=18,
                connectionstyle="arc3,rad=0.35",
                zorder=1,
            )
        )
    for node, (x, y) in pos.items():
        ax.add_patch(
            plt.Circle(
                (x, y), radius, facecolor=_ROLE_COLOURS[roles[node]], edgecolor="#222222", linewidth=1.2, zorder=2
            )
        )
        ax.text(x, y, node, ha="center", va="center", fontsize=label_size, zorder=3)

    handles = [
        Line2D([0], [0], color="#333333", lw=1.4, label="direct cause"),
        Line2D([0], [0], color="#c1121f", lw=1.2, ls=(0, (4, 3)), label="latent confounder"),
    ]
    for role in ("treatment", "outcome", "condition"):
        if role in roles.values():
            handles.append(
                Line2D(
                    [0],
                    [0],
                    marker="o",
                    color="w",
                    markerfacecolor=_ROLE_COLOURS[role],
                    markeredgecolor="#222222",
                    markersize=10,
                    label=role,
                )
            )
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.set_xlim(min(xs) - 1, max(xs) + 1)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=11)
    return save_figure(fig, path, dpi=120)
