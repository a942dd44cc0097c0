"""Regenerate configs/tabular/smoking.csv, the small mixed-type example shipped with the repo.

    python scripts/make_tabular_example.py

A toy structural model (seeded, so the file is reproducible): age (continuous, years) and
genotype (categorical, labels A/B/C) cause smoking (binary); smoking causes tar deposits
(continuous); tar, age and genotype cause a lung-function score (continuous).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "configs" / "tabular" / "smoking.csv"


def main(n: int = 3000, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    age = rng.uniform(20, 80, n).round(1)
    genotype = rng.choice(np.array(["A", "B", "C"]), n, p=[0.5, 0.3, 0.2])
    g = (genotype == "B") * 0.8 + (genotype == "C") * 1.6
    smoker = (rng.random(n) < 1 / (1 + np.exp(-(-1.0 + 0.02 * (age - 50) + g)))).astype(int)
    tar = np.where(smoker == 1, rng.gamma(4.0, 1.5, n), rng.gamma(1.0, 0.5, n)).round(3)
    lung = (100 - 0.4 * (age - 20) - 2.5 * tar * (1 + 0.3 * g) + rng.normal(0, 5, n)).round(2)
    frame = pd.DataFrame({"age": age, "genotype": genotype, "smoker": smoker, "tar": tar, "lung": lung})
    frame.to_csv(OUT, index=False)
    print(f"wrote {len(frame)} rows to {OUT}")


if __name__ == "__main__":
    main()
