"""What a model checkpoint holds beyond Lightning's own keys, and how checkpoints of older releases are read.

Every :class:`~lightning_causal.models.CausalModule` writes its family's name under
:data:`FAMILY_KEY` (``lightning-causal sample`` and :func:`~lightning_causal.models.load_model` pick
the class by it), where its class is defined under :data:`FAMILY_CLASS_KEY` (so that a family
defined outside the package, in a user's own module, loads too) and its training-noise RNG.
Checkpoints written before the mechanisms had a package of their own (release 0.1) name things
differently; :func:`migrate_checkpoint` renames them in place, so such a checkpoint still loads, resumes and samples:

* the hyperparameter ``network`` (the architecture) is ``mechanisms``;
* the DCM's module ``network`` is ``node_mechanisms``, ID-GEN's ``factor_networks`` are
  ``factor_mechanisms``, and inside both the banks ``diffusion``, ``classifiers`` and ``images`` are
  ``banks.diffusion``, ``banks.classifier`` and ``banks.image``;
* an ID-GEN checkpoint written before ``conditioning`` existed learned its conditional query's
  last stage: it reads as ``conditioning="learn"``.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

import torch

from lightning_causal.errors import ConfigError
from lightning_causal.mechanisms.config import QUERY_SETTINGS

__all__ = [
    "FAMILY_CLASS_KEY",
    "FAMILY_KEY",
    "checkpoint_class",
    "checkpoint_family",
    "checkpoint_mismatch",
    "migrate_checkpoint",
    "read_checkpoint",
]

FAMILY_KEY = "lightning_causal_family"
"""The checkpoint key that names the model family (``"dcm"``, ``"idgen"``, ...)."""

FAMILY_CLASS_KEY = "lightning_causal_class"
"""The checkpoint key that says where the family's class is defined, as ``"module:QualifiedName"``."""

_BANKS = {
    "diffusion": "banks.diffusion",
    "classifiers": "banks.classifier",
    "images": "banks.image",
    "layout": "layout",
}
_PARTS = "|".join(_BANKS)
_OLD_KEYS = (
    (re.compile(rf"^network\.({_PARTS})\."), "node_mechanisms."),
    (re.compile(rf"^factor_networks\.([^.]+)\.({_PARTS})\."), "factor_mechanisms."),
)


TRUST_ENV = "LIGHTNING_CAUSAL_TRUST_CHECKPOINTS"
"""Set to 1 to read a checkpoint that holds Python objects beyond tensors and plain values (runs its pickle code)."""


def read_checkpoint(path: str | Path, mmap: bool = False) -> Any:
    """A checkpoint's contents, read with ``weights_only=True``: tensors and plain values, never code.

    Every checkpoint this framework writes reads so. One holding other Python objects is refused in one
    line, unless :data:`TRUST_ENV` is set to 1 (then it is unpickled in full: only for files you trust).
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as err:
        if "weights only load failed" not in str(err).lower():  # not a checkpoint at all: the caller says so
            raise
        if os.environ.get(TRUST_ENV) == "1":
            return torch.load(path, map_location="cpu", weights_only=False, mmap=mmap)
        found = str(err).split("GLOBAL ", 1)[-1].split(" ", 1)[0] if "GLOBAL " in str(err) else "Python objects"
        raise ConfigError(
            f"checkpoint {str(path)!r} holds {found}, beyond tensors and plain values, and is read with "
            f"weights_only=True; if you trust the file, set {TRUST_ENV}=1 to read it in full"
        ) from None


def _renamed(key: str) -> str:
    for pattern, prefix in _OLD_KEYS:
        match = pattern.match(key)
        if match:
            *dataset, part = match.groups()
            head = f"{prefix}{dataset[0]}." if dataset else prefix
            return f"{head}{_BANKS[part]}.{key[match.end() :]}"
    return key


def migrate_checkpoint(checkpoint: MutableMapping[str, Any]) -> bool:
    """Rename the keys of a release-0.1 checkpoint in place (see the module docstring); whether any changed."""
    changed = False
    hparams = checkpoint.get("hyper_parameters")
    if isinstance(hparams, MutableMapping) and "network" in hparams and "mechanisms" not in hparams:
        hparams["mechanisms"] = hparams.pop("network")
        changed = True
    idgen = checkpoint_family(checkpoint) == "idgen"
    if isinstance(hparams, MutableMapping) and idgen and "conditioning" not in hparams:
        hparams["conditioning"] = "learn"  # its conditional queries were learned (the weights of that stage are here)
        changed = True
    if isinstance(hparams, MutableMapping) and idgen and "marginals" not in hparams:
        hparams["marginals"] = "learn"  # its marginals of generated datasets were learned (their weights are here)
        changed = True
    state = checkpoint.get("state_dict")
    if isinstance(state, MutableMapping):
        renamed = {key: _renamed(key) for key in state}
        if any(old != new for old, new in renamed.items()):
            for old, new in renamed.items():
                state[new] = state.pop(old)
            changed = True
    return changed


def checkpoint_class(checkpoint: Mapping[str, Any]) -> str | None:
    """Where the class that wrote a checkpoint is defined (``"module:QualifiedName"``), or None (older checkpoints)."""
    where = checkpoint.get(FAMILY_CLASS_KEY)
    return where if isinstance(where, str) and ":" in where else None


def checkpoint_family(checkpoint: Mapping[str, Any]) -> str | None:
    """The family a checkpoint was written by (release-0.1 checkpoints: read off their keys), or None."""
    family = checkpoint.get(FAMILY_KEY)
    if isinstance(family, str):
        return family
    hparams = checkpoint.get("hyper_parameters")
    if isinstance(hparams, MutableMapping) and isinstance(hparams.get("family"), str):
        return str(hparams["family"])  # ID-GEN named itself here in release 0.1
    state = checkpoint.get("state_dict")
    if isinstance(state, MutableMapping) and any(str(k).startswith(("network.", "node_mechanisms.")) for k in state):
        return "dcm"
    return None


_STATISTICS = ("mean", "std", "low", "high")  # a variable's statistics may move with new data; its type may not
_QUERY_KEYS = ("treatment", "outcome", "condition")


def _edges(graph: Mapping[str, Any], kind: str) -> set[tuple[str, str]]:
    """A graph's edges of one kind; a bidirected edge is an unordered pair (kept in sorted order)."""
    return {(a, b) if kind == "directed" or a <= b else (b, a) for a, b in graph.get(kind) or ()}


