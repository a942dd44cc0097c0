"""One codec per variable kind: values in data space to the flat float features models read, and back.

A codec maps a batch of one variable's values to ``(batch, width)`` float features and back:

* continuous: the vector itself, standardised ``(x - mean) / std`` per dimension with the training
  data's statistics (:attr:`VariableSpec.mean`, :attr:`VariableSpec.std`);
* categorical with k classes: one-hot, k floats; decoded by argmax;
* binary: one float, the code mapped to -1 / +1; decoded by sign;
* image ``(batch, channels, height, width)``: every pixel mapped to [-1, 1] (uint8 0..255 or
  float 0..1 as the spec's ``dtype`` says), flattened to ``channels * height * width`` columns;
  decoded by clamping to the pixel range (and rounding, for uint8). Image models reshape their
  columns back with :meth:`ImageCodec.to_image`.

Every codec is ``encode(v) = (features(v) - shift) / scale``, an elementwise affine map of its
features, so a model that encodes many variables side by side (:class:`EncodedLayout`) can apply
all shifts and scales in one operation. A new kind (images, text) registers its codec with
:func:`register_codec`; models find codecs with :func:`codec_for` and never switch on the kind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from lightning_causal.errors import QueryError
from lightning_causal.variables.spec import VariableSpec

__all__ = [
    "BinaryCodec",
    "CategoricalCodec",
    "Codec",
    "ContinuousCodec",
    "ImageCodec",
    "codec_for",
    "image_to_unit",
    "register_codec",
]


class Codec(ABC):
    """The codec of one variable.

    Attributes:
        spec: the variable.
        width: the number of encoded float columns.
        shift, scale: the per-column affine map of :meth:`encode` (``(features - shift) / scale``).
    """

    def __init__(self, spec: VariableSpec) -> None:
        self.spec = spec
        self.width = spec.encoded_dim
        self.shift: tuple[float, ...] = (0.0,) * self.width
        self.scale: tuple[float, ...] = (1.0,) * self.width

    @abstractmethod
    def features(self, value: Tensor) -> Tensor:
        """``(batch, width)`` float features of a batch of values, before the affine map."""

    @abstractmethod
    def from_features(self, features: Tensor) -> Tensor:
        """Values in data space from features (the inverse of :meth:`features`, or its nearest value)."""

    def encode(self, value: Tensor) -> Tensor:
        """The model-space encoding ``(features - shift) / scale``, shape ``(batch, width)``."""
        shift = torch.tensor(self.shift, device=value.device)
        scale = torch.tensor(self.scale, device=value.device)
        return (self.features(value) - shift) / scale

    def decode(self, encoded: Tensor) -> Tensor:
        """Values in data space from an encoding of shape ``(batch, width)``."""
        shift = torch.tensor(self.shift, device=encoded.device)
        scale = torch.tensor(self.scale, device=encoded.device)
        return self.from_features(encoded * scale + shift)


class ContinuousCodec(Codec):
    """A float vector ``(batch, dim)``, standardised with the training mean and std."""

    def __init__(self, spec: VariableSpec) -> None:
        super().__init__(spec)
        self.shift = tuple(spec.mean or (0.0,) * spec.dim)
        self.scale = tuple(spec.std or (1.0,) * spec.dim)

    def features(self, value: Tensor) -> Tensor:
        return value.reshape(len(value), -1).float()

    def from_features(self, features: Tensor) -> Tensor:
        return features


class CategoricalCodec(Codec):
    """Class codes ``(batch,)`` as one-hot vectors."""

    def features(self, value: Tensor) -> Tensor:
        return F.one_hot(value.long(), self.spec.classes).float()

    def from_features(self, features: Tensor) -> Tensor:
        return features.argmax(dim=-1)


class BinaryCodec(Codec):
    """Codes 0 / 1 ``(batch,)`` as one float, -1 / +1."""

    def features(self, value: Tensor) -> Tensor:
        return (value.float() * 2 - 1).unsqueeze(-1)

    def from_features(self, features: Tensor) -> Tensor:
        return (features[:, 0] > 0).long()


def image_to_unit(value: Tensor) -> Tensor:
    """Pixels as floats in [0, 1]: uint8 images are divided by 255, float images are taken as they are."""
    return value.float() / 255.0 if value.dtype == torch.uint8 else value.float()


class ImageCodec(Codec):
    """Images ``(batch, C, H, W)`` (uint8 0..255 or float 0..1) as ``C * H * W`` columns in [-1, 1]."""

    def __init__(self, spec: VariableSpec) -> None:
        super().__init__(spec)
        self.shape = spec.image_shape
        self.shift = (0.5,) * self.width
        self.scale = (0.5,) * self.width

    def features(self, value: Tensor) -> Tensor:
        if tuple(value.shape[1:]) != self.shape:
            c, h, w = self.shape
            raise QueryError(
                f"variable {self.spec.name!r}: images of shape {tuple(value.shape[1:])}, expected ({c}, {h}, {w})"
            )
        return image_to_unit(value).reshape(len(value), -1)

    def from_features(self, features: Tensor) -> Tensor:
        unit = features.reshape(len(features), *self.shape).clamp(0.0, 1.0)
        if self.spec.dtype == "uint8":
            return (unit * 255.0).round().to(torch.uint8)
        return unit

    def to_image(self, encoded: Tensor) -> Tensor:
        """Encoded columns ``(batch, C * H * W)`` as ``(batch, C, H, W)`` (still in [-1, 1])."""
        return encoded.reshape(len(encoded), *self.shape)


_CODECS: dict[str, Callable[[VariableSpec], Codec]] = {
    "continuous": ContinuousCodec,
    "categorical": CategoricalCodec,
    "binary": BinaryCodec,
    "image": ImageCodec,
}


def register_codec(kind: str, codec: Callable[[VariableSpec], Codec]) -> None:
    """Make ``codec`` (e.g. a :class:`Codec` subclass) the codec of the variable kind ``kind``."""
    _CODECS[kind] = codec


def codec_for(spec: VariableSpec) -> Codec:
    """The codec of a variable, by its kind."""
    try:
        return _CODECS[spec.kind](spec)
    except KeyError:
        raise QueryError(
            f"variable {spec.name!r}: no codec for kind {spec.kind!r}; known: {', '.join(_CODECS)}"
        ) from None
