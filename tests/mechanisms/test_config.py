"""MechanismConfig and ImageMechanismConfig: every field's check is one ConfigError line naming its key,
``MechanismConfig.of`` takes None, a dict or a config, and the image sub-config is built from a dict."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np
import pytest

from lightning_causal.errors import ConfigError
from lightning_causal.mechanisms import BACKENDS, ROOTS, ImageMechanismConfig, MechanismConfig


def _one_line_config_error(make: Any, pattern: str) -> str:
    """Call ``make`` and check it raises a one-line ConfigError matching ``pattern``; return the message."""
    with pytest.raises(ConfigError, match=pattern) as err:
        make()
    message = str(err.value)
    assert "\n" not in message
    return message


WHOLE_NUMBERS = ["hidden", "depth", "time_dim", "timesteps", "classifier_hidden", "max_root_samples"]


@pytest.mark.parametrize("key", WHOLE_NUMBERS)
@pytest.mark.parametrize("value", [0, -2, 2.5, True, "8"])
def test_a_width_or_count_that_is_not_a_whole_number_names_its_key(key: str, value: object) -> None:
    message = _one_line_config_error(lambda: MechanismConfig(**{key: value}), rf"^mechanisms\.{key} is ")
    assert "give a whole number >= 1" in message and repr(value) in message


def test_an_odd_time_dim_is_refused_and_an_even_one_accepted() -> None:
    message = _one_line_config_error(lambda: MechanismConfig(time_dim=15), r"^mechanisms\.time_dim is 15")
    assert "even" in message
    assert MechanismConfig(time_dim=14).time_dim == 14


@pytest.mark.parametrize(
    "start,end",
    [(0.0, 0.1), (-1e-4, 0.1), (0.1, 0.1), (0.2, 0.1), (1e-4, 1.0), (1e-4, 1.5), (float("nan"), 0.1)],
)
def test_betas_outside_zero_start_end_one_name_both_keys(start: float, end: float) -> None:
    message = _one_line_config_error(
        lambda: MechanismConfig(beta_start=start, beta_end=end), r"^mechanisms\.beta_start .* and beta_end "
    )
    assert "0 < beta_start < beta_end < 1" in message


@pytest.mark.parametrize("key", ["beta_start", "beta_end"])
def test_a_beta_given_as_text_is_a_config_error(key: str) -> None:
    _one_line_config_error(lambda: MechanismConfig(**{key: "1e-4"}), rf"mechanisms\.{key}")


@pytest.mark.parametrize("key,allowed", [("roots", ROOTS), ("backend", BACKENDS), ("conditioning", ("film", "concat"))])
def test_a_choice_outside_its_options_lists_them(key: str, allowed: tuple[str, ...]) -> None:
    message = _one_line_config_error(lambda: MechanismConfig(**{key: "bogus"}), rf"^mechanisms\.{key} is 'bogus'")
    assert message.endswith("choose one of " + ", ".join(allowed))
    for choice in allowed:
        assert getattr(MechanismConfig(**{key: choice}), key) == choice


def test_an_unknown_schedule_names_the_key_and_cosine_is_accepted() -> None:
    message = _one_line_config_error(
        lambda: MechanismConfig(schedule="quadratic"), r"^mechanisms\.schedule is 'quadratic'"
    )
    assert "linear" in message and "cosine" in message
    assert MechanismConfig(schedule="cosine").schedule == "cosine"


@pytest.mark.parametrize("image", [3, "big", [1, 2]])
def test_an_image_section_that_is_not_a_mapping_names_mechanisms_image(image: object) -> None:
    _one_line_config_error(lambda: MechanismConfig(image=image), r"^mechanisms\.image is ")  # type: ignore[arg-type]


IMAGE_WHOLE_NUMBERS = ["base", "res_blocks", "groups", "cond_dim", "timesteps", "sample_steps"]


@pytest.mark.parametrize("key", IMAGE_WHOLE_NUMBERS)
@pytest.mark.parametrize("value", [0, 1.5, False])
def test_an_image_count_that_is_not_a_whole_number_names_its_key(key: str, value: object) -> None:
    _one_line_config_error(lambda: ImageMechanismConfig(**{key: value}), rf"^mechanisms\.image\.{key} is ")


@pytest.mark.parametrize("mults", [(), (1, 0), (1, 2.0), (True, 2)])
def test_bad_image_mults_name_the_key(mults: tuple[Any, ...]) -> None:
    _one_line_config_error(lambda: ImageMechanismConfig(mults=mults), r"^mechanisms\.image\.mults is ")


@pytest.mark.parametrize("key", ["mults", "attention"])
def test_a_single_number_for_an_image_list_is_a_config_error(key: str) -> None:
    _one_line_config_error(lambda: ImageMechanismConfig(**{key: 16}), rf"mechanisms\.image\.{key}")


@pytest.mark.parametrize("key", ["dropout", "cond_dropout"])
@pytest.mark.parametrize("value", [-0.1, 1.0, float("nan"), "0.1"])
def test_an_image_probability_outside_zero_one_names_its_key(key: str, value: object) -> None:
    message = _one_line_config_error(lambda: ImageMechanismConfig(**{key: value}), rf"^mechanisms\.image\.{key} is ")
    assert "[0, 1)" in message


@pytest.mark.parametrize("value", [-0.5, "1.8"])
def test_a_negative_or_textual_guidance_names_its_key(value: object) -> None:
    _one_line_config_error(lambda: ImageMechanismConfig(guidance=value), r"^mechanisms\.image\.guidance is ")


@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_a_non_finite_guidance_is_refused_by_the_config(value: float) -> None:
    _one_line_config_error(lambda: ImageMechanismConfig(guidance=value), r"mechanisms\.image\.guidance")


@pytest.mark.parametrize("value", [-1.0, "1", True, float("inf"), float("nan")])
def test_a_bad_eta_names_its_key(value: object) -> None:
    message = _one_line_config_error(lambda: ImageMechanismConfig(eta=value), r"^mechanisms\.image\.eta is ")
    assert ">= 0" in message


def test_eta_defaults_to_deterministic_ddim_and_takes_any_number_from_zero() -> None:
    assert ImageMechanismConfig().eta == 0.0
    assert ImageMechanismConfig(eta=1).eta == 1 and ImageMechanismConfig(eta=0.5).eta == 0.5


def test_an_unknown_image_schedule_names_the_key() -> None:
    _one_line_config_error(lambda: ImageMechanismConfig(schedule="sigmoid"), r"^mechanisms\.image\.schedule is ")


@pytest.mark.parametrize("start,end", [(0.0, 0.02), (0.03, 0.02), (1e-4, 1.0)])
def test_bad_image_betas_name_the_image_keys(start: float, end: float) -> None:
    _one_line_config_error(
        lambda: ImageMechanismConfig(beta_start=start, beta_end=end), r"^mechanisms\.image\.beta_start .* and beta_end "
    )


@pytest.mark.parametrize(
    "timesteps,beta_end", [(100, 0.02), (100, 0.05), (100, 0.1), (200, 0.05), (1000, 0.02), (50, 0.2), (10, 0.9)]
)
def test_an_image_schedule_is_refused_exactly_when_its_last_step_keeps_over_one_percent(
    timesteps: int, beta_end: float
) -> None:
    # the linear schedule's abar_T, computed here with numpy
    left = float(np.prod(1.0 - np.linspace(1e-4, beta_end, timesteps)))
    make = lambda: ImageMechanismConfig(timesteps=timesteps, beta_end=beta_end, sample_steps=timesteps)  # noqa: E731
    if left > 0.01:
        message = _one_line_config_error(make, r"^mechanisms\.image: with timesteps ")
        assert f"abar_T = {left:.3f}" in message and "raise beta_end or timesteps" in message
    else:
        assert make().timesteps == timesteps


def test_more_sample_steps_than_timesteps_is_refused() -> None:
    message = _one_line_config_error(
        lambda: ImageMechanismConfig(timesteps=10, beta_end=0.9, sample_steps=11), r"^mechanisms\.image\.sample_steps"
    )
    assert "11" in message and "timesteps 10" in message
    assert ImageMechanismConfig(timesteps=10, beta_end=0.9, sample_steps=10).sample_steps == 10


def test_of_none_gives_the_documented_defaults() -> None:
    config = MechanismConfig.of(None)
    assert config == MechanismConfig()
    assert (config.hidden, config.depth, config.conditioning, config.time_dim) == (64, 2, "film", 16)
    assert (config.timesteps, config.schedule, config.beta_start, config.beta_end) == (100, "linear", 1e-4, 0.1)
    assert (config.roots, config.backend, config.classifier_hidden, config.max_root_samples) == (
        "empirical",
        "batched",
        64,
        10_000,
    )
    assert config.image == ImageMechanismConfig()
    assert (config.image.timesteps, config.image.sample_steps, config.image.mults) == (1000, 50, (1, 2, 2, 2))


def test_of_a_config_returns_that_very_config() -> None:
    config = MechanismConfig(hidden=8)
    assert MechanismConfig.of(config) is config


def test_of_a_dict_sets_those_fields_and_keeps_the_other_defaults(tiny_mechanisms: dict[str, Any]) -> None:
    config = MechanismConfig.of({"hidden": 16, "timesteps": 10, "roots": "model"})
    assert (config.hidden, config.timesteps, config.roots) == (16, 10, "model")
    defaults = MechanismConfig()
    for f in fields(MechanismConfig):
        if f.name not in ("hidden", "timesteps", "roots"):
            assert getattr(config, f.name) == getattr(defaults, f.name), f.name
    tiny = MechanismConfig.of(tiny_mechanisms)
    assert (tiny.hidden, tiny.timesteps, tiny.image.base, tiny.image.sample_steps) == (16, 10, 8, 4)


def test_of_a_dict_with_an_unknown_key_lists_the_keys() -> None:
    message = _one_line_config_error(lambda: MechanismConfig.of({"hiden": 8}), r"^mechanisms: .*'hiden'")
    keys = [f.name for f in fields(MechanismConfig)]
    assert message.endswith("the keys are " + ", ".join(keys))


@pytest.mark.parametrize("value", ["film", [("hidden", 8)], 3])
def test_of_something_that_is_not_a_mapping_is_refused(value: object) -> None:
    _one_line_config_error(lambda: MechanismConfig.of(value), r"^mechanisms is ")  # type: ignore[arg-type]


def test_of_a_dict_passes_a_bad_value_on_as_that_keys_error() -> None:
    _one_line_config_error(lambda: MechanismConfig.of({"depth": 0}), r"^mechanisms\.depth is 0")


def test_the_image_section_is_built_from_a_dict_with_lists_as_tuples() -> None:
    config = MechanismConfig.of(
        {"image": {"base": 8, "mults": [1, 2], "attention": [4], "timesteps": 100, "beta_end": 0.1, "sample_steps": 4}}
    )
    image = config.image
    assert isinstance(image, ImageMechanismConfig)
    assert (image.base, image.mults, image.attention, image.timesteps, image.sample_steps) == (
        8,
        (1, 2),
        (4,),
        100,
        4,
    )
    assert image.groups == ImageMechanismConfig().groups  # keys left out keep their defaults
    assert config.image == ImageMechanismConfig(
        base=8, mults=(1, 2), attention=(4,), timesteps=100, beta_end=0.1, sample_steps=4
    )


def test_an_unknown_image_key_names_mechanisms_image() -> None:
    message = _one_line_config_error(lambda: MechanismConfig.of({"image": {"chanels": 3}}), r"^mechanisms\.image: ")
    assert "'chanels'" in message and "ImageMechanismConfig" in message


def test_a_bad_value_inside_the_image_dict_names_the_image_key() -> None:
    _one_line_config_error(lambda: MechanismConfig.of({"image": {"groups": 0}}), r"^mechanisms\.image\.groups is 0")


def test_configs_are_frozen() -> None:
    config = MechanismConfig()
    with pytest.raises(AttributeError):
        config.hidden = 3  # type: ignore[misc]
