"""The run folder of a staged ID-GEN training: its manifest, what is trained and generated, resume checks.

::

    idgen.json            the run's manifest: the query, a fingerprint of the settings, what is done
    plan.json             the ID-GEN plan (SamplingPlan.load reads it)
    stage0/checkpoints/   Lightning checkpoints of stage 0 (last.ckpt), final.ckpt when trained
    data/D1/              a generated dataset: shard-000000.tar ..., manifest.json
    stage1/ ...
    free_inputs/          the free-input model's checkpoints (a plan whose fixed inputs hold an image)
    idgen.ckpt            the trained plan

A folder of a run with other settings (graph, data statistics, query, mechanisms, seed, generated
size, generation guidance, and ``sample_steps`` where datasets are generated with them) is refused;
settings only queries read (the image mechanisms' ``eta``, and their ``guidance`` where
``generation_guidance`` is set) are not part of it. The fingerprint is computed with the settings'
release-0.1 names, so run folders made before the rename resume.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning_causal.callbacks.wandb_run import RUN_ID_FILE
from lightning_causal.errors import ConfigError
from lightning_causal.files import atomic_write
from lightning_causal.mechanisms.config import ImageMechanismConfig
from lightning_causal.preemption import PREEMPTED_FILE
from lightning_causal.ranks import global_rank

if TYPE_CHECKING:
    from lightning_causal.models.idgen.module import IDGEN

__all__ = ["COMMAND_FILES", "RUN_FORMAT", "RunFolder", "legacy_fingerprints", "run_fingerprint", "stage_steps"]

RUN_FORMAT = "lightning-causal/idgen-run/1"


def run_fingerprint(model: IDGEN) -> str:
    """A hash of the settings a run folder's contents depend on.

    Settings that only queries read are left out, so that changing them retrains nothing: the image
    mechanisms' ``eta`` always (generated datasets are drawn with 0), their ``guidance`` where
    ``generation_guidance`` is set (else generated datasets are drawn with it).
    """
    return _fingerprint(model, _query_only(model))


def _query_only(model: IDGEN) -> set[str]:
    return {"eta"} if model.hparams.get("generation_guidance") is None else {"eta", "guidance"}


def legacy_fingerprints(model: IDGEN) -> set[str]:
    """The prints a folder made by an earlier release may hold: before ``guidance`` left the fingerprint,
    with this model's guidance or with the default one (folders made then with another guidance resume
    with it alone); before ``sample_steps`` joined it, this model's print without it."""
    default = ImageMechanismConfig.guidance
    return {
        _fingerprint(model, {"eta"}, steps=False),
        _fingerprint(model, {"eta"}, {"guidance": default}, steps=False),
        _fingerprint(model, _query_only(model), steps=False),
    }


def _fingerprint(
    model: IDGEN, query_only: set[str], image_settings: dict[str, Any] | None = None, steps: bool = True
) -> str:
    keys = ("graph", "variables", "treatment", "outcome", "condition", "seed", "generated_size")
    settings: dict[str, Any] = {k: model.hparams.get(k) for k in keys}
    generated = any(d.source is not None for d in model.plan.datasets)
    if steps and generated and model.hparams.get("sample_steps") is not None:
        settings["sample_steps"] = model.hparams["sample_steps"]  # generated datasets are drawn with them
    mechanisms = model.hparams.get("mechanisms")
    if isinstance(mechanisms, dict) and isinstance(mechanisms.get("image"), dict):
        image = {**mechanisms["image"], **(image_settings or {})}
        mechanisms = {**mechanisms, "image": {k: v for k, v in image.items() if k not in query_only}}
    settings["network"] = mechanisms  # its name in release 0.1: older folders keep their prints
    if model.hparams.get("generation_guidance") is not None:  # runs made before this setting keep their prints
        settings["generation_guidance"] = model.hparams["generation_guidance"]
    if model.plan.composed:  # its stages differ from the learned marginals' (runs whose plans do not, keep prints)
        settings["marginals"] = model.plan.marginals
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


COMMAND_FILES = frozenset({"config.yaml", "wandb", RUN_ID_FILE, PREEMPTED_FILE})
"""What a command writes into the run folder beside the run itself (its config, W&B, a preemption note)."""


