"""Variable types: :class:`VariableSpec`, the type of one variable and its codec statistics.

Every record, batch and sample is a dict ``{variable name: tensor}``. In data space a continuous
variable is a float tensor of shape ``(batch, dim)``; a categorical or binary one is an int64
tensor of class codes of shape ``(batch,)``; an image is a ``(batch, channels, height, width)``
tensor, uint8 (0..255) or float (0..1) as its ``dtype`` says. Models work in the encoded space of
each kind's codec (``codecs.py``: standardised vectors, one-hot categories, -1/+1 bits, pixels in
[-1, 1]). This module is pure Python.

A spec is written in configs as ``"continuous"``, ``"binary"``, ``{"type": "categorical",
"classes": 4}``, ``{"type": "continuous", "dim": 3}`` or ``{"type": "image", "channels": 3,
"height": 32, "width": 32}``; :func:`parse_variables` reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from lightning_causal.errors import QueryError

__all__ = ["IMAGE_DTYPES", "KINDS", "MAX_CLASSES", "VariableSpec", "parse_variables", "variables_to_dict"]

MAX_CLASSES = 10_000
"""The most classes a categorical variable may have (its one-hot encoding is that wide)."""

Kind = Literal["continuous", "categorical", "binary", "image"]
KINDS: tuple[str, ...] = ("continuous", "categorical", "binary", "image")
IMAGE_DTYPES: tuple[str, ...] = ("uint8", "float")
"""How an image variable's values are stored: uint8 0..255, or float 0..1."""
MAX_IMAGE_SIDE = 1024


