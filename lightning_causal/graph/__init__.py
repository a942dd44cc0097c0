"""Causal graphs: the immutable ADMG, its files (YAML/JSON/DOT), drawings and the classic named graphs.

:class:`CausalGraph` (``causal_graph.py``) is pure Python over networkx and the bitset kernel of
``bitgraph.py``; ``io.py`` reads and writes graph files, ``drawing.py`` draws PNGs, ``named.py``
holds the graphs of the identification literature. Nothing here imports torch.
"""

from lightning_causal.graph.causal_graph import CausalGraph, NodesLike
from lightning_causal.graph.drawing import draw_graph, layered_layout
from lightning_causal.graph.io import graph_to_dot, graph_to_yaml, load_graph, load_graph_spec, save_graph
from lightning_causal.graph.named import NAMED_GRAPHS, NamedGraph, named_graph

__all__ = [
    "NAMED_GRAPHS",
    "CausalGraph",
    "NamedGraph",
    "NodesLike",
    "draw_graph",
    "graph_to_dot",
    "graph_to_yaml",
    "layered_layout",
    "load_graph",
    "load_graph_spec",
    "named_graph",
    "save_graph",
]
