"""Image files in and out: reading image variables from PNG/JPEG (or arrays), writing PNGs and grids.

An image variable (:class:`~lightning_causal.variables.spec.VariableSpec` of kind ``"image"``) holds
``(C, H, W)`` tensors, uint8 0..255 or float 0..1 as its ``dtype`` says. This module reads them from

* image files PIL opens (PNG, JPEG, BMP, ...), converted to the spec's mode: ``L`` for 1 channel,
  ``RGB`` for 3, ``RGBA`` for 4 (16-bit greyscale PNGs keep their precision in a float spec);
* ``.npy`` and ``.pt`` arrays of shape ``(C, H, W)``, ``(H, W, C)`` (as PIL and NumPy lay images
  out) or ``(H, W)`` for one channel: uint8 or integer pixels 0..255, or floats 0..1. Images with
  other channel counts than 1, 3 or 4 are read from arrays only.

The size must be the spec's exactly: nothing is resized silently. Values convert between the two
dtypes by ``uint8 / 255`` and ``round(float * 255)``. Errors are one line naming the file (or the
variable) and what to do: :class:`DataError` for files, :class:`QueryError` for values given to a query.

Writing goes through :func:`~lightning_causal.files.atomic_write` (a temporary file, then a rename):
:func:`write_png` writes one image, :func:`save_grid` a PNG of many tiled by :func:`image_grid`.
"""

from __future__ import annotations

import io
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from lightning_causal.errors import DataError, LightningCausalError, QueryError
from lightning_causal.files import atomic_write

if TYPE_CHECKING:
    from lightning_causal.variables.spec import VariableSpec

