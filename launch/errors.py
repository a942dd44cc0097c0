"""The command line's error policy: a user error is one line on stderr and exit status 2.

Errors of the project's own types (:class:`~lightning_causal.errors.LightningCausalError`) are user
errors wherever they are raised, also when LightningCLI or jsonargparse wrapped them while building
the data module or the model: :func:`user_error` finds them in the chain of causes. The parsers'
own complaints (an unknown key, a wrong type, a missing config file) become their one real line
instead of a usage dump. Anything else is a bug and stays a traceback. ``--debug`` (or
``LIGHTNING_CAUSAL_DEBUG=1``) shows the traceback of user errors too, for bug reports.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import NoReturn

from lightning_causal.errors import ConfigError, LightningCausalError

__all__ = ["DEBUG_ENV", "CommandParser", "debug_requested", "user_error"]

DEBUG_ENV = "LIGHTNING_CAUSAL_DEBUG"


def debug_requested(argv: list[str]) -> bool:
    """Whether ``--debug`` is among ``argv`` (it is removed) or ``LIGHTNING_CAUSAL_DEBUG`` is set."""
    flag = "--debug" in argv
    while "--debug" in argv:
        argv.remove("--debug")
    return flag or os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


class CommandParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one :class:`ConfigError` line, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{self.prog}: {message}; see {self.prog} --help")


def _parser_message(err: BaseException) -> str:
    """The one line that matters in a jsonargparse error message."""
    lines = [line.strip(" -") for line in str(err).splitlines() if line.strip(" -")]
    if not lines:
        return type(err).__name__
    skip = ("does not validate against any of the union subtypes", "subtypes:", "errors:", "given value type")
    useful = [line for line in lines if not line.lower().startswith(skip)] or lines
    text = useful[0]
    if text.endswith(":") and len(useful) > 1:  # 'Parser key "seed_everything":' then the reason
        text = f"{text} {useful[1]}"
    # 'Parser key "trainer.max_stepz": ...' -> the key in front, the reason after
    text = re.sub(r'^Parser key "([^"]+)":\s*', r"\1: ", text)
    return text if len(text) <= 400 else text[:397] + "..."


def user_error(err: BaseException) -> LightningCausalError | None:
    """The user error behind ``err`` (itself, a wrapped cause, or a parser complaint), or None for a bug."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [err]
    parser_error: BaseException | None = None
    while stack:
        current = stack.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, LightningCausalError):
            return current
        if type(current).__name__ == "MisconfigurationException":  # Lightning's word for a bad Trainer setting
            return ConfigError(f"the Trainer refused its settings: {_parser_message(current)}")
        parser_made = isinstance(current, argparse.ArgumentError) or type(current).__module__.startswith("jsonargparse")
        if parser_made and parser_error is None:
            parser_error = current
        stack.extend([current.__cause__, current.__context__])
    if parser_error is not None:
        return ConfigError(_parser_message(parser_error))
    return None
