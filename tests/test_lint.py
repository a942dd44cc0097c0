"""ruff and mypy stay clean. Without the tools the checks skip on a laptop, and fail where ``CI`` is set."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "ruff check": (["ruff", "check", "."], "ruff"),
    "ruff format": (["ruff", "format", "--check", "."], "ruff"),
    "mypy": ([sys.executable, str(ROOT / "scripts" / "typecheck.py")], "mypy"),
}


def _installed(tool: str) -> bool:
    return shutil.which(tool) is not None if tool == "ruff" else importlib.util.find_spec(tool) is not None


@pytest.mark.parametrize("name", list(COMMANDS))
def test_tool_is_clean(name: str) -> None:
    command, tool = COMMANDS[name]
    if not _installed(tool):
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is not installed, and CI must run it: install the dev extra (pip install -e '.[dev]')")
        pytest.skip(f"{tool} is not installed")
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
