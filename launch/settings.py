"""Training settings checked before anything is built or written.

LightningCLI instantiates the data module, the model and the Trainer from the parsed config; a bad
setting (a negative ``max_steps``, ``batch_size: 0``, a negative learning rate) would otherwise
fail deep inside Lightning or torch, after data were read and folders written. :func:`check_settings`
reads the parsed config first and names the offending key and what it accepts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from lightning_causal.errors import ConfigError

__all__ = ["check_settings"]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# (key path, test, what the key accepts); a key that is absent or None is not checked
_RULES: list[tuple[str, Callable[[Any], bool], str]] = [
    ("trainer.max_steps", lambda v: _is_int(v) and (v == -1 or v >= 1), "a positive number of steps, or -1 for none"),
    ("trainer.max_epochs", lambda v: _is_int(v) and (v == -1 or v >= 1), "a positive number of epochs, or -1"),
    ("trainer.min_steps", lambda v: _is_int(v) and v >= 0, "a number of steps >= 0"),
    (
        "trainer.val_check_interval",
        lambda v: (_is_int(v) and v >= 1) or (_is_number(v) and 0 < v <= 1),
        "a number of steps >= 1, or a share of an epoch in (0, 1]",
    ),
    ("trainer.check_val_every_n_epoch", lambda v: _is_int(v) and v >= 1, "a number of epochs >= 1, or null"),
    ("trainer.accumulate_grad_batches", lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    ("trainer.log_every_n_steps", lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    ("trainer.gradient_clip_val", lambda v: _is_number(v) and v >= 0, "a finite number >= 0"),
    ("trainer.num_nodes", lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    ("data.init_args.batch_size", lambda v: _is_int(v) and v >= 1, "a number of rows >= 1"),
    ("data.init_args.num_workers", lambda v: _is_int(v) and v >= 0, "a number of worker processes >= 0"),
    ("data.init_args.val_fraction", lambda v: _is_number(v) and 0 <= v < 1, "a share in [0, 1)"),
    ("model.init_args.optimizer.init_args.lr", lambda v: _is_number(v) and v > 0, "a finite learning rate > 0"),
    ("model.init_args.optimizer.init_args.weight_decay", lambda v: _is_number(v) and v >= 0, "a finite number >= 0"),
    ("model.init_args.scheduler.init_args.warmup_steps", lambda v: _is_int(v) and v >= 0, "a number of steps >= 0"),
    ("model.init_args.sample_steps", lambda v: _is_int(v) and v >= 1, "a number of DDIM steps >= 1, or null"),
    ("model.init_args.seed", _is_int, "an integer"),
    (
        "ensemble.members",
        lambda v: _is_int(v) and (v == 0 or v >= 2),
        "0 (one model) or a number of bootstrap members >= 2 (20 or more for a 90% interval)",
    ),
    ("ensemble.seed", _is_int, "an integer"),
    ("ensemble.task", lambda v: _is_int(v) and v >= 0, "0 (the model on all rows) or k (bootstrap member k-1)"),
    ("model.init_args.generated_size", lambda v: _is_int(v) and v >= 1, "a number of rows >= 1, or null"),
    (
        "model.init_args.generation_guidance",
        lambda v: _is_number(v) and v >= 0,
        "a guidance weight >= 0 (0: none), or null for mechanisms.image.guidance",
    ),
]


def _get(config: Any, path: str) -> Any:
    node = config
    for key in path.split("."):
        if node is None:
            return None
        node = node.get(key) if isinstance(node, Mapping) or hasattr(node, "get") else None
    return node


def check_settings(config: Any) -> None:
    """Raise :class:`ConfigError` naming the first setting of ``config`` (a parsed LightningCLI config) out of range."""
    for path, ok, accepts in _RULES:
        value = _get(config, path)
        if value is None:
            continue
        if not ok(value):
            raise ConfigError(f"{path} is {value!r}; give {accepts}")
    _check_precision(_get(config, "trainer.precision"), _get(config, "trainer.accelerator"))
    _check_ensemble(_get(config, "ensemble.members"), _get(config, "ensemble.task"))


def _check_ensemble(members: Any, task: Any) -> None:
    """``ensemble.task`` names a part of the ensemble: 0..members, and only with members."""
    if task is None:
        return
    if not members:
        raise ConfigError(f"ensemble.task is {task}, and ensemble.members is not set; give ensemble.members K (>= 2)")
    if task > members:
        raise ConfigError(
            f"ensemble.task is {task}; the ensemble has parts 0..{members} (0: the model on all rows, "
            f"k: bootstrap member k-1)"
        )


def _check_precision(precision: Any, accelerator: Any) -> None:
    """bf16 on a GPU without it (before Ampere) is refused with the fallback; on a CPU it runs (CPU autocast)."""
    if not str(precision or "").startswith("bf16") or str(accelerator or "auto") not in ("auto", "gpu", "cuda"):
        return
    import torch

    if torch.cuda.is_available() and not torch.cuda.is_bf16_supported():
        raise ConfigError(
            f"trainer.precision is {precision!r}, but this GPU ({torch.cuda.get_device_name()}) has no bf16; "
            "give 16-mixed (fp16 with loss scaling) or 32-true"
        )
