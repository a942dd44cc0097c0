"""The napkin with images: coloured handwritten digits whose exact causal answers are known.

A ground-truth SCM over the napkin graph ``W1 -> W2 -> X -> Y`` with ``W1 <-> X`` and ``W1 <-> Y``,
where ``W1``, ``X`` and ``Y`` are RGB images of handwritten digits (``3 x size x size``, uint8) and
``W2`` is categorical (20 classes). It is this project's own reconstruction of the coloured-digits
napkin experiment of the ID-GEN paper: the structure follows the paper, the noise rate (``noise``,
0.1 by default) and the exact attribute mechanisms are our choice, since the paper's are not
confirmed.

Every image is a stroke of a real handwritten digit, drawn at random among the strokes of its
class, rendered by :func:`render` with three attributes: the digit (10), the colour (6: red,
green, blue, yellow, magenta, cyan; the colour *group* ``colour // 3`` is 0 for the primaries
red, green, blue and 1 for the secondaries yellow, magenta, cyan) and the thickness (3: thin,
regular, thick). The latents and the structural equations (``flip_k(v)`` keeps ``v`` with
probability ``1 - noise`` and otherwise replaces it by a uniform draw among the ``k - 1`` other
values):

* ``D ~ U{0..9}`` (digit), ``U1 ~ U{0..5}`` (colour), ``U2 ~ U{0, 1, 2}`` (thickness);
* ``W1 = render(stroke of D, colour U1, thickness U2)``, upright;
* ``W2a = flip_10(D)``, ``W2b = flip_2(U1 // 3)``, ``W2 = 2 * W2a + W2b``;
* ``X = rot90(render(fresh stroke of W2a, colour 3 * W2b + V, thickness flip_3(U2)))`` with
  ``V ~ U{0, 1, 2}``: rotated by 90 degrees (counter-clockwise, ``torch.rot90`` over H, W);
* ``Y = mirror(render(fresh stroke of X's digit, colour flip_6(U1), X's thickness))``: reflected
  left-right.

So ``U2`` (thickness) confounds ``W1`` and ``X``, ``U1`` (colour) confounds ``W1`` and ``Y``.
Observationally Y's colour leans towards X's colour group (both descend from ``U1``); under
``do(X = x)`` Y's digit and thickness are x's and Y's colour is uniform over the six, since a flip of
a uniform draw is uniform. The napkin's P(Y | do(X)) is identifiable (ID's c-component step), so a
model trained on the observational rows can be scored against the exact answer.

Exactness: :meth:`NapkinDigits.interventional` samples Y under ``do(X = x)`` exactly;
:meth:`NapkinDigits.true_attributes` gives the distribution of Y's attributes under ``do(X = x)``
and :meth:`NapkinDigits.conditional_attributes` the observational P(Y's attributes | X's
attributes), both by exact enumeration over the latents and the noises; attribute classifiers
trained on :meth:`NapkinDigits.render_attributes` read the attributes back from generated images.

Strokes come from ``sklearn.datasets.load_digits()`` (1,797 8x8 digits bundled with scikit-learn,
no download) or a local MNIST folder (``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte``,
optionally gzipped, read by :func:`read_idx`). Randomness is always an explicit ``torch.Generator``
(or an int seed); everything is vectorised in torch.

Example:
    >>> scm = NapkinDigits(size=16)
    >>> rows = scm.sample(4, torch.Generator().manual_seed(0))
    >>> tuple(rows["X"].shape), rows["X"].dtype, rows["W2"].dtype
    ((4, 3, 16, 16), torch.uint8, torch.int64)
    >>> truth = scm.true_attributes(digit=7, thickness=2)
    >>> truth["digit"].argmax().item(), [round(p, 3) for p in truth["colour"].tolist()]
    (7, [0.167, 0.167, 0.167, 0.167, 0.167, 0.167])
    >>> biased = scm.conditional_attributes(digit=7, colour=0, thickness=2)["colour"]
    >>> [round(p, 3) for p in biased.tolist()]
    [0.284, 0.284, 0.284, 0.049, 0.049, 0.049]
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from lightning_causal.errors import DataError, QueryError, listing
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.randomness import RngLike, torch_rng
from lightning_causal.variables.spec import VariableSpec

__all__ = [
    "ATTRIBUTES",
    "COLOURS",
    "COLOUR_RGB",
    "MNIST_FILES",
    "STYLES",
    "THICKNESSES",
    "AttributeValue",
    "NapkinDigits",
    "StrokeSource",
    "attribute_names",
    "load_strokes",
    "read_idx",
    "render",
]

ATTRIBUTES: dict[str, int] = {"digit": 10, "colour": 6, "thickness": 3}
"""The attributes of every image and their numbers of classes."""

COLOURS: tuple[str, ...] = ("red", "green", "blue", "yellow", "magenta", "cyan")
"""The names of the colour codes 0..5; the colour group of code ``c`` is ``c // 3``."""

