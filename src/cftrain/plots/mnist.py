"""MNIST figures of method.md §8: Fig. 2 `fig-mnist-ce` (a "0" and its counterfactuals to 1–9, BL
top, CT bottom), Fig. 3 `fig-mnist-ig` (class-averaged integrated gradients, thermal heatmaps) and
the appendix 10×10 grids `fig-mnist-vanilla` / `fig-mnist` (factual on the diagonal, one
counterfactual per target column).

Images are flattened row-major 28×28 vectors in [-1, 1] (pixel k at row k // 28, column k % 28).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from cftrain.plots.common import (
    digit_cmap,
    image_side,
    mosaic,
    objective_label,
    read_store,
    save,
)
from cftrain.store import read_ig_maps

MODEL_ROWS = ("BL (vanilla)", "CT (counterfactual training)")


def mnist_ce(inputs: list[str], outputs: list[str]) -> None:
    """Inputs: data, examples/digit BL, examples/digit CT."""
    _, *stores = inputs
    sets = [read_store(p) for p in stores]
    n_cols = 1 + max(len(cs) for cs in sets)
    fig, axes = plt.subplots(
        len(sets), n_cols, figsize=(1.25 * n_cols, 1.55 * len(sets) + 0.5), squeeze=False
    )
    for row, (cs, path, name) in enumerate(zip(sets, stores, MODEL_ROWS, strict=False)):
        side = image_side(cs.factual.shape[1], path)
        order = np.argsort(cs.target, kind="stable")
        images = [cs.factual[0]] + [cs.counterfactual[i] for i in order]
        titles = [f"factual {cs.factual_label[0]}"] + [f"→ {cs.target[i]}" for i in order]
        for col, ax in enumerate(axes[row]):
            ax.set_xticks([])
            ax.set_yticks([])
            if col >= len(images):
                ax.axis("off")
                continue
            ax.imshow(images[col].reshape(side, side), cmap="gray_r", vmin=-1, vmax=1)
            ax.set_title(titles[col], fontsize=9, color="tab:blue" if col == 0 else "black")
            if col == 0:
                for spine in ax.spines.values():
                    spine.set_edgecolor("tab:blue")
                    spine.set_linewidth(2.5)
        axes[row, 0].set_ylabel(
            name.split(" ")[0], fontsize=11, rotation=0, labelpad=18, va="center"
        )
    attrs = sets[0].attrs
    fig.suptitle(
        f"Counterfactuals of a test '0' to targets 1–9 — top: BL, bottom: CT "
        f"(ECCo λ_egy={attrs.get('lambda_energy', '?')}, {attrs.get('max_iter', '?')} steps)",
        fontsize=10,
    )
    fig.tight_layout()
    save(fig, outputs)


def mnist_ig(inputs: list[str], outputs: list[str]) -> None:
    """Inputs: data, ig_maps BL, ig_maps CT (HDF5 dataset `maps` (n_classes, 784) in [0, 1])."""
    _, *paths = inputs
    maps = [read_ig_maps(p) for p in paths]
    n_classes = max(m.shape[0] for m in maps)
    fig, axes = plt.subplots(
        len(maps), n_classes, figsize=(1.3 * n_classes + 0.8, 1.5 * len(maps) + 0.4), squeeze=False
    )
    image = None
    for row, (m, path, name) in enumerate(zip(maps, paths, MODEL_ROWS, strict=False)):
        side = image_side(m.shape[1], path)
        for c, ax in enumerate(axes[row]):
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= m.shape[0]:
                ax.axis("off")
                continue
            image = ax.imshow(m[c].reshape(side, side), cmap="inferno", vmin=0, vmax=1)
            if row == 0:
                ax.set_title(f"digit {c}", fontsize=9)
        axes[row, 0].set_ylabel(
            name.split(" ")[0], fontsize=11, rotation=0, labelpad=18, va="center"
        )
    fig.suptitle(
        "Class-averaged integrated gradients (min–max normalised) — top: BL, bottom: CT",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 0.93, 1))
    cax = fig.add_axes((0.94, 0.12, 0.012, 0.7))
    fig.colorbar(image, cax=cax, label="normalised IG")
    save(fig, outputs)


def grid_classes(cs, path: str) -> int:
    """Number of classes k of a k×k grid store (rows ordered factual-class-major)."""
    k = int(round(np.sqrt(len(cs))))
    if k * k != len(cs):
        raise ValueError(f"{path}: {len(cs)} rows do not form a square counterfactual grid")
    return k


def draw_grid(ax, path: str, title: str) -> None:
    """10×10 grid on `ax`: row i = factual class i, column j = counterfactual to target j (row
    i·k + j of the store); the factual itself sits on the diagonal (outlined)."""
    cs = read_store(path)
    k = grid_classes(cs, path)
    side = image_side(cs.factual.shape[1], path)
    pad = 2
    ax.imshow(
        mosaic(cs.counterfactual, k, k, pad),
        cmap=digit_cmap(),
        vmin=-1,
        vmax=1,
        interpolation="nearest",
    )
    centres = np.arange(k) * (side + pad) + side / 2 - 0.5
    rows = cs.factual_label.reshape(k, k)[:, 0]
    cols = cs.target.reshape(k, k)[0]
    ax.set_xticks(centres, [str(t) for t in cols])
    ax.set_yticks(centres, [str(r) for r in rows])
    ax.tick_params(length=0)
    ax.set_xlabel("target class")
    ax.set_ylabel("factual class")
    for i in range(k):
        j = int(np.flatnonzero(cols == rows[i])[0]) if (cols == rows[i]).any() else i
        ax.add_patch(Rectangle((j * (side + pad) - 0.5, i * (side + pad) - 0.5), side, side, fill=False,
                               edgecolor="tab:blue", lw=1.5, clip_on=False))  # fmt: skip
    for spine in ax.spines.values():
        spine.set_visible(False)
    lam = cs.attrs.get("lambda_energy")
    suffix = f"\nECCo λ_egy={lam:g}, T={cs.attrs.get('max_iter', '?')}" if lam is not None else ""
    ax.set_title(title + suffix, fontsize=11)


def _single_grid(inputs: list[str], outputs: list[str]) -> None:
    _, path = inputs
    objective = read_store(path).attrs.get("objective", "")
    fig, ax = plt.subplots(figsize=(7, 7.4))
    draw_grid(ax, path, f"MNIST counterfactuals, {objective_label(str(objective))} model")
    fig.tight_layout()
    save(fig, outputs)


def mnist_grid_vanilla(inputs: list[str], outputs: list[str]) -> None:
    """Inputs: data, examples/grid of the BL model (experiment main)."""
    _single_grid(inputs, outputs)


def mnist_grid_ct(inputs: list[str], outputs: list[str]) -> None:
    """Inputs: data, examples/grid of the CT model (experiment main)."""
    _single_grid(inputs, outputs)
