"""The command line's error policy: project errors found behind any wrapper, jsonargparse's class problems in one line.

Checks ``lightning_causal.launch.error_policy``: ``user_error`` finds a ``LightningCausalError`` behind
wrappers, turns Lightning's and the parsers' complaints into one ``ConfigError`` line and calls
anything else a bug (None); ``class_problem`` reads the texts jsonargparse writes for a class that does
not exist or an option a class does not take (built here in jsonargparse's shapes) and names the key
or the class, the close name, what exists instead, and the release-0.2 names; ``debug_requested`` and
``CommandParser``. Last, the real ``fit`` command with a misspelt option is one line and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest
from lightning.fabric.utilities.exceptions import MisconfigurationException

from lightning_causal.errors import ConfigError, DataError, GraphError, LightningCausalError, QueryError
from lightning_causal.launch.cli import main
from lightning_causal.launch.error_policy import (
    MOVED_CLASSES,
    RENAMED_OPTIONS,
    CommandParser,
    class_problem,
    debug_requested,
    user_error,
)

ROOT = Path(__file__).resolve().parents[2]


def _jsonargparse(section: str, problem: str) -> str:
    """A message in the shape jsonargparse gives for a bad ``model:`` or ``data:`` of LightningCLI."""
    base = "lightning.pytorch.core.module.LightningModule" if section == "model" else "LightningDataModule"
    return (
        f'Parser key "{section}":\n'
        "  Does not validate against any of the Union subtypes\n"
        f"  Subtypes: [<class '{base}'>, <class 'NoneType'>]\n"
        "  Errors:\n"
        f"    - {problem}\n"
        "    - Expected a <class 'NoneType'>\n"
        "  Given value type: <class 'jsonargparse._util.NestedArg'>\n"
        "  Given value: NestedArg(key='class_path', val='x')"
    )


def _class_path(class_path: str, reason: str) -> str:
    return f"Problem with given class_path '{class_path}':\n        {reason}"


def _line(section: str, problem: str) -> str:
    found = class_problem(_jsonargparse(section, problem))
    assert isinstance(found, ConfigError)
    assert "\n" not in str(found), str(found)
    return str(found)


# ---------------------------------------------------------------------------------------------------- user_error
def test_a_project_error_is_its_own_user_error() -> None:
    err = DataError("column 'x' holds NaN")
    assert user_error(err) is err


def test_a_project_error_is_found_behind_wrappers() -> None:
    cause = QueryError("unknown variable 'Q'")
    try:
        try:
            raise cause
        except QueryError as inner:
            raise TypeError("instantiating the model failed") from inner
    except TypeError as wrapped:
        try:
            raise RuntimeError("LightningCLI failed") from wrapped
        except RuntimeError as outer:
            assert user_error(outer) is cause  # two causes deep

    try:
        try:
            raise GraphError("a cycle a -> b -> a")
        except GraphError:
            raise KeyError("while handling it")  # noqa: B904 - the implicit context is what is checked
    except KeyError as err:
        found = user_error(err)
        assert isinstance(found, GraphError) and "cycle" in str(found)


def test_any_other_exception_is_a_bug() -> None:
    assert user_error(ValueError("index out of range")) is None
    assert user_error(RuntimeError("CUDA error")) is None
    wrapped = RuntimeError("outer")
    wrapped.__cause__ = KeyError("inner")
    assert user_error(wrapped) is None


def test_a_cycle_of_causes_ends_the_search() -> None:
    a, b = ValueError("a"), ValueError("b")
    a.__cause__, b.__cause__ = b, a
    assert user_error(a) is None


def test_lightnings_refusal_of_a_trainer_setting_is_a_config_error() -> None:
    err = MisconfigurationException("`Trainer(devices=0)` value is not a valid input")
    found = user_error(err)
    assert isinstance(found, ConfigError)
    assert str(found) == "the Trainer refused its settings: `Trainer(devices=0)` value is not a valid input"


def test_a_parser_complaint_becomes_its_one_real_line() -> None:
    err = argparse.ArgumentError(None, "Parser key \"seed_everything\":\n  Expected a <class 'int'>. Got value: abc")
    try:
        raise RuntimeError("parse failed") from err
    except RuntimeError as outer:
        found = user_error(outer)
    assert isinstance(found, ConfigError)
    assert str(found) == "seed_everything: Expected a <class 'int'>. Got value: abc"


def test_a_project_error_wins_over_the_parser_error_that_wraps_it() -> None:
    cause = ConfigError("mechanisms.hidden is 0; give a whole number >= 1")
    try:
        raise argparse.ArgumentError(None, 'Parser key "model":\n  mechanisms.hidden is 0') from cause
    except argparse.ArgumentError as err:
        assert user_error(err) is cause


def test_a_parser_error_about_a_class_gets_the_class_line() -> None:
    text = _jsonargparse("model", _class_path("lightning_causal.models.DCM", "Option 'hiden' is not accepted"))
    found = user_error(argparse.ArgumentError(None, text))
    assert isinstance(found, ConfigError) and str(found).startswith("model.init_args.hiden: ")


# ---------------------------------------------------------------------------------------------------- class_problem
def test_an_option_a_model_does_not_take_names_the_key_and_the_mechanisms_field() -> None:
    line = _line("model", _class_path("lightning_causal.models.DCM", "Option 'hiden' is not accepted"))
    assert line.startswith("model.init_args.hiden: lightning_causal.models.DCM has no option 'hiden'")
    assert "(did you mean mechanisms.hidden?)" in line
    for option in ("graph", "variables", "mechanisms", "optimizer", "scheduler", "seed", "sample_steps"):
        assert option in line.split("its options are ", 1)[1], option


def test_an_unrecognized_argument_names_its_key_too() -> None:
    line = _line("model", _class_path("lightning_causal.models.IDGEN", "unrecognized arguments: --treatmnt=X"))
    assert line.startswith("model.init_args.treatmnt: lightning_causal.models.IDGEN has no option 'treatmnt'")
    assert "(did you mean treatment?)" in line and "generated_size" in line


def test_an_option_renamed_in_release_02_names_its_new_name() -> None:
    assert RENAMED_OPTIONS["network"] == "mechanisms"
    line = _line("model", _class_path("lightning_causal.models.DCM", "unrecognized arguments: --network.hidden=8"))
    assert line.startswith("model.init_args.network.hidden: 'network' is called 'mechanisms' since release 0.2")
    assert "write model.init_args.mechanisms.hidden" in line
    whole = _line("model", _class_path("lightning_causal.models.IDGEN", "Option 'network' is not accepted"))
    assert "write model.init_args.mechanisms (in a config file: mechanisms: under init_args)" in whole


def test_an_option_a_data_module_does_not_take_suggests_the_close_name() -> None:
    problem = _class_path("lightning_causal.datamodules.TabularDataModule", "Option 'bach_size' is not accepted")
    line = _line("data", problem)
    assert line.startswith("data.init_args.bach_size: lightning_causal.datamodules.TabularDataModule has no option")
    assert "(did you mean batch_size?)" in line and "val_fraction" in line


def test_an_option_with_no_close_name_gets_no_suggestion() -> None:
    line = _line("model", _class_path("lightning_causal.models.DCM", "Option 'zzzzzz' is not accepted"))
    assert "has no option 'zzzzzz'; its options are" in line and "did you mean" not in line


def test_a_model_class_that_does_not_exist_lists_the_families() -> None:
    problem = _class_path("lightning_causal.models.DIME", "module 'lightning_causal.models' has no attribute 'DIME'")
    line = _line("model", problem)
    assert line.startswith("model.class_path lightning_causal.models.DIME does not exist")
    assert "the model families are" in line and "did you mean" not in line
    listed = line.split("the model families are ", 1)[1].split(", ")
    assert {"lightning_causal.models.DCM", "lightning_causal.models.IDGEN"} <= set(listed)


def test_an_import_path_that_is_no_model_suggests_the_family_class() -> None:
    problem = "Import path lightning_causal.models.idgen does not correspond to a subclass of LightningModule"
    line = _line("model", problem)
    assert line.startswith("model.class_path lightning_causal.models.idgen does not exist")
    assert "(did you mean lightning_causal.models.IDGEN?)" in line and "lightning_causal.models.DCM" in line


def test_a_data_class_that_does_not_exist_lists_the_data_modules() -> None:
    problem = _class_path(
        "lightning_causal.datamodules.Tabular", "module 'lightning_causal.datamodules' has no attribute 'Tabular'"
    )
    line = _line("data", problem)
    assert line.startswith("data.class_path lightning_causal.datamodules.Tabular does not exist")
    assert "(did you mean lightning_causal.datamodules.TabularDataModule?)" in line
    for name in ("SCMDataModule", "LatentSCMDataModule", "NapkinDigitsDataModule", "TabularDataModule"):
        assert f"lightning_causal.datamodules.{name}" in line.split("the data modules are ", 1)[1], name


def test_a_data_class_moved_in_release_02_names_its_new_path() -> None:
    old = "lightning_causal.datamodules.tabular.TabularDataModule"
    assert MOVED_CLASSES[old] == "lightning_causal.datamodules.TabularDataModule"
    line = _line("data", _class_path(old, "module 'lightning_causal.datamodules' has no attribute 'tabular'"))
    assert line == (
        f"data.class_path {old} moved to lightning_causal.datamodules.TabularDataModule in release 0.2; "
        "write the new path"
    )
    scm = _line("data", _class_path("lightning_causal.datamodules.scm.SCMDataModule", "No module named 'x'"))
    assert "moved to lightning_causal.datamodules.SCMDataModule" in scm


def test_other_problems_are_not_class_problems() -> None:
    assert class_problem('Parser key "trainer.max_stepz":\n  Key "max_stepz" is not expected') is None
    assert class_problem(_jsonargparse("model", "Expected a <class 'int'>")) is None
    wrong_type = _class_path("lightning_causal.models.DCM", "Expected a <class 'int'>. Got value: many")
    assert class_problem(_jsonargparse("model", wrong_type)) is None


# ---------------------------------------------------------------------------------------------------- the parser
def test_debug_is_read_from_the_arguments_and_removed() -> None:
    argv = ["identify", "--debug", "--graph", "napkin", "--debug"]
    assert debug_requested(argv) and argv == ["identify", "--graph", "napkin"]
    assert not debug_requested(["identify"])


def test_the_debug_variable_turns_debugging_on_unless_it_says_no(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, on in (("1", True), ("yes", True), (" TRUE ", True), ("0", False), ("false", False), ("No", False)):
        monkeypatch.setenv("LIGHTNING_CAUSAL_DEBUG", value)
        assert debug_requested([]) is on, value
    monkeypatch.delenv("LIGHTNING_CAUSAL_DEBUG")
    assert not debug_requested([])


def test_a_command_parser_complains_in_one_config_error_line() -> None:
    parser = CommandParser(prog="tool")
    parser.add_argument("--n", type=int)
    with pytest.raises(ConfigError, match=r"^tool: argument --n: invalid int value: 'many'; see tool --help$") as err:
        parser.parse_args(["--n", "many"])
    assert isinstance(err.value, LightningCausalError)


# ---------------------------------------------------------------------------------------------------- the real command
def test_the_fit_command_with_a_misspelt_option_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("LIGHTNING_CAUSAL_DEBUG", raising=False)
    monkeypatch.setattr(sys, "argv", ["lightning-causal"])  # as from a shell, without pytest's own arguments
    before = sorted(p.name for p in ROOT.iterdir())
    assert main(["fit", "--config", "configs/dcm/tabular.yaml", "--model.init_args.hiden", "8"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: model.init_args.hiden: ") and "mechanisms.hidden" in lines[0]
    assert sorted(p.name for p in ROOT.iterdir()) == before  # refused before anything was written
