"""The project's exceptions: their family tree, what they carry, the lazy NotIdentifiableError, and ``listing``."""

from __future__ import annotations

import pickle

import pytest

from lightning_causal import CausalGraph, identify
from lightning_causal.errors import (
    ConfigError,
    DataError,
    EvaluationError,
    GraphError,
    LightningCausalError,
    NotIdentifiableError,
    NotTrainedError,
    QueryError,
    TrainingError,
    listing,
)
from lightning_causal.identification.hedge import CForest, Hedge

VALUE_ERRORS = [GraphError, QueryError, EvaluationError, DataError, ConfigError, NotTrainedError]


def test_listing_joins_every_name_when_there_is_no_limit() -> None:
    assert listing(["a", "b", "c"]) == "a, b, c"
    assert listing([]) == ""
    assert listing(x for x in (1, 2.5, None)) == "1, 2.5, None"  # any iterable, any objects, via str


def test_listing_keeps_every_name_up_to_the_limit() -> None:
    assert listing(["a", "b", "c"], limit=3) == "a, b, c"
    assert listing(["a", "b", "c"], limit=10) == "a, b, c"


def test_listing_past_the_limit_shows_the_first_names_and_the_count() -> None:
    names = [f"V{i}" for i in range(12)]
    assert listing(names, limit=3) == "V0, V1, V2, ... (12 in all)"
    assert listing(names, limit=1) == "V0, ... (12 in all)"
    assert listing(iter(names), limit=11) == ", ".join(names[:11]) + ", ... (12 in all)"


def test_listing_with_limit_zero_shows_only_the_count() -> None:
    assert listing(["a", "b"], limit=0) == "... (2 in all)"


@pytest.mark.parametrize("cls", [*VALUE_ERRORS, TrainingError, NotIdentifiableError])
def test_every_error_is_a_lightning_causal_error(cls: type[Exception]) -> None:
    assert issubclass(cls, LightningCausalError)
    assert issubclass(cls, Exception)


@pytest.mark.parametrize("cls", VALUE_ERRORS)
def test_bad_input_errors_are_value_errors_so_plain_python_code_can_catch_them(cls: type[Exception]) -> None:
    with pytest.raises(ValueError, match=r"^x is bad$"):
        raise cls("x is bad")


def test_not_trained_is_a_query_error_and_a_runtime_error() -> None:
    assert issubclass(NotTrainedError, QueryError)
    assert issubclass(NotTrainedError, RuntimeError)
    with pytest.raises(QueryError):
        raise NotTrainedError("sample: train the model first")


def test_the_families_do_not_overlap() -> None:
    assert not issubclass(GraphError, QueryError) and not issubclass(QueryError, GraphError)
    assert not issubclass(DataError, ConfigError) and not issubclass(ConfigError, DataError)
    assert not issubclass(TrainingError, ValueError)
    assert not issubclass(NotIdentifiableError, ValueError)  # a legitimate answer, not bad input


def test_training_error_carries_its_step_and_message() -> None:
    err = TrainingError("the loss became nan at step 17", step=17)
    assert isinstance(err, RuntimeError)
    assert err.step == 17
    assert str(err) == "the loss became nan at step 17"
    with pytest.raises(TrainingError, match="step 17") as caught:
        raise err
    assert caught.value.step == 17


def test_plain_errors_survive_pickling_with_their_message() -> None:
    for cls in VALUE_ERRORS:
        back = pickle.loads(pickle.dumps(cls("variable 'Z' is missing")))
        assert type(back) is cls and str(back) == "variable 'Z' is missing"


def test_training_error_survives_pickling_with_its_step() -> None:
    back = pickle.loads(pickle.dumps(TrainingError("the loss became inf at step 4", step=4)))
    assert isinstance(back, TrainingError) and back.step == 4 and "step 4" in str(back)


def _bow_hedge() -> Hedge:
    """The bow X -> Y, X <-> Y: F = {X, Y} with both edges, F' = {Y}; both rooted at Y."""
    f = CForest(nodes=("X", "Y"), directed=(("X", "Y"),), bidirected=(("X", "Y"),))
    f_prime = CForest(nodes=("Y",), directed=(), bidirected=())
    return Hedge(F=f, F_prime=f_prime, treatment=("X",), outcome=("Y",))


def _lazy_error(calls: list[int]) -> NotIdentifiableError:
    hedge = _bow_hedge()

    def details() -> tuple[Hedge, dict[str, tuple[str, ...]], str]:
        calls.append(1)
        call = {"outcome": ("Y",), "treatment": ("X",), "vertices": ("X", "Y")}
        return hedge, call, "P(Y | do(X)) is not identifiable: hedge F = {X, Y}, F' = {Y}"

    return NotIdentifiableError("P(Y | do(X))", line=5, treatment=("X",), outcome=("Y",), condition=(), details=details)


def test_not_identifiable_keeps_the_query_fields_without_building_the_details() -> None:
    calls: list[int] = []
    err = _lazy_error(calls)
    assert err.query == "P(Y | do(X))"
    assert err.line == 5
    assert err.treatment == ("X",) and err.outcome == ("Y",) and err.condition == ()
    with pytest.raises(NotIdentifiableError):
        raise err
    assert calls == []  # only catching it costs nothing


def test_not_identifiable_builds_the_details_once_on_first_access() -> None:
    calls: list[int] = []
    err = _lazy_error(calls)
    assert str(err) == "P(Y | do(X)) is not identifiable: hedge F = {X, Y}, F' = {Y}"
    assert "\n" not in str(err)
    assert err.call == {"outcome": ("Y",), "treatment": ("X",), "vertices": ("X", "Y")}
    assert set(err.F.nodes) == {"X", "Y"} and err.F.roots == ("Y",)
    assert err.F_prime.nodes == ("Y",) and err.F_prime.roots == ("Y",)
    assert err.hedge.F is err.F and err.hedge.F_prime is err.F_prime
    assert len(calls) == 1


def test_not_identifiable_raised_by_identification_names_the_bow_hedge() -> None:
    bow = CausalGraph(directed=[("X", "Y")], bidirected=[("X", "Y")])
    with pytest.raises(NotIdentifiableError) as caught:
        identify(bow, "X", "Y")
    err = caught.value
    assert err.line == 5 and err.treatment == ("X",) and err.outcome == ("Y",)
    # the smallest hedge by hand: F = {X, Y} meets the treatment, F' = {Y} does not, both rooted at Y
    assert set(err.F.nodes) == {"X", "Y"} and set(err.F_prime.nodes) == {"Y"}
    assert set(err.F.roots) == set(err.F_prime.roots) == {"Y"}
    assert "\n" not in str(err) and str(err)
