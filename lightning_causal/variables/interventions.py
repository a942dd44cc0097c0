"""Interventions as users write them, checked and broadcast the same way for models and true SCMs.

An intervention maps a variable to

* a hard value, do(v = value): a number; a vector of the variable's dimension; a tensor of shape
  ``(1, dim)`` or ``(n, dim)`` (one value per sample; ``(n,)`` for a one-dimensional variable); a
  class code (or ``n`` codes) for a discrete variable; for an image variable one image ``(C, H, W)``
  (or ``(1, C, H, W)``), ``n`` images ``(n, C, H, W)``, as a tensor or NumPy array (uint8 or integer
  pixels 0..255, floats 0..1; converted to the spec's dtype), or the path of an image file
  (:func:`lightning_causal.image_files.load_image_value`);
* a callable ``f``, a shift intervention: the variable takes ``f(value its mechanism produces)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from lightning_causal.errors import QueryError
from lightning_causal.image_files import load_image_value
from lightning_causal.variables.spec import VariableSpec

__all__ = ["apply_shift", "hard_value"]


def hard_value(spec: VariableSpec, value: Any, n: int, device: torch.device | str | None = None) -> Tensor:
    """``value`` as ``n`` rows in data space: float ``(n, dim)``, int64 codes ``(n,)`` or images ``(n, C, H, W)``."""
    name = spec.name
    if spec.is_image:
        return _image_value(spec, value, n, device)
    if spec.kind == "continuous":
        try:
            t = torch.as_tensor(value, dtype=torch.float32, device=device)
        except (TypeError, ValueError, RuntimeError):
            raise QueryError(f"intervention on {name} must be a number, a vector or a tensor, got {value!r}") from None
        if not torch.isfinite(t).all():
            raise QueryError(f"intervention on {name} holds NaN or infinite values; give finite numbers")
        if t.dim() == 1 and spec.dim == 1 and t.shape[0] == n:
            t = t.unsqueeze(1)  # one value per row of a one-dimensional variable
        ok = (
            t.dim() == 0
            or (t.dim() == 1 and t.shape[0] in (1, spec.dim))
            or (t.dim() == 2 and t.shape[0] in (1, n) and t.shape[1] in (1, spec.dim))
        )
        if not ok:
            raise QueryError(
                f"intervention on {name} has shape {tuple(t.shape)}; give a number, a vector of "
                f"{spec.dim} values, or a tensor of shape ({n}, {spec.dim})"
            )
        return t.expand(n, spec.dim).clone()
    try:
        t = torch.as_tensor(value, device=device)
    except (TypeError, ValueError, RuntimeError):
        raise QueryError(f"intervention on {name} must be a class code 0..{spec.classes - 1}, got {value!r}") from None
    if t.is_floating_point() and not (torch.isfinite(t).all() and torch.equal(t, t.round())):
        raise QueryError(f"intervention on {name} must be a class code 0..{spec.classes - 1}, got {value!r}")
    t = t.long()
    if t.dim() == 0:
        t = t.expand(n)
    if t.shape != (n,):
        raise QueryError(f"intervention on {name} has shape {tuple(t.shape)}; give one class code or {n} of them")
    if (t < 0).any() or (t >= spec.classes).any():
        raise QueryError(f"intervention on {name} is out of range: {name} takes codes 0..{spec.classes - 1}")
    return t.clone()


def _image_value(spec: VariableSpec, value: Any, n: int, device: torch.device | str | None) -> Tensor:
    """``n`` images ``(n, C, H, W)`` in the spec's dtype from one image, ``n`` images or an image file."""
    t = load_image_value(value, spec)
    if t.dim() == 3:
        t = t.unsqueeze(0)
    if len(t) not in (1, n):
        c, h, w = spec.image_shape
        raise QueryError(
            f"intervention on {spec.name} gives {len(t)} images for {n} samples; give one image of shape "
            f"({c}, {h}, {w}) or {n} of them, shape ({n}, {c}, {h}, {w})"
        )
    return t.to(device).expand(n, *t.shape[1:]).clone()


def apply_shift(name: str, f: Callable[[Tensor], Tensor], value: Tensor) -> Tensor:
    """``f(value)`` for a shift intervention, checked to keep the value's shape."""
    out = f(value)
    if not isinstance(out, Tensor) or out.shape != value.shape:
        shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise QueryError(
            f"the shift intervention on {name} must return a tensor of shape {tuple(value.shape)}, got {shape}"
        )
    return out
