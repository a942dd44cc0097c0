"""Bootstrap ensembles: intervals of answers, their pairing for differences, their checks; a trained ensemble.

The oracle is the SCM's exact interventional distribution. Coverage over many data sets is measured
in benchmarks/interval_coverage.py; here: the intervals come from the members as the percentile
bootstrap says, shrink with more data, and hold the truth on a few seeded cases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from lightning_causal import QueryError, compile_plan
from lightning_causal.datamodules import LatentSCMDataModule
from lightning_causal.graph.named import NAMED_GRAPHS
from lightning_causal.models.idgen import DiffusionLearner
from lightning_causal.sampling import EnsembleNetwork, Interval, bootstrap_rows
from lightning_causal.scm import DiscreteSCM


@pytest.fixture(scope="module")
def frontdoor() -> tuple[DiscreteSCM, EnsembleNetwork]:
    scm = DiscreteSCM.random(NAMED_GRAPHS["frontdoor"].graph, seed=1)
    plan = compile_plan(scm.graph, "X", "Y")
    return scm, plan.fit_ensemble(scm.sample(3000, seed=2), members=40, seed=0)


def test_bootstrap_rows_draw_whole_rows_with_replacement() -> None:
    columns = {"A": np.arange(1000), "B": torch.arange(1000) * 2}
    rows = bootstrap_rows(columns, seed=3)
    assert torch.equal(rows["B"], torch.as_tensor(rows["A"]) * 2)  # the same rows of every column
    assert len(np.unique(rows["A"])) < 700  # about 63% of the rows appear
    np.testing.assert_array_equal(rows["A"], bootstrap_rows(columns, seed=3)["A"])


def test_an_interval_is_the_percentile_bootstrap_of_the_members(frontdoor: tuple[DiscreteSCM, EnsembleNetwork]) -> None:
    scm, ensemble = frontdoor
    intervals = ensemble.interval({"X": 1}, level=0.8)
    assert set(intervals) == {f"P(Y={k})" for k in range(scm.cardinalities["Y"])}
    member_values = [m.distribution({"X": 1}).aligned(["Y"])[0] for m in ensemble.members]
    low, high = np.quantile(member_values, [0.1, 0.9])
    first = intervals["P(Y=0)"]
    assert isinstance(first, Interval) and first.members == 40 and first.level == 0.8
    assert (first.low, first.high) == pytest.approx((low, high))
    assert first.estimate == pytest.approx(ensemble.network.distribution({"X": 1}).aligned(["Y"])[0])
    truth = scm.interventional(["Y"], {"X": 1}).aligned(["Y"])
    wide = ensemble.interval({"X": 1}, level=0.99)
    assert all(wide[f"P(Y={k})"].covers(float(t)) for k, t in enumerate(truth))
    assert ensemble.interval({"X": 1}, level=0.5)["P(Y=0)"].width < first.width < wide["P(Y=0)"].width


def test_a_difference_pairs_each_members_two_answers(frontdoor: tuple[DiscreteSCM, EnsembleNetwork]) -> None:
    scm, ensemble = frontdoor
    effect = ensemble.difference({"X": 1}, {"X": 0})["P(Y=0)"]
    truth = (
        scm.interventional(["Y"], {"X": 1}).aligned(["Y"])[0] - scm.interventional(["Y"], {"X": 0}).aligned(["Y"])[0]
    )
    assert effect.covers(float(truth))
    paired = [
        m.distribution({"X": 1}).aligned(["Y"])[0] - m.distribution({"X": 0}).aligned(["Y"])[0]
        for m in ensemble.members
    ]
    assert (effect.low, effect.high) == pytest.approx(tuple(np.quantile(paired, [0.05, 0.95])))


def test_more_rows_give_narrower_intervals() -> None:
    scm = DiscreteSCM.random(NAMED_GRAPHS["backdoor"].graph, seed=4)
    plan = compile_plan(scm.graph, "X", "Y")
    widths = [
        plan.fit_ensemble(scm.sample(n, seed=5), members=30, seed=0).interval({"X": 0})["P(Y=0)"].width
        for n in (500, 8000)
    ]
    assert widths[1] < 0.5 * widths[0]  # about 1/4 in theory (sqrt of 16 times the rows)


@pytest.mark.parametrize(
    "ask,fragment",
    [
        (lambda e: e.interval({"X": 1}, level=1.5), "level is 1.5"),
        (lambda e: e.interval({"X": 1}, statistic=0.5), "the outcomes Y are discrete .or images.: a quantile"),
        (lambda e: e.interval({"X": 1}, statistic="median"), "statistic is 'median'"),
    ],
)
def test_bad_requests_are_refused_in_one_line(
    frontdoor: tuple[DiscreteSCM, EnsembleNetwork], ask: Any, fragment: str
) -> None:
    with pytest.raises(QueryError, match=fragment) as err:
        ask(frontdoor[1])
    assert "\n" not in str(err.value)


def test_an_ensemble_needs_rows_and_two_members() -> None:
    scm = DiscreteSCM.random(NAMED_GRAPHS["backdoor"].graph, seed=4)
    plan = compile_plan(scm.graph, "X", "Y")
    with pytest.raises(QueryError, match="the data is an exact distribution"):
        plan.fit_ensemble(scm.observational(), members=5)
    with pytest.raises(QueryError, match="members is 1"):
        plan.fit_ensemble(scm.sample(100, seed=0), members=1)


def test_a_trained_ensemble_types_every_member_alike_and_resumes_from_its_folders(
    tmp_path: Path, tiny_mechanisms: dict[str, Any]
) -> None:
    dm = LatentSCMDataModule("backdoor", n_train=400, n_val=0, batch_size=64, seed=0)
    plan = compile_plan(dm.graph, "X", "Y")
    learner = DiffusionLearner(
        max_steps=4, patience=None, mechanisms=tiny_mechanisms, progress=False, accelerator="cpu", run_dir=tmp_path
    )
    ensemble = plan.fit_ensemble(dm, members=2, learner=learner, seed=0)
    assert [(tmp_path / f"member-{k}" / "idgen.ckpt").is_file() for k in (0, 1)] == [True, True]
    intervals = ensemble.interval({"X": 0.5}, n=200)
    assert set(intervals) == {"Y"} and intervals["Y"].low <= intervals["Y"].high
    assert ensemble.interval({"X": 0.5}, statistic=0.9, n=200)["Y"].members == 2
    written = [(tmp_path / f"member-{k}" / "stage0" / "final.ckpt").stat().st_mtime_ns for k in (0, 1)]
    again = plan.fit_ensemble(dm, members=2, learner=learner, seed=0)  # every folder is done: nothing retrains
    assert [(tmp_path / f"member-{k}" / "stage0" / "final.ckpt").stat().st_mtime_ns for k in (0, 1)] == written
    assert again.interval({"X": 0.5}, n=200) == intervals
    # the command line reads the same folder: the full run's idgen.ckpt and member-<k>/idgen.ckpt
    from tests.checks import run_cli

    out = tmp_path / "y.csv"
    got = run_cli(
        "sample", "--ckpt", str(tmp_path), "--do", "X=0.5", "--n", "200", "--interval", "0.9", "--out", str(out)
    )
    assert got.returncode == 0, got.stderr[-2000:]
    assert (
        "P(Y | do(X)), 90% bootstrap intervals (2 members)" in got.stdout and (tmp_path / "y.intervals.csv").is_file()
    )