def _graph_mismatch(saved: Mapping[str, Any], here: Mapping[str, Any]) -> str | None:
    nodes, wanted = list(saved.get("nodes") or ()), list(here.get("nodes") or ())
    if set(nodes) != set(wanted):
        return f"the nodes {', '.join(nodes)}, not this run's {', '.join(wanted)}"
    for kind, arrow in (("directed", "->"), ("bidirected", "<->")):
        old, new = _edges(saved, kind), _edges(here, kind)
        if extra := sorted(old - new):
            return f"the edge {extra[0][0]} {arrow} {extra[0][1]}, which this run's graph does not have"
        if missing := sorted(new - old):
            return f"a graph without the edge {missing[0][0]} {arrow} {missing[0][1]} of this run's graph"
    return None


def _settings(differ: list[str], old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """``k old (here new), ...`` for the settings that differ."""
    return ", ".join(f"{k} {old.get(k)!r} (here {new.get(k)!r})" for k in differ)


def _variables_mismatch(saved: Mapping[str, Any], here: Mapping[str, Any]) -> str | None:
    for name in sorted(here.keys() & saved.keys()):
        old = {k: v for k, v in dict(saved[name]).items() if k not in _STATISTICS}
        new = {k: v for k, v in dict(here[name]).items() if k not in _STATISTICS}
        if differ := sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k)):
            return f"variable {name!r} with {_settings(differ, old, new)}"
    return None


def _differs(old: Any, new: Any) -> bool:
    """Two architecture settings disagree: a setting left out or None (the default) agrees with any."""
    if old is None or new is None:
        return False
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return any(_differs(old[k], new[k]) for k in old.keys() & new.keys())
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
        return len(old) != len(new) or any(_differs(a, b) for a, b in zip(old, new, strict=True))
    return bool(old != new)


def _architecture(mechanisms: Mapping[str, Any]) -> Mapping[str, Any]:
    """``mechanisms`` without the image settings only sampling reads (``QUERY_SETTINGS``)."""
    image = mechanisms.get("image")
    if not isinstance(image, Mapping):
        return mechanisms
    return {**mechanisms, "image": {k: v for k, v in image.items() if k not in QUERY_SETTINGS}}


def checkpoint_mismatch(checkpoint: Mapping[str, Any], family: str, hparams: Mapping[str, Any]) -> str | None:
    """What makes ``checkpoint`` another model than the one ``family`` / ``hparams`` describe, or None.

    Compared: the family, the graph (nodes and edges), the type of every variable (not its
    statistics, which move with the data), the query (ID-GEN's treatment, outcome and condition)
    and the architecture (``mechanisms``, less the image settings only sampling reads: ``guidance``, ``eta``).
    """
    saved_family = checkpoint_family(checkpoint)
    if family and saved_family and saved_family != family:
        return f"a {saved_family} model, not a {family} model"
    saved = checkpoint.get("hyper_parameters")
    if not isinstance(saved, Mapping):
        return None
    for key, compare in (("graph", _graph_mismatch), ("variables", _variables_mismatch)):
        old_value, new_value = saved.get(key), hparams.get(key)
        if (
            isinstance(old_value, Mapping)
            and isinstance(new_value, Mapping)
            and (problem := compare(old_value, new_value))
        ):
            return problem
    for key in _QUERY_KEYS:
        if key in saved and key in hparams and saved[key] != hparams[key]:
            return f"{key} {saved[key]!r}, where this run has {hparams[key]!r}"
    old, new = saved.get("mechanisms"), hparams.get("mechanisms")
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        old, new = _architecture(old), _architecture(new)
        differ = sorted(k for k in old.keys() & new.keys() if _differs(old[k], new[k]))
        if differ:
            return f"an architecture with {_settings(differ, old, new)}"
    return None