__all__ = [
    "ARRAY_SUFFIXES",
    "IMAGE_SUFFIXES",
    "PROGRESS_MIN",
    "image_grid",
    "load_image_value",
    "read_image",
    "read_images",
    "save_grid",
    "to_image_dtype",
    "write_png",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
"""The image files documented for image variables (any other format PIL opens is read too)."""
ARRAY_SUFFIXES = (".npy", ".pt")
"""Array files read as images: a NumPy ``.npy`` or a tensor saved with ``torch.save``."""
PROGRESS_MIN = 1000
""":func:`read_images` shows a progress bar (on a terminal) from this many files on."""

_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def _torch_dtype(spec: VariableSpec) -> torch.dtype:
    return torch.uint8 if spec.dtype == "uint8" else torch.float32


def _shape_text(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ")"


def to_image_dtype(
    value: Tensor, spec: VariableSpec, what: str, error: type[LightningCausalError] = QueryError
) -> Tensor:
    """Pixels of ``value`` in the spec's dtype: uint8 0..255 or float32 0..1.

    uint8 and other integer tensors hold pixel values 0..255, float tensors values in [0, 1], a bool
    tensor 0 / 1. uint8 to float divides by 255; float to uint8 multiplies by 255 and rounds.
    ``what`` begins the one-line ``error`` raised for NaN, infinite or out-of-range values.
    """
    target = _torch_dtype(spec)
    if value.dtype == torch.bool:
        value = value.float()
    if value.is_complex():
        raise error(f"{what} holds complex numbers; give pixels 0..255 (uint8) or 0..1 (float)")
    if value.dtype == torch.uint8:
        return value if target == torch.uint8 else value.float() / 255.0
    if not value.is_floating_point():
        if value.numel() and (value.min() < 0 or value.max() > 255):
            low, high = int(value.min()), int(value.max())
            raise error(
                f"{what} holds integers from {low} to {high}; integer pixels run 0..255 (or give floats in [0, 1])"
            )
        value = value.to(torch.uint8)
        return value if target == torch.uint8 else value.float() / 255.0
    if not torch.isfinite(value).all():
        raise error(f"{what} holds NaN or infinite values; give finite pixels in [0, 1]")
    if value.numel() and (value.min() < 0 or value.max() > 1):
        lowest, highest = float(value.min()), float(value.max())
        raise error(
            f"{what} holds floats from {lowest:.4g} to {highest:.4g}; float pixels run 0..1 "
            "(divide 0..255 values by 255, or give a uint8 array)"
        )
    if target == torch.uint8:
        return (value.double() * 255.0).round().to(torch.uint8)
    return value.to(torch.float32)


def _one_image(value: Tensor, spec: VariableSpec) -> Tensor | None:
    """``value`` as ``(C, H, W)`` when it is one image laid out ``(C, H, W)``, ``(H, W, C)`` or ``(H, W)``."""
    c, h, w = spec.image_shape
    if value.dim() == 4 and len(value) == 1:
        value = value[0]
    shape = tuple(value.shape)
    if shape == (c, h, w):
        return value
    if shape == (h, w, c):
        return value.permute(2, 0, 1)
    if shape == (h, w) and c == 1:
        return value.unsqueeze(0)
    return None


def _size_error(what: str, spec: VariableSpec, shape: Sequence[int], error: type[LightningCausalError]) -> Exception:
    c, h, w = spec.image_shape
    return error(
        f"{what} has shape {_shape_text(shape)}, but variable {spec.name!r} takes images of shape ({c}, {h}, {w}) "
        f"(channels, height, width); resize or reshape it to {w}x{h} pixels with {c} channel{'s' if c > 1 else ''}"
    )


def _load_array(path: Path, shown: str) -> Tensor:
    try:
        if path.suffix.lower() == ".npy":
            array = np.load(path, allow_pickle=False)
        else:
            array = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # numpy and torch raise many types for a file that is no array
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise DataError(
            f"image file {shown} cannot be read as an array ({first}); save one with np.save or torch.save"
        ) from None
    if isinstance(array, np.ndarray):
        if array.dtype.kind not in "biuf":
            raise DataError(f"image file {shown} holds an array of dtype {array.dtype}; save pixels as uint8 or floats")
        if array.dtype == np.uint16:
            array = array.astype(np.int64)
        return torch.from_numpy(np.ascontiguousarray(array))
    if isinstance(array, Tensor):
        return array.detach().cpu()
    raise DataError(f"image file {shown} holds a {type(array).__name__}, not one tensor; torch.save the image tensor")


def _open_with_pil(path: Path, spec: VariableSpec, shown: str) -> Tensor:
    """The file's pixels as uint8 ``(C, H, W)`` (or float 0..1 for a 16-bit or float greyscale image)."""
    from PIL import Image, UnidentifiedImageError

    c, h, w = spec.image_shape
    failure: str | None = None
    raw: np.ndarray | None = None
    mode = ""
    try:
        with Image.open(path) as img:
            size = img.size
            if size == (w, h) and c in _MODES:
                img.load()
                mode = img.mode
                if c == 1 and (mode.startswith("I") or mode == "F"):
                    raw = np.array(img, dtype=np.float64)
                else:
                    raw = np.array(img.convert(_MODES[c]), dtype=np.uint8)
    except Image.DecompressionBombError:
        failure = "it is too large for PIL to open safely"
    except UnidentifiedImageError:
        failure = "not an image format PIL knows"
    except Exception as err:  # PIL raises OSError, SyntaxError, ValueError... for broken or unknown files
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        failure = first
    if failure is not None:
        raise DataError(
            f"image file {shown} cannot be read as an image ({failure}); give a PNG or JPEG file, "
            f"or a {' or '.join(ARRAY_SUFFIXES)} array"
        )
    if size != (w, h):
        raise DataError(
            f"image file {shown} is {size[0]}x{size[1]} pixels (width x height), but variable {spec.name!r} takes "
            f"{w}x{h} images; resize it to {w}x{h} (e.g. PIL's Image.resize((width, height)))"
        )
    if c not in _MODES:
        raise DataError(
            f"image file {shown}: variable {spec.name!r} has {c} channels; image files give 1 (L), 3 (RGB) or 4 "
            f"(RGBA), so save {c}-channel images as {' or '.join(ARRAY_SUFFIXES)} arrays of shape ({c}, {h}, {w})"
        )
    assert raw is not None
    if raw.dtype == np.uint8:
        pixels = torch.from_numpy(np.ascontiguousarray(raw))
        return pixels.unsqueeze(0) if pixels.dim() == 2 else pixels.permute(2, 0, 1).contiguous()
    if mode == "F":  # float pixels are taken to be 0..1
        return torch.from_numpy(raw.astype(np.float32)).unsqueeze(0)
    scale = 65535.0 if raw.max(initial=0) > 255 or mode.startswith("I;16") or path.suffix.lower() == ".png" else 255.0
    return torch.from_numpy((raw / scale).astype(np.float32)).unsqueeze(0)


def read_image(path: str | Path, spec: VariableSpec) -> Tensor:
    """The image in file ``path`` as a ``(C, H, W)`` tensor in the spec's dtype.

    Image files (PNG, JPEG, ... through PIL) are converted to ``L``, ``RGB`` or ``RGBA`` for 1, 3 or
    4 channels; ``.npy`` and ``.pt`` arrays may be ``(C, H, W)``, ``(H, W, C)`` or ``(H, W)`` for one
    channel. The size must match the spec exactly. Raises a one-line :class:`DataError` naming the file
    for a missing or unreadable file, a wrong size or pixels out of range.
    """
    path = Path(path)
    shown = repr(str(path))
    if not path.is_file():
        if path.is_dir():
            raise DataError(f"image file {shown} for variable {spec.name!r} is a folder; give an image file")
        raise DataError(f"image file {shown} for variable {spec.name!r} does not exist; check the path")
    what = f"image file {shown}"
    if path.suffix.lower() in ARRAY_SUFFIXES:
        array = _load_array(path, shown)
        image = _one_image(array, spec)
        if image is None:
            raise _size_error(what, spec, tuple(array.shape), DataError)
    else:
        image = _open_with_pil(path, spec, shown)
    return to_image_dtype(image, spec, what, DataError).contiguous()


def read_images(
    paths: Sequence[str | Path],
    spec: VariableSpec,
    *,
    progress: bool | None = None,
    describe: Callable[[int], str] | None = None,
) -> Tensor:
    """The images in ``paths`` as one ``(n, C, H, W)`` tensor in the spec's dtype (see :func:`read_image`).

    Args:
        paths: the files, in order.
        spec: the image variable.
        progress: show a progress bar; by default one is shown, on a terminal, from
            :data:`PROGRESS_MIN` files on.
        describe: ``describe(i)`` begins the error message of a failure on file ``i`` (e.g. the table
            column and row the path came from).
    """
    from tqdm import tqdm

    c, h, w = spec.image_shape
    out = torch.empty((len(paths), c, h, w), dtype=_torch_dtype(spec))
    disable: bool | None = True
    if progress or (progress is None and len(paths) >= PROGRESS_MIN):
        disable = None if progress is None else False  # None: tqdm shows the bar on a terminal only
    bar = tqdm(paths, desc=f"Reading {spec.name}", unit="images", disable=disable, file=sys.stdout, leave=False)
    try:
        for i, path in enumerate(bar):
            try:
                out[i] = read_image(path, spec)
            except DataError as err:
                if describe is None:
                    raise
                raise DataError(f"{describe(i)}: {err}") from None
    finally:
        bar.close()
    return out


def _as_tensor(value: Any, what: str) -> Tensor:
    if isinstance(value, Tensor):
        return value.detach()
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise QueryError(f"{what} is an array of dtype {value.dtype}; give pixels as uint8 or floats")
        return torch.from_numpy(np.ascontiguousarray(value.astype(np.int64) if value.dtype == np.uint16 else value))
    try:
        return torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError):
        raise QueryError(
            f"{what} must be an image file path, a tensor or an array, got {type(value).__name__}"
        ) from None


def load_image_value(value: Any, spec: VariableSpec) -> Tensor:
    """An image value as users give it: ``(C, H, W)`` for one image, ``(n, C, H, W)`` for several.

    ``value`` is a path (``str`` or :class:`~pathlib.Path`) of an image or array file
    (:func:`read_image`), or a tensor or NumPy array: one image ``(C, H, W)`` (also ``(H, W, C)``,
    or ``(H, W)`` for one channel) or a batch ``(n, C, H, W)``, uint8 / integer pixels 0..255 or
    floats 0..1. The result is in the spec's dtype. Raises a one-line :class:`QueryError` naming the
    variable and the expected shape.
    """
    c, h, w = spec.image_shape
    if isinstance(value, str | Path):
        try:
            return read_image(value, spec)
        except DataError as err:
            raise QueryError(str(err)) from None
    what = f"the value of image variable {spec.name!r}"
    t = _as_tensor(value, what)
    if t.dim() == 4:
        if tuple(t.shape[1:]) != (c, h, w):
            raise QueryError(
                f"{what} has shape {_shape_text(t.shape)}; give one image of shape ({c}, {h}, {w}) or a batch "
                f"of shape (n, {c}, {h}, {w})"
            )
        return to_image_dtype(t, spec, what)
    image = _one_image(t, spec) if t.dim() in (2, 3) else None
    if image is None:
        raise QueryError(
            f"{what} has shape {_shape_text(t.shape)}; give one image of shape ({c}, {h}, {w}) or a batch of shape "
            f"(n, {c}, {h}, {w}), or the path of an image file"
        )
    return to_image_dtype(image, spec, what)


def _displayable(images: Tensor, keep_alpha: bool = False) -> Tensor:
    """uint8 images ``(..., C', H, W)``: 1 channel grey, 3 RGB (4 RGBA with ``keep_alpha``), else the first 3 or 1."""
    c = images.shape[-3]
    keep = c if c in (1, 3) or (keep_alpha and c == 4) else (3 if c >= 3 else 1)
    images = images[..., :keep, :, :]
    if images.dtype == torch.uint8:
        return images
    if images.dtype == torch.bool:
        return images.to(torch.uint8) * 255
    if images.is_floating_point():
        unit = torch.nan_to_num(images.float(), nan=0.0).clamp(0.0, 1.0)
        return (unit * 255.0).round().to(torch.uint8)
    return images.clamp(0, 255).to(torch.uint8)


def image_grid(images: Tensor | np.ndarray, nrow: int | None = None, padding: int = 1, pad_value: int = 0) -> Tensor:
    """The images ``(n, C, H, W)`` tiled into one uint8 image ``(C', H', W')``, ``nrow`` images per row.

    Float images are taken as 0..1 (clamped), uint8 as 0..255. One channel is shown grey, three as
    RGB; other channel counts show their first 3 channels (4 or more) or their first one (2).
    ``nrow`` defaults to ``ceil(sqrt(n))``; ``padding`` pixels of ``pad_value`` separate and frame the tiles.
    """
    t = torch.as_tensor(images).detach().cpu()
    if t.dim() == 3:
        t = t.unsqueeze(0)
    if t.dim() != 4 or len(t) == 0:
        raise QueryError(f"image_grid takes images of shape (n, C, H, W) with n >= 1, got shape {tuple(t.shape)}")
    if nrow is not None and (isinstance(nrow, bool) or not isinstance(nrow, int) or nrow < 1):
        raise QueryError(f"image_grid: nrow must be a whole number >= 1, got {nrow!r}")
    if padding < 0 or not 0 <= pad_value <= 255:
        raise QueryError(f"image_grid: padding must be >= 0 and pad_value in 0..255, got {padding}, {pad_value}")
    t = _displayable(t)
    n, c, h, w = t.shape
    cols = min(nrow or math.ceil(math.sqrt(n)), n)
    rows = math.ceil(n / cols)
    grid = torch.full((c, rows * (h + padding) + padding, cols * (w + padding) + padding), pad_value, dtype=torch.uint8)
    for k in range(n):
        r, col = divmod(k, cols)
        y, x = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, y : y + h, x : x + w] = t[k]
    return grid


