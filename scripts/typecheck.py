"""Type-check the project as it installs: ``launch/``, ``datamodules/`` and ``callbacks/`` inside ``lightning_causal``.

The three top-level folders install as ``lightning_causal.launch`` (and so on), a mapping mypy cannot
follow from the source tree, so a plain ``mypy`` run would not see their modules. This script lays
the installed package out as symbolic links in a temporary folder and runs mypy on it with the
project's configuration, strictly: an import of a project module that does not exist is an error.
Paths in the report are the repository's.

    python scripts/typecheck.py        # exit status 0 when clean
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAPPED = ("launch", "datamodules", "callbacks")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="typecheck-") as scratch:
        package = Path(scratch) / "lightning_causal"
        package.mkdir()
        for entry in (ROOT / "lightning_causal").iterdir():
            if entry.name != "__pycache__":
                os.symlink(entry, package / entry.name)
        for folder in MAPPED:
            os.symlink(ROOT / folder, package / folder)
        command = [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            "-p",
            "lightning_causal",
        ]
        result = subprocess.run(command, cwd=scratch, capture_output=True, text=True)
    report = result.stdout + result.stderr
    for folder in MAPPED:  # lightning_causal/launch/x.py -> launch/x.py
        report = report.replace(f"lightning_causal/{folder}/", f"{folder}/")
    print(report, end="")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
