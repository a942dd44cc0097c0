"""Variable types and their codecs.

Every record, batch and sample is a dict ``{variable name: tensor}``. ``spec.py`` holds
:class:`VariableSpec` (the type of a variable and its codec statistics; pure Python, no torch);
``codecs.py`` one codec per kind (data space to model features and back); ``layout.py`` many
variables encoded side by side; ``interventions.py`` the values users intervene with. The torch
parts load on first use, so reading a graph's ``variables:`` section never imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lightning_causal.variables.spec import KINDS, VariableSpec, parse_variables, variables_to_dict

if TYPE_CHECKING:
    from lightning_causal.variables.codecs import Codec, codec_for, register_codec
    from lightning_causal.variables.interventions import apply_shift, hard_value
    from lightning_causal.variables.layout import EncodedLayout

__all__ = [
    "KINDS",
    "Codec",
    "EncodedLayout",
    "VariableSpec",
    "apply_shift",
    "codec_for",
    "hard_value",
    "parse_variables",
    "register_codec",
    "variables_to_dict",
]

_LAZY = {
    "Codec": "lightning_causal.variables.codecs",
    "codec_for": "lightning_causal.variables.codecs",
    "register_codec": "lightning_causal.variables.codecs",
    "EncodedLayout": "lightning_causal.variables.layout",
    "apply_shift": "lightning_causal.variables.interventions",
    "hard_value": "lightning_causal.variables.interventions",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
