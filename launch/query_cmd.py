"""``lightning-causal sample`` and ``lightning-causal counterfactual``: query a trained checkpoint.

    lightning-causal sample --ckpt last.ckpt --n 1000 --do x1=0.5 --out samples.csv
    lightning-causal sample --ckpt runs/idgen/idgen.ckpt --do X=1 --given Z=0 --out y.csv   # ID-GEN
    lightning-causal sample --ckpt last.ckpt --shift x2=1.0 --out shifted.parquet
    lightning-causal counterfactual --ckpt last.ckpt --factual rows.csv --do x1=0.5 --out cf.csv

    lightning-causal sample --ckpt last.ckpt --do img=face.png --out samples.csv       # an image treatment

``--do NAME=VALUE`` sets a variable (comma-separated values for a vector, a class code or a
category label for a discrete variable, the path of an image file for an image variable: PNG,
JPEG, or a ``.npy`` / ``.pt`` array of the variable's size); ``--given`` reads its values the same
way; ``--shift NAME=DELTA`` adds DELTA to what the variable's mechanism produces. Output columns
follow the training data's convention (``v_0 .. v_{d-1}`` for vectors, labels for categorical
variables read from labels). An image variable ``img`` is written beside the table: ``<stem>.img.pt``
holds its ``(n, C, H, W)`` tensor (uint8 0..255, or float 0..1 for a float image variable; read it
with ``torch.load``) and ``<stem>.img.png`` a grid of its first 64 images; when every variable written
is an image, no table is written.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import torch

from lightning_causal.errors import QueryError
from lightning_causal.files import check_output_path
from lightning_causal.models.interface import QueryLabels
from lightning_causal.values import check_count
from lightning_causal.variables.spec import VariableSpec

__all__ = [
    "FLAGS",
    "add_query_parsers",
    "load_ensemble",
    "load_model",
    "parse_assignments",
    "run_counterfactual",
    "run_sample",
]


FLAGS = QueryLabels(interventions="--do", shift="--shift", given="--given")
"""How a refused query names its arguments: by the command line's flags."""


def load_model(path: Path) -> Any:
    """A trained model from a checkpoint written by ``fit`` (EMA weights when EMA was used), of its family's class."""
    from lightning_causal.models.families import load_model as load

    return load(path)


def _image(spec: VariableSpec, text: str, flag: str) -> torch.Tensor:
    """The image in file ``text`` for ``flag NAME=PATH``, in the variable's dtype."""
    from lightning_causal.image_files import load_image_value

    path = Path(text).expanduser()
    c, h, w = spec.image_shape
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise QueryError(
            f"{flag} {spec.name}={text}: {spec.name} is an image variable and the file {text!r} {what}; "
            f"give the path of a PNG or JPEG image ({w}x{h}, {c} channel{'s' if c > 1 else ''}) or a .npy/.pt array"
        )
    try:
        image = load_image_value(path, spec)
    except QueryError as err:
        raise QueryError(f"{flag} {spec.name}={text}: {err}") from None
    return image


def _value(spec: VariableSpec, text: str, flag: str) -> Any:
    if spec.is_image:
        return _image(spec, text, flag)
    if spec.kind == "continuous":
        try:
            numbers = [float(x) for x in text.split(",")]
            if not all(math.isfinite(x) for x in numbers):
                raise ValueError
        except ValueError:
            raise QueryError(
                f"{flag} {spec.name}={text}: give a number (finite)"
                + (f", or {spec.dim} comma-separated numbers" if spec.dim > 1 else "")
            ) from None
        if len(numbers) not in (1, spec.dim):
            raise QueryError(f"{flag} {spec.name}={text}: {spec.name} has dimension {spec.dim}")
        return torch.tensor(numbers) if len(numbers) > 1 else numbers[0]
    if spec.categories is not None and text in spec.categories:
        return spec.categories.index(text)
    try:
        return int(text)
    except ValueError:
        labels = f"one of {', '.join(spec.categories)}" if spec.categories else f"a code 0..{spec.classes - 1}"
        raise QueryError(f"{flag} {spec.name}={text}: give {labels}") from None


def parse_assignments(items: list[str] | None, variables: dict[str, VariableSpec], flag: str) -> dict[str, Any]:
    """``NAME=VALUE`` items of ``flag`` as values in data space, checked against the model's variables."""
    out: dict[str, Any] = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name or not text.strip():
            raise QueryError(f"{flag} {item!r}: write NAME=VALUE, e.g. {flag} x1=0.5")
        if name not in variables:
            raise QueryError(f"{flag} names unknown variable {name!r}; the model has {', '.join(variables)}")
        out[name] = _value(variables[name], text.strip(), flag)
    return out


