"""``torch.compile`` as a training option: the model's networks compiled in place, checkpoints unchanged.

:class:`Compile` compiles every outermost network of :mod:`lightning_causal.nets` in the model (the
denoisers' batched MLPs, the image UNets, their condition encoders) with ``nn.Module.compile``: the
modules keep their parameters and names, so checkpoints, EMA weights and resuming are as without it.
A config turns it on with::

    trainer:
      callbacks:
        - class_path: lightning_causal.callbacks.Compile
          init_args: {backend: inductor}   # the default; aot_eager compiles fast (tests use it on CPU)

The first steps are slower (the graphs compile); ``mode: max-autotune`` trades more of that time for
faster steps on a GPU.
"""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from torch import nn

__all__ = ["Compile", "networks"]

NETS_PACKAGE = "lightning_causal.nets"


def networks(model: nn.Module) -> list[nn.Module]:
    """The outermost modules of the model whose class comes from :mod:`lightning_causal.nets`."""
    found: list[nn.Module] = []

    def visit(module: nn.Module) -> None:
        for child in module.children():
            if type(child).__module__.startswith(NETS_PACKAGE):
                found.append(child)
            else:
                visit(child)

    visit(model)
    return found


class Compile(Callback):
    """Compile the model's networks in place when training starts.

    Args:
        backend: the ``torch.compile`` backend (``inductor``; ``aot_eager`` or ``eager`` to debug).
        mode: ``torch.compile``'s mode (``default``, ``reduce-overhead``, ``max-autotune``).
        dynamic: ``torch.compile``'s ``dynamic`` (None: decided by PyTorch).
    """

    def __init__(self, backend: str = "inductor", mode: str | None = None, dynamic: bool | None = None) -> None:
        self.backend = backend
        self.mode = mode
        self.dynamic = dynamic
        self.compiled: list[str] = []

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        options: dict[str, Any] = {"backend": self.backend, "dynamic": self.dynamic}
        if self.mode is not None:
            options["mode"] = self.mode
        names = {id(m): n for n, m in pl_module.named_modules()}
        for module in networks(pl_module):
            module.compile(**options)
            self.compiled.append(names[id(module)])
