"""The command line's error policy: a user error is one line on stderr and exit status 2.

Errors of the project's own types (:class:`~lightning_causal.errors.LightningCausalError`) are user
errors wherever they are raised, also when LightningCLI or jsonargparse wrapped them while building
the data module or the model: :func:`user_error` finds them in the chain of causes. The parsers'
own complaints (an unknown key, a wrong type, a missing config file) become their one real line
instead of a usage dump; a model or data class that does not exist, or an option it does not take,
gets a line naming the key or the class and what exists instead (:func:`class_problem`), and a key or
class renamed in release 0.2 names its new name. Anything else is a bug and stays a traceback. ``--debug`` (or
``LIGHTNING_CAUSAL_DEBUG=1``) shows the traceback of user errors too, for bug reports.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import inspect
import os
import re
from typing import Any, NoReturn

from lightning_causal.errors import ConfigError, LightningCausalError, listing

__all__ = [
    "DEBUG_ENV",
    "MOVED_CLASSES",
    "RENAMED_OPTIONS",
    "CommandParser",
    "class_problem",
    "debug_requested",
    "user_error",
]

DEBUG_ENV = "LIGHTNING_CAUSAL_DEBUG"

RENAMED_OPTIONS = {"network": "mechanisms"}
"""Model options renamed in release 0.2: old name -> new name."""
MOVED_CLASSES = {
    f"lightning_causal.datamodules.{module}.{cls}": f"lightning_causal.datamodules.{cls}"
    for module, cls in (
        ("scm", "SCMDataModule"),
        ("latent_scm", "LatentSCMDataModule"),
        ("napkin_digits", "NapkinDigitsDataModule"),
        ("tabular", "TabularDataModule"),
    )
}
"""Class paths that moved in release 0.2: old path -> new path."""

_PROBLEM = re.compile(
    r"Problem with given class_path '([^']+)':\s*\n\s*(.+)|Import path (\S+) (does not correspond to a subclass)"
)
_SECTION = re.compile(r'Parser key "([^"]+)"')
_OPTION = re.compile(r"Option '([^']+)' is not accepted|unrecognized arguments: --([^\s=]+)")
_MISSING = re.compile(r"has no attribute|No module named|not found|does not exist|Unable to import|subclass")


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


def _known_classes(section: str) -> list[str]:
    """The class paths a config section can name: the model families, or the data modules."""
    if section == "model":
        from lightning_causal.models.families import families

        return [f"lightning_causal.models.{cls.__name__}" for cls in families().values()]
    if section == "data":
        import lightning_causal.datamodules as datamodules

        return [f"lightning_causal.datamodules.{name}" for name in datamodules.__all__]
    return []


def _options(class_path: str) -> tuple[list[str], Any]:
    """The ``__init__`` options of a class, and the class (empty and None when it cannot be imported)."""
    module, _, name = class_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
        parameters = inspect.signature(cls.__init__).parameters.values()
    except (ImportError, AttributeError, ValueError, TypeError):
        return [], None
    kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [p.name for p in parameters if p.name != "self" and p.kind not in kinds], cls


def _nested_suggestion(option: str, cls: Any) -> str | None:
    """``mechanisms.<field>`` when a model takes a mechanisms config with a field like ``option``."""
    try:
        from lightning_causal.mechanisms import MechanismConfig
    except ImportError:  # pragma: no cover - the package always has it
        return None
    if "mechanisms" not in inspect.signature(cls.__init__).parameters:
        return None
    fields = list(MechanismConfig.__dataclass_fields__)
    close = difflib.get_close_matches(option, fields, n=1)
    return f"mechanisms.{close[0]}" if close else None


def class_problem(text: str) -> ConfigError | None:
    """The line for jsonargparse's "Problem with given class_path" (a class that does not exist, or an option
    it does not take), naming the key or the class and what exists instead; None for other problems."""
    found = _PROBLEM.search(text)
    if found is None:
        return None
    class_path = found.group(1) or found.group(3)
    reason = (found.group(2) or found.group(4)).strip()
    section_match = _SECTION.search(text)
    section = section_match.group(1) if section_match else "model"
    option = _OPTION.search(reason)
    if option is not None:
        key = option.group(1) or option.group(2)
        top, _, rest = key.partition(".")
        where = f"{section}.init_args.{key}"
        if top in RENAMED_OPTIONS:
            new = RENAMED_OPTIONS[top]
            return ConfigError(
                f"{where}: '{top}' is called '{new}' since release 0.2; write {section}.init_args.{new}"
                f"{'.' + rest if rest else ''} (in a config file: {new}: under init_args)"
            )
        options, cls = _options(class_path)
        hint = difflib.get_close_matches(top, options, n=1)
        nested = _nested_suggestion(top, cls) if cls is not None and not hint else None
        suggestion = hint[0] if hint else nested
        said = f" (did you mean {suggestion}?)" if suggestion else ""
        return ConfigError(f"{where}: {class_path} has no option {top!r}{said}; its options are {listing(options)}")
    if _MISSING.search(reason):
        if class_path in MOVED_CLASSES:
            return ConfigError(
                f"{section}.class_path {class_path} moved to {MOVED_CLASSES[class_path]} in release 0.2; "
                "write the new path"
            )
        known = _known_classes(section)
        name = class_path.rpartition(".")[2].lower()
        close = [k for k in known if name and name in k.rpartition(".")[2].lower()]
        names = {k.rpartition(".")[2].lower(): k for k in known}
        close = close or [names[m] for m in difflib.get_close_matches(name, list(names), n=1)]
        said = f" (did you mean {close[0]}?)" if close else ""
        kind = "model families" if section == "model" else "data modules" if section == "data" else "classes"
        return ConfigError(
            f"{section}.class_path {class_path} does not exist{said}; the {kind} are {listing(known) or 'none'}"
        )
    return None


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
        return class_problem(str(parser_error)) or ConfigError(_parser_message(parser_error))
    return None
