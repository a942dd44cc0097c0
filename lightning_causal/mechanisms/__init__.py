"""Conditional mechanisms shared by every model family: trainable models of a variable given its inputs.

A *mechanism* models one variable given its inputs; a *bank* holds the mechanisms of many entries
whose variables share a kind and evaluates them together; a *bank set* holds the banks of one
model part (a DCM's nodes, an ID-GEN dataset's factors) over one encoded layout.

* ``config.py``: :class:`MechanismConfig` and :class:`ImageMechanismConfig` (``mechanisms:`` in configs);
* ``bank.py``: :class:`MechanismBank`, the calls every bank answers;
* ``diffusion.py``: :class:`DiffusionBank`, conditional diffusion of continuous vectors (batched MLP denoisers);
* ``classifier.py``: :class:`ClassifierBank`, Gumbel-max mechanisms of categorical and binary variables;
* ``image.py``: :class:`ImageDiffusionBank`, a conditional UNet per image entry, classifier-free guidance;
* ``empirical.py``: :class:`EmpiricalRows`, kept training rows resampled (roots, marginals, free inputs);
* ``registry.py``: :func:`register_bank`, the bank of each variable kind;
* ``bank_set.py``: :class:`BankSet`, the banks of a set of entries and the one dispatch over them;
* ``generator.py``: :class:`MechanismGenerator`, one entry through the ConditionalGenerator protocol.

Families (DCM, ID-GEN; Diff-SCM, DIME, IWDD next) build their mechanisms here and never import each other.
"""

from lightning_causal.mechanisms.bank import MechanismBank
from lightning_causal.mechanisms.bank_set import BankSet
from lightning_causal.mechanisms.classifier import ClassifierBank
from lightning_causal.mechanisms.config import BACKENDS, ROOTS, ImageMechanismConfig, MechanismConfig
from lightning_causal.mechanisms.diffusion import DiffusionBank
from lightning_causal.mechanisms.empirical import EmpiricalRows
from lightning_causal.mechanisms.generator import MechanismGenerator
from lightning_causal.mechanisms.image import ImageDiffusionBank
from lightning_causal.mechanisms.registry import bank_for, register_bank, registered_banks

__all__ = [
    "BACKENDS",
    "ROOTS",
    "BankSet",
    "ClassifierBank",
    "DiffusionBank",
    "EmpiricalRows",
    "ImageDiffusionBank",
    "ImageMechanismConfig",
    "MechanismBank",
    "MechanismConfig",
    "MechanismGenerator",
    "bank_for",
    "register_bank",
    "registered_banks",
]
