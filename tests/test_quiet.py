"""quiet(): inside the block Lightning's rank-zero info lines are off and the listed warnings are ignored;
other warnings still show, and everything is as before once the block ends, also after an exception."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lightning_causal.quiet import PATTERNS, quiet

RANK_ZERO = "lightning.pytorch.utilities.rank_zero"

SILENCED = [
    "The 'train_dataloader' does not have many workers which may be a bottleneck.",
    "isinstance(treespec, LeafSpec) is deprecated",
    "The `srun` command is available on your system but is not used.",
    "You defined a `validation_step` but have no `val_dataloader`. Skipping val loop.",
    "Checkpoint directory /tmp/run exists and is not empty.",
]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def rank_zero_records() -> Iterator[_Records]:
    """Every record that reaches Lightning's rank-zero logger, whatever the handlers above it do."""
    handler = _Records()
    logger = logging.getLogger(RANK_ZERO)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _shown(message: str, category: type[Warning] = UserWarning) -> list[str]:
    """The warnings that reach the user when ``message`` is warned (every warning shown, as a fresh process would)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet():
            warnings.warn(message, category, stacklevel=1)
    return [str(w.message) for w in caught]


def test_there_is_one_pattern_per_silenced_message() -> None:
    assert len(PATTERNS) == len(SILENCED) == 5


@pytest.mark.parametrize("message", SILENCED)
def test_the_listed_warnings_are_ignored_inside(message: str) -> None:
    assert _shown(message) == []


@pytest.mark.parametrize("category", [UserWarning, DeprecationWarning, RuntimeWarning])
def test_the_patterns_apply_to_every_warning_category(category: type[Warning]) -> None:
    assert _shown(SILENCED[0], category) == []


@pytest.mark.parametrize(
    "message",
    ["the loss became large", "GPU available but not used", "dataloader has no workers", "validation_step is slow"],
)
def test_other_warnings_still_show_inside(message: str) -> None:
    assert _shown(message) == [message]


def test_the_listed_warnings_show_again_after_the_block() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet():
            pass
        warnings.warn(SILENCED[3], UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == [SILENCED[3]]


def test_rank_zero_info_is_off_inside_and_warnings_still_pass(rank_zero_records: _Records) -> None:
    logger = logging.getLogger(RANK_ZERO)
    with quiet():
        logger.info("GPU available: False, used: False")
        logger.warning("a real problem")
    assert rank_zero_records.messages == ["a real problem"]


def test_the_logger_level_is_restored_after_the_block() -> None:
    logger = logging.getLogger(RANK_ZERO)
    before = logger.level
    try:
        logger.setLevel(logging.DEBUG)
        with quiet():
            assert logger.level == logging.WARNING
        assert logger.level == logging.DEBUG
    finally:
        logger.setLevel(before)


def test_the_logger_level_and_warnings_are_restored_after_an_exception() -> None:
    logger = logging.getLogger(RANK_ZERO)
    before = logger.level
    with pytest.raises(KeyError), quiet():
        raise KeyError("boom")
    assert logger.level == before
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn(SILENCED[0], UserWarning, stacklevel=1)
    assert len(caught) == 1


def test_a_trainer_built_inside_prints_no_banner(cpu_trainer: Callable[..., Any], rank_zero_records: _Records) -> None:
    with quiet():
        cpu_trainer(max_steps=1)
    assert rank_zero_records.messages == []
    cpu_trainer(max_steps=1)  # the oracle: outside the block the same Trainer announces the hardware
    assert any(m.startswith("GPU available") for m in rank_zero_records.messages)
