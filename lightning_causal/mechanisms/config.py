"""The architecture of conditional mechanisms: one documented dataclass for every family.

:class:`MechanismConfig` is the ``mechanisms:`` section of a model's config (``model.init_args.mechanisms``):
the vector denoisers' widths and conditioning, the diffusion schedule of continuous variables, the
classifiers of discrete ones, how entries without inputs are handled (``roots``), and, in
:class:`ImageMechanismConfig` (``mechanisms.image``), the UNet and the diffusion settings of image
variables. Every field is checked in ``__post_init__``; a bad value is one :class:`ConfigError` line
naming the key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from lightning_causal.diffusion import SCHEDULES, NoiseSchedule
from lightning_causal.errors import ConfigError
from lightning_causal.nets import CONDITIONING

__all__ = ["BACKENDS", "ROOTS", "ImageMechanismConfig", "MechanismConfig"]

ROOTS = ("empirical", "model")
"""How an entry without inputs is handled: its training rows resampled, or modelled like the others."""
BACKENDS = ("batched", "separate")
"""How a bank evaluates its vector networks: all as one batched network, or one after another."""


def _check_numbers(config: object, prefix: str, keys: tuple[str, ...]) -> None:
    """Each key a number (YAML reads ``1e-4`` as text): one line naming the key otherwise."""
    for key in keys:
        value = getattr(config, key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{prefix}.{key} is {value!r}; give a number (write 1.0e-4, not 1e-4, in YAML)")


def _check_sides(config: object, key: str) -> tuple[int, ...]:
    """A list of whole numbers (image levels, attention sides)."""
    value = getattr(config, key)
    if not isinstance(value, list | tuple):
        raise ConfigError(f"mechanisms.image.{key} is {value!r}; give a list of whole numbers, e.g. [1, 2]")
    return tuple(value)


QUERY_SETTINGS = ("guidance", "eta")
"""Image settings that only sampling reads: a checkpoint resumes or loads whatever they are (a config may
change them after training; ID-GEN's run folder decides for its generated datasets, see its fingerprint)."""


@dataclass(frozen=True)
class ImageMechanismConfig:
    """The denoiser and diffusion settings of image variables (``model.init_args.mechanisms.image`` in configs)."""

    base: int = 64
    """Channels of the UNet's first level."""
    mults: tuple[int, ...] = (1, 2, 2, 2)
    """Channel multiplier of each level (the image side must be divisible by 2 ** (levels - 1))."""
    res_blocks: int = 2
    """Residual blocks per level."""
    attention: tuple[int, ...] = (16,)
    """Feature-map sides at which the UNet has self-attention (and always in its middle block)."""
    dropout: float = 0.1
    """Dropout inside the residual blocks."""
    groups: int = 8
    """Group-norm groups (must divide every level's channel count)."""
    cond_dim: int = 64
    """Width of the inputs' conditioning embedding."""
    cond_dropout: float = 0.1
    """Probability of dropping a row's condition in training (classifier-free guidance)."""
    guidance: float = 0.0
    """Default guidance weight w at sampling (0: the plain conditional model)."""
    timesteps: int = 1000
    """T, the diffusion steps of image variables."""
    schedule: str = "linear"
    """``"linear"`` or ``"cosine"``."""
    beta_start: float = 1e-4
    """First beta of the linear schedule."""
    beta_end: float = 0.02
    """Last beta of the linear schedule."""
    sample_steps: int = 50
    """DDIM steps when a query does not say."""
    eta: float = 0.0
    """DDIM's noise when a query does not say: 0 deterministic, 1 ancestral (fresh noise at each step,
    as DDPM). A query setting like ``guidance``: ID-GEN's generated datasets are drawn with 0 whatever
    it is, so changing it retrains nothing."""

    def __post_init__(self) -> None:
        for key in ("base", "res_blocks", "groups", "cond_dim", "timesteps", "sample_steps"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"mechanisms.image.{key} is {value!r}; give a whole number >= 1")
        mults = _check_sides(self, "mults")
        if not mults or any(isinstance(m, bool) or not isinstance(m, int) or m < 1 for m in mults):
            raise ConfigError(
                f"mechanisms.image.mults is {self.mults!r}; give a list of whole numbers >= 1, e.g. [1, 2]"
            )
        object.__setattr__(self, "mults", mults)
        object.__setattr__(self, "attention", _check_sides(self, "attention"))
        for key in ("dropout", "cond_dropout"):
            value = getattr(self, key)
            if not isinstance(value, int | float) or not 0 <= value < 1:
                raise ConfigError(f"mechanisms.image.{key} is {value!r}; give a probability in [0, 1)")
        guidance = self.guidance
        if isinstance(guidance, bool) or not isinstance(guidance, int | float) or not 0 <= guidance < math.inf:
            raise ConfigError(f"mechanisms.image.guidance is {guidance!r}; give a finite weight >= 0")
        eta = self.eta
        if isinstance(eta, bool) or not isinstance(eta, int | float) or not 0 <= eta < math.inf:
            raise ConfigError(
                f"mechanisms.image.eta is {eta!r}; give a number >= 0 (0: deterministic DDIM, 1: ancestral)"
            )
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"mechanisms.image.schedule is {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        _check_numbers(self, "mechanisms.image", ("beta_start", "beta_end"))
        if not 0 < self.beta_start < self.beta_end < 1:
            raise ConfigError(
                f"mechanisms.image.beta_start {self.beta_start} and beta_end {self.beta_end}: "
                "give 0 < beta_start < beta_end < 1"
            )
        left = float(NoiseSchedule(self.timesteps, self.schedule, self.beta_start, self.beta_end).alphas_cumprod[-1])
        if left > 0.01:
            raise ConfigError(
                f"mechanisms.image: with timesteps {self.timesteps} and beta_end {self.beta_end} the last step keeps "
                f"{left:.0%} of the image (abar_T = {left:.3f}), so sampling from pure noise is off the training "
                "distribution; raise beta_end or timesteps"
            )
        if self.sample_steps > self.timesteps:
            raise ConfigError(
                f"mechanisms.image.sample_steps is {self.sample_steps}, more than timesteps {self.timesteps}"
            )


@dataclass(frozen=True)
class MechanismConfig:
    """The architecture of every mechanism of a model (each field is a ``model.init_args.mechanisms`` key)."""

    hidden: int = 64
    """Hidden width of every continuous variable's denoiser."""
    depth: int = 2
    """Hidden layers of every vector network (denoisers and classifiers)."""
    conditioning: str = "film"
    """How a denoiser sees its inputs and the time step: ``"film"`` or ``"concat"``."""
    time_dim: int = 16
    """Width of the sinusoidal time embedding."""
    timesteps: int = 100
    """T, the diffusion steps of continuous variables (the DCM reference uses 100)."""
    schedule: str = "linear"
    """``"linear"`` or ``"cosine"`` (cosine suits T >= 1000; with T = 100 its last betas near 1 make
    DDIM's x0 estimate unstable)."""
    beta_start: float = 1e-4
    """First beta of the linear schedule."""
    beta_end: float = 0.1
    """Last beta of the linear schedule (0.1 in the DCM reference)."""
    roots: str = "empirical"
    """Entries without inputs: ``"empirical"`` (resample training rows) or ``"model"`` (learn them too)."""
    backend: str = "batched"
    """``"batched"`` (all vector networks of a bank as one) or ``"separate"`` (one MLP each, in a loop)."""
    classifier_hidden: int = 64
    """Hidden width of the discrete variables' classifiers."""
    max_root_samples: int = 10_000
    """Training rows kept per resampled entry (and for the free inputs of an ID-GEN network)."""
    image: ImageMechanismConfig = field(default_factory=ImageMechanismConfig)
    """The UNet and diffusion settings of image variables (:class:`ImageMechanismConfig`)."""

    def __post_init__(self) -> None:
        image: Any = self.image
        if isinstance(image, dict):
            try:
                object.__setattr__(self, "image", ImageMechanismConfig(**image))
            except TypeError as err:
                raise ConfigError(f"mechanisms.image: {err}; see ImageMechanismConfig for the keys") from None
        elif not isinstance(image, ImageMechanismConfig):
            raise ConfigError(f"mechanisms.image is {image!r}; give a mapping of ImageMechanismConfig keys")
        for key in ("hidden", "depth", "time_dim", "timesteps", "classifier_hidden", "max_root_samples"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"mechanisms.{key} is {value!r}; give a whole number >= 1")
        if self.time_dim % 2:
            raise ConfigError(f"mechanisms.time_dim is {self.time_dim}; give an even number (sines and cosines)")
        _check_numbers(self, "mechanisms", ("beta_start", "beta_end"))
        if not 0 < self.beta_start < self.beta_end < 1:
            raise ConfigError(
                f"mechanisms.beta_start {self.beta_start} and beta_end {self.beta_end}: "
                "give 0 < beta_start < beta_end < 1"
            )
        for key, allowed in (("roots", ROOTS), ("backend", BACKENDS), ("conditioning", CONDITIONING)):
            if getattr(self, key) not in allowed:
                raise ConfigError(f"mechanisms.{key} is {getattr(self, key)!r}; choose one of {', '.join(allowed)}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"mechanisms.schedule is {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")

    @classmethod
    def of(cls, value: MechanismConfig | dict[str, Any] | None) -> MechanismConfig:
        """The config itself, one built from its fields (a dict, as configs give it), or the defaults for None."""
        if value is None:
            return cls()
        if isinstance(value, MechanismConfig):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"mechanisms is {value!r}; give a mapping of MechanismConfig keys")
        try:
            return cls(**value)
        except TypeError as err:
            known = ", ".join(f.name for f in cls.__dataclass_fields__.values())
            raise ConfigError(f"mechanisms: {err}; the keys are {known}") from None