def _interventions(args: argparse.Namespace, variables: dict[str, VariableSpec]) -> dict[str, Any]:
    hard = parse_assignments(args.do, variables, "--do")
    for item in args.shift or []:
        name = item.partition("=")[0].strip()
        if name in variables and variables[name].kind != "continuous":  # before an image's DELTA is read as a file
            raise QueryError(f"--shift {name}: shifts apply to continuous variables; use --do for {name}")
    for name, delta in parse_assignments(args.shift, variables, "--shift").items():
        if variables[name].kind != "continuous":
            raise QueryError(f"--shift {name}: shifts apply to continuous variables; use --do for {name}")
        if name in hard:
            raise QueryError(f"{name} is given both --do and --shift; choose one")
        hard[name] = _add(torch.as_tensor(delta, dtype=torch.float32))
    return hard


def load_ensemble(path: Path) -> Any:
    """The ensemble in folder ``path`` (:func:`lightning_causal.models.load_ensemble`), for ``--interval``."""
    from lightning_causal.models.ensemble import load_ensemble as load

    try:
        return load(path)
    except QueryError as err:
        raise QueryError(f"--interval: {err}") from None


def _print_intervals(intervals: dict[str, Any], out: Path, what: str) -> Path:
    """The intervals as a table on screen and as ``<stem>.intervals.csv`` beside ``out``."""
    import pandas as pd

    frame = pd.DataFrame(
        [
            {
                "quantity": k,
                "estimate": i.estimate,
                "low": i.low,
                "high": i.high,
                "level": i.level,
                "members": i.members,
            }
            for k, i in intervals.items()
        ]
    )
    target = out.with_name(f"{out.stem}.intervals.csv")
    partial = target.with_name(f".{target.name}.partial")
    frame.to_csv(partial, index=False)
    partial.replace(target)
    level = next(iter(intervals.values())).level
    print(f"{what}, {level:.0%} bootstrap intervals ({next(iter(intervals.values())).members} members):")
    for k, i in intervals.items():
        print(f"  {k}: {i.estimate:.4g} [{i.low:.4g}, {i.high:.4g}]")
    return target


def _statistic(text: str) -> str | float:
    """``--statistic``: ``"mean"`` or a quantile level in (0, 1)."""
    if text.strip().lower() == "mean":
        return "mean"
    try:
        level = float(text)
    except ValueError:
        level = math.nan
    if not 0 < level < 1:
        raise QueryError(f"--statistic is {text!r}; give 'mean' or a quantile level between 0 and 1, e.g. 0.5")
    return level


def _check_level(level: float | None) -> None:
    if level is not None and not 0 < level < 1:
        raise QueryError(f"--interval is {level}; give the interval's coverage between 0 and 1, e.g. 0.9")


def _add(delta: torch.Tensor) -> Any:
    return lambda v: v + delta


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ckpt", type=Path, required=True, help="a checkpoint written by lightning-causal fit")
    p.add_argument(
        "--do",
        action="append",
        metavar="NAME=VALUE",
        help="hard intervention (repeatable); VALUE is the path of an image file for an image variable",
    )
    p.add_argument("--shift", action="append", metavar="NAME=DELTA", help="shift intervention: add DELTA (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling noise (default 0)")
    p.add_argument(
        "--interval",
        type=float,
        default=None,
        metavar="LEVEL",
        help="with --ckpt an ensemble folder (member-<k>/ beside the full fit): also the LEVEL (e.g. 0.9) bootstrap "
        "interval of the mean of every variable (class probabilities of discrete ones), printed and written to "
        "<stem>.intervals.csv",
    )
    p.add_argument("--steps", type=int, default=None, help="DDIM steps (default: all T)")
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output .csv or .parquet; an image variable X goes beside it to <stem>.X.pt (its (n, C, H, W) tensor, "
        "in the variable's dtype: uint8, or float 0..1) and <stem>.X.png (a grid of the first 64 images)",
    )


