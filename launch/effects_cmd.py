"""``lightning-causal effects``: each input row's potential-outcome distribution under an intervention.

    lightning-causal effects --ckpt last.ckpt --rows patients.csv --do A=1 --n 1000 --out draws.csv \\
        --summary summary.csv --against A=0 --risk "Y1 > 2 & Y2 == 1" --plot plots/

``--rows`` holds one patient per row: the covariates the model conditions on (for a DCM every
variable the intervened ones do not cause; other columns are ignored), in the training data's
convention. ``--out`` gets one row per (input row, draw): ``row``, ``draw`` and every outcome;
``--summary`` one row per input row: each outcome's mean, median and ``--level`` interval of its
distribution (class probabilities for a discrete outcome), and with ``--against`` each outcome's
effect (CATE) and every ``--risk`` event's probability under both arms. ``--plot DIR`` draws the
arms' distributions of the first ``--plot-rows`` rows, one PNG per row. See
:mod:`lightning_causal.effects`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lightning_causal.errors import QueryError
from lightning_causal.files import check_output_path
from lightning_causal.launch.query_cmd import load_model, parse_assignments
from lightning_causal.values import check_count

__all__ = ["add_effects_parser", "run_effects"]


def add_effects_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``lightning-causal effects``."""
    p = sub.add_parser("effects", help="per-row potential-outcome distributions (CATE, risks) from a trained model")
    p.add_argument("--ckpt", type=Path, required=True, help="a checkpoint written by lightning-causal fit")
    p.add_argument("--rows", type=Path, required=True, help="input rows (.csv or .parquet): the covariates per patient")
    p.add_argument("--do", action="append", metavar="NAME=VALUE", required=True, help="the intervention (repeatable)")
    p.add_argument("--against", action="append", metavar="NAME=VALUE", help="another arm to compare with (the effect)")
    p.add_argument("--n", type=int, default=1000, help="draws per row (default 1000)")
    p.add_argument("--outcomes", nargs="+", metavar="NAME", help="the outcomes (DCM; default: all it causes)")
    p.add_argument("--out", type=Path, required=True, help="the draws: .csv or .parquet, one row per (row, draw)")
    p.add_argument("--summary", type=Path, help="per-row summary: .csv or .parquet")
    p.add_argument("--risk", action="append", metavar="EVENT", default=[], help="an event, e.g. 'Y1 > 2 & Y2 == 1'")
    p.add_argument("--level", type=float, default=0.9, help="the interval of each outcome's distribution (0.9)")
    p.add_argument("--plot", type=Path, metavar="DIR", help="a PNG per row of the arms' distributions")
    p.add_argument("--plot-rows", type=int, default=20, help="rows plotted with --plot (default 20)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling noise (default 0)")
    p.set_defaults(handler=run_effects)


def run_effects(args: argparse.Namespace) -> int:
    """``lightning-causal effects``: draws, a summary and plots of each row's potential outcomes."""
    from lightning_causal.data.table_files import OUTPUT_SUFFIXES, read_values, write_frame
    from lightning_causal.effects import draws_table, plot_row, summary_table

    check_count(args.n, "--n")
    check_count(args.plot_rows, "--plot-rows")
    if not 0 < args.level < 1:
        raise QueryError(f"--level is {args.level}; give a probability in (0, 1), e.g. 0.9")
    check_output_path(args.out, OUTPUT_SUFFIXES, "--out")
    if args.summary is not None:
        check_output_path(args.summary, OUTPUT_SUFFIXES, "--summary")
    if (args.against or args.risk) and args.summary is None and args.plot is None:
        raise QueryError(f"{'--against' if args.against else '--risk'} is reported in --summary: add --summary FILE")
    if args.plot is not None and args.plot.exists() and not args.plot.is_dir():
        raise QueryError(f"--plot {str(args.plot)!r} is a file; give a folder for the plots")
    if not args.rows.is_file():
        raise QueryError(f"--rows {str(args.rows)!r} does not exist; give a .csv or .parquet file of input rows")
    model = load_model(args.ckpt)
    interventions = parse_assignments(args.do, model.variables, "--do")
    against = parse_assignments(args.against, model.variables, "--against")
    if against and set(against) != set(interventions):
        raise QueryError(
            f"--against sets {', '.join(against)} and --do sets {', '.join(interventions)}: compare arms of the "
            "same treatment (set the same variables)"
        )
    covariates = model.effect_inputs(interventions)
    rows = read_values(args.rows, {c: model.variables[c] for c in covariates})
    draws = model.effects(rows, interventions, args.n, seed=args.seed, outcomes=args.outcomes)
    other = model.effects(rows, against, args.n, seed=args.seed, outcomes=args.outcomes) if against else None
    specs = {name: model.variables[name] for name in draws}
    units = len(next(iter(draws.values())))
    written = [write_frame(args.out, draws_table(draws, specs))]
    if args.summary is not None:
        written.append(write_frame(args.summary, summary_table(draws, specs, args.level, other, args.risk)))
    if args.plot is not None:
        args.plot.mkdir(parents=True, exist_ok=True)
        arms = {", ".join(args.do): draws, **({", ".join(args.against): other} if other is not None else {})}
        for row in range(min(units, args.plot_rows)):
            written.append(plot_row(row, arms, specs, args.plot / f"row{row:05d}.png"))
    shown = ", ".join(str(p) for p in written[:3]) + (f" and {len(written) - 3} plots" if len(written) > 3 else "")
    arm = ", ".join(args.do)
    print(f"wrote {args.n} draws of {', '.join(draws)} for each of {units} rows under do({arm}): {shown}")
    return 0
