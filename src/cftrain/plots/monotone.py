"""Figure `mnist_monotone` (issue 16): MNIST 10×10 counterfactual grids as the paper's appendix
grids (method.md §8, `cftrain.plots.mnist.draw_grid`), for BL and CT trained and searched with
every pixel `increase`-only (top row) and `decrease`-only (bottom row, when configured)."""

from __future__ import annotations

import matplotlib.pyplot as plt

from cftrain.plots.common import objective_label, read_store, save
from cftrain.plots.mnist import draw_grid


def mnist_monotone(inputs: list[str], outputs: list[str]) -> None:
    """Inputs: data, then examples/grid of BL and CT per monotone experiment (increase, decrease)."""
    _, *grids = inputs
    if not grids or len(grids) % 2:
        raise ValueError(f"mnist_monotone needs BL and CT grids per experiment, got {grids}")
    rows = len(grids) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(13, 6.9 * rows), squeeze=False)
    for ax, path in zip(axes.ravel(), grids, strict=True):
        attrs = read_store(path).attrs
        constraint = attrs.get("mutability", "?")
        draw_grid(
            ax,
            path,
            f"{objective_label(str(attrs.get('objective', '')))}, every pixel {constraint}-only",
        )
    fig.tight_layout()
    save(fig, outputs)