COLOUR_RGB: tuple[tuple[float, float, float], ...] = (
    (1.0, 0.0, 0.0),
    (0.0, 1.0, 0.0),
    (0.0, 0.0, 1.0),
    (1.0, 1.0, 0.0),
    (1.0, 0.0, 1.0),
    (0.0, 1.0, 1.0),
)
"""The RGB weights (0 or 1) of the colour codes 0..5."""

THICKNESSES: tuple[str, ...] = ("thin", "regular", "thick")
"""The names of the thickness codes 0..2."""

STYLES: tuple[str, ...] = ("w1", "x", "y")
"""How each image variable is drawn: ``w1`` upright, ``x`` rotated by 90 degrees, ``y`` reflected left-right."""

MNIST_FILES: tuple[str, str] = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
"""The MNIST training files a strokes folder holds (each optionally with ``.gz``)."""

StrokeSource = str | os.PathLike[str] | tuple[Tensor, Tensor]
"""Where strokes come from: ``"sklearn"``, a folder holding :data:`MNIST_FILES`, or a pair
``(images (m, h, w) uint8 0..255 or float 0..1, labels (m,) digits 0..9)``."""

AttributeValue = int | Tensor
"""An attribute code: one int for every row, or an int tensor of shape ``(n,)``."""

_IDX_MAGIC = {3: 2051, 1: 2049}  # images, labels: unsigned bytes, 3 and 1 dimensions
_NODES = ("W1", "W2", "X", "Y")
_IMAGES = ("W1", "X", "Y")