def add_query_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``lightning-causal sample`` and ``lightning-causal counterfactual``."""
    p = sub.add_parser("sample", help="observational or interventional samples from a trained model")
    _common(p)
    p.add_argument("--n", type=int, default=1000, help="number of samples (default 1000)")
    p.add_argument(
        "--given",
        action="append",
        metavar="NAME=VALUE",
        help="condition of a conditional query (ID-GEN; repeatable); the path of an image file for an image variable",
    )
    p.add_argument("--sampler", choices=["ddim", "ddpm"], default="ddim")
    p.add_argument(
        "--guidance",
        type=float,
        default=None,
        help="classifier-free guidance weight of image variables (default: the model's mechanisms.image.guidance; "
        "0 samples the learned conditionals themselves)",
    )
    p.add_argument(
        "--eta",
        type=float,
        default=None,
        help="DDIM's noise with --sampler ddim: 0 deterministic, 1 ancestral (default: the model's "
        "mechanisms.image.eta for image variables, 0 for the others)",
    )
    p.add_argument(
        "--statistic",
        default="mean",
        metavar="mean|Q",
        help="with --interval: the statistic of each outcome to bound, 'mean' (default; class probabilities of "
        "discrete outcomes) or a quantile level Q in (0, 1) of continuous ones, e.g. 0.5 for the median",
    )
    p.add_argument(
        "--versus",
        action="append",
        metavar="NAME=VALUE",
        help="with --interval: a baseline intervention (repeatable); the intervals are then of the statistic under "
        "--do minus under --versus (an average effect, each member answering both)",
    )
    p.set_defaults(handler=run_sample)
    p = sub.add_parser("counterfactual", help="counterfactuals of factual rows from a trained model")
    _common(p)
    p.add_argument("--factual", type=Path, required=True, help="factual rows: .csv or .parquet with every variable")
    p.set_defaults(handler=run_counterfactual)


def _check_counts(args: argparse.Namespace) -> None:
    """Counts and outputs checked before any work: one clear line instead of a late failure."""
    if getattr(args, "n", None) is not None:
        check_count(args.n, "--n")
    if args.steps is not None:
        check_count(args.steps, "--steps (DDIM steps; leave it out for all T)")
    guidance = getattr(args, "guidance", None)
    if guidance is not None and not (guidance >= 0 and guidance < float("inf")):
        raise QueryError(f"--guidance is {guidance}; give a weight >= 0 (0: no guidance)")
    eta = getattr(args, "eta", None)
    if eta is not None and not (eta >= 0 and eta < float("inf")):
        raise QueryError(f"--eta is {eta}; give a number >= 0 (0: deterministic DDIM, 1: ancestral)")
    from lightning_causal.data.table_files import OUTPUT_SUFFIXES

    check_output_path(args.out, OUTPUT_SUFFIXES, "--out")


def run_sample(args: argparse.Namespace) -> int:
    """``lightning-causal sample``: samples of a trained model written as CSV or Parquet."""
    from lightning_causal.data.table_files import write_values

    _check_counts(args)
    _check_level(args.interval)
    statistic = _statistic(args.statistic)
    if args.interval is None and (args.versus or statistic != "mean"):
        raise QueryError(f"{'--versus' if args.versus else '--statistic'} bounds an interval: add --interval 0.9")
    ensemble = load_ensemble(args.ckpt) if args.interval is not None else None
    model = ensemble.network if ensemble is not None else load_model(args.ckpt)
    interventions = _interventions(args, model.variables)
    given = parse_assignments(args.given, model.variables, "--given")
    model.check_query(interventions, given, FLAGS)
    baseline = parse_assignments(args.versus, model.variables, "--versus")
    if baseline:
        model.check_query(baseline, given, QueryLabels(interventions="--versus", given="--given"))
    values = model.sample(
        args.n,
        interventions,
        given=given,
        seed=args.seed,
        sampler=args.sampler,
        steps=args.steps,
        eta=args.eta,
        guidance=args.guidance,
    )
    written = write_values(args.out, values, model.variables)
    print(f"wrote {args.n} samples ({model.query_text(interventions, given)}) to {_listing(written)}")
    if ensemble is not None:
        stat = dict(given=given or None, statistic=statistic, level=args.interval, n=args.n, seed=args.seed)
        name = "means" if statistic == "mean" else f"{statistic:g}-quantiles"
        if baseline:
            intervals = ensemble.difference(interventions, baseline, **stat)
            what = f"{name} of {model.query_text(interventions, given)} minus {model.query_text(baseline, given)}"
        else:
            intervals = ensemble.interval(interventions, **stat)
            what = f"{name} of {model.query_text(interventions, given)}"
        print(f"wrote {_print_intervals(intervals, args.out, what)}")
    return 0


def _listing(paths: list[Path]) -> str:
    return ", ".join(str(p) for p in paths)


def run_counterfactual(args: argparse.Namespace) -> int:
    """``lightning-causal counterfactual``: counterfactuals of factual rows written as CSV or Parquet."""
    from lightning_causal.data.table_files import read_values, write_values

    _check_counts(args)
    _check_level(args.interval)
    ensemble = load_ensemble(args.ckpt) if args.interval is not None else None
    model = ensemble.network if ensemble is not None else load_model(args.ckpt)
    interventions = _interventions(args, model.variables)
    if not interventions:
        raise QueryError("a counterfactual needs --do or --shift")
    model.check_query(interventions, {}, FLAGS, counterfactual=True)
    factual = read_values(args.factual, model.variables)
    values = model.counterfactual(factual, interventions, seed=args.seed, steps=args.steps)
    written = write_values(args.out, values, model.variables)
    print(f"wrote {len(next(iter(values.values())))} counterfactual rows to {_listing(written)}")
    if ensemble is not None:
        intervals = ensemble.counterfactual(factual, interventions, level=args.interval, seed=args.seed)
        print(f"wrote {_print_intervals(intervals, args.out, 'mean counterfactuals of the factual rows')}")
    return 0