def _png_bytes(image: Tensor) -> bytes:
    from PIL import Image

    array = image.numpy()
    picture = Image.fromarray(array[0], mode="L") if len(array) == 1 else Image.fromarray(array.transpose(1, 2, 0))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def write_png(path: str | Path, image: Tensor | np.ndarray) -> Path:
    """Write one image ``(C, H, W)`` (or ``(H, W)``) as a PNG, atomically; returns the path.

    uint8 pixels are written as they are, floats as 0..1 (clamped). 1, 3 and 4 channels give a grey,
    RGB and RGBA PNG; other channel counts keep their first 3 channels (5 or more) or their first one (2).
    """
    t = torch.as_tensor(image).detach().cpu()
    if t.dim() == 2:
        t = t.unsqueeze(0)
    if t.dim() != 3 or 0 in t.shape:
        raise QueryError(f"write_png takes one image of shape (C, H, W), got shape {tuple(t.shape)}")
    return atomic_write(path, _png_bytes(_displayable(t, keep_alpha=True).contiguous()))


def save_grid(path: str | Path, images: Tensor | np.ndarray, nrow: int | None = None, padding: int = 1) -> Path:
    """Write the images ``(n, C, H, W)`` as one PNG grid (:func:`image_grid`), atomically; returns the path."""
    return atomic_write(path, _png_bytes(image_grid(images, nrow=nrow, padding=padding)))
