"""Variable types and their codecs.

Every record, batch and sample is a dict ``{variable name: tensor}``. ``spec.py`` holds
:class:`VariableSpec` (the type of a variable and its codec statistics; pure Python, no torch);
``codecs.py`` one codec per kind (data space to model features and back); ``inference.py`` types
inferred from values and codec statistics, by one rule; ``layout.py`` many variables encoded side by
side; ``interventions.py`` the values users intervene with.
"""

from __future__ import annotations

from lightning_causal.variables.codecs import Codec, codec_for, register_codec
from lightning_causal.variables.inference import MAX_CATEGORIES, infer_spec, with_statistics
from lightning_causal.variables.interventions import apply_shift, hard_value
from lightning_causal.variables.layout import EncodedLayout
from lightning_causal.variables.spec import KINDS, VariableSpec, parse_variables, variables_to_dict

__all__ = [
    "KINDS",
    "MAX_CATEGORIES",
    "Codec",
    "EncodedLayout",
    "VariableSpec",
    "apply_shift",
    "codec_for",
    "hard_value",
    "infer_spec",
    "parse_variables",
    "register_codec",
    "variables_to_dict",
    "with_statistics",
]