# ---------------------------------------------------------------------- rendering
def _morphology_kernel(size: int) -> int:
    """The side of the square structuring element at a drawing size of ``size`` (16 or more)."""
    return 2 * max(1, size // 16) + 1


def render(strokes: Tensor, colour: Tensor, thickness: Tensor, size: int) -> Tensor:
    """Coloured digit images from grey strokes.

    Each stroke is scaled to peak at 1, resized to ``size x size`` (bilinear), given its thickness
    by grey-scale morphology with a square ``k x k`` element (``k = 3`` up to size 31, then
    ``2 * (size // 16) + 1``): thin is the erosion (a min-pool), regular the stroke as it is, thick
    the dilation (a max-pool). Below 16 pixels the stroke is drawn at ``f = ceil(16 / size)`` times
    the size and averaged down by ``f`` (an erosion at 8 pixels would wipe the stroke out). Pixel =
    round(intensity x 255) x the colour's RGB weights, on black.

    Args:
        strokes: ``(n, h0, w0)`` floats in [0, 1].
        colour: ``(n,)`` colour codes 0..5 (:data:`COLOURS`).
        thickness: ``(n,)`` thickness codes 0..2 (:data:`THICKNESSES`).
        size: the side of the output images.

    Returns:
        uint8 images ``(n, 3, size, size)``.

    Raises:
        QueryError: badly shaped inputs or codes out of range.
    """
    if strokes.dim() != 3 or not strokes.is_floating_point():
        raise QueryError(f"render: strokes must be float (n, h, w), got {strokes.dtype} {tuple(strokes.shape)}")
    n = len(strokes)
    colour = _codes(colour, "colour", n, "render")
    thickness = _codes(thickness, "thickness", n, "render")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise QueryError(f"render: size must be an int >= 1, got {size!r}")
    factor = -(-16 // size)  # below 16 pixels, draw at a multiple of the size and average down
    work = size * factor
    x = strokes.float().unsqueeze(1)
    x = x / x.amax(dim=(2, 3), keepdim=True).clamp_min(1e-6)
    if n:
        x = F.interpolate(x, size=(work, work), mode="bilinear", align_corners=False).clamp(0, 1)
    else:
        x = x.new_zeros(0, 1, work, work)
    k = _morphology_kernel(work)
    out = x.clone()
    thin, thick = thickness == 0, thickness == 2
    if thin.any():
        out[thin] = _filter(x[thin], k, torch.minimum, 1.0)  # erosion
    if thick.any():
        out[thick] = _filter(x[thick], k, torch.maximum, 0.0)  # dilation
    if factor > 1:
        out = F.avg_pool2d(out, factor)
    grey = (out * 255).round().to(torch.uint8)
    rgb = torch.tensor(COLOUR_RGB, dtype=torch.uint8, device=out.device)[colour]  # weights 0 or 1
    return grey.expand(n, 3, size, size) * rgb[:, :, None, None]


def _filter(x: Tensor, k: int, op: Callable[[Tensor, Tensor], Tensor], pad: float) -> Tensor:
    """A ``k x k`` min or max filter (separable: rows, then columns); outside the image counts as ``pad``."""
    r = k // 2
    height, width = x.shape[-2:]
    padded = F.pad(x, (r, r, 0, 0), value=pad)
    rows = padded[..., 0:width]
    for i in range(1, k):
        rows = op(rows, padded[..., i : i + width])
    padded = F.pad(rows, (0, 0, r, r), value=pad)
    out = padded[..., 0:height, :]
    for i in range(1, k):
        out = op(out, padded[..., i : i + height, :])
    return out


def _stylise(images: Tensor, style: str) -> Tensor:
    if style == "x":
        return torch.rot90(images, k=1, dims=(2, 3))
    if style == "y":
        return torch.flip(images, dims=(3,))
    return images


# ---------------------------------------------------------------------- strokes
def read_idx(path: str | os.PathLike[str]) -> Tensor:
    """An IDX file of unsigned bytes (MNIST's format) as a uint8 tensor; ``.gz`` files are unzipped.

    The header is the magic number (big-endian: two zero bytes, the type code ``0x08`` for unsigned
    bytes, the number of dimensions; 2051 for MNIST's images, 2049 for its labels), then one
    big-endian int32 per dimension, then the data.

    Raises:
        DataError: an unreadable file, a bad magic number or a size that does not match the header.
    """
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DataError(f"strokes: cannot read IDX file {path} ({err}); give MNIST's IDX files") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] < 1:
        magic = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
        raise DataError(
            f"strokes: {path} is not an IDX file of unsigned bytes (magic number {magic}, expected 2051 for "
            "images or 2049 for labels)"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"strokes: {path} is truncated in its IDX header; give an intact MNIST file")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != count:
        raise DataError(
            f"strokes: {path} holds {len(raw) - header} bytes of data but its header says {shape} ({count}); "
            "give an intact MNIST file"
        )
    data = np.frombuffer(raw, dtype=np.uint8, count=count, offset=header).reshape(shape)
    return torch.from_numpy(data.copy())


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def load_strokes(strokes: StrokeSource = "sklearn") -> tuple[Tensor, Tensor]:
    """The stroke bank: uint8 grey images ``(m, h, w)`` (0..255) and their digits ``(m,)`` int64.

    Args:
        strokes: ``"sklearn"`` (``sklearn.datasets.load_digits()``: 1,797 8x8 digits, values 0..16
            scaled to 0..255), a folder holding :data:`MNIST_FILES` (optionally ``.gz``), or a pair
            ``(images, labels)`` (images uint8 0..255 or float 0..1).

    Raises:
        DataError: scikit-learn missing for ``"sklearn"``, a missing folder or file, an unreadable
            or inconsistent file, labels outside 0..9, or a digit without any stroke.
    """
    if isinstance(strokes, tuple):
        images, labels = _pair(strokes)
        where = "the given strokes"
    elif isinstance(strokes, str) and strokes == "sklearn":
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise DataError(
                "strokes='sklearn' needs scikit-learn (pip install scikit-learn); or give strokes a folder "
                f"holding {' and '.join(MNIST_FILES)}"
            ) from None
        digits = load_digits()
        images = torch.from_numpy((np.asarray(digits.images) * (255.0 / 16.0)).round().astype(np.uint8))
        labels = torch.from_numpy(np.asarray(digits.target, dtype=np.int64))
        where = "scikit-learn's digits"
    elif isinstance(strokes, str | os.PathLike):
        folder = Path(strokes)
        found = [_find(folder, name) for name in MNIST_FILES]
        if not folder.is_dir() or None in found:
            raise DataError(
                f"strokes: {folder} is not a folder holding {' and '.join(MNIST_FILES)} (optionally .gz); "
                "give a local MNIST folder or strokes='sklearn'"
            )
        assert found[0] is not None and found[1] is not None
        images, labels = read_idx(found[0]), read_idx(found[1]).long()
        for file, tensor, ndim in ((found[0], images, 3), (found[1], labels, 1)):
            if tensor.dim() != ndim:
                raise DataError(
                    f"strokes: {file} has {tensor.dim()} dimensions, expected {ndim} "
                    f"(IDX magic {_IDX_MAGIC[ndim]}); check the file names"
                )
        if len(images) != len(labels):
            raise DataError(f"strokes: {found[0]} holds {len(images)} images but {found[1]} {len(labels)} labels")
        where = str(folder)
    else:
        raise DataError(
            f"strokes must be 'sklearn', a folder holding {' and '.join(MNIST_FILES)}, or (images, labels); "
            f"got {type(strokes).__name__}"
        )
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) > 9):
        raise DataError(f"strokes: {where} have labels outside 0..9; give digit labels")
    missing = [d for d in range(10) if not bool((labels == d).any())]
    if missing:
        raise DataError(f"strokes: {where} have no stroke of digit {listing(missing)}; every digit needs one")
    return images, labels


