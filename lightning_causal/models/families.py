"""The registry of model families: the command line and the loaders ask it, never test which family they have.

A family is a :class:`~lightning_causal.models.CausalModule` subclass that names itself with a
``family`` class attribute (``"dcm"``, ``"idgen"``); defining the class registers it. Families live in
packages under ``lightning_causal/models/``: a name the registry does not know yet makes it import
those packages once, so a new family is one new package, with nothing to edit elsewhere. A family
may also live in a user's own module (``class_path: my_models.Marginal`` in a config): its
checkpoints say where the class is defined, and :func:`load_model` imports it from there.

:func:`load_model` reads any checkpoint a family wrote (release-0.1 checkpoints included, see
:mod:`~lightning_causal.models.checkpoints`) and returns the trained model of the right class.
"""

from __future__ import annotations

import importlib
import io
import pkgutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from lightning_causal.errors import ConfigError, LightningCausalError, QueryError, listing
from lightning_causal.models.checkpoints import (
    checkpoint_class,
    checkpoint_family,
    migrate_checkpoint,
    read_checkpoint,
)

if TYPE_CHECKING:
    from lightning_causal.models.base import CausalModule

__all__ = ["families", "load_model", "model_family", "register_family"]

_FAMILIES: dict[str, type[CausalModule]] = {}
_DISCOVERED = False


def register_family(name: str, cls: type[CausalModule]) -> None:
    """Register ``cls`` as the family ``name`` (done by defining a ``CausalModule`` subclass with ``family = name``)."""
    if not isinstance(name, str) or not name:
        raise ConfigError(f"a model family needs a non-empty name, got {name!r}")
    _FAMILIES[name] = cls


def _discover() -> None:
    """Import every package under ``lightning_causal.models`` once (their families register themselves)."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    for info in pkgutil.iter_modules([str(Path(__file__).parent)], prefix=f"{__package__}."):
        if info.ispkg:
            importlib.import_module(info.name)


def families() -> dict[str, type[CausalModule]]:
    """Every family, by name (the packages under ``lightning_causal/models`` imported first)."""
    _discover()
    return dict(_FAMILIES)


def model_family(name: str, where: str | None = None) -> type[CausalModule]:
    """The class of family ``name``; ``where`` (``"module:QualifiedName"``) is imported when no package defines it."""
    if name not in _FAMILIES:
        _discover()
    if name not in _FAMILIES and where is not None:
        _import_family(name, where)
    if name not in _FAMILIES:
        raise QueryError(f"unknown model family {name!r}; the families are {listing(sorted(_FAMILIES))}")
    return _FAMILIES[name]


def _import_family(name: str, where: str) -> None:
    """Import the module ``where`` names (defining the family's class registers it)."""
    module = where.partition(":")[0]
    try:
        importlib.import_module(module)
    except ImportError as err:
        raise QueryError(
            f"model family {name!r} is defined in module {module!r}, which cannot be imported ({err}); "
            f"put the folder that holds it on PYTHONPATH"
        ) from None


def load_model(path: str | Path, map_location: Any = "cpu") -> CausalModule:
    """The trained model a checkpoint holds, as the class of the family that wrote it.

    ``path`` is a ``.ckpt`` file, or a run folder holding the trained model (ID-GEN's ``idgen.ckpt``).
    """
    path = Path(path)
    if path.is_dir():
        inside = [p for p in (path / f"{name}.ckpt" for name in families()) if p.is_file()]
        if not inside:
            raise QueryError(f"checkpoint {str(path)!r} is a folder; pass the .ckpt file a fit run wrote in it")
        path = inside[0]
    if not path.is_file():
        raise QueryError(f"checkpoint {str(path)!r} does not exist; pass the .ckpt a fit run wrote")
    try:
        checkpoint = read_checkpoint(path, mmap=True)
        if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
            raise QueryError(f"checkpoint {str(path)!r} holds no model (no state_dict); pass a .ckpt that fit wrote")
        family = checkpoint_family(checkpoint)
        if family is None:
            raise QueryError(
                f"checkpoint {str(path)!r} was not written by a lightning-causal model; pass a .ckpt that "
                "lightning-causal fit wrote"
            )
        cls = model_family(family, checkpoint_class(checkpoint))
        if not migrate_checkpoint(checkpoint):
            return cls.load_from_checkpoint(path, map_location=map_location)
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        buffer.seek(0)
        return cls.load_from_checkpoint(buffer, map_location=map_location)
    except LightningCausalError:
        raise
    except Exception as err:  # torch's unpickler and Lightning raise many types for a file that is no checkpoint
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise QueryError(
            f"checkpoint {str(path)!r} cannot be loaded as a model checkpoint ({type(err).__name__}: {first[:200]}); "
            "pass a .ckpt that lightning-causal fit wrote"
        ) from None
