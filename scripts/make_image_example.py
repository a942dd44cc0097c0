"""Regenerate configs/tabular/spots/, the table of the mixed image example (a front-door with an image mediator).

    python scripts/make_image_example.py

400 rows, seeded: a latent U drives both the treatment T (3 categories) and the outcome Y
(continuous); T acts on Y only through M, an 8x8 RGB image of a spot whose colour channel is T and
whose brightness b rises with T; Y = 2 b + 0.8 U + noise. ``spots.csv`` lists T, the image file of M
(a PNG in ``spots/``, relative to the table) and Y; ``spots.yaml`` is the graph (T -> M -> Y,
T <-> Y) with M declared an image. ``configs/idgen/spots.yaml`` trains P(Y | do(T)) on it, which the
front-door formula identifies; the exact answer is E[Y | do(T = t)] = 2 E[b | t] (U has mean 0).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

OUT = Path(__file__).resolve().parents[1] / "configs" / "tabular"
SIZE = 8


def brightness(t: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """The spot's brightness in 0..1: higher for higher T."""
    return 1 / (1 + np.exp(-(1.2 * (t - 1) + 0.5 * noise)))


def main(n: int = 400, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(n)
    logits = 1.5 * u[:, None] * np.array([-1.0, 0.0, 1.0])
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    t = np.array([rng.choice(3, p=row) for row in p])
    b = brightness(t, rng.standard_normal(n))
    y = 2 * b + 0.8 * u + 0.3 * rng.standard_normal(n)
    folder = OUT / "spots"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        image = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)
        r, c = rng.integers(1, SIZE - 4, size=2)
        image[r : r + 4, c : c + 4, t[i]] = round(255 * b[i])
        name = f"spots/{i:04d}.png"
        Image.fromarray(image).save(OUT / name, optimize=True)
        files.append(name)
    pd.DataFrame({"T": t, "M": files, "Y": y.round(4)}).to_csv(OUT / "spots.csv", index=False)
    print(f"wrote {n} rows to {OUT / 'spots.csv'} and {n} images to {folder}")


if __name__ == "__main__":
    main()
