"""Figures that compare generated samples with the exact truth (matplotlib, written as PNG)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from lightning_causal.figures import pyplot, save_figure

__all__ = ["plot_counterfactuals", "plot_interventional"]


def _column(values: torch.Tensor) -> np.ndarray:
    """The first coordinate of each row."""
    v = values.detach().cpu().float()
    return (v.reshape(len(v), -1)[:, 0] if v.dim() > 1 else v).numpy()


def _finite(values: torch.Tensor) -> np.ndarray:
    """The first coordinate of each row, non-finite values dropped (a diverging model still plots)."""
    column = _column(values)
    return column[np.isfinite(column)]


def plot_interventional(
    panels: Sequence[tuple[str, Mapping[str, torch.Tensor], Mapping[str, torch.Tensor]]],
    variables: Sequence[str],
    path: str | Path,
    title: str = "",
) -> Path:
    """A grid of histograms: one row per intervention, one column per variable, truth against model.

    ``panels`` holds ``(label, true samples, generated samples)`` per row; vector variables show
    their first coordinate.
    """
    plt = pyplot()

    rows, cols = len(panels), len(variables)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for r, (label, truth, generated) in enumerate(panels):
        for c, name in enumerate(variables):
            ax = axes[r][c]
            t, g = _finite(truth[name]), _finite(generated[name])
            both = np.concatenate([t, g])
            lo, hi = np.quantile(both, [0.005, 0.995]) if len(both) else (0.0, 0.0)
            bins = np.linspace(lo, hi, 40) if hi > lo else 20
            ax.hist(t, bins=bins, density=True, alpha=0.55, color="#2a9d8f", label="exact truth")
            ax.hist(g, bins=bins, density=True, alpha=0.55, color="#e76f51", label="model")
            dropped = len(generated[name]) - len(g)
            if dropped:
                ax.text(0.02, 0.95, f"{dropped} non-finite", transform=ax.transAxes, fontsize=7, va="top")
            if r == 0:
                dim = truth[name].reshape(len(truth[name]), -1).shape[1] if truth[name].dim() > 1 else 1
                ax.set_title(name + (" [0]" if dim > 1 else ""), fontsize=10)
            if c == 0:
                ax.set_ylabel(label, fontsize=9)
            ax.tick_params(labelsize=7)
    axes[0][-1].legend(fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_counterfactuals(
    truth: Mapping[str, torch.Tensor],
    predicted: Mapping[str, torch.Tensor],
    factual: Mapping[str, torch.Tensor],
    variables: Sequence[str],
    path: str | Path,
    title: str = "",
) -> Path:
    """Scatter of predicted against exact counterfactuals per variable (the diagonal is perfect)."""
    plt = pyplot()

    fig, axes = plt.subplots(1, len(variables), figsize=(3.4 * len(variables), 3.2), squeeze=False)
    for c, name in enumerate(variables):
        ax = axes[0][c]
        t, p, f = _column(truth[name]), _column(predicted[name]), _column(factual[name])
        keep = np.isfinite(t) & np.isfinite(p) & np.isfinite(f)
        t, p, f = t[keep], p[keep], f[keep]
        if not keep.all():
            ax.text(0.02, 0.95, f"{int((~keep).sum())} non-finite", transform=ax.transAxes, fontsize=7, va="top")
        ax.scatter(t, f, s=5, alpha=0.35, color="#adb5bd", label="factual (no change)")
        ax.scatter(t, p, s=5, alpha=0.6, color="#e76f51", label="model counterfactual")
        lo, hi = (float(min(t.min(), p.min())), float(max(t.max(), p.max()))) if keep.any() else (0.0, 1.0)
        ax.plot([lo, hi], [lo, hi], color="#264653", lw=1)
        ax.set_xlabel(f"exact counterfactual {name}", fontsize=9)
        ax.set_ylabel("answer", fontsize=9)
        ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=7, frameon=False, markerscale=2)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return save_figure(fig, path)
