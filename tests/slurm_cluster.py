"""A real SLURM cluster on this machine, for tests (Debian's slurm-wlm 22.05, several slurmd on one host).

``local_slurm(tmp, nodes=2)`` starts munged (when none runs), slurmctld and one slurmd per simulated
node, waits until the nodes are idle, yields the environment to run ``sbatch``/``scontrol`` with,
and stops every daemon it started. The daemons listen on fixed ports, so one cluster runs at a time:
a second ``local_slurm`` (another pytest-xdist worker) waits on a file lock until the first is down.
Needs root and Debian's slurm-wlm and munge packages; callers skip when :func:`slurm_available` says no.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["job_state", "local_slurm", "slurm_available", "wait_for_job"]

LOCK = Path("/tmp/lightning-causal-local-slurm.lock")  # one cluster at a time: its ports are fixed
_BINARIES = ("slurmctld", "slurmd", "sbatch", "scontrol", "sinfo", "munged")


def slurm_available() -> str | None:
    """None when a local cluster can start here, else why not."""
    missing = [b for b in _BINARIES if shutil.which(b) is None and not Path("/usr/sbin", b).exists()]
    if missing:
        return f"no {', '.join(missing)} (apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "the local SLURM cluster needs root"
    return None


def _binary(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _config(tmp: Path, nodes: int) -> str:
    host = socket.gethostname()
    ports = f"17001-{17000 + nodes}" if nodes > 1 else "17001"
    node_line = (
        f"NodeName=n[1-{nodes}] NodeHostname={host} Port={ports} CPUs=2 RealMemory=4000 State=UNKNOWN"
        if nodes > 1
        else f"NodeName={host} CPUs=2 RealMemory=4000 State=UNKNOWN"
    )
    return "\n".join(
        [
            "ClusterName=lctest",
            f"SlurmctldHost={host}",
            "SlurmUser=root",
            "AuthType=auth/munge",
            "AuthInfo=cred_expire=10",
            f"StateSaveLocation={tmp}/state",
            f"SlurmdSpoolDir={tmp}/spool/%n",
            f"SlurmctldPidFile={tmp}/slurmctld.pid",
            f"SlurmdPidFile={tmp}/slurmd-%n.pid",
            f"SlurmctldLogFile={tmp}/log/slurmctld.log",
            f"SlurmdLogFile={tmp}/log/slurmd-%n.log",
            "SlurmctldPort=16817",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "JobRequeue=1",
            "ReturnToService=2",
            "MpiDefault=none",
            "SchedulerParameters=sched_interval=2,bf_interval=2",
            node_line,
            "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
            "",
        ]
    )


def _munge_running() -> bool:
    return subprocess.run(["pgrep", "-x", "munged"], capture_output=True).returncode == 0


@contextmanager
def local_slurm(tmp: Path, nodes: int = 2, timeout: float = 60.0) -> Iterator[dict[str, str]]:
    """Start a cluster of ``nodes`` simulated nodes under ``tmp``; yields the environment for its commands."""
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, after every daemon has stopped
        yield from _cluster(tmp, nodes, timeout)


def _cluster(tmp: Path, nodes: int, timeout: float) -> Iterator[dict[str, str]]:
    for sub in ("state", "spool", "log"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    conf = tmp / "slurm.conf"
    conf.write_text(_config(tmp, nodes))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        if not _munge_running():
            Path("/run/munge").mkdir(parents=True, exist_ok=True)
            shutil.chown("/run/munge", "munge", "munge")
            cmd = ["setpriv", "--reuid", "munge", "--regid", "munge", "--init-groups", _binary("munged"), "-F"]
            procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(0.5)
        procs.append(subprocess.Popen([_binary("slurmctld"), "-D"], env=env, stderr=subprocess.DEVNULL))
        names = [f"n{k}" for k in range(1, nodes + 1)] if nodes > 1 else [None]
        for name in names:
            cmd = [_binary("slurmd"), "-D"] + (["-N", name] if name else [])
            procs.append(subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + timeout
        while True:
            out = subprocess.run(["sinfo", "-h", "-o", "%T %D"], env=env, capture_output=True, text=True).stdout
            if out.split() == ["idle", str(nodes)]:
                break
            if time.monotonic() > deadline:
                logs = "".join(p.read_text()[-2000:] for p in sorted((tmp / "log").glob("*.log")))
                raise RuntimeError(f"the local SLURM cluster did not come up (sinfo: {out!r}); logs:\n{logs}")
            time.sleep(0.5)
        yield env
    finally:
        subprocess.run(["scancel", "--full", "--user", "root"], env=env, capture_output=True)
        _wait_until_no_job(env, 60.0)  # a step still ending would outlive its daemons and meet the next cluster's job
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_until_no_job(env: dict[str, str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["squeue", "-h"], env=env, capture_output=True, text=True)
        if out.returncode != 0 or not out.stdout.strip():
            break
        time.sleep(0.5)
    # a job step's daemon that outlived its job (its tasks were killed) would hold on to the next cluster's job ids
    subprocess.run(["pkill", "-x", "slurmstepd"], capture_output=True)


def job_state(job: str, env: dict[str, str]) -> dict[str, str]:
    """``scontrol show job`` as a dict (JobState, Restarts, ExitCode, ...)."""
    out = subprocess.run(["scontrol", "show", "job", job], env=env, capture_output=True, text=True).stdout
    fields = {}
    for token in out.split():
        key, sep, value = token.partition("=")
        if sep:
            fields[key] = value
    return fields


def wait_for_job(job: str, env: dict[str, str], timeout: float) -> dict[str, str]:
    """Poll until the job ends (or ``timeout`` seconds pass); returns its last ``scontrol`` fields."""
    deadline = time.monotonic() + timeout
    while True:
        state = job_state(job, env)
        if state.get("JobState") in {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"}:
            return state
        if time.monotonic() > deadline:
            return state
        time.sleep(1.0)
