"""Regenerate configs/tabular/confounded.csv, the table of the ID-GEN tabular example.

    python scripts/make_idgen_example.py

4000 rows of the ``conditional`` latent-confounder SCM (lightning_causal/scm/latent.py, seeded, so
the file is reproducible): X -> M -> Y -> Z with a latent cause of X and Y (X <-> Y in
configs/tabular/confounded.yaml) and Z binary. ``configs/idgen/tabular.yaml`` trains
P(Y | do(X), Z) on it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lightning_causal.scm.latent import make_latent_scm

OUT = Path(__file__).resolve().parents[1] / "configs" / "tabular" / "confounded.csv"


def main(n: int = 4000, seed: int = 0) -> None:
    values = make_latent_scm("conditional").sample(n, seed=seed)
    frame = pd.DataFrame({name: value.reshape(n, -1)[:, 0].numpy() for name, value in values.items()})
    for name in ("X", "M", "Y"):
        frame[name] = frame[name].round(4)
    frame.to_csv(OUT, index=False)
    print(f"wrote {len(frame)} rows to {OUT}")


if __name__ == "__main__":
    main()
