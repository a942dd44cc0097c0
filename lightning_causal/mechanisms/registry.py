"""Which bank models a variable of each kind, registered the way codecs are.

Every variable kind names the bank of its mechanisms: ``continuous`` the vector
:class:`~lightning_causal.mechanisms.DiffusionBank`, ``categorical`` and ``binary`` the
:class:`~lightning_causal.mechanisms.ClassifierBank`, ``image`` the
:class:`~lightning_causal.mechanisms.ImageDiffusionBank`. A new variable kind (text next) is a
codec (:func:`~lightning_causal.variables.register_codec`), a kind
(:data:`~lightning_causal.variables.KINDS`) and a bank registered here; every family that builds its
mechanisms through a :class:`~lightning_causal.mechanisms.BankSet` then models it.

Banks are built, trained and sampled in the order their names were first registered, so the order
of the parameters (and of the per-entry losses) is fixed.
"""

from __future__ import annotations

from lightning_causal.errors import ConfigError, QueryError
from lightning_causal.mechanisms.bank import MechanismBank
from lightning_causal.mechanisms.classifier import ClassifierBank
from lightning_causal.mechanisms.diffusion import DiffusionBank
from lightning_causal.mechanisms.image import ImageDiffusionBank

__all__ = ["bank_for", "register_bank", "registered_banks"]

_BANKS: dict[str, type[MechanismBank]] = {}
_KINDS: dict[str, str] = {}


def register_bank(name: str, bank: type[MechanismBank], kinds: tuple[str, ...]) -> None:
    """Make ``bank`` (a :class:`MechanismBank` subclass) the bank ``name`` of variables of the given ``kinds``."""
    if not isinstance(name, str) or not name:
        raise ConfigError(f"a bank needs a non-empty name, got {name!r}")
    if not (isinstance(bank, type) and issubclass(bank, MechanismBank)):
        raise ConfigError(f"bank {name!r} must be a MechanismBank subclass, got {bank!r}")
    _BANKS[name] = bank
    for kind in kinds:
        _KINDS[kind] = name


def bank_for(kind: str, variable: str = "") -> str:
    """The name of the bank that models variables of ``kind`` (``variable`` names one in the error)."""
    try:
        return _KINDS[kind]
    except KeyError:
        raise QueryError(
            f"variable {variable!r}: no mechanism for kind {kind!r}; kinds with one: {', '.join(_KINDS)}"
        ) from None


def registered_banks() -> dict[str, type[MechanismBank]]:
    """The registered banks by name, in registration order."""
    return dict(_BANKS)


register_bank("diffusion", DiffusionBank, ("continuous",))
register_bank("classifier", ClassifierBank, ("categorical", "binary"))
register_bank("image", ImageDiffusionBank, ("image",))
