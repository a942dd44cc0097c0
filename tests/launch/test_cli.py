"""The ``lightning-causal`` entry point, called in-process: version, help, unknown commands, --debug, identify.

Checks ``lightning_causal.launch.cli.main`` (what the console script runs) and ``build_parser``: the
exit statuses it returns, that a user error is one ``error:`` line on stderr, and that ``--debug`` or
``LIGHTNING_CAUSAL_DEBUG`` lets the exception through for its traceback.
"""

from __future__ import annotations

from importlib.metadata import version as installed_version

import pytest

from lightning_causal.errors import ConfigError, GraphError
from lightning_causal.launch.cli import build_parser, main

MISSING_GRAPH = ["identify", "--graph", "missing.yaml", "-x", "X", "-y", "Y"]


@pytest.fixture(autouse=True)
def no_debug_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIGHTNING_CAUSAL_DEBUG", raising=False)


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    version = installed_version("lightning-causal")  # the installed distribution's metadata
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"lightning-causal {version}"


def test_no_command_prints_the_help_and_returns_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out = capsys.readouterr().out
    assert out.startswith("usage: lightning-causal")
    for command in ("fit", "validate", "test", "sample", "counterfactual", "identify", "demo"):
        assert command in out, command
    assert "--debug" in out and "LIGHTNING_CAUSAL_DEBUG" in out


def test_an_unknown_command_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    line = _error_line(capsys)
    assert "'frobnicate'" in line and "lightning-causal --help" in line


def test_the_parser_refuses_with_a_one_line_config_error() -> None:
    with pytest.raises(ConfigError, match="lightning-causal identify: the following arguments are required") as err:
        build_parser().parse_args(["identify", "-x", "X"])
    assert "\n" not in str(err.value)


def test_a_user_error_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(MISSING_GRAPH) == 2
    assert _error_line(capsys) == "error: graph file 'missing.yaml' does not exist"


def test_debug_lets_the_exception_through_for_its_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(GraphError, match=r"missing\.yaml"):
        main([*MISSING_GRAPH, "--debug"])
    assert "error:" not in capsys.readouterr().err
    with pytest.raises(GraphError, match=r"missing\.yaml"):
        main(["--debug", *MISSING_GRAPH])  # anywhere on the line


@pytest.mark.parametrize("value", ["1", "yes", "true"])
def test_the_debug_environment_variable_lets_the_exception_through(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIGHTNING_CAUSAL_DEBUG", value)
    with pytest.raises(GraphError, match=r"missing\.yaml"):
        main(MISSING_GRAPH)


@pytest.mark.parametrize("value", ["0", "false", "no", ""])
def test_a_debug_variable_saying_no_keeps_the_one_line(
    value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LIGHTNING_CAUSAL_DEBUG", value)
    assert main(MISSING_GRAPH) == 2
    _error_line(capsys)


def test_identify_returns_0_for_an_identifiable_query(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["identify", "--graph", "frontdoor", "-x", "X", "-y", "Y"]) == 0
    out = capsys.readouterr().out
    assert "Query:   P(Y | do(X))" in out and "Verdict: identifiable" in out


def test_identify_returns_1_for_a_query_that_is_not_identifiable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["identify", "--graph", "bow", "-x", "X", "-y", "Y"]) == 1  # X -> Y with X <-> Y
    captured = capsys.readouterr()
    assert "Verdict: NOT identifiable" in captured.out and "Hedge F " in captured.out
    assert captured.err == ""  # a verdict, not an error
