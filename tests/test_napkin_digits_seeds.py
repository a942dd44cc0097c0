"""The seeds table of the napkin digits benchmark: mean, spread and worst seed per answer, checked inputs."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from benchmarks.napkin_digits_seeds import main, table


def _result(seed: int, idgen: float, dcm: float, config: str = "configs/idgen/napkin_digits_cpu.yaml") -> dict:
    def answer(mean: float) -> dict:
        return {"tvd_mean": mean, "tvd_digit": mean / 2, "tvd_colour": mean * 2, "tvd_thickness": 0.0}

    by_answer = {"exact": answer(0.01), "idgen": answer(idgen), "conditional": answer(0.2), "dcm": answer(dcm)}
    return {"config": config, "seed": seed, "summary": {"guidance=0.0": by_answer, "guidance=1.0": by_answer}}


def test_the_table_gives_each_answers_mean_spread_and_worst_seed(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs = [_result(0, 0.05, 0.18), _result(1, 0.07, 0.15), _result(2, 0.06, 0.14)]
    text = table(runs)
    sd = statistics.stdev([0.05, 0.07, 0.06])
    assert f"| ID-GEN | 0.060 ± {sd:.3f} |" in text
    assert "| 0.050 / 0.070 / 0.060 | 0.070 |" in text  # every seed's mean TVD, and the worst
    assert text.count("seeds 0, 1, 2") == 2  # one table per guidance weight

    paths = []
    for run in runs:
        paths.append(tmp_path / f"seed{run['seed']}.json")
        paths[-1].write_text(json.dumps(run))
    assert main([str(p) for p in paths]) == 0
    assert "DCM, confounders ignored | 0.157 ±" in capsys.readouterr().out


def test_each_seeds_worst_intervention_is_named_and_a_missing_baseline_is_left_out() -> None:
    runs = [_result(0, 0.05, 0.18), _result(1, 0.07, 0.15)]
    for run, worst in zip(runs, (0.09, 0.12), strict=True):
        for by_answer in run["summary"].values():
            by_answer["idgen"] = {
                **by_answer["idgen"],
                "tvd_worst": worst,
                "worst": {"x": {"digit": 7, "colour": 2, "thickness": 0}},
            }
            by_answer.pop("dcm", None)  # trained with --no-baselines (one dict for both weights)
            by_answer["exact"] = {**by_answer["exact"], "tvd_worst": 0.013, "worst": {"x": None}}  # x not kept
    text = table(runs)
    assert "| 0.090 (digit 7, colour 2, thickness 0) / 0.120 (digit 7, colour 2, thickness 0) |" in text
    assert "| 0.013 / 0.013 |" in text  # the exact samples' worst, whose x older files did not keep
    assert "DCM" not in text and "| conditional P(Y \\| X = x) |" in text
    assert "| n/a / n/a |" in text  # files written before the worst was kept


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        ([_result(0, 0.05, 0.18), _result(0, 0.06, 0.17)], "seeds repeat"),
        ([_result(0, 0.05, 0.18), _result(1, 0.06, 0.17, config="other.yaml")], "different configs"),
        ([{"config": "c", "seed": 0}], "no per-guidance summary"),
    ],
)
def test_files_that_do_not_make_one_table_are_refused_in_one_line(
    tmp_path: Path, runs: list[dict], message: str
) -> None:
    paths = []
    for k, run in enumerate(runs):
        paths.append(tmp_path / f"r{k}.json")
        paths[-1].write_text(json.dumps(run))
    with pytest.raises(SystemExit, match=message) as err:
        main([str(p) for p in paths])
    assert "\n" not in str(err.value)


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(SystemExit, match=r"broken\.json"):
        main([str(broken)])
