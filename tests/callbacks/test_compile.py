"""``Compile``: the model's networks compiled in place (backend aot_eager on CPU), training as in eager mode."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import torch

from lightning_causal.callbacks import Compile
from lightning_causal.callbacks.compile import networks
from tests.training_models import Losses, vector_dcm


def test_networks_are_the_outermost_nets() -> None:
    model, _ = vector_dcm()
    found = networks(model)
    assert found and all(type(m).__module__.startswith("lightning_causal.nets") for m in found)
    inner = {id(sub) for m in found for sub in m.modules() if sub is not m}
    assert not any(id(m) in inner for m in found)  # none inside another
    compiled = Compile(backend="eager")
    compiled.setup(L.Trainer(logger=False), model, "fit")
    assert compiled.compiled == [n for n, m in model.named_modules() if any(m is f for f in found)]


def test_compile_with_aot_eager_trains_as_eager_and_keeps_checkpoint_names(
    cpu_trainer: Callable[..., L.Trainer],
) -> None:
    runs = []
    for compile_ in (None, Compile(backend="aot_eager")):
        torch.manual_seed(0)  # dropout draws from the global generator
        model, data = vector_dcm()
        losses = Losses()
        callbacks: list[Any] = [losses] + ([compile_] if compile_ is not None else [])
        cpu_trainer(max_steps=6, callbacks=callbacks, limit_val_batches=0).fit(model, data)
        runs.append((model, losses.losses))
    (eager, eager_losses), (compiled, compiled_losses) = runs
    assert compile_ is not None and compile_.compiled, "no network was compiled"
    assert all(m._compiled_call_impl is not None for m in networks(compiled))
    assert list(eager.state_dict()) == list(compiled.state_dict())  # same names: checkpoints interchange
    torch.testing.assert_close(torch.tensor(compiled_losses), torch.tensor(eager_losses), rtol=1e-4, atol=1e-5)