def _pair(strokes: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    if len(strokes) != 2 or not all(isinstance(t, Tensor) for t in strokes):
        raise DataError("strokes: give a pair (images (m, h, w), labels (m,)) of tensors")
    images, labels = strokes
    if images.dim() != 3 or labels.shape != (len(images),) or labels.is_floating_point():
        raise DataError(
            f"strokes: images must be (m, h, w) and labels int (m,), got {tuple(images.shape)} and "
            f"{labels.dtype} {tuple(labels.shape)}"
        )
    if images.is_floating_point():
        if not bool(torch.isfinite(images).all()) or float(images.min()) < 0 or float(images.max()) > 1:
            raise DataError("strokes: float images must lie in [0, 1]; scale them or give uint8 0..255")
        images = (images * 255).round().to(torch.uint8)
    elif images.dtype != torch.uint8:
        raise DataError(f"strokes: images must be uint8 0..255 or float 0..1, got {images.dtype}")
    return images.cpu(), labels.long().cpu()


# ---------------------------------------------------------------------- checks
def _codes(value: AttributeValue | Tensor, name: str, n: int, where: str) -> Tensor:
    """``value`` as int64 codes ``(n,)``, checked against the attribute's range."""
    classes = ATTRIBUTES[name]
    if isinstance(value, Tensor):
        if value.is_floating_point() or value.dtype == torch.bool or value.shape != (n,):
            raise QueryError(
                f"{where}: {name} must be an int or int codes of shape ({n},), got {value.dtype} {tuple(value.shape)}"
            )
        codes = value.long()
    elif isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise QueryError(f"{where}: {name} must be an int code 0..{classes - 1} or a tensor of them, got {value!r}")
    else:
        codes = torch.full((n,), int(value), dtype=torch.long)
    if n and (int(codes.min()) < 0 or int(codes.max()) >= classes):
        raise QueryError(
            f"{where}: {name} codes must lie in 0..{classes - 1}, got {int(codes.min())}..{int(codes.max())}"
        )
    return codes


def _check_n(n: object, where: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise QueryError(f"{where}: n must be an int >= 0, got {n!r}")
    return int(n)


def _flip_kernel(classes: int, noise: float) -> Tensor:
    """``K[v, w] = P(flip(v) = w)``: ``1 - noise`` on the diagonal, ``noise / (classes - 1)`` elsewhere."""
    kernel = torch.full((classes, classes), noise / (classes - 1), dtype=torch.float64)
    kernel.fill_diagonal_(1.0 - noise)
    return kernel


# ---------------------------------------------------------------------- the SCM
class NapkinDigits:
    """The coloured-digits napkin: images W1, X, Y and a categorical W2, with exact causal answers.

    Args:
        size: the side of the images (even, 8..128).
        noise: the flip rate of every noisy copy (``0 <= noise < 1``).
        strokes: where the digit strokes come from (:data:`StrokeSource`): ``"sklearn"``, a local
            MNIST folder, or ``(images, labels)``.

    Attributes:
        graph: the napkin ``W1 -> W2 -> X -> Y``, ``W1 <-> X``, ``W1 <-> Y``.
        variables: ``W1``, ``X``, ``Y`` uint8 images ``(3, size, size)``, ``W2`` categorical (20).
        equations: the structural equations as text.

    Raises:
        DataError: a size or noise out of range, or a bad stroke source (see :func:`load_strokes`).
    """

    ATTRIBUTES: dict[str, int] = ATTRIBUTES
    COLOURS: tuple[str, ...] = COLOURS
    THICKNESSES: tuple[str, ...] = THICKNESSES

    def __init__(self, size: int = 16, noise: float = 0.1, strokes: StrokeSource = "sklearn") -> None:
        if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= 128 or size % 2:
            raise DataError(f"NapkinDigits: size must be an even int in 8..128, got {size!r}")
        if isinstance(noise, bool) or not isinstance(noise, int | float) or not 0 <= noise < 1:
            raise DataError(f"NapkinDigits: noise must be a number with 0 <= noise < 1, got {noise!r}")
        self.size = size
        self.noise = float(noise)
        bank, labels = load_strokes(strokes)
        order = torch.argsort(labels, stable=True)
        self._bank = bank[order].contiguous()
        counts = torch.bincount(labels, minlength=10)
        self._count = counts
        self._start = torch.cumsum(counts, 0) - counts
        self.graph = CausalGraph(
            directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")], bidirected=[("W1", "X"), ("W1", "Y")]
        )
        self.variables: dict[str, VariableSpec] = {
            v: (
                VariableSpec(v, kind="image", channels=3, height=size, width=size, dtype="uint8")
                if v in _IMAGES
                else VariableSpec(v, kind="categorical", classes=20)
            )
            for v in _NODES
        }
        self.equations: dict[str, str] = {
            "D": "D ~ U{0..9} (digit)",
            "U1": "U1 ~ U{0..5} (colour), a latent parent of W1 and Y",
            "U2": "U2 ~ U{0, 1, 2} (thickness), a latent parent of W1 and X",
            "W1": "W1 = render(stroke of D, colour U1, thickness U2)",
            "W2": "W2 = 2 * flip_10(D) + flip_2(U1 // 3)",
            "X": "X = rot90(render(stroke of W2 // 2, colour 3 * (W2 % 2) + U{0, 1, 2}, thickness flip_3(U2)))",
            "Y": "Y = mirror(render(stroke of X's digit, colour flip_6(U1), X's thickness))",
        }

    def __repr__(self) -> str:
        return f"NapkinDigits(size={self.size}, noise={self.noise}, strokes={len(self._bank)})"

    # ------------------------------------------------------------------ randomness helpers
    def _flip(self, v: Tensor, classes: int, g: torch.Generator) -> Tensor:
        """Keep ``v`` with probability ``1 - noise``, else a uniform draw among the other ``classes - 1`` values."""
        flip = torch.rand(len(v), generator=g) < self.noise
        shift = torch.randint(1, classes, (len(v),), generator=g)
        return torch.where(flip, (v + shift) % classes, v)

    def _strokes(self, digit: Tensor, g: torch.Generator) -> Tensor:
        """A random stroke of each digit, float ``(n, h, w)`` in [0, 1]."""
        u = torch.rand(len(digit), generator=g, dtype=torch.float64)
        count = self._count[digit]
        index = self._start[digit] + (u * count).long().clamp_max(count - 1)
        return self._bank[index].float() / 255.0

    def _render(self, style: str, digit: Tensor, colour: Tensor, thickness: Tensor, g: torch.Generator) -> Tensor:
        return _stylise(render(self._strokes(digit, g), colour, thickness, self.size), style)

    def _styled(
        self,
        style: str,
        digit: AttributeValue,
        colour: AttributeValue,
        thickness: AttributeValue,
        n: int,
        rng: RngLike,
        where: str,
    ) -> Tensor:
        n = _check_n(n, where)
        d = _codes(digit, "digit", n, where)
        c = _codes(colour, "colour", n, where)
        t = _codes(thickness, "thickness", n, where)
        return self._render(style, d, c, t, torch_rng(rng, what=f"{where}: rng"))

    # ------------------------------------------------------------------ observational sampling
    def sample_attributes(self, n: int, rng: RngLike) -> dict[str, Tensor]:
        """The codes of ``n`` observational rows, without the images (the first draws of :meth:`sample`).

        Returns:
            ``{"W2", "W1_digit", "W1_colour", "W1_thickness", "X_digit", "X_colour", "X_thickness",
            "Y_digit", "Y_colour", "Y_thickness"}``, int64 ``(n,)``. :meth:`sample` with an RNG
            in the same state returns the same codes.
        """
        n = _check_n(n, "sample")
        g = torch_rng(rng, what="sample: rng")
        d = torch.randint(10, (n,), generator=g)
        u1 = torch.randint(6, (n,), generator=g)
        u2 = torch.randint(3, (n,), generator=g)
        w2a = self._flip(d, 10, g)
        w2b = self._flip(torch.div(u1, 3, rounding_mode="floor"), 2, g)
        x_colour = 3 * w2b + torch.randint(3, (n,), generator=g)
        x_thickness = self._flip(u2, 3, g)
        y_colour = self._flip(u1, 6, g)
        return {
            "W2": 2 * w2a + w2b,
            "W1_digit": d,
            "W1_colour": u1,
            "W1_thickness": u2,
            "X_digit": w2a,
            "X_colour": x_colour,
            "X_thickness": x_thickness,
            "Y_digit": w2a.clone(),
            "Y_colour": y_colour,
            "Y_thickness": x_thickness.clone(),
        }

    def sample(self, n: int, rng: RngLike) -> dict[str, Tensor]:
        """``n`` observational rows: the variables and every image's attribute codes.

        All codes are drawn first (:meth:`sample_attributes`), then the strokes of W1, X and Y.

        Args:
            n: number of rows.
            rng: a ``torch.Generator`` (drawn from, so successive calls differ) or an int seed.

        Returns:
            ``{"W1", "W2", "X", "Y"}`` (images uint8 ``(n, 3, size, size)``, W2 int64 ``(n,)``) and the
            attribute codes ``"<V>_digit"``, ``"<V>_colour"``, ``"<V>_thickness"`` of V in W1, X, Y.
        """
        g = torch_rng(rng, what="sample: rng")
        codes = self.sample_attributes(n, g)
        images = {
            v: self._render(style, codes[f"{v}_digit"], codes[f"{v}_colour"], codes[f"{v}_thickness"], g)
            for v, style in zip(_IMAGES, STYLES, strict=True)
        }
        return {"W1": images["W1"], "W2": codes["W2"], "X": images["X"], "Y": images["Y"]} | {
            k: v for k, v in codes.items() if k != "W2"
        }

    # ------------------------------------------------------------------ rendering by attributes
    def render_w1(
        self, digit: AttributeValue, colour: AttributeValue, thickness: AttributeValue, n: int, rng: RngLike
    ) -> Tensor:
        """``n`` images drawn as W1 is (upright), with the given attributes; uint8 ``(n, 3, size, size)``."""
        return self._styled("w1", digit, colour, thickness, n, rng, "render_w1")

    def render_x(
        self, digit: AttributeValue, colour: AttributeValue, thickness: AttributeValue, n: int, rng: RngLike
    ) -> Tensor:
        """``n`` images drawn as X is (rotated 90 degrees), the values to set in ``do(X = x)``.

        Args:
            digit, colour, thickness: attribute codes, each an int or int64 ``(n,)``.
            n: number of images.
            rng: a ``torch.Generator`` or an int seed (for the strokes).

        Returns:
            uint8 ``(n, 3, size, size)``.

        Raises:
            QueryError: a code out of range or a badly shaped tensor.
        """
        return self._styled("x", digit, colour, thickness, n, rng, "render_x")

    def render_y(
        self, digit: AttributeValue, colour: AttributeValue, thickness: AttributeValue, n: int, rng: RngLike
    ) -> Tensor:
        """``n`` images drawn as Y is (reflected left-right), with the given attributes; uint8 ``(n, 3, S, S)``."""
        return self._styled("y", digit, colour, thickness, n, rng, "render_y")

    def render_attributes(self, n: int, rng: RngLike, style: str = "y") -> tuple[Tensor, dict[str, Tensor]]:
        """``n`` images with uniformly drawn attributes, to train attribute classifiers on.

        Args:
            n: number of images.
            rng: a ``torch.Generator`` or an int seed.
            style: ``"w1"`` (upright), ``"x"`` (rotated) or ``"y"`` (reflected).

        Returns:
            The uint8 images ``(n, 3, size, size)`` and their codes ``{"digit", "colour", "thickness"}``.

        Raises:
            QueryError: an unknown style.
        """
        if style not in STYLES:
            raise QueryError(f"render_attributes: style {style!r} is unknown; use one of {listing(STYLES)}")
        n = _check_n(n, "render_attributes")
        g = torch_rng(rng, what="render_attributes: rng")
        codes = {name: torch.randint(classes, (n,), generator=g) for name, classes in ATTRIBUTES.items()}
        return self._render(style, codes["digit"], codes["colour"], codes["thickness"], g), codes

    # ------------------------------------------------------------------ exact truth
    def interventional(
        self,
        n: int,
        digit: AttributeValue,
        colour: AttributeValue,
        thickness: AttributeValue,
        rng: RngLike,
    ) -> dict[str, Tensor]:
        """``n`` exact samples of Y under ``do(X = x)`` for an image x with the given attributes.

        Y's digit and thickness are x's; its colour is ``flip_6(U1)`` with ``U1`` uniform. X's
        colour does not reach Y (it is checked, not used).

        Returns:
            ``{"Y": uint8 (n, 3, size, size), "Y_digit", "Y_colour", "Y_thickness": int64 (n,)}``.

        Raises:
            QueryError: a code out of range or a badly shaped tensor.
        """
        n = _check_n(n, "interventional")
        digit_codes = _codes(digit, "digit", n, "interventional")
        _codes(colour, "colour", n, "interventional")
        thickness_codes = _codes(thickness, "thickness", n, "interventional")
        g = torch_rng(rng, what="interventional: rng")
        y_colour = self._flip(torch.randint(6, (n,), generator=g), 6, g)
        image = self._render("y", digit_codes, y_colour, thickness_codes, g)
        return {"Y": image, "Y_digit": digit_codes, "Y_colour": y_colour, "Y_thickness": thickness_codes.clone()}

    def joint_attributes(self) -> Tensor:
        """The exact observational P(X's digit, colour, thickness, Y's digit, colour, thickness), float64.

        Enumerates every latent and noise value (D, U1, U2, W2a, W2b, V, X's thickness, Y's colour)
        with its probability; shape ``(10, 6, 3, 10, 6, 3)``.
        """
        eps = self.noise
        p_d, p_u1, p_u2, p_v = (torch.full((k,), 1.0 / k, dtype=torch.float64) for k in (10, 6, 3, 3))
        k10, k6, k3 = _flip_kernel(10, eps), _flip_kernel(6, eps), _flip_kernel(3, eps)
        k2 = _flip_kernel(2, eps)[torch.arange(6) // 3]  # P(W2b = b | U1 = u)
        # (W2a, W2b, V, X thickness, Y colour): X's colour is 3 * W2b + V
        joint = torch.einsum("d,da,u,ub,v,s,st,uk->abvtk", p_d, k10, p_u1, k2, p_v, p_u2, k3, k6)
        joint = joint.reshape(10, 6, 3, 6)  # X digit, X colour, X thickness, Y colour
        eye10, eye3 = torch.eye(10, dtype=torch.float64), torch.eye(3, dtype=torch.float64)
        return torch.einsum("actk,ay,tz->actykz", joint, eye10, eye3)  # Y digit = X's, Y thickness = X's

    def conditional_attributes(self, digit: int, colour: int, thickness: int) -> dict[str, Tensor]:
        """The exact observational P(Y's attributes | X's attributes = (digit, colour, thickness)).

        By exact enumeration (:meth:`joint_attributes`). Given X's attributes, Y's digit and
        thickness are X's and its colour leans towards X's colour group (through U1).

        Returns:
            ``{"digit": (10,), "colour": (6,), "thickness": (3,)}``, float64 probability vectors
            (Y's attributes are independent given X's).

        Raises:
            QueryError: a code that is not an int in range.
        """
        d, c, t = (
            _scalar(v, name, "conditional_attributes")
            for v, name in ((digit, "digit"), (colour, "colour"), (thickness, "thickness"))
        )
        table = self.joint_attributes()[d, c, t]  # (Y digit, Y colour, Y thickness)
        table = table / table.sum()
        return {"digit": table.sum((1, 2)), "colour": table.sum((0, 2)), "thickness": table.sum((0, 1))}

    def true_attributes(self, digit: int, thickness: int) -> dict[str, Tensor]:
        """The exact P(Y's attributes | do(X = x)) for an image x of this digit and thickness.

        Y's digit and thickness are x's; Y's colour is ``flip_6(U1)`` summed over the uniform ``U1``
        (uniform). X's colour does not matter.

        Returns:
            ``{"digit": (10,), "colour": (6,), "thickness": (3,)}``, float64 probability vectors.

        Raises:
            QueryError: a code that is not an int in range.
        """
        d = _scalar(digit, "digit", "true_attributes")
        t = _scalar(thickness, "thickness", "true_attributes")
        p_u1 = torch.full((6,), 1.0 / 6, dtype=torch.float64)
        return {
            "digit": torch.eye(10, dtype=torch.float64)[d],
            "colour": p_u1 @ _flip_kernel(6, self.noise),
            "thickness": torch.eye(3, dtype=torch.float64)[t],
        }


def _scalar(value: object, name: str, where: str) -> int:
    classes = ATTRIBUTES[name]
    if isinstance(value, Tensor) and value.numel() == 1 and not value.is_floating_point():
        value = int(value.item())
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value < classes:
        raise QueryError(f"{where}: {name} must be an int code in 0..{classes - 1}, got {value!r}")
    return int(value)


def attribute_names(variable: str) -> tuple[str, ...]:
    """The keys of ``variable``'s attribute codes in :meth:`NapkinDigits.sample`, e.g. ``("X_digit", ...)``."""
    return tuple(f"{variable}_{name}" for name in ATTRIBUTES)
