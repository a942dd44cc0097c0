"""The napkin colored-digits results of several training seeds as one table: mean, spread, each seed.

    python benchmarks/napkin_digits_bench.py --seed 1 --guidance 0 1 --out results/seed1.json   # one per seed
    python benchmarks/napkin_digits_seeds.py results/seed0.json results/seed1.json results/seed2.json

Prints, per guidance weight scored in every file, a Markdown table: for each answer its TVD (mean
over the interventions; then over the seeds, ± the standard deviation between seeds) overall
and per attribute, the mean TVD of every seed, the worst seed's, and each seed's worst
intervention (its TVD and x's attributes). The files must come from the same
config and data; their seeds must differ.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

ANSWERS = ("exact", "idgen", "conditional", "dcm")
LABELS = {
    "exact": "exact samples (floor)",
    "idgen": "ID-GEN",
    "conditional": "conditional P(Y \\| X = x)",
    "dcm": "DCM, confounders ignored",
}
COLUMNS = ("tvd_mean", "tvd_digit", "tvd_colour", "tvd_thickness")


def _load(paths: list[str]) -> list[dict[str, Any]]:
    runs = []
    for path in paths:
        try:
            run = json.loads(Path(path).read_text())
        except (OSError, ValueError) as err:
            raise SystemExit(f"error: {path}: not a readable results file ({err})") from None
        if not isinstance(run.get("summary"), dict) or "seed" not in run:
            raise SystemExit(
                f"error: {path}: no per-guidance summary and seed; write it with napkin_digits_bench.py --out"
            )
        runs.append(run)
    configs = {r["config"] for r in runs}
    if len(configs) > 1:
        raise SystemExit(f"error: the files come from different configs ({', '.join(sorted(configs))})")
    seeds = [r["seed"] for r in runs]
    if len(set(seeds)) < len(seeds):
        raise SystemExit(f"error: seeds repeat ({seeds}); give one file per training seed")
    return runs


def _cell(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def _worst(row: dict[str, Any]) -> str:
    """The TVD at the answer's worst intervention and that x (results before the worst was kept: n/a)."""
    if "tvd_worst" not in row:
        return "n/a"
    x = row["worst"]["x"]
    if x is None:  # results whose exact samples were scored without their x
        return f"{row['tvd_worst']:.3f}"
    return f"{row['tvd_worst']:.3f} (digit {x['digit']}, colour {x['colour']}, thickness {x['thickness']})"


def table(runs: list[dict[str, Any]]) -> str:
    """Markdown tables, one per guidance weight common to all runs."""
    keys = [k for k in runs[0]["summary"] if all(k in r["summary"] for r in runs)]
    seeds = [r["seed"] for r in runs]
    out = []
    for key in keys:
        out.append(f"{key}, seeds {', '.join(map(str, seeds))}:\n")
        out.append(
            "| answer | TVD mean | digit | colour | thickness | TVD mean per seed | worst seed "
            "| worst intervention per seed |"
        )
        out.append("|---|---|---|---|---|---|---|---|")
        for name in ANSWERS:
            if not all(name in r["summary"][key] for r in runs):
                continue  # a baseline not trained (--no-baselines)
            rows = [r["summary"][key][name] for r in runs]
            cells = [_cell([row[c] for row in rows]) for c in COLUMNS]
            per_seed = " / ".join(f"{row['tvd_mean']:.3f}" for row in rows)
            worst = max(row["tvd_mean"] for row in rows)
            at_worst = " / ".join(_worst(row) for row in rows)
            out.append(f"| {LABELS[name]} | {' | '.join(cells)} | {per_seed} | {worst:.3f} | {at_worst} |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", help="napkin_digits_bench.py --out files, one per training seed")
    args = parser.parse_args(argv)
    print(table(_load(args.results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
