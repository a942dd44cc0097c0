"""The process-wide preemption state: the SIGUSR1 flag, the stop, the SLURM job and its requeue."""

from __future__ import annotations

import os
import signal

import pytest

from lightning_causal import preemption
from lightning_causal.preemption import job_key, received, received_anywhere, requeue, stop, watch


def test_the_signal_is_recorded_and_a_stop_marks_it_handled() -> None:
    preemption.clear()
    assert watch() and watch()  # idempotent
    assert signal.getsignal(signal.SIGUSR1) is preemption._record
    assert not received() and not received_anywhere()  # no process group: this process's flag
    os.kill(os.getpid(), signal.SIGUSR1)
    assert received() and received_anywhere()
    halt = stop("at step 3", step=3)
    assert str(halt) == "preempted at step 3" and halt.step == 3 and halt.agreed and not received()


def test_the_job_is_slurms_job_or_array_task(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID"):
        monkeypatch.delenv(key, raising=False)
    assert job_key() is None
    assert requeue() == (None, "not a SLURM job")
    monkeypatch.setenv("SLURM_JOB_ID", "41")
    assert job_key() == "41"
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "40")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "2")
    assert job_key() == "40_2"


def test_a_requeue_that_fails_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("SLURM_JOB_ID", "999999")
    monkeypatch.setenv("SLURM_CONF", "/nonexistent/slurm.conf")  # no cluster: scontrol fails (or is absent)
    job, why = requeue(timeout=30)
    assert job is None and why is not None and why.startswith("scontrol requeue 999999")
