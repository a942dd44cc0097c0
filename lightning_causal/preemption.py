"""Preemption: SIGUSR1 asks a run to stop where it can resume exactly, and a SLURM job to requeue.

SLURM sends SIGUSR1 to every task of a job some time before its time limit (``#SBATCH
--signal=SIGUSR1@90``) and when a user or the scheduler asks (``scancel -s USR1 JOB``). This module
is the process-wide part: :func:`watch` installs a handler that only records the signal (a signal
handler that saved a checkpoint itself, as Lightning's own SLURM handler does, would save whatever
half of an optimizer step the process was in); the places that can stop cleanly ask
:func:`received` (or :func:`received_anywhere`, which agrees across ranks) and raise
:class:`Preempted` (made by :func:`stop`, which marks the signal handled):

* a Trainer, at the end of an optimizer step, on every rank at the same step
  (:class:`lightning_causal.callbacks.Preemption`, which writes ``last.ckpt`` first);
* ID-GEN, between stages and between two shards of a generated dataset.

``lightning-causal fit`` then requeues the job (:func:`requeue`, ``scontrol requeue``, as
Lightning's SLURM auto-requeue does) and the requeued job resumes from that checkpoint.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path
from types import FrameType

__all__ = [
    "PREEMPTED_FILE",
    "PREEMPTION_SIGNAL",
    "Preempted",
    "clear",
    "job_key",
    "received",
    "received_anywhere",
    "requeue",
    "stop",
    "watch",
]

PREEMPTED_FILE = "preempted.json"
"""In the run folder after a preempted ``fit``: the job, the checkpoint and its step, for the requeued job."""

PREEMPTION_SIGNAL = signal.SIGUSR1
"""The signal that asks for a stop at the next clean point (SLURM's ``--signal=SIGUSR1@<seconds>``)."""

_received = threading.Event()


def _record(signum: int, frame: FrameType | None) -> None:
    _received.set()


def watch() -> bool:
    """Record :data:`PREEMPTION_SIGNAL` from now on (in the main thread; idempotent). True when installed.

    Installed before any Trainer runs, it also keeps Lightning's own SLURM handler (which saves a
    checkpoint from inside the signal handler) from being installed: Lightning adds its handler
    only where none is set.
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(PREEMPTION_SIGNAL) is not _record:
        signal.signal(PREEMPTION_SIGNAL, _record)
    return True


def received() -> bool:
    """Whether this process has received the preemption signal."""
    return _received.is_set()


def clear() -> None:
    """Forget a received signal (a new run in the same process starts unpreempted)."""
    _received.clear()


def received_anywhere() -> bool:
    """Whether any rank has received the signal: agreed by all ranks where a process group runs.

    A collective: every rank of the group must call it at the same point (a step boundary, a stage
    boundary). Without a process group it is :func:`received`.
    """
    try:
        import torch
        import torch.distributed as dist
    except ImportError:  # pragma: no cover - torch is a dependency
        return received()
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return received()
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
    flag = torch.tensor([1 if received() else 0], dtype=torch.int32, device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    if flag.item() and not received():
        _received.set()  # another rank's signal: this rank stops too
    return bool(flag.item())


def job_key() -> str | None:
    """The SLURM job this process runs in (``JOB`` or ``ARRAYJOB_TASK``), None outside SLURM."""
    array_job, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    if array_job and task:
        return f"{array_job}_{task}"
    return os.environ.get("SLURM_JOB_ID") or None


class Preempted(Exception):  # noqa: N818 - a clean stop, not an error
    """A run stopped at a clean point after the preemption signal.

    Args:
        where: where it stopped, for the message ("at step 120", "between stages 0 and 1").
        checkpoint: the checkpoint that holds the stopped state (None: the run folder resumes by itself).
        step: the optimizer step of that checkpoint.
        agreed: whether all ranks agreed on the stop (False: this rank stopped on its own signal).
    """

    def __init__(self, where: str, checkpoint: Path | None = None, step: int | None = None, agreed: bool = True):
        super().__init__(f"preempted {where}")
        self.where = where
        self.checkpoint = checkpoint
        self.step = step
        self.agreed = agreed
        self.requeued: str | None = None  # the job requeued, once it is
        self.report: str | None = None  # the line a command prints ("" once printed)

    def __str__(self) -> str:
        return f"preempted {self.where}"


def stop(where: str, checkpoint: Path | None = None, step: int | None = None, agreed: bool = True) -> Preempted:
    """The :class:`Preempted` to raise at a clean stop; the signal counts as handled (a later run starts afresh)."""
    clear()
    return Preempted(where, checkpoint, step, agreed)


def requeue(timeout: float = 60.0) -> tuple[str | None, str | None]:
    """``scontrol requeue`` this SLURM job; returns ``(job, None)`` once requeued, ``(None, why)`` otherwise."""
    job = job_key()
    if job is None:
        return None, "not a SLURM job"
    try:
        result = subprocess.run(["scontrol", "requeue", job], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as err:
        return None, f"scontrol requeue {job}: {err}"
    if result.returncode != 0:
        return None, f"scontrol requeue {job}: {(result.stderr or result.stdout).strip() or result.returncode}"
    return job, None