class RunFolder:
    """The run folder's manifest: what is trained and generated (see the module docstring)."""

    def __init__(self, root: Path, model: IDGEN) -> None:
        self.root = root
        self.path = root / "idgen.json"
        fingerprint = run_fingerprint(model)
        if root.exists() and not root.is_dir():
            raise ConfigError(f"run folder {str(root)!r} is a file; give a folder")
        if self.path.is_file():
            try:
                state = json.loads(self.path.read_text())
            except ValueError:
                raise ConfigError(f"{str(self.path)!r} is damaged; delete the run folder to start again") from None
            if state.get("fingerprint") in legacy_fingerprints(model):  # made before query settings left it
                state["fingerprint"] = fingerprint
            if state.get("fingerprint") != fingerprint:
                raise ConfigError(
                    f"run folder {str(root)!r} holds a run of other settings ({state.get('query')}, fingerprint "
                    f"{state.get('fingerprint')}, this run {fingerprint}); give another folder or delete it"
                )
            self.state = state
        else:
            if root.is_dir() and any(p.name not in COMMAND_FILES for p in root.iterdir()):
                raise ConfigError(
                    f"run folder {str(root)!r} is not empty and holds no ID-GEN run; give an empty or new folder"
                )
            self.state = {
                "format": RUN_FORMAT,
                "query": model.plan.query,
                "fingerprint": fingerprint,
                "stages": {},
                "datasets": {},
                "checkpoint": None,
            }
        self.writer = global_rank() == 0
        if self.writer:
            root.mkdir(parents=True, exist_ok=True)
            model.plan.save(root / "plan.json")
            self.save()

    def save(self) -> None:
        """Write the manifest (rank 0 only), atomically."""
        if self.writer:
            atomic_write(self.path, json.dumps(self.state, indent=2) + "\n")

    def stage_dir(self, stage: int | str) -> Path:
        """The folder of stage ``stage``'s checkpoints (a named step, e.g. ``"free_inputs"``: its name)."""
        return self.root / (stage if isinstance(stage, str) else f"stage{stage}")

    def data_dir(self, name: str) -> Path:
        """The folder of the generated dataset ``name``."""
        return self.root / "data" / name

    def trained(self, stage: int | str) -> Path | None:
        """The final checkpoint of stage ``stage`` (a named step: under its name) when it is trained, else None."""
        entry = self.state.get(stage) if isinstance(stage, str) else self.state["stages"].get(str(stage))
        path = self.root / entry["checkpoint"] if entry else None
        return path if path is not None and path.is_file() else None

    def last_trained(self, steps: int | Sequence[int | str]) -> int | str | None:
        """The last of ``steps`` (stages, then named steps; an int k: stages 0..k-1) that is trained, or None."""
        done = [k for k in (range(steps) if isinstance(steps, int) else steps) if self.trained(k)]
        return done[-1] if done else None

    def mark_trained(self, stage: int | str, checkpoint: Path, steps: int, stopped: str | None = None) -> None:
        """Record that stage ``stage`` is trained, its final checkpoint, the steps it took and why it stopped early."""
        entry: dict[str, Any] = {"checkpoint": str(checkpoint.relative_to(self.root)), "steps": steps}
        if stopped:
            entry["stopped"] = stopped
        if isinstance(stage, str):
            self.state[stage] = entry
        else:
            self.state["stages"][str(stage)] = entry
        self.save()

    def mark_generated(self, name: str, folder: Path) -> None:
        """Record that the dataset ``name`` is generated in ``folder``."""
        self.state["datasets"][name] = str(folder.relative_to(self.root))
        self.save()


def stage_steps(root: Path, step: str | None = None) -> list[int]:
    """The optimizer steps each trained stage of the run folder ``root`` took, in stage order (none: no manifest).

    With ``step`` (e.g. ``"free_inputs"``): the steps of that named step, ``[]`` when it is not trained.
    """
    try:
        state = json.loads((Path(root) / "idgen.json").read_text())
        if step is not None:
            return [int(state[step]["steps"])] if step in state else []
        stages = state["stages"]
        return [int(stages[k]["steps"]) for k in sorted(stages, key=int)]
    except (OSError, ValueError, KeyError, TypeError):
        return []
