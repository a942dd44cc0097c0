"""Image grids in a run's logs: samples of every image variable after each validation.

:class:`ImageSamples` draws ``n`` observational samples of the model (its EMA weights, as
validation uses them) on rank 0 after each validation and logs one grid per image variable as
``samples/<variable>`` to every logger that takes images (W&B's ``log_image``). Sampling needs no
other rank (no collective), so the other ranks go on. A model that cannot sample yet (an ID-GEN
stage before the plan is trained whole) logs nothing. ``lightning-causal fit`` adds this callback
where the model has an image variable.
"""

from __future__ import annotations

from collections.abc import Mapping

import lightning as L
from lightning.pytorch.callbacks import Callback

from lightning_causal.errors import LightningCausalError
from lightning_causal.image_files import image_grid

__all__ = ["ImageSamples", "image_variables"]


def image_variables(model: L.LightningModule | None) -> list[str]:
    """The names of the model's image variables (none for a model without ``variables``)."""
    variables = getattr(model, "variables", None)
    if not isinstance(variables, Mapping):
        return []
    return [name for name, spec in variables.items() if getattr(spec, "is_image", False)]


class ImageSamples(Callback):
    """Log a grid of ``n`` sampled images per image variable after every ``every_n_validations``-th validation.

    Args:
        n: images per grid.
        seed: the sampling seed (the same draws every time: the grids differ only through the model).
        every_n_validations: validations between two grids.
    """

    def __init__(self, n: int = 16, seed: int = 0, every_n_validations: int = 1) -> None:
        if n < 1 or every_n_validations < 1:
            raise ValueError(f"n and every_n_validations must be >= 1, got {n} and {every_n_validations}")
        self.n, self.seed, self.every = n, seed, every_n_validations
        self._validations = 0
        self.logged = 0

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        self._validations += 1
        names = image_variables(pl_module)
        loggers = [logger for logger in trainer.loggers if hasattr(logger, "log_image")]
        if not names or not loggers or not trainer.is_global_zero or (self._validations - 1) % self.every:
            return
        try:
            samples = pl_module.sample(self.n, seed=self.seed)  # type: ignore[operator]
        except LightningCausalError:
            return  # not answerable yet
        for name in names:
            grid = image_grid(samples[name]).permute(1, 2, 0).numpy()
            for logger in loggers:
                logger.log_image(key=f"samples/{name}", images=[grid], step=trainer.global_step)
        self.logged += 1