@dataclass(frozen=True)
class VariableSpec:
    """The type of one variable and its codec statistics.

    Args:
        name: the variable (graph node) name.
        kind: ``"continuous"``, ``"categorical"``, ``"binary"`` or ``"image"``.
        dim: dimension of a continuous vector (1 for the discrete kinds; channels x height x width for an image).
        classes: number of classes of a categorical variable (2 for binary).
        mean, std: per-dimension standardisation of a continuous variable (training data).
        low, high: per-dimension range of a continuous variable in the training data; models keep
            their generated values near it (diffusion samplers clip their estimate of x0).
        columns: table columns holding the variable (tabular data); default ``(name,)``, or
            ``name_0 .. name_{dim-1}`` for a vector.
        categories: the labels of the class codes when the data held strings.
        channels, height, width: the shape of an image variable (ignored for the other kinds).
        dtype: how an image is stored, ``"uint8"`` (0..255, the default) or ``"float"`` (0..1).
    """

    name: str
    kind: Kind = "continuous"
    dim: int = 1
    classes: int = 2
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    low: tuple[float, ...] | None = None
    high: tuple[float, ...] | None = None
    columns: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = field(default=None)
    channels: int | None = None
    height: int | None = None
    width: int | None = None
    dtype: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise QueryError(f"variable {self.name!r}: unknown type {self.kind!r}; use one of {', '.join(KINDS)}")
        if self.kind == "image":
            self._check_image()
        elif any(getattr(self, k) is not None for k in ("channels", "height", "width", "dtype")):
            raise QueryError(
                f"variable {self.name!r}: channels, height, width and dtype belong to image variables; "
                f"drop them or declare it type: image"
            )
        if self.kind == "continuous" and self.dim < 1:
            raise QueryError(f"variable {self.name!r}: dim must be at least 1, got {self.dim}")
        if self.kind == "categorical" and self.classes < 2:
            raise QueryError(f"variable {self.name!r}: a categorical variable needs at least 2 classes")
        if self.kind == "categorical" and self.classes > MAX_CLASSES:
            raise QueryError(
                f"variable {self.name!r}: {self.classes:,} classes, more than the limit of {MAX_CLASSES:,}; "
                "recode it with fewer categories, or declare it continuous if it is a count or a measurement"
            )
        if self.kind == "binary" and self.classes != 2:
            object.__setattr__(self, "classes", 2)
        if self.kind in ("categorical", "binary") and self.dim != 1:
            object.__setattr__(self, "dim", 1)
        for stat in ("mean", "std", "low", "high"):
            value = getattr(self, stat)
            if value is not None and len(value) != self.dim:
                raise QueryError(f"variable {self.name!r}: {stat} has {len(value)} entries for dim {self.dim}")
        if (
            self.low is not None
            and self.high is not None
            and any(a > b for a, b in zip(self.low, self.high, strict=True))
        ):
            raise QueryError(f"variable {self.name!r}: low must not exceed high")
        if self.std is not None and any(s <= 0 for s in self.std):
            raise QueryError(f"variable {self.name!r}: std must be positive (a constant column cannot be modelled)")

    def _check_image(self) -> None:
        for key in ("channels", "height", "width"):
            value = getattr(self, key)
            if value is None:
                raise QueryError(
                    f"variable {self.name!r}: an image variable needs {key}, "
                    "e.g. {type: image, channels: 3, height: 32, width: 32}"
                )
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise QueryError(f"variable {self.name!r}: {key} is {value!r}; give a whole number >= 1")
        assert self.channels is not None and self.height is not None and self.width is not None
        if max(self.height, self.width) > MAX_IMAGE_SIDE or self.channels > 64:
            raise QueryError(
                f"variable {self.name!r}: images of {self.channels}x{self.height}x{self.width} are beyond the "
                f"limits (sides up to {MAX_IMAGE_SIDE}, up to 64 channels)"
            )
        if self.dtype is None:
            object.__setattr__(self, "dtype", "uint8")
        if self.dtype not in IMAGE_DTYPES:
            raise QueryError(f"variable {self.name!r}: image dtype {self.dtype!r}; use uint8 (0..255) or float (0..1)")
        object.__setattr__(self, "dim", self.channels * self.height * self.width)
        for stat in ("mean", "std", "low", "high"):
            object.__setattr__(self, stat, None)  # pixels have a fixed codec: no statistics

    @property
    def is_discrete(self) -> bool:
        return self.kind in ("categorical", "binary")

    @property
    def is_image(self) -> bool:
        return self.kind == "image"

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(channels, height, width)`` of an image variable."""
        if self.kind != "image":
            raise QueryError(f"variable {self.name!r} is {self.kind}, not an image")
        assert self.channels is not None and self.height is not None and self.width is not None
        return (self.channels, self.height, self.width)

    @property
    def encoded_dim(self) -> int:
        """Width of the encoded representation (model input)."""
        if self.kind in ("continuous", "image"):
            return self.dim
        if self.kind == "categorical":
            return self.classes
        return 1

    @property
    def source_columns(self) -> tuple[str, ...]:
        if self.columns is not None:
            return self.columns
        if self.kind == "continuous" and self.dim > 1:
            return tuple(f"{self.name}_{k}" for k in range(self.dim))
        return (self.name,)

    def with_statistics(
        self,
        mean: Iterable[float],
        std: Iterable[float],
        low: Iterable[float] | None = None,
        high: Iterable[float] | None = None,
    ) -> VariableSpec:
        """The spec with the training data's per-dimension mean, std (and range)."""
        return replace(
            self,
            mean=tuple(float(m) for m in mean),
            std=tuple(float(s) for s in std),
            low=None if low is None else tuple(float(x) for x in low),
            high=None if high is None else tuple(float(x) for x in high),
        )

    def to_dict(self) -> dict[str, Any]:
        out = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if v is not None}
        if self.kind == "image":  # the shape says it all
            out.pop("dim", None)
            out.pop("classes", None)
        return out

    @classmethod
    def from_config(cls, name: str, config: Any) -> VariableSpec:
        """From ``"continuous"`` / ``"binary"`` / ``"categorical"`` or a dict with ``type`` and options."""
        if isinstance(config, VariableSpec):
            return config if config.name == name else replace(config, name=name)
        if isinstance(config, str):
            if config == "categorical":
                raise QueryError(
                    f"variable {name!r}: a categorical variable needs its classes, "
                    "e.g. {type: categorical, classes: 3}"
                )
            return cls(name=name, kind=config)  # type: ignore[arg-type]
        if not isinstance(config, Mapping):
            raise QueryError(f"variable {name!r}: expected a type name or a mapping, got {config!r}")
        options = dict(config)
        kind = options.pop("type", options.pop("kind", "continuous"))
        options.pop("name", None)
        known = {"dim", "classes", "mean", "std", "low", "high", "columns", "categories"}
        if kind == "image":
            known = {"channels", "height", "width", "dtype", "columns"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise QueryError(
                f"variable {name!r}: unknown option {unknown[0]!r}; options are type, {', '.join(sorted(known))}"
            )
        for key in ("mean", "std", "low", "high", "columns", "categories"):
            if options.get(key) is not None:
                options[key] = tuple(options[key])
        if kind == "categorical" and "classes" not in options:
            if options.get("categories") is None:
                raise QueryError(f"variable {name!r}: a categorical variable needs 'classes' (or 'categories')")
            options["classes"] = len(options["categories"])

        try:
            return cls(name=name, kind=kind, **options)
        except (TypeError, ValueError) as err:
            raise QueryError(f"variable {name!r}: {err}") from None


def parse_variables(config: Mapping[str, Any] | None, nodes: Iterable[str]) -> dict[str, VariableSpec]:
    """Specs for ``nodes``; nodes missing from ``config`` default to one-dimensional continuous."""
    config = dict(config or {})
    nodes = list(nodes)
    unknown = [k for k in config if k not in nodes]
    if unknown:
        raise QueryError(f"variables names {unknown[0]!r}, which is not a node of the graph ({', '.join(nodes)})")
    return {n: VariableSpec.from_config(n, config.get(n, "continuous")) for n in nodes}


def variables_to_dict(variables: Mapping[str, VariableSpec]) -> dict[str, dict[str, Any]]:
    """Plain dicts (for hyperparameters, YAML and checkpoints)."""
    out = {}
    for name, spec in variables.items():
        d = spec.to_dict()
        d.pop("name", None)
        d["type"] = d.pop("kind")
        out[name] = d
    return out
